//! Pushed authorization requests (RFC 9126): a client posts its request
//! to the server first, authenticated, and sends the browser to the
//! authorization endpoint with only a `request_uri` referring to it, so
//! the request's parameters are neither seen nor altered in the browser.

use ferrid_store::secret::{digest, random_token};
use ferrid_store::{Client, PushedRequest};

use crate::authorize::request::AuthorizationRequest;
use crate::error::Internal;
use crate::state::AppState;

/// What every `request_uri` this server issues starts with (RFC 9126
/// §2.2); the rest is 256 random bits, stored only as a digest.
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// Stores a validated request that `request.client_id` pushed; returns
/// its `request_uri` and lifetime in seconds.
pub async fn push(
    state: &AppState,
    request: &AuthorizationRequest,
) -> Result<(String, i64), Internal> {
    let reference = random_token(32);
    let lifetime = state.settings.pushed_request_ttl;
    let row = PushedRequest {
        uri_digest: digest(&reference),
        client_id: request.client_id.clone(),
        parameters: serde_json::to_string(request).map_err(Internal::log)?,
        expires_at: state.now() + lifetime,
    };
    state
        .db(move |store| store.insert_pushed_request(&row))
        .await?;
    Ok((format!("{REQUEST_URI_PREFIX}{reference}"), lifetime))
}

/// Takes the request `request_uri` refers to, for `client_id` only; `None`
/// if there is none: unknown, expired, used already, or another client's.
pub async fn take(
    state: &AppState,
    client_id: &str,
    request_uri: &str,
) -> Result<Option<AuthorizationRequest>, Internal> {
    let Some(reference) = request_uri.strip_prefix(REQUEST_URI_PREFIX) else {
        return Ok(None);
    };
    let (uri_digest, client_id, now) = (digest(reference), client_id.to_owned(), state.now());
    let Some(row) = state
        .db(move |store| store.take_pushed_request(&uri_digest, &client_id, now))
        .await?
    else {
        return Ok(None);
    };
    serde_json::from_str(&row.parameters)
        .map(Some)
        .map_err(Internal::log)
}

/// Whether `client` may only start requests it pushed: its own setting,
/// or the server's for every client but the console, whose requests this
/// server builds itself (requiring it to push them would only lock the
/// administrators out).
pub fn required(state: &AppState, client: &Client) -> bool {
    client.require_pushed_requests
        || (state.settings.require_pushed_authorization_requests
            && client.client_id != ferrid_service::clients::CONSOLE_CLIENT_ID)
}
