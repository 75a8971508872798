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
    /// How many times it happened: repeated failed sign-ins for one name
    /// within a window are one row.
    pub repeats: i32,
    /// When it last happened, if more than once.
    pub last_at: Option<i64>,
    /// What makes repeats one row (a digest of the event and the name).
    #[serde(skip)]
    pub aggregate_key: Option<String>,
}

/// Which events `audit_events` returns.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    /// Only events whose actor or subject is this id.
    pub user_id: Option<String>,
    /// Only events at or after this time, Unix seconds.
    pub since: Option<i64>,
    /// Only events before this time, Unix seconds.
    pub until: Option<i64>,
    /// Only events involving this client.
    pub client_id: Option<String>,
    /// Only events of this kind (`login`, `client.create`, …).
    pub event: Option<String>,
    /// Only events with this outcome (`success`, `failure`, `refused`).
    pub outcome: Option<String>,
    /// Only events older than this one (`at`, `id`): the cursor of the
    /// next page back in time.
    pub before: Option<(i64, String)>,
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

    /// Records an event with an `aggregate_key`: if a row with that key
    /// was written at or after `since`, its count goes up instead of a new
    /// row being added. (Two nodes counting the same name at the same
    /// instant may each add a row; nothing is lost.)
    pub fn record_audit_repeat(&self, event: &AuditEvent, since: i64) -> StoreResult<()> {
        let mut connection = self.connection()?;
        // The update comes first, so SQLite takes its write lock at once.
        connection.transaction(|connection| {
            let counted = diesel::update(
                audit_events::table
                    .filter(audit_events::aggregate_key.eq(&event.aggregate_key))
                    .filter(audit_events::at.ge(since)),
            )
            .set((
                audit_events::repeats.eq(audit_events::repeats + 1),
                audit_events::last_at.eq(event.at),
            ))
            .execute(connection)?;
            if counted == 0 {
                diesel::insert_into(audit_events::table)
                    .values(event)
                    .execute(connection)?;
            }
            Ok(())
        })
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
        if let Some(until) = filter.until {
            query = query.filter(audit_events::at.lt(until));
        }
        if let Some(client_id) = &filter.client_id {
            query = query.filter(audit_events::client_id.eq(client_id));
        }
        if let Some(event) = &filter.event {
            query = query.filter(audit_events::event.eq(event));
        }
        if let Some(outcome) = &filter.outcome {
            query = query.filter(audit_events::outcome.eq(outcome));
        }
        if let Some((at, id)) = &filter.before {
            query = query.filter(
                audit_events::at
                    .lt(*at)
                    .or(audit_events::at.eq(*at).and(audit_events::id.lt(id))),
            );
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
