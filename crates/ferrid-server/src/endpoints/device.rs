//! `GET|POST /device`: the verification page of the device grant (RFC
//! 8628 §3.3). The user types the code their device shows (or arrives
//! with it filled in from `verification_uri_complete`, and confirms), and
//! the device's request then goes through login and consent like any
//! authorization request. Wrong codes count against the address, in the
//! database, and lock it out as wrong passwords do, so codes cannot be
//! guessed across nodes.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::authorize::{device, flow};
use crate::error::{failed_attempt, PageError};
use crate::forms;
use crate::http::Params;
use crate::lockout::{self, CodeAttempt};
use crate::state::AppState;

/// The message for a code that names no pending request.
const UNKNOWN_CODE: &str = "That code is wrong or has expired. Check the code your device shows.";

/// `GET /device[?user_code=…]`: the form, pre-filled from the link.
pub async fn show(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = Params::parse(http.query_string().as_bytes()).unwrap_or_default();
    // Only a well-formed code is echoed into the page.
    let user_code = params
        .get("user_code")
        .and_then(device::normalize_user_code)
        .map(|letters| format!("{}-{}", &letters[..4], &letters[4..]))
        .unwrap_or_default();
    render(&state, &http, &user_code, None)
}

/// `POST /device`: checks the code, then starts the device's request.
pub async fn submit(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let params = forms::posted(&state, &http, &body)?;
    let typed = params.get("user_code").unwrap_or_default();
    let Some(user_code) = device::normalize_user_code(typed) else {
        return render(
            &state,
            &http,
            "",
            Some("A code has eight letters, like BCDF-GHJK."),
        );
    };
    let policy = state.settings.security.lockout.clone();
    // An IPv6 user holds a whole /64: counted as one, or rotating
    // addresses within it would escape the lock.
    let subject = ferrid_service::throttles::device_code_subject(
        state
            .rate_limiter
            .addresses
            .resolve(&http)
            .map(|address| match address {
                std::net::IpAddr::V6(v6) => {
                    let mut segments = v6.segments();
                    segments[4..].fill(0);
                    format!("{}/64", std::net::Ipv6Addr::from(segments))
                }
                v4 => v4.to_string(),
            })
            .as_deref(),
    );
    let now = state.now();
    let attempt = state
        .db(move |store| lockout::count_code_attempt(store, &policy, &subject, now))
        .await?;
    if let CodeAttempt::Refused(refusal) = attempt {
        let message = wait_message(refusal.until - now);
        return render(&state, &http, "", Some(&message)).map(failed_attempt);
    }
    let Some(request) = device::request_for_user_code(&state, &user_code).await? else {
        let message = match attempt {
            CodeAttempt::Counted(Some(refusal)) => {
                format!("{UNKNOWN_CODE} {}", wait_message(refusal.until - now))
            }
            _ => UNKNOWN_CODE.to_owned(),
        };
        return render(&state, &http, "", Some(&message)).map(failed_attempt);
    };
    let browser = forms::FormToken::for_browser(&state, &http);
    let pending = flow::store(&state, request, &browser.value).await?;
    let mut response = flow::proceed(&state, &http, pending).await?;
    browser.set_cookie(&mut response)?;
    Ok(response)
}

/// What a user is told while wrong codes from their address must wait.
fn wait_message(seconds: i64) -> String {
    let seconds = seconds.max(1);
    if seconds > 60 {
        format!(
            "Too many wrong codes were typed from your network. Try again in {} minutes.",
            (seconds + 59) / 60
        )
    } else {
        format!("Too many wrong codes were typed from your network. Wait {seconds} seconds before trying again.")
    }
}

fn render(
    state: &AppState,
    http: &HttpRequest,
    user_code: &str,
    error: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let token = forms::FormToken::for_browser(state, http);
    let page = ferrid_pages::DevicePage {
        csrf_token: &token.value,
        user_code,
        error,
    };
    token.respond_form(error, &page)
}
