//! Database work off the async executor: every store call from a handler
//! or component runs on actix's blocking pool.

use actix_web::web;
use ferrid_store::{Store, StoreResult};

use crate::error::Internal;

/// Runs blocking database work on the blocking pool, so the async
/// executor never waits on the database.
pub async fn db<T, F>(store: &Store, work: F) -> Result<T, Internal>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> StoreResult<T> + Send + 'static,
{
    let store = store.clone();
    web::block(move || work(&store))
        .await
        .map_err(Internal::log)?
        .map_err(Internal::from)
}
