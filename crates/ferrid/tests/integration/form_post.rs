//! `response_mode=form_post` (OAuth 2.0 Form Post Response Mode): the
//! response reaches the client in a form the browser posts, never in a URL.

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::browser::location;
use crate::support::oidc::{authorization_url, discovery_document, exchange, relying_party};
use crate::support::server::PASSWORD;
use crate::support::{Backend, Browser, TestServer};

const REDIRECT_URI: &str = "https://app.example/cb";

/// Walks the sign-in pages from `start` until the server answers with a
/// page for the client instead of one of its own; returns that page's
/// headers and HTML.
async fn walk_to_client(
    server: &TestServer,
    browser: &Browser,
    start: &str,
) -> (HeaderMap, String) {
    let mut response = browser.get(start).await;
    for _ in 0..8 {
        if response.status().is_redirection() {
            let next = location(&response);
            assert!(
                next.starts_with(&server.issuer),
                "form_post must not redirect to the client: {next}"
            );
            response = browser.get(&next).await;
            continue;
        }
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        let html = response.text().await.unwrap();
        if html.contains("action=\"/login\"") {
            response = browser
                .submit_login(&server.issuer, &html, "fay", PASSWORD)
                .await;
        } else if html.contains("action=\"/consent\"") {
            response = browser.submit_consent(&server.issuer, &html, "allow").await;
        } else {
            return (headers, html);
        }
    }
    panic!("too many hops");
}

/// The form-post page's action and fields, with HTML character
/// references decoded as a browser would.
fn posted_form(html: &str) -> (String, Vec<(String, String)>) {
    let action = between(html, "<form method=\"post\" action=\"", "\"");
    let mut fields = Vec::new();
    for input in html.split("<input type=\"hidden\" ").skip(1) {
        let name = between(input, "name=\"", "\"");
        let value = between(input, "value=\"", "\"");
        fields.push((decode(&name), decode(&value)));
    }
    (decode(&action), fields)
}

fn between(text: &str, start: &str, end: &str) -> String {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in {text}"))
        + start.len();
    let to = text[from..].find(end).expect("end marker") + from;
    text[from..to].to_owned()
}

fn decode(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let end = rest[at..].find(';').expect("entity end") + at;
        let entity = &rest[at + 1..end];
        let decoded = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ if entity.starts_with("#x") => {
                char::from_u32(u32::from_str_radix(&entity[2..], 16).unwrap()).unwrap()
            }
            _ => char::from_u32(entity[1..].parse().unwrap()).unwrap(),
        };
        out.push(decoded);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

on_both_backends!(
    form_post_delivers_the_code_in_a_posted_form,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("fay");
        let client = server.create_client("client_secret_basic", REDIRECT_URI);
        let rp = relying_party(&server, &client).await;
        let start = authorization_url(&rp, &[]);
        let browser = Browser::new();
        let (headers, html) = walk_to_client(
            &server,
            &browser,
            &format!("{}&response_mode=form_post", start.url),
        )
        .await;
        assert!(headers.get("location").is_none());
        assert_eq!(headers["cache-control"], "no-store");
        let policy = headers["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(policy.contains("script-src 'self'"), "{policy}");
        assert!(
            policy.contains("form-action 'self' https://app.example"),
            "{policy}"
        );
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert!(html.contains("<script src=\"/static/form_post.js\"></script>"));
        assert!(
            html.contains("<button type=\"submit\">"),
            "works without script"
        );
        let (action, fields) = posted_form(&html);
        assert_eq!(action, REDIRECT_URI);
        assert_eq!(field(&fields, "state"), Some(start.state.secret().as_str()));
        assert_eq!(field(&fields, "iss"), Some(server.issuer.as_str()));
        let code = field(&fields, "code").expect("a code").to_owned();

        // The page's script is served from this origin, under the policy.
        let script = browser.get(&server.url("/static/form_post.js")).await;
        assert_eq!(script.status(), StatusCode::OK);
        assert!(script.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript"));
        assert!(script.text().await.unwrap().contains(".submit()"));

        // The posted code is a code like any other.
        let tokens = exchange(&rp, code, start.verifier).await;
        assert!(openidconnect::TokenResponse::id_token(&tokens).is_some());

        // A later request answered at once (consent remembered) is posted too.
        let again = authorization_url(&rp, &[]);
        let (_, html) = walk_to_client(
            &server,
            &browser,
            &format!("{}&response_mode=form_post", again.url),
        )
        .await;
        let (_, fields) = posted_form(&html);
        assert!(field(&fields, "code").is_some());
    }
);

on_both_backends!(
    form_post_errors_are_posted_and_bad_modes_refused,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let client = server.create_client("client_secret_basic", REDIRECT_URI);
        let rp = relying_party(&server, &client).await;
        let browser = Browser::new();

        // An error after the mode is known goes back the same way.
        let start = authorization_url(&rp, &[]);
        let answer = browser
            .get(&format!(
                "{}&response_mode=form_post&prompt=none",
                start.url
            ))
            .await;
        assert_eq!(answer.status(), StatusCode::OK);
        let (action, fields) = posted_form(&answer.text().await.unwrap());
        assert_eq!(action, REDIRECT_URI);
        assert_eq!(field(&fields, "error"), Some("login_required"));
        assert_eq!(field(&fields, "state"), Some(start.state.secret().as_str()));
        assert_eq!(field(&fields, "iss"), Some(server.issuer.as_str()));
        let answer = browser
            .get(&format!(
                "{}&response_mode=form_post&prompt=bogus",
                start.url
            ))
            .await;
        let (_, fields) = posted_form(&answer.text().await.unwrap());
        assert_eq!(field(&fields, "error"), Some("invalid_request"));

        // An unsupported mode is refused in the query.
        for mode in ["fragment", "form_post.jwt", "QUERY"] {
            let answer = browser
                .get(&format!("{}&response_mode={mode}", start.url))
                .await;
            assert_eq!(answer.status(), StatusCode::SEE_OTHER, "{mode}");
            let back = location(&answer);
            assert!(back.starts_with(REDIRECT_URI), "{back}");
            assert!(back.contains("error=invalid_request"), "{back}");
        }

        // An unregistered redirect URI is still a page of ours, never a form.
        let answer = browser
            .get(&format!(
                "{}&response_mode=form_post",
                start.url.as_str().replace("app.example", "evil.example")
            ))
            .await;
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
        assert!(!answer
            .text()
            .await
            .unwrap()
            .contains("<form method=\"post\""));

        // Discovery says so.
        let discovery: Value = discovery_document(&server).await;
        assert_eq!(
            discovery["response_modes_supported"],
            serde_json::json!(["query", "form_post"])
        );
    }
);
