//! Runs the example orders API beside ferrid:
//!
//! ```sh
//! ISSUER=http://127.0.0.1:8080 API_IDENTIFIER=https://api.example.com/orders \
//!   cargo run -p ferrid-example-api
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
    let validator = ferrid_example_api::token::Validator::new(&issuer, &audience, keys);
    let listener = TcpListener::bind(&bind)?;
    println!("orders API for {audience} on http://{bind} (tokens from {issuer})");
    ferrid_example_api::serve(listener, validator)?.await?;
    Ok(())
}
