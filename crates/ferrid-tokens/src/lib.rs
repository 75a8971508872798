//! Token signing for ferrid: the master key that seals private keys at
//! rest, the keyring that signs and verifies JWTs, the JWKS, and the claim
//! sets of ID and access tokens. It signs and verifies; it does not decide
//! who may get a token.

pub mod assertion;
pub mod claims;
pub mod dpop;
/// Errors of signing, verifying and sealing.
pub mod error;
pub mod keyring;
pub mod lifecycle;
pub mod master_key;
/// Passkeys: WebAuthn registration and authentication responses verified
/// as W3C WebAuthn §7.1 and §7.2 prescribe, and the options that ask for them.
pub mod webauthn;

pub use claims::{
    access_token_hash, AccessTokenClaims, Audience, IdTokenClaims, LogoutTokenClaims,
};
pub use error::{TokenError, TokenResult};
pub use keyring::{generate_key, KeyState, Keyring, SigningAlgorithm, StoredKey};
pub use lifecycle::{KeyAction, KeyPolicy, CLOCK_SKEW};
pub use master_key::{totp_aad, MasterKey};
