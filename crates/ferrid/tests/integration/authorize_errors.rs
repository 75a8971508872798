//! The authorization endpoint's refusals: pages until the client and
//! redirect URI are verified, redirects with `error`, `state` and `iss`
//! afterwards, and never a 5xx for hostile input.

use std::collections::HashMap;

use reqwest::StatusCode;
use url::Url;

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::browser::location;
use crate::support::server::TestClient;
use crate::support::{Backend, Browser, TestServer};

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn authorize_url(server: &TestServer, client: &TestClient, extra: &[(&str, &str)]) -> String {
    let mut url = Url::parse(&server.url("/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", &client.id)
        .append_pair("redirect_uri", &client.redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid")
        .append_pair("state", "st4te")
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256");
    let mut url = url.to_string();
    for (name, value) in extra {
        // Replace a default by removing it first.
        let mut parsed = Url::parse(&url).unwrap();
        let kept: Vec<(String, String)> = parsed
            .query_pairs()
            .into_owned()
            .filter(|(key, _)| key != name)
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(kept);
        if !value.is_empty() {
            parsed.query_pairs_mut().append_pair(name, value);
        }
        url = parsed.to_string();
    }
    url
}

/// Asserts a redirect to the client's URI carrying `error`, and returns its parameters.
async fn expect_redirect_error(
    browser: &Browser,
    url: &str,
    client: &TestClient,
    error: &str,
) -> HashMap<String, String> {
    let response = browser.get(url).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "for {url}");
    let target = Url::parse(&location(&response)).unwrap();
    assert!(
        target.as_str().starts_with(&client.redirect_uri),
        "redirected to {target}"
    );
    let params: HashMap<String, String> = target.query_pairs().into_owned().collect();
    assert_eq!(
        params.get("error").map(String::as_str),
        Some(error),
        "for {url}: {params:?}"
    );
    assert_eq!(params.get("state").map(String::as_str), Some("st4te"));
    assert!(params.contains_key("iss"));
    assert!(params.contains_key("error_description"));
    params
}

/// Asserts an HTML error page with status 400 (no redirect) containing `text`.
async fn expect_error_page(browser: &Browser, url: &str, text: &str) {
    let response = browser.get(url).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "for {url}");
    assert!(response.headers().get("location").is_none());
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = response.text().await.unwrap();
    assert!(html.contains(text), "page for {url} lacks {text:?}: {html}");
}

on_both_backends!(
    unknown_client_and_unregistered_redirect_uri_show_a_page,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let browser = Browser::new();

        expect_error_page(
            &browser,
            &authorize_url(&server, &client, &[("client_id", "nobody")]),
            "nobody",
        )
        .await;
        expect_error_page(
            &browser,
            &authorize_url(&server, &client, &[("client_id", "")]),
            "client_id",
        )
        .await;
        expect_error_page(
            &browser,
            &authorize_url(&server, &client, &[("redirect_uri", "")]),
            "redirect_uri",
        )
        .await;
        // Exact matching: no trailing slash, other port, other scheme, added query, other case.
        for near_miss in [
            "https://app.example/cb/",
            "https://app.example:8443/cb",
            "http://app.example/cb",
            "https://app.example/cb?x=1",
            "https://APP.example/cb",
            "https://evil.example/cb",
        ] {
            let escaped = near_miss.replace('&', "&amp;");
            expect_error_page(
                &browser,
                &authorize_url(&server, &client, &[("redirect_uri", near_miss)]),
                &escaped,
            )
            .await;
        }
    }
);

on_both_backends!(
    protocol_errors_redirect_with_state_and_iss,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let confidential = server.create_client("client_secret_basic", "https://app.example/cb");
        let public = server.create_client("none", "https://public.example/cb");
        let browser = Browser::new();
        let check =
            |client: &TestClient, extra: &[(&str, &str)]| authorize_url(&server, client, extra);

        let params = expect_redirect_error(
            &browser,
            &check(&confidential, &[("scope", "profile")]),
            &confidential,
            "invalid_scope",
        )
        .await;
        assert_eq!(params["iss"], server.issuer);
        expect_redirect_error(
            &browser,
            &check(&confidential, &[("scope", "openid admin")]),
            &confidential,
            "invalid_scope",
        )
        .await;
        expect_redirect_error(
            &browser,
            &check(&confidential, &[("response_type", "token")]),
            &confidential,
            "unsupported_response_type",
        )
        .await;
        expect_redirect_error(
            &browser,
            &check(&confidential, &[("response_type", "")]),
            &confidential,
            "invalid_request",
        )
        .await;
        expect_redirect_error(
            &browser,
            &check(&confidential, &[("code_challenge_method", "plain")]),
            &confidential,
            "invalid_request",
        )
        .await;
        expect_redirect_error(
            &browser,
            &check(&confidential, &[("code_challenge", "too-short")]),
            &confidential,
            "invalid_request",
        )
        .await;
        expect_redirect_error(
            &browser,
            &check(
                &public,
                &[("code_challenge", ""), ("code_challenge_method", "")],
            ),
            &public,
            "invalid_request",
        )
        .await;
        expect_redirect_error(
            &browser,
            &check(&confidential, &[("prompt", "none login")]),
            &confidential,
            "invalid_request",
        )
        .await;
        expect_redirect_error(
            &browser,
            &check(&confidential, &[("max_age", "soon")]),
            &confidential,
            "invalid_request",
        )
        .await;
        expect_redirect_error(
            &browser,
            // Request objects are supported, but only signed with keys the
            // client registered (jar::bad_request_objects_are_refused).
            &check(&confidential, &[("request", "eyJ9")]),
            &confidential,
            "invalid_request_object",
        )
        .await;
        expect_redirect_error(
            &browser,
            &check(&confidential, &[("request_uri", "https://x")]),
            &confidential,
            "request_uri_not_supported",
        )
        .await;
        expect_redirect_error(
            &browser,
            &check(&confidential, &[("response_mode", "fragment")]),
            &confidential,
            "invalid_request",
        )
        .await;
        expect_redirect_error(
            &browser,
            &check(&confidential, &[("nonce", &"n".repeat(2000))]),
            &confidential,
            "invalid_request",
        )
        .await;

        // A confidential client registered now must use PKCE too (RFC 9700
        // §2.1.1)…
        let no_pkce = [("code_challenge", ""), ("code_challenge_method", "")];
        expect_redirect_error(
            &browser,
            &check(&confidential, &no_pkce),
            &confidential,
            "invalid_request",
        )
        .await;
        // …unless it was registered with PKCE optional, or an operator
        // turned the requirement off; then the request proceeds to login.
        let legacy = server.create_client_without_pkce("https://legacy.example/cb");
        let response = browser.get(&check(&legacy, &no_pkce)).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert!(location(&response).contains("/login?request_id="));
        ferrid_service::clients::update(
            &server.store,
            &confidential.id,
            &ferrid_service::clients::ClientUpdate {
                require_pkce: Some(false),
                ..Default::default()
            },
            &ferrid_tokens::SigningAlgorithm::ALL,
            "test",
            0,
        )
        .unwrap();
        let response = browser.get(&check(&confidential, &no_pkce)).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert!(location(&response).contains("/login?request_id="));
    }
);

on_both_backends!(
    client_without_code_grant_is_unauthorized,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let service = server.create_client_with(ferrid_service::clients::ClientRegistration {
            name: "Service".into(),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types: vec!["client_credentials".into()],
            auth_method: "client_secret_basic".into(),
            scope: "profile".into(),
            id_token_alg: "RS256".into(),
            ..Default::default()
        });
        // It has no redirect URI, so nothing can be redirected: a page.
        let url = authorize_url(
            &server,
            &service,
            &[("redirect_uri", "https://app.example/cb")],
        );
        expect_error_page(&Browser::new(), &url, "not registered").await;
    }
);

on_both_backends!(
    hostile_and_oversized_input_gets_4xx,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let browser = Browser::new();
        let base = authorize_url(&server, &client, &[]);

        // Parameters repeated (RFC 6749 §3.1).
        expect_error_page(
            &browser,
            &format!("{base}&client_id={}", client.id),
            "more than once",
        )
        .await;
        expect_error_page(&browser, &format!("{base}&scope=openid"), "more than once").await;
        // A state too long to echo back.
        expect_error_page(
            &browser,
            &authorize_url(&server, &client, &[("state", &"s".repeat(3000))]),
            "state",
        )
        .await;
        // A value over the per-parameter limit.
        expect_error_page(
            &browser,
            &format!("{base}&login_hint={}", "x".repeat(5000)),
            "longer than",
        )
        .await;

        let hostile = [
            format!("{base}&nonce=%FF%FE"),
            format!("{base}&nonce=%00%0d%0a"),
            format!("{base}&%00=1"),
            server.url("/authorize?client_id=%ZZ"),
            server.url("/authorize?&&&==&="),
            server.url(&format!("/authorize?{}", "a=1&".repeat(200))),
            server.url(&format!("/authorize?x={}", "y".repeat(60_000))),
            server.url("/login?request_id=%FF"),
            server.url("/login?request_id=unknown"),
            server.url("/authorize/continue?request_id=unknown"),
            server.url("/authorize/continue"),
        ];
        for url in hostile {
            let response = browser.get(&url).await;
            let status = response.status();
            assert!(
                status.is_client_error() || status.is_redirection(),
                "{status} for {url}"
            );
        }

        // Posts with the wrong content type or a huge body.
        let response = browser
            .http
            .post(server.url("/authorize"))
            .body("client_id=x")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let response = browser
            .http
            .post(server.url("/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(vec![b'a'; 200_000])
            .send()
            .await
            .unwrap();
        assert!(response.status().is_client_error(), "{}", response.status());
    }
);

on_both_backends!(
    post_to_authorize_works_like_get,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let url = Url::parse(&authorize_url(&server, &client, &[])).unwrap();
        let form: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let response = Browser::new()
            .http
            .post(server.url("/authorize"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert!(location(&response).contains("/login?request_id="));
    }
);

on_both_backends!(
    consent_denied_is_access_denied,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("frank");
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let redirected = Browser::new()
            .sign_in_with(
                &server.issuer,
                &authorize_url(&server, &client, &[]),
                "frank",
                crate::support::server::PASSWORD,
                "deny",
            )
            .await;
        assert_eq!(redirected.param("error").as_deref(), Some("access_denied"));
        assert_eq!(redirected.param("state").as_deref(), Some("st4te"));
        assert!(redirected.param("code").is_none());
    }
);

on_both_backends!(
    control_characters_get_a_clean_4xx_everywhere,
    |backend: Backend| async move {
        use base64::Engine;
        let server = server_or_skip!(backend);
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let browser = Browser::new();
        let base = authorize_url(&server, &client, &[]);
        let nul_client = server.url("/authorize?client_id=a%00b&response_type=code");
        let gets = [
            format!("{base}&nonce=n%00"),
            format!("{base}&login_hint=a%0Db"),
            nul_client,
            server.url("/login?request_id=%00"),
            server.url("/login/mfa?request_id=%00"),
            server.url("/logout?id_token_hint=%00"),
            server.url("/password/reset?token=%00"),
            server.url("/account/verify-email?token=%00"),
        ];
        for url in gets {
            let status = browser.get(&url).await.status();
            assert!(
                status.is_client_error() || status.is_redirection(),
                "{status} for {url}"
            );
        }
        let forms: [(&str, &[(&str, &str)]); 8] = [
            (
                "/token",
                &[("grant_type", "client_credentials"), ("client_id", "a\0b")],
            ),
            (
                "/token",
                &[("grant_type", "authorization_code"), ("code", "\0")],
            ),
            ("/introspect", &[("token", "x\u{1}")]),
            ("/revoke", &[("token", "\0")]),
            ("/userinfo", &[("access_token", "\0")]),
            ("/login", &[("username", "a\0"), ("password", "p")]),
            ("/password/forgot", &[("email", "a\0@example.com")]),
            ("/authorize", &[("client_id", "\0")]),
        ];
        for (path, form) in forms {
            let status = browser.post_form(&server.url(path), form).await.status();
            assert!(status.is_client_error(), "{status} for {path} {form:?}");
        }
        // Regression: a NUL in the Basic client id, or in an assertion's
        // iss, reached PostgreSQL and answered 500.
        let basic = base64::engine::general_purpose::STANDARD.encode("a%00b:secret");
        let response = reqwest::Client::new()
            .post(server.url("/token"))
            .header("authorization", format!("Basic {basic}"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let encode =
            |json: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json.as_bytes());
        let assertion = format!(
            "{}.{}.c2ln",
            encode(r#"{"alg":"HS256"}"#),
            encode(r#"{"iss":"a\u0000b"}"#)
        );
        let response = reqwest::Client::new()
            .post(server.url("/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", &assertion),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
);

on_both_backends!(
    one_browser_keeps_only_its_newest_pending_requests,
    |backend: Backend| async move {
        use ferrid_server::Clock;
        let server = server_or_skip!(backend);
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let browser = Browser::new();
        let url = authorize_url(&server, &client, &[]);
        let mut request_ids = Vec::new();
        // Regression: one address stored hundreds of pending requests.
        for _ in 0..15 {
            server.clock.advance(1);
            let response = browser.get(&url).await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER);
            let login = Url::parse(&location(&response)).unwrap();
            let id = login
                .query_pairs()
                .find(|(name, _)| name == "request_id")
                .map(|(_, value)| value.into_owned())
                .unwrap();
            request_ids.push(id);
        }
        let stored = |id: &str| {
            server
                .store
                .find_pending_authorization(&ferrid_store::secret::digest(id), server.clock.now())
                .unwrap()
                .is_some()
        };
        let kept = request_ids.iter().filter(|id| stored(id)).count();
        assert!(kept <= 11, "{kept} pending requests kept");
        assert!(stored(request_ids.last().unwrap()), "the newest stays");
        assert!(!stored(&request_ids[0]), "the oldest went");
        // Another browser has its own allowance.
        let other = Browser::new();
        let response = other.get(&url).await;
        let login = Url::parse(&location(&response)).unwrap();
        let id = login
            .query_pairs()
            .find(|(name, _)| name == "request_id")
            .map(|(_, value)| value.into_owned())
            .unwrap();
        assert!(stored(&id));
        assert!(stored(request_ids.last().unwrap()));
    }
);
