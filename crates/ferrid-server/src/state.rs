//! Shared application state handed to every handler.

use std::sync::Arc;

use actix_web::web;
use ferrid_store::{PasswordHasher, Store, StoreResult};
use ferrid_tokens::Keyring;

use crate::clock::Clock;
use crate::error::Internal;
use crate::metadata::Metadata;
use crate::settings::Settings;

/// Everything a request handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// Signing keys.
    pub keyring: Arc<Keyring>,
    /// Password hashing.
    pub passwords: PasswordHasher,
    /// Protocol settings.
    pub settings: Arc<Settings>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Discovery and JWKS documents, serialised once.
    pub metadata: Arc<Metadata>,
}

impl AppState {
    /// Assembles the state and builds the published documents.
    pub fn new(
        store: Store,
        keyring: Keyring,
        passwords: PasswordHasher,
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> Result<AppState, Internal> {
        let metadata = Metadata::build(&settings, &keyring)?;
        Ok(AppState {
            store,
            keyring: Arc::new(keyring),
            passwords,
            settings: Arc::new(settings),
            clock,
            metadata: Arc::new(metadata),
        })
    }

    /// The current time, Unix seconds.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Runs blocking database work on the blocking pool, so the async
    /// executor never waits on the database.
    pub async fn db<T, F>(&self, work: F) -> Result<T, Internal>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> StoreResult<T> + Send + 'static,
    {
        let store = self.store.clone();
        web::block(move || work(&store))
            .await
            .map_err(Internal::log)?
            .map_err(Internal::from)
    }
}
