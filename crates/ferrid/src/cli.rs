//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// ferrid, an OpenID Connect identity provider.
#[derive(Debug, Parser)]
#[command(name = "ferrid", version, about)]
pub struct Cli {
    /// TOML configuration file (optional; FERRID_* environment variables
    /// override it).
    #[arg(long, global = true, env = "FERRID_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the identity provider.
    Serve,
    /// Apply pending database migrations.
    Migrate,
    /// Copy the SQLite database, consistently, while the server runs
    /// (PostgreSQL: use pg_dump). Back the master key up too.
    Backup {
        /// The new file (must not exist).
        to: PathBuf,
    },
    /// Exit 0 if the server on `bind` is ready (for container health
    /// checks).
    Health,
    /// Manage clients (relying parties).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Register and manage APIs (resource servers) and their scopes and roles.
    #[command(subcommand)]
    Api(ApiCommand),
    /// Manage groups of users.
    #[command(subcommand)]
    Group(GroupCommand),
    /// Grant and revoke the roles APIs define.
    #[command(subcommand)]
    Role(RoleCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Inspect signing keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Read the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Create the master key that seals signing keys (once per
    /// deployment; every node then gets a copy).
    #[command(subcommand)]
    MasterKey(MasterKeyCommand),
    /// Change the issuer every node of this deployment publishes.
    #[command(subcommand)]
    Issuer(IssuerCommand),
    /// Create a self-signed TLS certificate for local HTTPS.
    DevCert {
        /// Folder for cert.pem and key.pem (the key is created 0600).
        #[arg(long, default_value = "keys")]
        out_dir: PathBuf,
        /// Host names and addresses the certificate is for (repeatable).
        #[arg(long = "host", default_values_t = ["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()])]
        hosts: Vec<String>,
        /// Validity in days.
        #[arg(long, default_value_t = 90)]
        days: u32,
    },
}

/// `ferrid master-key …`
#[derive(Debug, Subcommand)]
pub enum MasterKeyCommand {
    /// Write a new random master key to `master_key_file` (refused if the
    /// file exists or the database already holds keys sealed with another).
    Create,
}

/// `ferrid issuer …`
#[derive(Debug, Subcommand)]
pub enum IssuerCommand {
    /// Record the configured `issuer` as the one every node must use,
    /// after moving the deployment to a new public URL.
    Change,
}

/// `ferrid audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print the newest events, oldest first.
    Tail {
        /// Only events by or about this user (username or id).
        #[arg(long)]
        user: Option<String>,
        /// Only events since then: RFC 3339 (2026-11-29T10:00:00Z), Unix
        /// seconds, or an age like 15m, 2h, 7d.
        #[arg(long)]
        since: Option<String>,
        /// At most this many events.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

/// `ferrid client …`
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; prints its id and, for a confidential client,
    /// its secret (shown once).
    Create(Box<ClientCreate>),
    /// List clients.
    List,
    /// Show one client.
    Show {
        /// The client id.
        client_id: String,
    },
    /// Change a client's settings.
    Update {
        /// The client id.
        client_id: String,
        /// Algorithm of the client's ID tokens.
        #[arg(long)]
        id_token_alg: Option<String>,
        /// Whether every login for this client needs a second factor.
        #[arg(long, value_name = "true|false")]
        require_mfa: Option<bool>,
        /// Whether authorization requests must use PKCE (always true for
        /// public clients).
        #[arg(long, value_name = "true|false")]
        require_pkce: Option<bool>,
        /// Whether the client may only start authorization requests it
        /// pushed first to the PAR endpoint (RFC 9126).
        #[arg(long, value_name = "true|false")]
        require_par: Option<bool>,
        /// The client's own limit on requests per minute at the token,
        /// introspection and revocation endpoints (0: none).
        #[arg(long, value_name = "N")]
        rate_limit_per_minute: Option<u32>,
        /// Replace the scopes the client may request (space-separated;
        /// OpenID Connect scopes and scopes of registered APIs).
        #[arg(long)]
        scope: Option<String>,
    },
    /// Delete a client.
    Delete {
        /// The client id.
        client_id: String,
    },
    /// Replace a confidential client's secret; prints the new one (shown
    /// once). The old one stops working at once.
    RotateSecret {
        /// The client id.
        client_id: String,
    },
    /// Disable a client: it keeps its settings but gets no code and no
    /// token.
    Disable {
        /// The client id.
        client_id: String,
    },
    /// Enable a disabled client again.
    Enable {
        /// The client id.
        client_id: String,
    },
    /// Issue an initial access token for dynamic client registration
    /// (`dynamic_registration = "token"`); prints it (shown once).
    InitialAccessToken {
        /// How long it is good for, seconds.
        #[arg(long, default_value_t = 86_400)]
        ttl: i64,
        /// How many registrations it allows (default: any number).
        #[arg(long)]
        uses: Option<i64>,
    },
}

/// Options of `ferrid client create`.
#[derive(Debug, Args)]
pub struct ClientCreate {
    /// Display name, shown on the consent page.
    #[arg(long)]
    pub name: String,
    /// Redirect URI (repeatable); required for the authorization_code grant.
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Vec<String>,
    /// Post-logout redirect URI (repeatable).
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    pub post_logout_redirect_uris: Vec<String>,
    /// Allowed grants, comma-separated: authorization_code, refresh_token,
    /// client_credentials, device_code (the device authorization grant),
    /// token_exchange (RFC 8693).
    #[arg(
        long = "grant",
        value_delimiter = ',',
        default_value = "authorization_code"
    )]
    pub grants: Vec<String>,
    /// Token endpoint authentication method.
    #[arg(long, default_value = "client_secret_basic")]
    pub auth_method: String,
    /// Allowed scopes, space-separated.
    #[arg(long, default_value = "openid profile email")]
    pub scope: String,
    /// Algorithm of the client's ID tokens (RS256, PS256, ES256, EdDSA).
    #[arg(long, default_value = "RS256")]
    pub id_token_alg: String,
    /// Refresh-token idle lifetime for this client, seconds (default: server setting).
    #[arg(long)]
    pub refresh_idle_ttl: Option<i64>,
    /// Refresh-token absolute lifetime for this client, seconds (default: server setting).
    #[arg(long)]
    pub refresh_absolute_ttl: Option<i64>,
    /// Issue refresh tokens even without the offline_access scope.
    #[arg(long)]
    pub refresh_online: bool,
    /// Back-channel logout receiver (OIDC Back-Channel Logout 1.0).
    #[arg(long, value_name = "URI")]
    pub backchannel_logout_uri: Option<String>,
    /// For private_key_jwt: the client's public keys, a JWKS file (or the
    /// JSON itself).
    #[arg(long, value_name = "FILE|JSON")]
    pub jwks: Option<String>,
    /// For private_key_jwt: where ferrid fetches the client's public keys.
    #[arg(long, value_name = "URI")]
    pub jwks_uri: Option<String>,
    /// Every login for this client needs a second factor (TOTP); users
    /// without one are asked to set it up.
    #[arg(long)]
    pub require_mfa: bool,
    /// Whether authorization requests must use PKCE (S256). On by default
    /// (RFC 9700 §2.1.1); `false` only for a confidential client that
    /// cannot send it. Public clients need it regardless.
    #[arg(long, value_name = "true|false", default_value_t = true, action = clap::ArgAction::Set)]
    pub require_pkce: bool,
    /// Accept only authorization requests the client pushed first to the
    /// PAR endpoint (RFC 9126); plain ones are refused.
    #[arg(long)]
    pub require_par: bool,
    /// `public`: the client sees users' ids as `sub`; `pairwise`: a `sub`
    /// of its own for each user (OIDC Core §8), computed for the host of
    /// its redirect URIs. Fixed at registration.
    #[arg(long, value_enum, default_value = "public")]
    pub subject_type: SubjectType,
    /// Every token request must carry a DPoP proof (RFC 9449), so every
    /// access token is bound to the client's key.
    #[arg(long)]
    pub require_dpop: bool,
    /// The client's own limit on requests per minute at the token,
    /// introspection and revocation endpoints (default: the server's
    /// `rate_limits.client_requests_per_minute`; 0: none).
    #[arg(long, value_name = "N")]
    pub rate_limit_per_minute: Option<u32>,
}

/// `ferrid api …`
#[derive(Debug, Subcommand)]
pub enum ApiCommand {
    /// Register an API; its identifier becomes the `aud` of its tokens.
    Create(Box<ApiCreate>),
    /// List the registered APIs.
    List,
    /// Show one API with its scopes and roles.
    Show {
        /// The API's identifier.
        identifier: String,
    },
    /// Change an API's name, scopes, roles or token settings.
    Update(Box<ApiUpdateArgs>),
    /// Delete an API, its scopes, roles, grants and introspection credentials.
    Delete {
        /// The API's identifier.
        identifier: String,
    },
}

/// `ferrid api create`
#[derive(Debug, Args)]
pub struct ApiCreate {
    /// Absolute URI naming the API (e.g. https://api.example.com/orders).
    #[arg(long)]
    pub identifier: String,
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// A scope the API defines, as NAME=DESCRIPTION (repeatable).
    #[arg(long = "scope", value_name = "NAME=DESCRIPTION")]
    pub scopes: Vec<String>,
    /// A role the API defines, as NAME or NAME=DESCRIPTION (repeatable).
    #[arg(long = "role", value_name = "NAME[=DESCRIPTION]")]
    pub roles: Vec<String>,
    /// Access-token lifetime in seconds (default: the server's).
    #[arg(long, value_name = "SECONDS")]
    pub access_token_ttl: Option<i64>,
    /// Access-token signing algorithm (default: the server's).
    #[arg(long, value_name = "ALG")]
    pub signing_alg: Option<String>,
    /// Let the API introspect tokens, authenticating with this method
    /// (client_secret_basic, client_secret_post, client_secret_jwt or
    /// private_key_jwt).
    #[arg(long, value_name = "METHOD")]
    pub introspection: Option<String>,
    /// For private_key_jwt: the API's public keys (a JWKS file or JSON).
    #[arg(long, value_name = "FILE|JSON")]
    pub jwks: Option<String>,
    /// For private_key_jwt: where to fetch the API's public keys.
    #[arg(long, value_name = "URI")]
    pub jwks_uri: Option<String>,
}

/// `ferrid api update`
#[derive(Debug, Args)]
pub struct ApiUpdateArgs {
    /// The API's identifier.
    pub identifier: String,
    /// A new display name.
    #[arg(long)]
    pub name: Option<String>,
    /// Add a scope (or change its description), as NAME=DESCRIPTION.
    #[arg(long = "add-scope", value_name = "NAME=DESCRIPTION")]
    pub add_scopes: Vec<String>,
    /// Remove a scope.
    #[arg(long = "remove-scope", value_name = "NAME")]
    pub remove_scopes: Vec<String>,
    /// Add a role (or change its description), as NAME[=DESCRIPTION].
    #[arg(long = "add-role", value_name = "NAME[=DESCRIPTION]")]
    pub add_roles: Vec<String>,
    /// Remove a role and its grants.
    #[arg(long = "remove-role", value_name = "NAME")]
    pub remove_roles: Vec<String>,
    /// A new access-token lifetime in seconds.
    #[arg(long, value_name = "SECONDS")]
    pub access_token_ttl: Option<i64>,
    /// A new access-token signing algorithm.
    #[arg(long, value_name = "ALG")]
    pub signing_alg: Option<String>,
}

/// `ferrid group …`
#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a group.
    Create {
        /// The group's name (the value in the `groups` claim).
        name: String,
        /// What the group is for.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Delete a group, its memberships and its role grants.
    Delete {
        /// The group's name.
        name: String,
    },
    /// List groups and their members.
    List,
    /// Add a user to a group.
    AddMember {
        /// The group's name.
        group: String,
        /// The user's username.
        username: String,
    },
    /// Remove a user from a group.
    RemoveMember {
        /// The group's name.
        group: String,
        /// The user's username.
        username: String,
    },
}

/// `ferrid role …`
#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Grant a role of an API to a user, a group or a client.
    Grant(RoleArgs),
    /// Revoke a role grant.
    Revoke(RoleArgs),
    /// List an API's role grants.
    List {
        /// The API's identifier.
        #[arg(long)]
        api: String,
    },
}

/// Which role, and to whom.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("holder").required(true).args(["user", "group", "client"])))]
pub struct RoleArgs {
    /// The API's identifier.
    #[arg(long)]
    pub api: String,
    /// The role's name.
    #[arg(long)]
    pub role: String,
    /// A user, by username.
    #[arg(long)]
    pub user: Option<String>,
    /// A group, by name.
    #[arg(long)]
    pub group: Option<String>,
    /// A client (for client-credentials tokens), by id.
    #[arg(long)]
    pub client: Option<String>,
}

/// `ferrid user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create {
        /// Login name.
        #[arg(long)]
        username: String,
        /// E-mail address.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// Read the password from standard input (required: passwords never go in argv).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// Replace a user's password, read from standard input.
    SetPassword {
        /// Login name.
        username: String,
        /// Read the password from standard input (required).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Disable a user and end their sessions.
    Disable {
        /// Login name.
        username: String,
    },
    /// Remove a user's second factor and recovery codes (lost device);
    /// their next login asks for the password only.
    ResetMfa {
        /// Login name.
        username: String,
    },
    /// List a user's passkeys (name, kind, last use, id).
    Passkeys {
        /// Login name.
        username: String,
    },
    /// Remove one of a user's passkeys (a lost or stolen authenticator).
    RemovePasskey {
        /// Login name.
        username: String,
        /// The passkey's id, as `ferrid user passkeys` lists it.
        passkey_id: String,
    },
    /// Lift a lockout at once: forget the failed attempts counted for the
    /// user's username, e-mail address and second factor.
    Unlock {
        /// Login name.
        username: String,
    },
    /// Let a user administer ferrid (the admin API), or with `--auditor`
    /// read everything there and change nothing.
    GrantAdmin {
        /// Login name.
        username: String,
        /// Read-only administration.
        #[arg(long)]
        auditor: bool,
    },
    /// Take a user's administrative role away.
    RevokeAdmin {
        /// Login name.
        username: String,
    },
}

/// `ferrid key …`
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// List signing keys.
    List,
    /// Rotate: publish a new key now, to sign after the pre-publication
    /// period; with --now, the new key signs at once (emergency).
    Rotate {
        /// Only this algorithm (default: every enabled algorithm).
        #[arg(long)]
        alg: Option<String>,
        /// Sign with the new key immediately; the old key is retired.
        #[arg(long)]
        now: bool,
    },
    /// Revoke a key: it leaves the JWKS at once and tokens it signed are
    /// no longer accepted.
    Revoke {
        /// The key id.
        kid: String,
    },
    /// Re-encrypt every private key under a new master key, in one
    /// transaction; the file is created (0600) if it does not exist.
    Rewrap {
        /// The new master key file.
        #[arg(long, value_name = "PATH")]
        new_master_key: std::path::PathBuf,
    },
}

/// Which `sub` a client sees for a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SubjectType {
    /// The user's id.
    Public,
    /// A value for the client's sector alone.
    Pairwise,
}
