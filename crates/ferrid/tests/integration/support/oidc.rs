//! The relying party: the `openidconnect` crate configured by discovery.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreTokenResponse,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
};
use url::Url;

use super::server::{TestClient, TestServer};
use super::Browser;

/// A client configured from the discovery document.
pub type DiscoveredClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The HTTP client the relying party uses (no redirects, per the
/// openidconnect crate's advice against SSRF).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

/// Discovers the server and configures the relying party for `client`.
pub async fn relying_party(server: &TestServer, client: &TestClient) -> DiscoveredClient {
    let metadata = CoreProviderMetadata::discover_async(
        IssuerUrl::new(server.issuer.clone()).expect("issuer"),
        &http_client(),
    )
    .await
    .expect("discovery");
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client.id.clone()),
        client.secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(client.redirect_uri.clone()).expect("redirect"))
}

/// An authorization request built by the relying party.
pub struct AuthorizationStart {
    /// Where to send the browser.
    pub url: Url,
    /// The state it must get back.
    pub state: CsrfToken,
    /// The nonce the ID token must carry.
    pub nonce: Nonce,
    /// The PKCE verifier for the token request.
    pub verifier: PkceCodeVerifier,
}

/// Builds an authorization URL with PKCE, nonce and the given scopes.
pub fn authorization_url(rp: &DiscoveredClient, scopes: &[&str]) -> AuthorizationStart {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = rp.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for scope in scopes {
        request = request.add_scope(Scope::new((*scope).to_owned()));
    }
    let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
    AuthorizationStart {
        url,
        state,
        nonce,
        verifier,
    }
}

/// Runs the whole code flow for `username` and returns the token response
/// and the nonce used.
pub async fn sign_in_and_exchange(
    server: &TestServer,
    client: &TestClient,
    browser: &Browser,
    username: &str,
) -> (CoreTokenResponse, Nonce, DiscoveredClient) {
    sign_in_with_scopes(server, client, browser, username, &["profile", "email"]).await
}

/// [`sign_in_and_exchange`] asking for `scopes` (besides `openid`).
pub async fn sign_in_with_scopes(
    server: &TestServer,
    client: &TestClient,
    browser: &Browser,
    username: &str,
    scopes: &[&str],
) -> (CoreTokenResponse, Nonce, DiscoveredClient) {
    let rp = relying_party(server, client).await;
    let start = authorization_url(&rp, scopes);
    let redirected = browser
        .sign_in(&server.issuer, start.url.as_str(), username)
        .await;
    let code = redirected
        .param("code")
        .unwrap_or_else(|| panic!("no code in redirect {}", redirected.url));
    let tokens = rp
        .exchange_code(AuthorizationCode::new(code))
        .expect("token endpoint")
        .set_pkce_verifier(start.verifier)
        .request_async(&http_client())
        .await
        .expect("token exchange");
    (tokens, start.nonce, rp)
}

/// Exchanges `code` for tokens as the relying party, with `verifier`.
pub async fn exchange(
    rp: &DiscoveredClient,
    code: String,
    verifier: PkceCodeVerifier,
) -> CoreTokenResponse {
    rp.exchange_code(AuthorizationCode::new(code))
        .expect("token endpoint")
        .set_pkce_verifier(verifier)
        .request_async(&http_client())
        .await
        .expect("token exchange")
}

/// The server's discovery document.
pub async fn discovery_document(server: &TestServer) -> serde_json::Value {
    http_client()
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("discovery JSON")
}

/// The decoded payload of a JWT, without verification (for inspecting
/// claims the relying-party library does not expose).
pub fn jwt_claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("JWT payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// The decoded header of a JWT.
pub fn jwt_header(token: &str) -> serde_json::Value {
    use base64::Engine;
    let header = token.split('.').next().expect("JWT header");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .expect("base64url header");
    serde_json::from_slice(&bytes).expect("JSON header")
}

/// Signs `username` in with the password only (no second factor yet)
/// through the code flow of `client`; returns the browser, signed in..
pub async fn signed_in(server: &TestServer, client: &TestClient, username: &str) -> Browser {
    let browser = Browser::new();
    let rp = relying_party(server, client).await;
    let start = authorization_url(&rp, &[]);
    let redirected = browser
        .sign_in(&server.issuer, start.url.as_str(), username)
        .await;
    assert!(redirected.param("code").is_some());
    browser
}

/// The PKCE parameters of RFC 7636's example (verifier
/// `dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk`), for hand-built
/// authorization URLs: new clients must send them.
pub const PKCE_PARAMS: &str =
    "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";

/// The key ids a JWKS document at `url` publishes, in its order.
pub async fn published_kids(url: &str) -> Vec<String> {
    let jwks: serde_json::Value = reqwest::get(url)
        .await
        .expect("JWKS")
        .json()
        .await
        .expect("JWKS document");
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|key| key["kid"].as_str().expect("kid").to_owned())
        .collect()
}
