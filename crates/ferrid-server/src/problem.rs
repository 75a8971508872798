//! Errors of the admin API as RFC 9457 problem details
//! (`application/problem+json`): a status, a short title, a specific
//! detail, and for a refused registration the field it is about.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::error::Internal;

/// A problem with an admin API request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The HTTP status.
    pub status: StatusCode,
    /// What kind of problem, in a few words.
    pub title: &'static str,
    /// This occurrence, specifically.
    pub detail: String,
    /// The request member the problem is about, if one is.
    pub field: Option<&'static str>,
    /// The `WWW-Authenticate` challenge of a 401 or 403.
    pub challenge: Option<String>,
    /// A nonce for the caller's next DPoP proof (`DPoP-Nonce`).
    pub dpop_nonce: Option<String>,
}

impl Problem {
    /// A problem with `status`, `title` and `detail`.
    pub fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            status,
            title,
            detail: detail.into(),
            field: None,
            challenge: None,
            dpop_nonce: None,
        }
    }

    /// `400`: the request is malformed.
    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, "Bad request", detail)
    }

    /// `404`: nothing at this path.
    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "Not found", detail)
    }

    /// `422`: well-formed, but it breaks a rule about `field`.
    pub fn invalid(field: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            field: Some(field),
            ..Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid value", detail)
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}: {}", self.title, self.detail)
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut body = json!({
            "type": "about:blank",
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let Some(field) = self.field {
            body["errors"] = json!([{ "field": field, "detail": self.detail }]);
        }
        let mut response = HttpResponse::build(self.status);
        response
            .content_type("application/problem+json")
            .insert_header((header::CACHE_CONTROL, "no-store"));
        if let Some(challenge) = &self.challenge {
            response.insert_header((header::WWW_AUTHENTICATE, challenge.as_str()));
        }
        if let Some(nonce) = &self.dpop_nonce {
            response.insert_header((crate::error::DPOP_NONCE_HEADER, nonce.as_str()));
        }
        crate::error::with_retry_after(response.body(body.to_string()))
    }
}

impl From<Internal> for Problem {
    fn from(internal: Internal) -> Self {
        if internal.is_unavailable() {
            return Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                "the database is unreachable; try again later",
            );
        }
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal error",
            "the server failed; the error is logged",
        )
    }
}
