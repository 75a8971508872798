//! Configuration: built-in defaults, then an optional TOML file, then
//! `FERRID_*` environment variables, each overriding the one before.
//! Every value is validated at start, and a bad one fails with a message
//! naming its key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use ferrid_server::security::{
    AuditPolicy, EmailSettings, LockoutPolicy, MfaPolicy, PasskeyPolicy, PasswordPolicy,
    RateLimits, SecurityPolicy, TlsSettings,
};
use ferrid_server::settings::{self, Settings, METADATA_MAX_AGE};
use ferrid_store::Argon2Params;
use ferrid_tokens::lifecycle::{self as keys, KeyPolicy};
use ferrid_tokens::SigningAlgorithm;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;

use crate::environment;
use serde::{Deserialize, Serialize};
use url::Url;

/// Default issuer: the address `ferrid serve` listens on by default.
pub const DEFAULT_ISSUER: &str = "http://127.0.0.1:8080";
/// Default listen address.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// Default database: embedded SQLite.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/ferrid.db";
/// Default master key file.
pub const DEFAULT_MASTER_KEY_FILE: &str = "keys/master.key";
/// Default size of the database connection pool.
pub const DEFAULT_DATABASE_MAX_CONNECTIONS: u32 = 10;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The whole configuration. Field names are the TOML keys; the environment
/// variable of `access_token_ttl` is `FERRID_ACCESS_TOKEN_TTL`, and nested
/// keys use a double underscore (`FERRID_ARGON2__MEMORY_KIB`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Public issuer URL, exactly as relying parties see it.
    pub issuer: String,
    /// Address to listen on.
    pub bind: String,
    /// `sqlite://PATH` or `postgres://…`.
    pub database_url: String,
    /// Where migrations are applied, as a role allowed to change the
    /// schema; empty: `database_url`. Lets the server's own role have
    /// only data rights.
    pub migrate_database_url: String,
    /// Most connections in the database pool.
    pub database_max_connections: u32,
    /// Longest wait to connect to PostgreSQL, seconds.
    pub database_connect_timeout: u64,
    /// Longest a PostgreSQL statement may run, seconds.
    pub database_statement_timeout: u64,
    /// Longest a request waits for a free database connection, seconds.
    pub database_pool_timeout: u64,
    /// File holding the master key (base64 of 32 bytes).
    pub master_key_file: PathBuf,
    /// The master key itself (base64), instead of the file. Meant for the
    /// `FERRID_MASTER_KEY` environment variable of a secret manager.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_key: Option<String>,
    /// Access-token lifetime, seconds.
    pub access_token_ttl: i64,
    /// ID-token lifetime, seconds.
    pub id_token_ttl: i64,
    /// Authorization-code lifetime, seconds (at most 60).
    pub authorization_code_ttl: i64,
    /// Browser-session lifetime, seconds.
    pub session_ttl: i64,
    /// Time allowed to finish a login, seconds.
    pub login_ttl: i64,
    /// Lifetime of a pushed authorization request's `request_uri`,
    /// seconds (RFC 9126).
    pub pushed_request_ttl: i64,
    /// Accept only pushed authorization requests, from every client.
    pub require_pushed_authorization_requests: bool,
    /// Lifetime of a device authorization request, seconds (RFC 8628).
    pub device_code_ttl: i64,
    /// Seconds a device waits between polls, at first (RFC 8628).
    pub device_poll_interval: i64,
    /// DPoP proofs must carry a nonce the server issued (RFC 9449 §8).
    pub dpop_nonce_required: bool,
    /// Whether clients may register themselves: off, open or token.
    pub dynamic_registration: ferrid_server::settings::DynamicRegistration,
    /// A JWKS file with the keys software statements must be signed with.
    pub software_statement_jwks_file: Option<PathBuf>,
    /// Accept client ids that are URLs of client metadata documents.
    pub client_id_metadata_documents: bool,
    /// Fetch request objects from URLs clients name in `request_uri`.
    pub external_request_uris: bool,
    /// Refresh-token idle lifetime, seconds.
    pub refresh_idle_ttl: i64,
    /// Refresh-token absolute lifetime, seconds.
    pub refresh_absolute_ttl: i64,
    /// Seconds a rotated refresh token still works (0 = off).
    pub refresh_reuse_grace: i64,
    /// Longest a client assertion may be valid (`exp` − `iat`), seconds.
    pub client_assertion_max_lifetime: i64,
    /// Whether `jwks_uri` and back-channel logout requests may reach
    /// private, loopback and link-local addresses.
    pub outbound_allow_private_networks: bool,
    /// Serve the admin API on this address (e.g. a private interface)
    /// instead of under the main listener; empty: under the main one.
    pub admin_bind: String,
    /// The admin listener's public address (e.g. `https://admin.internal:9090`),
    /// where the console sends admins back after signing in; empty:
    /// `http://` + `admin_bind`.
    pub admin_url: String,
    /// Absolute lifetime of an admin console session, seconds.
    pub admin_session_ttl: i64,
    /// Seconds of inactivity after which an admin console session ends.
    pub admin_idle_timeout: i64,
    /// Seconds after an admin confirmed it was them during which dangerous
    /// console actions need no password or code again.
    pub admin_reauthentication_window: i64,
    /// Algorithms ferrid keeps signing keys for (RS256 always included).
    pub signing_algorithms: Vec<String>,
    /// Algorithm of access tokens.
    pub access_token_alg: String,
    /// Seconds between two keys of one algorithm.
    pub key_rotation_interval: i64,
    /// Seconds a new key is published before it signs.
    pub key_prepublish: i64,
    /// Seconds between two checks of the stored keys by each node.
    pub key_refresh_interval: i64,
    /// Argon2id parameters for new password hashes.
    pub argon2: Argon2Params,
    /// Per-account lockout after failed logins.
    pub lockout: LockoutPolicy,
    /// Per-client-IP request limits.
    pub rate_limits: RateLimits,
    /// When a second factor is required.
    pub mfa: MfaPolicy,
    /// Passkeys: the relying party they are bound to, and who must use
    /// them.
    pub passkeys: PasskeyPolicy,
    /// Password rules and hashing capacity.
    pub passwords: PasswordPolicy,
    /// Outgoing e-mail (SMTP, or files in an outbox folder).
    pub email: EmailSettings,
    /// How long audit events are kept.
    pub audit: AuditPolicy,
    /// Serving HTTPS directly.
    pub tls: TlsSettings,
    /// HTTP worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// Seconds `serve` lets in-flight requests and background jobs finish
    /// after SIGTERM or Ctrl-C before it exits anyway.
    pub shutdown_timeout: u64,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// Which requests get an access log line: `all`, `errors` or `off`.
    pub access_log: ferrid_server::settings::AccessLog,
    /// An OpenTelemetry collector (`http://collector:4318`) to export
    /// traces to over OTLP/HTTP; empty: no export.
    pub otlp_endpoint: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            issuer: DEFAULT_ISSUER.into(),
            bind: DEFAULT_BIND.into(),
            database_url: DEFAULT_DATABASE_URL.into(),
            migrate_database_url: String::new(),
            database_max_connections: DEFAULT_DATABASE_MAX_CONNECTIONS,
            database_connect_timeout: 5,
            database_statement_timeout: 10,
            database_pool_timeout: 5,
            master_key_file: DEFAULT_MASTER_KEY_FILE.into(),
            master_key: None,
            access_token_ttl: settings::DEFAULT_ACCESS_TOKEN_TTL,
            id_token_ttl: settings::DEFAULT_ID_TOKEN_TTL,
            authorization_code_ttl: settings::DEFAULT_AUTHORIZATION_CODE_TTL,
            session_ttl: settings::DEFAULT_SESSION_TTL,
            login_ttl: settings::DEFAULT_LOGIN_TTL,
            pushed_request_ttl: settings::DEFAULT_PUSHED_REQUEST_TTL,
            require_pushed_authorization_requests: false,
            device_code_ttl: settings::DEFAULT_DEVICE_CODE_TTL,
            device_poll_interval: settings::DEFAULT_DEVICE_POLL_INTERVAL,
            dpop_nonce_required: false,
            dynamic_registration: ferrid_server::settings::DynamicRegistration::Off,
            software_statement_jwks_file: None,
            client_id_metadata_documents: false,
            external_request_uris: false,
            refresh_idle_ttl: settings::DEFAULT_REFRESH_IDLE_TTL,
            refresh_absolute_ttl: settings::DEFAULT_REFRESH_ABSOLUTE_TTL,
            refresh_reuse_grace: ferrid_server::settings::DEFAULT_REFRESH_REUSE_GRACE,
            client_assertion_max_lifetime: settings::DEFAULT_CLIENT_ASSERTION_MAX_LIFETIME,
            outbound_allow_private_networks: false,
            admin_bind: String::new(),
            admin_url: String::new(),
            admin_session_ttl: settings::DEFAULT_ADMIN_SESSION_TTL,
            admin_idle_timeout: settings::DEFAULT_ADMIN_IDLE_TIMEOUT,
            admin_reauthentication_window: settings::DEFAULT_ADMIN_REAUTHENTICATION_WINDOW,
            signing_algorithms: SigningAlgorithm::ALL
                .iter()
                .map(|alg| alg.as_str().to_owned())
                .collect(),
            access_token_alg: SigningAlgorithm::Rs256.as_str().to_owned(),
            key_rotation_interval: keys::DEFAULT_ROTATION_INTERVAL,
            key_prepublish: keys::DEFAULT_PREPUBLISH,
            key_refresh_interval: keys::DEFAULT_REFRESH_INTERVAL,
            argon2: Argon2Params::default(),
            lockout: LockoutPolicy::default(),
            rate_limits: RateLimits::default(),
            mfa: MfaPolicy::default(),
            passkeys: PasskeyPolicy::default(),
            passwords: PasswordPolicy::default(),
            email: EmailSettings::default(),
            audit: AuditPolicy::default(),
            tls: TlsSettings::default(),
            workers: 0,
            shutdown_timeout: ferrid_server::settings::DEFAULT_SHUTDOWN_TIMEOUT,
            access_log: ferrid_server::settings::AccessLog::default(),
            otlp_endpoint: String::new(),
            log_format: LogFormat::Text,
        }
    }
}

impl Config {
    /// Loads defaults, then `file` if given, then the environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        Self::from_figment(Self::figment(file))
    }

    /// The layered sources, for [`load`](Self::load) and tests.
    pub fn figment(file: Option<&Path>) -> Figment {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        // Only variables that name a setting are read: see `environment`.
        let known = Config::known_keys();
        figment.merge(
            Env::prefixed(environment::PREFIX)
                .split("__")
                .filter(move |key| {
                    environment::classify(key.as_str(), &known) == environment::Variable::Setting
                }),
        )
    }

    /// Warnings for `FERRID_*` environment variables that name no
    /// setting, each suggesting the closest key (they are ignored, not
    /// fatal: see `environment`).
    pub fn environment_warnings() -> Vec<String> {
        environment::unknown_variable_warnings(std::env::vars_os(), &Config::known_keys())
    }

    /// Every setting's key, dotted for nested ones (`argon2.memory_kib`).
    fn known_keys() -> Vec<String> {
        // Optional settings are left out of the serialized defaults; give
        // them a value so they are listed too.
        let every = Config {
            master_key: Some(String::new()),
            ..Config::default()
        };
        let mut keys = Vec::new();
        if let Ok(serde_json::Value::Object(settings)) = serde_json::to_value(every) {
            for (key, value) in settings {
                if let serde_json::Value::Object(nested) = value {
                    keys.extend(nested.keys().map(|inner| format!("{key}.{inner}")));
                }
                keys.push(key);
            }
        }
        keys
    }

    /// Extracts and validates.
    pub fn from_figment(figment: Figment) -> anyhow::Result<Config> {
        let config: Config = figment
            .extract()
            .map_err(|error| anyhow::anyhow!("invalid configuration: {error}"))?;
        config.validate()?;
        Ok(config)
    }

    /// The database pool's size and time-outs.
    pub fn pool_settings(&self) -> ferrid_store::PoolSettings {
        use std::time::Duration;
        ferrid_store::PoolSettings {
            max_connections: self.database_max_connections,
            connect_timeout: Duration::from_secs(self.database_connect_timeout),
            statement_timeout: Duration::from_secs(self.database_statement_timeout),
            pool_timeout: Duration::from_secs(self.database_pool_timeout),
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
        self.issuer_url()?;
        self.bind_address()?;
        ferrid_store::DatabaseUrl::parse(&self.database_url).map_err(|_| {
            anyhow::anyhow!(
                "invalid configuration: database_url must start with sqlite:// or postgres://"
            )
        })?;
        if !self.migrate_database_url.is_empty() {
            match (
                ferrid_store::DatabaseUrl::parse(&self.database_url),
                ferrid_store::DatabaseUrl::parse(&self.migrate_database_url),
            ) {
                (
                    Ok(ferrid_store::DatabaseUrl::Postgres(_)),
                    Ok(ferrid_store::DatabaseUrl::Postgres(_)),
                ) => {}
                _ => bail!(
                    "invalid configuration: migrate_database_url must be a postgres:// URL, \
                     used with a postgres:// database_url"
                ),
            }
        }
        if self.database_max_connections == 0 {
            bail!("invalid configuration: database_max_connections must be at least 1");
        }
        for (key, value) in [
            ("database_connect_timeout", self.database_connect_timeout),
            (
                "database_statement_timeout",
                self.database_statement_timeout,
            ),
            ("database_pool_timeout", self.database_pool_timeout),
        ] {
            if value == 0 {
                bail!("invalid configuration: {key} must be a positive number of seconds");
            }
        }
        for (key, value) in [
            ("access_token_ttl", self.access_token_ttl),
            ("id_token_ttl", self.id_token_ttl),
            ("authorization_code_ttl", self.authorization_code_ttl),
            ("session_ttl", self.session_ttl),
            ("login_ttl", self.login_ttl),
            ("refresh_idle_ttl", self.refresh_idle_ttl),
            ("refresh_absolute_ttl", self.refresh_absolute_ttl),
        ] {
            if value <= 0 {
                bail!("invalid configuration: {key} must be a positive number of seconds");
            }
        }
        if self.refresh_idle_ttl > self.refresh_absolute_ttl {
            bail!("invalid configuration: refresh_idle_ttl cannot exceed refresh_absolute_ttl");
        }
        if !(1..=settings::MAX_PUSHED_REQUEST_TTL).contains(&self.pushed_request_ttl) {
            bail!(
                "invalid configuration: pushed_request_ttl must be 1 to {} seconds",
                settings::MAX_PUSHED_REQUEST_TTL
            );
        }
        if !(60..=settings::MAX_DEVICE_CODE_TTL).contains(&self.device_code_ttl) {
            bail!(
                "invalid configuration: device_code_ttl must be 60 to {} seconds",
                settings::MAX_DEVICE_CODE_TTL
            );
        }
        if !(1..=60).contains(&self.device_poll_interval) {
            bail!("invalid configuration: device_poll_interval must be 1 to 60 seconds");
        }
        if !(1..=3600).contains(&self.client_assertion_max_lifetime) {
            bail!("invalid configuration: client_assertion_max_lifetime must be 1 to 3600 seconds");
        }
        if !(0..=3600).contains(&self.mfa.reauthentication_window) {
            bail!("invalid configuration: mfa.reauthentication_window must be 0 to 3600 seconds");
        }
        if !(0..=300).contains(&self.refresh_reuse_grace) {
            bail!("invalid configuration: refresh_reuse_grace must be 0 (off) to 300 seconds");
        }
        if self.authorization_code_ttl > settings::MAX_AUTHORIZATION_CODE_TTL {
            bail!(
                "invalid configuration: authorization_code_ttl must be at most {} seconds",
                settings::MAX_AUTHORIZATION_CODE_TTL
            );
        }
        ferrid_store::PasswordHasher::new(self.argon2)
            .map_err(|error| anyhow::anyhow!("invalid configuration: argon2: {error}"))?;
        self.key_policy()?;
        Ok(())
    }

    /// The enabled signing algorithms, validated.
    pub fn signing_algorithms(&self) -> anyhow::Result<Vec<SigningAlgorithm>> {
        let mut algorithms = Vec::new();
        for name in &self.signing_algorithms {
            let alg = SigningAlgorithm::parse(name).with_context(|| {
                format!(
                    "invalid configuration: signing_algorithms: unknown algorithm \"{name}\" (known: {})",
                    SigningAlgorithm::ALL.map(SigningAlgorithm::as_str).join(", ")
                )
            })?;
            if !algorithms.contains(&alg) {
                algorithms.push(alg);
            }
        }
        if !algorithms.contains(&SigningAlgorithm::Rs256) {
            bail!("invalid configuration: signing_algorithms must include RS256, the default for every client");
        }
        Ok(algorithms)
    }

    /// The key rotation schedule, validated.
    pub fn key_policy(&self) -> anyhow::Result<KeyPolicy> {
        let algorithms = self.signing_algorithms()?;
        let access_token_alg = self.access_token_algorithm()?;
        if !algorithms.contains(&access_token_alg) {
            bail!("invalid configuration: access_token_alg must be one of signing_algorithms");
        }
        if !(1..=METADATA_MAX_AGE).contains(&self.key_refresh_interval) {
            bail!("invalid configuration: key_refresh_interval must be 1 to {METADATA_MAX_AGE} seconds");
        }
        // A key must be in every cache before it signs: caches keep the
        // JWKS up to METADATA_MAX_AGE, and nodes see changes within the
        // refresh interval.
        let minimum_prepublish = METADATA_MAX_AGE + self.key_refresh_interval;
        if self.key_prepublish < minimum_prepublish {
            bail!("invalid configuration: key_prepublish must be at least {minimum_prepublish} seconds (JWKS cache lifetime + key_refresh_interval)");
        }
        if self.key_rotation_interval <= self.key_prepublish {
            bail!(
                "invalid configuration: key_rotation_interval must be longer than key_prepublish"
            );
        }
        Ok(KeyPolicy::new(
            algorithms,
            self.key_rotation_interval,
            self.key_prepublish,
            self.key_refresh_interval,
            self.access_token_ttl.max(self.id_token_ttl),
        ))
    }

    fn access_token_algorithm(&self) -> anyhow::Result<SigningAlgorithm> {
        SigningAlgorithm::parse(&self.access_token_alg).with_context(|| {
            format!(
                "invalid configuration: access_token_alg: unknown algorithm \"{}\"",
                self.access_token_alg
            )
        })
    }

    /// Settings that are valid but weaker than recommended, as messages
    /// to log once logging is set up.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if let Ok(issuer) = self.issuer_url() {
            if issuer.scheme() == "http" && !ferrid_service::clients::is_loopback(&issuer) {
                warnings.push(format!(
                    "issuer {} is plain http on a non-loopback host: cookies cannot be Secure; \
                     use https (OIDC Core §3.1.2.1), e.g. behind a TLS-terminating proxy",
                    self.issuer
                ));
            }
        }
        if self.argon2.memory_kib < Argon2Params::OWASP.memory_kib
            || self.argon2.iterations < Argon2Params::OWASP.iterations
        {
            warnings.push(
                "argon2 parameters are below the OWASP recommendation \
                 (memory_kib = 19456, iterations = 2)"
                    .to_owned(),
            );
        }
        warnings
    }

    /// The issuer, validated: absolute http(s), no query or fragment
    /// (OIDC Discovery §3).
    pub fn issuer_url(&self) -> anyhow::Result<Url> {
        let url = Url::parse(&self.issuer).with_context(|| {
            format!(
                "invalid configuration: issuer \"{}\" is not a URL",
                self.issuer
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            bail!("invalid configuration: issuer must be an http:// or https:// URL with a host");
        }
        if url.query().is_some() || url.fragment().is_some() {
            bail!("invalid configuration: issuer must not have a query or fragment");
        }
        // A path prefix (https://example.com/id) is served beneath; it
        // must be a plain path, as it is matched and emitted verbatim.
        let path = url.path().trim_end_matches('/');
        let plain = path.split('/').skip(1).all(|segment| {
            !segment.is_empty()
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
                && segment != "."
                && segment != ".."
        });
        if !path.is_empty() && !plain {
            bail!(
                "invalid configuration: the issuer's path {} must be plain segments such as /id or /auth/realm",
                url.path()
            );
        }
        Ok(url)
    }

    /// The TLS configuration, if ferrid serves HTTPS itself.
    pub fn tls_config(&self) -> anyhow::Result<Option<rustls::ServerConfig>> {
        if !self.tls.enabled() {
            return Ok(None);
        }
        ferrid_server::tls::server_config(
            Path::new(&self.tls.certificate),
            Path::new(&self.tls.private_key),
        )
        .map(Some)
        .map_err(|error| anyhow::anyhow!("invalid configuration: {error}"))
    }

    /// The plain-HTTP redirect listener address, if configured.
    pub fn redirect_address(&self) -> anyhow::Result<Option<SocketAddr>> {
        if self.tls.redirect_bind.is_empty() {
            return Ok(None);
        }
        if !self.tls.enabled() {
            bail!("invalid configuration: tls.redirect_bind needs tls.certificate");
        }
        self.tls.redirect_bind.parse().map(Some).with_context(|| {
            format!(
                "invalid configuration: tls.redirect_bind \"{}\" is not an address like 0.0.0.0:80",
                self.tls.redirect_bind
            )
        })
    }

    /// The admin API's own listen address, if it has one.
    pub fn admin_address(&self) -> anyhow::Result<Option<SocketAddr>> {
        if self.admin_bind.is_empty() {
            return Ok(None);
        }
        self.admin_bind.parse().map(Some).with_context(|| {
            format!(
                "invalid configuration: admin_bind \"{}\" is not an address like 10.0.0.5:9090",
                self.admin_bind
            )
        })
    }

    /// The listen address, validated.
    pub fn bind_address(&self) -> anyhow::Result<SocketAddr> {
        self.bind.parse().with_context(|| {
            format!(
                "invalid configuration: bind \"{}\" is not an address like 127.0.0.1:8080",
                self.bind
            )
        })
    }

    /// The protocol settings for the server.
    pub fn settings(&self) -> anyhow::Result<Settings> {
        let mut settings = Settings::new(&self.issuer_url()?);
        settings.access_token_ttl = self.access_token_ttl;
        settings.shutdown_timeout = self.shutdown_timeout;
        settings.access_log = self.access_log;
        settings.id_token_ttl = self.id_token_ttl;
        settings.authorization_code_ttl = self.authorization_code_ttl;
        settings.session_ttl = self.session_ttl;
        settings.login_ttl = self.login_ttl;
        settings.pushed_request_ttl = self.pushed_request_ttl;
        settings.require_pushed_authorization_requests = self.require_pushed_authorization_requests;
        settings.device_code_ttl = self.device_code_ttl;
        settings.device_poll_interval = self.device_poll_interval;
        settings.dpop_nonce_required = self.dpop_nonce_required;
        settings.dynamic_registration = self.dynamic_registration;
        settings.client_id_metadata_documents = self.client_id_metadata_documents;
        settings.software_statement_jwks = match &self.software_statement_jwks_file {
            Some(path) => {
                let jwks = std::fs::read_to_string(path).with_context(|| {
                    format!(
                        "cannot read software_statement_jwks_file {}",
                        path.display()
                    )
                })?;
                ferrid_tokens::assertion::check_public_jwks(&jwks).map_err(|why| {
                    anyhow::anyhow!("software_statement_jwks_file {}: {why}", path.display())
                })?;
                Some(jwks)
            }
            None => None,
        };
        settings.external_request_uris = self.external_request_uris;
        settings.access_token_alg = self.access_token_algorithm()?;
        settings.refresh_idle_ttl = self.refresh_idle_ttl;
        settings.refresh_absolute_ttl = self.refresh_absolute_ttl;
        settings.refresh_reuse_grace = self.refresh_reuse_grace;
        settings.client_assertion_max_lifetime = self.client_assertion_max_lifetime;
        settings.outbound_allow_private_networks = self.outbound_allow_private_networks;
        let admin_address = self.admin_address()?;
        settings.admin_on_own_listener = admin_address.is_some();
        settings.console_base = match (admin_address, self.admin_url.as_str()) {
            (None, "") => settings.issuer.clone(),
            (Some(address), "") => format!("http://{address}"),
            (_, url) => {
                let parsed = Url::parse(url).ok().filter(|url| {
                    matches!(url.scheme(), "http" | "https")
                        && url.query().is_none()
                        && url.fragment().is_none()
                        && url.path() == "/"
                });
                if parsed.is_none() {
                    bail!("invalid configuration: admin_url \"{url}\" must be an http(s) origin like https://admin.internal:9090");
                }
                url.trim_end_matches('/').to_owned()
            }
        };
        for (name, value) in [
            ("admin_session_ttl", self.admin_session_ttl),
            ("admin_idle_timeout", self.admin_idle_timeout),
            (
                "admin_reauthentication_window",
                self.admin_reauthentication_window,
            ),
        ] {
            if value <= 0 {
                bail!("invalid configuration: {name} must be a positive number of seconds");
            }
        }
        settings.admin_session_ttl = self.admin_session_ttl;
        settings.admin_idle_timeout = self.admin_idle_timeout;
        settings.admin_reauthentication_window = self.admin_reauthentication_window;
        self.lockout
            .validate()
            .map_err(|error| anyhow::anyhow!("invalid configuration: {error}"))?;
        if self.passwords.min_length < ferrid_service::accounts::MIN_PASSWORD_LENGTH {
            bail!(
                "invalid configuration: passwords.min_length must be at least {}",
                ferrid_service::accounts::MIN_PASSWORD_LENGTH
            );
        }
        use ferrid_server::security::MAX_AUDIT_RETENTION_DAYS;
        if !(0..=MAX_AUDIT_RETENTION_DAYS).contains(&self.audit.retention_days) {
            bail!("invalid configuration: audit.retention_days must be between 0 (keep for ever) and {MAX_AUDIT_RETENTION_DAYS}");
        }
        if self.tls.certificate.is_empty() != self.tls.private_key.is_empty() {
            bail!("invalid configuration: tls.certificate and tls.private_key go together");
        }
        if let Err(problem) =
            ferrid_server::passkeys::relying_party(&settings.issuer, &self.passkeys)
        {
            bail!("invalid configuration: {problem}");
        }
        if self.tls.enabled() && settings.issuer.starts_with("http://") {
            bail!("invalid configuration: with tls.certificate set, the issuer must be https://");
        }
        settings.security = SecurityPolicy {
            lockout: self.lockout.clone(),
            rate_limits: self.rate_limits.clone(),
            mfa: self.mfa.clone(),
            passkeys: self.passkeys.clone(),
            passwords: self.passwords.clone(),
            email: self.email.clone(),
            audit: self.audit.clone(),
            hsts_max_age: self.tls.enabled().then_some(self.tls.hsts_max_age),
        };
        Ok(settings)
    }
}

// figment's Jail closures must return figment::Error, which is large; that
// is the library's signature, not ours to shrink.
#[cfg(test)]
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn defaults_are_a_working_local_provider() {
        Jail::expect_with(|_jail| {
            let config = Config::load(None).map_err(|error| error.to_string())?;
            assert_eq!(config.issuer, "http://127.0.0.1:8080");
            assert_eq!(config.database_url, "sqlite://data/ferrid.db");
            assert_eq!(config.master_key_file, PathBuf::from("keys/master.key"));
            assert_eq!(config.argon2, Argon2Params::OWASP);
            Ok(())
        });
    }

    #[test]
    fn the_example_file_is_valid_and_matches_the_defaults() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "ferrid.toml",
                include_str!("../../../deploy/ferrid.toml.example"),
            )?;
            let config =
                Config::load(Some(Path::new("ferrid.toml"))).map_err(|error| error.to_string())?;
            config.settings().map_err(|error| error.to_string())?;
            assert_eq!(config.lockout, LockoutPolicy::default());
            assert_eq!(config.rate_limits, RateLimits::default());
            assert_eq!(config.email, EmailSettings::default());
            assert_eq!(config.tls, TlsSettings::default());
            Ok(())
        });
    }

    #[test]
    fn security_settings_are_checked() {
        let mut config = Config::default();
        config.passwords.min_length = 6;
        assert!(config
            .settings()
            .unwrap_err()
            .to_string()
            .contains("passwords.min_length"));
        let mut config = Config::default();
        config.lockout.lock_after = 1;
        assert!(config
            .settings()
            .unwrap_err()
            .to_string()
            .contains("lockout"));
        let mut config = Config::default();
        for days in [-1, i64::MAX] {
            config.audit.retention_days = days;
            assert!(config
                .settings()
                .unwrap_err()
                .to_string()
                .contains("audit.retention_days"));
        }
        let mut config = Config::default();
        config.tls.certificate = "cert.pem".into();
        assert!(config
            .settings()
            .unwrap_err()
            .to_string()
            .contains("tls.private_key"));
        config.tls.private_key = "key.pem".into();
        assert!(config
            .settings()
            .unwrap_err()
            .to_string()
            .contains("https://"));
        let mut config = Config::default();
        config.tls.redirect_bind = "0.0.0.0:80".into();
        assert!(config
            .redirect_address()
            .unwrap_err()
            .to_string()
            .contains("tls.certificate"));
    }

    #[test]
    fn environment_overrides_file() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "ferrid.toml",
                "issuer = \"https://file.example\"\naccess_token_ttl = 60\n",
            )?;
            jail.set_env("FERRID_ISSUER", "https://env.example");
            jail.set_env("FERRID_ARGON2__MEMORY_KIB", "32768");
            jail.set_env("FERRID_TEST_POSTGRES_URL", "postgres://ignored");
            let config =
                Config::load(Some(Path::new("ferrid.toml"))).map_err(|error| error.to_string())?;
            assert_eq!(config.issuer, "https://env.example");
            assert_eq!(config.access_token_ttl, 60);
            assert_eq!(config.argon2.memory_kib, 32768);
            Ok(())
        });
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases = [
            ("FERRID_ISSUER", "not a url", "issuer"),
            ("FERRID_ISSUER", "https://x.example/?q=1", "issuer"),
            ("FERRID_ISSUER", "https://x.example/a%20b", "issuer"),
            ("FERRID_BIND", "localhost", "bind"),
            ("FERRID_DATABASE_URL", "mysql://x", "database_url"),
            ("FERRID_DATABASE_POOL_TIMEOUT", "0", "database_pool_timeout"),
            (
                "FERRID_DATABASE_STATEMENT_TIMEOUT",
                "-1",
                "database_statement_timeout",
            ),
            ("FERRID_ACCESS_TOKEN_TTL", "soon", "access_token_ttl"),
            (
                "FERRID_AUTHORIZATION_CODE_TTL",
                "600",
                "authorization_code_ttl",
            ),
            ("FERRID_ID_TOKEN_TTL", "0", "id_token_ttl"),
            ("FERRID_ACCESS_TOKEN_ALG", "HS256", "access_token_alg"),
            ("FERRID_KEY_PREPUBLISH", "60", "key_prepublish"),
            (
                "FERRID_KEY_ROTATION_INTERVAL",
                "86400",
                "key_rotation_interval",
            ),
            ("FERRID_KEY_REFRESH_INTERVAL", "0", "key_refresh_interval"),
        ];
        for (variable, value, key) in cases {
            Jail::expect_with(|jail| {
                jail.set_env(variable, value);
                let error = Config::load(None).unwrap_err().to_string();
                assert!(
                    error.to_ascii_lowercase().contains(key),
                    "{variable}={value}: {error}"
                );
                Ok(())
            });
        }
        Jail::expect_with(|jail| {
            jail.create_file("ferrid.toml", "isuer = \"typo\"\n")?;
            let error = Config::load(Some(Path::new("ferrid.toml")))
                .unwrap_err()
                .to_string();
            assert!(error.contains("isuer"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn unknown_environment_variables_warn_instead_of_stopping() {
        Jail::expect_with(|jail| {
            // What Kubernetes injects for a Service named `ferrid`.
            jail.set_env("FERRID_PORT", "tcp://10.0.0.7:8080");
            jail.set_env("FERRID_PORT_8080_TCP_ADDR", "10.0.0.7");
            jail.set_env("FERRID_SERVICE_HOST", "10.0.0.7");
            jail.set_env("FERRID_SERVICE_PORT", "8080");
            jail.set_env("FERRID_ISUER", "https://typo.example");
            jail.set_env("FERRID_ARGON2__MEMORY_KIB", "32768");
            let config = Config::load(None).map_err(|error| error.to_string())?;
            assert_eq!(config.argon2.memory_kib, 32768);
            let warnings = Config::environment_warnings();
            assert_eq!(warnings.len(), 1, "{warnings:?}");
            assert!(warnings[0].contains("FERRID_ISUER"));
            assert!(warnings[0].contains("did you mean FERRID_ISSUER?"));
            Ok(())
        });
    }

    /// docs/configuration.md states every default; this keeps it honest.
    #[test]
    fn documented_defaults_match_the_code() {
        let doc = include_str!("../../../docs/configuration.md");
        let defaults = serde_json::to_value(Config::default()).unwrap();
        let mut checked = 0;
        let mut check = |key: String, value: &serde_json::Value| {
            let shown = match value {
                serde_json::Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            let variable = crate::environment::variable_of(&key);
            let row = format!("| `{key}` | `{variable}` | `{shown}` |");
            assert!(
                doc.contains(&row),
                "docs/configuration.md lacks the row {row}"
            );
            checked += 1;
        };
        for (key, value) in defaults.as_object().unwrap() {
            match value {
                serde_json::Value::Object(nested) => {
                    for (inner, value) in nested {
                        check(format!("{key}.{inner}"), value);
                    }
                }
                value => check(key.clone(), value),
            }
        }
        assert!(checked >= 15);
    }
}
