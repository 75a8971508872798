//! Serving HTTPS directly with rustls (ring provider only): TLS 1.3 and
//! 1.2, with ring's modern suites (AES-GCM and ChaCha20-Poly1305 with
//! ECDHE; no CBC, no RSA key exchange). Also the plain-HTTP listener that
//! only redirects to the issuer over HTTPS.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use rustls::crypto::ring;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

/// Loads a certificate chain and its private key (PEM) into a server
/// configuration.
pub fn server_config(certificate: &Path, private_key: &Path) -> Result<ServerConfig, String> {
    let chain = CertificateDer::pem_file_iter(certificate)
        .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
        .map_err(|error| format!("tls.certificate {}: {error}", certificate.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "tls.certificate {}: no certificate in the file",
            certificate.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(private_key)
        .map_err(|error| format!("tls.private_key {}: {error}", private_key.display()))?;
    let mut config = ServerConfig::builder_with_provider(Arc::new(provider()))
        .with_protocol_versions(PROTOCOL_VERSIONS)
        .map_err(|error| format!("TLS: {error}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|error| format!("tls: the certificate and key do not fit: {error}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// TLS 1.3 and 1.2; rustls implements nothing older.
const PROTOCOL_VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// The ring provider: its suites are all AEAD with ephemeral key exchange
/// (a test checks this stays true across rustls upgrades).
fn provider() -> rustls::crypto::CryptoProvider {
    ring::default_provider()
}

/// The `Strict-Transport-Security` value for `max_age` seconds. Without
/// `includeSubDomains`: ferrid cannot know whether every sibling host
/// under its parent domain speaks HTTPS.
pub fn hsts(max_age: i64) -> String {
    format!("max-age={max_age}")
}

/// A plain-HTTP server on `listener` answering every request with a
/// permanent redirect to the same path and query under `issuer` (https).
pub fn redirect_server(
    listener: TcpListener,
    issuer: String,
) -> std::io::Result<actix_web::dev::Server> {
    // The request's path already carries the issuer's path prefix, if
    // any: redirect to the same path on the issuer's origin.
    let origin = url::Url::parse(&issuer)
        .map(|url| url.origin().ascii_serialization())
        .unwrap_or(issuer);
    let issuer = web::Data::new(origin);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(issuer.clone())
            .default_service(web::to(redirect))
    })
    .workers(1)
    .listen(listener)?
    .run())
}

async fn redirect(issuer: web::Data<String>, request: HttpRequest) -> HttpResponse {
    // Only path and query come from the request; the host is ours, so this
    // cannot be turned into an open redirect.
    let target = match request.uri().path_and_query() {
        Some(path) => format!("{}{}", issuer.as_str(), path.as_str()),
        None => format!("{}/", issuer.as_str()),
    };
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, target))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_modern_versions_and_aead_suites_are_offered() {
        assert_eq!(PROTOCOL_VERSIONS.len(), 2);
        let suites = provider().cipher_suites;
        assert!(!suites.is_empty());
        for suite in suites {
            let name = format!("{:?}", suite.suite());
            let aead = name.contains("_GCM_") || name.contains("CHACHA20_POLY1305");
            let ephemeral = name.starts_with("TLS13_") || name.starts_with("TLS_ECDHE_");
            assert!(aead && ephemeral, "weak suite offered: {name}");
        }
    }
}
