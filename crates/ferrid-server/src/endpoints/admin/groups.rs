//! `/admin/api/v1/groups` and `/admin/api/v1/roles`: groups of users and
//! their members, and the roles of APIs granted to users, groups and
//! clients, with the rules of `ferrid_service::groups`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_service::groups::{self, GroupError, Holder};
use ferrid_service::users::UserError;
use ferrid_store::Principal;
use serde::Deserialize;
use serde_json::json;

use crate::admin_auth::{self, Access};
use crate::endpoints::admin::{apis, document, json_body};
use crate::error::Internal;
use crate::problem::Problem;
use crate::state::AppState;

fn problem(error: GroupError) -> Problem {
    match error {
        GroupError::InvalidName(_) => Problem::invalid("name", error.to_string()),
        GroupError::NotFound(name) => Problem::not_found(format!("no group named {name}")),
        GroupError::Exists(name) => Problem::new(
            StatusCode::CONFLICT,
            "Conflict",
            format!("a group named {name} already exists"),
        ),
        GroupError::UnknownRole { .. } => Problem::invalid("role", error.to_string()),
        GroupError::UnknownClient(_) => Problem::invalid("client", error.to_string()),
        GroupError::Api(error) => apis::problem(error),
        GroupError::User(UserError::NotFound(user)) => {
            Problem::invalid("user", format!("no user named {user}"))
        }
        other => Internal::log(other).into(),
    }
}

/// `GET /admin/api/v1/groups`: every group with its members' usernames.
#[utoipa::path(get, path = "/admin/api/v1/groups", tag = "groups", responses((status = 200, description = "Every group with its members"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role")), security(("bearer" = ["ferrid:admin.read"])))]
pub async fn list(state: web::Data<AppState>, http: HttpRequest) -> Result<HttpResponse, Problem> {
    admin_auth::authorize(&state, &http, Access::Read).await?;
    let all = state
        .db(|store| Ok(groups::list(store)))
        .await?
        .map_err(problem)?;
    let items: Vec<_> = all
        .iter()
        .map(|(group, members)| {
            json!({ "name": group.name, "description": group.description, "members": members })
        })
        .collect();
    Ok(document(json!({ "items": items })))
}

/// What `POST /groups` takes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewGroup {
    name: String,
    #[serde(default)]
    description: String,
}

/// `POST /admin/api/v1/groups`.
#[utoipa::path(post, path = "/admin/api/v1/groups", tag = "groups", request_body = NewGroup, responses((status = 201, description = "The group"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role"), (status = 422, description = "A rule is broken; the problem names the member"), (status = 409, description = "The name is taken")), security(("bearer" = ["ferrid:admin.write"])))]
pub async fn create(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let admin = admin_auth::authorize(&state, &http, Access::Write).await?;
    let new: NewGroup = json_body(&http, &body)?;
    let now = state.now();
    let group = state
        .db(move |store| {
            Ok(groups::create(
                store,
                &new.name,
                &new.description,
                &admin.actor,
                now,
            ))
        })
        .await?
        .map_err(problem)?;
    Ok(HttpResponse::Created()
        .json(json!({ "name": group.name, "description": group.description, "members": [] })))
}

/// `DELETE /admin/api/v1/groups/{name}`.
#[utoipa::path(delete, path = "/admin/api/v1/groups/{name}", tag = "groups", params(("name" = String, Path)), responses((status = 204, description = "Deleted"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role"), (status = 404, description = "Not found")), security(("bearer" = ["ferrid:admin.write"])))]
pub async fn delete(
    state: web::Data<AppState>,
    http: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let admin = admin_auth::authorize(&state, &http, Access::Write).await?;
    let (name, now) = (name.into_inner(), state.now());
    state
        .db(move |store| Ok(groups::delete(store, &name, &admin.actor, now)))
        .await?
        .map_err(problem)?;
    Ok(HttpResponse::NoContent().finish())
}

async fn membership(
    state: &AppState,
    http: &HttpRequest,
    path: (String, String),
    member: bool,
) -> Result<HttpResponse, Problem> {
    let admin = admin_auth::authorize(state, http, Access::Write).await?;
    let ((group, username), now) = (path, state.now());
    state
        .db(move |store| {
            Ok(groups::set_member(
                store,
                &group,
                &username,
                member,
                &admin.actor,
                now,
            ))
        })
        .await?
        .map_err(problem)?;
    Ok(HttpResponse::NoContent().finish())
}

/// `PUT /admin/api/v1/groups/{name}/members/{username}`.
#[utoipa::path(put, path = "/admin/api/v1/groups/{name}/members/{username}", tag = "groups", params(("name" = String, Path), ("username" = String, Path)), responses((status = 204, description = "A member"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role"), (status = 404, description = "Not found"), (status = 422, description = "A rule is broken; the problem names the member")), security(("bearer" = ["ferrid:admin.write"])))]
pub async fn add_member(
    state: web::Data<AppState>,
    http: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    membership(&state, &http, path.into_inner(), true).await
}

/// `DELETE /admin/api/v1/groups/{name}/members/{username}`.
#[utoipa::path(delete, path = "/admin/api/v1/groups/{name}/members/{username}", tag = "groups", params(("name" = String, Path), ("username" = String, Path)), responses((status = 204, description = "Not a member"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role"), (status = 404, description = "Not found"), (status = 422, description = "A rule is broken; the problem names the member")), security(("bearer" = ["ferrid:admin.write"])))]
pub async fn remove_member(
    state: web::Data<AppState>,
    http: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    membership(&state, &http, path.into_inner(), false).await
}

/// `?api=…`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RolesQuery {
    api: String,
}

/// `GET /admin/api/v1/roles?api=…`: the API's role grants.
#[utoipa::path(get, path = "/admin/api/v1/roles", tag = "roles", params(("api" = String, Query)), responses((status = 200, description = "The API's role grants"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role")), security(("bearer" = ["ferrid:admin.read"])))]
pub async fn grants(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, Problem> {
    admin_auth::authorize(&state, &http, Access::Read).await?;
    let query = web::Query::<RolesQuery>::from_query(http.query_string())
        .map_err(|error| Problem::bad_request(error.to_string()))?
        .into_inner();
    let grants = state.db(move |store| store.role_grants(&query.api)).await?;
    let items: Vec<_> = grants
        .iter()
        .map(|grant| {
            let (kind, holder) = match &grant.principal {
                Principal::User(id) => ("user_id", id),
                Principal::Group(name) => ("group", name),
                Principal::Client(id) => ("client", id),
            };
            json!({ "role": grant.role, kind: holder })
        })
        .collect();
    Ok(document(json!({ "items": items })))
}

/// A role grant as requests give it: exactly one holder.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RoleGrant {
    api: String,
    role: String,
    user: Option<String>,
    group: Option<String>,
    client: Option<String>,
}

async fn set_role(
    state: &AppState,
    http: &HttpRequest,
    body: &[u8],
    granted: bool,
) -> Result<HttpResponse, Problem> {
    let admin = admin_auth::authorize(state, http, Access::Write).await?;
    let grant: RoleGrant = json_body(http, body)?;
    let holder = match (grant.user, grant.group, grant.client) {
        (Some(user), None, None) => Holder::User(user),
        (None, Some(group), None) => Holder::Group(group),
        (None, None, Some(client)) => Holder::Client(client),
        _ => {
            return Err(Problem::invalid(
                "user",
                "name exactly one of user, group and client",
            ))
        }
    };
    let now = state.now();
    state
        .db(move |store| {
            Ok(groups::set_role(
                store,
                &grant.api,
                &grant.role,
                &holder,
                granted,
                &admin.actor,
                now,
            ))
        })
        .await?
        .map_err(problem)?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /admin/api/v1/roles/grant`.
#[utoipa::path(post, path = "/admin/api/v1/roles/grant", tag = "roles", request_body = RoleGrant, responses((status = 204, description = "Granted"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role"), (status = 422, description = "A rule is broken; the problem names the member")), security(("bearer" = ["ferrid:admin.write"])))]
pub async fn grant(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    set_role(&state, &http, &body, true).await
}

/// `POST /admin/api/v1/roles/revoke`.
#[utoipa::path(post, path = "/admin/api/v1/roles/revoke", tag = "roles", request_body = RoleGrant, responses((status = 204, description = "Revoked"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role"), (status = 422, description = "A rule is broken; the problem names the member")), security(("bearer" = ["ferrid:admin.write"])))]
pub async fn revoke(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    set_role(&state, &http, &body, false).await
}
