//! Registered relying parties (OAuth clients).

use diesel::prelude::*;

use crate::error::{StoreError, StoreResult};
use crate::schema::{clients, initial_access_tokens, role_grants};
use crate::Store;

/// How a client authenticates at the token endpoint
/// (`token_endpoint_auth_method`, RFC 7591 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuthMethod {
    /// HTTP Basic with client id and secret (the default, as in RFC 7591).
    #[default]
    ClientSecretBasic,
    /// Client id and secret in the form body.
    ClientSecretPost,
    /// A JWT signed with the client secret (HMAC, RFC 7523).
    ClientSecretJwt,
    /// A JWT signed with the client's private key (RFC 7523).
    PrivateKeyJwt,
    /// A public client: no secret, PKCE required.
    None,
}

impl ClientAuthMethod {
    /// Every method, in the order discovery lists them.
    pub const ALL: [ClientAuthMethod; 5] = [
        ClientAuthMethod::ClientSecretBasic,
        ClientAuthMethod::ClientSecretPost,
        ClientAuthMethod::ClientSecretJwt,
        ClientAuthMethod::PrivateKeyJwt,
        ClientAuthMethod::None,
    ];

    /// The registered name.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuthMethod::ClientSecretBasic => "client_secret_basic",
            ClientAuthMethod::ClientSecretPost => "client_secret_post",
            ClientAuthMethod::ClientSecretJwt => "client_secret_jwt",
            ClientAuthMethod::PrivateKeyJwt => "private_key_jwt",
            ClientAuthMethod::None => "none",
        }
    }

    /// Parses a registered name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|method| method.as_str() == name)
    }

    /// Whether the client holds a secret.
    pub fn is_confidential(self) -> bool {
        self != ClientAuthMethod::None
    }
}

/// An OAuth grant type (RFC 6749 §4, `grant_types` of RFC 7591 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    /// The authorization code grant (RFC 6749 §4.1).
    AuthorizationCode,
    /// The refresh token grant (RFC 6749 §6).
    RefreshToken,
    /// The client credentials grant (RFC 6749 §4.4).
    ClientCredentials,
    /// The device authorization grant (RFC 8628).
    DeviceCode,
    /// Token exchange (RFC 8693): a service trades a token it received
    /// for one to another API.
    TokenExchange,
}

impl GrantType {
    /// Every grant type ferrid implements, in the order discovery lists them.
    pub const ALL: [GrantType; 5] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::DeviceCode,
        GrantType::TokenExchange,
    ];

    /// The registered name.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
            GrantType::TokenExchange => "urn:ietf:params:oauth:grant-type:token-exchange",
        }
    }

    /// Parses a registered name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|grant| grant.as_str() == name)
    }
}

impl std::fmt::Display for GrantType {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A registered client.
#[derive(Clone, Default)]
pub struct Client {
    /// Public identifier.
    pub client_id: String,
    /// Display name, shown on the consent page.
    pub name: String,
    /// SHA-256 digest of the secret; `None` for public clients.
    pub secret_digest: Option<String>,
    /// Token endpoint authentication method.
    pub auth_method: ClientAuthMethod,
    /// Registered redirect URIs, matched exactly.
    pub redirect_uris: Vec<String>,
    /// Registered post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Grant types the client may use.
    pub grant_types: Vec<GrantType>,
    /// Scopes the client may request.
    pub scopes: Vec<String>,
    /// Registration time, Unix seconds.
    pub created_at: i64,
    /// JWS algorithm of this client's ID tokens.
    pub id_token_signed_response_alg: String,
    /// Refresh-token idle lifetime, seconds; `None` for the server default.
    pub refresh_idle_ttl: Option<i64>,
    /// Refresh-token absolute lifetime, seconds; `None` for the server default.
    pub refresh_absolute_ttl: Option<i64>,
    /// Whether refresh tokens are issued without `offline_access`.
    pub refresh_for_online_sessions: bool,
    /// Where back-channel logout tokens are delivered.
    pub backchannel_logout_uri: Option<String>,
    /// For `client_secret_jwt`: the secret, sealed under the master key.
    pub secret_sealed: Option<String>,
    /// For `private_key_jwt`: the public keys (a JWKS), by value.
    pub jwks: Option<String>,
    /// For `private_key_jwt`: where to fetch the public keys.
    pub jwks_uri: Option<String>,
    /// Whether every login for this client needs a second factor.
    pub require_mfa: bool,
    /// Whether authorization requests must use PKCE even though the
    /// client is confidential (public clients always must).
    pub require_pkce: bool,
    /// Whether the client may only start authorization requests it pushed
    /// first (RFC 9126 `require_pushed_authorization_requests`).
    pub require_pushed_requests: bool,
    /// The client's own limit on requests per minute at the token,
    /// introspection and revocation endpoints; `None`: the server's
    /// default; 0: none.
    pub rate_limit_per_minute: Option<i32>,
    /// Whether the client is disabled: it keeps its settings but gets no
    /// code and no token.
    pub disabled: bool,
    /// The sector its pairwise subject identifiers are computed for (OIDC
    /// Core §8); `None`: it sees the users' ids (public subjects).
    pub pairwise_sector: Option<String>,
    /// Whether every token request must carry a DPoP proof, so every
    /// access token is bound to a key (RFC 9449 §5.2).
    pub dpop_bound_access_tokens: bool,
    /// For a dynamically registered client (RFC 7592): the digest of its
    /// registration access token.
    pub registration_token_digest: Option<String>,
    /// For a client whose id is the URL of its metadata document: when
    /// the document was last fetched.
    pub metadata_fetched_at: Option<i64>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Client")
            .field("client_id", &self.client_id)
            .field("name", &self.name)
            .field("auth_method", &self.auth_method)
            .field("redirect_uris", &self.redirect_uris)
            .field("grant_types", &self.grant_types)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Whether the client may use `grant_type`.
    pub fn allows_grant(&self, grant_type: GrantType) -> bool {
        self.grant_types.contains(&grant_type)
    }

    /// Whether the client may request `scope`.
    pub fn allows_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|allowed| allowed == scope)
    }

    /// Whether `uri` is registered for this client, compared exactly.
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris
            .iter()
            .any(|registered| registered == uri)
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = clients)]
struct ClientRow {
    client_id: String,
    name: String,
    secret_digest: Option<String>,
    auth_method: String,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    grant_types: String,
    scopes: String,
    created_at: i64,
    id_token_signed_response_alg: String,
    refresh_idle_ttl: Option<i64>,
    refresh_absolute_ttl: Option<i64>,
    refresh_for_online_sessions: bool,
    backchannel_logout_uri: Option<String>,
    secret_sealed: Option<String>,
    jwks: Option<String>,
    jwks_uri: Option<String>,
    require_mfa: bool,
    require_pkce: bool,
    rate_limit_per_minute: Option<i32>,
    disabled: bool,
    require_pushed_requests: bool,
    pairwise_sector: Option<String>,
    dpop_bound_access_tokens: bool,
    registration_token_digest: Option<String>,
    metadata_fetched_at: Option<i64>,
}

impl TryFrom<ClientRow> for Client {
    type Error = StoreError;

    fn try_from(row: ClientRow) -> StoreResult<Client> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("client {}: {what}", row.client_id));
        let json_list = |text: &str, what: &str| -> StoreResult<Vec<String>> {
            serde_json::from_str(text).map_err(|_| corrupt(what))
        };
        Ok(Client {
            auth_method: ClientAuthMethod::parse(&row.auth_method)
                .ok_or_else(|| corrupt("auth_method"))?,
            redirect_uris: json_list(&row.redirect_uris, "redirect_uris")?,
            post_logout_redirect_uris: json_list(
                &row.post_logout_redirect_uris,
                "post_logout_redirect_uris",
            )?,
            // A grant this version does not know (written by a newer one
            // during a rolling upgrade) is not allowed here, not an error.
            grant_types: row
                .grant_types
                .split_whitespace()
                .filter_map(|name| {
                    let grant = GrantType::parse(name);
                    if grant.is_none() {
                        tracing::warn!(client_id = %row.client_id, grant = name, "unknown grant type ignored");
                    }
                    grant
                })
                .collect(),
            scopes: row.scopes.split_whitespace().map(str::to_owned).collect(),
            client_id: row.client_id,
            name: row.name,
            secret_digest: row.secret_digest,
            created_at: row.created_at,
            id_token_signed_response_alg: row.id_token_signed_response_alg,
            refresh_idle_ttl: row.refresh_idle_ttl,
            refresh_absolute_ttl: row.refresh_absolute_ttl,
            refresh_for_online_sessions: row.refresh_for_online_sessions,
            backchannel_logout_uri: row.backchannel_logout_uri,
            secret_sealed: row.secret_sealed,
            jwks: row.jwks,
            jwks_uri: row.jwks_uri,
            require_mfa: row.require_mfa,
            require_pkce: row.require_pkce,
            require_pushed_requests: row.require_pushed_requests,
            rate_limit_per_minute: row.rate_limit_per_minute,
            disabled: row.disabled,
            pairwise_sector: row.pairwise_sector,
            dpop_bound_access_tokens: row.dpop_bound_access_tokens,
            registration_token_digest: row.registration_token_digest,
            metadata_fetched_at: row.metadata_fetched_at,
        })
    }
}

/// A list as the JSON text a column keeps.
fn json_text(list: &[String]) -> StoreResult<String> {
    serde_json::to_string(list).map_err(|error| StoreError::Corrupt(error.to_string()))
}

/// Grant types as the space-separated names a column keeps.
fn grant_types_text(grant_types: &[GrantType]) -> String {
    grant_types
        .iter()
        .map(|grant| grant.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

impl Store {
    /// Registers a client. The caller has generated the id and, for a
    /// confidential client, the secret, of which only the digest is stored.
    pub fn create_client(&self, client: &Client) -> StoreResult<()> {
        let mut connection = self.connection()?;
        diesel::insert_into(clients::table)
            .values((
                clients::client_id.eq(&client.client_id),
                clients::name.eq(&client.name),
                clients::secret_digest.eq(&client.secret_digest),
                clients::auth_method.eq(client.auth_method.as_str()),
                clients::redirect_uris.eq(json_text(&client.redirect_uris)?),
                clients::post_logout_redirect_uris
                    .eq(json_text(&client.post_logout_redirect_uris)?),
                clients::grant_types.eq(grant_types_text(&client.grant_types)),
                clients::scopes.eq(client.scopes.join(" ")),
                clients::created_at.eq(client.created_at),
                clients::id_token_signed_response_alg.eq(&client.id_token_signed_response_alg),
                clients::refresh_idle_ttl.eq(client.refresh_idle_ttl),
                clients::refresh_absolute_ttl.eq(client.refresh_absolute_ttl),
                clients::refresh_for_online_sessions.eq(client.refresh_for_online_sessions),
                clients::backchannel_logout_uri.eq(&client.backchannel_logout_uri),
                clients::secret_sealed.eq(&client.secret_sealed),
                clients::jwks.eq(&client.jwks),
                clients::jwks_uri.eq(&client.jwks_uri),
                clients::require_mfa.eq(client.require_mfa),
                clients::require_pkce.eq(client.require_pkce),
                clients::require_pushed_requests.eq(client.require_pushed_requests),
                clients::rate_limit_per_minute.eq(client.rate_limit_per_minute),
                clients::disabled.eq(client.disabled),
                clients::pairwise_sector.eq(&client.pairwise_sector),
                clients::dpop_bound_access_tokens.eq(client.dpop_bound_access_tokens),
                clients::registration_token_digest.eq(&client.registration_token_digest),
                clients::metadata_fetched_at.eq(client.metadata_fetched_at),
            ))
            .execute(&mut connection)
            .map_err(StoreError::conflict_as("a client with this id"))?;
        Ok(())
    }

    /// Finds a client by id.
    pub fn find_client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        let mut connection = self.connection()?;
        let row = clients::table
            .find(client_id)
            .select(ClientRow::as_select())
            .first(&mut connection)
            .optional()?;
        row.map(Client::try_from).transpose()
    }

    /// Every client, by name.
    pub fn list_clients(&self) -> StoreResult<Vec<Client>> {
        let mut connection = self.connection()?;
        clients::table
            .order((clients::name.asc(), clients::client_id.asc()))
            .select(ClientRow::as_select())
            .load(&mut connection)?
            .into_iter()
            .map(Client::try_from)
            .collect()
    }

    /// At most `limit` clients by id, after `after` (keyset paging: stable
    /// while clients are added or deleted).
    pub fn page_clients(&self, after: Option<&str>, limit: i64) -> StoreResult<Vec<Client>> {
        let mut connection = self.connection()?;
        let mut query = clients::table
            .order(clients::client_id.asc())
            .limit(limit)
            .select(ClientRow::as_select())
            .into_boxed();
        if let Some(after) = after {
            query = query.filter(clients::client_id.gt(after));
        }
        query
            .load(&mut connection)?
            .into_iter()
            .map(Client::try_from)
            .collect()
    }

    /// Changes the algorithm of a client's ID tokens.
    pub fn set_client_id_token_alg(&self, client_id: &str, alg: &str) -> StoreResult<()> {
        let mut connection = self.connection()?;
        let updated = diesel::update(clients::table.find(client_id))
            .set(clients::id_token_signed_response_alg.eq(alg))
            .execute(&mut connection)?;
        if updated == 0 {
            return Err(StoreError::NotFound("client"));
        }
        Ok(())
    }

    /// Sets the client's own request limit (`None`: the server's default).
    pub fn set_client_rate_limit(
        &self,
        client_id: &str,
        per_minute: Option<i32>,
    ) -> StoreResult<()> {
        let mut connection = self.connection()?;
        let updated = diesel::update(clients::table.find(client_id))
            .set(clients::rate_limit_per_minute.eq(per_minute))
            .execute(&mut connection)?;
        if updated == 0 {
            return Err(StoreError::NotFound("client"));
        }
        Ok(())
    }

    /// Replaces the scopes a client may request.
    pub fn set_client_scopes(&self, client_id: &str, scopes: &[String]) -> StoreResult<()> {
        let mut connection = self.connection()?;
        let updated = diesel::update(clients::table.find(client_id))
            .set(clients::scopes.eq(scopes.join(" ")))
            .execute(&mut connection)?;
        if updated == 0 {
            return Err(StoreError::NotFound("client"));
        }
        Ok(())
    }

    /// Sets whether this client's authorization requests need PKCE.
    pub fn set_client_require_pkce(&self, client_id: &str, required: bool) -> StoreResult<()> {
        let mut connection = self.connection()?;
        let updated = diesel::update(clients::table.find(client_id))
            .set(clients::require_pkce.eq(required))
            .execute(&mut connection)?;
        if updated == 0 {
            return Err(StoreError::NotFound("client"));
        }
        Ok(())
    }

    /// Sets whether this client may only start pushed authorization
    /// requests.
    pub fn set_client_require_pushed_requests(
        &self,
        client_id: &str,
        required: bool,
    ) -> StoreResult<()> {
        let mut connection = self.connection()?;
        let updated = diesel::update(clients::table.find(client_id))
            .set(clients::require_pushed_requests.eq(required))
            .execute(&mut connection)?;
        if updated == 0 {
            return Err(StoreError::NotFound("client"));
        }
        Ok(())
    }

    /// Sets whether logins for this client need a second factor.
    pub fn set_client_require_mfa(&self, client_id: &str, required: bool) -> StoreResult<()> {
        let mut connection = self.connection()?;
        let updated = diesel::update(clients::table.find(client_id))
            .set(clients::require_mfa.eq(required))
            .execute(&mut connection)?;
        if updated == 0 {
            return Err(StoreError::NotFound("client"));
        }
        Ok(())
    }

    /// Disables or enables a client.
    pub fn set_client_disabled(&self, client_id: &str, disabled: bool) -> StoreResult<()> {
        let mut connection = self.connection()?;
        let updated = diesel::update(clients::table.find(client_id))
            .set(clients::disabled.eq(disabled))
            .execute(&mut connection)?;
        if updated == 0 {
            return Err(StoreError::NotFound("client"));
        }
        Ok(())
    }

    /// Replaces a confidential client's secret: its digest, and for
    /// `client_secret_jwt` the sealed secret. The old secret stops working
    /// at once.
    pub fn set_client_secret(
        &self,
        client_id: &str,
        secret_digest: &str,
        secret_sealed: Option<&str>,
    ) -> StoreResult<()> {
        let mut connection = self.connection()?;
        let updated = diesel::update(clients::table.find(client_id))
            .set((
                clients::secret_digest.eq(secret_digest),
                clients::secret_sealed.eq(secret_sealed),
            ))
            .execute(&mut connection)?;
        if updated == 0 {
            return Err(StoreError::NotFound("client"));
        }
        Ok(())
    }

    /// Sets the redirect URIs of a client (the console's own, which
    /// follows the configured address).
    pub fn set_client_redirect_uris(&self, client_id: &str, uris: &[String]) -> StoreResult<()> {
        let encoded = json_text(uris)?;
        let mut connection = self.connection()?;
        diesel::update(clients::table.find(client_id))
            .set(clients::redirect_uris.eq(encoded))
            .execute(&mut connection)?;
        Ok(())
    }

    /// Replaces the metadata a client may change about itself (RFC 7592
    /// §2.2) with `client`'s: its id, secret, authentication method and
    /// administrative settings stay.
    pub fn replace_client_metadata(&self, client: &Client) -> StoreResult<()> {
        let mut connection = self.connection()?;
        let updated = diesel::update(clients::table.find(&client.client_id))
            .set((
                clients::name.eq(&client.name),
                clients::redirect_uris.eq(json_text(&client.redirect_uris)?),
                clients::post_logout_redirect_uris
                    .eq(json_text(&client.post_logout_redirect_uris)?),
                clients::grant_types.eq(grant_types_text(&client.grant_types)),
                clients::scopes.eq(client.scopes.join(" ")),
                clients::id_token_signed_response_alg.eq(&client.id_token_signed_response_alg),
                clients::backchannel_logout_uri.eq(&client.backchannel_logout_uri),
                clients::jwks.eq(&client.jwks),
                clients::jwks_uri.eq(&client.jwks_uri),
                clients::metadata_fetched_at.eq(client.metadata_fetched_at),
                clients::dpop_bound_access_tokens.eq(client.dpop_bound_access_tokens),
            ))
            .execute(&mut connection)?;
        if updated == 0 {
            return Err(StoreError::NotFound("client"));
        }
        Ok(())
    }

    /// Stores a new initial access token (its digest), good until
    /// `expires_at` for `uses` registrations (`None`: any number).
    pub fn insert_initial_access_token(
        &self,
        token_digest: &str,
        created_at: i64,
        expires_at: i64,
        uses: Option<i64>,
    ) -> StoreResult<()> {
        let mut connection = self.connection()?;
        diesel::insert_into(initial_access_tokens::table)
            .values((
                initial_access_tokens::token_digest.eq(token_digest),
                initial_access_tokens::created_at.eq(created_at),
                initial_access_tokens::expires_at.eq(expires_at),
                initial_access_tokens::uses_left.eq(uses),
            ))
            .execute(&mut connection)?;
        Ok(())
    }

    /// Spends one use of the initial access token with this digest; false
    /// if it is unknown, expired or used up. One conditional UPDATE, so
    /// concurrent registrations never spend a use twice.
    pub fn use_initial_access_token(&self, token_digest: &str, now: i64) -> StoreResult<bool> {
        let mut connection = self.connection()?;
        let used = diesel::update(
            initial_access_tokens::table
                .find(token_digest)
                .filter(initial_access_tokens::expires_at.gt(now))
                .filter(
                    initial_access_tokens::uses_left
                        .is_null()
                        .or(initial_access_tokens::uses_left.gt(0)),
                ),
        )
        .set(initial_access_tokens::uses_left.eq(initial_access_tokens::uses_left - 1))
        .execute(&mut connection)?;
        Ok(used == 1)
    }

    /// Deletes a client and, by cascade, its codes and consents, and the
    /// roles granted to it.
    pub fn delete_client(&self, client_id: &str) -> StoreResult<()> {
        let mut connection = self.connection()?;
        connection.transaction(|connection| {
            // Role grants name their holder without a foreign key (a
            // holder is a user, a group or a client).
            diesel::delete(
                role_grants::table
                    .filter(role_grants::principal_kind.eq("client"))
                    .filter(role_grants::principal.eq(client_id)),
            )
            .execute(connection)?;
            let deleted = diesel::delete(clients::table.find(client_id)).execute(connection)?;
            if deleted == 0 {
                return Err(StoreError::NotFound("client"));
            }
            Ok(())
        })
    }
}
