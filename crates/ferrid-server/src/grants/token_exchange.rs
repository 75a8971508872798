//! Token exchange (RFC 8693) for service-to-service calls: a service that
//! received an access token from this server trades it for one to another
//! API, keeping the token's subject (impersonation) or, with an actor
//! token of its own, saying that it acts for the subject (delegation,
//! the `act` claim).
//!
//! What an administrator allows decides every exchange: the client must
//! be registered with the grant; it may trade only tokens issued to it or
//! for an API whose scopes it is allowed (the API it is the service of);
//! and the new token is for one other API whose scopes it is allowed, with
//! only those scopes.

use ferrid_store::Client;
use ferrid_tokens::AccessTokenClaims;
use serde_json::{json, Value};

use crate::bearer;
use crate::error::OAuthError;
use crate::grants::issue::{self, Subject, TokenResponse};
use crate::http::Params;
use crate::resources::{invalid_target, Target};
use crate::state::AppState;
use ferrid_service::scopes;

/// The token type of the access tokens this server exchanges and issues
/// (RFC 8693 §3).
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// Trades a subject token (and maybe an actor token) for an access token
/// to the API named by `resource` or `audience`.
pub async fn exchange(
    state: &AppState,
    client: &Client,
    params: &Params,
    holder: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    super::confidential_only(client, "token exchange")?;
    let subject_token = typed_token(params, "subject_token")?
        .ok_or_else(|| OAuthError::invalid_request("subject_token is required"))?;
    if params
        .get("requested_token_type")
        .is_some_and(|requested| requested != ACCESS_TOKEN_TYPE)
    {
        return Err(OAuthError::invalid_request(
            "requested_token_type must be urn:ietf:params:oauth:token-type:access_token",
        ));
    }
    let actor_token = typed_token(params, "actor_token")?;

    let subject = active(state, subject_token, "subject_token").await?;
    let apis = state.apis().await?;
    if subject.client_id != client.client_id
        && !apis
            .allowed_to(client)
            .any(|api| subject.aud.contains(&api.identifier))
    {
        return Err(OAuthError::invalid_request(
            "the subject_token was issued neither to this client nor for an API whose scopes it \
             is allowed",
        ));
    }
    // A client's own token stands for that client: another may not act
    // as it (and take its roles).
    if subject.gid.is_none() && subject.client_id != client.client_id {
        return Err(OAuthError::invalid_request(
            "a client's token can be exchanged only by that client",
        ));
    }
    let act = match actor_token {
        // Impersonation: the subject's own chain of actors, if any, stays.
        None => subject.act.clone(),
        Some(token) => {
            let actor = active(state, token, "actor_token").await?;
            if actor.client_id != client.client_id {
                return Err(OAuthError::invalid_request(
                    "the actor_token must have been issued to this client",
                ));
            }
            Some(actor_claim(&actor, subject.act.as_ref()))
        }
    };

    let named: Vec<&String> = params
        .all("resource")
        .iter()
        .chain(params.all("audience"))
        .collect();
    let api = match named[..] {
        [target] => apis.permitted(client, target)?,
        [] => {
            return Err(invalid_target(
                "name the API the token is for with resource or audience",
            ))
        }
        _ => return Err(invalid_target("name one API per token exchange")),
    };
    let allowed: Vec<String> = client
        .scopes
        .iter()
        .filter(|scope| api.defines_scope(scope))
        .cloned()
        .collect();
    let requested = params.get("scope").map(scopes::split);
    super::check_requested_scopes(requested.as_deref(), &allowed)?;
    let scope = requested.unwrap_or(allowed);
    // A user's token names its grant; its `sub` may be pairwise.
    let user_id = match subject.gid.clone() {
        Some(gid) => {
            let user_id = state
                .db(move |store| store.user_of_grant(&gid))
                .await?
                .filter(|user| !user.disabled)
                .map(|user| user.id);
            Some(user_id.ok_or_else(|| {
                OAuthError::invalid_request("the subject_token's user is no longer active")
            })?)
        }
        None => None,
    };
    let mut response = issue::mint(
        state,
        client,
        Subject::Exchanged {
            token: &subject,
            user_id,
            act,
        },
        &scope,
        Target { api: Some(api) },
        holder,
    )
    .await?;
    response.issued_token_type = Some(ACCESS_TOKEN_TYPE);
    Ok(response)
}

/// The token named `name` with its `name_type`, both or neither; only
/// access tokens are exchanged.
fn typed_token<'a>(params: &'a Params, name: &str) -> Result<Option<&'a str>, OAuthError> {
    let token_type = format!("{name}_type");
    match (params.get(name), params.get(&token_type)) {
        (None, None) => Ok(None),
        (Some(token), Some(ACCESS_TOKEN_TYPE)) => Ok(Some(token)),
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(format!(
            "{token_type} must be urn:ietf:params:oauth:token-type:access_token: this server \
             exchanges the access tokens it issued"
        ))),
        (Some(_), None) => Err(OAuthError::invalid_request(format!(
            "{token_type} is required with {name}"
        ))),
        (None, Some(_)) => Err(OAuthError::invalid_request(format!(
            "{name} is required with {token_type}"
        ))),
    }
}

/// The claims of `token` if this server issued it and it is still valid;
/// otherwise `invalid_request` (RFC 8693 §2.2.2).
async fn active(
    state: &AppState,
    token: &str,
    name: &str,
) -> Result<AccessTokenClaims, OAuthError> {
    bearer::active_access_token(state, token)
        .await?
        .ok_or_else(|| {
            OAuthError::invalid_request(format!("the {name} is invalid, expired or revoked"))
        })
}

/// The `act` claim naming `actor` as acting for the subject, with the
/// subject's earlier actors nested inside (RFC 8693 §4.1).
fn actor_claim(actor: &AccessTokenClaims, earlier: Option<&Value>) -> Value {
    let mut act = json!({ "sub": actor.sub, "client_id": actor.client_id });
    if let Some(earlier) = earlier {
        act["act"] = earlier.clone();
    }
    act
}
