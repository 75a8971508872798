//! Prometheus metrics on the admin listener: requests by route and
//! status with latency histograms, tokens by grant, and the gauges
//! sampled at scrape time; never on the public listener.

use reqwest::StatusCode;

use crate::support::database::{Backend, TempDatabase};
use crate::support::process::{cli, Node};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_on_the_admin_listener_only() {
    let dir = tempfile::tempdir().unwrap();
    let database = TempDatabase::create(Backend::Sqlite, dir.path()).unwrap();
    let admin_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap()
        .port();
    let admin_bind = format!("127.0.0.1:{admin_port}");
    let node = Node::start(
        dir.path(),
        &database.url,
        &[("FERRID_ADMIN_BIND", admin_bind.as_str())],
    );
    node.wait_ready().await;

    // A service client, made with the CLI, gets a token.
    let client = cli(
        dir.path(),
        &database.url,
        &node.base,
        &[
            "client",
            "create",
            "--name",
            "Service",
            "--grant",
            "client_credentials",
            "--scope",
            "profile",
        ],
        "",
    );
    let http = reqwest::Client::new();
    let token = http
        .post(format!("{}/token", node.base))
        .basic_auth(
            client["client_id"].as_str().unwrap(),
            client["client_secret"].as_str(),
        )
        .form(&[("grant_type", "client_credentials"), ("scope", "profile")])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::OK);
    http.get(format!("{}/jwks", node.base))
        .send()
        .await
        .unwrap();
    http.get(format!("{}/no/such/page/123", node.base))
        .send()
        .await
        .unwrap();

    let public = http
        .get(format!("{}/metrics", node.base))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);

    let response = http
        .get(format!("http://{admin_bind}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = response.text().await.unwrap();
    for expected in [
        r#"ferrid_http_requests_total{method="GET",route="/jwks",status="200"} 1"#,
        r#"ferrid_http_requests_total{method="POST",route="/token",status="200"} 1"#,
        // Unrouted paths share one series: callers cannot create series.
        r#"route="unmatched",status="404""#,
        r#"ferrid_http_request_duration_seconds_bucket{method="GET",route="/jwks",status="200",le="0.5"} 1"#,
        r#"ferrid_tokens_issued_total{grant_type="client_credentials"} 1"#,
        "ferrid_database_connections ",
        "ferrid_database_connections_max 10",
        "ferrid_password_hash_jobs 0",
        r#"ferrid_signing_key_age_seconds{alg="RS256"}"#,
        r#"ferrid_signing_key_next_rotation_seconds{alg="RS256"}"#,
        "ferrid_backchannel_logout_backlog 0",
        "ferrid_database_work_seconds_count",
    ] {
        assert!(text.contains(expected), "missing {expected} in:\n{text}");
    }
    assert!(!text.contains("/no/such/page"));
}
