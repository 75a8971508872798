//! `GET /account/sessions` and `POST /account/sessions/end`: a signed-in
//! user lists their browser sessions and ends any of them.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::PageError;
use crate::paths;
use crate::state::AppState;
use crate::{forms, session};

/// Lists the user's sessions.
pub async fn sessions(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let Some((current, user)) = session::current(&state, &http).await? else {
        return Err(session::not_signed_in());
    };
    let (user_id, now) = (user.id.clone(), state.now());
    let sessions = state
        .db(move |store| store.list_sessions(&user_id, now))
        .await?;
    let token = forms::FormToken::for_browser(&state, &http);
    let page = ferrid_pages::SessionsPage {
        username: &user.username,
        sessions: sessions
            .into_iter()
            .map(|session| ferrid_pages::SessionView {
                current: session.sid == current.sid,
                signed_in: ferrid_service::clock::timestamp(session.auth_time),
                sid: session.sid,
            })
            .collect(),
        csrf_token: &token.value,
    };
    token.respond(StatusCode::OK, &page)
}

/// Ends one of the user's sessions.
pub async fn end(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let params = forms::posted(&state, &http, &body)?;
    let Some((current, user)) = session::current(&state, &http).await? else {
        return Err(session::not_signed_in());
    };
    let sid = params.get("sid").unwrap_or_default().to_owned();
    let owned = {
        let sid = sid.clone();
        state
            .db(move |store| store.find_session_by_sid(&sid))
            .await?
    }
    .is_some_and(|session| session.user_id == user.id);
    if !owned {
        return Err(PageError::bad_request(
            "Unknown session",
            "No such session of yours.",
        ));
    }
    session::end(
        &state,
        &http,
        session::Ending::Sid(sid.clone()),
        "ended from the sessions page",
    )
    .await?;
    let mut response = crate::http::see_other(paths::SESSIONS);
    if sid == current.sid {
        session::clear_cookie(&state, &mut response)?;
    }
    Ok(response)
}
