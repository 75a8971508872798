//! Registered APIs and audience-bound access tokens (RFC 8707, RFC 9068):
//! tokens requested for one API are accepted by that API's own code (the
//! example service) and refused by every other; scopes and roles are
//! enforced per route; introspection answers each caller for its own.

use std::net::TcpListener;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ferrid_example_api::keys::KeySet;
use ferrid_example_api::token::Validator;
use ferrid_server::Clock;
use ferrid_service::apis::{self, ApiRegistration, IntrospectionAccess};
use ferrid_service::clients::ClientRegistration;
use ferrid_service::groups::{self, Holder};
use ferrid_store::{ApiRole, ApiScope};
use openidconnect::core::{CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
use openidconnect::{
    AuthorizationCode, ClientId, IssuerUrl, JsonWebKey, OAuth2TokenResponse, TokenResponse,
};
use reqwest::StatusCode;
use serde_json::Value;

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::oidc::{authorization_url, http_client, jwt_claims, jwt_header, relying_party};
use crate::support::server::TestClient;
use crate::support::{Backend, Browser, TestServer};
use crate::token_lifecycle::call;

pub(crate) const ORDERS: &str = "https://api.example.com/orders";
pub(crate) const REPORTS: &str = "https://api.example.com/reports";

fn scope(name: &str, description: &str) -> ApiScope {
    ApiScope {
        name: name.into(),
        description: description.into(),
    }
}

/// Registers the orders API (with introspection credentials) and the
/// reports API; returns the orders API's introspection client.
pub(crate) fn register_apis(server: &TestServer) -> TestClient {
    let enabled = server.config.signing_algorithms().unwrap();
    let orders = apis::create(
        &server.store,
        ApiRegistration {
            identifier: ORDERS.into(),
            name: "Orders".into(),
            scopes: vec![
                scope("orders:read", "Read your orders"),
                scope("orders:write", "Place orders for you"),
            ],
            roles: vec![ApiRole {
                name: "clerk".into(),
                description: "Places orders".into(),
            }],
            introspection: Some(IntrospectionAccess {
                auth_method: "client_secret_basic".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
        &server.issuer,
        &enabled,
        &server.master_key(),
        "test",
        server.clock.now(),
    )
    .unwrap();
    apis::create(
        &server.store,
        ApiRegistration {
            identifier: REPORTS.into(),
            name: "Reports".into(),
            scopes: vec![scope("reports:read", "Read sales reports")],
            access_token_ttl: Some(120),
            signing_alg: Some("ES256".into()),
            ..Default::default()
        },
        &server.issuer,
        &enabled,
        &server.master_key(),
        "test",
        server.clock.now(),
    )
    .unwrap();
    let credentials = orders.introspection.unwrap();
    TestClient {
        id: credentials.client.client_id,
        secret: credentials.secret,
        redirect_uri: String::new(),
    }
}

/// Starts the example service as the API `audience`; returns its URL.
pub(crate) async fn example_api(server: &TestServer, audience: &str) -> String {
    let jwks_uri = ferrid_example_api::jwks_uri(&reqwest::Client::new(), &server.issuer)
        .await
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (issuer, audience, public_url) = (server.issuer.clone(), audience.to_owned(), url.clone());
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            // The server's clock jumps days in a moment in these tests, so
            // the service may fetch the key set again at once.
            let keys =
                KeySet::new(reqwest::Client::new(), jwks_uri).with_min_refetch(Duration::ZERO);
            let validator = Validator::new(issuer, audience, keys).with_public_url(public_url);
            let _ = ferrid_example_api::serve(listener, validator)
                .unwrap()
                .await;
        });
    });
    url
}

/// Calls the example service; returns the status and `WWW-Authenticate`.
async fn call_api(api: &str, method: reqwest::Method, token: &str) -> (StatusCode, String) {
    let response = reqwest::Client::new()
        .request(method, format!("{api}/orders"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.status(), challenge)
}

/// A client that signs users in for both APIs.
pub(crate) fn shop_client(server: &TestServer) -> TestClient {
    server.create_client_with(ClientRegistration {
        name: "Shop".into(),
        redirect_uris: vec!["https://shop.example/cb".into()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        auth_method: "client_secret_basic".into(),
        scope: "openid profile offline_access groups orders:read orders:write reports:read".into(),
        id_token_alg: "RS256".into(),
        ..Default::default()
    })
}

/// A service that uses client credentials for `scope`.
fn service_client(server: &TestServer, name: &str, scope: &str) -> TestClient {
    server.create_client_with(ClientRegistration {
        name: name.into(),
        grant_types: vec!["client_credentials".into()],
        auth_method: "client_secret_basic".into(),
        scope: scope.into(),
        id_token_alg: "RS256".into(),
        ..Default::default()
    })
}

/// A refresh by `client` naming each of `resources`.
async fn refresh_for(
    server: &TestServer,
    client: &TestClient,
    refresh_token: &str,
    resources: &[&str],
) -> (StatusCode, Value) {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    form.extend(resources.iter().map(|resource| ("resource", *resource)));
    call(server, "/token", client, &form).await
}

/// Asserts that a token request answered 400 with `error`.
fn assert_refused((status, body): (StatusCode, Value), error: &str) {
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some(error)),
        "{body}"
    );
}

/// Signs `user` in asking for `scopes`, with `extra` query parameters on
/// the authorization request; returns the code and the PKCE verifier.
pub(crate) async fn code_for(
    server: &TestServer,
    client: &TestClient,
    user: &str,
    scopes: &[&str],
    extra: &[(&str, &str)],
) -> (String, openidconnect::PkceCodeVerifier) {
    let rp = relying_party(server, client).await;
    let mut start = authorization_url(&rp, scopes);
    start.url.query_pairs_mut().extend_pairs(extra);
    let redirected = Browser::new()
        .sign_in(&server.issuer, start.url.as_str(), user)
        .await;
    let code = redirected
        .param("code")
        .unwrap_or_else(|| panic!("no code: {}", redirected.url));
    (code, start.verifier)
}

/// Exchanges a code at the token endpoint by hand, naming `resource`.
pub(crate) async fn exchange(
    server: &TestServer,
    client: &TestClient,
    code: &str,
    verifier: &openidconnect::PkceCodeVerifier,
    resource: Option<&str>,
) -> (StatusCode, Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", "https://shop.example/cb"),
        ("code_verifier", verifier.secret()),
    ];
    form.extend(resource.map(|resource| ("resource", resource)));
    call(server, "/token", client, &form).await
}

on_both_backends!(
    a_token_for_one_api_is_refused_by_another,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        register_apis(&server);
        let alice = server.create_user("alice");
        // The clerk role reaches alice through a group.
        groups::create(&server.store, "staff", "Shop staff", "test", 0).unwrap();
        groups::set_member(&server.store, "staff", "alice", true, "test", 0).unwrap();
        groups::set_role(
            &server.store,
            ORDERS,
            "clerk",
            &Holder::Group("staff".into()),
            true,
            "test",
            0,
        )
        .unwrap();
        let shop = shop_client(&server);
        let orders_api = example_api(&server, ORDERS).await;
        let reports_api = example_api(&server, REPORTS).await;

        // The scopes name one API: the token is for it, without asking.
        let rp = relying_party(&server, &shop).await;
        let start = authorization_url(&rp, &["orders:read", "orders:write", "groups"]);
        let redirected = Browser::new()
            .sign_in(&server.issuer, start.url.as_str(), "alice")
            .await;
        let tokens = rp
            .exchange_code(AuthorizationCode::new(redirected.param("code").unwrap()))
            .unwrap()
            .set_pkce_verifier(start.verifier)
            .request_async(&http_client())
            .await
            .expect("token exchange");
        let access = tokens.access_token().secret().clone();
        assert_eq!(jwt_header(&access)["typ"], "at+jwt");
        let claims = jwt_claims(&access);
        assert_eq!(claims["aud"], serde_json::json!([ORDERS, server.issuer]));
        assert_eq!(claims["client_id"], shop.id.as_str());
        assert_eq!(claims["sub"], alice.id.as_str());
        assert_eq!(claims["scope"], "openid orders:read orders:write groups");
        assert_eq!(claims["roles"], serde_json::json!(["clerk"]));
        assert_eq!(claims["acr"], "1");
        assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
        assert!(claims["auth_time"].is_i64());
        // The ID token and UserInfo carry the groups.
        let id_token = tokens.id_token().unwrap().to_string();
        assert_eq!(
            jwt_claims(&id_token)["groups"],
            serde_json::json!(["staff"])
        );
        let userinfo: Value = reqwest::Client::new()
            .get(server.url("/userinfo"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(userinfo["groups"], serde_json::json!(["staff"]));

        // The orders API accepts it on both routes (scope and role)…
        assert_eq!(
            call_api(&orders_api, reqwest::Method::GET, &access).await.0,
            StatusCode::OK
        );
        assert_eq!(
            call_api(&orders_api, reqwest::Method::POST, &access)
                .await
                .0,
            StatusCode::CREATED
        );
        // …the reports API refuses it.
        let (status, challenge) = call_api(&reports_api, reqwest::Method::GET, &access).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(challenge.contains("invalid_token"), "{challenge}");

        // The openidconnect crate verifies its signature with the published
        // key set too; its ID-token verifier refuses it (typ at+jwt), so an
        // access token can never pass for an ID token.
        let jwks: CoreJsonWebKeySet = reqwest::get(server.url("/jwks"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let header = jwt_header(&access);
        let alg: CoreJwsSigningAlgorithm = serde_json::from_value(header["alg"].clone()).unwrap();
        let key = jwks
            .keys()
            .iter()
            .find(|key| key.key_id().map(|kid| kid.as_str()) == header["kid"].as_str())
            .expect("the signing key is published");
        let (signing_input, signature) = access.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        assert!(key
            .verify_signature(&alg, signing_input.as_bytes(), &signature)
            .is_ok());
        let tampered = signing_input.replacen('.', ".e", 1);
        assert!(key
            .verify_signature(&alg, tampered.as_bytes(), &signature)
            .is_err());
        let as_id_token: openidconnect::core::CoreIdToken =
            serde_json::from_value(Value::String(access.clone())).unwrap();
        let id_token_verifier = CoreIdTokenVerifier::new_public_client(
            ClientId::new(shop.id.clone()),
            IssuerUrl::new(server.issuer.clone()).unwrap(),
            jwks.clone(),
        );
        assert!(as_id_token
            .claims(
                &id_token_verifier,
                |_: Option<&openidconnect::Nonce>| Ok(())
            )
            .is_err());

        // Without the role, the write route is refused (403), the read one not.
        groups::set_member(&server.store, "staff", "alice", false, "test", 0).unwrap();
        let (code, verifier) = code_for(
            &server,
            &shop,
            "alice",
            &["orders:read", "orders:write"],
            &[],
        )
        .await;
        let (_, body) = exchange(&server, &shop, &code, &verifier, None).await;
        let unprivileged = body["access_token"].as_str().unwrap();
        assert!(
            jwt_claims(unprivileged).get("roles").is_none()
                || jwt_claims(unprivileged)["roles"] == serde_json::json!([])
        );
        let (status, challenge) = call_api(&orders_api, reqwest::Method::POST, unprivileged).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(challenge.contains("insufficient_scope"), "{challenge}");
        assert_eq!(
            call_api(&orders_api, reqwest::Method::GET, unprivileged)
                .await
                .0,
            StatusCode::OK
        );
        // A scope not granted is refused per route.
        let (code, verifier) = code_for(&server, &shop, "alice", &["orders:read"], &[]).await;
        let (_, body) = exchange(&server, &shop, &code, &verifier, None).await;
        let read_only = body["access_token"].as_str().unwrap();
        assert_eq!(
            call_api(&orders_api, reqwest::Method::POST, read_only)
                .await
                .0,
            StatusCode::FORBIDDEN
        );
        // No token at all: a bare challenge.
        let bare = reqwest::get(format!("{orders_api}/orders")).await.unwrap();
        assert_eq!(bare.status(), StatusCode::UNAUTHORIZED);
    }
);

on_both_backends!(
    a_grant_for_two_apis_mints_one_token_per_resource,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        register_apis(&server);
        server.create_user("bob");
        let shop = shop_client(&server);
        let orders_api = example_api(&server, ORDERS).await;
        let reports_api = example_api(&server, REPORTS).await;
        let both = ["orders:read", "reports:read", "offline_access"];

        // Scopes of two APIs: the code exchange must name one.
        let (code, verifier) = code_for(&server, &shop, "bob", &both, &[]).await;
        assert_refused(
            exchange(&server, &shop, &code, &verifier, None).await,
            "invalid_target",
        );

        let (code, verifier) = code_for(&server, &shop, "bob", &both, &[]).await;
        let (status, body) = exchange(&server, &shop, &code, &verifier, Some(ORDERS)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["scope"], "openid orders:read offline_access");
        let for_orders = body["access_token"].as_str().unwrap().to_owned();
        let refresh_token = body["refresh_token"].as_str().unwrap().to_owned();
        assert_eq!(
            call_api(&orders_api, reqwest::Method::GET, &for_orders)
                .await
                .0,
            StatusCode::OK
        );
        assert_eq!(
            call_api(&reports_api, reqwest::Method::GET, &for_orders)
                .await
                .0,
            StatusCode::UNAUTHORIZED
        );

        // A resource the grant does not cover spends nothing.
        for wrong in ["https://elsewhere.example", "not a uri"] {
            assert_refused(
                refresh_for(&server, &shop, &refresh_token, &[wrong]).await,
                "invalid_target",
            );
        }
        // Two resources at once: one token per request.
        assert_refused(
            refresh_for(&server, &shop, &refresh_token, &[ORDERS, REPORTS]).await,
            "invalid_target",
        );

        // The refresh token switches resource: a token for reports, with its
        // lifetime and algorithm.
        let (status, body) = refresh_for(&server, &shop, &refresh_token, &[REPORTS]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["scope"], "openid reports:read offline_access");
        assert_eq!(body["expires_in"], 120);
        let for_reports = body["access_token"].as_str().unwrap();
        assert_eq!(jwt_header(for_reports)["alg"], "ES256");
        let claims = jwt_claims(for_reports);
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            120
        );
        let (status, _) = call_api(&reports_api, reqwest::Method::GET, for_reports).await;
        // The reports service serves /orders too (it is the same example
        // code); what matters is that it accepts the token: 403 for the
        // missing orders:read scope, not 401.
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(
            call_api(&orders_api, reqwest::Method::GET, for_reports)
                .await
                .0,
            StatusCode::UNAUTHORIZED
        );

        // A resource named at authorization is covered even without its scopes.
        let (code, verifier) = code_for(
            &server,
            &shop,
            "bob",
            &["orders:read"],
            &[("resource", REPORTS)],
        )
        .await;
        let (status, body) = exchange(&server, &shop, &code, &verifier, Some(REPORTS)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            jwt_claims(body["access_token"].as_str().unwrap())["aud"],
            serde_json::json!([REPORTS, server.issuer])
        );
    }
);

on_both_backends!(
    unknown_or_unpermitted_resources_are_invalid_target,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        register_apis(&server);
        server.create_user("carol");
        // This client may use the orders API only.
        let orders_only = server.create_client_with(ClientRegistration {
            name: "Orders app".into(),
            redirect_uris: vec!["https://shop.example/cb".into()],
            grant_types: vec!["authorization_code".into()],
            auth_method: "client_secret_basic".into(),
            scope: "openid orders:read".into(),
            id_token_alg: "RS256".into(),
            ..Default::default()
        });
        let rp = relying_party(&server, &orders_only).await;
        for resource in [
            REPORTS,
            "https://unknown.example",
            "relative/path",
            "https://api.example.com/orders#x",
        ] {
            let mut start = authorization_url(&rp, &[]);
            start
                .url
                .query_pairs_mut()
                .append_pair("resource", resource);
            let response = Browser::new().get(start.url.as_str()).await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{resource}");
            let location = response.headers()["location"].to_str().unwrap();
            assert!(
                location.starts_with("https://shop.example/cb?"),
                "{location}"
            );
            assert!(location.contains("error=invalid_target"), "{location}");
        }
        // A scope of an API the client was not granted is invalid_scope.
        let start = authorization_url(&rp, &["reports:read"]);
        let response = Browser::new().get(start.url.as_str()).await;
        let location = response.headers()["location"].to_str().unwrap();
        assert!(location.contains("error=invalid_scope"), "{location}");

        // Client credentials: the same rules.
        let service = service_client(&server, "Batch", "orders:read");
        for resource in [REPORTS, "https://unknown.example"] {
            assert_refused(
                call(
                    &server,
                    "/token",
                    &service,
                    &[("grant_type", "client_credentials"), ("resource", resource)],
                )
                .await,
                "invalid_target",
            );
        }
    }
);

on_both_backends!(
    client_credentials_get_api_scopes_and_roles,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        register_apis(&server);
        let orders_api = example_api(&server, ORDERS).await;
        let reports_api = example_api(&server, REPORTS).await;
        let service = service_client(
            &server,
            "Warehouse",
            "orders:read orders:write reports:read",
        );
        groups::set_role(
            &server.store,
            ORDERS,
            "clerk",
            &Holder::Client(service.id.clone()),
            true,
            "test",
            0,
        )
        .unwrap();

        // Scopes of two APIs and no resource: ambiguous.
        assert_refused(
            call(
                &server,
                "/token",
                &service,
                &[("grant_type", "client_credentials")],
            )
            .await,
            "invalid_target",
        );

        // The scope names the API.
        let (status, body) = call(
            &server,
            "/token",
            &service,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "orders:read orders:write"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let token = body["access_token"].as_str().unwrap();
        let claims = jwt_claims(token);
        assert_eq!(claims["aud"], ORDERS);
        assert_eq!(claims["sub"], service.id.as_str());
        assert_eq!(claims["roles"], serde_json::json!(["clerk"]));
        assert_eq!(
            call_api(&orders_api, reqwest::Method::POST, token).await.0,
            StatusCode::CREATED
        );
        assert_eq!(
            call_api(&reports_api, reqwest::Method::GET, token).await.0,
            StatusCode::UNAUTHORIZED
        );
        // A token for an API is not one for UserInfo.
        let userinfo = reqwest::Client::new()
            .get(server.url("/userinfo"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(userinfo.status(), StatusCode::UNAUTHORIZED);

        // The resource names the API: all the client's scopes there.
        let (status, body) = call(
            &server,
            "/token",
            &service,
            &[("grant_type", "client_credentials"), ("resource", REPORTS)],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["scope"], "reports:read");
        assert_eq!(
            jwt_claims(body["access_token"].as_str().unwrap())["aud"],
            REPORTS
        );
    }
);

on_both_backends!(
    introspection_answers_each_caller_for_its_own_tokens,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let orders_introspection = register_apis(&server);
        server.create_user("dave");
        let shop = shop_client(&server);
        let (code, verifier) = code_for(
            &server,
            &shop,
            "dave",
            &["orders:read", "reports:read", "offline_access"],
            &[],
        )
        .await;
        let (_, body) = exchange(&server, &shop, &code, &verifier, Some(ORDERS)).await;
        let for_orders = body["access_token"].as_str().unwrap().to_owned();
        let refresh_token = body["refresh_token"].as_str().unwrap().to_owned();
        let (_, body) = refresh_for(&server, &shop, &refresh_token, &[REPORTS]).await;
        let for_reports = body["access_token"].as_str().unwrap().to_owned();
        let refresh_token = body["refresh_token"].as_str().unwrap().to_owned();

        let introspect = |caller: &TestClient, token: &str| {
            let (server, caller, token) = (&server, caller.clone(), token.to_owned());
            async move {
                call(server, "/introspect", &caller, &[("token", &token)])
                    .await
                    .1
            }
        };
        let seen = introspect(&orders_introspection, &for_orders).await;
        assert_eq!(seen["active"], true);
        assert_eq!(seen["aud"], serde_json::json!([ORDERS, server.issuer]));
        assert_eq!(seen["client_id"], shop.id.as_str());
        // The orders API learns nothing of the reports token or of refresh tokens.
        assert_eq!(
            introspect(&orders_introspection, &for_reports).await,
            serde_json::json!({"active": false})
        );
        assert_eq!(
            introspect(&orders_introspection, &refresh_token).await,
            serde_json::json!({"active": false})
        );
        // The shop sees its own tokens.
        assert_eq!(introspect(&shop, &for_reports).await["active"], true);
        assert_eq!(introspect(&shop, &refresh_token).await["active"], true);
        // The API's credentials introspect; they never get a token.
        assert_refused(
            call(
                &server,
                "/token",
                &orders_introspection,
                &[("grant_type", "client_credentials")],
            )
            .await,
            "unauthorized_client",
        );
    }
);

on_both_backends!(
    consent_shows_api_scopes_and_remembers_them,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        register_apis(&server);
        server.create_user("erin");
        let shop = shop_client(&server);
        let browser = Browser::new();
        let rp = relying_party(&server, &shop).await;
        let start = authorization_url(&rp, &["orders:read"]);
        // Log in by hand to stop at the consent page.
        let mut response = browser.get(start.url.as_str()).await;
        let mut consent = None;
        for _ in 0..6 {
            if response.status().is_redirection() {
                let location = response.headers()["location"].to_str().unwrap().to_owned();
                let location = if location.starts_with('/') {
                    server.url(&location)
                } else {
                    location
                };
                response = browser.get(&location).await;
                continue;
            }
            let html = response.text().await.unwrap();
            if html.contains("action=\"/consent\"") {
                consent = Some(html);
                break;
            }
            response = browser
                .submit_login(
                    &server.issuer,
                    &html,
                    "erin",
                    crate::support::server::PASSWORD,
                )
                .await;
        }
        let consent = consent.expect("a consent page");
        assert!(consent.contains("orders:read") || consent.contains("Read your orders"));
        assert!(consent.contains("Read your orders"), "{consent}");
        let redirected = browser
            .submit_consent(&server.issuer, &consent, "allow")
            .await;
        assert_eq!(redirected.status(), StatusCode::SEE_OTHER);
        // Remembered: the next request for the same API scope asks nothing.
        let again = authorization_url(&rp, &["orders:read"]);
        let response = browser.get(again.url.as_str()).await;
        let location = response.headers()["location"].to_str().unwrap();
        assert!(
            location.starts_with("https://shop.example/cb?code="),
            "{location}"
        );
    }
);

/// Key rotation while the example service holds a cached key set: every
/// request across it is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_breaks_no_request_to_an_api() {
    let server = TestServer::start_with(Backend::Sqlite, |_| {}).unwrap();
    register_apis(&server);
    let orders_api = example_api(&server, ORDERS).await;
    let service = service_client(&server, "Warehouse", "orders:read");
    let token = || async {
        let (status, body) = call(
            &server,
            "/token",
            &service,
            &[("grant_type", "client_credentials")],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    };
    let before = token().await;
    assert_eq!(
        call_api(&orders_api, reqwest::Method::GET, &before).await.0,
        StatusCode::OK
    );
    let policy = server.state.key_policy.clone();
    let old_kid = jwt_header(&before)["kid"].clone();
    // Pre-publication, then promotion: the old token and every new one are
    // accepted at each step.
    for step in [
        policy.rotation_interval - policy.prepublish,
        policy.prepublish,
    ] {
        server.clock.advance(step);
        server.run_key_maintenance();
        let now = token().await;
        assert_eq!(
            call_api(&orders_api, reqwest::Method::GET, &now).await.0,
            StatusCode::OK
        );
        assert_eq!(
            call_api(&orders_api, reqwest::Method::GET, &before).await.0,
            StatusCode::OK
        );
    }
    let after = token().await;
    assert_ne!(jwt_header(&after)["kid"], old_kid, "a new key signs");
    assert_eq!(
        call_api(&orders_api, reqwest::Method::GET, &after).await.0,
        StatusCode::OK
    );
}
