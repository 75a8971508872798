//! `POST /token` (RFC 6749 §3.2): client authentication, then the grant
//! handler for `grant_type`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_store::GrantType;

use crate::client_auth;
use crate::dpop;
use crate::error::{ErrorCode, JsonError, OAuthError};
use crate::grants::issue::TokenResponse;
use crate::grants::{authorization_code, client_credentials, device_code, refresh, token_exchange};
use crate::paths;
use crate::state::AppState;

/// Handles a token request.
pub async fn token(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, JsonError> {
    let response = exchange(&state, &http, &body).await?;
    let mut answer = HttpResponse::Ok();
    answer
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    // The nonce for the client's next proof (RFC 9449 §8.2).
    if state.settings.dpop_nonce_required {
        answer.insert_header((dpop::DPOP_NONCE_HEADER, dpop::nonce(&state)));
    }
    Ok(answer.json(response))
}

async fn exchange(
    state: &AppState,
    http: &HttpRequest,
    body: &[u8],
) -> Result<TokenResponse, OAuthError> {
    let (params, client) =
        client_auth::authenticated_form(state, http, body, "the token request").await?;
    let grant_type = params
        .get("grant_type")
        .ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
    let grant_type = GrantType::parse(grant_type).ok_or_else(|| {
        OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "grant_type must be authorization_code, refresh_token, client_credentials, \
             urn:ietf:params:oauth:grant-type:device_code or \
             urn:ietf:params:oauth:grant-type:token-exchange",
        )
    })?;
    if !client.allows_grant(grant_type) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use this grant type",
        ));
    }
    let proven = dpop::check(state, http, &state.settings.endpoint(paths::TOKEN), None).await?;
    if client.dpop_bound_access_tokens && proven.is_none() {
        return Err(dpop::invalid_proof(
            "this client must send a DPoP proof with every token request",
        ));
    }
    let holder = proven.as_ref().map(|proven| proven.jkt.as_str());
    let issued = match grant_type {
        GrantType::AuthorizationCode => {
            authorization_code::exchange(state, http, &client, &params, holder).await
        }
        GrantType::RefreshToken => refresh::exchange(state, http, &client, &params, holder).await,
        GrantType::ClientCredentials => {
            client_credentials::exchange(state, &client, &params, holder).await
        }
        GrantType::DeviceCode => device_code::exchange(state, http, &client, &params, holder).await,
        GrantType::TokenExchange => token_exchange::exchange(state, &client, &params, holder).await,
    }?;
    state.token_counter.count(grant_type.as_str());
    Ok(issued)
}
