//! Minting what a token response carries: the access token (RFC 9068), the
//! ID token (OIDC Core §3.1.3.6) and, for grants that allow it, a refresh
//! token. Which grant gets what is the grant handlers' decision.

use ferrid_store::secret::{digest, generate_secret, random_token};
use ferrid_store::{Client, Grant, GrantType, RefreshToken};
use ferrid_tokens::claims::{ACCESS_TOKEN_TYPE, ID_TOKEN_TYPE};
use ferrid_tokens::{
    access_token_hash, AccessTokenClaims, Audience, IdTokenClaims, SigningAlgorithm,
};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::acr::acr_for;
use crate::error::Internal;
use crate::resources::Target;
use crate::state::AppState;
use crate::user_claims;
use ferrid_service::scopes;

/// Prefix of refresh tokens, so secret scanners can spot a leaked one.
pub const REFRESH_TOKEN_PREFIX: &str = "frt_";

/// A successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    /// JWT access token (RFC 9068).
    pub access_token: String,
    /// `DPoP` for a token bound to a key (RFC 9449 §5), else `Bearer`.
    pub token_type: &'static str,
    /// Access-token lifetime, seconds.
    pub expires_in: i64,
    /// Granted scopes.
    pub scope: String,
    /// ID token, when `openid` was granted to a user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// Refresh token, when the grant allows one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// What kind of token `access_token` is, for token exchange (RFC 8693
    /// §2.2.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<&'static str>,
}

/// Who the tokens are about: a user's grant, or the client itself.
pub enum Subject<'a> {
    /// A user, through a grant (code or refresh).
    User {
        /// The grant.
        grant: &'a Grant,
        /// The nonce of the authorization request (first ID token only).
        nonce: Option<&'a str>,
    },
    /// The client acting for itself (client credentials).
    Client,
    /// The subject of a token this server issued, traded by the client
    /// for one to another API (RFC 8693): the new token keeps its
    /// subject, login and grant, and says who acts for it.
    Exchanged {
        /// The verified, unrevoked subject token.
        token: &'a AccessTokenClaims,
        /// Its user (the user of its grant), if it is a user's token.
        user_id: Option<String>,
        /// The `act` claim of the new token.
        act: Option<Value>,
    },
}

impl Subject<'_> {
    /// The user the tokens are about, if any.
    fn user_id(&self) -> Option<&str> {
        match self {
            Subject::User { grant, .. } => Some(&grant.user_id),
            Subject::Exchanged { user_id, .. } => user_id.as_deref(),
            Subject::Client => None,
        }
    }

    /// The client the tokens are about when no user is: `client` itself,
    /// or the client a traded client-credentials token was issued to.
    fn client_subject<'a>(&'a self, client: &'a Client) -> &'a str {
        match self {
            Subject::Exchanged { token, .. } => &token.sub,
            _ => &client.client_id,
        }
    }
}

/// What the tokens say about their subject beyond the grant: the roles
/// held at the target API and, with the `groups` scope, the user's groups.
#[derive(Debug, Default)]
struct Memberships {
    roles: Option<Vec<String>>,
    groups: Option<Vec<String>>,
    /// The user claims the grant's ID tokens carry (`claims` parameter).
    user_claims: Map<String, Value>,
}

/// Mints the tokens of a grant for `target`: the access token carries the
/// granted scopes that concern it (RFC 8707 §2.2), the roles the subject
/// holds there, and names it as `aud`; an ID token goes with a user grant
/// that has `openid`. With `holder` (the thumbprint of the key a DPoP
/// proof was made with) the access token is bound to that key.
pub async fn mint(
    state: &AppState,
    client: &Client,
    subject: Subject<'_>,
    granted: &[String],
    target: Target<'_>,
    holder: Option<&str>,
) -> Result<TokenResponse, Internal> {
    let scope = target.scopes_of(granted);
    let wants_roles = target
        .api
        .filter(|api| !api.roles.is_empty())
        .map(|api| api.identifier.clone());
    let user_id = subject.user_id().map(str::to_owned);
    let wants_groups = user_id.is_some()
        && scopes::contains(&scope, scopes::OPENID)
        && scopes::contains(&scope, scopes::GROUPS);
    // Only the claims whose scope this grant still holds (a refresh may
    // have narrowed it).
    let id_token_claims: Vec<String> = match &subject {
        Subject::User { grant, .. } if scopes::contains(&scope, scopes::OPENID) => grant
            .id_token_claims
            .split_whitespace()
            .filter(|claim| {
                user_claims::scope_of(claim)
                    .is_some_and(|covering| scopes::contains(&scope, covering.as_str()))
            })
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    let memberships = if wants_roles.is_some() || wants_groups || !id_token_claims.is_empty() {
        let client_id = subject.client_subject(client).to_owned();
        state
            .db(move |store| {
                let roles = match (&wants_roles, &user_id) {
                    (Some(api), Some(user_id)) => Some(store.roles_of_user(api, user_id)?),
                    (Some(api), None) => Some(store.roles_of_client(api, &client_id)?),
                    (None, _) => None,
                };
                let groups = match (&user_id, wants_groups) {
                    (Some(user_id), true) => Some(store.groups_of_user(user_id)?),
                    _ => None,
                };
                let user_claims = match (&user_id, id_token_claims.is_empty()) {
                    (Some(user_id), false) => store
                        .find_user(user_id)?
                        .map(|user| {
                            user_claims::of_user(&user, id_token_claims.iter().map(String::as_str))
                        })
                        .unwrap_or_default(),
                    _ => Map::new(),
                };
                Ok::<_, ferrid_store::StoreError>(Memberships {
                    roles,
                    groups,
                    user_claims,
                })
            })
            .await?
    } else {
        Memberships::default()
    };
    sign(state, client, subject, &scope, target, memberships, holder)
}

/// Signs an access token, and an ID token for a user grant with `openid`.
fn sign(
    state: &AppState,
    client: &Client,
    subject: Subject<'_>,
    scope: &[String],
    target: Target<'_>,
    memberships: Memberships,
    holder: Option<&str>,
) -> Result<TokenResponse, Internal> {
    let now = state.now();
    let settings = &state.settings;
    let published = state.published();
    let scope_text = scope.join(" ");
    // The user as this client knows them (OIDC Core §8).
    let user_sub = subject
        .user_id()
        .map(|user_id| state.subjects.for_client(client, user_id));
    let (sub, auth_time, sid, gid, acr, amr) = match &subject {
        Subject::User { grant, .. } => (
            user_sub.unwrap_or_else(|| grant.user_id.clone()),
            Some(grant.auth_time),
            Some(state.subjects.session_for(client, &grant.sid)),
            Some(grant.id.clone()),
            Some(acr_for(&grant.amr).to_owned()),
            Some(grant.amr.split_whitespace().map(str::to_owned).collect()),
        ),
        Subject::Exchanged { token, .. } => (
            user_sub.unwrap_or_else(|| token.sub.clone()),
            token.auth_time,
            token.sid.clone(),
            token.gid.clone(),
            token.acr.clone(),
            token.amr.clone(),
        ),
        Subject::Client => (client.client_id.clone(), None, None, None, None, None),
    };
    // A token for an API names it; with openid it may also be used at
    // this server's UserInfo endpoint, so it names this server too.
    let aud = match target.api {
        Some(api) if scopes::contains(scope, scopes::OPENID) => {
            Audience::Many(vec![api.identifier.clone(), settings.issuer.clone()])
        }
        Some(api) => Audience::One(api.identifier.clone()),
        None => Audience::One(settings.issuer.clone()),
    };
    let lifetime = target
        .api
        .and_then(|api| api.access_token_ttl)
        .unwrap_or(settings.access_token_ttl);
    // A traded token never outlives the one it was traded for.
    let lifetime = match &subject {
        Subject::Exchanged { token, .. } => lifetime.min(token.exp - now),
        _ => lifetime,
    };
    let access_alg = target
        .api
        .and_then(|api| api.signing_alg.as_deref())
        .and_then(SigningAlgorithm::parse)
        .unwrap_or(settings.access_token_alg);
    let access_claims = AccessTokenClaims {
        iss: settings.issuer.clone(),
        sub: sub.clone(),
        aud,
        client_id: client.client_id.clone(),
        exp: now + lifetime,
        iat: now,
        jti: random_token(16),
        scope: scope_text.clone(),
        auth_time,
        sid: sid.clone(),
        gid,
        acr,
        amr,
        roles: memberships.roles,
        act: match &subject {
            Subject::Exchanged { act, .. } => act.clone(),
            _ => None,
        },
        cnf: holder.map(|jkt| serde_json::json!({ "jkt": jkt })),
    };
    let access_token = published
        .keyring
        .sign(&access_claims, ACCESS_TOKEN_TYPE, access_alg)?;
    let id_token = match subject {
        Subject::User { grant, nonce } if scopes::contains(scope, scopes::OPENID) => {
            let alg =
                SigningAlgorithm::parse(&client.id_token_signed_response_alg).ok_or_else(|| {
                    Internal::log(format!(
                        "client {} has an unknown ID token algorithm",
                        client.client_id
                    ))
                })?;
            let claims = IdTokenClaims {
                iss: settings.issuer.clone(),
                sub,
                aud: client.client_id.clone(),
                exp: now + settings.id_token_ttl,
                iat: now,
                auth_time: grant.auth_time,
                nonce: nonce.map(str::to_owned),
                at_hash: Some(access_token_hash(&access_token, alg)),
                sid: state.subjects.session_for(client, &grant.sid),
                amr: grant.amr.split_whitespace().map(str::to_owned).collect(),
                acr: Some(acr_for(&grant.amr).to_owned()),
                groups: memberships.groups,
                user: memberships.user_claims,
            };
            Some(published.keyring.sign(&claims, ID_TOKEN_TYPE, alg)?)
        }
        _ => None,
    };
    tracing::info!(client_id = %client.client_id, jti = %access_claims.jti, "tokens issued");
    Ok(TokenResponse {
        access_token,
        token_type: if holder.is_some() { "DPoP" } else { "Bearer" },
        expires_in: lifetime,
        scope: scope_text,
        id_token,
        refresh_token: None,
        issued_token_type: None,
    })
}

/// How long what a user grant hands out lives, for one client: the
/// server's settings with the client's overrides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// Access-token lifetime, seconds.
    pub access_token: i64,
    /// Refresh-token idle lifetime, seconds.
    pub refresh_idle: i64,
    /// Refresh-token family (absolute) lifetime, seconds.
    pub refresh_absolute: i64,
}

impl Lifetimes {
    /// The lifetimes for `client` under `settings`.
    pub fn of(settings: &crate::settings::Settings, client: &Client) -> Lifetimes {
        Lifetimes {
            access_token: settings.access_token_ttl,
            refresh_idle: client.refresh_idle_ttl.unwrap_or(settings.refresh_idle_ttl),
            refresh_absolute: client
                .refresh_absolute_ttl
                .unwrap_or(settings.refresh_absolute_ttl),
        }
    }
}

/// Whether a grant of `scope` to `client` gets refresh tokens: the client
/// must be allowed the grant, and the user must have granted
/// `offline_access` (or the client gets them for online sessions too).
pub fn allows_refresh(client: &Client, scope: &[String]) -> bool {
    client.allows_grant(GrantType::RefreshToken)
        && (scopes::contains(scope, scopes::OFFLINE_ACCESS) || client.refresh_for_online_sessions)
}

/// A new refresh token in `grant`'s family and the row that stores it.
pub fn new_refresh_token(
    client: &Client,
    grant: &Grant,
    scope: &str,
    idle_lifetime: i64,
    now: i64,
) -> (String, RefreshToken) {
    let token = generate_secret(REFRESH_TOKEN_PREFIX);
    let row = refresh_token_row(&token, client, grant, scope, idle_lifetime, now);
    (token, row)
}

/// The stored form of refresh token `token` of `grant`.
pub fn refresh_token_row(
    token: &str,
    client: &Client,
    grant: &Grant,
    scope: &str,
    idle_lifetime: i64,
    now: i64,
) -> RefreshToken {
    RefreshToken {
        token_digest: digest(token),
        grant_id: grant.id.clone(),
        client_id: client.client_id.clone(),
        scope: scope.to_owned(),
        created_at: now,
        // The idle limit, never past the family's absolute end.
        expires_at: (now + idle_lifetime).min(grant.expires_at),
        rotated_at: None,
        grace_used: false,
    }
}
