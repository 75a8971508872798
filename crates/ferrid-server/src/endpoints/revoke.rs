//! `POST /revoke` (RFC 7009): a client revokes one of its tokens. A refresh
//! token takes its whole family with it; an access token is revoked by its
//! `jti`. Unknown tokens are answered 200, as the RFC requires.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_store::secret::digest;
use ferrid_tokens::AccessTokenClaims;

use ferrid_service::audit::{Event, EventKind, Outcome};

use crate::audit::RecordForRequest;
use crate::client_auth;
use crate::error::{ErrorCode, JsonError, OAuthError};
use crate::grants::issue::REFRESH_TOKEN_PREFIX;
use crate::http::{is_form, Params};
use crate::state::AppState;

/// Handles a revocation request.
pub async fn revoke(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, JsonError> {
    perform(&state, &http, &body).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

fn not_yours() -> OAuthError {
    OAuthError::new(
        ErrorCode::UnauthorizedClient,
        "the token was issued to another client",
    )
}

async fn perform(state: &AppState, http: &HttpRequest, body: &[u8]) -> Result<(), OAuthError> {
    if !is_form(http) {
        return Err(OAuthError::invalid_request(
            "the revocation request must be application/x-www-form-urlencoded",
        ));
    }
    let params =
        Params::parse(body).map_err(|error| OAuthError::invalid_request(error.to_string()))?;
    let client = client_auth::authenticate(state, http, &params).await?;
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let now = state.now();
    if token.starts_with(REFRESH_TOKEN_PREFIX) {
        let token_digest = digest(token);
        let found = state
            .db(move |store| store.find_refresh_token(&token_digest))
            .await?;
        if let Some((row, grant)) = found {
            if row.client_id != client.client_id {
                return Err(not_yours());
            }
            let user_id = grant.user_id.clone();
            state
                .db(move |store| store.revoke_grant(&grant.id, now))
                .await?;
            Event::new(EventKind::TokenRevoke, Outcome::Success)
                .actor(&client.client_id)
                .subject(user_id)
                .client(&client.client_id)
                .detail(format!("refresh token, grant {}", row.grant_id))
                .record(state, http)
                .await;
        }
        return Ok(());
    }
    // Revoking an access token needs only its signature: even an expired
    // one is simply recorded until its expiry.
    if let Ok(claims) = state
        .published()
        .keyring
        .verify::<AccessTokenClaims>(token, ferrid_tokens::claims::ACCESS_TOKEN_TYPE)
    {
        if claims.client_id != client.client_id {
            return Err(not_yours());
        }
        let (jti, exp) = (claims.jti.clone(), claims.exp);
        state
            .db(move |store| store.revoke_access_token(&jti, exp))
            .await?;
        Event::new(EventKind::TokenRevoke, Outcome::Success)
            .actor(&client.client_id)
            .subject(&claims.sub)
            .client(&client.client_id)
            .detail(format!("access token jti {}", claims.jti))
            .record(state, http)
            .await;
    }
    Ok(())
}
