//! The device authorization grant (RFC 8628): a device gets a device code
//! and a user code, the user approves it in a browser, and the device's
//! polls get `authorization_pending`, `slow_down`, `access_denied` or
//! `expired_token` until they get tokens.

use std::time::Duration;

use ferrid_service::clients::ClientRegistration;
use openidconnect::core::{CoreClient, CoreDeviceAuthorizationResponse, CoreProviderMetadata};
use openidconnect::{
    ClientId, DeviceAuthorizationUrl, IssuerUrl, OAuth2TokenResponse, Scope, TokenResponse,
};
use reqwest::StatusCode;
use serde_json::Value;

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::browser::{hidden_field, location};
use crate::support::oidc::{discovery_document, http_client, jwt_claims};
use crate::support::server::TestClient;
use crate::support::{Backend, Browser, TestServer};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A public client (a command-line tool) allowed the device grant and
/// refresh tokens.
fn device_client(server: &TestServer) -> TestClient {
    server.create_client_with(ClientRegistration {
        name: "TV App".into(),
        grant_types: vec![DEVICE_GRANT.into(), "refresh_token".into()],
        auth_method: "none".into(),
        scope: "openid profile email offline_access".into(),
        id_token_alg: "RS256".into(),
        ..Default::default()
    })
}

/// Posts a device authorization request for `client` (a public client
/// names itself).
async fn start(server: &TestServer, client: &TestClient, scope: &str) -> reqwest::Response {
    http_client()
        .post(server.url("/device_authorization"))
        .form(&[("client_id", client.id.as_str()), ("scope", scope)])
        .send()
        .await
        .unwrap()
}

/// A device authorization that succeeded, as JSON.
async fn started(server: &TestServer, client: &TestClient) -> Value {
    let response = start(server, client, "openid profile offline_access").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

/// One poll of the token endpoint.
async fn poll(server: &TestServer, client: &TestClient, device_code: &str) -> (StatusCode, Value) {
    let response = http_client()
        .post(server.url("/token"))
        .form(&[
            ("grant_type", DEVICE_GRANT),
            ("client_id", client.id.as_str()),
            ("device_code", device_code),
        ])
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

/// Types `user_code` on the verification page, signs in as `username` and
/// answers the consent page with `decision`; returns the last page.
async fn answer(
    server: &TestServer,
    browser: &Browser,
    user_code: &str,
    username: &str,
    decision: &str,
) -> String {
    let response = submit_user_code(server, browser, user_code).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "user code refused"
    );
    let login = browser.page(&location(&response)).await;
    let response = browser
        .submit_login(
            &server.issuer,
            &login,
            username,
            crate::support::server::PASSWORD,
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let consent = browser.page(&location(&response)).await;
    assert!(consent.contains("TV App"), "{consent}");
    assert!(
        consent.contains("started signing in on that device yourself"),
        "{consent}"
    );
    let response = browser
        .submit_consent(&server.issuer, &consent, decision)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

/// Posts the verification form with `user_code`.
async fn submit_user_code(
    server: &TestServer,
    browser: &Browser,
    user_code: &str,
) -> reqwest::Response {
    let form = browser.page(&server.url("/device")).await;
    browser
        .post_form(
            &server.url("/device"),
            &[
                ("csrf_token", &hidden_field(&form, "csrf_token")),
                ("user_code", user_code),
            ],
        )
        .await
}

fn fast_polling(config: &mut ferrid::config::Config) {
    config.device_poll_interval = 1;
}

on_both_backends!(
    a_device_signs_in_with_the_openidconnect_client,
    |backend: Backend| async move {
        let server = server_or_skip!(backend, fast_polling);
        let user = server.create_user("pat");
        let client = device_client(&server);
        let discovery = discovery_document(&server).await;
        assert_eq!(
            discovery["device_authorization_endpoint"],
            server.url("/device_authorization")
        );
        assert!(discovery["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&Value::from(DEVICE_GRANT)));

        let http = http_client();
        let metadata = CoreProviderMetadata::discover_async(
            IssuerUrl::new(server.issuer.clone()).unwrap(),
            &http,
        )
        .await
        .expect("discovery");
        let rp =
            CoreClient::from_provider_metadata(metadata, ClientId::new(client.id.clone()), None)
                .set_device_authorization_url(
                    DeviceAuthorizationUrl::new(
                        discovery["device_authorization_endpoint"]
                            .as_str()
                            .unwrap()
                            .to_owned(),
                    )
                    .unwrap(),
                );
        let details: CoreDeviceAuthorizationResponse = rp
            .exchange_device_code()
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("offline_access".into()))
            .request_async(&http)
            .await
            .expect("device authorization");
        let user_code = details.user_code().secret().clone();
        assert_eq!(user_code.len(), 9, "{user_code}");
        assert_eq!(details.verification_uri().as_str(), server.url("/device"));
        assert_eq!(details.interval(), Duration::from_secs(1));
        assert_eq!(details.expires_in(), Duration::from_secs(600));

        // The link a QR code would carry fills the form in.
        let complete = details
            .verification_uri_complete()
            .expect("verification_uri_complete")
            .secret()
            .clone();
        let browser = Browser::new();
        assert!(browser.page(&complete).await.contains(&user_code));

        // The device polls (its sleeps move the server's clock) while the
        // user approves in the browser.
        let clock = server.clock.clone();
        let polling = rp
            .exchange_device_access_token(&details)
            .unwrap()
            .request_async(
                &http,
                move |wait: Duration| {
                    clock.advance(wait.as_secs() as i64);
                    tokio::time::sleep(Duration::from_millis(20))
                },
                None,
            );
        let approving = async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            // Typed in lower case with a space: it still counts.
            let typed = user_code.to_lowercase().replace('-', " ");
            answer(&server, &browser, &typed, "pat", "allow").await
        };
        let (tokens, page) = tokio::join!(polling, approving);
        assert!(page.contains("Device connected"), "{page}");
        let tokens = tokens.expect("tokens");
        let id_token = tokens.id_token().expect("ID token").to_string();
        let claims = jwt_claims(&id_token);
        assert_eq!(claims["sub"], user.id.as_str());
        assert_eq!(claims["aud"], client.id.as_str());
        let userinfo: Value = http_client()
            .get(server.url("/userinfo"))
            .bearer_auth(tokens.access_token().secret())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(userinfo["name"], "pat Example", "{userinfo}");
        assert!(tokens.refresh_token().is_some());
        let access = jwt_claims(tokens.access_token().secret());
        assert_eq!(access["client_id"], client.id.as_str());

        // The user code was spent.
        let again = submit_user_code(&server, &browser, &user_code).await;
        assert_eq!(again.status(), StatusCode::BAD_REQUEST);

        // The device code too: presenting it again revokes the grant.
        let device_code = details.device_code().secret().clone();
        server.clock.advance(10);
        let (status, body) = poll(&server, &client, &device_code).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_grant", "{body}");
        let refreshed = http_client()
            .post(server.url("/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("client_id", client.id.as_str()),
                ("refresh_token", tokens.refresh_token().unwrap().secret()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(refreshed.status(), StatusCode::BAD_REQUEST);
    }
);

on_both_backends!(
    polls_wait_slow_down_and_learn_the_answer,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("pat");
        let client = device_client(&server);
        let body = started(&server, &client).await;
        assert_eq!(body["interval"], 5);
        let device_code = body["device_code"].as_str().unwrap().to_owned();

        let (status, first) = poll(&server, &client, &device_code).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(first["error"], "authorization_pending", "{first}");
        // Sooner than the interval: slow_down, and the interval grows by 5.
        let (_, second) = poll(&server, &client, &device_code).await;
        assert_eq!(second["error"], "slow_down", "{second}");
        // Five seconds later is still too soon for the new 10: 15 now.
        server.clock.advance(5);
        let (_, third) = poll(&server, &client, &device_code).await;
        assert_eq!(third["error"], "slow_down", "{third}");
        server.clock.advance(15);
        let (_, fourth) = poll(&server, &client, &device_code).await;
        assert_eq!(fourth["error"], "authorization_pending", "{fourth}");

        // Another client cannot poll with it.
        let other = device_client(&server);
        let (_, stolen) = poll(&server, &other, &device_code).await;
        assert_eq!(stolen["error"], "invalid_grant", "{stolen}");
        let (_, unknown) = poll(&server, &client, "not-a-device-code").await;
        assert_eq!(unknown["error"], "invalid_grant", "{unknown}");

        // The user refuses: access_denied.
        let browser = Browser::new();
        let page = answer(
            &server,
            &browser,
            body["user_code"].as_str().unwrap(),
            "pat",
            "deny",
        )
        .await;
        assert!(page.contains("Device not connected"), "{page}");
        server.clock.advance(20);
        let (_, denied) = poll(&server, &client, &device_code).await;
        assert_eq!(denied["error"], "access_denied", "{denied}");

        // A request nobody answers expires.
        let late = started(&server, &client).await;
        server.clock.advance(601);
        let (_, expired) = poll(&server, &client, late["device_code"].as_str().unwrap()).await;
        assert_eq!(expired["error"], "expired_token", "{expired}");
        let too_late =
            submit_user_code(&server, &browser, late["user_code"].as_str().unwrap()).await;
        assert_eq!(too_late.status(), StatusCode::BAD_REQUEST);
    }
);

on_both_backends!(
    wrong_user_codes_are_counted_and_lock_the_address,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("pat");
        let client = device_client(&server);
        let body = started(&server, &client).await;
        let right = body["user_code"].as_str().unwrap();
        let browser = Browser::new();

        // Not a code at all: told the shape, not counted.
        for typed in ["", "12345678", "BCDF-GHJ", "<script>"] {
            let response = submit_user_code(&server, &browser, typed).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST);
            let page = response.text().await.unwrap();
            assert!(page.contains("eight letters"), "{page}");
            assert!(!page.contains("<script>"));
        }
        // Wrong codes are counted; after five, each attempt must wait.
        let wrong = if right.starts_with('B') {
            "CCCC-CCCC"
        } else {
            "BBBB-BBBB"
        };
        for _ in 0..5 {
            let response = submit_user_code(&server, &browser, wrong).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST);
            assert!(response
                .text()
                .await
                .unwrap()
                .contains("wrong or has expired"));
        }
        // Now even the right code waits: guessing cannot go faster.
        let response = submit_user_code(&server, &browser, right).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("Too many wrong codes"));
        server.clock.advance(120);
        let response = submit_user_code(&server, &browser, right).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    }
);

on_both_backends!(
    only_clients_allowed_the_device_grant_use_it,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let code_client = server.create_client("none", "https://app.example/cb");
        let response = start(&server, &code_client, "openid").await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "unauthorized_client", "{body}");
        let (_, polled) = poll(&server, &code_client, "anything").await;
        assert_eq!(polled["error"], "unauthorized_client", "{polled}");

        let client = device_client(&server);
        for (scope, error) in [
            ("", "invalid_scope"),
            ("openid admin", "invalid_scope"),
            ("openid groups", "invalid_scope"),
        ] {
            let response = start(&server, &client, scope).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{scope}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"], error, "{scope}: {body}");
        }
        let missing = http_client()
            .post(server.url("/device_authorization"))
            .form(&[("client_id", client.id.as_str())])
            .send()
            .await
            .unwrap();
        let body: Value = missing.json().await.unwrap();
        assert_eq!(body["error"], "invalid_scope", "{body}");
        let unknown_client = http_client()
            .post(server.url("/device_authorization"))
            .form(&[("client_id", "nobody"), ("scope", "openid")])
            .send()
            .await
            .unwrap();
        assert_eq!(unknown_client.status(), StatusCode::UNAUTHORIZED);
        let (status, missing_code) = {
            let response = http_client()
                .post(server.url("/token"))
                .form(&[
                    ("grant_type", DEVICE_GRANT),
                    ("client_id", client.id.as_str()),
                ])
                .send()
                .await
                .unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        };
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(missing_code["error"], "invalid_request", "{missing_code}");
    }
);
