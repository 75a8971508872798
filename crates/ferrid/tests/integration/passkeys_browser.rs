//! Passkeys in a real browser: Chromium with a WebDriver virtual
//! authenticator (a platform authenticator with discoverable credentials
//! and user verification) runs ferrid's pages and script against the
//! real server, at `http://localhost:PORT` (browsers refuse passkeys on an
//! address). A passwordless user is invited, creates a passkey and signs
//! in to a relying party with it alone; a user adds a passkey, uses it as
//! the second factor for a client that asks for phishing-resistant
//! authentication, removes it and can no longer use it; and a ceremony
//! started on one node finishes on another.

use openidconnect::TokenResponse;

use crate::on_both_backends;
use crate::support::browser::hidden_field;
use crate::support::chromium::{Chromium, Driver};
use crate::support::oidc::{authorization_url, exchange, jwt_claims, relying_party};
use crate::support::outbox::link;
use crate::support::passkeys::{invite_carol, settle};
use crate::support::receiver::free_port;
use crate::support::server::{TestClient, PASSWORD};
use crate::support::{Backend, Browser, TestServer};

/// A server whose issuer is `http://localhost:PORT`.
fn localhost_server(backend: Backend) -> Option<TestServer> {
    TestServer::start_with(backend, |config| {
        config.issuer = "http://localhost".into();
    })
}

/// A client redirecting to a local port nothing listens on: the browser
/// shows an error there, but its address holds the code.
fn client(server: &TestServer) -> TestClient {
    let redirect_uri = format!("http://localhost:{}/callback", free_port());
    server.create_client("client_secret_basic", &redirect_uri)
}

/// Signs in to `client` in `window` with `sign_in` (on the login page,
/// with `extra` added to the authorization URL), allowing consent when
/// asked; returns the ID token's claims.
async fn sign_in_to(
    server: &TestServer,
    client: &TestClient,
    window: &Chromium,
    extra: &str,
    sign_in: impl AsyncFnOnce(&Chromium),
) -> serde_json::Value {
    let rp = relying_party(server, client).await;
    let start = authorization_url(&rp, &["profile"]);
    window.open(&format!("{}{extra}", start.url)).await;
    window.arrive("/login").await;
    sign_in(window).await;
    // The consent page, the first time; then the client's callback.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let url = window.url().await;
        if url.path() == "/callback" {
            break;
        }
        if window.html().await.contains("name=\"decision\"") {
            window.click("button[name=decision][value=allow]").await;
            window.arrive("/callback").await;
            break;
        }
        assert!(std::time::Instant::now() < deadline, "stuck at {url}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let landed = window.url().await;
    let code = landed
        .query_pairs()
        .find(|(name, _)| name == "code")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_else(|| panic!("no code in {landed}"));
    let tokens = exchange(&rp, code, start.verifier).await;
    jwt_claims(&tokens.id_token().expect("ID token").to_string())
}

/// Chromium with a virtual authenticator, and a localhost server with
/// Alice and a client; `None` (outside CI) without a browser.
async fn alice_in_chromium(backend: Backend) -> Option<(Driver, TestServer, TestClient, Chromium)> {
    let driver = Driver::start()?;
    let server = localhost_server(backend)?;
    server.create_user("alice");
    let client = client(&server);
    let window = driver.browser().await;
    window.add_virtual_authenticator().await;
    Some((driver, server, client, window))
}

/// Adds a passkey named `name` on the account page of `window`'s user.
async fn add_passkey(server: &TestServer, window: &Chromium, name: &str) {
    window.open(&server.url("/account/security")).await;
    window.wait_for("id=\"passkey-add\"").await;
    window.fill("#passkey_name", name).await;
    window.click("#passkey-add").await;
    window.wait_for("Passkey added.").await;
}

/// Fills in Alice's password on the login page.
async fn alices_password(window: &Chromium) {
    window.fill("#username", "alice").await;
    window.fill("#password", PASSWORD).await;
    window.click("main button[type=submit]").await;
}

fn methods(claims: &serde_json::Value) -> Vec<String> {
    claims["amr"]
        .as_array()
        .expect("amr")
        .iter()
        .map(|method| method.as_str().unwrap().to_owned())
        .collect()
}

on_both_backends!(
    a_passwordless_user_signs_in_with_a_passkey_alone,
    |backend: Backend| async move {
        let Some(driver) = Driver::start() else {
            return;
        };
        let Some(server) = localhost_server(backend) else {
            return;
        };
        let client = client(&server);
        // An administrator invites Carol to a passwordless account.
        let (_, message) = invite_carol(&server).await;
        let invitation = link(&message, &server, "/account/passkey-invitation");

        // She opens the link and creates a passkey on her laptop.
        let window = driver.browser().await;
        let authenticator = window.add_virtual_authenticator().await;
        window.open(&invitation).await;
        window.wait_for("data-passkey=\"create\"").await;
        window
            .assert_accessible("the passkey invitation page")
            .await;
        window.fill("#passkey_name", "Carol's laptop").await;
        window.click("#passkey-create").await;
        window.wait_for("Your passkey is ready").await;
        let credentials = window.authenticator_credentials(&authenticator).await;
        assert_eq!(credentials.len(), 1, "{credentials:?}");
        assert_eq!(credentials[0]["isResidentCredential"], true);

        // With it alone, and no password, she signs in to the application.
        let claims = sign_in_to(&server, &client, &window, "", async |window| {
            window.assert_accessible("the login page").await;
            window.click("#passkey-sign-in").await;
        })
        .await;
        let carol = server.store.find_user_by_login("carol").unwrap().unwrap();
        assert_eq!(claims["sub"], carol.id);
        assert_eq!(methods(&claims), ["hwk", "user", "mfa"]);
        assert_eq!(claims["acr"], "phrh");

        // Her account page lists it, and has no password to change.
        window.open(&server.url("/account/security")).await;
        window.wait_for("Carol's laptop").await;
        assert_eq!(window.count("form[action=\"/account/password\"]").await, 0);
        window
            .assert_accessible("the account page with a passkey")
            .await;
        window.screenshot("passkeys-account").await;
        window.close().await;
    }
);

on_both_backends!(
    a_passkey_is_a_second_factor_until_removed,
    |backend: Backend| async move {
        let Some((_driver, server, client, window)) = alice_in_chromium(backend).await else {
            return;
        };
        let claims = sign_in_to(&server, &client, &window, "", alices_password).await;
        assert_eq!(methods(&claims), ["pwd"]);

        // She adds a passkey on her account page.
        add_passkey(&server, &window, "Laptop").await;

        // A client asking for phishing-resistant authentication gets the
        // passkey as the second factor after the password.
        let claims = sign_in_to(
            &server,
            &client,
            &window,
            "&prompt=login&acr_values=phr",
            async |window| {
                alices_password(window).await;
                window.arrive("/login/mfa").await;
                assert_eq!(window.count("#code").await, 0);
                window
                    .assert_accessible("the passkey second-factor page")
                    .await;
                window.click("#passkey-second-factor").await;
            },
        )
        .await;
        assert_eq!(methods(&claims), ["pwd", "hwk", "user", "mfa"]);
        assert_eq!(claims["acr"], "phrh");

        // Removed (she signed in just now: no password asked), it no
        // longer signs her in, though the authenticator still holds it.
        window.open(&server.url("/account/security")).await;
        window.wait_for("Laptop").await;
        window
            .click("form[action=\"/account/passkeys/remove\"] button")
            .await;
        window.wait_for("Passkey removed.").await;
        let rp = relying_party(&server, &client).await;
        let start = authorization_url(&rp, &["profile"]);
        window.open(&format!("{}&prompt=login", start.url)).await;
        window.arrive("/login").await;
        window.click("#passkey-sign-in").await;
        // The server's refusal (the script's own message for a failed
        // ceremony would leave the browser on /login).
        window.arrive("/login/passkey").await;
        window
            .wait_for("role=\"alert\">The passkey could not be used.")
            .await;
        assert!(server.audited("passkey.use", "failure")[0].contains("unknown passkey"));
        window.close().await;
    }
);

on_both_backends!(
    a_ceremony_started_on_one_node_finishes_on_another,
    |backend: Backend| async move {
        let Some((_driver, server, client, window)) = alice_in_chromium(backend).await else {
            return;
        };
        // Behind one name, every node accepts that name's origin; here
        // the first node's origin stands for it.
        let other = server.second_node_with(|config| {
            config.passkeys.origins = vec![server.issuer.clone()];
        });
        sign_in_to(&server, &client, &window, "", alices_password).await;
        add_passkey(&server, &window, "Laptop").await;

        // The first node serves the login page and the options; the
        // browser's answer is kept instead of posted ...
        let rp = relying_party(&server, &client).await;
        let start = authorization_url(&rp, &["profile"]);
        window.open(&format!("{}&prompt=login", start.url)).await;
        window.arrive("/login").await;
        window
            .client
            .execute(
                "HTMLFormElement.prototype.submit = function () {
                     window.passkeyAnswer = this.elements.credential.value;
                 };",
                vec![],
            )
            .await
            .expect("hold the answer");
        window.click("#passkey-sign-in").await;
        let answer = loop {
            let held = window
                .client
                .execute("return window.passkeyAnswer || '';", vec![])
                .await
                .expect("read the answer");
            if let Some(answer) = held.as_str().filter(|answer| !answer.is_empty()) {
                break answer.to_owned();
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        // ... and posted to the second node with the browser's cookies.
        let html = window.html().await;
        let browser = Browser::new();
        for cookie in window.client.get_all_cookies().await.expect("cookies") {
            browser.add_cookie(
                &other.issuer,
                &format!("{}={}", cookie.name(), cookie.value()),
            );
        }
        let response = browser
            .post_form(
                &other.url("/login/passkey"),
                &[
                    ("request_id", &hidden_field(&html, "request_id")),
                    ("csrf_token", &hidden_field(&html, "csrf_token")),
                    ("credential", &answer),
                ],
            )
            .await;
        let redirect = settle(&other, &browser, response)
            .await
            .expect_err("back to the client");
        assert!(
            redirect.as_str().starts_with(&client.redirect_uri),
            "{redirect}"
        );
        assert!(
            redirect.query().unwrap_or_default().contains("code="),
            "{redirect}"
        );
        window.close().await;
    }
);
