//! The admin console in a real browser (headless Chromium over
//! WebDriver): an admin signs in with a second factor, registers a client
//! (a validation error shows beside its field first), a user signs in to
//! that client through the real login and consent pages, the admin sees
//! the user's session, confirms with the password and ends it, and finds
//! both actions in the audit log; an auditor can change nothing. Every
//! page visited passes axe-core's WCAG 2.1 AA rules.

use ferrid_service::users::AdminRole;
use openidconnect::AuthorizationCode;

use crate::on_both_backends;
use crate::support::chromium::{Chromium, Driver};
use crate::support::console::{admin_code, create_admin};
use crate::support::oidc::{authorization_url, http_client, relying_party};
use crate::support::receiver::free_port;
use crate::support::server::{TestClient, PASSWORD};
use crate::support::{Backend, TestServer};

/// Signs in to the console at `path` in `window` as `username`, through
/// ferrid's own login and second-factor pages (each checked by axe-core).
async fn console_sign_in(server: &TestServer, window: &Chromium, path: &str, username: &str) {
    window.open(&server.url(path)).await;
    // The console asks ferrid to sign in.
    window.arrive("/login").await;
    window.assert_accessible("the login page").await;
    window.fill("#username", username).await;
    window.fill("#password", PASSWORD).await;
    window.click("main button[type=submit]").await;
    // Admins need a second factor.
    window.arrive("/login/mfa").await;
    window.assert_accessible("the second-factor page").await;
    window.fill("#code", &admin_code(server)).await;
    window.click("main button[type=submit]").await;
    window.arrive(path).await;
}

on_both_backends!(
    an_admin_registers_a_client_and_ends_a_users_session,
    |backend: Backend| async move {
        let Some(driver) = Driver::start() else {
            return;
        };
        let Some(server) = TestServer::start_with(backend, |_| {}) else {
            return;
        };
        let admin = create_admin(&server, "root", AdminRole::Admin);
        server.create_user("alice");
        let console = driver.browser().await;
        console_sign_in(&server, &console, "/admin", "root").await;
        console.wait_for("<h1>Dashboard</h1>").await;
        console.assert_accessible("the dashboard").await;
        console.screenshot("console-dashboard").await;

        // A refused registration says why, beside the field.
        console.open(&server.url("/admin/clients/new")).await;
        console.assert_accessible("the client form").await;
        console.fill("#name", "Shop").await;
        console
            .fill("#redirect_uris", "shop.example/callback")
            .await;
        console.click("main form button[type=submit]").await;
        console.wait_for("role=\"alert\"").await;
        assert_eq!(
            console
                .attribute("#redirect_uris", "aria-invalid")
                .await
                .as_deref(),
            Some("true")
        );
        let error = console.text("#redirect_uris-error").await;
        assert!(error.contains("absolute URI"), "{error}");
        console
            .assert_accessible("the client form with an error")
            .await;
        console.screenshot("console-client-error").await;

        // Corrected, it registers; the secret is shown once.
        let redirect_uri = format!("http://127.0.0.1:{}/callback", free_port());
        console.fill("#redirect_uris", &redirect_uri).await;
        console.click("input[name=scope][value=profile]").await;
        console.click("main form button[type=submit]").await;
        console.wait_for("class=\"secret\"").await;
        let secret = console.text("code.secret").await;
        let client_id = console.text("main > p > code").await;
        assert!(secret.starts_with(ferrid_store::secret::CLIENT_SECRET_PREFIX));
        console.assert_accessible("the new client's page").await;
        console.screenshot("console-client-created").await;

        // A user signs in to that client in their own browser, through the
        // real login and consent pages.
        let user = driver.browser().await;
        let client = TestClient {
            id: client_id.clone(),
            secret: Some(secret),
            redirect_uri: redirect_uri.clone(),
        };
        let rp = relying_party(&server, &client).await;
        let start = authorization_url(&rp, &["profile"]);
        user.open(start.url.as_str()).await;
        user.fill("#username", "alice").await;
        user.fill("#password", PASSWORD).await;
        user.click("main button[type=submit]").await;
        user.wait_for("name=\"decision\"").await;
        user.assert_accessible("the consent page").await;
        user.click("button[name=decision][value=allow]").await;
        user.arrive("/callback").await;
        let landed = user.url().await;
        assert!(landed.as_str().starts_with(&redirect_uri), "{landed}");
        let code = landed
            .query_pairs()
            .find(|(name, _)| name == "code")
            .map(|(_, value)| value.into_owned())
            .expect("code");
        let tokens = rp
            .exchange_code(AuthorizationCode::new(code))
            .expect("token endpoint")
            .set_pkce_verifier(start.verifier)
            .request_async(&http_client())
            .await
            .expect("token exchange");
        for page in ["/account/security", "/account/sessions"] {
            user.open(&server.url(page)).await;
            user.assert_accessible(page).await;
        }

        // The admin finds the user and the session.
        console.open(&server.url("/admin/users?q=ali")).await;
        console.assert_accessible("the user list").await;
        console.click("main table a").await;
        console.wait_for("<h2>Sessions</h2>").await;
        assert_eq!(
            console.count("main table tbody code").await,
            1,
            "one session"
        );
        console.assert_accessible("the user's page").await;
        console.screenshot("console-user").await;

        // Some minutes later, ending sessions asks who it is first.
        server.clock.advance(6 * 60);
        console.open(console.url().await.as_ref()).await;
        console
            .fill("#confirm-end-sessions", "not my password")
            .await;
        console.click("form[action$='/end-sessions'] button").await;
        console.wait_for("role=\"alert\"").await;
        let refused = console.text("#confirm-end-sessions-error").await;
        assert!(refused.contains("neither your password"), "{refused}");
        console
            .assert_accessible("the user's page with an error")
            .await;
        console.fill("#confirm-end-sessions", PASSWORD).await;
        console.click("form[action$='/end-sessions'] button").await;
        console
            .wait_for("Every session of the user has ended.")
            .await;
        assert_eq!(console.count("main table tbody code").await, 0);

        // The relying party's access token died with the session.
        let userinfo = http_client()
            .get(server.url("/userinfo"))
            .bearer_auth(openidconnect::OAuth2TokenResponse::access_token(&tokens).secret())
            .send()
            .await
            .expect("userinfo");
        assert_eq!(userinfo.status(), reqwest::StatusCode::UNAUTHORIZED);

        // Both actions are in the audit log, naming the admin.
        console.open(&server.url("/admin/audit?user=root")).await;
        console.wait_for("<td>client.create</td>").await;
        console.wait_for("<td>session.end</td>").await;
        assert!(console.html().await.contains(&admin.id));
        console.assert_accessible("the audit log").await;
        console.screenshot("console-audit").await;

        for (path, name) in [
            ("/admin/clients".to_owned(), "console-clients"),
            (
                format!("/admin/clients/{client_id}/edit"),
                "console-client-edit",
            ),
            ("/admin/apis".to_owned(), "console-apis"),
            ("/admin/groups".to_owned(), "console-groups"),
            ("/admin/keys".to_owned(), "console-keys"),
            ("/admin/branding".to_owned(), "console-branding"),
            (
                "/admin/branding/preview".to_owned(),
                "console-branding-preview",
            ),
        ] {
            console.open(&server.url(&path)).await;
            assert_eq!(
                console.url().await.path(),
                path.split('?').next().unwrap_or("")
            );
            console.assert_accessible(&path).await;
            console.screenshot(name).await;
        }
        user.close().await;
        console.close().await;
    }
);

on_both_backends!(
    an_auditor_sees_everything_and_changes_nothing,
    |backend: Backend| async move {
        let Some(driver) = Driver::start() else {
            return;
        };
        let Some(server) = TestServer::start_with(backend, |_| {}) else {
            return;
        };
        create_admin(&server, "watcher", AdminRole::Auditor);
        let target = server.create_user("bob");
        let window = driver.browser().await;
        console_sign_in(&server, &window, "/admin/users", "watcher").await;
        for path in [
            "/admin",
            "/admin/clients",
            "/admin/users",
            &format!("/admin/users/{}", target.id),
            "/admin/apis",
            "/admin/groups",
            "/admin/keys",
            "/admin/audit",
            "/admin/branding",
        ] {
            window.open(&server.url(path)).await;
            window.wait_for("You are an auditor").await;
            let html = window.html().await;
            // The only form that posts is signing out.
            assert_eq!(window.count("form[method=post]").await, 1, "{path}: {html}");
            window.assert_accessible(path).await;
        }
        window.open(&server.url("/admin/clients/new")).await;
        window.wait_for("Read-only access").await;
        window.close().await;
        // Nothing changed.
        assert!(server.audited("client.create", "success").is_empty());
    }
);
