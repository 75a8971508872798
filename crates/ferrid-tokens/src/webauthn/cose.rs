//! Credential public keys as COSE_Key (RFC 9052 §7, RFC 9053; WebAuthn
//! §5.8.5) and the signatures they verify. Only ES256, EdDSA (Ed25519)
//! and RS256 are accepted: the algorithms ferrid offers in
//! `pubKeyCredParams`, which cover every passkey provider in use.

use ciborium::Value;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Public};
use openssl::rsa::{Padding, Rsa};
use openssl::sign::Verifier;

use super::cbor;
use super::WebauthnError;

/// COSE algorithm ES256: ECDSA with SHA-256 on P-256.
pub(super) const ES256: i64 = -7;
/// COSE algorithm EdDSA (here only with Ed25519).
pub(super) const EDDSA: i64 = -8;
/// COSE algorithm RS256: RSASSA-PKCS1-v1_5 with SHA-256.
pub(super) const RS256: i64 = -257;

/// The algorithms offered in `pubKeyCredParams`, most preferred first.
pub(super) const SUPPORTED_ALGORITHMS: [i64; 3] = [ES256, EDDSA, RS256];

// COSE key parameter labels (RFC 9052 §7.1, RFC 9053 §7).
const LABEL_KTY: i64 = 1;
const LABEL_ALG: i64 = 3;
const LABEL_CRV_OR_N: i64 = -1;
const LABEL_X_OR_E: i64 = -2;
const LABEL_Y: i64 = -3;

const KTY_OKP: i64 = 1;
const KTY_EC2: i64 = 2;
const KTY_RSA: i64 = 3;
const CRV_P256: i64 = 1;
const CRV_ED25519: i64 = 6;

/// RSA moduli below 2048 bits are breakable or close to it; above 8192
/// bits no authenticator makes them, and they only cost verification time.
const RSA_BITS: std::ops::RangeInclusive<i32> = 2048..=8192;
/// Public exponents are small in practice (65537); a huge one only makes
/// verification slow.
const RSA_MAX_EXPONENT_BITS: i32 = 64;

/// A credential public key, loaded and ready to verify with.
pub(super) struct CoseKey {
    pub(super) algorithm: i64,
    key: PKey<Public>,
}

impl std::fmt::Debug for CoseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoseKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl CoseKey {
    /// Loads a COSE_Key received at registration. §7.1: "Verify that the
    /// "alg" parameter in the credential public key in authData matches
    /// the alg attribute of one of the items in pkOptions.pubKeyCredParams."
    /// The key must also be of that algorithm's type and curve and load as
    /// a public key (points on the curve, sane RSA sizes).
    pub(super) fn from_value(value: &Value) -> Result<Self, WebauthnError> {
        let params = Params::read(value)?;
        let algorithm = params
            .int(LABEL_ALG)?
            .ok_or(WebauthnError::UnsupportedKey("no alg parameter"))?;
        let key = match algorithm {
            ES256 => ec2_p256(&params)?,
            EDDSA => okp_ed25519(&params)?,
            RS256 => rsa(&params)?,
            other => return Err(WebauthnError::UnsupportedAlgorithm(other)),
        };
        Ok(Self { algorithm, key })
    }

    /// Loads a stored COSE_Key (the bytes [`Self::from_value`] accepted at
    /// registration); any failure means the stored record is damaged.
    pub(super) fn from_stored(bytes: &[u8]) -> Result<Self, WebauthnError> {
        cbor::decode_exact(bytes, "stored public key")
            .and_then(|value| Self::from_value(&value))
            .map_err(|_| WebauthnError::InvalidStoredKey)
    }

    /// §7.2: "Using credentialRecord.publicKey, verify that sig is a valid
    /// signature over the binary concatenation of authData and hash."
    /// ES256 signatures are ASN.1 DER (§6.5.5), EdDSA and RS256 raw.
    pub(super) fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), WebauthnError> {
        let valid = match self.algorithm {
            EDDSA => Verifier::new_without_digest(&self.key)
                .and_then(|mut verifier| verifier.verify_oneshot(signature, message)),
            _ => Verifier::new(MessageDigest::sha256(), &self.key).and_then(|mut verifier| {
                if self.algorithm == RS256 {
                    verifier.set_rsa_padding(Padding::PKCS1)?;
                }
                verifier.update(message)?;
                verifier.verify(signature)
            }),
        };
        // A signature openssl cannot even parse is as bad as a wrong one.
        match valid {
            Ok(true) => Ok(()),
            Ok(false) | Err(_) => Err(WebauthnError::BadSignature),
        }
    }
}

/// The integer-labelled parameters of a COSE_Key map. Text labels are
/// private-use (RFC 9052 §7.1) and ignored.
struct Params<'a>(Vec<(i64, &'a Value)>);

impl<'a> Params<'a> {
    fn read(value: &'a Value) -> Result<Self, WebauthnError> {
        let entries = cbor::unique_map(value, "credential public key")?;
        let mut params = Vec::with_capacity(entries.len());
        for (label, value) in entries {
            if let Some(label) = label.as_integer() {
                let label = i64::try_from(label)
                    .map_err(|_| WebauthnError::UnsupportedKey("COSE label out of range"))?;
                params.push((label, value));
            }
        }
        Ok(Self(params))
    }

    fn get(&self, label: i64) -> Option<&'a Value> {
        self.0
            .iter()
            .find(|(candidate, _)| *candidate == label)
            .map(|(_, value)| *value)
    }

    fn int(&self, label: i64) -> Result<Option<i64>, WebauthnError> {
        self.get(label)
            .map(|value| {
                value
                    .as_integer()
                    .and_then(|int| i64::try_from(int).ok())
                    .ok_or(WebauthnError::UnsupportedKey("integer parameter expected"))
            })
            .transpose()
    }

    fn bytes(&self, label: i64, what: &'static str) -> Result<&'a [u8], WebauthnError> {
        self.get(label)
            .and_then(Value::as_bytes)
            .map(Vec::as_slice)
            .ok_or(WebauthnError::UnsupportedKey(what))
    }

    /// The key type and curve must be the algorithm's; a P-384 key
    /// claiming ES256, say, is refused.
    fn expect(&self, kty: i64, crv: Option<i64>) -> Result<(), WebauthnError> {
        if self.int(LABEL_KTY)? != Some(kty) {
            return Err(WebauthnError::UnsupportedKey("key type does not match alg"));
        }
        if let Some(crv) = crv {
            if self.int(LABEL_CRV_OR_N)? != Some(crv) {
                return Err(WebauthnError::UnsupportedKey("curve does not match alg"));
            }
        }
        Ok(())
    }
}

fn openssl_rejects(_: openssl::error::ErrorStack) -> WebauthnError {
    WebauthnError::UnsupportedKey("public key does not load")
}

/// ES256: EC2 key (kty 2) on P-256 (crv 1) with 32-byte x and y (the
/// point-compression form, y as a bool, is not used by WebAuthn).
fn ec2_p256(params: &Params<'_>) -> Result<PKey<Public>, WebauthnError> {
    params.expect(KTY_EC2, Some(CRV_P256))?;
    let x = params.bytes(LABEL_X_OR_E, "EC2 key without a 32-byte x")?;
    let y = params.bytes(LABEL_Y, "EC2 key without a 32-byte y")?;
    if x.len() != 32 || y.len() != 32 {
        return Err(WebauthnError::UnsupportedKey(
            "EC2 coordinates are not 32 bytes",
        ));
    }
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(openssl_rejects)?;
    let x = BigNum::from_slice(x).map_err(openssl_rejects)?;
    let y = BigNum::from_slice(y).map_err(openssl_rejects)?;
    // Refuses points off the curve, which would make invalid-curve
    // attacks possible on the key we store.
    let key = EcKey::from_public_key_affine_coordinates(&group, &x, &y)
        .map_err(|_| WebauthnError::UnsupportedKey("point is not on P-256"))?;
    key.check_key()
        .map_err(|_| WebauthnError::UnsupportedKey("point is not on P-256"))?;
    PKey::from_ec_key(key).map_err(openssl_rejects)
}

/// EdDSA: OKP key (kty 1) on Ed25519 (crv 6) with a 32-byte x.
fn okp_ed25519(params: &Params<'_>) -> Result<PKey<Public>, WebauthnError> {
    params.expect(KTY_OKP, Some(CRV_ED25519))?;
    let x = params.bytes(LABEL_X_OR_E, "OKP key without a 32-byte x")?;
    if x.len() != 32 {
        return Err(WebauthnError::UnsupportedKey("Ed25519 key is not 32 bytes"));
    }
    PKey::public_key_from_raw_bytes(x, Id::ED25519).map_err(openssl_rejects)
}

/// RS256: RSA key (kty 3) with modulus n and exponent e.
fn rsa(params: &Params<'_>) -> Result<PKey<Public>, WebauthnError> {
    params.expect(KTY_RSA, None)?;
    let n = BigNum::from_slice(params.bytes(LABEL_CRV_OR_N, "RSA key without n")?)
        .map_err(openssl_rejects)?;
    let e = BigNum::from_slice(params.bytes(LABEL_X_OR_E, "RSA key without e")?)
        .map_err(openssl_rejects)?;
    if !RSA_BITS.contains(&n.num_bits()) {
        return Err(WebauthnError::UnsupportedKey(
            "RSA modulus is not 2048 to 8192 bits",
        ));
    }
    // An even or tiny exponent is not an RSA public key anyone generated.
    if e.num_bits() < 2 || e.num_bits() > RSA_MAX_EXPONENT_BITS || !e.is_bit_set(0) {
        return Err(WebauthnError::UnsupportedKey("RSA exponent is unusable"));
    }
    let key = Rsa::from_public_components(n, e).map_err(openssl_rejects)?;
    PKey::from_rsa(key).map_err(openssl_rejects)
}
