//! A random id for every request, returned in `X-Request-Id`, carried by
//! every log line written while serving it (the request's tracing span)
//! and by its audit events, so an operator can match a user's report to
//! what the server recorded; and the access log line, with its fields as
//! structured fields.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest};
use serde::Deserialize;
use tracing::Instrument;

use crate::state::AppState;

/// The header carrying the id.
pub const HEADER: &str = "x-request-id";

/// The id of the request being served.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The id of `request`, if the middleware gave it one.
pub fn of(request: &HttpRequest) -> Option<String> {
    request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone())
}

/// Which requests get an access log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessLog {
    /// Every request.
    All,
    /// Requests answered with a status of 400 or more (the default: a
    /// busy node would otherwise write tens of gigabytes a day).
    #[default]
    Errors,
    /// None.
    Off,
}

impl AccessLog {
    fn wants(self, status: u16) -> bool {
        match self {
            AccessLog::All => true,
            AccessLog::Errors => status >= 400,
            AccessLog::Off => false,
        }
    }
}

/// Middleware: assigns the id (never taken from the client, which could
/// forge one), serves the request inside a span carrying it, echoes it in
/// the response, and writes the access line. Only the path is logged,
/// never the query: e-mailed links carry their token there.
pub async fn middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let id = ferrid_store::secret::random_identifier(8);
    request.extensions_mut().insert(RequestId(id.clone()));
    let access_log = request
        .app_data::<web::Data<AppState>>()
        .map_or(AccessLog::default(), |state| state.settings.access_log);
    let method = request.method().clone();
    let path = request.path().to_owned();
    let client = request
        .app_data::<web::Data<AppState>>()
        .and_then(|state| state.rate_limiter.addresses.resolve(request.request()));
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = next.call(request).instrument(span.clone()).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(HEADER), value);
    }
    let status = response.status().as_u16();
    crate::metrics::request_served(
        &method,
        response.request().match_pattern().as_deref(),
        status,
        started.elapsed(),
    );
    if access_log.wants(status) {
        span.in_scope(|| {
            tracing::info!(
                target: "ferrid::access",
                method = %method,
                path = %path,
                status,
                duration_ms = started.elapsed().as_secs_f64() * 1000.0,
                client = client.map(|ip| ip.to_string()).as_deref().unwrap_or("-"),
                "request served"
            );
        });
    }
    Ok(response)
}
