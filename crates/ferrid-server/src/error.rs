//! One error type for the protocol, shaped like RFC 6749 §5.2, rendered as
//! JSON (token and UserInfo endpoints), as a redirect (authorization
//! endpoint, only to a verified redirect URI), or as an HTML page.

use std::borrow::Cow;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::http::html_response;

/// An OAuth 2.0 / OIDC error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// RFC 6749 §4.1.2.1, §5.2.
    InvalidRequest,
    /// RFC 6749 §5.2.
    InvalidClient,
    /// RFC 6749 §5.2.
    InvalidGrant,
    /// RFC 6749 §4.1.2.1, §5.2.
    UnauthorizedClient,
    /// RFC 6749 §5.2.
    UnsupportedGrantType,
    /// RFC 6749 §4.1.2.1.
    AccessDenied,
    /// RFC 6749 §4.1.2.1.
    UnsupportedResponseType,
    /// RFC 6749 §4.1.2.1, §5.2.
    InvalidScope,
    /// RFC 6749 §4.1.2.1.
    ServerError,
    /// OIDC Core §3.1.2.6.
    LoginRequired,
    /// OIDC Core §3.1.2.6.
    ConsentRequired,
    /// OIDC Core §3.1.2.6.
    InteractionRequired,
    /// OIDC Core §3.1.2.6.
    RequestNotSupported,
    /// OIDC Core §3.1.2.6.
    RequestUriNotSupported,
    /// RFC 9101 §6.3 (OIDC Core §3.1.2.6): a request object that does not
    /// verify or whose claims are wrong.
    InvalidRequestObject,
    /// RFC 9101 §6.2 (OIDC Core §3.1.2.6): a `request_uri` that could not
    /// be fetched.
    InvalidRequestUri,
    /// RFC 8707 §2: an unknown or unpermitted resource.
    InvalidTarget,
    /// RFC 8628 §3.5: the user has not answered yet.
    AuthorizationPending,
    /// RFC 8628 §3.5: poll less often.
    SlowDown,
    /// RFC 8628 §3.5: the device code expired.
    ExpiredToken,
    /// RFC 9449 §7.1: the DPoP proof is missing where required, or wrong.
    InvalidDpopProof,
    /// RFC 9449 §8: the DPoP proof must carry the server's nonce.
    UseDpopNonce,
    /// RFC 7591 §3.2.2: a redirect URI breaks a rule.
    InvalidRedirectUri,
    /// RFC 7591 §3.2.2: other client metadata breaks a rule.
    InvalidClientMetadata,
    /// RFC 7591 §3.2.2: the software statement does not verify.
    InvalidSoftwareStatement,
    /// RFC 6750 §3.1.
    InvalidToken,
    /// RFC 6750 §3.1.
    InsufficientScope,
    /// Not registered: the client is over its request limit (429).
    RateLimited,
    /// RFC 6749 §4.1.2.1: the server cannot answer now (503), here
    /// because the database is unreachable or too slow.
    TemporarilyUnavailable,
}

impl ErrorCode {
    /// The registered error string.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::ServerError => "server_error",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::InteractionRequired => "interaction_required",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::InvalidRequestObject => "invalid_request_object",
            ErrorCode::InvalidRequestUri => "invalid_request_uri",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::AuthorizationPending => "authorization_pending",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::ExpiredToken => "expired_token",
            ErrorCode::InvalidDpopProof => "invalid_dpop_proof",
            ErrorCode::UseDpopNonce => "use_dpop_nonce",
            ErrorCode::InvalidRedirectUri => "invalid_redirect_uri",
            ErrorCode::InvalidClientMetadata => "invalid_client_metadata",
            ErrorCode::InvalidSoftwareStatement => "invalid_software_statement",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

/// Marks a response as a failed attempt (a wrong password or code, failed
/// client authentication, an invalid code or token): the per-address
/// failure limit counts these, and only these.
#[derive(Debug, Clone, Copy)]
pub struct FailedAttempt;

/// `response`, marked as a [`FailedAttempt`].
pub fn failed_attempt(mut response: HttpResponse) -> HttpResponse {
    response.extensions_mut().insert(FailedAttempt);
    response
}

/// A protocol error: a code and a description for the caller.
/// Descriptions never contain secrets or internal detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OAuthError {
    /// The error code.
    pub error: ErrorCode,
    /// Human-readable detail for the client developer.
    pub error_description: Cow<'static, str>,
    /// Seconds to wait, sent as `Retry-After` (with `rate_limited`).
    #[serde(skip)]
    pub retry_after: Option<u64>,
    /// A nonce to send as `DPoP-Nonce` (with `use_dpop_nonce`).
    #[serde(skip)]
    pub dpop_nonce: Option<String>,
}

impl OAuthError {
    /// An error with a description.
    pub fn new(error: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        OAuthError {
            error,
            error_description: description.into(),
            retry_after: None,
            dpop_nonce: None,
        }
    }

    /// `invalid_request` with a description.
    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    /// `server_error`: detail goes to the log, never to the caller.
    pub fn server_error() -> Self {
        Self::new(
            ErrorCode::ServerError,
            "the server could not complete the request",
        )
    }

    /// `temporarily_unavailable`, with `Retry-After`.
    pub fn temporarily_unavailable() -> Self {
        OAuthError {
            retry_after: Some(RETRY_AFTER_SECONDS),
            ..Self::new(
                ErrorCode::TemporarilyUnavailable,
                "the server is temporarily unable to handle the request; try again later",
            )
        }
    }

    /// The HTTP status for this error in a direct (JSON) response.
    pub fn status(&self) -> StatusCode {
        match self.error {
            ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
            ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The JSON response of the token endpoint (RFC 6749 §5.2), with
    /// `WWW-Authenticate` on `invalid_client`.
    pub fn token_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status());
        response
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"));
        if self.error == ErrorCode::InvalidClient {
            response.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"ferrid\""));
        }
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if let Some(nonce) = &self.dpop_nonce {
            response.insert_header((DPOP_NONCE_HEADER, nonce.as_str()));
        }
        self.counted(response.json(self))
    }

    /// Marks the answer to a failed client authentication or an invalid
    /// code or token as a failed attempt.
    fn counted(&self, response: HttpResponse) -> HttpResponse {
        match self.error {
            ErrorCode::InvalidClient | ErrorCode::InvalidGrant | ErrorCode::InvalidToken => {
                failed_attempt(response)
            }
            _ => response,
        }
    }

    /// The response of a protected resource (RFC 6750 §3): the error in
    /// `WWW-Authenticate`, and as JSON for humans reading it.
    pub fn bearer_response(&self) -> HttpResponse {
        // RFC 6750 §3: error_description is limited to %x20-21 / %x23-5B /
        // %x5D-7E, so the header is always valid and never dropped.
        let description: String = self
            .error_description
            .chars()
            .map(|c| match c {
                ' ' | '!' | '#'..='[' | ']'..='~' => c,
                _ => '?',
            })
            .collect();
        // A DPoP failure is answered with the DPoP scheme (RFC 9449 §7.1),
        // always 401, naming the algorithms a proof may use.
        let dpop = matches!(
            self.error,
            ErrorCode::InvalidDpopProof | ErrorCode::UseDpopNonce
        );
        let challenge = if dpop {
            format!(
                "DPoP realm=\"ferrid\", error=\"{}\", error_description=\"{description}\", algs=\"{}\"",
                self.error.as_str(),
                ferrid_tokens::dpop::DPOP_ALGORITHMS.join(" "),
            )
        } else {
            format!(
                "Bearer realm=\"ferrid\", error=\"{}\", error_description=\"{description}\"",
                self.error.as_str(),
            )
        };
        let status = if dpop {
            StatusCode::UNAUTHORIZED
        } else {
            self.status()
        };
        let mut response = HttpResponse::build(status);
        if let Some(nonce) = &self.dpop_nonce {
            response.insert_header((DPOP_NONCE_HEADER, nonce.as_str()));
        }
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response.insert_header((header::WWW_AUTHENTICATE, value));
        }
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        self.counted(
            response
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .json(self),
        )
    }
}

/// An error shown as an HTML page: used whenever redirecting would be
/// unsafe (unknown client, unregistered redirect URI) or there is nobody
/// to redirect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageError {
    /// HTTP status.
    pub status: StatusCode,
    /// Short title.
    pub title: Cow<'static, str>,
    /// What went wrong, specifically.
    pub message: Cow<'static, str>,
    /// What to do about it.
    pub hint: Option<Cow<'static, str>>,
}

impl PageError {
    /// A 400 page.
    pub fn bad_request(
        title: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        PageError {
            status: StatusCode::BAD_REQUEST,
            title: title.into(),
            message: message.into(),
            hint: None,
        }
    }

    /// Adds advice for the reader.
    pub fn with_hint(mut self, hint: impl Into<Cow<'static, str>>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// A 500 page; the detail was logged by the caller.
    pub fn internal() -> Self {
        PageError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            title: "Something went wrong".into(),
            message: "The server could not complete the request. Please try again.".into(),
            hint: None,
        }
    }

    /// A 503 page (sent with `Retry-After`): the database is unreachable.
    pub fn unavailable() -> Self {
        PageError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            title: "Temporarily unavailable".into(),
            message: "The service cannot complete the request right now.".into(),
            hint: Some("Please try again in a few seconds.".into()),
        }
    }

    /// A page saying the sign-in request is unknown or has expired.
    pub fn expired_request() -> Self {
        PageError::bad_request(
            "Sign-in expired",
            "This sign-in request is unknown or has expired.",
        )
        .with_hint("Return to the application and start signing in again.")
    }

    /// Renders the page.
    pub fn response(&self) -> HttpResponse {
        let page = ferrid_pages::ErrorPage {
            title: &self.title,
            message: &self.message,
            hint: self.hint.as_deref(),
        };
        with_retry_after(html_response(self.status, &page))
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}: {}", self.title, self.message)
    }
}

/// A handler returning `Err(PageError)` answers with the page.
impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        self.response()
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{}: {}",
            self.error.as_str(),
            self.error_description
        )
    }
}

/// An [`OAuthError`] answered as a JSON body (RFC 6749 §5.2): what the
/// token, introspection and revocation endpoints return.
#[derive(Debug)]
pub struct JsonError(pub OAuthError);

impl<E: Into<OAuthError>> From<E> for JsonError {
    fn from(error: E) -> Self {
        JsonError(error.into())
    }
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(formatter)
    }
}

impl ResponseError for JsonError {
    fn status_code(&self) -> StatusCode {
        self.0.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.0.token_response()
    }
}

/// An [`OAuthError`] answered with a bearer challenge (RFC 6750 §3): what
/// a protected resource (UserInfo) returns.
#[derive(Debug)]
pub struct BearerError(pub OAuthError);

impl<E: Into<OAuthError>> From<E> for BearerError {
    fn from(error: E) -> Self {
        BearerError(error.into())
    }
}

impl std::fmt::Display for BearerError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(formatter)
    }
}

impl ResponseError for BearerError {
    fn status_code(&self) -> StatusCode {
        self.0.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.0.bearer_response()
    }
}

/// The response header that carries a fresh DPoP nonce (RFC 9449 §8).
pub const DPOP_NONCE_HEADER: &str = "DPoP-Nonce";

/// Seconds a caller is asked to wait (`Retry-After`) when the database is
/// unreachable: about how long a pool takes to reconnect.
pub const RETRY_AFTER_SECONDS: u64 = 5;

/// Adds `Retry-After` to a 503 answer.
pub fn with_retry_after(mut response: HttpResponse) -> HttpResponse {
    if response.status() == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    }
    response
}

/// An internal failure (database, signing). Its detail is logged where it
/// happens and the caller sees only a generic error: "try again later"
/// (503) when the database is unreachable or too slow, a 500 otherwise.
#[derive(Debug)]
pub struct Internal {
    unavailable: bool,
}

impl Internal {
    /// Logs `error` and returns the opaque marker.
    pub fn log(error: impl std::fmt::Display) -> Internal {
        tracing::error!(%error, "internal error");
        Internal { unavailable: false }
    }

    /// The database did not answer in time. Not logged as an error here:
    /// the pool logs an outage once, when it starts.
    pub fn unavailable(error: impl std::fmt::Display) -> Internal {
        tracing::debug!(%error, "database unavailable");
        Internal { unavailable: true }
    }

    /// Whether the caller should be told to try again later.
    pub fn is_unavailable(&self) -> bool {
        self.unavailable
    }
}

impl From<Internal> for PageError {
    fn from(internal: Internal) -> Self {
        if internal.unavailable {
            PageError::unavailable()
        } else {
            PageError::internal()
        }
    }
}

impl From<Internal> for OAuthError {
    fn from(internal: Internal) -> Self {
        if internal.unavailable {
            OAuthError::temporarily_unavailable()
        } else {
            OAuthError::server_error()
        }
    }
}

impl From<ferrid_store::StoreError> for Internal {
    fn from(error: ferrid_store::StoreError) -> Self {
        match error {
            // The pool logs an outage itself, once.
            ferrid_store::StoreError::Pool(_) => Internal::unavailable(error),
            // A slow, locked or full database: worth a line each time.
            _ if error.is_unavailable() => {
                tracing::warn!(%error, "database unavailable; answered 503");
                Internal { unavailable: true }
            }
            _ => Internal::log(error),
        }
    }
}

impl From<ferrid_tokens::TokenError> for Internal {
    fn from(error: ferrid_tokens::TokenError) -> Self {
        Internal::log(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenge_survives_any_description() {
        let error = OAuthError::invalid_request("parameter 'é\"\\' is odd");
        let response = error.bearer_response();
        let challenge = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .unwrap()
            .to_str()
            .unwrap();
        assert!(challenge.contains("error=\"invalid_request\""));
        assert!(challenge.contains("parameter '???' is odd"));
    }
}
