//! A minimal relying party for trying ferrid by hand, built on the
//! `openidconnect` crate: it prints a login URL, waits for the browser to
//! come back on its redirect URI, exchanges the code (with PKCE), verifies
//! the ID token against the JWKS and prints the UserInfo claims.
//!
//! ```text
//! cargo run -p ferrid --example relying_party -- CLIENT_ID [CLIENT_SECRET]
//! ```
//!
//! Environment: `FERRID_ISSUER` (default `http://127.0.0.1:8080`) and
//! `RP_REDIRECT_URI` (default `http://127.0.0.1:9000/callback`, which must be
//! registered for the client).

// Tests, benchmarks and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use url::Url;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let client_id = args
        .next()
        .ok_or("usage: relying_party CLIENT_ID [CLIENT_SECRET]")?;
    let client_secret = args.next();
    let issuer = std::env::var("FERRID_ISSUER").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let redirect_uri = std::env::var("RP_REDIRECT_URI")
        .unwrap_or_else(|_| "http://127.0.0.1:9000/callback".into());

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let metadata = CoreProviderMetadata::discover_async(IssuerUrl::new(issuer)?, &http).await?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id),
        client_secret.map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(redirect_uri.clone())?);

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (login_url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    println!("Open this URL in a browser and sign in:\n\n  {login_url}\n");

    let callback = wait_for_callback(&redirect_uri)?;
    let param = |name: &str| {
        callback
            .query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    };
    if let Some(error) = param("error") {
        return Err(format!(
            "authorization failed: {error}: {}",
            param("error_description").unwrap_or_default()
        )
        .into());
    }
    if param("state").as_deref() != Some(state.secret().as_str()) {
        return Err("state mismatch".into());
    }
    let code = param("code").ok_or("no code in the callback")?;

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))?
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await?;
    let id_token = tokens.id_token().ok_or("no ID token")?;
    let claims = id_token.claims(&client.id_token_verifier(), &nonce)?;
    println!("ID token verified: sub = {}", claims.subject().as_str());

    let info: CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )?
        .request_async(&http)
        .await?;
    println!("UserInfo: {}", serde_json::to_string_pretty(&info)?);
    Ok(())
}

/// Accepts one request on the redirect URI's port and returns its URL.
fn wait_for_callback(redirect_uri: &str) -> Result<Url, Box<dyn std::error::Error>> {
    let redirect = Url::parse(redirect_uri)?;
    let address = format!(
        "{}:{}",
        redirect.host_str().ok_or("redirect URI without host")?,
        redirect
            .port_or_known_default()
            .ok_or("redirect URI without port")?
    );
    let listener = TcpListener::bind(&address)?;
    println!("Waiting for the browser on {redirect_uri} …");
    let (mut stream, _) = listener.accept()?;
    let mut request_line = String::new();
    BufReader::new(&stream).read_line(&mut request_line)?;
    let target = request_line
        .split_whitespace()
        .nth(1)
        .ok_or("bad request line")?;
    stream.write_all(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nSigned in. You can close this tab and return to the terminal.\n",
    )?;
    Ok(redirect.join(target)?)
}
