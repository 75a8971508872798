//! Pending authorization requests (kept server-side while the user logs
//! in) and authorization codes.

use diesel::prelude::*;

use crate::error::StoreResult;
use crate::schema::{authorization_codes, authorization_requests};
use crate::Store;

/// A validated authorization request waiting for login or consent.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = authorization_requests)]
pub struct PendingAuthorization {
    /// Digest of the random request id handed to the browser.
    pub id_digest: String,
    /// The requesting client.
    pub client_id: String,
    /// The validated parameters, serialised by the server.
    pub parameters: String,
    /// The session started by a login made for this request, if any.
    pub login_sid: Option<String>,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Expiry, Unix seconds.
    pub expires_at: i64,
    /// The user who owes a second factor for this request: after a
    /// correct password, or (with `mfa_step_up`) to raise their session.
    pub mfa_user_id: Option<String>,
    /// Whether `mfa_user_id` is stepping up an existing session: then no
    /// password was given for this request, and only that live session
    /// may finish it.
    pub mfa_step_up: bool,
    /// Digest of the browser that made the request (its anti-forgery
    /// cookie), which keeps only its newest few.
    pub browser_digest: Option<String>,
}

/// An authorization code and everything the token endpoint must check
/// against it.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = authorization_codes)]
pub struct AuthorizationCode {
    /// Digest of the code.
    pub code_digest: String,
    /// Client the code was issued to.
    pub client_id: String,
    /// Authenticated user.
    pub user_id: String,
    /// Session the code came from.
    pub sid: String,
    /// Redirect URI of the authorization request.
    pub redirect_uri: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// The request's `nonce`.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// When the user authenticated, Unix seconds.
    pub auth_time: i64,
    /// Issue time, Unix seconds.
    pub created_at: i64,
    /// Expiry, Unix seconds.
    pub expires_at: i64,
    /// When it was redeemed; `None` until then.
    pub redeemed_at: Option<i64>,
    /// The grant its redemption created.
    pub grant_id: Option<String>,
    /// Authentication methods of the login (space-separated `amr` values).
    pub amr: String,
    /// The APIs (identifiers, space-separated) it may mint access tokens
    /// for (RFC 8707).
    pub resources: String,
    /// User claims requested in the ID token (the `claims` request
    /// parameter), space-separated.
    pub id_token_claims: String,
}

impl Store {
    /// Stores a pending authorization request; of its browser's requests,
    /// only the newest `keep_per_browser` stay (older ones are dropped, as
    /// an abandoned tab's would expire), so one browser cannot make the
    /// table grow without bound.
    pub fn create_pending_authorization(
        &self,
        pending: &PendingAuthorization,
        keep_per_browser: i64,
    ) -> StoreResult<()> {
        let mut connection = self.connection()?;
        connection.transaction(|connection| {
            diesel::insert_into(authorization_requests::table)
                .values(pending)
                .execute(connection)?;
            let Some(browser) = &pending.browser_digest else {
                return Ok(());
            };
            let older: Vec<String> = authorization_requests::table
                .filter(authorization_requests::browser_digest.eq(browser))
                .order((
                    authorization_requests::created_at.desc(),
                    authorization_requests::id_digest.desc(),
                ))
                .offset(keep_per_browser)
                .select(authorization_requests::id_digest)
                .load(connection)?;
            if !older.is_empty() {
                diesel::delete(
                    authorization_requests::table
                        .filter(authorization_requests::id_digest.eq_any(&older))
                        .filter(authorization_requests::id_digest.ne(&pending.id_digest)),
                )
                .execute(connection)?;
            }
            Ok(())
        })
    }

    /// The unexpired pending request with this id digest.
    pub fn find_pending_authorization(
        &self,
        id_digest: &str,
        now: i64,
    ) -> StoreResult<Option<PendingAuthorization>> {
        let mut connection = self.connection()?;
        Ok(authorization_requests::table
            .find(id_digest)
            .filter(authorization_requests::expires_at.gt(now))
            .select(PendingAuthorization::as_select())
            .first(&mut connection)
            .optional()?)
    }

    /// Records that the user logged in for this request, starting session
    /// `sid`; that login satisfies `prompt=login`.
    pub fn record_pending_login(&self, id_digest: &str, sid: &str) -> StoreResult<()> {
        let mut connection = self.connection()?;
        // The second factor, if one was owed, is spent with it.
        diesel::update(authorization_requests::table.find(id_digest))
            .set((
                authorization_requests::login_sid.eq(sid),
                authorization_requests::mfa_user_id.eq(None::<String>),
                authorization_requests::mfa_step_up.eq(false),
            ))
            .execute(&mut connection)?;
        Ok(())
    }

    /// Records that `user_id` must now pass a second factor for this
    /// request: after a correct password, or to step up their session.
    pub fn record_pending_second_factor(
        &self,
        id_digest: &str,
        user_id: &str,
        step_up: bool,
    ) -> StoreResult<()> {
        let mut connection = self.connection()?;
        diesel::update(authorization_requests::table.find(id_digest))
            .set((
                authorization_requests::mfa_user_id.eq(user_id),
                authorization_requests::mfa_step_up.eq(step_up),
            ))
            .execute(&mut connection)?;
        Ok(())
    }

    /// Removes a pending request as it is answered; true for the one
    /// caller that removed it, so a request is answered at most once.
    pub fn claim_pending_authorization(&self, id_digest: &str) -> StoreResult<bool> {
        let mut connection = self.connection()?;
        let deleted = diesel::delete(authorization_requests::table.find(id_digest))
            .execute(&mut connection)?;
        Ok(deleted == 1)
    }

    /// Stores an authorization code.
    pub fn insert_authorization_code(&self, code: &AuthorizationCode) -> StoreResult<()> {
        let mut connection = self.connection()?;
        diesel::insert_into(authorization_codes::table)
            .values(code)
            .execute(&mut connection)?;
        Ok(())
    }
}
