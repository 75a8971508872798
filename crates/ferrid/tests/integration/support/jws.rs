//! Signing JWTs as clients do (assertions, request objects), with fresh
//! keys of every algorithm ferrid accepts.

use josekit::jws::{JwsHeader, JwsSigner, ES256};
use josekit::jwt::{self, JwtPayload};
use serde_json::Value;

/// A JWT of `claims` signed by `signer`, with `kid` in its header if given.
pub fn signed_jwt(signer: &dyn JwsSigner, kid: Option<&str>, claims: Value) -> String {
    let mut header = JwsHeader::new();
    header.set_token_type("JWT");
    if let Some(kid) = kid {
        header.set_key_id(kid);
    }
    let Value::Object(map) = claims else {
        panic!("claims object")
    };
    jwt::encode_with_signer(&JwtPayload::from_map(map).unwrap(), &header, signer).unwrap()
}

/// A fresh key pair for `alg`: its signer, and its public JWK (with
/// `kid` `{alg}-key` and `alg`) as JSON.
pub fn key_of(alg: &str) -> (Box<dyn JwsSigner>, Value) {
    use josekit::jwk::alg::ed::EdCurve;
    use josekit::jws::{EdDSA, PS256, RS256};
    let (signer, mut public): (Box<dyn JwsSigner>, josekit::jwk::Jwk) = match alg {
        "RS256" => {
            let pair = RS256.generate_key_pair(2048).unwrap();
            let signer = RS256.signer_from_der(pair.to_der_private_key()).unwrap();
            (Box::new(signer), pair.to_jwk_public_key())
        }
        "PS256" => {
            let pair = PS256.generate_key_pair(2048).unwrap();
            let signer = PS256.signer_from_der(pair.to_der_private_key()).unwrap();
            (Box::new(signer), pair.to_jwk_public_key())
        }
        "ES256" => {
            let pair = ES256.generate_key_pair().unwrap();
            let signer = ES256.signer_from_der(pair.to_der_private_key()).unwrap();
            (Box::new(signer), pair.to_jwk_public_key())
        }
        "EdDSA" => {
            let pair = EdDSA.generate_key_pair(EdCurve::Ed25519).unwrap();
            let signer = EdDSA.signer_from_der(pair.to_der_private_key()).unwrap();
            (Box::new(signer), pair.to_jwk_public_key())
        }
        other => panic!("no key for {other}"),
    };
    public.set_key_id(format!("{alg}-key"));
    public.set_algorithm(alg);
    (signer, serde_json::to_value(public.as_ref()).unwrap())
}
