//! Checking the DPoP proof (RFC 9449 §7) that must come with a token
//! bound to a key (one whose `cnf.jkt` is set): the proof is a JWT signed
//! by the key in its own header, whose thumbprint must be the token's
//! `cnf.jkt`, made for this method and URL, recently, for this token
//! (`ath`), and never seen before.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::ThumbprintHash;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// How far a proof's `iat` may be from this service's clock, seconds.
const WINDOW: i64 = 60;
/// Proof ids remembered (a bound on memory under a flood).
const MAX_SEEN: usize = 100_000;

/// Algorithms a proof may use (asymmetric only).
const ACCEPTED: [Algorithm; 4] = [
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
];

#[derive(Deserialize)]
struct ProofClaims {
    jti: String,
    htm: String,
    htu: String,
    iat: i64,
    ath: Option<String>,
}

/// Remembers the proofs it accepted until they are too old to be
/// accepted again. One process's memory: a service running on several
/// instances would keep them in a store they share.
#[derive(Default)]
pub struct SeenProofs(Mutex<HashMap<String, i64>>);

impl SeenProofs {
    /// Checks `proof` for a request `method` `url` carrying
    /// `access_token`, bound to the key with thumbprint `jkt`.
    pub fn check(
        &self,
        proof: &str,
        method: &str,
        url: &str,
        access_token: &str,
        jkt: &str,
    ) -> Result<(), String> {
        let invalid = |why: &str| why.to_owned();
        let header = decode_header(proof).map_err(|_| invalid("the DPoP proof is not a JWT"))?;
        if header.typ.as_deref() != Some("dpop+jwt") || !ACCEPTED.contains(&header.alg) {
            return Err(invalid("the DPoP proof has the wrong typ or alg"));
        }
        let jwk = header
            .jwk
            .ok_or_else(|| invalid("the DPoP proof has no jwk"))?;
        if jwk.thumbprint(ThumbprintHash::SHA256).ok().as_deref() != Some(jkt) {
            return Err(invalid("the DPoP proof is not made with the token's key"));
        }
        let key =
            DecodingKey::from_jwk(&jwk).map_err(|_| invalid("the DPoP proof's jwk is unusable"))?;
        let mut validation = Validation::new(header.alg);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        let claims = decode::<ProofClaims>(proof, &key, &validation)
            .map_err(|_| invalid("the DPoP proof's signature or claims are wrong"))?
            .claims;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs() as i64);
        let ath = URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()));
        if claims.htm != method
            || claims.htu != url
            || (claims.iat - now).abs() > WINDOW
            || claims.ath.as_deref() != Some(ath.as_str())
        {
            return Err(invalid("the DPoP proof is not for this request"));
        }
        let mut seen = self.0.lock().map_err(|_| invalid("busy"))?;
        seen.retain(|_, until| *until > now);
        if seen.len() >= MAX_SEEN {
            return Err(invalid("too many DPoP proofs; try again"));
        }
        if seen
            .insert(format!("{jkt}:{}", claims.jti), now + 2 * WINDOW)
            .is_some()
        {
            return Err(invalid("the DPoP proof was used before"));
        }
        Ok(())
    }
}
