//! The signed-in user's passkeys: `POST /account/passkeys/options` starts
//! a registration, `POST /account/passkeys` stores the new passkey, and
//! `POST /account/passkeys/remove` removes one. Starting a registration
//! and removing a passkey need a recent authentication (or the current
//! password), as changing any factor does; the registration's challenge
//! is bound to the session that asked for it.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_service::audit::{Event, EventKind, Outcome};
use ferrid_store::{PasskeyRemoval, Session, User};

use super::{overview, reauthenticate, require_second_factor, signed_in, Reauthentication};
use crate::audit::RecordForRequest;
use crate::error::PageError;
use crate::forms;
use crate::http::Params;
use crate::passkeys::{self, Ceremony};
use crate::state::AppState;

/// An audit event of the user about their own passkeys.
fn own_event(kind: EventKind, outcome: Outcome, user: &User) -> Event {
    Event::new(kind, outcome).actor(&user.id).subject(&user.id)
}

/// The message for a registration the authenticator's answer failed.
const NOT_REGISTERED: &str = "The passkey could not be registered. Try again.";

/// Confirms it is the user before a passkey is added or removed: their
/// second factor was used, and they signed in recently or gave their
/// password. `Err` holds the message to show.
async fn confirm(
    state: &AppState,
    http: &HttpRequest,
    session: &Session,
    user: &User,
    params: &Params,
) -> Result<Result<(), String>, PageError> {
    require_second_factor(session, user)?;
    if user.passwordless && !super::recently_authenticated(state, session) {
        return Ok(Err("Sign in again to change your passkeys.".into()));
    }
    match reauthenticate(state, http, session, user, params).await {
        Ok(Reauthentication::Confirmed) => Ok(Ok(())),
        Ok(Reauthentication::Refused(message)) => Ok(Err(message)),
        Err(crate::password_pool::PoolError::Full) => Err(PageError::unavailable()),
        Err(crate::password_pool::PoolError::Internal(internal)) => Err(internal.into()),
    }
}

/// `POST /account/passkeys/options`
pub async fn options(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let params = forms::posted(&state, &http, &body)?;
    let (session, user) = signed_in(&state, &http).await?;
    if let Err(message) = confirm(&state, &http, &session, &user, &params).await? {
        return Err(PageError {
            status: StatusCode::FORBIDDEN,
            title: "Confirmation needed".into(),
            message: message.into(),
            hint: None,
        });
    }
    Ok(passkeys::creation_options(&state, Ceremony::Register, &session.sid, &user).await?)
}

/// `POST /account/passkeys`: verifies the authenticator's answer and
/// stores the passkey under the name given.
pub async fn register(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let params = forms::posted(&state, &http, &body)?;
    let (session, user) = signed_in(&state, &http).await?;
    let name = match passkeys::name_for(
        params.get("name"),
        usize::try_from(user.passkeys).unwrap_or(0),
    ) {
        Ok(name) => name,
        Err(message) => return overview(&state, &http, &session, &user, None, Some(message)).await,
    };
    let credential = params.get("credential").unwrap_or_default();
    let verified =
        passkeys::verify_registration(&state, Ceremony::Register, &session.sid, credential).await?;
    let new = match verified {
        Ok((new, Some(for_user))) if for_user == user.id => new,
        Ok(_) => return Err(PageError::bad_request("Bad request", NOT_REGISTERED)),
        Err(refused) => {
            own_event(EventKind::PasskeyRegister, Outcome::Failure, &user)
                .detail(refused.reason)
                .record(&state, &http)
                .await;
            return overview(&state, &http, &session, &user, None, Some(NOT_REGISTERED)).await;
        }
    };
    let stored = passkeys::store_new(&state, new, &user.id, &name, Some(session.sid.clone())).await;
    let passkey = match stored {
        Ok(passkey) => passkey,
        Err(_) => {
            // Logged already; most likely a credential registered before.
            own_event(EventKind::PasskeyRegister, Outcome::Failure, &user)
                .detail("not stored (registered already?)")
                .record(&state, &http)
                .await;
            return overview(&state, &http, &session, &user, None, Some(NOT_REGISTERED)).await;
        }
    };
    own_event(EventKind::PasskeyRegister, Outcome::Success, &user)
        .detail(format!("passkey {} ({})", passkey.id, passkey.name))
        .record(&state, &http)
        .await;
    super::announce_new_factor(&state, &user, super::NewFactor::Passkey).await?;
    // The session stays as it signed in: registering proves nothing about
    // the key (no attestation is asked for), so managing passkeys once the
    // account has a second factor needs a sign-in that used one.
    let user = refreshed(&state, &user).await?;
    overview(&state, &http, &session, &user, Some("Passkey added."), None).await
}

/// `POST /account/passkeys/remove`: removes passkey `passkey`; a
/// passwordless account keeps at least one.
pub async fn remove(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let params = forms::posted(&state, &http, &body)?;
    let (session, user) = signed_in(&state, &http).await?;
    if let Err(message) = confirm(&state, &http, &session, &user, &params).await? {
        return overview(&state, &http, &session, &user, None, Some(&message)).await;
    }
    let id = params.get("passkey").unwrap_or_default().to_owned();
    let (user_id, keep_sid, now) = (user.id.clone(), session.sid.clone(), state.now());
    let removal = state
        .db(move |store| store.remove_passkey(&user_id, &id, Some(&keep_sid), now))
        .await?;
    let removed = match removal {
        PasskeyRemoval::Removed(removed) => removed,
        PasskeyRemoval::NotFound => {
            return overview(
                &state,
                &http,
                &session,
                &user,
                None,
                Some("No such passkey."),
            )
            .await
        }
        PasskeyRemoval::LastOfPasswordless => {
            let message = "Your account has no password: keep at least one passkey.";
            return overview(&state, &http, &session, &user, None, Some(message)).await;
        }
    };
    own_event(EventKind::PasskeyRemove, Outcome::Success, &user)
        .detail(format!("passkey {} ({})", removed.id, removed.name))
        .record(&state, &http)
        .await;
    let user = refreshed(&state, &user).await?;
    overview(
        &state,
        &http,
        &session,
        &user,
        Some("Passkey removed."),
        None,
    )
    .await
}

/// `user` as stored now (their passkey count changed).
async fn refreshed(state: &AppState, user: &User) -> Result<User, PageError> {
    let user_id = user.id.clone();
    state
        .db(move |store| store.find_user(&user_id))
        .await?
        .ok_or_else(crate::session::not_signed_in)
}
