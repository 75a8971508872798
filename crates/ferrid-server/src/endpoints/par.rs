//! `POST /par`: the pushed authorization request endpoint (RFC 9126). A
//! client authenticates as at the token endpoint and posts the parameters
//! of an authorization request; they are validated exactly as the
//! authorization endpoint would, and stored under a short-lived, single-use
//! `request_uri` that the browser then carries to `/authorize`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::authorize::request::{self, Rejection};
use crate::authorize::{pushed, request_object};
use crate::client_auth;
use crate::error::{JsonError, OAuthError};
use crate::hint;
use crate::state::AppState;

/// Handles a pushed authorization request: `201 Created` with the
/// `request_uri` and its lifetime, or an RFC 6749 §5.2 error.
pub async fn push(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, JsonError> {
    let (params, client) =
        client_auth::authenticated_form(&state, &http, &body, "a pushed authorization request")
            .await?;
    if params.get("request_uri").is_some() {
        return Err(OAuthError::invalid_request("request_uri cannot be pushed").into());
    }
    // The body names the client as an authorization request does; a
    // client authenticated by its header may leave it out.
    let params = match params.get("client_id") {
        Some(named) if named != client.client_id => {
            return Err(OAuthError::invalid_request(
                "client_id differs from the authenticated client",
            )
            .into())
        }
        Some(_) => params,
        None => params.with("client_id", &client.client_id),
    };
    // A pushed request object (RFC 9126 §3) stands for the parameters.
    let params = request_object::unpack(&state, &client, params).await?;
    let apis = state.apis().await?;
    let mut request = match request::validate(&params, Some(&client), &apis) {
        Ok(request) => request,
        Err(Rejection::Page(page)) => return Err(OAuthError::invalid_request(page.message).into()),
        Err(Rejection::Redirect { error, .. }) => return Err(error.into()),
    };
    hint::apply(&state, &params, &mut request)?;
    let (request_uri, expires_in) = pushed::push(&state, &request).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "request_uri": request_uri, "expires_in": expires_in })))
}
