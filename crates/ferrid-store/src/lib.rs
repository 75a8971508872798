//! Credential storage for ferrid.
//!
//! One diesel layer serves SQLite (the embedded default) and PostgreSQL
//! (scale-out); the backend is chosen once, from the database URL, in
//! [`connection`]. Every method is synchronous: the server calls them off
//! the async executor. Times are Unix seconds passed in by the caller, so
//! tests control the clock.

pub mod connection;
/// Errors of the storage layer.
pub mod error;
pub mod password;
mod repo;
/// The diesel schema (generated shape; columns are documented in the migrations).
#[allow(missing_docs)]
pub mod schema;
pub mod secret;

pub use connection::{DatabaseUrl, DbConnection, DbPool, PoolSettings};
pub use error::{StoreError, StoreResult};
pub use password::{Argon2Params, PasswordHasher};
pub use repo::apis::{Api, ApiRole, ApiScope};
pub use repo::audit::{AuditEvent, AuditFilter};
pub use repo::authorization::{AuthorizationCode, PendingAuthorization};
pub use repo::clients::{Client, ClientAuthMethod, GrantType};
pub use repo::console::{AdminSession, Branding, HourlyCount};
pub use repo::device_authorizations::{
    DeviceAuthorization, DevicePoll, DEVICE_APPROVED, DEVICE_DENIED, DEVICE_PENDING,
};
pub use repo::email_tokens::EmailToken;
pub use repo::grants::{Grant, RefreshToken};
pub use repo::housekeeping::{Removed, Retention};
pub use repo::installation::{Installation, PAIRWISE_SALT_ID};
pub use repo::keys::SealedKind;
pub use repo::logout_deliveries::LogoutDelivery;
pub use repo::mfa::TotpEnrolment;
pub use repo::passkeys::{Passkey, PasskeyRemoval, PasskeyUse, WebauthnChallenge};
pub use repo::pushed_requests::PushedRequest;
pub use repo::roles::{Group, Principal, RoleGrant};
pub use repo::sessions::Session;
pub use repo::throttles::LoginThrottle;
pub use repo::transaction::Transaction;
pub use repo::users::{NewUser, User};

/// Handle to the database: a connection pool for one backend.
#[derive(Clone)]
pub struct Store {
    pool: DbPool,
    settings: PoolSettings,
    writes: std::sync::Arc<connection::WriteCounter>,
}

impl Store {
    /// Opens a pool for `url` (`sqlite://PATH` or `postgres://…`).
    pub fn open(url: &str, max_connections: u32) -> StoreResult<Store> {
        Self::open_with(url, PoolSettings::new(max_connections))
    }

    /// Opens a pool for `url` with explicit limits and time-outs.
    pub fn open_with(url: &str, settings: PoolSettings) -> StoreResult<Store> {
        let url = DatabaseUrl::parse(url)?;
        let writes = std::sync::Arc::new(connection::WriteCounter::default());
        Ok(Store {
            pool: connection::open_pool(&url, &settings, writes.clone())?,
            settings,
            writes,
        })
    }

    /// Connections open in the pool, and how many of them are idle.
    pub fn pool_use(&self) -> (u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections)
    }

    /// Statements that changed data (`INSERT`, `UPDATE`, `DELETE`) since
    /// the store was opened, on all its connections.
    pub fn writes(&self) -> u64 {
        self.writes.count()
    }

    /// The limits and time-outs this store was opened with.
    pub fn settings(&self) -> &PoolSettings {
        &self.settings
    }

    /// Applies pending migrations; returns the versions applied.
    pub fn migrate(&self) -> StoreResult<Vec<String>> {
        connection::run_migrations(&self.pool, self.settings.statement_timeout)
    }

    /// Whether this build's migrations are all applied.
    pub fn migrations_current(&self) -> StoreResult<bool> {
        connection::has_pending_migrations(&self.pool).map(|pending| !pending)
    }

    /// Writes a consistent copy of a SQLite database to `path` (which
    /// must not exist) while the server keeps running (`VACUUM INTO`).
    /// PostgreSQL is backed up with its own tools (`pg_dump`).
    pub fn backup_sqlite(&self, path: &std::path::Path) -> StoreResult<()> {
        use diesel::RunQueryDsl;
        let mut connection = self.connection()?;
        let DbConnection::Sqlite(sqlite) = &mut *connection else {
            return Err(StoreError::Unsupported(
                "ferrid backup copies SQLite databases; back PostgreSQL up with pg_dump",
            ));
        };
        let target = path.to_str().ok_or(StoreError::Unsupported(
            "the backup path must be valid UTF-8",
        ))?;
        // The copy holds password hashes and sealed keys: owner-only from
        // the start (SQLite fills an empty file).
        connection::create_private_file(path)?;
        diesel::sql_query("VACUUM INTO ?")
            .bind::<diesel::sql_types::Text, _>(target)
            .execute(sqlite)?;
        Ok(())
    }

    /// Checks that the database answers.
    pub fn ping(&self) -> StoreResult<()> {
        use diesel::RunQueryDsl;
        let mut connection = self.connection()?;
        diesel::sql_query("SELECT 1").execute(&mut connection)?;
        Ok(())
    }

    fn connection(&self) -> StoreResult<connection::PooledDb> {
        Ok(self.pool.get()?)
    }
}
