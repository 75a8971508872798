//! §7.2 "Verifying an Authentication Assertion": the response to
//! `navigator.credentials.get()`, checked against the stored passkey.

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::authdata::AuthenticatorData;
use super::client_data::ClientData;
use super::cose::CoseKey;
use super::{credential, encoding};
use super::{RelyingParty, WebauthnError};

/// `AuthenticationResponseJSON`, the members ferrid reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssertionJson {
    id: String,
    raw_id: String,
    #[serde(rename = "type")]
    kind: String,
    response: AssertionResponseJson,
}

/// `AuthenticatorAssertionResponseJSON`, the members ferrid reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssertionResponseJson {
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    authenticator_data: String,
    signature: String,
    #[serde(default)]
    user_handle: Option<String>,
}

/// An authentication response: `{"id","rawId","type":"public-key",
/// "response":{"clientDataJSON","authenticatorData","signature",
/// "userHandle"?}}`. Parsing checks shape only; [`Self::verify`] does the
/// §7.2 checks.
#[derive(Debug, Clone)]
pub struct AssertionResponse {
    credential_id: String,
    user_handle: Option<String>,
    client_data_json: Vec<u8>,
    client_data: ClientData,
    authenticator_data: Vec<u8>,
    signature: Vec<u8>,
}

/// The stored passkey an assertion is checked against.
#[derive(Debug, Clone, Copy)]
pub struct StoredPasskey<'a> {
    /// The COSE_Key stored at registration ([`super::NewPasskey::public_key`]).
    pub public_key: &'a [u8],
    /// The signature counter stored from the last use.
    pub sign_count: u32,
    /// BE as registered.
    pub backup_eligible: bool,
}

/// What a good assertion tells: the new counter and backup state to store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedAssertion {
    /// The authenticator's signature counter, to store.
    pub sign_count: u32,
    /// BS: whether the passkey is synced now.
    pub backed_up: bool,
}

impl AssertionResponse {
    /// Parses the posted JSON (at most 64 KiB): the member types, base64url
    /// fields, `id` equal to `rawId`, `type` `public-key`, and
    /// clientDataJSON as client data.
    pub fn parse(json: &str) -> Result<Self, WebauthnError> {
        let parsed: AssertionJson = credential::parse_json(json)?;
        let raw_id = credential::credential_id(&parsed.id, &parsed.raw_id, &parsed.kind)?;
        let response = parsed.response;
        let client_data_json = encoding::decode(&response.client_data_json, "clientDataJSON")?;
        let client_data = ClientData::parse(&client_data_json)?;
        let authenticator_data =
            encoding::decode(&response.authenticator_data, "authenticatorData")?;
        let signature = encoding::decode(&response.signature, "signature")?;
        let user_handle = match response.user_handle.as_deref() {
            None | Some("") => None,
            Some(handle) => Some(encoding::decode(handle, "userHandle")?),
        };
        Ok(Self {
            credential_id: encoding::encode(&raw_id),
            // §7.2 treats an empty user handle like an absent one.
            user_handle: user_handle
                .filter(|handle| !handle.is_empty())
                .map(|handle| encoding::encode(&handle)),
            client_data_json,
            client_data,
            authenticator_data,
            signature,
        })
    }

    /// The credential id, base64url normalised (re-encoded without
    /// padding), to find the stored passkey by.
    pub fn credential_id(&self) -> &str {
        &self.credential_id
    }

    /// The user handle, base64url normalised; `None` if absent or empty.
    /// §7.2: when present, the caller verifies it is the handle of the
    /// passkey's owner.
    pub fn user_handle(&self) -> Option<&str> {
        self.user_handle.as_deref()
    }

    /// The challenge clientDataJSON carries (base64url string as sent), so
    /// the server can find the stored one.
    pub fn challenge(&self) -> &str {
        &self.client_data.challenge
    }

    /// The §7.2 checks, in the specification's order:
    /// - client data: `C.type` is `webauthn.get`, `C.challenge` is
    ///   `expected_challenge`, `C.origin` is in `rp.origins`, and
    ///   `C.crossOrigin` is absent or false (`topOrigin` is ignored);
    /// - authData: rpIdHash is SHA-256 of `rp.id`, UP and UV set, "If the
    ///   BE bit of the flags in authData is not set, verify that the BS bit
    ///   is not set", BE equal to the registered value (it cannot change
    ///   for a credential), no attested credential data, extensions a CBOR
    ///   map if ED, no bytes after;
    /// - "verify that sig is a valid signature over the binary
    ///   concatenation of authData and hash", hash being SHA-256 of
    ///   clientDataJSON;
    /// - the signature counter: "If authData.signCount is nonzero or
    ///   credentialRecord.signCount is nonzero", it must be greater than
    ///   the stored one. The specification leaves the response to a
    ///   counter that did not grow to the relying party; ferrid refuses,
    ///   as it may mean a cloned authenticator.
    pub fn verify(
        &self,
        rp: &RelyingParty,
        expected_challenge: &str,
        stored: &StoredPasskey<'_>,
    ) -> Result<VerifiedAssertion, WebauthnError> {
        self.client_data
            .check("webauthn.get", rp, expected_challenge)?;
        let auth_data = AuthenticatorData::parse(&self.authenticator_data)?;
        // Attested credential data belongs to registration only (§6.1);
        // an assertion carrying it is not from a conforming authenticator.
        if auth_data.attested.is_some() {
            return Err(WebauthnError::Malformed(
                "assertion carries attested credential data".into(),
            ));
        }
        auth_data.check(rp)?;
        if auth_data.backup_eligible() != stored.backup_eligible {
            return Err(WebauthnError::BackupEligibilityChanged);
        }
        let key = CoseKey::from_stored(stored.public_key)?;
        let hash = Sha256::digest(&self.client_data_json);
        let mut signed = Vec::with_capacity(self.authenticator_data.len().saturating_add(32));
        signed.extend_from_slice(&self.authenticator_data);
        signed.extend_from_slice(&hash);
        key.verify(&signed, &self.signature)?;
        let received = auth_data.sign_count;
        if (received != 0 || stored.sign_count != 0) && received <= stored.sign_count {
            return Err(WebauthnError::CounterNotIncreased {
                stored: stored.sign_count,
                received,
            });
        }
        Ok(VerifiedAssertion {
            sign_count: received,
            backed_up: auth_data.backed_up(),
        })
    }
}
