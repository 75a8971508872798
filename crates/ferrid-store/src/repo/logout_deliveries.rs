//! The back-channel logout outbox: logout tokens waiting to be delivered,
//! claimed one at a time so several nodes never send the same one at once.

use diesel::prelude::*;

use crate::error::StoreResult;
use crate::schema::{clients, grants, logout_deliveries};
use crate::Store;

/// An outbox row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = logout_deliveries)]
pub struct LogoutDelivery {
    /// Random id.
    pub id: String,
    /// The receiving client.
    pub client_id: String,
    /// Its `backchannel_logout_uri`.
    pub uri: String,
    /// The signed logout token.
    pub logout_token: String,
    /// Delivery attempts so far.
    pub attempts: i64,
    /// When it may next be tried, Unix seconds.
    pub next_attempt_at: i64,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// When the receiver accepted it.
    pub delivered_at: Option<i64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

/// A client to notify when a session ends.
#[derive(Debug, Clone)]
pub struct BackchannelTarget {
    /// The client.
    pub client_id: String,
    /// Its receiver.
    pub uri: String,
    /// Its ID token algorithm (the logout token uses the same).
    pub alg: String,
}

impl Store {
    /// The clients with a back-channel receiver that received tokens from
    /// session `sid`.
    pub fn backchannel_targets(&self, sid: &str) -> StoreResult<Vec<BackchannelTarget>> {
        let mut connection = self.connection()?;
        let rows: Vec<(String, Option<String>, String)> = grants::table
            .inner_join(clients::table)
            .filter(grants::sid.eq(sid))
            .filter(clients::backchannel_logout_uri.is_not_null())
            .select((
                clients::client_id,
                clients::backchannel_logout_uri,
                clients::id_token_signed_response_alg,
            ))
            .distinct()
            .load(&mut connection)?;
        Ok(rows
            .into_iter()
            .filter_map(|(client_id, uri, alg)| {
                uri.map(|uri| BackchannelTarget {
                    client_id,
                    uri,
                    alg,
                })
            })
            .collect())
    }

    /// Queues logout tokens for delivery.
    pub fn enqueue_logout_deliveries(&self, deliveries: &[LogoutDelivery]) -> StoreResult<()> {
        let mut connection = self.connection()?;
        // One statement per row: batch inserts are not available over both
        // backends at once.
        connection.transaction(|connection| {
            for delivery in deliveries {
                diesel::insert_into(logout_deliveries::table)
                    .values(delivery)
                    .execute(connection)?;
            }
            Ok(())
        })
    }

    /// Undelivered rows due by `now`, fewer than `max_attempts` tried, oldest first.
    pub fn due_logout_deliveries(
        &self,
        now: i64,
        max_attempts: i64,
        limit: i64,
    ) -> StoreResult<Vec<LogoutDelivery>> {
        let mut connection = self.connection()?;
        Ok(logout_deliveries::table
            .filter(logout_deliveries::delivered_at.is_null())
            .filter(logout_deliveries::next_attempt_at.le(now))
            .filter(logout_deliveries::attempts.lt(max_attempts))
            .order(logout_deliveries::next_attempt_at.asc())
            .limit(limit)
            .select(LogoutDelivery::as_select())
            .load(&mut connection)?)
    }

    /// Claims a due row until `until`: true for exactly one caller.
    pub fn claim_logout_delivery(&self, id: &str, now: i64, until: i64) -> StoreResult<bool> {
        let mut connection = self.connection()?;
        let claimed = diesel::update(
            logout_deliveries::table
                .find(id)
                .filter(logout_deliveries::delivered_at.is_null())
                .filter(logout_deliveries::next_attempt_at.le(now)),
        )
        .set(logout_deliveries::next_attempt_at.eq(until))
        .execute(&mut connection)?;
        Ok(claimed == 1)
    }

    /// Records a successful delivery.
    pub fn mark_logout_delivered(&self, id: &str, now: i64) -> StoreResult<()> {
        let mut connection = self.connection()?;
        diesel::update(logout_deliveries::table.find(id))
            .set((
                logout_deliveries::delivered_at.eq(now),
                logout_deliveries::attempts.eq(logout_deliveries::attempts + 1),
            ))
            .execute(&mut connection)?;
        Ok(())
    }

    /// Records a failed attempt and when to try again.
    pub fn mark_logout_failed(&self, id: &str, error: &str, retry_at: i64) -> StoreResult<()> {
        let mut connection = self.connection()?;
        diesel::update(logout_deliveries::table.find(id))
            .set((
                logout_deliveries::attempts.eq(logout_deliveries::attempts + 1),
                logout_deliveries::next_attempt_at.eq(retry_at),
                logout_deliveries::last_error.eq(error),
            ))
            .execute(&mut connection)?;
        Ok(())
    }

    /// Every outbox row, for inspection.
    pub fn list_logout_deliveries(&self) -> StoreResult<Vec<LogoutDelivery>> {
        let mut connection = self.connection()?;
        Ok(logout_deliveries::table
            .order(logout_deliveries::created_at.asc())
            .select(LogoutDelivery::as_select())
            .load(&mut connection)?)
    }
}
