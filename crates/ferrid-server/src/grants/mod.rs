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

/// Checks that the scopes a token request asks for, if any, are among
/// those `allowed` for it: `invalid_scope` naming the first that is not.
pub fn check_requested_scopes(
    requested: Option<&[String]>,
    allowed: &[String],
) -> Result<(), OAuthError> {
    match requested
        .into_iter()
        .flatten()
        .find(|scope| !ferrid_service::scopes::contains(allowed, scope))
    {
        Some(refused) => Err(OAuthError::new(
            ErrorCode::InvalidScope,
            format!(
                "scope \"{}\" is not allowed for this client",
                refused.chars().take(64).collect::<String>()
            ),
        )),
        None => Ok(()),
    }
}

/// `invalid_grant` with a description.
pub fn invalid_grant(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, description)
}
