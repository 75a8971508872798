//! What every node of a deployment must share: the master key is created
//! once, explicitly, on a shared database (never invented by a node), and
//! a node with another master key or another issuer is refused at start.

use std::sync::Arc;

use ferrid::config::Config;
use ferrid_server::SystemClock;

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::database::{Backend, TempDatabase};
use crate::support::server::TEST_ARGON2;

fn config_for(database: &TempDatabase, dir: &std::path::Path) -> Config {
    Config {
        database_url: database.url.clone(),
        database_max_connections: 4,
        master_key_file: dir.join("keys/master.key"),
        argon2: TEST_ARGON2,
        issuer: "http://127.0.0.1:8080".into(),
        ..Config::default()
    }
}

fn start_error(config: &Config) -> String {
    match ferrid::app::prepare(config, Arc::new(SystemClock)) {
        Ok(_) => panic!("the node started"),
        Err(error) => format!("{error:#}"),
    }
}

/// The binary with this configuration, output captured.
fn ferrid(config: &Config, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_ferrid"))
        .args(args)
        .env("FERRID_DATABASE_URL", &config.database_url)
        .env("FERRID_ISSUER", &config.issuer)
        .env("FERRID_MASTER_KEY_FILE", &config.master_key_file)
        .env_remove("FERRID_MASTER_KEY")
        .output()
        .expect("run ferrid")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_on_postgres_never_invents_a_master_key() {
    let dir = tempfile::tempdir().unwrap();
    let Some(database) = TempDatabase::create(Backend::Postgres, dir.path()) else {
        return;
    };
    let config = config_for(&database, dir.path());

    let error = start_error(&config);
    assert!(error.contains("ferrid master-key create"), "{error}");
    assert!(!config.master_key_file.exists());

    let created = ferrid(&config, &["master-key", "create"]);
    assert!(created.status.success(), "{created:?}");
    assert!(String::from_utf8_lossy(&created.stdout).contains("Give every node a copy"));
    ferrid::app::prepare(&config, Arc::new(SystemClock)).expect("starts with the key");

    // A second key for the same database is refused.
    let other = Config {
        master_key_file: dir.path().join("other.key"),
        ..config.clone()
    };
    let refused = ferrid(&other, &["master-key", "create"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("set up with a master key already"));
    assert!(!other.master_key_file.exists());
    // And the existing file is never replaced.
    let again = ferrid(&config, &["master-key", "create"]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_starting_together_on_an_empty_postgres_share_one_key() {
    let dir = tempfile::tempdir().unwrap();
    let Some(database) = TempDatabase::create(Backend::Postgres, dir.path()) else {
        return;
    };
    let config = config_for(&database, dir.path());
    ferrid_tokens::MasterKey::generate(&config.master_key_file).unwrap();
    let nodes: Vec<_> = (0..3)
        .map(|_| {
            let config = config.clone();
            std::thread::spawn(move || ferrid::app::prepare(&config, Arc::new(SystemClock)))
        })
        .collect();
    for node in nodes {
        node.join().unwrap().expect("every node starts");
    }
    // A fourth start (a restart) opens every key the three created.
    let state = ferrid::app::prepare(&config, Arc::new(SystemClock)).expect("restart");
    assert!(!state.store.list_signing_keys().unwrap().is_empty());
}

on_both_backends!(
    a_node_with_another_master_key_or_issuer_is_refused,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let dir = tempfile::tempdir().unwrap();

        let other_key = Config {
            master_key_file: dir.path().join("other.key"),
            ..server.config.clone()
        };
        ferrid_tokens::MasterKey::generate(&other_key.master_key_file).unwrap();
        let error = start_error(&other_key);
        assert!(
            error.contains("master key is not the one this database was set up with"),
            "{error}"
        );

        let moved = Config {
            issuer: "https://id.example.com".into(),
            ..server.config.clone()
        };
        let error = start_error(&moved);
        assert!(
            error.contains("issuer https://id.example.com differs from"),
            "{error}"
        );
        assert!(error.contains("ferrid issuer change"), "{error}");

        // Only the holder of the deployment's key may move it.
        let refused = ferrid(
            &Config {
                issuer: moved.issuer.clone(),
                ..other_key.clone()
            },
            &["issuer", "change"],
        );
        assert!(!refused.status.success());

        let changed = ferrid(&moved, &["issuer", "change"]);
        assert!(changed.status.success(), "{changed:?}");
        ferrid::app::prepare(&moved, Arc::new(SystemClock)).expect("starts with the new issuer");
        assert_eq!(
            server.store.installation().unwrap().unwrap().issuer,
            "https://id.example.com"
        );
    }
);
