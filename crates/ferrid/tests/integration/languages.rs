//! Page languages: `ui_locales` (OIDC Core §3.1.2.1) over
//! `Accept-Language`, English by default; German is the second language.

use reqwest::StatusCode;
use serde_json::json;

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::browser::{hidden_field, location};
use crate::support::oidc::{authorization_url, discovery_document, http_client, relying_party};
use crate::support::{Backend, Browser};

/// GETs `url` with `Accept-Language` and returns the status, the page and
/// its `Content-Language`.
async fn page_in(url: &str, accept_language: Option<&str>) -> (StatusCode, String, String) {
    let mut request = http_client().get(url);
    if let Some(languages) = accept_language {
        request = request.header("Accept-Language", languages);
    }
    let response = request.send().await.unwrap();
    let language = response
        .headers()
        .get("content-language")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.status(), response.text().await.unwrap(), language)
}

on_both_backends!(
    pages_speak_the_language_asked_for,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("alice");
        assert_eq!(
            discovery_document(&server).await["ui_locales_supported"],
            json!(["en", "de"])
        );
        // Accept-Language alone.
        let (status, page, language) =
            page_in(&server.url("/device"), Some("de-DE,de;q=0.9,en;q=0.5")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(language, "de");
        assert!(page.contains("<html lang=\"de\">"), "{page}");
        assert!(page.contains("Gerät verbinden"), "{page}");
        let (_, page, language) = page_in(&server.url("/device"), None).await;
        assert_eq!(language, "en");
        assert!(page.contains("<html lang=\"en\">"));
        assert!(page.contains("Connect a device"));
        let (_, page, _) = page_in(&server.url("/password/forgot"), Some("fr, de;q=0.8")).await;
        assert!(page.contains("Passwort zurücksetzen"), "{page}");
        let (_, page, _) = page_in(&server.url("/password/forgot"), Some("fr")).await;
        assert!(page.contains("Reset your password"), "{page}");

        // ui_locales wins over Accept-Language, for every page of the request.
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let rp = relying_party(&server, &client).await;
        let mut start = authorization_url(&rp, &["profile"]);
        start
            .url
            .query_pairs_mut()
            .append_pair("ui_locales", "fr-CA de")
            .append_pair("claims_locales", "de en");
        let browser = Browser::with_client(|builder| {
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert("Accept-Language", "en".parse().unwrap());
            builder.default_headers(headers)
        });
        let response = browser.get(start.url.as_str()).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let login = browser.page(&location(&response)).await;
        assert!(login.contains("<html lang=\"de\">"), "{login}");
        assert!(login.contains("Benutzername oder E-Mail"), "{login}");
        // The user's name is escaped inside the translated text.
        assert!(
            login.contains("um mit <strong>Test App</strong> fortzufahren"),
            "{login}"
        );
        let response = browser
            .submit_login(
                &server.issuer,
                &login,
                "alice",
                crate::support::server::PASSWORD,
            )
            .await;
        let consent = browser.page(&location(&response)).await;
        assert!(consent.contains("Zugriff erlauben?"), "{consent}");
        let mut again = authorization_url(&rp, &[]);
        again
            .url
            .query_pairs_mut()
            .append_pair("ui_locales", "de")
            .append_pair("prompt", "login");
        let response = browser.get(again.url.as_str()).await;
        let login = browser.page(&location(&response)).await;
        let response = browser
            .submit_login(&server.issuer, &login, "alice", "wrong password")
            .await;
        let refused = response.text().await.unwrap();
        assert!(
            refused.contains("Benutzername oder Passwort ist falsch."),
            "{refused}"
        );
        assert!(consent.contains(&hidden_field(&consent, "csrf_token")));

        // Messages the server writes are translated too: an error page,
        // and a failed login with the lockout's wait.
        let (status, page, _) = page_in(
            &server.url("/authorize?client_id=nobody&redirect_uri=https%3A%2F%2Fx.example"),
            Some("de"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("Unbekannte Anwendung"), "{page}");
        assert!(
            page.contains("Es ist keine Anwendung mit der ID „nobody“ registriert."),
            "{page}"
        );

        // A language this server lacks: English.
        let mut start = authorization_url(&rp, &[]);
        start
            .url
            .query_pairs_mut()
            .append_pair("ui_locales", "fr ja");
        let response = Browser::new().get(start.url.as_str()).await;
        let (_, login, _) = page_in(&location(&response), None).await;
        assert!(login.contains("Username or e-mail"), "{login}");

        // Over-long locale lists are refused like any oversized value.
        let mut start = authorization_url(&rp, &[]);
        start
            .url
            .query_pairs_mut()
            .append_pair("claims_locales", &"de ".repeat(100));
        let response = Browser::new().get(start.url.as_str()).await;
        assert!(location(&response).contains("error=invalid_request"));
    }
);

on_both_backends!(
    the_console_speaks_german_too,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        crate::support::console::create_admin(
            &server,
            "boss",
            ferrid_service::users::AdminRole::Admin,
        );
        let browser = Browser::with_client(|builder| {
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert("Accept-Language", "de".parse().unwrap());
            builder.default_headers(headers)
        });
        let landed = crate::support::console::open(&server, &browser, "/admin", "boss").await;
        assert_eq!(landed.status, StatusCode::OK, "{}", landed.html);
        assert!(
            landed.html.contains("<html lang=\"de\">"),
            "{}",
            landed.html
        );
        assert!(
            landed.html.contains("<h1>Übersicht</h1>"),
            "{}",
            landed.html
        );
        assert!(landed.html.contains("aktive Sitzungen"), "{}", landed.html);
        let form =
            crate::support::console::open(&server, &browser, "/admin/clients/new", "boss").await;
        assert!(
            form.html.contains("Anwendung registrieren"),
            "{}",
            form.html
        );
        assert!(form
            .html
            .contains("Wird Benutzern auf der Zustimmungsseite gezeigt."));
    }
);
