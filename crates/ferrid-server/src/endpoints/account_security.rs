//! The signed-in user's security settings: `GET /account/security`,
//! TOTP enrolment (`GET|POST /account/totp`), new recovery codes
//! (`POST /account/recovery-codes`), password change
//! (`POST /account/password`) and address verification
//! (`POST /account/verify-email`).

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

/// `GET /account/security`
pub async fn show(state: web::Data<AppState>, http: HttpRequest) -> HttpResponse {
    let result = async {
        let (_, user) = signed_in(&state, &http).await?;
        overview(&state, &http, &user, None, None).await
    };
    result.await.unwrap_or_else(|page| page.response())
}

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

/// `GET /account/totp[?request_id=…]`: a new secret, pending until
/// confirmed, shown as a QR code and as text.
pub async fn enrol(state: web::Data<AppState>, http: HttpRequest) -> HttpResponse {
    let params = Params::parse(http.query_string().as_bytes()).unwrap_or_default();
    let result = async {
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
    };
    result.await.unwrap_or_else(|page| page.response())
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
) -> HttpResponse {
    let result = async {
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
            return render_enrolment(&state, &http, &user, &secret, &request_id, Some(message))
                .await;
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
        Event::new(EventKind::MfaEnrol, Outcome::Success)
            .actor(&user.id)
            .subject(&user.id)
            .record(&state, &http)
            .await;
        state.deliver_logouts_soon();
        // If it was not the user (someone with their password, while a
        // client requires a second factor), the user hears of it.
        mail::send_in_background(
            &state.mailer,
            user.email.clone(),
            "Two-step verification was turned on".into(),
            format!(
                "Hello {},\n\nTwo-step verification was just turned on for your account, and your other sessions were signed out.\n\nIf this was not you, change your password at once and ask your administrator to reset your second factor.\n",
                user.username
            ),
        );
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
    };
    result.await.unwrap_or_else(|page| page.response())
}

fn percent_encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn recovery_codes_page(codes: &[String], continue_to: &str) -> HttpResponse {
    crate::http::html_response(
        StatusCode::OK,
        &ferrid_pages::RecoveryCodesPage { codes, continue_to },
    )
}

/// `POST /account/recovery-codes`: a new set; the old one stops working.
pub async fn regenerate_recovery_codes(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let result = async {
        forms::posted(&state, &http, &body)?;
        let (current, user) = signed_in(&state, &http).await?;
        require_second_factor(&current, &user)?;
        if !user.has_mfa() {
            return Err(PageError::bad_request(
                "Two-step verification is off",
                "Recovery codes come with two-step verification; set it up first.",
            ));
        }
        let codes = mfa::new_recovery_codes();
        let digests: Vec<String> = codes
            .iter()
            .map(|code| mfa::recovery_digest(code))
            .collect();
        let (user_id, now) = (user.id.clone(), state.now());
        state
            .db(move |store| store.replace_recovery_codes(&user_id, &digests, now))
            .await?;
        Event::new(EventKind::MfaRecoveryCodesRegenerate, Outcome::Success)
            .actor(&user.id)
            .subject(&user.id)
            .record(&state, &http)
            .await;
        Ok(recovery_codes_page(&codes, paths::ACCOUNT_SECURITY))
    };
    result.await.unwrap_or_else(|page| page.response())
}

/// `POST /account/password`: needs the current password (a wrong one
/// counts toward the lock); the new one must meet the policy. Every other
/// session of the user ends and every refresh token is revoked.
pub async fn change_password(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let result = async {
        let params = forms::posted(&state, &http, &body)?;
        let (current, user) = signed_in(&state, &http).await?;
        require_second_factor(&current, &user)?;
        let current_password = params
            .get("current_password")
            .unwrap_or_default()
            .to_owned();
        let new_password =
            match forms::new_password(&params, state.settings.security.passwords.min_length, &user)
            {
                Ok(password) => password,
                Err(message) => return overview(&state, &http, &user, None, Some(&message)).await,
            };
        let outcome = {
            let (store, passwords) = (state.store.clone(), state.passwords.clone());
            let policy = state.settings.security.lockout.clone();
            let (user, now) = (user.clone(), state.now());
            let keep_sid = current.sid.clone();
            state
                .password_pool
                .run_store(move || -> ferrid_store::StoreResult<PasswordChange> {
                    let subject = lockout::login_subject(&user.username);
                    if let Some(refusal) = lockout::refusal(&store, &policy, &subject, now)? {
                        return Ok(PasswordChange::Refused(refusal));
                    }
                    if !passwords.verify(&current_password, &user.password_hash) {
                        let refusal = lockout::record_failure(&store, &policy, &subject, now)?;
                        return Ok(PasswordChange::WrongPassword(refusal));
                    }
                    let hash = passwords.hash(&new_password)?;
                    Ok(PasswordChange::Changed(store.change_password(
                        &user.id,
                        &hash,
                        Some(&keep_sid),
                        now,
                    )?))
                })
                .await
        };
        let (now, policy) = (state.now(), &state.settings.security.lockout);
        match outcome {
            Ok(PasswordChange::Changed(ended)) => {
                Event::new(EventKind::PasswordChange, Outcome::Success)
                    .actor(&user.id)
                    .subject(&user.id)
                    .detail(format!("{ended} other sessions ended"))
                    .record(&state, &http)
                    .await;
                state.deliver_logouts_soon();
                overview(
                    &state,
                    &http,
                    &user,
                    Some("Password changed. You were signed out everywhere else."),
                    None,
                )
                .await
            }
            Ok(PasswordChange::WrongPassword(refusal)) => {
                Event::new(EventKind::PasswordChange, Outcome::Failure)
                    .actor(&user.id)
                    .subject(&user.id)
                    .detail("wrong current password")
                    .record(&state, &http)
                    .await;
                let mut message = "The current password is wrong.".to_owned();
                if let Some(refusal) = refusal {
                    login_flow::lock_event(Some(&user.id), &refusal)
                        .actor(&user.id)
                        .record(&state, &http)
                        .await;
                    message = format!("{message} {}", refusal.message(now, policy));
                }
                overview(&state, &http, &user, None, Some(&message)).await
            }
            Ok(PasswordChange::Refused(refusal)) => {
                Event::new(EventKind::PasswordChange, Outcome::Refused)
                    .actor(&user.id)
                    .subject(&user.id)
                    .detail(refusal.describe())
                    .record(&state, &http)
                    .await;
                let message = refusal.message(now, policy);
                overview(&state, &http, &user, None, Some(&message)).await
            }
            Err(refused) => refused.respond(),
        }
    };
    result.await.unwrap_or_else(|page| page.response())
}

/// What a password change came to.
enum PasswordChange {
    /// Changed; this many other sessions ended.
    Changed(usize),
    /// The current password was wrong (counted; maybe a wait started).
    WrongPassword(Option<Refusal>),
    /// Refused unchecked: a wait or lock is in force.
    Refused(Refusal),
}

/// `POST /account/verify-email`: e-mails a verification link.
pub async fn send_verification(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let result = async {
        forms::posted(&state, &http, &body)?;
        let (_, user) = signed_in(&state, &http).await?;
        if user.email_verified {
            return overview(
                &state,
                &http,
                &user,
                Some("Your address is already verified."),
                None,
            )
            .await;
        }
        let (store_user, now, ttl) = (
            user.clone(),
            state.now(),
            state.settings.security.email.verify_ttl,
        );
        let token = state
            .db(move |store| mail::issue_token(store, &store_user, mail::VERIFY_EMAIL, now, ttl))
            .await?;
        let link = format!(
            "{}?token={token}",
            state.settings.endpoint(paths::VERIFY_EMAIL)
        );
        mail::send_in_background(
            &state.mailer,
            user.email.clone(),
            "Verify your e-mail address".into(),
            format!(
                "Hello {},\n\nTo confirm that this is your address, open this link within {} hours:\n\n{link}\n\nIf you did not ask for this, ignore this message.\n",
                user.username,
                ttl / 3600
            ),
        );
        Event::new(EventKind::EmailVerificationSent, Outcome::Success)
            .actor(&user.id)
            .subject(&user.id)
            .record(&state, &http)
            .await;
        overview(
            &state,
            &http,
            &user,
            Some("We sent you a verification link."),
            None,
        )
        .await
    };
    result.await.unwrap_or_else(|page| page.response())
}
