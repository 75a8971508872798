//! The login form: generic errors, CSRF, disabled users, fresh sessions.

use reqwest::StatusCode;

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::browser::{hidden_field, location};
use crate::support::server::TestClient;
use crate::support::{Backend, Browser, TestServer};

/// Starts an authorization request and returns the login page's HTML.
async fn login_page(
    server: &TestServer,
    client: &TestClient,
    browser: &Browser,
    extra: &str,
) -> String {
    let url = format!(
        "{}?client_id={}&redirect_uri={}&response_type=code&scope=openid&state=s{}{extra}",
        server.url("/authorize"),
        client.id,
        client.redirect_uri,
        crate::support::oidc::PKCE_PARAMS
    );
    let response = browser.get(&url).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = browser.get(&location(&response)).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["cache-control"], "no-store");
    page.text().await.unwrap()
}

/// Submits the login form of a new request as `username`; returns where
/// the server sends the browser next.
async fn sign_in(
    server: &TestServer,
    client: &TestClient,
    browser: &Browser,
    username: &str,
) -> String {
    let html = login_page(server, client, browser, "").await;
    let response = browser
        .submit_login(
            &server.issuer,
            &html,
            username,
            crate::support::server::PASSWORD,
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    location(&response)
}

on_both_backends!(
    bad_credentials_get_one_generic_message,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("grace");
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let browser = Browser::new();
        let html = login_page(&server, &client, &browser, "&login_hint=grace").await;
        assert!(
            html.contains("value=\"grace\""),
            "login_hint pre-fills the form"
        );

        let mut messages = Vec::new();
        for (username, password) in [
            ("grace", "wrong password"),
            ("nobody", "wrong password"),
            ("grace", ""),
            ("", "x"),
        ] {
            let response = browser
                .submit_login(&server.issuer, &html, username, password)
                .await;
            assert_eq!(response.status(), StatusCode::OK);
            let page = response.text().await.unwrap();
            assert!(page.contains("Invalid username or password."), "{page}");
            assert!(page.contains("action=\"/login\""));
            messages.push(
                page.replace(username, "")
                    .replace(&hidden_field(&page, "csrf_token"), ""),
            );
        }
        assert_eq!(
            messages[0], messages[1],
            "unknown and known users must look the same"
        );
        assert!(browser.cookie(&server.issuer, "ferrid_session").is_none());

        // The right password still works after failures, and by e-mail too.
        let response = browser
            .submit_login(
                &server.issuer,
                &html,
                "GRACE@example.com",
                crate::support::server::PASSWORD,
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert!(location(&response).contains("/authorize/continue?request_id="));
        let cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|value| value.to_str().unwrap().to_owned())
            .find(|value| value.starts_with("ferrid_session="))
            .expect("session cookie");
        assert!(cookie.contains("HttpOnly"));
        assert!(cookie.contains("SameSite=Lax"));
        assert!(cookie.contains("Path=/"));
    }
);

on_both_backends!(
    login_requires_the_csrf_token,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("heidi");
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let browser = Browser::new();
        let html = login_page(&server, &client, &browser, "").await;
        let request_id = hidden_field(&html, "request_id");
        for csrf in ["", "forged"] {
            let response = browser
                .post_form(
                    &server.url("/login"),
                    &[
                        ("request_id", &request_id),
                        ("csrf_token", csrf),
                        ("username", "heidi"),
                        ("password", crate::support::server::PASSWORD),
                    ],
                )
                .await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
        }
        // Another browser (no CSRF cookie) posting a copied token is refused too.
        let response = Browser::new()
            .submit_login(
                &server.issuer,
                &html,
                "heidi",
                crate::support::server::PASSWORD,
            )
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        // So is a consent post without the token.
        let response = browser
            .post_form(
                &server.url("/consent"),
                &[("request_id", &request_id), ("decision", "allow")],
            )
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
);

on_both_backends!(
    disabled_users_cannot_log_in,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("ivan");
        ferrid_service::users::disable(&server.store, "ivan", "cli", 0).unwrap();
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let browser = Browser::new();
        let html = login_page(&server, &client, &browser, "").await;
        let response = browser
            .submit_login(
                &server.issuer,
                &html,
                "ivan",
                crate::support::server::PASSWORD,
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("Invalid username or password."));
        // Only the audit log tells the operator why.
        let events = server.audit_log();
        assert!(events.iter().any(|event| event.event == "login"
            && event.outcome == "failure"
            && event.detail.as_deref() == Some("account disabled")));
    }
);

on_both_backends!(
    expired_login_requests_show_a_page,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("judy");
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let browser = Browser::new();
        let html = login_page(&server, &client, &browser, "").await;
        server.clock.advance(server.config.login_ttl + 1);
        let response = browser
            .submit_login(
                &server.issuer,
                &html,
                "judy",
                crate::support::server::PASSWORD,
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response.text().await.unwrap().contains("expired"));
    }
);

on_both_backends!(
    the_consent_form_cannot_skip_a_required_login,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("kate");
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        // A signed-in browser…
        let browser = Browser::new();
        sign_in(&server, &client, &browser, "kate").await;

        // …gets a prompt=login request, and posts the consent form at once
        // with the login page's request id and CSRF token.
        let html = login_page(&server, &client, &browser, "&prompt=login").await;
        let response = browser
            .post_form(
                &server.url("/consent"),
                &[
                    ("request_id", &hidden_field(&html, "request_id")),
                    ("csrf_token", &hidden_field(&html, "csrf_token")),
                    ("decision", "allow"),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert!(
            location(&response).contains("/login?request_id="),
            "no code without the required login: {}",
            location(&response)
        );
    }
);

on_both_backends!(
    a_request_is_answered_with_one_code_only,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("liam");
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let browser = Browser::new();
        let continue_url = sign_in(&server, &client, &browser, "liam").await;
        let consent = browser.get(&continue_url).await.text().await.unwrap();
        let form = [
            ("request_id", hidden_field(&consent, "request_id")),
            ("csrf_token", hidden_field(&consent, "csrf_token")),
            ("decision", "allow".to_owned()),
        ];
        let first = browser
            .http
            .post(server.url("/consent"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(first.status(), StatusCode::SEE_OTHER);
        assert!(location(&first).contains("code="));
        // The same form again (a double click): no second code.
        let second = browser
            .http
            .post(server.url("/consent"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(second.status(), StatusCode::BAD_REQUEST);
    }
);
