//! Consecutive login failures, per account (or per login name nobody
//! has), kept in the database so that every node enforces one count.

use diesel::prelude::*;

use crate::error::StoreResult;
use crate::schema::login_throttles;
use crate::Store;

/// The failure count of one login subject.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = login_throttles)]
pub struct LoginThrottle {
    /// `login:<digest of the name>` or `mfa:<user id>`.
    pub subject: String,
    /// Consecutive credential failures.
    pub failures: i64,
    /// Locked (no attempt is checked) until then, Unix seconds.
    pub locked_until: Option<i64>,
    /// Last change, Unix seconds.
    pub updated_at: i64,
}

impl Store {
    /// The throttle row of `subject`, if it has failed recently.
    pub fn login_throttle(&self, subject: &str) -> StoreResult<Option<LoginThrottle>> {
        let mut connection = self.connection()?;
        Ok(login_throttles::table
            .find(subject)
            .select(LoginThrottle::as_select())
            .first(&mut connection)
            .optional()?)
    }

    /// Counts one more failure for `subject` and sets the lock that
    /// `lock_for(failures)` asks for (seconds from `now`, if any). The
    /// increment is a single UPDATE, so concurrent failures on several
    /// nodes all count. Returns the new row.
    pub fn record_login_failure(
        &self,
        subject: &str,
        now: i64,
        lock_for: impl Fn(i64) -> Option<i64>,
    ) -> StoreResult<LoginThrottle> {
        let mut connection = self.connection()?;
        let updated = increment(&mut connection, subject, now)?;
        if updated == 0 {
            let inserted = diesel::insert_into(login_throttles::table)
                .values((
                    login_throttles::subject.eq(subject),
                    login_throttles::failures.eq(1_i64),
                    login_throttles::updated_at.eq(now),
                ))
                .execute(&mut connection);
            match inserted {
                Ok(_) => {}
                // Another node inserted the row first: count on it.
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => {
                    increment(&mut connection, subject, now)?;
                }
                Err(other) => return Err(other.into()),
            }
        }
        let mut row: LoginThrottle = login_throttles::table
            .find(subject)
            .select(LoginThrottle::as_select())
            .first(&mut connection)?;
        if let Some(seconds) = lock_for(row.failures) {
            let until = now.saturating_add(seconds);
            // Only ever lengthened: a concurrent shorter wait must not cut
            // a lock short.
            diesel::update(
                login_throttles::table.find(subject).filter(
                    login_throttles::locked_until
                        .is_null()
                        .or(login_throttles::locked_until.lt(until)),
                ),
            )
            .set(login_throttles::locked_until.eq(until))
            .execute(&mut connection)?;
            row.locked_until = Some(row.locked_until.map_or(until, |old| old.max(until)));
        }
        Ok(row)
    }

    /// Counts one more failure for `subject` and locks it until
    /// `locked_until`, but only if the count is still `failures` and no
    /// lock is in force at `now`: one conditional UPDATE, so of several
    /// attempts made at once exactly one wins. True if this one did.
    pub fn claim_attempt_after_lock(
        &self,
        subject: &str,
        failures: i64,
        now: i64,
        locked_until: i64,
    ) -> StoreResult<bool> {
        let mut connection = self.connection()?;
        let claimed = diesel::update(
            login_throttles::table
                .find(subject)
                .filter(login_throttles::failures.eq(failures))
                .filter(
                    login_throttles::locked_until
                        .is_null()
                        .or(login_throttles::locked_until.le(now)),
                ),
        )
        .set((
            login_throttles::failures.eq(failures + 1),
            login_throttles::locked_until.eq(locked_until),
            login_throttles::updated_at.eq(now),
        ))
        .execute(&mut connection)?;
        Ok(claimed == 1)
    }

    /// Forgets the failures of `subjects` (after a complete login), in
    /// one statement: a login runs it for three subjects. Most logins
    /// follow no failure, so a read first spares them the write (on
    /// SQLite, the database-wide write lock).
    pub fn clear_login_failures(&self, subjects: &[String]) -> StoreResult<()> {
        let mut connection = self.connection()?;
        let failing = || login_throttles::table.filter(login_throttles::subject.eq_any(subjects));
        if diesel::select(diesel::dsl::exists(failing())).get_result(&mut connection)? {
            diesel::delete(failing()).execute(&mut connection)?;
        }
        Ok(())
    }
}

fn increment(connection: &mut crate::DbConnection, subject: &str, now: i64) -> QueryResult<usize> {
    diesel::update(login_throttles::table.find(subject))
        .set((
            login_throttles::failures.eq(login_throttles::failures + 1),
            login_throttles::updated_at.eq(now),
        ))
        .execute(connection)
}
