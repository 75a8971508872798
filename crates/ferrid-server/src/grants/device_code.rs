//! The device code grant (RFC 8628 §3.4, §3.5): the device polls with its
//! device code until its user has answered. Approval left an
//! authorization code bound to the device code, which the poll redeems
//! exactly as the code grant redeems a code, so a device code that comes
//! back after it was redeemed revokes what it got.

use actix_web::HttpRequest;
use ferrid_store::secret::digest;
use ferrid_store::{Client, DevicePoll, DEVICE_APPROVED, DEVICE_DENIED};

use crate::authorize::device::{self, SLOW_DOWN_STEP};
use crate::error::{ErrorCode, OAuthError};
use crate::grants::authorization_code::{self, Presented};
use crate::grants::invalid_grant;
use crate::grants::issue::TokenResponse;
use crate::http::Params;
use crate::state::AppState;

/// Answers a device's poll: its tokens once the user approved, or why
/// not yet.
pub async fn exchange(
    state: &AppState,
    http: &HttpRequest,
    client: &Client,
    params: &Params,
    holder: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let device_code = params
        .get("device_code")
        .ok_or_else(|| OAuthError::invalid_request("device_code is required"))?;
    let device_code_digest = digest(device_code);
    let (polled, client_id, now) = (
        device_code_digest.clone(),
        client.client_id.clone(),
        state.now(),
    );
    let poll = state
        .db(move |store| store.poll_device_authorization(&polled, &client_id, now, SLOW_DOWN_STEP))
        .await?;
    match poll {
        DevicePoll::Unknown => Err(invalid_grant("the device_code is invalid")),
        DevicePoll::Expired => Err(OAuthError::new(
            ErrorCode::ExpiredToken,
            "the device_code has expired: start again",
        )),
        DevicePoll::TooSoon => Err(OAuthError::new(
            ErrorCode::SlowDown,
            "polled too soon: wait 5 seconds more between polls from now on",
        )),
        DevicePoll::Status(status) if status == DEVICE_DENIED => Err(OAuthError::new(
            ErrorCode::AccessDenied,
            "the user refused the device",
        )),
        DevicePoll::Status(status) if status == DEVICE_APPROVED => {
            // The approval's code is the digest of the device code's
            // digest: only a caller holding the device code reaches it.
            let presented = Presented {
                code: device_code_digest,
                redirect_uri: device::verification_uri(state),
                verifier: None,
                what: "device code",
                holder: holder.map(str::to_owned),
            };
            authorization_code::redeem_and_mint(state, http, client, params, presented).await
        }
        DevicePoll::Status(_) => Err(OAuthError::new(
            ErrorCode::AuthorizationPending,
            "the user has not answered yet",
        )),
    }
}
