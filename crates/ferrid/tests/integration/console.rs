//! The admin console over HTTP (reqwest with a cookie store): signing in
//! as a client of ferrid, who may, sessions that idle out, CSRF, the
//! confirmation dangerous actions need, and each page's operations with
//! their refusals shown beside the field.

use ferrid_server::Clock;
use ferrid_service::users::AdminRole;
use reqwest::StatusCode;

use crate::on_both_backends;
use crate::support::browser::{hidden_field, location};
use crate::support::console::{enrol_totp, open, post, signed_in_admin};
use crate::support::outbox::outbox;
use crate::support::server::PASSWORD;
use crate::support::{Backend, Browser, TestServer};

fn server(backend: Backend) -> Option<TestServer> {
    TestServer::start_with(backend, |_| {})
}

on_both_backends!(
    only_admins_with_a_second_factor_get_in,
    |backend: Backend| async move {
        let Some(server) = server(backend) else {
            return;
        };
        // A user with a second factor but no admin role is refused.
        let user = server.create_user("mallory");
        enrol_totp(&server, &user.id);
        let browser = Browser::new();
        let landed = open(&server, &browser, "/admin", "mallory").await;
        assert_eq!(landed.status, StatusCode::FORBIDDEN, "{}", landed.html);
        assert!(landed.html.contains("Not an administrator"));
        assert_eq!(
            server.audited("console.sign_in", "refused"),
            ["not an administrator"]
        );
        let again = browser.get(&server.url("/admin")).await;
        assert_eq!(again.status(), StatusCode::SEE_OTHER, "no console session");

        // An admin without a second factor must enrol one first: the
        // console's client requires it.
        let admin = server.create_user("newadmin");
        ferrid_service::users::set_admin_role(
            &server.store,
            "newadmin",
            Some(AdminRole::Admin),
            "cli",
            server.clock.now(),
        )
        .unwrap();
        let browser = Browser::new();
        let mut response = browser.get(&server.url("/admin")).await;
        while response.status().is_redirection() {
            response = browser.get(&location(&response)).await;
        }
        let html = response.text().await.unwrap();
        let mut response = browser
            .submit_login(&server.issuer, &html, "newadmin", PASSWORD)
            .await;
        while response.status().is_redirection() {
            response = browser.get(&location(&response)).await;
        }
        let enrol = response.text().await.unwrap();
        assert!(enrol.contains("action=\"/account/totp\""), "{enrol}");
        assert!(server
            .store
            .find_user(&admin.id)
            .unwrap()
            .unwrap()
            .totp_secret_sealed
            .is_none());

        // An admin with one gets in, and it is audited.
        let _admin = signed_in_admin(&server, "root", AdminRole::Admin).await;
        assert_eq!(server.audited("console.sign_in", "success").len(), 1);
    }
);

on_both_backends!(
    the_callback_checks_state_issuer_and_code,
    |backend: Backend| async move {
        let Some(server) = server(backend) else {
            return;
        };
        let browser = Browser::new();
        // No sign-in started in this browser.
        let forged = browser
            .get(&server.url("/admin/callback?code=abc&state=xyz"))
            .await;
        assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
        assert!(forged
            .text()
            .await
            .unwrap()
            .contains("not started in this browser"));
        // An error from the authorization endpoint is shown, not followed.
        let denied = browser
            .get(&server.url("/admin/callback?error=access_denied&state=xyz"))
            .await;
        assert_eq!(denied.status(), StatusCode::BAD_REQUEST);
        assert!(denied.text().await.unwrap().contains("access_denied"));
        // A started sign-in with a made-up code fails cleanly.
        let start = browser.get(&server.url("/admin/sign-in")).await;
        let authorize = url::Url::parse(&location(&start)).unwrap();
        let state = authorize
            .query_pairs()
            .find(|(name, _)| name == "state")
            .unwrap()
            .1
            .into_owned();
        let made_up = browser
            .get(&server.url(&format!(
                "/admin/callback?code=nope&state={state}&iss={}",
                server.issuer
            )))
            .await;
        assert_eq!(made_up.status(), StatusCode::BAD_REQUEST);
        // The sign-in asks for PKCE and a second factor.
        let query: std::collections::HashMap<_, _> = authorize.query_pairs().into_owned().collect();
        assert_eq!(query["code_challenge_method"], "S256");
        assert_eq!(query["acr_values"], "2");
        assert_eq!(query["client_id"], "ferrid-console");
        // A console page with a query is returned to as it was.
        let admin_browser = Browser::new();
        crate::support::console::create_admin(&server, "root", AdminRole::Admin);
        let landed = open(
            &server,
            &admin_browser,
            "/admin/audit?event=a;b%20c",
            "root",
        )
        .await;
        assert_eq!(landed.status, StatusCode::OK, "{}", landed.html);
        assert!(landed.html.contains("value=\"a;b c\""), "{}", landed.html);
        // Only console pages are returned to after signing in.
        let elsewhere = browser
            .get(&server.url("/admin/sign-in?return=https://evil.example/"))
            .await;
        let cookie = elsewhere
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|value| value.to_str().unwrap().to_owned())
            .find(|value| value.starts_with("ferrid_admin_sign_in="))
            .unwrap();
        assert!(cookie.contains(".%2Fadmin;"), "{cookie}");
        assert!(cookie.contains("HttpOnly") && cookie.contains("Path=/admin"));
    }
);

on_both_backends!(
    console_sessions_idle_out_and_sign_out_everywhere,
    |backend: Backend| async move {
        let Some(server) = server(backend) else {
            return;
        };
        let browser = signed_in_admin(&server, "root", AdminRole::Admin).await;
        let cookie = browser.cookie(&server.url("/admin"), "ferrid_admin");
        assert!(cookie.is_some());
        // Active use keeps it alive ...
        server.clock.advance(10 * 60);
        assert_eq!(
            browser.get(&server.url("/admin")).await.status(),
            StatusCode::OK
        );
        server.clock.advance(10 * 60);
        assert_eq!(
            browser.get(&server.url("/admin")).await.status(),
            StatusCode::OK
        );
        // ... idleness ends it (15 minutes by default).
        server.clock.advance(16 * 60);
        let idle = browser.get(&server.url("/admin/users")).await;
        assert_eq!(idle.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            location(&idle),
            server.url("/admin/sign-in?return=%2Fadmin%2Fusers")
        );

        // Signing out ends the console session and the ferrid session.
        let browser = signed_in_admin(&server, "second", AdminRole::Admin).await;
        let html = browser.page(&server.url("/admin")).await;
        let out = post(&server, &browser, &html, "/admin/sign-out", &[]).await;
        assert_eq!(out.status(), StatusCode::OK);
        assert_eq!(
            browser.get(&server.url("/admin")).await.status(),
            StatusCode::SEE_OTHER
        );
        let sessions = browser.get(&server.url("/account/sessions")).await;
        assert_eq!(sessions.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(server.audited("console.sign_out", "success").len(), 1);
    }
);

on_both_backends!(
    console_forms_need_their_csrf_token,
    |backend: Backend| async move {
        let Some(server) = server(backend) else {
            return;
        };
        let browser = signed_in_admin(&server, "root", AdminRole::Admin).await;
        let forged = browser
            .post_form(
                &server.url("/admin/clients/new"),
                &[("name", "Evil"), ("csrf_token", "guess")],
            )
            .await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        let html = browser.page(&server.url("/admin/clients/new")).await;
        assert!(html.contains("name=\"csrf_token\""));
        assert!(!html.contains("<script"));
        let page = browser.get(&server.url("/admin")).await;
        let csp = page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
        let cookie_header = browser
            .get(&server.url("/admin/sign-in"))
            .await
            .headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert!(cookie_header.contains("HttpOnly"));
    }
);

/// Registers a confidential client that may use client credentials.
fn machine_client(server: &TestServer) -> (String, String) {
    let registered = ferrid_service::clients::create(
        &server.store,
        ferrid_service::clients::ClientRegistration {
            name: "Machine".into(),
            grant_types: vec!["client_credentials".into()],
            auth_method: "client_secret_basic".into(),
            scope: String::new(),
            id_token_alg: "RS256".into(),
            ..Default::default()
        },
        &[ferrid_tokens::SigningAlgorithm::Rs256],
        &server.master_key(),
        "cli",
        server.clock.now(),
    )
    .unwrap();
    (registered.client.client_id, registered.secret.unwrap())
}

async fn client_credentials(server: &TestServer, id: &str, secret: &str) -> StatusCode {
    reqwest::Client::new()
        .post(server.url("/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .status()
}

on_both_backends!(
    clients_are_disabled_rotated_and_deleted_with_confirmation,
    |backend: Backend| async move {
        let Some(server) = server(backend) else {
            return;
        };
        let browser = signed_in_admin(&server, "root", AdminRole::Admin).await;
        let (id, secret) = machine_client(&server);
        let page = format!("/admin/clients/{id}");
        assert_eq!(
            client_credentials(&server, &id, &secret).await,
            StatusCode::OK
        );

        // Disabled: no token; enabled: tokens again.
        let html = browser.page(&server.url(&page)).await;
        let disabled = post(&server, &browser, &html, &format!("{page}/disable"), &[]).await;
        assert_eq!(
            location(&disabled),
            server.url(&format!("{page}?done=client-disabled"))
        );
        assert_eq!(
            client_credentials(&server, &id, &secret).await,
            StatusCode::UNAUTHORIZED
        );
        let html = browser.page(&server.url(&page)).await;
        assert!(html.contains("Disabled"));
        post(&server, &browser, &html, &format!("{page}/enable"), &[]).await;
        assert_eq!(
            client_credentials(&server, &id, &secret).await,
            StatusCode::OK
        );

        // Rotation shows the new secret once; the old one stops working.
        let html = browser.page(&server.url(&page)).await;
        let rotated = post(
            &server,
            &browser,
            &html,
            &format!("{page}/rotate-secret"),
            &[],
        )
        .await;
        assert_eq!(rotated.status(), StatusCode::OK);
        let shown = rotated.text().await.unwrap();
        let new_secret =
            crate::support::mfa::between(&shown, "<code class=\"secret\">", "</code>").to_owned();
        assert_eq!(
            client_credentials(&server, &id, &secret).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            client_credentials(&server, &id, &new_secret).await,
            StatusCode::OK
        );
        let again = browser.page(&server.url(&page)).await;
        assert!(!again.contains(&new_secret), "shown once");

        // Later, deleting needs the password (or a code) again.
        server.clock.advance(6 * 60);
        let html = browser.page(&server.url(&page)).await;
        assert!(html.contains("id=\"confirm-delete\""));
        let refused = post(&server, &browser, &html, &format!("{page}/delete"), &[]).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        let refused = refused.text().await.unwrap();
        assert!(
            refused.contains("id=\"confirm-delete-error\">Enter your password"),
            "{refused}"
        );
        let wrong = post(
            &server,
            &browser,
            &html,
            &format!("{page}/delete"),
            &[("confirm", "wrong password")],
        )
        .await;
        assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
        assert_eq!(server.audited("account.reauthenticate", "failure").len(), 1);
        let code = crate::support::console::admin_code(&server);
        let deleted = post(
            &server,
            &browser,
            &html,
            &format!("{page}/delete"),
            &[("confirm", &code)],
        )
        .await;
        assert_eq!(
            location(&deleted),
            server.url("/admin/clients?done=client-deleted")
        );
        assert!(server.store.find_client(&id).unwrap().is_none());
        // The console's own client cannot be deleted.
        let own = browser
            .page(&server.url("/admin/clients/ferrid-console"))
            .await;
        assert!(!own.contains("/delete\""));
        let refused = post(
            &server,
            &browser,
            &own,
            "/admin/clients/ferrid-console/delete",
            &[("confirm", PASSWORD)],
        )
        .await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert!(server
            .store
            .find_client("ferrid-console")
            .unwrap()
            .is_some());
    }
);

on_both_backends!(
    a_disabled_client_cannot_start_a_sign_in,
    |backend: Backend| async move {
        let Some(server) = server(backend) else {
            return;
        };
        let client = server.create_client("client_secret_basic", "http://127.0.0.1:9/cb");
        ferrid_service::clients::set_disabled(
            &server.store,
            &client.id,
            true,
            "cli",
            server.clock.now(),
        )
        .unwrap();
        let browser = Browser::new();
        let response = browser
        .get(&server.url(&format!(
            "/authorize?response_type=code&client_id={}&redirect_uri=http://127.0.0.1:9/cb&scope=openid{}",
            client.id,
            crate::support::oidc::PKCE_PARAMS
        )))
        .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(response.text().await.unwrap().contains("disabled"));
    }
);

on_both_backends!(
    client_registration_errors_sit_beside_their_field,
    |backend: Backend| async move {
        let Some(server) = server(backend) else {
            return;
        };
        let browser = signed_in_admin(&server, "root", AdminRole::Admin).await;
        let html = browser.page(&server.url("/admin/clients/new")).await;
        for (fields, field, words) in [
            (
                vec![("name", ""), ("redirect_uris", "https://a.example/cb")],
                "name",
                "The name must be",
            ),
            (
                vec![("name", "A"), ("redirect_uris", "http://a.example/cb")],
                "redirect_uris",
                "must use https",
            ),
            (
                vec![
                    ("name", "A"),
                    ("redirect_uris", "https://a.example/cb"),
                    ("refresh_idle_ttl", "soon"),
                ],
                "refresh_idle_ttl",
                "is not a whole number",
            ),
        ] {
            let mut form = vec![
                ("token_endpoint_auth_method", "client_secret_basic"),
                ("grant_types", "authorization_code"),
                ("scope", "openid"),
                ("id_token_signed_response_alg", "RS256"),
            ];
            form.extend(fields);
            let response = post(&server, &browser, &html, "/admin/clients/new", &form).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST);
            let page = response.text().await.unwrap();
            let beside =
                crate::support::mfa::between(&page, &format!("id=\"{field}-error\">"), "</p>");
            assert!(beside.contains(words), "{words} beside {field} in {page}");
            assert!(page.contains(&format!("id=\"{field}\"")));
            assert!(page.contains("role=\"alert\""));
        }
        let created = post(
            &server,
            &browser,
            &html,
            "/admin/clients/new",
            &[
                ("name", "Shop"),
                ("redirect_uris", "https://shop.example/cb"),
                ("token_endpoint_auth_method", "none"),
                ("grant_types", "authorization_code"),
                ("scope", "openid"),
                ("scope", "email"),
                ("id_token_signed_response_alg", "ES256"),
                ("require_mfa", "true"),
            ],
        )
        .await;
        assert_eq!(created.status(), StatusCode::OK);
        let page = created.text().await.unwrap();
        assert!(
            page.contains("openid email") && page.contains("ES256"),
            "{page}"
        );
        assert!(
            !page.contains("class=\"secret\""),
            "a public client has no secret"
        );
        let listed = browser.page(&server.url("/admin/clients?q=sho")).await;
        assert!(listed.contains(">Shop</a>"));
        let none = browser.page(&server.url("/admin/clients?q=zzz")).await;
        assert!(none.contains("No clients match."));
    }
);

/// A minimal PNG (1×1) for the logo.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0, 0, 0,
    1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89, 0, 0, 0, 0x0a, 0x49, 0x44, 0x41, 0x54,
    0x78, 0x9c, 0x63, 0, 1, 0, 0, 5, 0, 1, 0x0d, 0x0a, 0x2d, 0xb4, 0, 0, 0, 0, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

async fn save_branding(
    server: &TestServer,
    browser: &Browser,
    csrf: &str,
    name: &str,
    colour: &str,
    logo: Option<&[u8]>,
) -> reqwest::Response {
    let boundary = "ferridtestboundary";
    let mut body = Vec::new();
    for (field, value) in [
        ("csrf_token", csrf),
        ("product_name", name),
        ("accent_colour", colour),
    ] {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    if let Some(logo) = logo {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"logo\"; filename=\"logo.png\"\r\nContent-Type: image/png\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(logo);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    browser
        .http
        .post(server.url("/admin/branding"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

on_both_backends!(
    branding_shows_on_the_sign_in_pages,
    |backend: Backend| async move {
        let Some(server) = server(backend) else {
            return;
        };
        let browser = signed_in_admin(&server, "root", AdminRole::Admin).await;
        let html = browser.page(&server.url("/admin/branding")).await;
        let csrf = hidden_field(&html, "csrf_token");
        // A light accent would make white button text unreadable.
        let refused = save_branding(&server, &browser, &csrf, "Acme ID", "#ffee00", None).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        let page = refused.text().await.unwrap();
        assert!(
            page.contains("id=\"accent_colour-error\">White text on #ffee00 has a contrast of"),
            "{page}"
        );
        let svg = save_branding(
            &server,
            &browser,
            &csrf,
            "Acme ID",
            "#1a5fb4",
            Some(b"<svg onload=alert(1)>"),
        )
        .await;
        assert_eq!(svg.status(), StatusCode::BAD_REQUEST);
        assert!(svg.text().await.unwrap().contains("PNG or JPEG"));
        let forged = save_branding(&server, &browser, "guess", "Evil", "#1a5fb4", None).await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);

        let saved = save_branding(&server, &browser, &csrf, "Acme ID", "#1a5fb4", Some(PNG)).await;
        assert_eq!(
            location(&saved),
            server.url("/admin/branding?done=branding-saved")
        );
        // The login page shows the name, the logo and the accent colour.
        let client = server.create_client("client_secret_basic", "http://127.0.0.1:9/cb");
        let user = Browser::new();
        let mut response = user
        .get(&server.url(&format!(
            "/authorize?response_type=code&client_id={}&redirect_uri=http://127.0.0.1:9/cb&scope=openid{}",
            client.id,
            crate::support::oidc::PKCE_PARAMS
        )))
        .await;
        while response.status().is_redirection() {
            response = user.get(&location(&response)).await;
        }
        let login = response.text().await.unwrap();
        assert!(login.contains("<span>Acme ID</span>"), "{login}");
        assert!(login.contains("/branding/logo?v="));
        let stylesheet = user.page(&server.url("/branding.css")).await;
        assert!(stylesheet.contains("--accent: #1a5fb4"));
        let logo = user.get(&server.url("/branding/logo")).await;
        assert_eq!(logo.headers()["content-type"], "image/png");
        assert_eq!(logo.bytes().await.unwrap().as_ref(), PNG);
        assert_eq!(server.audited("branding.update", "success").len(), 1);
        // Another node shows it too, from the database.
        let node = server.second_node();
        let css = Browser::new().page(&node.url("/branding.css")).await;
        assert!(css.contains("#1a5fb4"));
    }
);

on_both_backends!(
    users_are_invited_edited_and_managed,
    |backend: Backend| async move {
        let Some(server) = server(backend) else {
            return;
        };
        let browser = signed_in_admin(&server, "root", AdminRole::Admin).await;
        let html = browser.page(&server.url("/admin/users")).await;
        // Refusals beside the field.
        let bad = post(
            &server,
            &browser,
            &html,
            "/admin/users/invite",
            &[("username", "new user"), ("email", "n@example.com")],
        )
        .await;
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        assert!(bad
            .text()
            .await
            .unwrap()
            .contains("id=\"username-error\">Username must be"));
        let taken = post(
            &server,
            &browser,
            &html,
            "/admin/users/invite",
            &[("username", "root"), ("email", "x@example.com")],
        )
        .await;
        assert!(taken
            .text()
            .await
            .unwrap()
            .contains("id=\"username-error\">A user with this"));
        // The invitation goes out by e-mail.
        let invited = post(
            &server,
            &browser,
            &html,
            "/admin/users/invite",
            &[
                ("username", "carol"),
                ("email", "carol@example.com"),
                ("name", "Carol"),
            ],
        )
        .await;
        let page = location(&invited);
        assert!(page.ends_with("?done=user-invited"), "{page}");
        let mail = outbox(&server, 1).await;
        assert!(mail[0].contains("carol@example.com"));
        let carol = server.store.find_user_by_login("carol").unwrap().unwrap();

        // Profile: a new address is unverified; a taken one is refused.
        let html = browser.page(&page).await;
        let action = format!("/admin/users/{}/profile", carol.id);
        let taken = post(
            &server,
            &browser,
            &html,
            &action,
            &[("email", "root@example.com"), ("name", "C")],
        )
        .await;
        assert_eq!(taken.status(), StatusCode::BAD_REQUEST);
        assert!(taken
            .text()
            .await
            .unwrap()
            .contains("id=\"email-error\">A user with this e-mail address already exists."));
        let saved = post(
            &server,
            &browser,
            &html,
            &action,
            &[("email", "carol@new.example"), ("name", "Carol C")],
        )
        .await;
        assert_eq!(saved.status(), StatusCode::SEE_OTHER);
        let stored = server.store.find_user(&carol.id).unwrap().unwrap();
        assert_eq!(stored.email, "carol@new.example");
        assert_eq!(stored.name.as_deref(), Some("Carol C"));
        assert!(!stored.email_verified);

        // Console role, groups, and a required password reset.
        let html = browser
            .page(&server.url(&format!("/admin/users/{}", carol.id)))
            .await;
        post(
            &server,
            &browser,
            &html,
            &format!("/admin/users/{}/admin-role", carol.id),
            &[("admin_role", "auditor")],
        )
        .await;
        assert_eq!(
            server
                .store
                .find_user(&carol.id)
                .unwrap()
                .unwrap()
                .admin_role
                .as_deref(),
            Some("auditor")
        );
        ferrid_service::groups::create(&server.store, "staff", "", "cli", server.clock.now())
            .unwrap();
        post(
            &server,
            &browser,
            &html,
            &format!("/admin/users/{}/groups", carol.id),
            &[("group", "staff")],
        )
        .await;
        assert_eq!(server.store.groups_of_user(&carol.id).unwrap(), ["staff"]);
        post(
            &server,
            &browser,
            &html,
            &format!("/admin/users/{}/groups", carol.id),
            &[],
        )
        .await;
        assert!(server.store.groups_of_user(&carol.id).unwrap().is_empty());

        let alice = server.create_user("alice");
        let html = browser
            .page(&server.url(&format!("/admin/users/{}", alice.id)))
            .await;
        let reset = post(
            &server,
            &browser,
            &html,
            &format!("/admin/users/{}/require-password-reset", alice.id),
            &[],
        )
        .await;
        assert_eq!(reset.status(), StatusCode::SEE_OTHER);
        let stored = server.store.find_user(&alice.id).unwrap().unwrap();
        assert!(
            !server
                .state
                .passwords
                .verify(PASSWORD, &stored.password_hash),
            "the old password no longer works"
        );
        let mail = outbox(&server, 2).await;
        assert!(mail
            .iter()
            .any(|message| message.contains("alice@example.com")
                && message.contains("/password/reset?token=")));
        assert_eq!(
            server.audited("password.reset_required", "success").len(),
            1
        );

        // Search and paging.
        for index in 0..55 {
            server.create_user(&format!("user{index:03}"));
        }
        let first = browser.page(&server.url("/admin/users?q=user")).await;
        assert!(
            first.contains("user000") && first.contains("user049") && !first.contains("user050")
        );
        assert!(first.contains("after=user049"));
        let second = browser
            .page(&server.url("/admin/users?q=user&after=user049"))
            .await;
        assert!(
            second.contains("user050")
                && second.contains("user054")
                && !second.contains("user049<")
        );
    }
);

on_both_backends!(
    apis_groups_keys_and_the_audit_log,
    |backend: Backend| async move {
        let Some(server) = server(backend) else {
            return;
        };
        let browser = signed_in_admin(&server, "root", AdminRole::Admin).await;
        // APIs: a refusal beside its field, then a registration and an edit.
        let html = browser.page(&server.url("/admin/apis")).await;
        let bad = post(
            &server,
            &browser,
            &html,
            "/admin/apis",
            &[("identifier", "orders"), ("name", "Orders")],
        )
        .await;
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        assert!(bad
            .text()
            .await
            .unwrap()
            .contains("id=\"identifier-error\">The identifier must be an absolute URI"));
        let created = post(
            &server,
            &browser,
            &html,
            "/admin/apis",
            &[
                ("identifier", "https://api.example/orders"),
                ("name", "Orders"),
                (
                    "scopes",
                    "orders:read: Read your orders\norders:write: Change your orders",
                ),
                ("roles", "clerk: Handles orders"),
                ("access_token_ttl", "120"),
                ("signing_alg", "ES256"),
            ],
        )
        .await;
        assert_eq!(location(&created), server.url("/admin/apis?done=api-saved"));
        let api = server
            .store
            .find_api("https://api.example/orders")
            .unwrap()
            .unwrap();
        assert_eq!(api.scopes.len(), 2);
        assert_eq!(api.access_token_ttl, Some(120));
        let edit = browser
            .page(&server.url("/admin/apis/edit?identifier=https%3A%2F%2Fapi.example%2Forders"))
            .await;
        post(
            &server,
            &browser,
            &edit,
            "/admin/apis/edit",
            &[
                ("identifier", "https://api.example/orders"),
                ("name", "Order service"),
                ("scopes", "orders:read: Read your orders"),
                ("roles", "clerk: Handles orders"),
                ("access_token_ttl", ""),
                ("signing_alg", ""),
            ],
        )
        .await;
        let api = server
            .store
            .find_api("https://api.example/orders")
            .unwrap()
            .unwrap();
        assert_eq!(api.name, "Order service");
        assert_eq!(api.scopes.len(), 1);

        // Groups and roles.
        server.create_user("dave");
        let html = browser.page(&server.url("/admin/groups")).await;
        post(
            &server,
            &browser,
            &html,
            "/admin/groups",
            &[("group_name", "clerks"), ("description", "Shop floor")],
        )
        .await;
        post(
            &server,
            &browser,
            &html,
            "/admin/groups/members",
            &[
                ("member_group", "clerks"),
                ("member_username", "dave"),
                ("member", "add"),
            ],
        )
        .await;
        let unknown = post(
            &server,
            &browser,
            &html,
            "/admin/groups/members",
            &[
                ("member_group", "clerks"),
                ("member_username", "nobody"),
                ("member", "add"),
            ],
        )
        .await;
        assert!(unknown
            .text()
            .await
            .unwrap()
            .contains("id=\"member_username-error\">No user named nobody"));
        post(
            &server,
            &browser,
            &html,
            "/admin/roles",
            &[
                ("holder_kind", "group"),
                ("holder", "clerks"),
                ("api", "https://api.example/orders"),
                ("role", "clerk"),
                ("grant", "grant"),
            ],
        )
        .await;
        let wrong_role = post(
            &server,
            &browser,
            &html,
            "/admin/roles",
            &[
                ("holder_kind", "group"),
                ("holder", "clerks"),
                ("api", "https://api.example/orders"),
                ("role", "boss"),
                ("grant", "grant"),
            ],
        )
        .await;
        assert!(wrong_role
            .text()
            .await
            .unwrap()
            .contains("id=\"role-error\">The API"));
        let page = browser.page(&server.url("/admin/groups")).await;
        assert!(
            page.contains("<td>dave</td>") && page.contains("group clerks"),
            "{page}"
        );

        // Keys: a rotation adds a next key; revocation needs a confirmation.
        let before = server.store.list_signing_keys().unwrap().len();
        let html = browser.page(&server.url("/admin/keys")).await;
        post(
            &server,
            &browser,
            &html,
            "/admin/keys/rotate",
            &[("alg", "RS256")],
        )
        .await;
        let keys = server.store.list_signing_keys().unwrap();
        assert_eq!(keys.len(), before + 1);
        let next = keys
            .iter()
            .find(|key| key.state == ferrid_tokens::KeyState::Next)
            .unwrap();
        server.clock.advance(6 * 60);
        let html = browser.page(&server.url("/admin/keys")).await;
        assert!(html.contains(&next.kid) && html.contains("<svg"));
        let refused = post(
            &server,
            &browser,
            &html,
            "/admin/keys/revoke",
            &[("kid", &next.kid)],
        )
        .await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        post(
            &server,
            &browser,
            &html,
            "/admin/keys/revoke",
            &[("kid", &next.kid), ("confirm", PASSWORD)],
        )
        .await;
        let revoked = server.store.list_signing_keys().unwrap();
        assert!(revoked
            .iter()
            .any(|key| key.kid == next.kid && key.state == ferrid_tokens::KeyState::Revoked));

        // The audit log: filters, a refused filter, and exports.
        let log = browser
            .page(&server.url("/admin/audit?event=api.create"))
            .await;
        assert!(log.contains("api.create") && !log.contains("group.create"));
        let bad = browser
            .get(&server.url("/admin/audit?since=yesterday"))
            .await;
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        assert!(bad
            .text()
            .await
            .unwrap()
            .contains("id=\"since-error\">Write the date as YYYY-MM-DD"));
        let csv = browser
            .get(&server.url("/admin/audit/export.csv?event=key.revoke"))
            .await;
        assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
        let csv = csv.text().await.unwrap();
        assert!(csv.starts_with("id,at,event") && csv.contains("key.revoke"));
        let json: serde_json::Value = browser
            .get(&server.url("/admin/audit/export.json?outcome=success"))
            .await
            .json()
            .await
            .unwrap();
        assert!(json
            .as_array()
            .unwrap()
            .iter()
            .all(|event| event["outcome"] == "success"));

        // The dashboard counts tokens, written by the background flush.
        let (id, secret) = machine_client(&server);
        assert_eq!(
            client_credentials(&server, &id, &secret).await,
            StatusCode::OK
        );
        server.state.refresh_dashboard_state().unwrap();
        let dashboard = browser.page(&server.url("/admin")).await;
        assert!(dashboard.contains("1 by client credentials"), "{dashboard}");
        assert!(dashboard.contains("succeeded"));
    }
);

on_both_backends!(
    auditors_cannot_post_changes,
    |backend: Backend| async move {
        let Some(server) = server(backend) else {
            return;
        };
        let browser = signed_in_admin(&server, "watcher", AdminRole::Auditor).await;
        let (id, _) = machine_client(&server);
        let html = browser
            .page(&server.url(&format!("/admin/clients/{id}")))
            .await;
        assert!(!html.contains("/disable\""));
        for action in [
            format!("/admin/clients/{id}/disable"),
            "/admin/users/invite".to_owned(),
            "/admin/keys/rotate".to_owned(),
        ] {
            let refused = post(
                &server,
                &browser,
                &html,
                &action,
                &[("username", "x"), ("email", "x@example.com")],
            )
            .await;
            assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{action}");
        }
        assert!(!server.store.find_client(&id).unwrap().unwrap().disabled);
        // Taking the role away ends access at the next request.
        let watcher = server.store.find_user_by_login("watcher").unwrap().unwrap();
        ferrid_service::users::set_admin_role(
            &server.store,
            &watcher.username,
            None,
            "cli",
            server.clock.now(),
        )
        .unwrap();
        assert_eq!(
            browser.get(&server.url("/admin")).await.status(),
            StatusCode::SEE_OTHER
        );
    }
);
