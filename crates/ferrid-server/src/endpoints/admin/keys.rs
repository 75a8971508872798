//! `/admin/api/v1/keys`: the signing keys on their timeline, rotation
//! (scheduled or immediate) and revocation, under the same database lease
//! as the CLI and the nodes' schedule. This node reloads at once; the
//! others within `key_refresh_interval`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_service::keys::{self, KeyError, KeyEvent, KeyView};
use ferrid_tokens::SigningAlgorithm;
use serde::Deserialize;
use serde_json::json;

use crate::admin_auth::{self, Access};
use crate::endpoints::admin::{document, json_body};
use crate::error::Internal;
use crate::problem::Problem;
use crate::state::{AppState, StateError};

fn problem(error: StateError) -> Problem {
    match error {
        StateError::Keys(KeyError::NotFound(kid)) => {
            Problem::not_found(format!("no active key with kid {kid}"))
        }
        StateError::Keys(KeyError::Busy) => Problem::new(
            StatusCode::CONFLICT,
            "Busy",
            "another node is rotating keys; try again",
        ),
        other => Internal::log(other).into(),
    }
}

fn events(events: &[KeyEvent]) -> HttpResponse {
    document(json!({ "events": events.iter().map(KeyEvent::describe).collect::<Vec<_>>() }))
}

/// Runs blocking key work off the async executor.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StateError> + Send + 'static,
) -> Result<T, Problem> {
    web::block(work)
        .await
        .map_err(|error| Problem::from(Internal::log(error)))?
        .map_err(problem)
}

/// `GET /admin/api/v1/keys`: every stored key, oldest first.
#[utoipa::path(get, path = "/admin/api/v1/keys", tag = "keys", responses((status = 200, description = "Every signing key on its timeline"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role")), security(("bearer" = ["ferrid:admin.read"])))]
pub async fn list(state: web::Data<AppState>, http: HttpRequest) -> Result<HttpResponse, Problem> {
    admin_auth::authorize(&state, &http, Access::Read).await?;
    let stored = state.db(|store| Ok(keys::list(store))).await?;
    let stored = stored.map_err(|error| Problem::from(Internal::log(error)))?;
    let items: Vec<KeyView> = stored.iter().map(KeyView::from).collect();
    Ok(document(json!({ "items": items })))
}

/// What a rotation asks for.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Rotation {
    /// One algorithm; every configured one when left out.
    alg: Option<String>,
    /// Sign with the new key at once (an emergency), instead of after the
    /// pre-publication period.
    #[serde(default)]
    immediately: bool,
}

/// `POST /admin/api/v1/keys/rotate`.
#[utoipa::path(post, path = "/admin/api/v1/keys/rotate", tag = "keys", request_body = Rotation, responses((status = 200, description = "What the rotation did"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role"), (status = 422, description = "A rule is broken; the problem names the member")), security(("bearer" = ["ferrid:admin.write"])))]
pub async fn rotate(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let admin = admin_auth::authorize(&state, &http, Access::Write).await?;
    let rotation: Rotation = json_body(&http, &body)?;
    let configured = state.key_policy.algorithms.clone();
    let algorithms = match rotation.alg.as_deref() {
        Some(name) => vec![SigningAlgorithm::parse(name)
            .filter(|alg| configured.contains(alg))
            .ok_or_else(|| {
                Problem::invalid(
                    "alg",
                    format!(
                        "alg must be one of the configured algorithms: {}",
                        configured
                            .iter()
                            .map(|alg| alg.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?],
        None => configured,
    };
    let state = state.into_inner();
    let done = blocking(move || state.rotate_keys(&algorithms, rotation.immediately, &admin.actor))
        .await?;
    Ok(events(&done))
}

/// `POST /admin/api/v1/keys/{kid}/revoke`: stops trusting a key at once.
#[utoipa::path(post, path = "/admin/api/v1/keys/{kid}/revoke", tag = "keys", params(("kid" = String, Path)), responses((status = 200, description = "What the revocation did"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role"), (status = 404, description = "Not found")), security(("bearer" = ["ferrid:admin.write"])))]
pub async fn revoke(
    state: web::Data<AppState>,
    http: HttpRequest,
    kid: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let admin = admin_auth::authorize(&state, &http, Access::Write).await?;
    let kid = kid.into_inner();
    let state = state.into_inner();
    let done = blocking(move || state.revoke_key(&kid, &admin.actor)).await?;
    Ok(events(&done))
}
