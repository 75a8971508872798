//! Second factors: TOTP enrolment from the account page, login with TOTP
//! (replays refused), single-use recovery codes, MFA required by a client,
//! by `acr_values` or for everyone, and `ferrid user reset-mfa`.

use ferrid_server::Clock;
use ferrid_service::clients::ClientRegistration;
use openidconnect::AuthorizationCode;
use reqwest::StatusCode;

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::browser::{hidden_field, location};
use crate::support::mfa::{self, totp_code};
use crate::support::oidc::{authorization_url, http_client, jwt_claims, relying_party, signed_in};
use crate::support::server::TestClient;
use crate::support::{Backend, Browser, TestServer};

fn app(server: &TestServer, require_mfa: bool) -> TestClient {
    server.create_client_with(ClientRegistration {
        name: "MFA app".into(),
        redirect_uris: vec!["https://mfa.example/cb".into()],
        grant_types: vec!["authorization_code".into()],
        auth_method: "client_secret_basic".into(),
        scope: "openid profile email".into(),
        id_token_alg: "RS256".into(),
        require_mfa,
        ..Default::default()
    })
}

/// Runs the code flow in `browser` answering the second factor with
/// `code`; returns the ID token's claims.
async fn id_token_with_code(
    server: &TestServer,
    client: &TestClient,
    browser: &Browser,
    username: &str,
    code: &str,
    extra: &str,
) -> serde_json::Value {
    let rp = relying_party(server, client).await;
    let start = authorization_url(&rp, &[]);
    let url = format!("{}{extra}", start.url);
    let redirected = browser
        .sign_in_with_code(&server.issuer, &url, username, code)
        .await;
    let code = redirected
        .param("code")
        .unwrap_or_else(|| panic!("no code: {}", redirected.url));
    let tokens = rp
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(start.verifier)
        .request_async(&http_client())
        .await
        .unwrap();
    jwt_claims(
        &openidconnect::TokenResponse::id_token(&tokens)
            .unwrap()
            .to_string(),
    )
}

/// Opens the authorization URL `start` in `browser` and submits the
/// password of `username` on the login form; returns the answer.
async fn submit_password(
    server: &TestServer,
    browser: &Browser,
    start: &str,
    username: &str,
) -> reqwest::Response {
    let response = browser.get(start).await;
    let html = browser.page(&location(&response)).await;
    browser
        .submit_login(
            &server.issuer,
            &html,
            username,
            crate::support::server::PASSWORD,
        )
        .await
}

/// Starts a sign-in for `username` and submits the password; returns the
/// second-factor page.
async fn second_factor_page(
    server: &TestServer,
    client: &TestClient,
    browser: &Browser,
    username: &str,
) -> String {
    let rp = relying_party(server, client).await;
    let start = authorization_url(&rp, &[]);
    let response = submit_password(server, browser, start.url.as_str(), username).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let next = location(&response);
    assert!(next.contains("/login/mfa?request_id="), "{next}");
    // The password alone starts no session.
    assert!(browser.cookie(&server.issuer, "ferrid_session").is_none());
    browser.page(&next).await
}

on_both_backends!(
    totp_enrolment_login_and_replay,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("tess");
        let client = app(&server, false);
        let browser = signed_in(&server, &client, "tess").await;
        let elsewhere = signed_in(&server, &client, "tess").await;
        let overview = browser.page(&server.url("/account/security")).await;
        assert!(overview.contains("Set up an authenticator app"));

        // Each visit shows a new secret, and showing it stores nothing.
        let (_, earlier) = mfa::open_enrolment(&browser, &server.url("/account/totp")).await;
        let (html, secret) = mfa::open_enrolment(&browser, &server.url("/account/totp")).await;
        assert!(html.contains(&secret));
        assert_ne!(earlier, secret);
        // A wrong code does not turn it on.
        let wrong = mfa::confirm_with(&server, &browser, &html, "000000").await;
        assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
        assert!(server
            .store
            .find_user_by_login("tess")
            .unwrap()
            .unwrap()
            .totp_secret_sealed
            .is_none());
        let confirmed = mfa::confirm(&server, &browser, &html, &secret).await;
        assert_eq!(confirmed.status(), StatusCode::OK);
        let codes = mfa::recovery_codes(&confirmed.text().await.unwrap());
        assert_eq!(codes.len(), 10);
        // A session that signed in with the password alone does not
        // outlive the second factor (regression); the user is told.
        assert_eq!(
            elsewhere
                .get(&server.url("/account/security"))
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            browser.get(&server.url("/account/security")).await.status(),
            StatusCode::OK
        );
        let folder = server.config.email.outbox_dir.clone();
        let notified = crate::support::eventually(|| async {
            std::fs::read_dir(&folder)
                .is_ok_and(|entries| {
                    entries.filter_map(Result::ok).any(|entry| {
                        std::fs::read_to_string(entry.path())
                            .is_ok_and(|text| text.contains("Two-step verification was turned on"))
                    })
                })
                .then_some(())
        })
        .await;
        assert!(
            notified.is_some(),
            "the user is e-mailed about the enrolment"
        );
        let user = server.store.find_user_by_login("tess").unwrap().unwrap();
        let sealed = user.totp_secret_sealed.clone().unwrap();
        assert!(!sealed.contains(&secret), "the secret is stored sealed");
        assert!(browser
            .page(&server.url("/account/security"))
            .await
            .contains("10 unused recovery codes"));

        // The enrolment code's step is spent; the next step logs in.
        server.clock.advance(30);
        let code = totp_code(&secret, server.clock.now());
        let fresh = Browser::new();
        let claims = id_token_with_code(&server, &client, &fresh, "tess", &code, "").await;
        assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp"]));
        assert_eq!(claims["acr"], "2");

        // The same code again, in another browser, in the same window: refused.
        let other = Browser::new();
        let page = second_factor_page(&server, &client, &other, "tess").await;
        let replay = other.submit_code(&server.issuer, &page, &code).await;
        assert_eq!(replay.status(), StatusCode::OK);
        let text = replay.text().await.unwrap();
        assert!(text.contains("Invalid code."), "{text}");
        // Garbage is an invalid code, not an error.
        let garbage = other
            .submit_code(&server.issuer, &text, &"9".repeat(40))
            .await;
        assert_eq!(garbage.status(), StatusCode::OK);
        // A code for the next step works.
        server.clock.advance(30);
        let next = totp_code(&secret, server.clock.now());
        let page = garbage.text().await.unwrap();
        let accepted = other.submit_code(&server.issuer, &page, &next).await;
        assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
        // Consent was given before: straight back to the client.
        let back = location(&accepted);
        assert!(
            back.starts_with(&client.redirect_uri) && back.contains("code="),
            "{back}"
        );
    }
);

on_both_backends!(
    recovery_codes_are_single_use,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("rita");
        let client = app(&server, false);
        let browser = signed_in(&server, &client, "rita").await;
        let enrolled = mfa::enrol(&server, &browser).await;

        let first = &enrolled.recovery_codes[0];
        // Typed in capitals with spaces instead of dashes: still the code.
        let typed = first.to_uppercase().replace('-', " ");
        let claims =
            id_token_with_code(&server, &client, &Browser::new(), "rita", &typed, "").await;
        assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp"]));

        let again = Browser::new();
        let page = second_factor_page(&server, &client, &again, "rita").await;
        let reused = again.submit_code(&server.issuer, &page, first).await;
        assert!(reused.text().await.unwrap().contains("Invalid code."));

        // New codes replace the old set.
        let overview = browser.page(&server.url("/account/security")).await;
        assert!(overview.contains("9 unused recovery codes"));
        let regenerated = browser
            .post_form(
                &server.url("/account/recovery-codes"),
                &[("csrf_token", &hidden_field(&overview, "csrf_token"))],
            )
            .await;
        let fresh = mfa::recovery_codes(&regenerated.text().await.unwrap());
        assert_eq!(fresh.len(), 10);
        let old = &enrolled.recovery_codes[1];
        let retry = Browser::new();
        let page = second_factor_page(&server, &client, &retry, "rita").await;
        let stale = retry.submit_code(&server.issuer, &page, old).await;
        assert!(stale.text().await.unwrap().contains("Invalid code."));
        id_token_with_code(&server, &client, &Browser::new(), "rita", &fresh[0], "").await;
    }
);

/// The first sign-in of `username` (no second factor yet) to `client`,
/// which needs one: the user is sent to set it up, then the request
/// resumes. Returns the ID token's claims.
async fn first_sign_in_enrols(
    server: &TestServer,
    client: &TestClient,
    username: &str,
) -> serde_json::Value {
    let browser = Browser::new();
    let rp = relying_party(server, client).await;
    let start = authorization_url(&rp, &[]);
    let response = submit_password(server, &browser, start.url.as_str(), username).await;
    let response = browser.get(&location(&response)).await;
    let enrol_url = location(&response);
    assert!(
        enrol_url.contains("/account/totp?request_id="),
        "{enrol_url}"
    );
    let (html, secret) = mfa::open_enrolment(&browser, &enrol_url).await;
    assert!(html.contains("This application requires two-step verification"));
    let confirmed = mfa::confirm(server, &browser, &html, &secret).await;
    let page = confirmed.text().await.unwrap();
    let continue_to = mfa::between(&page, "class=\"button\" href=\"", "\"").replace("&#x3d;", "=");
    assert!(
        continue_to.starts_with("/authorize/continue?request_id="),
        "{continue_to}"
    );
    let redirected = browser
        .sign_in(&server.issuer, &server.url(&continue_to), username)
        .await;
    let code = redirected.param("code").expect("code after enrolment");
    let tokens = rp
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(start.verifier)
        .request_async(&http_client())
        .await
        .unwrap();
    jwt_claims(
        &openidconnect::TokenResponse::id_token(&tokens)
            .unwrap()
            .to_string(),
    )
}

on_both_backends!(a_client_can_require_mfa, |backend: Backend| async move {
    let server = server_or_skip!(backend);
    server.create_user("mira");
    let strict = app(&server, true);
    let claims = first_sign_in_enrols(&server, &strict, "mira").await;
    assert_eq!(claims["acr"], "2");

    // prompt=none cannot ask for a second factor.
    server.create_user("nora");
    let lax = app(&server, false);
    let plain = signed_in(&server, &lax, "nora").await;
    let rp = relying_party(&server, &strict).await;
    let silent = format!("{}&prompt=none", authorization_url(&rp, &[]).url);
    let target = land(&server, &plain, &silent).await;
    assert!(target.starts_with("https://mfa.example/cb"), "{target}");
    assert!(target.contains("error=interaction_required"), "{target}");
});

on_both_backends!(
    mfa_can_be_required_for_everyone,
    |backend: Backend| async move {
        let server = server_or_skip!(backend, |config| config.mfa.required_for_all = true);
        server.create_user("omar");
        // A client that does not ask for it still gets a two-factor login.
        let lax = app(&server, false);
        let claims = first_sign_in_enrols(&server, &lax, "omar").await;
        assert_eq!(claims["acr"], "2");
        assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp"]));
        // Later sign-ins ask for the code after the password.
        let page = second_factor_page(&server, &lax, &Browser::new(), "omar").await;
        assert!(page.contains("name=\"code\""), "{page}");
    }
);

/// Follows redirects within the server from `url`; returns the URL of
/// the page it lands on (or of the first redirect away from the server).
async fn land(server: &TestServer, browser: &Browser, url: &str) -> String {
    let mut url = url.to_owned();
    for _ in 0..10 {
        let response = browser.get(&url).await;
        if !response.status().is_redirection() {
            return url;
        }
        url = location(&response);
        if !url.starts_with(&server.issuer) {
            return url;
        }
    }
    panic!("too many redirects");
}

/// Turns TOTP on for `username` directly in the store, keeping the
/// session `keep_sid` (as if enrolled there); returns the key in base32.
fn enrol_directly(server: &TestServer, username: &str, keep_sid: &str) -> String {
    let user = server.store.find_user_by_login(username).unwrap().unwrap();
    let secret = b"a twenty byte secret".to_vec();
    let sealed = server.state.seal_totp_secret(&secret, &user.id).unwrap();
    let enrolment = ferrid_store::TotpEnrolment {
        user_id: &user.id,
        sealed: &sealed,
        step: 0,
        keep_sid: Some(keep_sid),
    };
    assert!(server
        .store
        .confirm_totp(enrolment, &[], server.clock.now())
        .unwrap());
    totp_rs::Secret::from(secret).to_base32()
}

on_both_backends!(
    acr_values_2_asks_for_the_second_factor,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("alma");
        let client = app(&server, false);
        let rp = relying_party(&server, &client).await;
        let older = signed_in(&server, &client, "alma").await;
        // A password-only session answers a plain request with acr 1…
        let claims = id_token_with_code(&server, &client, &older, "alma", "unused", "").await;
        assert_eq!(claims["acr"], "1");
        assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
        // …but acr_values=2 sends a user without a second factor to enrol.
        let asking = format!("{}&acr_values=2", authorization_url(&rp, &[]).url);
        let landed = land(&server, &older, &asking).await;
        assert!(landed.contains("/account/totp?request_id="), "{landed}");

        // With a factor enrolled while this password-only session lived,
        // the session must step up: the second factor is asked for, only
        // this session can give it, and the session keeps its sid.
        let sid = claims["sid"].as_str().unwrap().to_owned();
        let secret = enrol_directly(&server, "alma", &sid);
        let asking = format!("{}&acr_values=2", authorization_url(&rp, &[]).url);
        let mfa_page = land(&server, &older, &asking).await;
        assert!(mfa_page.contains("/login/mfa?request_id="), "{mfa_page}");
        let stranger = Browser::new();
        let response = stranger.get(&mfa_page).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert!(location(&response).contains("/login?request_id="));

        server.clock.advance(30);
        let code = totp_code(&secret, server.clock.now());
        let stepped =
            id_token_with_code(&server, &client, &older, "alma", &code, "&acr_values=2").await;
        assert_eq!(stepped["acr"], "2");
        assert_eq!(stepped["amr"], serde_json::json!(["pwd", "otp"]));
        assert_eq!(stepped["sid"], sid.as_str());
    }
);

on_both_backends!(reset_mfa_from_the_cli, |backend: Backend| async move {
    let server = server_or_skip!(backend);
    server.create_user("lost");
    let client = app(&server, false);
    let browser = signed_in(&server, &client, "lost").await;
    mfa::enrol(&server, &browser).await;
    let page = second_factor_page(&server, &client, &Browser::new(), "lost").await;
    assert!(page.contains("action=\"/login/mfa\""));
    let output = server.cli(&["user", "reset-mfa", "lost"]).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(server
        .store
        .find_user_by_login("lost")
        .unwrap()
        .unwrap()
        .totp_secret_sealed
        .is_none());
    // Password only again.
    signed_in(&server, &client, "lost").await;
    let unknown = server
        .cli(&["user", "reset-mfa", "nobody"])
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no user named nobody"));
});
