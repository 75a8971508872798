//! The one place where the database backend is chosen: a diesel
//! `MultiConnection` over SQLite and PostgreSQL, pooled with r2d2.

use std::time::Duration;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{Pool, PooledConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, QueryableByName, RunQueryDsl};
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
pub type DbPool = Pool<Manager>;
/// A connection checked out of a [`DbPool`].
pub type PooledDb = PooledConnection<Manager>;

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
}

/// Time limits on database work, so that a database that is down or
/// frozen costs a request a bounded wait instead of a hung worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// Most connections in the pool.
    pub max_connections: u32,
    /// Longest wait to establish a PostgreSQL connection (libpq's
    /// `connect_timeout`).
    pub connect_timeout: Duration,
    /// Longest a PostgreSQL statement may run (`statement_timeout`);
    /// migrations are exempt.
    pub statement_timeout: Duration,
    /// Longest a caller waits for a free connection from the pool.
    pub pool_timeout: Duration,
}

impl PoolSettings {
    /// Defaults for `max_connections` connections: 5 s to connect, 10 s
    /// per statement, 5 s for a free connection.
    pub fn new(max_connections: u32) -> Self {
        PoolSettings {
            max_connections,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
            pool_timeout: Duration::from_secs(5),
        }
    }

    /// The longest a piece of database work can take when the database
    /// is healthy: a wait for a connection, then a statement. Callers give
    /// up after this and answer "try again later".
    pub fn work_bound(&self) -> Duration {
        self.pool_timeout + self.statement_timeout
    }
}

/// Whether the database was last found unreachable, shared by the
/// connection manager (which clears it) and the pool's error handler
/// (which sets it), so an outage is logged once when it starts and once
/// when it ends, instead of once per connection attempt.
#[derive(Debug, Default)]
struct Outage {
    down: AtomicBool,
}

impl Outage {
    /// Records a failed connection; returns whether it was logged.
    fn failed(&self, error: &dyn std::fmt::Display) -> bool {
        let first = !self.down.swap(true, Ordering::Relaxed);
        if first {
            tracing::error!(%error, "cannot connect to the database (said once until it is reachable again)");
        }
        first
    }

    /// Records a new connection; returns whether it ended an outage.
    fn connected(&self) -> bool {
        let recovered = self.down.swap(false, Ordering::Relaxed);
        if recovered {
            tracing::warn!("the database is reachable again");
        }
        recovered
    }
}

/// How many statements that change data (`INSERT`, `UPDATE`, `DELETE`)
/// the connections of one pool have run: the figure behind "database
/// writes per login" and the `ferrid_database_writes_total` metric.
#[derive(Debug, Default)]
pub struct WriteCounter(AtomicU64);

impl WriteCounter {
    /// Statements counted so far.
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Counts a connection's writes into a [`WriteCounter`].
struct CountWrites(Arc<WriteCounter>);

impl diesel::connection::Instrumentation for CountWrites {
    fn on_connection_event(&mut self, event: diesel::connection::InstrumentationEvent<'_>) {
        if let diesel::connection::InstrumentationEvent::StartQuery { query, .. } = event {
            if changes_data(query) {
                self.0 .0.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Whether `query` starts with `INSERT`, `UPDATE` or `DELETE`. Only its
/// first bytes are rendered: the writer refuses the rest, which ends the
/// formatting early, so counting costs next to nothing per query.
fn changes_data(query: &dyn diesel::connection::DebugQuery) -> bool {
    use std::fmt::Write;
    struct Head {
        bytes: [u8; 6],
        len: usize,
    }
    impl Write for Head {
        fn write_str(&mut self, text: &str) -> std::fmt::Result {
            for byte in text.bytes() {
                if self.len == 0 && byte.is_ascii_whitespace() {
                    continue;
                }
                if self.len == self.bytes.len() {
                    return Err(std::fmt::Error);
                }
                self.bytes[self.len] = byte.to_ascii_uppercase();
                self.len += 1;
            }
            Ok(())
        }
    }
    let mut head = Head {
        bytes: [0; 6],
        len: 0,
    };
    let _ = write!(head, "{query}");
    matches!(&head.bytes, b"INSERT" | b"UPDATE" | b"DELETE")
}

/// Opens connections for the pool. Unlike diesel's generic manager for a
/// `MultiConnection`, it knows the backend from the URL, so a failure
/// names its real cause (refused, unknown database, bad password) instead
/// of "Invalid connection url for multiconnection", and it applies the
/// per-connection settings.
#[derive(Debug)]
pub struct Manager {
    url: DatabaseUrl,
    statement_timeout: Duration,
    outage: Arc<Outage>,
    writes: Arc<WriteCounter>,
}

impl Manager {
    fn establish(&self) -> Result<DbConnection, diesel::r2d2::Error> {
        let connection = match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let mut sqlite = SqliteConnection::establish(path)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                // The busy timeout comes first so that even switching to
                // WAL waits for other connections opening at the same
                // moment. WAL lets the CLI write while the server reads.
                sqlite
                    .batch_execute(&format!(
                        "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL; \
                         PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
                    ))
                    .map_err(diesel::r2d2::Error::QueryError)?;
                DbConnection::Sqlite(sqlite)
            }
            DatabaseUrl::Postgres(url) => {
                let mut pg =
                    PgConnection::establish(url).map_err(diesel::r2d2::Error::ConnectionError)?;
                pg.batch_execute(&format!(
                    "SET statement_timeout = {}",
                    self.statement_timeout.as_millis()
                ))
                .map_err(diesel::r2d2::Error::QueryError)?;
                DbConnection::Postgres(pg)
            }
        };
        Ok(connection)
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, diesel::r2d2::Error> {
        let mut connection = self.establish()?;
        connection.set_instrumentation(CountWrites(self.writes.clone()));
        let _ = self.outage.connected();
        Ok(connection)
    }

    fn is_valid(&self, connection: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        connection.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, connection: &mut DbConnection) -> bool {
        std::thread::panicking() || connection.is_broken()
    }
}

/// Logs the pool's connection failures through [`Outage`].
#[derive(Debug)]
struct OutageLog(Arc<Outage>);

impl r2d2::HandleError<diesel::r2d2::Error> for OutageLog {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        let _ = self.0.failed(&error);
    }
}

/// Adds libpq's `connect_timeout` to a PostgreSQL URL that does not set
/// one itself.
fn with_connect_timeout(url: &DatabaseUrl, timeout: Duration) -> DatabaseUrl {
    match url {
        DatabaseUrl::Postgres(text) if !text.contains("connect_timeout=") => {
            let separator = if text.contains('?') { '&' } else { '?' };
            // libpq takes whole seconds, and reads 1 as 2.
            let seconds = timeout.as_secs().max(2);
            DatabaseUrl::Postgres(format!("{text}{separator}connect_timeout={seconds}"))
        }
        other => other.clone(),
    }
}

/// Opens a pool for `url` with `settings`, counting its writes into
/// `writes`. A SQLite file's parent directory is created if missing.
pub fn open_pool(
    url: &DatabaseUrl,
    settings: &PoolSettings,
    writes: Arc<WriteCounter>,
) -> StoreResult<DbPool> {
    if let DatabaseUrl::Sqlite(path) = url {
        create_private_file(std::path::Path::new(path))?;
    }
    let outage = Arc::new(Outage::default());
    let manager = Manager {
        url: with_connect_timeout(url, settings.connect_timeout),
        statement_timeout: settings.statement_timeout,
        outage: outage.clone(),
        writes,
    };
    let pool = Pool::builder()
        .max_size(settings.max_connections)
        .connection_timeout(settings.pool_timeout)
        .error_handler(Box::new(OutageLog(outage)))
        .build(manager)?;
    Ok(pool)
}

/// Creates a SQLite file (and its directory) readable by its owner only,
/// before SQLite creates it with the umask's permissions: it holds password
/// hashes and sealed keys. SQLite gives its -wal and -shm files the same
/// permissions.
pub(crate) fn create_private_file(path: &std::path::Path) -> StoreResult<()> {
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
/// versions applied; `statement_timeout` is restored afterwards.
pub fn run_migrations(pool: &DbPool, statement_timeout: Duration) -> StoreResult<Vec<String>> {
    // Nothing to do is answered without DDL, so a server running as a
    // role with only data rights starts on a migrated database.
    if !has_pending_migrations(pool)? {
        return Ok(Vec::new());
    }
    let mut connection = pool.get()?;
    let applied = match &mut *connection {
        DbConnection::Sqlite(sqlite) => sqlite
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect()),
        DbConnection::Postgres(pg) => {
            // A migration may rewrite a large table: no statement limit
            // while migrating.
            pg.batch_execute("SET statement_timeout = 0")?;
            diesel::sql_query("SELECT pg_advisory_lock($1)")
                .bind::<diesel::sql_types::BigInt, _>(POSTGRES_MIGRATION_LOCK)
                .execute(pg)?;
            let result = pg
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|versions| versions.iter().map(ToString::to_string).collect());
            diesel::sql_query("SELECT pg_advisory_unlock($1)")
                .bind::<diesel::sql_types::BigInt, _>(POSTGRES_MIGRATION_LOCK)
                .execute(pg)?;
            pg.batch_execute(&format!(
                "SET statement_timeout = {}",
                statement_timeout.as_millis()
            ))?;
            result
        }
    };
    applied.map_err(|error| StoreError::Migration(error.to_string()))
}

/// Whether migrations this build knows are not yet applied (another node
/// or `ferrid migrate` has yet to run them). Reads the migrations table
/// only, never creates it (diesel's own check does), so a role with
/// only data rights can ask.
pub fn has_pending_migrations(pool: &DbPool) -> StoreResult<bool> {
    #[derive(QueryableByName)]
    struct Applied {
        #[diesel(sql_type = diesel::sql_types::Text)]
        version: String,
    }
    let mut connection = pool.get()?;
    let known = match &*connection {
        DbConnection::Sqlite(_) => {
            migration_versions::<diesel::sqlite::Sqlite>(&SQLITE_MIGRATIONS)?
        }
        DbConnection::Postgres(_) => migration_versions::<diesel::pg::Pg>(&POSTGRES_MIGRATIONS)?,
    };
    let applied: Vec<Applied> =
        match diesel::sql_query("SELECT version FROM __diesel_schema_migrations")
            .load(&mut *connection)
        {
            Ok(rows) => rows,
            // No migrations table yet: nothing is applied.
            Err(diesel::result::Error::DatabaseError(_, info))
                if info.message().contains("no such table")
                    || info.message().contains("does not exist") =>
            {
                return Ok(true)
            }
            Err(error) => return Err(error.into()),
        };
    let applied: std::collections::HashSet<String> =
        applied.into_iter().map(|row| row.version).collect();
    Ok(known.iter().any(|version| !applied.contains(version)))
}

fn migration_versions<B: diesel::backend::Backend>(
    source: &EmbeddedMigrations,
) -> StoreResult<Vec<String>> {
    use diesel::migration::MigrationSource;
    let migrations = MigrationSource::<B>::migrations(source)
        .map_err(|error| StoreError::Migration(error.to_string()))?;
    Ok(migrations
        .iter()
        .map(|migration| migration.name().version().to_string())
        .collect())
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

    #[test]
    fn an_outage_is_logged_once_when_it_starts_and_once_when_it_ends() {
        let outage = Outage::default();
        assert!(!outage.connected());
        assert!(outage.failed(&"refused"));
        assert!(!outage.failed(&"refused"));
        assert!(!outage.failed(&"refused"));
        assert!(outage.connected());
        assert!(!outage.connected());
        assert!(outage.failed(&"refused"));
    }

    #[test]
    fn postgres_urls_get_a_connect_timeout_unless_they_set_one() {
        let timeout = Duration::from_secs(5);
        let url = |text: &str| with_connect_timeout(&DatabaseUrl::Postgres(text.into()), timeout);
        assert_eq!(
            url("postgres://u@h/db"),
            DatabaseUrl::Postgres("postgres://u@h/db?connect_timeout=5".into())
        );
        assert_eq!(
            url("postgres://u@h/db?sslmode=require"),
            DatabaseUrl::Postgres("postgres://u@h/db?sslmode=require&connect_timeout=5".into())
        );
        assert_eq!(
            url("postgres://u@h/db?connect_timeout=30"),
            DatabaseUrl::Postgres("postgres://u@h/db?connect_timeout=30".into())
        );
    }
}
