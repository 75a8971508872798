//! `POST /consent`: the user's answer to the consent page.

use actix_web::{web, HttpRequest, HttpResponse};

use ferrid_service::audit::{Event, EventKind, Outcome};

use crate::audit::RecordForRequest;
use crate::authorize::decide::{decide, Next};
use crate::authorize::flow;
use crate::error::{ErrorCode, OAuthError, PageError};
use crate::state::AppState;
use crate::{forms, session};

/// Records consent and issues a code, or answers `access_denied`.
pub async fn submit(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let params = forms::posted(&state, &http, &body)?;
    let pending = flow::load(&state, params.get("request_id")).await?;
    let Some((session, user)) = session::current(&state, &http).await? else {
        // The session ended while the page was open: log in again.
        return Ok(flow::to_login(&pending));
    };
    // The consent form must not be a way around prompt=login or
    // max_age: the session has to satisfy the request as at /authorize.
    let client = pending.client(&state).await?;
    let authentication = pending
        .authentication(&state, &client, &session, &user)
        .await?;
    let required = pending.required_assurance(&state, &client);
    match decide(
        &pending.request,
        Some(authentication),
        None,
        required,
        state.now(),
    ) {
        Next::Login | Next::SecondFactor | Next::EnrolSecondFactor | Next::RegisterPasskey => {
            return flow::proceed(&state, &http, pending).await
        }
        Next::Fail(code) => {
            return flow::fail(&state, &pending, flow::interaction_error(code)).await
        }
        Next::Consent | Next::IssueCode => {}
    }
    match params.get("decision") {
        Some("allow") => {
            let (user_id, client_id, scopes, now) = (
                user.id.clone(),
                pending.request.client_id.clone(),
                pending.request.scopes.clone(),
                state.now(),
            );
            state
                .db(move |store| store.grant_consent(&user_id, &client_id, &scopes, now))
                .await?;
            Event::new(EventKind::Consent, Outcome::Success)
                .actor(&user.id)
                .subject(&user.id)
                .client(&pending.request.client_id)
                .detail(format!("scope: {}", pending.request.scopes.join(" ")))
                .record(&state, &http)
                .await;
            flow::issue_code(&state, &pending, &session, &user).await
        }
        Some("deny") => {
            Event::new(EventKind::Consent, Outcome::Refused)
                .actor(&user.id)
                .subject(&user.id)
                .client(&pending.request.client_id)
                .detail("the user denied the request")
                .record(&state, &http)
                .await;
            flow::fail(
                &state,
                &pending,
                OAuthError::new(ErrorCode::AccessDenied, "the user denied the request"),
            )
            .await
        }
        _ => Err(PageError::bad_request(
            "Invalid form",
            "The consent decision must be allow or deny.",
        )),
    }
}
