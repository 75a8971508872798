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

/// `invalid_grant` with a description.
pub fn invalid_grant(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, description)
}
