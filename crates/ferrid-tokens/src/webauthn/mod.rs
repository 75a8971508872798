//! Server-side WebAuthn (Level 2/3) passkey verification: the options the
//! browser script passes to `navigator.credentials.create()` and `.get()`,
//! and the checks of W3C WebAuthn §7.1 "Registering a New Credential" and
//! §7.2 "Verifying an Authentication Assertion".
//!
//! This is the relying party's side only. It decides whether a response is
//! genuine and fresh for a given challenge; storing challenges (single
//! use), finding the passkey a credential id names, checking that it is
//! not registered twice and that the user handle belongs to its owner is
//! the caller's job.
//!
//! Attestation is requested as `"none"` and never trusted: ferrid makes no
//! decision on the make or model of an authenticator, so an attestation
//! statement of any other format is ignored rather than verified.

mod assertion;
mod authdata;
mod cbor;
mod client_data;
mod cose;
mod credential;
mod encoding;
mod error;
mod options;
mod registration;
#[cfg(any(test, feature = "test-authenticator"))]
pub mod testing;
#[cfg(test)]
mod tests;

use rand::rngs::OsRng;
use rand::RngCore;

pub use assertion::{AssertionResponse, StoredPasskey, VerifiedAssertion};
pub use error::WebauthnError;
pub use options::{request_options, CreationOptions};
pub use registration::{NewPasskey, RegistrationResponse};

/// The relying party: its RP ID (a host name, e.g. "localhost" or
/// "id.example.com") and the origins allowed in clientDataJSON (e.g.
/// "http://localhost:8080", "https://id.example.com").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    /// The RP ID (§4 "RP ID"); `rpIdHash` in authenticator data is its
    /// SHA-256 (§6.1).
    pub id: String,
    /// The exact origins (scheme, host, port) clientDataJSON may name.
    pub origins: Vec<String>,
}

/// How many random bytes a challenge has; the specification's security
/// considerations ("Cryptographic Challenges") ask for at least 16.
const CHALLENGE_BYTES: usize = 32;

/// A fresh challenge: 32 random bytes (OsRng), base64url without padding.
pub fn new_challenge() -> String {
    let mut bytes = [0u8; CHALLENGE_BYTES];
    OsRng.fill_bytes(&mut bytes);
    encoding::encode(&bytes)
}
