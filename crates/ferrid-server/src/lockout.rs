//! Per-account brute-force protection. Consecutive credential failures
//! are counted in the database: wrong passwords per login name (whether or
//! not an account has it, so an unknown name is throttled and worded
//! exactly like a real one: neither the message nor the timing tells
//! whether an account exists), wrong second-factor codes per account. While a wait
//! or lock is in force, attempts are refused before any password is
//! checked, and refusals do not count as failures.

use ferrid_store::{LoginThrottle, PasswordHasher, Store, StoreResult, User};

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

pub use ferrid_service::throttles::{login_subject, mfa_subject, normalize_login, subjects_of};

/// The refusal in force for `subject`, if any. Blocking.
pub fn refusal(
    store: &Store,
    policy: &LockoutPolicy,
    subject: &str,
    now: i64,
) -> StoreResult<Option<Refusal>> {
    Ok(standing(store, policy, subject, now)?.1)
}

/// The failures counted so far for `subject`, and the refusal in force,
/// if any. Blocking.
pub fn standing(
    store: &Store,
    policy: &LockoutPolicy,
    subject: &str,
    now: i64,
) -> StoreResult<(i64, Option<Refusal>)> {
    Ok(store
        .login_throttle(subject)?
        .map_or((0, None), |throttle| {
            (throttle.failures, refusal_of(&throttle, policy, now))
        }))
}

/// The refusal a counter imposes at `now`, if any.
fn refusal_of(throttle: &LoginThrottle, policy: &LockoutPolicy, now: i64) -> Option<Refusal> {
    throttle
        .locked_until
        .filter(|until| *until > now)
        .map(|until| Refusal {
            until,
            locked: throttle.failures >= policy.lock_after,
        })
}

/// Whether a second-factor code may be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeAttempt {
    /// No: a wait or lock is in force (not counted).
    Refused(Refusal),
    /// Yes; it was counted in advance (a success clears the count), with
    /// the wait or lock that starts if it turns out wrong.
    Counted(Option<Refusal>),
}

/// Counts a second-factor attempt before it is checked. Codes are cheap to
/// check, so many could pass a plain refusal check at once; counting first
/// and refusing those past `lock_after` means at most `lock_after` codes
/// are tried before the lock. When a lock has ended, exactly one attempt
/// is checked, claimed by a conditional UPDATE that locks again at once
/// (regression: the right code used to be refused and relocked then).
/// Blocking.
pub fn count_code_attempt(
    store: &Store,
    policy: &LockoutPolicy,
    subject: &str,
    now: i64,
) -> StoreResult<CodeAttempt> {
    let (before, refusal) = standing(store, policy, subject, now)?;
    if let Some(refusal) = refusal {
        return Ok(CodeAttempt::Refused(refusal));
    }
    if before >= policy.lock_after {
        let until = now.saturating_add(policy.lock_seconds);
        if store.claim_attempt_after_lock(subject, before, now, until)? {
            return Ok(CodeAttempt::Counted(Some(Refusal {
                until,
                locked: true,
            })));
        }
        // Another attempt claimed it (and locked), or a success cleared
        // the count meanwhile: look again.
        if let (_, Some(refusal)) = standing(store, policy, subject, now)? {
            return Ok(CodeAttempt::Refused(refusal));
        }
    }
    let (failures, counted) = count_failure(store, policy, subject, now)?;
    match counted {
        Some(refusal) if failures > policy.lock_after => Ok(CodeAttempt::Refused(refusal)),
        counted => Ok(CodeAttempt::Counted(counted)),
    }
}

/// Counts a credential failure; returns the wait it triggers, if any.
/// Blocking.
pub fn record_failure(
    store: &Store,
    policy: &LockoutPolicy,
    subject: &str,
    now: i64,
) -> StoreResult<Option<Refusal>> {
    Ok(count_failure(store, policy, subject, now)?.1)
}

/// [`record_failure`], also returning the new count of failures.
pub fn count_failure(
    store: &Store,
    policy: &LockoutPolicy,
    subject: &str,
    now: i64,
) -> StoreResult<(i64, Option<Refusal>)> {
    let throttle =
        store.record_login_failure(subject, now, |failures| policy.wait_after(failures))?;
    Ok((throttle.failures, refusal_of(&throttle, policy, now)))
}

/// What checking the signed-in user's current password came to.
pub enum PasswordCheck {
    /// It is their password.
    Correct,
    /// It is not (counted toward the lock; maybe a wait started).
    Wrong(Option<Refusal>),
    /// Not checked: a wait or lock is in force.
    Refused(Refusal),
}

/// Checks `password` as `user`'s current one, on a password-pool thread:
/// the lock is consulted first and a wrong password counts toward it, as
/// at login, so this cannot be used to guess the password faster.
pub fn check_current_password(
    store: &Store,
    passwords: &PasswordHasher,
    policy: &LockoutPolicy,
    user: &User,
    password: &str,
    now: i64,
) -> StoreResult<PasswordCheck> {
    let subject = login_subject(&user.username);
    if let Some(refusal) = refusal(store, policy, &subject, now)? {
        return Ok(PasswordCheck::Refused(refusal));
    }
    if !passwords.verify(password, &user.password_hash) {
        let refusal = record_failure(store, policy, &subject, now)?;
        return Ok(PasswordCheck::Wrong(refusal));
    }
    Ok(PasswordCheck::Correct)
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
    fn names_are_counted_by_their_normalised_form() {
        assert_eq!(login_subject(" Bob "), login_subject("bob"));
        assert!(login_subject("bob").starts_with("login:"));
        assert!(!login_subject("bob").contains("bob"));
        assert_ne!(login_subject("bob"), mfa_subject("bob"));
    }
}
