//! The request's side of the audit trail: events described with
//! [`ferrid_service::audit::Event`] are recorded with the client's address
//! and the request id of the request that caused them.

use actix_web::HttpRequest;
use ferrid_service::audit::Event;
use ferrid_store::AuditEvent;

use crate::state::AppState;

/// Records an audit event for a request.
pub trait RecordForRequest {
    /// Writes the event with `request`'s client address and request id. A
    /// failure to write is logged, never shown to the user.
    fn record(
        self,
        state: &AppState,
        request: &HttpRequest,
    ) -> impl std::future::Future<Output = ()>;
}

impl RecordForRequest for Event {
    async fn record(self, state: &AppState, request: &HttpRequest) {
        crate::metrics::audited(self.kind(), self.outcome());
        let event = self.origin(
            state
                .rate_limiter
                .addresses
                .resolve(request)
                .map(|ip| ip.to_string()),
            crate::request_id::of(request),
        );
        let now = state.now();
        if let Err(error) = state.db(move |store| event.write(store, now)).await {
            tracing::error!(?error, "could not write an audit event");
        }
    }
}

/// Largest page (or export) of events.
pub const MAX_EVENTS: i64 = 1000;

const COLUMNS: [&str; 11] = [
    "id",
    "at",
    "event",
    "outcome",
    "actor",
    "subject",
    "client_id",
    "ip",
    "request_id",
    "repeats",
    "detail",
];

/// RFC 4180 CSV, with cells a spreadsheet would run as a formula made
/// inert (OWASP CSV injection).
pub fn to_csv(events: &[AuditEvent]) -> String {
    let mut out = COLUMNS.join(",");
    out.push_str("\r\n");
    for event in events {
        let cells = [
            event.id.clone(),
            ferrid_service::clock::timestamp(event.at),
            event.event.clone(),
            event.outcome.clone(),
            event.actor.clone().unwrap_or_default(),
            event.subject.clone().unwrap_or_default(),
            event.client_id.clone().unwrap_or_default(),
            event.ip.clone().unwrap_or_default(),
            event.request_id.clone().unwrap_or_default(),
            event.repeats.to_string(),
            event.detail.clone().unwrap_or_default(),
        ];
        let line: Vec<String> = cells.iter().map(|cell| csv_cell(cell)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

fn csv_cell(value: &str) -> String {
    let inert = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if inert.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", inert.replace('"', "\"\""))
    } else {
        inert
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_inert() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_cell("-1+2,3"), "\"'-1+2,3\"");
    }
}
