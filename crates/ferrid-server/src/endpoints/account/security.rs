//! `GET /account/security`: the overview of the second factor, recovery
//! codes, password and e-mail address.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_store::{Session, User};

use ferrid_service::audit::{Event, EventKind, Outcome};

use crate::audit::RecordForRequest;
use crate::error::{Internal, PageError};
use crate::forms;
use crate::http::Params;
use crate::lockout::{self, Refusal};
use crate::login_flow;
use crate::paths;
use crate::session::not_signed_in;
use crate::state::AppState;
use crate::{mail, mfa, session};
use ferrid_store::TotpEnrolment;
use super::{overview, signed_in};

/// `GET /account/security`
pub async fn show(state: web::Data<AppState>, http: HttpRequest) -> Result<HttpResponse, PageError> {
    let (_, user) = signed_in(&state, &http).await?;
    overview(&state, &http, &user, None, None).await
}
