//! The discovery document (OIDC Discovery 1.0 §3) and the JWKS, built once
//! and served from memory as bytes with an `ETag`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use ferrid_store::{ClientAuthMethod, GrantType};
use ferrid_tokens::assertion::ASSERTION_ALGORITHMS;
use ferrid_tokens::Keyring;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::error::Internal;
use crate::paths;
use crate::pkce;
use crate::response_mode::ResponseMode;
use crate::settings::{Settings, METADATA_MAX_AGE};
use ferrid_service::scopes;

/// A document served verbatim. Every part of the response is prepared
/// once, so serving it clones reference-counted bytes and allocates
/// nothing but the response.
#[derive(Debug, Clone)]
pub struct Document {
    body: Bytes,
    etag: String,
    etag_header: HeaderValue,
    cache_control: HeaderValue,
}

impl Document {
    fn new(body: Vec<u8>) -> Result<Document, Internal> {
        let digest = Sha256::digest(&body);
        let etag = format!("\"{}\"", ferrid_store::secret::hex(&digest[..16]));
        Ok(Document {
            body: Bytes::from(body),
            etag_header: HeaderValue::from_str(&etag).map_err(Internal::log)?,
            cache_control: HeaderValue::from_str(&format!("public, max-age={METADATA_MAX_AGE}"))
                .map_err(Internal::log)?,
            etag,
        })
    }

    /// The document as bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Serves the document, or `304 Not Modified` if the client's
    /// `If-None-Match` names the current version.
    pub fn respond(&self, request: &HttpRequest) -> HttpResponse {
        let unchanged = request
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|tags| {
                tags.split(',')
                    .any(|tag| tag.trim() == self.etag || tag.trim() == "*")
            });
        let mut response = if unchanged {
            HttpResponse::NotModified()
        } else {
            HttpResponse::Ok()
        };
        response
            .insert_header((header::ETAG, self.etag_header.clone()))
            .insert_header((header::CACHE_CONTROL, self.cache_control.clone()))
            .insert_header((
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ));
        if unchanged {
            response.finish()
        } else {
            response
                .insert_header((
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ))
                .body(self.body.clone())
        }
    }
}

/// The published documents.
#[derive(Debug)]
pub struct Metadata {
    /// `/.well-known/openid-configuration`.
    pub discovery: Document,
    /// `/jwks`.
    pub jwks: Document,
}

impl Metadata {
    /// Builds both documents from the settings and the keyring.
    pub fn build(settings: &Settings, keyring: &Keyring) -> Result<Metadata, Internal> {
        let algorithms: Vec<&str> = keyring
            .signing_algorithms()
            .into_iter()
            .map(|alg| alg.as_str())
            .collect();
        let all_methods: Vec<&str> = ClientAuthMethod::ALL.map(ClientAuthMethod::as_str).to_vec();
        let confidential_methods: Vec<&str> = ClientAuthMethod::ALL
            .into_iter()
            .filter(|method| method.is_confidential())
            .map(ClientAuthMethod::as_str)
            .collect();
        let mut discovery = json!({
            "issuer": settings.issuer,
            "authorization_endpoint": settings.endpoint(paths::AUTHORIZE),
            "token_endpoint": settings.endpoint(paths::TOKEN),
            "pushed_authorization_request_endpoint": settings.endpoint(paths::PAR),
            "device_authorization_endpoint": settings.endpoint(paths::DEVICE_AUTHORIZATION),
            "require_pushed_authorization_requests": settings.require_pushed_authorization_requests,
            "userinfo_endpoint": settings.endpoint(paths::USERINFO),
            "introspection_endpoint": settings.endpoint(paths::INTROSPECT),
            "revocation_endpoint": settings.endpoint(paths::REVOKE),
            "end_session_endpoint": settings.endpoint(paths::LOGOUT),
            "jwks_uri": settings.endpoint(paths::JWKS),
            "scopes_supported": scopes::Scope::ALL.map(scopes::Scope::as_str),
            "response_types_supported": ["code"],
            "response_modes_supported": ResponseMode::SUPPORTED,
            "grant_types_supported": GrantType::ALL.map(GrantType::as_str),
            "subject_types_supported": ["public", "pairwise"],
            "id_token_signing_alg_values_supported": algorithms,
            "token_endpoint_auth_methods_supported": all_methods,
            "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
            // Introspection authenticates like the token endpoint but
            // only confidential clients may call it.
            "introspection_endpoint_auth_methods_supported": confidential_methods,
            "introspection_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
            "revocation_endpoint_auth_methods_supported": all_methods,
            "revocation_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
            "code_challenge_methods_supported": [pkce::S256],
            "dpop_signing_alg_values_supported": ferrid_tokens::dpop::DPOP_ALGORITHMS,
            "claims_supported": [
                "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "amr", "acr",
                "name", "preferred_username", "updated_at", "email", "email_verified"
            ],
            "prompt_values_supported": ["none", "login", "consent"],
            "ui_locales_supported": ferrid_pages::i18n::SUPPORTED.map(ferrid_pages::Locale::tag),
            "acr_values_supported": crate::acr::Assurance::all_acr_values(),
            "backchannel_logout_supported": true,
            "backchannel_logout_session_supported": true,
            "claims_parameter_supported": true,
            "request_parameter_supported": true,
            "request_object_signing_alg_values_supported": ASSERTION_ALGORITHMS,
            "request_uri_parameter_supported": settings.external_request_uris,
            "authorization_response_iss_parameter_supported": true,
        });
        if settings.client_id_metadata_documents {
            discovery["client_id_metadata_document_supported"] = json!(true);
        }
        // Registration is announced only where it is open (RFC 8414 §2).
        if settings.dynamic_registration != crate::settings::DynamicRegistration::Off {
            discovery["registration_endpoint"] = json!(settings.endpoint(paths::REGISTER));
        }
        Ok(Metadata {
            discovery: Document::new(serde_json::to_vec(&discovery).map_err(Internal::log)?)?,
            jwks: Document::new(keyring.jwks().to_vec())?,
        })
    }
}
