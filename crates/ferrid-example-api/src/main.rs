//! Runs the example orders API beside ferrid:
//!
//! ```sh
//! ISSUER=http://127.0.0.1:8080 API_IDENTIFIER=https://api.example.com/orders \
//!   [BIND=127.0.0.1:8081] [PUBLIC_URL=https://api.example.com] cargo run -p ferrid-example-api
//! ```

use std::net::TcpListener;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let issuer = std::env::var("ISSUER").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let audience =
        std::env::var("API_IDENTIFIER").unwrap_or_else(|_| "https://api.example.com/orders".into());
    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:8081".into());
    let http = reqwest::Client::new();
    let jwks_uri = ferrid_example_api::jwks_uri(&http, &issuer).await?;
    let keys = ferrid_example_api::keys::KeySet::new(http, jwks_uri);
    // Where callers reach the API (what their DPoP proofs name).
    let public_url = std::env::var("PUBLIC_URL").unwrap_or_else(|_| format!("http://{bind}"));
    let validator = ferrid_example_api::token::Validator::new(&issuer, &audience, keys)
        .with_public_url(public_url);
    let listener = TcpListener::bind(&bind)?;
    println!("orders API for {audience} on http://{bind} (tokens from {issuer})");
    ferrid_example_api::serve(listener, validator)?.await?;
    Ok(())
}
