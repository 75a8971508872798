//! base64url as WebAuthn's Level 3 JSON forms use it for binary members.

use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine;

use super::WebauthnError;

/// Browsers send base64url without padding, but some client libraries
/// pad; both decode to the same bytes, so both are accepted.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Encodes as base64url without padding.
pub(super) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url, padded or not; `what` names the field for the error.
pub(super) fn decode(text: &str, what: &str) -> Result<Vec<u8>, WebauthnError> {
    LENIENT
        .decode(text)
        .map_err(|_| WebauthnError::Malformed(format!("{what} is not base64url")))
}
