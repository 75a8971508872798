//! The client credentials grant (RFC 6749 §4.4): a confidential client
//! gets an access token for itself; no ID token, no refresh token.

use ferrid_store::Client;

use crate::error::{ErrorCode, OAuthError};
use crate::grants::issue::{self, Subject, TokenResponse};
use crate::http::Params;
use crate::state::AppState;
use ferrid_service::scopes;

/// Scopes that only make sense for a user, never for a client alone.
const USER_ONLY: [&str; 2] = [scopes::OPENID, scopes::OFFLINE_ACCESS];

/// Issues an access token to the client itself.
pub fn exchange(
    state: &AppState,
    client: &Client,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    if !client.auth_method.is_confidential() {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "client_credentials is only for confidential clients",
        ));
    }
    let allowed: Vec<String> = client
        .scopes
        .iter()
        .filter(|scope| !USER_ONLY.contains(&scope.as_str()))
        .cloned()
        .collect();
    let scope = match params.get("scope") {
        Some(requested) => {
            let requested = scopes::split(requested);
            if let Some(refused) = requested
                .iter()
                .find(|scope| !scopes::contains(&allowed, scope))
            {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    format!(
                        "scope \"{}\" is not allowed for this client",
                        refused.chars().take(64).collect::<String>()
                    ),
                ));
            }
            requested
        }
        None => allowed,
    };
    Ok(issue::tokens(state, client, Subject::Client, &scope)?)
}
