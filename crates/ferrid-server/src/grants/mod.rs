//! One module per grant type; `issue` mints what they hand out.

pub mod authorization_code;
pub mod client_credentials;
pub mod device_code;
pub mod issue;
#[cfg(test)]
mod memory;
pub mod refresh;
pub mod token_exchange;

use crate::error::{ErrorCode, OAuthError};

/// Refuses a public client a grant only confidential clients may use
/// (`unauthorized_client`, naming the grant).
pub fn confidential_only(client: &ferrid_store::Client, grant: &str) -> Result<(), OAuthError> {
    if client.auth_method.is_confidential() {
        Ok(())
    } else {
        Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!("{grant} is only for confidential clients"),
        ))
    }
}

/// `invalid_grant` with a description.
pub fn invalid_grant(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, description)
}
