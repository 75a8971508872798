//! JWT client authentication (RFC 7523): client_secret_jwt and
//! private_key_jwt, with keys by value and by jwks_uri.

use ferrid_server::Clock;
use ferrid_service::clients::ClientRegistration;
use josekit::jwk::KeyPair;
use josekit::jws::{JwsSigner, ES256, HS256};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::jws::{key_of, signed_jwt as assertion};
use crate::support::receiver::{free_port, Receiver};
use crate::support::server::TestClient;
use crate::support::{Backend, TestServer};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn service(
    server: &TestServer,
    auth_method: &str,
    tweak: impl FnOnce(&mut ClientRegistration),
) -> TestClient {
    let mut registration = ClientRegistration {
        name: "JWT service".into(),
        grant_types: vec!["client_credentials".into()],
        auth_method: auth_method.into(),
        scope: "profile".into(),
        id_token_alg: "RS256".into(),
        ..Default::default()
    };
    tweak(&mut registration);
    server.create_client_with(registration)
}

fn claims(server: &TestServer, client_id: &str, jti: &str) -> Value {
    let now = server.clock.now();
    json!({ "iss": client_id, "sub": client_id, "aud": server.url("/token"), "exp": now + 60, "iat": now, "jti": jti })
}

async fn token_with(
    server: &TestServer,
    assertion: &str,
    extra: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
    ];
    form.extend_from_slice(extra);
    let response = reqwest::Client::new()
        .post(server.url("/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

on_both_backends!(client_secret_jwt_rules, |backend: Backend| async move {
    let server = server_or_skip!(backend);
    let client = service(&server, "client_secret_jwt", |_| {});
    let secret = client.secret.clone().expect("a secret, shown once");
    let stored = server.store.find_client(&client.id).unwrap().unwrap();
    assert!(
        stored.secret_digest.is_none()
            && stored
                .secret_sealed
                .as_deref()
                .is_some_and(|s| !s.contains(&secret))
    );
    let signer = HS256.signer_from_bytes(secret.as_bytes()).unwrap();
    let wrong = HS256
        .signer_from_bytes(b"not the secret at all, not at all")
        .unwrap();

    let good = assertion(&signer, None, claims(&server, &client.id, "one"));
    let (status, body) = token_with(&server, &good, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The same assertion again: a replay.
    let (status, body) = token_with(&server, &good, &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );

    let issuer_audience = {
        let mut c = claims(&server, &client.id, "two");
        c["aud"] = server.issuer.clone().into();
        assertion(&signer, None, c)
    };
    assert_eq!(
        token_with(&server, &issuer_audience, &[]).await.0,
        StatusCode::OK,
        "aud may be the issuer"
    );

    let mut refused = Vec::new();
    let mut with = |change: &dyn Fn(&mut Value), signer: &dyn JwsSigner| {
        let mut c = claims(&server, &client.id, &format!("bad-{}", refused.len()));
        change(&mut c);
        refused.push(assertion(signer, None, c));
    };
    with(&|_| {}, &*wrong);
    with(
        &|c| c["aud"] = "https://elsewhere.example/token".into(),
        &signer,
    );
    with(
        &|c| c["exp"] = (c["iat"].as_i64().unwrap() - 61).into(),
        &signer,
    );
    with(
        &|c| {
            c.as_object_mut().unwrap().remove("exp");
        },
        &signer,
    );
    with(
        &|c| {
            c.as_object_mut().unwrap().remove("jti");
        },
        &signer,
    );
    with(&|c| c["sub"] = "someone-else".into(), &signer);
    // Regressions: an audience list naming another server too, an exp ten
    // years ahead, and no iat were all accepted.
    with(
        &|c| c["aud"] = json!([c["aud"].clone(), "https://other-server.example"]),
        &signer,
    );
    with(
        &|c| c["exp"] = (c["iat"].as_i64().unwrap() + 10 * 365 * 86400).into(),
        &signer,
    );
    with(
        &|c| c["exp"] = (c["iat"].as_i64().unwrap() + 301).into(),
        &signer,
    );
    with(
        &|c| {
            c.as_object_mut().unwrap().remove("iat");
        },
        &signer,
    );
    with(
        &|c| c["iat"] = (c["iat"].as_i64().unwrap() + 120).into(),
        &signer,
    );
    for bad in refused {
        let (status, body) = token_with(&server, &bad, &[]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_client")),
            "{}",
            crate::support::oidc::jwt_claims(&bad)
        );
    }
    // A single-valued audience list, and an exp at the configured maximum.
    let mut listed = claims(&server, &client.id, "listed");
    listed["aud"] = json!([server.issuer.clone()]);
    listed["exp"] = (server.clock.now() + 300).into();
    assert_eq!(
        token_with(&server, &assertion(&signer, None, listed), &[])
            .await
            .0,
        StatusCode::OK
    );
    // Within the 60 s leeway, a just-expired assertion still passes.
    let mut late = claims(&server, &client.id, "late");
    late["exp"] = (server.clock.now() - 30).into();
    assert_eq!(
        token_with(&server, &assertion(&signer, None, late), &[])
            .await
            .0,
        StatusCode::OK
    );
    // One method only; a mismatching client_id; garbage.
    let fresh = assertion(&signer, None, claims(&server, &client.id, "three"));
    let response = reqwest::Client::new()
        .post(server.url("/token"))
        .basic_auth(&client.id, Some(&secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &fresh),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        token_with(&server, &fresh, &[("client_id", "other")])
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        token_with(&server, "not.a.jwt", &[]).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = token_with(&server, &fresh, &[("client_assertion_type", "urn:other")]).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a repeated or wrong assertion type"
    );
    // A client registered for Basic cannot switch to an assertion.
    let basic = service(&server, "client_secret_basic", |_| {});
    let hmac = HS256
        .signer_from_bytes(basic.secret.unwrap().as_bytes())
        .unwrap();
    let switched = assertion(&hmac, None, claims(&server, &basic.id, "x"));
    assert_eq!(
        token_with(&server, &switched, &[]).await.0,
        StatusCode::UNAUTHORIZED
    );
});

on_both_backends!(
    private_key_jwt_with_keys_by_value_and_by_uri,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let pair = ES256.generate_key_pair().unwrap();
        let mut public = pair.to_jwk_public_key();
        public.set_key_id("client-key-1");
        let jwks = json!({ "keys": [serde_json::to_value(public.as_ref()).unwrap()] }).to_string();
        let signer = ES256.signer_from_der(pair.to_der_private_key()).unwrap();
        let stranger = ES256
            .signer_from_der(ES256.generate_key_pair().unwrap().to_der_private_key())
            .unwrap();

        // Keys by value.
        let by_value = service(&server, "private_key_jwt", |r| r.jwks = Some(jwks.clone()));
        assert!(by_value.secret.is_none(), "no secret for private_key_jwt");
        let good = assertion(
            &signer,
            Some("client-key-1"),
            claims(&server, &by_value.id, "v1"),
        );
        let (status, body) = token_with(&server, &good, &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let forged = assertion(
            &*stranger,
            Some("client-key-1"),
            claims(&server, &by_value.id, "v2"),
        );
        assert_eq!(
            token_with(&server, &forged, &[]).await.0,
            StatusCode::UNAUTHORIZED
        );
        let unknown_kid = assertion(
            &signer,
            Some("other-key"),
            claims(&server, &by_value.id, "v3"),
        );
        assert_eq!(
            token_with(&server, &unknown_kid, &[]).await.0,
            StatusCode::UNAUTHORIZED
        );

        // Keys by URI, fetched from the client's server.
        let port = free_port();
        let by_uri = service(&server, "private_key_jwt", |r| {
            r.jwks_uri = Some(format!("http://127.0.0.1:{port}/jwks.json"));
        });
        let down = assertion(&signer, None, claims(&server, &by_uri.id, "u0"));
        assert_eq!(
            token_with(&server, &down, &[]).await.0,
            StatusCode::UNAUTHORIZED,
            "keys unreachable"
        );
        let keys_server = Receiver::serving(port, jwks.clone());
        // The failure is remembered: no new fetch before its back-off.
        let early = assertion(&signer, None, claims(&server, &by_uri.id, "u-early"));
        assert_eq!(
            token_with(&server, &early, &[]).await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(keys_server.requests(), 0);
        server
            .clock
            .advance(ferrid_server::client_assertion::failure_backoff(1));
        let good = assertion(&signer, None, claims(&server, &by_uri.id, "u1"));
        let (status, body) = token_with(&server, &good, &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let again = assertion(&signer, None, claims(&server, &by_uri.id, "u2"));
        assert_eq!(token_with(&server, &again, &[]).await.0, StatusCode::OK);
        assert_eq!(keys_server.logout_tokens().len(), 0);
        drop(keys_server);
    }
);

on_both_backends!(
    jwt_clients_can_introspect_and_revoke,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let client = service(&server, "client_secret_jwt", |_| {});
        let signer = HS256
            .signer_from_bytes(client.secret.clone().unwrap().as_bytes())
            .unwrap();
        let (status, body) = token_with(
            &server,
            &assertion(&signer, None, claims(&server, &client.id, "a")),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let access = body["access_token"].as_str().unwrap();
        let introspected: Value = reqwest::Client::new()
            .post(server.url("/introspect"))
            .form(&[
                ("token", access),
                ("client_assertion_type", JWT_BEARER),
                (
                    "client_assertion",
                    &assertion(&signer, None, claims(&server, &client.id, "b")),
                ),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(introspected["active"], true);
    }
);

on_both_backends!(
    every_assertion_algorithm_works_and_must_match_the_key,
    |backend: Backend| async move {
        use josekit::jws::{HS384, HS512, PS256};
        let server = server_or_skip!(backend);
        // client_secret_jwt: each HMAC algorithm with the client secret.
        let hmac = service(&server, "client_secret_jwt", |_| {});
        let secret = hmac.secret.clone().unwrap();
        let hmac_signers: [(&str, Box<dyn JwsSigner>); 3] = [
            (
                "HS256",
                Box::new(HS256.signer_from_bytes(secret.as_bytes()).unwrap()),
            ),
            (
                "HS384",
                Box::new(HS384.signer_from_bytes(secret.as_bytes()).unwrap()),
            ),
            (
                "HS512",
                Box::new(HS512.signer_from_bytes(secret.as_bytes()).unwrap()),
            ),
        ];
        for (alg, signer) in &hmac_signers {
            let signed = assertion(signer.as_ref(), None, claims(&server, &hmac.id, alg));
            let (status, body) = token_with(&server, &signed, &[]).await;
            assert_eq!(status, StatusCode::OK, "{alg}: {body}");
        }

        // private_key_jwt: each public-key algorithm, keys by value.
        for alg in ["RS256", "PS256", "ES256", "EdDSA"] {
            let (signer, public) = key_of(alg);
            let jwks = json!({ "keys": [public] }).to_string();
            let client = service(&server, "private_key_jwt", |r| r.jwks = Some(jwks));
            let kid = format!("{alg}-key");
            let signed = assertion(
                signer.as_ref(),
                Some(&kid),
                claims(&server, &client.id, "ok"),
            );
            let (status, body) = token_with(&server, &signed, &[]).await;
            assert_eq!(status, StatusCode::OK, "{alg}: {body}");
        }

        // The header's alg must be the key's: an RSA key registered for
        // RS256 does not verify a PS256 signature made with the same key.
        let pair = josekit::jws::RS256.generate_key_pair(2048).unwrap();
        let mut public = pair.to_jwk_public_key();
        public.set_key_id("rsa");
        public.set_algorithm("RS256");
        let jwks = json!({ "keys": [serde_json::to_value(public.as_ref()).unwrap()] }).to_string();
        let client = service(&server, "private_key_jwt", |r| r.jwks = Some(jwks));
        let pss = PS256.signer_from_der(pair.to_der_private_key()).unwrap();
        let mismatched = assertion(&pss, Some("rsa"), claims(&server, &client.id, "pss"));
        assert_eq!(
            token_with(&server, &mismatched, &[]).await.0,
            StatusCode::UNAUTHORIZED
        );
        let mismatched = assertion(&pss, None, claims(&server, &client.id, "pss-nokid"));
        assert_eq!(
            token_with(&server, &mismatched, &[]).await.0,
            StatusCode::UNAUTHORIZED
        );
        // An HMAC signature is no use to a private_key_jwt client, nor a
        // public-key signature to a client_secret_jwt client.
        let forged = assertion(
            hmac_signers[0].1.as_ref(),
            Some("rsa"),
            claims(&server, &client.id, "hmac"),
        );
        assert_eq!(
            token_with(&server, &forged, &[]).await.0,
            StatusCode::UNAUTHORIZED
        );
        let (signer, _) = key_of("ES256");
        let wrong_kind = assertion(signer.as_ref(), None, claims(&server, &hmac.id, "es"));
        assert_eq!(
            token_with(&server, &wrong_kind, &[]).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
);

on_both_backends!(
    a_key_set_with_private_keys_is_refused_at_registration,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let pair = ES256.generate_key_pair().unwrap();
        let private = serde_json::to_value(pair.to_jwk_private_key().as_ref()).unwrap();
        let registration = ClientRegistration {
            name: "Leaky".into(),
            grant_types: vec!["client_credentials".into()],
            auth_method: "private_key_jwt".into(),
            scope: "profile".into(),
            id_token_alg: "RS256".into(),
            jwks: Some(json!({ "keys": [private] }).to_string()),
            ..Default::default()
        };
        let error = ferrid_service::clients::create(
            &server.store,
            registration,
            &ferrid_tokens::SigningAlgorithm::ALL,
            &server.master_key(),
            "test",
            server.clock.now(),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("private key material"), "{error}");
        // Nothing but the console's own client is registered.
        assert!(server
            .store
            .list_clients()
            .unwrap()
            .iter()
            .all(|client| client.client_id == ferrid_service::clients::CONSOLE_CLIENT_ID));
    }
);

on_both_backends!(
    a_failing_jwks_uri_is_fetched_once_and_then_backs_off,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let port = free_port();
        let keys_server = Receiver::answering(port, "500 Internal Server Error", String::new());
        let client = service(&server, "private_key_jwt", |r| {
            r.jwks_uri = Some(format!("http://127.0.0.1:{port}/jwks.json"));
        });
        let (signer, _) = key_of("ES256");
        // Regression: fifty unauthenticated requests made fifty fetches.
        let mut burst = tokio::task::JoinSet::new();
        for n in 0..50 {
            let signed = assertion(
                signer.as_ref(),
                None,
                claims(&server, &client.id, &format!("burst-{n}")),
            );
            let url = server.url("/token");
            burst.spawn(async move {
                reqwest::Client::new()
                    .post(url)
                    .form(&[
                        ("grant_type", "client_credentials"),
                        ("client_assertion_type", JWT_BEARER),
                        ("client_assertion", &signed),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .status()
            });
        }
        while let Some(status) = burst.join_next().await {
            assert_eq!(status.unwrap(), StatusCode::UNAUTHORIZED);
        }
        assert_eq!(keys_server.requests(), 1, "one fetch for the whole burst");
        // Within the back-off nothing is fetched; after it, one more try.
        server.clock.advance(4);
        let again = assertion(signer.as_ref(), None, claims(&server, &client.id, "later"));
        assert_eq!(
            token_with(&server, &again, &[]).await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(keys_server.requests(), 1);
        server.clock.advance(1);
        let retry = assertion(signer.as_ref(), None, claims(&server, &client.id, "retry"));
        assert_eq!(
            token_with(&server, &retry, &[]).await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(keys_server.requests(), 2);
        // Twice failed: the next try waits 10 s.
        server.clock.advance(9);
        let waiting = assertion(signer.as_ref(), None, claims(&server, &client.id, "wait"));
        assert_eq!(
            token_with(&server, &waiting, &[]).await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(keys_server.requests(), 2);
    }
);

on_both_backends!(
    registered_addresses_on_private_networks_are_not_contacted,
    |backend: Backend| async move {
        let server = crate::support::TestServer::start_with(backend, |config| {
            config.outbound_allow_private_networks = false;
        });
        let Some(server) = server else { return };
        let (signer, public) = key_of("ES256");
        let jwks = json!({ "keys": [public] }).to_string();
        let port = free_port();
        let keys_server = Receiver::serving(port, jwks);
        for uri in [
            format!("http://127.0.0.1:{port}/jwks.json"),
            format!("http://localhost:{port}/jwks.json"),
            format!("https://[::ffff:127.0.0.1]:{port}/jwks.json"),
        ] {
            let client = service(&server, "private_key_jwt", |r| {
                r.jwks_uri = Some(uri.clone());
            });
            let signed = assertion(
                signer.as_ref(),
                Some("ES256-key"),
                claims(&server, &client.id, &uri),
            );
            let (status, body) = token_with(&server, &signed, &[]).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}: {body}");
        }
        assert_eq!(keys_server.requests(), 0, "no connection was made");

        // Back-channel logout receivers are held to the same rule.
        server.create_user("pia");
        let app = server.create_client_with(ClientRegistration {
            name: "Private receiver".into(),
            redirect_uris: vec!["https://private-bc.example/cb".into()],
            grant_types: vec!["authorization_code".into()],
            auth_method: "client_secret_basic".into(),
            scope: "openid profile email".into(),
            id_token_alg: "RS256".into(),
            backchannel_logout_uri: Some(format!("http://127.0.0.1:{port}/backchannel")),
            ..Default::default()
        });
        let browser = crate::support::Browser::new();
        crate::support::oidc::sign_in_and_exchange(&server, &app, &browser, "pia").await;
        ferrid_service::users::disable(&server.store, "pia", "test", server.clock.now()).unwrap();
        server.state.deliver_logouts().await.unwrap();
        let delivery = &server.store.list_logout_deliveries().unwrap()[0];
        assert!(delivery.delivered_at.is_none());
        assert!(
            delivery
                .last_error
                .as_deref()
                .is_some_and(|error| error.contains("private")),
            "{delivery:?}"
        );
        assert_eq!(keys_server.requests(), 0);
    }
);
