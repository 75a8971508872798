//! What `ferrid serve` writes to its log: JSON lines when asked, the
//! request id on every line of a request, the access line's parts as
//! fields, no colour codes when the output is not a terminal, and the
//! access log only as configured.

use serde_json::Value;

use crate::support::database::{Backend, TempDatabase};
use crate::support::eventually;
use crate::support::process::Node;

fn json_lines(log: &str) -> Vec<Value> {
    log.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect()
}

fn access_lines(log: &str) -> Vec<Value> {
    json_lines(log)
        .into_iter()
        .filter(|line| line["target"] == "ferrid::access")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_request_id_and_structured_access_fields() {
    let dir = tempfile::tempdir().unwrap();
    let database = TempDatabase::create(Backend::Sqlite, dir.path()).unwrap();
    let node = Node::start(
        dir.path(),
        &database.url,
        &[("FERRID_LOG_FORMAT", "json"), ("FERRID_ACCESS_LOG", "all")],
    );
    node.wait_ready().await;
    let response = reqwest::get(format!("{}/jwks?secret-ish=1", node.base))
        .await
        .unwrap();
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();

    let line = eventually(|| async {
        access_lines(&node.log())
            .into_iter()
            .find(|line| line["fields"]["path"] == "/jwks")
    })
    .await
    .expect("an access line for /jwks");
    assert_eq!(line["fields"]["method"], "GET");
    assert_eq!(line["fields"]["status"], 200);
    assert_eq!(line["fields"]["client"], "127.0.0.1");
    assert!(line["fields"]["duration_ms"].as_f64().is_some());
    assert_eq!(line["span"]["request_id"], request_id.as_str());

    let log = node.log();
    assert!(!log.contains('\u{1b}'), "no colour codes in a file");
    assert!(!log.contains("secret-ish"), "queries are never logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_only_failed_requests_reach_the_access_log() {
    let dir = tempfile::tempdir().unwrap();
    let database = TempDatabase::create(Backend::Sqlite, dir.path()).unwrap();
    let node = Node::start(dir.path(), &database.url, &[("FERRID_LOG_FORMAT", "json")]);
    node.wait_ready().await;
    reqwest::get(format!("{}/jwks", node.base)).await.unwrap();
    reqwest::get(format!("{}/no-such-page", node.base))
        .await
        .unwrap();
    let line = eventually(|| async { access_lines(&node.log()).into_iter().next() })
        .await
        .expect("the 404 is logged");
    assert_eq!(line["fields"]["path"], "/no-such-page");
    assert_eq!(line["fields"]["status"], 404);
    assert!(
        access_lines(&node.log())
            .iter()
            .all(|line| line["fields"]["path"] != "/jwks"
                && line["fields"]["path"] != "/health/ready")
    );
}

/// The path and body of every request a collector received.
type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, Vec<u8>)>>>;

/// A stand-in OpenTelemetry collector: records the path and body of
/// every request it gets, and answers 200.
fn collector() -> (String, Received) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut length = 0;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                    break;
                }
                if let Some(value) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .to_owned();
            record.lock().unwrap().push((path, body));
            let _ = reader
                .get_mut()
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (address, received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_are_exported_to_an_opentelemetry_collector_when_asked() {
    let (endpoint, received) = collector();
    let dir = tempfile::tempdir().unwrap();
    let database = TempDatabase::create(Backend::Sqlite, dir.path()).unwrap();
    let mut node = Node::start(
        dir.path(),
        &database.url,
        &[("FERRID_OTLP_ENDPOINT", endpoint.as_str())],
    );
    node.wait_ready().await;
    let response = reqwest::get(format!("{}/jwks", node.base)).await.unwrap();
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    // Stopping flushes what is queued.
    assert_eq!(
        node.terminate(std::time::Duration::from_secs(30))
            .and_then(|status| status.code()),
        Some(0)
    );
    let exported = received.lock().unwrap().clone();
    let traces: Vec<_> = exported
        .iter()
        .filter(|(path, _)| path == "/v1/traces")
        .map(|(_, body)| body)
        .collect();
    assert!(!traces.is_empty(), "nothing exported: {exported:?}");
    // OTLP protobuf carries its strings as they are.
    let contains = |needle: &str| {
        traces.iter().any(|body| {
            body.windows(needle.len())
                .any(|window| window == needle.as_bytes())
        })
    };
    assert!(contains("ferrid"), "the service name");
    assert!(contains("request"), "the request span");
    assert!(contains(&request_id), "with the request's id");
}
