//! The back-channel logout outbox: logout tokens waiting to be delivered,
//! claimed one at a time so several nodes never send the same one at once.

use diesel::prelude::*;

use crate::error::StoreResult;
use crate::repo::sessions::Session;
use crate::schema::{clients, grants, logout_deliveries, sessions};
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
    /// The user whose session ended.
    pub sub: String,
    /// The session that ended.
    pub sid: String,
    /// The algorithm to sign the logout token with (the client's ID token
    /// algorithm). The token is signed when sent, so it is fresh on retries.
    pub alg: String,
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

impl Store {
    /// Ends sessions, in one transaction with what must follow: the
    /// session rows go, the grants made in them without `offline_access`
    /// are revoked (their tokens end with the session, OIDC Core §11), and
    /// a back-channel logout is queued for every client with a receiver
    /// that got tokens from them. Returns the deliveries queued.
    pub fn end_sessions(&self, ended: &[Session], now: i64) -> StoreResult<usize> {
        let mut connection = self.connection()?;
        connection.transaction(|connection| end_sessions_in(connection, ended, now))
    }

    /// Ends every live session of a user but `keep_sid`, as
    /// [`end_sessions`](Self::end_sessions) does, in one transaction with
    /// `before` (which must write first, for SQLite). Returns how many
    /// sessions ended.
    pub fn end_user_sessions(
        &self,
        user_id: &str,
        keep_sid: Option<&str>,
        now: i64,
        before: impl FnOnce(&mut crate::DbConnection) -> StoreResult<()>,
    ) -> StoreResult<usize> {
        let mut connection = self.connection()?;
        connection.transaction(|connection| {
            before(connection)?;
            let live: Vec<Session> = sessions::table
                .filter(sessions::user_id.eq(user_id))
                .filter(sessions::expires_at.gt(now))
                .select(Session::as_select())
                .load(connection)?;
            let ended: Vec<Session> = live
                .into_iter()
                .filter(|session| Some(session.sid.as_str()) != keep_sid)
                .collect();
            end_sessions_in(connection, &ended, now)?;
            Ok(ended.len())
        })
    }
}

impl Store {
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

    /// Undelivered rows with fewer than `max_attempts` tries: the
    /// back-channel delivery backlog.
    pub fn count_pending_logout_deliveries(&self, max_attempts: i64) -> StoreResult<i64> {
        let mut connection = self.connection()?;
        Ok(logout_deliveries::table
            .filter(logout_deliveries::delivered_at.is_null())
            .filter(logout_deliveries::attempts.lt(max_attempts))
            .count()
            .get_result(&mut connection)?)
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

/// The body of [`Store::end_sessions`], on a connection already in a
/// transaction. Returns the deliveries queued.
fn end_sessions_in(
    connection: &mut crate::DbConnection,
    ended: &[Session],
    now: i64,
) -> StoreResult<usize> {
    let mut queued = 0;
    for session in ended {
        diesel::delete(sessions::table.find(&session.id_digest)).execute(connection)?;
        diesel::update(
            grants::table
                .filter(grants::sid.eq(&session.sid))
                .filter(grants::revoked_at.is_null())
                .filter(grants::scope.not_like("%offline_access%")),
        )
        .set(grants::revoked_at.eq(now))
        .execute(connection)?;
        let targets: Vec<(String, Option<String>, String)> = grants::table
            .inner_join(clients::table)
            .filter(grants::sid.eq(&session.sid))
            .filter(clients::backchannel_logout_uri.is_not_null())
            .select((
                clients::client_id,
                clients::backchannel_logout_uri,
                clients::id_token_signed_response_alg,
            ))
            .distinct()
            .load(connection)?;
        for (client_id, uri, alg) in targets {
            let Some(uri) = uri else { continue };
            diesel::insert_into(logout_deliveries::table)
                .values(&LogoutDelivery {
                    id: crate::secret::random_identifier(16),
                    client_id,
                    uri,
                    sub: session.user_id.clone(),
                    sid: session.sid.clone(),
                    alg,
                    attempts: 0,
                    next_attempt_at: now,
                    created_at: now,
                    delivered_at: None,
                    last_error: None,
                })
                .execute(connection)?;
            queued += 1;
        }
    }
    Ok(queued)
}
