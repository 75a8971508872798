//! `POST /account/password`: the signed-in user changes their password.

use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_store::User;

use ferrid_service::audit::{Event, EventKind, Outcome};

use super::{overview, require_second_factor, signed_in};
use crate::audit::RecordForRequest;
use crate::error::PageError;
use crate::forms;
use crate::lockout::{self, Refusal};
use crate::login_flow;
use crate::password_pool::PoolError;
use crate::state::AppState;

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
            Err(message) => return overview(&state, &http, &user, None, Some(&message)).await,
        };
    let outcome = change(&state, &user, current_password, new_password, current.sid).await;
    match outcome {
        Ok(change) => answer(&state, &http, &user, change).await,
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
}

/// The account page after a change, with what happened audited.
async fn answer(
    state: &AppState,
    http: &HttpRequest,
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
            let mut message = "The current password is wrong.".to_owned();
            if let Some(refusal) = refusal {
                login_flow::lock_event(Some(&user.id), &refusal)
                    .actor(&user.id)
                    .record(state, http)
                    .await;
                message = format!("{message} {}", refusal.message(now, policy));
            }
            overview(state, http, user, None, Some(&message)).await
        }
        PasswordChange::Refused(refusal) => {
            audit(Outcome::Refused)
                .detail(refusal.describe())
                .record(state, http)
                .await;
            let message = refusal.message(now, policy);
            overview(state, http, user, None, Some(&message)).await
        }
    }
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
