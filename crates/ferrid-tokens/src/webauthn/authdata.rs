//! Authenticator data (§6.1): the bytes the authenticator signs, with the
//! RP ID hash, flags, signature counter and, at registration, the new
//! credential (§6.5.1 attested credential data).

use ciborium::Value;
use sha2::{Digest, Sha256};

use super::cbor;
use super::{RelyingParty, WebauthnError};

/// §6.1 flag bits.
const FLAG_UP: u8 = 0x01;
const FLAG_UV: u8 = 0x04;
const FLAG_BE: u8 = 0x08;
const FLAG_BS: u8 = 0x10;
const FLAG_AT: u8 = 0x40;
const FLAG_ED: u8 = 0x80;

/// §7.1: "Verify that the credentialId is ≤ 1023 bytes."
pub(super) const MAX_CREDENTIAL_ID: usize = 1023;

/// Parsed authenticator data, borrowing from the bytes received.
#[derive(Debug)]
pub(super) struct AuthenticatorData<'a> {
    rp_id_hash: &'a [u8],
    flags: u8,
    pub(super) sign_count: u32,
    pub(super) attested: Option<AttestedCredential<'a>>,
}

/// §6.5.1 attested credential data.
#[derive(Debug)]
pub(super) struct AttestedCredential<'a> {
    pub(super) aaguid: &'a [u8],
    pub(super) credential_id: &'a [u8],
    /// The COSE_Key exactly as received, for storing.
    pub(super) public_key_bytes: &'a [u8],
    pub(super) public_key: Value,
}

fn truncated() -> WebauthnError {
    WebauthnError::Malformed("authenticator data is truncated".into())
}

/// Splits `n` bytes off the front, or says the data ended early.
fn take<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8], WebauthnError> {
    let (head, tail) = rest.split_at_checked(n).ok_or_else(truncated)?;
    *rest = tail;
    Ok(head)
}

/// Splits a fixed-size field off the front.
fn take_array<const N: usize>(rest: &mut &[u8]) -> Result<[u8; N], WebauthnError> {
    take(rest, N)?.try_into().map_err(|_| truncated())
}

impl<'a> AuthenticatorData<'a> {
    /// Parses the §6.1 layout: rpIdHash (32), flags (1), signCount (4, big
    /// endian), attested credential data if AT, extensions (a CBOR map) if
    /// ED, and nothing after.
    pub(super) fn parse(bytes: &'a [u8]) -> Result<Self, WebauthnError> {
        let mut rest = bytes;
        let rp_id_hash = take(&mut rest, 32)?;
        let [flags] = take_array::<1>(&mut rest)?;
        let sign_count = u32::from_be_bytes(take_array(&mut rest)?);
        let attested = if flags & FLAG_AT != 0 {
            Some(Self::attested_credential(&mut rest)?)
        } else {
            None
        };
        if flags & FLAG_ED != 0 {
            let (extensions, used) = cbor::decode_prefix(rest, "authenticator extensions")?;
            cbor::unique_map(&extensions, "authenticator extensions")?;
            take(&mut rest, used)?;
        }
        if !rest.is_empty() {
            return Err(WebauthnError::TrailingBytes("authenticator data"));
        }
        Ok(Self {
            rp_id_hash,
            flags,
            sign_count,
            attested,
        })
    }

    /// §6.5.1: aaguid (16), credentialIdLength (2, big endian),
    /// credentialId, credentialPublicKey (a COSE_Key whose length is only
    /// known by decoding it).
    fn attested_credential(rest: &mut &'a [u8]) -> Result<AttestedCredential<'a>, WebauthnError> {
        let aaguid = take(rest, 16)?;
        let length = usize::from(u16::from_be_bytes(take_array(rest)?));
        if length == 0 || length > MAX_CREDENTIAL_ID {
            return Err(WebauthnError::Malformed(
                "credential id length is not 1 to 1023 bytes".into(),
            ));
        }
        let credential_id = take(rest, length)?;
        let (public_key, used) = cbor::decode_prefix(rest, "credential public key")?;
        let public_key_bytes = take(rest, used)?;
        Ok(AttestedCredential {
            aaguid,
            credential_id,
            public_key_bytes,
            public_key,
        })
    }

    /// The §7.1/§7.2 steps on authenticator data both ceremonies share:
    /// "Verify that the rpIdHash in authData is the SHA-256 hash of the RP
    /// ID", that UP is set, that UV is set (passkeys replace the password,
    /// so the user is always verified), and "If the BE bit of the flags in
    /// authData is not set, verify that the BS bit is not set."
    pub(super) fn check(&self, rp: &RelyingParty) -> Result<(), WebauthnError> {
        if self.rp_id_hash != Sha256::digest(rp.id.as_bytes()).as_slice() {
            return Err(WebauthnError::RpIdMismatch);
        }
        if self.flags & FLAG_UP == 0 {
            return Err(WebauthnError::UserNotPresent);
        }
        if self.flags & FLAG_UV == 0 {
            return Err(WebauthnError::UserNotVerified);
        }
        if !self.backup_eligible() && self.backed_up() {
            return Err(WebauthnError::BackupStateWithoutEligibility);
        }
        Ok(())
    }

    /// BE: the credential may be synced to other devices (fixed for its
    /// lifetime).
    pub(super) fn backup_eligible(&self) -> bool {
        self.flags & FLAG_BE != 0
    }

    /// BS: the credential is synced now.
    pub(super) fn backed_up(&self) -> bool {
        self.flags & FLAG_BS != 0
    }
}
