//! A software authenticator for tests (this crate's, and the workspace's
//! integration tests through the `test-authenticator` feature): it answers
//! the options [`super::CreationOptions::to_json`] and
//! [`super::request_options`] produce with the JSON a browser would post,
//! byte for byte in the form browsers use (clientDataJSON members in the
//! browsers' order, attestation format `none`).

// Test support only (never built into the server): a failure here is a
// bug in the test using it, and a panic with a message is the clearest
// report of that.
#![allow(clippy::expect_used)]

use ciborium::Value;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::{Padding, Rsa};
use openssl::sign::Signer;
use rand::rngs::OsRng;
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::cose::{EDDSA, ES256, RS256};
use super::encoding;

/// A passkey authenticator in software, holding one credential.
#[derive(Debug)]
pub struct SoftAuthenticator {
    key: PKey<Private>,
    algorithm: i64,
    credential_id: Vec<u8>,
    user_handle: Vec<u8>,
    /// The signature counter, as sent in the next response.
    pub counter: u32,
    /// Whether [`Self::assert`] increments `counter` first (as hardware
    /// keys do); false models synced passkeys, whose counter stays 0.
    pub counting: bool,
    /// The BE flag.
    pub backup_eligible: bool,
    /// The BS flag.
    pub backed_up: bool,
    /// The UV flag.
    pub user_verified: bool,
    /// The UP flag.
    pub user_present: bool,
    /// The AAGUID sent at registration.
    pub aaguid: [u8; 16],
    /// Authenticator extension outputs, a CBOR map's bytes; when set they
    /// are appended to authenticator data and ED is set.
    pub extensions: Option<Vec<u8>>,
    /// The transports reported at registration.
    pub transports: Vec<String>,
}

impl SoftAuthenticator {
    fn new(key: PKey<Private>, algorithm: i64) -> Self {
        let mut credential_id = vec![0u8; 16];
        OsRng.fill_bytes(&mut credential_id);
        Self {
            key,
            algorithm,
            credential_id,
            user_handle: Vec::new(),
            counter: 0,
            counting: true,
            backup_eligible: false,
            backed_up: false,
            user_verified: true,
            user_present: true,
            aaguid: [0; 16],
            extensions: None,
            transports: vec!["internal".into(), "hybrid".into()],
        }
    }

    /// An authenticator with a P-256 key (COSE ES256), the common case.
    pub fn es256() -> Self {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("P-256");
        let key = EcKey::generate(&group).expect("P-256 key");
        Self::new(PKey::from_ec_key(key).expect("P-256 key"), ES256)
    }

    /// An authenticator with an Ed25519 key (COSE EdDSA).
    pub fn ed25519() -> Self {
        Self::new(PKey::generate_ed25519().expect("Ed25519 key"), EDDSA)
    }

    /// An authenticator with a 2048-bit RSA key (COSE RS256), as Windows
    /// Hello uses.
    pub fn rs256() -> Self {
        let key = Rsa::generate(2048).expect("RSA key");
        Self::new(PKey::from_rsa(key).expect("RSA key"), RS256)
    }

    /// The credential id, base64url.
    pub fn credential_id(&self) -> String {
        encoding::encode(&self.credential_id)
    }

    /// The COSE_Key of the public key, labels in CTAP2 canonical order.
    pub fn cose_key(&self) -> Vec<u8> {
        let int = |n: i64| Value::Integer(n.into());
        let entries = match self.algorithm {
            ES256 => {
                let ec = self.key.ec_key().expect("EC key");
                let mut context = openssl::bn::BigNumContext::new().expect("context");
                let mut x = openssl::bn::BigNum::new().expect("bignum");
                let mut y = openssl::bn::BigNum::new().expect("bignum");
                ec.public_key()
                    .affine_coordinates(ec.group(), &mut x, &mut y, &mut context)
                    .expect("coordinates");
                vec![
                    (int(1), int(2)),
                    (int(3), int(ES256)),
                    (int(-1), int(1)),
                    (int(-2), Value::Bytes(x.to_vec_padded(32).expect("x"))),
                    (int(-3), Value::Bytes(y.to_vec_padded(32).expect("y"))),
                ]
            }
            EDDSA => vec![
                (int(1), int(1)),
                (int(3), int(EDDSA)),
                (int(-1), int(6)),
                (
                    int(-2),
                    Value::Bytes(self.key.raw_public_key().expect("Ed25519")),
                ),
            ],
            _ => {
                let rsa = self.key.rsa().expect("RSA key");
                vec![
                    (int(1), int(3)),
                    (int(3), int(RS256)),
                    (int(-1), Value::Bytes(rsa.n().to_vec())),
                    (int(-2), Value::Bytes(rsa.e().to_vec())),
                ]
            }
        };
        cbor(&Value::Map(entries))
    }

    /// The JSON the browser would post for `navigator.credentials.create()`
    /// with these options (it reads `challenge`, `rp.id` and `user.id`),
    /// from a page at `origin`.
    pub fn register(&mut self, options: &serde_json::Value, origin: &str) -> String {
        let challenge = text(options, "/challenge");
        let rp_id = text(options, "/rp/id");
        self.user_handle = encoding::decode(text(options, "/user/id"), "user.id").expect("user.id");
        let client_data = client_data("webauthn.create", challenge, origin);
        let auth_data = self.auth_data(rp_id, true);
        let attestation_object = cbor(&Value::Map(vec![
            (Value::Text("fmt".into()), Value::Text("none".into())),
            (Value::Text("attStmt".into()), Value::Map(Vec::new())),
            (Value::Text("authData".into()), Value::Bytes(auth_data)),
        ]));
        let id = self.credential_id();
        json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "clientDataJSON": encoding::encode(client_data.as_bytes()),
                "attestationObject": encoding::encode(&attestation_object),
                "transports": self.transports,
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        })
        .to_string()
    }

    /// The JSON the browser would post for `navigator.credentials.get()`
    /// with these options (it reads `challenge` and `rpId`), from a page
    /// at `origin`. Increments `counter` first when `counting`.
    pub fn assert(&mut self, options: &serde_json::Value, origin: &str) -> String {
        if self.counting {
            self.counter = self.counter.wrapping_add(1);
        }
        let challenge = text(options, "/challenge");
        let rp_id = text(options, "/rpId");
        let client_data = client_data("webauthn.get", challenge, origin);
        let auth_data = self.auth_data(rp_id, false);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(client_data.as_bytes()));
        let signature = self.sign(&signed);
        let id = self.credential_id();
        let mut response = json!({
            "clientDataJSON": encoding::encode(client_data.as_bytes()),
            "authenticatorData": encoding::encode(&auth_data),
            "signature": encoding::encode(&signature),
        });
        if !self.user_handle.is_empty() {
            response["userHandle"] = json!(encoding::encode(&self.user_handle));
        }
        json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": response,
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        })
        .to_string()
    }

    /// Signs as the credential's algorithm does: DER ECDSA over SHA-256,
    /// pure Ed25519, or PKCS#1 v1.5 over SHA-256.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        if self.algorithm == EDDSA {
            let mut signer = Signer::new_without_digest(&self.key).expect("signer");
            return signer.sign_oneshot_to_vec(message).expect("signature");
        }
        let mut signer = Signer::new(MessageDigest::sha256(), &self.key).expect("signer");
        if self.algorithm == RS256 {
            signer.set_rsa_padding(Padding::PKCS1).expect("padding");
        }
        signer.update(message).expect("signing");
        signer.sign_to_vec().expect("signature")
    }

    /// Authenticator data (§6.1) for `rp_id`, with attested credential
    /// data at registration.
    fn auth_data(&self, rp_id: &str, attested: bool) -> Vec<u8> {
        let mut flags = 0u8;
        for (set, bit) in [
            (self.user_present, 0x01),
            (self.user_verified, 0x04),
            (self.backup_eligible, 0x08),
            (self.backed_up, 0x10),
            (attested, 0x40),
            (self.extensions.is_some(), 0x80),
        ] {
            if set {
                flags |= bit;
            }
        }
        let mut data = Sha256::digest(rp_id.as_bytes()).to_vec();
        data.push(flags);
        data.extend_from_slice(&self.counter.to_be_bytes());
        if attested {
            data.extend_from_slice(&self.aaguid);
            let length = u16::try_from(self.credential_id.len()).expect("credential id length");
            data.extend_from_slice(&length.to_be_bytes());
            data.extend_from_slice(&self.credential_id);
            data.extend_from_slice(&self.cose_key());
        }
        if let Some(extensions) = &self.extensions {
            data.extend_from_slice(extensions);
        }
        data
    }
}

/// clientDataJSON exactly as browsers serialise it (§5.8.1.1: type,
/// challenge, origin, crossOrigin, in that order).
fn client_data(kind: &str, challenge: &str, origin: &str) -> String {
    let quoted = |text: &str| serde_json::to_string(text).expect("JSON string");
    format!(
        r#"{{"type":{},"challenge":{},"origin":{},"crossOrigin":false}}"#,
        quoted(kind),
        quoted(challenge),
        quoted(origin)
    )
}

fn text<'a>(options: &'a serde_json::Value, pointer: &str) -> &'a str {
    options
        .pointer(pointer)
        .and_then(serde_json::Value::as_str)
        .expect("a string member the options must have")
}

/// CBOR encoding of a value.
pub fn cbor(value: &Value) -> Vec<u8> {
    let mut bytes = Vec::new();
    ciborium::ser::into_writer(value, &mut bytes).expect("CBOR encoding");
    bytes
}
