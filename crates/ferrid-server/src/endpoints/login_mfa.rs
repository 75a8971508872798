//! `GET|POST /login/mfa`: the second step of a login, after a correct
//! password (or for a step-up when the client requires a second factor).
//! Takes a 6-digit TOTP code (each time step once: a replayed code is
//! refused) or a single-use recovery code. Wrong codes count toward the
//! account's lock like wrong passwords.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_store::User;

use ferrid_service::audit::{Event, EventKind, Outcome};

use crate::audit::RecordForRequest;
use crate::authorize::flow::{self, Pending};
use crate::error::{failed_attempt, Internal, PageError};
use crate::forms;
use crate::http::{allow_form_redirect_to, Params};
use crate::login_flow;
use crate::state::AppState;
use crate::{mfa, session};

/// The message for a wrong code.
pub const INVALID_CODE: &str = "Invalid code.";

/// `GET /login/mfa?request_id=…`
pub async fn show(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = Params::parse(http.query_string().as_bytes()).unwrap_or_default();
    let pending = flow::load(&state, params.get("request_id")).await?;
    let Some(user) = waiting_user(&state, &http, &pending).await? else {
        return Ok(flow::to_login(&pending));
    };
    render(&state, &http, &pending, &user, None).await
}

/// `POST /login/mfa`
pub async fn submit(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let params = forms::posted(&state, &http, &body)?;
    let pending = flow::load(&state, params.get("request_id")).await?;
    let Some(user) = waiting_user(&state, &http, &pending).await? else {
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
            render(&state, &http, &pending, &user, Some(&message))
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
            render(
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

/// The enabled, enrolled user who owes a second factor for this request,
/// if any. A step-up is finished only by that user's live session in this
/// browser: without a password given for this request, the code alone
/// must not make a session.
pub async fn waiting_user(
    state: &AppState,
    http: &HttpRequest,
    pending: &Pending,
) -> Result<Option<User>, Internal> {
    let Some(user_id) = pending.mfa_user_id.clone() else {
        return Ok(None);
    };
    if pending.mfa_step_up {
        let same_session = session::current(state, http)
            .await?
            .is_some_and(|(_, current)| current.id == user_id);
        if !same_session {
            return Ok(None);
        }
    }
    let user = state.db(move |store| store.find_user(&user_id)).await?;
    Ok(user.filter(|user| !user.disabled && user.has_mfa()))
}

/// The second-factor page for `user`, with `error`: a passkey if they
/// have one, a TOTP code unless the request needs a passkey.
pub async fn render(
    state: &AppState,
    http: &HttpRequest,
    pending: &Pending,
    user: &User,
    error: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let client = pending.client(state).await?;
    let token = forms::FormToken::for_browser(state, http);
    let passkey_needed =
        pending.required_assurance(state, &client) >= crate::acr::Assurance::PhishingResistant;
    let page = ferrid_pages::LoginMfaPage {
        client_name: &client.name,
        request_id: &pending.id,
        csrf_token: &token.value,
        error,
        // TOTP is offered where it can help: without a passkey, TOTP still
        // makes the session two-factor, from which one can be added.
        totp: user.has_totp() && !(passkey_needed && user.passkeys > 0),
        passkey: user.passkeys > 0,
    };
    let mut response = token.respond(StatusCode::OK, &page)?;
    allow_form_redirect_to(&mut response, &pending.request.redirect_uri);
    if page.passkey {
        crate::passkeys::allow_passkey_script(&mut response);
    }
    Ok(response)
}
