//! Browser sessions: looked up from the cookie, created on login with a
//! fresh id (never the pre-login one), stored as a digest.

use actix_web::cookie::Cookie;
use actix_web::{HttpRequest, HttpResponse};
use ferrid_store::secret::{digest, random_token};
use ferrid_store::{Session, User};

use crate::error::Internal;
use crate::state::AppState;

/// The `amr` value of a password login (RFC 8176).
pub const AMR_PASSWORD: &str = "pwd";
/// The `amr` value of a one-time password (RFC 8176), added to `pwd`
/// when the user passed TOTP or a recovery code.
pub const AMR_OTP: &str = "otp";
/// The `acr` of a login with one factor (level of assurance 1).
pub const ACR_SINGLE_FACTOR: &str = "1";
/// The `acr` of a login with two factors; a client asks for it with
/// `acr_values=2`.
pub const ACR_MULTI_FACTOR: &str = "2";

/// The `amr` of a login with a password and a second factor.
pub fn amr_with_otp() -> String {
    format!("{AMR_PASSWORD} {AMR_OTP}")
}

/// The `acr` that a login with these methods (space-separated) reached.
pub fn acr_for(amr: &str) -> &'static str {
    if amr.split_whitespace().any(|method| method == AMR_OTP) {
        ACR_MULTI_FACTOR
    } else {
        ACR_SINGLE_FACTOR
    }
}

/// The browser's live session and its user, if it has one.
pub async fn current(
    state: &AppState,
    request: &HttpRequest,
) -> Result<Option<(Session, User)>, Internal> {
    let Some(session_id) = crate::cookies::session_id(request, &state.settings) else {
        return Ok(None);
    };
    let now = state.now();
    state
        .db(move |store| store.find_active_session(&digest(&session_id), now))
        .await
}

/// Starts a new session for `user_id`, authenticated by `amr` (space-
/// separated methods), ending the browser's previous one, and returns the
/// cookie to set and the new session's `sid`.
pub async fn start(
    state: &AppState,
    request: &HttpRequest,
    user_id: String,
    amr: String,
) -> Result<(Cookie<'static>, String), Internal> {
    let previous = crate::cookies::session_id(request, &state.settings).map(|id| digest(&id));
    let session_id = random_token(32);
    let now = state.now();
    let session = Session {
        id_digest: digest(&session_id),
        sid: random_token(16),
        user_id,
        auth_time: now,
        amr,
        created_at: now,
        expires_at: now + state.settings.session_ttl,
    };
    let sid = session.sid.clone();
    state
        .db(move |store| {
            // The browser's previous session ends as any other would
            // (back-channel logouts, its online grants revoked).
            if let Some(previous) = previous {
                if let Some((old, _)) = store.find_active_session(&previous, now)? {
                    store.end_sessions(&[old], now)?;
                }
            }
            store.create_session(&session)
        })
        .await?;
    Ok((
        crate::cookies::session_cookie(&state.settings, session_id),
        sid,
    ))
}

/// Raises the browser's session to `amr` after a second factor: the
/// session keeps its `sid` (and its relying parties stay signed in) but
/// gets a new cookie value. Returns the cookie, or `None` if the session
/// ended meanwhile.
pub async fn elevate(
    state: &AppState,
    session: &Session,
    amr: String,
) -> Result<Option<Cookie<'static>>, Internal> {
    let session_id = random_token(32);
    let (old, new, now) = (session.id_digest.clone(), digest(&session_id), state.now());
    let elevated = state
        .db(move |store| store.elevate_session(&old, &new, &amr, now))
        .await?;
    Ok(elevated.then(|| crate::cookies::session_cookie(&state.settings, session_id)))
}

/// Removes the session cookie from the browser with `response`.
pub fn clear_cookie(state: &AppState, response: &mut HttpResponse) -> Result<(), Internal> {
    response
        .add_cookie(&crate::cookies::session_removal(&state.settings))
        .map_err(Internal::log)
}

/// Ends sessions: the browser's own (if `browser` is given) and the one
/// with public id `sid` (if given; the caller has checked it may). Their
/// online grants are revoked and back-channel logouts queued, in one
/// transaction. Returns the sessions that ended.
pub async fn end(
    state: &AppState,
    browser: Option<&HttpRequest>,
    sid: Option<String>,
) -> Result<Vec<Session>, Internal> {
    let cookie_digest = browser
        .and_then(|request| crate::cookies::session_id(request, &state.settings))
        .map(|session_id| digest(&session_id));
    let now = state.now();
    let ended = state
        .db(move |store| {
            let mut ended: Vec<Session> = Vec::new();
            if let Some(cookie_digest) = cookie_digest {
                if let Some((session, _)) = store.find_active_session(&cookie_digest, now)? {
                    ended.push(session);
                }
            }
            if let Some(sid) = sid {
                if let Some(session) = store.find_session_by_sid(&sid)? {
                    if !ended.iter().any(|known| known.sid == session.sid) {
                        ended.push(session);
                    }
                }
            }
            store.end_sessions(&ended, now)?;
            Ok(ended)
        })
        .await?;
    for session in &ended {
        tracing::info!(sid = %session.sid, user_id = %session.user_id, "session ended");
    }
    crate::backchannel::deliver_soon(state);
    Ok(ended)
}
