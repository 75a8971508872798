//! Passkeys over HTTP, answered by a software authenticator: registration
//! from the account page, sign-in with a passkey alone and as the second
//! factor, `acr`/`amr`, refused answers (replays, foreign origins, stale
//! challenges, counters going back, removed passkeys), ceremonies across
//! nodes, passwordless accounts, and passkeys required for admins. The
//! same flows run in Chromium with its virtual authenticator in
//! `passkeys_browser`.

use ferrid_service::users::AdminRole;
use ferrid_tokens::webauthn::testing::SoftAuthenticator;
use openidconnect::TokenResponse;
use reqwest::StatusCode;
use serde_json::Value;

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::browser::hidden_field;
use crate::support::console::{create_admin, enrol_totp, open};
use crate::support::oidc::{
    authorization_url, discovery_document, exchange, jwt_claims, relying_party,
    sign_in_and_exchange,
};
use crate::support::outbox::{link, outbox};
use crate::support::passkeys::{
    answer_login, invite_carol, origin, register, remove_first, settle, through_consent,
};
use crate::support::server::{TestClient, PASSWORD};
use crate::support::{Backend, Browser, TestServer};

const REDIRECT_URI: &str = "https://app.example/cb";

/// The message a refused passkey puts on the page (the script's own
/// message for a failed ceremony sits in an attribute of every login page,
/// so the match includes the element's markup).
const REFUSED: &str = "role=\"alert\">The passkey could not be used.";

/// `username`, signed in with the password in a browser that then
/// registers a passkey named `name` (within the re-authentication
/// window, so no password is asked); the browser and the authenticator.
async fn with_passkey(
    server: &TestServer,
    client: &TestClient,
    username: &str,
    name: &str,
) -> (Browser, SoftAuthenticator) {
    let browser = Browser::new();
    sign_in_and_exchange(server, client, &browser, username).await;
    let mut authenticator = SoftAuthenticator::es256();
    let page = register(server, &browser, &mut authenticator, name, None).await;
    assert!(page.contains("Passkey added."), "{page}");
    assert!(page.contains(name), "{page}");
    (browser, authenticator)
}

/// Alice, a client and her passkey named `name` (see [`with_passkey`]).
async fn alice_with_passkey(
    server: &TestServer,
    name: &str,
) -> (TestClient, Browser, SoftAuthenticator) {
    server.create_user("alice");
    let client = server.create_client("client_secret_basic", REDIRECT_URI);
    let (browser, authenticator) = with_passkey(server, &client, "alice", name).await;
    (client, browser, authenticator)
}

/// Opens the client's authorization URL (plus `extra` query text) in a
/// new browser; the browser, the page it lands on and the request's
/// verifier and relying party.
async fn start(
    server: &TestServer,
    client: &TestClient,
    extra: &str,
) -> (
    Browser,
    String,
    openidconnect::PkceCodeVerifier,
    crate::support::oidc::DiscoveredClient,
) {
    start_with(server, client, &["profile"], extra).await
}

/// [`start`] asking for `scopes` (besides `openid`).
async fn start_with(
    server: &TestServer,
    client: &TestClient,
    scopes: &[&str],
    extra: &str,
) -> (
    Browser,
    String,
    openidconnect::PkceCodeVerifier,
    crate::support::oidc::DiscoveredClient,
) {
    let rp = relying_party(server, client).await;
    let start = authorization_url(&rp, scopes);
    let browser = Browser::new();
    let response = browser.get(&format!("{}{extra}", start.url)).await;
    let (status, html) = settle(server, &browser, response)
        .await
        .expect("a page of the server");
    assert_eq!(status, StatusCode::OK, "{html}");
    (browser, html, start.verifier, rp)
}

/// The ID token's claims from the redirect `url`'s code.
async fn id_token_claims(
    rp: &crate::support::oidc::DiscoveredClient,
    url: &url::Url,
    verifier: openidconnect::PkceCodeVerifier,
) -> Value {
    let tokens = exchange(rp, code_of(url), verifier).await;
    jwt_claims(&tokens.id_token().expect("ID token").to_string())
}

/// The authorization code in the redirect `url`.
fn code_of(url: &url::Url) -> String {
    url.query_pairs()
        .find(|(key, _)| key == "code")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_else(|| panic!("no code in {url}"))
}

fn methods(claims: &Value) -> Vec<&str> {
    claims["amr"]
        .as_array()
        .expect("amr")
        .iter()
        .map(|method| method.as_str().unwrap())
        .collect()
}

on_both_backends!(
    a_passkey_alone_signs_in_to_a_relying_party,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let (client, account, mut authenticator) = alice_with_passkey(&server, "Laptop").await;

        let (browser, login, verifier, rp) = start(&server, &client, "").await;
        assert!(login.contains("action=\"/login/passkey\""), "{login}");
        assert!(login.contains("data-passkey=\"get\""), "{login}");
        let response = answer_login(&server, &browser, &login, None, |options| {
            // Discoverable: the browser is not told whose passkeys to offer.
            assert_eq!(options["allowCredentials"], serde_json::json!([]));
            assert_eq!(options["userVerification"], "required");
            assert_eq!(options["rpId"], "127.0.0.1");
            authenticator.assert(options, &origin(&server))
        })
        .await;
        let landed = settle(&server, &browser, response).await;
        let redirect = through_consent(&server, &browser, landed).await;
        let claims = id_token_claims(&rp, &redirect, verifier).await;
        assert_eq!(methods(&claims), vec!["hwk", "user", "mfa"]);
        assert_eq!(claims["acr"], "phrh");
        assert_eq!(
            claims["sub"],
            server
                .store
                .find_user_by_login("alice")
                .unwrap()
                .unwrap()
                .id
        );

        assert_eq!(server.audited("passkey.register", "success").len(), 1);
        let used = server.audited("passkey.use", "success");
        assert_eq!(used.len(), 1);
        assert!(used[0].contains("Laptop"), "{used:?}");
        // The account page shows when it was last used.
        let page = account.page(&server.url("/account/security")).await;
        assert!(page.contains("Laptop"), "{page}");
        assert!(!page.contains(">Never<"), "{page}");

        let discovery = discovery_document(&server).await;
        let acr_values = discovery["acr_values_supported"].as_array().unwrap();
        for level in ["1", "2", "phr", "phrh"] {
            assert!(acr_values.contains(&Value::from(level)), "{acr_values:?}");
        }
    }
);

on_both_backends!(
    a_passkey_is_the_second_factor_after_the_password,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("alice");
        server.create_user("bob");
        let client = server.create_client("client_secret_basic", REDIRECT_URI);
        let (_, mut alices) = with_passkey(&server, &client, "alice", "Phone").await;
        let (_, mut bobs) = with_passkey(&server, &client, "bob", "Key").await;

        let (browser, login, verifier, rp) = start(&server, &client, "").await;
        let response = browser
            .submit_login(&server.issuer, &login, "alice", PASSWORD)
            .await;
        let (_, second) = settle(&server, &browser, response).await.expect("a page");
        assert!(
            second.contains("name=\"step\" value=\"second_factor\""),
            "{second}"
        );
        // No TOTP: the passkey is the only second factor offered.
        assert!(!second.contains("name=\"code\""), "{second}");

        // Bob's passkey does not answer for Alice.
        let response = answer_login(
            &server,
            &browser,
            &second,
            Some("second_factor"),
            |options| bobs.assert(options, &origin(&server)),
        )
        .await;
        let (_, refused) = settle(&server, &browser, response).await.expect("a page");
        assert!(refused.contains(REFUSED), "{refused}");
        assert!(server
            .audited("passkey.use", "failure")
            .iter()
            .any(|detail| detail.contains("another account")));

        let response = answer_login(
            &server,
            &browser,
            &refused,
            Some("second_factor"),
            |options| {
                let allowed = options["allowCredentials"].as_array().unwrap();
                assert_eq!(allowed.len(), 1);
                assert_eq!(allowed[0]["id"], alices.credential_id());
                alices.assert(options, &origin(&server))
            },
        )
        .await;
        let landed = settle(&server, &browser, response).await;
        let redirect = through_consent(&server, &browser, landed).await;
        let claims = id_token_claims(&rp, &redirect, verifier).await;
        assert_eq!(methods(&claims), vec!["pwd", "hwk", "user", "mfa"]);
        assert_eq!(claims["acr"], "phrh");
    }
);

on_both_backends!(
    refused_answers_sign_no_one_in,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let (client, _, mut authenticator) = alice_with_passkey(&server, "Laptop").await;
        let origin = origin(&server);

        // Each refusal leaves the browser on the login page with the
        // message, and the reason in the audit log.
        async fn refused_for(
            server: &TestServer,
            client: &TestClient,
            reason: &str,
            answer: impl FnOnce(&Value) -> String,
        ) {
            // Events of one second are not ordered: count the reason.
            let counted = || {
                server
                    .audited("passkey.use", "failure")
                    .iter()
                    .filter(|detail| detail.contains(reason))
                    .count()
            };
            let before = counted();
            let (browser, login, _, _) = start(server, client, "").await;
            let response = answer_login(server, &browser, &login, None, answer).await;
            let (status, html) = settle(server, &browser, response)
                .await
                .unwrap_or_else(|url| panic!("{reason}: signed in, sent to {url}"));
            assert_eq!(status, StatusCode::OK, "{reason}: {html}");
            assert!(html.contains(REFUSED), "{reason}: {html}");
            assert!(html.contains("action=\"/login\""), "{reason}: {html}");
            assert_eq!(
                counted(),
                before + 1,
                "{reason}: {:?}",
                server.audited("passkey.use", "failure")
            );
        }

        // A good answer, kept to be replayed.
        let (browser, login, _, _) = start(&server, &client, "").await;
        let mut kept = String::new();
        let response = answer_login(&server, &browser, &login, None, |options| {
            kept = authenticator.assert(options, &origin);
            kept.clone()
        })
        .await;
        // Consented before: straight back to the client, with a code.
        let redirect = settle(&server, &browser, response)
            .await
            .expect_err("back to the client");
        assert!(redirect.as_str().contains("code="), "{redirect}");

        refused_for(&server, &client, "spent or expired challenge", |_| {
            kept.clone()
        })
        .await;
        refused_for(&server, &client, "origin", |options| {
            authenticator.assert(options, "https://evil.example")
        })
        .await;
        refused_for(&server, &client, "unknown passkey", |options| {
            SoftAuthenticator::es256().assert(options, &origin)
        })
        .await;
        refused_for(&server, &client, "malformed", |_| "{".into()).await;
        refused_for(&server, &client, "malformed", |_| String::new()).await;
        // An authenticator whose counter went back may be a clone.
        authenticator.counting = false;
        authenticator.counter = 1;
        refused_for(&server, &client, "counter", |options| {
            authenticator.assert(options, &origin)
        })
        .await;
        authenticator.counting = true;
        authenticator.counter = 10;
        // Without user verification the passkey is one factor only.
        authenticator.user_verified = false;
        refused_for(&server, &client, "verif", |options| {
            authenticator.assert(options, &origin)
        })
        .await;
        authenticator.user_verified = true;
        // A challenge expires.
        refused_for(&server, &client, "spent or expired challenge", |options| {
            server.clock.advance(400);
            authenticator.assert(options, &origin)
        })
        .await;

        // The options need the form's CSRF token.
        let (browser, login, _, _) = start(&server, &client, "").await;
        let response = browser
            .post_form(
                &server.url("/login/passkey/options"),
                &[("request_id", &hidden_field(&login, "request_id"))],
            )
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        // No answer went through.
        assert_eq!(server.audited("passkey.use", "success").len(), 1);
    }
);

on_both_backends!(
    a_removed_passkey_no_longer_signs_in,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let (client, registering, mut authenticator) =
            alice_with_passkey(&server, "Old phone").await;
        // The session that added the passkey signed in with the password
        // alone: now that the account has a second factor, it may not
        // change factors (registering proved nothing about the key).
        let page = registering.page(&server.url("/account/security")).await;
        let response = remove_first(&server, &registering, &page, None).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);

        // A sign-in with the passkey may, within the re-authentication
        // window or with the password.
        let (account, login, _, _) = start(&server, &client, "").await;
        let response = answer_login(&server, &account, &login, None, |options| {
            authenticator.assert(options, &origin(&server))
        })
        .await;
        let redirect = settle(&server, &account, response)
            .await
            .expect_err("back to the client");
        assert!(redirect.as_str().contains("code="), "{redirect}");
        server.clock.advance(301);
        let page = account.page(&server.url("/account/security")).await;
        assert!(page.contains("name=\"current_password\""), "{page}");
        let remove = |password: Option<&'static str>| {
            let (account, page, server) = (&account, page.clone(), &server);
            async move {
                let response = remove_first(server, account, &page, password).await;
                response.text().await.unwrap()
            }
        };
        let page = remove(None).await;
        assert!(page.contains("Enter your current password"), "{page}");
        let page = remove(Some("wrong password")).await;
        assert!(page.contains("The current password is wrong."), "{page}");
        let page = remove(Some(PASSWORD)).await;
        assert!(page.contains("Passkey removed."), "{page}");
        assert!(page.contains("No passkeys yet."), "{page}");
        assert!(server.audited("passkey.remove", "success")[0].contains("Old phone"));
        // Sessions elsewhere (one may have used a stolen key) ended.
        let response = registering.get(&server.url("/account/security")).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            account.get(&server.url("/account/security")).await.status(),
            StatusCode::OK
        );

        let (browser, login, _, _) = start(&server, &client, "").await;
        let response = answer_login(&server, &browser, &login, None, |options| {
            authenticator.assert(options, &origin(&server))
        })
        .await;
        let (_, html) = settle(&server, &browser, response).await.expect("a page");
        assert!(html.contains(REFUSED), "{html}");
        assert!(server.audited("passkey.use", "failure")[0].contains("unknown passkey"));
        // A password sign-in needs no second factor any more.
        let response = browser
            .submit_login(&server.issuer, &login, "alice", PASSWORD)
            .await;
        let redirect = settle(&server, &browser, response)
            .await
            .expect_err("back to the client");
        assert!(redirect.as_str().starts_with(REDIRECT_URI), "{redirect}");
    }
);

on_both_backends!(
    a_ceremony_started_on_one_node_finishes_on_another,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let (client, _, mut authenticator) = alice_with_passkey(&server, "Laptop").await;
        let other = server.second_node();
        let (browser, login, _, _) = start(&server, &client, "").await;
        let (request_id, csrf) = (
            hidden_field(&login, "request_id"),
            hidden_field(&login, "csrf_token"),
        );
        let form = [
            ("request_id", request_id.as_str()),
            ("csrf_token", csrf.as_str()),
        ];
        let options_url = server.url("/login/passkey/options");
        let options_from_first =
            || crate::support::passkeys::options(&browser, &options_url, &form);
        let post_to = |node: &TestServer, credential: String| {
            let url = node.url("/login/passkey");
            let (request_id, csrf, http) = (request_id.clone(), csrf.clone(), browser.http.clone());
            async move {
                http.post(&url)
                    .form(&[
                        ("request_id", request_id.as_str()),
                        ("csrf_token", csrf.as_str()),
                        ("credential", credential.as_str()),
                    ])
                    .send()
                    .await
                    .unwrap()
            }
        };

        // A challenge the first node issued is spent by an answer the
        // second node refused (a broken signature) ...
        let options = options_from_first().await;
        let genuine = authenticator.assert(&options, &origin(&other));
        let mut broken: Value = serde_json::from_str(&genuine).unwrap();
        broken["response"]["signature"] = Value::from("AAAA");
        let response = post_to(&other, broken.to_string()).await;
        let (_, html) = settle(&other, &browser, response).await.expect("a page");
        assert!(html.contains(REFUSED), "{html}");
        assert!(server.audited("passkey.use", "failure")[0].contains("signature"));
        // ... so the genuine answer to it is refused on the first node.
        let response = post_to(&server, authenticator.assert(&options, &origin(&server))).await;
        let (_, html) = settle(&server, &browser, response).await.expect("a page");
        assert!(html.contains(REFUSED), "{html}");
        assert!(server
            .audited("passkey.use", "failure")
            .iter()
            .any(|detail| detail.contains("spent or expired challenge")));

        // Options from the first node, the answer to the second (as a load
        // balancer may send it; each test node has its own origin).
        let options = options_from_first().await;
        let response = post_to(&other, authenticator.assert(&options, &origin(&other))).await;
        let redirect = settle(&other, &browser, response)
            .await
            .expect_err("back to the client");
        assert!(redirect.as_str().contains("code="), "{redirect}");
    }
);

on_both_backends!(
    phishing_resistant_requests_need_a_passkey,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("alice");
        let bob = server.create_user("bob");
        let client = server.create_client("client_secret_basic", REDIRECT_URI);
        let (_, mut authenticator) = with_passkey(&server, &client, "alice", "Laptop").await;
        let alice = server.store.find_user_by_login("alice").unwrap().unwrap();
        enrol_totp(&server, &alice.id);
        enrol_totp(&server, &bob.id);

        // Without acr_values, Alice may use either factor.
        let (browser, login, _, _) = start(&server, &client, "").await;
        let response = browser
            .submit_login(&server.issuer, &login, "alice", PASSWORD)
            .await;
        let (_, page) = settle(&server, &browser, response).await.expect("a page");
        assert!(page.contains("name=\"code\""), "{page}");
        assert!(page.contains("action=\"/login/passkey\""), "{page}");

        // With acr_values=phr, TOTP is not offered: only the passkey.
        let (browser, login, verifier, rp) = start(&server, &client, "&acr_values=phr").await;
        let response = browser
            .submit_login(&server.issuer, &login, "alice", PASSWORD)
            .await;
        let (_, page) = settle(&server, &browser, response).await.expect("a page");
        assert!(!page.contains("name=\"code\""), "{page}");
        let response = answer_login(&server, &browser, &page, Some("second_factor"), |options| {
            authenticator.assert(options, &origin(&server))
        })
        .await;
        let landed = settle(&server, &browser, response).await;
        let redirect = through_consent(&server, &browser, landed).await;
        let claims = id_token_claims(&rp, &redirect, verifier).await;
        assert_eq!(claims["acr"], "phrh");

        // Bob has TOTP but no passkey: he is told to add one.
        let (browser, login, _, _) = start(&server, &client, "&acr_values=phr").await;
        let response = browser
            .submit_login(&server.issuer, &login, "bob", PASSWORD)
            .await;
        let (_, page) = settle(&server, &browser, response).await.expect("a page");
        let code = crate::support::console::admin_code(&server);
        let response = browser.submit_code(&server.issuer, &page, &code).await;
        let (status, page) = settle(&server, &browser, response).await.expect("a page");
        assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
        assert!(page.contains("Passkey needed"), "{page}");
    }
);

on_both_backends!(
    passwordless_accounts_are_invited_and_never_get_a_password,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let client = server.create_client("client_secret_basic", REDIRECT_URI);
        let (admin, message) = invite_carol(&server).await;
        let carol = server.store.find_user_by_login("carol").unwrap().unwrap();
        assert!(carol.passwordless);
        assert!(message.contains("passkey"), "{message}");
        let invitation = link(&message, &server, "/account/passkey-invitation");
        let browser = Browser::new();
        let page = browser.page(&invitation).await;
        assert!(page.contains("data-passkey=\"create\""), "{page}");
        let token = hidden_field(&page, "token");
        let csrf = hidden_field(&page, "csrf_token");
        let form = [("token", token.as_str()), ("csrf_token", csrf.as_str())];
        let options = crate::support::passkeys::options(
            &browser,
            &server.url("/account/passkey-invitation/options"),
            &form,
        )
        .await;
        assert_eq!(options["authenticatorSelection"]["residentKey"], "required");
        assert_eq!(options["user"]["name"], "carol");
        let mut authenticator = SoftAuthenticator::es256();
        let credential = authenticator.register(&options, &origin(&server));
        let submit = [
            ("token", token.as_str()),
            ("csrf_token", csrf.as_str()),
            ("name", "Carol's laptop"),
            ("credential", credential.as_str()),
        ];
        let response = browser
            .post_form(&server.url("/account/passkey-invitation"), &submit)
            .await;
        let page = response.text().await.unwrap();
        assert!(page.contains("Your passkey is ready"), "{page}");
        // The link works once.
        let response = browser.get(&invitation).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(server.audited("passkey.register", "success")[0].contains("e-mailed link"));

        // Carol signs in with the passkey alone ...
        let (browser, login, verifier, rp) = start(&server, &client, "").await;
        let response = answer_login(&server, &browser, &login, None, |options| {
            authenticator.assert(options, &origin(&server))
        })
        .await;
        let landed = settle(&server, &browser, response).await;
        let redirect = through_consent(&server, &browser, landed).await;
        let claims = id_token_claims(&rp, &redirect, verifier).await;
        assert_eq!(claims["sub"], carol.id);
        assert_eq!(methods(&claims), vec!["hwk", "user", "mfa"]);

        // ... her account has no password to change, and she keeps her
        // only passkey.
        let page = browser.page(&server.url("/account/security")).await;
        assert!(!page.contains("action=\"/account/password\""), "{page}");
        let response = remove_first(&server, &browser, &page, None).await;
        let page = response.text().await.unwrap();
        assert!(page.contains("keep at least one passkey"), "{page}");

        // No password signs her in. While she has a passkey, her mailbox
        // alone does not recover the account: "forgot password" sends
        // nothing. Once an administrator has removed her lost passkeys,
        // it sends a link to create a passkey, not to choose a password.
        server.clock.advance(61);
        let (browser, login, _, _) = start(&server, &client, "").await;
        let response = browser
            .submit_login(&server.issuer, &login, "carol", PASSWORD)
            .await;
        let page = response.text().await.unwrap();
        assert!(page.contains("Invalid username or password."), "{page}");
        let forgot = |browser: &Browser| {
            let url = server.url("/password/forgot");
            let browser = browser.http.clone();
            async move {
                let page = browser
                    .get(&url)
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                let response = browser
                    .post(&url)
                    .form(&[
                        ("csrf_token", hidden_field(&page, "csrf_token").as_str()),
                        ("email", "carol@example.com"),
                    ])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::OK);
            }
        };
        forgot(&browser).await;
        assert!(server
            .audit_log()
            .iter()
            .any(|event| event.event == "password.reset_requested"));
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert_eq!(
            outbox(&server, 1).await.len(),
            1,
            "no e-mail while she has a passkey"
        );
        let carols_page = admin
            .page(&server.url(&format!("/admin/users/{}", carol.id)))
            .await;
        // The console offers no password for her account.
        assert!(
            !carols_page.contains("require-password-reset"),
            "{carols_page}"
        );
        let reset = crate::support::console::post(
            &server,
            &admin,
            &carols_page,
            &format!("/admin/users/{}/reset-mfa", carol.id),
            &[],
        )
        .await;
        assert_eq!(reset.status(), StatusCode::SEE_OTHER);
        assert!(server.store.user_passkeys(&carol.id).unwrap().is_empty());
        forgot(&browser).await;
        let messages = outbox(&server, 2).await;
        assert!(
            messages[1].contains("/account/passkey-invitation?token="),
            "{}",
            messages[1]
        );
        assert!(!messages[1].contains("/password/reset"), "{}", messages[1]);
        // An administrator cannot give her a password either.
        let output = crate::cli::ferrid(
            &server,
            &["user", "set-password", "carol", "--password-stdin"],
            Some("a-long-enough-password\n"),
        );
        assert!(!output.status.success());
        assert!(crate::cli::stderr(&output).contains("passwordless"));
    }
);

on_both_backends!(
    admins_can_be_required_to_use_passkeys,
    |backend: Backend| async move {
        let server = server_or_skip!(backend, |config| {
            config.passkeys.required_for_admins = true;
        });
        create_admin(&server, "root", AdminRole::Admin);
        // A password and TOTP no longer open the console.
        let browser = Browser::new();
        let landed = open(&server, &browser, "/admin", "root").await;
        assert_eq!(landed.status, StatusCode::FORBIDDEN, "{}", landed.html);
        assert!(landed.html.contains("Passkey needed"), "{}", landed.html);

        // Registered from the account page, a passkey does.
        let mut authenticator = SoftAuthenticator::es256();
        let page = register(&server, &browser, &mut authenticator, "Admin key", None).await;
        assert!(page.contains("Passkey added."), "{page}");
        let response = browser.get(&server.url("/admin")).await;
        let (_, page) = settle(&server, &browser, response).await.expect("a page");
        assert!(!page.contains("name=\"code\""), "{page}");
        let response = answer_login(&server, &browser, &page, Some("second_factor"), |options| {
            authenticator.assert(options, &origin(&server))
        })
        .await;
        let (status, page) = settle(&server, &browser, response).await.expect("a page");
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("<h1>Dashboard</h1>"), "{page}");

        // The console shows a user's passkeys and removes one.
        server.create_user("alice");
        let client = server.create_client("client_secret_basic", REDIRECT_URI);
        with_passkey(&server, &client, "alice", "Lost phone").await;
        let alice = server.store.find_user_by_login("alice").unwrap().unwrap();
        let page = browser
            .page(&server.url(&format!("/admin/users/{}", alice.id)))
            .await;
        assert!(page.contains("Lost phone"), "{page}");
        let response = crate::support::console::post(
            &server,
            &browser,
            &page,
            &format!("/admin/users/{}/passkeys/remove", alice.id),
            &[("passkey", &hidden_field(&page, "passkey"))],
        )
        .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert!(server.store.user_passkeys(&alice.id).unwrap().is_empty());
        let removals = server.audit_log();
        let removal = removals
            .iter()
            .find(|event| event.event == "passkey.remove")
            .expect("audited");
        let root = server.store.find_user_by_login("root").unwrap().unwrap();
        assert_eq!(removal.actor.as_deref(), Some(root.id.as_str()));
    }
);

on_both_backends!(
    passkeys_through_the_admin_api,
    |backend: Backend| async move {
        use crate::admin_api::{admin, service_token, READ, WRITE};
        use reqwest::Method;
        let server = server_or_skip!(backend);
        let writer = service_token(&server, &format!("{READ} {WRITE}")).await;
        let reader = service_token(&server, READ).await;

        // A passwordless account is invited; it cannot come with a password.
        let (status, _, body) = admin(
            &server,
            Method::POST,
            "/users",
            Some(&writer),
            Some(serde_json::json!({
                "username": "dora", "email": "dora@example.com",
                "password": "a-long-enough-password", "passwordless": true
            })),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["errors"][0]["field"], "password", "{body}");
        let (status, _, body) = admin(
            &server,
            Method::POST,
            "/users",
            Some(&writer),
            Some(serde_json::json!({
                "username": "dora", "email": "dora@example.com", "passwordless": true
            })),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["passwordless"], true);
        let message = outbox(&server, 1).await.remove(0);
        assert!(
            message.contains("/account/passkey-invitation?token="),
            "{message}"
        );

        // Alice's passkeys are listed and one is removed.
        server.create_user("alice");
        let client = server.create_client("client_secret_basic", REDIRECT_URI);
        with_passkey(&server, &client, "alice", "Lost key").await;
        let alice = server.store.find_user_by_login("alice").unwrap().unwrap();
        let path = format!("/users/{}/passkeys", alice.id);
        let (status, _, body) = admin(&server, Method::GET, &path, Some(&reader), None, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["items"][0]["name"], "Lost key");
        assert_eq!(body["items"][0]["synced"], false);
        assert!(body["items"][0].get("public_key").is_none());
        let passkey = format!("{path}/{}", body["items"][0]["id"].as_str().unwrap());
        let (status, _, _) =
            admin(&server, Method::DELETE, &passkey, Some(&reader), None, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, body) =
            admin(&server, Method::DELETE, &passkey, Some(&writer), None, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let (status, _, body) =
            admin(&server, Method::DELETE, &passkey, Some(&writer), None, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        let (_, _, body) = admin(&server, Method::GET, &path, Some(&reader), None, None).await;
        assert_eq!(body["items"], serde_json::json!([]));
        assert!(server.audited("passkey.remove", "success")[0].contains("Lost key"));
        let (_, _, body) = admin(
            &server,
            Method::GET,
            &format!("/users/{}", alice.id),
            Some(&reader),
            None,
            None,
        )
        .await;
        assert_eq!(body["passkeys"], 0);

        // The admins-need-passkeys policy, as the console's switch sets it.
        let policy = "/policies/admin-passkeys";
        let (status, _, body) =
            admin(&server, Method::GET, policy, Some(&reader), None, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body,
            serde_json::json!({"required": false, "forced_by_configuration": false})
        );
        let on = Some(serde_json::json!({ "required": true }));
        let (status, _, _) = admin(
            &server,
            Method::PUT,
            policy,
            Some(&reader),
            on.clone(),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let bad = Some(serde_json::json!({ "required": "yes" }));
        let (status, _, _) = admin(&server, Method::PUT, policy, Some(&writer), bad, None).await;
        assert!(
            status.is_client_error() && status != StatusCode::FORBIDDEN,
            "{status}"
        );
        let (status, _, body) = admin(&server, Method::PUT, policy, Some(&writer), on, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["required"], true);
        assert!(server.store.admin_passkeys_required().unwrap());
        assert_eq!(server.audited("console.admin_passkeys", "success").len(), 1);

        // And through the CLI, for when no console is at hand.
        with_passkey(&server, &client, "alice", "Spare key").await;
        let listed = crate::cli::json(&crate::cli::ferrid(
            &server,
            &["user", "passkeys", "alice", "--json"],
            None,
        ));
        assert_eq!(listed[0]["name"], "Spare key");
        let id = listed[0]["id"].as_str().unwrap().to_owned();
        let removed = crate::cli::json(&crate::cli::ferrid(
            &server,
            &["user", "remove-passkey", "alice", &id, "--json"],
            None,
        ));
        assert_eq!(removed["removed"], id.as_str());
        let again = crate::cli::ferrid(&server, &["user", "remove-passkey", "alice", &id], None);
        assert!(!again.status.success());
        assert!(crate::cli::stderr(&again).contains("no passkey"));
        assert!(server.store.user_passkeys(&alice.id).unwrap().is_empty());
    }
);

on_both_backends!(
    an_api_can_require_a_passkey_sign_in,
    |backend: Backend| async move {
        use crate::apis::{
            example_api, exchange as exchange_for, register_apis, shop_client, ORDERS,
        };
        let server = server_or_skip!(backend);
        register_apis(&server);
        let shop = shop_client(&server);
        let alice = server.create_user("alice");
        ferrid_service::groups::set_role(
            &server.store,
            ORDERS,
            "clerk",
            &ferrid_service::groups::Holder::User(alice.username.clone()),
            true,
            "test",
            0,
        )
        .unwrap();
        let api = example_api(&server, ORDERS).await;
        let refund = |token: String| {
            let api = api.clone();
            async move {
                let response = reqwest::Client::new()
                    .post(format!("{api}/orders/refunds"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap();
                let challenge = response
                    .headers()
                    .get("www-authenticate")
                    .map(|value| value.to_str().unwrap().to_owned())
                    .unwrap_or_default();
                (response.status(), challenge)
            }
        };
        let resource = "&resource=https%3A%2F%2Fapi.example.com%2Forders";
        let scopes = ["orders:write"];

        // A password sign-in: the API asks for a passkey (RFC 9470).
        let (browser, login, verifier, _) = start_with(&server, &shop, &scopes, resource).await;
        let response = browser
            .submit_login(&server.issuer, &login, "alice", PASSWORD)
            .await;
        let landed = settle(&server, &browser, response).await;
        let redirect = through_consent(&server, &browser, landed).await;
        let code = code_of(&redirect);
        let (status, tokens) = exchange_for(&server, &shop, &code, &verifier, Some(ORDERS)).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        let (status, challenge) = refund(tokens["access_token"].as_str().unwrap().to_owned()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(
            challenge.contains("error=\"insufficient_user_authentication\""),
            "{challenge}"
        );
        assert!(challenge.contains("acr_values=\"phr\""), "{challenge}");

        // Back with acr_values=phr and a passkey, the refund goes through.
        let mut authenticator = SoftAuthenticator::es256();
        let page = register(&server, &browser, &mut authenticator, "Laptop", None).await;
        assert!(page.contains("Passkey added."), "{page}");
        let (browser, login, verifier, _) = start_with(
            &server,
            &shop,
            &scopes,
            &format!("{resource}&acr_values=phr"),
        )
        .await;
        let response = answer_login(&server, &browser, &login, None, |options| {
            authenticator.assert(options, &origin(&server))
        })
        .await;
        let landed = settle(&server, &browser, response).await;
        let redirect = through_consent(&server, &browser, landed).await;
        let code = code_of(&redirect);
        let (status, tokens) = exchange_for(&server, &shop, &code, &verifier, Some(ORDERS)).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        let access = tokens["access_token"].as_str().unwrap().to_owned();
        assert_eq!(jwt_claims(&access)["acr"], "phrh");
        let (status, challenge) = refund(access).await;
        assert_eq!(status, StatusCode::CREATED, "{challenge}");
    }
);

on_both_backends!(
    a_new_passkey_is_announced_and_can_be_undone_from_the_mailbox,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let alice = server.create_user("alice");
        let client = server.create_client("client_secret_basic", REDIRECT_URI);
        // Someone with Alice's password (or a session of hers) adds a
        // passkey: she is told by e-mail ...
        let (intruder, mut planted) = with_passkey(&server, &client, "alice", "Not mine").await;
        let message = outbox(&server, 1).await.remove(0);
        assert!(
            message.contains("A passkey was added to your account"),
            "{message}"
        );
        let undo = link(&message, &server, "/account/not-me");

        // ... and undoes it from her mailbox: every factor goes, every
        // session ends, and she chooses a new password.
        let owner = Browser::new();
        let page = owner.page(&undo).await;
        let response = owner
            .post_form(
                &server.url("/account/not-me"),
                &[
                    ("token", &hidden_field(&page, "token")),
                    ("csrf_token", &hidden_field(&page, "csrf_token")),
                ],
            )
            .await;
        let page = response.text().await.unwrap();
        assert!(page.contains("name=\"new_password\""), "{page}");
        assert!(server.store.user_passkeys(&alice.id).unwrap().is_empty());
        let reloaded = server.store.find_user(&alice.id).unwrap().unwrap();
        assert_eq!(reloaded.passkeys, 0);
        let response = intruder.get(&server.url("/account/security")).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let (browser, login, _, _) = start(&server, &client, "").await;
        let response = answer_login(&server, &browser, &login, None, |options| {
            planted.assert(options, &origin(&server))
        })
        .await;
        let (_, html) = settle(&server, &browser, response).await.expect("a page");
        assert!(html.contains(REFUSED), "{html}");
    }
);

on_both_backends!(
    a_sign_in_without_a_username_needs_the_user_handle,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let (client, _, mut authenticator) = alice_with_passkey(&server, "Laptop").await;
        let (browser, login, _, _) = start(&server, &client, "").await;
        let response = answer_login(&server, &browser, &login, None, |options| {
            let mut answer: Value =
                serde_json::from_str(&authenticator.assert(options, &origin(&server))).unwrap();
            answer["response"]
                .as_object_mut()
                .unwrap()
                .remove("userHandle");
            answer.to_string()
        })
        .await;
        let (_, html) = settle(&server, &browser, response).await.expect("a page");
        assert!(html.contains(REFUSED), "{html}");
        assert!(server.audited("passkey.use", "failure")[0].contains("no user handle"));
    }
);

on_both_backends!(
    an_admin_requires_passkeys_for_admins_in_the_console,
    |backend: Backend| async move {
        use crate::support::console::{post, signed_in_admin};
        let server = server_or_skip!(backend);
        let root = signed_in_admin(&server, "root", AdminRole::Admin).await;
        create_admin(&server, "ops", AdminRole::Admin);
        let require = |required: &'static str| {
            let (server, root) = (&server, &root);
            async move {
                let users = root.page(&server.url("/admin/users")).await;
                post(
                    server,
                    root,
                    &users,
                    "/admin/users/admin-passkeys",
                    &[("required", required)],
                )
                .await
            }
        };

        // Not before the admin has a passkey: the next sign-in would fail.
        let response = require("true").await;
        let page = response.text().await.unwrap();
        assert!(
            page.contains("Add a passkey to your own account first"),
            "{page}"
        );
        assert!(!server.store.admin_passkeys_required().unwrap());

        let mut authenticator = SoftAuthenticator::es256();
        let page = register(&server, &root, &mut authenticator, "Root key", None).await;
        assert!(page.contains("Passkey added."), "{page}");
        let response = require("true").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert!(server.store.admin_passkeys_required().unwrap());
        assert_eq!(server.audited("console.admin_passkeys", "success").len(), 1);
        let users = root.page(&server.url("/admin/users")).await;
        assert!(
            users.contains("Administrators must sign in with a passkey"),
            "{users}"
        );

        // An admin without a passkey is refused ...
        let ops = Browser::new();
        let landed = open(&server, &ops, "/admin", "ops").await;
        assert_eq!(landed.status, StatusCode::FORBIDDEN, "{}", landed.html);
        assert!(landed.html.contains("Passkey needed"), "{}", landed.html);
        // ... and one with a passkey signs in with it.
        let browser = Browser::new();
        let landed = open(&server, &browser, "/admin", "root").await;
        assert!(!landed.html.contains("name=\"code\""), "{}", landed.html);
        let response = answer_login(
            &server,
            &browser,
            &landed.html,
            Some("second_factor"),
            |options| authenticator.assert(options, &origin(&server)),
        )
        .await;
        let (status, page) = settle(&server, &browser, response).await.expect("a page");
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("<h1>Dashboard</h1>"), "{page}");

        // Turned off again, TOTP is enough (a code of the next time step:
        // each is good once).
        let response = require("false").await;
        server.clock.advance(30);
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let landed = open(&server, &Browser::new(), "/admin", "ops").await;
        assert_eq!(landed.status, StatusCode::OK, "{}", landed.html);
        assert!(
            landed.html.contains("<h1>Dashboard</h1>"),
            "{}",
            landed.html
        );
    }
);
