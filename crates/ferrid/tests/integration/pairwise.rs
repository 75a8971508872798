//! Pairwise subject identifiers (OIDC Core §8): clients registered for
//! them see a `sub` of their sector's own for each user, the same in ID
//! tokens, UserInfo, access tokens, introspection and hints, and never
//! the user's id.

use ferrid_service::clients::ClientRegistration;
use openidconnect::{OAuth2TokenResponse, TokenResponse};
use reqwest::StatusCode;
use serde_json::Value;

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::browser::location;
use crate::support::oidc::{
    authorization_url, discovery_document, http_client, jwt_claims, relying_party,
    sign_in_with_scopes,
};
use crate::support::server::TestClient;
use crate::support::{Backend, Browser, TestServer};
use crate::token_lifecycle::call;

/// A confidential client with refresh tokens redirecting to
/// `redirect_uri`, pairwise or not.
fn client_at(server: &TestServer, redirect_uri: &str, pairwise: bool) -> TestClient {
    server.create_client_with(ClientRegistration {
        name: "App".into(),
        redirect_uris: vec![redirect_uri.into()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        auth_method: "client_secret_basic".into(),
        scope: "openid profile offline_access".into(),
        id_token_alg: "RS256".into(),
        refresh_for_online_sessions: true,
        pairwise_subjects: pairwise,
        ..Default::default()
    })
}

/// Signs `username` in to `client` in a new browser; returns the ID
/// token's and the access token's `sub`, the tokens and the browser.
async fn subjects_seen(
    server: &TestServer,
    client: &TestClient,
    username: &str,
) -> (String, openidconnect::core::CoreTokenResponse, Browser) {
    let browser = Browser::new();
    let (tokens, _, _) =
        sign_in_with_scopes(server, client, &browser, username, &["profile"]).await;
    let id_token = tokens.id_token().expect("ID token").to_string();
    let sub = jwt_claims(&id_token)["sub"].as_str().unwrap().to_owned();
    let access = jwt_claims(tokens.access_token().secret());
    assert_eq!(access["sub"], sub.as_str(), "access token sub");
    (sub, tokens, browser)
}

on_both_backends!(
    each_sector_sees_its_own_subject,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let alice = server.create_user("alice");
        let discovery = discovery_document(&server).await;
        assert_eq!(
            discovery["subject_types_supported"],
            serde_json::json!(["public", "pairwise"])
        );

        let public = client_at(&server, "https://public.example/cb", false);
        let a1 = client_at(&server, "https://a.example/cb", true);
        let a2 = client_at(&server, "https://a.example/other", true);
        let b = client_at(&server, "https://b.example/cb", true);

        let (public_sub, _, _) = subjects_seen(&server, &public, "alice").await;
        assert_eq!(public_sub, alice.id);
        let (a1_sub, tokens, _) = subjects_seen(&server, &a1, "alice").await;
        let (a2_sub, _, _) = subjects_seen(&server, &a2, "alice").await;
        let (b_sub, _, _) = subjects_seen(&server, &b, "alice").await;
        assert_ne!(a1_sub, alice.id);
        assert_eq!(a1_sub, a2_sub, "one sector, one sub");
        assert_ne!(a1_sub, b_sub, "another sector, another sub");
        let (again, _, _) = subjects_seen(&server, &a1, "alice").await;
        assert_eq!(again, a1_sub, "stable");
        let bob = server.create_user("bob");
        let (bob_sub, _, _) = subjects_seen(&server, &a1, "bob").await;
        assert_ne!(bob_sub, a1_sub);
        assert!(!bob_sub.contains(&bob.id));

        // UserInfo says the same, and still finds the user.
        let userinfo: Value = http_client()
            .get(server.url("/userinfo"))
            .bearer_auth(tokens.access_token().secret())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(userinfo["sub"], a1_sub.as_str(), "{userinfo}");
        assert_eq!(userinfo["name"], "alice Example");

        // So do refreshed ID tokens, and introspection of both tokens.
        let refresh_token = tokens.refresh_token().unwrap().secret().clone();
        let (status, refreshed) = call(
            &server,
            "/token",
            &a1,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh_token),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{refreshed}");
        let id_token = jwt_claims(refreshed["id_token"].as_str().unwrap());
        assert_eq!(id_token["sub"], a1_sub.as_str());
        let (_, introspected) = call(
            &server,
            "/introspect",
            &a1,
            &[("token", refreshed["refresh_token"].as_str().unwrap())],
        )
        .await;
        assert_eq!(introspected["sub"], a1_sub.as_str(), "{introspected}");
        let (_, introspected) = call(
            &server,
            "/introspect",
            &a1,
            &[("token", refreshed["access_token"].as_str().unwrap())],
        )
        .await;
        assert_eq!(introspected["sub"], a1_sub.as_str(), "{introspected}");
    }
);

on_both_backends!(
    hints_carrying_a_pairwise_subject_still_name_the_user,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("alice");
        server.create_user("bob");
        let client = server.create_client_with(ClientRegistration {
            name: "App".into(),
            redirect_uris: vec!["https://a.example/cb".into()],
            post_logout_redirect_uris: vec!["https://a.example/bye".into()],
            grant_types: vec!["authorization_code".into()],
            auth_method: "client_secret_basic".into(),
            scope: "openid profile".into(),
            id_token_alg: "RS256".into(),
            pairwise_subjects: true,
            ..Default::default()
        });
        let (_, tokens, browser) = subjects_seen(&server, &client, "alice").await;
        let hint = tokens.id_token().unwrap().to_string();

        // prompt=none with the hint: alice's session answers at once.
        let rp = relying_party(&server, &client).await;
        let mut start = authorization_url(&rp, &[]);
        start
            .url
            .query_pairs_mut()
            .append_pair("prompt", "none")
            .append_pair("id_token_hint", &hint);
        let response = browser.get(start.url.as_str()).await;
        let redirected = location(&response);
        assert!(redirected.contains("code="), "{redirected}");

        // Another user's browser with alice's hint gets login_required.
        let other = Browser::new();
        let bobs = authorization_url(&rp, &[]);
        other
            .sign_in(&server.issuer, bobs.url.as_str(), "bob")
            .await;
        let response = other.get(start.url.as_str()).await;
        let redirected = location(&response);
        assert!(redirected.contains("error=login_required"), "{redirected}");

        // RP-initiated logout with the hint signs alice out without asking.
        let mut logout = url::Url::parse(&server.url("/logout")).unwrap();
        logout
            .query_pairs_mut()
            .append_pair("id_token_hint", &hint)
            .append_pair("post_logout_redirect_uri", "https://a.example/bye");
        let response = browser.get(logout.as_str()).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert!(location(&response).starts_with("https://a.example/bye"));
    }
);
