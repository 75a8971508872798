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
