//! Device authorization requests (RFC 8628): what a device asked for,
//! kept under the digests of its device code and user code while the
//! user approves it on another screen and the device polls.

use diesel::prelude::*;

use crate::error::StoreResult;
use crate::repo::authorization::AuthorizationCode;
use crate::schema::{authorization_codes, authorization_requests, device_authorizations};
use crate::Store;

/// Waiting for the user.
pub const DEVICE_PENDING: &str = "pending";
/// The user allowed it; an authorization code bound to the device code
/// waits for the device's next poll.
pub const DEVICE_APPROVED: &str = "approved";
/// The user refused it.
pub const DEVICE_DENIED: &str = "denied";

/// A device authorization request, as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = device_authorizations)]
pub struct DeviceAuthorization {
    /// Digest of the device code.
    pub device_code_digest: String,
    /// Digest of the normalised user code.
    pub user_code_digest: String,
    /// The client that asked.
    pub client_id: String,
    /// Requested scopes, space-separated.
    pub scope: String,
    /// Requested APIs (RFC 8707), space-separated.
    pub resources: String,
    /// [`DEVICE_PENDING`], [`DEVICE_APPROVED`] or [`DEVICE_DENIED`].
    pub status: String,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Expiry, Unix seconds.
    pub expires_at: i64,
    /// Seconds the device must wait between polls.
    pub poll_interval: i64,
    /// When the device last polled.
    pub last_polled_at: Option<i64>,
}

/// What a poll found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevicePoll {
    /// No such device code for this client.
    Unknown,
    /// It expired.
    Expired,
    /// Polled sooner than its interval: the interval grew by
    /// `slow_down_step` seconds.
    TooSoon,
    /// Still pending, denied or approved (status as stored).
    Status(String),
}

impl Store {
    /// Stores a new device authorization request; false if its user code
    /// collides with a stored one (the caller draws another).
    pub fn insert_device_authorization(&self, row: &DeviceAuthorization) -> StoreResult<bool> {
        let mut connection = self.connection()?;
        match diesel::insert_into(device_authorizations::table)
            .values(row)
            .execute(&mut connection)
            .map_err(crate::StoreError::conflict_as("user code"))
        {
            Ok(_) => Ok(true),
            Err(crate::StoreError::Conflict(_)) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// The pending, unexpired request whose user code has this digest.
    pub fn find_pending_device_authorization(
        &self,
        user_code_digest: &str,
        now: i64,
    ) -> StoreResult<Option<DeviceAuthorization>> {
        let mut connection = self.connection()?;
        Ok(device_authorizations::table
            .filter(device_authorizations::user_code_digest.eq(user_code_digest))
            .filter(device_authorizations::status.eq(DEVICE_PENDING))
            .filter(device_authorizations::expires_at.gt(now))
            .select(DeviceAuthorization::as_select())
            .first(&mut connection)
            .optional()?)
    }

    /// Approves a pending request, in one transaction: the pending browser
    /// request `pending_digest` is claimed, the device request moves from
    /// pending to approved, and `code` (bound to the device code) is
    /// stored. False if either was already answered or the device request
    /// expired.
    pub fn approve_device_authorization(
        &self,
        pending_digest: &str,
        code: &AuthorizationCode,
        device_code_digest: &str,
        now: i64,
    ) -> StoreResult<bool> {
        self.write_transaction(|transaction| {
            let connection = transaction.connection();
            // The browser request is spent either way: an answered or
            // expired device request cannot be approved again.
            let claimed = diesel::delete(authorization_requests::table.find(pending_digest))
                .execute(connection)?;
            let approved = claimed == 1
                && diesel::update(
                    device_authorizations::table
                        .find(device_code_digest)
                        .filter(device_authorizations::status.eq(DEVICE_PENDING))
                        .filter(device_authorizations::expires_at.gt(now)),
                )
                .set(device_authorizations::status.eq(DEVICE_APPROVED))
                .execute(connection)?
                    == 1;
            if approved {
                diesel::insert_into(authorization_codes::table)
                    .values(code)
                    .execute(connection)?;
            }
            Ok(approved)
        })
    }

    /// Marks a pending request denied; false if it was answered already.
    pub fn deny_device_authorization(&self, device_code_digest: &str) -> StoreResult<bool> {
        let mut connection = self.connection()?;
        let denied = diesel::update(
            device_authorizations::table
                .find(device_code_digest)
                .filter(device_authorizations::status.eq(DEVICE_PENDING)),
        )
        .set(device_authorizations::status.eq(DEVICE_DENIED))
        .execute(&mut connection)?;
        Ok(denied == 1)
    }

    /// Records a poll by `client_id` for the device code with this digest
    /// and says what it found. A poll sooner than the request's interval
    /// after the previous one is [`DevicePoll::TooSoon`] and adds
    /// `slow_down_step` seconds to the interval (RFC 8628 §3.5). The
    /// check and the update are one conditional UPDATE, so it holds when
    /// polls reach different nodes.
    pub fn poll_device_authorization(
        &self,
        device_code_digest: &str,
        client_id: &str,
        now: i64,
        slow_down_step: i64,
    ) -> StoreResult<DevicePoll> {
        let mut connection = self.connection()?;
        let found = device_authorizations::table
            .find(device_code_digest)
            .filter(device_authorizations::client_id.eq(client_id))
            .select(DeviceAuthorization::as_select())
            .first(&mut connection)
            .optional()?;
        let Some(found) = found else {
            return Ok(DevicePoll::Unknown);
        };
        if found.expires_at <= now {
            return Ok(DevicePoll::Expired);
        }
        let row = device_authorizations::table.find(device_code_digest);
        let on_time = diesel::update(
            row.filter(
                device_authorizations::last_polled_at.is_null().or(
                    (device_authorizations::last_polled_at
                        + device_authorizations::poll_interval.nullable())
                    .le(now),
                ),
            ),
        )
        .set(device_authorizations::last_polled_at.eq(now))
        .execute(&mut connection)?;
        if on_time != 1 {
            diesel::update(row)
                .set((
                    device_authorizations::last_polled_at.eq(now),
                    device_authorizations::poll_interval
                        .eq(device_authorizations::poll_interval + slow_down_step),
                ))
                .execute(&mut connection)?;
            return Ok(DevicePoll::TooSoon);
        }
        Ok(DevicePoll::Status(found.status))
    }
}
