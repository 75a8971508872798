//! The client credentials grant (RFC 6749 §4.4): a confidential client
//! gets an access token for itself; no ID token, no refresh token. With
//! API scopes the token is for that API (RFC 8707): named by `resource`,
//! or implied when the scopes asked for belong to one API.

use ferrid_store::Client;

use crate::error::OAuthError;
use crate::grants::issue::{self, Subject, TokenResponse};
use crate::http::Params;
use crate::resources::{invalid_target, Apis, Target};
use crate::state::AppState;
use ferrid_service::scopes;

/// Scopes that only make sense for a user, never for a client alone.
const USER_ONLY: [&str; 2] = [scopes::OPENID, scopes::OFFLINE_ACCESS];

/// Issues an access token to the client itself.
pub async fn exchange(
    state: &AppState,
    client: &Client,
    params: &Params,
    holder: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    super::confidential_only(client, "client_credentials")?;
    let apis = state.apis().await?;
    let (scope, target) = scope_and_target(&apis, client, params)?;
    Ok(issue::mint(state, client, Subject::Client, &scope, target, holder).await?)
}

/// The scopes to grant and the API the token is for.
fn scope_and_target<'a>(
    apis: &'a Apis,
    client: &Client,
    params: &Params,
) -> Result<(Vec<String>, Target<'a>), OAuthError> {
    let allowed: Vec<String> = client
        .scopes
        .iter()
        .filter(|scope| !USER_ONLY.contains(&scope.as_str()) && apis.is_known_scope(scope))
        .cloned()
        .collect();
    let requested = params.get("scope").map(scopes::split);
    super::check_requested_scopes(requested.as_deref(), &allowed)?;
    let target =
        match params.all("resource") {
            [] => {
                let asked = requested.as_deref().unwrap_or(&allowed);
                let mut owners: Vec<&ferrid_store::Api> = Vec::new();
                for api in asked.iter().filter_map(|scope| apis.owner_of(scope)) {
                    if !owners.iter().any(|seen| seen.identifier == api.identifier) {
                        owners.push(api);
                    }
                }
                match owners[..] {
                    [] => Target::SERVER,
                    [api] => Target { api: Some(api) },
                    _ => return Err(invalid_target(
                        "the scopes belong to several APIs: name one with the resource parameter",
                    )),
                }
            }
            [resource] => Target {
                api: Some(apis.permitted(client, resource)?),
            },
            _ => {
                return Err(invalid_target(
                    "name one resource per token request; ask again for each",
                ))
            }
        };
    // mint keeps, of these, the scopes that concern the target.
    Ok((requested.unwrap_or(allowed), target))
}
