//! Per-account brute-force protection. Consecutive credential failures
//! (wrong password, wrong second factor) are counted in the database, per
//! account, and per login name when no account has it, so that an unknown
//! name is throttled and worded exactly like a real one: neither the
//! message nor the timing tells whether an account exists. While a wait
//! or lock is in force, attempts are refused before any password is
//! checked, and refusals do not count as failures.

use ferrid_store::secret::digest;
use ferrid_store::{Store, StoreResult, User};

use crate::security::LockoutPolicy;

/// A refusal because of earlier failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// Attempts are refused until then, Unix seconds.
    pub until: i64,
    /// Whether it is the lock (not one of the growing waits before it).
    pub locked: bool,
}

impl Refusal {
    /// A few words for the audit log.
    pub fn describe(&self) -> &'static str {
        if self.locked {
            "account locked"
        } else {
            "throttled after failures"
        }
    }

    /// What the user is told; it names the setting that applied, so an
    /// operator can explain it.
    pub fn message(&self, now: i64, policy: &LockoutPolicy) -> String {
        let seconds = (self.until - now).max(1);
        if self.locked {
            let minutes = (seconds + 59) / 60;
            format!(
                "This account is temporarily locked after {} failed sign-in attempts (lockout.lock_after). Try again in {minutes} minute{}.",
                policy.lock_after,
                if minutes == 1 { "" } else { "s" }
            )
        } else {
            format!(
                "Too many failed sign-in attempts for this account (lockout.delay_after = {}). Wait {seconds} second{} before trying again.",
                policy.delay_after,
                if seconds == 1 { "" } else { "s" }
            )
        }
    }
}

/// The counter a login attempt is charged to.
pub fn subject(user: Option<&User>, login: &str) -> String {
    match user {
        Some(user) => user_subject(&user.id),
        None => format!("login:{}", digest(&login.trim().to_lowercase())),
    }
}

/// The counter of a known user (second factor, password change).
pub fn user_subject(user_id: &str) -> String {
    format!("user:{user_id}")
}

/// The refusal in force for `subject`, if any. Blocking.
pub fn refusal(
    store: &Store,
    policy: &LockoutPolicy,
    subject: &str,
    now: i64,
) -> StoreResult<Option<Refusal>> {
    Ok(store.login_throttle(subject)?.and_then(|throttle| {
        throttle
            .locked_until
            .filter(|until| *until > now)
            .map(|until| Refusal {
                until,
                locked: throttle.failures >= policy.lock_after,
            })
    }))
}

/// Counts a credential failure; returns the wait it triggers, if any.
/// Blocking.
pub fn record_failure(
    store: &Store,
    policy: &LockoutPolicy,
    subject: &str,
    now: i64,
) -> StoreResult<Option<Refusal>> {
    let throttle =
        store.record_login_failure(subject, now, |failures| policy.wait_after(failures))?;
    Ok(throttle
        .locked_until
        .filter(|until| *until > now)
        .map(|until| Refusal {
            until,
            locked: throttle.failures >= policy.lock_after,
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_limit() {
        let policy = LockoutPolicy::default();
        let wait = Refusal {
            until: 104,
            locked: false,
        };
        assert!(wait.message(100, &policy).contains("Wait 4 seconds"));
        assert!(wait.message(100, &policy).contains("lockout.delay_after"));
        let lock = Refusal {
            until: 1000,
            locked: true,
        };
        assert!(lock.message(100, &policy).contains("15 minutes"));
        assert!(lock.message(100, &policy).contains("lockout.lock_after"));
    }

    #[test]
    fn unknown_names_are_counted_by_their_normalised_form() {
        assert_eq!(subject(None, " Bob "), subject(None, "bob"));
        assert!(subject(None, "bob").starts_with("login:"));
        assert!(!subject(None, "bob").contains("bob"));
    }
}
