//! The access log and the request's span: every request gets its id
//! ([`crate::request_id`]), is served inside a tracing span carrying it
//! (so every log line written meanwhile names it), is counted in the
//! metrics, and gets an access line with its parts as structured fields.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};
use tracing::Instrument;

use crate::base_path::{self, BasePath};
use crate::request_id::{self, RequestId, HEADER};
use crate::settings::AccessLog;
use crate::state::AppState;

/// Middleware: assigns the request id (never taken from the client, which could
/// forge one), serves the request inside a span carrying it, echoes it in
/// the response, and writes the access line. Only the path is logged,
/// never the query: e-mailed links carry their token there.
pub async fn middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let id = request_id::generate();
    request.extensions_mut().insert(RequestId(id.clone()));
    let state = request.app_data::<web::Data<AppState>>().cloned();
    let base = request
        .app_data::<web::Data<BasePath>>()
        .map(|base| base.0.clone())
        .unwrap_or_default();
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = base_path::scoped(base, next.call(request).instrument(span.clone())).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(HEADER), value);
    }
    let status = response.status().as_u16();
    let http = response.request();
    crate::metrics::request_served(
        http.method(),
        http.match_pattern().as_deref(),
        status,
        started.elapsed(),
    );
    // Only what the line needs, and only when it is written: this runs
    // on every request.
    let access_log = state
        .as_ref()
        .map_or(AccessLog::default(), |state| state.settings.access_log);
    if access_log.wants(status) {
        let client = state
            .as_ref()
            .and_then(|state| state.rate_limiter.addresses.resolve(http));
        span.in_scope(|| {
            tracing::info!(
                target: "ferrid::access",
                method = %http.method(),
                path = %http.path(),
                status,
                duration_ms = started.elapsed().as_secs_f64() * 1000.0,
                client = client.map(|ip| ip.to_string()).as_deref().unwrap_or("-"),
                "request served"
            );
        });
    }
    Ok(response)
}
