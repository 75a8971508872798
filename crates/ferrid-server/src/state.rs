//! The application state handed to every handler: a plain bundle of the
//! components, assembled in one place ([`AppState::start`]). Components
//! (mailer, rate limiter, password pool, client-assertion verifier,
//! logout sender, caches) are built from what they need and never see the
//! bundle, so dependencies run one way: state → components.

use std::sync::{Arc, RwLock};

use ferrid_service::keys::{self, KeyError, KeyEvent};
use ferrid_service::{audit, Clock};
use ferrid_store::{PasswordHasher, Store, StoreError, StoreResult};
use ferrid_tokens::{totp_aad, KeyPolicy, Keyring, MasterKey};
use zeroize::Zeroizing;

use crate::backchannel::LogoutSender;
use crate::caches::{RecentClients, VerifiedTokens};
use crate::client_assertion::{AssertionRules, ClientAssertions};
use crate::client_ip::ClientIp;
use crate::error::Internal;
use crate::mail::Mailer;
use crate::metadata::Metadata;
use crate::outbound::Outbound;
use crate::password_pool::PasswordPool;
use crate::paths;
use crate::rate_limit::RateLimiter;
use crate::settings::Settings;
use crate::subjects::Subjects;

/// Why the state could not be assembled, or its keys not reloaded.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Loading, creating or rotating the signing keys failed.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The discovery document could not be built from the keyring.
    #[error("cannot build the discovery document")]
    Metadata,
    /// A component refused its configuration.
    #[error("{0}")]
    Component(String),
}

/// The keyring and the documents built from it, replaced as a whole when
/// the stored keys change.
#[derive(Debug)]
pub struct Published {
    /// Keys that sign and verify.
    pub keyring: Keyring,
    /// Discovery and JWKS documents.
    pub metadata: Metadata,
    /// Access tokens verified with this keyring.
    pub verified_tokens: VerifiedTokens,
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
    pub password_pool: Arc<PasswordPool>,
    /// Protocol settings.
    pub settings: Arc<Settings>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// The key rotation schedule.
    pub key_policy: Arc<KeyPolicy>,
    /// Verifies `client_secret_jwt` and `private_key_jwt` assertions.
    pub client_assertions: Arc<ClientAssertions>,
    /// Delivers back-channel logout tokens.
    pub logouts: LogoutSender,
    /// Outgoing HTTP to addresses clients chose (request objects by
    /// reference).
    pub outbound: Outbound,
    /// Clients recently read by client authentication.
    pub recent_clients: Arc<RecentClients>,
    /// The `sub` each client sees for a user (public or pairwise).
    pub subjects: Subjects,
    /// The registered APIs, read at most once per second.
    pub recent_apis: Arc<crate::caches::RecentApis>,
    /// Per-IP request limits (this node's).
    pub rate_limiter: Arc<RateLimiter>,
    /// Outgoing e-mail.
    pub mailer: Arc<Mailer>,
    /// The branding of the pages, as last read.
    pub branding: Arc<crate::branding::CurrentBranding>,
    /// Tokens issued since the last flush to the database.
    pub token_counter: Arc<crate::token_counter::TokenCounter>,
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
        .map(|key| format!("{}:{}:{};", key.kid, key.state.as_str(), key.activates_at))
        .collect())
}

impl AppState {
    /// Loads the keyring (creating keys the policy needs), builds the
    /// published documents and every component.
    pub fn start(
        store: Store,
        master_key: MasterKey,
        key_policy: KeyPolicy,
        passwords: PasswordHasher,
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> Result<AppState, StateError> {
        let node_id: Arc<str> = ferrid_store::secret::random_identifier(8).into();
        let keyring =
            keys::load_at_start(&store, &master_key, &key_policy, clock.as_ref(), &node_id)?;
        let published = publish(&store, keyring, &settings)?;
        // Outgoing HTTP to addresses clients registered (back-channel
        // logout, client JWKS).
        let outbound = Outbound::new(settings.outbound_allow_private_networks)
            .map_err(StateError::Component)?;
        let policy = &settings.security.passwords;
        let hashing_threads = match policy.hashing_threads {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            threads => threads,
        };
        let password_pool =
            PasswordPool::new(hashing_threads, policy.hashing_queue).map_err(|error| {
                StateError::Component(format!("cannot start the password pool: {error}"))
            })?;
        let client_ip = ClientIp::new(&settings.security.rate_limits.trusted_proxies)
            .map_err(StateError::Component)?;
        let rate_limiter = RateLimiter::new(&settings.security.rate_limits, client_ip);
        let mailer = Mailer::new(&settings.security.email).map_err(StateError::Component)?;
        let client_assertions = ClientAssertions::new(
            store.clone(),
            master_key.clone(),
            outbound.clone(),
            AssertionRules {
                issuer: settings.issuer.clone(),
                token_endpoint: settings.endpoint(paths::TOKEN),
                max_lifetime: settings.client_assertion_max_lifetime,
            },
        );
        let subjects = Subjects::load(&store, &master_key).map_err(StateError::Component)?;
        let logouts = LogoutSender::new(
            store.clone(),
            outbound.clone(),
            settings.issuer.clone(),
            subjects.clone(),
        );
        ferrid_service::clients::ensure_console_client(
            &store,
            &format!("{}{}", settings.console_base, paths::CONSOLE_CALLBACK),
            clock.now(),
        )?;
        let branding = crate::branding::CurrentBranding::default();
        branding.reload(&store)?;
        Ok(AppState {
            branding: Arc::new(branding),
            token_counter: Arc::default(),
            rate_limiter: Arc::new(rate_limiter),
            mailer: Arc::new(mailer),
            password_pool: Arc::new(password_pool),
            client_assertions: Arc::new(client_assertions),
            logouts,
            outbound,
            recent_clients: Arc::default(),
            subjects,
            recent_apis: Arc::default(),
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
    pub fn refresh_keys(&self) -> Result<bool, StateError> {
        let current = fingerprint(&self.store)?;
        if current == self.published().fingerprint {
            return Ok(false);
        }
        // Unlike at start-up, one key that does not open must not freeze the
        // whole keyring on an old version: it is left out and reported.
        let (keyring, unreadable) =
            Keyring::load_readable(&self.store.list_signing_keys()?, &self.master_key);
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

    /// Runs the scheduled key work (under the lease, audited as the
    /// system's) and reloads. The reload happens even if the work failed,
    /// so changes made elsewhere are still picked up. Blocking.
    pub fn maintain_keys(&self) -> Result<Vec<KeyEvent>, StateError> {
        let events = keys::maintain(
            &self.store,
            &self.master_key,
            &self.key_policy,
            self.now(),
            &self.node_id,
            audit::actors::SYSTEM,
        );
        self.refresh_keys()?;
        Ok(events?)
    }

    /// Rotates the keys of `algorithms` as an administrator (`actor`)
    /// asked, under the lease, and reloads at once. Blocking.
    pub fn rotate_keys(
        &self,
        algorithms: &[ferrid_tokens::SigningAlgorithm],
        immediately: bool,
        actor: &str,
    ) -> Result<Vec<KeyEvent>, StateError> {
        let events = keys::rotate(
            &self.store,
            &self.master_key,
            &self.key_policy,
            algorithms,
            immediately,
            self.operator(actor),
        )?;
        self.refresh_keys()?;
        Ok(events)
    }

    /// Revokes key `kid` as an administrator (`actor`) asked, and reloads
    /// at once. Blocking.
    pub fn revoke_key(&self, kid: &str, actor: &str) -> Result<Vec<KeyEvent>, StateError> {
        let events = keys::revoke(&self.store, &self.master_key, kid, self.operator(actor))?;
        self.refresh_keys()?;
        Ok(events)
    }

    fn operator<'a>(&'a self, actor: &'a str) -> keys::Operator<'a> {
        keys::Operator {
            clock: self.clock.as_ref(),
            holder: &self.node_id,
            actor,
        }
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

    /// Sends the due back-channel logout tokens; how many were delivered.
    pub async fn deliver_logouts(&self) -> Result<usize, Internal> {
        let published = self.published();
        self.logouts
            .deliver_due(&published.keyring, self.now())
            .await
    }

    /// Delivers queued logout tokens now rather than at the next
    /// background run; failures stay in the outbox for the retries.
    pub fn deliver_logouts_soon(&self) {
        let state = self.clone();
        actix_web::rt::spawn(async move {
            if let Err(error) = state.deliver_logouts().await {
                tracing::error!(?error, "back-channel logout delivery failed");
            }
        });
    }

    /// The master key, for service operations that seal what they create
    /// (a `client_secret_jwt` client's secret).
    pub fn master_key(&self) -> &MasterKey {
        &self.master_key
    }

    /// Seals a user's TOTP secret under the master key, bound to the user.
    pub fn seal_totp_secret(&self, secret: &[u8], user_id: &str) -> Result<String, Internal> {
        self.master_key
            .seal(secret, &totp_aad(user_id))
            .map_err(Internal::from)
    }

    /// Opens a TOTP secret sealed by [`seal_totp_secret`](Self::seal_totp_secret);
    /// it is wiped from memory when dropped.
    pub fn open_totp_secret(
        &self,
        sealed: &str,
        user_id: &str,
    ) -> Result<Zeroizing<Vec<u8>>, Internal> {
        self.master_key
            .open(sealed, &totp_aad(user_id))
            .map_err(Internal::from)
    }

    /// A key for one `purpose`, derived from the master key (the same on
    /// every node).
    pub fn subkey(&self, purpose: &str) -> Zeroizing<[u8; 32]> {
        self.master_key.subkey(purpose)
    }

    /// Writes this node's token counts and reads the branding again (the
    /// background work of each tick).
    pub fn refresh_dashboard_state(&self) -> StoreResult<()> {
        self.token_counter.flush(&self.store, self.now())?;
        self.branding.reload(&self.store)
    }

    /// The current time, Unix seconds.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The registered APIs: one snapshot per node, read again at most
    /// once per [`crate::caches::CLIENT_CACHE_TTL`].
    pub async fn apis(&self) -> Result<std::sync::Arc<crate::resources::Apis>, Internal> {
        if let Some(apis) = self.recent_apis.get() {
            return Ok(apis);
        }
        let mut registered = self.db(|store| store.list_apis()).await?;
        registered.push(crate::resources::admin_api(
            &self.settings.endpoint(crate::paths::ADMIN_API),
        ));
        let apis = std::sync::Arc::new(crate::resources::Apis::new(registered));
        self.recent_apis.put(apis.clone());
        Ok(apis)
    }

    /// Runs blocking database work on the blocking pool, so the async
    /// executor never waits on the database.
    pub async fn db<T, F>(&self, work: F) -> Result<T, Internal>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> StoreResult<T> + Send + 'static,
    {
        crate::blocking::db(&self.store, work).await
    }
}

fn publish(store: &Store, keyring: Keyring, settings: &Settings) -> Result<Published, StateError> {
    // Read the fingerprint after loading: a change in between only causes
    // one more (harmless) reload.
    let fingerprint = fingerprint(store)?;
    let metadata = Metadata::build(settings, &keyring).map_err(|_| StateError::Metadata)?;
    Ok(Published {
        keyring,
        metadata,
        verified_tokens: VerifiedTokens::default(),
        fingerprint,
    })
}
