//! Serving under a path prefix (an issuer such as
//! `https://example.com/id`, beside other applications on one host).
//!
//! Routes are mounted under the prefix, and everything ferrid emits with
//! a root-relative path gets it: `Location` headers, the links, forms
//! and assets of its pages, and cookie paths. The prefix of the request
//! being served is held for the duration of the request (set by the
//! outermost middleware), so the page and redirect helpers, which many
//! handlers and error types call without the state, apply it in one
//! place.

use std::future::Future;

tokio::task_local! {
    static BASE_PATH: String;
}

/// The prefix of the listener `ServiceRequest`s arrive on: the issuer's
/// path on the main listener, nothing on the admin listener.
#[derive(Debug, Clone, Default)]
pub struct BasePath(pub String);

/// Runs `serve` (one request) with `base` as its prefix.
pub async fn scoped<F: Future>(base: String, serve: F) -> F::Output {
    BASE_PATH.scope(base, serve).await
}

/// The prefix of the request being served; empty outside a request.
pub fn current() -> String {
    BASE_PATH.try_with(Clone::clone).unwrap_or_default()
}

/// `location` with the prefix when it is root-relative (`/login`), as is
/// (absolute URLs, protocol-relative never occur).
pub fn rebase_location(location: &str) -> String {
    let base = current();
    if !base.is_empty() && location.starts_with('/') && !location.starts_with("//") {
        format!("{base}{location}")
    } else {
        location.to_owned()
    }
}

/// `html` with its root-relative `href`, `src`, `action` and
/// `data-options` (where the passkey script fetches) attributes under the
/// prefix. ferrid's templates write every internal link that
/// way; attribute values (`value="/…"`) are data and left alone.
pub fn rebase_html(html: String) -> String {
    let base = current();
    if base.is_empty() {
        return html;
    }
    let mut html = html;
    for attribute in [
        " href=\"/",
        " src=\"/",
        " action=\"/",
        " formaction=\"/",
        " data-options=\"/",
    ] {
        let prefixed = format!("{}{base}/", &attribute[..attribute.len() - 1]);
        html = html.replace(attribute, &prefixed);
    }
    html
}

/// A root-relative path the browser sent (`/id/admin/users`), without
/// the prefix (`/admin/users`).
pub fn strip(path: &str) -> &str {
    // Computed per call: the prefix is per request.
    let base = current();
    if base.is_empty() {
        return path;
    }
    match path.strip_prefix(base.as_str()) {
        Some(rest) if rest.starts_with('/') => &path[base.len()..],
        _ => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn paths_get_the_prefix_of_the_request() {
        assert_eq!(rebase_location("/login"), "/login");
        scoped("/id".into(), async {
            assert_eq!(rebase_location("/login?x=1"), "/id/login?x=1");
            assert_eq!(
                rebase_location("https://app.example/cb"),
                "https://app.example/cb"
            );
            assert_eq!(
                rebase_html(r#"<a href="/account">a</a><form action="/login"><input value="/admin"></form><img src="/branding/logo">"#.into()),
                r#"<a href="/id/account">a</a><form action="/id/login"><input value="/admin"></form><img src="/id/branding/logo">"#
            );
            assert_eq!(strip("/id/admin/users?q=a"), "/admin/users?q=a");
            assert_eq!(strip("/identity/admin"), "/identity/admin");
        })
        .await;
    }
}
