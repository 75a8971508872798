//! Dynamic client registration: `POST /register` (RFC 7591) and the
//! client's own management of its registration, `GET|PUT|DELETE
//! /register/{client_id}` (RFC 7592). Off unless `dynamic_registration`
//! is `open` or `token` (then registering needs an initial access token an
//! administrator issued). Metadata is validated exactly as an
//! administrator's registration is; a registered client gets only the
//! OpenID Connect scopes and the grants users take part in, and manages
//! itself with a registration access token kept as a digest.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_service::clients::{self, ClientError, ClientView, Field};
use ferrid_store::secret::{digest, matches_digest};
use ferrid_store::Client;
use ferrid_tokens::assertion::{verify_assertion, AssertionKey};
use serde_json::{json, Map, Value};

use crate::client_metadata::{metadata_error, registration_of, Metadata};
use crate::error::{ErrorCode, Internal, JsonError, OAuthError};
use crate::paths;
use crate::settings::DynamicRegistration;
use crate::state::AppState;

/// The largest registration request accepted.
const MAX_BODY: usize = 64 * 1024;

/// `POST /register`: registers a client; `201` with its id, secret and
/// registration access token, or an RFC 7591 §3.2.2 error.
pub async fn register(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, JsonError> {
    // The initial access token is spent only by a valid registration.
    let initial_access_token = match state.settings.dynamic_registration {
        DynamicRegistration::Off => {
            return Ok(HttpResponse::NotFound().finish());
        }
        DynamicRegistration::Open => None,
        DynamicRegistration::Token => Some(digest(&bearer(&http).ok_or_else(|| {
            invalid_token("registration needs an initial access token (Bearer)")
        })?)),
    };
    let metadata = metadata_of(&state, &http, &body)?;
    if metadata.client_id.is_some() {
        return Err(metadata_error("client_id is assigned by the server").into());
    }
    let registration = registration_of(metadata)?;
    let enabled = state.published().keyring.signing_algorithms();
    let (master_key, now) = (state.master_key().clone(), state.now());
    let (registered, token) = state
        .db(move |store| {
            Ok(clients::register_dynamically(
                store,
                registration,
                initial_access_token.as_deref(),
                &enabled,
                &master_key,
                now,
            ))
        })
        .await?
        .map_err(refusal)?;
    let mut document = describe(&state, &registered.client);
    document["client_id_issued_at"] = json!(registered.client.created_at);
    document["registration_access_token"] = json!(token);
    if let Some(secret) = registered.secret {
        document["client_secret"] = json!(secret);
        // Secrets do not expire (RFC 7591 §3.2.1: 0).
        document["client_secret_expires_at"] = json!(0);
    }
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(document))
}

/// `GET /register/{client_id}`: the client's current registration.
pub async fn read(
    state: web::Data<AppState>,
    http: HttpRequest,
    client_id: web::Path<String>,
) -> Result<HttpResponse, JsonError> {
    let client = managed(&state, &http, &client_id).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(describe(&state, &client)))
}

/// `PUT /register/{client_id}`: replaces the client's metadata.
pub async fn replace(
    state: web::Data<AppState>,
    http: HttpRequest,
    client_id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, JsonError> {
    let current = managed(&state, &http, &client_id).await?;
    let metadata = metadata_of(&state, &http, &body)?;
    if metadata.client_id.as_deref() != Some(current.client_id.as_str()) {
        return Err(metadata_error("client_id must be the client's own").into());
    }
    let registration = registration_of(metadata)?;
    let enabled = state.published().keyring.signing_algorithms();
    let (master_key, now) = (state.master_key().clone(), state.now());
    let replaced = state
        .db(move |store| {
            Ok(clients::replace_dynamically(
                store,
                &current,
                registration,
                &enabled,
                &master_key,
                now,
            ))
        })
        .await?
        .map_err(refusal)?;
    state.recent_clients.forget(&replaced.client_id);
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(describe(&state, &replaced)))
}

/// `DELETE /register/{client_id}`: the client deregisters itself.
pub async fn delete(
    state: web::Data<AppState>,
    http: HttpRequest,
    client_id: web::Path<String>,
) -> Result<HttpResponse, JsonError> {
    let client = managed(&state, &http, &client_id).await?;
    let (id, now) = (client.client_id.clone(), state.now());
    state
        .db(move |store| {
            Ok(clients::delete(
                store,
                &id,
                ferrid_service::audit::actors::DYNAMIC_REGISTRATION,
                now,
            ))
        })
        .await?
        .map_err(refusal)?;
    state.recent_clients.forget(&client.client_id);
    Ok(HttpResponse::NoContent().finish())
}

/// The client `client_id`, if the request carries its registration
/// access token; otherwise `401` (the same for a client that does not
/// exist, so nothing is learnt about ids).
async fn managed(
    state: &AppState,
    http: &HttpRequest,
    client_id: &str,
) -> Result<Client, OAuthError> {
    if state.settings.dynamic_registration == DynamicRegistration::Off {
        return Err(invalid_token("dynamic registration is off"));
    }
    let token =
        bearer(http).ok_or_else(|| invalid_token("send the registration access token (Bearer)"))?;
    let id = client_id.to_owned();
    let client = state.db(move |store| store.find_client(&id)).await?;
    match client {
        Some(client)
            if client
                .registration_token_digest
                .as_deref()
                .is_some_and(|stored| matches_digest(&token, stored)) =>
        {
            Ok(client)
        }
        _ => Err(invalid_token(
            "the registration access token is not this client's",
        )),
    }
}

/// The request's metadata: JSON, bounded, and with a software statement's
/// claims in place of the members they name (RFC 7591 §2.3).
fn metadata_of(state: &AppState, http: &HttpRequest, body: &[u8]) -> Result<Metadata, OAuthError> {
    let is_json = http
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(OAuthError::invalid_request(
            "a registration request must be application/json",
        ));
    }
    if body.len() > MAX_BODY {
        return Err(metadata_error("the registration request is too large"));
    }
    let mut members: Map<String, Value> = serde_json::from_slice(body)
        .map_err(|_| metadata_error("the registration request is not a JSON object"))?;
    if let Some(statement) = members.remove("software_statement") {
        let statement = statement.as_str().ok_or_else(|| {
            OAuthError::new(
                ErrorCode::InvalidSoftwareStatement,
                "software_statement must be a JWT",
            )
        })?;
        members.extend(software_statement(state, statement)?);
    }
    serde_json::from_value(Value::Object(members))
        .map_err(|error| metadata_error(format!("the metadata is malformed: {error}")))
}

/// The claims of a software statement signed with a key this server was
/// given (`software_statement_jwks_file`); statements are refused when it
/// was given none.
fn software_statement(state: &AppState, statement: &str) -> Result<Map<String, Value>, OAuthError> {
    let refuse = |why: &'static str| OAuthError::new(ErrorCode::InvalidSoftwareStatement, why);
    let Some(jwks) = &state.settings.software_statement_jwks else {
        return Err(refuse("this server accepts no software statements"));
    };
    let mut claims: Map<String, Value> = verify_assertion(statement, AssertionKey::Jwks(jwks))
        .map_err(|_| refuse("the software statement's signature does not verify"))?;
    if !claims.get("iss").is_some_and(Value::is_string) {
        return Err(refuse("the software statement has no iss"));
    }
    if claims
        .get("exp")
        .and_then(Value::as_i64)
        .is_some_and(|exp| exp <= state.now())
    {
        return Err(refuse("the software statement has expired"));
    }
    for claim in [
        "iss",
        "iat",
        "exp",
        "jti",
        "software_id",
        "software_version",
    ] {
        claims.remove(claim);
    }
    Ok(claims)
}

/// The registration as RFC 7591 §3.2.1 and RFC 7592 §3 describe it.
fn describe(state: &AppState, client: &Client) -> Value {
    let view = ClientView::from(client);
    let mut document = json!({
        "client_id": view.client_id,
        "client_name": view.name,
        "redirect_uris": view.redirect_uris,
        "post_logout_redirect_uris": view.post_logout_redirect_uris,
        "grant_types": view.grant_types,
        "response_types": ["code"],
        "token_endpoint_auth_method": view.token_endpoint_auth_method,
        "scope": view.scope,
        "id_token_signed_response_alg": view.id_token_signed_response_alg,
        "subject_type": view.subject_type,
        "dpop_bound_access_tokens": view.dpop_bound_access_tokens,
        "registration_client_uri": format!(
            "{}/{}",
            state.settings.endpoint(paths::REGISTER),
            client.client_id
        ),
    });
    if let Some(uri) = view.backchannel_logout_uri {
        document["backchannel_logout_uri"] = json!(uri);
    }
    if let Some(uri) = &client.jwks_uri {
        document["jwks_uri"] = json!(uri);
    }
    if let Some(jwks) = client
        .jwks
        .as_deref()
        .and_then(|jwks| serde_json::from_str::<Value>(jwks).ok())
    {
        document["jwks"] = jwks;
    }
    document
}

/// A refused registration: which rule, as RFC 7591 §3.2.2 names it.
fn refusal(error: ClientError) -> OAuthError {
    match error {
        ClientError::Invalid(rule) => {
            let code = match rule.field() {
                Field::RedirectUris
                | Field::PostLogoutRedirectUris
                | Field::BackchannelLogoutUri => ErrorCode::InvalidRedirectUri,
                _ => ErrorCode::InvalidClientMetadata,
            };
            OAuthError::new(code, rule.to_string())
        }
        ClientError::NotFound(_) => invalid_token("the client no longer exists"),
        ClientError::InitialAccessToken => {
            invalid_token("the initial access token is invalid, expired or used up")
        }
        other => OAuthError::from(Internal::log(other)),
    }
}

fn invalid_token(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidToken, description)
}

/// The Bearer token of the `Authorization` header.
fn bearer(http: &HttpRequest) -> Option<String> {
    let value = http.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
        .then(|| token.trim().to_owned())
}
