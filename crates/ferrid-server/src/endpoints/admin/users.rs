//! `/admin/api/v1/users`: list and search, create (with a password, or by
//! invitation: an e-mailed link to choose one), read, disable and set the
//! admin role, unlock, reset the second factor, and see and end a user's
//! sessions (relying parties are told through back-channel logout).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_service::users::{self, AdminRole, UserError, UserView};
use ferrid_store::User;
use serde::Deserialize;
use serde_json::json;

use crate::admin_auth::{self, Access};
use crate::endpoints::admin::{
    check_if_match, document, etag, json_body, locate, represented, Paging,
};
use crate::error::Internal;
use crate::problem::Problem;
use crate::state::AppState;
use crate::user_accounts::{self, CreateError};

fn problem(error: UserError) -> Problem {
    match error {
        invalid @ (UserError::Identity(_)
        | UserError::Password(_)
        | UserError::PasswordlessWithPassword
        | UserError::Name) => {
            Problem::invalid(invalid.field().unwrap_or("username"), invalid.to_string())
        }
        UserError::Taken => Problem::new(
            StatusCode::CONFLICT,
            "Conflict",
            "a user with this username or email already exists",
        ),
        UserError::NotFound(user) => Problem::not_found(format!("no user {user}")),
        missing @ UserError::PasskeyNotFound(_) => Problem::not_found(missing.to_string()),
        last @ UserError::LastPasskey => {
            Problem::new(StatusCode::CONFLICT, "Conflict", last.to_string())
        }
        other => Internal::log(other).into(),
    }
}

async fn stored(state: &AppState, user_id: String) -> Result<User, Problem> {
    state
        .db(move |store| Ok(users::show(store, &user_id)))
        .await?
        .map_err(problem)
}

/// `?limit=…&after=…&q=…`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserQuery {
    limit: Option<i64>,
    after: Option<String>,
    q: Option<String>,
}

/// `GET /admin/api/v1/users`: a page of users by username; `q` keeps
/// those whose username or e-mail address starts with it.
#[utoipa::path(get, path = "/admin/api/v1/users", tag = "users", params(("limit" = Option<i64>, Query, description = "Items per page, 1 to 200"), ("after" = Option<String>, Query, description = "The next value of the previous page (a username)"), ("q" = Option<String>, Query, description = "Username or e-mail prefix")), responses((status = 200, description = "A page of users"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role")), security(("bearer" = ["ferrid:admin.read"])))]
pub async fn list(state: web::Data<AppState>, http: HttpRequest) -> Result<HttpResponse, Problem> {
    admin_auth::authorize(&state, &http, Access::Read).await?;
    let query = web::Query::<UserQuery>::from_query(http.query_string())
        .map_err(|error| Problem::bad_request(error.to_string()))?
        .into_inner();
    let limit = Paging {
        limit: query.limit,
        after: None,
    }
    .limit()?;
    if query.q.as_deref().is_some_and(|q| q.chars().count() > 254) {
        return Err(Problem::bad_request("q is longer than 254 characters"));
    }
    let page = state
        .db(move |store| store.page_users(query.after.as_deref(), query.q.as_deref(), limit + 1))
        .await?;
    let more = page.len() as i64 > limit;
    let items: Vec<UserView> = page
        .iter()
        .take(limit as usize)
        .map(UserView::from)
        .collect();
    let next = more
        .then(|| items.last().map(|view| view.username.clone()))
        .flatten();
    Ok(document(json!({ "items": items, "next": next })))
}

/// What `POST` takes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewUser {
    username: String,
    email: String,
    name: Option<String>,
    /// Without one, the user is invited to choose it by e-mail.
    password: Option<String>,
    /// A passwordless account: the user is invited by e-mail to create a
    /// passkey and never gets a password (leave `password` out).
    #[serde(default)]
    passwordless: bool,
}

/// `POST /admin/api/v1/users`.
#[utoipa::path(post, path = "/admin/api/v1/users", tag = "users", request_body = NewUser, responses((status = 201, description = "The user; without a password, invited by e-mail"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role"), (status = 422, description = "A rule is broken; the problem names the member"), (status = 409, description = "The name or address is taken")), security(("bearer" = ["ferrid:admin.write"])))]
pub async fn create(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let admin = admin_auth::authorize(&state, &http, Access::Write).await?;
    let new: NewUser = json_body(&http, &body)?;
    let created = user_accounts::create(
        &state,
        user_accounts::NewUser {
            username: new.username,
            email: new.email,
            name: new.name,
            password: new.password,
            passwordless: new.passwordless,
        },
        &admin.actor,
    )
    .await
    .map_err(|error| match error {
        CreateError::Busy => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Busy",
            "too many passwords are being checked; try again shortly",
        ),
        CreateError::Internal(internal) => internal.into(),
        CreateError::Invalid(invalid) => problem(invalid),
    })?;
    let mut response = represented(&UserView::from(&created), StatusCode::CREATED, None);
    locate(&mut response, &format!("/users/{}", created.id));
    Ok(response)
}

/// `GET /admin/api/v1/users/{id}`.
#[utoipa::path(get, path = "/admin/api/v1/users/{user_id}", tag = "users", params(("user_id" = String, Path)), responses((status = 200, description = "The user, with its ETag"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role"), (status = 404, description = "Not found")), security(("bearer" = ["ferrid:admin.read"])))]
pub async fn show(
    state: web::Data<AppState>,
    http: HttpRequest,
    user_id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    admin_auth::authorize(&state, &http, Access::Read).await?;
    let user = stored(&state, user_id.into_inner()).await?;
    Ok(represented(&UserView::from(&user), StatusCode::OK, None))
}

/// What `PATCH` changes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct UserChange {
    /// Only `true`: disabling ends the user's sessions.
    disabled: Option<bool>,
    /// `admin`, `auditor`, or `null` for none.
    #[serde(default, deserialize_with = "present")]
    admin_role: Option<Option<String>>,
    /// A new e-mail address (unverified until the user confirms it).
    email: Option<String>,
    /// A new display name ("" removes it).
    name: Option<String>,
}

/// Tells a member set to `null` from one left out.
fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// `PATCH /admin/api/v1/users/{id}` with `If-Match`.
#[utoipa::path(patch, path = "/admin/api/v1/users/{user_id}", tag = "users", params(("user_id" = String, Path), ("If-Match" = String, Header)), request_body = UserChange, responses((status = 200, description = "The user as changed"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role"), (status = 404, description = "Not found"), (status = 422, description = "A rule is broken; the problem names the member"), (status = 412, description = "The ETag in If-Match is stale"), (status = 428, description = "If-Match is required")), security(("bearer" = ["ferrid:admin.write"])))]
pub async fn update(
    state: web::Data<AppState>,
    http: HttpRequest,
    user_id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let admin = admin_auth::authorize(&state, &http, Access::Write).await?;
    let change: UserChange = json_body(&http, &body)?;
    let current = stored(&state, user_id.into_inner()).await?;
    check_if_match(&http, &etag(&UserView::from(&current)))?;
    if change.disabled == Some(false) {
        return Err(Problem::invalid(
            "disabled",
            "a disabled user cannot be enabled again; create a new account",
        ));
    }
    let role = match &change.admin_role {
        Some(Some(name)) => Some(Some(AdminRole::parse(name).ok_or_else(|| {
            Problem::invalid("admin_role", "admin_role must be admin, auditor or null")
        })?)),
        Some(None) => Some(None),
        None => None,
    };
    let (username, user_id, now) = (current.username.clone(), current.id.clone(), state.now());
    let disable = change.disabled == Some(true) && !current.disabled;
    let profile = (change.email.is_some() || change.name.is_some()).then(|| {
        (
            current.id.clone(),
            change.email.unwrap_or_else(|| current.email.clone()),
            change
                .name
                .unwrap_or_else(|| current.name.clone().unwrap_or_default()),
        )
    });
    state
        .db(move |store| {
            Ok((|| {
                if let Some((id, email, name)) = &profile {
                    users::update_profile(store, id, email, name, &admin.actor, now)?;
                }
                if disable {
                    users::disable(store, &username, &admin.actor, now)?;
                }
                if let Some(role) = role {
                    users::set_admin_role(store, &username, role, &admin.actor, now)?;
                }
                Ok::<_, UserError>(())
            })())
        })
        .await?
        .map_err(problem)?;
    if disable {
        state.deliver_logouts_soon();
    }
    let user = stored(&state, user_id).await?;
    Ok(represented(&UserView::from(&user), StatusCode::OK, None))
}

/// Runs `action` on the user `user_id` as the calling administrator.
async fn act(
    state: &AppState,
    http: &HttpRequest,
    user_id: String,
    action: fn(&ferrid_store::Store, &str, &str, i64) -> Result<(), UserError>,
) -> Result<HttpResponse, Problem> {
    let admin = admin_auth::authorize(state, http, Access::Write).await?;
    let user = stored(state, user_id).await?;
    let now = state.now();
    state
        .db(move |store| Ok(action(store, &user.username, &admin.actor, now)))
        .await?
        .map_err(problem)?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /admin/api/v1/users/{id}/unlock`: forgets failed sign-ins.
#[utoipa::path(post, path = "/admin/api/v1/users/{user_id}/unlock", tag = "users", params(("user_id" = String, Path)), responses((status = 204, description = "Failed sign-ins forgotten"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role"), (status = 404, description = "Not found")), security(("bearer" = ["ferrid:admin.write"])))]
pub async fn unlock(
    state: web::Data<AppState>,
    http: HttpRequest,
    user_id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    act(&state, &http, user_id.into_inner(), users::unlock).await
}

/// `POST /admin/api/v1/users/{id}/reset-mfa`: removes the second factor.
#[utoipa::path(post, path = "/admin/api/v1/users/{user_id}/reset-mfa", tag = "users", params(("user_id" = String, Path)), responses((status = 204, description = "Second factor removed"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role"), (status = 404, description = "Not found")), security(("bearer" = ["ferrid:admin.write"])))]
pub async fn reset_mfa(
    state: web::Data<AppState>,
    http: HttpRequest,
    user_id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    act(&state, &http, user_id.into_inner(), users::reset_mfa).await
}

/// `GET /admin/api/v1/users/{id}/sessions`: the user's live sessions.
#[utoipa::path(get, path = "/admin/api/v1/users/{user_id}/sessions", tag = "users", params(("user_id" = String, Path)), responses((status = 200, description = "The user's live sessions"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role"), (status = 404, description = "Not found")), security(("bearer" = ["ferrid:admin.read"])))]
pub async fn sessions(
    state: web::Data<AppState>,
    http: HttpRequest,
    user_id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    admin_auth::authorize(&state, &http, Access::Read).await?;
    let user = stored(&state, user_id.into_inner()).await?;
    let now = state.now();
    let sessions = state
        .db(move |store| store.list_sessions(&user.id, now))
        .await?;
    let items: Vec<_> = sessions
        .iter()
        .map(|session| {
            json!({
                "sid": session.sid,
                "amr": session.amr.split_whitespace().collect::<Vec<_>>(),
                "auth_time": ferrid_service::clock::timestamp(session.auth_time),
                "created_at": ferrid_service::clock::timestamp(session.created_at),
                "expires_at": ferrid_service::clock::timestamp(session.expires_at),
            })
        })
        .collect();
    Ok(document(json!({ "items": items })))
}

/// `GET /admin/api/v1/users/{id}/passkeys`: the user's passkeys.
#[utoipa::path(get, path = "/admin/api/v1/users/{user_id}/passkeys", tag = "users", params(("user_id" = String, Path)), responses((status = 200, description = "The user's passkeys (public data only)"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role"), (status = 404, description = "Not found")), security(("bearer" = ["ferrid:admin.read"])))]
pub async fn passkeys(
    state: web::Data<AppState>,
    http: HttpRequest,
    user_id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    admin_auth::authorize(&state, &http, Access::Read).await?;
    let user = stored(&state, user_id.into_inner()).await?;
    let items = state
        .db(move |store| Ok(users::passkeys(store, &user.id)))
        .await?
        .map_err(problem)?;
    Ok(document(json!({ "items": items })))
}

/// `DELETE /admin/api/v1/users/{id}/passkeys/{passkey_id}`: removes a
/// lost or stolen passkey.
#[utoipa::path(delete, path = "/admin/api/v1/users/{user_id}/passkeys/{passkey_id}", tag = "users", params(("user_id" = String, Path), ("passkey_id" = String, Path)), responses((status = 204, description = "Passkey removed"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role"), (status = 404, description = "No such user or passkey"), (status = 409, description = "The last passkey of a passwordless account")), security(("bearer" = ["ferrid:admin.write"])))]
pub async fn remove_passkey(
    state: web::Data<AppState>,
    http: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let admin = admin_auth::authorize(&state, &http, Access::Write).await?;
    let (user_id, passkey_id) = path.into_inner();
    let user = stored(&state, user_id).await?;
    let now = state.now();
    state
        .db(move |store| {
            Ok(users::remove_passkey(
                store,
                &user.id,
                &passkey_id,
                &admin.actor,
                now,
            ))
        })
        .await?
        .map_err(problem)?;
    state.deliver_logouts_soon();
    Ok(HttpResponse::NoContent().finish())
}

/// `DELETE /admin/api/v1/users/{id}/sessions`: ends them all.
#[utoipa::path(delete, path = "/admin/api/v1/users/{user_id}/sessions", tag = "users", params(("user_id" = String, Path)), responses((status = 200, description = "How many sessions ended"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role"), (status = 404, description = "Not found")), security(("bearer" = ["ferrid:admin.write"])))]
pub async fn end_sessions(
    state: web::Data<AppState>,
    http: HttpRequest,
    user_id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let admin = admin_auth::authorize(&state, &http, Access::Write).await?;
    let user = stored(&state, user_id.into_inner()).await?;
    let now = state.now();
    let ended = state
        .db(move |store| {
            Ok(users::end_sessions(
                store,
                &user.username,
                &admin.actor,
                now,
            ))
        })
        .await?
        .map_err(problem)?;
    state.deliver_logouts_soon();
    Ok(HttpResponse::Ok().json(json!({ "ended": ended })))
}
