//! Changing second factors needs a recent authentication, and the
//! enrolment e-mail's "this was not me" link undoes a planted factor
//! (regressions for the stolen-session takeover: a session cookie alone
//! enrolled a factor that locked the owner out).

use ferrid_server::Clock;
use reqwest::StatusCode;

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::browser::hidden_field;
use crate::support::mfa::{confirm_with, open_enrolment, totp_code};
use crate::support::oidc::signed_in;
use crate::support::outbox::{link, outbox};
use crate::support::server::{TestClient, PASSWORD};
use crate::support::{Backend, Browser, TestServer};

fn app(server: &TestServer) -> TestClient {
    server.create_client("client_secret_basic", "https://factors.example/cb")
}

fn has_mfa(server: &TestServer, username: &str) -> bool {
    server
        .store
        .find_user_by_login(username)
        .unwrap()
        .unwrap()
        .has_mfa()
}

/// A session that signed in longer ago than the re-authentication window
/// (as a stolen cookie would be).
async fn old_session(server: &TestServer, username: &str) -> Browser {
    let browser = signed_in(server, &app(server), username).await;
    server.clock.advance(301);
    browser
}

on_both_backends!(
    a_stolen_session_cannot_enrol_a_second_factor,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("stan");
        let thief = old_session(&server, "stan").await;
        let (html, secret) = open_enrolment(&thief, &server.url("/account/totp")).await;
        assert!(
            html.contains("name=\"current_password\""),
            "asks for the password"
        );
        let code = totp_code(&secret, server.clock.now());
        let form = |password: Option<&str>| {
            let mut form = vec![
                ("csrf_token", hidden_field(&html, "csrf_token")),
                ("enrolment", hidden_field(&html, "enrolment")),
                ("code", code.clone()),
            ];
            if let Some(password) = password {
                form.push(("current_password", password.to_owned()));
            }
            form
        };
        for (attempt, expected) in [
            (None, "Enter your current password"),
            (Some("not the password"), "The current password is wrong."),
        ] {
            let form = form(attempt);
            let form: Vec<(&str, &str)> = form.iter().map(|(n, v)| (*n, v.as_str())).collect();
            let response = thief.post_form(&server.url("/account/totp"), &form).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST);
            assert!(response.text().await.unwrap().contains(expected));
            assert!(!has_mfa(&server, "stan"), "nothing enrolled");
        }
        // With the password it works (the owner, signed in a while ago).
        let response = confirm_with(&server, &thief, &html, &code).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(has_mfa(&server, "stan"));
    }
);

on_both_backends!(
    a_recent_login_enrols_without_the_password_and_get_changes_nothing,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("rosa");
        let browser = signed_in(&server, &app(&server), "rosa").await;
        let user_before = server.store.find_user_by_login("rosa").unwrap().unwrap();
        let (html, secret) = open_enrolment(&browser, &server.url("/account/totp")).await;
        assert!(!html.contains("name=\"current_password\""));
        let user_after = server.store.find_user_by_login("rosa").unwrap().unwrap();
        assert_eq!(user_before.updated_at, user_after.updated_at);
        assert!(!user_after.has_mfa());
        // A sealed secret from the form cannot be swapped for another's.
        let tampered = html.replace(&hidden_field(&html, "enrolment"), "v1.AAAA");
        let response = confirm_with(
            &server,
            &browser,
            &tampered,
            &totp_code(&secret, server.clock.now()),
        )
        .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let response = confirm_with(
            &server,
            &browser,
            &html,
            &totp_code(&secret, server.clock.now()),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(has_mfa(&server, "rosa"));
    }
);

on_both_backends!(
    new_recovery_codes_need_a_recent_login_or_the_password,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("remy");
        let browser = signed_in(&server, &app(&server), "remy").await;
        crate::support::mfa::enrol(&server, &browser).await;
        server.clock.advance(301);
        let page = browser.page(&server.url("/account/security")).await;
        assert!(
            page.contains("id=\"recovery_password\""),
            "asks for the password"
        );
        let csrf = hidden_field(&page, "csrf_token");
        let refused = browser
            .post_form(
                &server.url("/account/recovery-codes"),
                &[("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert!(refused
            .text()
            .await
            .unwrap()
            .contains("Enter your current password"));
        let accepted = browser
            .post_form(
                &server.url("/account/recovery-codes"),
                &[("csrf_token", &csrf), ("current_password", PASSWORD)],
            )
            .await;
        assert_eq!(accepted.status(), StatusCode::OK);
        let codes = crate::support::mfa::recovery_codes(&accepted.text().await.unwrap());
        assert_eq!(codes.len(), 10);
        let events = server.audited("account.reauthenticate", "success");
        assert_eq!(events.len(), 1);
    }
);

on_both_backends!(
    the_not_me_link_removes_a_planted_factor_and_forces_a_new_password,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("nina");
        // Someone with Nina's session and password plants a factor.
        let thief = signed_in(&server, &app(&server), "nina").await;
        crate::support::mfa::enrol(&server, &thief).await;
        assert!(has_mfa(&server, "nina"));
        let mail = outbox(&server, 1).await;
        let not_me = link(&mail[0], &server, "/account/not-me");

        // The owner opens the link: the page only asks.
        let owner = Browser::new();
        let page = owner.page(&not_me).await;
        assert!(page.contains("Was this not you?"), "{page}");
        assert!(has_mfa(&server, "nina"), "GET changes nothing");
        let response = owner
            .post_form(
                &server.url("/account/not-me"),
                &[
                    ("csrf_token", &hidden_field(&page, "csrf_token")),
                    ("token", &hidden_field(&page, "token")),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let reset_page = response.text().await.unwrap();
        assert!(
            reset_page.contains("action=\"/password/reset\""),
            "{reset_page}"
        );
        assert!(!has_mfa(&server, "nina"), "the planted factor is gone");
        // The thief's session ended, and the old password no longer works.
        assert_eq!(
            thief.get(&server.url("/account/security")).await.status(),
            StatusCode::UNAUTHORIZED
        );
        let user = server.store.find_user_by_login("nina").unwrap().unwrap();
        assert!(!server.state.passwords.verify(PASSWORD, &user.password_hash));
        assert_eq!(server.audited("mfa.revert", "success").len(), 1);
        // The link works once.
        let again = owner.get(&not_me).await;
        assert_eq!(again.status(), StatusCode::BAD_REQUEST);

        // The owner sets a new password on the page they were given.
        let new_password = crate::passwords::NEW_PASSWORD;
        let set = owner
            .post_form(
                &server.url("/password/reset"),
                &[
                    ("csrf_token", &hidden_field(&reset_page, "csrf_token")),
                    ("token", &hidden_field(&reset_page, "token")),
                    ("new_password", new_password),
                    ("confirm_password", new_password),
                ],
            )
            .await;
        assert_eq!(set.status(), StatusCode::OK);
        let user = server.store.find_user_by_login("nina").unwrap().unwrap();
        assert!(server
            .state
            .passwords
            .verify(new_password, &user.password_hash));
    }
);
