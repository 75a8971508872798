//! `ferrid user …`

use std::io::BufRead;

use anyhow::{bail, Context};
use ferrid_server::accounts::{check_identity, check_password};
use ferrid_server::{Clock, SystemClock};
use ferrid_store::{NewUser, PasswordHasher, Store, StoreError};
use serde::Serialize;
use serde_json::json;

use crate::app;
use crate::cli::UserCommand;
use crate::config::Config;
use crate::output::{emit, timestamp};

#[derive(Serialize)]
struct UserView {
    id: String,
    username: String,
    email: String,
    name: Option<String>,
    email_verified: bool,
    disabled: bool,
    created_at: String,
}

/// Runs a user command.
pub fn run(config: &Config, json: bool, command: UserCommand) -> anyhow::Result<()> {
    let store = app::open_migrated_store(config)?;
    match command {
        UserCommand::Create {
            username,
            email,
            name,
            password_stdin: _,
        } => {
            check_identity(&username, &email).map_err(anyhow::Error::msg)?;
            let hash = hash_password_from_stdin(config)?;
            let user = store
                .create_user(
                    NewUser {
                        username: &username,
                        email: &email,
                        name: name.as_deref(),
                        password_hash: &hash,
                    },
                    SystemClock.now(),
                )
                .map_err(|error| match error {
                    StoreError::Conflict(_) => {
                        anyhow::anyhow!("a user with this username or email already exists")
                    }
                    other => other.into(),
                })?;
            emit(
                json,
                &json!({ "id": user.id, "username": user.username }),
                || format!("Created user {} (sub {}).", user.username, user.id),
            )
        }
        UserCommand::List => list(&store, json),
        UserCommand::SetPassword {
            username,
            password_stdin: _,
        } => {
            let hash = hash_password_from_stdin(config)?;
            not_found_as_message(
                store.set_password_hash(&username, &hash, SystemClock.now()),
                &username,
            )?;
            emit(
                json,
                &json!({ "username": username, "password_changed": true }),
                || format!("Changed the password of {username}."),
            )
        }
        UserCommand::Disable { username } => {
            not_found_as_message(store.disable_user(&username, SystemClock.now()), &username)?;
            emit(
                json,
                &json!({ "username": username, "disabled": true }),
                || format!("Disabled {username} and ended their sessions."),
            )
        }
    }
}

fn list(store: &Store, json: bool) -> anyhow::Result<()> {
    let users: Vec<UserView> = store
        .list_users()?
        .into_iter()
        .map(|user| UserView {
            id: user.id,
            username: user.username,
            email: user.email,
            name: user.name,
            email_verified: user.email_verified,
            disabled: user.disabled,
            created_at: timestamp(user.created_at),
        })
        .collect();
    emit(json, &users, || {
        let mut lines = vec![format!(
            "{:<20} {:<30} {:<9} ID",
            "USERNAME", "EMAIL", "STATUS"
        )];
        lines.extend(users.iter().map(|user| {
            let status = if user.disabled { "disabled" } else { "active" };
            format!(
                "{:<20} {:<30} {:<9} {}",
                user.username, user.email, status, user.id
            )
        }));
        lines.join("\n")
    })
}

fn not_found_as_message(result: Result<(), StoreError>, username: &str) -> anyhow::Result<()> {
    match result {
        Err(StoreError::NotFound(_)) => bail!("no user named {username}"),
        other => Ok(other?),
    }
}

/// Reads one line from standard input as the password, checks it and hashes it.
fn hash_password_from_stdin(config: &Config) -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    check_password(password).map_err(anyhow::Error::msg)?;
    Ok(PasswordHasher::new(config.argon2)?.hash(password)?)
}
