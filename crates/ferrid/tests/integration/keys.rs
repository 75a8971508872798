//! Signing keys: four algorithms, the rotation timeline, revocation,
//! multi-node leases and keys sealed at rest.

use std::sync::{Arc, Barrier};

use diesel::RunQueryDsl;
use ferrid_server::Clock;
use ferrid_service::keys::{self, KeyEvent};
use ferrid_tokens::{KeyState, SigningAlgorithm};
use openidconnect::core::CoreJwsSigningAlgorithm;
use openidconnect::{AccessTokenHash, OAuth2TokenResponse, TokenResponse};
use reqwest::StatusCode;
use serde_json::Value;

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::database::raw_connection;
use crate::support::oidc::{jwt_header, sign_in_and_exchange};
use crate::support::{Backend, Browser, TestServer};

async fn jwks_kids(server: &TestServer) -> Vec<String> {
    crate::support::oidc::published_kids(&server.url("/jwks")).await
}

fn kid_of(token: &str) -> String {
    jwt_header(token)["kid"].as_str().unwrap().to_owned()
}

fn state_of(server: &TestServer, kid: &str) -> Option<String> {
    server
        .store
        .list_signing_keys()
        .unwrap()
        .into_iter()
        .find(|key| key.kid == kid)
        .map(|key| key.state.as_str().to_owned())
}

on_both_backends!(
    rotation_never_breaks_a_relying_party,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("rita");
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let browser = Browser::new();
        let policy = server.state.key_policy.clone();

        let (before, nonce, rp) = sign_in_and_exchange(&server, &client, &browser, "rita").await;
        let old_id_token = before.id_token().unwrap().clone();
        let old_kid = kid_of(&old_id_token.to_string());
        assert_eq!(state_of(&server, &old_kid).as_deref(), Some("current"));

        // Nothing is due yet.
        assert!(server.run_key_maintenance().is_empty());

        // Pre-publication: the next key appears in the JWKS, but does not sign.
        server
            .clock
            .advance(policy.rotation_interval - policy.prepublish);
        let events = server.run_key_maintenance();
        let next_kid = events
            .iter()
            .find_map(|event| match event {
                KeyEvent::Created {
                    kid,
                    alg,
                    state: KeyState::Next,
                } if alg.as_str() == "RS256" => Some(kid.clone()),
                _ => None,
            })
            .expect("a next RS256 key");
        assert!(
            jwks_kids(&server).await.contains(&next_kid),
            "published before it signs"
        );
        let (during, _, _) = sign_in_and_exchange(&server, &client, &browser, "rita").await;
        assert_eq!(kid_of(&during.id_token().unwrap().to_string()), old_kid);
        assert!(
            server.run_key_maintenance().is_empty(),
            "nothing more until it is due"
        );

        // Due: the next key signs, the old one is retired but still published,
        // and a token it signed still verifies through the JWKS.
        server.clock.advance(policy.prepublish);
        assert!(server.run_key_maintenance().contains(&KeyEvent::Promoted {
            kid: next_kid.clone()
        }));
        let (after, _, _) = sign_in_and_exchange(&server, &client, &browser, "rita").await;
        assert_eq!(kid_of(&after.id_token().unwrap().to_string()), next_kid);
        assert_eq!(state_of(&server, &old_kid).as_deref(), Some("retired"));
        assert!(jwks_kids(&server).await.contains(&old_kid));
        let rp_after = crate::support::oidc::relying_party(&server, &client).await;
        old_id_token
            .claims(&rp_after.id_token_verifier(), &nonce)
            .expect("a token signed before the rotation still verifies");
        let _ = rp;
        let userinfo = reqwest::Client::new()
            .get(server.url("/userinfo"))
            .bearer_auth(before.access_token().secret())
            .send()
            .await
            .unwrap();
        // (Expired by now on the server's clock, but not for its signature.)
        assert_eq!(userinfo.status(), StatusCode::UNAUTHORIZED);
        assert!(userinfo.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("expired"));

        // The retired key stays until every token it signed has expired.
        server.clock.advance(policy.retention - 1);
        server.run_key_maintenance();
        assert!(jwks_kids(&server).await.contains(&old_kid));
        server.clock.advance(1);
        assert!(server
            .run_key_maintenance()
            .contains(&KeyEvent::Deleted { count: 4 }));
        assert!(
            !jwks_kids(&server).await.contains(&old_kid),
            "removed after retention"
        );
        assert!(jwks_kids(&server).await.contains(&next_kid));
    }
);

on_both_backends!(
    every_algorithm_is_verified_by_openidconnect,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("alg");
        let cases = [
            ("RS256", CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256),
            ("PS256", CoreJwsSigningAlgorithm::RsaSsaPssSha256),
            ("ES256", CoreJwsSigningAlgorithm::EcdsaP256Sha256),
            ("EdDSA", CoreJwsSigningAlgorithm::EdDsa),
        ];
        for (name, alg) in cases {
            let client = server.create_client_with(ferrid_service::clients::ClientRegistration {
                name: format!("{name} app"),
                redirect_uris: vec![format!("https://{}.example/cb", name.to_lowercase())],
                post_logout_redirect_uris: vec![],
                grant_types: vec!["authorization_code".into()],
                auth_method: "client_secret_basic".into(),
                scope: "openid profile email".into(),
                id_token_alg: name.into(),
                ..Default::default()
            });
            let (tokens, nonce, rp) =
                sign_in_and_exchange(&server, &client, &Browser::new(), "alg").await;
            let id_token = tokens.id_token().unwrap();
            assert_eq!(jwt_header(&id_token.to_string())["alg"], name);
            let verifier = rp.id_token_verifier().set_allowed_algs(vec![alg.clone()]);
            let claims = id_token
                .claims(&verifier, &nonce)
                .unwrap_or_else(|error| panic!("{name}: {error}"));
            let expected = AccessTokenHash::from_token(
                tokens.access_token(),
                id_token.signing_alg().unwrap(),
                id_token.signing_key(&verifier).unwrap(),
            )
            .unwrap();
            assert_eq!(
                claims.access_token_hash(),
                Some(&expected),
                "{name} at_hash"
            );
            // Access tokens follow the server-wide setting.
            assert_eq!(jwt_header(tokens.access_token().secret())["alg"], "RS256");
        }
    }
);

on_both_backends!(
    revoked_keys_leave_at_once_and_their_tokens_fail,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("vic");
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let browser = Browser::new();
        let (tokens, _, _) = sign_in_and_exchange(&server, &client, &browser, "vic").await;
        let access = tokens.access_token().secret().clone();
        let kid = kid_of(&access);
        // Used once before the revocation, so its verification is cached.
        let before = reqwest::Client::new()
            .get(server.url("/userinfo"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap();
        assert_eq!(before.status(), StatusCode::OK);

        let output = server
            .cli(&["key", "revoke", &kid, "--json"])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        let events = report["events"].as_array().unwrap();
        assert_eq!(events[0], format!("revoked key {kid}").as_str());
        assert!(
            events[1].as_str().unwrap().contains("(current)"),
            "a replacement signs at once: {events:?}"
        );
        assert!(server.state.refresh_keys().unwrap());
        assert!(!jwks_kids(&server).await.contains(&kid));
        let revoked = server
            .store
            .list_signing_keys()
            .unwrap()
            .into_iter()
            .find(|key| key.kid == kid)
            .unwrap();
        assert!(
            revoked.private_key_sealed.is_empty(),
            "the private key is erased"
        );

        let response = reqwest::Client::new()
            .get(server.url("/userinfo"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let (fresh, _, _) = sign_in_and_exchange(&server, &client, &browser, "vic").await;
        assert_ne!(kid_of(fresh.access_token().secret()), kid);
        assert!(
            keys::revoke(&server.store, &server.master_key(), &kid, server.operator()).is_err()
        );
    }
);

on_both_backends!(
    two_nodes_rotating_at_once_make_one_key,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let policy = (*server.state.key_policy).clone();
        let due = server.clock.now() + policy.rotation_interval - policy.prepublish;
        let before = server.store.list_signing_keys().unwrap().len();

        // Two "nodes": separate connection pools on the same database.
        let nodes = 2;
        let barrier = Arc::new(Barrier::new(nodes));
        let threads: Vec<_> = (0..nodes)
            .map(|node| {
                let store = ferrid_store::Store::open(&server.config.database_url, 4).unwrap();
                let (barrier, policy, master) =
                    (barrier.clone(), policy.clone(), server.master_key());
                std::thread::spawn(move || {
                    barrier.wait();
                    keys::maintain(
                        &store,
                        &master,
                        &policy,
                        due,
                        &format!("node-{node}"),
                        "system",
                    )
                    .unwrap()
                })
            })
            .collect();
        let created: usize = threads
            .into_iter()
            .map(|thread| {
                thread
                    .join()
                    .unwrap()
                    .iter()
                    .filter(|e| matches!(e, KeyEvent::Created { .. }))
                    .count()
            })
            .sum();
        assert_eq!(created, 4, "one next key per algorithm, not two");
        assert_eq!(server.store.list_signing_keys().unwrap().len(), before + 4);

        // Two CLI processes asking for a planned rotation at the same moment.
        let spawn = || {
            server
                .cli(&["key", "rotate", "--alg", "ES256", "--json"])
                .spawn()
                .unwrap()
        };
        let (first, second) = (spawn(), spawn());
        for child in [first, second] {
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        // ES256 already had a next key from the maintenance above: still one.
        let next_es256 = server
            .store
            .list_signing_keys()
            .unwrap()
            .into_iter()
            .filter(|key| key.alg == SigningAlgorithm::Es256 && key.state == KeyState::Next)
            .count();
        assert_eq!(next_es256, 1);
    }
);

on_both_backends!(
    emergency_rotation_signs_at_once,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("emma");
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let (before, _, _) = sign_in_and_exchange(&server, &client, &Browser::new(), "emma").await;
        let old = kid_of(&before.id_token().unwrap().to_string());
        let output = server
            .cli(&["key", "rotate", "--alg", "RS256", "--now", "--json"])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            server.state.refresh_keys().unwrap(),
            "the server picks up the CLI's change"
        );
        let (after, _, _) = sign_in_and_exchange(&server, &client, &Browser::new(), "emma").await;
        let new = kid_of(&after.id_token().unwrap().to_string());
        assert_ne!(new, old);
        assert_eq!(state_of(&server, &old).as_deref(), Some("retired"));
        assert!(
            jwks_kids(&server).await.contains(&old),
            "the old key stays published"
        );
    }
);

on_both_backends!(
    nodes_see_key_changes_within_the_refresh_interval,
    |backend: Backend| async move {
        let server = server_or_skip!(backend, |config| config.key_refresh_interval = 1);
        let kid = jwks_kids(&server).await[0].clone();
        keys::revoke(&server.store, &server.master_key(), &kid, server.operator()).unwrap();
        let seen = crate::support::eventually(|| async {
            (!jwks_kids(&server).await.contains(&kid)).then_some(())
        })
        .await;
        assert!(
            seen.is_some(),
            "the background job reloads the keys within about one interval"
        );
    }
);

/// Runs `ferrid serve` on the server's database with `env`, expecting it to
/// refuse to start; returns its error output.
fn refused_start(server: &TestServer, env: &[(&str, &str)]) -> String {
    let output = server
        .cli(&["serve"])
        .env("FERRID_BIND", "127.0.0.1:0")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "started anyway: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

on_both_backends!(
    bad_master_keys_and_tampered_keys_stop_start_up,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let wrong = refused_start(
            &server,
            &[(
                "FERRID_MASTER_KEY",
                "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
            )],
        );
        // Caught by the installation record before any key is opened.
        assert!(
            wrong.contains("master key is not the one this database was set up with"),
            "{wrong}"
        );
        let missing = refused_start(
            &server,
            &[("FERRID_MASTER_KEY_FILE", "/nonexistent/master.key")],
        );
        assert!(
            missing.contains("master key file /nonexistent/master.key is missing"),
            "{missing}"
        );
        let malformed = refused_start(&server, &[("FERRID_MASTER_KEY", "not base64")]);
        assert!(malformed.contains("FERRID_MASTER_KEY"), "{malformed}");

        // A command that would seal a new key checks the master key first:
        // a wrong one must not add a key no node can open.
        let count = server.store.list_signing_keys().unwrap().len();
        let rotate = server
            .cli(&["key", "rotate", "--alg", "RS256"])
            .env(
                "FERRID_MASTER_KEY",
                "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
            )
            .output()
            .unwrap();
        assert!(!rotate.status.success());
        assert_eq!(
            server.store.list_signing_keys().unwrap().len(),
            count,
            "no key was written"
        );

        // The database itself refuses a second current key for an algorithm.
        let mut second = server.store.list_signing_keys().unwrap()[0].clone();
        second.kid = "k-second-current".into();
        assert!(matches!(
            server.store.insert_signing_key(&second),
            Err(ferrid_store::StoreError::Conflict(_))
        ));

        // Swap two rows' ciphertexts: the kid is bound as associated data.
        let keys = server.store.list_signing_keys().unwrap();
        let (a, b) = (&keys[0], &keys[1]);
        let mut connection = raw_connection(&server.config.database_url);
        let set = |connection: &mut ferrid_store::DbConnection, kid: &str, sealed: &str| {
            let query = match connection {
                ferrid_store::DbConnection::Sqlite(_) => {
                    "UPDATE signing_keys SET private_key_sealed = ? WHERE kid = ?"
                }
                ferrid_store::DbConnection::Postgres(_) => {
                    "UPDATE signing_keys SET private_key_sealed = $1 WHERE kid = $2"
                }
            };
            diesel::sql_query(query)
                .bind::<diesel::sql_types::Text, _>(sealed)
                .bind::<diesel::sql_types::Text, _>(kid)
                .execute(connection)
                .unwrap();
        };
        set(&mut connection, &a.kid, &b.private_key_sealed);
        let swapped = refused_start(&server, &[]);
        assert!(
            swapped.contains("wrong master key or tampered"),
            "{swapped}"
        );

        // Flip one character of a ciphertext.
        let mut tampered = a.private_key_sealed.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        set(&mut connection, &a.kid, &tampered);
        let flipped = refused_start(&server, &[]);
        assert!(
            flipped.contains("wrong master key or tampered"),
            "{flipped}"
        );
    }
);

on_both_backends!(
    rows_written_by_a_newer_version_do_not_stop_key_handling,
    |backend: Backend| async move {
        // A newer node may store a key of an algorithm, or a client grant
        // type, that this version does not know; it is left out, as an
        // unreadable key always was, instead of failing every reload.
        let server = server_or_skip!(backend);
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let mut connection = raw_connection(&server.config.database_url);
        let mut key = server.store.list_signing_keys().unwrap()[0].clone();
        key.kid = "k-from-the-future".into();
        // Stored retired (one current key per algorithm), then retagged.
        key.state = KeyState::Retired;
        key.retired_at = Some(server.clock.now());
        server.store.insert_signing_key(&key).unwrap();
        let (retag_key, retag_client) = match connection {
            ferrid_store::DbConnection::Sqlite(_) => (
                "UPDATE signing_keys SET alg = 'XS999', state = 'next' WHERE kid = ?",
                "UPDATE clients SET grant_types = grant_types || ' urn:future:grant' WHERE client_id = ?",
            ),
            ferrid_store::DbConnection::Postgres(_) => (
                "UPDATE signing_keys SET alg = 'XS999', state = 'next' WHERE kid = $1",
                "UPDATE clients SET grant_types = grant_types || ' urn:future:grant' WHERE client_id = $1",
            ),
        };
        for (query, id) in [
            (retag_key, "k-from-the-future"),
            (retag_client, client.id.as_str()),
        ] {
            diesel::sql_query(query)
                .bind::<diesel::sql_types::Text, _>(id)
                .execute(&mut connection)
                .unwrap();
        }
        let kids: Vec<String> = server
            .store
            .list_signing_keys()
            .unwrap()
            .into_iter()
            .map(|key| key.kid)
            .collect();
        assert!(!kids.is_empty() && !kids.contains(&"k-from-the-future".to_owned()));
        assert!(server.state.refresh_keys().is_ok(), "reloads still work");
        server.run_key_maintenance();
        assert!(!jwks_kids(&server)
            .await
            .contains(&"k-from-the-future".to_owned()));
        let stored = server.store.find_client(&client.id).unwrap().unwrap();
        assert_eq!(
            stored.grant_types,
            [ferrid_store::GrantType::AuthorizationCode],
            "the unknown grant is ignored"
        );
    }
);

on_both_backends!(
    rewrap_moves_every_key_to_a_new_master_key,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        // Regression: client_secret_jwt secrets (and TOTP secrets) are
        // sealed under the master key too, and were left behind.
        let jwt_client = server.create_client("client_secret_jwt", "https://jwt.example/cb");
        let user = server.create_user("sealed");
        let totp_secret = b"twenty bytes of totp".to_vec();
        let sealed = server
            .state
            .seal_totp_secret(&totp_secret, &user.id)
            .unwrap();
        assert!(server
            .store
            .confirm_totp(
                ferrid_store::TotpEnrolment {
                    user_id: &user.id,
                    sealed: &sealed,
                    step: 1,
                    keep_sid: None,
                },
                &[],
                0,
            )
            .unwrap());
        let new_key = server.dir.path().join("keys/new-master.key");
        let output = server
            .cli(&[
                "key",
                "rewrap",
                "--new-master-key",
                new_key.to_str().unwrap(),
                "--json",
            ])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        // Three signing keys, the client secret, the TOTP secret, and the
        // pairwise-subject salt.
        assert_eq!(report["rewrapped"], 7);
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&new_key).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // The old master key no longer opens the keys; the new one does.
        let old = refused_start(&server, &[]);
        assert!(old.contains("wrong master key"), "{old}");
        let new = ferrid_tokens::MasterKey::load(&new_key).unwrap();
        let stored = server.store.list_signing_keys().unwrap();
        ferrid_tokens::Keyring::load(&stored, &new)
            .expect("every key opens with the new master key");
        let client = server.store.find_client(&jwt_client.id).unwrap().unwrap();
        let secret = new
            .open(client.secret_sealed.as_deref().unwrap(), &client.client_id)
            .expect("the client secret opens with the new master key");
        assert_eq!(secret.as_slice(), jwt_client.secret.unwrap().as_bytes());
        let stored_user = server.store.find_user(&user.id).unwrap().unwrap();
        let opened = new
            .open(
                stored_user.totp_secret_sealed.as_deref().unwrap(),
                &format!("totp:{}", user.id),
            )
            .expect("the TOTP secret opens with the new master key");
        assert_eq!(opened.as_slice(), totp_secret.as_slice());
        // Pairwise subjects do not change with the master key.
        let moved = ferrid_server::subjects::Subjects::load(&server.store, &new)
            .expect("the pairwise salt opens with the new master key");
        assert_eq!(
            moved.in_sector(Some("app.example"), &user.id),
            server
                .state
                .subjects
                .in_sector(Some("app.example"), &user.id)
        );
    }
);
