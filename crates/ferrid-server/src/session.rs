//! Browser sessions: looked up from the cookie, created on login with a
//! fresh id (never the pre-login one), stored as a digest.

use actix_web::cookie::Cookie;
use actix_web::HttpRequest;
use ferrid_store::secret::{digest, random_token};
use ferrid_store::{Session, User};

use crate::error::Internal;
use crate::state::AppState;

/// The `amr` value of a password login (RFC 8176).
pub const AMR_PASSWORD: &str = "pwd";

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

/// Starts a new session for `user_id`, ending the browser's previous one,
/// and returns the cookie to set and the new session's `sid`.
pub async fn start(
    state: &AppState,
    request: &HttpRequest,
    user_id: String,
) -> Result<(Cookie<'static>, String), Internal> {
    let previous = crate::cookies::session_id(request, &state.settings);
    let session_id = random_token(32);
    let now = state.now();
    let session = Session {
        id_digest: digest(&session_id),
        sid: random_token(16),
        user_id,
        auth_time: now,
        amr: AMR_PASSWORD.to_owned(),
        created_at: now,
        expires_at: now + state.settings.session_ttl,
    };
    let sid = session.sid.clone();
    state
        .db(move |store| {
            if let Some(previous) = previous {
                store.delete_session(&digest(&previous))?;
            }
            store.create_session(&session)
        })
        .await?;
    Ok((
        crate::cookies::session_cookie(&state.settings, session_id),
        sid,
    ))
}
