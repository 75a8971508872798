//! The test kit: a real ferrid server on a random loopback port with a
//! temporary database (SQLite file or a fresh PostgreSQL database), a
//! movable clock, and a browser with a cookie store.

pub mod browser;
pub mod database;
pub mod mfa;
pub mod oidc;
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
