//! Client ID metadata documents: a client whose id is the URL of its
//! metadata, fetched (with the outbound-request rules of `jwks_uri`),
//! validated like any registration and stored, when the operator turns
//! them on.

use openidconnect::TokenResponse;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::oidc::{discovery_document, jwt_claims, sign_in_and_exchange};
use crate::support::receiver::{free_port, Receiver};
use crate::support::server::TestClient;
use crate::support::{Backend, Browser, TestServer};

/// Serves `document` (with its `client_id` set to its own URL unless it
/// has one) and returns the URL and the receiver.
fn served(mut document: Value) -> (String, Receiver) {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/client.json");
    if document.get("client_id").is_none() {
        document["client_id"] = json!(url);
    }
    (url, Receiver::serving(port, document.to_string()))
}

fn app_document() -> Value {
    json!({
        "client_name": "Document app",
        "redirect_uris": ["https://doc.example/cb"],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code"],
        "scope": "openid profile email",
    })
}

/// The status of an authorization request from `client_id`.
async fn authorize_status(server: &TestServer, client_id: &str) -> StatusCode {
    let mut url = url::Url::parse(&server.url("/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", "https://doc.example/cb")
        .append_pair("response_type", "code")
        .append_pair("scope", "openid")
        .append_pair("code_challenge", &"a".repeat(43))
        .append_pair("code_challenge_method", "S256");
    Browser::new().get(url.as_str()).await.status()
}

fn documents_on(config: &mut ferrid::config::Config) {
    config.client_id_metadata_documents = true;
    // The documents are served on loopback here.
    config.outbound_allow_private_networks = true;
}

on_both_backends!(
    a_client_named_by_its_document_signs_users_in,
    |backend: Backend| async move {
        let server = server_or_skip!(backend, documents_on);
        server.create_user("alice");
        assert_eq!(
            discovery_document(&server).await["client_id_metadata_document_supported"],
            true
        );
        let (url, _host) = served(app_document());
        let client = TestClient {
            id: url.clone(),
            secret: None,
            redirect_uri: "https://doc.example/cb".into(),
        };
        let (tokens, _, _) = sign_in_and_exchange(&server, &client, &Browser::new(), "alice").await;
        let id_token = jwt_claims(&tokens.id_token().unwrap().to_string());
        assert_eq!(id_token["aud"], url.as_str());
        let stored = server.store.find_client(&url).unwrap().expect("stored");
        assert_eq!(stored.name, "Document app");
        assert!(stored.metadata_fetched_at.is_some());
        assert!(stored.secret_digest.is_none());

        // An administrator's settings survive the document's refetch.
        server.store.set_client_disabled(&url, true).unwrap();
        server
            .clock
            .advance(ferrid_server::client_metadata::DOCUMENT_TTL + 1);
        assert_eq!(authorize_status(&server, &url).await, StatusCode::FORBIDDEN);
        server.store.set_client_disabled(&url, false).unwrap();

        // Stored: used without fetching while fresh, even if its host is
        // down; fetched again once old, and without it no client.
        drop(_host);
        assert_eq!(authorize_status(&server, &url).await, StatusCode::SEE_OTHER);
        server
            .clock
            .advance(ferrid_server::client_metadata::DOCUMENT_TTL + 1);
        assert_eq!(
            authorize_status(&server, &url).await,
            StatusCode::BAD_REQUEST
        );
    }
);

on_both_backends!(
    documents_that_break_the_rules_name_no_client,
    |backend: Backend| async move {
        let server = server_or_skip!(backend, documents_on);
        let cases = [
            json!({ "client_id": "https://someone-else.example/client.json",
                    "redirect_uris": ["https://doc.example/cb"] }),
            json!({ "redirect_uris": ["https://doc.example/cb"],
                    "token_endpoint_auth_method": "client_secret_basic" }),
            json!({ "redirect_uris": ["javascript:alert(1)"] }),
            json!({ "redirect_uris": ["https://doc.example/cb"], "scope": "openid ferrid:admin.write" }),
            json!({ "redirect_uris": ["https://doc.example/cb"], "grant_types": ["client_credentials"] }),
            json!(["not", "an", "object"]),
        ];
        for document in cases {
            let (url, _host) = if document.is_object() {
                served(document.clone())
            } else {
                let port = free_port();
                (
                    format!("http://127.0.0.1:{port}/client.json"),
                    Receiver::serving(port, document.to_string()),
                )
            };
            assert_eq!(
                authorize_status(&server, &url).await,
                StatusCode::BAD_REQUEST,
                "{document}"
            );
            assert!(
                server.store.find_client(&url).unwrap().is_none(),
                "{document}"
            );
        }
        // Nothing listening: no client either.
        let nowhere = format!("http://127.0.0.1:{}/client.json", free_port());
        assert_eq!(
            authorize_status(&server, &nowhere).await,
            StatusCode::BAD_REQUEST
        );
    }
);

on_both_backends!(
    documents_are_off_by_default,
    |backend: Backend| async move {
        let server = server_or_skip!(backend, |config| {
            config.outbound_allow_private_networks = true;
        });
        assert!(discovery_document(&server)
            .await
            .get("client_id_metadata_document_supported")
            .is_none());
        let (url, _host) = served(app_document());
        assert_eq!(
            authorize_status(&server, &url).await,
            StatusCode::BAD_REQUEST
        );
        assert!(server.store.find_client(&url).unwrap().is_none());
    }
);
