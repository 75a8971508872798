//! The client data (§5.8.1 `CollectedClientData`) the browser signs over,
//! and the checks both ceremonies make on it.

use serde::Deserialize;

use super::{RelyingParty, WebauthnError};

/// The members of clientDataJSON ferrid reads; others (`topOrigin`,
/// `tokenBinding`, future ones) are ignored as §5.8.1 asks.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct ClientData {
    #[serde(rename = "type")]
    pub(super) kind: String,
    pub(super) challenge: String,
    pub(super) origin: String,
    #[serde(rename = "crossOrigin", default)]
    pub(super) cross_origin: Option<bool>,
}

impl ClientData {
    /// Parses clientDataJSON (§7.1/§7.2: "Let JSONtext be the result of
    /// running UTF-8 decode on the value of cData", then parse it).
    /// Duplicate members are refused by serde, so no member is ambiguous.
    pub(super) fn parse(bytes: &[u8]) -> Result<Self, WebauthnError> {
        serde_json::from_slice(bytes)
            .map_err(|_| WebauthnError::Malformed("clientDataJSON is not valid client data".into()))
    }

    /// The §7.1/§7.2 client data steps: `C.type` is `expected_type`,
    /// `C.challenge` is the issued challenge, `C.origin` is one of the
    /// relying party's origins, and the ceremony did not run cross-origin.
    ///
    /// The challenge is compared with plain `==`: a challenge is not a
    /// secret (the browser shows it to the page), it only has to be fresh
    /// and single use, so timing reveals nothing worth having.
    pub(super) fn check(
        &self,
        expected_type: &'static str,
        rp: &RelyingParty,
        expected_challenge: &str,
    ) -> Result<(), WebauthnError> {
        if self.kind != expected_type {
            return Err(WebauthnError::WrongType {
                expected: expected_type,
            });
        }
        // An empty expected challenge means the caller lost it; matching
        // an empty one would accept a response made without any challenge.
        if expected_challenge.is_empty() || self.challenge != expected_challenge {
            return Err(WebauthnError::ChallengeMismatch);
        }
        if !rp.origins.contains(&self.origin) {
            return Err(WebauthnError::OriginNotAllowed(truncated(&self.origin)));
        }
        // ferrid's pages are never framed by another site, so a
        // cross-origin ceremony is always someone else's page; `topOrigin`
        // only matters when framing is allowed, hence ignored.
        if self.cross_origin == Some(true) {
            return Err(WebauthnError::CrossOrigin);
        }
        Ok(())
    }
}

/// The origin is the sender's to choose; bounding it keeps an audit log
/// line readable.
fn truncated(origin: &str) -> String {
    const MAX_CHARS: usize = 128;
    origin.chars().take(MAX_CHARS).collect()
}
