//! Verifying JWTs that clients sign to authenticate (RFC 7523): with the
//! client secret as an HMAC key (`client_secret_jwt`) or with one of the
//! client's public keys (`private_key_jwt`). Which claims must hold is the
//! server's decision; this only checks the signature.

use josekit::jwk::JwkSet;
use josekit::jws::{EdDSA, JwsVerifier, ES256, HS256, HS384, HS512, PS256, RS256};
use josekit::jwt;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{TokenError, TokenResult};

/// Every algorithm a client assertion may be signed with: HMAC with the
/// client secret for `client_secret_jwt`, the client's keys for
/// `private_key_jwt`. Discovery lists them.
pub const ASSERTION_ALGORITHMS: [&str; 7] = [
    "HS256", "HS384", "HS512", "RS256", "PS256", "ES256", "EdDSA",
];

/// The key a client assertion must verify with.
pub enum AssertionKey<'a> {
    /// The shared client secret (HS256, HS384, HS512).
    Secret(&'a [u8]),
    /// The client's JWKS (RS256, PS256, ES256, EdDSA).
    Jwks(&'a str),
}

/// Members that only private keys have; a client's registered JWKS must
/// hold public keys only.
const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];

/// Checks that `json` is a JWKS of public keys, each usable for signatures.
pub fn check_public_jwks(json: &str) -> Result<(), String> {
    let set =
        JwkSet::from_bytes(json.as_bytes()).map_err(|_| "not a JSON Web Key Set".to_owned())?;
    let keys = set.keys();
    if keys.is_empty() {
        return Err("the key set has no keys".into());
    }
    for key in keys {
        if PRIVATE_MEMBERS
            .iter()
            .any(|member| key.parameter(member).is_some())
        {
            return Err("the key set contains private key material".into());
        }
    }
    Ok(())
}

/// Verifies a client assertion's signature and returns its claims.
pub fn verify_assertion<T: DeserializeOwned>(token: &str, key: AssertionKey<'_>) -> TokenResult<T> {
    let header = jwt::decode_header(token).map_err(|_| TokenError::Invalid("header"))?;
    let alg = header
        .claim("alg")
        .and_then(Value::as_str)
        .ok_or(TokenError::Invalid("alg"))?
        .to_owned();
    let kid = header
        .claim("kid")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let bad_key = |_| TokenError::Invalid("key");
    let verifier: Box<dyn JwsVerifier> = match key {
        AssertionKey::Secret(secret) => match alg.as_str() {
            "HS256" => Box::new(HS256.verifier_from_bytes(secret).map_err(bad_key)?),
            "HS384" => Box::new(HS384.verifier_from_bytes(secret).map_err(bad_key)?),
            "HS512" => Box::new(HS512.verifier_from_bytes(secret).map_err(bad_key)?),
            _ => return Err(TokenError::Invalid("alg")),
        },
        AssertionKey::Jwks(json) => {
            let set =
                JwkSet::from_bytes(json.as_bytes()).map_err(|_| TokenError::Invalid("jwks"))?;
            let candidates = match &kid {
                Some(kid) => set.get(kid),
                None => set.keys(),
            };
            let mut jwk = candidates
                .into_iter()
                .find(|jwk| jwk.algorithm().is_none_or(|key_alg| key_alg == alg))
                .ok_or(TokenError::Invalid("kid"))?
                .clone();
            if kid.is_none() {
                // josekit's verifier insists on the key's kid in the header;
                // an assertion without one may use any key of the set.
                jwk.set_parameter("kid", None).map_err(bad_key)?;
            }
            let jwk = &jwk;
            match alg.as_str() {
                "RS256" => Box::new(RS256.verifier_from_jwk(jwk).map_err(bad_key)?),
                "PS256" => Box::new(PS256.verifier_from_jwk(jwk).map_err(bad_key)?),
                "ES256" => Box::new(ES256.verifier_from_jwk(jwk).map_err(bad_key)?),
                "EdDSA" => Box::new(EdDSA.verifier_from_jwk(jwk).map_err(bad_key)?),
                _ => return Err(TokenError::Invalid("alg")),
            }
        }
    };
    let (payload, _) = jwt::decode_with_verifier(token, verifier.as_ref())
        .map_err(|_| TokenError::Invalid("signature"))?;
    serde_json::from_value(Value::Object(payload.claims_set().clone()))
        .map_err(|_| TokenError::Invalid("claims"))
}

#[cfg(test)]
mod tests {
    use josekit::jwk::alg::ed::EdCurve;
    use josekit::jws::{EdDSA, ES256, RS256};
    use serde_json::json;

    use super::*;

    fn set_of(jwk: &josekit::jwk::Jwk) -> String {
        json!({ "keys": [serde_json::to_value(jwk.as_ref()).unwrap()] }).to_string()
    }

    #[test]
    fn public_key_sets_pass() {
        let ec = ES256.generate_key_pair().unwrap();
        assert_eq!(check_public_jwks(&set_of(&ec.to_jwk_public_key())), Ok(()));
        let ed = EdDSA.generate_key_pair(EdCurve::Ed25519).unwrap();
        assert_eq!(check_public_jwks(&set_of(&ed.to_jwk_public_key())), Ok(()));
    }

    #[test]
    fn private_or_symmetric_keys_and_garbage_are_refused() {
        let rsa = RS256.generate_key_pair(2048).unwrap();
        let ec = ES256.generate_key_pair().unwrap();
        let ed = EdDSA.generate_key_pair(EdCurve::Ed25519).unwrap();
        for private in [
            rsa.to_jwk_private_key(),
            ec.to_jwk_private_key(),
            ed.to_jwk_private_key(),
        ] {
            assert_eq!(
                check_public_jwks(&set_of(&private)),
                Err("the key set contains private key material".to_owned())
            );
        }
        let symmetric = json!({ "keys": [{ "kty": "oct", "k": "c2VjcmV0" }] }).to_string();
        assert!(check_public_jwks(&symmetric).is_err());
        assert!(check_public_jwks(r#"{"keys":[]}"#).is_err());
        assert!(check_public_jwks("not json").is_err());
    }
}
