//! The test kit: a real ferrid server on a random loopback port with a
//! temporary database (SQLite file or a fresh PostgreSQL database), a
//! movable clock, and a browser with a cookie store.

pub mod browser;
pub mod chromium;
pub mod console;
pub mod database;
pub mod faulty_link;
pub mod jws;
pub mod mfa;
pub mod oidc;
pub mod outbox;
pub mod passkeys;
pub mod process;
pub mod receiver;
pub mod server;

pub use browser::Browser;
pub use database::Backend;
pub use server::TestServer;

/// Defines one test per database backend: `name::sqlite` and
/// `name::postgres`, both running `body(backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)($crate::support::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                ($body)($crate::support::Backend::Postgres).await;
            }
        }
    };
}

/// Polls `check` every 50 ms until it returns `Some`, for up to 30 s.
/// Background work (mail, back-channel deliveries, key reloads) finishes in
/// milliseconds on a quiet machine and much later on a loaded CI runner;
/// a passing test never waits for the deadline.
pub async fn eventually<T, F, Fut>(mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if std::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
