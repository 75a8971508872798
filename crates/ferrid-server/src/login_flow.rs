//! What the login steps share (the password, the second factor, the
//! passkey, and the account pages that step a session up): their pages,
//! who owes a second factor, and finishing a login: the failure counts
//! are cleared, a session starts (or a weaker session is raised), the
//! event is audited and the authorization request moves on at once.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use ferrid_service::audit::{Event, EventKind, Outcome};
use ferrid_store::User;

use crate::audit::RecordForRequest;
use crate::authorize::flow::{self, Pending};
use crate::error::{Internal, PageError};
use crate::forms;
use crate::http::allow_form_redirect_to;
use crate::lockout::{self, Refusal};
use crate::mfa;
use crate::session;
use crate::state::AppState;

/// Finishes a login: clears the account's failures, starts the session,
/// records the event and moves the authorization request on (usually
/// straight back to the client with a code).
pub async fn complete(
    state: &AppState,
    http: &HttpRequest,
    pending: &Pending,
    user: &User,
    amr: String,
    how: &str,
) -> Result<HttpResponse, PageError> {
    let subjects = lockout::subjects_of(user);
    state
        .db(move |store| store.clear_login_failures(&subjects))
        .await?;
    // A step-up (same user, to a higher level: a second factor or a
    // passkey) keeps the browser's session (its relying parties stay
    // signed in); anything else, a re-login for prompt=login included,
    // starts a new one.
    let step_up = |current: &ferrid_store::Session, same: &User| {
        same.id == user.id && crate::acr::assurance(&current.amr) < crate::acr::assurance(&amr)
    };
    let elevated = match session::current(state, http).await? {
        Some((current, same)) if step_up(&current, &same) => {
            session::elevate(state, &current, amr.clone()).await?
        }
        _ => None,
    };
    let (cookie, session) = match elevated {
        Some(elevated) => elevated,
        None => session::start(state, http, user.id.clone(), amr).await?,
    };
    Event::new(EventKind::Login, Outcome::Success)
        .actor(&user.id)
        .subject(&user.id)
        .client(&pending.request.client_id)
        .detail(how)
        .record(state, http)
        .await;
    let mut response =
        flow::proceed_after_login(state, http, pending.clone(), session, user.clone()).await?;
    response.add_cookie(&cookie).map_err(Internal::log)?;
    Ok(response)
}

/// The audit event for a wait or lock that a failure started.
pub fn lock_event(user_id: Option<&str>, refusal: &Refusal) -> Event {
    Event::new(
        if refusal.locked {
            EventKind::AccountLock
        } else {
            EventKind::AccountThrottle
        },
        Outcome::Refused,
    )
    .detail(format!(
        "until {}",
        ferrid_service::clock::timestamp(refusal.until)
    ))
    .maybe_subject(user_id)
}

/// How a code was checked.
pub enum CodeCheck {
    /// A fresh TOTP code.
    Totp,
    /// An unused recovery code, now spent.
    RecoveryCode,
    /// Wrong, replayed or spent; counted.
    Invalid(Option<Refusal>),
    /// Refused unchecked: a wait or lock is in force.
    Refused(Refusal),
}

/// Checks a TOTP or recovery code of `user`, counting it toward the
/// second factor's lock.
pub async fn check_code(
    state: &AppState,
    user: &User,
    code: String,
    now: i64,
) -> Result<CodeCheck, Internal> {
    let subject = lockout::mfa_subject(&user.id);
    let policy = state.settings.security.lockout.clone();
    let secret = match &user.totp_secret_sealed {
        Some(sealed) => state.open_totp_secret(sealed, &user.id)?,
        None => return Ok(CodeCheck::Invalid(None)),
    };
    let step = mfa::check_totp(&secret, &code, now)?;
    let user_id = user.id.clone();
    state
        .db(move |store| {
            let counted = match lockout::count_code_attempt(store, &policy, &subject, now)? {
                lockout::CodeAttempt::Refused(refusal) => return Ok(CodeCheck::Refused(refusal)),
                lockout::CodeAttempt::Counted(counted) => counted,
            };
            let accepted = match step {
                Some(step) => store
                    .accept_totp_step(&user_id, step)?
                    .then_some(CodeCheck::Totp),
                None if !code.is_empty() => store
                    .use_recovery_code(&user_id, &mfa::recovery_digest(&code), now)?
                    .then_some(CodeCheck::RecoveryCode),
                None => None,
            };
            Ok(accepted.unwrap_or(CodeCheck::Invalid(counted)))
        })
        .await
}

/// The login page of `pending`, with `login_hint` filled in and `error`.
pub async fn login_page(
    state: &AppState,
    http: &HttpRequest,
    pending: &Pending,
    login_hint: &str,
    error: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let client = pending.client(state).await?;
    let token = forms::FormToken::for_browser(state, http);
    let page = ferrid_pages::LoginPage {
        client_name: &client.name,
        request_id: &pending.id,
        csrf_token: &token.value,
        login_hint,
        error,
    };
    let mut response = token.respond(StatusCode::OK, &page)?;
    allow_form_redirect_to(&mut response, &pending.request.redirect_uri);
    crate::passkeys::allow_passkey_script(&mut response);
    Ok(response)
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
pub async fn second_factor_page(
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
