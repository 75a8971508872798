//! What registration and assertion responses share: the size bound and
//! the `PublicKeyCredential` JSON members `id`, `rawId` and `type` (§5.1,
//! `RegistrationResponseJSON` and `AuthenticationResponseJSON`).

use serde::de::DeserializeOwned;

use super::authdata::MAX_CREDENTIAL_ID;
use super::encoding;
use super::WebauthnError;

/// Genuine responses are a few KiB at most (an RSA key or attestation
/// certificates are the largest parts); anything bigger is refused before
/// parsing.
pub(super) const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Parses a response's JSON, bounded in size.
pub(super) fn parse_json<T: DeserializeOwned>(json: &str) -> Result<T, WebauthnError> {
    if json.len() > MAX_RESPONSE_BYTES {
        return Err(WebauthnError::TooLarge {
            limit: MAX_RESPONSE_BYTES,
        });
    }
    serde_json::from_str(json).map_err(|_| {
        WebauthnError::Malformed("not a PublicKeyCredential of the expected shape".into())
    })
}

/// The credential id from `id` and `rawId`, which must name the same bytes
/// (`id` is defined as the base64url of `rawId`), of a length §7.1 allows.
pub(super) fn credential_id(id: &str, raw_id: &str, kind: &str) -> Result<Vec<u8>, WebauthnError> {
    if kind != "public-key" {
        return Err(WebauthnError::Malformed(
            "credential type is not public-key".into(),
        ));
    }
    let from_id = encoding::decode(id, "id")?;
    let raw = encoding::decode(raw_id, "rawId")?;
    if from_id != raw {
        return Err(WebauthnError::Malformed("id and rawId differ".into()));
    }
    if raw.is_empty() || raw.len() > MAX_CREDENTIAL_ID {
        return Err(WebauthnError::Malformed(
            "credential id length is not 1 to 1023 bytes".into(),
        ));
    }
    Ok(raw)
}
