//! Account-security policy: lockout, rate limits, MFA, passwords, e-mail
//! and TLS settings. These types are also the `[lockout]`, `[rate_limits]`,
//! `[mfa]`, `[passwords]`, `[email]` and `[tls]` tables of the
//! configuration file, with the defaults documented in
//! `docs/configuration.md`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Per-account brute-force protection. Failures are counted per account
/// (and per login name that matches no account, identically).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockoutPolicy {
    /// Consecutive failures after which each further attempt must wait
    /// (1 s, then doubling, up to `max_delay`).
    pub delay_after: i64,
    /// Consecutive failures that lock the account for `lock_seconds`.
    pub lock_after: i64,
    /// Longest wait between attempts before the lock, seconds.
    pub max_delay: i64,
    /// How long a lock lasts, seconds.
    pub lock_seconds: i64,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            delay_after: 5,
            lock_after: 10,
            max_delay: 60,
            lock_seconds: 900,
        }
    }
}

impl LockoutPolicy {
    /// How long the account must wait after its `failures`-th consecutive
    /// failure, seconds; `None` if it need not.
    pub fn wait_after(&self, failures: i64) -> Option<i64> {
        if failures >= self.lock_after {
            Some(self.lock_seconds)
        } else if failures >= self.delay_after {
            let doublings = u32::try_from(failures - self.delay_after).unwrap_or(u32::MAX);
            Some(
                2_i64
                    .checked_pow(doublings)
                    .unwrap_or(i64::MAX)
                    .min(self.max_delay),
            )
        } else {
            None
        }
    }

    /// Checks the values.
    pub fn validate(&self) -> Result<(), String> {
        if self.delay_after < 1 || self.lock_after < self.delay_after {
            return Err("lockout: need 1 <= delay_after <= lock_after".into());
        }
        if self.max_delay < 1 || self.lock_seconds < 1 {
            return Err("lockout: max_delay and lock_seconds must be positive".into());
        }
        Ok(())
    }
}

/// Request limits, per node (0 turns a limit off); see `rate_limit` for
/// what each counts and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimits {
    /// Failed attempts per address per hour (wrong passwords or codes,
    /// failed client authentication, invalid codes or tokens) before the
    /// address's requests wait.
    pub failures_per_hour: u32,
    /// Requests per address per minute to the pages and forms a browser
    /// uses.
    pub browser_requests_per_minute: u32,
    /// Requests per authenticated client per minute at the token,
    /// introspection and revocation endpoints, for clients without their
    /// own limit.
    pub client_requests_per_minute: u32,
    /// Proxies (addresses or CIDR blocks) whose `X-Forwarded-For` is
    /// believed; from anyone else the peer address counts.
    pub trusted_proxies: Vec<String>,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            failures_per_hour: 100,
            browser_requests_per_minute: 30_000,
            client_requests_per_minute: 0,
            trusted_proxies: Vec::new(),
        }
    }
}

/// When a second factor is required, and how recent a login must be to
/// change one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MfaPolicy {
    /// Every user must enrol and use a second factor.
    pub required_for_all: bool,
    /// Seconds after a login during which the user may set up a second
    /// factor or get new recovery codes without typing the password again
    /// (ASVS V3.7.1: re-authenticate before changing authentication
    /// factors; a stolen session alone must not be enough).
    pub reauthentication_window: i64,
}

impl Default for MfaPolicy {
    fn default() -> Self {
        MfaPolicy {
            required_for_all: false,
            reauthentication_window: 300,
        }
    }
}

/// Passkeys (WebAuthn): the relying party they are bound to, and who
/// must use them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasskeyPolicy {
    /// The WebAuthn relying party id passkeys are bound to: a host name
    /// that is the issuer's host or a parent domain of it. `None` uses the
    /// issuer's host. Changing it later makes every passkey unusable.
    pub rp_id: Option<String>,
    /// Origins ceremonies may come from (`https://id.example.com`), for
    /// when users reach ferrid under more than the issuer's own; empty
    /// means the issuer's origin only.
    pub origins: Vec<String>,
    /// Administrators must sign in to the console with a passkey.
    pub required_for_admins: bool,
}

/// Password rules (NIST SP 800-63B §5.1.1.2) and hashing capacity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordPolicy {
    /// Shortest accepted new password, characters (at least 8).
    pub min_length: usize,
    /// Threads hashing passwords (Argon2 is CPU-bound, so more threads than
    /// cores only add waiting); 0 means one per core.
    pub hashing_threads: usize,
    /// Password checks waiting for a hashing thread before new ones are
    /// refused with 503.
    pub hashing_queue: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_length: ferrid_service::accounts::MIN_PASSWORD_LENGTH,
            hashing_threads: 0,
            hashing_queue: 64,
        }
    }
}

/// The audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditPolicy {
    /// Days audit events are kept before the cleanup deletes them; 0 keeps
    /// them for ever.
    pub retention_days: i64,
}

/// Default [`AuditPolicy::retention_days`]: a year, enough to answer "who
/// signed in as me last spring" without the table growing for ever.
pub const DEFAULT_AUDIT_RETENTION_DAYS: i64 = 365;

/// Longest [`AuditPolicy::retention_days`] accepted: a century.
pub const MAX_AUDIT_RETENTION_DAYS: i64 = 36_500;

impl Default for AuditPolicy {
    fn default() -> Self {
        AuditPolicy {
            retention_days: DEFAULT_AUDIT_RETENTION_DAYS,
        }
    }
}

/// Outgoing e-mail.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailSettings {
    /// The `From` address.
    pub from: String,
    /// `smtps://user:password@host:465` or
    /// `smtp://host:587?tls=required`; empty: write messages to
    /// `outbox_dir` instead (development).
    pub smtp_url: String,
    /// Where messages go when no SMTP server is configured.
    pub outbox_dir: PathBuf,
    /// Lifetime of a password-reset link, seconds.
    pub reset_ttl: i64,
    /// Lifetime of an address-verification link, seconds.
    pub verify_ttl: i64,
}

impl std::fmt::Debug for EmailSettings {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The SMTP URL may hold a password.
        formatter
            .debug_struct("EmailSettings")
            .field("from", &self.from)
            .field("smtp", &!self.smtp_url.is_empty())
            .field("outbox_dir", &self.outbox_dir)
            .finish_non_exhaustive()
    }
}

impl Default for EmailSettings {
    fn default() -> Self {
        EmailSettings {
            from: "ferrid <noreply@localhost>".into(),
            smtp_url: String::new(),
            outbox_dir: "data/outbox".into(),
            reset_ttl: 30 * 60,
            verify_ttl: 24 * 3600,
        }
    }
}

/// Serving HTTPS directly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSettings {
    /// PEM certificate chain; empty: plain HTTP (e.g. behind a proxy
    /// that terminates TLS).
    pub certificate: String,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key: String,
    /// Also listen here with plain HTTP that only redirects to HTTPS;
    /// empty: off.
    pub redirect_bind: String,
    /// `Strict-Transport-Security` max-age, seconds, sent over TLS.
    pub hsts_max_age: i64,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            certificate: String::new(),
            private_key: String::new(),
            redirect_bind: String::new(),
            hsts_max_age: 365 * 24 * 3600,
        }
    }
}

impl TlsSettings {
    /// Whether ferrid itself serves HTTPS.
    pub fn enabled(&self) -> bool {
        !self.certificate.is_empty()
    }
}

/// All of the above, as the server uses them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityPolicy {
    /// Brute-force protection.
    pub lockout: LockoutPolicy,
    /// Per-IP limits.
    pub rate_limits: RateLimits,
    /// Second factors.
    pub mfa: MfaPolicy,
    /// Passkeys.
    pub passkeys: PasskeyPolicy,
    /// Password rules.
    pub passwords: PasswordPolicy,
    /// E-mail.
    pub email: EmailSettings,
    /// Audit log.
    pub audit: AuditPolicy,
    /// Whether the server speaks TLS itself (HSTS is sent then).
    pub hsts_max_age: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smtp_password_stays_out_of_debug_output() {
        let settings = EmailSettings {
            smtp_url: "smtps://user:hunter2@smtp.example.com".into(),
            ..EmailSettings::default()
        };
        assert!(!format!("{settings:?}").contains("hunter2"));
    }

    #[test]
    fn waits_grow_then_lock() {
        let policy = LockoutPolicy::default();
        let waits: Vec<_> = (1..=11).map(|n| policy.wait_after(n)).collect();
        assert_eq!(
            waits,
            vec![
                None,
                None,
                None,
                None,
                Some(1),
                Some(2),
                Some(4),
                Some(8),
                Some(16),
                Some(900),
                Some(900)
            ]
        );
        let capped = LockoutPolicy {
            max_delay: 3,
            ..LockoutPolicy::default()
        };
        assert_eq!(capped.wait_after(8), Some(3));
        assert_eq!(LockoutPolicy::default().wait_after(i64::MAX), Some(900));
        assert!(LockoutPolicy {
            lock_after: 2,
            ..LockoutPolicy::default()
        }
        .validate()
        .is_err());
    }
}
