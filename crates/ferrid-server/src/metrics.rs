//! Prometheus metrics: what operators graph and alert on. Counters and
//! histograms are recorded where things happen; gauges that describe
//! state (pool use, queue depth, key ages, delivery backlog) are sampled
//! when Prometheus scrapes `GET /metrics`, which is served only on the
//! admin listener (`admin_bind`), never on the public one.

use std::sync::OnceLock;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

/// Latency buckets, seconds: from a cached JWKS answer to an Argon2 hash
/// under load.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder on first use and returns its
/// handle (`None` if another recorder was installed first).
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let installed = PrometheusBuilder::new()
                .set_buckets(&LATENCY_BUCKETS)
                .and_then(PrometheusBuilder::install_recorder);
            match installed {
                Ok(handle) => Some(handle),
                Err(error) => {
                    tracing::warn!(%error, "metrics are off: no recorder");
                    None
                }
            }
        })
        .as_ref()
}

/// A request answered: by method, route pattern (never the raw path,
/// which would let callers create series) and status.
pub fn request_served(
    method: &actix_web::http::Method,
    route: Option<&str>,
    status: u16,
    took: Duration,
) {
    let labels = [
        ("method", method.as_str().to_owned()),
        ("route", route.unwrap_or("unmatched").to_owned()),
        ("status", status.to_string()),
    ];
    counter!("ferrid_http_requests_total", &labels).increment(1);
    histogram!("ferrid_http_request_duration_seconds", &labels).record(took.as_secs_f64());
}

/// An audit event: sign-ins and their failures (`event="login"`), second
/// factors, lockouts, admin changes, by outcome.
pub fn audited(event: &str, outcome: &str) {
    counter!(
        "ferrid_audit_events_total",
        "event" => event.to_owned(),
        "outcome" => outcome.to_owned()
    )
    .increment(1);
}

/// A token response, by grant type.
pub fn token_issued(grant_type: &'static str) {
    counter!("ferrid_tokens_issued_total", "grant_type" => grant_type).increment(1);
}

/// How long a password job waited for a hashing thread.
pub fn password_hash_waited(waited: Duration) {
    histogram!("ferrid_password_hash_wait_seconds").record(waited.as_secs_f64());
}

/// A piece of database work from a request, and whether it finished
/// within the bound.
pub fn database_work(took: Duration, finished: bool) {
    histogram!("ferrid_database_work_seconds").record(took.as_secs_f64());
    if !finished {
        counter!("ferrid_database_timeouts_total").increment(1);
    }
}

/// `GET /metrics`: the Prometheus text format.
pub async fn endpoint(state: web::Data<AppState>) -> HttpResponse {
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
