//! `ferrid user …`

use std::io::BufRead;

use anyhow::{bail, Context};
use ferrid_server::accounts::{check_identity, check_password};
use ferrid_server::audit::{Event, Outcome};
use ferrid_server::lockout;
use ferrid_server::{Clock, SystemClock};
use ferrid_store::{NewUser, PasswordHasher, Store, StoreError, User};
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
    let now = SystemClock.now();
    match command {
        UserCommand::Create {
            username,
            email,
            name,
            password_stdin: _,
        } => {
            check_identity(&username, &email).map_err(anyhow::Error::msg)?;
            let hash = hash_password_from_stdin(config, &username, &email)?;
            let user = store
                .create_user(
                    NewUser {
                        username: &username,
                        email: &email,
                        name: name.as_deref(),
                        password_hash: &hash,
                    },
                    now,
                )
                .map_err(|error| match error {
                    StoreError::Conflict(_) => {
                        anyhow::anyhow!("a user with this username or email already exists")
                    }
                    other => other.into(),
                })?;
            audit("user.create", &user.id).record_now(&store, now)?;
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
            let user = find(&store, &username)?;
            let hash = hash_password_from_stdin(config, &user.username, &user.email)?;
            let ended = store.change_password(&user.id, &hash, None, now)?;
            audit("password.set", &user.id)
                .detail(format!("{ended} sessions ended"))
                .record_now(&store, now)?;
            emit(
                json,
                &json!({ "username": username, "password_changed": true, "sessions_ended": ended }),
                || {
                    format!("Changed the password of {username}; ended {ended} session(s) and revoked their refresh tokens.")
                },
            )
        }
        UserCommand::Disable { username } => {
            let user = find(&store, &username)?;
            store.disable_user(&user.username, now)?;
            audit("user.disable", &user.id).record_now(&store, now)?;
            emit(
                json,
                &json!({ "username": username, "disabled": true }),
                || format!("Disabled {username} and ended their sessions."),
            )
        }
        UserCommand::ResetMfa { username } => {
            let user = find(&store, &username)?;
            store.reset_mfa(&user.id, now)?;
            // Failed codes of the old device must not lock the new one.
            store.clear_login_failures(&lockout::mfa_subject(&user.id))?;
            audit("mfa.reset", &user.id).record_now(&store, now)?;
            emit(json, &json!({ "username": username, "mfa": false }), || {
                format!("Removed the second factor and recovery codes of {username}; they can set up a new one after signing in with their password.")
            })
        }
        UserCommand::Unlock { username } => {
            let user = find(&store, &username)?;
            for subject in lockout::subjects_of(&user) {
                store.clear_login_failures(&subject)?;
            }
            audit("account.unlock", &user.id).record_now(&store, now)?;
            emit(
                json,
                &json!({ "username": username, "unlocked": true }),
                || {
                    format!("Forgot the failed sign-in attempts of {username}; they can sign in again now.")
                },
            )
        }
    }
}

fn audit(event: &str, user_id: &str) -> Event {
    Event::new(event, Outcome::Success)
        .actor("cli")
        .subject(user_id)
}

fn find(store: &Store, username: &str) -> anyhow::Result<User> {
    match store.find_user_by_login(username)? {
        Some(user) if user.username == username.to_lowercase() => Ok(user),
        _ => bail!("no user named {username}"),
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

/// Reads one line from standard input as the password, checks it against
/// the policy and hashes it.
fn hash_password_from_stdin(
    config: &Config,
    username: &str,
    email: &str,
) -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    check_password(password, config.passwords.min_length, username, email)
        .map_err(anyhow::Error::msg)?;
    Ok(PasswordHasher::new(config.argon2)?.hash(password)?)
}
