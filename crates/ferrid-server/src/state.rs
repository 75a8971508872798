//! Shared application state handed to every handler.

use std::sync::{Arc, RwLock};

use actix_web::web;
use ferrid_store::{PasswordHasher, Store, StoreResult};
use ferrid_tokens::{Keyring, MasterKey};

use crate::clock::Clock;
use crate::error::Internal;
use crate::keys::{self, KeyEvent, KeyPolicy, KeyringError};
use crate::metadata::Metadata;
use crate::settings::Settings;

/// The keyring and the documents built from it, replaced as a whole when
/// the stored keys change.
#[derive(Debug)]
pub struct Published {
    /// Keys that sign and verify.
    pub keyring: Keyring,
    /// Discovery and JWKS documents.
    pub metadata: Metadata,
    /// Access tokens verified with this keyring.
    pub verified_tokens: crate::caches::VerifiedTokens,
    /// Which stored keys (kid, state, activation) this was built from.
    fingerprint: String,
}

/// Everything a request handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// Password hashing.
    pub passwords: PasswordHasher,
    /// Where password hashing runs: one thread per core.
    pub password_pool: Arc<crate::password_pool::PasswordPool>,
    /// Protocol settings.
    pub settings: Arc<Settings>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// The key rotation schedule.
    pub key_policy: Arc<KeyPolicy>,
    /// Outgoing HTTP (back-channel logout, client JWKS): short timeouts,
    /// no redirects.
    pub http: reqwest::Client,
    /// Client JWKS fetched from their `jwks_uri`.
    pub jwks_cache: Arc<crate::client_assertion::JwksCache>,
    /// Clients recently read by client authentication.
    pub recent_clients: Arc<crate::caches::RecentClients>,
    /// Per-IP request limits (this node's).
    pub rate_limiter: Arc<crate::rate_limit::RateLimiter>,
    /// Outgoing e-mail.
    pub mailer: Arc<crate::mail::Mailer>,
    /// Unseals the stored private keys on reload.
    master_key: MasterKey,
    /// This process's name in leases.
    node_id: Arc<str>,
    published: Arc<RwLock<Arc<Published>>>,
}

fn fingerprint(store: &Store) -> StoreResult<String> {
    Ok(store
        .list_signing_keys()?
        .iter()
        .map(|key| format!("{}:{}:{};", key.kid, key.state, key.activates_at))
        .collect())
}

/// Binds a sealed TOTP secret to its user: one user's sealed secret
/// copied into another's row does not open.
pub(crate) fn totp_aad(user_id: &str) -> String {
    format!("totp:{user_id}")
}

impl AppState {
    /// Loads the keyring (creating keys the policy needs) and builds the
    /// published documents.
    pub fn start(
        store: Store,
        master_key: MasterKey,
        key_policy: KeyPolicy,
        passwords: PasswordHasher,
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> Result<AppState, KeyringError> {
        let node_id: Arc<str> = ferrid_store::secret::random_identifier(8).into();
        let keyring =
            keys::load_at_start(&store, &master_key, &key_policy, clock.as_ref(), &node_id)?;
        let published = publish(&store, keyring, &settings)?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("ferrid")
            .build()
            .map_err(|error| {
                KeyringError::Refused(format!("cannot build the HTTP client: {error}"))
            })?;
        let policy = &settings.security.passwords;
        let hashing_threads = match policy.hashing_threads {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            threads => threads,
        };
        let password_pool =
            crate::password_pool::PasswordPool::new(hashing_threads, policy.hashing_queue)
                .map_err(|error| {
                    KeyringError::Refused(format!("cannot start the password pool: {error}"))
                })?;
        let rate_limiter = crate::rate_limit::RateLimiter::new(&settings.security.rate_limits)
            .map_err(KeyringError::Refused)?;
        let mailer =
            crate::mail::Mailer::new(&settings.security.email).map_err(KeyringError::Refused)?;
        Ok(AppState {
            rate_limiter: Arc::new(rate_limiter),
            mailer: Arc::new(mailer),
            password_pool: Arc::new(password_pool),
            http,
            jwks_cache: Arc::default(),
            recent_clients: Arc::default(),
            store,
            passwords,
            settings: Arc::new(settings),
            clock,
            key_policy: Arc::new(key_policy),
            master_key,
            node_id,
            published: Arc::new(RwLock::new(Arc::new(published))),
        })
    }

    /// The current keyring and documents.
    pub fn published(&self) -> Arc<Published> {
        match self.published.read() {
            Ok(published) => published.clone(),
            // A panic while swapping cannot leave a torn value: the Arc is
            // replaced whole, so the poisoned value is still consistent.
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reloads the keyring if the stored keys changed (another node, the
    /// CLI, or this node's rotation); true if it did. Blocking.
    pub fn refresh_keys(&self) -> Result<bool, KeyringError> {
        let current = fingerprint(&self.store)?;
        if current == self.published().fingerprint {
            return Ok(false);
        }
        // Unlike at start-up, one key that does not open must not freeze the
        // whole keyring on an old version: it is left out and reported.
        let (keyring, unreadable) =
            Keyring::load_readable(&keys::stored_keys(&self.store)?, &self.master_key);
        for (kid, error) in unreadable {
            tracing::error!(%kid, %error, "signing key left out of the keyring");
        }
        let published = Arc::new(publish(&self.store, keyring, &self.settings)?);
        match self.published.write() {
            Ok(mut slot) => *slot = published,
            Err(poisoned) => *poisoned.into_inner() = published,
        }
        tracing::info!("signing keys reloaded");
        Ok(true)
    }

    /// Runs the scheduled key work (under the lease) and reloads. The
    /// reload happens even if the work failed, so changes made elsewhere
    /// are still picked up. Blocking.
    pub fn maintain_keys(&self) -> Result<Vec<KeyEvent>, KeyringError> {
        let events = keys::maintain(
            &self.store,
            &self.master_key,
            &self.key_policy,
            self.now(),
            &self.node_id,
        );
        self.refresh_keys()?;
        let events = events?;
        let now = self.now();
        for event in &events {
            if let Err(error) = event.audit(&self.store, "system", now) {
                tracing::error!(%error, "could not write an audit event");
            }
        }
        Ok(events)
    }

    /// Deletes expired rows (under a lease); `None` if another node is at
    /// it. Blocking.
    pub fn clean_up(&self) -> StoreResult<Option<ferrid_store::Removed>> {
        crate::housekeeping::run(
            &self.store,
            self.now(),
            self.settings.longest_token_ttl(),
            self.settings.security.audit.retention_days,
            &self.node_id,
        )
    }

    /// Opens a `client_secret_jwt` secret sealed at registration.
    pub fn unseal_client_secret(&self, sealed: &str, client_id: &str) -> Result<Vec<u8>, Internal> {
        self.master_key
            .open(sealed, client_id)
            .map_err(Internal::from)
    }

    /// Seals a user's TOTP secret under the master key, bound to the user.
    pub fn seal_totp_secret(&self, secret: &[u8], user_id: &str) -> Result<String, Internal> {
        self.master_key
            .seal(secret, &totp_aad(user_id))
            .map_err(Internal::from)
    }

    /// Opens a TOTP secret sealed by [`seal_totp_secret`](Self::seal_totp_secret).
    pub fn open_totp_secret(&self, sealed: &str, user_id: &str) -> Result<Vec<u8>, Internal> {
        self.master_key
            .open(sealed, &totp_aad(user_id))
            .map_err(Internal::from)
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

fn publish(
    store: &Store,
    keyring: Keyring,
    settings: &Settings,
) -> Result<Published, KeyringError> {
    // Read the fingerprint after loading: a change in between only causes
    // one more (harmless) reload.
    let fingerprint = fingerprint(store)?;
    let metadata = Metadata::build(settings, &keyring)
        .map_err(|_| KeyringError::Refused("cannot build the discovery document".into()))?;
    Ok(Published {
        keyring,
        metadata,
        verified_tokens: crate::caches::VerifiedTokens::default(),
        fingerprint,
    })
}
