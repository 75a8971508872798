//! The server runs as a PostgreSQL role with data rights only: an owner
//! role applies the migrations (`migrate_database_url`), and the server's
//! role can sign users in but cannot drop, alter or create anything.

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use reqwest::StatusCode;

use crate::server_or_skip;
use crate::support::database::POSTGRES_URL_VARIABLE;
use crate::support::oidc::sign_in_and_exchange;
use crate::support::{Backend, Browser};

fn with_user(url: &str, user: &str) -> String {
    let mut url = url::Url::parse(url).unwrap();
    url.set_username(user).unwrap();
    url.set_password(None).unwrap();
    url.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_role_can_use_data_but_not_change_the_schema() {
    let suffix = ferrid_store::secret::random_token(6)
        .to_lowercase()
        .replace(['-', '_'], "x");
    let (owner, app) = (
        format!("ferrid_owner_{suffix}"),
        format!("ferrid_app_{suffix}"),
    );
    let mut app_url = String::new();
    let server = server_or_skip!(Backend::Postgres, |config| {
        // The database was just created by the test's superuser.
        let database = url::Url::parse(&config.database_url).unwrap().path()[1..].to_owned();
        PgConnection::establish(&config.database_url)
            .unwrap()
            .batch_execute(&format!(
                "CREATE ROLE {owner} LOGIN; CREATE ROLE {app} LOGIN;
                 ALTER SCHEMA public OWNER TO {owner};
                 REVOKE ALL ON DATABASE {database} FROM PUBLIC;
                 GRANT CONNECT ON DATABASE {database} TO {owner}, {app};
                 GRANT USAGE ON SCHEMA public TO {app};
                 ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public
                     GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app};
                 ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public
                     GRANT USAGE, SELECT ON SEQUENCES TO {app};"
            ))
            .unwrap();
        config.migrate_database_url = with_user(&config.database_url, &owner);
        app_url = with_user(&config.database_url, &app);
        config.database_url = app_url.clone();
    });

    // Migrated by the owner, served by the app role: a whole sign-in.
    server.create_user("alice");
    let client = server.create_client("client_secret_basic", "http://127.0.0.1:9/cb");
    let (tokens, _, _) = sign_in_and_exchange(&server, &client, &Browser::new(), "alice").await;
    assert!(openidconnect::TokenResponse::id_token(&tokens).is_some());
    let ready = reqwest::get(server.url("/health/ready")).await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);

    // The server's role cannot change the schema.
    let mut as_app = PgConnection::establish(&app_url).unwrap();
    for statement in [
        "DROP TABLE users",
        "ALTER TABLE users ADD COLUMN intruder TEXT",
        "CREATE TABLE intruder (id INTEGER)",
        "TRUNCATE audit_events",
    ] {
        let error = as_app
            .batch_execute(statement)
            .expect_err(statement)
            .to_string();
        assert!(
            error.contains("must be owner") || error.contains("permission denied"),
            "{statement}: {error}"
        );
    }

    // Starting the server as the app role without the owner's URL works
    // on a migrated database (nothing pending, nothing asked of it).
    let config = ferrid::config::Config {
        migrate_database_url: String::new(),
        ..server.config.clone()
    };
    ferrid::app::open_migrated_store(&config).expect("no migration needed");

    drop(as_app);
    drop(server);
    if let Ok(admin_url) = std::env::var(POSTGRES_URL_VARIABLE) {
        let _ = PgConnection::establish(&admin_url)
            .unwrap()
            .batch_execute(&format!(
                "DROP ROLE IF EXISTS {owner}; DROP ROLE IF EXISTS {app};"
            ));
    }
}
