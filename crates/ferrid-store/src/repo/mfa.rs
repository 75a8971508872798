//! Second factors: a TOTP secret per user (sealed by the caller under the
//! master key) and single-use recovery codes, stored as digests.

use diesel::prelude::*;

use crate::error::{StoreError, StoreResult};
use crate::schema::{passkeys, recovery_codes, users};
use crate::Store;

impl Store {
    /// Makes `sealed` the user's second factor unless they already have
    /// one, records `step` as used (the confirming code cannot be
    /// replayed), replaces the recovery codes with `recovery_digests`, and
    /// ends every other session of the user (one that signed in with the
    /// password alone must not outlive the second factor). False if the
    /// user already had a second factor.
    pub fn confirm_totp(
        &self,
        enrolment: TotpEnrolment<'_>,
        recovery_digests: &[String],
        now: i64,
    ) -> StoreResult<bool> {
        let TotpEnrolment {
            user_id,
            sealed,
            step,
            keep_sid,
        } = enrolment;
        let confirmed = self.end_user_sessions(user_id, keep_sid, now, |connection| {
            let updated = diesel::update(
                users::table
                    .find(user_id)
                    .filter(users::totp_secret_sealed.is_null()),
            )
            .set((
                users::totp_secret_sealed.eq(sealed),
                users::totp_last_step.eq(step),
                users::updated_at.eq(now),
            ))
            .execute(connection)?;
            if updated == 0 {
                return Err(StoreError::NotFound("enrolment"));
            }
            insert_recovery_codes(connection, user_id, recovery_digests, now)
        });
        match confirmed {
            Ok(_) => Ok(true),
            Err(StoreError::NotFound("enrolment")) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// Accepts TOTP time step `step` for the user unless it (or a later
    /// one) was already used: one conditional UPDATE, so a code is good
    /// once even when several nodes see it at the same moment.
    pub fn accept_totp_step(&self, user_id: &str, step: i64) -> StoreResult<bool> {
        let mut connection = self.connection()?;
        let updated = diesel::update(
            users::table.find(user_id).filter(
                users::totp_last_step
                    .is_null()
                    .or(users::totp_last_step.lt(step)),
            ),
        )
        .set(users::totp_last_step.eq(step))
        .execute(&mut connection)?;
        Ok(updated == 1)
    }

    /// Replaces every recovery code of the user (the old set stops working).
    pub fn replace_recovery_codes(
        &self,
        user_id: &str,
        digests: &[String],
        now: i64,
    ) -> StoreResult<()> {
        let mut connection = self.connection()?;
        connection
            .transaction(|connection| insert_recovery_codes(connection, user_id, digests, now))
    }

    /// Spends a recovery code; true if it existed and was unused.
    pub fn use_recovery_code(&self, user_id: &str, digest: &str, now: i64) -> StoreResult<bool> {
        let mut connection = self.connection()?;
        let updated = diesel::update(
            recovery_codes::table
                .find((user_id, digest))
                .filter(recovery_codes::used_at.is_null()),
        )
        .set(recovery_codes::used_at.eq(now))
        .execute(&mut connection)?;
        Ok(updated == 1)
    }

    /// How many unused recovery codes the user has.
    pub fn unused_recovery_codes(&self, user_id: &str) -> StoreResult<i64> {
        let mut connection = self.connection()?;
        Ok(recovery_codes::table
            .filter(recovery_codes::user_id.eq(user_id))
            .filter(recovery_codes::used_at.is_null())
            .count()
            .get_result(&mut connection)?)
    }

    /// Removes the user's second factors (TOTP, recovery codes and
    /// passkeys: a lost device, or a factor someone else planted) and ends
    /// every session of the user; the next login asks for the password
    /// only.
    pub fn reset_mfa(&self, user_id: &str, now: i64) -> StoreResult<()> {
        self.end_user_sessions(user_id, None, now, |connection| {
            let updated = diesel::update(users::table.find(user_id))
                .set((
                    users::totp_secret_sealed.eq(None::<String>),
                    users::totp_last_step.eq(None::<i64>),
                    users::passkeys.eq(0),
                    users::updated_at.eq(now),
                ))
                .execute(connection)?;
            if updated == 0 {
                return Err(StoreError::NotFound("user"));
            }
            diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
                .execute(connection)?;
            diesel::delete(passkeys::table.filter(passkeys::user_id.eq(user_id)))
                .execute(connection)?;
            Ok(())
        })
        .map(drop)
    }
}

/// A TOTP enrolment being confirmed.
#[derive(Debug, Clone, Copy)]
pub struct TotpEnrolment<'a> {
    /// The user.
    pub user_id: &'a str,
    /// The new secret, sealed under the master key for this user.
    pub sealed: &'a str,
    /// The time step of the confirming code.
    pub step: i64,
    /// The session that enrolled, which stays.
    pub keep_sid: Option<&'a str>,
}

fn insert_recovery_codes(
    connection: &mut crate::DbConnection,
    user_id: &str,
    digests: &[String],
    now: i64,
) -> StoreResult<()> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
        .execute(connection)?;
    // One row at a time: the two-backend connection has no batch insert.
    for digest in digests {
        diesel::insert_into(recovery_codes::table)
            .values((
                recovery_codes::user_id.eq(user_id),
                recovery_codes::code_digest.eq(digest),
                recovery_codes::created_at.eq(now),
            ))
            .execute(connection)?;
    }
    Ok(())
}
