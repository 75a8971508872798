//! `id_token_hint` JWTs (and any JWT ferrid verifies with its own
//! keyring: access tokens at UserInfo, introspection, revocation).

#![no_main]

use std::sync::OnceLock;

use ferrid_tokens::claims::{ACCESS_TOKEN_TYPE, ID_TOKEN_TYPE};
use ferrid_tokens::{AccessTokenClaims, IdTokenClaims, Keyring};
use libfuzzer_sys::fuzz_target;

fn keyring() -> &'static Keyring {
    static KEYRING: OnceLock<Keyring> = OnceLock::new();
    KEYRING.get_or_init(|| {
        let master =
            ferrid_tokens::MasterKey::from_base64("AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=")
                .expect("master key");
        let keys: Vec<_> = ferrid_tokens::SigningAlgorithm::ALL
            .into_iter()
            .map(|alg| {
                ferrid_tokens::generate_key(alg, &master, ferrid_tokens::KeyState::Current, 0, 0)
                    .expect("key")
            })
            .collect();
        Keyring::load(&keys, &master).expect("keyring")
    })
}

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    let _ = keyring().verify::<IdTokenClaims>(&token, ID_TOKEN_TYPE);
    let _ = keyring().verify::<AccessTokenClaims>(&token, ACCESS_TOKEN_TYPE);
});
