//! `/admin/audit`: the audit log filtered by user, client, event kind,
//! outcome and dates, paged back in time, and exported as CSV or JSON
//! (the same CSV as the admin API's).

use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_pages::console::{AuditFilters, AuditPage, Choice, EventRow, FieldErrors};
use ferrid_store::{AuditEvent, AuditFilter};

use crate::audit::{to_csv, MAX_EVENTS};
use crate::endpoints::console::{download, signed_in, ConsoleError, Page};
use crate::http::Params;
use crate::state::AppState;

/// Events per page.
const PAGE_SIZE: i64 = 50;
const OUTCOMES: [&str; 3] = ["success", "failure", "refused"];

/// A date `YYYY-MM-DD` as Unix seconds at its start (UTC).
fn day_start(text: &str) -> Option<i64> {
    let mut parts = text.splitn(3, '-');
    let year = parts.next()?.parse().ok()?;
    let month = time::Month::try_from(parts.next()?.parse::<u8>().ok()?).ok()?;
    let day = parts.next()?.parse().ok()?;
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp())
}

/// The filters of the query, the store's filter for them, and errors.
async fn filters(
    state: &AppState,
    query: &Params,
) -> Result<(AuditFilters, AuditFilter, FieldErrors), ConsoleError> {
    let text = |name: &str| {
        query
            .get(name)
            .unwrap_or_default()
            .trim()
            .chars()
            .take(254)
            .collect::<String>()
    };
    let typed = AuditFilters {
        user: text("user"),
        client: text("client"),
        event: text("event"),
        outcome: text("outcome"),
        since: text("since"),
        until: text("until"),
    };
    let mut errors = FieldErrors::none();
    let mut date = |field: &'static str, value: &str, offset: i64| {
        if value.is_empty() {
            return None;
        }
        let start = day_start(value);
        if start.is_none() {
            errors.add(field, "Write the date as YYYY-MM-DD, e.g. 2026-12-03.");
        }
        start.map(|start| start + offset)
    };
    let since = date("since", &typed.since, 0);
    // "Until" is inclusive: up to the end of that day.
    let until = date("until", &typed.until, 86_400);
    if !typed.outcome.is_empty() && !OUTCOMES.contains(&typed.outcome.as_str()) {
        errors.add("outcome", "Choose success, failure or refused.");
    }
    // A username is looked up; anything else is taken as a user id.
    let user_id = match typed.user.as_str() {
        "" => None,
        login => {
            let login = login.to_owned();
            let found = state
                .db(move |store| store.find_user_by_login(&login))
                .await?;
            Some(found.map_or_else(|| typed.user.clone(), |user| user.id))
        }
    };
    let before = query.get("before").and_then(|cursor| {
        cursor
            .split_once(':')
            .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id.to_owned())))
    });
    let some = |value: &String| (!value.is_empty()).then(|| value.clone());
    let filter = AuditFilter {
        user_id,
        since,
        until,
        client_id: some(&typed.client),
        event: some(&typed.event),
        outcome: some(&typed.outcome),
        before,
        limit: PAGE_SIZE,
    };
    Ok((typed, filter, errors))
}

fn query_of(filters: &AuditFilters) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        ("user", &filters.user),
        ("client", &filters.client),
        ("event", &filters.event),
        ("outcome", &filters.outcome),
        ("since", &filters.since),
        ("until", &filters.until),
    ] {
        if !value.is_empty() {
            query.append_pair(name, value);
        }
    }
    query.finish()
}

fn row(event: &AuditEvent) -> EventRow {
    let detail = event.detail.clone().unwrap_or_default();
    EventRow {
        at: ferrid_service::clock::timestamp(event.at),
        event: event.event.clone(),
        outcome: event.outcome.clone(),
        actor: event.actor.clone().unwrap_or_default(),
        subject: event.subject.clone().unwrap_or_default(),
        client: event.client_id.clone().unwrap_or_default(),
        detail: if event.repeats > 1 {
            format!("{detail} (×{})", event.repeats)
        } else {
            detail
        },
    }
}

/// Newest first, at most `limit` (plus one, to know if there are more).
async fn events(
    state: &AppState,
    mut filter: AuditFilter,
    limit: i64,
) -> Result<Vec<AuditEvent>, ConsoleError> {
    filter.limit = limit + 1;
    let mut events = state.db(move |store| store.audit_events(&filter)).await?;
    events.reverse();
    Ok(events)
}

/// `GET /admin/audit`.
pub async fn list(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    let admin = signed_in(&state, &http).await?;
    let query = Params::parse(http.query_string().as_bytes()).unwrap_or_default();
    let (typed, filter, errors) = filters(&state, &query).await?;
    let mut found = if errors.is_empty() {
        events(&state, filter, PAGE_SIZE).await?
    } else {
        Vec::new()
    };
    let more = found.len() as i64 > PAGE_SIZE;
    found.truncate(PAGE_SIZE as usize);
    let base = query_of(&typed);
    let next = more.then(|| found.last()).flatten().map(|event| {
        let cursor = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("before", &format!("{}:{}", event.at, event.id))
            .finish();
        if base.is_empty() {
            cursor
        } else {
            format!("{base}&{cursor}")
        }
    });
    let page = Page::new(&state, &http, &admin);
    let view = AuditPage {
        frame: page.frame("audit"),
        outcomes: OUTCOMES
            .iter()
            .map(|outcome| Choice {
                value: (*outcome).to_owned(),
                label: (*outcome).to_owned(),
                chosen: typed.outcome == *outcome,
            })
            .collect(),
        events: found.iter().map(row).collect(),
        next,
        export_query: base,
        filters: typed,
        errors,
    };
    page.respond(&view, &view.errors)
}

async fn export(state: &AppState, http: &HttpRequest) -> Result<Vec<AuditEvent>, ConsoleError> {
    signed_in(state, http).await?;
    let query = Params::parse(http.query_string().as_bytes()).unwrap_or_default();
    let (_, filter, errors) = filters(state, &query).await?;
    if !errors.is_empty() {
        return Err(crate::error::PageError::bad_request(
            "Invalid filters",
            errors
                .all()
                .iter()
                .map(|(_, message)| message.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        )
        .into());
    }
    let mut found = events(state, filter, MAX_EVENTS).await?;
    found.truncate(MAX_EVENTS as usize);
    Ok(found)
}

/// `GET /admin/audit/export.csv`: the newest events matching the filters.
pub async fn export_csv(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    let found = export(&state, &http).await?;
    Ok(download(
        "text/csv; charset=utf-8",
        "ferrid-audit.csv",
        to_csv(&found),
    ))
}

/// `GET /admin/audit/export.json`.
pub async fn export_json(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    let found = export(&state, &http).await?;
    let body = serde_json::to_string_pretty(&found).map_err(crate::error::Internal::log)?;
    Ok(download("application/json", "ferrid-audit.json", body))
}
