//! Serving the JWKS (four keys) from memory, with and without a matching
//! `If-None-Match`. `cargo bench -p ferrid-server --bench jwks`

// Tests, benchmarks and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use actix_web::http::header;
use actix_web::test::TestRequest;
use criterion::{criterion_group, criterion_main, Criterion};
use ferrid_server::metadata::Metadata;
use ferrid_server::Settings;
use ferrid_tokens::{generate_key, KeyState, Keyring, MasterKey, SigningAlgorithm};

fn bench(criterion: &mut Criterion) {
    let master =
        MasterKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").expect("key");
    let stored: Vec<_> = SigningAlgorithm::ALL
        .into_iter()
        .map(|alg| generate_key(alg, &master, KeyState::Current, 0, 0).expect("generate"))
        .collect();
    let keyring = Keyring::load(&stored, &master).expect("load");
    let settings = Settings::new(&"https://id.example.com".parse().expect("url"));
    let metadata = Metadata::build(&settings, &keyring).expect("metadata");
    let request = TestRequest::default().to_http_request();
    criterion.bench_function("jwks 200", |bencher| {
        bencher.iter(|| metadata.jwks.respond(&request))
    });
    let etag = metadata
        .jwks
        .respond(&request)
        .headers()
        .get(header::ETAG)
        .cloned()
        .expect("etag");
    let conditional = TestRequest::default()
        .insert_header((header::IF_NONE_MATCH, etag))
        .to_http_request();
    criterion.bench_function("jwks 304", |bencher| {
        bencher.iter(|| metadata.jwks.respond(&conditional))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
