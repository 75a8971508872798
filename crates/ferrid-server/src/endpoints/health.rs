//! Health checks for load balancers and orchestrators:
//!
//! - `GET /health/live`: the process answers (no database involved), so a
//!   supervisor restarts only a node that is truly stuck;
//! - `GET /health/ready`: the node can serve: the database answers within
//!   [`READY_TIMEOUT`], this build's migrations are applied, and every
//!   configured algorithm has a signing key. A node that is not ready
//!   answers 503 at once, so traffic goes elsewhere;
//! - `GET /health`: the database answers (kept for existing probes).

use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::state::AppState;

/// Longest a readiness check waits for the database.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

fn answer(ok: bool, body: serde_json::Value) -> HttpResponse {
    let mut response = if ok {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    };
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

/// 200 when the database answers, 503 otherwise.
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let ok = state.db(|store| store.ping()).await.is_ok();
    answer(
        ok,
        json!({ "status": if ok { "ok" } else { "unavailable" } }),
    )
}

/// Always 200 while the process serves requests.
pub async fn live() -> HttpResponse {
    answer(true, json!({ "status": "live" }))
}

/// 200 when the node can serve requests, 503 (naming what is wrong)
/// otherwise.
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let checked = actix_web::rt::time::timeout(
        READY_TIMEOUT,
        state.db(|store| {
            store.ping()?;
            store.migrations_current()
        }),
    )
    .await;
    let (database, migrations) = match checked {
        Ok(Ok(true)) => ("ok", "ok"),
        Ok(Ok(false)) => ("ok", "pending"),
        Ok(Err(_)) => ("unavailable", "unknown"),
        Err(_) => ("timeout", "unknown"),
    };
    let signing = state.published().keyring.signing_algorithms();
    let keys_ok = state
        .key_policy
        .algorithms
        .iter()
        .all(|alg| signing.contains(alg));
    let keys = if keys_ok { "ok" } else { "missing" };
    let ready = database == "ok" && migrations == "ok" && keys_ok;
    answer(
        ready,
        json!({
            "status": if ready { "ready" } else { "not_ready" },
            "checks": { "database": database, "migrations": migrations, "signing_keys": keys },
        }),
    )
}
