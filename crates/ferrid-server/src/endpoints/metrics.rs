//! `GET /metrics`: Prometheus metrics, served only on the admin listener
//! (`admin_bind`), never on the public one. The gauges that describe the
//! node's state (pool use, queue depth, key ages, delivery backlog) are
//! sampled at each scrape.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use metrics::gauge;

use crate::metrics::install;
use crate::state::AppState;

/// The Prometheus text format.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let Some(handle) = install() else {
        return HttpResponse::NotFound().finish();
    };
    sample(&state).await;
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/plain; version=0.0.4"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(handle.render())
}

/// Sets the gauges that describe the node's state now.
async fn sample(state: &AppState) {
    let (connections, idle) = state.store.pool_use();
    gauge!("ferrid_database_connections").set(f64::from(connections));
    gauge!("ferrid_database_connections_idle").set(f64::from(idle));
    gauge!("ferrid_database_connections_max")
        .set(f64::from(state.store.settings().max_connections));
    metrics::counter!("ferrid_database_writes_total").absolute(state.store.writes());
    gauge!("ferrid_password_hash_jobs").set(state.password_pool.pending() as f64);
    let now = state.now();
    let rotation_interval = state.key_policy.rotation_interval;
    let keys = state.db(|store| store.list_signing_keys()).await;
    if let Ok(keys) = keys {
        for key in keys
            .iter()
            .filter(|key| key.state == ferrid_tokens::KeyState::Current)
        {
            let age = (now - key.activates_at).max(0);
            gauge!("ferrid_signing_key_age_seconds", "alg" => key.alg.as_str().to_owned())
                .set(age as f64);
            gauge!("ferrid_signing_key_next_rotation_seconds", "alg" => key.alg.as_str().to_owned())
                .set((key.activates_at + rotation_interval - now) as f64);
        }
    }
    let backlog = state
        .db(|store| store.count_pending_logout_deliveries(crate::backchannel::MAX_ATTEMPTS))
        .await;
    if let Ok(backlog) = backlog {
        gauge!("ferrid_backchannel_logout_backlog").set(backlog as f64);
    }
}
