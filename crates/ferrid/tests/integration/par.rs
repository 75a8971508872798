//! Pushed authorization requests (RFC 9126): the client posts its request
//! to `/par`, authenticated, and the browser brings only a single-use,
//! short-lived `request_uri` to `/authorize`.

use reqwest::StatusCode;
use serde_json::Value;

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::browser::location;
use crate::support::oidc::{
    authorization_url, discovery_document, exchange, http_client, jwt_claims, relying_party,
    AuthorizationStart,
};
use crate::support::server::TestClient;
use crate::support::{Backend, Browser, TestServer};

const REDIRECT_URI: &str = "https://app.example/cb";
const PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// Posts `form` to the PAR endpoint as `client` (HTTP Basic).
async fn push(
    server: &TestServer,
    client: &TestClient,
    form: &[(String, String)],
) -> reqwest::Response {
    http_client()
        .post(server.url("/par"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(form)
        .send()
        .await
        .unwrap()
}

/// The query of a relying party's authorization URL, as form fields.
fn fields_of(start: &AuthorizationStart) -> Vec<(String, String)> {
    start
        .url
        .query_pairs()
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

/// Pushes the request of `start` and returns its `request_uri`.
async fn pushed_uri(
    server: &TestServer,
    client: &TestClient,
    start: &AuthorizationStart,
) -> String {
    let response = push(server, client, &fields_of(start)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expires_in"], 60);
    body["request_uri"]
        .as_str()
        .expect("request_uri")
        .to_owned()
}

fn authorize_with(server: &TestServer, client_id: &str, request_uri: &str) -> String {
    let mut url = url::Url::parse(&server.url("/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("request_uri", request_uri);
    url.to_string()
}

on_both_backends!(
    a_pushed_request_starts_one_sign_in,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("pat");
        let client = server.create_client("client_secret_basic", REDIRECT_URI);
        let rp = relying_party(&server, &client).await;
        let start = authorization_url(&rp, &["email"]);
        let request_uri = pushed_uri(&server, &client, &start).await;
        assert!(request_uri.starts_with(PREFIX), "{request_uri}");
        assert!(request_uri.len() > PREFIX.len() + 40, "{request_uri}");

        // Parameters in the browser's URL besides the two are ignored:
        // the pushed ones stand.
        let tampered = format!(
            "{}&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&scope=openid&state=forged",
            authorize_with(&server, &client.id, &request_uri)
        );
        let browser = Browser::new();
        let redirected = browser.sign_in(&server.issuer, &tampered, "pat").await;
        assert!(redirected.url.as_str().starts_with(REDIRECT_URI));
        assert_eq!(
            redirected.param("state").as_deref(),
            Some(start.state.secret().as_str())
        );
        let tokens = exchange(&rp, redirected.param("code").unwrap(), start.verifier).await;
        let id_token = openidconnect::TokenResponse::id_token(&tokens).unwrap();
        let claims = jwt_claims(&id_token.to_string());
        assert_eq!(claims["nonce"], start.nonce.secret().as_str());
        // The pushed scope, not the one in the browser's URL.
        let granted = openidconnect::OAuth2TokenResponse::scopes(&tokens).expect("scope");
        assert!(
            granted.iter().any(|scope| scope.as_str() == "email"),
            "{granted:?}"
        );

        // Single use, on any node: the database forgot it.
        let again = browser
            .get(&authorize_with(&server, &client.id, &request_uri))
            .await;
        assert_eq!(again.status(), StatusCode::BAD_REQUEST);
        assert!(again.text().await.unwrap().contains("request_uri"));

        // Another client cannot use it, and does not spend it.
        let other = server.create_client("client_secret_basic", REDIRECT_URI);
        let fresh = authorization_url(&rp, &[]);
        let request_uri = pushed_uri(&server, &client, &fresh).await;
        let stolen = browser
            .get(&authorize_with(&server, &other.id, &request_uri))
            .await;
        assert_eq!(stolen.status(), StatusCode::BAD_REQUEST);
        let owned = browser
            .get(&authorize_with(&server, &client.id, &request_uri))
            .await;
        assert_eq!(owned.status(), StatusCode::SEE_OTHER);

        // It expires after its lifetime.
        let late = authorization_url(&rp, &[]);
        let request_uri = pushed_uri(&server, &client, &late).await;
        server.clock.advance(61);
        let expired = browser
            .get(&authorize_with(&server, &client.id, &request_uri))
            .await;
        assert_eq!(expired.status(), StatusCode::BAD_REQUEST);

        // Unknown, malformed or client-less references are pages too.
        for url in [
            authorize_with(&server, &client.id, &format!("{PREFIX}unknown")),
            authorize_with(&server, &client.id, "https://attacker.example/request.jwt"),
            format!(
                "{}?request_uri={}",
                server.url("/authorize"),
                url::form_urlencoded::byte_serialize(request_uri.as_bytes()).collect::<String>()
            ),
        ] {
            let refused = browser.get(&url).await;
            assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{url}");
        }
    }
);

on_both_backends!(
    pushed_requests_are_authenticated_and_validated,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let client = server.create_client("client_secret_basic", REDIRECT_URI);
        let rp = relying_party(&server, &client).await;
        let start = authorization_url(&rp, &[]);
        let fields = fields_of(&start);
        let with = |name: &str, value: &str| {
            let mut changed: Vec<(String, String)> = fields
                .iter()
                .filter(|(key, _)| key != name)
                .cloned()
                .collect();
            changed.push((name.to_owned(), value.to_owned()));
            changed
        };
        let error_of = |response: reqwest::Response| async move {
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            (
                status,
                body["error"].as_str().unwrap_or_default().to_owned(),
            )
        };

        // Without client authentication, or with a wrong secret: 401.
        let anonymous = http_client()
            .post(server.url("/par"))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_of(anonymous).await,
            (StatusCode::UNAUTHORIZED, "invalid_client".to_owned())
        );
        let wrong = TestClient {
            secret: Some("not the secret".into()),
            ..client.clone()
        };
        assert_eq!(
            error_of(push(&server, &wrong, &fields).await).await,
            (StatusCode::UNAUTHORIZED, "invalid_client".to_owned())
        );

        // Every rule of the authorization endpoint, answered in JSON.
        for (form, expected) in [
            (
                with("request_uri", &format!("{PREFIX}x")),
                "invalid_request",
            ),
            (
                with("redirect_uri", "https://evil.example/cb"),
                "invalid_request",
            ),
            (with("scope", "openid admin"), "invalid_scope"),
            (with("response_type", "token"), "unsupported_response_type"),
            (with("code_challenge_method", "plain"), "invalid_request"),
            (with("prompt", "bogus"), "invalid_request"),
            (with("id_token_hint", "not.a.token"), "invalid_request"),
            (with("client_id", "someone-else"), "invalid_request"),
        ] {
            let (status, error) = error_of(push(&server, &client, &form).await).await;
            assert_eq!(
                (status, error.as_str()),
                (StatusCode::BAD_REQUEST, expected),
                "{form:?}"
            );
        }
        let form_encoded = http_client()
            .post(server.url("/par"))
            .basic_auth(&client.id, client.secret.as_deref())
            .json(&serde_json::json!({"client_id": client.id}))
            .send()
            .await
            .unwrap();
        assert_eq!(form_encoded.status(), StatusCode::BAD_REQUEST);

        // client_id may be left to the authentication.
        let without_id: Vec<(String, String)> = fields
            .iter()
            .filter(|(key, _)| key != "client_id")
            .cloned()
            .collect();
        assert_eq!(
            push(&server, &client, &without_id).await.status(),
            StatusCode::CREATED
        );
    }
);

on_both_backends!(
    clients_or_the_server_can_require_pushed_requests,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("pia");
        let client = server.create_client("client_secret_basic", REDIRECT_URI);
        server
            .store
            .set_client_require_pushed_requests(&client.id, true)
            .unwrap();
        let rp = relying_party(&server, &client).await;
        let browser = Browser::new();
        let plain = authorization_url(&rp, &[]);
        let refused = browser.get(plain.url.as_str()).await;
        assert_eq!(refused.status(), StatusCode::SEE_OTHER);
        let back = location(&refused);
        assert!(back.starts_with(REDIRECT_URI), "{back}");
        assert!(back.contains("error=invalid_request"), "{back}");
        let start = authorization_url(&rp, &[]);
        let request_uri = pushed_uri(&server, &client, &start).await;
        let redirected = browser
            .sign_in(
                &server.issuer,
                &authorize_with(&server, &client.id, &request_uri),
                "pia",
            )
            .await;
        assert!(redirected.param("code").is_some());

        let discovery: Value = discovery_document(&server).await;
        assert_eq!(
            discovery["pushed_authorization_request_endpoint"],
            server.url("/par")
        );
        assert_eq!(discovery["require_pushed_authorization_requests"], false);

        // Server-wide, for every client.
        let Some(strict) = TestServer::start_with(backend, |config| {
            config.require_pushed_authorization_requests = true;
        }) else {
            return;
        };
        let client = strict.create_client("client_secret_basic", REDIRECT_URI);
        let rp = relying_party(&strict, &client).await;
        let refused = browser.get(authorization_url(&rp, &[]).url.as_str()).await;
        assert!(location(&refused).contains("error=invalid_request"));
        let discovery: Value = discovery_document(&strict).await;
        assert_eq!(discovery["require_pushed_authorization_requests"], true);
        // The console's own sign-in, built by the server, still works.
        crate::support::console::create_admin(
            &strict,
            "root",
            ferrid_service::users::AdminRole::Admin,
        );
        let landed =
            crate::support::console::open(&strict, &Browser::new(), "/admin", "root").await;
        assert_eq!(landed.status, StatusCode::OK);
    }
);
