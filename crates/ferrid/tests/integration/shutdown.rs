//! `ferrid serve` as an operator runs it: a separate process that stops
//! on SIGTERM, finishing what is in flight and exiting 0 within
//! `shutdown_timeout` even when its database hangs.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::support::database::{Backend, TempDatabase};
use crate::support::eventually;
use crate::support::faulty_link::FaultyLink;

/// A `ferrid serve` process on a free loopback port.
struct Node {
    child: Child,
    base: String,
}

impl Node {
    fn start(dir: &std::path::Path, database_url: &str) -> Node {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("free port")
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_ferrid"))
            .arg("serve")
            .current_dir(dir)
            .env("FERRID_DATABASE_URL", database_url)
            .env("FERRID_BIND", format!("127.0.0.1:{port}"))
            .env("FERRID_ISSUER", &base)
            .env("FERRID_MASTER_KEY_FILE", dir.join("master.key"))
            .env("FERRID_ARGON2__MEMORY_KIB", "64")
            .env("FERRID_ARGON2__ITERATIONS", "1")
            .env("FERRID_WORKERS", "2")
            .env("FERRID_SHUTDOWN_TIMEOUT", "5")
            .env("FERRID_DATABASE_POOL_TIMEOUT", "1")
            .env("FERRID_DATABASE_STATEMENT_TIMEOUT", "2")
            .env("FERRID_DATABASE_CONNECT_TIMEOUT", "2")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ferrid serve");
        Node { child, base }
    }

    async fn wait_ready(&self) {
        let url = format!("{}/health/ready", self.base);
        eventually(|| async {
            let response = reqwest::get(&url).await.ok()?;
            (response.status() == StatusCode::OK).then_some(())
        })
        .await
        .expect("the node becomes ready");
    }

    /// Sends SIGTERM and returns how the process ended, or `None` if it
    /// was still running after `patience` (it is then killed).
    fn terminate(&mut self, patience: Duration) -> Option<std::process::ExitStatus> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let deadline = Instant::now() + patience;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        None
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Generous for a loaded CI machine: 5 s of shutdown time plus 3 s of
/// database bound, plus slack. A node that waits for a hung database
/// never exits at all.
const EXIT_WITHIN: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_an_idle_node_with_status_zero() {
    let dir = tempfile::tempdir().unwrap();
    let database = TempDatabase::create(Backend::Sqlite, dir.path()).unwrap();
    let mut node = Node::start(dir.path(), &database.url);
    node.wait_ready().await;
    let status = node.terminate(EXIT_WITHIN).expect("exits after SIGTERM");
    assert_eq!(status.code(), Some(0));
    // The data is intact for the next start.
    let mut again = Node::start(dir.path(), &database.url);
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
    let mut node = Node::start(dir.path(), &link.url_for(&database.url));
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
