//! SQLite when the disk fills up: requests that must write answer 503
//! with `Retry-After` and the log says why, what needs no write keeps
//! working, and once there is room again the database is intact.
//!
//! The full disk is a file-size limit on the server process (`ulimit
//! -f`, with SIGXFSZ ignored so writes fail instead of killing it),
//! which needs no privileges.

use std::time::Duration;

use reqwest::StatusCode;

use crate::support::database::{raw_connection, Backend, TempDatabase};
use crate::support::oidc::PKCE_PARAMS;
use crate::support::process::{cli, Node};

/// Writes that need room: pending authorization requests, one per call.
async fn authorize(base: &str, client_id: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
        .get(format!(
            "{base}/authorize?response_type=code&client_id={client_id}&redirect_uri=http://127.0.0.1:9/cb&scope=openid&state=s&nonce=n{PKCE_PARAMS}"
        ))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_gives_clear_errors_and_no_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let database = TempDatabase::create(Backend::Sqlite, dir.path()).unwrap();
    // First start: create the database and keys with room to spare.
    let mut node = Node::start(dir.path(), &database.url, &[]);
    node.wait_ready().await;
    let issuer = node.base.clone();
    let client = cli(
        dir.path(),
        &database.url,
        &issuer,
        &[
            "client",
            "create",
            "--name",
            "App",
            "--redirect-uri",
            "http://127.0.0.1:9/cb",
            "--scope",
            "openid",
        ],
        "",
    );
    let client_id = client["client_id"].as_str().unwrap().to_owned();
    assert_eq!(
        node.terminate(Duration::from_secs(30))
            .and_then(|s| s.code()),
        Some(0)
    );

    // Again, with no room for the files to grow (SQLite's write-ahead
    // log included).
    let path = database.url.trim_start_matches("sqlite://");
    let used: u64 = ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(format!("{path}{suffix}")).ok())
        .map(|metadata| metadata.len())
        .max()
        .unwrap();
    let limit_kib = used / 1024 + 64;
    let full = Node::start_with_limit(
        dir.path(),
        &database.url,
        &[("FERRID_ISSUER", issuer.as_str())],
        limit_kib,
    );
    full.wait_ready().await;
    let mut refused = None;
    for _ in 0..2000 {
        let response = authorize(&full.base, &client_id).await;
        if response.status() != StatusCode::SEE_OTHER {
            refused = Some(response);
            break;
        }
    }
    let refused = refused.expect("the writes eventually fail");
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers()["retry-after"], "5");
    // What needs no write still answers.
    let jwks = reqwest::get(format!("{}/jwks", full.base)).await.unwrap();
    assert_eq!(jwks.status(), StatusCode::OK);
    let log = full.log();
    assert!(
        log.contains("database unavailable; answered 503")
            && (log.contains("disk I/O error") || log.contains("disk is full")),
        "{log}"
    );
    drop(full);

    // With room again, the database is intact and serves.
    let mut check = raw_connection(&database.url);
    let integrity: Vec<IntegrityCheck> =
        diesel::RunQueryDsl::load(diesel::sql_query("PRAGMA integrity_check"), &mut check).unwrap();
    assert_eq!(integrity[0].integrity_check, "ok");
    let again = Node::start(
        dir.path(),
        &database.url,
        &[("FERRID_ISSUER", issuer.as_str())],
    );
    again.wait_ready().await;
    assert_eq!(
        authorize(&again.base, &client_id).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[derive(diesel::QueryableByName)]
struct IntegrityCheck {
    #[diesel(sql_type = diesel::sql_types::Text)]
    integrity_check: String,
}
