//! The audit trail: security-relevant events written to the `audit_events`
//! table and to the structured log (target `audit`). Events carry ids,
//! addresses and outcomes, never a password, secret, code or token.

use actix_web::HttpRequest;
use ferrid_store::{AuditEvent, Store};

use crate::state::AppState;

/// Outcome of an audited action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It happened.
    Success,
    /// Wrong credentials or code.
    Failure,
    /// Refused by a policy (lock, rate limit, disabled account).
    Refused,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Refused => "refused",
        }
    }
}

/// An event being described.
#[derive(Debug, Clone)]
pub struct Event {
    row: AuditEvent,
}

impl Event {
    /// A new event, e.g. `Event::new("login", Outcome::Success)`.
    pub fn new(event: &str, outcome: Outcome) -> Event {
        Event {
            row: AuditEvent {
                id: uuid::Uuid::now_v7().to_string(),
                at: 0,
                event: event.to_owned(),
                outcome: outcome.as_str().to_owned(),
                actor: None,
                subject: None,
                client_id: None,
                ip: None,
                request_id: None,
                detail: None,
            },
        }
    }

    /// Who acted (a user id, `cli`, `system`).
    pub fn actor(mut self, actor: impl ToString) -> Event {
        self.row.actor = Some(actor.to_string());
        self
    }

    /// Whom or what it concerns (a user id, key id, client id).
    pub fn subject(mut self, subject: impl ToString) -> Event {
        self.row.subject = Some(subject.to_string());
        self
    }

    /// The relying party involved.
    pub fn client(mut self, client_id: impl ToString) -> Event {
        self.row.client_id = Some(client_id.to_string());
        self
    }

    /// A short detail (never a secret).
    pub fn detail(mut self, detail: impl ToString) -> Event {
        self.row.detail = Some(detail.to_string());
        self
    }

    /// Writes the event for a request: its client address and request id
    /// are added. A failure to write is logged, never shown to the user.
    pub async fn record(mut self, state: &AppState, request: &HttpRequest) {
        self.row.ip = state
            .rate_limiter
            .client_ip(request)
            .map(|ip| ip.to_string());
        self.row.request_id = crate::request_id::of(request);
        self.row.at = state.now();
        let row = self.row;
        log(&row);
        if let Err(error) = state.db(move |store| store.record_audit(&row)).await {
            tracing::error!(?error, "could not write an audit event");
        }
    }

    /// Writes an event from outside a request (the CLI, background
    /// work), blocking.
    pub fn record_now(mut self, store: &Store, now: i64) -> ferrid_store::StoreResult<()> {
        self.row.at = now;
        log(&self.row);
        store.record_audit(&self.row)
    }
}

fn log(row: &AuditEvent) {
    tracing::info!(
        target: "audit",
        event = %row.event,
        outcome = %row.outcome,
        actor = row.actor.as_deref(),
        subject = row.subject.as_deref(),
        client_id = row.client_id.as_deref(),
        ip = row.ip.as_deref(),
        request_id = row.request_id.as_deref(),
        detail = row.detail.as_deref(),
        "audit"
    );
}
