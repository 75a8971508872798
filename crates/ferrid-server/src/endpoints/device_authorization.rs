//! `POST /device_authorization` (RFC 8628 §3.1): a device's client
//! authenticates as at the token endpoint (a public client names itself)
//! and gets a device code to poll with and a user code to show.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_store::GrantType;

use crate::authorize::device;
use crate::client_auth;
use crate::error::{ErrorCode, JsonError, OAuthError};
use crate::state::AppState;

/// Handles a device authorization request: the codes, or an RFC 6749
/// §5.2 error.
pub async fn start(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, JsonError> {
    let (params, client) =
        client_auth::authenticated_form(&state, &http, &body, "a device authorization request")
            .await?;
    if !client.allows_grant(GrantType::DeviceCode) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use the device authorization grant",
        )
        .into());
    }
    let started = device::start(&state, &client, &params).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(started))
}
