//! `/account/verify-email` and `/verify-email`: the address is verified
//! only by the confirmation POST, never by following the link alone.

use reqwest::StatusCode;

use crate::account::password::account_page;
use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::browser::hidden_field;
use crate::support::oidc::signed_in;
use crate::support::outbox::{link, outbox};
use crate::support::{Backend, Browser};

on_both_backends!(verifying_the_email_address, |backend: Backend| async move {
    let server = server_or_skip!(backend);
    let user = server.create_user("vera");
    let client = server.create_client("client_secret_basic", "https://app.example/cb");
    let browser = signed_in(&server, &client, "vera").await;
    let page = account_page(&server, &browser).await;
    assert!(page.contains("(not verified)"));
    let sent = browser
        .post_form(
            &server.url("/account/verify-email"),
            &[("csrf_token", &hidden_field(&page, "csrf_token"))],
        )
        .await;
    assert!(sent
        .text()
        .await
        .unwrap()
        .contains("We sent you a verification link."));
    let message = &outbox(&server, 1).await[0];
    assert!(message.contains("To: vera@example.com"));
    let url = link(message, &server, "/verify-email");
    // Following the link alone changes nothing (mail scanners do that).
    let confirm = Browser::new();
    let form = confirm.page(&url).await;
    assert!(form.contains("vera@example.com"));
    assert!(
        !server
            .store
            .find_user(&user.id)
            .unwrap()
            .unwrap()
            .email_verified
    );
    let done = confirm
        .post_form(
            &server.url("/verify-email"),
            &[
                ("csrf_token", &hidden_field(&form, "csrf_token")),
                ("token", &hidden_field(&form, "token")),
            ],
        )
        .await;
    assert_eq!(done.status(), StatusCode::OK);
    assert!(
        server
            .store
            .find_user(&user.id)
            .unwrap()
            .unwrap()
            .email_verified
    );
    assert!(account_page(&server, &browser).await.contains("(verified)"));
    assert_eq!(server.audited("email.verify", "success").len(), 1);
    let reused = confirm
        .post_form(
            &server.url("/verify-email"),
            &[
                ("csrf_token", &hidden_field(&form, "csrf_token")),
                ("token", &hidden_field(&form, "token")),
            ],
        )
        .await;
    assert_eq!(reused.status(), StatusCode::BAD_REQUEST);
});
