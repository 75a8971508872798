//! A node killed with SIGKILL under load loses nothing it acknowledged
//! and logs no one out: after a restart every refresh chain continues
//! with the last token its client received, and users, clients, keys and
//! sessions are all still there.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::on_both_backends;
use crate::support::database::{Backend, TempDatabase};
use crate::support::faulty_link::FaultyLink;
use crate::support::oidc::PKCE_PARAMS;
use crate::support::process::{user_and_client, Node};
use crate::support::Browser;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
const CHAINS: usize = 8;

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Refreshes with `token`; the new refresh token, or `None` if the
/// request failed in any way (the node may be dying).
async fn refresh(
    issuer: &str,
    client: &(String, String),
    token: &str,
) -> Result<String, (Option<StatusCode>, String)> {
    let response = http()
        .post(format!("{issuer}/token"))
        .basic_auth(&client.0, Some(&client.1))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await
        .map_err(|error| (None, error.to_string()))?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .map_err(|error| (Some(status), error.to_string()))?;
    match body["refresh_token"].as_str() {
        Some(next) if status == StatusCode::OK => Ok(next.to_owned()),
        _ => Err((Some(status), body.to_string())),
    }
}

on_both_backends!(
    a_node_killed_under_load_loses_nothing_and_logs_no_one_out,
    |backend: Backend| async move {
        let dir = tempfile::tempdir().unwrap();
        let Some(database) = TempDatabase::create(backend, dir.path()) else {
            return;
        };
        ferrid_tokens::MasterKey::generate(&dir.path().join("master.key")).unwrap();
        let balancer = FaultyLink::to(std::net::SocketAddr::from(([127, 0, 0, 1], 9)));
        let issuer = format!("http://{}", balancer.address);
        let env = [("FERRID_ISSUER", issuer.as_str())];
        let mut first = Node::start(dir.path(), &database.url, &env);
        first.wait_ready().await;
        balancer.route_to(first.address());

        let client = user_and_client(
            dir.path(),
            &database.url,
            &issuer,
            "alice",
            REDIRECT_URI,
            &[
                "--grant",
                "authorization_code",
                "--grant",
                "refresh_token",
                "--grant",
                "client_credentials",
                "--scope",
                "openid",
                "--refresh-online",
            ],
        );
        let jwks_before = http()
            .get(format!("{issuer}/jwks"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();

        // Eight chains, each from its own sign-in.
        let browser = Browser::new();
        let mut chains = Vec::new();
        for index in 0..CHAINS {
            let start = format!(
                "{issuer}/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT_URI}&scope=openid&state=s{index}&nonce=n{index}{PKCE_PARAMS}",
                client.0
            );
            let code = browser
                .sign_in(&issuer, &start, "alice")
                .await
                .param("code")
                .unwrap();
            let tokens: Value = http()
                .post(format!("{issuer}/token"))
                .basic_auth(&client.0, Some(&client.1))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT_URI),
                    ("code_verifier", VERIFIER),
                ])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            chains.push(Arc::new(Mutex::new(
                tokens["refresh_token"].as_str().unwrap().to_owned(),
            )));
        }

        // Load: every chain refreshes as fast as it can, with a client
        // credentials stream beside; the node dies in the middle.
        let mut load = Vec::new();
        for chain in &chains {
            let (chain, issuer, client) = (chain.clone(), issuer.clone(), client.clone());
            load.push(tokio::spawn(async move {
                loop {
                    let current = chain.lock().await.clone();
                    match refresh(&issuer, &client, &current).await {
                        Ok(next) => *chain.lock().await = next,
                        Err(_) => break,
                    }
                }
            }));
        }
        {
            let (issuer, client) = (issuer.clone(), client.clone());
            load.push(tokio::spawn(async move {
                while let Ok(response) = http()
                    .post(format!("{issuer}/token"))
                    .basic_auth(&client.0, Some(&client.1))
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await
                {
                    if !response.status().is_success() {
                        break;
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
        first.kill();
        for task in load {
            task.await.unwrap();
        }

        // A new node on the same data.
        let second = Node::start(dir.path(), &database.url, &env);
        second.wait_ready().await;
        balancer.route_to(second.address());
        for (index, chain) in chains.iter().enumerate() {
            let last_received = chain.lock().await.clone();
            let next = refresh(&issuer, &client, &last_received).await;
            assert!(
                next.is_ok(),
                "chain {index} broken after the crash: {next:?}"
            );
            // And it goes on.
            assert!(refresh(&issuer, &client, &next.unwrap()).await.is_ok());
        }
        let jwks_after = http()
            .get(format!("{issuer}/jwks"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(jwks_after, jwks_before, "the same keys");
        // The browser's session survived: a silent sign-in works.
        let silent = browser
            .get(&format!(
                "{issuer}/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT_URI}&scope=openid&prompt=none&state=x&nonce=y{PKCE_PARAMS}",
                client.0
            ))
            .await;
        let location = silent.headers()["location"].to_str().unwrap();
        assert!(location.contains("code="), "{location}");
    }
);
