//! Three `ferrid serve` processes on one PostgreSQL behind a load
//! balancer (a forwarder the test points at one node at a time): a user
//! signs in on A, the code is exchanged on B, the token refreshed on C;
//! a revocation made on one node is refused by the others at once; a key
//! rotation is published and used by all within the key refresh
//! interval; logging out on A ends the session everywhere.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::database::{Backend, TempDatabase};
use crate::support::eventually;
use crate::support::faulty_link::FaultyLink;
use crate::support::oidc::{published_kids, PKCE_PARAMS};
use crate::support::process::{cli, user_and_client, Node};
use crate::support::Browser;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";

/// Every request on a new connection, so the balancer's choice holds.
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn token(
    issuer: &str,
    client: &(String, String),
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let response = http()
        .post(format!("{issuer}/token"))
        .basic_auth(&client.0, Some(&client.1))
        .form(form)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

async fn userinfo(issuer: &str, access_token: &str) -> StatusCode {
    http()
        .get(format!("{issuer}/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .status()
}

fn kid_of(jwt: &str) -> String {
    crate::support::oidc::jwt_header(jwt)["kid"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_on_one_postgres_serve_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let Some(database) = TempDatabase::create(Backend::Postgres, dir.path()) else {
        return;
    };
    ferrid_tokens::MasterKey::generate(&dir.path().join("master.key")).unwrap();
    // The balancer's address is the issuer every node publishes.
    let placeholder = std::net::SocketAddr::from(([127, 0, 0, 1], 9));
    let balancer = FaultyLink::to(placeholder);
    let issuer = format!("http://{}", balancer.address);
    let env = [
        ("FERRID_ISSUER", issuer.as_str()),
        ("FERRID_KEY_REFRESH_INTERVAL", "1"),
    ];
    let a = Node::start(dir.path(), &database.url, &env);
    a.wait_ready().await;
    let (b, c) = (
        Node::start(dir.path(), &database.url, &env),
        Node::start(dir.path(), &database.url, &env),
    );
    b.wait_ready().await;
    c.wait_ready().await;

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
            "openid profile",
            "--refresh-online",
        ],
    );

    // Sign in on A.
    balancer.route_to(a.address());
    let browser = Browser::new();
    let start = format!(
        "{issuer}/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT_URI}&scope=openid%20profile&state=s1&nonce=n1{PKCE_PARAMS}",
        client.0
    );
    let redirected = browser.sign_in(&issuer, &start, "alice").await;
    let code = redirected.param("code").expect("a code");

    // Exchange the code on B.
    balancer.route_to(b.address());
    let (status, tokens) = token(
        &issuer,
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let refresh_token = tokens["refresh_token"].as_str().expect("a refresh token");

    // Refresh on C.
    balancer.route_to(c.address());
    let (status, refreshed) = token(
        &issuer,
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let access_token = refreshed["access_token"].as_str().unwrap().to_owned();
    let id_token = refreshed["id_token"]
        .as_str()
        .unwrap_or(tokens["id_token"].as_str().unwrap())
        .to_owned();
    let latest_refresh = refreshed["refresh_token"].as_str().unwrap().to_owned();

    // UserInfo on A, with the token C issued.
    balancer.route_to(a.address());
    assert_eq!(userinfo(&issuer, &access_token).await, StatusCode::OK);

    // A revocation on B is refused by A and C at once.
    let (_, other) = token(&issuer, &client, &[("grant_type", "client_credentials")]).await;
    let service_token = other["access_token"].as_str().unwrap().to_owned();
    balancer.route_to(b.address());
    let revoked = http()
        .post(format!("{issuer}/revoke"))
        .basic_auth(&client.0, Some(&client.1))
        .form(&[("token", service_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    for node in [&a, &c] {
        balancer.route_to(node.address());
        let introspected: Value = http()
            .post(format!("{issuer}/introspect"))
            .basic_auth(&client.0, Some(&client.1))
            .form(&[("token", service_token.as_str())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(introspected["active"], false, "revoked everywhere at once");
    }

    // An emergency rotation (from the CLI, beside the nodes) is published
    // by every node and signs their tokens within the refresh interval.
    let before = published_kids(&format!("{}/jwks", a.base)).await;
    cli(
        dir.path(),
        &database.url,
        &issuer,
        &["key", "rotate", "--now"],
        "",
    );
    for node in [&a, &b, &c] {
        balancer.route_to(node.address());
        let signed_by = eventually(|| async {
            let (_, issued) =
                token(&issuer, &client, &[("grant_type", "client_credentials")]).await;
            let kid = kid_of(issued["access_token"].as_str()?);
            (!before.contains(&kid)).then_some(kid)
        })
        .await
        .expect("the new key signs on every node");
        eventually(|| async {
            published_kids(&format!("{}/jwks", node.base))
                .await
                .contains(&signed_by)
                .then_some(())
        })
        .await
        .expect("and is published");
    }

    // Logging out on A ends the session on every node: prompt=none on C
    // needs a login, and the tokens issued in it are refused on B.
    balancer.route_to(a.address());
    let logout = browser
        .get(&format!("{issuer}/logout?id_token_hint={id_token}"))
        .await;
    assert!(logout.status().is_redirection() || logout.status() == StatusCode::OK);
    balancer.route_to(c.address());
    let silent = browser.get(&format!("{start}&prompt=none")).await;
    let location = silent.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("error=login_required"), "{location}");
    balancer.route_to(b.address());
    let (status, _) = token(
        &issuer,
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &latest_refresh),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        userinfo(&issuer, &access_token).await,
        StatusCode::UNAUTHORIZED
    );
}
