//! Passkeys from the browser's side, over HTTP: ferrid's forms driven
//! the way its script drives them, answered by a software authenticator
//! (`ferrid_tokens::webauthn::testing`, which builds what a browser
//! sends: clientDataJSON, authenticator data, COSE keys, signatures).

use ferrid_tokens::webauthn::testing::SoftAuthenticator;
use reqwest::{Response, StatusCode};
use serde_json::Value;

use super::browser::{hidden_field, location, Browser};
use super::server::TestServer;

/// The issuer's origin, as a browser on it would report it.
pub fn origin(server: &TestServer) -> String {
    url::Url::parse(&server.issuer)
        .expect("issuer")
        .origin()
        .ascii_serialization()
}

/// Posts `form` to an options endpoint and returns the JSON options.
pub async fn options(browser: &Browser, url: &str, form: &[(&str, &str)]) -> Value {
    let response = browser.post_form(url, form).await;
    assert_eq!(response.status(), StatusCode::OK, "options from {url}");
    assert_eq!(
        response
            .headers()
            .get("cache-control")
            .and_then(|value| value.to_str().ok()),
        Some("no-store")
    );
    response.json().await.expect("options JSON")
}

/// Registers a passkey named `name` from the account page of `browser`'s
/// signed-in user (with `password` when the page asks for it) and
/// returns the page the registration answered with.
pub async fn register(
    server: &TestServer,
    browser: &Browser,
    authenticator: &mut SoftAuthenticator,
    name: &str,
    password: Option<&str>,
) -> String {
    let page = browser.page(&server.url("/account/security")).await;
    let csrf = hidden_field(&page, "csrf_token");
    let mut form = vec![("csrf_token", csrf.as_str()), ("name", name)];
    if let Some(password) = password {
        form.push(("current_password", password));
    }
    let options = options(browser, &server.url("/account/passkeys/options"), &form).await;
    let credential = authenticator.register(&options, &origin(server));
    form.push(("credential", &credential));
    let response = browser
        .post_form(&server.url("/account/passkeys"), &form)
        .await;
    response.text().await.expect("page")
}

/// Posts the account page's removal form of the first passkey listed on
/// `page` (with `password` when given); returns the response.
pub async fn remove_first(
    server: &TestServer,
    browser: &Browser,
    page: &str,
    password: Option<&str>,
) -> Response {
    let (csrf, passkey) = (
        hidden_field(page, "csrf_token"),
        hidden_field(page, "passkey"),
    );
    let mut form = vec![("csrf_token", csrf.as_str()), ("passkey", passkey.as_str())];
    if let Some(password) = password {
        form.push(("current_password", password));
    }
    browser
        .post_form(&server.url("/account/passkeys/remove"), &form)
        .await
}

/// A login page's sign-in with a passkey: asks for the options (for the
/// second factor with `step`), lets `answer` make the browser's reply
/// from them, and posts it. Returns the response.
pub async fn answer_login(
    server: &TestServer,
    browser: &Browser,
    html: &str,
    step: Option<&str>,
    answer: impl FnOnce(&Value) -> String,
) -> Response {
    let (request_id, csrf) = (
        hidden_field(html, "request_id"),
        hidden_field(html, "csrf_token"),
    );
    let mut form = vec![
        ("request_id", request_id.as_str()),
        ("csrf_token", csrf.as_str()),
    ];
    if let Some(step) = step {
        form.push(("step", step));
    }
    let options = options(browser, &server.url("/login/passkey/options"), &form).await;
    let credential = answer(&options);
    form.push(("credential", &credential));
    browser
        .post_form(&server.url("/login/passkey"), &form)
        .await
}

/// Follows redirects from `response` within the server and returns the
/// page it ends on (status and HTML), or the redirect out of it (as an
/// `Err` with its URL).
pub async fn settle(
    server: &TestServer,
    browser: &Browser,
    mut response: Response,
) -> Result<(StatusCode, String), url::Url> {
    for _ in 0..10 {
        if !response.status().is_redirection() {
            let status = response.status();
            return Ok((status, response.text().await.expect("page")));
        }
        let next = location(&response);
        if !next.starts_with(&server.issuer) {
            return Err(url::Url::parse(&next).expect("redirect"));
        }
        response = browser.get(&next).await;
    }
    panic!("too many hops");
}

/// Allows the consent page if that is where `landed` is, and returns
/// where the browser goes next: the redirect to the client.
pub async fn through_consent(
    server: &TestServer,
    browser: &Browser,
    landed: Result<(StatusCode, String), url::Url>,
) -> url::Url {
    match landed {
        Err(url) => url,
        Ok((status, html)) => {
            assert_eq!(status, StatusCode::OK, "{html}");
            assert!(html.contains("action=\"/consent\""), "consent: {html}");
            let response = browser.submit_consent(&server.issuer, &html, "allow").await;
            settle(server, browser, response)
                .await
                .expect_err("a redirect to the client")
        }
    }
}

/// Has a new admin (`root`) invite Carol to a passwordless account from
/// the console; returns the admin's browser and the invitation e-mail.
pub async fn invite_carol(server: &TestServer) -> (Browser, String) {
    use super::console::{post, signed_in_admin};
    let admin = signed_in_admin(server, "root", ferrid_service::users::AdminRole::Admin).await;
    let users = admin.page(&server.url("/admin/users")).await;
    assert!(users.contains("name=\"passwordless\""), "{users}");
    let response = post(
        server,
        &admin,
        &users,
        "/admin/users/invite",
        &[
            ("username", "carol"),
            ("email", "carol@example.com"),
            ("passwordless", "true"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let message = super::outbox::outbox(server, 1).await.remove(0);
    (admin, message)
}
