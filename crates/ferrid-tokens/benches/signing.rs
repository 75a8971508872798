//! Sign and verify an ID-token-sized JWT with each algorithm.
//! `cargo bench -p ferrid-tokens --bench signing`

// Tests, benchmarks and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use ferrid_tokens::{generate_key, IdTokenClaims, KeyState, Keyring, MasterKey, SigningAlgorithm};

fn claims() -> IdTokenClaims {
    IdTokenClaims {
        iss: "https://id.example.com".into(),
        sub: "8f0c8a4e-5c7a-4a8e-9b1e-2f4d6c8a0b1c".into(),
        aud: "0123456789abcdef0123456789abcdef".into(),
        exp: 1_800_000_300,
        iat: 1_800_000_000,
        auth_time: 1_800_000_000,
        nonce: Some("n-0S6_WzA2Mj".into()),
        at_hash: Some("77QmUPtjPfzWtF2AnpK9RQ".into()),
        sid: "sid-12345".into(),
        amr: vec!["pwd".into()],
        acr: Some("1".into()),
        groups: None,
        user: serde_json::Map::new(),
    }
}

fn bench(criterion: &mut Criterion) {
    let master =
        MasterKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").expect("key");
    for alg in SigningAlgorithm::ALL {
        let stored = generate_key(alg, &master, KeyState::Current, 0, 0).expect("generate");
        let keyring = Keyring::load(&[stored], &master).expect("load");
        let claims = claims();
        let token = keyring.sign(&claims, "JWT", alg).expect("sign");
        criterion.bench_function(&format!("sign {alg}"), |bencher| {
            bencher.iter(|| keyring.sign(&claims, "JWT", alg).expect("sign"))
        });
        criterion.bench_function(&format!("verify {alg}"), |bencher| {
            bencher.iter(|| {
                keyring
                    .verify::<IdTokenClaims>(&token, "JWT")
                    .expect("verify")
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
