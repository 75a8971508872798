//! The `claims` request parameter (OIDC Core §5.5): user claims asked for
//! in the ID token (and UserInfo), each released under its scope, and
//! `acr` asked for as acr_values are.

use ferrid_service::clients::ClientRegistration;
use openidconnect::{OAuth2TokenResponse, RefreshToken, TokenResponse};
use reqwest::StatusCode;

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::browser::location;
use crate::support::oidc::{
    authorization_url, discovery_document, exchange, http_client, jwt_claims, relying_party,
};
use crate::support::server::{TestClient, PASSWORD};
use crate::support::{Backend, Browser, TestServer};

const REDIRECT_URI: &str = "https://app.example/cb";

/// A confidential client that may request `scope` with `grants`.
fn client_allowed(server: &TestServer, scope: &str, grants: &[&str]) -> TestClient {
    server.create_client_with(ClientRegistration {
        name: "Claims".into(),
        redirect_uris: vec![REDIRECT_URI.into()],
        grant_types: grants.iter().map(|grant| (*grant).to_owned()).collect(),
        auth_method: "client_secret_basic".into(),
        scope: scope.into(),
        id_token_alg: "RS256".into(),
        ..Default::default()
    })
}

fn with_claims(url: &url::Url, claims: &str) -> String {
    let mut url = url.clone();
    url.query_pairs_mut().append_pair("claims", claims);
    url.to_string()
}

on_both_backends!(
    requested_claims_are_in_every_id_token_of_the_grant,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("cleo");
        let client = client_allowed(
            &server,
            "openid profile email offline_access",
            &["authorization_code", "refresh_token"],
        );
        let rp = relying_party(&server, &client).await;

        // Without the parameter, an openid-only ID token has no e-mail.
        let plain = authorization_url(&rp, &["offline_access"]);
        let browser = Browser::new();
        let redirected = browser
            .sign_in(&server.issuer, plain.url.as_str(), "cleo")
            .await;
        let tokens = exchange(&rp, redirected.param("code").unwrap(), plain.verifier).await;
        let claims = jwt_claims(&tokens.id_token().unwrap().to_string());
        assert!(claims.get("email").is_none(), "{claims}");

        // With it: the ID token carries them; unknown claims are ignored.
        let start = authorization_url(&rp, &["offline_access"]);
        let asked = r#"{"id_token":{"email":null,"email_verified":{"essential":true},"name":null,"nickname":null}}"#;
        let redirected = Browser::new()
            .sign_in(&server.issuer, &with_claims(&start.url, asked), "cleo")
            .await;
        let tokens = exchange(&rp, redirected.param("code").unwrap(), start.verifier).await;
        let claims = jwt_claims(&tokens.id_token().unwrap().to_string());
        assert_eq!(claims["email"], "cleo@example.com");
        assert_eq!(claims["email_verified"], false, "present, as stored");
        assert_eq!(claims["name"], "cleo Example");
        assert!(claims.get("nickname").is_none());
        assert!(
            claims.get("preferred_username").is_none(),
            "only what was asked"
        );
        // Their scopes were asked for, consented and granted.
        let granted: Vec<String> = tokens
            .scopes()
            .unwrap()
            .iter()
            .map(|scope| scope.to_string())
            .collect();
        assert!(granted.contains(&"email".to_owned()), "{granted:?}");
        assert!(granted.contains(&"profile".to_owned()), "{granted:?}");

        // A refreshed ID token still carries them.
        let refreshed = rp
            .exchange_refresh_token(&RefreshToken::new(
                tokens.refresh_token().unwrap().secret().clone(),
            ))
            .unwrap()
            .request_async(&http_client())
            .await
            .expect("refresh");
        let claims = jwt_claims(&refreshed.id_token().unwrap().to_string());
        assert_eq!(claims["email"], "cleo@example.com");

        // Asked for from UserInfo: released there with their scope.
        let start = authorization_url(&rp, &[]);
        let redirected = Browser::new()
            .sign_in(
                &server.issuer,
                &with_claims(&start.url, r#"{"userinfo":{"email":null}}"#),
                "cleo",
            )
            .await;
        let tokens = exchange(&rp, redirected.param("code").unwrap(), start.verifier).await;
        let userinfo: serde_json::Value = http_client()
            .get(server.url("/userinfo"))
            .bearer_auth(tokens.access_token().secret())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(userinfo["email"], "cleo@example.com");
        let claims = jwt_claims(&tokens.id_token().unwrap().to_string());
        assert!(claims.get("email").is_none(), "asked for UserInfo only");

        let discovery = discovery_document(&server).await;
        assert_eq!(discovery["claims_parameter_supported"], true);
    }
);

on_both_backends!(
    claims_parameters_are_checked_and_acr_is_honoured,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("dion");
        // A client that may not ask for e-mail gets none, however asked.
        let narrow = client_allowed(&server, "openid", &["authorization_code"]);
        let rp = relying_party(&server, &narrow).await;
        let start = authorization_url(&rp, &[]);
        let redirected = Browser::new()
            .sign_in(
                &server.issuer,
                &with_claims(&start.url, r#"{"id_token":{"email":null}}"#),
                "dion",
            )
            .await;
        let tokens = exchange(&rp, redirected.param("code").unwrap(), start.verifier).await;
        let claims = jwt_claims(&tokens.id_token().unwrap().to_string());
        assert!(claims.get("email").is_none(), "{claims}");

        // Malformed: invalid_request, to the client.
        let browser = Browser::new();
        for bad in ["{", "[1]", r#"{"id_token":{"email":"yes"}}"#] {
            let refused = browser.get(&with_claims(&start.url, bad)).await;
            assert_eq!(refused.status(), StatusCode::SEE_OTHER, "{bad}");
            let back = location(&refused);
            assert!(back.starts_with(REDIRECT_URI), "{bad}: {back}");
            assert!(back.contains("error=invalid_request"), "{bad}: {back}");
        }

        // acr "2" asked for as an essential claim: a second factor is
        // needed, so a user without one is sent to set it up.
        let asked = r#"{"id_token":{"acr":{"essential":true,"values":["2"]}}}"#;
        let response = browser.get(&with_claims(&start.url, asked)).await;
        let html = browser.page(&location(&response)).await;
        let submitted = browser
            .submit_login(&server.issuer, &html, "dion", PASSWORD)
            .await;
        let next = browser.get(&location(&submitted)).await;
        let enrol = location(&next);
        assert!(enrol.contains("/account/totp?request_id="), "{enrol}");
    }
);
