//! E-mailed links (password reset, address verification): checking the
//! single-use token a link carries. Shared by the endpoints the links
//! land on.

use ferrid_store::secret::digest;
use ferrid_store::EmailToken;

use crate::error::PageError;
use crate::state::AppState;

/// The page for a link that is unknown, spent or expired.
pub fn invalid_link() -> PageError {
    PageError::bad_request(
        "Link expired",
        "This link is invalid, was already used, or has expired.",
    )
    .with_hint("Ask for a new one.")
}

/// The stored token of a link for `purpose`, if it is still usable.
pub async fn valid_token(
    state: &AppState,
    token: &str,
    purpose: &'static str,
) -> Result<EmailToken, PageError> {
    let (token_digest, now) = (digest(token), state.now());
    state
        .db(move |store| store.find_email_token(&token_digest, purpose, now))
        .await?
        .ok_or_else(invalid_link)
}

/// The enabled user a link for `purpose` was sent to. The link was for
/// the address the user had then: one sent before the address changed no
/// longer acts on the account.
pub async fn link_user(
    state: &AppState,
    token: &str,
    purpose: &'static str,
) -> Result<ferrid_store::User, PageError> {
    let email_token = valid_token(state, token, purpose).await?;
    let user_id = email_token.user_id.clone();
    state
        .db(move |store| store.find_user(&user_id))
        .await?
        .filter(|user| !user.disabled && user.email == email_token.email)
        .ok_or_else(invalid_link)
}

/// The form that sets a new password with reset token `reset_token`.
pub fn password_reset_form(
    state: &AppState,
    http: &actix_web::HttpRequest,
    reset_token: &str,
    error: Option<&str>,
) -> Result<actix_web::HttpResponse, PageError> {
    let token = crate::forms::FormToken::for_browser(state, http);
    let page = ferrid_pages::PasswordResetPage {
        token: reset_token,
        min_length: state.settings.security.passwords.min_length,
        csrf_token: &token.value,
        error,
    };
    token.respond_form(error, &page)
}
