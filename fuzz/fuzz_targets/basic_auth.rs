//! `Authorization: Basic …` headers alone (RFC 6749 §2.3.1: base64 of
//! form-encoded id and secret).

#![no_main]

use actix_web::http::header::{HeaderValue, AUTHORIZATION};
use actix_web::test::TestRequest;
use ferrid_server::client_auth::presented;
use ferrid_server::http::Params;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let request = TestRequest::post()
        .uri("/token")
        .insert_header((AUTHORIZATION, value))
        .to_http_request();
    let _ = presented(&request, &Params::default());
});
