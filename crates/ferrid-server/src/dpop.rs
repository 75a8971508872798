//! DPoP (RFC 9449): checking the proof a request carries in its `DPoP`
//! header: signed by the key in its header (`ferrid_tokens::dpop`), for
//! this method and URL, recent, with a server nonce when nonces are
//! required, for the access token it comes with, and never seen before.
//! Replays are refused on any node: each proof's id is recorded in the
//! database until it could no longer be accepted.
//!
//! Nonces are stateless, so any node accepts another's: a nonce is a time
//! window and an HMAC of it under a key derived from the master key.

use actix_web::HttpRequest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ferrid_tokens::dpop::{access_token_hash_for_dpop, verify_proof};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::{ErrorCode, OAuthError};
use crate::state::AppState;

/// The request header that carries a proof.
pub const DPOP_HEADER: &str = "DPoP";
pub use crate::error::DPOP_NONCE_HEADER;
/// How far a proof's `iat` may be from the server's clock, seconds.
pub const PROOF_WINDOW: i64 = 60;
/// How long a nonce is good for: the window it was made in and the next.
const NONCE_WINDOW: i64 = 300;

/// A checked proof: the thumbprint of its key (`cnf.jkt`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proven {
    /// The JWK SHA-256 thumbprint of the proof's key.
    pub jkt: String,
}

/// Checks the request's proof, if it has one, for `url` (this server's
/// URL of the endpoint) and, at a resource, the `access_token` it
/// presents. `None` without a `DPoP` header.
pub async fn check(
    state: &AppState,
    http: &HttpRequest,
    url: &str,
    access_token: Option<&str>,
) -> Result<Option<Proven>, OAuthError> {
    let mut headers = http.headers().get_all(DPOP_HEADER);
    let Some(header) = headers.next() else {
        return Ok(None);
    };
    if headers.next().is_some() {
        return Err(invalid_proof("send one DPoP proof"));
    }
    let text = header
        .to_str()
        .map_err(|_| invalid_proof("the DPoP header is not a JWT"))?;
    let proof = verify_proof(text).map_err(|_| {
        invalid_proof("the DPoP proof is malformed or its signature does not verify")
    })?;
    let claims = &proof.claims;
    if claims.htm != http.method().as_str() {
        return Err(invalid_proof(
            "the DPoP proof's htm is not this request's method",
        ));
    }
    if claims.htu != url {
        return Err(invalid_proof(
            "the DPoP proof's htu is not this endpoint's URL",
        ));
    }
    let now = state.now();
    if (claims.iat - now).abs() > PROOF_WINDOW {
        return Err(invalid_proof(
            "the DPoP proof's iat is too far from the server's time",
        ));
    }
    if claims.jti.is_empty() || claims.jti.len() > 256 {
        return Err(invalid_proof("the DPoP proof's jti is missing or too long"));
    }
    match (access_token, &claims.ath) {
        (Some(token), Some(ath)) if *ath == access_token_hash_for_dpop(token) => {}
        (Some(_), _) => {
            return Err(invalid_proof(
                "the DPoP proof's ath is not the hash of the access token",
            ))
        }
        (None, _) => {}
    }
    if state.settings.dpop_nonce_required
        && !claims
            .nonce
            .as_deref()
            .is_some_and(|nonce| is_current_nonce(state, nonce, now))
    {
        return Err(OAuthError {
            dpop_nonce: Some(nonce(state)),
            ..OAuthError::new(
                ErrorCode::UseDpopNonce,
                "use the nonce in the DPoP-Nonce header in the DPoP proof",
            )
        });
    }
    // The insert is the check, so a proof replayed to two nodes at once
    // is accepted by one at most.
    let (replay_id, jti, until) = (
        format!("dpop:{}", proof.jkt),
        claims.jti.clone(),
        now + 2 * PROOF_WINDOW,
    );
    let fresh = state
        .db(move |store| store.record_client_assertion(&replay_id, &jti, until))
        .await?;
    if !fresh {
        return Err(invalid_proof("this DPoP proof was used before"));
    }
    Ok(Some(Proven { jkt: proof.jkt }))
}

/// The nonce to hand out now.
pub fn nonce(state: &AppState) -> String {
    let window = state.now().div_euclid(NONCE_WINDOW).to_be_bytes();
    let mut bytes = window.to_vec();
    bytes.extend_from_slice(&nonce_mac(state, &window).finalize().into_bytes()[..NONCE_TAG]);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Bytes of the HMAC a nonce keeps.
const NONCE_TAG: usize = 16;

fn nonce_mac(state: &AppState, window: &[u8]) -> Hmac<Sha256> {
    // HMAC pads a short key with zeros to its block; doing so here gives
    // the same MAC from a constructor that cannot fail.
    let mut block = Zeroizing::new([0u8; 64]);
    block[..32].copy_from_slice(state.subkey("dpop-nonce").as_ref());
    let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new(&(*block).into());
    mac.update(window);
    mac
}

/// Whether `nonce` was made by this deployment in this window or the last.
fn is_current_nonce(state: &AppState, nonce: &str, now: i64) -> bool {
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(nonce) else {
        return false;
    };
    let Some((window, tag)) = bytes.split_first_chunk::<8>() else {
        return false;
    };
    let current = now.div_euclid(NONCE_WINDOW);
    [current, current - 1].contains(&i64::from_be_bytes(*window))
        && tag.len() == NONCE_TAG
        && nonce_mac(state, window).verify_truncated_left(tag).is_ok()
}

/// `invalid_dpop_proof` (RFC 9449 §7.1).
pub fn invalid_proof(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidDpopProof, description)
}
