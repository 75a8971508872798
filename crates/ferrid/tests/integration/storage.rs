//! Storage rules that need a real database, on SQLite and PostgreSQL.

use std::sync::{Arc, Barrier};

use ferrid_server::Clock;
use ferrid_store::secret::digest;
use ferrid_store::{AuthorizationCode, StoreError};

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::Backend;

on_both_backends!(
    a_code_is_redeemed_exactly_once_under_concurrency,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let user = server.create_user("racer");
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let now = server.clock.now();
        let code = AuthorizationCode {
            code_digest: digest("the-code"),
            client_id: client.id.clone(),
            user_id: user.id.clone(),
            sid: "sid".into(),
            redirect_uri: client.redirect_uri.clone(),
            scope: "openid".into(),
            nonce: None,
            code_challenge: None,
            auth_time: now,
            created_at: now,
            expires_at: now + 60,
            redeemed_at: None,
            grant_id: None,
            amr: "pwd".into(),
            resources: String::new(),
            id_token_claims: String::new(),
        };
        server.store.insert_authorization_code(&code).unwrap();

        let racers = 16;
        let barrier = Arc::new(Barrier::new(racers));
        let threads: Vec<_> = (0..racers)
            .map(|_| {
                let (store, barrier) = (server.store.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    store.write_transaction(|tx| {
                        tx.redeem_authorization_code(&digest("the-code"), "grant", now + 1)
                    })
                })
            })
            .collect();
        let results: Vec<_> = threads
            .into_iter()
            .map(|thread| thread.join().unwrap())
            .collect();
        let winners = results
            .iter()
            .filter(|result| matches!(result, Ok(Some(_))))
            .count();
        assert!(
            results.iter().all(Result::is_ok),
            "no database errors leak out: {results:?}"
        );
        assert_eq!(winners, 1);
        // An expired code cannot be redeemed either.
        let mut late = code.clone();
        late.code_digest = digest("late");
        server.store.insert_authorization_code(&late).unwrap();
        assert!(server
            .store
            .write_transaction(|tx| tx.redeem_authorization_code(
                &digest("late"),
                "grant",
                now + 60
            ))
            .unwrap()
            .is_none());
    }
);

on_both_backends!(
    users_are_unique_and_found_case_insensitively,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let user = server.create_user("Mallory");
        assert_eq!(user.username, "mallory");
        let found = server
            .store
            .find_user_by_login("MALLORY@EXAMPLE.COM")
            .unwrap()
            .unwrap();
        assert_eq!(found.id, user.id);
        assert!(found.password_hash.starts_with("$argon2id$"));
        let duplicate = server.store.create_user(
            ferrid_store::NewUser {
                username: "mallory",
                email: "x@example.com",
                name: None,
                password_hash: "h",
                passwordless: false,
            },
            0,
        );
        assert!(matches!(duplicate, Err(StoreError::Conflict(_))));
        assert!(matches!(
            server.store.change_password("nobody", "h", None, 0),
            Err(StoreError::NotFound(_))
        ));
    }
);

on_both_backends!(
    deleting_a_client_removes_its_consents_and_codes,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let user = server.create_user("olivia");
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        server
            .store
            .grant_consent(&user.id, &client.id, &["openid".into()], 0)
            .unwrap();
        server
            .store
            .grant_consent(&user.id, &client.id, &["openid".into(), "email".into()], 1)
            .unwrap();
        assert_eq!(
            server
                .store
                .find_consent(&user.id, &client.id)
                .unwrap()
                .unwrap(),
            vec!["openid", "email"]
        );
        server.store.delete_client(&client.id).unwrap();
        assert!(server
            .store
            .find_consent(&user.id, &client.id)
            .unwrap()
            .is_none());
        assert!(matches!(
            server.store.delete_client(&client.id),
            Err(StoreError::NotFound(_))
        ));
    }
);

on_both_backends!(
    expired_rows_are_cleaned_up_once_across_nodes,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("old");
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        // A login leaves a session, a redeemed code and a grant behind; an
        // abandoned authorization request stays pending.
        crate::support::oidc::sign_in_and_exchange(
            &server,
            &client,
            &crate::support::Browser::new(),
            "old",
        )
        .await;
        let abandoned = format!(
            "{}?client_id={}&redirect_uri={}&response_type=code&scope=openid{}",
            server.url("/authorize"),
            client.id,
            client.redirect_uri,
            crate::support::oidc::PKCE_PARAMS
        );
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(&abandoned)
            .send()
            .await
            .unwrap();

        // Nothing has expired yet.
        let removed = server.state.clean_up().unwrap().expect("lease");
        assert_eq!(removed.total(), 0);

        // Another node holding the lease: this one does nothing.
        let now = server.clock.now();
        assert!(server
            .store
            .try_acquire_lease("housekeeping", "other-node", now, now + 60)
            .unwrap());
        assert!(server.state.clean_up().unwrap().is_none());
        server
            .store
            .release_lease("housekeeping", "other-node")
            .unwrap();

        server.clock.advance(2 * 86_400);
        let removed = server.state.clean_up().unwrap().expect("lease");
        assert_eq!(removed.authorization_requests, 1);
        assert_eq!(removed.authorization_codes, 1);
        assert_eq!(removed.sessions, 1);
        assert_eq!(removed.grants, 1);
        assert_eq!(removed.audit_events, 0, "audit events are kept a year");
        assert_eq!(server.state.clean_up().unwrap().expect("lease").total(), 0);

        // A year on, the sign-in's audit events go, unless retention is 0.
        let logged = || server.audit_log().len();
        let before = logged();
        assert!(before > 0);
        server.clock.advance(366 * 86_400);
        let now = server.clock.now();
        let kept = ferrid_server::housekeeping::run(&server.store, now, 0, 0, "node")
            .unwrap()
            .expect("lease");
        assert_eq!(kept.audit_events, 0);
        assert_eq!(logged(), before);
        let removed = server.state.clean_up().unwrap().expect("lease");
        assert_eq!(removed.audit_events, before);
        assert_eq!(logged(), 0);
    }
);

on_both_backends!(
    concurrent_consents_for_one_user_and_client_all_succeed,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let user = server.create_user("tabs");
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let racers = 8;
        let barrier = Arc::new(Barrier::new(racers));
        let threads: Vec<_> = (0..racers)
            .map(|_| {
                let (store, barrier) = (server.store.clone(), barrier.clone());
                let (user_id, client_id) = (user.id.clone(), client.id.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    store.grant_consent(&user_id, &client_id, &["openid".into()], 1)
                })
            })
            .collect();
        for thread in threads {
            // Regression: on PostgreSQL, concurrent first consents failed
            // with a unique violation (a 500 on the consent page).
            thread.join().unwrap().expect("consent recorded");
        }
        assert_eq!(
            server.store.find_consent(&user.id, &client.id).unwrap(),
            Some(vec!["openid".to_owned()])
        );
    }
);
