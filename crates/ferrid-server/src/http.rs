//! Small HTTP helpers shared by the endpoints: HTML rendering, redirects,
//! and strict parsing of form-encoded parameters.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use ferrid_pages::Template;

/// Content-Security-Policy of every response: no script (the form-post
/// page alone allows its one script: [`allow_form_post_to`]), styles
/// only from this origin, forms posted only here, and no framing
/// (clickjacking). Pages whose forms end in a redirect to a client add
/// its origin to `form-action` ([`allow_form_redirect_to`]).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The policy for a page whose form, once posted, may end in a redirect
/// to `redirect_uri`. Browsers apply `form-action` to the redirects that
/// follow a form submission, and the sign-in forms end by sending the
/// code to the client, so its origin (or, for a native app's private-use
/// scheme, the scheme) is allowed beside this server.
pub fn policy_with_form_redirect_to(redirect_uri: &str) -> String {
    let source = url::Url::parse(redirect_uri)
        .ok()
        .map(|url| match url.scheme() {
            "http" | "https" => url.origin().ascii_serialization(),
            scheme => format!("{scheme}:"),
        });
    match source {
        Some(source) => CONTENT_SECURITY_POLICY.replace(
            "form-action 'self'",
            &format!("form-action 'self' {source}"),
        ),
        None => CONTENT_SECURITY_POLICY.to_owned(),
    }
}

/// Sets the policy of [`policy_with_form_redirect_to`] on `response` (the
/// default headers then leave it alone).
pub fn allow_form_redirect_to(response: &mut HttpResponse, redirect_uri: &str) {
    set_policy(response, &policy_with_form_redirect_to(redirect_uri));
}

/// The policy of a form-post response page: the form goes to
/// `redirect_uri`'s origin, and the one script that submits it comes from
/// this origin (still no inline script).
pub fn allow_form_post_to(response: &mut HttpResponse, redirect_uri: &str) {
    let policy = policy_with_form_redirect_to(redirect_uri).replacen(
        "default-src 'none';",
        "default-src 'none'; script-src 'self';",
        1,
    );
    set_policy(response, &policy);
}

fn set_policy(response: &mut HttpResponse, policy: &str) {
    if let Ok(value) = header::HeaderValue::from_str(policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Longest value accepted for any single request parameter.
pub const MAX_PARAMETER_LENGTH: usize = 4096;
/// Most parameters accepted in one request.
pub const MAX_PARAMETERS: usize = 64;

/// Renders a page with `status`. Pages are never cached: they carry forms
/// with one-time tokens or per-user content.
pub fn html_response(status: StatusCode, page: &impl Template) -> HttpResponse {
    branded_html_response(status, page, None)
}

/// Renders a page with `status` in the admin's branding, if any.
pub fn branded_html_response(
    status: StatusCode,
    page: &impl Template,
    brand: Option<&ferrid_pages::Brand>,
) -> HttpResponse {
    let locale = crate::locale::current();
    let mut values: Vec<(&str, &dyn std::any::Any)> = vec![("locale", &locale)];
    if let Some(brand) = brand {
        values.push(("brand", brand));
    }
    match page.render_with_values(&values) {
        Ok(html) => HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((header::CONTENT_LANGUAGE, locale.tag()))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(crate::base_path::rebase_html(html)),
        Err(error) => {
            tracing::error!(%error, "page rendering failed");
            HttpResponse::InternalServerError()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .body("internal error")
        }
    }
}

/// A `303 See Other` to `location` (RFC 9700 §4.12: never 307 after a
/// form post, so credentials are not re-posted to the client).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            crate::base_path::rebase_location(location),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// Why a set of parameters was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamsError {
    /// A parameter appeared more than once (RFC 6749 §3.1).
    Duplicate(String),
    /// A value was longer than [`MAX_PARAMETER_LENGTH`].
    TooLong(String),
    /// More than [`MAX_PARAMETERS`] parameters.
    TooMany,
    /// A name or value held a control character (NUL, CR, LF, …): no
    /// OAuth or form parameter needs one, and PostgreSQL refuses NUL in
    /// text.
    ControlCharacter(String),
}

impl std::fmt::Display for ParamsError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamsError::Duplicate(name) => {
                write!(
                    formatter,
                    "parameter '{}' appears more than once",
                    printable(name)
                )
            }
            ParamsError::TooLong(name) => write!(
                formatter,
                "parameter '{}' is longer than {MAX_PARAMETER_LENGTH} characters",
                printable(name)
            ),
            ParamsError::TooMany => {
                write!(formatter, "more than {MAX_PARAMETERS} parameters")
            }
            ParamsError::ControlCharacter(name) => write!(
                formatter,
                "parameter '{}' contains a control character",
                printable(name)
            ),
        }
    }
}

/// Shortens an attacker-chosen name before it is echoed in an error.
fn printable(name: &str) -> String {
    name.chars().take(40).filter(|c| !c.is_control()).collect()
}

/// What a set of parameters may hold beyond one value per name on one
/// line.
#[derive(Debug, Clone, Copy)]
pub struct FormRules<'a> {
    /// Names that may appear more than once (checkboxes; `resource`).
    pub repeatable: &'a [&'a str],
    /// Whether values may span lines (text areas): CR, LF and tab are
    /// then allowed, other control characters still not.
    pub multiline: bool,
}

impl FormRules<'static> {
    /// OAuth and OpenID Connect requests: only `resource` (RFC 8707 §2)
    /// and token exchange's `audience` (RFC 8693 §2.1) name one target
    /// per occurrence; values are single lines.
    pub const OAUTH: FormRules<'static> = FormRules {
        repeatable: &["resource", "audience"],
        multiline: false,
    };
}

/// Form-encoded parameters with the OAuth rules applied: no parameter twice
/// (except those meant to repeat), bounded sizes, and an empty value
/// treated as absent (RFC 6749 §3.1).
#[derive(Debug, Default, Clone)]
pub struct Params {
    values: HashMap<String, String>,
    repeated: HashMap<String, Vec<String>>,
}

impl Params {
    /// Parses `application/x-www-form-urlencoded` text (a query string or body).
    pub fn parse(encoded: &[u8]) -> Result<Params, ParamsError> {
        Params::parse_with(encoded, FormRules::OAUTH)
    }

    /// Parses form-encoded text under `rules`.
    pub fn parse_with(encoded: &[u8], rules: FormRules<'_>) -> Result<Params, ParamsError> {
        let mut values = HashMap::new();
        let mut repeated: HashMap<String, Vec<String>> = HashMap::new();
        for (count, (name, value)) in url::form_urlencoded::parse(encoded).enumerate() {
            if count >= MAX_PARAMETERS {
                return Err(ParamsError::TooMany);
            }
            if value.len() > MAX_PARAMETER_LENGTH || name.len() > MAX_PARAMETER_LENGTH {
                return Err(ParamsError::TooLong(name.into_owned()));
            }
            let value_refused = if rules.multiline {
                value
                    .chars()
                    .any(|c| c.is_control() && !matches!(c, '\r' | '\n' | '\t'))
            } else {
                has_control_character(&value)
            };
            if has_control_character(&name) || value_refused {
                return Err(ParamsError::ControlCharacter(name.into_owned()));
            }
            if value.is_empty() {
                continue;
            }
            let name = name.into_owned();
            if rules.repeatable.contains(&name.as_str()) {
                let all = repeated.entry(name).or_default();
                if !all.iter().any(|seen| *seen == value) {
                    all.push(value.into_owned());
                }
                continue;
            }
            if values.contains_key(&name) {
                return Err(ParamsError::Duplicate(name));
            }
            values.insert(name, value.into_owned());
        }
        Ok(Params { values, repeated })
    }

    /// A parameter's value, if present and non-empty (never one of the
    /// parameters that may repeat: see [`Params::all`]).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// These parameters and `name` = `value` (which must not be present).
    pub fn with(mut self, name: &str, value: &str) -> Params {
        self.values.insert(name.to_owned(), value.to_owned());
        self
    }

    /// These parameters without `name`.
    pub fn without(mut self, name: &str) -> Params {
        self.values.remove(name);
        self
    }

    /// Every distinct value of a parameter that may repeat (`resource`).
    pub fn all(&self, name: &str) -> &[String] {
        self.repeated.get(name).map_or(&[], Vec::as_slice)
    }
}

/// Whether `text` holds a control character (C0, DEL or C1).
pub fn has_control_character(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// Whether the request body is declared as a form.
pub fn is_form(request: &HttpRequest) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| {
            media_type
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_action_allows_only_the_client_a_form_ends_at() {
        assert!(CONTENT_SECURITY_POLICY.contains("form-action 'self';"));
        let web = policy_with_form_redirect_to("https://app.example:8443/cb?x=1");
        assert!(
            web.contains("form-action 'self' https://app.example:8443;"),
            "{web}"
        );
        let default_port = policy_with_form_redirect_to("https://app.example/cb");
        assert!(default_port.contains("form-action 'self' https://app.example;"));
        let native = policy_with_form_redirect_to("com.example.app:/cb");
        assert!(
            native.contains("form-action 'self' com.example.app:;"),
            "{native}"
        );
        let loopback = policy_with_form_redirect_to("http://127.0.0.1:9/cb");
        assert!(loopback.contains("form-action 'self' http://127.0.0.1:9;"));
        assert_eq!(
            policy_with_form_redirect_to("not a uri"),
            CONTENT_SECURITY_POLICY
        );
    }

    #[test]
    fn the_policy_for_a_client_is_set_on_the_response() {
        let mut response = HttpResponse::Ok().finish();
        allow_form_redirect_to(&mut response, "https://app.example/cb");
        assert_eq!(
            response
                .headers()
                .get(header::CONTENT_SECURITY_POLICY)
                .unwrap(),
            policy_with_form_redirect_to("https://app.example/cb").as_str()
        );
    }

    #[test]
    fn see_other_is_a_303_that_is_not_cached() {
        let response = see_other("https://app.example/cb?code=x");
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            response.headers().get(header::LOCATION).unwrap(),
            "https://app.example/cb?code=x"
        );
        assert_eq!(
            response.headers().get(header::CACHE_CONTROL).unwrap(),
            "no-store"
        );
    }

    #[test]
    fn errors_echo_a_short_printable_name() {
        let long = "n".repeat(100);
        assert_eq!(printable(&long), "n".repeat(40));
        assert_eq!(printable("a\u{0}b\nc"), "abc");
        assert_eq!(
            ParamsError::Duplicate("scope".into()).to_string(),
            "parameter 'scope' appears more than once"
        );
        assert_eq!(
            ParamsError::TooLong(long.clone()).to_string(),
            format!(
                "parameter '{}' is longer than {MAX_PARAMETER_LENGTH} characters",
                "n".repeat(40)
            )
        );
        assert_eq!(
            ParamsError::TooMany.to_string(),
            format!("more than {MAX_PARAMETERS} parameters")
        );
        assert_eq!(
            ParamsError::ControlCharacter("a\u{0}".into()).to_string(),
            "parameter 'a' contains a control character"
        );
    }

    #[test]
    fn only_form_bodies_are_forms() {
        let with = |content_type: &str| {
            is_form(
                &actix_web::test::TestRequest::default()
                    .insert_header((header::CONTENT_TYPE, content_type))
                    .to_http_request(),
            )
        };
        assert!(with("application/x-www-form-urlencoded"));
        assert!(with("Application/X-WWW-Form-Urlencoded ; charset=UTF-8"));
        assert!(!with("application/json"));
        assert!(!with("multipart/form-data; boundary=x"));
        assert!(!is_form(
            &actix_web::test::TestRequest::default().to_http_request()
        ));
    }

    #[test]
    fn resource_may_repeat_and_nothing_else() {
        let params = Params::parse(
            b"resource=https%3A%2F%2Fa.example&resource=https%3A%2F%2Fb.example&resource=https%3A%2F%2Fa.example&resource=",
        )
        .unwrap();
        assert_eq!(
            params.all("resource"),
            ["https://a.example", "https://b.example"]
        );
        assert_eq!(params.get("resource"), None);
        assert!(params.all("scope").is_empty());
        assert!(Params::parse(b"scope=a&scope=b").is_err());
    }

    #[test]
    fn limits_are_inclusive() {
        let longest_value = format!("a={}", "x".repeat(MAX_PARAMETER_LENGTH));
        assert!(Params::parse(longest_value.as_bytes()).is_ok());
        let longest_name = format!("{}=1", "n".repeat(MAX_PARAMETER_LENGTH));
        assert!(Params::parse(longest_name.as_bytes()).is_ok());
        let too_long_name = format!("{}=1", "n".repeat(MAX_PARAMETER_LENGTH + 1));
        assert!(matches!(
            Params::parse(too_long_name.as_bytes()),
            Err(ParamsError::TooLong(_))
        ));
        let most: Vec<String> = (0..MAX_PARAMETERS).map(|i| format!("p{i}=1")).collect();
        assert!(Params::parse(most.join("&").as_bytes()).is_ok());
    }

    #[test]
    fn parses_and_treats_empty_values_as_absent() {
        let params = Params::parse(b"a=1&b=&c=x%20y").unwrap();
        assert_eq!(params.get("a"), Some("1"));
        assert_eq!(params.get("b"), None);
        assert_eq!(params.get("c"), Some("x y"));
    }

    #[test]
    fn rejects_duplicates_oversize_and_floods() {
        assert_eq!(
            Params::parse(b"a=1&a=2").unwrap_err(),
            ParamsError::Duplicate("a".into())
        );
        let long = format!("a={}", "x".repeat(MAX_PARAMETER_LENGTH + 1));
        assert_eq!(
            Params::parse(long.as_bytes()).unwrap_err(),
            ParamsError::TooLong("a".into())
        );
        for hostile in ["a=%00", "a=x%0Dy", "a=%0A", "a%00=1", "a=%C2%85", "a=%7F"] {
            assert!(
                matches!(
                    Params::parse(hostile.as_bytes()),
                    Err(ParamsError::ControlCharacter(_))
                ),
                "{hostile}"
            );
        }
        let flood: Vec<String> = (0..=MAX_PARAMETERS).map(|i| format!("p{i}=1")).collect();
        assert_eq!(
            Params::parse(flood.join("&").as_bytes()).unwrap_err(),
            ParamsError::TooMany
        );
    }
}
