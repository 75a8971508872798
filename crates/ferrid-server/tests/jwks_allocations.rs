//! The JWKS endpoint allocates nothing per request beyond the response
//! itself: serving the prepared document costs exactly the allocations of
//! building an equivalent response from static parts. A separate test
//! binary, because it installs a counting global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::http::header::{self, HeaderValue};
use actix_web::test::TestRequest;
use actix_web::web::Bytes;
use actix_web::HttpResponse;
use ferrid_server::metadata::Metadata;
use ferrid_server::Settings;
use ferrid_tokens::{generate_key, KeyState, Keyring, MasterKey, SigningAlgorithm};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(pointer, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_of<T>(work: impl FnOnce() -> T) -> usize {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    let result = work();
    let after = ALLOCATIONS.load(Ordering::SeqCst);
    drop(result);
    after - before
}

#[test]
fn serving_the_jwks_allocates_only_the_response() {
    let master = MasterKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
    let stored: Vec<_> = SigningAlgorithm::ALL
        .into_iter()
        .map(|alg| generate_key(alg, &master, KeyState::Current, 0, 0).unwrap())
        .collect();
    let keyring = Keyring::load(&stored, &master).unwrap();
    let settings = Settings::new(&"https://id.example.com".parse().unwrap());
    let metadata = Metadata::build(&settings, &keyring).unwrap();
    let request = TestRequest::default().to_http_request();
    let body = Bytes::from_static(b"{\"keys\":[]}");

    // Warm up whatever actix initialises lazily on first use.
    drop(metadata.jwks.respond(&request));
    drop(HttpResponse::Ok().finish());

    let baseline = allocations_of(|| {
        HttpResponse::Ok()
            .insert_header((header::ETAG, HeaderValue::from_static("\"e\"")))
            .insert_header((
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ))
            .insert_header((
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ))
            .insert_header((
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ))
            .body(body.clone())
    });
    let served = allocations_of(|| metadata.jwks.respond(&request));
    assert_eq!(
        served, baseline,
        "serving the JWKS allocates more than its response"
    );
}
