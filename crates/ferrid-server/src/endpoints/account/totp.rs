//! TOTP enrolment: `GET /account/totp` shows a new pending secret,
//! `POST /account/totp` confirms it with a code.

use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_store::User;

use ferrid_service::audit::{Event, EventKind, Outcome};

use super::{recovery_codes_page, signed_in};
use crate::audit::RecordForRequest;
use crate::error::{Internal, PageError};
use crate::forms;
use crate::http::Params;
use crate::paths;
use crate::state::AppState;
use crate::{mail, mfa, session};
use ferrid_store::TotpEnrolment;

/// `GET /account/totp[?request_id=…]`: a new secret, pending until
/// confirmed, shown as a QR code and as text.
pub async fn enrol(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = Params::parse(http.query_string().as_bytes()).unwrap_or_default();
    let (_, user) = signed_in(&state, &http).await?;
    if user.has_mfa() {
        return Err(already_enrolled());
    }
    let request_id = params.get("request_id").unwrap_or_default().to_owned();
    let secret = mfa::new_secret();
    let sealed = state.seal_totp_secret(&secret, &user.id)?;
    let user_id = user.id.clone();
    state
        .db(move |store| store.begin_totp_enrolment(&user_id, &sealed))
        .await?;
    render_enrolment(&state, &http, &user, &secret, &request_id, None).await
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

async fn render_enrolment(
    state: &AppState,
    http: &HttpRequest,
    user: &User,
    secret: &[u8],
    request_id: &str,
    error: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let view = mfa::enrolment(secret, &user.username, &state.settings.issuer)?;
    let token = forms::FormToken::for_browser(state, http);
    let page = ferrid_pages::TotpEnrolPage {
        qr_svg: &view.qr_svg,
        secret: &view.secret_base32,
        request_id,
        required: !request_id.is_empty(),
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
    if user.has_mfa() {
        return Err(already_enrolled());
    }
    let request_id = params.get("request_id").unwrap_or_default().to_owned();
    let user_id = user.id.clone();
    let Some(sealed) = state.db(move |store| store.pending_totp(&user_id)).await? else {
        return Err(PageError::bad_request(
            "Nothing to confirm",
            "Start setting up two-step verification first.",
        ));
    };
    let secret = state.open_totp_secret(&sealed, &user.id)?;
    let code = mfa::normalize_code(params.get("code").unwrap_or_default());
    let Some(step) = mfa::check_totp(&secret, &code, state.now())? else {
        let message =
            "That code is not right. Check the time on your device and try the current code.";
        return render_enrolment(&state, &http, &user, &secret, &request_id, Some(message)).await;
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
        return Err(PageError::bad_request(
            "Nothing to confirm",
            "This setup was replaced by a newer one; use the newest page.",
        ));
    }
    announce_enrolment(&state, &http, &user).await;
    // The user just proved the device: the session is two-factor now.
    let cookie = session::elevate(&state, &current, crate::acr::amr_with_otp()).await?;
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
    if let Some(cookie) = cookie {
        response.add_cookie(&cookie).map_err(Internal::log)?;
    }
    Ok(response)
}

/// Audits an enrolment, delivers the logouts of the sessions it ended,
/// and tells the user by e-mail: if it was not them (someone with their
/// password, while a client requires a second factor), they hear of it.
async fn announce_enrolment(state: &AppState, http: &HttpRequest, user: &User) {
    Event::new(EventKind::MfaEnrol, Outcome::Success)
        .actor(&user.id)
        .subject(&user.id)
        .record(state, http)
        .await;
    state.deliver_logouts_soon();
    mail::send_in_background(
        &state.mailer,
        user.email.clone(),
        "Two-step verification was turned on".into(),
        format!(
            "Hello {},\n\nTwo-step verification was just turned on for your account, and your other sessions were signed out.\n\nIf this was not you, change your password at once and ask your administrator to reset your second factor.\n",
            user.username
        ),
    );
}

fn percent_encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}
