//! `/password/forgot` and `/password/reset`: a reset by e-mail, read from
//! the development outbox and followed; links are single-use and expire.

use reqwest::StatusCode;

use crate::account::password::signed_in_with_refresh;
use crate::on_both_backends;
use crate::passwords::NEW_PASSWORD;
use crate::server_or_skip;
use crate::support::browser::hidden_field;
use crate::support::outbox::{link, outbox};
use crate::support::{Backend, Browser};
use crate::token_lifecycle::{refresh, refresh_client};

on_both_backends!(
    resetting_a_password_by_email,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let user = server.create_user("rosa");
        let client = refresh_client(&server, |_| {});
        let (browser, old_refresh) = signed_in_with_refresh(&server, &client, "rosa").await;

        let forgot = Browser::new();
        let form = forgot.page(&server.url("/password/forgot")).await;
        let ask = |email: &'static str| {
            let (forgot, form, url) = (&forgot, form.clone(), server.url("/password/forgot"));
            async move {
                let response = forgot
                    .post_form(
                        &url,
                        &[
                            ("csrf_token", &hidden_field(&form, "csrf_token")),
                            ("email", email),
                        ],
                    )
                    .await;
                assert_eq!(response.status(), StatusCode::OK);
                response.text().await.unwrap()
            }
        };
        // The same answer whether or not the address has an account.
        let known = ask("ROSA@example.com").await;
        let unknown = ask("nobody@example.com").await;
        assert!(known.contains("If an account uses this address"));
        assert_eq!(
            known.replace(&hidden_field(&known, "csrf_token"), ""),
            unknown.replace(&hidden_field(&unknown, "csrf_token"), "")
        );
        let messages = outbox(&server, 1).await;
        assert_eq!(messages.len(), 1, "only the real address gets mail");
        // A second request within a minute sends nothing more.
        ask("rosa@example.com").await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(outbox(&server, 1).await.len(), 1);
        let message = &messages[0];
        assert!(message.contains("To: rosa@example.com"), "{message}");
        assert!(message.contains("Subject: Reset your password"));
        let url = link(message, &server, "/password/reset");

        // The link shows a form; a weak password is refused and the link
        // stays usable; a good one is accepted once.
        let page = forgot.page(&url).await;
        let token = hidden_field(&page, "token");
        let post = |new: &'static str| {
            let (forgot, page, token, target) = (
                &forgot,
                page.clone(),
                token.clone(),
                server.url("/password/reset"),
            );
            async move {
                forgot
                    .post_form(
                        &target,
                        &[
                            ("csrf_token", &hidden_field(&page, "csrf_token")),
                            ("token", &token),
                            ("new_password", new),
                            ("confirm_password", new),
                        ],
                    )
                    .await
            }
        };
        let weak = post("password").await;
        assert_eq!(weak.status(), StatusCode::BAD_REQUEST);
        assert!(weak.text().await.unwrap().contains("most commonly used"));
        let done = post(NEW_PASSWORD).await;
        assert_eq!(done.status(), StatusCode::OK);
        assert!(done.text().await.unwrap().contains("Password changed"));
        let again = post("yet another passphrase").await;
        assert_eq!(again.status(), StatusCode::BAD_REQUEST);
        assert!(again.text().await.unwrap().contains("Link expired"));
        assert_eq!(forgot.get(&url).await.status(), StatusCode::BAD_REQUEST);
        // Audited, without the token or the new password.
        assert_eq!(server.audited("password.reset", "success").len(), 1);
        assert!(!server
            .audited("password.reset_requested", "success")
            .is_empty());
        assert!(!server
            .audited("password.reset_requested", "refused")
            .is_empty());
        let dump = format!("{:?}", server.audit_log());
        assert!(!dump.contains(&token) && !dump.contains(NEW_PASSWORD));

        // Every session and refresh token ended; the address is verified.
        assert_eq!(
            browser.get(&server.url("/account/security")).await.status(),
            StatusCode::UNAUTHORIZED
        );
        let (status, _) = refresh(&server, &client, &old_refresh).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let stored = server.store.find_user(&user.id).unwrap().unwrap();
        assert!(stored.email_verified);
        assert!(!stored.password_hash.contains(NEW_PASSWORD));
        // A forged or missing token is refused without a 500.
        for bad in ["?token=nope", "", "?token="] {
            let response = forgot
                .get(&format!("{}{bad}", server.url("/password/reset")))
                .await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        }

        // A password change spends every other reset link (regression).
        server.clock.advance(61);
        ask("rosa@example.com").await;
        let second = link(&outbox(&server, 2).await[1], &server, "/password/reset");
        server.clock.advance(61);
        ask("rosa@example.com").await;
        let third = link(&outbox(&server, 3).await[2], &server, "/password/reset");
        let page = forgot.page(&second).await;
        let changed = forgot
            .post_form(
                &server.url("/password/reset"),
                &[
                    ("csrf_token", &hidden_field(&page, "csrf_token")),
                    ("token", &hidden_field(&page, "token")),
                    ("new_password", "a third passphrase"),
                    ("confirm_password", "a third passphrase"),
                ],
            )
            .await;
        assert_eq!(changed.status(), StatusCode::OK);
        assert_eq!(forgot.get(&third).await.status(), StatusCode::BAD_REQUEST);
    }
);

on_both_backends!(reset_links_expire, |backend: Backend| async move {
    let server = server_or_skip!(backend, |config| config.email.reset_ttl = 60);
    server.create_user("tim");
    let forgot = Browser::new();
    let form = forgot.page(&server.url("/password/forgot")).await;
    forgot
        .post_form(
            &server.url("/password/forgot"),
            &[
                ("csrf_token", &hidden_field(&form, "csrf_token")),
                ("email", "tim@example.com"),
            ],
        )
        .await;
    let url = link(&outbox(&server, 1).await[0], &server, "/password/reset");
    assert_eq!(forgot.get(&url).await.status(), StatusCode::OK);
    server.clock.advance(61);
    assert_eq!(forgot.get(&url).await.status(), StatusCode::BAD_REQUEST);
});
