//! Finishing a login, shared by the password and second-factor steps (and
//! the account pages that step a session up): the failure counts are
//! cleared, a session starts (or a one-factor session is elevated), the
//! event is audited and the authorization request moves on at once.

use actix_web::{HttpRequest, HttpResponse};
use ferrid_service::audit::{Event, EventKind, Outcome};
use ferrid_store::User;

use crate::audit::RecordForRequest;
use crate::authorize::flow::{self, Pending};
use crate::error::{Internal, PageError};
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
