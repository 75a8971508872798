//! Dynamic client registration (RFC 7591) and management (RFC 7592):
//! off by default, open or gated by initial access tokens, validated as
//! an administrator's registration, hostile metadata refused.

use ferrid_server::settings::DynamicRegistration;
use ferrid_server::Clock;
use openidconnect::TokenResponse;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::jws::{key_of, signed_jwt};
use crate::support::oidc::{discovery_document, http_client, sign_in_and_exchange};
use crate::support::server::TestClient;
use crate::support::{Backend, Browser, TestServer};

/// `POST /register` with `body`, and `token` as Bearer if given.
async fn register(server: &TestServer, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
    let mut request = http_client().post(server.url("/register")).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (
        response.status(),
        response.json().await.unwrap_or(Value::Null),
    )
}

/// A request to a client's registration URI with its token.
async fn manage(
    method: reqwest::Method,
    uri: &str,
    token: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut request = http_client().request(method, uri).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    (
        response.status(),
        response.json().await.unwrap_or(Value::Null),
    )
}

fn web_app() -> Value {
    json!({
        "client_name": "Self-registered app",
        "redirect_uris": ["https://dyn.example/cb"],
        "scope": "openid profile email",
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_basic",
    })
}

fn open_registration(config: &mut ferrid::config::Config) {
    config.dynamic_registration = DynamicRegistration::Open;
}

on_both_backends!(
    registration_is_off_by_default,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        assert!(discovery_document(&server)
            .await
            .get("registration_endpoint")
            .is_none());
        let (status, _) = register(&server, None, &web_app()).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
);

on_both_backends!(
    a_client_registers_signs_users_in_and_manages_itself,
    |backend: Backend| async move {
        let server = server_or_skip!(backend, open_registration);
        server.create_user("alice");
        assert_eq!(
            discovery_document(&server).await["registration_endpoint"],
            server.url("/register")
        );
        let (status, registered) = register(&server, None, &web_app()).await;
        assert_eq!(status, StatusCode::CREATED, "{registered}");
        let client_id = registered["client_id"].as_str().unwrap().to_owned();
        let token = registered["registration_access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(token.starts_with("frat_"));
        assert_eq!(registered["client_secret_expires_at"], 0);
        assert_eq!(registered["client_name"], "Self-registered app");
        let uri = registered["registration_client_uri"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(uri, server.url(&format!("/register/{client_id}")));

        // The registered client is a client like any: a user signs in.
        let client = TestClient {
            id: client_id.clone(),
            secret: registered["client_secret"].as_str().map(str::to_owned),
            redirect_uri: "https://dyn.example/cb".into(),
        };
        let (tokens, _, _) = sign_in_and_exchange(&server, &client, &Browser::new(), "alice").await;
        assert!(tokens.id_token().is_some());
        // The token is stored only as a digest.
        let stored = server.store.find_client(&client_id).unwrap().unwrap();
        assert_ne!(
            stored.registration_token_digest.as_deref(),
            Some(token.as_str())
        );

        // Read, with its token only.
        let (status, read) = manage(reqwest::Method::GET, &uri, &token, None).await;
        assert_eq!(status, StatusCode::OK, "{read}");
        assert_eq!(read["redirect_uris"], json!(["https://dyn.example/cb"]));
        assert!(read.get("client_secret").is_none());
        let (status, _) = manage(reqwest::Method::GET, &uri, "frat_wrong", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let other = server.url("/register/someone-else");
        let (status, _) = manage(reqwest::Method::GET, &other, &token, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // Update: a full replacement, validated again.
        let mut changed = web_app();
        changed["client_id"] = json!(client_id);
        changed["client_name"] = json!("Renamed app");
        changed["redirect_uris"] = json!(["https://dyn.example/new"]);
        let (status, updated) = manage(reqwest::Method::PUT, &uri, &token, Some(&changed)).await;
        assert_eq!(status, StatusCode::OK, "{updated}");
        assert_eq!(updated["client_name"], "Renamed app");
        assert_eq!(updated["redirect_uris"], json!(["https://dyn.example/new"]));
        let mut method_change = changed.clone();
        method_change["token_endpoint_auth_method"] = json!("none");
        let (status, refused) =
            manage(reqwest::Method::PUT, &uri, &token, Some(&method_change)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(refused["error"], "invalid_client_metadata", "{refused}");
        let mut bad_uri = changed.clone();
        bad_uri["redirect_uris"] = json!(["http://evil.example/cb"]);
        let (_, refused) = manage(reqwest::Method::PUT, &uri, &token, Some(&bad_uri)).await;
        assert_eq!(refused["error"], "invalid_redirect_uri", "{refused}");

        // A pairwise client cannot move its sector to another host.
        let mut pairwise = web_app();
        pairwise["subject_type"] = json!("pairwise");
        let (status, body) = register(&server, None, &pairwise).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let mut moved = pairwise.clone();
        moved["client_id"] = body["client_id"].clone();
        moved["redirect_uris"] = json!(["https://attacker.example/cb"]);
        let (status, refused) = manage(
            reqwest::Method::PUT,
            body["registration_client_uri"].as_str().unwrap(),
            body["registration_access_token"].as_str().unwrap(),
            Some(&moved),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(refused["error"], "invalid_redirect_uri", "{refused}");

        // Delete: gone, and its token with it.
        let (status, _) = manage(reqwest::Method::DELETE, &uri, &token, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = manage(reqwest::Method::GET, &uri, &token, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(server.store.find_client(&client_id).unwrap().is_none());
    }
);

on_both_backends!(hostile_metadata_is_refused, |backend: Backend| async move {
    let server = server_or_skip!(backend, open_registration);
    let (_, private) = {
        let pair = josekit::jws::ES256.generate_key_pair().unwrap();
        (
            (),
            serde_json::to_value(pair.to_jwk_private_key().as_ref()).unwrap(),
        )
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({ "redirect_uris": ["javascript:alert(1)"] }),
            "invalid_redirect_uri",
        ),
        (
            json!({ "redirect_uris": ["http://evil.example/cb"] }),
            "invalid_redirect_uri",
        ),
        (
            json!({ "redirect_uris": ["https://dyn.example/cb#frag"] }),
            "invalid_redirect_uri",
        ),
        (json!({ "redirect_uris": [] }), "invalid_redirect_uri"),
        (
            json!({ "scope": "openid ferrid:admin.write" }),
            "invalid_client_metadata",
        ),
        (
            json!({ "grant_types": ["client_credentials"] }),
            "invalid_client_metadata",
        ),
        (
            json!({ "grant_types": ["urn:ietf:params:oauth:grant-type:token-exchange"] }),
            "invalid_client_metadata",
        ),
        (
            json!({ "grant_types": ["password"] }),
            "invalid_client_metadata",
        ),
        (
            json!({ "response_types": ["token"] }),
            "invalid_client_metadata",
        ),
        (
            json!({ "client_name": "x".repeat(500) }),
            "invalid_client_metadata",
        ),
        (
            json!({ "token_endpoint_auth_method": "private_key_jwt", "jwks": { "keys": [private] } }),
            "invalid_client_metadata",
        ),
        (
            json!({ "client_id": "chosen-id" }),
            "invalid_client_metadata",
        ),
        (
            json!({ "subject_type": "secret" }),
            "invalid_client_metadata",
        ),
        (
            json!({ "software_statement": "eyJhbGciOiJub25lIn0.e30." }),
            "invalid_software_statement",
        ),
        (
            json!({ "redirect_uris": "https://dyn.example/cb" }),
            "invalid_client_metadata",
        ),
    ];
    for (overrides, error) in cases {
        let mut body = web_app();
        body.as_object_mut()
            .unwrap()
            .extend(overrides.as_object().unwrap().clone());
        let (status, refused) = register(&server, None, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{overrides}: {refused}");
        assert_eq!(refused["error"], error, "{overrides}: {refused}");
    }
    let huge =
        json!({ "redirect_uris": ["https://dyn.example/cb"], "padding": "x".repeat(70_000) });
    let (status, _) = register(&server, None, &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let not_json = http_client()
        .post(server.url("/register"))
        .header("content-type", "application/json")
        .body("[1, 2")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    let form = http_client()
        .post(server.url("/register"))
        .form(&[("client_name", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::BAD_REQUEST);
});

on_both_backends!(
    initial_access_tokens_gate_registration,
    |backend: Backend| async move {
        let server = server_or_skip!(backend, |config| {
            config.dynamic_registration = DynamicRegistration::Token;
        });
        let (status, _) = register(&server, None, &web_app()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _) = register(&server, Some("fiat_forged"), &web_app()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let once = ferrid_service::clients::create_initial_access_token(
            &server.store,
            3600,
            Some(1),
            "test",
            server.clock.now(),
        )
        .unwrap();
        assert!(once.starts_with("fiat_"));
        let (status, body) = register(&server, Some(&once), &web_app()).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, _) = register(&server, Some(&once), &web_app()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "used up");
        // A refused registration does not spend a use.
        let twice = ferrid_service::clients::create_initial_access_token(
            &server.store,
            3600,
            Some(1),
            "test",
            server.clock.now(),
        )
        .unwrap();
        let mut bad = web_app();
        bad["redirect_uris"] = json!(["http://evil.example/cb"]);
        assert_eq!(
            register(&server, Some(&twice), &bad).await.0,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            register(&server, Some(&twice), &web_app()).await.0,
            StatusCode::CREATED
        );
        let later = ferrid_service::clients::create_initial_access_token(
            &server.store,
            60,
            None,
            "test",
            server.clock.now(),
        )
        .unwrap();
        assert_eq!(
            register(&server, Some(&later), &web_app()).await.0,
            StatusCode::CREATED
        );
        assert_eq!(
            register(&server, Some(&later), &web_app()).await.0,
            StatusCode::CREATED
        );
        server.clock.advance(61);
        assert_eq!(
            register(&server, Some(&later), &web_app()).await.0,
            StatusCode::UNAUTHORIZED,
            "expired"
        );
    }
);

on_both_backends!(
    software_statements_signed_by_a_trusted_key_supply_metadata,
    |backend: Backend| async move {
        let (signer, public) = key_of("ES256");
        let dir = tempfile::tempdir().unwrap();
        let jwks_file = dir.path().join("statements.jwks");
        std::fs::write(&jwks_file, json!({ "keys": [public] }).to_string()).unwrap();
        let server = server_or_skip!(backend, |config| {
            config.dynamic_registration = DynamicRegistration::Open;
            config.software_statement_jwks_file = Some(jwks_file.clone());
        });
        let statement = signed_jwt(
            signer.as_ref(),
            Some("ES256-key"),
            json!({ "iss": "https://publisher.example", "client_name": "Vetted app", "software_id": "app-1" }),
        );
        let mut body = web_app();
        body["software_statement"] = json!(statement);
        body["client_name"] = json!("Claimed name");
        let (status, registered) = register(&server, None, &body).await;
        assert_eq!(status, StatusCode::CREATED, "{registered}");
        assert_eq!(registered["client_name"], "Vetted app");

        let (forger, _) = key_of("ES256");
        let forged = signed_jwt(
            forger.as_ref(),
            Some("ES256-key"),
            json!({ "iss": "https://publisher.example", "client_name": "Vetted app" }),
        );
        body["software_statement"] = json!(forged);
        let (status, refused) = register(&server, None, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(refused["error"], "invalid_software_statement", "{refused}");
    }
);
