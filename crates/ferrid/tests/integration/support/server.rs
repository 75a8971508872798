//! A ferrid server for one test, started through the same start-up code
//! as `ferrid serve`.

use std::net::TcpListener;
use std::sync::Arc;

use ferrid::config::Config;
use ferrid_server::{Clock, ManualClock};
use ferrid_service::clients::{register, ClientRegistration};
use ferrid_store::{Argon2Params, NewUser, Store};

use super::database::{Backend, TempDatabase};

/// Cheap Argon2 parameters so the suite stays fast; production defaults
/// are tested separately.
pub const TEST_ARGON2: Argon2Params = Argon2Params {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

/// The password every test user gets.
pub const PASSWORD: &str = "correct horse battery";

/// A client registered for a test.
#[derive(Debug, Clone)]
pub struct TestClient {
    /// Client id.
    pub id: String,
    /// Secret, for confidential clients.
    pub secret: Option<String>,
    /// First registered redirect URI.
    pub redirect_uri: String,
}

/// A running server.
pub struct TestServer {
    /// Issuer URL (`http://127.0.0.1:PORT`, or https with TLS).
    pub issuer: String,
    /// The server's clock.
    pub clock: ManualClock,
    /// The configuration it runs with.
    pub config: Config,
    /// Direct access to its database.
    pub store: Store,
    /// The server's state, for driving key maintenance by hand.
    pub state: ferrid_server::AppState,
    maintenance: Option<ferrid_server::maintenance::KeyMaintenance>,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
    // Dropped after the server stops; a second node does not own it.
    _database: Option<TempDatabase>,
    /// Temporary directory holding the SQLite file and master key.
    pub dir: tempfile::TempDir,
}

impl TestServer {
    /// Starts a server whose configuration `configure` adjusts, or `None`
    /// when PostgreSQL tests are knowingly skipped. Key
    /// maintenance runs only when asked for ([`run_key_maintenance`]) or
    /// when `key_refresh_interval` is below 10 s, so timelines driven by
    /// the manual clock stay deterministic.
    pub fn start_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> Option<TestServer> {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = TempDatabase::create(backend, dir.path())?;
        let mut config = Config {
            database_url: database.url.clone(),
            database_max_connections: 8,
            master_key_file: dir.path().join("keys/master.key"),
            argon2: TEST_ARGON2,
            workers: 1,
            // Test receivers listen on loopback.
            outbound_allow_private_networks: true,
            ..Config::default()
        };
        config.email.outbox_dir = dir.path().join("outbox");
        configure(&mut config);
        if backend == Backend::Postgres && config.master_key.is_none() {
            // On a shared database the operator creates the key once
            // (`ferrid master-key create`); nodes never invent one.
            ferrid_tokens::MasterKey::generate(&config.master_key_file).expect("master key");
        }
        Some(Self::launch(config, Some(database), dir))
    }

    /// Another node on this server's database and master key, with its own
    /// port and clock: what one node stored, the other sees (and a node
    /// that restarts finds it again).
    pub fn second_node(&self) -> TestServer {
        self.second_node_with(|_| {})
    }

    /// [`second_node`](Self::second_node) with its configuration adjusted
    /// by `configure`.
    pub fn second_node_with(&self, configure: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = self.config.clone();
        configure(&mut config);
        Self::launch(config, None, tempfile::tempdir().expect("temp dir"))
    }

    /// A server on an existing database (a restored backup, say) with
    /// `config`; the database is not dropped afterwards.
    pub fn start_on(config: Config) -> TestServer {
        Self::launch(config, None, tempfile::tempdir().expect("temp dir"))
    }

    fn launch(
        mut config: Config,
        database: Option<TempDatabase>,
        dir: tempfile::TempDir,
    ) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address");
        let scheme = if config.tls.enabled() {
            "https"
        } else {
            "http"
        };
        // A path the configuration gave the issuer is kept, and so is the
        // host name `localhost` (browsers refuse passkeys on an address).
        let configured = url::Url::parse(&config.issuer).ok();
        let path = configured
            .as_ref()
            .map(|url| url.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        let host = match configured.as_ref().and_then(url::Url::host_str) {
            Some("localhost") => "localhost".to_owned(),
            _ => address.ip().to_string(),
        };
        config.issuer = format!("{scheme}://{host}:{}{path}", address.port());
        if database.is_none() {
            // Test nodes are reached on their own ports, so each has its
            // own issuer, where a real fleet shares one behind a load
            // balancer. Recording this node's (as `ferrid issuer change`
            // does) lets it start; nodes already running keep theirs.
            let store = ferrid::app::open_store(&config).expect("store");
            if store.installation().expect("installation").is_some() {
                store
                    .change_installation_issuer(&config.issuer)
                    .expect("issuer");
            }
        }
        let tls = config.tls_config().expect("TLS configuration");
        config.bind = address.to_string();
        let clock = ManualClock::new(ferrid_server::SystemClock.now());
        let state = ferrid::app::prepare(&config, Arc::new(clock.clone())).expect("start-up");
        let store = state.store.clone();
        let maintenance = (config.key_refresh_interval < 10).then(|| {
            ferrid_server::maintenance::KeyMaintenance::spawn(state.clone()).expect("maintenance")
        });
        let server_state = state.clone();
        let (sender, receiver) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server =
                    ferrid_server::http_server(server_state, listener, 1, tls).expect("server");
                sender.send(server.handle()).expect("handle");
                let _ = server.await;
            });
        });
        let handle = receiver.recv().expect("server handle");
        TestServer {
            issuer: config.issuer.clone(),
            clock,
            config,
            store,
            state,
            maintenance,
            handle,
            thread: Some(thread),
            _database: database,
            dir,
        }
    }

    /// Every audit event, newest first.
    pub fn audit_log(&self) -> Vec<ferrid_store::AuditEvent> {
        self.store
            .audit_events(&ferrid_store::AuditFilter {
                limit: 10_000,
                ..Default::default()
            })
            .expect("audit events")
    }

    /// The details of the audit events named `event` with `outcome`,
    /// newest first.
    pub fn audited(&self, event: &str, outcome: &str) -> Vec<String> {
        self.audit_log()
            .into_iter()
            .filter(|row| row.event == event && row.outcome == outcome)
            .map(|row| row.detail.unwrap_or_default())
            .collect()
    }

    /// The `ferrid` binary set up for this server's database, issuer and
    /// master key (cheap Argon2), with its output captured.
    pub fn cli(&self, args: &[&str]) -> std::process::Command {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ferrid"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("FERRID_DATABASE_URL", &self.config.database_url)
            .env("FERRID_ISSUER", &self.issuer)
            .env("FERRID_MASTER_KEY_FILE", &self.config.master_key_file)
            .env("FERRID_ARGON2__MEMORY_KIB", "64")
            .env("FERRID_ARGON2__ITERATIONS", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        command
    }

    /// The server's master key.
    pub fn master_key(&self) -> ferrid_tokens::MasterKey {
        ferrid_tokens::MasterKey::load(&self.config.master_key_file).expect("master key")
    }

    /// Runs the scheduled key work now, as the background job would.
    /// The test as the operator of a key command (audited as `cli`).
    pub fn operator(&self) -> ferrid_service::keys::Operator<'_> {
        ferrid_service::keys::Operator {
            clock: &self.clock,
            holder: "test",
            actor: "cli",
        }
    }

    pub fn run_key_maintenance(&self) -> Vec<ferrid_service::keys::KeyEvent> {
        self.state.maintain_keys().expect("key maintenance")
    }

    /// An absolute URL on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// Creates an enabled user with [`PASSWORD`], hashed with the
    /// server's Argon2 parameters.
    pub fn create_user(&self, username: &str) -> ferrid_store::User {
        let hash = self.state.passwords.hash(PASSWORD).expect("hash");
        self.store
            .create_user(
                NewUser {
                    username,
                    email: &format!("{username}@example.com"),
                    name: Some(&format!("{username} Example")),
                    password_hash: &hash,
                    passwordless: false,
                },
                self.clock.now(),
            )
            .expect("create user")
    }

    /// Registers a client with the given method and redirect URI.
    pub fn create_client(&self, auth_method: &str, redirect_uri: &str) -> TestClient {
        self.create_client_with(ClientRegistration {
            name: "Test App".into(),
            redirect_uris: vec![redirect_uri.into()],
            post_logout_redirect_uris: vec![],
            grant_types: vec!["authorization_code".into()],
            auth_method: auth_method.into(),
            scope: "openid profile email".into(),
            id_token_alg: "RS256".into(),
            ..Default::default()
        })
    }

    /// A confidential client registered as PKCE-optional (as clients from
    /// before PKCE was required are), redirecting to `redirect_uri`.
    pub fn create_client_without_pkce(&self, redirect_uri: &str) -> TestClient {
        self.create_client_with(ClientRegistration {
            name: "Legacy".into(),
            redirect_uris: vec![redirect_uri.into()],
            grant_types: vec!["authorization_code".into()],
            auth_method: "client_secret_basic".into(),
            scope: "openid".into(),
            id_token_alg: "RS256".into(),
            pkce_optional: true,
            ..Default::default()
        })
    }

    /// Registers a client from a full registration.
    pub fn create_client_with(&self, registration: ClientRegistration) -> TestClient {
        let enabled = self.config.signing_algorithms().expect("algorithms");
        let api_scopes = ferrid_service::clients::api_scope_names(&self.store).expect("API scopes");
        let registered = register(
            registration,
            &api_scopes,
            &enabled,
            &self.master_key(),
            self.clock.now(),
        )
        .expect("valid registration");
        self.store
            .create_client(&registered.client)
            .expect("store client");
        TestClient {
            redirect_uri: registered
                .client
                .redirect_uris
                .first()
                .cloned()
                .unwrap_or_default(),
            id: registered.client.client_id,
            secret: registered.secret,
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // `stop` sends its command at once; the returned future only waits.
        drop(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        drop(self.maintenance.take());
    }
}

/// Starts a server (optionally with a configuration closure) or returns
/// from the calling test when PostgreSQL is knowingly skipped.
#[macro_export]
macro_rules! server_or_skip {
    ($backend:expr) => {
        $crate::server_or_skip!($backend, |_| {})
    };
    ($backend:expr, $configure:expr) => {
        match $crate::support::TestServer::start_with($backend, $configure) {
            Some(server) => server,
            None => return,
        }
    };
}
