//! `POST /account/password`: the signed-in user changes their password.

use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_store::User;

use ferrid_service::audit::{Event, EventKind, Outcome};

use super::{overview, require_second_factor, signed_in, wrong_password_message};
use crate::audit::RecordForRequest;
use crate::error::PageError;
use crate::forms;
use crate::lockout::{check_current_password, PasswordCheck};
use crate::password_pool::PoolError;
use crate::state::AppState;
use ferrid_store::Session;

/// `POST /account/password`: needs the current password (a wrong one
/// counts toward the lock); the new one must meet the policy. Every other
/// session of the user ends and every refresh token is revoked.
pub async fn change_password(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let params = forms::posted(&state, &http, &body)?;
    let (current, user) = signed_in(&state, &http).await?;
    require_second_factor(&current, &user)?;
    let current_password = params
        .get("current_password")
        .unwrap_or_default()
        .to_owned();
    let new_password =
        match forms::new_password(&params, state.settings.security.passwords.min_length, &user) {
            Ok(password) => password,
            Err(message) => {
                return overview(&state, &http, &current, &user, None, Some(&message)).await
            }
        };
    let outcome = change(
        &state,
        &user,
        current_password,
        new_password,
        current.sid.clone(),
    )
    .await;
    match outcome {
        Ok(change) => answer(&state, &http, &current, &user, change).await,
        Err(refused) => refused.respond(),
    }
}

/// Checks the current password and sets the new one, on the password
/// pool: the lock is consulted first, a wrong password counts toward it,
/// and the other sessions of the user end (`keep_sid` is this one).
async fn change(
    state: &AppState,
    user: &User,
    current_password: String,
    new_password: String,
    keep_sid: String,
) -> Result<PasswordChange, PoolError> {
    let (store, passwords) = (state.store.clone(), state.passwords.clone());
    let policy = state.settings.security.lockout.clone();
    let (user, now) = (user.clone(), state.now());
    state
        .password_pool
        .run_store(move || -> ferrid_store::StoreResult<PasswordChange> {
            match check_current_password(
                &store,
                &passwords,
                &policy,
                &user,
                &current_password,
                now,
            )? {
                PasswordCheck::Correct => {}
                PasswordCheck::Wrong(refusal) => return Ok(PasswordChange::WrongPassword(refusal)),
                PasswordCheck::Refused(refusal) => return Ok(PasswordChange::Refused(refusal)),
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
}

/// The account page after a change, with what happened audited.
async fn answer(
    state: &AppState,
    http: &HttpRequest,
    session: &Session,
    user: &User,
    change: PasswordChange,
) -> Result<HttpResponse, PageError> {
    let (now, policy) = (state.now(), &state.settings.security.lockout);
    let audit = |outcome| {
        Event::new(EventKind::PasswordChange, outcome)
            .actor(&user.id)
            .subject(&user.id)
    };
    match change {
        PasswordChange::Changed(ended) => {
            audit(Outcome::Success)
                .detail(format!("{ended} other sessions ended"))
                .record(state, http)
                .await;
            state.deliver_logouts_soon();
            overview(
                state,
                http,
                session,
                user,
                Some("Password changed. You were signed out everywhere else."),
                None,
            )
            .await
        }
        PasswordChange::WrongPassword(refusal) => {
            audit(Outcome::Failure)
                .detail("wrong current password")
                .record(state, http)
                .await;
            let message = wrong_password_message(state, http, user, refusal).await;
            overview(state, http, session, user, None, Some(&message)).await
        }
        PasswordChange::Refused(refusal) => {
            audit(Outcome::Refused)
                .detail(refusal.describe())
                .record(state, http)
                .await;
            let message = refusal.message(now, policy);
            overview(state, http, session, user, None, Some(&message)).await
        }
    }
}

/// What a password change came to.
enum PasswordChange {
    /// Changed; this many other sessions ended.
    Changed(usize),
    /// The current password was wrong (counted; maybe a wait started).
    WrongPassword(Option<crate::lockout::Refusal>),
    /// Refused unchecked: a wait or lock is in force.
    Refused(crate::lockout::Refusal),
}
