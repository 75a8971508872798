//! `POST /introspect` (RFC 7662): is this token active, and what is it?
//! The caller must authenticate as a confidential client, and learns only
//! about tokens meant for it: a registered API (with its introspection
//! credentials) about access tokens whose `aud` names it; a client about
//! the access and refresh tokens issued to it. Everything else is
//! `active: false`, as an unknown token is (RFC 7662 §2.2).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_store::secret::digest;
use ferrid_store::Client;
use serde_json::{json, Value};

use crate::error::{ErrorCode, Internal, JsonError, OAuthError};
use crate::grants::issue::REFRESH_TOKEN_PREFIX;
use crate::http::{is_form, Params};
use crate::state::AppState;
use crate::{bearer, client_auth};

/// Handles an introspection request.
pub async fn introspect(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, JsonError> {
    let document = answer(&state, &http, &body).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(document))
}

async fn answer(state: &AppState, http: &HttpRequest, body: &[u8]) -> Result<Value, OAuthError> {
    if !is_form(http) {
        return Err(OAuthError::invalid_request(
            "the introspection request must be application/x-www-form-urlencoded",
        ));
    }
    let params =
        Params::parse(body).map_err(|error| OAuthError::invalid_request(error.to_string()))?;
    let client = client_auth::authenticate(state, http, &params).await?;
    if !client.auth_method.is_confidential() {
        return Err(OAuthError::new(
            ErrorCode::InvalidClient,
            "introspection needs a confidential client",
        ));
    }
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let inactive = json!({ "active": false });
    let apis = state.apis().await?;
    let caller = match apis.introspecting_as(&client.client_id) {
        Some(api) => Caller::Api(api.identifier.clone()),
        None => Caller::Client(client.client_id.clone()),
    };
    // The hint only orders the lookups; the prefix decides reliably.
    let document = if token.starts_with(REFRESH_TOKEN_PREFIX) {
        refresh_token(state, &client, token).await?
    } else {
        access_token(state, &caller, token).await?
    };
    Ok(document.unwrap_or(inactive))
}

/// Who is asking, which decides the tokens it may learn about.
enum Caller {
    /// A registered API, by identifier.
    Api(String),
    /// A client, by id.
    Client(String),
}

async fn access_token(
    state: &AppState,
    caller: &Caller,
    token: &str,
) -> Result<Option<Value>, Internal> {
    Ok(bearer::active_access_token(state, token)
        .await?
        .filter(|claims| match caller {
            Caller::Api(identifier) => claims.aud.contains(identifier),
            Caller::Client(client_id) => claims.client_id == *client_id,
        })
        .map(|claims| {
            let mut document = json!({
                "active": true,
                "token_type": "Bearer",
                "scope": claims.scope,
                "client_id": claims.client_id,
                "sub": claims.sub,
                "aud": claims.aud,
                "iss": claims.iss,
                "exp": claims.exp,
                "iat": claims.iat,
                "jti": claims.jti,
            });
            if let Some(roles) = claims.roles {
                document["roles"] = json!(roles);
            }
            if let Some(acr) = claims.acr {
                document["acr"] = json!(acr);
            }
            // Who acts for the subject of an exchanged token (RFC 8693 §4.4).
            if let Some(act) = claims.act {
                document["act"] = act;
            }
            // The key a DPoP-bound token needs a proof of (RFC 9449 §6.2).
            if let Some(cnf) = claims.cnf {
                document["cnf"] = cnf;
                document["token_type"] = json!("DPoP");
            }
            document
        }))
}

async fn refresh_token(
    state: &AppState,
    client: &Client,
    token: &str,
) -> Result<Option<Value>, Internal> {
    let token_digest = digest(token);
    let Some((row, grant)) = state
        .db(move |store| store.find_refresh_token(&token_digest))
        .await?
    else {
        return Ok(None);
    };
    let active = row.client_id == client.client_id
        && row.rotated_at.is_none()
        && row.expires_at > state.now()
        && grant.revoked_at.is_none();
    Ok(active.then(|| {
        json!({
            "active": true,
            "token_type": "refresh_token",
            "scope": row.scope,
            "client_id": row.client_id,
            "sub": state.subjects.for_client(client, &grant.user_id),
            "iss": state.settings.issuer,
            "exp": row.expires_at,
            "iat": row.created_at,
        })
    }))
}
