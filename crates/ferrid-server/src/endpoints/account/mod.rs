//! The signed-in user's account pages, one module per resource. This
//! module holds what they share: the signed-in check, the second-factor
//! rule for changing security settings, and the overview and recovery
//! code pages they answer with.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use ferrid_store::{Session, User};

use crate::error::PageError;
use crate::forms;
use crate::session;
use crate::session::not_signed_in;
use crate::state::AppState;

pub mod password;
pub mod recovery_codes;
pub mod security;
pub mod sessions;
pub mod totp;
pub mod verify_email;

async fn signed_in(state: &AppState, http: &HttpRequest) -> Result<(Session, User), PageError> {
    session::current(state, http)
        .await?
        .ok_or_else(not_signed_in)
}

/// With a second factor on, the factor and the password may be changed
/// only from a session that used it.
fn require_second_factor(session: &Session, user: &User) -> Result<(), PageError> {
    if user.has_mfa() && crate::acr::acr_for(&session.amr) != crate::acr::ACR_MULTI_FACTOR {
        return Err(PageError {
            status: StatusCode::FORBIDDEN,
            title: "Second factor needed".into(),
            message: "This session signed in without your second factor, so it cannot change your security settings.".into(),
            hint: Some("Sign out, then sign in again with your authenticator app.".into()),
        });
    }
    Ok(())
}

async fn overview(
    state: &AppState,
    http: &HttpRequest,
    user: &User,
    notice: Option<&str>,
    error: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let user_id = user.id.clone();
    let recovery_codes_left = state
        .db(move |store| store.unused_recovery_codes(&user_id))
        .await?;
    let token = forms::FormToken::for_browser(state, http);
    let page = ferrid_pages::AccountSecurityPage {
        username: &user.username,
        email: &user.email,
        email_verified: user.email_verified,
        mfa_enrolled: user.has_mfa(),
        recovery_codes_left,
        min_length: state.settings.security.passwords.min_length,
        csrf_token: &token.value,
        notice,
        error,
    };
    token.respond_form(error, &page)
}

fn recovery_codes_page(codes: &[String], continue_to: &str) -> HttpResponse {
    crate::http::html_response(
        StatusCode::OK,
        &ferrid_pages::RecoveryCodesPage { codes, continue_to },
    )
}
