//! Client registration and administration, shared by every admin
//! surface: which grants, methods, scopes and redirect URIs make a valid
//! client, and the operations on stored clients. The secret is generated
//! here and returned once; only its digest is kept (or, for
//! `client_secret_jwt`, the secret sealed under the master key).

use ferrid_store::secret::{
    digest, generate_secret, random_identifier, random_token, CLIENT_SECRET_PREFIX,
};
use ferrid_store::{Client, ClientAuthMethod, GrantType, Store, StoreError, StoreResult};
use ferrid_tokens::{MasterKey, SigningAlgorithm, TokenError};
use url::Url;

use crate::audit::{Event, EventKind, Outcome};
use crate::scopes;

/// What an administrator asks for.
#[derive(Debug, Clone, Default)]
pub struct ClientRegistration {
    /// Display name.
    pub name: String,
    /// Redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Grant types.
    pub grant_types: Vec<String>,
    /// `token_endpoint_auth_method` name.
    pub auth_method: String,
    /// Space-separated scopes.
    pub scope: String,
    /// `id_token_signed_response_alg`.
    pub id_token_alg: String,
    /// Refresh-token idle lifetime override, seconds.
    pub refresh_idle_ttl: Option<i64>,
    /// Refresh-token absolute lifetime override, seconds.
    pub refresh_absolute_ttl: Option<i64>,
    /// Issue refresh tokens without `offline_access`.
    pub refresh_for_online_sessions: bool,
    /// Back-channel logout receiver.
    pub backchannel_logout_uri: Option<String>,
    /// Every login for this client needs a second factor.
    pub require_mfa: bool,
    /// Let a confidential client skip PKCE. Off by default: new clients
    /// must use it whatever their type (RFC 9700 §2.1.1).
    pub pkce_optional: bool,
    /// Accept only authorization requests the client pushed first
    /// (RFC 9126 `require_pushed_authorization_requests`).
    pub require_pushed_requests: bool,
    /// The client's own limit on requests per minute at the token,
    /// introspection and revocation endpoints (`None`: the server's
    /// default; 0: none).
    pub rate_limit_per_minute: Option<u32>,
    /// For `private_key_jwt`: the client's public keys (a JWKS, JSON).
    pub jwks: Option<String>,
    /// For `private_key_jwt`: where to fetch them.
    pub jwks_uri: Option<String>,
    /// Give the client pairwise subject identifiers (OIDC Core §8): a
    /// `sub` for each user that no other sector's clients share.
    pub pairwise_subjects: bool,
    /// Require a DPoP proof with every token request (RFC 9449
    /// `dpop_bound_access_tokens`).
    pub dpop_bound_access_tokens: bool,
}

/// A registered client and its secret, which is shown once.
pub struct Registered {
    /// The client as stored.
    pub client: Client,
    /// The secret of a confidential client.
    pub secret: Option<String>,
}

/// Never shows the secret, so logging a registration cannot leak it.
impl std::fmt::Debug for Registered {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Registered")
            .field("client", &self.client)
            .field("secret", &self.secret.as_ref().map(|_| "…"))
            .finish()
    }
}

/// The setting of a registration that an error is about, so each surface
/// can point at its own field (a CLI flag, a form input, a JSON member).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The display name.
    Name,
    /// The client authentication method.
    AuthMethod,
    /// The grant types.
    GrantTypes,
    /// The refresh-token lifetimes and online-session option together.
    RefreshSettings,
    /// The refresh-token lifetimes.
    RefreshLifetimes,
    /// The refresh-token idle lifetime.
    RefreshIdleTtl,
    /// The redirect URIs.
    RedirectUris,
    /// The post-logout redirect URIs.
    PostLogoutRedirectUris,
    /// The back-channel logout URI.
    BackchannelLogoutUri,
    /// The scopes.
    Scope,
    /// The public keys given inline.
    Jwks,
    /// Where the public keys are fetched.
    JwksUri,
    /// The ID token signing algorithm.
    IdTokenAlg,
    /// The client's request limit.
    RateLimit,
}

impl Field {
    /// The client metadata name of the setting (RFC 7591 §2, and
    /// ferrid's own for its extensions): the JSON member of the admin
    /// API and the field of the console's form.
    pub fn metadata_name(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::AuthMethod => "token_endpoint_auth_method",
            Field::GrantTypes => "grant_types",
            Field::RefreshSettings => "refresh_for_online_sessions",
            Field::RefreshLifetimes => "refresh_absolute_ttl",
            Field::RefreshIdleTtl => "refresh_idle_ttl",
            Field::RedirectUris => "redirect_uris",
            Field::PostLogoutRedirectUris => "post_logout_redirect_uris",
            Field::BackchannelLogoutUri => "backchannel_logout_uri",
            Field::Scope => "scope",
            Field::Jwks => "jwks",
            Field::JwksUri => "jwks_uri",
            Field::IdTokenAlg => "id_token_signed_response_alg",
            Field::RateLimit => "rate_limit_per_minute",
        }
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Field::Name => "name",
            Field::RateLimit => "rate limit",
            Field::AuthMethod => "authentication method",
            Field::GrantTypes => "grant types",
            Field::RefreshSettings => "refresh settings",
            Field::RefreshLifetimes => "refresh lifetimes",
            Field::RefreshIdleTtl => "refresh idle lifetime",
            Field::RedirectUris => "redirect URI",
            Field::PostLogoutRedirectUris => "post-logout redirect URI",
            Field::BackchannelLogoutUri => "back-channel logout URI",
            Field::Scope => "scope",
            Field::Jwks => "JWKS",
            Field::JwksUri => "JWKS URI",
            Field::IdTokenAlg => "ID token algorithm",
        })
    }
}

/// Why a registration is invalid, in domain words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationError {
    /// The name is empty or too long.
    #[error("the name must be 1 to 200 characters")]
    Name,
    /// The request limit is out of range.
    #[error("the rate limit must be 0 (none) to 2147483647 requests per minute")]
    RateLimit,
    /// Not a supported client authentication method.
    #[error("the authentication method must be one of {}", ClientAuthMethod::ALL.map(ClientAuthMethod::as_str).join(", "))]
    AuthMethod,
    /// Not a grant type ferrid implements.
    #[error("unknown grant \"{0}\"; known: {known}", known = GrantType::ALL.map(GrantType::as_str).join(", "))]
    UnknownGrant(String),
    /// No grant type at all.
    #[error("at least one grant is required")]
    NoGrant,
    /// A public client asked for client credentials.
    #[error("a public client (no authentication) cannot use client_credentials or token exchange")]
    PublicClientCredentials,
    /// Refresh tokens without a grant a user takes part in.
    #[error("the refresh_token grant needs the authorization_code or device_code grant")]
    RefreshWithoutCode,
    /// Refresh settings without the refresh grant.
    #[error("refresh settings need the refresh_token grant")]
    RefreshSettingsWithoutRefresh,
    /// A lifetime of zero or less.
    #[error("refresh lifetimes must be positive numbers of seconds")]
    RefreshLifetime,
    /// The idle lifetime is longer than the absolute one.
    #[error("the refresh idle lifetime cannot exceed the refresh absolute lifetime")]
    RefreshIdleAboveAbsolute,
    /// The code grant without a redirect URI.
    #[error("the authorization_code grant needs at least one redirect URI")]
    NoRedirectUri,
    /// Redirect URIs without the code grant.
    #[error("redirect URIs are only for clients with the authorization_code grant")]
    RedirectUriWithoutCode,
    /// A dynamically registered client asked for another authentication
    /// method.
    #[error("token_endpoint_auth_method cannot change after registration")]
    AuthMethodChange,
    /// Pairwise subjects for redirect URIs on several hosts.
    #[error("pairwise subjects need every redirect URI on one host (the client's sector)")]
    PairwiseSector,
    /// A URI that breaks a rule.
    #[error("{field} \"{uri}\" {problem}")]
    Uri {
        /// Which setting.
        field: Field,
        /// The URI as given.
        uri: String,
        /// What is wrong with it.
        problem: UriProblem,
    },
    /// Neither an OpenID Connect scope nor one a registered API defines.
    #[error("unknown scope \"{0}\"; use {supported} or a scope of a registered API (ferrid api list)", supported = scopes::supported_names())]
    UnsupportedScope(String),
    /// The code grant without `openid`.
    #[error("a client with the authorization_code grant needs the openid scope")]
    MissingOpenid,
    /// The inline JWKS is not a public key set.
    #[error("the JWKS is not usable: {0}")]
    Jwks(String),
    /// `private_key_jwt` without exactly one source of keys.
    #[error("private_key_jwt needs exactly one of a JWKS and a JWKS URI")]
    KeysRequired,
    /// Keys for another method.
    #[error("a JWKS or JWKS URI is only for private_key_jwt")]
    KeysNotAllowed,
    /// An ID token algorithm the server has no key for.
    #[error("the ID token algorithm must be one of {0}")]
    IdTokenAlg(String),
}

/// What is wrong with a URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UriProblem {
    /// Not absolute.
    #[error("is not an absolute URI")]
    NotAbsolute,
    /// Has a fragment (RFC 6749 §3.1.2).
    #[error("must not contain a fragment")]
    Fragment,
    /// A scheme that runs code in the browser.
    #[error("uses a forbidden scheme")]
    ForbiddenScheme,
    /// http(s) without a host.
    #[error("has no host")]
    NoHost,
    /// Plain http to another machine.
    #[error("must use https (http is allowed only for 127.0.0.1, [::1] or localhost)")]
    PlainHttp,
    /// Not http(s) where only a web address will do.
    #[error("must be an http(s) URL")]
    NotHttp,
}

impl RegistrationError {
    /// The setting the error is about.
    pub fn field(&self) -> Field {
        match self {
            RegistrationError::Name => Field::Name,
            RegistrationError::RateLimit => Field::RateLimit,
            RegistrationError::AuthMethod | RegistrationError::AuthMethodChange => {
                Field::AuthMethod
            }
            RegistrationError::UnknownGrant(_)
            | RegistrationError::NoGrant
            | RegistrationError::PublicClientCredentials
            | RegistrationError::RefreshWithoutCode => Field::GrantTypes,
            RegistrationError::RefreshSettingsWithoutRefresh => Field::RefreshSettings,
            RegistrationError::RefreshLifetime => Field::RefreshLifetimes,
            RegistrationError::RefreshIdleAboveAbsolute => Field::RefreshIdleTtl,
            RegistrationError::NoRedirectUri
            | RegistrationError::RedirectUriWithoutCode
            | RegistrationError::PairwiseSector => Field::RedirectUris,
            RegistrationError::Uri { field, .. } => *field,
            RegistrationError::UnsupportedScope(_) | RegistrationError::MissingOpenid => {
                Field::Scope
            }
            RegistrationError::Jwks(_)
            | RegistrationError::KeysRequired
            | RegistrationError::KeysNotAllowed => Field::Jwks,
            RegistrationError::IdTokenAlg(_) => Field::IdTokenAlg,
        }
    }
}

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The registration breaks a rule.
    #[error(transparent)]
    Invalid(#[from] RegistrationError),
    /// No client has this id.
    #[error("no client with id {0}")]
    NotFound(String),
    /// The client authenticates without a secret.
    #[error("a client using {0} has no secret to rotate")]
    NoSecret(&'static str),
    /// The console's own client, which ferrid manages.
    #[error("the console's own client cannot be disabled or deleted")]
    BuiltIn,
    /// The secret could not be sealed.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The initial access token is unknown, expired or used up.
    #[error("the initial access token is invalid, expired or used up")]
    InitialAccessToken,
}

/// Checks an ID token algorithm against those the server has keys for.
pub fn check_id_token_alg(
    name: &str,
    enabled: &[SigningAlgorithm],
) -> Result<SigningAlgorithm, RegistrationError> {
    SigningAlgorithm::parse(name)
        .filter(|alg| enabled.contains(alg))
        .ok_or_else(|| {
            RegistrationError::IdTokenAlg(
                enabled
                    .iter()
                    .map(|alg| alg.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })
}

/// Validates a registration, stores the client and audits it, done by
/// `actor`. Returns the client and its secret (shown once).
pub fn create(
    store: &Store,
    registration: ClientRegistration,
    enabled: &[SigningAlgorithm],
    master_key: &MasterKey,
    actor: &str,
    now: i64,
) -> Result<Registered, ClientError> {
    let registered = register(
        registration,
        &api_scope_names(store)?,
        enabled,
        master_key,
        now,
    )?;
    store.create_client(&registered.client)?;
    audit(EventKind::ClientCreate, actor, &registered.client.client_id)
        .detail(format!("name: {}", registered.client.name))
        .write(store, now)?;
    Ok(registered)
}

/// Prefix of registration access tokens (RFC 7592), so secret scanners
/// can spot a leaked one.
pub const REGISTRATION_TOKEN_PREFIX: &str = "frat_";
/// Prefix of initial access tokens (RFC 7591 §3).
pub const INITIAL_ACCESS_TOKEN_PREFIX: &str = "fiat_";

/// Registers a client that asked for itself (RFC 7591), with the same
/// validation as any, but only the OpenID Connect scopes (never an API's
/// or the admin API's: those an administrator grants). Returns it with
/// its registration access token (RFC 7592), shown once, stored as a
/// digest. With `initial_access_token` (its digest), one of its uses is
/// spent, once the registration is known to be valid. Audited.
pub fn register_dynamically(
    store: &Store,
    registration: ClientRegistration,
    initial_access_token: Option<&str>,
    enabled: &[SigningAlgorithm],
    master_key: &MasterKey,
    now: i64,
) -> Result<(Registered, String), ClientError> {
    let mut registered = register(registration, &[], enabled, master_key, now)?;
    if let Some(token_digest) = initial_access_token {
        if !store.use_initial_access_token(token_digest, now)? {
            return Err(ClientError::InitialAccessToken);
        }
    }
    let token = generate_secret(REGISTRATION_TOKEN_PREFIX);
    registered.client.registration_token_digest = Some(digest(&token));
    store.create_client(&registered.client)?;
    audit(
        EventKind::ClientCreate,
        crate::audit::actors::DYNAMIC_REGISTRATION,
        &registered.client.client_id,
    )
    .detail(format!(
        "dynamic registration; name: {}",
        registered.client.name
    ))
    .write(store, now)?;
    Ok((registered, token))
}

/// Replaces what a dynamically registered client may change about itself
/// (RFC 7592 §2.2), validated as at registration; its authentication
/// method cannot change. Audited.
pub fn replace_dynamically(
    store: &Store,
    current: &Client,
    registration: ClientRegistration,
    enabled: &[SigningAlgorithm],
    master_key: &MasterKey,
    now: i64,
) -> Result<Client, ClientError> {
    if ClientAuthMethod::parse(&registration.auth_method) != Some(current.auth_method) {
        return Err(RegistrationError::AuthMethodChange.into());
    }
    let checked = register(registration, &[], enabled, master_key, now)?.client;
    keep_sector(current, &checked.redirect_uris)?;
    let pairwise_sector = current.pairwise_sector.clone();
    let replaced = Client {
        client_id: current.client_id.clone(),
        secret_digest: current.secret_digest.clone(),
        secret_sealed: current.secret_sealed.clone(),
        created_at: current.created_at,
        registration_token_digest: current.registration_token_digest.clone(),
        // Subjects must not change for the client's users.
        pairwise_sector,
        ..checked
    };
    store.replace_client_metadata(&replaced)?;
    audit(
        EventKind::ClientUpdate,
        crate::audit::actors::DYNAMIC_REGISTRATION,
        &current.client_id,
    )
    .detail("dynamic registration update")
    .write(store, now)?;
    Ok(replaced)
}

/// Stores the client a client ID metadata document at `url` describes,
/// validated as any registration, under `url` as its id: created the
/// first time, its metadata replaced when fetched again. Audited when
/// created.
pub fn store_document_client(
    store: &Store,
    url: &str,
    registration: ClientRegistration,
    enabled: &[SigningAlgorithm],
    master_key: &MasterKey,
    now: i64,
) -> Result<Client, ClientError> {
    let checked = register(registration, &[], enabled, master_key, now)?.client;
    let client = Client {
        client_id: url.to_owned(),
        // Public or private_key_jwt: no secret.
        secret_digest: None,
        secret_sealed: None,
        metadata_fetched_at: Some(now),
        ..checked
    };
    match store.find_client(url)? {
        Some(stored) => {
            if stored.auth_method != client.auth_method {
                return Err(RegistrationError::AuthMethodChange.into());
            }
            keep_sector(&stored, &client.redirect_uris)?;
            store.replace_client_metadata(&Client {
                created_at: stored.created_at,
                pairwise_sector: stored.pairwise_sector.clone(),
                dpop_bound_access_tokens: stored.dpop_bound_access_tokens,
                ..client
            })?;
            // What an administrator set (disabled, second factor, limits)
            // stands: the stored client, with the document's metadata.
            store
                .find_client(url)?
                .ok_or_else(|| ClientError::NotFound(url.to_owned()))
        }
        None => {
            match store.create_client(&client) {
                // Another node stored it first: theirs stands.
                Err(StoreError::Conflict(_)) => {}
                other => other?,
            }
            audit(
                EventKind::ClientCreate,
                crate::audit::actors::DYNAMIC_REGISTRATION,
                url,
            )
            .detail("client ID metadata document")
            .write(store, now)?;
            Ok(client)
        }
    }
}

/// Refuses redirect URIs that would move a pairwise client out of its
/// sector: its users' `sub` values are computed for that sector, so a
/// client must not take them to another host.
fn keep_sector(current: &Client, redirect_uris: &[String]) -> Result<(), ClientError> {
    match &current.pairwise_sector {
        Some(sector) if pairwise_sector(redirect_uris, &current.client_id)? != *sector => {
            Err(RegistrationError::PairwiseSector.into())
        }
        _ => Ok(()),
    }
}

/// Issues an initial access token (RFC 7591 §3) for `lifetime` seconds
/// and `uses` registrations (`None`: any number); returns it, shown once.
/// Audited.
pub fn create_initial_access_token(
    store: &Store,
    lifetime: i64,
    uses: Option<i64>,
    actor: &str,
    now: i64,
) -> Result<String, ClientError> {
    let token = generate_secret(INITIAL_ACCESS_TOKEN_PREFIX);
    store.insert_initial_access_token(&digest(&token), now, now + lifetime, uses)?;
    Event::new(EventKind::ClientCreate, Outcome::Success)
        .actor(actor)
        .detail(format!(
            "initial access token issued for {lifetime} s, {} uses",
            uses.map_or("any number of".to_owned(), |uses| uses.to_string())
        ))
        .write(store, now)?;
    Ok(token)
}

/// Random bytes in a `client_secret_jwt` secret: enough for HS512's key.
const HMAC_SECRET_BYTES: usize = 64;

/// A change to a stored client's settings.
#[derive(Debug, Clone, Default)]
pub struct ClientUpdate {
    /// A new ID token algorithm.
    pub id_token_alg: Option<String>,
    /// Whether every login for the client needs a second factor.
    pub require_mfa: Option<bool>,
    /// Whether a confidential client must use PKCE.
    pub require_pkce: Option<bool>,
    /// Whether the client may only start pushed authorization requests.
    pub require_pushed_requests: Option<bool>,
    /// A new request limit per minute (0: none).
    pub rate_limit_per_minute: Option<u32>,
    /// New space-separated scopes the client may request (replacing the
    /// old ones), e.g. to grant it a new API's scopes.
    pub scope: Option<String>,
}

/// Applies `update` to a client and audits it; returns the changes made
/// in words.
pub fn update(
    store: &Store,
    client_id: &str,
    update: &ClientUpdate,
    enabled: &[SigningAlgorithm],
    actor: &str,
    now: i64,
) -> Result<Vec<String>, ClientError> {
    let alg = update
        .id_token_alg
        .as_deref()
        .map(|alg| check_id_token_alg(alg, enabled))
        .transpose()?;
    let mut changes = Vec::new();
    if let Some(alg) = alg {
        found(
            store.set_client_id_token_alg(client_id, alg.as_str()),
            client_id,
        )?;
        changes.push(format!("id_token_signed_response_alg={alg}"));
    }
    if let Some(required) = update.require_mfa {
        found(store.set_client_require_mfa(client_id, required), client_id)?;
        changes.push(format!("require_mfa={required}"));
    }
    if let Some(required) = update.require_pkce {
        found(
            store.set_client_require_pkce(client_id, required),
            client_id,
        )?;
        changes.push(format!("require_pkce={required}"));
    }
    if let Some(required) = update.require_pushed_requests {
        found(
            store.set_client_require_pushed_requests(client_id, required),
            client_id,
        )?;
        changes.push(format!("require_pushed_authorization_requests={required}"));
    }
    if let Some(per_minute) = update.rate_limit_per_minute {
        let stored = i32::try_from(per_minute).map_err(|_| RegistrationError::RateLimit)?;
        found(
            store.set_client_rate_limit(client_id, Some(stored)),
            client_id,
        )?;
        changes.push(format!("rate_limit_per_minute={per_minute}"));
    }
    if let Some(scope) = &update.scope {
        let client = show(store, client_id)?;
        let uses_code = client.allows_grant(GrantType::AuthorizationCode);
        let scopes = checked_scopes(scope, &api_scope_names(store)?, uses_code)?;
        found(store.set_client_scopes(client_id, &scopes), client_id)?;
        changes.push(format!("scope={}", scopes.join(" ")));
    }
    audit(EventKind::ClientUpdate, actor, client_id)
        .detail(changes.join(" "))
        .write(store, now)?;
    Ok(changes)
}

/// Deletes a client and audits it.
pub fn delete(store: &Store, client_id: &str, actor: &str, now: i64) -> Result<(), ClientError> {
    refuse_built_in(client_id)?;
    found(store.delete_client(client_id), client_id)?;
    audit(EventKind::ClientDelete, actor, client_id).write(store, now)?;
    Ok(())
}

/// Replaces a confidential client's secret with a new one, returned once;
/// the old one stops working at once. Audited.
pub fn rotate_secret(
    store: &Store,
    client_id: &str,
    master_key: &MasterKey,
    actor: &str,
    now: i64,
) -> Result<String, ClientError> {
    let client = show(store, client_id)?;
    let NewSecret {
        secret,
        secret_digest,
        secret_sealed,
    } = new_secret(client.auth_method, client_id, master_key)?;
    let Some(secret) = secret else {
        return Err(ClientError::NoSecret(client.auth_method.as_str()));
    };
    found(
        store.set_client_secret(
            client_id,
            secret_digest.as_deref().unwrap_or_default(),
            secret_sealed.as_deref(),
        ),
        client_id,
    )?;
    audit(EventKind::ClientUpdate, actor, client_id)
        .detail("secret rotated")
        .write(store, now)?;
    Ok(secret)
}

/// Disables a client (no code, no token; its settings stay) or enables it
/// again. Audited.
pub fn set_disabled(
    store: &Store,
    client_id: &str,
    disabled: bool,
    actor: &str,
    now: i64,
) -> Result<(), ClientError> {
    refuse_built_in(client_id)?;
    found(store.set_client_disabled(client_id, disabled), client_id)?;
    audit(EventKind::ClientUpdate, actor, client_id)
        .detail(if disabled { "disabled" } else { "enabled" })
        .write(store, now)?;
    Ok(())
}

/// The admin console's own client id: a public client of this server,
/// signing admins in with the authorization code flow and PKCE.
pub const CONSOLE_CLIENT_ID: &str = "ferrid-console";

fn refuse_built_in(client_id: &str) -> Result<(), ClientError> {
    if client_id == CONSOLE_CLIENT_ID {
        return Err(ClientError::BuiltIn);
    }
    Ok(())
}

/// Registers the console's client, or points its redirect URI at
/// `redirect_uri` if it moved; idempotent, so every node may run it at
/// start (a node losing the race to create it finds it created).
pub fn ensure_console_client(store: &Store, redirect_uri: &str, now: i64) -> StoreResult<()> {
    let redirect_uris = vec![redirect_uri.to_owned()];
    match store.find_client(CONSOLE_CLIENT_ID)? {
        Some(client) if client.redirect_uris == redirect_uris => Ok(()),
        Some(_) => store.set_client_redirect_uris(CONSOLE_CLIENT_ID, &redirect_uris),
        None => {
            let client = Client {
                client_id: CONSOLE_CLIENT_ID.to_owned(),
                name: "ferrid console".to_owned(),
                secret_digest: None,
                auth_method: ClientAuthMethod::None,
                redirect_uris,
                post_logout_redirect_uris: vec![],
                grant_types: vec![GrantType::AuthorizationCode],
                scopes: vec![scopes::OPENID.to_owned()],
                created_at: now,
                id_token_signed_response_alg: SigningAlgorithm::Rs256.as_str().to_owned(),
                refresh_idle_ttl: None,
                refresh_absolute_ttl: None,
                refresh_for_online_sessions: false,
                backchannel_logout_uri: None,
                secret_sealed: None,
                jwks: None,
                jwks_uri: None,
                require_mfa: true,
                require_pkce: true,
                require_pushed_requests: false,
                rate_limit_per_minute: None,
                disabled: false,
                pairwise_sector: None,
                dpop_bound_access_tokens: false,
                registration_token_digest: None,
                metadata_fetched_at: None,
            };
            match store.create_client(&client) {
                Err(StoreError::Conflict(_)) => Ok(()),
                other => other,
            }
        }
    }
}

/// Every registered client.
pub fn list(store: &Store) -> Result<Vec<Client>, ClientError> {
    Ok(store.list_clients()?)
}

/// A client as the admin surfaces show it (never its secret).
#[derive(Debug, serde::Serialize)]
pub struct ClientView<'a> {
    /// `client_id`.
    pub client_id: &'a str,
    /// `name`.
    pub name: &'a str,
    /// `token_endpoint_auth_method`.
    pub token_endpoint_auth_method: &'a str,
    /// `redirect_uris`.
    pub redirect_uris: &'a [String],
    /// `post_logout_redirect_uris`.
    pub post_logout_redirect_uris: &'a [String],
    /// `grant_types`.
    pub grant_types: Vec<&'static str>,
    /// `scope`.
    pub scope: String,
    /// `id_token_signed_response_alg`.
    pub id_token_signed_response_alg: &'a str,
    /// `refresh_idle_ttl`.
    pub refresh_idle_ttl: Option<i64>,
    /// `refresh_absolute_ttl`.
    pub refresh_absolute_ttl: Option<i64>,
    /// `refresh_for_online_sessions`.
    pub refresh_for_online_sessions: bool,
    /// `backchannel_logout_uri`.
    pub backchannel_logout_uri: Option<&'a str>,
    /// `require_mfa`.
    pub require_mfa: bool,
    /// `require_pkce`.
    pub require_pkce: bool,
    /// `require_pushed_authorization_requests` (RFC 9126).
    pub require_pushed_authorization_requests: bool,
    /// `subject_type` (OIDC Registration): `public` or `pairwise`.
    pub subject_type: &'static str,
    /// The sector of pairwise subjects (the host of the redirect URIs).
    pub sector_identifier: Option<&'a str>,
    /// `dpop_bound_access_tokens` (RFC 9449 §5.2).
    pub dpop_bound_access_tokens: bool,
    /// `rate_limit_per_minute`.
    pub rate_limit_per_minute: Option<i32>,
    /// `disabled`: the client gets no code and no token.
    pub disabled: bool,
    /// `created_at`.
    pub created_at: String,
}

impl<'a> From<&'a Client> for ClientView<'a> {
    fn from(client: &'a Client) -> Self {
        ClientView {
            client_id: &client.client_id,
            name: &client.name,
            token_endpoint_auth_method: client.auth_method.as_str(),
            redirect_uris: &client.redirect_uris,
            post_logout_redirect_uris: &client.post_logout_redirect_uris,
            grant_types: client
                .grant_types
                .iter()
                .map(|grant| grant.as_str())
                .collect(),
            scope: client.scopes.join(" "),
            id_token_signed_response_alg: &client.id_token_signed_response_alg,
            refresh_idle_ttl: client.refresh_idle_ttl,
            refresh_absolute_ttl: client.refresh_absolute_ttl,
            refresh_for_online_sessions: client.refresh_for_online_sessions,
            backchannel_logout_uri: client.backchannel_logout_uri.as_deref(),
            require_mfa: client.require_mfa,
            require_pkce: client.require_pkce || !client.auth_method.is_confidential(),
            require_pushed_authorization_requests: client.require_pushed_requests,
            subject_type: if client.pairwise_sector.is_some() {
                "pairwise"
            } else {
                "public"
            },
            sector_identifier: client.pairwise_sector.as_deref(),
            dpop_bound_access_tokens: client.dpop_bound_access_tokens,
            rate_limit_per_minute: client.rate_limit_per_minute,
            disabled: client.disabled,
            created_at: crate::clock::timestamp(client.created_at),
        }
    }
}

/// One stored client.
pub fn show(store: &Store, client_id: &str) -> Result<Client, ClientError> {
    store
        .find_client(client_id)?
        .ok_or_else(|| ClientError::NotFound(client_id.to_owned()))
}

fn found(result: Result<(), StoreError>, client_id: &str) -> Result<(), ClientError> {
    match result {
        Err(StoreError::NotFound(_)) => Err(ClientError::NotFound(client_id.to_owned())),
        other => Ok(other?),
    }
}

fn audit(kind: EventKind, actor: &str, client_id: &str) -> Event {
    Event::new(kind, Outcome::Success)
        .actor(actor)
        .subject(client_id)
        .client(client_id)
}

/// Validates a registration, for a server with keys for `enabled`
/// algorithms and APIs defining `api_scopes`, and creates the client's id
/// and secret.
pub fn register(
    registration: ClientRegistration,
    api_scopes: &[String],
    enabled: &[SigningAlgorithm],
    master_key: &MasterKey,
    now: i64,
) -> Result<Registered, ClientError> {
    let id_token_alg = check_id_token_alg(&registration.id_token_alg, enabled)?;
    let name = registration.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(RegistrationError::Name.into());
    }
    let auth_method =
        ClientAuthMethod::parse(&registration.auth_method).ok_or(RegistrationError::AuthMethod)?;

    let grant_types = checked_grants(&registration.grant_types, auth_method)?;
    let uses_code = grant_types.contains(&GrantType::AuthorizationCode);
    check_refresh_settings(
        &registration,
        grant_types.contains(&GrantType::RefreshToken),
    )?;

    let redirect_uris = checked_uris(&registration.redirect_uris, Field::RedirectUris)?;
    if uses_code && redirect_uris.is_empty() {
        return Err(RegistrationError::NoRedirectUri.into());
    }
    if !uses_code && !redirect_uris.is_empty() {
        return Err(RegistrationError::RedirectUriWithoutCode.into());
    }
    let post_logout_redirect_uris = checked_uris(
        &registration.post_logout_redirect_uris,
        Field::PostLogoutRedirectUris,
    )?;
    let backchannel_logout_uri = registration
        .backchannel_logout_uri
        .as_deref()
        .map(|uri| checked_web_uri(uri, Field::BackchannelLogoutUri))
        .transpose()?;

    let scopes = checked_scopes(&registration.scope, api_scopes, uses_code)?;

    let (jwks, jwks_uri) = client_keys(auth_method, registration.jwks, registration.jwks_uri)?;
    let rate_limit_per_minute = registration
        .rate_limit_per_minute
        .map(i32::try_from)
        .transpose()
        .map_err(|_| RegistrationError::RateLimit)?;
    // Every confidential method but private_key_jwt has a secret; only
    // client_secret_jwt keeps it (sealed), as the HMAC key it is.
    // 128 random bits; hex so that it never starts with `-` and is taken
    // for an option on the command line.
    let client_id = random_identifier(16);
    let pairwise_sector = registration
        .pairwise_subjects
        .then(|| pairwise_sector(&redirect_uris, &client_id))
        .transpose()?;
    let NewSecret {
        secret,
        secret_digest,
        secret_sealed,
    } = new_secret(auth_method, &client_id, master_key)?;
    Ok(Registered {
        client: Client {
            client_id,
            name: name.to_owned(),
            secret_digest,
            secret_sealed,
            jwks,
            jwks_uri,
            auth_method,
            redirect_uris,
            post_logout_redirect_uris,
            grant_types,
            scopes,
            created_at: now,
            id_token_signed_response_alg: id_token_alg.as_str().to_owned(),
            refresh_idle_ttl: registration.refresh_idle_ttl,
            refresh_absolute_ttl: registration.refresh_absolute_ttl,
            refresh_for_online_sessions: registration.refresh_for_online_sessions,
            backchannel_logout_uri,
            require_mfa: registration.require_mfa,
            // Public clients always need PKCE, whatever is stored.
            require_pkce: !registration.pkce_optional,
            require_pushed_requests: registration.require_pushed_requests,
            rate_limit_per_minute,
            disabled: false,
            pairwise_sector,
            dpop_bound_access_tokens: registration.dpop_bound_access_tokens,
            registration_token_digest: None,
            metadata_fetched_at: None,
        },
        secret,
    })
}

/// The sector a pairwise client's subjects are computed for (OIDC Core
/// §8.1): the one host of its redirect URIs (a native app's scheme, if it
/// has no host), or, without redirect URIs, the client itself.
fn pairwise_sector(redirect_uris: &[String], client_id: &str) -> Result<String, RegistrationError> {
    let mut sectors = redirect_uris.iter().filter_map(|uri| {
        Url::parse(uri)
            .ok()
            .map(|url| url.host_str().unwrap_or(url.scheme()).to_ascii_lowercase())
    });
    match sectors.next() {
        None => Ok(client_id.to_owned()),
        Some(first) if sectors.all(|other| other == first) => Ok(first),
        Some(_) => Err(RegistrationError::PairwiseSector),
    }
}

/// A fresh secret for a client, and what is stored of it.
struct NewSecret {
    /// The secret, shown once; `None` for methods without one.
    secret: Option<String>,
    /// Its digest, for methods that compare it.
    secret_digest: Option<String>,
    /// The secret sealed under the master key, for `client_secret_jwt`.
    secret_sealed: Option<String>,
}

/// Generates the secret a client authenticating with `auth_method` needs:
/// every confidential method but `private_key_jwt` has one; only
/// `client_secret_jwt` keeps it (sealed), as the HMAC key it is.
fn new_secret(
    auth_method: ClientAuthMethod,
    client_id: &str,
    master_key: &MasterKey,
) -> Result<NewSecret, ClientError> {
    let secret = match auth_method {
        // An HMAC key must be at least as long as the hash's output (RFC
        // 7518 §3.2): 64 random bytes make HS384 and HS512 usable too.
        ClientAuthMethod::ClientSecretJwt => Some(format!(
            "{CLIENT_SECRET_PREFIX}{}",
            random_token(HMAC_SECRET_BYTES)
        )),
        ClientAuthMethod::PrivateKeyJwt => None,
        method if method.is_confidential() => Some(generate_secret(CLIENT_SECRET_PREFIX)),
        _ => None,
    };
    let (secret_digest, secret_sealed) = match (&secret, auth_method) {
        (Some(secret), ClientAuthMethod::ClientSecretJwt) => {
            (None, Some(master_key.seal(secret.as_bytes(), client_id)?))
        }
        (Some(secret), _) => (Some(digest(secret)), None),
        (None, _) => (None, None),
    };
    Ok(NewSecret {
        secret,
        secret_digest,
        secret_sealed,
    })
}

/// The scopes a client may request: OpenID Connect ones and those of
/// registered APIs, with `openid` for clients that sign users in.
fn checked_scopes(
    scope: &str,
    api_scopes: &[String],
    uses_code: bool,
) -> Result<Vec<String>, RegistrationError> {
    let scopes = scopes::split(scope);
    if let Some(unknown) = scopes
        .iter()
        .find(|scope| !scopes::is_supported(scope) && !api_scopes.contains(scope))
    {
        return Err(RegistrationError::UnsupportedScope(unknown.clone()));
    }
    if uses_code && !scopes.iter().any(|scope| scope == scopes::OPENID) {
        return Err(RegistrationError::MissingOpenid);
    }
    Ok(scopes)
}

/// Every scope registered APIs define, and those of ferrid's admin API.
pub fn api_scope_names(store: &Store) -> Result<Vec<String>, StoreError> {
    Ok(store
        .list_apis()?
        .into_iter()
        .flat_map(|api| api.scopes.into_iter().map(|scope| scope.name))
        .chain(scopes::ADMIN_SCOPES.map(|(name, _)| name.to_owned()))
        .collect())
}

/// What registrations may call the device grant
/// (`urn:ietf:params:oauth:grant-type:device_code`).
pub const DEVICE_CODE_SHORT_NAME: &str = "device_code";
/// What registrations may call token exchange
/// (`urn:ietf:params:oauth:grant-type:token-exchange`).
pub const TOKEN_EXCHANGE_SHORT_NAME: &str = "token_exchange";

/// The grant types asked for, each known and once.
fn checked_grants(
    names: &[String],
    auth_method: ClientAuthMethod,
) -> Result<Vec<GrantType>, RegistrationError> {
    let mut grant_types: Vec<GrantType> = Vec::new();
    for name in names.iter().map(|name| name.trim()) {
        // Short names stand for the URNs on a command line.
        let grant = GrantType::parse(name)
            .or_else(|| (name == DEVICE_CODE_SHORT_NAME).then_some(GrantType::DeviceCode))
            .or_else(|| (name == TOKEN_EXCHANGE_SHORT_NAME).then_some(GrantType::TokenExchange))
            .ok_or_else(|| RegistrationError::UnknownGrant(name.to_owned()))?;
        if !grant_types.contains(&grant) {
            grant_types.push(grant);
        }
    }
    if grant_types.is_empty() {
        return Err(RegistrationError::NoGrant);
    }
    if !auth_method.is_confidential()
        && (grant_types.contains(&GrantType::ClientCredentials)
            || grant_types.contains(&GrantType::TokenExchange))
    {
        return Err(RegistrationError::PublicClientCredentials);
    }
    if grant_types.contains(&GrantType::RefreshToken)
        && !grant_types.contains(&GrantType::AuthorizationCode)
        && !grant_types.contains(&GrantType::DeviceCode)
    {
        return Err(RegistrationError::RefreshWithoutCode);
    }
    Ok(grant_types)
}

/// Refresh-token settings only with the refresh grant, and lifetimes that
/// make sense.
fn check_refresh_settings(
    registration: &ClientRegistration,
    uses_refresh: bool,
) -> Result<(), RegistrationError> {
    let (idle, absolute) = (
        registration.refresh_idle_ttl,
        registration.refresh_absolute_ttl,
    );
    let refresh_settings =
        idle.is_some() || absolute.is_some() || registration.refresh_for_online_sessions;
    if refresh_settings && !uses_refresh {
        return Err(RegistrationError::RefreshSettingsWithoutRefresh);
    }
    if [idle, absolute].iter().flatten().any(|ttl| *ttl <= 0) {
        return Err(RegistrationError::RefreshLifetime);
    }
    match (idle, absolute) {
        (Some(idle), Some(absolute)) if idle > absolute => {
            Err(RegistrationError::RefreshIdleAboveAbsolute)
        }
        _ => Ok(()),
    }
}

/// The public keys of a `private_key_jwt` client: exactly one of a JWKS
/// and a JWKS URI; other methods have none.
fn client_keys(
    auth_method: ClientAuthMethod,
    jwks: Option<String>,
    jwks_uri: Option<String>,
) -> Result<(Option<String>, Option<String>), RegistrationError> {
    match (auth_method, jwks, jwks_uri) {
        (ClientAuthMethod::PrivateKeyJwt, Some(jwks), None) => {
            ferrid_tokens::assertion::check_public_jwks(&jwks)
                .map_err(|error| RegistrationError::Jwks(error.to_string()))?;
            Ok((Some(jwks), None))
        }
        (ClientAuthMethod::PrivateKeyJwt, None, Some(uri)) => {
            let checked = checked_uris(std::slice::from_ref(&uri), Field::JwksUri)?;
            require_web_uri(&uri, Field::JwksUri)?;
            Ok((None, checked.into_iter().next()))
        }
        (ClientAuthMethod::PrivateKeyJwt, _, _) => Err(RegistrationError::KeysRequired),
        (_, None, None) => Ok((None, None)),
        (_, _, _) => Err(RegistrationError::KeysNotAllowed),
    }
}

/// A back-channel logout URI: a web address (checked first) that passes
/// the rules of [`checked_uris`].
fn checked_web_uri(uri: &str, field: Field) -> Result<String, RegistrationError> {
    require_web_uri(uri, field)?;
    let checked = checked_uris(std::slice::from_ref(&uri.to_owned()), field)?;
    Ok(checked.into_iter().next().unwrap_or_default())
}

/// Refuses anything but an http(s) URL.
fn require_web_uri(uri: &str, field: Field) -> Result<(), RegistrationError> {
    if uri.starts_with("https://") || uri.starts_with("http://") {
        return Ok(());
    }
    Err(RegistrationError::Uri {
        field,
        uri: uri.to_owned(),
        problem: UriProblem::NotHttp,
    })
}

/// Redirect URIs must be absolute, without fragment (RFC 6749 §3.1.2), and
/// never a scheme that runs code in the browser.
fn checked_uris(uris: &[String], field: Field) -> Result<Vec<String>, RegistrationError> {
    let mut checked: Vec<String> = Vec::new();
    for uri in uris {
        let refuse = |problem| RegistrationError::Uri {
            field,
            uri: uri.clone(),
            problem,
        };
        let parsed = Url::parse(uri).map_err(|_| refuse(UriProblem::NotAbsolute))?;
        if parsed.fragment().is_some() {
            return Err(refuse(UriProblem::Fragment));
        }
        if matches!(parsed.scheme(), "javascript" | "data" | "vbscript" | "file") {
            return Err(refuse(UriProblem::ForbiddenScheme));
        }
        if matches!(parsed.scheme(), "http" | "https") && parsed.host_str().is_none() {
            return Err(refuse(UriProblem::NoHost));
        }
        // RFC 9700 §4.1 / RFC 8252 §8.3: plain http only to this machine.
        if parsed.scheme() == "http" && !is_loopback(&parsed) {
            return Err(refuse(UriProblem::PlainHttp));
        }
        if !checked.contains(uri) {
            // Stored as given: matching is exact string comparison.
            checked.push(uri.clone());
        }
    }
    Ok(checked)
}

/// Whether a URL points at this machine.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration() -> ClientRegistration {
        ClientRegistration {
            name: "App".into(),
            redirect_uris: vec!["https://app.example/cb".into()],
            post_logout_redirect_uris: vec![],
            grant_types: vec!["authorization_code".into()],
            auth_method: "client_secret_basic".into(),
            scope: "openid profile".into(),
            id_token_alg: "RS256".into(),
            refresh_idle_ttl: None,
            refresh_absolute_ttl: None,
            refresh_for_online_sessions: false,
            backchannel_logout_uri: None,
            require_mfa: false,
            pkce_optional: false,
            require_pushed_requests: false,
            rate_limit_per_minute: None,
            jwks: None,
            jwks_uri: None,
            pairwise_subjects: false,
            dpop_bound_access_tokens: false,
        }
    }

    fn master() -> MasterKey {
        MasterKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap()
    }

    #[test]
    fn confidential_clients_get_a_prefixed_secret_stored_as_digest() {
        let registered =
            register(registration(), &[], &SigningAlgorithm::ALL, &master(), 1).unwrap();
        let secret = registered.secret.unwrap();
        assert!(secret.starts_with(CLIENT_SECRET_PREFIX));
        // Regression: a base64url id starting with '-' broke `ferrid client show ID`.
        assert!(registered
            .client
            .client_id
            .bytes()
            .all(|byte| byte.is_ascii_hexdigit()));
        assert_eq!(registered.client.secret_digest, Some(digest(&secret)));
    }

    #[test]
    fn pairwise_clients_get_the_host_of_their_redirect_uris_as_sector() {
        let mut pairwise = registration();
        pairwise.pairwise_subjects = true;
        pairwise.redirect_uris = vec![
            "https://App.example/cb".into(),
            "https://app.example/other".into(),
        ];
        let registered = register(pairwise.clone(), &[], &SigningAlgorithm::ALL, &master(), 1);
        assert_eq!(
            registered.unwrap().client.pairwise_sector.as_deref(),
            Some("app.example")
        );
        pairwise
            .redirect_uris
            .push("https://other.example/cb".into());
        assert!(register(pairwise, &[], &SigningAlgorithm::ALL, &master(), 1).is_err());
        let public = register(registration(), &[], &SigningAlgorithm::ALL, &master(), 1).unwrap();
        assert_eq!(public.client.pairwise_sector, None);
    }

    #[test]
    fn device_clients_need_no_redirect_uri_and_may_refresh() {
        let mut device = registration();
        device.auth_method = "none".into();
        device.redirect_uris = Vec::new();
        device.grant_types = vec![DEVICE_CODE_SHORT_NAME.into(), "refresh_token".into()];
        let registered = register(device, &[], &SigningAlgorithm::ALL, &master(), 1).unwrap();
        assert_eq!(
            registered.client.grant_types,
            vec![GrantType::DeviceCode, GrantType::RefreshToken]
        );
        let mut alone = registration();
        alone.redirect_uris = Vec::new();
        alone.grant_types = vec!["refresh_token".into()];
        assert!(register(alone, &[], &SigningAlgorithm::ALL, &master(), 1).is_err());
    }

    #[test]
    fn loopback_http_and_native_schemes_are_allowed() {
        for uri in [
            "http://127.0.0.1:9000/cb",
            "http://[::1]/cb",
            "http://localhost:3000/cb",
            "com.example.app:/cb",
        ] {
            let mut native = registration();
            native.redirect_uris = vec![uri.into()];
            assert!(
                register(native, &[], &SigningAlgorithm::ALL, &master(), 1).is_ok(),
                "{uri}"
            );
        }
    }

    #[test]
    fn jwt_methods_keep_a_sealed_secret_or_public_keys() {
        let mut hmac = registration();
        hmac.auth_method = "client_secret_jwt".into();
        let registered = register(hmac, &[], &SigningAlgorithm::ALL, &master(), 1).unwrap();
        let secret = registered.secret.unwrap();
        assert!(registered.client.secret_digest.is_none());
        let sealed = registered.client.secret_sealed.unwrap();
        assert_eq!(
            master()
                .open(&sealed, &registered.client.client_id)
                .unwrap()
                .as_slice(),
            secret.as_bytes()
        );

        let mut keys = registration();
        keys.auth_method = "private_key_jwt".into();
        keys.jwks_uri = Some("https://rp.example/jwks".into());
        let registered = register(keys, &[], &SigningAlgorithm::ALL, &master(), 1).unwrap();
        assert!(registered.secret.is_none());
        assert!(
            registered.client.secret_digest.is_none() && registered.client.secret_sealed.is_none()
        );
    }

    #[test]
    fn public_clients_have_no_secret() {
        let mut public = registration();
        public.auth_method = "none".into();
        let registered = register(public, &[], &SigningAlgorithm::ALL, &master(), 1).unwrap();
        assert!(registered.secret.is_none());
        assert!(registered.client.secret_digest.is_none());
    }

    #[test]
    fn client_credentials_only_needs_no_redirect_uri() {
        let mut service = registration();
        service.redirect_uris.clear();
        service.grant_types = vec!["client_credentials".into()];
        service.scope = "profile".into();
        assert!(register(service, &[], &SigningAlgorithm::ALL, &master(), 1).is_ok());
    }

    #[test]
    fn api_scopes_are_allowed_once_an_api_defines_them() {
        let mut service = registration();
        service.redirect_uris.clear();
        service.grant_types = vec!["client_credentials".into()];
        service.scope = "orders:read".into();
        assert!(matches!(
            register(service.clone(), &[], &SigningAlgorithm::ALL, &master(), 1),
            Err(ClientError::Invalid(RegistrationError::UnsupportedScope(scope))) if scope == "orders:read"
        ));
        let defined = ["orders:read".to_owned()];
        let registered = register(service, &defined, &SigningAlgorithm::ALL, &master(), 1).unwrap();
        assert_eq!(registered.client.scopes, vec!["orders:read"]);
    }

    #[test]
    fn errors_name_the_setting_they_are_about() {
        type Case = (fn(&mut ClientRegistration), Field);
        let cases: [Case; 6] = [
            (|r| r.redirect_uris.clear(), Field::RedirectUris),
            (|r| r.refresh_idle_ttl = Some(0), Field::RefreshLifetimes),
            (
                |r| r.refresh_for_online_sessions = true,
                Field::RefreshSettings,
            ),
            (|r| r.id_token_alg = "HS256".into(), Field::IdTokenAlg),
            (|r| r.scope = "openid admin".into(), Field::Scope),
            (
                |r| r.backchannel_logout_uri = Some("com.example:/logout".into()),
                Field::BackchannelLogoutUri,
            ),
        ];
        for (index, (mutate, field)) in cases.iter().enumerate() {
            let mut bad = registration();
            bad.grant_types.push("refresh_token".into());
            if index == 2 {
                bad.grant_types.pop();
            }
            mutate(&mut bad);
            match register(bad, &[], &SigningAlgorithm::ALL, &master(), 1) {
                Err(ClientError::Invalid(invalid)) => {
                    assert_eq!(invalid.field(), *field, "case {index}")
                }
                other => panic!("case {index}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_jwks_uri_is_checked_as_a_uri_before_as_a_web_address() {
        let mut keys = registration();
        keys.auth_method = "private_key_jwt".into();
        keys.jwks_uri = Some("not a uri".into());
        let refused = register(keys, &[], &SigningAlgorithm::ALL, &master(), 1);
        assert!(
            matches!(
                refused,
                Err(ClientError::Invalid(RegistrationError::Uri {
                    field: Field::JwksUri,
                    problem: UriProblem::NotAbsolute,
                    ..
                }))
            ),
            "{refused:?}"
        );
    }

    #[test]
    fn invalid_registrations_are_refused() {
        let cases: [fn(&mut ClientRegistration); 20] = [
            |r| r.name = " ".into(),
            |r| r.redirect_uris.clear(),
            |r| r.redirect_uris = vec!["/relative".into()],
            |r| r.redirect_uris = vec!["https://app.example/cb#frag".into()],
            |r| r.redirect_uris = vec!["javascript:alert(1)".into()],
            |r| r.redirect_uris = vec!["http://app.example/cb".into()],
            |r| r.grant_types = vec!["implicit".into()],
            |r| r.auth_method = "tls_client_auth".into(),
            |r| r.scope = "openid admin".into(),
            |r| r.scope = "profile".into(),
            |r| r.id_token_alg = "HS256".into(),
            |r| r.grant_types = vec!["refresh_token".into()],
            |r| r.refresh_for_online_sessions = true,
            |r| r.backchannel_logout_uri = Some("http://rp.example/logout".into()),
            |r| r.backchannel_logout_uri = Some("com.example:/logout".into()),
            |r| r.auth_method = "private_key_jwt".into(),
            |r| {
                r.auth_method = "private_key_jwt".into();
                r.jwks = Some(r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#.into());
            },
            |r| r.jwks_uri = Some("https://rp.example/jwks".into()),
            |r| {
                r.grant_types.push("refresh_token".into());
                r.refresh_idle_ttl = Some(10);
                r.refresh_absolute_ttl = Some(5);
            },
            |r| {
                r.auth_method = "none".into();
                r.grant_types.push("client_credentials".into());
            },
        ];
        for (index, mutate) in cases.iter().enumerate() {
            let mut bad = registration();
            mutate(&mut bad);
            assert!(
                matches!(
                    register(bad, &[], &SigningAlgorithm::ALL, &master(), 1),
                    Err(ClientError::Invalid(_))
                ),
                "case {index} was accepted"
            );
        }
    }
}
