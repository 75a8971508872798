//! `GET|POST /login/mfa`: the second step of a login, after a correct
//! password (or for a step-up when the client requires a second factor).
//! Takes a 6-digit TOTP code (each time step once: a replayed code is
//! refused) or a single-use recovery code. Wrong codes count toward the
//! account's lock like wrong passwords.

use actix_web::{web, HttpRequest, HttpResponse};

use ferrid_service::audit::{Event, EventKind, Outcome};

use crate::audit::RecordForRequest;
use crate::authorize::flow;
use crate::error::{failed_attempt, PageError};
use crate::forms;
use crate::http::Params;
use crate::login_flow;
use crate::mfa;
use crate::state::AppState;

/// The message for a wrong code.
pub const INVALID_CODE: &str = "Invalid code.";

/// `GET /login/mfa?request_id=…`
pub async fn show(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = Params::parse(http.query_string().as_bytes()).unwrap_or_default();
    let pending = flow::load(&state, params.get("request_id")).await?;
    let Some(user) = login_flow::waiting_user(&state, &http, &pending).await? else {
        return Ok(flow::to_login(&pending));
    };
    login_flow::second_factor_page(&state, &http, &pending, &user, None).await
}

/// `POST /login/mfa`
pub async fn submit(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let params = forms::posted(&state, &http, &body)?;
    let pending = flow::load(&state, params.get("request_id")).await?;
    let Some(user) = login_flow::waiting_user(&state, &http, &pending).await? else {
        return Ok(flow::to_login(&pending));
    };
    let code = mfa::normalize_code(params.get("code").unwrap_or_default());
    let now = state.now();
    let policy = &state.settings.security.lockout;
    let client_id = pending.request.client_id.clone();
    match login_flow::check_code(&state, &user, code, now).await? {
        login_flow::CodeCheck::Totp => {
            login_flow::complete(
                &state,
                &http,
                &pending,
                &user,
                crate::acr::amr_with_otp(),
                "password and TOTP",
            )
            .await
        }
        login_flow::CodeCheck::RecoveryCode => {
            Event::new(EventKind::MfaRecoveryCode, Outcome::Success)
                .actor(&user.id)
                .subject(&user.id)
                .client(&client_id)
                .record(&state, &http)
                .await;
            login_flow::complete(
                &state,
                &http,
                &pending,
                &user,
                crate::acr::amr_with_otp(),
                "password and recovery code",
            )
            .await
        }
        login_flow::CodeCheck::Invalid(refusal) => {
            Event::new(EventKind::Mfa, Outcome::Failure)
                .subject(&user.id)
                .client(&client_id)
                .detail("invalid, reused or spent code")
                .record(&state, &http)
                .await;
            let message = match refusal {
                Some(refusal) => {
                    login_flow::lock_event(Some(&user.id), &refusal)
                        .client(&client_id)
                        .record(&state, &http)
                        .await;
                    format!("{INVALID_CODE} {}", refusal.message(now, policy))
                }
                None => INVALID_CODE.to_owned(),
            };
            login_flow::second_factor_page(&state, &http, &pending, &user, Some(&message))
                .await
                .map(failed_attempt)
        }
        login_flow::CodeCheck::Refused(refusal) => {
            Event::new(EventKind::Mfa, Outcome::Refused)
                .subject(&user.id)
                .client(&client_id)
                .detail(refusal.describe())
                .record(&state, &http)
                .await;
            login_flow::second_factor_page(
                &state,
                &http,
                &pending,
                &user,
                Some(&refusal.message(now, policy)),
            )
            .await
        }
    }
}
