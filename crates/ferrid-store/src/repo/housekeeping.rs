//! Deleting rows that can no longer matter.

use diesel::prelude::*;

use crate::error::StoreResult;
use crate::schema::{
    admin_sessions, audit_events, authorization_codes, authorization_requests, client_assertions,
    clients, device_authorizations, email_tokens, grants, initial_access_tokens, login_throttles,
    logout_deliveries, pushed_authorization_requests, refresh_tokens, revoked_access_tokens,
    role_grants, sessions, token_counts, webauthn_challenges,
};
use crate::Store;

/// How many rows of each kind a cleanup removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Removed {
    /// Pending, pushed and device authorization requests, and passkey
    /// ceremonies never finished.
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
    /// Audit events older than their retention.
    pub audit_events: usize,
    /// Expired admin console sessions.
    pub admin_sessions: usize,
    /// Hourly token counts older than the dashboard shows.
    pub token_counts: usize,
    /// Expired initial access tokens.
    pub initial_access_tokens: usize,
    /// Clients of metadata documents unused for [`DOCUMENT_CLIENT_RETENTION`].
    pub document_clients: usize,
}

/// A client known from its metadata document and not used (not fetched
/// again) for this long is removed: its refresh tokens have expired by
/// then, and its next use fetches the document and stores it again.
pub const DOCUMENT_CLIENT_RETENTION: i64 = 30 * 86_400;

/// Hourly token counts are kept this long (the dashboard shows 30 days).
pub const TOKEN_COUNT_RETENTION: i64 = 31 * 86_400;

/// How long rows are kept past the moment they stop mattering, seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Redeemed codes past their expiry: a replay still revokes the tokens
    /// of the first redemption.
    pub codes: i64,
    /// Grants past their end: their last access tokens are still checked
    /// against them.
    pub grants: i64,
    /// Audit events past their time; `None` keeps them for ever.
    pub audit_events: Option<i64>,
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
            + self.audit_events
            + self.admin_sessions
            + self.token_counts
            + self.initial_access_tokens
            + self.document_clients
    }
}

impl Store {
    /// Deletes what expired before `now`, keeping some rows longer as
    /// `retention` says. Rotated refresh tokens stay with their grant, so a
    /// replay is recognised as one.
    pub fn delete_expired(&self, now: i64, retention: &Retention) -> StoreResult<Removed> {
        let mut connection = self.connection()?;
        let document_clients = connection.transaction(|connection| {
            let stale: Vec<String> = clients::table
                .filter(clients::metadata_fetched_at.le(now - DOCUMENT_CLIENT_RETENTION))
                .select(clients::client_id)
                .load(connection)?;
            // Role grants name their holder without a foreign key.
            diesel::delete(
                role_grants::table
                    .filter(role_grants::principal_kind.eq("client"))
                    .filter(role_grants::principal.eq_any(&stale)),
            )
            .execute(connection)?;
            diesel::delete(clients::table.filter(clients::client_id.eq_any(&stale)))
                .execute(connection)
        })?;
        Ok(Removed {
            document_clients,
            initial_access_tokens: diesel::delete(
                initial_access_tokens::table.filter(initial_access_tokens::expires_at.le(now)),
            )
            .execute(&mut connection)?,
            admin_sessions: diesel::delete(
                admin_sessions::table.filter(admin_sessions::expires_at.le(now)),
            )
            .execute(&mut connection)?,
            token_counts: diesel::delete(
                token_counts::table
                    .filter(token_counts::hour.lt((now - TOKEN_COUNT_RETENTION) / 3600)),
            )
            .execute(&mut connection)?,
            authorization_requests: diesel::delete(
                authorization_requests::table.filter(authorization_requests::expires_at.le(now)),
            )
            .execute(&mut connection)?
                + diesel::delete(
                    pushed_authorization_requests::table
                        .filter(pushed_authorization_requests::expires_at.le(now)),
                )
                .execute(&mut connection)?
                + diesel::delete(
                    device_authorizations::table.filter(device_authorizations::expires_at.le(now)),
                )
                .execute(&mut connection)?
                + diesel::delete(
                    webauthn_challenges::table.filter(webauthn_challenges::expires_at.le(now)),
                )
                .execute(&mut connection)?,
            authorization_codes: diesel::delete(
                authorization_codes::table
                    .filter(authorization_codes::expires_at.le(now - retention.codes)),
            )
            .execute(&mut connection)?,
            sessions: diesel::delete(sessions::table.filter(sessions::expires_at.le(now)))
                .execute(&mut connection)?,
            // Refresh tokens go with their grant (ON DELETE CASCADE).
            grants: diesel::delete(
                grants::table.filter(grants::expires_at.le(now - retention.grants)),
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
            audit_events: match retention.audit_events {
                Some(kept) => {
                    diesel::delete(audit_events::table.filter(audit_events::at.le(now - kept)))
                        .execute(&mut connection)?
                }
                None => 0,
            },
        })
    }
}
