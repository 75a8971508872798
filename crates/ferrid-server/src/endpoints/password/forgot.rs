//! `GET|POST /password/forgot`: asks for a reset link by e-mail.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use ferrid_service::audit::{Event, EventKind, Outcome};

use crate::audit::RecordForRequest;
use crate::error::PageError;
use crate::state::AppState;
use crate::{email_link, forms};

/// The answer to every reset request.
pub const RESET_SENT: &str =
    "If an account uses this address, we sent it a link to choose a new password. The link works once and expires soon.";

/// `GET /password/forgot`
pub async fn forgot_form(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, PageError> {
    render_forgot(&state, &http, None)
}

fn render_forgot(
    state: &AppState,
    http: &HttpRequest,
    notice: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let token = forms::FormToken::for_browser(state, http);
    let page = ferrid_pages::PasswordForgotPage {
        csrf_token: &token.value,
        notice,
    };
    token.respond(StatusCode::OK, &page)
}

/// `POST /password/forgot`
pub async fn forgot(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let params = forms::posted(&state, &http, &body)?;
    let email = params
        .get("email")
        .unwrap_or_default()
        .trim()
        .to_lowercase();
    if email.is_empty() || email.len() > 254 {
        return Err(PageError::bad_request(
            "Invalid form",
            "Enter the e-mail address of your account.",
        ));
    }
    let lookup = email.clone();
    let user = state
        .db(move |store| {
            // Only an exact address match, never a username.
            Ok(store
                .find_user_by_login(&lookup)?
                .filter(|user| user.email == lookup && !user.disabled))
        })
        .await?;
    if let Some(user) = user {
        // Everything that differs for a real address (the token, the
        // message) happens after the answer, so the answer takes the
        // same time either way.
        email_link::send_password_link(&state, user.clone(), email_link::PasswordLink::Reset);
        Event::new(EventKind::PasswordResetRequested, Outcome::Success)
            .subject(&user.id)
            .record(&state, &http)
            .await;
    } else {
        Event::new(EventKind::PasswordResetRequested, Outcome::Refused)
            .detail("no enabled account has this address")
            .record(&state, &http)
            .await;
    }
    render_forgot(&state, &http, Some(RESET_SENT))
}
