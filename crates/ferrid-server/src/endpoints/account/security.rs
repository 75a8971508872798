//! `GET /account/security`: the overview of the second factor, recovery
//! codes, password and e-mail address.

use actix_web::{web, HttpRequest, HttpResponse};

use super::{overview, signed_in};
use crate::error::PageError;
use crate::state::AppState;

/// `GET /account/security`
pub async fn show(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (session, user) = signed_in(&state, &http).await?;
    overview(&state, &http, &session, &user, None, None).await
}
