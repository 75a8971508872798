//! `/admin/api/v1/apis`: registered APIs (resource servers) with their
//! scopes, roles, token settings and introspection credentials, with the
//! rules of `ferrid_service::apis`. An API is addressed by its identifier
//! after `/apis/` (e.g. `/apis/https://api.example.com/orders`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_service::apis::{
    self, ApiError, ApiRegistration, ApiUpdate, ApiView, IntrospectionAccess,
};
use ferrid_store::{Api, ApiRole, ApiScope};
use serde::Deserialize;
use serde_json::json;

use crate::admin_auth::{self, Access};
use crate::endpoints::admin::{check_if_match, document, etag, json_body, locate, represented};
use crate::error::Internal;
use crate::problem::Problem;
use crate::state::AppState;

/// The problem for a refused API operation.
pub fn problem(error: ApiError) -> Problem {
    match error {
        ApiError::Invalid(rule) => Problem::invalid(rule.field(), rule.to_string()),
        ApiError::Credentials(invalid) => Problem::invalid("introspection", invalid.to_string()),
        ApiError::NotFound(identifier) => {
            Problem::not_found(format!("no API with identifier {identifier}"))
        }
        ApiError::Exists(identifier) => Problem::new(
            StatusCode::CONFLICT,
            "Conflict",
            format!("an API with identifier {identifier} already exists"),
        ),
        other => Internal::log(other).into(),
    }
}

async fn stored(state: &AppState, identifier: String) -> Result<Api, Problem> {
    state
        .db(move |store| Ok(apis::show(store, &identifier)))
        .await?
        .map_err(problem)
}

/// A scope or role as requests give it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Named {
    name: String,
    #[serde(default)]
    description: String,
}

fn scopes(named: Vec<Named>) -> Vec<ApiScope> {
    named
        .into_iter()
        .map(|scope| ApiScope {
            name: scope.name,
            description: scope.description,
        })
        .collect()
}

fn roles(named: Vec<Named>) -> Vec<ApiRole> {
    named
        .into_iter()
        .map(|role| ApiRole {
            name: role.name,
            description: role.description,
        })
        .collect()
}

/// `GET /admin/api/v1/apis`.
#[utoipa::path(get, path = "/admin/api/v1/apis", tag = "apis", responses((status = 200, description = "Every registered API"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role")), security(("bearer" = ["ferrid:admin.read"])))]
pub async fn list(state: web::Data<AppState>, http: HttpRequest) -> Result<HttpResponse, Problem> {
    admin_auth::authorize(&state, &http, Access::Read).await?;
    let all = state
        .db(|store| Ok(apis::list(store)))
        .await?
        .map_err(problem)?;
    let items: Vec<ApiView> = all.iter().map(ApiView::from).collect();
    Ok(document(json!({ "items": items })))
}

/// What `POST` takes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewApi {
    identifier: String,
    name: String,
    #[serde(default)]
    scopes: Vec<Named>,
    #[serde(default)]
    roles: Vec<Named>,
    access_token_ttl: Option<i64>,
    signing_alg: Option<String>,
    /// A client authentication method, to let the API introspect.
    introspection: Option<String>,
    #[schema(value_type = Option<Object>)]
    jwks: Option<serde_json::Value>,
    jwks_uri: Option<String>,
}

/// `POST /admin/api/v1/apis`: registers an API; an introspection secret
/// is in this response only.
#[utoipa::path(post, path = "/admin/api/v1/apis", tag = "apis", request_body = NewApi, responses((status = 201, description = "The API, with its introspection secret this once"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role"), (status = 422, description = "A rule is broken; the problem names the member"), (status = 409, description = "The identifier is taken")), security(("bearer" = ["ferrid:admin.write"])))]
pub async fn create(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let admin = admin_auth::authorize(&state, &http, Access::Write).await?;
    let new: NewApi = json_body(&http, &body)?;
    let registration = ApiRegistration {
        identifier: new.identifier,
        name: new.name,
        scopes: scopes(new.scopes),
        roles: roles(new.roles),
        access_token_ttl: new.access_token_ttl,
        signing_alg: new.signing_alg,
        introspection: new.introspection.map(|auth_method| IntrospectionAccess {
            auth_method,
            jwks: new.jwks.map(|jwks| jwks.to_string()),
            jwks_uri: new.jwks_uri,
        }),
    };
    let issuer = state.settings.issuer.clone();
    let enabled = state.published().keyring.signing_algorithms();
    let (master_key, now) = (state.master_key().clone(), state.now());
    let registered = state
        .db(move |store| {
            Ok(apis::create(
                store,
                registration,
                &issuer,
                &enabled,
                &master_key,
                &admin.actor,
                now,
            ))
        })
        .await?
        .map_err(problem)?;
    let secret = registered
        .introspection
        .as_ref()
        .and_then(|credentials| credentials.secret.as_deref());
    let mut response = represented(
        &ApiView::from(&registered.api),
        StatusCode::CREATED,
        secret.map(|secret| ("introspection_client_secret", secret)),
    );
    locate(
        &mut response,
        &format!("/apis/{}", registered.api.identifier),
    );
    Ok(response)
}

/// `GET /admin/api/v1/apis/{identifier}`.
#[utoipa::path(get, path = "/admin/api/v1/apis/{identifier}", tag = "apis", params(("identifier" = String, Path)), responses((status = 200, description = "The API, with its ETag"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role"), (status = 404, description = "Not found")), security(("bearer" = ["ferrid:admin.read"])))]
pub async fn show(
    state: web::Data<AppState>,
    http: HttpRequest,
    identifier: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    admin_auth::authorize(&state, &http, Access::Read).await?;
    let api = stored(&state, identifier.into_inner()).await?;
    Ok(represented(&ApiView::from(&api), StatusCode::OK, None))
}

/// What `PATCH` changes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ApiChange {
    name: Option<String>,
    #[serde(default)]
    add_scopes: Vec<Named>,
    #[serde(default)]
    remove_scopes: Vec<String>,
    #[serde(default)]
    add_roles: Vec<Named>,
    #[serde(default)]
    remove_roles: Vec<String>,
    access_token_ttl: Option<i64>,
    signing_alg: Option<String>,
}

/// `PATCH /admin/api/v1/apis/{identifier}` with `If-Match`.
#[utoipa::path(patch, path = "/admin/api/v1/apis/{identifier}", tag = "apis", params(("identifier" = String, Path), ("If-Match" = String, Header)), request_body = ApiChange, responses((status = 200, description = "The API as changed"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role"), (status = 404, description = "Not found"), (status = 422, description = "A rule is broken; the problem names the member"), (status = 412, description = "The ETag in If-Match is stale"), (status = 428, description = "If-Match is required")), security(("bearer" = ["ferrid:admin.write"])))]
pub async fn update(
    state: web::Data<AppState>,
    http: HttpRequest,
    identifier: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let admin = admin_auth::authorize(&state, &http, Access::Write).await?;
    let change: ApiChange = json_body(&http, &body)?;
    let identifier = identifier.into_inner();
    let current = stored(&state, identifier.clone()).await?;
    check_if_match(&http, &etag(&ApiView::from(&current)))?;
    let update = ApiUpdate {
        name: change.name,
        add_scopes: scopes(change.add_scopes),
        remove_scopes: change.remove_scopes,
        add_roles: roles(change.add_roles),
        remove_roles: change.remove_roles,
        access_token_ttl: change.access_token_ttl,
        signing_alg: change.signing_alg,
    };
    let enabled = state.published().keyring.signing_algorithms();
    let now = state.now();
    let api = state
        .db(move |store| {
            Ok(apis::update(
                store,
                &identifier,
                update,
                &enabled,
                &admin.actor,
                now,
            ))
        })
        .await?
        .map_err(problem)?;
    Ok(represented(&ApiView::from(&api), StatusCode::OK, None))
}

/// `DELETE /admin/api/v1/apis/{identifier}`.
#[utoipa::path(delete, path = "/admin/api/v1/apis/{identifier}", tag = "apis", params(("identifier" = String, Path)), responses((status = 204, description = "Deleted"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role"), (status = 404, description = "Not found")), security(("bearer" = ["ferrid:admin.write"])))]
pub async fn delete(
    state: web::Data<AppState>,
    http: HttpRequest,
    identifier: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let admin = admin_auth::authorize(&state, &http, Access::Write).await?;
    let identifier = identifier.into_inner();
    let now = state.now();
    state
        .db(move |store| Ok(apis::delete(store, &identifier, &admin.actor, now)))
        .await?
        .map_err(problem)?;
    Ok(HttpResponse::NoContent().finish())
}
