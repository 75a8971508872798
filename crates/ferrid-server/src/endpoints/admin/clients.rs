//! `/admin/api/v1/clients`: list, register, read, change and delete
//! clients, with the rules and errors of `ferrid_service::clients`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_service::clients::{self, ClientError, ClientRegistration, ClientUpdate, ClientView};
use ferrid_store::Client;
use serde::Deserialize;
use serde_json::json;

use crate::admin_auth::{self, Access};
use crate::endpoints::admin::{
    check_if_match, document, etag, json_body, locate, represented, Paging,
};
use crate::error::Internal;
use crate::problem::Problem;
use crate::state::AppState;

fn problem(error: ClientError) -> Problem {
    match error {
        ClientError::Invalid(invalid) => {
            Problem::invalid(invalid.field().metadata_name(), invalid.to_string())
        }
        ClientError::NotFound(client_id) => {
            Problem::not_found(format!("no client with id {client_id}"))
        }
        conflict @ (ClientError::NoSecret(_) | ClientError::BuiltIn) => {
            Problem::new(StatusCode::CONFLICT, "Conflict", conflict.to_string())
        }
        other => Internal::log(other).into(),
    }
}

async fn stored(state: &AppState, client_id: String) -> Result<Client, Problem> {
    state
        .db(move |store| Ok(clients::show(store, &client_id)))
        .await?
        .map_err(problem)
}

/// `GET /admin/api/v1/clients?limit=…&after=…`: a page of clients by id.
#[utoipa::path(get, path = "/admin/api/v1/clients", tag = "clients", params(("limit" = Option<i64>, Query, description = "Items per page, 1 to 200"), ("after" = Option<String>, Query, description = "The next value of the previous page")), responses((status = 200, description = "A page of clients"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role")), security(("bearer" = ["ferrid:admin.read"])))]
pub async fn list(state: web::Data<AppState>, http: HttpRequest) -> Result<HttpResponse, Problem> {
    admin_auth::authorize(&state, &http, Access::Read).await?;
    let paging = web::Query::<Paging>::from_query(http.query_string())
        .map_err(|error| Problem::bad_request(error.to_string()))?
        .into_inner();
    let limit = paging.limit()?;
    let page = state
        .db(move |store| store.page_clients(paging.after.as_deref(), limit + 1))
        .await?;
    let more = page.len() as i64 > limit;
    let items: Vec<ClientView> = page
        .iter()
        .take(limit as usize)
        .map(ClientView::from)
        .collect();
    let next = more
        .then(|| items.last().map(|view| view.client_id))
        .flatten();
    Ok(document(json!({ "items": items, "next": next })))
}

/// What `POST` takes: the registration settings, named as in RFC 7591.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    name: String,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    #[serde(default = "default_grants")]
    grant_types: Vec<String>,
    #[serde(default = "default_auth_method")]
    token_endpoint_auth_method: String,
    #[serde(default = "default_scope")]
    scope: String,
    #[serde(default = "default_alg")]
    id_token_signed_response_alg: String,
    refresh_idle_ttl: Option<i64>,
    refresh_absolute_ttl: Option<i64>,
    #[serde(default)]
    refresh_for_online_sessions: bool,
    backchannel_logout_uri: Option<String>,
    #[schema(value_type = Option<Object>)]
    jwks: Option<serde_json::Value>,
    jwks_uri: Option<String>,
    #[serde(default)]
    require_mfa: bool,
    #[serde(default = "yes")]
    require_pkce: bool,
    #[serde(default)]
    require_pushed_authorization_requests: bool,
    rate_limit_per_minute: Option<u32>,
    /// `public` (the default) or `pairwise` (OIDC Core §8).
    subject_type: Option<String>,
    /// Every token request must carry a DPoP proof (RFC 9449 §5.2).
    #[serde(default)]
    dpop_bound_access_tokens: bool,
}

fn default_grants() -> Vec<String> {
    vec!["authorization_code".to_owned()]
}
fn default_auth_method() -> String {
    "client_secret_basic".to_owned()
}
fn default_scope() -> String {
    "openid".to_owned()
}
fn default_alg() -> String {
    "RS256".to_owned()
}
fn yes() -> bool {
    true
}

/// `POST /admin/api/v1/clients`: registers a client; the secret is in
/// this response only.
#[utoipa::path(post, path = "/admin/api/v1/clients", tag = "clients", request_body = NewClient, responses((status = 201, description = "The client, with its secret this once"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role"), (status = 422, description = "A rule is broken; the problem names the member")), security(("bearer" = ["ferrid:admin.write"])))]
pub async fn create(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let admin = admin_auth::authorize(&state, &http, Access::Write).await?;
    let new: NewClient = json_body(&http, &body)?;
    let pairwise_subjects = match new.subject_type.as_deref() {
        None | Some("public") => false,
        Some("pairwise") => true,
        Some(_) => {
            return Err(Problem::invalid(
                "subject_type",
                "subject_type must be public or pairwise",
            ))
        }
    };
    let registration = ClientRegistration {
        name: new.name,
        redirect_uris: new.redirect_uris,
        post_logout_redirect_uris: new.post_logout_redirect_uris,
        grant_types: new.grant_types,
        auth_method: new.token_endpoint_auth_method,
        scope: new.scope,
        id_token_alg: new.id_token_signed_response_alg,
        refresh_idle_ttl: new.refresh_idle_ttl,
        refresh_absolute_ttl: new.refresh_absolute_ttl,
        refresh_for_online_sessions: new.refresh_for_online_sessions,
        backchannel_logout_uri: new.backchannel_logout_uri,
        require_mfa: new.require_mfa,
        pkce_optional: !new.require_pkce,
        require_pushed_requests: new.require_pushed_authorization_requests,
        rate_limit_per_minute: new.rate_limit_per_minute,
        jwks: new.jwks.map(|jwks| jwks.to_string()),
        jwks_uri: new.jwks_uri,
        pairwise_subjects,
        dpop_bound_access_tokens: new.dpop_bound_access_tokens,
    };
    let enabled = state.published().keyring.signing_algorithms();
    let (master_key, now) = (state.master_key().clone(), state.now());
    let registered = state
        .db(move |store| {
            Ok(clients::create(
                store,
                registration,
                &enabled,
                &master_key,
                &admin.actor,
                now,
            ))
        })
        .await?
        .map_err(problem)?;
    let mut response = represented(
        &ClientView::from(&registered.client),
        StatusCode::CREATED,
        registered
            .secret
            .as_deref()
            .map(|secret| ("client_secret", secret)),
    );
    locate(
        &mut response,
        &format!("/clients/{}", registered.client.client_id),
    );
    Ok(response)
}

/// `GET /admin/api/v1/clients/{id}`.
#[utoipa::path(get, path = "/admin/api/v1/clients/{client_id}", tag = "clients", params(("client_id" = String, Path)), responses((status = 200, description = "The client, with its ETag"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role"), (status = 404, description = "Not found")), security(("bearer" = ["ferrid:admin.read"])))]
pub async fn show(
    state: web::Data<AppState>,
    http: HttpRequest,
    client_id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    admin_auth::authorize(&state, &http, Access::Read).await?;
    let client = stored(&state, client_id.into_inner()).await?;
    Ok(represented(
        &ClientView::from(&client),
        StatusCode::OK,
        None,
    ))
}

/// What `PATCH` changes; members left out stay as they are.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientChange {
    id_token_signed_response_alg: Option<String>,
    require_mfa: Option<bool>,
    require_pkce: Option<bool>,
    require_pushed_authorization_requests: Option<bool>,
    rate_limit_per_minute: Option<u32>,
    scope: Option<String>,
    /// `true` disables the client (no code, no token), `false` enables it.
    disabled: Option<bool>,
}

/// `PATCH /admin/api/v1/clients/{id}` with `If-Match`.
#[utoipa::path(patch, path = "/admin/api/v1/clients/{client_id}", tag = "clients", params(("client_id" = String, Path), ("If-Match" = String, Header)), request_body = ClientChange, responses((status = 200, description = "The client as changed"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role"), (status = 404, description = "Not found"), (status = 422, description = "A rule is broken; the problem names the member"), (status = 412, description = "The ETag in If-Match is stale"), (status = 428, description = "If-Match is required")), security(("bearer" = ["ferrid:admin.write"])))]
pub async fn update(
    state: web::Data<AppState>,
    http: HttpRequest,
    client_id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let admin = admin_auth::authorize(&state, &http, Access::Write).await?;
    let change: ClientChange = json_body(&http, &body)?;
    let client_id = client_id.into_inner();
    let current = stored(&state, client_id.clone()).await?;
    check_if_match(&http, &etag(&ClientView::from(&current)))?;
    let update = ClientUpdate {
        id_token_alg: change.id_token_signed_response_alg,
        require_mfa: change.require_mfa,
        require_pkce: change.require_pkce,
        require_pushed_requests: change.require_pushed_authorization_requests,
        rate_limit_per_minute: change.rate_limit_per_minute,
        scope: change.scope,
    };
    let enabled = state.published().keyring.signing_algorithms();
    let now = state.now();
    let id = client_id.clone();
    let disabled = change.disabled;
    state
        .db(move |store| {
            Ok((|| {
                clients::update(store, &id, &update, &enabled, &admin.actor, now)?;
                if let Some(disabled) = disabled {
                    clients::set_disabled(store, &id, disabled, &admin.actor, now)?;
                }
                Ok::<_, ClientError>(())
            })())
        })
        .await?
        .map_err(problem)?;
    state.recent_clients.forget(&client_id);
    let client = stored(&state, client_id).await?;
    Ok(represented(
        &ClientView::from(&client),
        StatusCode::OK,
        None,
    ))
}

/// `DELETE /admin/api/v1/clients/{id}` (with `If-Match` when given).
#[utoipa::path(delete, path = "/admin/api/v1/clients/{client_id}", tag = "clients", params(("client_id" = String, Path)), responses((status = 204, description = "Deleted"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role"), (status = 404, description = "Not found")), security(("bearer" = ["ferrid:admin.write"])))]
pub async fn delete(
    state: web::Data<AppState>,
    http: HttpRequest,
    client_id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let admin = admin_auth::authorize(&state, &http, Access::Write).await?;
    let client_id = client_id.into_inner();
    let current = stored(&state, client_id.clone()).await?;
    if http.headers().contains_key(header::IF_MATCH) {
        check_if_match(&http, &etag(&ClientView::from(&current)))?;
    }
    let now = state.now();
    state
        .db(move |store| Ok(clients::delete(store, &client_id, &admin.actor, now)))
        .await?
        .map_err(problem)?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /admin/api/v1/clients/{id}/rotate-secret`: a new secret, in this
/// response only; the old one stops working at once.
#[utoipa::path(post, path = "/admin/api/v1/clients/{client_id}/rotate-secret", tag = "clients", params(("client_id" = String, Path)), responses((status = 200, description = "The new secret (client_secret), this once"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role"), (status = 404, description = "Not found"), (status = 409, description = "The client has no secret (none, private_key_jwt)")), security(("bearer" = ["ferrid:admin.write"])))]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    http: HttpRequest,
    client_id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let admin = admin_auth::authorize(&state, &http, Access::Write).await?;
    let client_id = client_id.into_inner();
    let (master_key, now, id) = (state.master_key().clone(), state.now(), client_id.clone());
    let secret = state
        .db(move |store| {
            Ok(clients::rotate_secret(
                store,
                &id,
                &master_key,
                &admin.actor,
                now,
            ))
        })
        .await?
        .map_err(problem)?;
    state.recent_clients.forget(&client_id);
    Ok(document(
        json!({ "client_id": client_id, "client_secret": secret }),
    ))
}
