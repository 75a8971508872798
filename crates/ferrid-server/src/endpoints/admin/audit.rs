//! `/admin/api/v1/audit`: the audit log, newest first, filtered by user,
//! client, event kind, outcome and time, paged back in time, as JSON or
//! as CSV for export.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_store::AuditFilter;
use serde::Deserialize;
use serde_json::json;

use crate::admin_auth::{self, Access};
use crate::audit::{to_csv, MAX_EVENTS};
use crate::endpoints::admin::document;
use crate::problem::Problem;
use crate::state::AppState;

/// The query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    /// A user id: events by or about them.
    user: Option<String>,
    client: Option<String>,
    event: Option<String>,
    outcome: Option<String>,
    /// Unix seconds, inclusive.
    since: Option<i64>,
    /// Unix seconds, exclusive.
    until: Option<i64>,
    /// The `next` of the previous page.
    before: Option<String>,
    limit: Option<i64>,
    /// `json` (default) or `csv`.
    format: Option<String>,
}

/// `GET /admin/api/v1/audit`.
#[utoipa::path(get, path = "/admin/api/v1/audit", tag = "audit", params(("user" = Option<String>, Query), ("client" = Option<String>, Query), ("event" = Option<String>, Query), ("outcome" = Option<String>, Query), ("since" = Option<i64>, Query), ("until" = Option<i64>, Query), ("before" = Option<String>, Query), ("limit" = Option<i64>, Query), ("format" = Option<String>, Query)), responses((status = 200, description = "Events, newest first (JSON, or CSV with format=csv)"), (status = 401, description = "No valid token for the admin API"), (status = 403, description = "The token lacks the scope, or the user the role"), (status = 400, description = "A filter is malformed")), security(("bearer" = ["ferrid:admin.read"])))]
pub async fn list(state: web::Data<AppState>, http: HttpRequest) -> Result<HttpResponse, Problem> {
    admin_auth::authorize(&state, &http, Access::Read).await?;
    let query = web::Query::<AuditQuery>::from_query(http.query_string())
        .map_err(|error| Problem::bad_request(error.to_string()))?
        .into_inner();
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_EVENTS).contains(&limit) {
        return Err(Problem::bad_request(format!(
            "limit must be 1 to {MAX_EVENTS}"
        )));
    }
    if query
        .outcome
        .as_deref()
        .is_some_and(|outcome| !["success", "failure", "refused"].contains(&outcome))
    {
        return Err(Problem::bad_request(
            "outcome must be success, failure or refused",
        ));
    }
    let before = query
        .before
        .as_deref()
        .map(|cursor| {
            cursor
                .split_once(':')
                .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id.to_owned())))
                .ok_or_else(|| Problem::bad_request("before must be the next value of a page"))
        })
        .transpose()?;
    let csv = match query.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(Problem::bad_request("format must be json or csv")),
    };
    let filter = AuditFilter {
        user_id: query.user,
        since: query.since,
        until: query.until,
        client_id: query.client,
        event: query.event,
        outcome: query.outcome,
        before,
        limit: limit + 1,
    };
    let mut events = state.db(move |store| store.audit_events(&filter)).await?;
    // The store returns the newest, oldest first: newest first here.
    events.reverse();
    let more = events.len() as i64 > limit;
    events.truncate(limit as usize);
    let next = more
        .then(|| {
            events
                .last()
                .map(|event| format!("{}:{}", event.at, event.id))
        })
        .flatten();
    if csv {
        let mut response = HttpResponse::Ok();
        response
            .content_type("text/csv; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"ferrid-audit.csv\"",
            ));
        if let Some(next) = &next {
            response.insert_header(("X-Next-Before", next.as_str()));
        }
        return Ok(response.body(to_csv(&events)));
    }
    Ok(document(json!({ "items": events, "next": next })))
}
