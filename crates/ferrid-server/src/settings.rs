//! Settings the protocol code needs, already validated by the binary's
//! configuration loader.

use ferrid_tokens::SigningAlgorithm;
use url::Url;

/// Default access-token lifetime: 5 minutes.
pub const DEFAULT_ACCESS_TOKEN_TTL: i64 = 300;
/// Default ID-token lifetime: 5 minutes.
pub const DEFAULT_ID_TOKEN_TTL: i64 = 300;
/// Default authorization-code lifetime: 60 seconds, the upper bound too.
pub const DEFAULT_AUTHORIZATION_CODE_TTL: i64 = 60;
/// The longest an authorization code may live (RFC 6749 §4.1.2 recommends
/// at most 10 minutes; RFC 9700 practice is much shorter).
pub const MAX_AUTHORIZATION_CODE_TTL: i64 = 60;
/// Default browser-session lifetime: 12 hours.
pub const DEFAULT_SESSION_TTL: i64 = 12 * 3600;
/// How long a user has to finish logging in: 15 minutes.
pub const DEFAULT_LOGIN_TTL: i64 = 15 * 60;
/// How long a pushed request's `request_uri` may be used: a minute, the
/// time for the client to send the browser (RFC 9126 §2.2).
pub const DEFAULT_PUSHED_REQUEST_TTL: i64 = 60;
/// The longest a `request_uri` may be made to live: it is a bearer
/// reference to a request, so it should not outlive a login.
pub const MAX_PUSHED_REQUEST_TTL: i64 = 600;
/// How long a device has for its user to approve it (RFC 8628): ten
/// minutes, time to find a phone and sign in.
pub const DEFAULT_DEVICE_CODE_TTL: i64 = 600;
/// The longest a device code may live: its user code is short, so its
/// life must be too.
pub const MAX_DEVICE_CODE_TTL: i64 = 1800;
/// Seconds a device waits between polls (RFC 8628 §3.2 suggests 5).
pub const DEFAULT_DEVICE_POLL_INTERVAL: i64 = 5;
/// Default refresh-token idle lifetime: 14 days without use.
pub const DEFAULT_REFRESH_IDLE_TTL: i64 = 14 * 24 * 3600;
/// Default refresh-token absolute lifetime: 90 days after the login.
pub const DEFAULT_REFRESH_ABSOLUTE_TTL: i64 = 90 * 24 * 3600;
/// Default longest lifetime of a client assertion (`exp` − `iat`): 5 minutes.
pub const DEFAULT_CLIENT_ASSERTION_MAX_LIFETIME: i64 = 300;
/// Default absolute lifetime of an admin console session, seconds.
pub const DEFAULT_ADMIN_SESSION_TTL: i64 = 8 * 3600;
/// Default idle timeout of an admin console session, seconds.
pub const DEFAULT_ADMIN_IDLE_TIMEOUT: i64 = 15 * 60;
/// Default time after the admin last confirmed it was them during which
/// dangerous console actions need no password or code again, seconds.
pub const DEFAULT_ADMIN_REAUTHENTICATION_WINDOW: i64 = 5 * 60;
pub use ferrid_tokens::lifecycle::METADATA_MAX_AGE;

/// Whether clients may register themselves (RFC 7591).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DynamicRegistration {
    /// No: only administrators register clients (the default).
    #[default]
    Off,
    /// Anyone may register a client.
    Open,
    /// Only with an initial access token an administrator issued.
    Token,
}

/// Which requests get an access log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessLog {
    /// Every request.
    All,
    /// Requests answered with a status of 400 or more (the default: a
    /// busy node would otherwise write tens of gigabytes a day).
    #[default]
    Errors,
    /// None.
    Off,
}

impl AccessLog {
    /// Whether a request answered with `status` gets a line.
    pub fn wants(self, status: u16) -> bool {
        match self {
            AccessLog::All => true,
            AccessLog::Errors => status >= 400,
            AccessLog::Off => false,
        }
    }
}

/// Default seconds a just-rotated refresh token works once more: a client
/// whose response was lost (a dropped connection, a node that crashed
/// after committing the rotation) retries and gets the same successor,
/// instead of losing its grant as "reuse".
pub const DEFAULT_REFRESH_REUSE_GRACE: i64 = 30;

/// Default seconds in-flight requests get to finish at shutdown.
pub const DEFAULT_SHUTDOWN_TIMEOUT: u64 = 10;

/// Protocol settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The issuer identifier, exactly as published (no trailing slash).
    pub issuer: String,
    /// Access-token lifetime, seconds.
    pub access_token_ttl: i64,
    /// ID-token lifetime, seconds.
    pub id_token_ttl: i64,
    /// Authorization-code lifetime, seconds.
    pub authorization_code_ttl: i64,
    /// Browser-session lifetime, seconds.
    pub session_ttl: i64,
    /// Time allowed to complete a login, seconds.
    pub login_ttl: i64,
    /// Lifetime of a pushed request's `request_uri`, seconds.
    pub pushed_request_ttl: i64,
    /// Whether every client must push its authorization requests first.
    pub require_pushed_authorization_requests: bool,
    /// Lifetime of a device authorization request, seconds (RFC 8628).
    pub device_code_ttl: i64,
    /// Seconds a device must wait between polls, at first.
    pub device_poll_interval: i64,
    /// Whether DPoP proofs must carry a nonce this server issued
    /// (RFC 9449 §8).
    pub dpop_nonce_required: bool,
    /// Whether and how clients may register themselves (RFC 7591).
    pub dynamic_registration: DynamicRegistration,
    /// The keys software statements must be signed with (a JWKS); none:
    /// software statements are refused.
    pub software_statement_jwks: Option<String>,
    /// Whether a client id may be the https URL of the client's metadata
    /// document, fetched when first used.
    pub client_id_metadata_documents: bool,
    /// Whether a `request_uri` may name a client's own URL to fetch a
    /// request object from (RFC 9101 §5.2).
    pub external_request_uris: bool,
    /// Algorithm of access tokens (server-wide).
    pub access_token_alg: SigningAlgorithm,
    /// Refresh-token idle lifetime, seconds (per-client overridable).
    pub refresh_idle_ttl: i64,
    /// Refresh-token absolute lifetime, seconds (per-client overridable).
    pub refresh_absolute_ttl: i64,
    /// Seconds after a rotation during which the previous refresh token
    /// still works once more (for clients that lose a response); 0 = off.
    pub refresh_reuse_grace: i64,
    /// Longest a client assertion may be valid: `exp` at most this many
    /// seconds after `iat`.
    pub client_assertion_max_lifetime: i64,
    /// Whether ferrid may connect to private, loopback and link-local
    /// addresses that clients registered (development and tests only).
    pub outbound_allow_private_networks: bool,
    /// Whether the admin API is served on its own listener (`admin_bind`)
    /// instead of under the main one.
    pub admin_on_own_listener: bool,
    /// The issuer's path (`/id` for `https://example.com/id`), empty at
    /// the root of the host: the main listener serves under it.
    pub base_path: String,
    /// Where the admin console is reached (no trailing slash): the issuer,
    /// or the admin listener's address when `admin_bind` is set.
    pub console_base: String,
    /// Absolute lifetime of an admin console session, seconds.
    pub admin_session_ttl: i64,
    /// An admin console session idle this long ends, seconds.
    pub admin_idle_timeout: i64,
    /// How long after confirming it was them an admin may do dangerous
    /// things without confirming again, seconds.
    pub admin_reauthentication_window: i64,
    /// Lockout, rate limits, MFA, passwords, e-mail.
    pub security: crate::security::SecurityPolicy,
    /// Seconds in-flight requests may take to finish once the server is
    /// told to stop.
    pub shutdown_timeout: u64,
    /// Which requests get an access log line.
    pub access_log: AccessLog,
}

impl Settings {
    /// Settings with default lifetimes for `issuer`.
    pub fn new(issuer: &Url) -> Settings {
        Settings {
            issuer: issuer.as_str().trim_end_matches('/').to_owned(),
            access_token_ttl: DEFAULT_ACCESS_TOKEN_TTL,
            id_token_ttl: DEFAULT_ID_TOKEN_TTL,
            authorization_code_ttl: DEFAULT_AUTHORIZATION_CODE_TTL,
            session_ttl: DEFAULT_SESSION_TTL,
            login_ttl: DEFAULT_LOGIN_TTL,
            pushed_request_ttl: DEFAULT_PUSHED_REQUEST_TTL,
            require_pushed_authorization_requests: false,
            device_code_ttl: DEFAULT_DEVICE_CODE_TTL,
            device_poll_interval: DEFAULT_DEVICE_POLL_INTERVAL,
            dpop_nonce_required: false,
            dynamic_registration: DynamicRegistration::Off,
            software_statement_jwks: None,
            client_id_metadata_documents: false,
            external_request_uris: false,
            access_token_alg: SigningAlgorithm::Rs256,
            refresh_idle_ttl: DEFAULT_REFRESH_IDLE_TTL,
            refresh_absolute_ttl: DEFAULT_REFRESH_ABSOLUTE_TTL,
            refresh_reuse_grace: DEFAULT_REFRESH_REUSE_GRACE,
            client_assertion_max_lifetime: DEFAULT_CLIENT_ASSERTION_MAX_LIFETIME,
            outbound_allow_private_networks: false,
            admin_on_own_listener: false,
            console_base: issuer.as_str().trim_end_matches('/').to_owned(),
            base_path: issuer.path().trim_end_matches('/').to_owned(),
            admin_session_ttl: DEFAULT_ADMIN_SESSION_TTL,
            admin_idle_timeout: DEFAULT_ADMIN_IDLE_TIMEOUT,
            admin_reauthentication_window: DEFAULT_ADMIN_REAUTHENTICATION_WINDOW,
            security: crate::security::SecurityPolicy::default(),
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            access_log: AccessLog::default(),
        }
    }

    /// The absolute URL of an endpoint path.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// The longest lifetime of any token ferrid signs, seconds.
    pub fn longest_token_ttl(&self) -> i64 {
        self.access_token_ttl.max(self.id_token_ttl)
    }

    /// Whether the issuer is served over TLS, so cookies must be `Secure`.
    pub fn is_https(&self) -> bool {
        self.issuer.starts_with("https://")
    }
}

#[cfg(test)]
mod tests {
    use ferrid_tokens::lifecycle::{
        KeyPolicy, CLOCK_SKEW, DEFAULT_PREPUBLISH, DEFAULT_REFRESH_INTERVAL,
        DEFAULT_ROTATION_INTERVAL,
    };
    use ferrid_tokens::SigningAlgorithm;

    use super::*;

    /// docs/keys.md states the key defaults; this keeps it honest.
    #[test]
    fn documented_key_defaults_match_the_code() {
        let doc = include_str!("../../../docs/keys.md");
        for row in [
            format!("| `key_rotation_interval` | {DEFAULT_ROTATION_INTERVAL} s (30 days) |"),
            format!("| `key_prepublish` | {DEFAULT_PREPUBLISH} s (1 day) |"),
            format!("| `key_refresh_interval` | {DEFAULT_REFRESH_INTERVAL} s |"),
            format!("| (fixed) | {CLOCK_SKEW} s |"),
            format!("| (fixed, `Cache-Control: public, max-age`) | {METADATA_MAX_AGE} s |"),
        ] {
            assert!(doc.contains(&row), "docs/keys.md lacks {row}");
        }
        let policy = KeyPolicy::new(
            vec![SigningAlgorithm::Rs256],
            DEFAULT_ROTATION_INTERVAL,
            DEFAULT_PREPUBLISH,
            DEFAULT_REFRESH_INTERVAL,
            DEFAULT_ACCESS_TOKEN_TTL.max(DEFAULT_ID_TOKEN_TTL),
        );
        assert!(doc.contains(&format!("= {} s by default", policy.retention)));
        assert_eq!(DEFAULT_ROTATION_INTERVAL, 30 * 86_400);
        assert_eq!(DEFAULT_PREPUBLISH, 86_400);
    }
}
