//! What a node does when its PostgreSQL goes away or hangs: requests
//! that need the database answer 503 with `Retry-After` within the
//! configured bound, discovery and JWKS keep answering from memory,
//! readiness turns false, and service resumes by itself.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::server_or_skip;
use crate::support::database::POSTGRES_URL_VARIABLE;
use crate::support::faulty_link::FaultyLink;
use crate::support::server::TestClient;
use crate::support::{eventually, Backend, TestServer};

/// Generous: the configured bound below is 1 s + 2 s, and a loaded CI
/// machine adds scheduling delay; a hang (the old behaviour) never ends.
const ANSWER_WITHIN: Duration = Duration::from_secs(15);

fn postgres_address() -> Option<SocketAddr> {
    let url = url::Url::parse(&std::env::var(POSTGRES_URL_VARIABLE).ok()?).ok()?;
    let host = url.host_str()?.to_owned();
    let port = url.port().unwrap_or(5432);
    std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
        .ok()?
        .next()
}

/// A code exchange, which must look the code up in the database (client
/// credentials would not: the client's registration is cached).
async fn token(server: &TestServer, client: &TestClient) -> reqwest::Response {
    reqwest::Client::new()
        .post(server.url("/token"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "no-such-code"),
            ("redirect_uri", &client.redirect_uri),
            ("code_verifier", &"v".repeat(43)),
        ])
        .timeout(ANSWER_WITHIN)
        .send()
        .await
        .expect("the token endpoint answers within the bound")
}

async fn status_of(server: &TestServer, path: &str) -> StatusCode {
    reqwest::Client::new()
        .get(server.url(path))
        .timeout(ANSWER_WITHIN)
        .send()
        .await
        .expect("answers within the bound")
        .status()
}

/// Asserts every database-backed request is refused with 503 and
/// `Retry-After`, and the in-memory documents still answer.
async fn assert_degraded(server: &TestServer, client: &TestClient) {
    let started = Instant::now();
    let response = token(server, client).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "5");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(started.elapsed() < ANSWER_WITHIN);

    // The sign-in page needs the client's registration: a 503 page.
    let page = reqwest::Client::new()
        .get(server.url(&format!(
            "/authorize?response_type=code&client_id={}&redirect_uri=https://app.example/cb&scope=openid",
            client.id
        )))
        .timeout(ANSWER_WITHIN)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(page.headers()["retry-after"], "5");
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("Temporarily unavailable"));

    assert_eq!(
        status_of(server, "/.well-known/openid-configuration").await,
        StatusCode::OK
    );
    assert_eq!(status_of(server, "/jwks").await, StatusCode::OK);
    assert_eq!(status_of(server, "/health/live").await, StatusCode::OK);
    assert_eq!(
        status_of(server, "/health/ready").await,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

/// Waits until the node is ready, then checks the code is looked
/// up (and found wanting).
async fn assert_recovers(server: &TestServer, client: &TestClient) {
    eventually(|| async {
        (status_of(server, "/health/ready").await == StatusCode::OK).then_some(())
    })
    .await
    .expect("ready again once the database is back");
    let response = token(server, client).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_or_frozen_database_costs_a_bounded_wait_and_a_503() {
    let Some(upstream) = postgres_address() else {
        // server_or_skip! below reports the missing PostgreSQL (a failure
        // in CI).
        let _skipped = server_or_skip!(Backend::Postgres);
        panic!("{POSTGRES_URL_VARIABLE} does not name a reachable host");
    };
    let link = FaultyLink::to(upstream);
    let server = server_or_skip!(Backend::Postgres, |config| {
        config.database_url = link.url_for(&config.database_url);
        config.database_pool_timeout = 1;
        config.database_statement_timeout = 2;
        config.database_connect_timeout = 2;
    });
    let client = server.create_client("client_secret_basic", "https://app.example/cb");
    assert_recovers(&server, &client).await;

    // Stopped: connections break and new ones are refused.
    link.cut();
    assert_degraded(&server, &client).await;
    link.restore();
    assert_recovers(&server, &client).await;

    // Frozen: connections accept bytes and never answer.
    link.freeze();
    assert_degraded(&server, &client).await;
    link.restore();
    assert_recovers(&server, &client).await;
}
