//! Rules for user accounts, shared by the CLI and the pages.

/// Shortest accepted password (NIST SP 800-63B §5.1.1.2).
pub const MIN_PASSWORD_LENGTH: usize = 8;
/// Longest accepted password; bounds the work one login can cause.
pub const MAX_PASSWORD_LENGTH: usize = 1024;

/// Checks a new username and e-mail address.
pub fn check_identity(username: &str, email: &str) -> Result<(), String> {
    let username_ok = (1..=64).contains(&username.chars().count())
        && username
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'));
    // No '@': users log in with a username or an e-mail address, so a
    // username must never be able to equal someone else's address.
    if !username_ok {
        return Err("username must be 1 to 64 letters, digits or . _ - +".into());
    }
    let email_ok = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if !email_ok {
        return Err("email must be an address like name@example.com".into());
    }
    Ok(())
}

/// Checks a new password's length (counted in characters).
pub fn check_password(password: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_LENGTH {
        return Err(format!(
            "the password must have at least {MIN_PASSWORD_LENGTH} characters"
        ));
    }
    if length > MAX_PASSWORD_LENGTH {
        return Err(format!(
            "the password must have at most {MAX_PASSWORD_LENGTH} characters"
        ));
    }
    Ok(())
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
    fn passwords() {
        assert!(check_password("short").is_err());
        assert!(check_password("long enough").is_ok());
        assert!(check_password(&"x".repeat(MAX_PASSWORD_LENGTH + 1)).is_err());
    }
}
