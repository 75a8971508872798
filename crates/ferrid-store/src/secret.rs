//! Random secrets and their digests. Every secret ferrid hands out (client
//! secrets, session ids, authorization codes) is stored only as a SHA-256
//! digest; the secrets carry 256 bits of OS randomness, so a fast digest is
//! enough and lookups by digest stay indexable.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Prefix of client secrets, so secret scanners can recognise a leaked one.
pub const CLIENT_SECRET_PREFIX: &str = "fcs_";

/// Returns `bytes` bytes of OS randomness, base64url-encoded without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buffer);
    URL_SAFE_NO_PAD.encode(buffer)
}

/// `bytes` bytes of OS randomness as lower-case hex: for public
/// identifiers, which must be safe on a command line (a base64url value
/// can start with `-`) and in URLs.
pub fn random_identifier(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buffer);
    hex(&buffer)
}

/// Lower-case hex encoding.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A fresh 256-bit secret with the given recognisable prefix.
pub fn generate_secret(prefix: &str) -> String {
    format!("{prefix}{}", random_token(32))
}

/// The hex SHA-256 digest under which a secret is stored and looked up.
pub fn digest(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` hashes to `expected_digest`, compared in constant time.
pub fn matches_digest(secret: &str, expected_digest: &str) -> bool {
    digest(secret)
        .as_bytes()
        .ct_eq(expected_digest.as_bytes())
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_unique_and_long() {
        let a = generate_secret(CLIENT_SECRET_PREFIX);
        let b = generate_secret(CLIENT_SECRET_PREFIX);
        assert!(a.starts_with("fcs_"));
        assert_ne!(a, b);
        // 32 bytes base64url without padding is 43 characters.
        assert_eq!(a.len(), 4 + 43);
    }

    #[test]
    fn identifiers_are_lower_case_hex() {
        let id = random_identifier(16);
        assert_eq!(id.len(), 32);
        assert!(id
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte)));
    }

    #[test]
    fn digest_matches_only_its_secret() {
        let secret = generate_secret("x_");
        let stored = digest(&secret);
        assert_ne!(stored, secret);
        assert!(matches_digest(&secret, &stored));
        assert!(!matches_digest("x_other", &stored));
    }
}
