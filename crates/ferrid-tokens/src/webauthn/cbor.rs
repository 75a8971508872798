//! CBOR decoding as WebAuthn needs it: items whose length is only known by
//! decoding them (COSE keys and extensions inside authenticator data), and
//! maps whose keys must be unique (§6.1 requires CTAP2 canonical CBOR).

use ciborium::Value;

use super::WebauthnError;

/// Decodes the CBOR item at the start of `bytes`; returns it and how many
/// bytes it took, so the caller can go on after it.
pub(super) fn decode_prefix(bytes: &[u8], what: &str) -> Result<(Value, usize), WebauthnError> {
    let mut rest = bytes;
    let value: Value = ciborium::de::from_reader(&mut rest)
        .map_err(|_| WebauthnError::Malformed(format!("{what} is not valid CBOR")))?;
    let used = bytes
        .len()
        .checked_sub(rest.len())
        .ok_or_else(|| WebauthnError::Malformed(format!("{what} is not valid CBOR")))?;
    Ok((value, used))
}

/// Decodes `bytes` as exactly one CBOR item.
pub(super) fn decode_exact(bytes: &[u8], what: &'static str) -> Result<Value, WebauthnError> {
    let (value, used) = decode_prefix(bytes, what)?;
    if used != bytes.len() {
        return Err(WebauthnError::TrailingBytes(what));
    }
    Ok(value)
}

/// The entries of a CBOR map, refusing duplicate keys: with two values
/// for one key, which one counts would depend on the reader.
pub(super) fn unique_map<'a>(
    value: &'a Value,
    what: &str,
) -> Result<&'a [(Value, Value)], WebauthnError> {
    let entries = value
        .as_map()
        .ok_or_else(|| WebauthnError::Malformed(format!("{what} is not a CBOR map")))?;
    for (index, (key, _)) in entries.iter().enumerate() {
        if entries
            .iter()
            .skip(index.saturating_add(1))
            .any(|(other, _)| other == key)
        {
            return Err(WebauthnError::Malformed(format!(
                "{what} has a duplicate key"
            )));
        }
    }
    Ok(entries.as_slice())
}
