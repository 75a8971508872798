//! Grants and the tokens descended from them. A grant is one authorization
//! (one code redemption); its refresh tokens form a family that is revoked
//! as a whole. Access tokens are JWTs that name their grant, so revoking
//! the grant ends them too; single access tokens are revoked by `jti`.

use diesel::prelude::*;

use crate::error::StoreResult;
use crate::schema::{authorization_codes, grants, refresh_tokens, revoked_access_tokens, users};
use crate::Store;

/// A grant row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = grants)]
pub struct Grant {
    /// Random id, carried by access tokens as `gid`.
    pub id: String,
    /// The client.
    pub client_id: String,
    /// The user.
    pub user_id: String,
    /// The browser session it came from.
    pub sid: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// When the user authenticated.
    pub auth_time: i64,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Absolute end of the family (refresh absolute lifetime), Unix seconds.
    pub expires_at: i64,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
    /// Authentication methods of the login (space-separated `amr` values).
    pub amr: String,
}

/// A refresh token row (by digest).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshToken {
    /// SHA-256 digest of the token.
    pub token_digest: String,
    /// The family.
    pub grant_id: String,
    /// The client it was issued to.
    pub client_id: String,
    /// Its scopes (a refresh never widens them).
    pub scope: String,
    /// Issue time, Unix seconds.
    pub created_at: i64,
    /// Expiry (idle limit, capped by the grant's absolute limit).
    pub expires_at: i64,
    /// When it was used (rotated); `None` while it is the live token.
    pub rotated_at: Option<i64>,
    /// Whether its one use within the reuse grace window was spent.
    pub grace_used: bool,
}

impl Store {
    /// Stores a grant.
    pub fn create_grant(&self, grant: &Grant) -> StoreResult<()> {
        let mut connection = self.connection()?;
        diesel::insert_into(grants::table)
            .values(grant)
            .execute(&mut connection)?;
        Ok(())
    }

    /// Revokes a grant (its refresh tokens and access tokens); true if it
    /// was live.
    pub fn revoke_grant(&self, grant_id: &str, now: i64) -> StoreResult<bool> {
        let mut connection = self.connection()?;
        let revoked = diesel::update(
            grants::table
                .find(grant_id)
                .filter(grants::revoked_at.is_null()),
        )
        .set(grants::revoked_at.eq(now))
        .execute(&mut connection)?;
        Ok(revoked == 1)
    }

    /// Stores a refresh token.
    pub fn insert_refresh_token(&self, token: &RefreshToken) -> StoreResult<()> {
        let mut connection = self.connection()?;
        diesel::insert_into(refresh_tokens::table)
            .values(token)
            .execute(&mut connection)?;
        Ok(())
    }

    /// A refresh token and its grant.
    pub fn find_refresh_token(&self, digest: &str) -> StoreResult<Option<(RefreshToken, Grant)>> {
        let mut connection = self.connection()?;
        Ok(refresh_tokens::table
            .inner_join(grants::table)
            .filter(refresh_tokens::token_digest.eq(digest))
            .select((RefreshToken::as_select(), Grant::as_select()))
            .first(&mut connection)
            .optional()?)
    }

    /// Marks a live, unexpired refresh token used: true for exactly one
    /// caller however many present it at once (one conditional UPDATE).
    pub fn rotate_refresh_token(&self, digest: &str, now: i64) -> StoreResult<bool> {
        let mut connection = self.connection()?;
        let rotated = diesel::update(
            refresh_tokens::table
                .find(digest)
                .filter(refresh_tokens::rotated_at.is_null())
                .filter(refresh_tokens::expires_at.gt(now)),
        )
        .set(refresh_tokens::rotated_at.eq(now))
        .execute(&mut connection)?;
        Ok(rotated == 1)
    }

    /// Spends a rotated token's one use within the grace window: true for
    /// exactly one caller.
    pub fn use_refresh_grace(&self, digest: &str) -> StoreResult<bool> {
        let mut connection = self.connection()?;
        let used = diesel::update(
            refresh_tokens::table
                .find(digest)
                .filter(refresh_tokens::grace_used.eq(false)),
        )
        .set(refresh_tokens::grace_used.eq(true))
        .execute(&mut connection)?;
        Ok(used == 1)
    }

    /// Revokes one access token by `jti` until it would have expired.
    pub fn revoke_access_token(&self, jti: &str, expires_at: i64) -> StoreResult<()> {
        let mut connection = self.connection()?;
        let already: Option<String> = revoked_access_tokens::table
            .find(jti)
            .select(revoked_access_tokens::jti)
            .first(&mut connection)
            .optional()?;
        if already.is_none() {
            let inserted = diesel::insert_into(revoked_access_tokens::table)
                .values((
                    revoked_access_tokens::jti.eq(jti),
                    revoked_access_tokens::expires_at.eq(expires_at),
                ))
                .execute(&mut connection);
            // A concurrent revocation of the same token is not an error.
            if let Err(error) = inserted {
                if !matches!(
                    error,
                    diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::UniqueViolation,
                        _
                    )
                ) {
                    return Err(error.into());
                }
            }
        }
        Ok(())
    }

    /// Whether an access token was revoked, by itself (`jti`) or through
    /// its grant (`gid`).
    pub fn is_access_token_revoked(&self, jti: &str, grant_id: Option<&str>) -> StoreResult<bool> {
        let mut connection = self.connection()?;
        let by_jti: i64 = revoked_access_tokens::table
            .filter(revoked_access_tokens::jti.eq(jti))
            .count()
            .get_result(&mut connection)?;
        if by_jti > 0 {
            return Ok(true);
        }
        match grant_id {
            Some(grant_id) => {
                // A disabled user's tokens are dead too.
                let live: i64 = grants::table
                    .inner_join(users::table)
                    .filter(grants::id.eq(grant_id))
                    .filter(grants::revoked_at.is_null())
                    .filter(users::disabled.eq(false))
                    .count()
                    .get_result(&mut connection)?;
                Ok(live == 0)
            }
            None => Ok(false),
        }
    }

    /// Records the grant created when a code was redeemed.
    pub fn set_code_grant(&self, code_digest: &str, grant_id: &str) -> StoreResult<()> {
        let mut connection = self.connection()?;
        diesel::update(authorization_codes::table.find(code_digest))
            .set(authorization_codes::grant_id.eq(grant_id))
            .execute(&mut connection)?;
        Ok(())
    }

    /// The grant of a code that was already redeemed, and its user, if
    /// any: presenting it again revokes that grant (RFC 6749 §4.1.2).
    pub fn redeemed_code_grant(&self, code_digest: &str) -> StoreResult<Option<(String, String)>> {
        let mut connection = self.connection()?;
        Ok(authorization_codes::table
            .find(code_digest)
            .filter(authorization_codes::redeemed_at.is_not_null())
            .select((authorization_codes::grant_id, authorization_codes::user_id))
            .first::<(Option<String>, String)>(&mut connection)
            .optional()?
            .and_then(|(grant_id, user_id)| Some((grant_id?, user_id))))
    }
}
