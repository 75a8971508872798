//! Signed request objects (RFC 9101): the authorization request as a JWT
//! the client signed with its registered keys, by value at `/authorize`
//! or pushed to `/par`.

use ferrid_server::Clock;
use ferrid_service::clients::ClientRegistration;
use josekit::jws::JwsSigner;
use openidconnect::PkceCodeChallenge;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::browser::location;
use crate::support::jws::{key_of, signed_jwt};
use crate::support::oidc::{discovery_document, http_client, jwt_claims};
use crate::support::server::TestClient;
use crate::support::{Backend, Browser, TestServer};

const REDIRECT_URI: &str = "https://app.example/cb";

/// A `private_key_jwt` client whose registered key is the returned signer's.
fn keyed_client(server: &TestServer) -> (TestClient, Box<dyn JwsSigner>) {
    let (signer, public) = key_of("ES256");
    let client = server.create_client_with(ClientRegistration {
        name: "Signed requests".into(),
        redirect_uris: vec![REDIRECT_URI.into()],
        grant_types: vec!["authorization_code".into()],
        auth_method: "private_key_jwt".into(),
        scope: "openid email".into(),
        id_token_alg: "RS256".into(),
        jwks: Some(json!({ "keys": [public] }).to_string()),
        ..Default::default()
    });
    (client, signer)
}

/// The claims of a good request object for `client`, with `extra` merged.
fn request_claims(
    server: &TestServer,
    client: &TestClient,
    challenge: &str,
    extra: Value,
) -> Value {
    let mut claims = json!({
        "iss": client.id,
        "aud": server.issuer,
        "exp": server.clock.now() + 60,
        "client_id": client.id,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid email",
        "state": "signed-state",
        "nonce": "signed-nonce",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    });
    if let (Value::Object(base), Value::Object(extra)) = (&mut claims, extra) {
        base.extend(extra);
    }
    claims
}

fn authorize_url(server: &TestServer, client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&server.url("/authorize")).unwrap();
    url.query_pairs_mut().append_pair("client_id", client_id);
    for (name, value) in extra {
        url.query_pairs_mut().append_pair(name, value);
    }
    url.to_string()
}

/// A client assertion for `client`, to authenticate at the token and PAR
/// endpoints.
fn client_assertion(
    server: &TestServer,
    client: &TestClient,
    signer: &dyn JwsSigner,
    jti: &str,
) -> String {
    let now = server.clock.now();
    signed_jwt(
        signer,
        Some("ES256-key"),
        json!({ "iss": client.id, "sub": client.id, "aud": server.issuer, "exp": now + 60, "iat": now, "jti": jti }),
    )
}

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

on_both_backends!(
    a_signed_request_object_is_the_request,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("rho");
        let (client, signer) = keyed_client(&server);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let request = signed_jwt(
            signer.as_ref(),
            Some("ES256-key"),
            request_claims(&server, &client, challenge.as_str(), json!({})),
        );
        // Unsigned parameters beside it are ignored (RFC 9101 §5).
        let url = authorize_url(
            &server,
            &client.id,
            &[
                ("request", &request),
                ("scope", "openid"),
                ("state", "unsigned"),
                ("redirect_uri", "https://evil.example/cb"),
            ],
        );
        let redirected = Browser::new().sign_in(&server.issuer, &url, "rho").await;
        assert!(redirected.url.as_str().starts_with(REDIRECT_URI));
        assert_eq!(redirected.param("state").as_deref(), Some("signed-state"));
        let code = redirected.param("code").expect("code");

        let response = http_client()
            .post(server.url("/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", verifier.secret()),
                ("client_assertion_type", JWT_BEARER),
                (
                    "client_assertion",
                    &client_assertion(&server, &client, signer.as_ref(), "exchange"),
                ),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let tokens: Value = response.json().await.unwrap();
        assert_eq!(tokens["scope"], "openid email");
        let claims = jwt_claims(tokens["id_token"].as_str().unwrap());
        assert_eq!(claims["nonce"], "signed-nonce");

        // Pushed (RFC 9126 §3): the request object goes to /par instead.
        let (challenge, _) = PkceCodeChallenge::new_random_sha256();
        let request = signed_jwt(
            signer.as_ref(),
            Some("ES256-key"),
            request_claims(&server, &client, challenge.as_str(), json!({})),
        );
        let pushed = http_client()
            .post(server.url("/par"))
            .form(&[
                ("client_id", client.id.as_str()),
                ("request", &request),
                ("client_assertion_type", JWT_BEARER),
                (
                    "client_assertion",
                    &client_assertion(&server, &client, signer.as_ref(), "push"),
                ),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(pushed.status(), StatusCode::CREATED);
        let request_uri = pushed.json::<Value>().await.unwrap()["request_uri"]
            .as_str()
            .unwrap()
            .to_owned();
        let redirected = Browser::new()
            .sign_in(
                &server.issuer,
                &authorize_url(&server, &client.id, &[("request_uri", &request_uri)]),
                "rho",
            )
            .await;
        assert_eq!(redirected.param("state").as_deref(), Some("signed-state"));

        let discovery = discovery_document(&server).await;
        assert_eq!(discovery["request_parameter_supported"], true);
        assert!(discovery["request_object_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("ES256")));
        assert!(!discovery["request_object_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("none")));
        assert_eq!(discovery["request_uri_parameter_supported"], false);
    }
);

on_both_backends!(
    bad_request_objects_are_refused,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let (client, signer) = keyed_client(&server);
        let (challenge, _) = PkceCodeChallenge::new_random_sha256();
        let good = |extra: Value| request_claims(&server, &client, challenge.as_str(), extra);
        let (stranger, _) = key_of("ES256");
        let unsigned = {
            use base64::Engine;
            let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            format!(
                "{}.{}.",
                engine.encode(br#"{"alg":"none"}"#),
                engine.encode(good(json!({})).to_string())
            )
        };
        let now = server.clock.now();
        let mut no_exp = good(json!({}));
        no_exp.as_object_mut().unwrap().remove("exp");
        let cases = [
            ("alg none", unsigned),
            (
                "another key",
                signed_jwt(stranger.as_ref(), Some("ES256-key"), good(json!({}))),
            ),
            (
                "expired",
                signed_jwt(
                    signer.as_ref(),
                    Some("ES256-key"),
                    good(json!({"exp": now - 600})),
                ),
            ),
            (
                "another audience",
                signed_jwt(
                    signer.as_ref(),
                    Some("ES256-key"),
                    good(json!({"aud": "https://elsewhere.example"})),
                ),
            ),
            (
                "another issuer",
                signed_jwt(
                    signer.as_ref(),
                    Some("ES256-key"),
                    good(json!({"iss": "someone"})),
                ),
            ),
            (
                "no exp",
                signed_jwt(signer.as_ref(), Some("ES256-key"), no_exp),
            ),
            ("not a JWT", "garbage".to_owned()),
        ];
        let browser = Browser::new();
        for (case, request) in &cases {
            // With a registered redirect URI beside it: told to the client.
            let refused = browser
                .get(&authorize_url(
                    &server,
                    &client.id,
                    &[
                        ("request", request),
                        ("redirect_uri", REDIRECT_URI),
                        ("state", "outer"),
                    ],
                ))
                .await;
            assert_eq!(refused.status(), StatusCode::SEE_OTHER, "{case}");
            let back = location(&refused);
            assert!(back.starts_with(REDIRECT_URI), "{case}: {back}");
            assert!(
                back.contains("error=invalid_request_object"),
                "{case}: {back}"
            );
            assert!(back.contains("state=outer"), "{case}: {back}");
            // Without one: a page, never a redirect.
            let page = browser
                .get(&authorize_url(&server, &client.id, &[("request", request)]))
                .await;
            assert_eq!(page.status(), StatusCode::BAD_REQUEST, "{case}");
        }

        // A signed request for an unregistered redirect URI is a page.
        let elsewhere = signed_jwt(
            signer.as_ref(),
            Some("ES256-key"),
            good(json!({"redirect_uri": "https://evil.example/cb"})),
        );
        let page = browser
            .get(&authorize_url(
                &server,
                &client.id,
                &[("request", &elsewhere)],
            ))
            .await;
        assert_eq!(page.status(), StatusCode::BAD_REQUEST);

        // A client without registered keys cannot sign requests.
        let plain = server.create_client("client_secret_basic", REDIRECT_URI);
        let request = signed_jwt(
            signer.as_ref(),
            Some("ES256-key"),
            good(json!({"iss": plain.id, "client_id": plain.id})),
        );
        let refused = browser
            .get(&authorize_url(
                &server,
                &plain.id,
                &[("request", &request), ("redirect_uri", REDIRECT_URI)],
            ))
            .await;
        assert!(location(&refused).contains("error=invalid_request_object"));

        // At /par the same failures are JSON.
        let pushed = http_client()
            .post(server.url("/par"))
            .form(&[
                ("client_id", client.id.as_str()),
                ("request", cases[1].1.as_str()),
                ("client_assertion_type", JWT_BEARER),
                (
                    "client_assertion",
                    &client_assertion(&server, &client, signer.as_ref(), "bad-push"),
                ),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(pushed.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            pushed.json::<Value>().await.unwrap()["error"],
            "invalid_request_object"
        );
    }
);

on_both_backends!(
    request_objects_by_reference_are_fetched_when_allowed,
    |backend: Backend| async move {
        use crate::support::receiver::{free_port, Receiver};
        let Some(server) = TestServer::start_with(backend, |config| {
            config.external_request_uris = true;
        }) else {
            return;
        };
        server.create_user("uri");
        let (client, signer) = keyed_client(&server);
        let (challenge, _) = PkceCodeChallenge::new_random_sha256();
        let request = signed_jwt(
            signer.as_ref(),
            Some("ES256-key"),
            request_claims(&server, &client, challenge.as_str(), json!({})),
        );
        let port = free_port();
        let _host = Receiver::serving(port, request);
        let request_uri = format!("http://127.0.0.1:{port}/request.jwt");
        let redirected = Browser::new()
            .sign_in(
                &server.issuer,
                &authorize_url(&server, &client.id, &[("request_uri", &request_uri)]),
                "uri",
            )
            .await;
        assert_eq!(redirected.param("state").as_deref(), Some("signed-state"));
        assert!(redirected.param("code").is_some());

        // What it serves must be a request object the client signed.
        let forged_port = free_port();
        let (stranger, _) = key_of("ES256");
        let _forger = Receiver::serving(
            forged_port,
            signed_jwt(
                stranger.as_ref(),
                Some("ES256-key"),
                request_claims(&server, &client, challenge.as_str(), json!({})),
            ),
        );
        let browser = Browser::new();
        for (uri, error) in [
            (
                format!("http://127.0.0.1:{forged_port}/request.jwt"),
                "invalid_request_object",
            ),
            // Nothing listens there.
            (
                format!("http://127.0.0.1:{}/request.jwt", free_port()),
                "invalid_request_uri",
            ),
            (
                format!("https://example.com/{}", "a".repeat(600)),
                "invalid_request_uri",
            ),
        ] {
            let refused = browser
                .get(&authorize_url(
                    &server,
                    &client.id,
                    &[("request_uri", &uri), ("redirect_uri", REDIRECT_URI)],
                ))
                .await;
            let back = location(&refused);
            assert!(back.starts_with(REDIRECT_URI), "{uri}: {back}");
            assert!(back.contains(&format!("error={error}")), "{uri}: {back}");
        }
        let discovery = discovery_document(&server).await;
        assert_eq!(discovery["request_uri_parameter_supported"], true);
    }
);
