//! User accounts.

use diesel::prelude::*;

use crate::error::{StoreError, StoreResult};
use crate::schema::{authorization_requests, email_tokens, grants, users};
use crate::Store;

/// A user account as stored.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    /// Stable subject identifier (`sub`), a random UUID.
    pub id: String,
    /// Login name, lower-case.
    pub username: String,
    /// E-mail address, lower-case.
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Whether the address was verified.
    pub email_verified: bool,
    /// Disabled users cannot log in and their tokens stop working.
    pub disabled: bool,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Last profile change, Unix seconds (the `updated_at` claim).
    pub updated_at: i64,
    /// The confirmed TOTP secret, sealed under the master key; `None`
    /// until the user has enrolled a second factor.
    pub totp_secret_sealed: Option<String>,
    /// `admin` or `auditor` for those who administer ferrid.
    pub admin_role: Option<String>,
    /// How many passkeys the user has registered.
    pub passkeys: i64,
    /// Created without a password (by a passkey invitation): the account
    /// signs in with passkeys only and never gets a password.
    pub passwordless: bool,
}

impl User {
    /// Whether the user has a confirmed TOTP authenticator (and with it
    /// recovery codes).
    pub fn has_totp(&self) -> bool {
        self.totp_secret_sealed.is_some()
    }

    /// Whether the user has a confirmed second factor: TOTP or a passkey.
    pub fn has_mfa(&self) -> bool {
        self.totp_secret_sealed.is_some() || self.passkeys > 0
    }
}

impl std::fmt::Debug for User {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The hash stays out of logs.
        formatter
            .debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("email", &self.email)
            .field("disabled", &self.disabled)
            .field("mfa", &self.has_mfa())
            .finish_non_exhaustive()
    }
}

/// A user to create. `username` and `email` are lower-cased on insert.
pub struct NewUser<'a> {
    /// Login name.
    pub username: &'a str,
    /// E-mail address.
    pub email: &'a str,
    /// Display name.
    pub name: Option<&'a str>,
    /// Argon2id PHC string of the initial password.
    pub password_hash: &'a str,
    /// Whether the account signs in with passkeys only (the hash is then
    /// of a random password nobody knows).
    pub passwordless: bool,
}

impl Store {
    /// Sets (or, with `None`, clears) a user's administrative role.
    pub fn set_admin_role(&self, user_id: &str, role: Option<&str>) -> StoreResult<()> {
        let mut connection = self.connection()?;
        let updated = diesel::update(users::table.find(user_id))
            .set(users::admin_role.eq(role))
            .execute(&mut connection)?;
        if updated == 0 {
            return Err(StoreError::NotFound("user"));
        }
        Ok(())
    }

    /// At most `limit` users by username, after the username `after`;
    /// with `search`, only those whose username or e-mail address starts
    /// with it (keyset paging on the unique username index, so a page
    /// costs the same at the 100,000th user as at the first).
    pub fn page_users(
        &self,
        after: Option<&str>,
        search: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<User>> {
        let mut connection = self.connection()?;
        let mut query = users::table
            .order(users::username.asc())
            .limit(limit)
            .select(User::as_select())
            .into_boxed();
        if let Some(after) = after {
            query = query.filter(users::username.gt(after));
        }
        if let Some(search) = search {
            // LIKE's wildcards in the search are literal characters.
            let escaped = search
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            let pattern = format!("{escaped}%");
            query = query.filter(
                users::username
                    .like(pattern.clone())
                    .escape('\\')
                    .or(users::email.like(pattern).escape('\\')),
            );
        }
        Ok(query.load(&mut connection)?)
    }

    /// How many enabled users hold the `admin` role.
    pub fn count_admins(&self) -> StoreResult<i64> {
        let mut connection = self.connection()?;
        Ok(users::table
            .filter(users::admin_role.eq("admin"))
            .filter(users::disabled.eq(false))
            .count()
            .get_result(&mut connection)?)
    }

    /// Creates a user with a fresh random subject id.
    pub fn create_user(&self, new: NewUser<'_>, now: i64) -> StoreResult<User> {
        let user = User {
            id: uuid::Uuid::new_v4().to_string(),
            username: new.username.to_lowercase(),
            email: new.email.to_lowercase(),
            name: new.name.map(str::to_owned),
            password_hash: new.password_hash.to_owned(),
            email_verified: false,
            disabled: false,
            created_at: now,
            updated_at: now,
            totp_secret_sealed: None,
            admin_role: None,
            passkeys: 0,
            passwordless: new.passwordless,
        };
        let mut connection = self.connection()?;
        diesel::insert_into(users::table)
            .values((
                users::id.eq(&user.id),
                users::username.eq(&user.username),
                users::email.eq(&user.email),
                users::name.eq(&user.name),
                users::password_hash.eq(&user.password_hash),
                users::email_verified.eq(user.email_verified),
                users::disabled.eq(user.disabled),
                users::created_at.eq(user.created_at),
                users::updated_at.eq(user.updated_at),
                users::passwordless.eq(user.passwordless),
            ))
            .execute(&mut connection)
            .map_err(StoreError::conflict_as(
                "a user with this username or email",
            ))?;
        Ok(user)
    }

    /// Finds a user by username or e-mail address (case-insensitive).
    pub fn find_user_by_login(&self, login: &str) -> StoreResult<Option<User>> {
        let login = login.to_lowercase();
        let mut connection = self.connection()?;
        Ok(users::table
            .filter(users::username.eq(&login).or(users::email.eq(&login)))
            .select(User::as_select())
            .first(&mut connection)
            .optional()?)
    }

    /// Finds a user by subject id.
    pub fn find_user(&self, id: &str) -> StoreResult<Option<User>> {
        let mut connection = self.connection()?;
        Ok(users::table
            .find(id)
            .select(User::as_select())
            .first(&mut connection)
            .optional()?)
    }

    /// Every user, by username.
    pub fn list_users(&self) -> StoreResult<Vec<User>> {
        let mut connection = self.connection()?;
        Ok(users::table
            .order(users::username.asc())
            .select(User::as_select())
            .load(&mut connection)?)
    }

    /// Sets a new password hash and ends what the old password may have
    /// let someone else keep, in one transaction: every live session of
    /// the user but `keep_sid` (with their back-channel logouts), every
    /// grant (so all refresh tokens stop working), every unused reset link,
    /// any sign-in waiting for its second factor after the old password,
    /// and any unconfirmed second-factor secret (one made with the old
    /// password must not be confirmable later). Returns how many sessions
    /// ended.
    pub fn change_password(
        &self,
        user_id: &str,
        hash: &str,
        keep_sid: Option<&str>,
        now: i64,
    ) -> StoreResult<usize> {
        self.end_user_sessions(user_id, keep_sid, now, |connection| {
            let updated = diesel::update(users::table.find(user_id))
                .set((users::password_hash.eq(hash), users::updated_at.eq(now)))
                .execute(connection)?;
            if updated == 0 {
                return Err(StoreError::NotFound("user"));
            }
            diesel::update(
                grants::table
                    .filter(grants::user_id.eq(user_id))
                    .filter(grants::revoked_at.is_null()),
            )
            .set(grants::revoked_at.eq(now))
            .execute(connection)?;
            diesel::update(
                email_tokens::table
                    .filter(email_tokens::user_id.eq(user_id))
                    .filter(email_tokens::purpose.eq("password_reset"))
                    .filter(email_tokens::used_at.is_null()),
            )
            .set(email_tokens::used_at.eq(now))
            .execute(connection)?;
            diesel::update(
                authorization_requests::table
                    .filter(authorization_requests::mfa_user_id.eq(user_id)),
            )
            .set(authorization_requests::mfa_user_id.eq(None::<String>))
            .execute(connection)?;
            Ok(())
        })
    }

    /// Changes a user's e-mail address and display name; a new address
    /// is unverified until the user confirms it.
    pub fn set_user_profile(
        &self,
        user_id: &str,
        email: &str,
        name: Option<&str>,
        now: i64,
    ) -> StoreResult<()> {
        let mut connection = self.connection()?;
        connection.transaction(|connection| {
            let current: String = users::table
                .find(user_id)
                .select(users::email)
                .first(connection)
                .optional()?
                .ok_or(StoreError::NotFound("user"))?;
            let email = email.to_lowercase();
            let verified_kept = current == email;
            diesel::update(users::table.find(user_id))
                .set((
                    users::email.eq(&email),
                    users::name.eq(name),
                    users::updated_at.eq(now),
                ))
                .execute(connection)
                .map_err(StoreError::conflict_as("a user with this e-mail address"))?;
            if !verified_kept {
                diesel::update(users::table.find(user_id))
                    .set(users::email_verified.eq(false))
                    .execute(connection)?;
            }
            Ok(())
        })
    }

    /// Replaces an outdated password hash after a successful login, unless
    /// the password changed meanwhile (`old_hash` no longer stored).
    pub fn upgrade_password_hash(
        &self,
        user_id: &str,
        old_hash: &str,
        new_hash: &str,
    ) -> StoreResult<bool> {
        let mut connection = self.connection()?;
        let updated = diesel::update(
            users::table
                .find(user_id)
                .filter(users::password_hash.eq(old_hash)),
        )
        .set(users::password_hash.eq(new_hash))
        .execute(&mut connection)?;
        Ok(updated == 1)
    }

    /// Marks the user's address verified, if it is still `email`.
    pub fn mark_email_verified(&self, user_id: &str, email: &str, now: i64) -> StoreResult<bool> {
        let mut connection = self.connection()?;
        let updated = diesel::update(users::table.find(user_id).filter(users::email.eq(email)))
            .set((users::email_verified.eq(true), users::updated_at.eq(now)))
            .execute(&mut connection)?;
        Ok(updated == 1)
    }

    /// Disables a user and ends every browser session they have, queuing
    /// back-channel logouts as every other end of a session does. Returns
    /// how many sessions ended.
    pub fn disable_user(&self, user_id: &str, now: i64) -> StoreResult<usize> {
        self.end_user_sessions(user_id, None, now, |connection| {
            let updated = diesel::update(users::table.find(user_id))
                .set((users::disabled.eq(true), users::updated_at.eq(now)))
                .execute(connection)?;
            if updated == 0 {
                return Err(StoreError::NotFound("user"));
            }
            Ok(())
        })
    }
}
