//! UserInfo (OIDC Core §5.3) and its bearer-token errors (RFC 6750 §3).

use openidconnect::OAuth2TokenResponse;
use reqwest::StatusCode;
use serde_json::Value;

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::oidc::sign_in_and_exchange;
use crate::support::{Backend, Browser};

fn challenge(response: &reqwest::Response) -> String {
    response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned()
}

on_both_backends!(bearer_token_rules, |backend: Backend| async move {
    let server = server_or_skip!(backend);
    let user = server.create_user("kim");
    let client = server.create_client("client_secret_basic", "https://app.example/cb");
    let (tokens, _, _) = sign_in_and_exchange(&server, &client, &Browser::new(), "kim").await;
    let token = tokens.access_token().secret().clone();
    let http = reqwest::Client::new();
    let userinfo = server.url("/userinfo");

    // GET with the header, POST with the header, POST with the token in the body.
    let response = http
        .get(&userinfo)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let claims: Value = response.json().await.unwrap();
    assert_eq!(claims["sub"], user.id.as_str());
    assert_eq!(claims["name"], "kim Example");
    assert_eq!(claims["preferred_username"], "kim");
    assert!(claims["updated_at"].is_i64());
    assert_eq!(claims["email_verified"], false);
    let response = http
        .post(&userinfo)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = http
        .post(&userinfo)
        .form(&[("access_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let both = http
        .post(&userinfo)
        .bearer_auth(&token)
        .form(&[("access_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(both.status(), StatusCode::BAD_REQUEST);

    // No token: 401 with a bare challenge.
    let response = http.get(&userinfo).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&response), "Bearer realm=\"ferrid\"");

    // Invalid tokens: 401 invalid_token.
    let mut tampered = token.clone();
    tampered.replace_range(tampered.len() - 4.., "AAAA");
    let foreign = {
        let master =
            ferrid_tokens::MasterKey::from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
                .unwrap();
        let key = ferrid_tokens::generate_key(
            ferrid_tokens::SigningAlgorithm::Rs256,
            &master,
            ferrid_tokens::KeyState::Current,
            0,
            0,
        )
        .unwrap();
        let keyring = ferrid_tokens::Keyring::load(&[key], &master).unwrap();
        let claims = crate::support::oidc::jwt_claims(&token);
        keyring
            .sign(&claims, "at+jwt", ferrid_tokens::SigningAlgorithm::Rs256)
            .unwrap()
    };
    // Signed by the server's own key, but for another audience.
    let other_audience = {
        let master = ferrid_tokens::MasterKey::load(&server.config.master_key_file).unwrap();
        let stored = server.store.list_signing_keys().unwrap();
        let keyring = ferrid_tokens::Keyring::load(&stored, &master).unwrap();
        let mut claims = crate::support::oidc::jwt_claims(&token);
        claims["aud"] = "https://another-api.example".into();
        keyring
            .sign(&claims, "at+jwt", ferrid_tokens::SigningAlgorithm::Rs256)
            .unwrap()
    };
    for bad in [
        tampered.as_str(),
        "garbage",
        "a.b.c",
        foreign.as_str(),
        other_audience.as_str(),
    ] {
        let response = http.get(&userinfo).bearer_auth(bad).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{bad}");
        assert!(challenge(&response).contains("error=\"invalid_token\""));
    }
    let response = http
        .get(&userinfo)
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // The ID token is not an access token.
    let id_token = openidconnect::TokenResponse::id_token(&tokens)
        .unwrap()
        .to_string();
    let response = http
        .get(&userinfo)
        .bearer_auth(&id_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // A disabled user's token stops working.
    ferrid_service::users::disable(&server.store, "kim", "cli", 0).unwrap();
    let response = http
        .get(&userinfo)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
});

on_both_backends!(expired_tokens_are_refused, |backend: Backend| async move {
    let server = server_or_skip!(backend);
    server.create_user("lee");
    let client = server.create_client("client_secret_basic", "https://app.example/cb");
    let (tokens, _, _) = sign_in_and_exchange(&server, &client, &Browser::new(), "lee").await;
    server.clock.advance(server.config.access_token_ttl);
    let response = reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&response).contains("expired"));
});
