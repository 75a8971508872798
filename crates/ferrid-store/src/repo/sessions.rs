//! Browser sessions. The cookie value is a bearer secret, so only its
//! digest is stored; `sid` is the public session id put in ID tokens.

use diesel::prelude::*;

use crate::error::StoreResult;
use crate::repo::users::User;
use crate::schema::{sessions, users};
use crate::Store;

/// A browser session row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct Session {
    /// SHA-256 digest of the session cookie value.
    pub id_digest: String,
    /// Public session id (the `sid` claim).
    pub sid: String,
    /// The authenticated user.
    pub user_id: String,
    /// When the user last authenticated, Unix seconds.
    pub auth_time: i64,
    /// Authentication methods used (space-separated `amr` values).
    pub amr: String,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Expiry, Unix seconds.
    pub expires_at: i64,
}

impl Store {
    /// Stores a new session.
    pub fn create_session(&self, session: &Session) -> StoreResult<()> {
        let mut connection = self.connection()?;
        diesel::insert_into(sessions::table)
            .values(session)
            .execute(&mut connection)?;
        Ok(())
    }

    /// The unexpired session with this cookie digest, with its user, if the
    /// user is still enabled.
    pub fn find_active_session(
        &self,
        id_digest: &str,
        now: i64,
    ) -> StoreResult<Option<(Session, User)>> {
        let mut connection = self.connection()?;
        Ok(sessions::table
            .inner_join(users::table)
            .filter(sessions::id_digest.eq(id_digest))
            .filter(sessions::expires_at.gt(now))
            .filter(users::disabled.eq(false))
            .select((Session::as_select(), User::as_select()))
            .first(&mut connection)
            .optional()?)
    }

    /// Raises a session's authentication (a second factor passed): new
    /// cookie digest (the id changes with the privilege) and methods. The
    /// public `sid`, the grants made in it, and `auth_time` (the time of
    /// the password, which `max_age` is about) stay. False if the session
    /// is gone or expired.
    pub fn elevate_session(
        &self,
        id_digest: &str,
        new_id_digest: &str,
        amr: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let mut connection = self.connection()?;
        let updated = diesel::update(
            sessions::table
                .find(id_digest)
                .filter(sessions::expires_at.gt(now)),
        )
        .set((sessions::id_digest.eq(new_id_digest), sessions::amr.eq(amr)))
        .execute(&mut connection)?;
        Ok(updated == 1)
    }

    /// The unexpired sessions of a user, newest first.
    pub fn list_sessions(&self, user_id: &str, now: i64) -> StoreResult<Vec<Session>> {
        let mut connection = self.connection()?;
        Ok(sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::expires_at.gt(now))
            .order(sessions::created_at.desc())
            .select(Session::as_select())
            .load(&mut connection)?)
    }

    /// The session with this public id.
    pub fn find_session_by_sid(&self, sid: &str) -> StoreResult<Option<Session>> {
        let mut connection = self.connection()?;
        Ok(sessions::table
            .filter(sessions::sid.eq(sid))
            .select(Session::as_select())
            .first(&mut connection)
            .optional()?)
    }
}
