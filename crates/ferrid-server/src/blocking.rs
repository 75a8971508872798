//! Database work off the async executor: every store call from a handler
//! or component runs on actix's blocking pool.

use actix_web::web;
use ferrid_store::{Store, StoreResult};

use crate::error::Internal;

/// Runs blocking database work on the blocking pool, so the async
/// executor never waits on the database. A caller waits at most the
/// store's work bound (pool wait plus statement time-out): a frozen
/// database, which enforces no time-out of its own, then costs a request
/// a bounded wait and a 503, not a hung worker. The abandoned work
/// finishes or fails on its own thread.
pub async fn db<T, F>(store: &Store, work: F) -> Result<T, Internal>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> StoreResult<T> + Send + 'static,
{
    let bound = store.settings().work_bound();
    let store = store.clone();
    let started = std::time::Instant::now();
    let finished = actix_web::rt::time::timeout(bound, web::block(move || work(&store))).await;
    crate::metrics::database_work(started.elapsed(), finished.is_ok());
    match finished {
        Ok(finished) => finished.map_err(Internal::log)?.map_err(Internal::from),
        Err(_) => Err(Internal::unavailable(format!(
            "database work took longer than {} ms",
            bound.as_millis()
        ))),
    }
}
