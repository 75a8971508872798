//! Why a WebAuthn response was refused.

/// Why a response was refused; the Display text is specific (for the audit
/// log) and never includes secrets or key material.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebauthnError {
    /// The response is not of the form WebAuthn defines (JSON, base64url,
    /// CBOR or authenticator data layout).
    #[error("malformed WebAuthn response: {0}")]
    Malformed(String),
    /// The response is larger than any genuine one.
    #[error("WebAuthn response exceeds {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// §7.1/§7.2: `C.type` is not the ceremony's (`webauthn.create` or
    /// `webauthn.get`).
    #[error("clientDataJSON type is not {expected}")]
    WrongType {
        /// The type the ceremony requires.
        expected: &'static str,
    },
    /// §7.1/§7.2: `C.challenge` is not the challenge the server issued.
    #[error("clientDataJSON challenge does not match the one issued")]
    ChallengeMismatch,
    /// §7.1/§7.2: `C.origin` is not one of the relying party's origins.
    #[error("clientDataJSON origin {0:?} is not allowed")]
    OriginNotAllowed(String),
    /// §7.1/§7.2: the ceremony ran in a cross-origin iframe, which ferrid
    /// never embeds.
    #[error("the ceremony ran in a cross-origin frame")]
    CrossOrigin,
    /// §7.1/§7.2: `rpIdHash` is not the SHA-256 of the RP ID.
    #[error("authenticator data is for another RP ID")]
    RpIdMismatch,
    /// §7.1/§7.2: the UP flag is not set.
    #[error("the authenticator did not test user presence")]
    UserNotPresent,
    /// §7.1/§7.2: the UV flag is not set; ferrid always requires it.
    #[error("the authenticator did not verify the user")]
    UserNotVerified,
    /// §7.1/§7.2: BS (backed up) is set without BE (backup eligible).
    #[error("backup state set on a credential not eligible for backup")]
    BackupStateWithoutEligibility,
    /// §7.2: BE differs from the value registered; it is fixed for a
    /// credential's lifetime, so this is not the same credential.
    #[error("backup eligibility changed since registration")]
    BackupEligibilityChanged,
    /// §7.1: no attested credential data (AT flag) in a registration.
    #[error("registration carries no attested credential data")]
    MissingCredentialData,
    /// §7.1: the credential id in authenticator data is not the
    /// response's `rawId`.
    #[error("credential id in authenticator data does not match rawId")]
    CredentialIdMismatch,
    /// A COSE algorithm other than ES256 (-7), EdDSA (-8) or RS256 (-257).
    #[error("unsupported COSE algorithm {0}")]
    UnsupportedAlgorithm(i64),
    /// A COSE key that is not a usable key of its algorithm (key type,
    /// curve, size or point).
    #[error("unsupported or invalid COSE key: {0}")]
    UnsupportedKey(&'static str),
    /// The stored public key of the passkey does not load.
    #[error("the stored passkey public key is invalid")]
    InvalidStoredKey,
    /// Bytes follow the data they should end (authenticator data, an
    /// attestation object or a COSE key).
    #[error("trailing bytes after {0}")]
    TrailingBytes(&'static str),
    /// §7.2: the assertion signature does not verify with the stored key.
    #[error("assertion signature does not verify")]
    BadSignature,
    /// §7.2: the signature counter did not increase, a sign of a cloned
    /// authenticator.
    #[error("signature counter did not increase (stored {stored}, received {received})")]
    CounterNotIncreased {
        /// The counter stored from the last use.
        stored: u32,
        /// The counter the authenticator sent.
        received: u32,
    },
}
