//! The authorization code flow end to end, driven by the `openidconnect`
//! crate as the relying party and a cookie-keeping browser.

use ferrid_server::Clock;
use openidconnect::core::CoreUserInfoClaims;
use openidconnect::{AccessTokenHash, AuthorizationCode, OAuth2TokenResponse, TokenResponse};
use reqwest::StatusCode;

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::browser::location;
use crate::support::oidc::{
    authorization_url, http_client, jwt_claims, jwt_header, relying_party, sign_in_and_exchange,
};
use crate::support::{Backend, Browser};

on_both_backends!(
    confidential_client_completes_the_flow,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let user = server.create_user("alice");
        let client = server.create_client("client_secret_basic", "http://127.0.0.1:9/callback");
        let rp = relying_party(&server, &client).await;
        let start = authorization_url(&rp, &["profile", "email"]);
        let browser = Browser::new();

        let redirected = browser
            .sign_in(&server.issuer, start.url.as_str(), "alice")
            .await;
        assert!(redirected
            .url
            .as_str()
            .starts_with("http://127.0.0.1:9/callback?"));
        assert_eq!(
            redirected.param("state").as_deref(),
            Some(start.state.secret().as_str())
        );
        assert_eq!(
            redirected.param("iss").as_deref(),
            Some(server.issuer.as_str())
        );
        let code = redirected.param("code").expect("code");

        let tokens = rp
            .exchange_code(AuthorizationCode::new(code))
            .unwrap()
            .set_pkce_verifier(start.verifier)
            .request_async(&http_client())
            .await
            .expect("token exchange");

        // The ID token verifies against the JWKS, with nonce, audience, issuer.
        let id_token = tokens.id_token().expect("id_token");
        let verifier = rp.id_token_verifier();
        let claims = id_token
            .claims(&verifier, &start.nonce)
            .expect("valid ID token");
        assert_eq!(claims.subject().as_str(), user.id);
        assert!(claims.auth_time().is_some());
        let expected_hash = AccessTokenHash::from_token(
            tokens.access_token(),
            id_token.signing_alg().unwrap(),
            id_token.signing_key(&verifier).unwrap(),
        )
        .unwrap();
        assert_eq!(claims.access_token_hash(), Some(&expected_hash));
        let raw = jwt_claims(&id_token.to_string());
        assert!(raw["sid"].is_string());
        assert_eq!(raw["amr"], serde_json::json!(["pwd"]));
        assert_eq!(jwt_header(&id_token.to_string())["alg"], "RS256");

        // The access token is an RFC 9068 JWT.
        let access = tokens.access_token().secret();
        assert_eq!(jwt_header(access)["typ"], "at+jwt");
        let access_claims = jwt_claims(access);
        assert_eq!(access_claims["client_id"], client.id.as_str());
        assert_eq!(access_claims["iss"], server.issuer.as_str());
        assert_eq!(access_claims["sub"], user.id.as_str());
        assert_eq!(access_claims["scope"], "openid profile email");
        assert!(access_claims["jti"].is_string());
        assert_eq!(tokens.expires_in().map(|d| d.as_secs()), Some(300));

        // UserInfo answers with claims by scope.
        let info: CoreUserInfoClaims = rp
            .user_info(
                tokens.access_token().clone(),
                Some(claims.subject().clone()),
            )
            .unwrap()
            .request_async(&http_client())
            .await
            .expect("userinfo");
        assert_eq!(info.email().map(|e| e.as_str()), Some("alice@example.com"));
        assert_eq!(info.email_verified(), Some(false));
        assert_eq!(info.preferred_username().map(|u| u.as_str()), Some("alice"));
    }
);

on_both_backends!(
    public_client_uses_pkce_without_secret,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("bob");
        let client = server.create_client("none", "http://127.0.0.1:9/public");
        assert!(client.secret.is_none());
        let (tokens, nonce, rp) =
            sign_in_and_exchange(&server, &client, &Browser::new(), "bob").await;
        let id_token = tokens.id_token().expect("id_token");
        id_token
            .claims(&rp.id_token_verifier(), &nonce)
            .expect("valid ID token");
    }
);

on_both_backends!(
    client_secret_post_is_accepted,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("carol");
        let client = server.create_client("client_secret_post", "http://127.0.0.1:9/post");
        let rp = relying_party(&server, &client)
            .await
            .set_auth_type(openidconnect::AuthType::RequestBody);
        let start = authorization_url(&rp, &[]);
        let redirected = Browser::new()
            .sign_in(&server.issuer, start.url.as_str(), "carol")
            .await;
        let tokens = rp
            .exchange_code(AuthorizationCode::new(redirected.param("code").unwrap()))
            .unwrap()
            .set_pkce_verifier(start.verifier)
            .request_async(&http_client())
            .await
            .expect("token exchange with client_secret_post");
        assert_eq!(
            jwt_claims(tokens.access_token().secret())["scope"],
            "openid"
        );
    }
);

on_both_backends!(
    a_secret_is_accepted_in_the_header_or_the_body,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let http = reqwest::Client::new();
        let introspect = server.url("/introspect");
        for registered in ["client_secret_basic", "client_secret_post"] {
            let client = server.create_client(registered, "https://either.example/cb");
            let secret = client.secret.clone().unwrap();
            let in_header = http
                .post(&introspect)
                .basic_auth(&client.id, Some(&secret))
                .form(&[("token", "x")])
                .send()
                .await
                .unwrap();
            assert_eq!(in_header.status(), StatusCode::OK, "{registered} in header");
            let in_body = http
                .post(&introspect)
                .form(&[
                    ("token", "x"),
                    ("client_id", client.id.as_str()),
                    ("client_secret", secret.as_str()),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(in_body.status(), StatusCode::OK, "{registered} in body");
            let wrong = http
                .post(&introspect)
                .form(&[
                    ("token", "x"),
                    ("client_id", client.id.as_str()),
                    ("client_secret", "wrong"),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
            // Still exactly one method per request.
            let both = http
                .post(&introspect)
                .basic_auth(&client.id, Some(&secret))
                .form(&[("token", "x"), ("client_secret", secret.as_str())])
                .send()
                .await
                .unwrap();
            assert_eq!(both.status(), StatusCode::BAD_REQUEST);
            let body: serde_json::Value = both.json().await.unwrap();
            assert_eq!(body["error"], "invalid_request");
        }
        // A public client cannot start using a secret.
        let public = server.create_client("none", "https://public-either.example/cb");
        let response = http
            .post(server.url("/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", "x"),
                ("client_id", public.id.as_str()),
                ("client_secret", "anything"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
);

on_both_backends!(
    session_and_consent_are_remembered,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("dave");
        let client = server.create_client("client_secret_basic", "http://127.0.0.1:9/cb");
        let rp = relying_party(&server, &client).await;
        let browser = Browser::new();
        browser
            .sign_in(
                &server.issuer,
                authorization_url(&rp, &["email"]).url.as_str(),
                "dave",
            )
            .await;

        // Same browser, same scopes, prompt=none: straight back with a code.
        let silent = format!("{}&prompt=none", authorization_url(&rp, &["email"]).url);
        let response = browser.get(&silent).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let redirect = url::Url::parse(&location(&response)).unwrap();
        assert!(
            redirect.query_pairs().any(|(k, _)| k == "code"),
            "{redirect}"
        );

        // A wider scope needs consent again, which prompt=none cannot give.
        let wider = format!(
            "{}&prompt=none",
            authorization_url(&rp, &["email", "profile"]).url
        );
        let response = browser.get(&wider).await;
        let redirect = url::Url::parse(&location(&response)).unwrap();
        assert!(redirect
            .query_pairs()
            .any(|(k, v)| k == "error" && v == "consent_required"));

        // prompt=consent shows the consent page despite remembered consent.
        let asked = format!("{}&prompt=consent", authorization_url(&rp, &["email"]).url);
        let response = browser.get(&asked).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("action=\"/consent\""));
    }
);

on_both_backends!(
    prompt_none_without_session_is_login_required,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let client = server.create_client("client_secret_basic", "http://127.0.0.1:9/cb");
        let rp = relying_party(&server, &client).await;
        let start = authorization_url(&rp, &[]);
        let response = Browser::new()
            .get(&format!("{}&prompt=none", start.url))
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let redirect = url::Url::parse(&location(&response)).unwrap();
        let params: std::collections::HashMap<_, _> = redirect.query_pairs().into_owned().collect();
        assert_eq!(params["error"], "login_required");
        assert_eq!(params["state"], *start.state.secret());
        assert_eq!(params["iss"], server.issuer);
    }
);

on_both_backends!(
    prompt_login_and_max_age_force_a_new_login,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("erin");
        let client = server.create_client("client_secret_basic", "http://127.0.0.1:9/cb");
        let rp = relying_party(&server, &client).await;
        let browser = Browser::new();
        browser
            .sign_in(
                &server.issuer,
                authorization_url(&rp, &[]).url.as_str(),
                "erin",
            )
            .await;
        let first_cookie = session_cookie(&browser, &server.issuer);

        // prompt=login shows the login form although a session exists.
        let forced = format!("{}&prompt=login", authorization_url(&rp, &[]).url);
        let response = browser.get(&forced).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert!(location(&response).contains("/login?"));
        let redirected = browser.sign_in(&server.issuer, &forced, "erin").await;
        assert!(redirected.param("code").is_some());
        // A login always starts a new session id.
        assert_ne!(session_cookie(&browser, &server.issuer), first_cookie);

        // max_age: once the session is older, log in again; auth_time is in the ID token.
        server.clock.advance(120);
        let start = authorization_url(&rp, &[]);
        let aged = format!("{}&max_age=60", start.url);
        let response = browser.get(&aged).await;
        assert!(location(&response).contains("/login?"));
        let redirected = browser.sign_in(&server.issuer, &aged, "erin").await;
        let tokens = rp
            .exchange_code(AuthorizationCode::new(redirected.param("code").unwrap()))
            .unwrap()
            .set_pkce_verifier(start.verifier)
            .request_async(&http_client())
            .await
            .unwrap();
        let claims = jwt_claims(&tokens.id_token().unwrap().to_string());
        assert_eq!(claims["auth_time"].as_i64(), Some(server.clock.now()));
    }
);

fn session_cookie(browser: &Browser, issuer: &str) -> String {
    browser
        .cookie(issuer, "ferrid_session")
        .expect("session cookie")
}

on_both_backends!(
    a_complete_login_writes_to_the_database_a_bounded_number_of_times,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("wes");
        let client = server.create_client("client_secret_basic", "http://127.0.0.1:9/cb");
        // A first login warms what is cached (the client, the keys).
        sign_in_and_exchange(&server, &client, &Browser::new(), "wes").await;
        let before = server.store.writes();
        // Authorize, login form, consent, code exchange: the figure in
        // docs/benchmarks.md.
        sign_in_and_exchange(&server, &client, &Browser::new(), "wes").await;
        let writes = server.store.writes() - before;
        eprintln!("database writes for one complete login: {writes}");
        assert!(writes <= WRITES_PER_LOGIN, "{writes} writes per login");
    }
);

/// Statements that change data in one complete login today; a change
/// that adds one must raise this on purpose (and docs/benchmarks.md).
const WRITES_PER_LOGIN: u64 = 7;
