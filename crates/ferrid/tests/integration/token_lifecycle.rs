//! Refresh rotation and reuse, concurrent refreshes, client credentials,
//! introspection, revocation and code reuse, through the real server.

use std::sync::Arc;

use ferrid_service::clients::ClientRegistration;
use openidconnect::{OAuth2TokenResponse, RefreshToken, TokenResponse};
use reqwest::StatusCode;
use serde_json::Value;

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::oidc::{http_client, jwt_claims, sign_in_with_scopes};
use crate::support::server::TestClient;
use crate::support::{Backend, Browser, TestServer};

/// A confidential client allowed refresh tokens.
pub(crate) fn refresh_client(
    server: &TestServer,
    tweak: impl FnOnce(&mut ClientRegistration),
) -> TestClient {
    let mut registration = ClientRegistration {
        name: "Refreshing app".into(),
        redirect_uris: vec!["https://refresh.example/cb".into()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        auth_method: "client_secret_basic".into(),
        scope: "openid profile email offline_access".into(),
        id_token_alg: "RS256".into(),
        ..Default::default()
    };
    tweak(&mut registration);
    server.create_client_with(registration)
}

/// POSTs a form to `path` authenticated as `client`; returns status and JSON.
pub(crate) async fn call(
    server: &TestServer,
    path: &str,
    client: &TestClient,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().post(server.url(path)).form(form);
    request = match &client.secret {
        Some(secret) => request.basic_auth(&client.id, Some(secret)),
        None => request.form(&[("client_id", client.id.as_str())]),
    };
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub(crate) async fn refresh(
    server: &TestServer,
    client: &TestClient,
    token: &str,
) -> (StatusCode, Value) {
    call(
        server,
        "/token",
        client,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

async fn introspect(server: &TestServer, client: &TestClient, token: &str) -> Value {
    let (status, body) = call(server, "/introspect", client, &[("token", token)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn first_tokens(server: &TestServer, client: &TestClient, user: &str) -> (String, String) {
    server.create_user(user);
    let (tokens, _, _) = sign_in_with_scopes(
        server,
        client,
        &Browser::new(),
        user,
        &["profile", "offline_access"],
    )
    .await;
    let refresh = tokens
        .refresh_token()
        .expect("a refresh token with offline_access")
        .secret()
        .clone();
    assert!(refresh.starts_with("frt_"));
    (tokens.access_token().secret().clone(), refresh)
}

on_both_backends!(
    refresh_rotates_and_reuse_revokes_the_family,
    |backend: Backend| async move {
        // Strict: no grace window for lost responses.
        let server = server_or_skip!(backend, |config| config.refresh_reuse_grace = 0);
        let client = refresh_client(&server, |_| {});
        let (first_access, first_refresh) = first_tokens(&server, &client, "ruth").await;

        // The relying-party library refreshes; the token rotates.
        let rp = crate::support::oidc::relying_party(&server, &client).await;
        let refreshed = rp
            .exchange_refresh_token(&RefreshToken::new(first_refresh.clone()))
            .unwrap()
            .request_async(&http_client())
            .await
            .expect("refresh");
        let second_refresh = refreshed.refresh_token().unwrap().secret().clone();
        assert_ne!(second_refresh, first_refresh);
        assert!(refreshed.id_token().is_some());
        let second_access = refreshed.access_token().secret().clone();
        assert_eq!(
            jwt_claims(&second_access)["gid"],
            jwt_claims(&first_access)["gid"]
        );

        // The old token is refused; a second later it counts as reuse and the
        // whole family goes: the new refresh token and the access tokens too.
        server.clock.advance(2);
        let (status, body) = refresh(&server, &client, &first_refresh).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant"))
        );
        let (status, _) = refresh(&server, &client, &second_refresh).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let revoked = server.audited("grant.revoke", "success");
        assert!(
            revoked
                .iter()
                .any(|detail| detail.starts_with("refresh token reused")),
            "{revoked:?}"
        );
        assert_eq!(
            introspect(&server, &client, &second_access).await["active"],
            false
        );
        assert_eq!(
            introspect(&server, &client, &second_refresh).await["active"],
            false
        );
        let userinfo = reqwest::Client::new()
            .get(server.url("/userinfo"))
            .bearer_auth(&second_access)
            .send()
            .await
            .unwrap();
        assert_eq!(userinfo.status(), StatusCode::UNAUTHORIZED);
    }
);

on_both_backends!(
    concurrent_refreshes_have_exactly_one_winner,
    |backend: Backend| async move {
        // Strict: no grace window, in which one more request would get
        // the same successor (the crash test covers the default).
        let server = Arc::new(server_or_skip!(backend, |config| config
            .refresh_reuse_grace =
            0));
        let client = refresh_client(&server, |_| {});
        let (_, token) = first_tokens(&server, &client, "race").await;
        let requests = 16;
        let barrier = Arc::new(tokio::sync::Barrier::new(requests));
        let tasks: Vec<_> = (0..requests)
            .map(|_| {
                let (server, client, token, barrier) = (
                    server.clone(),
                    client.clone(),
                    token.clone(),
                    barrier.clone(),
                );
                tokio::spawn(async move {
                    barrier.wait().await;
                    refresh(&server, &client, &token).await
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            let (status, body) = task.await.unwrap();
            match status {
                StatusCode::OK => winners.push(body),
                StatusCode::BAD_REQUEST => assert_eq!(body["error"], "invalid_grant", "{body}"),
                other => panic!("no {other} under concurrency: {body}"),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one refresh succeeds");
        // The race did not revoke the family: the winner's token works.
        let (status, body) = refresh(
            &server,
            &client,
            winners[0]["refresh_token"].as_str().unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
);

on_both_backends!(refresh_rules, |backend: Backend| async move {
    let server = server_or_skip!(backend);
    let client = refresh_client(&server, |r| {
        r.refresh_idle_ttl = Some(100);
        r.refresh_absolute_ttl = Some(250);
    });
    let other = refresh_client(&server, |r| {
        r.redirect_uris = vec!["https://other.example/cb".into()]
    });
    let (_, token) = first_tokens(&server, &client, "rules").await;

    // Another client's refresh token is refused (and does not burn it).
    let (status, body) = refresh(&server, &other, &token).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    // Scope: narrower is fine, wider is not.
    let (status, body) = call(
        &server,
        "/token",
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &token),
            ("scope", "openid email"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope"))
    );
    let (status, body) = call(
        &server,
        "/token",
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &token),
            ("scope", "openid"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "openid");
    assert_eq!(
        jwt_claims(body["access_token"].as_str().unwrap())["scope"],
        "openid"
    );
    let token = body["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        introspect(&server, &client, &token).await["scope"],
        "openid profile offline_access",
        "the refresh token keeps its scope"
    );

    // Idle lifetime: used within 100 s it lives on, up to the absolute 250 s.
    server.clock.advance(90);
    let (status, body) = refresh(&server, &client, &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["refresh_token"].as_str().unwrap().to_owned();
    server.clock.advance(90);
    let (status, body) = refresh(&server, &client, &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["refresh_token"].as_str().unwrap().to_owned();
    assert!(
        introspect(&server, &client, &token).await["exp"]
            .as_i64()
            .unwrap()
            <= server_start(&server) + 250
    );
    server.clock.advance(71);
    let (status, body) = refresh(&server, &client, &token).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "past the absolute lifetime"
    );

    // Idle expiry on its own.
    let (_, idle) = first_tokens(&server, &client, "idle").await;
    server.clock.advance(101);
    let (status, _) = refresh(&server, &client, &idle).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
});

/// When the test server's clock started (the first grant's time).
fn server_start(server: &TestServer) -> i64 {
    use ferrid_server::Clock;
    server.clock.now() - 180
}

on_both_backends!(
    refresh_needs_offline_access_unless_online,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("ona");
        let plain = refresh_client(&server, |_| {});
        let (tokens, _, _) =
            sign_in_with_scopes(&server, &plain, &Browser::new(), "ona", &["profile"]).await;
        assert!(
            tokens.refresh_token().is_none(),
            "no offline_access, no refresh token"
        );
        let online = refresh_client(&server, |r| {
            r.redirect_uris = vec!["https://online.example/cb".into()];
            r.refresh_for_online_sessions = true;
        });
        let (tokens, _, _) =
            sign_in_with_scopes(&server, &online, &Browser::new(), "ona", &["profile"]).await;
        assert!(tokens.refresh_token().is_some());
        let no_grant = server.create_client("client_secret_basic", "https://nogrant.example/cb");
        let (tokens, _, _) =
            sign_in_with_scopes(&server, &no_grant, &Browser::new(), "ona", &["profile"]).await;
        assert!(
            tokens.refresh_token().is_none(),
            "a client without the grant gets none"
        );
    }
);

on_both_backends!(
    grace_window_lets_a_lost_response_be_retried,
    |backend: Backend| async move {
        let server = server_or_skip!(backend, |config| config.refresh_reuse_grace = 5);
        let client = refresh_client(&server, |_| {});
        let (_, token) = first_tokens(&server, &client, "gail").await;
        let (status, lost) = refresh(&server, &client, &token).await;
        assert_eq!(status, StatusCode::OK);
        server.clock.advance(3);
        let (status, body) = refresh(&server, &client, &token).await;
        assert_eq!(status, StatusCode::OK, "within the grace window: {body}");
        // Regression: the grace answer minted a second live successor.
        assert_eq!(
            body["refresh_token"], lost["refresh_token"],
            "the same successor, so the family does not fork"
        );
        server.clock.advance(3);
        let (status, _) = refresh(&server, &client, &token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "after it, reuse");
        let (status, _) = refresh(&server, &client, body["refresh_token"].as_str().unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "and the family is revoked");
    }
);

on_both_backends!(client_credentials_grant, |backend: Backend| async move {
    let server = server_or_skip!(backend);
    let service = server.create_client_with(ClientRegistration {
        name: "Service".into(),
        grant_types: vec!["client_credentials".into()],
        auth_method: "client_secret_post".into(),
        scope: "profile email".into(),
        id_token_alg: "RS256".into(),
        ..Default::default()
    });
    let secret = service.secret.clone().unwrap();
    let post = |extra: &'static [(&'static str, &'static str)]| {
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", service.id.as_str()),
            ("client_secret", secret.as_str()),
        ];
        form.extend_from_slice(extra);
        reqwest::Client::new()
            .post(server.url("/token"))
            .form(&form)
            .send()
    };
    let response = post(&[]).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert!(body.get("id_token").is_none() && body.get("refresh_token").is_none());
    assert_eq!(body["scope"], "profile email");
    let claims = jwt_claims(body["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], service.id.as_str());
    assert_eq!(claims["client_id"], service.id.as_str());
    let body: Value = post(&[("scope", "email")])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["scope"], "email");
    let response = post(&[("scope", "openid")]).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_scope"
    );
    // A client token is no user's: UserInfo refuses it (RFC 6750 §3.1).
    let userinfo = reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        userinfo.status(),
        StatusCode::FORBIDDEN,
        "no openid scope: insufficient_scope"
    );
    // A client without the grant cannot use it.
    let web_app = server.create_client("client_secret_basic", "https://web.example/cb");
    let (status, body) = call(
        &server,
        "/token",
        &web_app,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unauthorized_client"))
    );
});

on_both_backends!(
    introspection_and_revocation,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let client = refresh_client(&server, |_| {});
        let resource_server = server.create_client_with(ClientRegistration {
            name: "API".into(),
            grant_types: vec!["client_credentials".into()],
            auth_method: "client_secret_basic".into(),
            scope: "profile".into(),
            id_token_alg: "RS256".into(),
            ..Default::default()
        });
        let public = server.create_client("none", "https://spa.example/cb");
        let (access, refresh_token) = first_tokens(&server, &client, "ian").await;

        let active = introspect(&server, &client, &access).await;
        assert_eq!(active["active"], true);
        // Another client learns nothing about tokens that are not its own.
        assert_eq!(
            introspect(&server, &resource_server, &access).await,
            serde_json::json!({"active": false})
        );
        assert_eq!(active["client_id"], client.id.as_str());
        assert_eq!(active["scope"], "openid profile offline_access");
        assert_eq!(active["token_type"], "Bearer");
        assert!(active["sub"].is_string() && active["exp"].is_i64() && active["iat"].is_i64());
        // Refresh tokens: only their own client sees them active.
        assert_eq!(
            introspect(&server, &client, &refresh_token).await["active"],
            true
        );
        assert_eq!(
            introspect(&server, &resource_server, &refresh_token).await["active"],
            false
        );
        for unknown in ["garbage", "frt_unknown", "a.b.c"] {
            assert_eq!(
                introspect(&server, &resource_server, unknown).await,
                serde_json::json!({"active": false})
            );
        }
        // Client authentication is required, and public clients cannot introspect.
        let anonymous = reqwest::Client::new()
            .post(server.url("/introspect"))
            .form(&[("token", access.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        let (status, _) = call(&server, "/introspect", &public, &[("token", &access)]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // Only the owning client may revoke; unknown tokens are 200.
        let (status, body) =
            call(&server, "/revoke", &resource_server, &[("token", &access)]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("unauthorized_client"))
        );
        let (status, _) = call(&server, "/revoke", &client, &[("token", "unknown")]).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = call(
            &server,
            "/revoke",
            &client,
            &[("token", &access), ("token_type_hint", "access_token")],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(introspect(&server, &client, &access).await["active"], false);
        let userinfo = reqwest::Client::new()
            .get(server.url("/userinfo"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap();
        assert_eq!(userinfo.status(), StatusCode::UNAUTHORIZED);
        // Revoking the access token left the refresh token alone…
        assert_eq!(
            introspect(&server, &client, &refresh_token).await["active"],
            true
        );
        // …revoking the refresh token ends its family.
        let (status, _) = call(&server, "/revoke", &client, &[("token", &refresh_token)]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            introspect(&server, &client, &refresh_token).await["active"],
            false
        );
        let (status, _) = refresh(&server, &client, &refresh_token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // Expired access tokens are inactive.
        let (fresh, _) = first_tokens(&server, &client, "ivy").await;
        assert_eq!(introspect(&server, &client, &fresh).await["active"], true);
        server.clock.advance(server.config.access_token_ttl);
        assert_eq!(introspect(&server, &client, &fresh).await["active"], false);
    }
);

/// Signs `user` in from a new browser, asking for `offline_access`;
/// returns the code and the PKCE verifier.
async fn fresh_code(
    server: &TestServer,
    rp: &crate::support::oidc::DiscoveredClient,
    user: &str,
) -> (String, String) {
    let start = crate::support::oidc::authorization_url(rp, &["offline_access"]);
    let redirected = Browser::new()
        .sign_in(&server.issuer, start.url.as_str(), user)
        .await;
    (
        redirected.param("code").unwrap(),
        start.verifier.secret().clone(),
    )
}

/// The form of a code exchange by `client`.
fn code_exchange<'a>(
    client: &'a TestClient,
    code: &'a str,
    verifier: &'a str,
) -> [(&'static str, &'a str); 4] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", client.redirect_uri.as_str()),
        ("code_verifier", verifier),
    ]
}

on_both_backends!(
    code_reuse_revokes_the_first_tokens,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("cory");
        let client = refresh_client(&server, |_| {});
        let rp = crate::support::oidc::relying_party(&server, &client).await;
        let (code, verifier) = fresh_code(&server, &rp, "cory").await;
        let form = code_exchange(&client, &code, &verifier);
        let (status, first) = call(&server, "/token", &client, &form).await;
        assert_eq!(status, StatusCode::OK);
        let (status, second) = call(&server, "/token", &client, &form).await;
        assert_eq!(
            (status, second["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant"))
        );
        let access = first["access_token"].as_str().unwrap();
        assert_eq!(
            introspect(&server, &client, access).await["active"],
            false,
            "tokens of the first redemption are revoked"
        );
        let (status, _) = refresh(&server, &client, first["refresh_token"].as_str().unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        // Recorded once, with the replaying request's address.
        let revoked: Vec<_> = server
            .audit_log()
            .into_iter()
            .filter(|event| event.event == "grant.revoke")
            .collect();
        assert_eq!(revoked.len(), 1, "{revoked:?}");
        assert!(revoked[0]
            .detail
            .as_deref()
            .is_some_and(|detail| detail.starts_with("authorization code reused")));
        assert_eq!(revoked[0].ip.as_deref(), Some("127.0.0.1"));
        let (status, _) = call(&server, "/token", &client, &form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(server.audited("grant.revoke", "success").len(), 1);
    }
);

on_both_backends!(
    a_concurrent_code_replay_revokes_what_the_winner_got,
    |backend: Backend| async move {
        // Regression: redeeming a code and recording its grant were two
        // steps, so a replay arriving between them found no grant to
        // revoke and the winner's tokens kept working (4 of 8 runs).
        let server = server_or_skip!(backend);
        server.create_user("rita");
        let client = refresh_client(&server, |_| {});
        let rp = crate::support::oidc::relying_party(&server, &client).await;
        for round in 0..8 {
            let (code, verifier) = fresh_code(&server, &rp, "rita").await;
            let form = code_exchange(&client, &code, &verifier);
            let (first, second) = tokio::join!(
                call(&server, "/token", &client, &form),
                call(&server, "/token", &client, &form)
            );
            let mut answers = [first, second];
            answers.sort_by_key(|(status, _)| *status);
            let [(won, winner), (lost, loser)] = answers;
            assert_eq!(
                (won, lost, loser["error"].as_str()),
                (
                    StatusCode::OK,
                    StatusCode::BAD_REQUEST,
                    Some("invalid_grant")
                ),
                "round {round}: exactly one redemption wins"
            );
            let access = winner["access_token"].as_str().unwrap();
            assert_eq!(
                introspect(&server, &client, access).await["active"],
                false,
                "round {round}: the replay revoked the winner's access token"
            );
            let (status, _) =
                refresh(&server, &client, winner["refresh_token"].as_str().unwrap()).await;
            assert_eq!(
                status,
                StatusCode::BAD_REQUEST,
                "round {round}: and its refresh token"
            );
        }
    }
);
