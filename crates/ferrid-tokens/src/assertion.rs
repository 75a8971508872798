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

    #[derive(serde::Deserialize)]
    struct Claims {
        iss: String,
    }

    fn signed(signer: &dyn josekit::jws::JwsSigner, kid: Option<&str>) -> String {
        let mut header = josekit::jws::JwsHeader::new();
        if let Some(kid) = kid {
            header.set_key_id(kid);
        }
        let mut payload = josekit::jwt::JwtPayload::new();
        payload.set_issuer("app");
        josekit::jwt::encode_with_signer(&payload, &header, signer).unwrap()
    }

    fn verified(token: &str, key: AssertionKey<'_>) -> TokenResult<String> {
        verify_assertion::<Claims>(token, key).map(|claims| claims.iss)
    }

    #[test]
    fn every_hmac_algorithm_verifies_with_the_secret() {
        use josekit::jws::{HS256, HS384, HS512};
        let secret = [7u8; 64];
        let signers: [Box<dyn josekit::jws::JwsSigner>; 3] = [
            Box::new(HS256.signer_from_bytes(secret).unwrap()),
            Box::new(HS384.signer_from_bytes(secret).unwrap()),
            Box::new(HS512.signer_from_bytes(secret).unwrap()),
        ];
        for signer in &signers {
            let token = signed(signer.as_ref(), None);
            assert_eq!(
                verified(&token, AssertionKey::Secret(&secret)).unwrap(),
                "app"
            );
            assert!(verified(&token, AssertionKey::Secret(&[8u8; 64])).is_err());
        }
    }

    #[test]
    fn every_public_key_algorithm_verifies_with_its_key_only() {
        use josekit::jws::PS256;
        let rsa = RS256.generate_key_pair(2048).unwrap();
        let pss = PS256.generate_key_pair(2048).unwrap();
        let ec = ES256.generate_key_pair().unwrap();
        let ed = EdDSA.generate_key_pair(EdCurve::Ed25519).unwrap();
        let cases: [(&str, Box<dyn josekit::jws::JwsSigner>, josekit::jwk::Jwk); 4] = [
            (
                "RS256",
                Box::new(RS256.signer_from_der(rsa.to_der_private_key()).unwrap()),
                rsa.to_jwk_public_key(),
            ),
            (
                "PS256",
                Box::new(PS256.signer_from_der(pss.to_der_private_key()).unwrap()),
                pss.to_jwk_public_key(),
            ),
            (
                "ES256",
                Box::new(ES256.signer_from_der(ec.to_der_private_key()).unwrap()),
                ec.to_jwk_public_key(),
            ),
            (
                "EdDSA",
                Box::new(EdDSA.signer_from_der(ed.to_der_private_key()).unwrap()),
                ed.to_jwk_public_key(),
            ),
        ];
        for (alg, signer, mut public) in cases {
            public.set_key_id("k1");
            public.set_algorithm(alg);
            let jwks = set_of(&public);
            let token = signed(signer.as_ref(), Some("k1"));
            assert_eq!(
                verified(&token, AssertionKey::Jwks(&jwks)).unwrap(),
                "app",
                "{alg}"
            );
            let without_kid = signed(signer.as_ref(), None);
            assert!(
                verified(&without_kid, AssertionKey::Jwks(&jwks)).is_ok(),
                "{alg}"
            );
            // A public-key signature is no HMAC, and vice versa.
            assert!(
                verified(&token, AssertionKey::Secret(&[7u8; 64])).is_err(),
                "{alg}"
            );
        }
        let hmac = josekit::jws::HS256.signer_from_bytes([7u8; 64]).unwrap();
        let mut public = ec.to_jwk_public_key();
        public.set_key_id("k1");
        assert!(verified(
            &signed(&hmac, Some("k1")),
            AssertionKey::Jwks(&set_of(&public))
        )
        .is_err());
    }

    #[test]
    fn the_header_alg_must_be_the_keys() {
        use josekit::jws::PS256;
        let rsa = RS256.generate_key_pair(2048).unwrap();
        let mut public = rsa.to_jwk_public_key();
        public.set_key_id("k1");
        public.set_algorithm("RS256");
        let jwks = set_of(&public);
        let pss = PS256.signer_from_der(rsa.to_der_private_key()).unwrap();
        for kid in [Some("k1"), None] {
            let token = signed(&pss, kid);
            assert!(matches!(
                verified(&token, AssertionKey::Jwks(&jwks)),
                Err(TokenError::Invalid("kid"))
            ));
        }
        let rs = RS256.signer_from_der(rsa.to_der_private_key()).unwrap();
        assert!(verified(&signed(&rs, Some("k1")), AssertionKey::Jwks(&jwks)).is_ok());
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
