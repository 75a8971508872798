//! E-mailed links (password reset, address verification): checking the
//! single-use token a link carries. Shared by the endpoints the links
//! land on.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_store::secret::digest;
use ferrid_store::EmailToken;

use ferrid_service::audit::{Event, EventKind, Outcome};

use crate::audit::RecordForRequest;
use crate::error::PageError;
use crate::forms;
use crate::http::{html_response, Params};
use crate::lockout;
use crate::mail;
use crate::paths;
use crate::state::AppState;

pub fn invalid_link() -> PageError {
    PageError::bad_request(
        "Link expired",
        "This link is invalid, was already used, or has expired.",
    )
    .with_hint("Ask for a new one.")
}

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
