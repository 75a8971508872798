//! §7.1 "Registering a New Credential": the response to
//! `navigator.credentials.create()` and what to store from it.

use serde::Deserialize;

use super::authdata::AuthenticatorData;
use super::client_data::ClientData;
use super::cose::CoseKey;
use super::{cbor, credential, encoding};
use super::{RelyingParty, WebauthnError};

/// The transports §5.8.4 defines; others are dropped, as §5.8.4 asks
/// relying parties to ignore unknown values.
const KNOWN_TRANSPORTS: [&str; 6] = ["usb", "nfc", "ble", "internal", "hybrid", "smart-card"];
const MAX_TRANSPORTS: usize = 8;

/// `RegistrationResponseJSON`, the members ferrid reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegistrationJson {
    id: String,
    raw_id: String,
    #[serde(rename = "type")]
    kind: String,
    response: AttestationJson,
}

/// `AuthenticatorAttestationResponseJSON`, the members ferrid reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AttestationJson {
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    attestation_object: String,
    #[serde(default)]
    transports: Option<Vec<String>>,
}

/// A registration response from the browser (the JSON our script posts:
/// `{"id","rawId","type":"public-key","response":{"clientDataJSON",
/// "attestationObject","transports":[...]},"authenticatorAttachment"?}`).
/// Parsing checks shape only; [`Self::verify`] does the §7.1 checks.
#[derive(Debug, Clone)]
pub struct RegistrationResponse {
    raw_id: Vec<u8>,
    client_data: ClientData,
    attestation_object: Vec<u8>,
    transports: Vec<String>,
}

/// What to store for a new passkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPasskey {
    /// The credential id, base64url without padding.
    pub credential_id: String,
    /// The credential public key, the COSE_Key bytes as received.
    pub public_key: Vec<u8>,
    /// Its COSE algorithm (-7, -8 or -257).
    pub algorithm: i64,
    /// The signature counter at registration (0 if the authenticator
    /// keeps none).
    pub sign_count: u32,
    /// BE: the passkey may be synced (fixed for its lifetime).
    pub backup_eligible: bool,
    /// BS: the passkey is synced now.
    pub backed_up: bool,
    /// The authenticator model's AAGUID, 32 lower-case hex digits (all
    /// zero from most synced passkey providers). Not attested, so only a
    /// hint for naming the passkey.
    pub aaguid: String,
    /// Transport hints for `allowCredentials` (only §5.8.4 values, at most
    /// eight).
    pub transports: Vec<String>,
}

impl RegistrationResponse {
    /// Parses the posted JSON (at most 64 KiB): the member types, base64url
    /// fields, `id` equal to `rawId`, `type` `public-key`, and
    /// clientDataJSON as client data.
    pub fn parse(json: &str) -> Result<Self, WebauthnError> {
        let parsed: RegistrationJson = credential::parse_json(json)?;
        let raw_id = credential::credential_id(&parsed.id, &parsed.raw_id, &parsed.kind)?;
        let client_data_json =
            encoding::decode(&parsed.response.client_data_json, "clientDataJSON")?;
        let client_data = ClientData::parse(&client_data_json)?;
        let attestation_object =
            encoding::decode(&parsed.response.attestation_object, "attestationObject")?;
        let mut transports: Vec<String> = Vec::new();
        for transport in parsed.response.transports.unwrap_or_default() {
            if KNOWN_TRANSPORTS.contains(&transport.as_str())
                && !transports.contains(&transport)
                && transports.len() < MAX_TRANSPORTS
            {
                transports.push(transport);
            }
        }
        Ok(Self {
            raw_id,
            client_data,
            attestation_object,
            transports,
        })
    }

    /// The challenge clientDataJSON carries (base64url string as sent), so
    /// the server can find the stored one.
    pub fn challenge(&self) -> &str {
        &self.client_data.challenge
    }

    /// The §7.1 checks, in the specification's order:
    /// - client data: `C.type` is `webauthn.create`, `C.challenge` is
    ///   `expected_challenge`, `C.origin` is in `rp.origins`, and
    ///   `C.crossOrigin` is absent or false (`topOrigin` is ignored, as
    ///   ferrid is never framed);
    /// - "Perform CBOR decoding on the attestationObject field ... to
    ///   obtain the attestation statement format fmt, the authenticator
    ///   data authData, and the attestation statement attStmt";
    /// - authData: rpIdHash is SHA-256 of `rp.id`, UP and UV set, BS only
    ///   with BE, attested credential data present (AT), extensions a CBOR
    ///   map if ED, no bytes after;
    /// - the credential public key's alg is one ferrid offered and the key
    ///   is valid for it;
    /// - attestation: ferrid asks for `"none"` and makes no trust decision
    ///   on attestation, so `fmt` `"none"` must have an empty `attStmt`,
    ///   and any other format's statement is ignored, i.e. treated as
    ///   `"none"` (§7.1 allows accepting credentials with no trustworthy
    ///   attestation; the passkey is then self-attested at best);
    /// - "Verify that the credentialId is ≤ 1023 bytes" (checked while
    ///   parsing) and that it is the response's `rawId`.
    ///
    /// Whether the credential id is already registered (§7.1: "Verify that
    /// the credentialId is not yet registered") is for the caller to check.
    pub fn verify(
        &self,
        rp: &RelyingParty,
        expected_challenge: &str,
    ) -> Result<NewPasskey, WebauthnError> {
        self.client_data
            .check("webauthn.create", rp, expected_challenge)?;
        let attestation = AttestationObject::parse(&self.attestation_object)?;
        let auth_data = AuthenticatorData::parse(&attestation.auth_data)?;
        auth_data.check(rp)?;
        let attested = auth_data
            .attested
            .as_ref()
            .ok_or(WebauthnError::MissingCredentialData)?;
        let key = CoseKey::from_value(&attested.public_key)?;
        if attestation.fmt == "none" && !attestation.statement_empty {
            return Err(WebauthnError::Malformed(
                "attestation format none with a statement".into(),
            ));
        }
        if attested.credential_id != self.raw_id.as_slice() {
            return Err(WebauthnError::CredentialIdMismatch);
        }
        Ok(NewPasskey {
            credential_id: encoding::encode(attested.credential_id),
            public_key: attested.public_key_bytes.to_vec(),
            algorithm: key.algorithm,
            sign_count: auth_data.sign_count,
            backup_eligible: auth_data.backup_eligible(),
            backed_up: auth_data.backed_up(),
            aaguid: attested
                .aaguid
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect(),
            transports: self.transports.clone(),
        })
    }
}

/// The attestation object (§6.5.4): a CBOR map of `fmt`, `attStmt` and
/// `authData`.
struct AttestationObject {
    fmt: String,
    statement_empty: bool,
    auth_data: Vec<u8>,
}

impl AttestationObject {
    /// Decodes it: exactly one CBOR map, unique keys, `fmt` a text string,
    /// `attStmt` a map, `authData` a byte string. Other keys are ignored,
    /// as future revisions may add some.
    fn parse(bytes: &[u8]) -> Result<Self, WebauthnError> {
        let value = cbor::decode_exact(bytes, "attestation object")?;
        let entries = cbor::unique_map(&value, "attestation object")?;
        let (mut fmt, mut statement, mut auth_data) = (None, None, None);
        for (key, value) in entries {
            match key.as_text() {
                Some("fmt") => fmt = value.as_text(),
                Some("attStmt") => statement = value.as_map(),
                Some("authData") => auth_data = value.as_bytes(),
                _ => {}
            }
        }
        match (fmt, statement, auth_data) {
            (Some(fmt), Some(statement), Some(auth_data)) if !fmt.is_empty() => Ok(Self {
                fmt: fmt.to_owned(),
                statement_empty: statement.is_empty(),
                auth_data: auth_data.clone(),
            }),
            _ => Err(WebauthnError::Malformed(
                "attestation object lacks fmt, attStmt or authData".into(),
            )),
        }
    }
}
