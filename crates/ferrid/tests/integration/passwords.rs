//! The password lifecycle: the NIST policy (CLI and pages), change with
//! the current password, reset and address verification by e-mail (read
//! from the development outbox and followed), other sessions and refresh
//! tokens ended, and hashes upgraded to the configured parameters.

use std::io::Write;
use std::process::Stdio;

use ferrid_store::{NewUser, PasswordHasher};
use openidconnect::OAuth2TokenResponse;
use reqwest::StatusCode;

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::browser::{hidden_field, location};
use crate::support::mfa::between;
use crate::support::oidc::{authorization_url, relying_party, sign_in_with_scopes};
use crate::support::server::{TestClient, PASSWORD};
use crate::support::{Backend, Browser, TestServer};
use crate::token_lifecycle::{refresh, refresh_client};

const NEW_PASSWORD: &str = "a much longer passphrase";

/// Runs `command` with `password` on standard input.
fn with_password(mut command: std::process::Command, password: &str) -> std::process::Output {
    let mut child = command.stdin(Stdio::piped()).spawn().expect("ferrid");
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait_with_output().unwrap()
}

on_both_backends!(
    the_cli_applies_the_password_policy,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let create = |password: &str| {
            with_password(
                server.cli(&[
                    "user",
                    "create",
                    "--username",
                    "paula",
                    "--email",
                    "paula@example.com",
                    "--password-stdin",
                ]),
                password,
            )
        };
        for (password, reason) in [
            ("short", "at least 8 characters"),
            ("password1", "most commonly used"),
            ("Iloveyou2", "most commonly used"),
            ("paula", "at least 8"),
            ("paula@example.com", "username or e-mail"),
        ] {
            let output = create(password);
            assert!(!output.status.success(), "{password} was accepted");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(stderr.contains(reason), "{password}: {stderr}");
        }
        let output = create("correct horse battery staple");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        // A configured minimum above 8.
        let mut strict = server.cli(&[
            "user",
            "create",
            "--username",
            "sam",
            "--email",
            "sam@example.com",
            "--password-stdin",
        ]);
        strict.env("FERRID_PASSWORDS__MIN_LENGTH", "16");
        let output = with_password(strict, "fifteen chars!!");
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        assert!(!output.status.success());
        assert!(stderr.contains("at least 16 characters"), "{stderr}");
    }
);

/// The account page of a signed-in browser and its CSRF token.
async fn account_page(server: &TestServer, browser: &Browser) -> String {
    browser.page(&server.url("/account/security")).await
}

async fn change_password(
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
async fn signed_in_with_refresh(
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
        crate::support::mfa::open_enrolment(&elsewhere, &server.url("/account/totp")).await;
        let user_id = server.store.find_user_by_login("carl").unwrap().unwrap().id;
        assert!(server.store.pending_totp(&user_id).unwrap().is_some());

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
        // …which the change throws away, so it cannot be planted.
        assert!(server.store.pending_totp(&user_id).unwrap().is_none());

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

/// The messages in the outbox folder, oldest first (their names sort by
/// time), once there are at least `count` (they are sent in the
/// background).
async fn outbox(server: &TestServer, count: usize) -> Vec<String> {
    let folder = &server.config.email.outbox_dir;
    crate::support::eventually(|| async {
        let mut files: Vec<_> = std::fs::read_dir(folder)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|entry| entry.path())
                    .collect()
            })
            .unwrap_or_default();
        files.retain(|path: &std::path::PathBuf| path.extension().is_some_and(|ext| ext == "eml"));
        files.sort();
        (files.len() >= count).then(|| {
            files
                .iter()
                .map(|path| std::fs::read_to_string(path).unwrap())
                .collect()
        })
    })
    .await
    .unwrap_or_else(|| panic!("expected {count} message(s) in {}", folder.display()))
}

/// The link to `path` in an e-mail.
fn link(message: &str, server: &TestServer, path: &str) -> String {
    let start = format!("{}{path}?token=", server.issuer);
    let token = between(message, &start, "\n").trim_end_matches('\r');
    format!("{start}{token}")
}

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

on_both_backends!(verifying_the_email_address, |backend: Backend| async move {
    let server = server_or_skip!(backend);
    let user = server.create_user("vera");
    let client = server.create_client("client_secret_basic", "https://app.example/cb");
    let browser = Browser::new();
    let rp = relying_party(&server, &client).await;
    browser
        .sign_in(
            &server.issuer,
            authorization_url(&rp, &[]).url.as_str(),
            "vera",
        )
        .await;
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

on_both_backends!(
    outdated_hashes_are_upgraded_at_login,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let weaker = PasswordHasher::new(ferrid_store::Argon2Params {
            memory_kib: 32,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap();
        let user = server
            .store
            .create_user(
                NewUser {
                    username: "olga",
                    email: "olga@example.com",
                    name: None,
                    password_hash: &weaker.hash(PASSWORD).unwrap(),
                },
                0,
            )
            .unwrap();
        assert!(user.password_hash.contains("m=32"));
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let browser = Browser::new();
        let rp = relying_party(&server, &client).await;
        browser
            .sign_in(
                &server.issuer,
                authorization_url(&rp, &[]).url.as_str(),
                "olga",
            )
            .await;
        let upgraded = server
            .store
            .find_user(&user.id)
            .unwrap()
            .unwrap()
            .password_hash;
        assert!(upgraded.contains("m=64,t=1,p=1"), "{upgraded}");
        // Still the same password.
        let again = Browser::new();
        again
            .sign_in(
                &server.issuer,
                authorization_url(&rp, &[]).url.as_str(),
                "olga",
            )
            .await;
    }
);
