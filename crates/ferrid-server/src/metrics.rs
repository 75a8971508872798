//! Prometheus metrics: what operators graph and alert on. Counters and
//! histograms are recorded here, where things happen; the gauges that
//! describe state are sampled by the scrape endpoint
//! ([`crate::endpoints::metrics`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use actix_web::http::Method;

use metrics::{counter, histogram, Counter, Histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

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

/// One request series: method, route pattern, status.
type SeriesKey = (Method, String, u16);

thread_local! {
    /// Each worker's handles to the request series it has seen, so the
    /// hot path neither builds label sets nor searches the registry.
    static REQUEST_SERIES: RefCell<HashMap<SeriesKey, (Counter, Histogram)>> =
        RefCell::new(HashMap::new());
}

/// A request answered: by method, route pattern (never the raw path,
/// which would let callers create series) and status.
pub fn request_served(method: &Method, route: Option<&str>, status: u16, took: Duration) {
    let route = route.unwrap_or("unmatched");
    REQUEST_SERIES.with(|series| {
        let mut series = series.borrow_mut();
        let key = (method.clone(), route.to_owned(), status);
        let (requests, durations) = series.entry(key).or_insert_with(|| {
            let labels = [
                ("method", method.as_str().to_owned()),
                ("route", route.to_owned()),
                ("status", status.to_string()),
            ];
            (
                counter!("ferrid_http_requests_total", &labels),
                histogram!("ferrid_http_request_duration_seconds", &labels),
            )
        });
        requests.increment(1);
        durations.record(took.as_secs_f64());
    });
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
