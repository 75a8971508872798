//! A browser: reqwest with a cookie store that does not follow redirects,
//! so every hop can be checked, and helpers to fill in ferrid's forms.

use reqwest::header::LOCATION;
use reqwest::{Response, StatusCode};
use url::Url;

use super::server::PASSWORD;

/// A user agent with its own cookie jar.
pub struct Browser {
    /// The HTTP client.
    pub http: reqwest::Client,
    jar: std::sync::Arc<reqwest::cookie::Jar>,
}

/// Where a login ended.
#[derive(Debug)]
pub struct Redirected {
    /// The URL the server sent the browser to, outside the server.
    pub url: Url,
}

impl Redirected {
    /// A query parameter of the redirect.
    pub fn param(&self, name: &str) -> Option<String> {
        self.url
            .query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    /// A fresh browser with no cookies.
    pub fn new() -> Browser {
        Self::with_client(|builder| builder)
    }

    /// A browser whose HTTP client `configure` adjusts (a trusted test
    /// certificate, a source address).
    pub fn with_client(
        configure: impl FnOnce(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
    ) -> Browser {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        Browser {
            http: configure(
                reqwest::Client::builder()
                    .cookie_provider(jar.clone())
                    .redirect(reqwest::redirect::Policy::none()),
            )
            .build()
            .expect("client"),
            jar,
        }
    }

    /// The value of the cookie `name` the browser would send to `url`.
    pub fn cookie(&self, url: &str, name: &str) -> Option<String> {
        use reqwest::cookie::CookieStore;
        let header = self.jar.cookies(&Url::parse(url).expect("url"))?;
        header.to_str().ok()?.split("; ").find_map(|pair| {
            pair.split_once('=')
                .filter(|(key, _)| *key == name)
                .map(|(_, value)| value.to_owned())
        })
    }

    /// Stores a cookie (`name=value`) for `url`, as if the server had set
    /// it (one browser's cookies handed to this one).
    pub fn add_cookie(&self, url: &str, cookie: &str) {
        self.jar
            .add_cookie_str(cookie, &Url::parse(url).expect("url"));
    }

    /// GET a URL.
    pub async fn get(&self, url: &str) -> Response {
        self.http.get(url).send().await.expect("GET")
    }

    /// POST a form.
    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Response {
        self.http.post(url).form(form).send().await.expect("POST")
    }

    /// Follows redirects within `issuer` from `start`, logging in as
    /// `username` and allowing consent whenever asked, until the server
    /// redirects away from itself. Returns that redirect.
    pub async fn sign_in(&self, issuer: &str, start: &str, username: &str) -> Redirected {
        self.sign_in_with(issuer, start, username, PASSWORD, "allow")
            .await
    }

    /// Like [`sign_in`](Self::sign_in) with a chosen password and consent decision.
    pub async fn sign_in_with(
        &self,
        issuer: &str,
        start: &str,
        username: &str,
        password: &str,
        decision: &str,
    ) -> Redirected {
        self.walk(issuer, start, username, password, decision, None)
            .await
    }

    /// Like [`sign_in`](Self::sign_in), answering the second-factor page
    /// with `code` (a TOTP or recovery code).
    pub async fn sign_in_with_code(
        &self,
        issuer: &str,
        start: &str,
        username: &str,
        code: &str,
    ) -> Redirected {
        self.walk(issuer, start, username, PASSWORD, "allow", Some(code))
            .await
    }

    async fn walk(
        &self,
        issuer: &str,
        start: &str,
        username: &str,
        password: &str,
        decision: &str,
        code: Option<&str>,
    ) -> Redirected {
        // Under an issuer with a path, forms post beneath it.
        let base = Url::parse(issuer)
            .map(|url| url.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        let form = |path: &str| format!("action=\"{base}{path}\"");
        let mut response = self.get(start).await;
        for _ in 0..10 {
            if response.status().is_redirection() {
                let location = location(&response);
                if !location.starts_with(issuer) {
                    return Redirected {
                        url: Url::parse(&location).expect("absolute redirect"),
                    };
                }
                response = self.get(&location).await;
                continue;
            }
            assert_eq!(response.status(), StatusCode::OK, "unexpected page");
            let html = response.text().await.expect("page");
            response = if html.contains(&form("/login")) {
                self.submit_login(issuer, &html, username, password).await
            } else if html.contains(&form("/login/mfa")) {
                let code = code.unwrap_or_else(|| panic!("a second factor was asked for: {html}"));
                self.submit_code(issuer, &html, code).await
            } else if html.contains(&form("/consent")) {
                self.submit_consent(issuer, &html, decision).await
            } else {
                panic!("unexpected page: {html}");
            };
        }
        panic!("too many hops");
    }

    /// Submits the login form found in `html`.
    pub async fn submit_login(
        &self,
        issuer: &str,
        html: &str,
        username: &str,
        password: &str,
    ) -> Response {
        self.post_form(
            &format!("{issuer}/login"),
            &[
                ("request_id", &hidden_field(html, "request_id")),
                ("csrf_token", &hidden_field(html, "csrf_token")),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }

    /// Submits the second-factor form found in `html`.
    pub async fn submit_code(&self, issuer: &str, html: &str, code: &str) -> Response {
        self.post_form(
            &format!("{issuer}/login/mfa"),
            &[
                ("request_id", &hidden_field(html, "request_id")),
                ("csrf_token", &hidden_field(html, "csrf_token")),
                ("code", code),
            ],
        )
        .await
    }

    /// GETs `url` and returns its HTML, asserting a 200.
    pub async fn page(&self, url: &str) -> String {
        let response = self.get(url).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {url}");
        response.text().await.expect("page")
    }

    /// Submits the consent form found in `html`.
    pub async fn submit_consent(&self, issuer: &str, html: &str, decision: &str) -> Response {
        self.post_form(
            &format!("{issuer}/consent"),
            &[
                ("request_id", &hidden_field(html, "request_id")),
                ("csrf_token", &hidden_field(html, "csrf_token")),
                ("decision", decision),
            ],
        )
        .await
    }
}

/// The `Location` header of a redirect, as an absolute URL.
pub fn location(response: &Response) -> String {
    let location = response
        .headers()
        .get(LOCATION)
        .expect("Location header")
        .to_str()
        .expect("ascii Location");
    response
        .url()
        .join(location)
        .expect("valid Location")
        .to_string()
}

/// The value of a hidden input in a page.
pub fn hidden_field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in {html}"))
        + marker.len();
    let end = html[start..].find('"').expect("closing quote") + start;
    html[start..end].to_owned()
}
