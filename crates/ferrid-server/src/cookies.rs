//! The two cookies ferrid sets: the browser session and the anti-CSRF
//! token. Both are `HttpOnly` and `SameSite=Lax`; over TLS they are
//! `Secure` and carry the `__Host-` prefix, which pins them to this host
//! (`__Secure-` and the issuer's path under a path prefix).

use actix_web::cookie::{time::Duration, Cookie, SameSite};
use actix_web::HttpRequest;
use subtle::ConstantTimeEq;

use crate::settings::Settings;

const SESSION: &str = "ferrid_session";
const CSRF: &str = "ferrid_csrf";

fn cookie_name(settings: &Settings, base: &str) -> String {
    match (settings.is_https(), settings.base_path.is_empty()) {
        (true, true) => format!("__Host-{base}"),
        // `__Host-` requires `Path=/`; under a prefix the cookie is
        // scoped to it, so other applications on the host never get it.
        (true, false) => format!("__Secure-{base}"),
        (false, _) => base.to_owned(),
    }
}

fn cookie_path(settings: &Settings) -> String {
    if settings.base_path.is_empty() {
        "/".to_owned()
    } else {
        settings.base_path.clone()
    }
}

fn build(settings: &Settings, base: &str, value: String, max_age: Option<i64>) -> Cookie<'static> {
    let mut cookie = Cookie::build(cookie_name(settings, base), value)
        .path(cookie_path(settings))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(settings.is_https())
        .finish();
    if let Some(seconds) = max_age {
        cookie.set_max_age(Duration::seconds(seconds));
    }
    cookie
}

fn read(request: &HttpRequest, settings: &Settings, base: &str) -> Option<String> {
    request
        .cookie(&cookie_name(settings, base))
        .map(|cookie| cookie.value().to_owned())
        .filter(|value| !value.is_empty() && value.len() <= 256)
}

/// The session cookie value the browser sent, if any.
pub fn session_id(request: &HttpRequest, settings: &Settings) -> Option<String> {
    read(request, settings, SESSION)
}

/// A cookie carrying a new session id.
pub fn session_cookie(settings: &Settings, session_id: String) -> Cookie<'static> {
    build(settings, SESSION, session_id, Some(settings.session_ttl))
}

/// A cookie that removes the session cookie from the browser.
pub fn session_removal(settings: &Settings) -> Cookie<'static> {
    build(settings, SESSION, String::new(), Some(0))
}

/// The CSRF token the browser holds, if any.
pub fn csrf_token(request: &HttpRequest, settings: &Settings) -> Option<String> {
    read(request, settings, CSRF)
}

/// A cookie carrying a CSRF token; it lives as long as the browser session.
pub fn csrf_cookie(settings: &Settings, token: String) -> Cookie<'static> {
    build(settings, CSRF, token, None)
}

/// Double-submit check: the token posted in the form must equal the one in
/// the cookie, which another site can neither read nor set.
pub fn csrf_matches(request: &HttpRequest, settings: &Settings, posted: Option<&str>) -> bool {
    match (csrf_token(request, settings), posted) {
        (Some(cookie), Some(posted)) => cookie.as_bytes().ct_eq(posted.as_bytes()).into(),
        _ => false,
    }
}
