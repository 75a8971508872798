//! Client metadata as clients state it themselves (RFC 7591 §2): in a
//! dynamic registration request, or in a client ID metadata document
//! (the client's id is an https URL that serves its metadata). Either way
//! it becomes a [`ClientRegistration`] that the service layer validates
//! as an administrator's, with RFC 7591's defaults, and without what only
//! an administrator may grant.
//!
//! [`find`] resolves a `client_id`: a registered client, or, when client
//! ID metadata documents are on, the client its document describes:
//! fetched like a `jwks_uri` (public addresses only, no redirects, small,
//! quick), validated, and stored, so every node and every later request
//! sees the same client; it is fetched again after [`DOCUMENT_TTL`].

use ferrid_service::clients::{self, ClientRegistration};
use ferrid_store::{Client, GrantType};
use serde::Deserialize;
use serde_json::Value;

use crate::error::{ErrorCode, Internal, OAuthError};
use crate::state::AppState;

/// The name of a client that gave none.
const UNNAMED: &str = "Unnamed application";
/// How long a fetched metadata document is used before it is fetched
/// again, seconds.
pub const DOCUMENT_TTL: i64 = 300;
/// The largest metadata document accepted.
const MAX_DOCUMENT: usize = 16 * 1024;
/// The longest client id that may name a document.
const MAX_DOCUMENT_URL: usize = 512;

/// Client metadata (RFC 7591 §2; OIDC Dynamic Registration §2). Members
/// this server does not know are ignored, as §2 asks.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Metadata {
    /// `redirect_uris`.
    pub redirect_uris: Vec<String>,
    /// `token_endpoint_auth_method`.
    pub token_endpoint_auth_method: Option<String>,
    /// `grant_types`.
    pub grant_types: Option<Vec<String>>,
    /// `response_types`.
    pub response_types: Option<Vec<String>>,
    /// `client_name`.
    pub client_name: Option<String>,
    /// `scope`.
    pub scope: Option<String>,
    /// `jwks`.
    pub jwks: Option<Value>,
    /// `jwks_uri`.
    pub jwks_uri: Option<String>,
    /// `id_token_signed_response_alg`.
    pub id_token_signed_response_alg: Option<String>,
    /// `post_logout_redirect_uris`.
    pub post_logout_redirect_uris: Vec<String>,
    /// `backchannel_logout_uri`.
    pub backchannel_logout_uri: Option<String>,
    /// `subject_type`.
    pub subject_type: Option<String>,
    /// `dpop_bound_access_tokens`.
    pub dpop_bound_access_tokens: bool,
    /// In an update (RFC 7592 §2.2): must be the client's own; in a
    /// client ID metadata document, the document's URL.
    pub client_id: Option<String>,
}

/// The registration `metadata` asks for, with RFC 7591's defaults, and
/// only what a client may ask for itself.
pub fn registration_of(metadata: Metadata) -> Result<ClientRegistration, OAuthError> {
    if metadata
        .response_types
        .as_ref()
        .is_some_and(|types| types.iter().any(|kind| kind != "code"))
    {
        return Err(metadata_error("response_types may only be [\"code\"]"));
    }
    let grant_types = metadata
        .grant_types
        .unwrap_or_else(|| vec![GrantType::AuthorizationCode.as_str().to_owned()]);
    // Grants that reach APIs on the client's own say are an
    // administrator's to give.
    for refused in [GrantType::ClientCredentials, GrantType::TokenExchange] {
        if grant_types.iter().any(|grant| grant == refused.as_str()) {
            return Err(metadata_error(
                "client_credentials and token exchange are granted by an administrator",
            ));
        }
    }
    let pairwise_subjects = match metadata.subject_type.as_deref() {
        None | Some("public") => false,
        Some("pairwise") => true,
        Some(_) => return Err(metadata_error("subject_type must be public or pairwise")),
    };
    Ok(ClientRegistration {
        name: metadata.client_name.unwrap_or_else(|| UNNAMED.to_owned()),
        redirect_uris: metadata.redirect_uris,
        post_logout_redirect_uris: metadata.post_logout_redirect_uris,
        grant_types,
        auth_method: metadata
            .token_endpoint_auth_method
            .unwrap_or_else(|| "client_secret_basic".to_owned()),
        scope: metadata.scope.unwrap_or_else(|| "openid".to_owned()),
        id_token_alg: metadata
            .id_token_signed_response_alg
            .unwrap_or_else(|| "RS256".to_owned()),
        backchannel_logout_uri: metadata.backchannel_logout_uri,
        jwks: metadata.jwks.map(|jwks| jwks.to_string()),
        jwks_uri: metadata.jwks_uri,
        pairwise_subjects,
        dpop_bound_access_tokens: metadata.dpop_bound_access_tokens,
        ..ClientRegistration::default()
    })
}

/// `invalid_client_metadata` (RFC 7591 §3.2.2).
pub fn metadata_error(description: impl Into<std::borrow::Cow<'static, str>>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClientMetadata, description)
}

/// The client `client_id` names, if any (see the module documentation).
pub async fn find(state: &AppState, client_id: &str) -> Result<Option<Client>, Internal> {
    let id = client_id.to_owned();
    let stored = state.db(move |store| store.find_client(&id)).await?;
    if !state.settings.client_id_metadata_documents || !is_document_url(state, client_id) {
        return Ok(stored);
    }
    let now = state.now();
    if let Some(client) = &stored {
        if client
            .metadata_fetched_at
            .is_none_or(|fetched| now - fetched < DOCUMENT_TTL)
        {
            return Ok(stored);
        }
    }
    match document_client(state, client_id, now).await {
        Ok(client) => Ok(Some(client)),
        Err(why) => {
            tracing::warn!(client_id, why, "client ID metadata document refused");
            // A document that cannot be had now leaves no client: a
            // stale one is not trusted past its time.
            Ok(None)
        }
    }
}

/// Whether `client_id` can name a metadata document: an https URL with a
/// path (http too when outbound requests may reach private networks, for
/// development), without fragment, credentials or dot segments.
fn is_document_url(state: &AppState, client_id: &str) -> bool {
    if client_id.len() > MAX_DOCUMENT_URL {
        return false;
    }
    let Ok(url) = url::Url::parse(client_id) else {
        return false;
    };
    let scheme_ok = url.scheme() == "https"
        || (url.scheme() == "http" && state.settings.outbound_allow_private_networks);
    scheme_ok
        && url.as_str() == client_id
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none()
        && url.path() != "/"
        && !client_id.contains("/./")
        && !client_id.contains("/../")
}

/// Fetches, validates and stores the client `url`'s document describes.
async fn document_client(state: &AppState, url: &str, now: i64) -> Result<Client, String> {
    let text = state.outbound.fetch_text(url, MAX_DOCUMENT).await?;
    let document: Value = serde_json::from_str(&text).map_err(|_| "not JSON".to_owned())?;
    let metadata: Metadata =
        serde_json::from_value(document).map_err(|error| format!("malformed: {error}"))?;
    if metadata.client_id.as_deref() != Some(url) {
        return Err("its client_id is not its own URL".to_owned());
    }
    // No secret can be shared through a public document.
    let method = metadata
        .token_endpoint_auth_method
        .clone()
        .unwrap_or_else(|| "none".to_owned());
    if method != "none" && method != "private_key_jwt" {
        return Err("token_endpoint_auth_method must be none or private_key_jwt".to_owned());
    }
    let mut registration = registration_of(Metadata {
        token_endpoint_auth_method: Some(method),
        ..metadata
    })
    .map_err(|error| error.error_description.into_owned())?;
    if registration.name == UNNAMED {
        registration.name = url::Url::parse(url)
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned))
            .unwrap_or_else(|| UNNAMED.to_owned());
    }
    let enabled = state.published().keyring.signing_algorithms();
    let (master_key, url) = (state.master_key().clone(), url.to_owned());
    state
        .db(move |store| {
            Ok(clients::store_document_client(
                store,
                &url,
                registration,
                &enabled,
                &master_key,
                now,
            ))
        })
        .await
        .map_err(|_| "the database failed".to_owned())?
        .map_err(|error| error.to_string())
}
