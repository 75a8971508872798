//! DPoP proofs (RFC 9449 §4): a JWT the client signs with a key it holds,
//! carrying that key's public half in its header, for one HTTP request.
//! This checks the proof's form and signature and computes the key's
//! thumbprint (RFC 7638); what the claims must say (method, URL, time,
//! nonce, token hash) and whether the proof was seen before is the
//! server's decision.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwk::Jwk;
use josekit::jws::{EdDSA, JwsVerifier, ES256, PS256, RS256};
use josekit::jwt;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{TokenError, TokenResult};

/// The algorithms a proof may be signed with (asymmetric only, §4.2);
/// discovery lists them as `dpop_signing_alg_values_supported`.
pub const DPOP_ALGORITHMS: [&str; 4] = ["RS256", "PS256", "ES256", "EdDSA"];

/// The JOSE `typ` of a proof.
pub const DPOP_PROOF_TYPE: &str = "dpop+jwt";

/// Members only private keys have; a proof's `jwk` must not carry them.
const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];

/// A proof whose signature verified with the key in its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopProof {
    /// The JWK SHA-256 thumbprint of the proof's key (`cnf.jkt`).
    pub jkt: String,
    /// The claims it makes.
    pub claims: DpopClaims,
}

/// A proof's claims (RFC 9449 §4.2).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DpopClaims {
    /// Unique id, for replay detection.
    pub jti: String,
    /// The HTTP method of the request.
    pub htm: String,
    /// The URL of the request, without query and fragment.
    pub htu: String,
    /// When it was made, Unix seconds.
    pub iat: i64,
    /// Hash of the access token sent with it (at resource servers).
    #[serde(default)]
    pub ath: Option<String>,
    /// A nonce the server provided.
    #[serde(default)]
    pub nonce: Option<String>,
}

/// Verifies a proof's header and signature.
pub fn verify_proof(proof: &str) -> TokenResult<DpopProof> {
    let header = jwt::decode_header(proof).map_err(|_| TokenError::Invalid("header"))?;
    if header.claim("typ").and_then(Value::as_str) != Some(DPOP_PROOF_TYPE) {
        return Err(TokenError::Invalid("typ"));
    }
    let alg = header
        .claim("alg")
        .and_then(Value::as_str)
        .ok_or(TokenError::Invalid("alg"))?
        .to_owned();
    let key = header
        .claim("jwk")
        .and_then(Value::as_object)
        .ok_or(TokenError::Invalid("jwk"))?;
    if PRIVATE_MEMBERS
        .iter()
        .any(|member| key.contains_key(*member))
    {
        return Err(TokenError::Invalid("jwk"));
    }
    let jkt = thumbprint(key).ok_or(TokenError::Invalid("jwk"))?;
    let mut jwk = Jwk::from_map(key.clone()).map_err(|_| TokenError::Invalid("jwk"))?;
    // The verifier would insist on a kid in the header otherwise.
    jwk.set_parameter("kid", None)
        .map_err(|_| TokenError::Invalid("jwk"))?;
    let bad_key = |_| TokenError::Invalid("jwk");
    let verifier: Box<dyn JwsVerifier> = match alg.as_str() {
        "RS256" => Box::new(RS256.verifier_from_jwk(&jwk).map_err(bad_key)?),
        "PS256" => Box::new(PS256.verifier_from_jwk(&jwk).map_err(bad_key)?),
        "ES256" => Box::new(ES256.verifier_from_jwk(&jwk).map_err(bad_key)?),
        "EdDSA" => Box::new(EdDSA.verifier_from_jwk(&jwk).map_err(bad_key)?),
        _ => return Err(TokenError::Invalid("alg")),
    };
    let (payload, _) = jwt::decode_with_verifier(proof, verifier.as_ref())
        .map_err(|_| TokenError::Invalid("signature"))?;
    let claims = serde_json::from_value(Value::Object(payload.claims_set().clone()))
        .map_err(|_| TokenError::Invalid("claims"))?;
    Ok(DpopProof { jkt, claims })
}

/// The JWK SHA-256 thumbprint of a public key (RFC 7638): its required
/// members, in lexicographic order, without spaces, hashed.
pub fn thumbprint(key: &Map<String, Value>) -> Option<String> {
    let member = |name: &str| key.get(name).and_then(Value::as_str);
    let kty = member("kty")?;
    let required: &[&str] = match kty {
        "EC" => &["crv", "kty", "x", "y"],
        "RSA" => &["e", "kty", "n"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    };
    let mut canonical = Map::new();
    for name in required {
        canonical.insert((*name).to_owned(), Value::from(member(name)?));
    }
    // serde_json's map is ordered by key, and to_string adds no spaces.
    let text = Value::Object(canonical).to_string();
    Some(URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes())))
}

/// The `ath` of an access token: the base64url SHA-256 of its text.
pub fn access_token_hash_for_dpop(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use josekit::jws::JwsHeader;
    use josekit::jwt::JwtPayload;
    use serde_json::json;

    use super::*;

    fn proof_with(typ: &str, jwk: Value, signer: &dyn josekit::jws::JwsSigner) -> String {
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        header.set_claim("jwk", Some(jwk)).unwrap();
        let mut payload = JwtPayload::new();
        payload.set_jwt_id("j1");
        payload.set_claim("htm", Some(json!("POST"))).unwrap();
        payload
            .set_claim("htu", Some(json!("https://id.example/token")))
            .unwrap();
        payload.set_claim("iat", Some(json!(100))).unwrap();
        jwt::encode_with_signer(&payload, &header, signer).unwrap()
    }

    fn ec_key() -> (Box<dyn josekit::jws::JwsSigner>, Value) {
        let pair = ES256.generate_key_pair().unwrap();
        let public = serde_json::to_value(pair.to_jwk_public_key().as_ref()).unwrap();
        (
            Box::new(ES256.signer_from_jwk(&pair.to_jwk_private_key()).unwrap()),
            public,
        )
    }

    #[test]
    fn the_rfc_7638_example_thumbprint() {
        let key = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            thumbprint(key.as_object().unwrap()).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    #[test]
    fn a_proof_verifies_with_its_own_key() {
        let (signer, public) = ec_key();
        let proof = verify_proof(&proof_with(
            DPOP_PROOF_TYPE,
            public.clone(),
            signer.as_ref(),
        ))
        .unwrap();
        assert_eq!(proof.jkt, thumbprint(public.as_object().unwrap()).unwrap());
        assert_eq!(proof.claims.htm, "POST");
        assert_eq!(proof.claims.iat, 100);
    }

    #[test]
    fn wrong_type_foreign_key_or_private_key_is_refused() {
        let (signer, public) = ec_key();
        assert!(verify_proof(&proof_with("JWT", public, signer.as_ref())).is_err());
        let (_, other) = ec_key();
        assert!(verify_proof(&proof_with(DPOP_PROOF_TYPE, other, signer.as_ref())).is_err());
        let pair = ES256.generate_key_pair().unwrap();
        let private = serde_json::to_value(pair.to_jwk_private_key().as_ref()).unwrap();
        let signer = ES256.signer_from_jwk(&pair.to_jwk_private_key()).unwrap();
        assert!(verify_proof(&proof_with(DPOP_PROOF_TYPE, private, &signer)).is_err());
    }
}
