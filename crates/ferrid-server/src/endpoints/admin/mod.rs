//! The admin API (`/admin/api/v1/…`): JSON over HTTP for what the CLI
//! does, through the same service layer and its rules. Callers hold an
//! access token for the admin API ([`crate::admin_auth`]); errors are
//! problem details ([`crate::problem`]); lists are paged by key; a
//! resource's `ETag` must come back in `If-Match` to change it, so two
//! administrators editing one client cannot overwrite each other.

pub mod apis;
pub mod audit;
pub mod clients;
pub mod groups;
pub mod keys;
pub mod openapi;
pub mod policies;
pub mod users;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::problem::Problem;

/// Largest page.
pub const MAX_PAGE: i64 = 200;
/// Page size when none is asked for.
pub const DEFAULT_PAGE: i64 = 50;

/// `?limit=…&after=…`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paging {
    /// Items per page (1 to [`MAX_PAGE`]).
    pub limit: Option<i64>,
    /// The `next` value of the previous page.
    pub after: Option<String>,
}

impl Paging {
    /// The page size asked for, checked.
    pub fn limit(&self) -> Result<i64, Problem> {
        match self.limit {
            None => Ok(DEFAULT_PAGE),
            Some(limit) if (1..=MAX_PAGE).contains(&limit) => Ok(limit),
            Some(_) => Err(Problem::bad_request(format!(
                "limit must be 1 to {MAX_PAGE}"
            ))),
        }
    }
}

/// The `ETag` of a resource's representation: a digest of its JSON.
pub fn etag(representation: &impl serde::Serialize) -> String {
    let bytes = serde_json::to_vec(representation).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    let hex: String = digest[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("\"{hex}\"")
}

/// A resource's representation with its `ETag`, never cached; `secret`
/// (a member shown only in this response) is added outside the tag.
pub fn represented(
    view: &impl serde::Serialize,
    status: StatusCode,
    secret: Option<(&str, &str)>,
) -> HttpResponse {
    let tag = etag(view);
    let mut body = serde_json::json!(view);
    if let Some((name, value)) = secret {
        body[name] = serde_json::json!(value);
    }
    HttpResponse::build(status)
        .insert_header((header::ETAG, tag))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

/// A `200` JSON document, never cached.
pub fn document(body: serde_json::Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

/// Sets `Location` to `path` under the admin API.
pub fn locate(response: &mut HttpResponse, path: &str) {
    let location = crate::base_path::rebase_location(&format!("{}{path}", crate::paths::ADMIN_API));
    if let Ok(location) = header::HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
}

/// Checks `If-Match` against the current `ETag`: required to change a
/// resource (`428` without it, `412` when it is stale).
pub fn check_if_match(http: &HttpRequest, current: &str) -> Result<(), Problem> {
    let Some(if_match) = http
        .headers()
        .get(header::IF_MATCH)
        .and_then(|value| value.to_str().ok())
    else {
        return Err(Problem::new(
            StatusCode::PRECONDITION_REQUIRED,
            "Precondition required",
            "send the resource's ETag in If-Match, so a change made meanwhile is not overwritten",
        ));
    };
    let matches = if_match
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag == current);
    if !matches {
        return Err(Problem::new(
            StatusCode::PRECONDITION_FAILED,
            "Precondition failed",
            "the resource changed since it was read; read it again and retry",
        ));
    }
    Ok(())
}

/// A JSON request body of type `T`, refused unless declared as JSON.
pub fn json_body<T: DeserializeOwned>(http: &HttpRequest, body: &[u8]) -> Result<T, Problem> {
    let is_json = http
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type",
            "send the body as application/json",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|error| Problem::bad_request(format!("the JSON body is invalid: {error}")))
}
