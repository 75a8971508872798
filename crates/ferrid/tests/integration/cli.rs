//! The `ferrid` command line, run as a separate process against the
//! database of a running server: what it changes, the server sees at once.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use reqwest::StatusCode;
use serde_json::Value;

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::{Backend, Browser, TestServer};

/// Runs `ferrid ARGS` with the server's configuration, feeding `stdin`.
/// Runs the `ferrid` binary for `server` with `args` and `stdin`.
pub(crate) fn ferrid(server: &TestServer, args: &[&str], stdin: Option<&str>) -> Output {
    let mut command = server.cli(args);
    command.stdin(Stdio::piped());
    let mut child = command.spawn().expect("run ferrid");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().expect("ferrid output")
}

/// The JSON a successful command printed.
pub(crate) fn json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "ferrid failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

/// What a command printed on standard error.
pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Logs in through the running server; true if the password was accepted.
async fn can_log_in(server: &TestServer, client_id: &str, username: &str, password: &str) -> bool {
    let browser = Browser::new();
    let url = format!(
        "{}?client_id={client_id}&redirect_uri=https://cli.example/cb&response_type=code&scope=openid{}",
        server.url("/authorize"),
        crate::support::oidc::PKCE_PARAMS
    );
    let response = browser.get(&url).await;
    let login = browser
        .get(&crate::support::browser::location(&response))
        .await
        .text()
        .await
        .unwrap();
    let response = browser
        .submit_login(&server.issuer, &login, username, password)
        .await;
    response.status() == StatusCode::SEE_OTHER
}

on_both_backends!(
    clients_and_users_are_managed_beside_a_running_server,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);

        // Clients.
        let created = json(&ferrid(
            &server,
            &[
                "client",
                "create",
                "--name",
                "CLI App",
                "--redirect-uri",
                "https://cli.example/cb",
                "--json",
            ],
            None,
        ));
        let client_id = created["client_id"].as_str().unwrap().to_owned();
        let secret = created["client_secret"].as_str().unwrap();
        assert!(secret.starts_with("fcs_") && secret.len() >= 47);
        let shown = json(&ferrid(
            &server,
            &["client", "show", &client_id, "--json"],
            None,
        ));
        assert_eq!(
            shown["redirect_uris"],
            serde_json::json!(["https://cli.example/cb"])
        );
        assert_eq!(shown["token_endpoint_auth_method"], "client_secret_basic");
        // PKCE is required of new confidential clients, and can be relaxed.
        assert_eq!(shown["require_pkce"], true);
        let relaxed = ferrid(
            &server,
            &["client", "update", &client_id, "--require-pkce", "false"],
            None,
        );
        assert!(relaxed.status.success(), "{}", stderr(&relaxed));
        assert!(
            !server
                .store
                .find_client(&client_id)
                .unwrap()
                .unwrap()
                .require_pkce
        );
        let restored = ferrid(
            &server,
            &["client", "update", &client_id, "--require-pkce", "true"],
            None,
        );
        assert!(restored.status.success(), "{}", stderr(&restored));
        assert!(
            server
                .store
                .find_client(&client_id)
                .unwrap()
                .unwrap()
                .require_pkce,
            "restored, so the logins below use PKCE as new clients must"
        );
        // Pushed authorization requests can be required of a client.
        assert_eq!(shown["require_pushed_authorization_requests"], false);
        let pushed_only = ferrid(
            &server,
            &["client", "update", &client_id, "--require-par", "true"],
            None,
        );
        assert!(pushed_only.status.success(), "{}", stderr(&pushed_only));
        let client = server.store.find_client(&client_id).unwrap().unwrap();
        assert!(client.require_pushed_requests);
        let plain_again = ferrid(
            &server,
            &["client", "update", &client_id, "--require-par", "false"],
            None,
        );
        assert!(plain_again.status.success(), "{}", stderr(&plain_again));
        assert!(
            !shown.to_string().contains(secret),
            "the secret is shown only once"
        );
        let stored = server.store.find_client(&client_id).unwrap().unwrap();
        assert_ne!(stored.secret_digest.as_deref(), Some(secret));

        let public = json(&ferrid(
            &server,
            &[
                "client",
                "create",
                "--name",
                "SPA",
                "--redirect-uri",
                "https://spa.example/",
                "--auth-method",
                "none",
                "--json",
            ],
            None,
        ));
        assert!(public["client_secret"].is_null());
        let service = json(&ferrid(
            &server,
            &[
                "client",
                "create",
                "--name",
                "Service",
                "--grant",
                "client_credentials",
                "--scope",
                "profile",
                "--json",
            ],
            None,
        ));
        assert!(service["client_secret"].is_string());
        let service_id = service["client_id"].as_str().unwrap().to_owned();
        // Disable, enable and rotate from the command line.
        let disabled = json(&ferrid(
            &server,
            &["client", "disable", &service_id, "--json"],
            None,
        ));
        assert_eq!(disabled["disabled"], true);
        assert!(
            server
                .store
                .find_client(&service_id)
                .unwrap()
                .unwrap()
                .disabled
        );
        ferrid(&server, &["client", "enable", &service_id], None);
        assert!(
            !server
                .store
                .find_client(&service_id)
                .unwrap()
                .unwrap()
                .disabled
        );
        let rotated = json(&ferrid(
            &server,
            &["client", "rotate-secret", &service_id, "--json"],
            None,
        ));
        let new_secret = rotated["client_secret"].as_str().unwrap();
        assert_ne!(new_secret, service["client_secret"].as_str().unwrap());
        assert_eq!(
            server
                .store
                .find_client(&service_id)
                .unwrap()
                .unwrap()
                .secret_digest,
            Some(ferrid_store::secret::digest(new_secret))
        );
        let no_secret = ferrid(
            &server,
            &[
                "client",
                "rotate-secret",
                public["client_id"].as_str().unwrap(),
            ],
            None,
        );
        assert!(!no_secret.status.success());
        assert!(
            stderr(&no_secret).contains("no secret to rotate"),
            "{}",
            stderr(&no_secret)
        );
        let missing_redirect = ferrid(&server, &["client", "create", "--name", "Broken"], None);
        assert!(!missing_redirect.status.success());
        assert!(
            stderr(&missing_redirect).contains("redirect-uri"),
            "{}",
            stderr(&missing_redirect)
        );
        let listed = ferrid(&server, &["client", "list"], None);
        assert!(String::from_utf8_lossy(&listed.stdout).contains(&client_id));
        assert_eq!(
            json(&ferrid(&server, &["client", "list", "--json"], None))
                .as_array()
                .unwrap()
                .len(),
            // The two registered here, one above, and the console's own.
            4
        );

        // Users, seen by the running server without a restart.
        let created = json(&ferrid(
            &server,
            &[
                "user",
                "create",
                "--username",
                "zed",
                "--email",
                "zed@example.com",
                "--name",
                "Zed",
                "--password-stdin",
                "--json",
            ],
            Some("first password\n"),
        ));
        assert_eq!(created["username"], "zed");
        assert!(can_log_in(&server, &client_id, "zed", "first password").await);
        let users = json(&ferrid(&server, &["user", "list", "--json"], None));
        assert_eq!(users[0]["username"], "zed");
        assert!(!users.to_string().contains("argon2"), "no hashes in output");
        let duplicate = ferrid(
            &server,
            &[
                "user",
                "create",
                "--username",
                "zed",
                "--email",
                "other@example.com",
                "--password-stdin",
            ],
            Some("another password\n"),
        );
        assert!(!duplicate.status.success());
        assert!(stderr(&duplicate).contains("already exists"));
        let short = ferrid(
            &server,
            &[
                "user",
                "create",
                "--username",
                "amy",
                "--email",
                "amy@example.com",
                "--password-stdin",
            ],
            Some("short\n"),
        );
        assert!(!short.status.success());
        let in_argv = ferrid(
            &server,
            &[
                "user",
                "create",
                "--username",
                "amy",
                "--email",
                "amy@example.com",
            ],
            None,
        );
        assert!(!in_argv.status.success(), "--password-stdin is required");

        json(&ferrid(
            &server,
            &["user", "set-password", "zed", "--password-stdin", "--json"],
            Some("second password\n"),
        ));
        assert!(!can_log_in(&server, &client_id, "zed", "first password").await);
        assert!(can_log_in(&server, &client_id, "zed", "second password").await);
        json(&ferrid(
            &server,
            &["user", "disable", "zed", "--json"],
            None,
        ));
        assert!(!can_log_in(&server, &client_id, "zed", "second password").await);
        assert!(!ferrid(&server, &["user", "disable", "nobody"], None)
            .status
            .success());

        // The ID token algorithm can be changed; unknown ones are refused.
        let updated = json(&ferrid(
            &server,
            &[
                "client",
                "update",
                &client_id,
                "--id-token-alg",
                "ES256",
                "--json",
            ],
            None,
        ));
        assert_eq!(updated["id_token_signed_response_alg"], "ES256");
        let shown = json(&ferrid(
            &server,
            &["client", "show", &client_id, "--json"],
            None,
        ));
        assert_eq!(shown["id_token_signed_response_alg"], "ES256");
        let bad_alg = ferrid(
            &server,
            &["client", "update", &client_id, "--id-token-alg", "HS256"],
            None,
        );
        assert!(!bad_alg.status.success());
        assert!(
            stderr(&bad_alg).contains("id-token-alg"),
            "{}",
            stderr(&bad_alg)
        );
        let bad_create = ferrid(
            &server,
            &[
                "client",
                "create",
                "--name",
                "X",
                "--redirect-uri",
                "https://x.example/cb",
                "--id-token-alg",
                "none",
            ],
            None,
        );
        assert!(!bad_create.status.success());

        // Keys and migrations.
        let keys = json(&ferrid(&server, &["key", "list", "--json"], None));
        let algs: Vec<&str> = keys
            .as_array()
            .unwrap()
            .iter()
            .map(|key| key["alg"].as_str().unwrap())
            .collect();
        for alg in ["RS256", "PS256", "ES256", "EdDSA"] {
            assert!(algs.contains(&alg), "{alg} in {algs:?}");
        }
        assert!(keys
            .as_array()
            .unwrap()
            .iter()
            .all(|key| key["state"] == "current"));
        assert_eq!(
            json(&ferrid(&server, &["migrate", "--json"], None))["applied"],
            serde_json::json!([])
        );

        // Deleting a client makes it unknown to the server.
        json(&ferrid(
            &server,
            &["client", "delete", &client_id, "--json"],
            None,
        ));
        assert!(!ferrid(&server, &["client", "show", &client_id], None)
            .status
            .success());
        let response = Browser::new()
        .get(&format!("{}?client_id={client_id}&redirect_uri=https://cli.example/cb&response_type=code&scope=openid{}", server.url("/authorize"), crate::support::oidc::PKCE_PARAMS))
        .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
);

/// Runs the binary with no FERRID_* variables but `env`, in `dir`.
fn bare_ferrid(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ferrid"));
    command.args(args).current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("FERRID_") {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    command
}

#[test]
fn invalid_configuration_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("FERRID_ACCESS_TOKEN_TTL", "soon")], "ACCESS_TOKEN_TTL"),
        (&[("FERRID_ISSUER", "ftp://x")], "issuer"),
        (&[("FERRID_DATABASE_URL", "mysql://x")], "database_url"),
        (&[("FERRID_BIND", "everywhere")], "bind"),
    ];
    for (env, key) in cases {
        let output = bare_ferrid(dir.path(), &["migrate"], env).output().unwrap();
        assert!(!output.status.success());
        assert!(
            stderr(&output).contains(key),
            "{env:?}: {}",
            stderr(&output)
        );
    }
    let missing = bare_ferrid(dir.path(), &["--config", "nope.toml", "migrate"], &[])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("nope.toml"),
        "{}",
        stderr(&missing)
    );
    std::fs::write(
        dir.path().join("ferrid.toml"),
        "issuer = \"https://id.example\"\ntypo = 1\n",
    )
    .unwrap();
    let typo = bare_ferrid(dir.path(), &["--config", "ferrid.toml", "migrate"], &[])
        .output()
        .unwrap();
    assert!(stderr(&typo).contains("typo"), "{}", stderr(&typo));
}

/// `ferrid serve` with no configuration at all: the default issuer and
/// port, SQLite under data/, a 0600 master key under keys/.
#[test]
fn serve_starts_with_no_configuration() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mut child = bare_ferrid(dir.path(), &["serve"], &[])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let discovery = wait_for_discovery(
        &reqwest::Client::new(),
        "http://127.0.0.1:8080/.well-known/openid-configuration",
    );
    // Failed requests reach the access log by default.
    {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect("127.0.0.1:8080").unwrap();
        stream
            .write_all(
                b"GET /no-such-page HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            )
            .unwrap();
        let _ = stream.read_to_end(&mut Vec::new());
    }
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    let log = stderr(&output);
    let discovery = discovery.unwrap_or_else(|| panic!("server did not answer: {log}"));
    assert_eq!(discovery["issuer"], "http://127.0.0.1:8080");
    assert!(
        log.contains("http://127.0.0.1:8080/.well-known/openid-configuration"),
        "{log}"
    );
    // Regression: the access log showed `id=-` on every line (the log
    // middleware ran inside the one that assigns the id).
    let line = log
        .lines()
        .find(|line| line.contains("path=/no-such-page status=404"))
        .unwrap_or_else(|| panic!("no access-log line: {log}"));
    let id = line
        .split("request_id=")
        .nth(1)
        .and_then(|rest| rest.split('}').next())
        .unwrap_or("-");
    assert!(id.len() >= 8 && !id.starts_with('-'), "{line}");
    assert!(
        !line.contains('\u{1b}'),
        "no colour codes in a pipe: {line}"
    );
    let db_mode = std::fs::metadata(dir.path().join("data/ferrid.db"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(
        db_mode & 0o777,
        0o600,
        "the database is private to its owner"
    );
    let key_mode = std::fs::metadata(dir.path().join("keys/master.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(key_mode & 0o777, 0o600);

    // Losing the master key must stop start-up, not silently replace it.
    std::fs::remove_file(dir.path().join("keys/master.key")).unwrap();
    let output = bare_ferrid(dir.path(), &["serve"], &[("FERRID_BIND", "127.0.0.1:0")])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("master key"),
        "{}",
        stderr(&output)
    );
}

/// `ferrid serve` with a certificate and `tls.redirect_bind`: HTTPS on the
/// main address, and plain HTTP on the other redirecting to it.
#[test]
fn serve_speaks_https_and_redirects_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let (certificate, private_key) = crate::transport::dev_cert(dir.path());
    let (port, redirect_port) = (
        crate::support::receiver::free_port(),
        crate::support::receiver::free_port(),
    );
    let issuer = format!("https://127.0.0.1:{port}");
    let mut child = bare_ferrid(
        dir.path(),
        &["serve"],
        &[
            ("FERRID_ISSUER", &issuer),
            ("FERRID_BIND", &format!("127.0.0.1:{port}")),
            ("FERRID_TLS__CERTIFICATE", certificate.to_str().unwrap()),
            ("FERRID_TLS__PRIVATE_KEY", private_key.to_str().unwrap()),
            (
                "FERRID_TLS__REDIRECT_BIND",
                &format!("127.0.0.1:{redirect_port}"),
            ),
        ],
    )
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(&certificate).unwrap()).unwrap(),
        )
        .tls_built_in_root_certs(false)
        .build()
        .unwrap();
    let discovery = wait_for_discovery(
        &client,
        &format!("{issuer}/.well-known/openid-configuration"),
    );
    let redirect = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap()
                .get(format!(
                    "http://127.0.0.1:{redirect_port}/authorize?client_id=x"
                ))
                .send()
                .await
        });
    let _ = child.kill();
    let log = stderr(&child.wait_with_output().unwrap());
    let discovery = discovery.unwrap_or_else(|| panic!("no HTTPS answer: {log}"));
    assert_eq!(discovery["issuer"], issuer.as_str());
    let redirect = redirect.unwrap_or_else(|error| panic!("no redirect: {error}: {log}"));
    assert_eq!(redirect.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(
        redirect.headers()["location"],
        format!("{issuer}/authorize?client_id=x").as_str()
    );
}

fn wait_for_discovery(client: &reqwest::Client, url: &str) -> Option<Value> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // A cold start creates a key per algorithm: allow a slow machine.
        for _ in 0..600 {
            if let Ok(response) = client.get(url).send().await {
                return response.json().await.ok();
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        None
    })
}

on_both_backends!(
    apis_groups_and_roles_from_the_command_line,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let orders = "https://api.example.com/orders";
        // Before the API exists, its scope is unknown to clients.
        let create_batch = [
            "client",
            "create",
            "--name",
            "Batch",
            "--grant",
            "client_credentials",
            "--scope",
            "orders:read",
            "--json",
        ];
        let refused = ferrid(&server, &create_batch, None);
        assert!(!refused.status.success());
        assert!(stderr(&refused).contains("--scope"), "{}", stderr(&refused));

        let created = json(&ferrid(
            &server,
            &[
                "api",
                "create",
                "--identifier",
                orders,
                "--name",
                "Orders",
                "--scope",
                "orders:read=Read your orders",
                "--scope",
                "orders:write=Place orders",
                "--role",
                "clerk=Places orders",
                "--access-token-ttl",
                "600",
                "--introspection",
                "client_secret_post",
                "--json",
            ],
            None,
        ));
        assert_eq!(created["identifier"], orders);
        assert_eq!(created["access_token_ttl"], 600);
        assert!(created["introspection_client_secret"]
            .as_str()
            .unwrap()
            .starts_with("fcs_"));
        assert_eq!(created["scopes"][0]["description"], "Read your orders");

        // Rule violations name their flag.
        for (args, flag) in [
            (
                vec!["--identifier", "not-absolute", "--name", "X"],
                "--identifier",
            ),
            (
                vec![
                    "--identifier",
                    "https://x.example",
                    "--name",
                    "X",
                    "--scope",
                    "openid=Sign in",
                ],
                "--scope",
            ),
            (
                vec![
                    "--identifier",
                    "https://x.example",
                    "--name",
                    "X",
                    "--scope",
                    "orders:read=Again",
                ],
                "--scope",
            ),
            (
                vec![
                    "--identifier",
                    "https://x.example",
                    "--name",
                    "X",
                    "--scope",
                    "bad scope=x",
                ],
                "--scope",
            ),
            (
                vec![
                    "--identifier",
                    "https://x.example",
                    "--name",
                    "X",
                    "--access-token-ttl",
                    "0",
                ],
                "--access-token-ttl",
            ),
            (
                vec!["--identifier", orders, "--name", "Again"],
                "already exists",
            ),
        ] {
            let mut command = vec!["api", "create"];
            command.extend(args);
            let output = ferrid(&server, &command, None);
            assert!(!output.status.success(), "{command:?}");
            assert!(
                stderr(&output).contains(flag),
                "{command:?}: {}",
                stderr(&output)
            );
        }

        let client = json(&ferrid(&server, &create_batch, None));
        let client_id = client["client_id"].as_str().unwrap();
        let updated = json(&ferrid(
            &server,
            &[
                "client",
                "update",
                client_id,
                "--scope",
                "orders:read orders:write",
                "--json",
            ],
            None,
        ));
        assert_eq!(updated["scope"], "orders:read orders:write");

        let changed = json(&ferrid(
            &server,
            &[
                "api",
                "update",
                orders,
                "--add-scope",
                "orders:cancel=Cancel orders",
                "--remove-scope",
                "orders:write",
                "--add-role",
                "auditor",
                "--json",
            ],
            None,
        ));
        let names: Vec<&str> = changed["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|scope| scope["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["orders:read", "orders:cancel"]);
        assert_eq!(changed["roles"].as_array().unwrap().len(), 2);

        server.create_user("gina");
        // Administrators: granted, narrowed to auditor, taken away.
        let granted = json(&ferrid(
            &server,
            &["user", "grant-admin", "gina", "--json"],
            None,
        ));
        assert_eq!(granted["admin_role"], "admin");
        assert_eq!(server.store.count_admins().unwrap(), 1);
        json(&ferrid(
            &server,
            &["user", "grant-admin", "gina", "--auditor", "--json"],
            None,
        ));
        assert_eq!(server.store.count_admins().unwrap(), 0);
        let gina = server.store.find_user_by_login("gina").unwrap().unwrap();
        assert_eq!(gina.admin_role.as_deref(), Some("auditor"));
        json(&ferrid(
            &server,
            &["user", "revoke-admin", "gina", "--json"],
            None,
        ));
        let gina = server.store.find_user_by_login("gina").unwrap().unwrap();
        assert_eq!(gina.admin_role, None);
        assert!(!ferrid(&server, &["user", "grant-admin", "nobody"], None)
            .status
            .success());
        json(&ferrid(
            &server,
            &["group", "create", "staff", "--json"],
            None,
        ));
        json(&ferrid(
            &server,
            &["group", "add-member", "staff", "gina", "--json"],
            None,
        ));
        let groups = json(&ferrid(&server, &["group", "list", "--json"], None));
        assert_eq!(groups[0]["members"], serde_json::json!(["gina"]));
        json(&ferrid(
            &server,
            &[
                "role", "grant", "--api", orders, "--role", "clerk", "--group", "staff", "--json",
            ],
            None,
        ));
        json(&ferrid(
            &server,
            &[
                "role", "grant", "--api", orders, "--role", "auditor", "--client", client_id,
                "--json",
            ],
            None,
        ));
        let unknown_role = ferrid(
            &server,
            &[
                "role", "grant", "--api", orders, "--role", "boss", "--user", "gina",
            ],
            None,
        );
        assert!(
            stderr(&unknown_role).contains("defines no role boss"),
            "{}",
            stderr(&unknown_role)
        );
        let grants = json(&ferrid(
            &server,
            &["role", "list", "--api", orders, "--json"],
            None,
        ));
        assert_eq!(grants.as_array().unwrap().len(), 2);
        assert_eq!(
            server
                .store
                .roles_of_user(
                    orders,
                    &server.store.find_user_by_login("gina").unwrap().unwrap().id
                )
                .unwrap(),
            ["clerk"]
        );
        assert_eq!(
            server.store.roles_of_client(orders, client_id).unwrap(),
            ["auditor"]
        );

        // Removing a role takes its grants with it; other roles keep theirs.
        let fewer = json(&ferrid(
            &server,
            &[
                "api",
                "update",
                orders,
                "--remove-role",
                "auditor",
                "--json",
            ],
            None,
        ));
        assert_eq!(fewer["roles"].as_array().unwrap().len(), 1);
        assert!(server
            .store
            .roles_of_client(orders, client_id)
            .unwrap()
            .is_empty());
        assert_eq!(server.store.role_grants(orders).unwrap().len(), 1);
        let none = json(&ferrid(
            &server,
            &["api", "update", orders, "--remove-role", "clerk", "--json"],
            None,
        ));
        assert!(none["roles"].as_array().unwrap().is_empty());
        assert!(server.store.role_grants(orders).unwrap().is_empty());

        // A deleted client's role grants go with it.
        json(&ferrid(
            &server,
            &["api", "update", orders, "--add-role", "clerk", "--json"],
            None,
        ));
        json(&ferrid(
            &server,
            &[
                "role", "grant", "--api", orders, "--role", "clerk", "--client", client_id,
                "--json",
            ],
            None,
        ));
        json(&ferrid(
            &server,
            &["client", "delete", client_id, "--json"],
            None,
        ));
        assert!(server.store.role_grants(orders).unwrap().is_empty());

        // Shown, listed, deleted with its introspection credentials.
        let shown = json(&ferrid(&server, &["api", "show", orders, "--json"], None));
        let introspection_client = shown["introspection_client_id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            json(&ferrid(&server, &["api", "list", "--json"], None))
                .as_array()
                .unwrap()
                .len(),
            1
        );
        json(&ferrid(&server, &["api", "delete", orders, "--json"], None));
        assert!(server
            .store
            .find_client(&introspection_client)
            .unwrap()
            .is_none());
        let gone = ferrid(&server, &["api", "show", orders], None);
        assert!(stderr(&gone).contains("no API with identifier"));
        json(&ferrid(
            &server,
            &["group", "delete", "staff", "--json"],
            None,
        ));
        assert!(server.store.list_groups().unwrap().is_empty());
    }
);

#[test]
fn the_admin_api_can_have_its_own_listener() {
    let free_port = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (main, admin) = (free_port(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let issuer = format!("http://127.0.0.1:{main}");
    let mut child = bare_ferrid(
        dir.path(),
        &["serve"],
        &[
            ("FERRID_ISSUER", &issuer),
            ("FERRID_BIND", &format!("127.0.0.1:{main}")),
            ("FERRID_ADMIN_BIND", &format!("127.0.0.1:{admin}")),
        ],
    )
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let client = reqwest::Client::new();
    let discovery = wait_for_discovery(
        &client,
        &format!("{issuer}/.well-known/openid-configuration"),
    );
    let statuses = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let status = |url: String| {
                let client = client.clone();
                async move {
                    client
                        .get(url)
                        .send()
                        .await
                        .map(|response| response.status())
                        .ok()
                }
            };
            (
                status(format!("{issuer}/admin/api/v1/clients")).await,
                status(format!("http://127.0.0.1:{admin}/admin/api/v1/clients")).await,
                status(format!(
                    "http://127.0.0.1:{admin}/.well-known/openid-configuration"
                ))
                .await,
            )
        });
    // The console lives on the admin listener too, and signs in through
    // the main one, coming back to the admin listener.
    let console = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let no_redirects = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let location = |response: reqwest::Response| {
                response
                    .headers()
                    .get("location")
                    .map(|value| value.to_str().unwrap().to_owned())
            };
            let on_main = no_redirects
                .get(format!("{issuer}/admin"))
                .send()
                .await
                .unwrap();
            let sign_in = no_redirects
                .get(format!("http://127.0.0.1:{admin}/admin/sign-in"))
                .send()
                .await
                .unwrap();
            let stylesheet = no_redirects
                .get(format!("http://127.0.0.1:{admin}/static/ferrid.css"))
                .send()
                .await
                .unwrap();
            (on_main.status(), location(sign_in), stylesheet.status())
        });
    let _ = child.kill();
    let log = stderr(&child.wait_with_output().unwrap());
    assert!(discovery.is_some(), "server did not answer: {log}");
    assert!(log.contains("no administrator yet"), "{log}");
    assert_eq!(
        statuses,
        (
            Some(StatusCode::NOT_FOUND),
            Some(StatusCode::UNAUTHORIZED),
            Some(StatusCode::NOT_FOUND)
        ),
        "{log}"
    );
    assert_eq!(console.0, StatusCode::NOT_FOUND);
    let authorize = console.1.unwrap_or_default();
    assert!(
        authorize.starts_with(&format!("{issuer}/authorize?")),
        "{authorize}"
    );
    assert!(
        authorize.contains(&format!(
            "redirect_uri=http%3A%2F%2F127.0.0.1%3A{admin}%2Fadmin%2Fcallback"
        )),
        "{authorize}"
    );
    assert_eq!(console.2, StatusCode::OK);
    // A malformed address is refused before anything starts. (On a port
    // of its own: the default 8080 may be another test's at this moment,
    // and a busy port would fail the start for another reason.)
    let output = bare_ferrid(
        dir.path(),
        &["serve"],
        &[
            ("FERRID_ADMIN_BIND", "private"),
            ("FERRID_BIND", &format!("127.0.0.1:{}", free_port())),
        ],
    )
    .output()
    .unwrap();
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("admin_bind"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_port_in_use_is_reported_before_anything_is_created() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let output = bare_ferrid(
        dir.path(),
        &["serve"],
        &[
            ("FERRID_BIND", &address),
            ("FERRID_ISSUER", &format!("http://{address}")),
        ],
    )
    .output()
    .unwrap();
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains(&format!("cannot listen on {address}")),
        "{}",
        stderr(&output)
    );
    // Neither a database nor a master key was made.
    assert!(!dir.path().join("data/ferrid.db").exists());
    assert!(!dir.path().join("keys/master.key").exists());
}
