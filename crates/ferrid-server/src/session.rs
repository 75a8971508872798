//! Browser sessions: looked up from the cookie, created on login with a
//! fresh id (never the pre-login one), stored as a digest.

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use ferrid_store::secret::{digest, random_token};
use ferrid_store::{Session, User};

use ferrid_service::audit::{Event, EventKind, Outcome};

use crate::audit::RecordForRequest;
use crate::error::{Internal, PageError};
use crate::state::AppState;

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
/// cookie to set and the new session.
pub async fn start(
    state: &AppState,
    request: &HttpRequest,
    user_id: String,
    amr: String,
) -> Result<(Cookie<'static>, Session), Internal> {
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
    let stored = session.clone();
    state
        .db(move |store| {
            // The browser's previous session ends as any other would
            // (back-channel logouts, its online grants revoked).
            if let Some(previous) = previous {
                if let Some((old, _)) = store.find_active_session(&previous, now)? {
                    store.end_sessions(&[old], now)?;
                }
            }
            store.create_session(&stored)
        })
        .await?;
    Ok((
        crate::cookies::session_cookie(&state.settings, session_id),
        session,
    ))
}

/// Raises the browser's session to `amr` after a second factor: the
/// session keeps its `sid` (and its relying parties stay signed in) but
/// gets a new cookie value. Returns the cookie and the raised session, or
/// `None` if the session ended meanwhile.
pub async fn elevate(
    state: &AppState,
    session: &Session,
    amr: String,
) -> Result<Option<(Cookie<'static>, Session)>, Internal> {
    let session_id = random_token(32);
    let raised = Session {
        id_digest: digest(&session_id),
        amr,
        ..session.clone()
    };
    let (old, new, methods, now) = (
        session.id_digest.clone(),
        raised.id_digest.clone(),
        raised.amr.clone(),
        state.now(),
    );
    let elevated = state
        .db(move |store| store.elevate_session(&old, &new, &methods, now))
        .await?;
    Ok(elevated.then(|| {
        (
            crate::cookies::session_cookie(&state.settings, session_id),
            raised,
        )
    }))
}

/// Removes the session cookie from the browser with `response`.
pub fn clear_cookie(state: &AppState, response: &mut HttpResponse) -> Result<(), Internal> {
    response
        .add_cookie(&crate::cookies::session_removal(&state.settings))
        .map_err(Internal::log)
}

/// Which sessions [`end`] ends.
pub enum Ending {
    /// The browser's own (logout).
    ThisBrowser,
    /// The one with this public id; the caller has checked it may.
    Sid(String),
}

/// Ends a session, if there is one, revoking its online grants and
/// queueing back-channel logouts in one transaction, and records it in the
/// audit log with `reason`.
pub async fn end(
    state: &AppState,
    http: &HttpRequest,
    ending: Ending,
    reason: &str,
) -> Result<(), Internal> {
    let cookie_digest =
        crate::cookies::session_id(http, &state.settings).map(|session_id| digest(&session_id));
    let now = state.now();
    let ended = state
        .db(move |store| {
            let session = match (ending, cookie_digest) {
                (Ending::ThisBrowser, Some(cookie_digest)) => store
                    .find_active_session(&cookie_digest, now)?
                    .map(|(session, _)| session),
                (Ending::ThisBrowser, None) => None,
                (Ending::Sid(sid), _) => store.find_session_by_sid(&sid)?,
            };
            if let Some(session) = &session {
                store.end_sessions(std::slice::from_ref(session), now)?;
            }
            Ok(session)
        })
        .await?;
    if let Some(session) = ended {
        Event::new(EventKind::SessionEnd, Outcome::Success)
            .actor(&session.user_id)
            .subject(&session.user_id)
            .detail(format!("{reason}; sid {}", session.sid))
            .record(state, http)
            .await;
        state.deliver_logouts_soon();
    }
    Ok(())
}

/// The page for account pages opened without a session.
pub fn not_signed_in() -> PageError {
    PageError {
        status: StatusCode::UNAUTHORIZED,
        title: "Not signed in".into(),
        message: "This browser is not signed in to ferrid.".into(),
        hint: Some("Sign in through one of your applications, then come back to this page.".into()),
    }
}
