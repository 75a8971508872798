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

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Collects what the subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_event_is_also_a_structured_log_line() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(move || writer.clone())
            .finish();
        let mut event = Event::new("login", Outcome::Failure)
            .actor("user-1")
            .subject("user-1")
            .client("client-1")
            .detail("invalid username or password")
            .row;
        event.ip = Some("192.0.2.1".into());
        event.request_id = Some("req-1".into());
        tracing::subscriber::with_default(subscriber, || log(&event));
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["target"], "audit");
        let fields = &line["fields"];
        for (name, value) in [
            ("event", "login"),
            ("outcome", "failure"),
            ("actor", "user-1"),
            ("subject", "user-1"),
            ("client_id", "client-1"),
            ("ip", "192.0.2.1"),
            ("request_id", "req-1"),
            ("detail", "invalid username or password"),
        ] {
            assert_eq!(fields[name], value, "{name} in {text}");
        }
    }
}
