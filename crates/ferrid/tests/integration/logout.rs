//! SSO, id_token_hint, RP-initiated logout and the sessions page.

use ferrid_service::clients::ClientRegistration;
use openidconnect::TokenResponse;
use reqwest::StatusCode;
use url::Url;

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::browser::{hidden_field, location};
use crate::support::oidc::{authorization_url, jwt_claims, relying_party, sign_in_and_exchange};
use crate::support::server::TestClient;
use crate::support::{Backend, Browser, TestServer};

const BYE: &str = "https://app.example/bye?from=ferrid";

fn app(server: &TestServer, host: &str) -> TestClient {
    server.create_client_with(ClientRegistration {
        name: format!("{host} app"),
        redirect_uris: vec![format!("https://{host}/cb")],
        post_logout_redirect_uris: vec![BYE.into()],
        grant_types: vec!["authorization_code".into()],
        auth_method: "client_secret_basic".into(),
        scope: "openid profile email".into(),
        id_token_alg: "RS256".into(),
        ..Default::default()
    })
}

/// Where a silent (prompt=none) authorization for `client` ends: Ok(code)
/// or Err(error).
async fn silent(
    server: &TestServer,
    client: &TestClient,
    browser: &Browser,
) -> Result<String, String> {
    let rp = relying_party(server, client).await;
    let url = format!(
        "{}&prompt=none",
        authorization_url(&rp, &["profile", "email"]).url
    );
    let response = browser.get(&url).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let target = Url::parse(&location(&response)).unwrap();
    let param = |name: &str| {
        target
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    param("code").ok_or_else(|| param("error").unwrap_or_default())
}

async fn logout(
    browser: &Browser,
    server: &TestServer,
    query: &[(&str, &str)],
) -> reqwest::Response {
    let mut url = Url::parse(&server.url("/logout")).unwrap();
    url.query_pairs_mut().extend_pairs(query);
    browser.get(url.as_str()).await
}

on_both_backends!(
    one_session_signs_in_to_every_client,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("sso");
        let (first, second) = (app(&server, "one.example"), app(&server, "two.example"));
        let browser = Browser::new();
        let (tokens, _, _) = sign_in_and_exchange(&server, &first, &browser, "sso").await;
        let claims = jwt_claims(&tokens.id_token().unwrap().to_string());
        assert_eq!(claims["acr"], "1");
        assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
        // The second client needs consent, but no login.
        let rp = relying_party(&server, &second).await;
        let response = browser
            .get(authorization_url(&rp, &["profile"]).url.as_str())
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("action=\"/consent\""));
        let (tokens, _, _) = sign_in_and_exchange(&server, &second, &browser, "sso").await;
        assert_eq!(
            jwt_claims(&tokens.id_token().unwrap().to_string())["sid"],
            claims["sid"],
            "one session"
        );
        assert!(silent(&server, &first, &browser).await.is_ok());
    }
);

on_both_backends!(id_token_hint_is_honoured, |backend: Backend| async move {
    let server = server_or_skip!(backend);
    server.create_user("hana");
    server.create_user("other");
    let client = app(&server, "hint.example");
    let browser = Browser::new();
    let (tokens, _, rp) = sign_in_and_exchange(&server, &client, &browser, "hana").await;
    let hint = tokens.id_token().unwrap().to_string();
    let (others, _, _) = sign_in_and_exchange(&server, &client, &Browser::new(), "other").await;
    let other_hint = others.id_token().unwrap().to_string();

    let with_hint = |hint: &str| {
        let mut url = authorization_url(&rp, &["profile", "email"]).url;
        url.query_pairs_mut()
            .append_pair("prompt", "none")
            .append_pair("id_token_hint", hint);
        url.to_string()
    };
    let error_of = |response: &reqwest::Response| {
        let target = Url::parse(&location(response)).unwrap();
        target
            .query_pairs()
            .find(|(k, _)| k == "error")
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(
        error_of(&browser.get(&with_hint(&hint)).await),
        None,
        "the session's own user"
    );
    assert_eq!(
        error_of(&browser.get(&with_hint(&other_hint)).await).as_deref(),
        Some("login_required")
    );
    let mut tampered = hint.clone();
    tampered.replace_range(tampered.len() - 4.., "AAAA");
    assert_eq!(
        error_of(&browser.get(&with_hint(&tampered)).await).as_deref(),
        Some("invalid_request")
    );
});

on_both_backends!(
    logout_with_a_valid_hint_redirects_and_ends_the_session,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("lou");
        let client = app(&server, "lou.example");
        let browser = Browser::new();
        let (tokens, _, _) = sign_in_and_exchange(&server, &client, &browser, "lou").await;
        let hint = tokens.id_token().unwrap().to_string();

        // Hints are usually old: an expired one is still accepted.
        server.clock.advance(server.config.id_token_ttl + 60);
        let response = logout(
            &browser,
            &server,
            &[
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", BYE),
                ("state", "s1"),
            ],
        )
        .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let target = location(&response);
        assert!(
            target.starts_with("https://app.example/bye?from=ferrid&state=s1"),
            "{target}"
        );
        let removal = response.headers().get_all("set-cookie").iter().any(|c| {
            let c = c.to_str().unwrap();
            c.starts_with("ferrid_session=") && c.contains("Max-Age=0")
        });
        assert!(removal, "the session cookie is removed");
        assert_eq!(
            silent(&server, &client, &browser).await,
            Err("login_required".into())
        );
        let sid = jwt_claims(&hint)["sid"].as_str().unwrap().to_owned();
        assert_eq!(
            server.audited("session.end", "success"),
            [format!("logout; sid {sid}")]
        );
    }
);

on_both_backends!(
    untrusted_logouts_ask_and_never_redirect,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("una");
        let client = app(&server, "una.example");
        let browser = Browser::new();
        let (tokens, _, _) = sign_in_and_exchange(&server, &client, &browser, "una").await;
        let hint = tokens.id_token().unwrap().to_string();
        let mut tampered = hint.clone();
        tampered.replace_range(tampered.len() - 4.., "AAAA");
        let foreign = {
            let master = ferrid_tokens::MasterKey::from_base64(
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            )
            .unwrap();
            let key = ferrid_tokens::generate_key(
                ferrid_tokens::SigningAlgorithm::Rs256,
                &master,
                ferrid_tokens::KeyState::Current,
                0,
                0,
            )
            .unwrap();
            ferrid_tokens::Keyring::load(&[key], &master)
                .unwrap()
                .sign(
                    &jwt_claims(&hint),
                    "JWT",
                    ferrid_tokens::SigningAlgorithm::Rs256,
                )
                .unwrap()
        };
        let cases: Vec<Vec<(&str, &str)>> = vec![
            vec![("post_logout_redirect_uri", BYE)],
            vec![
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", "https://app.example/bye"),
            ],
            vec![
                ("id_token_hint", &hint),
                (
                    "post_logout_redirect_uri",
                    "https://app.example/bye?from=evil",
                ),
            ],
            vec![
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", "https://evil.example/"),
            ],
            vec![
                ("id_token_hint", &tampered),
                ("post_logout_redirect_uri", BYE),
            ],
            vec![
                ("id_token_hint", &foreign),
                ("post_logout_redirect_uri", BYE),
            ],
            vec![
                ("id_token_hint", &hint),
                ("client_id", "someone-else"),
                ("post_logout_redirect_uri", BYE),
            ],
        ];
        for query in &cases {
            let response = logout(&browser, &server, query).await;
            assert_eq!(response.status(), StatusCode::OK, "{query:?}");
            assert!(response.headers().get("location").is_none());
            let page = response.text().await.unwrap();
            assert!(
                page.contains("action=\"/logout/confirm\""),
                "{query:?}: {page}"
            );
            assert!(
                silent(&server, &client, &browser).await.is_ok(),
                "nothing ended before confirmation"
            );
        }
        // Confirming without the CSRF token does nothing; with it, signs out.
        let response = browser.post_form(&server.url("/logout/confirm"), &[]).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let page = logout(&browser, &server, &[]).await.text().await.unwrap();
        let response = browser
            .post_form(
                &server.url("/logout/confirm"),
                &[("csrf_token", &hidden_field(&page, "csrf_token"))],
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.text().await.unwrap().contains("Signed out"));
        assert_eq!(
            silent(&server, &client, &browser).await,
            Err("login_required".into())
        );
    }
);

on_both_backends!(
    a_hint_signed_by_a_retired_key_still_logs_out,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("rey");
        let client = app(&server, "rey.example");
        let browser = Browser::new();
        let (tokens, _, _) = sign_in_and_exchange(&server, &client, &browser, "rey").await;
        let hint = tokens.id_token().unwrap().to_string();
        ferrid_service::keys::rotate(
            &server.store,
            &server.master_key(),
            &server.state.key_policy,
            &[ferrid_tokens::SigningAlgorithm::Rs256],
            true,
            server.operator(),
        )
        .unwrap();
        assert!(server.state.refresh_keys().unwrap());
        let response = logout(
            &browser,
            &server,
            &[("id_token_hint", &hint), ("post_logout_redirect_uri", BYE)],
        )
        .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    }
);

on_both_backends!(
    users_list_and_end_their_sessions,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("sam");
        let client = app(&server, "sam.example");
        let (laptop, phone) = (Browser::new(), Browser::new());
        sign_in_and_exchange(&server, &client, &laptop, "sam").await;
        let (tokens, _, _) = sign_in_and_exchange(&server, &client, &phone, "sam").await;
        let phone_sid = jwt_claims(&tokens.id_token().unwrap().to_string())["sid"]
            .as_str()
            .unwrap()
            .to_owned();

        let response = Browser::new().get(&server.url("/account/sessions")).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let page = laptop
            .get(&server.url("/account/sessions"))
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(page.matches("action=\"/account/sessions/end\"").count(), 2);
        assert!(page.contains("(this browser)"));
        assert!(page.contains(&phone_sid));

        // Ending another session needs the CSRF token and signs that browser out.
        let response = laptop
            .post_form(&server.url("/account/sessions/end"), &[("sid", &phone_sid)])
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let csrf = hidden_field(&page, "csrf_token");
        let response = laptop
            .post_form(
                &server.url("/account/sessions/end"),
                &[("sid", &phone_sid), ("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            silent(&server, &client, &phone).await,
            Err("login_required".into())
        );
        assert!(silent(&server, &client, &laptop).await.is_ok());
        assert_eq!(
            server.audited("session.end", "success"),
            [format!("ended from the sessions page; sid {phone_sid}")]
        );
        // Someone else's session id is refused.
        let response = laptop
            .post_form(
                &server.url("/account/sessions/end"),
                &[("sid", "not-mine"), ("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
);

on_both_backends!(
    backchannel_logout_is_delivered_and_retried,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("bea");
        let port = crate::support::receiver::free_port();
        let client = server.create_client_with(ClientRegistration {
            name: "Back-channel app".into(),
            redirect_uris: vec!["https://bc.example/cb".into()],
            post_logout_redirect_uris: vec![BYE.into()],
            grant_types: vec!["authorization_code".into()],
            auth_method: "client_secret_basic".into(),
            scope: "openid profile email".into(),
            id_token_alg: "ES256".into(),
            backchannel_logout_uri: Some(format!("http://127.0.0.1:{port}/backchannel")),
            ..Default::default()
        });
        let browser = Browser::new();
        let (tokens, _, _) = sign_in_and_exchange(&server, &client, &browser, "bea").await;
        let id_claims = jwt_claims(&tokens.id_token().unwrap().to_string());

        // The receiver is down when the user signs out: the first attempt fails
        // and the logout waits in the outbox.
        let response = logout(
            &browser,
            &server,
            &[("id_token_hint", &tokens.id_token().unwrap().to_string())],
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        let failed = crate::support::eventually(|| async {
            let rows = server.store.list_logout_deliveries().unwrap();
            rows.into_iter().next().filter(|row| row.attempts == 1)
        })
        .await
        .expect("one failed attempt recorded");
        assert!(failed.delivered_at.is_none());
        assert!(failed.last_error.is_some());
        assert_eq!(
            failed.next_attempt_at,
            failed.created_at + ferrid_server::backchannel::backoff(1)
        );

        // The receiver comes up; nothing is resent before the backoff is over.
        let receiver = crate::support::receiver::Receiver::start(port);
        assert_eq!(server.state.deliver_logouts().await.unwrap(), 0);
        server.clock.advance(ferrid_server::backchannel::backoff(1));
        assert_eq!(server.state.deliver_logouts().await.unwrap(), 1);
        assert_eq!(
            server.state.deliver_logouts().await.unwrap(),
            0,
            "delivered once"
        );

        let received = receiver.logout_tokens();
        assert_eq!(received.len(), 1);
        let token = &received[0];
        let header = crate::support::oidc::jwt_header(token);
        assert_eq!(header["typ"], "logout+jwt");
        assert_eq!(header["alg"], "ES256");
        let claims = jwt_claims(token);
        assert_eq!(claims["iss"], server.issuer.as_str());
        assert_eq!(claims["aud"], client.id.as_str());
        assert_eq!(claims["sid"], id_claims["sid"]);
        assert_eq!(claims["sub"], id_claims["sub"]);
        assert!(claims["jti"].is_string() && claims["iat"].is_i64());
        assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
        assert!(claims.get("nonce").is_none());
        // Signed by a published key.
        let verified: serde_json::Value = server
            .state
            .published()
            .keyring
            .verify(token, "logout+jwt")
            .unwrap();
        assert_eq!(verified["sid"], id_claims["sid"]);
        let row = &server.store.list_logout_deliveries().unwrap()[0];
        assert!(row.delivered_at.is_some());
        assert_eq!(row.attempts, 2);
    }
);

on_both_backends!(
    sessions_live_in_the_database_for_every_node,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("node");
        let client = app(&server, "nodes.example");
        let browser = Browser::new();
        sign_in_and_exchange(&server, &client, &browser, "node").await;
        // A node started after the login (as after a restart) knows the
        // session: the same browser gets a code silently there. Cookies
        // are per host, not per port, so the browser sends it.
        let other = server.second_node();
        assert!(silent(&other, &client, &browser).await.is_ok());
        // Ending it on one node ends it on the other.
        let page = browser
            .get(&other.url("/account/sessions"))
            .await
            .text()
            .await
            .unwrap();
        let sid = hidden_field(&page, "sid");
        let csrf = hidden_field(&page, "csrf_token");
        browser
            .post_form(
                &other.url("/account/sessions/end"),
                &[("sid", &sid), ("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(
            silent(&server, &client, &browser).await,
            Err("login_required".into())
        );
    }
);

on_both_backends!(
    someone_elses_hint_cannot_sign_a_user_out,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("victim");
        server.create_user("attacker");
        let client = app(&server, "hint-abuse.example");
        let (victim, attacker) = (Browser::new(), Browser::new());
        sign_in_and_exchange(&server, &client, &victim, "victim").await;
        let (tokens, _, _) = sign_in_and_exchange(&server, &client, &attacker, "attacker").await;
        let attackers_hint = tokens.id_token().unwrap().to_string();
        // Regression: a page making the victim's browser load the logout URL
        // with the attacker's own valid ID token signed the victim out.
        let response = logout(
            &victim,
            &server,
            &[
                ("id_token_hint", &attackers_hint),
                ("post_logout_redirect_uri", BYE),
            ],
        )
        .await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "a confirmation page, no redirect"
        );
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("action=\"/logout/confirm\""));
        assert!(
            silent(&server, &client, &victim).await.is_ok(),
            "the victim is still signed in"
        );
        assert!(
            silent(&server, &client, &attacker).await.is_ok(),
            "no session ends by sid alone"
        );
    }
);

on_both_backends!(
    ending_a_session_revokes_its_online_tokens_only,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("ola");
        let client = server.create_client_with(ClientRegistration {
            name: "Offline app".into(),
            redirect_uris: vec!["https://offline.example/cb".into()],
            post_logout_redirect_uris: vec![BYE.into()],
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            auth_method: "client_secret_basic".into(),
            scope: "openid profile email offline_access".into(),
            id_token_alg: "RS256".into(),
            ..Default::default()
        });
        let browser = Browser::new();
        let (online, _, _) = sign_in_and_exchange(&server, &client, &browser, "ola").await;
        let (offline, _, _) = crate::support::oidc::sign_in_with_scopes(
            &server,
            &client,
            &browser,
            "ola",
            &["offline_access"],
        )
        .await;
        let introspect = |token: String| {
            let client = client.clone();
            let url = server.url("/introspect");
            async move {
                let body: serde_json::Value = reqwest::Client::new()
                    .post(url)
                    .basic_auth(&client.id, client.secret.as_ref())
                    .form(&[("token", token)])
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                body["active"].as_bool().unwrap()
            }
        };
        use openidconnect::OAuth2TokenResponse;
        let online_access = online.access_token().secret().clone();
        let offline_refresh = offline.refresh_token().unwrap().secret().clone();
        assert!(introspect(online_access.clone()).await);
        let hint = offline.id_token().unwrap().to_string();
        let response = logout(&browser, &server, &[("id_token_hint", &hint)]).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            !introspect(online_access).await,
            "tokens of the session end with it"
        );
        assert!(
            introspect(offline_refresh).await,
            "offline_access outlives the session"
        );
    }
);

/// A client whose back-channel receiver never answers, so the logouts
/// queued for it stay in the outbox to be looked at.
fn with_unreachable_receiver(server: &TestServer, redirect_uri: &str) -> TestClient {
    server.create_client_with(ClientRegistration {
        name: "Back-channel app".into(),
        redirect_uris: vec![redirect_uri.into()],
        grant_types: vec!["authorization_code".into()],
        auth_method: "client_secret_basic".into(),
        scope: "openid profile email".into(),
        id_token_alg: "RS256".into(),
        backchannel_logout_uri: Some("http://127.0.0.1:9/backchannel".into()),
        ..Default::default()
    })
}

on_both_backends!(
    a_new_login_ends_the_previous_session_with_its_logouts,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("rex");
        let client = with_unreachable_receiver(&server, "https://relogin.example/cb");
        let browser = Browser::new();
        let (first, _, rp) = sign_in_and_exchange(&server, &client, &browser, "rex").await;
        let first_sid = jwt_claims(&first.id_token().unwrap().to_string())["sid"]
            .as_str()
            .unwrap()
            .to_owned();
        // prompt=login: a new session replaces the old one, which must be
        // ended like any other (regression: it was deleted silently).
        let forced = format!("{}&prompt=login", authorization_url(&rp, &["profile"]).url);
        browser.sign_in(&server.issuer, &forced, "rex").await;
        let queued = server.store.list_logout_deliveries().unwrap();
        assert!(
            queued.iter().any(|delivery| delivery.sid == first_sid),
            "{queued:?}"
        );
    }
);

on_both_backends!(
    disabling_a_user_sends_backchannel_logouts,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("dora");
        let client = with_unreachable_receiver(&server, "https://disable.example/cb");
        let browser = Browser::new();
        let (tokens, _, _) = sign_in_and_exchange(&server, &client, &browser, "dora").await;
        let sid = jwt_claims(&tokens.id_token().unwrap().to_string())["sid"]
            .as_str()
            .unwrap()
            .to_owned();
        // Regression: `ferrid user disable` deleted the sessions without
        // telling the relying parties.
        let ended = ferrid_service::users::disable(&server.store, "dora", "cli", 0).unwrap();
        assert_eq!(ended, 1);
        let queued = server.store.list_logout_deliveries().unwrap();
        assert!(
            queued
                .iter()
                .any(|delivery| delivery.sid == sid && delivery.client_id == client.id),
            "{queued:?}"
        );
    }
);
