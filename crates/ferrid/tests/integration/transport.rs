//! Transport and browser protections: security headers on every
//! response, cookie flags, HTTPS served by ferrid itself (a real TLS
//! handshake with a certificate from `ferrid dev-cert`), HSTS, `__Host-`
//! cookies and the plain-HTTP redirect.

use reqwest::StatusCode;

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::browser::location;
use crate::support::oidc::{authorization_url, relying_party};
use crate::support::{Backend, Browser};

/// Checks the headers every response must carry, and `no-store` on pages.
fn assert_protected(response: &reqwest::Response, what: &str) {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .unwrap_or_else(|| panic!("{what}: no {name}"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    let csp = header("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(csp.contains("default-src 'none'"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    // Scripts only from ferrid itself (the form-post and passkey
    // scripts), never inline and never from elsewhere.
    for directive in csp.split(';').map(str::trim) {
        if directive.starts_with("script-src") || directive.starts_with("connect-src") {
            assert!(directive.ends_with(" 'self'"), "{what}: {csp}");
            assert_eq!(directive.split(' ').count(), 2, "{what}: {csp}");
        }
    }
    assert_eq!(header("x-frame-options"), "DENY", "{what}");
    assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header("referrer-policy"), "no-referrer", "{what}");
    assert!(!header("x-request-id").is_empty(), "{what}");
    assert!(csp.contains("form-action 'self'"), "{what}: {csp}");
    let is_html = response
        .headers()
        .get("content-type")
        .is_some_and(|value| value.to_str().unwrap_or_default().starts_with("text/html"));
    if is_html {
        assert_eq!(header("cache-control"), "no-store", "{what}");
    }
}

/// Every `Set-Cookie` of a response.
fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .collect()
}

on_both_backends!(
    every_response_carries_the_security_headers,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("hugo");
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let browser = Browser::new();
        let rp = relying_party(&server, &client).await;
        let start = browser.get(authorization_url(&rp, &[]).url.as_str()).await;
        assert_protected(&start, "authorize redirect");
        let login = browser.get(&location(&start)).await;
        assert_protected(&login, "login page");
        // The sign-in form ends in a redirect to the client, so its origin
        // (and only it) joins this server in form-action.
        let csp = login.headers()["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("form-action 'self' https://app.example;"),
            "{csp}"
        );
        // The anti-forgery cookie is set when the request starts.
        let cookies = set_cookies(&start);
        assert!(!cookies.is_empty());
        for cookie in &cookies {
            assert!(cookie.contains("HttpOnly"), "{cookie}");
            assert!(cookie.contains("SameSite=Lax"), "{cookie}");
            assert!(
                !cookie.contains("Secure"),
                "plain http on loopback: {cookie}"
            );
        }
        browser
            .sign_in(
                &server.issuer,
                authorization_url(&rp, &[]).url.as_str(),
                "hugo",
            )
            .await;
        let http = reqwest::Client::new();
        for path in [
            "/.well-known/openid-configuration",
            "/jwks",
            "/health",
            "/login?request_id=unknown",
            "/login/mfa?request_id=unknown",
            "/password/forgot",
            "/password/reset?token=nope",
            "/verify-email?token=nope",
            "/account/security",
            "/account/sessions",
            "/authorize?client_id=unknown",
            "/static/ferrid.css",
            "/no-such-page",
        ] {
            assert_protected(&http.get(server.url(path)).send().await.unwrap(), path);
        }
        for path in ["/account/security", "/account/totp", "/account/sessions"] {
            let response = browser.get(&server.url(path)).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_protected(&response, path);
            let csp = response.headers()["content-security-policy"]
                .to_str()
                .unwrap();
            assert!(csp.contains("form-action 'self';"), "{path}: {csp}");
        }
        for path in [
            "/token",
            "/introspect",
            "/revoke",
            "/login",
            "/password/forgot",
        ] {
            let response = http
                .post(server.url(path))
                .form(&[("x", "y")])
                .send()
                .await
                .unwrap();
            assert!(
                response.status().is_client_error(),
                "{path}: {}",
                response.status()
            );
            assert_protected(&response, path);
        }
        // No HSTS over plain HTTP.
        let response = http.get(server.url("/health")).send().await.unwrap();
        assert!(response
            .headers()
            .get("strict-transport-security")
            .is_none());
    }
);

/// Creates a development certificate with the CLI in `server`'s folder.
pub fn dev_cert(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_ferrid"))
        .args(["dev-cert", "--out-dir"])
        .arg(dir)
        .args(["--host", "127.0.0.1", "--host", "localhost"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let key = dir.join("key.pem");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    (dir.join("cert.pem"), key)
}

on_both_backends!(
    https_with_a_real_tls_handshake,
    |backend: Backend| async move {
        let certs = tempfile::tempdir().unwrap();
        let (certificate, private_key) = dev_cert(certs.path());
        let server = server_or_skip!(backend, |config| {
            config.tls.certificate = certificate.display().to_string();
            config.tls.private_key = private_key.display().to_string();
        });
        assert!(server.issuer.starts_with("https://127.0.0.1:"));
        let trusted =
            reqwest::Certificate::from_pem(&std::fs::read(&certificate).unwrap()).unwrap();
        let client = reqwest::Client::builder()
            .add_root_certificate(trusted)
            .tls_built_in_root_certs(false)
            .min_tls_version(reqwest::tls::Version::TLS_1_2)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let discovery = client
            .get(server.url("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap();
        assert_eq!(discovery.status(), StatusCode::OK);
        assert_protected(&discovery, "discovery over TLS");
        let hsts = discovery.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(hsts, "max-age=31536000");
        let document: serde_json::Value = discovery.json().await.unwrap();
        assert_eq!(document["issuer"], server.issuer.as_str());
        assert!(document["token_endpoint"]
            .as_str()
            .unwrap()
            .starts_with("https://"));

        // Cookies over TLS: Secure and __Host-.
        let client_app = server.create_client("client_secret_basic", "https://app.example/cb");
        let start = client
            .get(format!(
                "{}?client_id={}&redirect_uri={}&response_type=code&scope=openid&state=s{}",
                server.url("/authorize"),
                client_app.id,
                client_app.redirect_uri,
                crate::support::oidc::PKCE_PARAMS
            ))
            .send()
            .await
            .unwrap();
        let login_url = start.headers()["location"].to_str().unwrap().to_owned();
        let login = client.get(server.url(&login_url)).send().await.unwrap();
        let cookies = set_cookies(&login);
        assert!(!cookies.is_empty());
        for cookie in &cookies {
            assert!(cookie.starts_with("__Host-"), "{cookie}");
            assert!(
                cookie.contains("Secure") && cookie.contains("HttpOnly"),
                "{cookie}"
            );
            assert!(
                cookie.contains("Path=/") && !cookie.contains("Domain="),
                "{cookie}"
            );
        }

        // Both TLS 1.2 and TLS 1.3 are spoken (rustls implements nothing
        // older, and its ring provider only AEAD suites: see tls.rs).
        for (min, max) in [
            (
                reqwest::tls::Version::TLS_1_2,
                reqwest::tls::Version::TLS_1_2,
            ),
            (
                reqwest::tls::Version::TLS_1_3,
                reqwest::tls::Version::TLS_1_3,
            ),
        ] {
            let pinned = reqwest::Client::builder()
                .add_root_certificate(
                    reqwest::Certificate::from_pem(&std::fs::read(&certificate).unwrap()).unwrap(),
                )
                .tls_built_in_root_certs(false)
                .min_tls_version(min)
                .max_tls_version(max)
                .build()
                .unwrap();
            let response = pinned.get(server.url("/health")).send().await;
            assert!(
                response.is_ok_and(|response| response.status() == StatusCode::OK),
                "{min:?}"
            );
        }

        // A client that does not trust the certificate fails the handshake.
        let untrusting = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .build()
            .unwrap();
        assert!(untrusting.get(server.url("/health")).send().await.is_err());
        // Plain HTTP on the TLS port is not served.
        let plain = server.url("/health").replace("https://", "http://");
        let answer = reqwest::get(&plain).await;
        assert!(answer
            .map(|response| !response.status().is_success())
            .unwrap_or(true));
    }
);

#[tokio::test]
async fn plain_http_redirects_to_the_https_issuer() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server =
        ferrid_server::tls::redirect_server(listener, "https://id.example.com".into()).unwrap();
    let handle = server.handle();
    tokio::spawn(server);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client
        .get(format!("http://{address}/authorize?client_id=a&state=x"))
        .header("Host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(
        response.headers()["location"],
        "https://id.example.com/authorize?client_id=a&state=x"
    );
    handle.stop(true).await;
}

#[test]
fn tls_configuration_errors_name_their_key() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let error = ferrid_server::tls::server_config(&missing, &missing).unwrap_err();
    assert!(error.starts_with("tls.certificate"), "{error}");
    let (certificate, _) = dev_cert(dir.path());
    let error = ferrid_server::tls::server_config(&certificate, &missing).unwrap_err();
    assert!(error.starts_with("tls.private_key"), "{error}");
}
