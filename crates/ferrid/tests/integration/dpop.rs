//! DPoP (RFC 9449): tokens bound to a key the client proves it holds with
//! every request; proofs checked for method, URL, time, token hash, nonce
//! and replay; bound refresh tokens for public clients.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ferrid_server::Clock;
use ferrid_service::clients::ClientRegistration;
use josekit::jws::{JwsHeader, JwsSigner};
use josekit::jwt::{self, JwtPayload};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::jws::key_of;
use crate::support::oidc::{
    authorization_url, discovery_document, http_client, jwt_claims, relying_party,
};
use crate::support::server::TestClient;
use crate::support::{Backend, Browser, TestServer};

/// A client's DPoP key.
struct Holder {
    signer: Box<dyn JwsSigner>,
    jwk: Value,
}

impl Holder {
    fn new(alg: &str) -> Holder {
        let (signer, jwk) = key_of(alg);
        Holder { signer, jwk }
    }

    /// The RFC 7638 thumbprint of the key.
    fn jkt(&self) -> String {
        let members: &[&str] = match self.jwk["kty"].as_str().unwrap() {
            "EC" => &["crv", "kty", "x", "y"],
            "RSA" => &["e", "kty", "n"],
            _ => &["crv", "kty", "x"],
        };
        let canonical: serde_json::Map<String, Value> = members
            .iter()
            .map(|name| ((*name).to_owned(), self.jwk[*name].clone()))
            .collect();
        URL_SAFE_NO_PAD.encode(Sha256::digest(Value::Object(canonical).to_string()))
    }

    /// A proof for `htm` `htu` at `iat`, with `extra` claims.
    fn proof_at(&self, htm: &str, htu: &str, iat: i64, extra: Value) -> String {
        let mut header = JwsHeader::new();
        header.set_token_type("dpop+jwt");
        header.set_claim("jwk", Some(self.jwk.clone())).unwrap();
        let mut claims = json!({
            "jti": ferrid_store::secret::random_token(12),
            "htm": htm,
            "htu": htu,
            "iat": iat,
        });
        claims
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().cloned().unwrap_or_default());
        let Value::Object(map) = claims else {
            unreachable!()
        };
        jwt::encode_with_signer(
            &JwtPayload::from_map(map).unwrap(),
            &header,
            self.signer.as_ref(),
        )
        .unwrap()
    }

    fn proof(&self, server: &TestServer, htm: &str, path: &str, extra: Value) -> String {
        self.proof_at(htm, &server.url(path), server.clock.now(), extra)
    }
}

fn ath(token: &str) -> Value {
    json!({ "ath": URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())) })
}

/// A token request with `proof` in the `DPoP` header (if any).
async fn token_request(
    server: &TestServer,
    client: &TestClient,
    proof: Option<&str>,
    form: &[(&str, &str)],
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut form = form.to_vec();
    if client.secret.is_none() {
        form.push(("client_id", client.id.as_str()));
    }
    let mut request = http_client().post(server.url("/token")).form(&form);
    if let Some(secret) = &client.secret {
        request = request.basic_auth(&client.id, Some(secret));
    }
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    let response = request.send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    (
        status,
        headers,
        response.json().await.unwrap_or(Value::Null),
    )
}

/// GETs `url` presenting `token` under `scheme`, with `proof` if any;
/// returns the status and the `WWW-Authenticate` challenge.
async fn get_with(
    url: &str,
    scheme: &str,
    token: &str,
    proof: Option<&str>,
) -> (StatusCode, String) {
    let mut request = http_client()
        .get(url)
        .header("Authorization", format!("{scheme} {token}"));
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    let response = request.send().await.unwrap();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.status(), challenge)
}

/// UserInfo with `token` under `scheme`, and `proof` if any.
async fn userinfo(
    server: &TestServer,
    scheme: &str,
    token: &str,
    proof: Option<&str>,
) -> (StatusCode, String) {
    get_with(&server.url("/userinfo"), scheme, token, proof).await
}

fn public_client(server: &TestServer) -> TestClient {
    server.create_client_with(ClientRegistration {
        name: "Mobile".into(),
        redirect_uris: vec!["https://app.example/cb".into()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        auth_method: "none".into(),
        scope: "openid profile offline_access".into(),
        id_token_alg: "RS256".into(),
        refresh_for_online_sessions: true,
        ..Default::default()
    })
}

/// A code for `client` after alice signs in; with its PKCE verifier.
async fn code_for(server: &TestServer, client: &TestClient) -> (String, String) {
    let rp = relying_party(server, client).await;
    let start = authorization_url(&rp, &["profile"]);
    let redirected = Browser::new()
        .sign_in(&server.issuer, start.url.as_str(), "alice")
        .await;
    (
        redirected.param("code").unwrap(),
        start.verifier.secret().clone(),
    )
}

on_both_backends!(
    tokens_bound_to_a_key_need_its_proof,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("alice");
        let discovery = discovery_document(&server).await;
        assert_eq!(
            discovery["dpop_signing_alg_values_supported"],
            json!(["RS256", "PS256", "ES256", "EdDSA"])
        );
        let client = public_client(&server);
        let holder = Holder::new("ES256");
        let (code, verifier) = code_for(&server, &client).await;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "https://app.example/cb"),
            ("code_verifier", verifier.as_str()),
        ];
        let proof = holder.proof(&server, "POST", "/token", json!({}));
        let (status, _, tokens) = token_request(&server, &client, Some(&proof), &form).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        assert_eq!(tokens["token_type"], "DPoP");
        let access = tokens["access_token"].as_str().unwrap().to_owned();
        assert_eq!(jwt_claims(&access)["cnf"]["jkt"], holder.jkt());

        // UserInfo: the DPoP scheme and a proof for this request and token.
        let good = holder.proof(&server, "GET", "/userinfo", ath(&access));
        assert_eq!(
            userinfo(&server, "DPoP", &access, Some(&good)).await.0,
            StatusCode::OK
        );
        // The same proof again is a replay.
        let (status, challenge) = userinfo(&server, "DPoP", &access, Some(&good)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(challenge.starts_with("DPoP "), "{challenge}");
        assert!(challenge.contains("invalid_dpop_proof"), "{challenge}");
        // As a bearer token, or without a proof, it is refused.
        let (status, challenge) = userinfo(&server, "Bearer", &access, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(challenge.contains("invalid_token"), "{challenge}");
        assert_eq!(
            userinfo(&server, "DPoP", &access, None).await.0,
            StatusCode::UNAUTHORIZED
        );
        // Wrong method, URL, token hash, key or time.
        let other = Holder::new("EdDSA");
        for proof in [
            holder.proof(&server, "POST", "/userinfo", ath(&access)),
            holder.proof(&server, "GET", "/token", ath(&access)),
            holder.proof(&server, "GET", "/userinfo", ath("another token")),
            holder.proof(&server, "GET", "/userinfo", json!({})),
            other.proof(&server, "GET", "/userinfo", ath(&access)),
            holder.proof_at(
                "GET",
                &server.url("/userinfo"),
                server.clock.now() - 300,
                ath(&access),
            ),
            "not.a.proof".to_owned(),
        ] {
            let (status, challenge) = userinfo(&server, "DPoP", &access, Some(&proof)).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{challenge}");
            assert!(challenge.contains("invalid_dpop_proof"), "{challenge}");
        }

        // A public client's refresh token is bound to the key too.
        let refresh = tokens["refresh_token"].as_str().unwrap();
        let form = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
        let (status, _, body) = token_request(&server, &client, None, &form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant"))
        );
        let wrong = other.proof(&server, "POST", "/token", json!({}));
        let (status, _, body) = token_request(&server, &client, Some(&wrong), &form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant"))
        );
        // Neither attempt spent it: the holder still refreshes.
        let right = holder.proof(&server, "POST", "/token", json!({}));
        let (status, _, refreshed) = token_request(&server, &client, Some(&right), &form).await;
        assert_eq!(status, StatusCode::OK, "{refreshed}");
        assert_eq!(refreshed["token_type"], "DPoP");
        // A proof for another URL, or replayed, is refused at the token endpoint.
        let next = refreshed["refresh_token"].as_str().unwrap();
        let form = [("grant_type", "refresh_token"), ("refresh_token", next)];
        let elsewhere = holder.proof_at(
            "POST",
            "https://elsewhere.example/token",
            server.clock.now(),
            json!({}),
        );
        let (status, _, body) = token_request(&server, &client, Some(&elsewhere), &form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_dpop_proof")),
            "{body}"
        );
        let (status, _, body) = token_request(&server, &client, Some(&right), &form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_dpop_proof")),
            "{body}"
        );
    }
);

on_both_backends!(
    introspection_and_client_requirements,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let service = server.create_client_with(ClientRegistration {
            name: "Service".into(),
            grant_types: vec!["client_credentials".into()],
            auth_method: "client_secret_basic".into(),
            scope: "groups".into(),
            id_token_alg: "RS256".into(),
            dpop_bound_access_tokens: true,
            ..Default::default()
        });
        let form = [("grant_type", "client_credentials")];
        // This client must prove a key with every token request.
        let (status, _, body) = token_request(&server, &service, None, &form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_dpop_proof")),
            "{body}"
        );
        let holder = Holder::new("RS256");
        let proof = holder.proof(&server, "POST", "/token", json!({}));
        let (status, _, tokens) = token_request(&server, &service, Some(&proof), &form).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        let access = tokens["access_token"].as_str().unwrap();
        let introspected: Value = http_client()
            .post(server.url("/introspect"))
            .basic_auth(&service.id, service.secret.as_deref())
            .form(&[("token", access)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(introspected["active"], true);
        assert_eq!(introspected["token_type"], "DPoP");
        assert_eq!(introspected["cnf"]["jkt"], holder.jkt());
    }
);

on_both_backends!(
    nonces_are_handed_out_and_required_when_configured,
    |backend: Backend| async move {
        let server = server_or_skip!(backend, |config| config.dpop_nonce_required = true);
        let service = server.create_client_with(ClientRegistration {
            name: "Service".into(),
            grant_types: vec!["client_credentials".into()],
            auth_method: "client_secret_basic".into(),
            scope: "groups".into(),
            id_token_alg: "RS256".into(),
            ..Default::default()
        });
        let form = [("grant_type", "client_credentials")];
        let holder = Holder::new("ES256");
        let proof = holder.proof(&server, "POST", "/token", json!({}));
        let (status, headers, body) = token_request(&server, &service, Some(&proof), &form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("use_dpop_nonce")),
            "{body}"
        );
        let nonce = headers["dpop-nonce"].to_str().unwrap().to_owned();
        let forged = holder.proof(&server, "POST", "/token", json!({ "nonce": "forged" }));
        let (_, _, body) = token_request(&server, &service, Some(&forged), &form).await;
        assert_eq!(body["error"], "use_dpop_nonce");
        let proof = holder.proof(&server, "POST", "/token", json!({ "nonce": nonce }));
        let (status, headers, tokens) = token_request(&server, &service, Some(&proof), &form).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        assert_eq!(tokens["token_type"], "DPoP");
        assert!(headers.contains_key("dpop-nonce"));
        // A nonce is good for its window and the next, then it is stale.
        server.clock.advance(700);
        let stale = holder.proof(&server, "POST", "/token", json!({ "nonce": nonce }));
        let (_, _, body) = token_request(&server, &service, Some(&stale), &form).await;
        assert_eq!(body["error"], "use_dpop_nonce");
        // Without a proof, a token request does not need a nonce.
        let (status, _, body) = token_request(&server, &service, None, &form).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["token_type"], "Bearer");

        // The admin API hands out nonces the same way.
        let ops = server.create_client_with(ClientRegistration {
            name: "Ops".into(),
            grant_types: vec!["client_credentials".into()],
            auth_method: "client_secret_basic".into(),
            scope: "ferrid:admin.read".into(),
            id_token_alg: "RS256".into(),
            ..Default::default()
        });
        let (_, headers, _) = token_request(
            &server,
            &ops,
            Some(&holder.proof(&server, "POST", "/token", json!({}))),
            &form,
        )
        .await;
        let nonce = headers["dpop-nonce"].to_str().unwrap().to_owned();
        let proof = holder.proof(&server, "POST", "/token", json!({ "nonce": nonce }));
        let (status, _, tokens) = token_request(
            &server,
            &ops,
            Some(&proof),
            &[
                ("grant_type", "client_credentials"),
                ("scope", "ferrid:admin.read"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        let access = tokens["access_token"].as_str().unwrap().to_owned();
        let path = "/admin/api/v1/clients";
        let call = |proof: String| {
            let (url, access) = (server.url(path), access.clone());
            async move {
                http_client()
                    .get(url)
                    .header("Authorization", format!("DPoP {access}"))
                    .header("DPoP", proof)
                    .send()
                    .await
                    .unwrap()
            }
        };
        let refused = call(holder.proof(&server, "GET", path, ath(&access))).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        let challenge = refused.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(challenge.contains("use_dpop_nonce"), "{challenge}");
        let nonce = refused.headers()["dpop-nonce"].to_str().unwrap().to_owned();
        let mut claims = ath(&access);
        claims["nonce"] = json!(nonce);
        let accepted = call(holder.proof(&server, "GET", path, claims)).await;
        assert_eq!(accepted.status(), StatusCode::OK);
    }
);

on_both_backends!(
    the_example_api_checks_the_proof_of_a_bound_token,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        crate::apis::register_apis(&server);
        let api = crate::apis::example_api(&server, crate::apis::ORDERS).await;
        let service = server.create_client_with(ClientRegistration {
            name: "Batch".into(),
            grant_types: vec!["client_credentials".into()],
            auth_method: "client_secret_basic".into(),
            scope: "orders:read".into(),
            id_token_alg: "RS256".into(),
            ..Default::default()
        });
        let holder = Holder::new("ES256");
        let proof = holder.proof(&server, "POST", "/token", json!({}));
        let (status, _, tokens) = token_request(
            &server,
            &service,
            Some(&proof),
            &[
                ("grant_type", "client_credentials"),
                ("resource", crate::apis::ORDERS),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        let access = tokens["access_token"].as_str().unwrap().to_owned();
        let url = format!("{api}/orders");
        // The example service runs on the real clock.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let call = |scheme: &'static str, proof: Option<String>| {
            let (url, access) = (url.clone(), access.clone());
            async move { get_with(&url, scheme, &access, proof.as_deref()).await }
        };
        let proof = holder.proof_at("GET", &url, now, ath(&access));
        assert_eq!(call("DPoP", Some(proof.clone())).await.0, StatusCode::OK);
        let (status, challenge) = call("DPoP", Some(proof)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(challenge.contains("invalid_dpop_proof"), "{challenge}");
        let (status, challenge) = call("Bearer", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(challenge.contains("DPoP-bound"), "{challenge}");
        let other = Holder::new("EdDSA");
        let stolen = other.proof_at("GET", &url, now, ath(&access));
        assert_eq!(call("DPoP", Some(stolen)).await.0, StatusCode::UNAUTHORIZED);
    }
);

on_both_backends!(
    the_admin_api_needs_the_proof_of_a_bound_token,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let ops = server.create_client_with(ClientRegistration {
            name: "Ops".into(),
            grant_types: vec!["client_credentials".into()],
            auth_method: "client_secret_basic".into(),
            scope: "ferrid:admin.read".into(),
            id_token_alg: "RS256".into(),
            ..Default::default()
        });
        let holder = Holder::new("ES256");
        let proof = holder.proof(&server, "POST", "/token", json!({}));
        let (status, _, tokens) = token_request(
            &server,
            &ops,
            Some(&proof),
            &[
                ("grant_type", "client_credentials"),
                ("scope", "ferrid:admin.read"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        let access = tokens["access_token"].as_str().unwrap().to_owned();
        let path = "/admin/api/v1/clients";
        let call = |scheme: &'static str, proof: Option<String>| {
            let (url, access) = (server.url(path), access.clone());
            async move { get_with(&url, scheme, &access, proof.as_deref()).await.0 }
        };
        // A stolen copy alone is refused.
        assert_eq!(call("Bearer", None).await, StatusCode::UNAUTHORIZED);
        assert_eq!(call("DPoP", None).await, StatusCode::UNAUTHORIZED);
        let other = Holder::new("EdDSA");
        let stolen = other.proof(&server, "GET", path, ath(&access));
        assert_eq!(call("DPoP", Some(stolen)).await, StatusCode::UNAUTHORIZED);
        let proof = holder.proof(&server, "GET", path, ath(&access));
        assert_eq!(call("DPoP", Some(proof)).await, StatusCode::OK);
    }
);
