//! Discovery, JWKS, health, and the headers every response carries.

use reqwest::StatusCode;
use serde_json::Value;

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::Backend;

on_both_backends!(discovery_and_jwks, |backend: Backend| async move {
    let server = server_or_skip!(backend);
    let http = reqwest::Client::new();

    let response = http
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert!(response.headers()["cache-control"]
        .to_str()
        .unwrap()
        .starts_with("public, max-age="));
    let discovery: Value = response.json().await.unwrap();
    assert_eq!(discovery["issuer"], server.issuer.as_str());
    assert_eq!(discovery["jwks_uri"], server.url("/jwks"));
    assert_eq!(
        discovery["response_types_supported"],
        serde_json::json!(["code"])
    );
    assert_eq!(
        discovery["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256", "PS256", "ES256", "EdDSA"])
    );
    assert_eq!(
        discovery["authorization_response_iss_parameter_supported"],
        true
    );
    // The client-assertion algorithms and, for introspection, only the
    // methods of confidential clients (it refuses public ones).
    let assertion_algs =
        serde_json::json!(["HS256", "HS384", "HS512", "RS256", "PS256", "ES256", "EdDSA"]);
    for endpoint in ["token", "introspection", "revocation"] {
        assert_eq!(
            discovery[format!("{endpoint}_endpoint_auth_signing_alg_values_supported")],
            assertion_algs,
            "{endpoint}"
        );
    }
    let introspection_methods = discovery["introspection_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        introspection_methods,
        [
            "client_secret_basic",
            "client_secret_post",
            "client_secret_jwt",
            "private_key_jwt"
        ]
        .map(serde_json::Value::from)
        .to_vec()
    );

    let not_modified = http
        .get(server.url("/.well-known/openid-configuration"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);

    let jwks: Value = http
        .get(server.url("/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 4, "one current key per algorithm");
    let by_alg = |alg: &str| {
        keys.iter()
            .find(|key| key["alg"] == alg)
            .unwrap_or_else(|| panic!("no {alg} key"))
    };
    let rsa = by_alg("RS256");
    assert_eq!(rsa["kty"], "RSA");
    assert!(
        rsa["n"].as_str().unwrap().len() >= 342,
        "RSA 2048 or larger"
    );
    assert_eq!(by_alg("PS256")["kty"], "RSA");
    assert_eq!(by_alg("ES256")["crv"], "P-256");
    assert_eq!(by_alg("EdDSA")["crv"], "Ed25519");
    for key in keys {
        assert_eq!(key["use"], "sig");
        assert!(key["kid"].is_string());
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(
                key.get(private).is_none(),
                "private member {private} in {key}"
            );
        }
    }
    // The private key is stored sealed, never as a plain JWK or PEM.
    for stored in server.store.list_signing_keys().unwrap() {
        assert!(stored.private_key_sealed.starts_with("v1."));
        assert!(!stored.private_key_sealed.contains("PRIVATE"));
    }
});

on_both_backends!(health_and_security_headers, |backend: Backend| async move {
    let server = server_or_skip!(backend);
    let http = reqwest::Client::new();
    let health = http.get(server.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.json::<Value>().await.unwrap()["status"], "ok");

    let page = http
        .get(server.url("/login?request_id=unknown"))
        .send()
        .await
        .unwrap();
    let headers = page.headers();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["cache-control"], "no-store");

    let css = http
        .get(server.url("/static/ferrid.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert!(css.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    assert_eq!(
        http.get(server.url("/nope")).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
});

/// `HEAD` on the discovery and JWKS documents answers like `GET` without
/// the body (RFC 9110 §9.3.2), so caches and monitors can check the ETag.
#[tokio::test]
async fn head_requests_on_discovery_and_jwks() {
    let server = server_or_skip!(Backend::Sqlite);
    let http = reqwest::Client::new();
    for path in ["/.well-known/openid-configuration", "/jwks"] {
        let get = http.get(server.url(path)).send().await.unwrap();
        let head = http.head(server.url(path)).send().await.unwrap();
        assert_eq!(head.status(), StatusCode::OK, "{path}");
        for header in ["etag", "cache-control", "content-type"] {
            assert_eq!(
                head.headers()[header],
                get.headers()[header],
                "{path}: {header}"
            );
        }
        assert!(head.bytes().await.unwrap().is_empty(), "{path}: no body");
    }
}

on_both_backends!(liveness_and_readiness, |backend: Backend| async move {
    use diesel::RunQueryDsl;
    let server = server_or_skip!(backend);
    let http = reqwest::Client::new();
    let live = http.get(server.url("/health/live")).send().await.unwrap();
    assert_eq!(live.status(), StatusCode::OK);
    let ready = http.get(server.url("/health/ready")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.headers()["cache-control"], "no-store");
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"]["database"], "ok");
    assert_eq!(body["checks"]["migrations"], "ok");
    assert_eq!(body["checks"]["signing_keys"], "ok");

    // A configured algorithm without a signing key: not ready, and why.
    let mut connection = crate::support::database::raw_connection(&server.config.database_url);
    diesel::sql_query("UPDATE signing_keys SET state = 'revoked' WHERE alg = 'ES256'")
        .execute(&mut connection)
        .unwrap();
    server.state.refresh_keys().unwrap();
    let ready = http.get(server.url("/health/ready")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["checks"]["signing_keys"], "missing");
    // Liveness does not depend on it.
    let live = http.get(server.url("/health/live")).send().await.unwrap();
    assert_eq!(live.status(), StatusCode::OK);
});
