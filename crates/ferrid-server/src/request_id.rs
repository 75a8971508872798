//! A random id for every request, returned in `X-Request-Id`, carried by
//! every log line written while serving it and by its audit events, so
//! an operator can match a user's report to what the server recorded.
//! [`crate::access_log`] assigns it.

use actix_web::{HttpMessage, HttpRequest};

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

/// A new id: 64 random bits as 16 hex digits. It names a request in logs
/// and audit rows and guards nothing, so it comes from the thread's fast
/// generator rather than a system call per request.
pub fn generate() -> String {
    format!("{:016x}", rand::random::<u64>())
}
