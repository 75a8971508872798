//! `GET|PUT /admin/api/v1/policies/admin-passkeys`: whether
//! administrators must sign in to the console with a passkey, as the
//! console's switch on the Users page sets it.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::admin_auth::{self, Access};
use crate::console_session;
use crate::endpoints::admin::{document, json_body};
use crate::problem::Problem;
use crate::state::AppState;

async fn current(state: &AppState) -> Result<HttpResponse, Problem> {
    let forced = state.settings.security.passkeys.required_for_admins;
    let required = console_session::admin_passkeys_required(state).await?;
    Ok(document(json!({
        "required": required,
        "forced_by_configuration": forced,
    })))
}

/// `GET /admin/api/v1/policies/admin-passkeys`.
#[utoipa::path(get, path = "/admin/api/v1/policies/admin-passkeys", tag = "policies", responses((status = 200, description = "`required`, and `forced_by_configuration` when passkeys.required_for_admins sets it"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role")), security(("bearer" = ["ferrid:admin.read"])))]
pub async fn show(state: web::Data<AppState>, http: HttpRequest) -> Result<HttpResponse, Problem> {
    admin_auth::authorize(&state, &http, Access::Read).await?;
    current(&state).await
}

/// What `PUT` sets.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AdminPasskeys {
    /// Whether administrators must sign in with a passkey.
    required: bool,
}

/// `PUT /admin/api/v1/policies/admin-passkeys`.
#[utoipa::path(put, path = "/admin/api/v1/policies/admin-passkeys", tag = "policies", request_body = AdminPasskeys, responses((status = 200, description = "The policy as set"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role"), (status = 409, description = "The configuration forces it on"), (status = 422, description = "Not a JSON object with a boolean `required`")), security(("bearer" = ["ferrid:admin.write"])))]
pub async fn set(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let admin = admin_auth::authorize(&state, &http, Access::Write).await?;
    let change: AdminPasskeys = json_body(&http, &body)?;
    if !change.required && state.settings.security.passkeys.required_for_admins {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "Conflict",
            "passkeys.required_for_admins in the configuration requires passkeys for administrators",
        ));
    }
    console_session::set_admin_passkeys_required(&state, &http, &admin.actor, change.required)
        .await?;
    current(&state).await
}
