//! Token exchange (RFC 8693): the orders service trades a user's token
//! for the orders API for one to the reports API, as the user
//! (impersonation) or saying it acts for them (delegation, `act`), and
//! only where an administrator allowed it.

use ferrid_server::Clock;
use ferrid_service::clients::ClientRegistration;
use reqwest::StatusCode;
use serde_json::Value;

use crate::apis::{code_for, exchange, register_apis, shop_client, ORDERS, REPORTS};
use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::oidc::{discovery_document, jwt_claims};
use crate::support::server::TestClient;
use crate::support::{Backend, TestServer};
use crate::token_lifecycle::call;

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

/// A confidential service allowed token exchange (and client credentials,
/// for an actor token of its own) and `scope`.
fn exchanging_service(server: &TestServer, scope: &str) -> TestClient {
    server.create_client_with(ClientRegistration {
        name: "Orders service".into(),
        grant_types: vec!["token_exchange".into(), "client_credentials".into()],
        auth_method: "client_secret_basic".into(),
        scope: scope.into(),
        id_token_alg: "RS256".into(),
        ..Default::default()
    })
}

/// A user's access token for the orders API, issued to the shop.
async fn user_token_for_orders(server: &TestServer) -> String {
    let shop = shop_client(server);
    let (code, verifier) = code_for(server, &shop, "alice", &["orders:read"], &[]).await;
    let (status, body) = exchange(server, &shop, &code, &verifier, Some(ORDERS)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// A token exchange by `client` with `extra` parameters.
async fn trade(
    server: &TestServer,
    client: &TestClient,
    subject_token: &str,
    extra: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut form = vec![
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token", subject_token),
        ("subject_token_type", ACCESS_TOKEN),
    ];
    form.extend_from_slice(extra);
    call(server, "/token", client, &form).await
}

#[track_caller]
fn assert_error((status, body): &(StatusCode, Value), error: &str) {
    assert_eq!(
        (*status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some(error)),
        "{body}"
    );
}

on_both_backends!(
    a_service_trades_a_user_token_for_another_api,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        register_apis(&server);
        let alice = server.create_user("alice");
        let discovery = discovery_document(&server).await;
        assert!(discovery["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&Value::from(TOKEN_EXCHANGE)));
        let service = exchanging_service(&server, "orders:read reports:read");
        let subject_token = user_token_for_orders(&server).await;
        let subject = jwt_claims(&subject_token);

        // Impersonation: the user's token, for reports, issued to the service.
        let (status, body) =
            trade(&server, &service, &subject_token, &[("resource", REPORTS)]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["issued_token_type"], ACCESS_TOKEN);
        assert_eq!(body["token_type"], "Bearer");
        assert!(body.get("refresh_token").is_none());
        let claims = jwt_claims(body["access_token"].as_str().unwrap());
        assert_eq!(claims["sub"], alice.id.as_str());
        assert_eq!(claims["aud"], REPORTS);
        assert_eq!(claims["client_id"], service.id.as_str());
        assert_eq!(claims["scope"], "reports:read");
        assert_eq!(claims["gid"], subject["gid"]);
        assert_eq!(claims["acr"], subject["acr"]);
        assert!(claims.get("act").is_none(), "{claims}");
        assert!(claims["exp"].as_i64() <= subject["exp"].as_i64());

        // Delegation: with the service's own token as actor, `act` names it.
        let (_, own) = call(
            &server,
            "/token",
            &service,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "orders:read"),
            ],
        )
        .await;
        let actor_token = own["access_token"].as_str().unwrap();
        let (status, body) = trade(
            &server,
            &service,
            &subject_token,
            &[
                ("audience", REPORTS),
                ("actor_token", actor_token),
                ("actor_token_type", ACCESS_TOKEN),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let delegated = body["access_token"].as_str().unwrap().to_owned();
        let claims = jwt_claims(&delegated);
        assert_eq!(claims["sub"], alice.id.as_str());
        assert_eq!(claims["act"]["sub"], service.id.as_str());
        assert_eq!(claims["act"]["client_id"], service.id.as_str());

        // Introspection shows who acts.
        let (_, introspected) =
            call(&server, "/introspect", &service, &[("token", &delegated)]).await;
        assert_eq!(introspected["active"], true, "{introspected}");
        assert_eq!(introspected["act"]["sub"], service.id.as_str());

        // A delegated token traded again keeps the chain.
        let (status, body) = trade(
            &server,
            &service,
            &delegated,
            &[
                ("resource", REPORTS),
                ("actor_token", actor_token),
                ("actor_token_type", ACCESS_TOKEN),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let claims = jwt_claims(body["access_token"].as_str().unwrap());
        assert_eq!(claims["act"]["act"]["sub"], service.id.as_str(), "{claims}");

        // Ending the user's grant (a logout, say) ends the traded tokens too.
        server
            .store
            .revoke_grant(subject["gid"].as_str().unwrap(), server.clock.now())
            .unwrap();
        let (_, introspected) =
            call(&server, "/introspect", &service, &[("token", &delegated)]).await;
        assert_eq!(introspected["active"], false, "{introspected}");
    }
);

on_both_backends!(
    exchanges_outside_what_an_admin_allowed_are_refused,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        register_apis(&server);
        server.create_user("alice");
        let subject_token = user_token_for_orders(&server).await;

        // A client without the grant.
        let plain = server.create_client_with(ClientRegistration {
            name: "Plain".into(),
            grant_types: vec!["client_credentials".into()],
            auth_method: "client_secret_basic".into(),
            scope: "orders:read reports:read".into(),
            id_token_alg: "RS256".into(),
            ..Default::default()
        });
        assert_error(
            &trade(&server, &plain, &subject_token, &[("resource", REPORTS)]).await,
            "unauthorized_client",
        );

        // A service that may not reach the target API.
        let orders_only = exchanging_service(&server, "orders:read");
        assert_error(
            &trade(
                &server,
                &orders_only,
                &subject_token,
                &[("resource", REPORTS)],
            )
            .await,
            "invalid_target",
        );
        // A service that is not the subject token's API.
        let reports_only = exchanging_service(&server, "reports:read");
        assert_error(
            &trade(
                &server,
                &reports_only,
                &subject_token,
                &[("resource", REPORTS)],
            )
            .await,
            "invalid_request",
        );

        let service = exchanging_service(&server, "orders:read reports:read");
        for (extra, error) in [
            (vec![], "invalid_target"),
            (
                vec![("resource", REPORTS), ("audience", ORDERS)],
                "invalid_target",
            ),
            (
                vec![("resource", "https://unknown.example/api")],
                "invalid_target",
            ),
            (
                vec![("resource", REPORTS), ("scope", "orders:read")],
                "invalid_scope",
            ),
            (
                vec![
                    ("resource", REPORTS),
                    (
                        "requested_token_type",
                        "urn:ietf:params:oauth:token-type:refresh_token",
                    ),
                ],
                "invalid_request",
            ),
            (
                vec![("resource", REPORTS), ("actor_token", "x")],
                "invalid_request",
            ),
            (
                vec![
                    ("resource", REPORTS),
                    ("actor_token", "not-a-token"),
                    ("actor_token_type", ACCESS_TOKEN),
                ],
                "invalid_request",
            ),
        ] {
            assert_error(
                &trade(&server, &service, &subject_token, &extra).await,
                error,
            );
        }
        for subject in ["", "not-a-token", &format!("{subject_token}x")] {
            assert_error(
                &trade(&server, &service, subject, &[("resource", REPORTS)]).await,
                "invalid_request",
            );
        }
        let (status, body) = call(
            &server,
            "/token",
            &service,
            &[
                ("grant_type", TOKEN_EXCHANGE),
                ("subject_token", &subject_token),
                (
                    "subject_token_type",
                    "urn:ietf:params:oauth:token-type:id_token",
                ),
                ("resource", REPORTS),
            ],
        )
        .await;
        assert_error(&(status, body), "invalid_request");

        // A client's own token stands for that client alone.
        let (_, plains) = call(
            &server,
            "/token",
            &plain,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "orders:read"),
            ],
        )
        .await;
        assert_error(
            &trade(
                &server,
                &service,
                plains["access_token"].as_str().unwrap(),
                &[("resource", REPORTS)],
            )
            .await,
            "invalid_request",
        );

        // An actor token must be the calling service's own.
        let (_, others) = call(
            &server,
            "/token",
            &plain,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "orders:read"),
            ],
        )
        .await;
        assert_error(
            &trade(
                &server,
                &service,
                &subject_token,
                &[
                    ("resource", REPORTS),
                    ("actor_token", others["access_token"].as_str().unwrap()),
                    ("actor_token_type", ACCESS_TOKEN),
                ],
            )
            .await,
            "invalid_request",
        );

        // An expired subject token.
        server.clock.advance(3600);
        assert_error(
            &trade(&server, &service, &subject_token, &[("resource", REPORTS)]).await,
            "invalid_request",
        );
    }
);
