//! Token request bodies with an `Authorization` header: the first line of
//! the input is the header value, the rest the form body. Client
//! credentials are read as the token, introspection and revocation
//! endpoints read them.

#![no_main]

use actix_web::http::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use actix_web::test::TestRequest;
use ferrid_server::client_auth::presented;
use ferrid_server::http::Params;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (header, body) = match data.iter().position(|byte| *byte == b'\n') {
        Some(split) => (&data[..split], &data[split + 1..]),
        None => (&[][..], data),
    };
    let Ok(params) = Params::parse(body) else {
        return;
    };
    let mut request = TestRequest::post()
        .uri("/token")
        .insert_header((CONTENT_TYPE, "application/x-www-form-urlencoded"));
    if let Ok(value) = HeaderValue::from_bytes(header) {
        request = request.insert_header((AUTHORIZATION, value));
    }
    let _ = presented(&request.to_http_request(), &params);
    for name in [
        "grant_type",
        "code",
        "redirect_uri",
        "code_verifier",
        "refresh_token",
        "scope",
    ] {
        let _ = params.get(name);
    }
});
