//! `ferrid serve` as an operator runs it: a separate process that stops
//! on SIGTERM, finishing what is in flight and exiting 0 within
//! `shutdown_timeout` even when its database hangs.

use std::time::Duration;

use reqwest::StatusCode;

use crate::support::database::{Backend, TempDatabase};
use crate::support::faulty_link::FaultyLink;
use crate::support::process::Node;

/// Generous for a loaded CI machine: 5 s of shutdown time plus 3 s of
/// database bound, plus slack. A node that waits for a hung database
/// never exits at all.
const EXIT_WITHIN: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_an_idle_node_with_status_zero() {
    let dir = tempfile::tempdir().unwrap();
    let database = TempDatabase::create(Backend::Sqlite, dir.path()).unwrap();
    let mut node = Node::start(dir.path(), &database.url, &[]);
    node.wait_ready().await;
    // The container image's health check.
    let health = |bind: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ferrid"))
            .arg("health")
            .env("FERRID_BIND", bind)
            .output()
            .unwrap()
    };
    let bind = node.base.trim_start_matches("http://").to_owned();
    let healthy = health(&bind);
    assert!(healthy.status.success(), "{healthy:?}");
    assert_eq!(String::from_utf8_lossy(&healthy.stdout).trim(), "ready");
    let status = node.terminate(EXIT_WITHIN).expect("exits after SIGTERM");
    assert_eq!(status.code(), Some(0));
    let stopped = health(&bind);
    assert!(!stopped.status.success());
    assert!(String::from_utf8_lossy(&stopped.stderr).contains("nothing answers"));
    // The data is intact for the next start (on another port, under the
    // same issuer).
    let mut again = Node::start(
        dir.path(),
        &database.url,
        &[("FERRID_ISSUER", node.base.as_str())],
    );
    again.wait_ready().await;
    assert_eq!(again.terminate(EXIT_WITHIN).and_then(|s| s.code()), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_requests_and_exits_even_when_the_database_hangs() {
    let dir = tempfile::tempdir().unwrap();
    let Some(database) = TempDatabase::create(Backend::Postgres, dir.path()) else {
        return;
    };
    let upstream = url::Url::parse(&database.url).unwrap();
    let upstream = std::net::ToSocketAddrs::to_socket_addrs(&(
        upstream.host_str().unwrap(),
        upstream.port().unwrap_or(5432),
    ))
    .unwrap()
    .next()
    .unwrap();
    let link = FaultyLink::to(upstream);
    ferrid_tokens::MasterKey::generate(&dir.path().join("master.key")).unwrap();
    let mut node = Node::start(dir.path(), &link.url_for(&database.url), &[]);
    node.wait_ready().await;

    link.freeze();
    // A request that needs the database (to look the client up) is in
    // flight when the signal arrives.
    let in_flight = tokio::spawn(
        reqwest::Client::new()
            .get(format!(
                "{}/authorize?client_id=nobody&response_type=code&scope=openid",
                node.base
            ))
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status = tokio::task::spawn_blocking(move || {
        let status = node.terminate(EXIT_WITHIN);
        drop(node);
        status
    })
    .await
    .unwrap()
    .expect("exits after SIGTERM although the database hangs");
    assert_eq!(status.code(), Some(0));
    let answer = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    link.restore();
}
