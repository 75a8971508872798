//! The token endpoint's refusals (RFC 6749 §5.2), with the right status,
//! `WWW-Authenticate` on client authentication failures, and no caching.

use reqwest::{Response, StatusCode};
use serde_json::Value;

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::server::TestClient;
use crate::support::{Backend, Browser, TestServer};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// Signs in and returns a fresh code, issued with the PKCE challenge when `pkce`.
async fn code_for(
    server: &TestServer,
    client: &TestClient,
    browser: &Browser,
    pkce: bool,
) -> String {
    let mut url = format!(
        "{}?client_id={}&redirect_uri={}&response_type=code&scope=openid&state=s",
        server.url("/authorize"),
        client.id,
        client.redirect_uri
    );
    if pkce {
        url.push_str(&format!(
            "&code_challenge={CHALLENGE}&code_challenge_method=S256"
        ));
    }
    browser
        .sign_in(&server.issuer, &url, "user")
        .await
        .param("code")
        .expect("code")
}

async fn token_request(
    server: &TestServer,
    client: &TestClient,
    form: &[(&str, &str)],
) -> Response {
    let mut request = reqwest::Client::new().post(server.url("/token")).form(form);
    if let Some(secret) = &client.secret {
        request = request.basic_auth(&client.id, Some(secret));
    }
    request.send().await.unwrap()
}

async fn expect_error(response: Response, status: StatusCode, error: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["cache-control"], "no-store");
    if status == StatusCode::UNAUTHORIZED {
        assert!(response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic"));
    }
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].is_string());
    body
}

fn exchange<'a>(code: &'a str, client: &'a TestClient) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", &client.redirect_uri),
        ("code_verifier", VERIFIER),
    ]
}

on_both_backends!(
    codes_are_single_use_and_bound_to_their_request,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("user");
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let other = server.create_client("client_secret_basic", "https://other.example/cb");
        let browser = Browser::new();

        // Success, then reuse.
        let code = code_for(&server, &client, &browser, true).await;
        let response = token_request(&server, &client, &exchange(&code, &client)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        let reused = token_request(&server, &client, &exchange(&code, &client)).await;
        expect_error(reused, StatusCode::BAD_REQUEST, "invalid_grant").await;

        // Wrong redirect_uri.
        let code = code_for(&server, &client, &browser, true).await;
        let mut form = exchange(&code, &client);
        form[2] = ("redirect_uri", "https://app.example/other");
        expect_error(
            token_request(&server, &client, &form).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;

        // Wrong and missing PKCE verifier.
        let code = code_for(&server, &client, &browser, true).await;
        let mut form = exchange(&code, &client);
        form[3] = (
            "code_verifier",
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx",
        );
        expect_error(
            token_request(&server, &client, &form).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;
        let code = code_for(&server, &client, &browser, true).await;
        let form = &exchange(&code, &client)[..3];
        expect_error(
            token_request(&server, &client, form).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;

        // A verifier for a code issued without a challenge (PKCE downgrade),
        // to a client that was let skip PKCE.
        let legacy = server.create_client_without_pkce("https://legacy.example/cb");
        let code = code_for(&server, &legacy, &browser, false).await;
        expect_error(
            token_request(&server, &legacy, &exchange(&code, &legacy)).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;
        // Without one, that client may redeem it.
        let code = code_for(&server, &legacy, &browser, false).await;
        assert_eq!(
            token_request(&server, &legacy, &exchange(&code, &legacy)[..3])
                .await
                .status(),
            StatusCode::OK
        );

        // A code issued to another client.
        let code = code_for(&server, &client, &browser, true).await;
        let mut form = exchange(&code, &client);
        form[2] = ("redirect_uri", &other.redirect_uri);
        expect_error(
            token_request(&server, &other, &form).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;

        // An expired code (lifetime 60 s).
        let code = code_for(&server, &client, &browser, true).await;
        server.clock.advance(61);
        expect_error(
            token_request(&server, &client, &exchange(&code, &client)).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;

        // A malformed verifier.
        let code = code_for(&server, &client, &browser, true).await;
        let mut form = exchange(&code, &client);
        form[3] = ("code_verifier", "short");
        expect_error(
            token_request(&server, &client, &form).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
    }
);

on_both_backends!(
    client_authentication_failures_are_401,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let public = server.create_client("none", "https://public.example/cb");
        let http = reqwest::Client::new();
        let form = [
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("redirect_uri", "https://app.example/cb"),
        ];

        let wrong_secret = http
            .post(server.url("/token"))
            .basic_auth(&client.id, Some("fcs_wrong"))
            .form(&form)
            .send()
            .await
            .unwrap();
        expect_error(wrong_secret, StatusCode::UNAUTHORIZED, "invalid_client").await;
        let unknown = http
            .post(server.url("/token"))
            .basic_auth("nobody", Some("x"))
            .form(&form)
            .send()
            .await
            .unwrap();
        expect_error(unknown, StatusCode::UNAUTHORIZED, "invalid_client").await;
        let none_at_all = http
            .post(server.url("/token"))
            .form(&form)
            .send()
            .await
            .unwrap();
        expect_error(none_at_all, StatusCode::UNAUTHORIZED, "invalid_client").await;
        // Registered for Basic, presenting the secret in the body: the
        // client is authenticated (either way is accepted) and the bad code
        // is what fails.
        let secret = client.secret.clone().unwrap();
        let mut posted = form.to_vec();
        posted.push(("client_id", &client.id));
        posted.push(("client_secret", &secret));
        let in_body = http
            .post(server.url("/token"))
            .form(&posted)
            .send()
            .await
            .unwrap();
        expect_error(in_body, StatusCode::BAD_REQUEST, "invalid_grant").await;
        // A confidential client without its secret.
        let mut bare = form.to_vec();
        bare.push(("client_id", &client.id));
        let missing_secret = http
            .post(server.url("/token"))
            .form(&bare)
            .send()
            .await
            .unwrap();
        expect_error(missing_secret, StatusCode::UNAUTHORIZED, "invalid_client").await;
        // A public client presenting a secret.
        let public_with_secret = http
            .post(server.url("/token"))
            .basic_auth(&public.id, Some("x"))
            .form(&form)
            .send()
            .await
            .unwrap();
        expect_error(
            public_with_secret,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        )
        .await;
        // Malformed Basic header.
        let malformed = http
            .post(server.url("/token"))
            .header("authorization", "Basic %%%")
            .form(&form)
            .send()
            .await
            .unwrap();
        expect_error(malformed, StatusCode::UNAUTHORIZED, "invalid_client").await;
        // Two methods at once.
        let both = http
            .post(server.url("/token"))
            .basic_auth(&client.id, Some(&secret))
            .form(&posted)
            .send()
            .await
            .unwrap();
        expect_error(both, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
);

on_both_backends!(
    malformed_token_requests_are_400,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let secret = client.secret.clone().unwrap();
        let http = reqwest::Client::new();
        let send = |form: Vec<(&'static str, &'static str)>| {
            http.post(server.url("/token"))
                .basic_auth(&client.id, Some(&secret))
                .form(&form)
                .send()
        };
        expect_error(
            send(vec![("code", "x")]).await.unwrap(),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
        expect_error(
            send(vec![("grant_type", "password")]).await.unwrap(),
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        )
        .await;
        expect_error(
            send(vec![("grant_type", "authorization_code")])
                .await
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
        expect_error(
            send(vec![
                ("grant_type", "authorization_code"),
                ("code", "unknown"),
                ("redirect_uri", "https://app.example/cb"),
            ])
            .await
            .unwrap(),
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;
        expect_error(
            send(vec![
                ("grant_type", "authorization_code"),
                ("grant_type", "authorization_code"),
            ])
            .await
            .unwrap(),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
        let json_body = http
            .post(server.url("/token"))
            .basic_auth(&client.id, Some(&secret))
            .json(&serde_json::json!({"grant_type": "authorization_code"}))
            .send()
            .await
            .unwrap();
        expect_error(json_body, StatusCode::BAD_REQUEST, "invalid_request").await;
        let get = http.get(server.url("/token")).send().await.unwrap();
        assert!(get.status().is_client_error());
    }
);
