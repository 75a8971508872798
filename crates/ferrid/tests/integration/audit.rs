//! The audit log: every security-relevant action leaves an event (in the
//! table and readable with `ferrid audit tail`), and no event holds a
//! password, secret, code or token.

use ferrid_server::Clock;
use openidconnect::OAuth2TokenResponse;
use reqwest::StatusCode;

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::browser::hidden_field;
use crate::support::mfa::{self, totp_code};
use crate::support::oidc::sign_in_with_scopes;
use crate::support::server::PASSWORD;
use crate::support::{Backend, Browser, TestServer};
use crate::token_lifecycle::{call, refresh_client};

/// `ferrid audit tail --json` with `args`.
fn tail(server: &TestServer, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["audit", "tail", "--json"];
    all.extend_from_slice(args);
    let output = server.cli(&all).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

on_both_backends!(
    every_action_is_audited_without_secrets,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let user = server.create_user("ada");
        let client = refresh_client(&server, |_| {});
        let client_secret = client.secret.clone().unwrap();
        let mut secrets: Vec<String> = vec![PASSWORD.into(), client_secret.clone()];

        // A failed and a successful login, consent, tokens.
        let browser = Browser::new();
        let rp = crate::support::oidc::relying_party(&server, &client).await;
        let started = browser
            .get(
                crate::support::oidc::authorization_url(&rp, &[])
                    .url
                    .as_str(),
            )
            .await;
        let login = browser
            .page(&crate::support::browser::location(&started))
            .await;
        let failed = browser
            .submit_login(&server.issuer, &login, "ada", "wrong password")
            .await;
        assert_eq!(failed.status(), StatusCode::OK);
        let (tokens, _, _) =
            sign_in_with_scopes(&server, &client, &browser, "ada", &["offline_access"]).await;
        let access = tokens.access_token().secret().clone();
        let refresh = tokens.refresh_token().unwrap().secret().clone();
        secrets.extend([access.clone(), refresh.clone()]);

        // MFA enrolment, a TOTP login and a recovery code.
        let enrolled = mfa::enrol(&server, &browser).await;
        secrets.push(enrolled.secret.clone());
        secrets.extend(enrolled.recovery_codes.iter().cloned());
        server.clock.advance(30);
        let code = totp_code(&enrolled.secret, server.clock.now());
        secrets.push(code.clone());
        let start = crate::support::oidc::authorization_url(&rp, &[]);
        Browser::new()
            .sign_in_with_code(&server.issuer, start.url.as_str(), "ada", &code)
            .await;
        let start = crate::support::oidc::authorization_url(&rp, &[]);
        Browser::new()
            .sign_in_with_code(
                &server.issuer,
                start.url.as_str(),
                "ada",
                &enrolled.recovery_codes[3],
            )
            .await;

        // Token revocation, a password change, key rotation and CLI changes.
        let (status, _) = call(&server, "/revoke", &client, &[("token", &refresh)]).await;
        assert_eq!(status, StatusCode::OK);
        let page = browser.page(&server.url("/account/security")).await;
        let changed = browser
            .post_form(
                &server.url("/account/password"),
                &[
                    ("csrf_token", &hidden_field(&page, "csrf_token")),
                    ("current_password", PASSWORD),
                    ("new_password", "an entirely new passphrase"),
                    ("confirm_password", "an entirely new passphrase"),
                ],
            )
            .await;
        assert_eq!(changed.status(), StatusCode::OK);
        secrets.push("an entirely new passphrase".into());
        for args in [
            &["key", "rotate", "--alg", "ES256", "--now"][..],
            &["client", "update", &client.id, "--require-mfa", "true"],
            &["user", "unlock", "ada"],
            &["user", "reset-mfa", "ada"],
            &["user", "disable", "ada"],
        ] {
            let output = server.cli(args).output().unwrap();
            assert!(
                output.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }

        let events = tail(&server, &["--limit", "500"]);
        let names: Vec<&str> = events
            .iter()
            .map(|event| event["event"].as_str().unwrap())
            .collect();
        for expected in [
            "login",
            "consent",
            "mfa.enrol",
            "mfa.recovery_code",
            "token.revoke",
            "password.change",
            "key.create",
            "key.rotate",
            "client.update",
            "account.unlock",
            "mfa.reset",
            "user.disable",
        ] {
            assert!(names.contains(&expected), "no {expected} in {names:?}");
        }
        let outcomes = |name: &str| -> Vec<String> {
            events
                .iter()
                .filter(|event| event["event"] == name)
                .map(|event| event["outcome"].as_str().unwrap().to_owned())
                .collect()
        };
        assert!(outcomes("login").contains(&"failure".to_owned()));
        assert!(outcomes("login").contains(&"success".to_owned()));
        let login = events
            .iter()
            .find(|event| event["event"] == "login" && event["outcome"] == "success")
            .unwrap();
        assert_eq!(login["subject"], user.id.as_str());
        assert_eq!(login["client_id"], client.id.as_str());
        assert_eq!(login["ip"], "127.0.0.1");
        assert!(login["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()));
        assert!(login["time"].as_str().unwrap().ends_with('Z'));

        // No secret anywhere in the log, in any form shown.
        let dump = serde_json::to_string(&events).unwrap();
        for secret in &secrets {
            assert!(
                !dump.contains(secret.as_str()),
                "the audit log holds a secret"
            );
        }
        let human = server
            .cli(&["audit", "tail", "--limit", "500"])
            .output()
            .unwrap();
        let human = String::from_utf8_lossy(&human.stdout).to_string();
        assert!(human.contains("mfa.enrol"));
        for secret in &secrets {
            assert!(!human.contains(secret.as_str()));
        }

        // Filters: by user (name or id) and by time.
        let mine = tail(&server, &["--user", "ada", "--limit", "500"]);
        assert!(!mine.is_empty());
        assert!(mine.iter().all(
            |event| event["subject"] == user.id.as_str() || event["actor"] == user.id.as_str()
        ));
        assert!(mine.iter().all(|event| event["event"] != "key.rotate"));
        let future = (server.clock.now() + 3600).to_string();
        assert!(tail(&server, &["--since", &future]).is_empty());
        assert!(!tail(&server, &["--since", "1h"]).is_empty());
        let bad = server
            .cli(&["audit", "tail", "--since", "yesterday"])
            .output()
            .unwrap();
        assert!(!bad.status.success());
        assert!(String::from_utf8_lossy(&bad.stderr).contains("--since"));
        for limit in ["0", "10001"] {
            let refused = server
                .cli(&["audit", "tail", "--limit", limit])
                .output()
                .unwrap();
            assert!(!refused.status.success());
            let said = String::from_utf8_lossy(&refused.stderr);
            assert!(
                said.contains("--limit: the limit must be between 1 and 10000"),
                "{said}"
            );
        }
    }
);
