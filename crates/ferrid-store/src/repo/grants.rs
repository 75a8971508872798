//! Grants and the tokens descended from them. A grant is one authorization
//! (one code redemption); its refresh tokens form a family that is revoked
//! as a whole. Access tokens are JWTs that name their grant, so revoking
//! the grant ends them too; single access tokens are revoked by `jti`.

use diesel::prelude::*;

use crate::connection::DbConnection;
use crate::error::StoreResult;
use crate::schema::{grants, refresh_tokens, revoked_access_tokens, users};
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
    /// The APIs (identifiers, space-separated) it may mint access tokens
    /// for (RFC 8707).
    pub resources: String,
    /// User claims its ID tokens carry beyond the scopes' (the `claims`
    /// request parameter), space-separated.
    pub id_token_claims: String,
    /// For a public client's grant made with a DPoP proof (RFC 9449 §5):
    /// the thumbprint of the key its refresh tokens need a proof of.
    pub dpop_jkt: Option<String>,
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
    /// Revokes a grant (its refresh tokens and access tokens); true if it
    /// was live.
    pub fn revoke_grant(&self, grant_id: &str, now: i64) -> StoreResult<bool> {
        revoke_grant(&mut *self.connection()?, grant_id, now)
    }

    /// The user of grant `grant_id`, in one query: access tokens name
    /// their grant, and their `sub` may be pairwise (computed for a
    /// client, not the user's id).
    pub fn user_of_grant(&self, grant_id: &str) -> StoreResult<Option<crate::User>> {
        let mut connection = self.connection()?;
        Ok(grants::table
            .inner_join(users::table)
            .filter(grants::id.eq(grant_id))
            .select(crate::User::as_select())
            .first(&mut connection)
            .optional()?)
    }

    /// A refresh token and its grant.
    pub fn find_refresh_token(&self, digest: &str) -> StoreResult<Option<(RefreshToken, Grant)>> {
        find_refresh_token(&mut *self.connection()?, digest)
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
}

/// Revokes a grant on `connection`; true if it was live.
pub(crate) fn revoke_grant(
    connection: &mut DbConnection,
    grant_id: &str,
    now: i64,
) -> StoreResult<bool> {
    let revoked = diesel::update(
        grants::table
            .find(grant_id)
            .filter(grants::revoked_at.is_null()),
    )
    .set(grants::revoked_at.eq(now))
    .execute(connection)?;
    Ok(revoked == 1)
}

/// A refresh token and its grant, read on `connection`.
pub(crate) fn find_refresh_token(
    connection: &mut DbConnection,
    digest: &str,
) -> StoreResult<Option<(RefreshToken, Grant)>> {
    Ok(refresh_tokens::table
        .inner_join(grants::table)
        .filter(refresh_tokens::token_digest.eq(digest))
        .select((RefreshToken::as_select(), Grant::as_select()))
        .first(connection)
        .optional()?)
}
