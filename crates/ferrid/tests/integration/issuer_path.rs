//! An issuer with a path (`http://host/id`), as operators serve an
//! identity provider beside other applications on one host: every route,
//! redirect, link and cookie lives beneath the path, and a relying party
//! signs a user in through it.

use openidconnect::core::CoreUserInfoClaims;
use reqwest::StatusCode;

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::oidc::{http_client, sign_in_and_exchange};
use crate::support::{Backend, Browser};

on_both_backends!(
    an_issuer_with_a_path_is_served_beneath_it,
    |backend: Backend| async move {
        let server = server_or_skip!(backend, |config| {
            config.issuer = "http://placeholder/id".into();
        });
        assert!(server.issuer.ends_with("/id"), "{}", server.issuer);
        let origin = server.issuer.trim_end_matches("/id").to_owned();

        // Discovery beneath the path (OpenID Connect Discovery §4), with
        // every endpoint there too; nothing at the root.
        let discovery: serde_json::Value =
            reqwest::get(server.url("/.well-known/openid-configuration"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        assert_eq!(discovery["issuer"], server.issuer.as_str());
        for endpoint in [
            "authorization_endpoint",
            "token_endpoint",
            "userinfo_endpoint",
            "jwks_uri",
            "end_session_endpoint",
        ] {
            assert!(
                discovery[endpoint]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("{}/", server.issuer)),
                "{endpoint}: {}",
                discovery[endpoint]
            );
        }
        let root = reqwest::get(format!("{origin}/.well-known/openid-configuration"))
            .await
            .unwrap();
        assert_eq!(root.status(), StatusCode::NOT_FOUND);

        // A relying party signs a user in through the real login page.
        server.create_user("ada");
        let client = server.create_client("client_secret_basic", "http://127.0.0.1:9/cb");
        let browser = Browser::new();
        let (tokens, nonce, rp) = sign_in_and_exchange(&server, &client, &browser, "ada").await;
        let id_token = openidconnect::TokenResponse::id_token(&tokens).expect("ID token");
        id_token
            .claims(&rp.id_token_verifier(), &nonce)
            .expect("valid ID token with the path issuer");
        let info: CoreUserInfoClaims = rp
            .user_info(
                openidconnect::OAuth2TokenResponse::access_token(&tokens).clone(),
                None,
            )
            .unwrap()
            .request_async(&http_client())
            .await
            .expect("UserInfo");
        assert_eq!(
            info.preferred_username().map(|name| name.as_str()),
            Some("ada")
        );

        // The session cookie is scoped to the path: other applications on
        // the host never receive it.
        assert!(browser
            .cookie(&server.url("/account"), "ferrid_session")
            .is_some());
        assert!(browser
            .cookie(&format!("{origin}/other-app"), "ferrid_session")
            .is_none());

        // Pages link, post and load assets beneath the path.
        let page = browser.get(&server.url("/account/security")).await;
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(html.contains("href=\"/id/static/ferrid.css"), "{html}");
        for unprefixed in [
            "href=\"/account",
            "href=\"/static",
            "action=\"/account",
            "action=\"/logout",
        ] {
            assert!(!html.contains(unprefixed), "{unprefixed} in {html}");
        }

        // Redirects stay beneath it: the console sends a visitor to its
        // sign-in page, which starts a code flow back to its callback.
        let console = browser.get(&server.url("/admin")).await;
        assert_eq!(console.status(), StatusCode::SEE_OTHER);
        let location = console.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.starts_with("/id/admin/sign-in"), "{location}");
        let sign_in = browser.get(&format!("{origin}{location}")).await;
        let authorize = sign_in.headers()["location"].to_str().unwrap().to_owned();
        assert!(
            authorize.starts_with(&server.url("/authorize?")),
            "{authorize}"
        );
        let redirect_uri = url::Url::parse(&authorize)
            .unwrap()
            .query_pairs()
            .find(|(key, _)| key == "redirect_uri")
            .map(|(_, value)| value.into_owned())
            .unwrap();
        assert_eq!(redirect_uri, server.url("/admin/callback"));
    }
);
