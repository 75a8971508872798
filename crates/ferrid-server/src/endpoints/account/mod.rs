//! The signed-in user's account pages, one module per resource. This
//! module holds what they share: the signed-in check, the rules for
//! changing security settings (the second factor, a recent
//! authentication, the current password), and the overview and recovery
//! code pages they answer with.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use ferrid_service::audit::{Event, EventKind, Outcome};
use ferrid_store::{Session, User};

use crate::audit::RecordForRequest;
use crate::error::PageError;
use crate::forms;
use crate::http::Params;
use crate::lockout::{self, Refusal};
use crate::login_flow;
use crate::password_pool::PoolError;
use crate::session;
use crate::session::not_signed_in;
use crate::state::AppState;

pub mod not_me;
pub mod passkey_invitation;
pub mod passkeys;
pub mod password;
pub mod recovery_codes;
pub mod security;
pub mod sessions;
pub mod totp;
pub mod verify_email;

async fn signed_in(state: &AppState, http: &HttpRequest) -> Result<(Session, User), PageError> {
    session::current(state, http)
        .await?
        .ok_or_else(not_signed_in)
}

/// With a second factor on, the factor and the password may be changed
/// only from a session that used it.
fn require_second_factor(session: &Session, user: &User) -> Result<(), PageError> {
    if user.has_mfa() && crate::acr::assurance(&session.amr) < crate::acr::Assurance::MultiFactor {
        return Err(PageError {
            status: StatusCode::FORBIDDEN,
            title: "Second factor needed".into(),
            message: "This session signed in without your second factor, so it cannot change your security settings.".into(),
            hint: Some("Sign out, then sign in again with your authenticator app.".into()),
        });
    }
    Ok(())
}

/// Whether `session` signed in recently enough to change authentication
/// factors without the password (`mfa.reauthentication_window`).
fn recently_authenticated(state: &AppState, session: &Session) -> bool {
    state.now() - session.auth_time <= state.settings.security.mfa.reauthentication_window
}

/// What re-authentication came to.
enum Reauthentication {
    /// The user signed in recently or gave their password.
    Confirmed,
    /// Not confirmed; the message says why.
    Refused(String),
}

/// Changing an authentication factor needs a recent authentication (ASVS
/// V3.7.1): a login within `mfa.reauthentication_window`, or the current
/// password (`current_password`) given with the request. A session cookie
/// alone is not enough, so a stolen one cannot plant a second factor.
async fn reauthenticate(
    state: &AppState,
    http: &HttpRequest,
    session: &Session,
    user: &User,
    params: &Params,
) -> Result<Reauthentication, PoolError> {
    if recently_authenticated(state, session) {
        return Ok(Reauthentication::Confirmed);
    }
    let Some(password) = params.get("current_password").map(str::to_owned) else {
        return Ok(Reauthentication::Refused(
            "Enter your current password to confirm it is you.".into(),
        ));
    };
    let (store, passwords) = (state.store.clone(), state.passwords.clone());
    let policy = state.settings.security.lockout.clone();
    let (checked_user, now) = (user.clone(), state.now());
    let check = state
        .password_pool
        .run_store(move || {
            lockout::check_current_password(
                &store,
                &passwords,
                &policy,
                &checked_user,
                &password,
                now,
            )
        })
        .await?;
    let audit = |outcome| {
        Event::new(EventKind::Reauthenticate, outcome)
            .actor(&user.id)
            .subject(&user.id)
    };
    Ok(match check {
        lockout::PasswordCheck::Correct => {
            audit(Outcome::Success).record(state, http).await;
            Reauthentication::Confirmed
        }
        lockout::PasswordCheck::Wrong(refusal) => {
            audit(Outcome::Failure)
                .detail("wrong current password")
                .record(state, http)
                .await;
            Reauthentication::Refused(wrong_password_message(state, http, user, refusal).await)
        }
        lockout::PasswordCheck::Refused(refusal) => {
            audit(Outcome::Refused)
                .detail(refusal.describe())
                .record(state, http)
                .await;
            Reauthentication::Refused(
                refusal.message(state.now(), &state.settings.security.lockout),
            )
        }
    })
}

/// What to tell a user who gave a wrong current password, recording the
/// wait or lock it may have started.
async fn wrong_password_message(
    state: &AppState,
    http: &HttpRequest,
    user: &User,
    refusal: Option<Refusal>,
) -> String {
    let message = "The current password is wrong.";
    match refusal {
        Some(refusal) => {
            login_flow::lock_event(Some(&user.id), &refusal)
                .actor(&user.id)
                .record(state, http)
                .await;
            format!(
                "{message} {}",
                refusal.message(state.now(), &state.settings.security.lockout)
            )
        }
        None => message.to_owned(),
    }
}

async fn overview(
    state: &AppState,
    http: &HttpRequest,
    session: &Session,
    user: &User,
    notice: Option<&str>,
    error: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let user_id = user.id.clone();
    let (recovery_codes_left, passkeys) = state
        .db(move |store| {
            Ok((
                store.unused_recovery_codes(&user_id)?,
                store.user_passkeys(&user_id)?,
            ))
        })
        .await?;
    let passkeys: Vec<_> = passkeys.iter().map(crate::passkeys::view).collect();
    let token = forms::FormToken::for_browser(state, http);
    let page = ferrid_pages::AccountSecurityPage {
        username: &user.username,
        email: &user.email,
        email_verified: user.email_verified,
        mfa_enrolled: user.has_totp(),
        passkeys: &passkeys,
        passwordless: user.passwordless,
        recovery_codes_left,
        password_needed: !recently_authenticated(state, session),
        min_length: state.settings.security.passwords.min_length,
        csrf_token: &token.value,
        notice,
        error,
    };
    let mut response = token.respond_form(error, &page)?;
    crate::passkeys::allow_passkey_script(&mut response);
    Ok(response)
}

/// How long the "this was not me" link of a new factor's e-mail works.
const NOT_ME_TTL: i64 = 7 * 24 * 3600;

/// A factor just added to an account.
#[derive(Debug, Clone, Copy)]
enum NewFactor {
    /// A TOTP authenticator.
    Totp,
    /// A passkey.
    Passkey,
}

/// Tells the user by e-mail that a factor was added, with a single-use
/// "this was not me" link: whoever held a stolen session (and perhaps the
/// password) could have added their own, and the owner, proving their
/// mailbox, removes every factor and ends every session with it.
async fn announce_new_factor(
    state: &AppState,
    user: &User,
    factor: NewFactor,
) -> Result<(), PageError> {
    state.deliver_logouts_soon();
    let (store_user, now) = (user.clone(), state.now());
    let token = state
        .db(move |store| {
            crate::mail::issue_token(store, &store_user, crate::mail::MFA_REVERT, now, NOT_ME_TTL)
        })
        .await?;
    let link = format!(
        "{}?token={token}",
        state.settings.endpoint(crate::paths::ACCOUNT_NOT_ME)
    );
    let (subject, what) = match factor {
        NewFactor::Totp => (
            "Two-step verification was turned on",
            "Two-step verification was just turned on for your account",
        ),
        NewFactor::Passkey => (
            "A passkey was added to your account",
            "A passkey was just added to your account",
        ),
    };
    let undo = if user.passwordless {
        "It removes every second factor and passkey, signs out every session, and lets you create a new passkey"
    } else {
        "It removes every second factor and passkey, signs out every session, and lets you set a new password"
    };
    crate::mail::send_in_background(
        &state.mailer,
        user.email.clone(),
        subject.into(),
        format!(
            "Hello {},\n\n{what}.\n\nIf this was not you, open this link within {} days. {undo}:\n\n{link}\n",
            user.username,
            NOT_ME_TTL / 86_400
        ),
    );
    Ok(())
}

/// The page where a passwordless account's user creates a passkey from
/// an e-mailed link (`token`), with `error`.
fn passkey_setup_page(
    state: &AppState,
    http: &HttpRequest,
    user: &User,
    token: &str,
    error: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let form_token = forms::FormToken::for_browser(state, http);
    let page = ferrid_pages::PasskeyInvitationPage {
        username: &user.username,
        token,
        csrf_token: &form_token.value,
        error,
    };
    let mut response = form_token.respond_form(error, &page)?;
    crate::passkeys::allow_passkey_script(&mut response);
    Ok(response)
}

fn recovery_codes_page(codes: &[String], continue_to: &str) -> HttpResponse {
    crate::http::html_response(
        StatusCode::OK,
        &ferrid_pages::RecoveryCodesPage { codes, continue_to },
    )
}
