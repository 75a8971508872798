//! The backup drill of docs/operations.md: copy the database (SQLite:
//! `ferrid backup`; PostgreSQL: `pg_dump`), restore it into a fresh
//! database, start a server on it with the same master key, and sign in
//! with the restored user, client and signing keys.

use reqwest::StatusCode;

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::database::TempDatabase;
use crate::support::oidc::sign_in_and_exchange;
use crate::support::{Backend, Browser, TestServer};

/// A PostgreSQL client tool: on the PATH, or in Debian's server folder.
fn postgres_tool(name: &str) -> std::path::PathBuf {
    let on_path = std::process::Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if on_path {
        return name.into();
    }
    let mut found: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin").join(name))
        .filter(|path| path.exists())
        .collect();
    found.sort();
    found
        .pop()
        .unwrap_or_else(|| panic!("{name} not found: apt-get install postgresql-client"))
}

fn run(command: &mut std::process::Command) {
    let output = command.output().expect("run");
    assert!(output.status.success(), "{command:?}: {output:?}");
}

async fn key_ids(server: &TestServer) -> Vec<String> {
    let mut kids = crate::support::oidc::published_kids(&server.url("/jwks")).await;
    kids.sort();
    kids
}

on_both_backends!(
    a_restored_backup_signs_users_in,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("alice");
        let client = server.create_client("client_secret_basic", "http://127.0.0.1:9/cb");
        let dir = tempfile::tempdir().unwrap();

        // The restored PostgreSQL database lives (and is dropped) with
        // the test.
        let (restored, _restored_database) = match backend {
            Backend::Sqlite => {
                let copy = dir.path().join("backup.db");
                run(&mut server.cli(&["backup", copy.to_str().unwrap()]));
                let mode = std::os::unix::fs::PermissionsExt::mode(
                    &std::fs::metadata(&copy).unwrap().permissions(),
                );
                assert_eq!(mode & 0o077, 0, "the copy is readable by its owner only");
                (format!("sqlite://{}", copy.display()), None)
            }
            Backend::Postgres => {
                let dump = dir.path().join("ferrid.dump");
                run(std::process::Command::new(postgres_tool("pg_dump"))
                    .args(["--format=custom", "--file"])
                    .arg(&dump)
                    .arg(format!("--dbname={}", server.config.database_url)));
                let fresh = TempDatabase::create(Backend::Postgres, dir.path()).unwrap();
                run(std::process::Command::new(postgres_tool("pg_restore"))
                    .args(["--no-owner", "--exit-on-error"])
                    .arg(format!("--dbname={}", fresh.url))
                    .arg(&dump));
                (fresh.url.clone(), Some(fresh))
            }
        };
        let kids = key_ids(&server).await;
        let original = server.config.clone();

        let node = TestServer::start_on(ferrid::config::Config {
            database_url: restored,
            ..original
        });
        assert_eq!(key_ids(&node).await, kids, "the same signing keys");
        let ready = reqwest::get(node.url("/health/ready")).await.unwrap();
        assert_eq!(ready.status(), StatusCode::OK);
        let (tokens, _, _) = sign_in_and_exchange(&node, &client, &Browser::new(), "alice").await;
        assert!(openidconnect::TokenResponse::id_token(&tokens).is_some());
    }
);
