//! The admin API through the real server with real tokens: clients'
//! create, read, update and delete, scopes that separate reading from
//! writing, users' admin roles, problem details, If-Match and paging.

use ferrid_server::Clock;
use ferrid_service::audit::actors;
use ferrid_service::users::{self, AdminRole};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::oidc::{authorization_url, relying_party};
use crate::support::server::{TestClient, PASSWORD};
use crate::support::{Backend, Browser, TestServer};
use crate::token_lifecycle::call;

pub(crate) const READ: &str = "ferrid:admin.read";
pub(crate) const WRITE: &str = "ferrid:admin.write";

/// A service client allowed `scope` through client credentials, and a
/// token it got for `scope`.
pub(crate) async fn service_token(server: &TestServer, scope: &str) -> String {
    let client = server.create_client_with(ferrid_service::clients::ClientRegistration {
        name: "Ops".into(),
        grant_types: vec!["client_credentials".into()],
        auth_method: "client_secret_basic".into(),
        scope: scope.into(),
        id_token_alg: "RS256".into(),
        ..Default::default()
    });
    token_for(server, &client, scope).await
}

async fn token_for(server: &TestServer, client: &TestClient, scope: &str) -> String {
    let (status, body) = call(
        server,
        "/token",
        client,
        &[("grant_type", "client_credentials"), ("scope", scope)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// Calls the admin API; returns status, headers and JSON body.
pub(crate) async fn admin(
    server: &TestServer,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    if_match: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut request =
        reqwest::Client::new().request(method, server.url(&format!("/admin/api/v1{path}")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    if let Some(tag) = if_match {
        request = request.header("if-match", tag);
    }
    let response = request.send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let text = response.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

fn etag(headers: &reqwest::header::HeaderMap) -> String {
    headers["etag"].to_str().unwrap().to_owned()
}

fn is_problem(headers: &reqwest::header::HeaderMap, body: &Value, status: StatusCode) {
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(body["status"], status.as_u16(), "{body}");
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
}

on_both_backends!(
    clients_through_the_admin_api,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let writer = service_token(&server, &format!("{READ} {WRITE}")).await;
        let reader = service_token(&server, READ).await;

        // Create.
        let (status, headers, created) = admin(
            &server,
            Method::POST,
            "/clients",
            Some(&writer),
            Some(json!({
                "name": "Console app",
                "redirect_uris": ["https://console.example/cb"],
                "scope": "openid profile",
            })),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let client_id = created["client_id"].as_str().unwrap().to_owned();
        assert!(created["client_secret"]
            .as_str()
            .unwrap()
            .starts_with("fcs_"));
        assert_eq!(
            headers["location"],
            format!("/admin/api/v1/clients/{client_id}").as_str()
        );
        let created_tag = etag(&headers);

        // Read: the same representation, without the secret.
        let (status, headers, shown) = admin(
            &server,
            Method::GET,
            &format!("/clients/{client_id}"),
            Some(&reader),
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(etag(&headers), created_tag);
        assert!(shown.get("client_secret").is_none());
        assert_eq!(shown["subject_type"], "public");

        // Pairwise subjects are chosen at registration (OIDC Core §8).
        let (status, _, pairwise) = admin(
            &server,
            Method::POST,
            "/clients",
            Some(&writer),
            Some(json!({
                "name": "Pairwise app",
                "redirect_uris": ["https://pairwise.example/cb"],
                "subject_type": "pairwise",
            })),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{pairwise}");
        assert_eq!(pairwise["subject_type"], "pairwise");
        assert_eq!(pairwise["sector_identifier"], "pairwise.example");
        let (status, _, refused) = admin(
            &server,
            Method::POST,
            "/clients",
            Some(&writer),
            Some(json!({
                "name": "Odd app",
                "redirect_uris": ["https://odd.example/cb"],
                "subject_type": "secret",
            })),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(shown["require_pkce"], true);

        // Update needs the current ETag.
        let path = format!("/clients/{client_id}");
        let change = json!({ "require_mfa": true, "require_pushed_authorization_requests": true });
        let (status, headers, body) = admin(
            &server,
            Method::PATCH,
            &path,
            Some(&writer),
            Some(change.clone()),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::PRECONDITION_REQUIRED);
        is_problem(&headers, &body, status);
        let (status, _, body) = admin(
            &server,
            Method::PATCH,
            &path,
            Some(&writer),
            Some(change.clone()),
            Some(&created_tag),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["require_mfa"], true);
        assert_eq!(body["require_pushed_authorization_requests"], true);
        // The first admin's tag is stale now: a second edit with it is refused.
        let (status, headers, body) = admin(
            &server,
            Method::PATCH,
            &path,
            Some(&writer),
            Some(json!({ "require_mfa": false })),
            Some(&created_tag),
        )
        .await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED);
        is_problem(&headers, &body, status);

        // Rule violations name their member.
        let (status, headers, body) = admin(
            &server,
            Method::POST,
            "/clients",
            Some(&writer),
            Some(json!({ "name": "Bad", "redirect_uris": ["http://evil.example/cb"] })),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        is_problem(&headers, &body, status);
        assert_eq!(body["errors"][0]["field"], "redirect_uris");
        let (status, _, body) = admin(
            &server,
            Method::PATCH,
            &path,
            Some(&writer),
            Some(json!({ "id_token_signed_response_alg": "HS256" })),
            Some("*"),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["errors"][0]["field"], "id_token_signed_response_alg");
        // Unknown members and bodies that are not JSON.
        let (status, _, body) = admin(
            &server,
            Method::POST,
            "/clients",
            Some(&writer),
            Some(json!({ "name": "X", "admin": true })),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let form = reqwest::Client::new()
            .post(server.url("/admin/api/v1/clients"))
            .bearer_auth(&writer)
            .form(&[("name", "X")])
            .send()
            .await
            .unwrap();
        assert_eq!(form.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

        // Reading is not writing; no token, or one for something else, is 401.
        let (status, headers, body) =
            admin(&server, Method::DELETE, &path, Some(&reader), None, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        is_problem(&headers, &body, status);
        assert!(headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope"));
        let (status, headers, _) = admin(&server, Method::GET, "/clients", None, None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(headers["www-authenticate"], "Bearer");
        let other = service_token(&server, "profile").await;
        let (status, _, _) =
            admin(&server, Method::GET, "/clients", Some(&other), None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // Paging by key: three clients exist besides the test's own.
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let query = match &after {
                Some(after) => format!("/clients?limit=2&after={after}"),
                None => "/clients?limit=2".to_owned(),
            };
            let (status, _, page) =
                admin(&server, Method::GET, &query, Some(&reader), None, None).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            let items = page["items"].as_array().unwrap();
            assert!(items.len() <= 2);
            seen.extend(
                items
                    .iter()
                    .map(|item| item["client_id"].as_str().unwrap().to_owned()),
            );
            match page["next"].as_str() {
                Some(next) => after = Some(next.to_owned()),
                None => break,
            }
        }
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(seen, sorted, "each client once, in order");
        assert_eq!(seen.len(), server.store.list_clients().unwrap().len());
        let (status, _, _) = admin(
            &server,
            Method::GET,
            "/clients?limit=0",
            Some(&reader),
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // Delete; then it is gone, and both changes are audited as the caller.
        let (status, _, _) = admin(&server, Method::DELETE, &path, Some(&writer), None, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, headers, body) =
            admin(&server, Method::GET, &path, Some(&reader), None, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        is_problem(&headers, &body, status);
        let events = server
            .store
            .audit_events(&ferrid_store::AuditFilter {
                limit: 100,
                ..Default::default()
            })
            .unwrap();
        let by_api: Vec<&str> = events
            .iter()
            .filter(|event| {
                event
                    .actor
                    .as_deref()
                    .is_some_and(|actor| actor.starts_with("client:"))
            })
            .map(|event| event.event.as_str())
            .collect();
        for kind in ["client.create", "client.update", "client.delete"] {
            assert!(by_api.contains(&kind), "{kind} in {by_api:?}");
        }
    }
);

on_both_backends!(
    a_users_token_needs_an_admin_role,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        server.create_user("olga");
        let console = server.create_client_with(ferrid_service::clients::ClientRegistration {
            name: "Console".into(),
            redirect_uris: vec!["https://console.example/cb".into()],
            grant_types: vec!["authorization_code".into()],
            auth_method: "client_secret_basic".into(),
            scope: format!("openid {READ} {WRITE}"),
            id_token_alg: "RS256".into(),
            ..Default::default()
        });
        let rp = relying_party(&server, &console).await;
        let start = authorization_url(&rp, &[READ, WRITE]);
        let redirected = Browser::new()
            .sign_in(&server.issuer, start.url.as_str(), "olga")
            .await;
        let (status, body) = call(
            &server,
            "/token",
            &console,
            &[
                ("grant_type", "authorization_code"),
                ("code", &redirected.param("code").unwrap()),
                ("redirect_uri", "https://console.example/cb"),
                ("code_verifier", start.verifier.secret()),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let token = body["access_token"].as_str().unwrap().to_owned();

        let list = || admin(&server, Method::GET, "/clients", Some(&token), None, None);
        let create = || {
            admin(
                &server,
                Method::POST,
                "/clients",
                Some(&token),
                Some(json!({ "name": "By olga", "redirect_uris": ["https://x.example/cb"] })),
                None,
            )
        };
        // No role: nothing, though the token has the scopes.
        assert_eq!(list().await.0, StatusCode::FORBIDDEN);
        // An auditor reads and cannot write; an admin does both, at once.
        let now = server.clock.now();
        users::set_admin_role(
            &server.store,
            "olga",
            Some(AdminRole::Auditor),
            actors::CLI,
            now,
        )
        .unwrap();
        assert_eq!(list().await.0, StatusCode::OK);
        assert_eq!(create().await.0, StatusCode::FORBIDDEN);
        users::set_admin_role(
            &server.store,
            "olga",
            Some(AdminRole::Admin),
            actors::CLI,
            now,
        )
        .unwrap();
        let (status, _, created) = create().await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        users::set_admin_role(&server.store, "olga", None, actors::CLI, now).unwrap();
        assert_eq!(list().await.0, StatusCode::FORBIDDEN);
    }
);

on_both_backends!(users_through_the_admin_api, |backend: Backend| async move {
    let server = server_or_skip!(backend);
    let writer = service_token(&server, &format!("{READ} {WRITE}")).await;
    let reader = service_token(&server, READ).await;
    for name in ["alba", "alma", "bruno", "carla", "ca_lo"] {
        server.create_user(name);
    }

    // Paging by username, and prefix search (wildcards are literal).
    let (status, _, page) = admin(
        &server,
        Method::GET,
        "/users?limit=2",
        Some(&reader),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"][0]["username"], "alba");
    assert_eq!(page["next"], "alma");
    let (_, _, rest) = admin(
        &server,
        Method::GET,
        "/users?limit=50&after=alma",
        Some(&reader),
        None,
        None,
    )
    .await;
    let names: Vec<&str> = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bruno", "ca_lo", "carla"]);
    assert!(rest["next"].is_null());
    let (_, _, found) = admin(
        &server,
        Method::GET,
        "/users?q=al",
        Some(&reader),
        None,
        None,
    )
    .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 2);
    let (_, _, literal) = admin(
        &server,
        Method::GET,
        "/users?q=ca_",
        Some(&reader),
        None,
        None,
    )
    .await;
    assert_eq!(literal["items"].as_array().unwrap().len(), 1, "{literal}");
    let (_, _, none) = admin(
        &server,
        Method::GET,
        "/users?q=%25",
        Some(&reader),
        None,
        None,
    )
    .await;
    assert!(none["items"].as_array().unwrap().is_empty());
    let (status, _, _) = admin(
        &server,
        Method::GET,
        "/users?sort=name",
        Some(&reader),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Create with a password, or invite by e-mail.
    let (status, headers, created) = admin(
        &server,
        Method::POST,
        "/users",
        Some(&writer),
        Some(json!({ "username": "dora", "email": "dora@example.com", "password": PASSWORD })),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(headers["location"]
        .to_str()
        .unwrap()
        .ends_with(created["id"].as_str().unwrap()));
    let (status, _, invited) = admin(
        &server,
        Method::POST,
        "/users",
        Some(&writer),
        Some(json!({ "username": "eve", "email": "eve@example.com", "name": "Eve" })),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{invited}");
    let mail = crate::support::outbox::outbox(&server, 1).await;
    assert!(
        mail[0].contains("eve@example.com") && mail[0].contains("/password/reset?token="),
        "{}",
        mail[0]
    );
    for (body, status, field) in [
        (
            json!({ "username": "dora", "email": "other@example.com", "password": "a long enough passphrase" }),
            StatusCode::CONFLICT,
            None,
        ),
        (
            json!({ "username": "no spaces", "email": "x@example.com" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("username"),
        ),
        (
            json!({ "username": "fay", "email": "fay@example.com", "password": "short" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("password"),
        ),
    ] {
        let (got, headers, problem) = admin(
            &server,
            Method::POST,
            "/users",
            Some(&writer),
            Some(body),
            None,
        )
        .await;
        assert_eq!(got, status, "{problem}");
        is_problem(&headers, &problem, status);
        if let Some(field) = field {
            assert_eq!(problem["errors"][0]["field"], field);
        }
    }
    let (status, _, _) = admin(
        &server,
        Method::POST,
        "/users",
        Some(&reader),
        Some(json!({ "username": "gus", "email": "gus@example.com" })),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Sessions: seen, then ended.
    let dora_id = created["id"].as_str().unwrap().to_owned();
    let app = server.create_client("client_secret_basic", "https://app.example/cb");
    crate::support::oidc::signed_in(&server, &app, "dora").await;
    let sessions_path = format!("/users/{dora_id}/sessions");
    let (_, _, sessions) = admin(
        &server,
        Method::GET,
        &sessions_path,
        Some(&reader),
        None,
        None,
    )
    .await;
    assert_eq!(sessions["items"].as_array().unwrap().len(), 1, "{sessions}");
    let (status, _, ended) = admin(
        &server,
        Method::DELETE,
        &sessions_path,
        Some(&writer),
        None,
        None,
    )
    .await;
    assert_eq!((status, ended["ended"].as_i64()), (StatusCode::OK, Some(1)));
    let (_, _, sessions) = admin(
        &server,
        Method::GET,
        &sessions_path,
        Some(&reader),
        None,
        None,
    )
    .await;
    assert!(sessions["items"].as_array().unwrap().is_empty());

    // Role and disabling, with If-Match.
    let path = format!("/users/{dora_id}");
    let (_, headers, _) = admin(&server, Method::GET, &path, Some(&reader), None, None).await;
    let tag = etag(&headers);
    let (status, _, body) = admin(
        &server,
        Method::PATCH,
        &path,
        Some(&writer),
        Some(json!({ "admin_role": "owner" })),
        Some(&tag),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "admin_role");
    let (status, headers, body) = admin(
        &server,
        Method::PATCH,
        &path,
        Some(&writer),
        Some(json!({ "admin_role": "auditor" })),
        Some(&tag),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["admin_role"], "auditor");
    let (status, _, _) = admin(
        &server,
        Method::PATCH,
        &path,
        Some(&writer),
        Some(json!({ "admin_role": null })),
        Some(&tag),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (status, _, body) = admin(
        &server,
        Method::PATCH,
        &path,
        Some(&writer),
        Some(json!({ "admin_role": null, "disabled": true })),
        Some(&etag(&headers)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["disabled"].as_bool(), body["admin_role"].is_null()),
        (Some(true), true)
    );

    for action in ["unlock", "reset-mfa"] {
        let (status, _, body) = admin(
            &server,
            Method::POST,
            &format!("{path}/{action}"),
            Some(&writer),
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{action}: {body}");
    }
    let (status, headers, body) = admin(
        &server,
        Method::GET,
        "/users/no-such-id",
        Some(&reader),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    is_problem(&headers, &body, status);
});

on_both_backends!(
    keys_and_the_audit_log_through_the_admin_api,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let writer = service_token(&server, &format!("{READ} {WRITE}")).await;
        let reader = service_token(&server, READ).await;

        let (status, _, before) =
            admin(&server, Method::GET, "/keys", Some(&reader), None, None).await;
        assert_eq!(status, StatusCode::OK);
        let current = |keys: &Value| -> Vec<String> {
            keys["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|key| key["alg"] == "RS256" && key["state"] == "current")
                .map(|key| key["kid"].as_str().unwrap().to_owned())
                .collect()
        };
        let old = current(&before);
        assert_eq!(old.len(), 1);
        assert!(before["items"][0].get("private_key_sealed").is_none());

        // An emergency rotation: a new key signs at once on this node.
        let rotation = json!({ "alg": "RS256", "immediately": true });
        let (status, _, _) = admin(
            &server,
            Method::POST,
            "/keys/rotate",
            Some(&reader),
            Some(rotation.clone()),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, done) = admin(
            &server,
            Method::POST,
            "/keys/rotate",
            Some(&writer),
            Some(rotation),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{done}");
        assert!(done["events"].to_string().contains("now signs"), "{done}");
        let (_, _, after) = admin(&server, Method::GET, "/keys", Some(&reader), None, None).await;
        let new = current(&after);
        assert_ne!(new, old);
        let (status, _, body) = admin(
            &server,
            Method::POST,
            "/keys/rotate",
            Some(&writer),
            Some(json!({ "alg": "HS256" })),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["errors"][0]["field"], "alg");
        let (status, headers, body) = admin(
            &server,
            Method::POST,
            "/keys/no-such-kid/revoke",
            Some(&writer),
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        is_problem(&headers, &body, status);
        let (status, _, body) = admin(
            &server,
            Method::POST,
            &format!("/keys/{}/revoke", old[0]),
            Some(&writer),
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // Tokens the revoked key signed, the API's own included, are dead.
        let (status, _, _) = admin(&server, Method::GET, "/keys", Some(&reader), None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let reader = service_token(&server, READ).await;

        // The audit log: filtered, paged back in time, exported as CSV.
        let (status, _, page) = admin(
            &server,
            Method::GET,
            "/audit?limit=1",
            Some(&reader),
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let first = &page["items"][0];
        let next = page["next"].as_str().expect("more than one event");
        let (_, _, older) = admin(
            &server,
            Method::GET,
            &format!("/audit?limit=1&before={next}"),
            Some(&reader),
            None,
            None,
        )
        .await;
        assert_ne!(older["items"][0]["id"], first["id"]);
        assert!(older["items"][0]["at"].as_i64() <= first["at"].as_i64());
        let (_, _, by_api) = admin(
            &server,
            Method::GET,
            "/audit?event=key.revoke&outcome=success",
            Some(&reader),
            None,
            None,
        )
        .await;
        assert!(by_api["items"][0]["actor"]
            .as_str()
            .unwrap()
            .starts_with("client:"));
        let csv = reqwest::Client::new()
            .get(server.url("/admin/api/v1/audit?format=csv&event=key.rotate"))
            .bearer_auth(&reader)
            .send()
            .await
            .unwrap();
        assert_eq!(csv.status(), StatusCode::OK);
        assert!(csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
        let text = csv.text().await.unwrap();
        assert!(text.starts_with("id,at,event,outcome,actor"), "{text}");
        assert!(text.contains(",key.rotate,success,client:"), "{text}");
        for bad in [
            "/audit?outcome=maybe",
            "/audit?before=yesterday",
            "/audit?limit=5000",
            "/audit?format=xml",
            "/audit?colour=red",
        ] {
            let (status, headers, body) =
                admin(&server, Method::GET, bad, Some(&reader), None, None).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
            is_problem(&headers, &body, status);
        }
    }
);

on_both_backends!(
    apis_groups_and_roles_through_the_admin_api,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let writer = service_token(&server, &format!("{READ} {WRITE}")).await;
        let reader = service_token(&server, READ).await;
        let orders = "https://api.example.com/orders";
        let (status, headers, created) = admin(
            &server,
            Method::POST,
            "/apis",
            Some(&writer),
            Some(json!({
                "identifier": orders,
                "name": "Orders",
                "scopes": [{ "name": "orders:read", "description": "Read orders" }],
                "roles": [{ "name": "clerk" }],
                "introspection": "client_secret_basic",
            })),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert!(created["introspection_client_secret"]
            .as_str()
            .unwrap()
            .starts_with("fcs_"));
        let tag = etag(&headers);
        let path = format!("/apis/{orders}");
        let (status, headers, shown) =
            admin(&server, Method::GET, &path, Some(&reader), None, None).await;
        assert_eq!(status, StatusCode::OK, "{shown}");
        assert_eq!(etag(&headers), tag);
        assert_eq!(shown["scopes"][0]["description"], "Read orders");
        for (body, field) in [
            (
                json!({ "identifier": "relative", "name": "X" }),
                "identifier",
            ),
            (
                json!({ "identifier": "https://x.example", "name": "X", "scopes": [{ "name": "openid", "description": "x" }] }),
                "scopes",
            ),
            (
                json!({ "identifier": format!("{}/admin/api/v1", server.issuer), "name": "X" }),
                "identifier",
            ),
        ] {
            let (status, _, problem) = admin(
                &server,
                Method::POST,
                "/apis",
                Some(&writer),
                Some(body),
                None,
            )
            .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
            assert_eq!(problem["errors"][0]["field"], field);
        }
        let (status, _, _) = admin(
            &server,
            Method::POST,
            "/apis",
            Some(&writer),
            Some(json!({ "identifier": orders, "name": "Again" })),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT);
        let (status, _, changed) = admin(
            &server,
            Method::PATCH,
            &path,
            Some(&writer),
            Some(json!({ "add_scopes": [{ "name": "orders:write", "description": "Place orders" }] })),
            Some(&tag),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert_eq!(changed["scopes"].as_array().unwrap().len(), 2);

        // Groups, members and role grants.
        server.create_user("hana");
        let (status, _, _) = admin(
            &server,
            Method::POST,
            "/groups",
            Some(&writer),
            Some(json!({ "name": "staff" })),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, _, _) = admin(
            &server,
            Method::POST,
            "/groups",
            Some(&writer),
            Some(json!({ "name": "staff" })),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT);
        let (status, _, _) = admin(
            &server,
            Method::PUT,
            "/groups/staff/members/hana",
            Some(&writer),
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (_, _, groups) =
            admin(&server, Method::GET, "/groups", Some(&reader), None, None).await;
        assert_eq!(groups["items"][0]["members"], json!(["hana"]));
        let grant = json!({ "api": orders, "role": "clerk", "group": "staff" });
        let (status, _, _) = admin(
            &server,
            Method::POST,
            "/roles/grant",
            Some(&writer),
            Some(grant.clone()),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let hana = server.store.find_user_by_login("hana").unwrap().unwrap();
        assert_eq!(
            server.store.roles_of_user(orders, &hana.id).unwrap(),
            ["clerk"]
        );
        let (_, _, grants) = admin(
            &server,
            Method::GET,
            &format!("/roles?api={orders}"),
            Some(&reader),
            None,
            None,
        )
        .await;
        assert_eq!(
            grants["items"],
            json!([{ "role": "clerk", "group": "staff" }])
        );
        for (body, field) in [
            (
                json!({ "api": orders, "role": "boss", "user": "hana" }),
                "role",
            ),
            (
                json!({ "api": orders, "role": "clerk", "user": "nobody" }),
                "user",
            ),
            (
                json!({ "api": orders, "role": "clerk", "user": "hana", "group": "staff" }),
                "user",
            ),
        ] {
            let (status, _, problem) = admin(
                &server,
                Method::POST,
                "/roles/grant",
                Some(&writer),
                Some(body),
                None,
            )
            .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
            assert_eq!(problem["errors"][0]["field"], field);
        }
        let (status, _, _) = admin(
            &server,
            Method::POST,
            "/roles/grant",
            Some(&reader),
            Some(grant.clone()),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = admin(
            &server,
            Method::POST,
            "/roles/revoke",
            Some(&writer),
            Some(grant),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert!(server
            .store
            .roles_of_user(orders, &hana.id)
            .unwrap()
            .is_empty());
        let (status, _, _) = admin(
            &server,
            Method::DELETE,
            "/groups/staff/members/hana",
            Some(&writer),
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _, _) = admin(
            &server,
            Method::DELETE,
            "/groups/staff",
            Some(&writer),
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _, _) = admin(
            &server,
            Method::DELETE,
            "/groups/staff",
            Some(&writer),
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        let (status, _, _) = admin(&server, Method::DELETE, &path, Some(&writer), None, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, headers, body) =
            admin(&server, Method::GET, &path, Some(&reader), None, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        is_problem(&headers, &body, status);
    }
);

/// The OpenAPI document is served and matches `docs/admin-openapi.json`,
/// so every change to the admin API is a visible diff. After a deliberate
/// change, `FERRID_UPDATE_SNAPSHOTS=1 ./scripts/test -E 'test(openapi)'`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_served_and_snapshotted() {
    let server = TestServer::start_with(Backend::Sqlite, |_| {}).unwrap();
    let response = reqwest::get(server.url("/admin/api/v1/openapi.json"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let served = response.text().await.unwrap();
    let document: Value = serde_json::from_str(&served).unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let operations: usize = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|methods| methods.as_object().unwrap().len())
        .sum();
    assert_eq!(operations, 35, "every admin route is described");
    assert!(document["components"]["securitySchemes"]["bearer"].is_object());
    let snapshot =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/admin-openapi.json");
    if std::env::var("FERRID_UPDATE_SNAPSHOTS").is_ok() {
        std::fs::write(&snapshot, format!("{served}\n")).unwrap();
    }
    let expected = std::fs::read_to_string(&snapshot).unwrap_or_default();
    assert_eq!(
        served.trim_end(),
        expected.trim_end(),
        "the admin API changed: review the diff, then update docs/admin-openapi.json"
    );
}

on_both_backends!(
    the_api_disables_clients_rotates_secrets_and_edits_profiles,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let writer = service_token(&server, &format!("{READ} {WRITE}")).await;
        let machine = server.create_client_with(ferrid_service::clients::ClientRegistration {
            name: "Machine".into(),
            grant_types: vec!["client_credentials".into()],
            auth_method: "client_secret_basic".into(),
            id_token_alg: "RS256".into(),
            ..Default::default()
        });
        let path = format!("/clients/{}", machine.id);
        let (_, headers, _) = admin(&server, Method::GET, &path, Some(&writer), None, None).await;
        let (status, _, body) = admin(
            &server,
            Method::PATCH,
            &path,
            Some(&writer),
            Some(json!({ "disabled": true })),
            Some(&etag(&headers)),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["disabled"], true);
        let (status, _) = call(
            &server,
            "/token",
            &machine,
            &[("grant_type", "client_credentials")],
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (_, headers, _) = admin(&server, Method::GET, &path, Some(&writer), None, None).await;
        admin(
            &server,
            Method::PATCH,
            &path,
            Some(&writer),
            Some(json!({ "disabled": false })),
            Some(&etag(&headers)),
        )
        .await;

        // A rotated secret is returned once; the old one is refused.
        let (status, headers, body) = admin(
            &server,
            Method::POST,
            &format!("{path}/rotate-secret"),
            Some(&writer),
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(headers["cache-control"], "no-store");
        let rotated = TestClient {
            secret: Some(body["client_secret"].as_str().unwrap().to_owned()),
            ..machine.clone()
        };
        let (old, _) = call(
            &server,
            "/token",
            &machine,
            &[("grant_type", "client_credentials")],
        )
        .await;
        assert_eq!(old, StatusCode::UNAUTHORIZED);
        let (new, _) = call(
            &server,
            "/token",
            &rotated,
            &[("grant_type", "client_credentials")],
        )
        .await;
        assert_eq!(new, StatusCode::OK);
        let public = server.create_client("none", "http://127.0.0.1:9/cb");
        let (status, headers, body) = admin(
            &server,
            Method::POST,
            &format!("/clients/{}/rotate-secret", public.id),
            Some(&writer),
            None,
            None,
        )
        .await;
        is_problem(&headers, &body, StatusCode::CONFLICT);
        assert_eq!(status, StatusCode::CONFLICT);

        // A user's profile: a new address is unverified; a taken one is refused.
        let user = server.create_user("erin");
        server.create_user("frank");
        let path = format!("/users/{}", user.id);
        let (_, headers, _) = admin(&server, Method::GET, &path, Some(&writer), None, None).await;
        let (status, headers2, body) = admin(
            &server,
            Method::PATCH,
            &path,
            Some(&writer),
            Some(json!({ "email": "frank@example.com" })),
            Some(&etag(&headers)),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        is_problem(&headers2, &body, StatusCode::CONFLICT);
        let (status, _, body) = admin(
            &server,
            Method::PATCH,
            &path,
            Some(&writer),
            Some(json!({ "email": "erin@new.example", "name": "Erin E" })),
            Some(&etag(&headers)),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["email"], "erin@new.example");
        assert_eq!(body["name"], "Erin E");
        assert_eq!(body["email_verified"], false);
    }
);
