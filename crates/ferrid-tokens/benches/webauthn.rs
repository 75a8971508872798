//! Check a passkey's sign-in answer (WebAuthn §7.2: parse the browser's
//! JSON, client data, authenticator data, signature) and a registration
//! (§7.1), for each key type.
//! `cargo bench -p ferrid-tokens --features test-authenticator --bench webauthn`

// Tests, benchmarks and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use ferrid_tokens::webauthn::testing::SoftAuthenticator;
use ferrid_tokens::webauthn::{
    new_challenge, request_options, AssertionResponse, CreationOptions, RegistrationResponse,
    RelyingParty, StoredPasskey,
};

const ORIGIN: &str = "https://id.example.com";

/// A key type's name and how to make an authenticator with it.
type KeyType = (&'static str, fn() -> SoftAuthenticator);

fn bench(criterion: &mut Criterion) {
    let rp = RelyingParty {
        id: "id.example.com".into(),
        origins: vec![ORIGIN.into()],
    };
    let keys: [KeyType; 3] = [
        ("ES256", SoftAuthenticator::es256),
        ("EdDSA", SoftAuthenticator::ed25519),
        ("RS256", SoftAuthenticator::rs256),
    ];
    for (name, make) in keys {
        let mut authenticator = make();
        let challenge = new_challenge();
        let creation = CreationOptions {
            rp: &rp,
            rp_name: "ferrid",
            user_handle: "dXNlcg",
            user_name: "alice",
            display_name: "Alice",
            challenge: &challenge,
            exclude_credentials: &[],
        }
        .to_json();
        let registration = authenticator.register(&creation, ORIGIN);
        let passkey = RegistrationResponse::parse(&registration)
            .unwrap()
            .verify(&rp, &challenge)
            .unwrap();
        criterion.bench_function(&format!("register {name}"), |bencher| {
            bencher.iter(|| {
                RegistrationResponse::parse(&registration)
                    .unwrap()
                    .verify(&rp, &challenge)
                    .unwrap()
            })
        });
        let challenge = new_challenge();
        let answer = authenticator.assert(&request_options(&rp, &challenge, &[]), ORIGIN);
        let stored = StoredPasskey {
            public_key: &passkey.public_key,
            sign_count: 0,
            backup_eligible: passkey.backup_eligible,
        };
        criterion.bench_function(&format!("sign in {name}"), |bencher| {
            bencher.iter(|| {
                AssertionResponse::parse(&answer)
                    .unwrap()
                    .verify(&rp, &challenge, &stored)
                    .unwrap()
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
