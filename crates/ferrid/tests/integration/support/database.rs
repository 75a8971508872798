//! Temporary databases. PostgreSQL comes from `FERRID_TEST_POSTGRES_URL`
//! (a server URL whose user may create databases); each test gets a new
//! database, dropped afterwards. Without that variable the PostgreSQL
//! tests fail, unless `FERRID_TEST_SKIP_POSTGRES=1` says to skip them
//! knowingly (never in CI).

use diesel::{Connection, PgConnection, RunQueryDsl};

/// The environment variable naming the PostgreSQL server for tests.
pub const POSTGRES_URL_VARIABLE: &str = "FERRID_TEST_POSTGRES_URL";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh database on the test PostgreSQL server.
    Postgres,
}

/// A database that exists for one test.
pub struct TempDatabase {
    /// URL for ferrid.
    pub url: String,
    postgres: Option<(String, String)>,
}

impl TempDatabase {
    /// Creates a database, or returns `None` if PostgreSQL tests are
    /// knowingly skipped.
    pub fn create(backend: Backend, dir: &std::path::Path) -> Option<TempDatabase> {
        match backend {
            Backend::Sqlite => Some(TempDatabase {
                url: format!("sqlite://{}", dir.join("ferrid.db").display()),
                postgres: None,
            }),
            Backend::Postgres => {
                let admin_url = match std::env::var(POSTGRES_URL_VARIABLE) {
                    Ok(url) => url,
                    Err(_)
                        if std::env::var("FERRID_TEST_SKIP_POSTGRES").as_deref() == Ok("1")
                            && std::env::var("CI").is_err() =>
                    {
                        eprintln!("skipping PostgreSQL test: FERRID_TEST_SKIP_POSTGRES=1");
                        return None;
                    }
                    Err(_) => panic!(
                        "{POSTGRES_URL_VARIABLE} is not set: PostgreSQL tests need a server \
                         (scripts/test starts one; or set FERRID_TEST_SKIP_POSTGRES=1 locally)"
                    ),
                };
                let name = format!(
                    "ferrid_test_{}",
                    ferrid_store::secret::random_token(9)
                        .to_lowercase()
                        .replace(['-', '_'], "x")
                );
                let mut admin = PgConnection::establish(&admin_url).unwrap_or_else(|error| {
                    panic!("cannot connect to {POSTGRES_URL_VARIABLE}: {error}")
                });
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .expect("create test database");
                let mut url = url::Url::parse(&admin_url).expect("postgres URL");
                url.set_path(&format!("/{name}"));
                Some(TempDatabase {
                    url: url.to_string(),
                    postgres: Some((admin_url, name)),
                })
            }
        }
    }
}

/// A direct connection to a ferrid database URL, for tests that must
/// tamper with rows the way an attacker with database access could.
pub fn raw_connection(url: &str) -> ferrid_store::DbConnection {
    let target = url.strip_prefix("sqlite://").unwrap_or(url);
    <ferrid_store::DbConnection as diesel::Connection>::establish(target).expect("raw connection")
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.postgres {
            if let Ok(mut admin) = PgConnection::establish(admin_url) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin);
            }
        }
    }
}
