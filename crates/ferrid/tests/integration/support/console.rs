//! Admins of the console: made in the database (role and second factor,
//! as `ferrid user grant-admin` and enrolment would), and signed in
//! through the console's own sign-in (the login pages, the second
//! factor, the callback).

use ferrid_server::Clock;
use ferrid_service::users::{self, AdminRole};
use ferrid_store::TotpEnrolment;
use reqwest::StatusCode;

use super::browser::{hidden_field, location, Browser};
use super::mfa::totp_code;
use super::server::{TestServer, PASSWORD};

/// The second factor every test admin enrols (base32).
pub const ADMIN_TOTP: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/// Creates `username` with `role` and the TOTP key [`ADMIN_TOTP`].
pub fn create_admin(server: &TestServer, username: &str, role: AdminRole) -> ferrid_store::User {
    let user = server.create_user(username);
    let now = server.clock.now();
    users::set_admin_role(&server.store, username, Some(role), "cli", now).expect("role");
    enrol_totp(server, &user.id);
    server
        .store
        .find_user(&user.id)
        .expect("read")
        .expect("user")
}

/// Gives `user_id` the TOTP key [`ADMIN_TOTP`].
pub fn enrol_totp(server: &TestServer, user_id: &str) {
    let secret = totp_rs::Secret::try_from_base32(ADMIN_TOTP)
        .expect("base32")
        .as_bytes()
        .to_vec();
    let sealed = server
        .state
        .seal_totp_secret(&secret, user_id)
        .expect("seal");
    assert!(server
        .store
        .confirm_totp(
            TotpEnrolment {
                user_id,
                sealed: &sealed,
                step: 0,
                keep_sid: None,
            },
            &[],
            server.clock.now(),
        )
        .expect("enrol"));
}

/// The current code of [`ADMIN_TOTP`] by the server's clock.
pub fn admin_code(server: &TestServer) -> String {
    totp_code(ADMIN_TOTP, server.clock.now())
}

/// Where a console sign-in ended: the final page's URL and HTML.
pub struct Landed {
    /// Its status.
    pub status: StatusCode,
    /// Its HTML.
    pub html: String,
}

/// Opens `path` of the console in `browser`, signing in as `username`
/// (password, then the code) whenever asked, following redirects until a
/// page other than a sign-in page answers.
pub async fn open(server: &TestServer, browser: &Browser, path: &str, username: &str) -> Landed {
    let mut url = server.url(path);
    let mut response = browser.get(&url).await;
    for _ in 0..12 {
        if response.status().is_redirection() {
            url = location(&response);
            response = browser.get(&url).await;
            continue;
        }
        let status = response.status();
        let html = response.text().await.expect("page");
        response = if html.contains("action=\"/login\"") && !url.contains("/admin/") {
            browser
                .submit_login(&server.issuer, &html, username, PASSWORD)
                .await
        } else if html.contains("action=\"/login/mfa\"") {
            browser
                .submit_code(&server.issuer, &html, &admin_code(server))
                .await
        } else {
            return Landed { status, html };
        };
    }
    panic!("too many hops");
}

/// A browser signed in to the console as a new admin with `role`.
pub async fn signed_in_admin(server: &TestServer, username: &str, role: AdminRole) -> Browser {
    create_admin(server, username, role);
    let browser = Browser::new();
    let landed = open(server, &browser, "/admin", username).await;
    assert_eq!(landed.status, StatusCode::OK, "{}", landed.html);
    assert!(
        landed.html.contains("<h1>Dashboard</h1>"),
        "{}",
        landed.html
    );
    browser
}

/// Posts a console form found in `html` (its CSRF token) with `fields`.
pub async fn post(
    server: &TestServer,
    browser: &Browser,
    html: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let token = hidden_field(html, "csrf_token");
    let mut form: Vec<(&str, &str)> = vec![("csrf_token", &token)];
    form.extend_from_slice(fields);
    browser.post_form(&server.url(action), &form).await
}
