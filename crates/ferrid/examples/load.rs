//! Load generator for a running ferrid: drives it over HTTP with a fixed
//! number of concurrent workers for a fixed time, and reports requests per
//! second and latency percentiles. Used by `scripts/load-test`.
//!
//! ```text
//! cargo run --release -p ferrid --example load -- MODE ISSUER SECONDS WORKERS [ARGS…]
//!   cc          CLIENT_ID SECRET                 client-credentials grants
//!   introspect  CLIENT_ID SECRET                 introspection of one access token
//!   refresh     CLIENT_ID SECRET USER PASSWORD   refresh grants (each worker its own chain)
//!   login       CLIENT_ID SECRET USER PASSWORD   full code-flow logins through the HTML form
//! ```
//! The refresh and login clients need the redirect URI http://127.0.0.1:9/cb.

// Tests, benchmarks and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use reqwest::redirect::Policy;
use serde_json::Value;

const REDIRECT: &str = "http://127.0.0.1:9/cb";
/// The PKCE verifier every login sends, and its S256 challenge (RFC 7636
/// appendix B).
const PKCE_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const PKCE_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Clone)]
struct Target {
    issuer: String,
    client_id: String,
    secret: String,
    user: String,
    password: String,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, issuer, seconds, workers, client_id, secret, rest @ ..] = args.as_slice() else {
        return Err(
            "usage: load MODE ISSUER SECONDS WORKERS CLIENT_ID SECRET [USER PASSWORD]".into(),
        );
    };
    let target = Target {
        issuer: issuer.clone(),
        client_id: client_id.clone(),
        secret: secret.clone(),
        user: rest.first().cloned().unwrap_or_default(),
        password: rest.get(1).cloned().unwrap_or_default(),
    };
    let duration = Duration::from_secs(seconds.parse()?);
    let workers: usize = workers.parse()?;
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (mode, target) = (mode.clone(), target.clone());
        tasks.push(tokio::spawn(async move {
            worker(&mode, &target, deadline).await
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0usize;
    for task in tasks {
        let (mut samples, failed) = task.await??;
        latencies.append(&mut samples);
        errors += failed;
    }
    latencies.sort();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{mode}: {} requests in {:?} = {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, errors {errors}",
        latencies.len(),
        duration,
        latencies.len() as f64 / duration.as_secs_f64(),
        percentile(0.50),
        percentile(0.99),
    );
    Ok(())
}

fn client(cookies: bool) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .cookie_store(cookies)
        .pool_max_idle_per_host(4)
        .build()
        .expect("client")
}

/// One worker: repeats its mode's request until the deadline.
async fn worker(
    mode: &str,
    target: &Target,
    deadline: Instant,
) -> Result<(Vec<Duration>, usize), Error> {
    let http = client(false);
    let mut samples = Vec::new();
    let mut errors = 0;
    // State some modes carry from one request to the next.
    let mut refresh_token = String::new();
    let mut access_token = String::new();
    match mode {
        "refresh" => {
            refresh_token = login(target, &["openid", "offline_access"]).await?["refresh_token"]
                .as_str()
                .ok_or("no refresh token")?
                .to_owned()
        }
        "introspect" => access_token = client_credentials(&http, target).await?,
        _ => {}
    }
    while Instant::now() < deadline {
        let started = Instant::now();
        let outcome: Result<(), Error> = match mode {
            "cc" => client_credentials(&http, target).await.map(drop),
            "introspect" => introspect(&http, target, &access_token).await,
            "refresh" => match refresh(&http, target, &refresh_token).await {
                Ok(next) => {
                    refresh_token = next;
                    Ok(())
                }
                Err(error) => Err(error),
            },
            "login" => login(target, &["openid"]).await.map(drop),
            other => return Err(format!("unknown mode {other}").into()),
        };
        match outcome {
            Ok(()) => samples.push(started.elapsed()),
            Err(_) => errors += 1,
        }
    }
    Ok((samples, errors))
}

async fn token(
    http: &reqwest::Client,
    target: &Target,
    form: &[(&str, &str)],
) -> Result<Value, Error> {
    let response = http
        .post(format!("{}/token", target.issuer))
        .basic_auth(&target.client_id, Some(&target.secret))
        .form(form)
        .send()
        .await?;
    if !response.status().is_success() {
        return Err(format!("token endpoint: {}", response.status()).into());
    }
    Ok(response.json().await?)
}

async fn client_credentials(http: &reqwest::Client, target: &Target) -> Result<String, Error> {
    let body = token(http, target, &[("grant_type", "client_credentials")]).await?;
    Ok(body["access_token"]
        .as_str()
        .ok_or("no access token")?
        .to_owned())
}

async fn refresh(
    http: &reqwest::Client,
    target: &Target,
    refresh_token: &str,
) -> Result<String, Error> {
    let body = token(
        http,
        target,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await?;
    Ok(body["refresh_token"]
        .as_str()
        .ok_or("no refresh token")?
        .to_owned())
}

async fn introspect(
    http: &reqwest::Client,
    target: &Target,
    access_token: &str,
) -> Result<(), Error> {
    let response = http
        .post(format!("{}/introspect", target.issuer))
        .basic_auth(&target.client_id, Some(&target.secret))
        .form(&[("token", access_token)])
        .send()
        .await?;
    let body: Value = response.json().await?;
    if body["active"] != true {
        return Err("token inactive".into());
    }
    Ok(())
}

fn field(html: &str, name: &str) -> Result<String, Error> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).ok_or("form field missing")? + marker.len();
    let end = html[start..].find('"').ok_or("unterminated field")? + start;
    Ok(html[start..end].to_owned())
}

fn location(response: &reqwest::Response, issuer: &str) -> Result<String, Error> {
    let location = response
        .headers()
        .get("location")
        .ok_or("no redirect")?
        .to_str()?
        .to_owned();
    Ok(if location.starts_with('/') {
        format!("{issuer}{location}")
    } else {
        location
    })
}

/// A full login through the HTML forms (consent when asked), then the
/// code exchange; returns the token response.
async fn login(target: &Target, scopes: &[&str]) -> Result<Value, Error> {
    let browser = client(true);
    let issuer = &target.issuer;
    // PKCE as clients must send it (RFC 7636's example pair).
    let authorize = format!(
        "{issuer}/authorize?client_id={}&redirect_uri={REDIRECT}&response_type=code&scope={}&state=s&code_challenge={PKCE_CHALLENGE}&code_challenge_method=S256",
        target.client_id,
        scopes.join("%20")
    );
    let mut response = browser.get(&authorize).send().await?;
    for _ in 0..6 {
        if response.status().is_redirection() {
            let next = location(&response, issuer)?;
            if let Some(query) = next.strip_prefix(&format!("{REDIRECT}?")) {
                let code = url::form_urlencoded::parse(query.as_bytes())
                    .find(|(key, _)| key == "code")
                    .map(|(_, value)| value.into_owned())
                    .ok_or("no code")?;
                let http = client(false);
                return token(
                    &http,
                    target,
                    &[
                        ("grant_type", "authorization_code"),
                        ("code", &code),
                        ("redirect_uri", REDIRECT),
                        ("code_verifier", PKCE_VERIFIER),
                    ],
                )
                .await;
            }
            response = browser.get(&next).send().await?;
            continue;
        }
        let html = response.text().await?;
        let form: Vec<(&str, String)> = if html.contains("action=\"/login\"") {
            vec![
                ("request_id", field(&html, "request_id")?),
                ("csrf_token", field(&html, "csrf_token")?),
                ("username", target.user.clone()),
                ("password", target.password.clone()),
            ]
        } else if html.contains("action=\"/consent\"") {
            vec![
                ("request_id", field(&html, "request_id")?),
                ("csrf_token", field(&html, "csrf_token")?),
                ("decision", "allow".to_owned()),
            ]
        } else {
            return Err("unexpected page".into());
        };
        let action = if form.len() == 4 { "login" } else { "consent" };
        response = browser
            .post(format!("{issuer}/{action}"))
            .form(&form)
            .send()
            .await?;
    }
    Err("too many steps".into())
}
