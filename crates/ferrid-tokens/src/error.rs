use thiserror::Error;

/// Errors of key handling and token minting or verification.
#[derive(Debug, Error)]
pub enum TokenError {
    /// The master key is missing or malformed.
    #[error("master key {0}")]
    MasterKey(String),
    /// Encryption failed.
    #[error("cannot seal private key")]
    Seal,
    /// A sealed private key could not be decrypted: wrong master key or
    /// tampered ciphertext.
    #[error("cannot decrypt a private key: wrong master key or tampered ciphertext")]
    Unseal,
    /// A stored key could not be used.
    #[error("signing key {kid}: {reason}")]
    Key {
        /// The key id.
        kid: String,
        /// What is wrong with it.
        reason: String,
    },
    /// There is no key to sign with.
    #[error("no current signing key")]
    NoSigningKey,
    /// Signing or encoding failed.
    #[error("token signing: {0}")]
    Sign(String),
    /// A presented token is not valid (bad signature, wrong type, expired…).
    #[error("invalid token: {0}")]
    Invalid(&'static str),
}

/// Result alias for this crate.
pub type TokenResult<T> = Result<T, TokenError>;
