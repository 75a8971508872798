//! `POST /token` (RFC 6749 §3.2, §4.1.3): the authorization code grant.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_store::secret::{digest, random_token};
use ferrid_store::{AuthorizationCode, Client, User};
use ferrid_tokens::{access_token_hash, AccessTokenClaims, IdTokenClaims, SigningAlgorithm};
use serde::Serialize;

use crate::error::{ErrorCode, Internal, OAuthError};
use crate::http::{is_form, Params};
use crate::session::AMR_PASSWORD;
use crate::state::AppState;
use crate::{client_auth, pkce, scopes};

/// A successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    /// JWT access token (RFC 9068).
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Access-token lifetime, seconds.
    pub expires_in: i64,
    /// Granted scopes.
    pub scope: String,
    /// ID token, when `openid` was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// Handles a token request.
pub async fn token(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    match exchange(&state, &http, &body).await {
        Ok(response) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .json(response),
        Err(error) => error.token_response(),
    }
}

async fn exchange(
    state: &AppState,
    http: &HttpRequest,
    body: &[u8],
) -> Result<TokenResponse, OAuthError> {
    if !is_form(http) {
        return Err(OAuthError::invalid_request(
            "the token request must be application/x-www-form-urlencoded",
        ));
    }
    let params =
        Params::parse(body).map_err(|error| OAuthError::invalid_request(error.to_string()))?;
    let client = client_auth::authenticate(state, http, &params).await?;
    let grant_type = params
        .get("grant_type")
        .ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
    if grant_type != "authorization_code" {
        return Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "only grant_type=authorization_code is supported",
        ));
    }
    if !client.allows_grant(grant_type) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization code grant",
        ));
    }
    authorization_code_grant(state, &client, &params).await
}

fn invalid_grant(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, description)
}

async fn authorization_code_grant(
    state: &AppState,
    client: &Client,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let code = params
        .get("code")
        .ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let redirect_uri = params
        .get("redirect_uri")
        .ok_or_else(|| OAuthError::invalid_request("redirect_uri is required"))?;
    let verifier = params.get("code_verifier");
    if verifier.is_some_and(|verifier| !pkce::is_well_formed(verifier)) {
        return Err(OAuthError::invalid_request(
            "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]",
        ));
    }

    // Redeeming first makes the code single-use even when the request turns
    // out to be wrong: a code presented wrongly is burnt.
    let (code_digest, now) = (digest(code), state.now());
    let redeemed = state
        .db(move |store| store.redeem_authorization_code(&code_digest, now))
        .await?
        .ok_or_else(|| {
            invalid_grant("the authorization code is invalid, expired or already used")
        })?;
    check_code(&redeemed, client, redirect_uri, verifier)?;

    let user_id = redeemed.user_id.clone();
    let user = state
        .db(move |store| store.find_user(&user_id))
        .await?
        .filter(|user| !user.disabled)
        .ok_or_else(|| invalid_grant("the user is no longer active"))?;
    Ok(mint(state, client, &redeemed, &user)?)
}

/// The checks binding a redeemed code to this token request.
fn check_code(
    code: &AuthorizationCode,
    client: &Client,
    redirect_uri: &str,
    verifier: Option<&str>,
) -> Result<(), OAuthError> {
    if code.client_id != client.client_id {
        return Err(invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    if code.redirect_uri != redirect_uri {
        return Err(invalid_grant(
            "redirect_uri does not match the one in the authorization request",
        ));
    }
    match (&code.code_challenge, verifier) {
        (None, None) => Ok(()),
        (Some(challenge), Some(verifier)) if pkce::verify(verifier, challenge) => Ok(()),
        (Some(_), Some(_)) => Err(invalid_grant(
            "code_verifier does not match the code_challenge",
        )),
        (Some(_), None) => Err(invalid_grant("code_verifier is required")),
        // RFC 9700 §2.1.1: a verifier without a challenge is a downgrade attempt.
        (None, Some(_)) => Err(invalid_grant(
            "code_verifier sent, but the authorization request had no code_challenge",
        )),
    }
}

fn mint(
    state: &AppState,
    client: &Client,
    code: &AuthorizationCode,
    user: &User,
) -> Result<TokenResponse, Internal> {
    let now = state.now();
    let settings = &state.settings;
    let published = state.published();
    let id_token_alg =
        SigningAlgorithm::parse(&client.id_token_signed_response_alg).ok_or_else(|| {
            Internal::log(format!(
                "client {} has an unknown ID token algorithm",
                client.client_id
            ))
        })?;
    let access_claims = AccessTokenClaims {
        iss: settings.issuer.clone(),
        sub: user.id.clone(),
        aud: settings.issuer.clone(),
        client_id: client.client_id.clone(),
        exp: now + settings.access_token_ttl,
        iat: now,
        jti: random_token(16),
        scope: code.scope.clone(),
        auth_time: Some(code.auth_time),
        sid: Some(code.sid.clone()),
    };
    let access_token = published.keyring.sign(
        &access_claims,
        ferrid_tokens::claims::ACCESS_TOKEN_TYPE,
        settings.access_token_alg,
    )?;
    let id_token = if scopes::split(&code.scope)
        .iter()
        .any(|scope| scope == scopes::OPENID)
    {
        let claims = IdTokenClaims {
            iss: settings.issuer.clone(),
            sub: user.id.clone(),
            aud: client.client_id.clone(),
            exp: now + settings.id_token_ttl,
            iat: now,
            auth_time: code.auth_time,
            nonce: code.nonce.clone(),
            at_hash: Some(access_token_hash(&access_token, id_token_alg)),
            sid: code.sid.clone(),
            amr: vec![AMR_PASSWORD.to_owned()],
        };
        Some(
            published
                .keyring
                .sign(&claims, ferrid_tokens::claims::ID_TOKEN_TYPE, id_token_alg)?,
        )
    } else {
        None
    };
    tracing::info!(client_id = %client.client_id, user_id = %user.id, jti = %access_claims.jti, "tokens issued");
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: settings.access_token_ttl,
        scope: code.scope.clone(),
        id_token,
    })
}
