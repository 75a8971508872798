//! Client assertions (RFC 7523 JWTs) verified with a shared secret and
//! with a client's JWKS.

#![no_main]

use std::sync::OnceLock;

use ferrid_tokens::assertion::{verify_assertion, AssertionKey};
use libfuzzer_sys::fuzz_target;

/// A real public JWKS (EC and RSA keys) to verify against.
fn jwks() -> &'static str {
    static JWKS: OnceLock<String> = OnceLock::new();
    JWKS.get_or_init(|| {
        let master =
            ferrid_tokens::MasterKey::from_base64("AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=")
                .expect("master key");
        let keys: Vec<_> = [
            ferrid_tokens::SigningAlgorithm::Es256,
            ferrid_tokens::SigningAlgorithm::Rs256,
        ]
        .into_iter()
        .map(|alg| {
            ferrid_tokens::generate_key(alg, &master, ferrid_tokens::KeyState::Current, 0, 0)
                .expect("key")
        })
        .collect();
        let keyring = ferrid_tokens::Keyring::load(&keys, &master).expect("keyring");
        String::from_utf8(keyring.jwks().to_vec()).expect("utf-8")
    })
}

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    let _ = verify_assertion::<serde_json::Value>(
        &token,
        AssertionKey::Secret(b"a client secret of thirty-two by"),
    );
    let _ = verify_assertion::<serde_json::Value>(&token, AssertionKey::Jwks(jwks()));
});
