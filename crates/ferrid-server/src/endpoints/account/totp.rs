//! TOTP enrolment: `GET /account/totp` shows a new secret, `POST
//! /account/totp` confirms it with a code. Showing the page stores
//! nothing: the secret travels sealed in the form until it is confirmed,
//! and confirming needs a recent login or the current password.

use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_store::{Session, User};

use ferrid_service::audit::{Event, EventKind, Outcome};

use super::{
    reauthenticate, recently_authenticated, recovery_codes_page, signed_in, Reauthentication,
};
use crate::audit::RecordForRequest;
use crate::error::{Internal, PageError};
use crate::forms;
use crate::http::Params;
use crate::paths;
use crate::state::AppState;
use crate::{mfa, session};
use ferrid_store::TotpEnrolment;

/// `GET /account/totp[?request_id=…]`: a new secret, shown as a QR code
/// and as text.
pub async fn enrol(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = Params::parse(http.query_string().as_bytes()).unwrap_or_default();
    let (current, user) = signed_in(&state, &http).await?;
    if user.has_totp() {
        return Err(already_enrolled());
    }
    let request_id = params.get("request_id").unwrap_or_default().to_owned();
    let secret = mfa::new_secret();
    let enrolment = Enrolment {
        sealed: state.seal_totp_secret(&secret, &user.id)?,
        secret: &secret,
        request_id: &request_id,
    };
    render_enrolment(&state, &http, &current, &user, &enrolment, None)
}

fn already_enrolled() -> PageError {
    PageError::bad_request(
        "Already on",
        "Two-step verification is already on for this account.",
    )
    .with_hint(
        "An administrator can reset it with `ferrid user reset-mfa` if you lost your device.",
    )
}

/// A secret being enrolled: in the clear for the page, and sealed for the
/// form that carries it.
struct Enrolment<'a> {
    secret: &'a [u8],
    sealed: String,
    request_id: &'a str,
}

fn render_enrolment(
    state: &AppState,
    http: &HttpRequest,
    session: &Session,
    user: &User,
    enrolment: &Enrolment<'_>,
    error: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let view = mfa::enrolment(enrolment.secret, &user.username, &state.settings.issuer)?;
    let token = forms::FormToken::for_browser(state, http);
    let page = ferrid_pages::TotpEnrolPage {
        qr_svg: &view.qr_svg,
        secret: &view.secret_base32,
        request_id: enrolment.request_id,
        required: !enrolment.request_id.is_empty(),
        enrolment: &enrolment.sealed,
        password_needed: !recently_authenticated(state, session),
        reauthentication_minutes: state.settings.security.mfa.reauthentication_window / 60,
        csrf_token: &token.value,
        error,
    };
    token.respond_form(error, &page)
}

/// `POST /account/totp`: confirms the pending secret with a code, turns
/// it on, and shows the recovery codes once. Within an authorization
/// request, the session now counts as two-factor and the request resumes.
pub async fn confirm(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let params = forms::posted(&state, &http, &body)?;
    let (current, user) = signed_in(&state, &http).await?;
    if user.has_totp() {
        return Err(already_enrolled());
    }
    let request_id = params.get("request_id").unwrap_or_default().to_owned();
    // The secret the page showed, sealed for this user: one sealed for
    // another user does not open.
    let sealed = params.get("enrolment").unwrap_or_default().to_owned();
    let secret = state
        .open_totp_secret(&sealed, &user.id)
        .map_err(|_| start_again())?;
    let enrolment = Enrolment {
        secret: &secret,
        sealed: sealed.clone(),
        request_id: &request_id,
    };
    let again =
        |message: &str| render_enrolment(&state, &http, &current, &user, &enrolment, Some(message));
    match reauthenticate(&state, &http, &current, &user, &params).await {
        Ok(Reauthentication::Confirmed) => {}
        Ok(Reauthentication::Refused(message)) => return again(&message),
        Err(refused) => return refused.respond(),
    }
    let code = mfa::normalize_code(params.get("code").unwrap_or_default());
    let Some(step) = mfa::check_totp(&secret, &code, state.now())? else {
        return again(
            "That code is not right. Check the time on your device and try the current code.",
        );
    };
    let codes = mfa::new_recovery_codes();
    let digests: Vec<String> = codes
        .iter()
        .map(|code| mfa::recovery_digest(code))
        .collect();
    let (user_id, keep_sid, now) = (user.id.clone(), current.sid.clone(), state.now());
    let confirmed = state
        .db(move |store| {
            let enrolment = TotpEnrolment {
                user_id: &user_id,
                sealed: &sealed,
                step,
                keep_sid: Some(&keep_sid),
            };
            store.confirm_totp(enrolment, &digests, now)
        })
        .await?;
    if !confirmed {
        return Err(already_enrolled());
    }
    Event::new(EventKind::MfaEnrol, Outcome::Success)
        .actor(&user.id)
        .subject(&user.id)
        .record(&state, &http)
        .await;
    super::announce_new_factor(&state, &user, super::NewFactor::Totp).await?;
    // The user just proved the device: the session is two-factor now
    // (one that signed in with a passkey already was, and stays so).
    let raised = if crate::acr::assurance(&current.amr) < crate::acr::Assurance::MultiFactor {
        session::elevate(&state, &current, crate::acr::amr_with_otp()).await?
    } else {
        None
    };
    let continue_to = if request_id.is_empty() {
        paths::ACCOUNT_SECURITY.to_owned()
    } else {
        format!(
            "{}?request_id={}",
            paths::AUTHORIZE_CONTINUE,
            percent_encode(&request_id)
        )
    };
    let mut response = recovery_codes_page(&codes, &continue_to);
    if let Some((cookie, _)) = raised {
        response.add_cookie(&cookie).map_err(Internal::log)?;
    }
    Ok(response)
}

fn start_again() -> PageError {
    PageError::bad_request(
        "Start again",
        "This setup page is no longer valid. Open two-step verification again.",
    )
}

/// Audits an enrolment, delivers the logouts of the sessions it ended,
/// and tells the user by e-mail with a single-use "this was not me" link:
/// if someone else planted the factor, the owner can remove it, end every
/// session and set a new password without an administrator.
fn percent_encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}
