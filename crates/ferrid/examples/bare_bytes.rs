//! The floor for ferrid's in-memory endpoints: a bare actix-web handler
//! returning the same bytes from memory, with no middleware. The load
//! test (`scripts/load-test`) measures it beside ferrid's `/jwks` and
//! discovery in one run, so their ratio is read on the same machine.
//!
//! `bare_bytes ADDRESS JWKS_FILE DISCOVERY_FILE` serves `GET /jwks` and
//! `GET /.well-known/openid-configuration` with one worker.

// A benchmark tool: it reports failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use actix_web::{web, App, HttpResponse, HttpServer};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, address, jwks, discovery] = args.as_slice() else {
        panic!("usage: bare_bytes ADDRESS JWKS_FILE DISCOVERY_FILE");
    };
    let jwks = web::Bytes::from(std::fs::read(jwks)?);
    let discovery = web::Bytes::from(std::fs::read(discovery)?);
    HttpServer::new(move || {
        let (jwks, discovery) = (jwks.clone(), discovery.clone());
        App::new()
            .route(
                "/jwks",
                web::get().to(move || {
                    let body = jwks.clone();
                    async move {
                        HttpResponse::Ok()
                            .content_type("application/json")
                            .body(body)
                    }
                }),
            )
            .route(
                "/.well-known/openid-configuration",
                web::get().to(move || {
                    let body = discovery.clone();
                    async move {
                        HttpResponse::Ok()
                            .content_type("application/json")
                            .body(body)
                    }
                }),
            )
    })
    .workers(1)
    .bind(address.as_str())?
    .run()
    .await
}
