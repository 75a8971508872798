//! `ferrid serve` as a separate process, as an operator runs it.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use super::eventually;

/// A `ferrid serve` process on a free loopback port.
pub struct Node {
    child: Child,
    /// `http://127.0.0.1:PORT`, also its issuer.
    pub base: String,
    log: std::path::PathBuf,
    port: u16,
    /// The issuer's path, if `env` gave it one.
    prefix: String,
}

impl Node {
    /// Starts `ferrid serve` in `dir` on `database_url`, with quick
    /// database time-outs, cheap Argon2 and `env` on top; its standard
    /// error goes to a file read by [`Node::log`].
    pub fn start(dir: &std::path::Path, database_url: &str, env: &[(&str, &str)]) -> Node {
        Self::launch(dir, database_url, env, None)
    }

    /// [`Node::start`] with the files it may write limited to `limit_kib`
    /// KiB each (`ulimit -f`), and SIGXFSZ ignored so that a write past
    /// the limit fails as on a full disk instead of killing the process.
    pub fn start_with_limit(
        dir: &std::path::Path,
        database_url: &str,
        env: &[(&str, &str)],
        limit_kib: u64,
    ) -> Node {
        Self::launch(dir, database_url, env, Some(limit_kib))
    }

    fn launch(
        dir: &std::path::Path,
        database_url: &str,
        env: &[(&str, &str)],
        limit_kib: Option<u64>,
    ) -> Node {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("free port")
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let log = dir.join(format!("ferrid-{port}.log"));
        // bash's `ulimit -f` counts 1024-byte blocks; an ignored signal
        // stays ignored across exec.
        let mut command = match limit_kib {
            Some(limit) => {
                let mut command = Command::new("bash");
                command.args([
                    "-c",
                    &format!("trap '' XFSZ; ulimit -f {limit}; exec \"$0\" serve"),
                    env!("CARGO_BIN_EXE_ferrid"),
                ]);
                command
            }
            None => {
                let mut command = Command::new(env!("CARGO_BIN_EXE_ferrid"));
                command.arg("serve");
                command
            }
        };
        let child = command
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
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start ferrid serve");
        let prefix = env
            .iter()
            .find(|(key, _)| *key == "FERRID_ISSUER")
            .and_then(|(_, issuer)| url::Url::parse(issuer).ok())
            .map(|issuer| issuer.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        Node {
            child,
            base,
            log,
            port,
            prefix,
        }
    }

    /// Its listening address.
    pub fn address(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// What the node has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `/health/ready` answers 200.
    pub async fn wait_ready(&self) {
        let url = format!("{}{}/health/ready", self.base, self.prefix);
        eventually(|| async {
            let response = reqwest::get(&url).await.ok()?;
            (response.status() == StatusCode::OK).then_some(())
        })
        .await
        .unwrap_or_else(|| panic!("the node never became ready; its log:\n{}", self.log()));
    }

    /// Kills the process at once (SIGKILL), as a crash or the OOM killer
    /// would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and returns how the process ended, or `None` if it
    /// was still running after `patience` (it is then killed).
    pub fn terminate(&mut self, patience: Duration) -> Option<std::process::ExitStatus> {
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

/// The `ferrid` command line beside running nodes: `args` plus `--json`
/// on `database_url`, with the nodes' issuer and master key and `input`
/// on standard input; its JSON output (it must succeed).
pub fn cli(
    dir: &std::path::Path,
    database_url: &str,
    issuer: &str,
    args: &[&str],
    input: &str,
) -> serde_json::Value {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrid"))
        .args(args)
        .arg("--json")
        .current_dir(dir)
        .env("FERRID_DATABASE_URL", database_url)
        .env("FERRID_ISSUER", issuer)
        .env("FERRID_MASTER_KEY_FILE", dir.join("master.key"))
        .env("FERRID_ARGON2__MEMORY_KIB", "64")
        .env("FERRID_ARGON2__ITERATIONS", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ferrid");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).expect("stdin");
    }
    let output = child.wait_with_output().expect("ferrid output");
    assert!(output.status.success(), "{args:?}: {output:?}");
    serde_json::from_slice(&output.stdout).unwrap_or(serde_json::Value::Null)
}

/// A user `username` (password [`super::server::PASSWORD`]) and a
/// confidential client redirecting to `redirect_uri`, made with the
/// CLI; `client_options` are the client's further `client create`
/// options. Returns the client's id and secret.
pub fn user_and_client(
    dir: &std::path::Path,
    database_url: &str,
    issuer: &str,
    username: &str,
    redirect_uri: &str,
    client_options: &[&str],
) -> (String, String) {
    let email = format!("{username}@example.com");
    cli(
        dir,
        database_url,
        issuer,
        &[
            "user",
            "create",
            "--username",
            username,
            "--email",
            &email,
            "--password-stdin",
        ],
        &format!("{}\n", super::server::PASSWORD),
    );
    let mut args = vec![
        "client",
        "create",
        "--name",
        "App",
        "--redirect-uri",
        redirect_uri,
    ];
    args.extend_from_slice(client_options);
    let created = cli(dir, database_url, issuer, &args, "");
    (
        created["client_id"].as_str().expect("client id").to_owned(),
        created["client_secret"]
            .as_str()
            .expect("client secret")
            .to_owned(),
    )
}
