//! What the admin console keeps: its sessions, the branding of the
//! sign-in pages, and the figures its dashboard draws (tokens issued per
//! hour and grant, sign-ins per hour and outcome).

use diesel::prelude::*;

use crate::error::StoreResult;
use crate::repo::users::User;
use crate::schema::token_counts;
use crate::schema::{admin_sessions, audit_events, branding, login_throttles, sessions, users};
use crate::Store;

/// A signed-in admin's console session.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = admin_sessions)]
pub struct AdminSession {
    /// SHA-256 digest of the console cookie value.
    pub id_digest: String,
    /// The admin.
    pub user_id: String,
    /// The ferrid session it signed in with (ending that ends this).
    pub sid: String,
    /// Sign-in time, Unix seconds.
    pub created_at: i64,
    /// Last request, Unix seconds (for the idle timeout).
    pub last_seen_at: i64,
    /// Absolute expiry, Unix seconds.
    pub expires_at: i64,
    /// Last time the admin confirmed it was them (password or code).
    pub reauthenticated_at: i64,
}

/// The look of the sign-in, consent and account pages.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = branding)]
pub struct Branding {
    /// Product name shown in titles and headings.
    pub product_name: String,
    /// Logo image (PNG or JPEG), served at a path of this server so the
    /// pages' policy (`img-src 'self'`) allows it.
    pub logo: Option<Vec<u8>>,
    /// The logo's media type.
    pub logo_type: Option<String>,
    /// Accent colour, `#rrggbb`.
    pub accent_colour: String,
    /// Last change, Unix seconds (0 for the default look).
    pub updated_at: i64,
}

/// Counts per hour bucket (`hour` = Unix seconds / 3600).
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct HourlyCount {
    /// Hour bucket.
    pub hour: i64,
    /// What was counted (a grant type, or an outcome).
    pub label: String,
    /// How many.
    pub count: i64,
}

impl Store {
    /// Stores a new console session.
    pub fn create_admin_session(&self, session: &AdminSession) -> StoreResult<()> {
        let mut connection = self.connection()?;
        diesel::insert_into(admin_sessions::table)
            .values(session)
            .execute(&mut connection)?;
        Ok(())
    }

    /// The console session with this cookie digest, with its admin, if it
    /// has neither expired nor been idle since `idle_since`, its user is
    /// enabled, and the ferrid session it signed in with is still live.
    pub fn find_admin_session(
        &self,
        id_digest: &str,
        now: i64,
        idle_since: i64,
    ) -> StoreResult<Option<(AdminSession, User)>> {
        let mut connection = self.connection()?;
        let live_sid = sessions::table
            .filter(sessions::expires_at.gt(now))
            .select(sessions::sid);
        Ok(admin_sessions::table
            .inner_join(users::table)
            .filter(admin_sessions::id_digest.eq(id_digest))
            .filter(admin_sessions::expires_at.gt(now))
            .filter(admin_sessions::last_seen_at.ge(idle_since))
            .filter(admin_sessions::sid.eq_any(live_sid))
            .filter(users::disabled.eq(false))
            .select((AdminSession::as_select(), User::as_select()))
            .first(&mut connection)
            .optional()?)
    }

    /// Records activity on a console session (resetting its idle clock).
    pub fn touch_admin_session(&self, id_digest: &str, now: i64) -> StoreResult<()> {
        let mut connection = self.connection()?;
        diesel::update(admin_sessions::table.find(id_digest))
            .set(admin_sessions::last_seen_at.eq(now))
            .execute(&mut connection)?;
        Ok(())
    }

    /// Records that the admin confirmed it was them.
    pub fn reauthenticate_admin_session(&self, id_digest: &str, now: i64) -> StoreResult<()> {
        let mut connection = self.connection()?;
        diesel::update(admin_sessions::table.find(id_digest))
            .set((
                admin_sessions::reauthenticated_at.eq(now),
                admin_sessions::last_seen_at.eq(now),
            ))
            .execute(&mut connection)?;
        Ok(())
    }

    /// Ends a console session.
    pub fn delete_admin_session(&self, id_digest: &str) -> StoreResult<()> {
        let mut connection = self.connection()?;
        diesel::delete(admin_sessions::table.find(id_digest)).execute(&mut connection)?;
        Ok(())
    }

    /// The branding, if an admin has set one.
    pub fn branding(&self) -> StoreResult<Option<Branding>> {
        let mut connection = self.connection()?;
        Ok(branding::table
            .select(Branding::as_select())
            .first(&mut connection)
            .optional()?)
    }

    /// Replaces the branding (one row, shared by every node).
    pub fn set_branding(&self, new: &Branding, now: i64) -> StoreResult<()> {
        let mut connection = self.connection()?;
        let values = (
            branding::id.eq(1),
            branding::product_name.eq(&new.product_name),
            branding::logo.eq(&new.logo),
            branding::logo_type.eq(&new.logo_type),
            branding::accent_colour.eq(&new.accent_colour),
            branding::updated_at.eq(now),
        );
        connection.transaction(|connection| {
            // Update first: SQLite then takes its write lock at once, and
            // PostgreSQL locks the row, so two admins saving at once
            // serialize instead of conflicting.
            let updated = diesel::update(branding::table.find(1))
                .set((
                    branding::product_name.eq(&new.product_name),
                    branding::logo.eq(&new.logo),
                    branding::logo_type.eq(&new.logo_type),
                    branding::accent_colour.eq(&new.accent_colour),
                    branding::updated_at.eq(now),
                ))
                .execute(connection)?;
            if updated == 0 {
                diesel::insert_into(branding::table)
                    .values(values)
                    .execute(connection)?;
            }
            Ok::<_, crate::StoreError>(())
        })?;
        Ok(())
    }

    /// Adds each `(grant type, issued)` to the counts of `hour`; nodes
    /// flushing at once all count (an update adds to what is there).
    pub fn add_token_counts(&self, hour: i64, counts: &[(String, i64)]) -> StoreResult<()> {
        let mut connection = self.connection()?;
        for (grant_type, issued) in counts {
            let add = || {
                diesel::update(token_counts::table.find((hour, grant_type)))
                    .set(token_counts::issued.eq(token_counts::issued + issued))
            };
            if add().execute(&mut connection)? > 0 {
                continue;
            }
            let inserted = diesel::insert_into(token_counts::table)
                .values((
                    token_counts::hour.eq(hour),
                    token_counts::grant_type.eq(grant_type),
                    token_counts::issued.eq(issued),
                ))
                .execute(&mut connection)
                .map_err(crate::StoreError::conflict_as("a token count"));
            match inserted {
                // Another node inserted the row first: add to it.
                Err(crate::StoreError::Conflict(_)) => {
                    add().execute(&mut connection)?;
                }
                other => {
                    other?;
                }
            }
        }
        Ok(())
    }

    /// Tokens issued per hour and grant type since the hour `since_hour`.
    pub fn token_counts(&self, since_hour: i64) -> StoreResult<Vec<HourlyCount>> {
        let mut connection = self.connection()?;
        Ok(token_counts::table
            .filter(token_counts::hour.ge(since_hour))
            .order(token_counts::hour.asc())
            .select((
                token_counts::hour,
                token_counts::grant_type,
                token_counts::issued,
            ))
            .load(&mut connection)?)
    }

    /// Sign-in attempts by outcome between `since` and `until` (Unix
    /// seconds), repeated failures counted as often as they happened.
    pub fn sign_in_counts(&self, since: i64, until: i64) -> StoreResult<Vec<(String, i64)>> {
        let mut connection = self.connection()?;
        let rows: Vec<(String, Option<i64>)> = audit_events::table
            .filter(audit_events::event.eq("login"))
            .filter(audit_events::at.ge(since))
            .filter(audit_events::at.lt(until))
            .group_by(audit_events::outcome)
            .select((
                audit_events::outcome,
                diesel::dsl::sum(audit_events::repeats),
            ))
            .load(&mut connection)?;
        Ok(rows
            .into_iter()
            .map(|(outcome, count)| (outcome, count.unwrap_or(0)))
            .collect())
    }

    /// Live browser sessions.
    pub fn count_active_sessions(&self, now: i64) -> StoreResult<i64> {
        let mut connection = self.connection()?;
        Ok(sessions::table
            .filter(sessions::expires_at.gt(now))
            .count()
            .get_result(&mut connection)?)
    }

    /// Login names and second factors locked right now.
    pub fn count_locked(&self, now: i64) -> StoreResult<i64> {
        let mut connection = self.connection()?;
        Ok(login_throttles::table
            .filter(login_throttles::locked_until.gt(now))
            .count()
            .get_result(&mut connection)?)
    }
}
