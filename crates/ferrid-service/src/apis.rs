//! Registered APIs (resource servers, RFC 8707): the identifier that
//! becomes the `aud` of their access tokens, the scopes and roles they
//! define, their token settings, and whether they may introspect. Shared
//! by every admin surface, like client registration.

use ferrid_store::{Api, ApiRole, ApiScope, Client, Store, StoreError};
use ferrid_tokens::{MasterKey, SigningAlgorithm};
use url::Url;

use crate::audit::{Event, EventKind, Outcome};
use crate::clients::{self, ClientError, ClientRegistration, Registered};
use crate::scopes;

/// Longest scope or role name.
pub const MAX_NAME: usize = 128;
/// Longest access-token lifetime an API may set: a day. Access tokens are
/// bearer credentials; refresh tokens are for longer.
pub const MAX_ACCESS_TOKEN_TTL: i64 = 86_400;

/// What an administrator asks for.
#[derive(Debug, Clone, Default)]
pub struct ApiRegistration {
    /// Absolute URI, the `aud` of its tokens.
    pub identifier: String,
    /// Display name.
    pub name: String,
    /// The scopes it defines.
    pub scopes: Vec<ApiScope>,
    /// The roles it defines.
    pub roles: Vec<ApiRole>,
    /// Access-token lifetime, seconds (`None`: the server's).
    pub access_token_ttl: Option<i64>,
    /// Access-token signing algorithm (`None`: the server's).
    pub signing_alg: Option<String>,
    /// How the API authenticates to introspect, if it may.
    pub introspection: Option<IntrospectionAccess>,
}

/// The credentials an API introspects with: the same methods as clients.
#[derive(Debug, Clone, Default)]
pub struct IntrospectionAccess {
    /// `token_endpoint_auth_method` name (not `none`).
    pub auth_method: String,
    /// For `private_key_jwt`: the API's public keys (a JWKS, JSON).
    pub jwks: Option<String>,
    /// For `private_key_jwt`: where to fetch them.
    pub jwks_uri: Option<String>,
}

/// A registered API and, if it may introspect, its credentials (the
/// secret is shown once).
#[derive(Debug)]
pub struct RegisteredApi {
    /// The API as stored.
    pub api: Api,
    /// The client it introspects as.
    pub introspection: Option<Registered>,
}

/// Why an API registration is invalid, in domain words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiRuleError {
    /// Not an absolute URI without query and fragment.
    #[error("the identifier must be an absolute URI without a query or fragment (RFC 8707 §2)")]
    Identifier,
    /// The issuer's own URL, or one under it (ferrid's own APIs).
    #[error("the identifier must not be this server's issuer or a URL under it")]
    IssuerIdentifier,
    /// Empty or too long.
    #[error("the name must be 1 to 200 characters")]
    Name,
    /// Characters outside RFC 6749 §3.3, or too long.
    #[error("\"{0}\" is not a valid name: 1 to 128 characters, printable ASCII without spaces, quotes or backslashes (RFC 6749 §3.3)")]
    InvalidName(String),
    /// An OpenID Connect scope name.
    #[error("\"{0}\" is an OpenID Connect scope; choose another name")]
    ReservedScope(String),
    /// Another API, or this one twice, defines the scope.
    #[error("the scope \"{0}\" is already defined")]
    ScopeTaken(String),
    /// The role is defined twice.
    #[error("the role \"{0}\" is defined twice")]
    DuplicateRole(String),
    /// A scope without a description.
    #[error("the scope \"{0}\" needs a description (it is shown on the consent page)")]
    ScopeDescription(String),
    /// Out of range.
    #[error("the access-token lifetime must be 1 to {MAX_ACCESS_TOKEN_TTL} seconds")]
    Lifetime,
    /// No key for the algorithm.
    #[error("the signing algorithm must be one of {0}")]
    SigningAlg(String),
    /// Public credentials cannot authenticate.
    #[error("an API introspects with credentials: use client_secret_basic, client_secret_post, client_secret_jwt or private_key_jwt")]
    IntrospectionMethod,
}

impl ApiRuleError {
    /// The setting the error is about: the admin API's member and the
    /// console's form field.
    pub fn field(&self) -> &'static str {
        match self {
            ApiRuleError::Identifier | ApiRuleError::IssuerIdentifier => "identifier",
            ApiRuleError::Name => "name",
            ApiRuleError::ReservedScope(_)
            | ApiRuleError::ScopeTaken(_)
            | ApiRuleError::ScopeDescription(_) => "scopes",
            ApiRuleError::InvalidName(_) | ApiRuleError::DuplicateRole(_) => "roles",
            ApiRuleError::Lifetime => "access_token_ttl",
            ApiRuleError::SigningAlg(_) => "signing_alg",
            ApiRuleError::IntrospectionMethod => "introspection",
        }
    }
}

/// Why an API operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The registration breaks a rule.
    #[error(transparent)]
    Invalid(#[from] ApiRuleError),
    /// No API has this identifier.
    #[error("no API with identifier {0}")]
    NotFound(String),
    /// An API with this identifier exists.
    #[error("an API with identifier {0} already exists")]
    Exists(String),
    /// The introspection credentials are invalid or could not be made.
    #[error("introspection credentials: {0}")]
    Credentials(#[from] ClientError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether `name` is a valid scope or role name: RFC 6749 §3.3's
/// `scope-token` characters, and not too long.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name.bytes().all(|byte| {
            byte == 0x21 || (0x23..=0x5B).contains(&byte) || (0x5D..=0x7E).contains(&byte)
        })
}

fn check_identifier(identifier: &str, issuer: &str) -> Result<String, ApiRuleError> {
    let identifier = identifier.trim();
    let url = Url::parse(identifier).map_err(|_| ApiRuleError::Identifier)?;
    if url.query().is_some() || url.fragment().is_some() || identifier.contains('#') {
        return Err(ApiRuleError::Identifier);
    }
    let issuer = issuer.trim_end_matches('/');
    if identifier.trim_end_matches('/') == issuer || identifier.starts_with(&format!("{issuer}/")) {
        return Err(ApiRuleError::IssuerIdentifier);
    }
    Ok(identifier.to_owned())
}

fn check_name(name: &str) -> Result<String, ApiRuleError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiRuleError::Name);
    }
    Ok(name.to_owned())
}

/// The scopes and roles of an API, checked against each other and the
/// scopes `taken` by other APIs.
fn check_scopes_and_roles(
    api_scopes: &[ApiScope],
    roles: &[ApiRole],
    taken: &[String],
) -> Result<(), ApiRuleError> {
    for (index, scope) in api_scopes.iter().enumerate() {
        if !is_valid_name(&scope.name) {
            return Err(ApiRuleError::InvalidName(scope.name.clone()));
        }
        if scopes::is_reserved(&scope.name) {
            return Err(ApiRuleError::ReservedScope(scope.name.clone()));
        }
        if taken.contains(&scope.name)
            || api_scopes[..index]
                .iter()
                .any(|earlier| earlier.name == scope.name)
        {
            return Err(ApiRuleError::ScopeTaken(scope.name.clone()));
        }
        if scope.description.trim().is_empty() {
            return Err(ApiRuleError::ScopeDescription(scope.name.clone()));
        }
    }
    for (index, role) in roles.iter().enumerate() {
        if !is_valid_name(&role.name) {
            return Err(ApiRuleError::InvalidName(role.name.clone()));
        }
        if roles[..index]
            .iter()
            .any(|earlier| earlier.name == role.name)
        {
            return Err(ApiRuleError::DuplicateRole(role.name.clone()));
        }
    }
    Ok(())
}

fn check_token_settings(
    access_token_ttl: Option<i64>,
    signing_alg: Option<&str>,
    enabled: &[SigningAlgorithm],
) -> Result<Option<String>, ApiRuleError> {
    if access_token_ttl.is_some_and(|ttl| !(1..=MAX_ACCESS_TOKEN_TTL).contains(&ttl)) {
        return Err(ApiRuleError::Lifetime);
    }
    signing_alg
        .map(|alg| {
            clients::check_id_token_alg(alg, enabled)
                .map(|alg| alg.as_str().to_owned())
                .map_err(|_| {
                    ApiRuleError::SigningAlg(
                        enabled
                            .iter()
                            .map(|alg| alg.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    )
                })
        })
        .transpose()
}

/// Scope names defined by APIs other than `except`.
fn scopes_of_other_apis(store: &Store, except: &str) -> Result<Vec<String>, StoreError> {
    Ok(store
        .list_apis()?
        .into_iter()
        .filter(|api| api.identifier != except)
        .flat_map(|api| api.scopes.into_iter().map(|scope| scope.name))
        .collect())
}

/// The client an API introspects as: it may authenticate, and has no
/// grant, so it can never obtain a token.
fn introspection_client(
    api_name: &str,
    access: IntrospectionAccess,
    enabled: &[SigningAlgorithm],
    master_key: &MasterKey,
    now: i64,
) -> Result<Registered, ApiError> {
    if access.auth_method == "none" {
        return Err(ApiRuleError::IntrospectionMethod.into());
    }
    let registration = ClientRegistration {
        name: format!("{api_name} (introspection)"),
        // Registration needs a grant; it is cleared below.
        grant_types: vec!["client_credentials".to_owned()],
        auth_method: access.auth_method,
        id_token_alg: enabled
            .first()
            .map_or("RS256", |alg| alg.as_str())
            .to_owned(),
        jwks: access.jwks,
        jwks_uri: access.jwks_uri,
        ..ClientRegistration::default()
    };
    let mut registered = clients::register(registration, &[], enabled, master_key, now)?;
    registered.client.grant_types.clear();
    Ok(registered)
}

/// Validates and stores an API (and its introspection credentials), done
/// by `actor` on a server whose issuer is `issuer`.
pub fn create(
    store: &Store,
    registration: ApiRegistration,
    issuer: &str,
    enabled: &[SigningAlgorithm],
    master_key: &MasterKey,
    actor: &str,
    now: i64,
) -> Result<RegisteredApi, ApiError> {
    let identifier = check_identifier(&registration.identifier, issuer)?;
    let name = check_name(&registration.name)?;
    if store.find_api(&identifier)?.is_some() {
        return Err(ApiError::Exists(identifier));
    }
    check_scopes_and_roles(
        &registration.scopes,
        &registration.roles,
        &scopes_of_other_apis(store, &identifier)?,
    )?;
    let signing_alg = check_token_settings(
        registration.access_token_ttl,
        registration.signing_alg.as_deref(),
        enabled,
    )?;
    let introspection = registration
        .introspection
        .map(|access| introspection_client(&name, access, enabled, master_key, now))
        .transpose()?;
    let api = Api {
        identifier,
        name,
        access_token_ttl: registration.access_token_ttl,
        signing_alg,
        introspection_client_id: introspection
            .as_ref()
            .map(|registered| registered.client.client_id.clone()),
        created_at: now,
        scopes: registration.scopes,
        roles: registration.roles,
    };
    if let Some(registered) = &introspection {
        store.create_client(&registered.client)?;
    }
    if let Err(error) = store.create_api(&api) {
        if let Some(client_id) = &api.introspection_client_id {
            store.delete_client(client_id)?;
        }
        return Err(match error {
            StoreError::Conflict(_) => ApiError::Exists(api.identifier),
            other => other.into(),
        });
    }
    audit(EventKind::ApiCreate, actor, &api.identifier)
        .detail(format!(
            "scopes: {}; roles: {}",
            names(&api.scopes, |scope| &scope.name),
            names(&api.roles, |role| &role.name)
        ))
        .write(store, now)?;
    Ok(RegisteredApi { api, introspection })
}

fn names<T>(items: &[T], name: impl Fn(&T) -> &String) -> String {
    items
        .iter()
        .map(|item| name(item).as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A change to a stored API.
#[derive(Debug, Clone, Default)]
pub struct ApiUpdate {
    /// A new display name.
    pub name: Option<String>,
    /// Scopes to add (or whose description to change).
    pub add_scopes: Vec<ApiScope>,
    /// Scopes to remove.
    pub remove_scopes: Vec<String>,
    /// Roles to add (or whose description to change).
    pub add_roles: Vec<ApiRole>,
    /// Roles to remove, with their grants.
    pub remove_roles: Vec<String>,
    /// A new access-token lifetime, seconds.
    pub access_token_ttl: Option<i64>,
    /// A new signing algorithm.
    pub signing_alg: Option<String>,
}

/// Applies `update` to an API and audits it; returns the API as stored.
pub fn update(
    store: &Store,
    identifier: &str,
    update: ApiUpdate,
    enabled: &[SigningAlgorithm],
    actor: &str,
    now: i64,
) -> Result<Api, ApiError> {
    let mut api = show(store, identifier)?;
    if let Some(name) = &update.name {
        api.name = check_name(name)?;
    }
    api.scopes
        .retain(|scope| !update.remove_scopes.contains(&scope.name));
    for added in update.add_scopes {
        api.scopes.retain(|scope| scope.name != added.name);
        api.scopes.push(added);
    }
    api.roles
        .retain(|role| !update.remove_roles.contains(&role.name));
    for added in update.add_roles {
        api.roles.retain(|role| role.name != added.name);
        api.roles.push(added);
    }
    check_scopes_and_roles(
        &api.scopes,
        &api.roles,
        &scopes_of_other_apis(store, identifier)?,
    )?;
    if update.access_token_ttl.is_some() {
        api.access_token_ttl = update.access_token_ttl;
    }
    if let Some(alg) = check_token_settings(
        update.access_token_ttl,
        update.signing_alg.as_deref(),
        enabled,
    )? {
        api.signing_alg = Some(alg);
    }
    store.update_api(&api).map_err(|error| match error {
        StoreError::NotFound(_) => ApiError::NotFound(identifier.to_owned()),
        other => other.into(),
    })?;
    audit(EventKind::ApiUpdate, actor, identifier)
        .detail(format!(
            "scopes: {}; roles: {}",
            names(&api.scopes, |scope| &scope.name),
            names(&api.roles, |role| &role.name)
        ))
        .write(store, now)?;
    Ok(api)
}

/// A scope or role as the admin surfaces show it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NamedView {
    /// Its name.
    pub name: String,
    /// What it is for.
    pub description: String,
}

/// An API as the admin surfaces show it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ApiView {
    /// The identifier (`aud`).
    pub identifier: String,
    /// Display name.
    pub name: String,
    /// The scopes it defines.
    pub scopes: Vec<NamedView>,
    /// The roles it defines.
    pub roles: Vec<NamedView>,
    /// Access-token lifetime, seconds (`None`: the server's).
    pub access_token_ttl: Option<i64>,
    /// Signing algorithm (`None`: the server's).
    pub signing_alg: Option<String>,
    /// The client it introspects as, if it may.
    pub introspection_client_id: Option<String>,
    /// Registration time, RFC 3339.
    pub created_at: String,
}

impl From<&Api> for ApiView {
    fn from(api: &Api) -> Self {
        ApiView {
            identifier: api.identifier.clone(),
            name: api.name.clone(),
            scopes: api
                .scopes
                .iter()
                .map(|scope| NamedView {
                    name: scope.name.clone(),
                    description: scope.description.clone(),
                })
                .collect(),
            roles: api
                .roles
                .iter()
                .map(|role| NamedView {
                    name: role.name.clone(),
                    description: role.description.clone(),
                })
                .collect(),
            access_token_ttl: api.access_token_ttl,
            signing_alg: api.signing_alg.clone(),
            introspection_client_id: api.introspection_client_id.clone(),
            created_at: crate::clock::timestamp(api.created_at),
        }
    }
}

/// One stored API.
pub fn show(store: &Store, identifier: &str) -> Result<Api, ApiError> {
    store
        .find_api(identifier)?
        .ok_or_else(|| ApiError::NotFound(identifier.to_owned()))
}

/// Every registered API.
pub fn list(store: &Store) -> Result<Vec<Api>, ApiError> {
    Ok(store.list_apis()?)
}

/// Deletes an API, its introspection credentials, its scopes and roles
/// (clients keep the scope names in their allow-lists, but a scope no API
/// defines is never granted).
pub fn delete(store: &Store, identifier: &str, actor: &str, now: i64) -> Result<(), ApiError> {
    let api = show(store, identifier)?;
    store.delete_api(identifier)?;
    if let Some(client_id) = &api.introspection_client_id {
        match store.delete_client(client_id) {
            Ok(()) | Err(StoreError::NotFound(_)) => {}
            Err(error) => return Err(error.into()),
        }
    }
    audit(EventKind::ApiDelete, actor, identifier).write(store, now)?;
    Ok(())
}

/// The introspection client of `api`, as stored.
pub fn introspection_client_of(store: &Store, api: &Api) -> Result<Option<Client>, ApiError> {
    Ok(match &api.introspection_client_id {
        Some(client_id) => store.find_client(client_id)?,
        None => None,
    })
}

fn audit(kind: EventKind, actor: &str, identifier: &str) -> Event {
    Event::new(kind, Outcome::Success)
        .actor(actor)
        .subject(identifier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_rfc_6749_scope_tokens() {
        for good in [
            "orders:read",
            "a",
            "x.y/z",
            "!~",
            "n".repeat(MAX_NAME).as_str(),
        ] {
            assert!(is_valid_name(good), "{good}");
        }
        for bad in [
            "",
            "a b",
            "a\"b",
            "a\\b",
            "é",
            "a\tb",
            "n".repeat(MAX_NAME + 1).as_str(),
        ] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn identifiers_are_absolute_without_query_or_fragment() {
        let issuer = "https://id.example";
        assert_eq!(
            check_identifier(" https://api.example/orders ", issuer).unwrap(),
            "https://api.example/orders"
        );
        assert!(check_identifier("urn:example:orders", issuer).is_ok());
        for bad in [
            "orders",
            "https://api.example/?x=1",
            "https://api.example/#f",
            "",
        ] {
            assert_eq!(
                check_identifier(bad, issuer),
                Err(ApiRuleError::Identifier),
                "{bad}"
            );
        }
        for ours in ["https://id.example/", "https://id.example/admin/api/v1"] {
            assert_eq!(
                check_identifier(ours, issuer),
                Err(ApiRuleError::IssuerIdentifier)
            );
        }
    }

    #[test]
    fn scopes_are_unique_unreserved_and_described() {
        let scope = |name: &str| ApiScope {
            name: name.into(),
            description: "d".into(),
        };
        let role = |name: &str| ApiRole {
            name: name.into(),
            description: String::new(),
        };
        assert!(
            check_scopes_and_roles(&[scope("a:r"), scope("a:w")], &[role("admin")], &[]).is_ok()
        );
        assert_eq!(
            check_scopes_and_roles(&[scope("openid")], &[], &[]),
            Err(ApiRuleError::ReservedScope("openid".into()))
        );
        assert_eq!(
            check_scopes_and_roles(&[scope("groups")], &[], &[]),
            Err(ApiRuleError::ReservedScope("groups".into()))
        );
        assert_eq!(
            check_scopes_and_roles(&[scope("a"), scope("a")], &[], &[]),
            Err(ApiRuleError::ScopeTaken("a".into()))
        );
        assert_eq!(
            check_scopes_and_roles(&[scope("a")], &[], &["a".to_owned()]),
            Err(ApiRuleError::ScopeTaken("a".into()))
        );
        let undescribed = ApiScope {
            name: "a".into(),
            description: " ".into(),
        };
        assert_eq!(
            check_scopes_and_roles(&[undescribed], &[], &[]),
            Err(ApiRuleError::ScopeDescription("a".into()))
        );
        assert_eq!(
            check_scopes_and_roles(&[], &[role("r"), role("r")], &[]),
            Err(ApiRuleError::DuplicateRole("r".into()))
        );
        assert_eq!(
            check_scopes_and_roles(&[], &[role("r s")], &[]),
            Err(ApiRuleError::InvalidName("r s".into()))
        );
    }

    #[test]
    fn token_settings_are_bounded() {
        let enabled = [SigningAlgorithm::Rs256, SigningAlgorithm::EdDsa];
        assert_eq!(
            check_token_settings(Some(600), Some("EdDSA"), &enabled),
            Ok(Some("EdDSA".into()))
        );
        assert_eq!(check_token_settings(None, None, &enabled), Ok(None));
        assert_eq!(
            check_token_settings(Some(0), None, &enabled),
            Err(ApiRuleError::Lifetime)
        );
        assert_eq!(
            check_token_settings(Some(MAX_ACCESS_TOKEN_TTL + 1), None, &enabled),
            Err(ApiRuleError::Lifetime)
        );
        assert!(matches!(
            check_token_settings(None, Some("ES256"), &enabled),
            Err(ApiRuleError::SigningAlg(_))
        ));
    }
}
