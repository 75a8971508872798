//! The audit log: one row per security-relevant event. Rows never hold a
//! password, secret, code or token; callers pass identifiers only.

use diesel::prelude::*;
use serde::Serialize;

use crate::error::StoreResult;
use crate::schema::audit_events;
use crate::Store;

/// One audit event.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    /// Random event id.
    pub id: String,
    /// When it happened, Unix seconds.
    pub at: i64,
    /// What happened, e.g. `login`, `mfa.enrol`, `key.rotate`.
    pub event: String,
    /// `success`, `failure` or `refused`.
    pub outcome: String,
    /// Who did it: a user id, `cli`, `system`, or a client id.
    pub actor: Option<String>,
    /// Whom or what it concerns: a user id, a key id, a client id.
    pub subject: Option<String>,
    /// The relying party involved, if any.
    pub client_id: Option<String>,
    /// The client IP address, for requests.
    pub ip: Option<String>,
    /// The request id (also in the structured log), for requests.
    pub request_id: Option<String>,
    /// A short free-text detail, e.g. the limit that refused a login.
    pub detail: Option<String>,
}

/// Which events `audit_events` returns.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    /// Only events whose actor or subject is this id.
    pub user_id: Option<String>,
    /// Only events at or after this time, Unix seconds.
    pub since: Option<i64>,
    /// At most this many (the newest).
    pub limit: i64,
}

impl Store {
    /// Appends an event.
    pub fn record_audit(&self, event: &AuditEvent) -> StoreResult<()> {
        let mut connection = self.connection()?;
        diesel::insert_into(audit_events::table)
            .values(event)
            .execute(&mut connection)?;
        Ok(())
    }

    /// The newest events matching `filter`, oldest first.
    pub fn audit_events(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEvent>> {
        let mut connection = self.connection()?;
        let mut query = audit_events::table.into_boxed();
        if let Some(user_id) = &filter.user_id {
            query = query.filter(
                audit_events::subject
                    .eq(user_id)
                    .or(audit_events::actor.eq(user_id)),
            );
        }
        if let Some(since) = filter.since {
            query = query.filter(audit_events::at.ge(since));
        }
        let mut events: Vec<AuditEvent> = query
            .order((audit_events::at.desc(), audit_events::id.desc()))
            .limit(filter.limit.max(1))
            .select(AuditEvent::as_select())
            .load(&mut connection)?;
        events.reverse();
        Ok(events)
    }
}
