//! The one place where the database backend is chosen: a diesel
//! `MultiConnection` over SQLite and PostgreSQL, pooled with r2d2.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::RunQueryDsl;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::{StoreError, StoreResult};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// How long a SQLite writer waits for another writer (the CLI beside a
/// running server, say) before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;

/// An arbitrary constant naming ferrid's migration lock in PostgreSQL, so
/// nodes starting together apply migrations one at a time.
const POSTGRES_MIGRATION_LOCK: i64 = 0x6665_7272_6964;

pub use multi::DbConnection;

// The derive generates public helper items without docs of their own.
#[allow(missing_docs)]
mod multi {
    use diesel::pg::PgConnection;
    use diesel::sqlite::SqliteConnection;

    /// A connection to either supported database.
    #[derive(diesel::MultiConnection)]
    pub enum DbConnection {
        /// The embedded default.
        Sqlite(SqliteConnection),
        /// The scale-out backend.
        Postgres(PgConnection),
    }
}

/// A pool of [`DbConnection`]s.
pub type DbPool = Pool<ConnectionManager<DbConnection>>;
/// A connection checked out of a [`DbPool`].
pub type PooledDb = PooledConnection<ConnectionManager<DbConnection>>;

/// Which database a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `sqlite://PATH` (relative or absolute path).
    Sqlite(String),
    /// `postgres://…` or `postgresql://…`, passed to libpq as is.
    Postgres(String),
}

impl DatabaseUrl {
    /// Parses a database URL; only `sqlite://` and `postgres(ql)://` are accepted.
    pub fn parse(url: &str) -> StoreResult<Self> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(StoreError::UnsupportedUrl);
            }
            Ok(DatabaseUrl::Sqlite(path.to_owned()))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseUrl::Postgres(url.to_owned()))
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    fn connection_string(&self) -> &str {
        match self {
            DatabaseUrl::Sqlite(path) | DatabaseUrl::Postgres(path) => path,
        }
    }
}

#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, connection: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        if let DbConnection::Sqlite(sqlite) = connection {
            // The busy timeout comes first so that even switching to WAL
            // waits for other connections opening at the same moment. WAL
            // lets the CLI write while the server reads.
            sqlite
                .batch_execute(&format!(
                    "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
                ))
                .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// Opens a pool for `url` with at most `max_size` connections. A SQLite
/// file's parent directory is created if missing.
pub fn open_pool(url: &DatabaseUrl, max_size: u32) -> StoreResult<DbPool> {
    if let DatabaseUrl::Sqlite(path) = url {
        create_private_file(std::path::Path::new(path))?;
    }
    let manager = ConnectionManager::<DbConnection>::new(url.connection_string());
    let pool = Pool::builder()
        .max_size(max_size)
        .connection_timeout(Duration::from_secs(10))
        .connection_customizer(Box::new(SqlitePragmas))
        .build(manager)?;
    Ok(pool)
}

/// Creates a SQLite file (and its directory) readable by its owner only,
/// before SQLite creates it with the umask's permissions: it holds password
/// hashes and sealed keys. SQLite gives its -wal and -shm files the same
/// permissions.
fn create_private_file(path: &std::path::Path) -> StoreResult<()> {
    let cannot = |error: std::io::Error| {
        StoreError::Migration(format!("cannot create {}: {error}", path.display()))
    };
    if let Some(parent) = path.parent() {
        if !parent.as_os_str().is_empty() && !parent.exists() {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(parent).map_err(cannot)?;
        }
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop).map_err(cannot)
}

/// Applies every pending migration for the pool's backend and returns the
/// versions applied.
pub fn run_migrations(pool: &DbPool) -> StoreResult<Vec<String>> {
    let mut connection = pool.get()?;
    let applied = match &mut *connection {
        DbConnection::Sqlite(sqlite) => sqlite
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect()),
        DbConnection::Postgres(pg) => {
            diesel::sql_query("SELECT pg_advisory_lock($1)")
                .bind::<diesel::sql_types::BigInt, _>(POSTGRES_MIGRATION_LOCK)
                .execute(pg)?;
            let result = pg
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|versions| versions.iter().map(ToString::to_string).collect());
            diesel::sql_query("SELECT pg_advisory_unlock($1)")
                .bind::<diesel::sql_types::BigInt, _>(POSTGRES_MIGRATION_LOCK)
                .execute(pg)?;
            result
        }
    };
    applied.map_err(|error| StoreError::Migration(error.to_string()))
}

/// Whether migrations this build knows are not yet applied (another node
/// or `ferrid migrate` has yet to run them).
pub fn has_pending_migrations(pool: &DbPool) -> StoreResult<bool> {
    let mut connection = pool.get()?;
    let pending = match &mut *connection {
        DbConnection::Sqlite(sqlite) => sqlite.has_pending_migration(SQLITE_MIGRATIONS),
        DbConnection::Postgres(pg) => pg.has_pending_migration(POSTGRES_MIGRATIONS),
    };
    pending.map_err(|error| StoreError::Migration(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_parse() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/ferrid.db").unwrap(),
            DatabaseUrl::Sqlite("data/ferrid.db".into())
        );
        assert!(matches!(
            DatabaseUrl::parse("postgresql://u@h/db").unwrap(),
            DatabaseUrl::Postgres(_)
        ));
        assert!(DatabaseUrl::parse("mysql://x").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
        assert!(DatabaseUrl::parse("data/ferrid.db").is_err());
    }
}
