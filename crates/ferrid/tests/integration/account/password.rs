//! `POST /account/password`: changing the password with the current one
//! ends the user's other sessions and refresh tokens; a wrong current
//! password counts toward the lock.

use openidconnect::OAuth2TokenResponse;
use reqwest::StatusCode;

use crate::on_both_backends;
use crate::passwords::NEW_PASSWORD;
use crate::server_or_skip;
use crate::support::browser::{hidden_field, location};
use crate::support::oidc::{authorization_url, relying_party, sign_in_with_scopes};
use crate::support::server::{TestClient, PASSWORD};
use crate::support::{Backend, Browser, TestServer};
use crate::token_lifecycle::{refresh, refresh_client};

/// The account page of a signed-in browser and its CSRF token.
pub(crate) async fn account_page(server: &TestServer, browser: &Browser) -> String {
    browser.page(&server.url("/account/security")).await
}

pub(crate) async fn change_password(
    server: &TestServer,
    browser: &Browser,
    current: &str,
    new: &str,
    confirm: &str,
) -> (StatusCode, String) {
    let page = account_page(server, browser).await;
    let response = browser
        .post_form(
            &server.url("/account/password"),
            &[
                ("csrf_token", &hidden_field(&page, "csrf_token")),
                ("current_password", current),
                ("new_password", new),
                ("confirm_password", confirm),
            ],
        )
        .await;
    (response.status(), response.text().await.unwrap())
}

/// Signs in with offline_access; returns the browser and refresh token.
pub(crate) async fn signed_in_with_refresh(
    server: &TestServer,
    client: &TestClient,
    username: &str,
) -> (Browser, String) {
    let browser = Browser::new();
    let (tokens, _, _) =
        sign_in_with_scopes(server, client, &browser, username, &["offline_access"]).await;
    let refresh_token = tokens
        .refresh_token()
        .expect("refresh token")
        .secret()
        .clone();
    (browser, refresh_token)
}

on_both_backends!(
    changing_the_password_ends_other_sessions_and_refresh_tokens,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("carl");
        let client = refresh_client(&server, |_| {});
        let (here, _) = signed_in_with_refresh(&server, &client, "carl").await;
        let (elsewhere, old_refresh) = signed_in_with_refresh(&server, &client, "carl").await;
        // Whoever has the old password starts a second-factor setup…
        let (enrolment, secret) =
            crate::support::mfa::open_enrolment(&elsewhere, &server.url("/account/totp")).await;

        let (status, page) =
            change_password(&server, &here, "wrong current", NEW_PASSWORD, NEW_PASSWORD).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("The current password is wrong."));
        let (_, page) = change_password(&server, &here, PASSWORD, "qwertyuiop", "qwertyuiop").await;
        assert!(page.contains("most commonly used"), "{page}");
        let (_, page) =
            change_password(&server, &here, PASSWORD, NEW_PASSWORD, "something else").await;
        assert!(page.contains("do not match"));
        let (status, page) =
            change_password(&server, &here, PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("Password changed"));
        // …which cannot be finished once the change ends that session.
        let planted = crate::support::mfa::confirm(&server, &elsewhere, &enrolment, &secret).await;
        assert_ne!(planted.status(), StatusCode::OK);
        assert!(!server
            .store
            .find_user_by_login("carl")
            .unwrap()
            .unwrap()
            .has_mfa());

        // This browser stays signed in; the other session is gone, and the
        // refresh token it got no longer works.
        assert_eq!(
            here.get(&server.url("/account/security")).await.status(),
            StatusCode::OK
        );
        assert_eq!(
            elsewhere
                .get(&server.url("/account/security"))
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
        let (status, body) = refresh(&server, &client, &old_refresh).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_grant");

        // The old password is refused, the new one works.
        let rp = relying_party(&server, &client).await;
        let start = authorization_url(&rp, &[]);
        let fresh = Browser::new();
        let response = fresh.get(start.url.as_str()).await;
        let html = fresh.page(&location(&response)).await;
        let refused = fresh
            .submit_login(&server.issuer, &html, "carl", PASSWORD)
            .await;
        assert!(refused
            .text()
            .await
            .unwrap()
            .contains("Invalid username or password."));
        let accepted = fresh
            .submit_login(&server.issuer, &html, "carl", NEW_PASSWORD)
            .await;
        assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
        let events = server.audit_log();
        assert!(events
            .iter()
            .any(|event| event.event == "password.change" && event.outcome == "success"));
        assert!(events
            .iter()
            .any(|event| event.event == "password.change" && event.outcome == "failure"));
    }
);

on_both_backends!(
    wrong_current_passwords_lock_like_wrong_logins,
    |backend: Backend| async move {
        let server = server_or_skip!(backend, |config| {
            config.lockout.delay_after = 2;
            config.lockout.lock_after = 2;
        });
        server.create_user("lars");
        let client = refresh_client(&server, |_| {});
        let (browser, _) = signed_in_with_refresh(&server, &client, "lars").await;
        let (_, page) =
            change_password(&server, &browser, "wrong", NEW_PASSWORD, NEW_PASSWORD).await;
        assert!(page.contains("The current password is wrong."));
        let (_, page) =
            change_password(&server, &browser, "wrong", NEW_PASSWORD, NEW_PASSWORD).await;
        assert!(page.contains("temporarily locked"), "{page}");
        // While locked even the right password is not checked.
        let (_, page) =
            change_password(&server, &browser, PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await;
        assert!(page.contains("temporarily locked"), "{page}");
        assert!(!page.contains("Password changed"));
        let events = server.audit_log();
        let has = |name: &str, outcome: &str| {
            events
                .iter()
                .any(|event| event.event == name && event.outcome == outcome)
        };
        assert!(has("account.lock", "refused"), "{events:?}");
        assert!(has("password.change", "failure"));
        assert!(has("password.change", "refused"));
    }
);
