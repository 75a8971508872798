//! Second factors from the user's side: an authenticator app (totp-rs,
//! an implementation independent of the server's use of it) and the
//! enrolment pages.

use ferrid_server::Clock;
use reqwest::StatusCode;
use totp_rs::{Algorithm, Builder, Secret};

use super::browser::{hidden_field, Browser};
use super::server::TestServer;

/// What enrolment handed the user.
pub struct Enrolled {
    /// The key, base32, as shown on the page.
    pub secret: String,
    /// The recovery codes, as shown once.
    pub recovery_codes: Vec<String>,
}

/// The code an authenticator app shows at `time` for `secret` (base32).
pub fn totp_code(secret: &str, time: i64) -> String {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(Secret::try_from_base32(secret).expect("base32 key"))
        .build()
        .expect("TOTP")
        .generate(u64::try_from(time).expect("time"))
        .to_string()
}

/// The text between `start` and the next `end` in `html`.
pub fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in {html}"))
        + start.len();
    let to = html[from..].find(end).expect("end marker") + from;
    &html[from..to]
}

/// The recovery codes listed on a page.
pub fn recovery_codes(html: &str) -> Vec<String> {
    html.split("<li><code>")
        .skip(1)
        .map(|rest| rest[..rest.find("</code>").expect("code end")].to_owned())
        .collect()
}

/// Reads the enrolment page at `url` (the browser is signed in) and
/// returns the page and the key it shows.
pub async fn open_enrolment(browser: &Browser, url: &str) -> (String, String) {
    let html = browser.page(url).await;
    assert!(html.contains("<svg"), "a QR code: {html}");
    let secret = between(&html, "<code class=\"secret\">", "</code>").to_owned();
    (html, secret)
}

/// Confirms the enrolment page `html` with the current code (and the
/// password, if the page asks for it); returns the response (the
/// recovery-code page).
pub async fn confirm(
    server: &TestServer,
    browser: &Browser,
    html: &str,
    secret: &str,
) -> reqwest::Response {
    confirm_with(
        server,
        browser,
        html,
        &totp_code(secret, server.clock.now()),
    )
    .await
}

/// Posts the enrolment form of `html` with `code`.
pub async fn confirm_with(
    server: &TestServer,
    browser: &Browser,
    html: &str,
    code: &str,
) -> reqwest::Response {
    let mut form = vec![
        ("csrf_token", hidden_field(html, "csrf_token")),
        ("request_id", hidden_field(html, "request_id")),
        ("enrolment", hidden_field(html, "enrolment")),
        ("code", code.to_owned()),
    ];
    if html.contains("name=\"current_password\"") {
        form.push(("current_password", super::server::PASSWORD.to_owned()));
    }
    let form: Vec<(&str, &str)> = form
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    browser.post_form(&server.url("/account/totp"), &form).await
}

/// Enrols TOTP for the signed-in user of `browser` from the account page.
pub async fn enrol(server: &TestServer, browser: &Browser) -> Enrolled {
    let (html, secret) = open_enrolment(browser, &server.url("/account/totp")).await;
    let response = confirm(server, browser, &html, &secret).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.expect("page");
    let recovery_codes = recovery_codes(&page);
    assert_eq!(recovery_codes.len(), 10, "{page}");
    Enrolled {
        secret,
        recovery_codes,
    }
}
