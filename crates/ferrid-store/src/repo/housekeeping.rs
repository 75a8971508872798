//! Deleting rows that can no longer matter.

use diesel::prelude::*;

use crate::error::StoreResult;
use crate::schema::{
    authorization_codes, authorization_requests, client_assertions, email_tokens, grants,
    login_throttles, logout_deliveries, refresh_tokens, revoked_access_tokens, sessions,
};
use crate::Store;

/// How many rows of each kind a cleanup removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Removed {
    /// Pending authorization requests.
    pub authorization_requests: usize,
    /// Authorization codes.
    pub authorization_codes: usize,
    /// Browser sessions.
    pub sessions: usize,
    /// Grants (with their refresh tokens).
    pub grants: usize,
    /// Unused expired refresh tokens of live grants.
    pub refresh_tokens: usize,
    /// Revocation records of expired access tokens.
    pub revoked_access_tokens: usize,
    /// Back-channel logout deliveries a week old (delivered or given up).
    pub logout_deliveries: usize,
    /// Replay records of expired client assertions.
    pub client_assertions: usize,
    /// Login failure counts untouched for a day and no longer locking.
    pub login_throttles: usize,
    /// Expired e-mailed tokens.
    pub email_tokens: usize,
}

impl Removed {
    /// The total.
    pub fn total(&self) -> usize {
        self.authorization_requests
            + self.authorization_codes
            + self.sessions
            + self.grants
            + self.refresh_tokens
            + self.revoked_access_tokens
            + self.logout_deliveries
            + self.client_assertions
            + self.login_throttles
            + self.email_tokens
    }
}

impl Store {
    /// Deletes what expired before `now`. Redeemed codes are kept
    /// `code_retention` seconds past expiry (a replay still revokes their
    /// tokens), and grants `grant_retention` seconds past their end (their
    /// last access tokens are still checked against them). Rotated refresh
    /// tokens stay with their grant, so a replay is recognised as one.
    pub fn delete_expired(
        &self,
        now: i64,
        code_retention: i64,
        grant_retention: i64,
    ) -> StoreResult<Removed> {
        let mut connection = self.connection()?;
        Ok(Removed {
            authorization_requests: diesel::delete(
                authorization_requests::table.filter(authorization_requests::expires_at.le(now)),
            )
            .execute(&mut connection)?,
            authorization_codes: diesel::delete(
                authorization_codes::table
                    .filter(authorization_codes::expires_at.le(now - code_retention)),
            )
            .execute(&mut connection)?,
            sessions: diesel::delete(sessions::table.filter(sessions::expires_at.le(now)))
                .execute(&mut connection)?,
            // Refresh tokens go with their grant (ON DELETE CASCADE).
            grants: diesel::delete(
                grants::table.filter(grants::expires_at.le(now - grant_retention)),
            )
            .execute(&mut connection)?,
            refresh_tokens: diesel::delete(
                refresh_tokens::table
                    .filter(refresh_tokens::expires_at.le(now))
                    .filter(refresh_tokens::rotated_at.is_null()),
            )
            .execute(&mut connection)?,
            revoked_access_tokens: diesel::delete(
                revoked_access_tokens::table.filter(revoked_access_tokens::expires_at.le(now)),
            )
            .execute(&mut connection)?,
            client_assertions: diesel::delete(
                client_assertions::table.filter(client_assertions::expires_at.le(now)),
            )
            .execute(&mut connection)?,
            logout_deliveries: diesel::delete(
                logout_deliveries::table.filter(logout_deliveries::created_at.le(now - 7 * 86_400)),
            )
            .execute(&mut connection)?,
            login_throttles: diesel::delete(
                login_throttles::table
                    .filter(login_throttles::updated_at.le(now - 86_400))
                    .filter(
                        login_throttles::locked_until
                            .is_null()
                            .or(login_throttles::locked_until.le(now)),
                    ),
            )
            .execute(&mut connection)?,
            email_tokens: diesel::delete(
                email_tokens::table.filter(email_tokens::expires_at.le(now)),
            )
            .execute(&mut connection)?,
        })
    }
}
