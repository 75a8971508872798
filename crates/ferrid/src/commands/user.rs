//! `ferrid user …`

use std::io::BufRead;

use anyhow::Context;
use ferrid_service::accounts::check_identity;
use ferrid_service::audit::actors;
use ferrid_service::users::{self, AdminRole, NewAccount, PasswordRules, UserView};
use ferrid_service::{Clock, SystemClock};
use ferrid_store::{PasswordHasher, Store};
use serde_json::json;

use crate::app;
use crate::cli::UserCommand;
use crate::config::Config;
use crate::output::emit;

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
            // Refuse a bad name before asking for a password.
            check_identity(&username, &email)?;
            let password = password_from_stdin()?;
            let hasher = PasswordHasher::new(config.argon2)?;
            let account = NewAccount {
                username: &username,
                email: &email,
                name: name.as_deref(),
                password: &password,
                passwordless: false,
            };
            let user = users::create(&store, account, rules(config, &hasher), actors::CLI, now)?;
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
            // An unknown name is refused before a password is read.
            users::find(&store, &username)?;
            let password = password_from_stdin()?;
            let hasher = PasswordHasher::new(config.argon2)?;
            let ended = users::set_password(
                &store,
                &username,
                &password,
                rules(config, &hasher),
                actors::CLI,
                now,
            )?;
            emit(
                json,
                &json!({ "username": username, "password_changed": true, "sessions_ended": ended }),
                || {
                    format!("Changed the password of {username}; ended {ended} session(s) and revoked their refresh tokens.")
                },
            )
        }
        UserCommand::Disable { username } => {
            let ended = users::disable(&store, &username, actors::CLI, now)?;
            emit(
                json,
                &json!({ "username": username, "disabled": true, "sessions_ended": ended }),
                || {
                    format!("Disabled {username}; ended {ended} session(s) and queued back-channel logouts for their relying parties.")
                },
            )
        }
        UserCommand::ResetMfa { username } => {
            users::reset_mfa(&store, &username, actors::CLI, now)?;
            emit(json, &json!({ "username": username, "mfa": false }), || {
                format!("Removed the second factor and recovery codes of {username}; they can set up a new one after signing in with their password.")
            })
        }
        UserCommand::Passkeys { username } => {
            let user = users::find(&store, &username)?;
            let passkeys = users::passkeys(&store, &user.id)?;
            emit(json, &passkeys, || {
                let mut lines = vec![format!(
                    "{:<16} {:<8} {:<21} NAME",
                    "ID", "KIND", "LAST USED"
                )];
                lines.extend(passkeys.iter().map(|passkey| {
                    format!(
                        "{:<16} {:<8} {:<21} {}",
                        passkey.id,
                        if passkey.synced { "synced" } else { "device" },
                        passkey.last_used_at.as_deref().unwrap_or("never"),
                        passkey.name
                    )
                }));
                lines.join("\n")
            })
        }
        UserCommand::RemovePasskey {
            username,
            passkey_id,
        } => {
            let user = users::find(&store, &username)?;
            let removed = users::remove_passkey(&store, &user.id, &passkey_id, actors::CLI, now)?;
            emit(
                json,
                &json!({ "username": username, "removed": removed.id }),
                || {
                    format!(
                        "Removed the passkey {} ({}) of {username}.",
                        removed.id, removed.name
                    )
                },
            )
        }
        UserCommand::Unlock { username } => {
            users::unlock(&store, &username, actors::CLI, now)?;
            emit(
                json,
                &json!({ "username": username, "unlocked": true }),
                || {
                    format!("Forgot the failed sign-in attempts of {username}; they can sign in again now.")
                },
            )
        }
        UserCommand::GrantAdmin { username, auditor } => {
            let role = if auditor {
                AdminRole::Auditor
            } else {
                AdminRole::Admin
            };
            users::set_admin_role(&store, &username, Some(role), actors::CLI, now)?;
            emit(
                json,
                &json!({ "username": username, "admin_role": role.as_str() }),
                || {
                    format!(
                        "{username} is now {} of ferrid.",
                        if auditor {
                            "an auditor"
                        } else {
                            "an administrator"
                        }
                    )
                },
            )
        }
        UserCommand::RevokeAdmin { username } => {
            users::set_admin_role(&store, &username, None, actors::CLI, now)?;
            emit(
                json,
                &json!({ "username": username, "admin_role": null }),
                || format!("{username} no longer administers ferrid."),
            )
        }
    }
}

fn rules<'a>(config: &Config, hasher: &'a PasswordHasher) -> PasswordRules<'a> {
    PasswordRules {
        min_length: config.passwords.min_length,
        hasher,
    }
}

fn list(store: &Store, json: bool) -> anyhow::Result<()> {
    let users: Vec<UserView> = users::list(store)?.iter().map(UserView::from).collect();
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

/// Reads one line from standard input as the password.
fn password_from_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    Ok(password.to_owned())
}
