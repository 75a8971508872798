//! The keyring: signing keys decrypted into memory, the JWKS built from
//! them, and JWT signing and verification.

use josekit::jwk::alg::ed::EdCurve;
use josekit::jwk::Jwk;
use josekit::jwk::KeyPair;
use josekit::jws::{EdDSA, JwsHeader, JwsSigner, JwsVerifier, ES256, PS256, RS256};
use josekit::jwt::{self, JwtPayload};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{TokenError, TokenResult};
use crate::master_key::MasterKey;

/// RSA modulus size for generated keys.
const RSA_BITS: u32 = 2048;

/// A JWS algorithm ferrid signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256, the default: every client library
    /// supports it.
    Rs256,
    /// RSASSA-PSS with SHA-256.
    Ps256,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// EdDSA on Ed25519.
    EdDsa,
}

impl SigningAlgorithm {
    /// Every supported algorithm, the default first.
    pub const ALL: [SigningAlgorithm; 4] = [
        SigningAlgorithm::Rs256,
        SigningAlgorithm::Ps256,
        SigningAlgorithm::Es256,
        SigningAlgorithm::EdDsa,
    ];

    /// The JWA name.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithm::Rs256 => "RS256",
            SigningAlgorithm::Ps256 => "PS256",
            SigningAlgorithm::Es256 => "ES256",
            SigningAlgorithm::EdDsa => "EdDSA",
        }
    }

    /// Parses a JWA name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.as_str() == name)
    }
}

impl std::fmt::Display for SigningAlgorithm {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Lifecycle state of a key: next → current → retired → (deleted), or
/// revoked at any time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published in the JWKS, not yet signing: caches learn it first.
    Next,
    /// Signs new tokens.
    Current,
    /// No longer signs; published until every token it signed has expired.
    Retired,
    /// Withdrawn at once: neither published nor accepted.
    Revoked,
}

impl KeyState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Current => "current",
            KeyState::Retired => "retired",
            KeyState::Revoked => "revoked",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        [
            KeyState::Next,
            KeyState::Current,
            KeyState::Retired,
            KeyState::Revoked,
        ]
        .into_iter()
        .find(|state| state.as_str() == name)
    }

    /// Whether keys in this state are in the JWKS and verify tokens.
    pub fn is_published(self) -> bool {
        self != KeyState::Revoked
    }
}

/// A key as stored: public JWK in clear, private key sealed.
#[derive(Debug, Clone)]
pub struct StoredKey {
    /// Key id.
    pub kid: String,
    /// Signing algorithm.
    pub alg: SigningAlgorithm,
    /// Lifecycle state.
    pub state: KeyState,
    /// Public JWK (JSON).
    pub public_jwk: String,
    /// PKCS#8 DER private key sealed under the master key with the kid as
    /// associated data.
    pub private_key_sealed: String,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// When it starts (or started) signing, Unix seconds.
    pub activates_at: i64,
    /// When it stopped signing, Unix seconds.
    pub retired_at: Option<i64>,
}

/// Generates a new key for `alg` in `state`, signing from `activates_at`,
/// and seals its private half under the master key.
pub fn generate_key(
    alg: SigningAlgorithm,
    master_key: &MasterKey,
    state: KeyState,
    now: i64,
    activates_at: i64,
) -> TokenResult<StoredKey> {
    let kid = format!("k{}", random_id());
    let failed = |error: josekit::JoseError| TokenError::Sign(error.to_string());
    let key_pair: Box<dyn KeyPair> = match alg {
        SigningAlgorithm::Rs256 => Box::new(RS256.generate_key_pair(RSA_BITS).map_err(failed)?),
        SigningAlgorithm::Ps256 => Box::new(PS256.generate_key_pair(RSA_BITS).map_err(failed)?),
        SigningAlgorithm::Es256 => Box::new(ES256.generate_key_pair().map_err(failed)?),
        SigningAlgorithm::EdDsa => {
            Box::new(EdDSA.generate_key_pair(EdCurve::Ed25519).map_err(failed)?)
        }
    };
    let mut public_jwk = key_pair.to_jwk_public_key();
    public_jwk.set_key_id(&kid);
    public_jwk.set_algorithm(alg.as_str());
    public_jwk.set_key_use("sig");
    let private_der = key_pair.to_der_private_key();
    Ok(StoredKey {
        private_key_sealed: master_key.seal(&private_der, &kid)?,
        public_jwk: public_jwk.to_string(),
        alg,
        state,
        kid,
        created_at: now,
        activates_at,
        retired_at: None,
    })
}

fn random_id() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[derive(Debug)]
struct LoadedKey {
    kid: String,
    alg: SigningAlgorithm,
    state: KeyState,
    activates_at: i64,
    signer: Box<dyn JwsSigner>,
    verifier: Box<dyn JwsVerifier>,
    public_jwk: Jwk,
}

/// Keys decrypted into memory, ready to sign and verify.
#[derive(Debug)]
pub struct Keyring {
    keys: Vec<LoadedKey>,
    jwks: Vec<u8>,
}

impl Keyring {
    /// Decrypts and loads stored keys. Any key that cannot be decrypted or
    /// parsed fails the whole load: a wrong master key must stop start-up.
    pub fn load(stored: &[StoredKey], master_key: &MasterKey) -> TokenResult<Keyring> {
        let keys = unrevoked(stored)
            .map(|key| load_key(key, master_key))
            .collect::<TokenResult<Vec<_>>>()?;
        Self::from_keys(keys)
    }

    /// Like [`load`](Self::load), but leaves out keys that cannot be
    /// decrypted or parsed and returns them with the reason: for reloads on
    /// a running node, where one bad row must not freeze the keyring.
    pub fn load_readable(
        stored: &[StoredKey],
        master_key: &MasterKey,
    ) -> (Keyring, Vec<(String, TokenError)>) {
        let mut keys = Vec::new();
        let mut unreadable = Vec::new();
        for key in unrevoked(stored) {
            match load_key(key, master_key) {
                Ok(loaded) => keys.push(loaded),
                Err(error) => unreadable.push((key.kid.clone(), error)),
            }
        }
        match Self::from_keys(keys) {
            Ok(keyring) => (keyring, unreadable),
            Err(error) => {
                unreadable.push(("(jwks)".to_owned(), error));
                (
                    Keyring {
                        keys: Vec::new(),
                        jwks: b"{\"keys\":[]}".to_vec(),
                    },
                    unreadable,
                )
            }
        }
    }

    fn from_keys(keys: Vec<LoadedKey>) -> TokenResult<Keyring> {
        let jwks = serde_json::json!({
            "keys": keys.iter().map(|key| key.public_jwk.as_ref()).collect::<Vec<_>>()
        });
        let jwks =
            serde_json::to_vec(&jwks).map_err(|error| TokenError::Sign(error.to_string()))?;
        Ok(Keyring { keys, jwks })
    }

    /// The JWKS document (public members only), serialised once.
    pub fn jwks(&self) -> &[u8] {
        &self.jwks
    }

    /// Algorithms that have a key able to sign, in [`SigningAlgorithm::ALL`] order.
    pub fn signing_algorithms(&self) -> Vec<SigningAlgorithm> {
        SigningAlgorithm::ALL
            .into_iter()
            .filter(|alg| {
                self.keys
                    .iter()
                    .any(|key| key.alg == *alg && key.state == KeyState::Current)
            })
            .collect()
    }

    fn signing_key(&self, alg: SigningAlgorithm) -> TokenResult<&LoadedKey> {
        // If two keys are current for a moment (an emergency rotation seen
        // by this node before the old key's retirement), the newer signs.
        self.keys
            .iter()
            .filter(|key| key.alg == alg && key.state == KeyState::Current)
            .max_by_key(|key| key.activates_at)
            .ok_or(TokenError::NoSigningKey)
    }

    /// Signs `claims` as a JWT with header `typ`, using the current key for `alg`.
    pub fn sign(
        &self,
        claims: &impl Serialize,
        typ: &str,
        alg: SigningAlgorithm,
    ) -> TokenResult<String> {
        let key = self.signing_key(alg)?;
        let map = match serde_json::to_value(claims) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => {
                return Err(TokenError::Sign(
                    "claims must serialise to an object".into(),
                ))
            }
        };
        let payload =
            JwtPayload::from_map(map).map_err(|error| TokenError::Sign(error.to_string()))?;
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        header.set_key_id(&key.kid);
        jwt::encode_with_signer(&payload, &header, key.signer.as_ref())
            .map_err(|error| TokenError::Sign(error.to_string()))
    }

    /// Verifies a JWT signed by one of our keys with header `typ`, and
    /// returns its claims. Expiry and audience are the caller's to check.
    pub fn verify<T: DeserializeOwned>(&self, token: &str, typ: &str) -> TokenResult<T> {
        let (payload, header) = jwt::decode_with_verifier_selector(token, |header| {
            Ok(header
                .key_id()
                .and_then(|kid| self.keys.iter().find(|key| key.kid == kid))
                .map(|key| key.verifier.as_ref()))
        })
        .map_err(|_| TokenError::Invalid("signature"))?;
        if header.token_type() != Some(typ) {
            return Err(TokenError::Invalid("typ"));
        }
        serde_json::from_value(serde_json::Value::Object(payload.claims_set().clone()))
            .map_err(|_| TokenError::Invalid("claims"))
    }
}

/// Revoked keys are neither published nor accepted (and hold no private key).
fn unrevoked(stored: &[StoredKey]) -> impl Iterator<Item = &StoredKey> {
    stored.iter().filter(|key| key.state.is_published())
}

fn load_key(stored: &StoredKey, master_key: &MasterKey) -> TokenResult<LoadedKey> {
    let key_error = |reason: String| TokenError::Key {
        kid: stored.kid.clone(),
        reason,
    };
    let (alg, state) = (stored.alg, stored.state);
    let private_der = master_key.open(&stored.private_key_sealed, &stored.kid)?;
    let public_jwk = Jwk::from_bytes(stored.public_jwk.as_bytes())
        .map_err(|error| key_error(error.to_string()))?;
    let key_failed = |error: josekit::JoseError| key_error(error.to_string());
    let (signer, verifier): (Box<dyn JwsSigner>, Box<dyn JwsVerifier>) = match alg {
        SigningAlgorithm::Rs256 => (
            Box::new(RS256.signer_from_der(&private_der).map_err(key_failed)?),
            Box::new(RS256.verifier_from_jwk(&public_jwk).map_err(key_failed)?),
        ),
        SigningAlgorithm::Ps256 => (
            Box::new(PS256.signer_from_der(&private_der).map_err(key_failed)?),
            Box::new(PS256.verifier_from_jwk(&public_jwk).map_err(key_failed)?),
        ),
        SigningAlgorithm::Es256 => (
            Box::new(ES256.signer_from_der(&private_der).map_err(key_failed)?),
            Box::new(ES256.verifier_from_jwk(&public_jwk).map_err(key_failed)?),
        ),
        SigningAlgorithm::EdDsa => (
            Box::new(EdDSA.signer_from_der(&private_der).map_err(key_failed)?),
            Box::new(EdDSA.verifier_from_jwk(&public_jwk).map_err(key_failed)?),
        ),
    };
    Ok(LoadedKey {
        kid: stored.kid.clone(),
        alg,
        state,
        activates_at: stored.activates_at,
        signer,
        verifier,
        public_jwk,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn master() -> MasterKey {
        MasterKey::from_base64(&base64::engine::general_purpose::STANDARD.encode([3u8; 32]))
            .unwrap()
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for alg in SigningAlgorithm::ALL {
            assert_eq!(SigningAlgorithm::parse(alg.as_str()), Some(alg));
            assert_eq!(alg.to_string(), alg.as_str());
        }
        assert_eq!(
            SigningAlgorithm::parse("RS256"),
            Some(SigningAlgorithm::Rs256)
        );
        assert_eq!(SigningAlgorithm::parse("HS256"), None);
        assert_eq!(SigningAlgorithm::parse("rs256"), None);
        for state in [
            KeyState::Next,
            KeyState::Current,
            KeyState::Retired,
            KeyState::Revoked,
        ] {
            assert_eq!(KeyState::parse(state.as_str()), Some(state));
        }
        assert_eq!(KeyState::Current.as_str(), "current");
        assert_eq!(KeyState::parse("deleted"), None);
    }

    #[test]
    fn signs_and_verifies_with_public_only_jwks() {
        let stored = generate_key(
            SigningAlgorithm::Rs256,
            &master(),
            KeyState::Current,
            100,
            100,
        )
        .unwrap();
        let keyring = Keyring::load(std::slice::from_ref(&stored), &master()).unwrap();
        let token = keyring
            .sign(
                &serde_json::json!({"sub": "u"}),
                "JWT",
                SigningAlgorithm::Rs256,
            )
            .unwrap();
        let claims: serde_json::Value = keyring.verify(&token, "JWT").unwrap();
        assert_eq!(claims["sub"], "u");
        assert!(matches!(
            keyring.verify::<serde_json::Value>(&token, "at+jwt"),
            Err(TokenError::Invalid("typ"))
        ));

        let jwks: serde_json::Value = serde_json::from_slice(keyring.jwks()).unwrap();
        let jwk = &jwks["keys"][0];
        assert_eq!(jwk["kid"], stored.kid.as_str());
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["alg"], "RS256");
        assert_eq!(jwk["use"], "sig");
        for private_member in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(jwk.get(private_member).is_none(), "{private_member} leaked");
        }
    }

    #[test]
    fn foreign_and_tampered_tokens_fail() {
        let ours = Keyring::load(
            &[generate_key(SigningAlgorithm::Rs256, &master(), KeyState::Current, 1, 1).unwrap()],
            &master(),
        )
        .unwrap();
        let foreign = Keyring::load(
            &[generate_key(SigningAlgorithm::Rs256, &master(), KeyState::Current, 1, 1).unwrap()],
            &master(),
        )
        .unwrap();
        let token = foreign
            .sign(
                &serde_json::json!({"sub": "u"}),
                "JWT",
                SigningAlgorithm::Rs256,
            )
            .unwrap();
        assert!(ours.verify::<serde_json::Value>(&token, "JWT").is_err());
        assert!(ours.verify::<serde_json::Value>("a.b.c", "JWT").is_err());
        assert!(ours.verify::<serde_json::Value>("", "JWT").is_err());
    }

    #[test]
    fn wrong_master_key_fails_to_load() {
        let stored =
            generate_key(SigningAlgorithm::Rs256, &master(), KeyState::Current, 1, 1).unwrap();
        let other =
            MasterKey::from_base64(&base64::engine::general_purpose::STANDARD.encode([4u8; 32]))
                .unwrap();
        assert!(matches!(
            Keyring::load(&[stored], &other),
            Err(TokenError::Unseal)
        ));
    }

    #[test]
    fn every_algorithm_signs_and_verifies() {
        for alg in SigningAlgorithm::ALL {
            let stored = generate_key(alg, &master(), KeyState::Current, 1, 1).unwrap();
            let keyring = Keyring::load(std::slice::from_ref(&stored), &master()).unwrap();
            assert_eq!(keyring.signing_algorithms(), vec![alg]);
            let token = keyring
                .sign(&serde_json::json!({"sub": "u"}), "JWT", alg)
                .unwrap();
            let claims: serde_json::Value = keyring.verify(&token, "JWT").unwrap();
            assert_eq!(claims["sub"], "u", "{alg}");
            let jwks: serde_json::Value = serde_json::from_slice(keyring.jwks()).unwrap();
            assert_eq!(jwks["keys"][0]["alg"], alg.as_str());
            assert!(
                jwks["keys"][0].get("d").is_none(),
                "{alg} leaks its private key"
            );
        }
    }

    #[test]
    fn states_decide_what_signs_and_what_is_published() {
        let old =
            generate_key(SigningAlgorithm::Es256, &master(), KeyState::Retired, 1, 1).unwrap();
        let current =
            generate_key(SigningAlgorithm::Es256, &master(), KeyState::Current, 2, 2).unwrap();
        let next = generate_key(SigningAlgorithm::Es256, &master(), KeyState::Next, 3, 10).unwrap();
        let revoked =
            generate_key(SigningAlgorithm::Es256, &master(), KeyState::Revoked, 4, 4).unwrap();
        let keyring = Keyring::load(
            &[old.clone(), current.clone(), next.clone(), revoked.clone()],
            &master(),
        )
        .unwrap();
        let token = keyring
            .sign(&serde_json::json!({}), "JWT", SigningAlgorithm::Es256)
            .unwrap();
        let header: serde_json::Value = {
            use base64::Engine;
            let part = token.split('.').next().unwrap();
            serde_json::from_slice(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(part)
                    .unwrap(),
            )
            .unwrap()
        };
        assert_eq!(
            header["kid"],
            current.kid.as_str(),
            "only the current key signs"
        );
        let jwks: serde_json::Value = serde_json::from_slice(keyring.jwks()).unwrap();
        let kids: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        assert!(kids.contains(&old.kid.as_str()) && kids.contains(&next.kid.as_str()));
        assert!(
            !kids.contains(&revoked.kid.as_str()),
            "revoked keys leave the JWKS"
        );
        // A token the retired key signed while it was current still verifies
        // (logout hints, UserInfo) until the key is deleted.
        let old_as_current = {
            let mut key = old.clone();
            key.state = KeyState::Current;
            Keyring::load(&[key], &master()).unwrap()
        };
        let earlier = old_as_current
            .sign(
                &serde_json::json!({"sub": "u"}),
                "JWT",
                SigningAlgorithm::Es256,
            )
            .unwrap();
        assert!(keyring.verify::<serde_json::Value>(&earlier, "JWT").is_ok());
        // A token signed by the revoked key no longer verifies.
        let revoked_only = Keyring::load(
            &[{
                let mut as_current = revoked.clone();
                as_current.state = KeyState::Current;
                as_current
            }],
            &master(),
        )
        .unwrap();
        let forged = revoked_only
            .sign(&serde_json::json!({}), "JWT", SigningAlgorithm::Es256)
            .unwrap();
        assert!(keyring.verify::<serde_json::Value>(&forged, "JWT").is_err());
    }

    #[test]
    fn reloads_leave_out_unreadable_keys() {
        let good =
            generate_key(SigningAlgorithm::EdDsa, &master(), KeyState::Current, 1, 1).unwrap();
        let mut bad =
            generate_key(SigningAlgorithm::Es256, &master(), KeyState::Current, 1, 1).unwrap();
        bad.private_key_sealed = good.private_key_sealed.clone();
        assert!(Keyring::load(&[good.clone(), bad.clone()], &master()).is_err());
        let (keyring, unreadable) = Keyring::load_readable(&[good, bad.clone()], &master());
        assert_eq!(keyring.signing_algorithms(), vec![SigningAlgorithm::EdDsa]);
        assert_eq!(unreadable.len(), 1);
        assert_eq!(unreadable[0].0, bad.kid);
    }
}
