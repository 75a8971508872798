//! Rules for user accounts, shared by every admin surface and the
//! self-service pages.

use std::collections::HashSet;
use std::io::Read;
use std::sync::OnceLock;

/// Shortest accepted password (NIST SP 800-63B §5.1.1.2).
pub const MIN_PASSWORD_LENGTH: usize = 8;
/// Longest accepted password; bounds the work one login can cause.
pub const MAX_PASSWORD_LENGTH: usize = 1024;

/// Why a username or e-mail address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// Empty, too long, or with characters outside the allowed set.
    #[error("username must be 1 to 64 letters, digits or . _ - +")]
    Username,
    /// Not shaped like an address.
    #[error("email must be an address like name@example.com")]
    Email,
}

/// Why a new password is refused (NIST SP 800-63B §5.1.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Shorter than the configured minimum.
    #[error("the password must have at least {0} characters")]
    TooShort(usize),
    /// Longer than [`MAX_PASSWORD_LENGTH`].
    #[error("the password must have at most {MAX_PASSWORD_LENGTH} characters")]
    TooLong,
    /// The account's own username or e-mail address.
    #[error("the password must not be your username or e-mail address")]
    Personal,
    /// One of the most common passwords.
    #[error("this password is one of the most commonly used passwords; choose another")]
    Common,
}

/// Checks a new username and e-mail address.
pub fn check_identity(username: &str, email: &str) -> Result<(), IdentityError> {
    let username_ok = (1..=64).contains(&username.chars().count())
        && username
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'));
    // No '@': users log in with a username or an e-mail address, so a
    // username must never be able to equal someone else's address.
    if !username_ok {
        return Err(IdentityError::Username);
    }
    let email_ok = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if !email_ok {
        return Err(IdentityError::Email);
    }
    Ok(())
}

/// Checks a new password against the policy of NIST SP 800-63B
/// §5.1.1.2: at least `min_length` characters (counted as characters, so
/// any Unicode is welcome), at most [`MAX_PASSWORD_LENGTH`], no
/// composition rules, not one of the 100,000 most common passwords, and
/// not the account's own username or e-mail address.
pub fn check_password(
    password: &str,
    min_length: usize,
    username: &str,
    email: &str,
) -> Result<(), PasswordError> {
    let min_length = min_length.max(MIN_PASSWORD_LENGTH);
    let length = password.chars().count();
    if length < min_length {
        return Err(PasswordError::TooShort(min_length));
    }
    if length > MAX_PASSWORD_LENGTH {
        return Err(PasswordError::TooLong);
    }
    let lowered = password.to_lowercase();
    if lowered == username.to_lowercase() || lowered == email.to_lowercase() {
        return Err(PasswordError::Personal);
    }
    if common_passwords().contains(lowered.as_str()) {
        return Err(PasswordError::Common);
    }
    Ok(())
}

/// The bundled list (see `data/README.md`), decompressed on first use.
fn common_passwords() -> &'static HashSet<&'static str> {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        let compressed: &[u8] = include_bytes!("../data/common-passwords.txt.gz");
        let mut text = String::new();
        if let Err(error) = flate2::read::GzDecoder::new(compressed).read_to_string(&mut text) {
            // Cannot happen with the bundled file; refusing nothing is
            // safer than refusing every password.
            tracing::error!(%error, "the common-password list is unreadable");
        }
        let text: &'static str = Box::leak(text.into_boxed_str());
        text.lines().collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities() {
        assert!(check_identity("alice", "alice@example.com").is_ok());
        assert!(check_identity("", "alice@example.com").is_err());
        assert!(check_identity("al ice", "alice@example.com").is_err());
        // Regression: a username shaped like another user's e-mail address.
        assert!(check_identity("bob@example.com", "alice@example.com").is_err());
        assert!(check_identity("alice", "alice").is_err());
        assert!(check_identity("alice", "alice@localhost").is_err());
        assert!(check_identity("alice", "a b@example.com").is_err());
    }

    #[test]
    fn password_policy() {
        let check = |password: &str| check_password(password, 8, "alice", "alice@example.com");
        assert!(check("short").is_err());
        assert!(check("seven77").is_err());
        assert!(check("long enough for me").is_ok());
        // No composition rules: lower-case letters and spaces are fine,
        // and so is any Unicode; length counts characters, not bytes.
        assert!(check("correct horse battery staple").is_ok());
        assert!(check("ñandú→ñandú").is_ok());
        assert!(check("ééééééé").is_err());
        assert!(check(&"x".repeat(64)).is_ok());
        assert!(check(&"x".repeat(MAX_PASSWORD_LENGTH + 1)).is_err());
        // Common passwords, whatever their case.
        for common in [
            "password",
            "12345678",
            "Password1",
            "iloveyou",
            "qwertyuiop",
        ] {
            assert!(check(common).is_err(), "{common} was accepted");
        }
        // The account's own name or address.
        assert!(check_password("alice-the-great", 8, "alice-the-great", "a@example.com").is_err());
        assert!(check_password("Alice@Example.com", 8, "alice", "alice@example.com").is_err());
        // A configured minimum above 8, never below.
        assert!(check_password("long enough", 12, "u", "u@example.com").is_err());
        assert!(check_password("seven77", 4, "u", "u@example.com").is_err());
        assert!(common_passwords().len() > 90_000);
    }
}
