//! Brute-force protection: per-account waits and locks (the same for
//! unknown names), equal Argon2 work for unknown users, per-IP rate
//! limits with 429 and Retry-After, trusted proxies, and the bounded
//! password-hashing queue.

use ferrid_server::lockout::{login_subject, mfa_subject};
use ferrid_server::Clock;
use reqwest::StatusCode;

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::browser::{hidden_field, location};
use crate::support::server::{TestClient, PASSWORD};
use crate::support::{Backend, Browser, TestServer};

/// The login page of a new authorization request.
async fn login_page(server: &TestServer, client: &TestClient, browser: &Browser) -> String {
    let url = format!(
        "{}?client_id={}&redirect_uri={}&response_type=code&scope=openid&state=s{}",
        server.url("/authorize"),
        client.id,
        client.redirect_uri,
        crate::support::oidc::PKCE_PARAMS
    );
    let response = browser.get(&url).await;
    browser.page(&location(&response)).await
}

/// Submits `username`/`password` on `html`; returns status and page text
/// (or the redirect target).
async fn attempt(
    server: &TestServer,
    browser: &Browser,
    html: &str,
    username: &str,
    password: &str,
) -> (StatusCode, String) {
    let response = browser
        .submit_login(&server.issuer, html, username, password)
        .await;
    let status = response.status();
    if status.is_redirection() {
        return (status, location(&response));
    }
    (status, response.text().await.unwrap())
}

/// The user-facing message of a login page.
fn message(page: &str) -> String {
    let start = page.find("role=\"alert\">").map(|at| at + 13);
    start
        .map(|start| page[start..start + page[start..].find('<').unwrap()].to_owned())
        .unwrap_or_default()
}

on_both_backends!(
    waits_then_a_lock_that_ends_and_looks_the_same_for_unknown_names,
    |backend: Backend| async move {
        let server = server_or_skip!(backend, |config| {
            config.lockout.delay_after = 2;
            config.lockout.lock_after = 4;
            config.lockout.lock_seconds = 600;
            config.rate_limits.failures_per_hour = 0;
        });
        server.create_user("lena");
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let browser = Browser::new();
        let html = login_page(&server, &client, &browser).await;

        let mut transcripts = Vec::new();
        for username in ["lena", "ghost"] {
            let mut seen = Vec::new();
            let mut step = |outcome: (StatusCode, String)| {
                assert_eq!(outcome.0, StatusCode::OK);
                seen.push(message(&outcome.1));
            };
            step(attempt(&server, &browser, &html, username, "wrong one").await);
            // The second failure starts a 1 s wait…
            step(attempt(&server, &browser, &html, username, "wrong two").await);
            // …during which even the right password is not checked.
            step(attempt(&server, &browser, &html, username, PASSWORD).await);
            server.clock.advance(2);
            step(attempt(&server, &browser, &html, username, "wrong three").await);
            server.clock.advance(3);
            // The fourth failure locks.
            step(attempt(&server, &browser, &html, username, "wrong four").await);
            step(attempt(&server, &browser, &html, username, PASSWORD).await);
            transcripts.push(seen);
        }
        let lena = &transcripts[0];
        assert_eq!(lena[0], "Invalid username or password.");
        assert!(
            lena[1].starts_with("Invalid username or password. Too many failed sign-in attempts"),
            "{}",
            lena[1]
        );
        assert!(lena[1].contains("lockout.delay_after"));
        assert!(
            lena[2].starts_with("Too many failed sign-in attempts"),
            "{}",
            lena[2]
        );
        assert!(lena[4].contains("temporarily locked"), "{}", lena[4]);
        assert!(
            lena[5].contains("temporarily locked") && lena[5].contains("10 minutes"),
            "{}",
            lena[5]
        );
        // An unknown name reads exactly the same at every step.
        assert_eq!(transcripts[0], transcripts[1]);

        // Refusals did not count: 4 failures, not 6.
        let user = server.store.find_user_by_login("lena").unwrap().unwrap();
        let throttle = server
            .store
            .login_throttle(&login_subject("lena"))
            .unwrap()
            .unwrap();
        assert_eq!(throttle.failures, 4);

        // Counts are per login name: the e-mail address has its own, as
        // every other name does, so a lock reveals nothing about accounts.
        assert!(server
            .store
            .login_throttle(&login_subject("lena@example.com"))
            .unwrap()
            .is_none());

        // The lock ends; a complete login clears the count.
        server.clock.advance(601);
        let (status, target) = attempt(&server, &browser, &html, "lena", PASSWORD).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{target}");
        assert!(server
            .store
            .login_throttle(&login_subject("lena"))
            .unwrap()
            .is_none());
        let events = server.audit_log();
        assert!(events.iter().any(|event| event.event == "account.lock"
            && event.subject.as_deref() == Some(user.id.as_str())));
        assert!(events
            .iter()
            .any(|event| event.event == "login" && event.outcome == "refused"));
        assert!(events.iter().any(|event| event.event == "login"
            && event.outcome == "success"
            && event.subject.as_deref() == Some(user.id.as_str())));
    }
);

on_both_backends!(
    a_correct_password_without_its_second_factor_does_not_count,
    |backend: Backend| async move {
        let server = server_or_skip!(backend, |config| {
            config.lockout.delay_after = 2;
        });
        server.create_user("mona");
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let browser = Browser::new();
        let rp = crate::support::oidc::relying_party(&server, &client).await;
        browser
            .sign_in(
                &server.issuer,
                crate::support::oidc::authorization_url(&rp, &[])
                    .url
                    .as_str(),
                "mona",
            )
            .await;
        crate::support::mfa::enrol(&server, &browser).await;
        let user = server.store.find_user_by_login("mona").unwrap().unwrap();
        for _ in 0..3 {
            let fresh = Browser::new();
            let html = login_page(&server, &client, &fresh).await;
            let (status, target) = attempt(&server, &fresh, &html, "mona", PASSWORD).await;
            assert_eq!(status, StatusCode::SEE_OTHER);
            assert!(target.contains("/login/mfa"));
        }
        assert!(server
            .store
            .login_throttle(&login_subject("mona"))
            .unwrap()
            .is_none());
        // Wrong codes do count.
        let fresh = Browser::new();
        let html = login_page(&server, &client, &fresh).await;
        let (_, target) = attempt(&server, &fresh, &html, "mona", PASSWORD).await;
        let mut page = fresh.page(&target).await;
        for _ in 0..2 {
            page = fresh
                .submit_code(&server.issuer, &page, "000000")
                .await
                .text()
                .await
                .unwrap();
        }
        assert!(
            message(&page).contains("Too many failed sign-in attempts"),
            "{page}"
        );
        let throttle = server
            .store
            .login_throttle(&mfa_subject(&user.id))
            .unwrap()
            .unwrap();
        assert_eq!(throttle.failures, 2);
    }
);

/// A new sign-in of `username` up to the second-factor page: the browser
/// and the page.
async fn code_page(server: &TestServer, client: &TestClient, username: &str) -> (Browser, String) {
    let browser = Browser::new();
    let html = login_page(server, client, &browser).await;
    let (status, target) = attempt(server, &browser, &html, username, PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(target.contains("/login/mfa"), "{target}");
    let page = browser.page(&target).await;
    (browser, page)
}

/// Submits `code` on the second-factor page: `None` if it was accepted
/// (a redirect onwards), else the alert shown.
async fn submit_code(
    server: &TestServer,
    browser: &Browser,
    page: &str,
    code: &str,
) -> Option<String> {
    let response = browser.submit_code(&server.issuer, page, code).await;
    if response.status() == StatusCode::SEE_OTHER {
        return None;
    }
    assert_eq!(response.status(), StatusCode::OK);
    Some(message(&response.text().await.unwrap()))
}

on_both_backends!(
    a_second_factor_lock_ends_and_can_be_lifted,
    |backend: Backend| async move {
        let server = server_or_skip!(backend, |config| {
            config.lockout.delay_after = 3;
            config.lockout.lock_after = 3;
            config.lockout.lock_seconds = 600;
            config.rate_limits.failures_per_hour = 0;
        });
        server.create_user("lena");
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let browser = Browser::new();
        let rp = crate::support::oidc::relying_party(&server, &client).await;
        let start = crate::support::oidc::authorization_url(&rp, &[]);
        browser
            .sign_in(&server.issuer, start.url.as_str(), "lena")
            .await;
        let secret = crate::support::mfa::enrol(&server, &browser).await.secret;
        let user = server.store.find_user_by_login("lena").unwrap().unwrap();
        let current_code = || crate::support::mfa::totp_code(&secret, server.clock.now());
        let lock_out = || async {
            let (fresh, page) = code_page(&server, &client, "lena").await;
            for _ in 0..3 {
                assert!(submit_code(&server, &fresh, &page, "000000")
                    .await
                    .is_some());
            }
            (fresh, page)
        };

        // Locked: even the right code is refused, unchecked.
        let (fresh, page) = lock_out().await;
        let refused = submit_code(&server, &fresh, &page, &current_code()).await;
        assert!(
            refused
                .as_deref()
                .is_some_and(|text| text.contains("temporarily locked")),
            "{refused:?}"
        );

        // Regression: when the lock ends, the right code works (it used to
        // be counted past the limit, refused and locked again).
        server.clock.advance(601);
        let (fresh, page) = code_page(&server, &client, "lena").await;
        assert_eq!(
            submit_code(&server, &fresh, &page, &current_code()).await,
            None
        );
        assert!(server
            .store
            .login_throttle(&mfa_subject(&user.id))
            .unwrap()
            .is_none());

        // After a lock ends, one more wrong code locks again at once.
        lock_out().await;
        server.clock.advance(601);
        let (fresh, page) = code_page(&server, &client, "lena").await;
        let relocked = submit_code(&server, &fresh, &page, "000000").await;
        assert!(
            relocked
                .as_deref()
                .is_some_and(|text| text.contains("temporarily locked")),
            "{relocked:?}"
        );

        // A burst when a lock ends gets one check, not one per request.
        server.clock.advance(601);
        let mut pages = Vec::new();
        for _ in 0..6 {
            pages.push(code_page(&server, &client, "lena").await);
        }
        let before = server
            .store
            .login_throttle(&mfa_subject(&user.id))
            .unwrap()
            .unwrap()
            .failures;
        let burst: Vec<_> = pages
            .into_iter()
            .map(|(fresh, page)| {
                let issuer = server.issuer.clone();
                tokio::spawn(
                    async move { fresh.submit_code(&issuer, &page, "000000").await.status() },
                )
            })
            .collect();
        for attempt in burst {
            assert_eq!(attempt.await.unwrap(), StatusCode::OK);
        }
        let after = server
            .store
            .login_throttle(&mfa_subject(&user.id))
            .unwrap()
            .unwrap()
            .failures;
        assert_eq!(after, before + 1, "exactly one code of the burst was tried");

        // An administrator lifts the lock.
        let output = server.cli(&["user", "unlock", "lena"]).output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        server.clock.advance(30);
        let (fresh, page) = code_page(&server, &client, "lena").await;
        assert_eq!(
            submit_code(&server, &fresh, &page, &current_code()).await,
            None
        );

        // A new device does not inherit the old one's failures.
        lock_out().await;
        let output = server.cli(&["user", "reset-mfa", "lena"]).output().unwrap();
        assert!(output.status.success());
        assert!(server
            .store
            .login_throttle(&mfa_subject(&user.id))
            .unwrap()
            .is_none());
        let unknown = server.cli(&["user", "unlock", "nobody"]).output().unwrap();
        assert!(!unknown.status.success());
    }
);

on_both_backends!(
    unlocking_from_the_cli_lifts_a_password_lock,
    |backend: Backend| async move {
        let server = server_or_skip!(backend, |config| {
            config.lockout.delay_after = 2;
            config.lockout.lock_after = 2;
        });
        server.create_user("ulla");
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let browser = Browser::new();
        let html = login_page(&server, &client, &browser).await;
        for _ in 0..2 {
            attempt(&server, &browser, &html, "ulla", "wrong password").await;
        }
        let html = login_page(&server, &client, &browser).await;
        let (_, page) = attempt(&server, &browser, &html, "ulla", PASSWORD).await;
        assert!(message(&page).contains("temporarily locked"), "{page}");
        let output = server.cli(&["user", "unlock", "ulla"]).output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let html = login_page(&server, &client, &browser).await;
        let (status, _) = attempt(&server, &browser, &html, "ulla", PASSWORD).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let events = server.audit_log();
        assert!(events.iter().any(|event| event.event == "account.unlock"));
    }
);

/// Time of one failed login as `username`, seconds.
async fn failure_time(server: &TestServer, browser: &Browser, html: &str, username: &str) -> f64 {
    let started = std::time::Instant::now();
    let (status, _) = attempt(server, browser, html, username, "not the password").await;
    assert_eq!(status, StatusCode::OK);
    started.elapsed().as_secs_f64()
}

/// Mean of the fastest three quarters: a busy test machine stalls some
/// requests for far longer than the Argon2 work being compared, and those
/// outliers say nothing about the server.
fn trimmed_mean(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    let kept = &samples[..samples.len() * 3 / 4];
    kept.iter().sum::<f64>() / kept.len() as f64
}

on_both_backends!(
    unknown_users_cost_the_same_argon2_work,
    |backend: Backend| async move {
        // Real Argon2 work (8 MiB), so skipping it for unknown users would
        // show: a login without it takes a small fraction of the time.
        let server = server_or_skip!(backend, |config| {
            config.argon2 = ferrid_store::Argon2Params {
                memory_kib: 8 * 1024,
                iterations: 2,
                parallelism: 1,
            };
            config.lockout.delay_after = 1_000;
            config.lockout.lock_after = 1_000;
            config.rate_limits.failures_per_hour = 0;
        });
        server.create_user("kent");
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let browser = Browser::new();
        let html = login_page(&server, &client, &browser).await;
        for _ in 0..3 {
            failure_time(&server, &browser, &html, "kent").await;
        }
        // Alternate single attempts so drift affects both alike.
        let (mut known, mut unknown) = (Vec::new(), Vec::new());
        for _ in 0..30 {
            known.push(failure_time(&server, &browser, &html, "kent").await);
            unknown.push(failure_time(&server, &browser, &html, "nobody-here").await);
        }
        let (known, unknown) = (trimmed_mean(known), trimmed_mean(unknown));
        let ratio = unknown / known;
        assert!(
            (0.6..1.67).contains(&ratio),
            "unknown {unknown:.4}s vs known {known:.4}s (ratio {ratio:.2})"
        );
    }
);

on_both_backends!(
    failures_per_address_are_limited_and_successes_are_not,
    |backend: Backend| async move {
        let server = server_or_skip!(backend, |config| {
            config.rate_limits.failures_per_hour = 3;
            config.lockout.delay_after = 100;
            config.lockout.lock_after = 100;
        });
        server.create_user("rex");
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        // Regression: 30 sign-ins a minute from one office address were
        // refused. Successes never count, however many.
        for _ in 0..12 {
            crate::support::oidc::signed_in(&server, &client, "rex").await;
        }
        let browser = Browser::new();
        let html = login_page(&server, &client, &browser).await;
        for _ in 0..4 {
            let (status, _) = attempt(&server, &browser, &html, "rex", "wrong").await;
            assert_eq!(status, StatusCode::OK);
        }
        // The fourth failure spent the budget: the address now waits,
        // even with the right password.
        let refused = browser
            .submit_login(&server.issuer, &html, "rex", PASSWORD)
            .await;
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = refused.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=1200).contains(&retry), "{retry}");
        let text = refused.text().await.unwrap();
        assert!(text.contains("rate_limits.failures_per_hour"), "{text}");
        // The refusal is not a credential failure.
        let throttle = server
            .store
            .login_throttle(&login_subject("rex"))
            .unwrap()
            .unwrap();
        assert_eq!(throttle.failures, 4);
        // The wait holds at every endpoint, answered as each caller expects;
        // a percent-encoded path is the same path.
        let token = reqwest::Client::new()
            .post(server.url("/token"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(token.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(token.headers().contains_key("retry-after"));
        let body: serde_json::Value = token.json().await.unwrap();
        assert_eq!(body["error"], "rate_limited");
        let disguised = browser
            .post_form(&server.url("/log%69n"), &[("username", "rex")])
            .await;
        assert_eq!(disguised.status(), StatusCode::TOO_MANY_REQUESTS);
    }
);

on_both_backends!(
    failed_client_authentication_and_bad_codes_count_as_failures,
    |backend: Backend| async move {
        let server = server_or_skip!(backend, |config| {
            config.rate_limits.failures_per_hour = 2;
        });
        let http = reqwest::Client::new();
        let mut statuses = Vec::new();
        for form in [
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "nobody"),
            ],
            vec![("grant_type", "authorization_code"), ("code", "x")],
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "nobody"),
            ],
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "nobody"),
            ],
        ] {
            let response = http
                .post(server.url("/token"))
                .form(&form)
                .send()
                .await
                .unwrap();
            statuses.push(response.status());
        }
        assert_eq!(
            statuses,
            [
                StatusCode::UNAUTHORIZED,
                StatusCode::UNAUTHORIZED,
                StatusCode::UNAUTHORIZED,
                StatusCode::TOO_MANY_REQUESTS
            ]
        );
        // An invalid bearer token is a failure too (its own server, so the
        // budget above does not interfere).
        let other = server_or_skip!(backend, |config| {
            config.rate_limits.failures_per_hour = 1;
        });
        let mut statuses = Vec::new();
        for _ in 0..3 {
            let response = http
                .get(other.url("/userinfo"))
                .bearer_auth("not-a-token")
                .send()
                .await
                .unwrap();
            statuses.push(response.status());
        }
        assert_eq!(statuses[2], StatusCode::TOO_MANY_REQUESTS);
    }
);

on_both_backends!(
    authenticated_clients_are_limited_per_client_not_per_address,
    |backend: Backend| async move {
        let server = server_or_skip!(backend, |config| {
            config.rate_limits.client_requests_per_minute = 2;
        });
        let service = |name: &str, own: Option<u32>| {
            server.create_client_with(ferrid_service::clients::ClientRegistration {
                name: name.into(),
                grant_types: vec!["client_credentials".into()],
                auth_method: "client_secret_basic".into(),
                scope: "profile".into(),
                id_token_alg: "RS256".into(),
                rate_limit_per_minute: own,
                ..Default::default()
            })
        };
        let (first, second, generous) = (
            service("First", None),
            service("Second", None),
            service("Generous", Some(0)),
        );
        let call = |client: crate::support::server::TestClient| {
            let url = server.url("/token");
            async move {
                reqwest::Client::new()
                    .post(url)
                    .basic_auth(&client.id, client.secret.as_ref())
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await
                    .unwrap()
            }
        };
        for _ in 0..2 {
            assert_eq!(call(first.clone()).await.status(), StatusCode::OK);
        }
        let refused = call(first.clone()).await;
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(refused.headers().contains_key("retry-after"));
        let body: serde_json::Value = refused.json().await.unwrap();
        assert_eq!(body["error"], "rate_limited");
        // Same address, another client: its own allowance.
        assert_eq!(call(second.clone()).await.status(), StatusCode::OK);
        // A client registered without a limit is never refused.
        for _ in 0..10 {
            assert_eq!(call(generous.clone()).await.status(), StatusCode::OK);
        }
        // Successful requests spend no failure budget of the address.
        assert!(server
            .state
            .rate_limiter
            .waiting("127.0.0.1".parse().unwrap(), std::time::Instant::now())
            .is_none());
    }
);

on_both_backends!(
    browser_requests_meet_a_generous_ceiling_per_address,
    |backend: Backend| async move {
        let server = server_or_skip!(backend, |config| {
            config.rate_limits.browser_requests_per_minute = 5;
        });
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let authorize = format!(
            "{}?client_id={}&redirect_uri={}&response_type=code&scope=openid{}",
            server.url("/authorize"),
            client.id,
            client.redirect_uri,
            crate::support::oidc::PKCE_PARAMS
        );
        let no_redirects = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        for _ in 0..5 {
            let response = no_redirects.get(&authorize).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::SEE_OTHER);
        }
        let refused = no_redirects.get(&authorize).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(refused.headers().contains_key("retry-after"));
        let text = refused.text().await.unwrap();
        assert!(
            text.contains("rate_limits.browser_requests_per_minute"),
            "{text}"
        );
        // Machine endpoints, discovery and JWKS are not counted.
        let http = reqwest::Client::new();
        for path in ["/.well-known/openid-configuration", "/jwks"] {
            for _ in 0..10 {
                let response = http.get(server.url(path)).send().await.unwrap();
                assert_eq!(response.status(), StatusCode::OK);
            }
        }
        let token = http
            .post(server.url("/token"))
            .form(&[("grant_type", "client_credentials"), ("client_id", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(token.status(), StatusCode::UNAUTHORIZED);
    }
);

/// Statuses of `count` token requests claiming `forwarded` as client.
async fn token_statuses(server: &TestServer, forwarded: &[&str]) -> Vec<StatusCode> {
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for address in forwarded {
        let response = http
            .post(server.url("/token"))
            .header("X-Forwarded-For", *address)
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        statuses.push(response.status());
    }
    statuses
}

on_both_backends!(
    forwarded_for_counts_only_from_trusted_proxies,
    |backend: Backend| async move {
        // Failed client authentications: a budget of one per address.
        let addresses = [
            "203.0.113.1",
            "203.0.113.2",
            "203.0.113.1",
            "203.0.113.1",
            "203.0.113.2",
        ];
        let trusting = server_or_skip!(backend, |config| {
            config.rate_limits.failures_per_hour = 1;
            config.rate_limits.trusted_proxies = vec!["127.0.0.1/32".into()];
        });
        let statuses = token_statuses(&trusting, &addresses).await;
        // Two clients behind the proxy each get their own budget.
        let denied = StatusCode::UNAUTHORIZED;
        assert_eq!(
            statuses,
            [
                denied,
                denied,
                denied,
                StatusCode::TOO_MANY_REQUESTS,
                denied
            ]
        );
        // The audit log records the forwarded address.
        trusting.create_user("ivy");
        let client = trusting.create_client("client_secret_basic", "https://app.example/cb");
        let browser = Browser::new();
        let html = login_page(&trusting, &client, &browser).await;
        browser
            .http
            .post(trusting.url("/login"))
            .header("X-Forwarded-For", "198.51.100.7")
            .form(&[
                ("request_id", hidden_field(&html, "request_id").as_str()),
                ("csrf_token", hidden_field(&html, "csrf_token").as_str()),
                ("username", "ivy"),
                ("password", "wrong"),
            ])
            .send()
            .await
            .unwrap();
        let events = trusting.audit_log();
        let failure = events.iter().find(|event| event.event == "login").unwrap();
        assert_eq!(failure.ip.as_deref(), Some("198.51.100.7"));
        assert!(failure.request_id.is_some());

        // Without trust, the header is ignored: one client, one budget.
        let untrusting = server_or_skip!(backend, |config| {
            config.rate_limits.failures_per_hour = 1;
        });
        let statuses = token_statuses(&untrusting, &addresses).await;
        assert_eq!(statuses[..2], [denied, denied]);
        assert_eq!(statuses[2], StatusCode::TOO_MANY_REQUESTS);
    }
);

on_both_backends!(
    a_full_hashing_queue_answers_503,
    |backend: Backend| async move {
        let server = server_or_skip!(backend, |config| {
            config.argon2 = ferrid_store::Argon2Params {
                memory_kib: 16 * 1024,
                iterations: 3,
                parallelism: 1,
            };
            // One thread, so the flood overflows on a machine of any size.
            config.passwords.hashing_threads = 1;
            config.passwords.hashing_queue = 0;
            config.rate_limits.failures_per_hour = 0;
            config.lockout.delay_after = 1_000;
            config.lockout.lock_after = 1_000;
        });
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let browser = std::sync::Arc::new(Browser::new());
        let html = login_page(&server, &client, &browser).await;
        let attempts: Vec<_> = (0..16)
            .map(|index| {
                let (browser, html, issuer) =
                    (browser.clone(), html.clone(), server.issuer.clone());
                tokio::spawn(async move {
                    let response = browser
                        .submit_login(&issuer, &html, &format!("flood{index}"), "wrong password")
                        .await;
                    let (status, retry_after) = (
                        response.status(),
                        response.headers().get("retry-after").cloned(),
                    );
                    (status, retry_after, response.text().await.unwrap())
                })
            })
            .collect();
        // The flood queues at the hashing pool only: endpoints that hash no
        // password keep answering meanwhile.
        let (status, body) =
            crate::token_lifecycle::call(&server, "/introspect", &client, &[("token", "x")]).await;
        assert_eq!(
            (status, &body["active"]),
            (StatusCode::OK, &serde_json::json!(false))
        );
        let mut busy = 0;
        for attempt in attempts {
            let (status, retry_after, text) = attempt.await.unwrap();
            match status {
                StatusCode::OK => {}
                StatusCode::SERVICE_UNAVAILABLE => {
                    busy += 1;
                    assert!(retry_after.is_some());
                    assert!(text.contains("passwords.hashing_queue"), "{text}");
                }
                other => panic!("unexpected {other}"),
            }
        }
        assert!(
            busy > 0,
            "16 simultaneous logins on a queue of 0 should overflow"
        );
        // Afterwards the pool serves again.
        let (status, _) = attempt(&server, &browser, &html, "after", "wrong").await;
        assert_eq!(status, StatusCode::OK);
    }
);

on_both_backends!(
    repeated_failures_for_one_name_are_one_audit_row,
    |backend: Backend| async move {
        let server = server_or_skip!(backend, |config| {
            config.rate_limits.failures_per_hour = 0;
            config.lockout.delay_after = 100;
            config.lockout.lock_after = 100;
        });
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        let browser = Browser::new();
        let html = login_page(&server, &client, &browser).await;
        // Regression: every failed sign-in wrote a row kept for a year.
        for name in ["ghost", " GHOST", "ghost", "ghost", "ghost", "other"] {
            attempt(&server, &browser, &html, name, "wrong").await;
        }
        let failures = |server: &TestServer| -> Vec<ferrid_store::AuditEvent> {
            server
                .audit_log()
                .into_iter()
                .filter(|event| event.event == "login" && event.outcome == "failure")
                .collect()
        };
        let rows = failures(&server);
        assert_eq!(rows.len(), 2, "{rows:?}");
        let mut repeats: Vec<i32> = rows.iter().map(|row| row.repeats).collect();
        repeats.sort();
        assert_eq!(repeats, [1, 5]);
        assert!(rows.iter().all(|row| !format!("{row:?}").contains("ghost")
            || row
                .detail
                .as_deref()
                .is_some_and(|detail| detail.contains("ghost"))));
        // After the window, a new row.
        server
            .clock
            .advance(ferrid_service::audit::REPEAT_WINDOW + 1);
        let html = login_page(&server, &client, &browser).await;
        attempt(&server, &browser, &html, "ghost", "wrong").await;
        assert_eq!(failures(&server).len(), 3);
    }
);
