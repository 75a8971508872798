//! `ferrid group …` and `ferrid role …`

use ferrid_service::audit::actors;
use ferrid_service::groups::{self, Holder};
use ferrid_service::{Clock, SystemClock};
use ferrid_store::Principal;
use serde_json::json;

use crate::app;
use crate::cli::{GroupCommand, RoleArgs, RoleCommand};
use crate::config::Config;
use crate::output::emit;

/// Runs a group command.
pub fn run_group(config: &Config, json: bool, command: GroupCommand) -> anyhow::Result<()> {
    let store = app::open_migrated_store(config)?;
    let now = SystemClock.now();
    match command {
        GroupCommand::Create { name, description } => {
            let group = groups::create(&store, &name, &description, actors::CLI, now)?;
            emit(json, &json!({ "created": group.name }), || {
                format!("Created group {}.", group.name)
            })
        }
        GroupCommand::Delete { name } => {
            groups::delete(&store, &name, actors::CLI, now)?;
            emit(json, &json!({ "deleted": name }), || {
                format!("Deleted group {name}.")
            })
        }
        GroupCommand::List => {
            let all = groups::list(&store)?;
            let document: Vec<_> = all
                .iter()
                .map(|(group, members)| {
                    json!({ "name": group.name, "description": group.description, "members": members })
                })
                .collect();
            emit(json, &document, || {
                let mut lines = vec![format!("{:<24} MEMBERS", "GROUP")];
                lines.extend(
                    all.iter().map(|(group, members)| {
                        format!("{:<24} {}", group.name, members.join(" "))
                    }),
                );
                lines.join("\n")
            })
        }
        GroupCommand::AddMember { group, username } => {
            groups::set_member(&store, &group, &username, true, actors::CLI, now)?;
            emit(json, &json!({ "group": group, "added": username }), || {
                format!("Added {username} to {group}.")
            })
        }
        GroupCommand::RemoveMember { group, username } => {
            groups::set_member(&store, &group, &username, false, actors::CLI, now)?;
            emit(
                json,
                &json!({ "group": group, "removed": username }),
                || format!("Removed {username} from {group}."),
            )
        }
    }
}

fn holder(args: &RoleArgs) -> anyhow::Result<Holder> {
    match (&args.user, &args.group, &args.client) {
        (Some(user), None, None) => Ok(Holder::User(user.clone())),
        (None, Some(group), None) => Ok(Holder::Group(group.clone())),
        (None, None, Some(client)) => Ok(Holder::Client(client.clone())),
        _ => anyhow::bail!("give exactly one of --user, --group and --client"),
    }
}

/// Runs a role command.
pub fn run_role(config: &Config, json: bool, command: RoleCommand) -> anyhow::Result<()> {
    let store = app::open_migrated_store(config)?;
    let now = SystemClock.now();
    match command {
        RoleCommand::Grant(args) => {
            groups::set_role(
                &store,
                &args.api,
                &args.role,
                &holder(&args)?,
                true,
                actors::CLI,
                now,
            )?;
            emit(
                json,
                &json!({ "api": args.api, "granted": args.role }),
                || format!("Granted role {} of {}.", args.role, args.api),
            )
        }
        RoleCommand::Revoke(args) => {
            groups::set_role(
                &store,
                &args.api,
                &args.role,
                &holder(&args)?,
                false,
                actors::CLI,
                now,
            )?;
            emit(
                json,
                &json!({ "api": args.api, "revoked": args.role }),
                || format!("Revoked role {} of {}.", args.role, args.api),
            )
        }
        RoleCommand::List { api } => {
            let grants = store.role_grants(&api)?;
            let rows: Vec<(String, &str, String)> = grants
                .iter()
                .map(|grant| {
                    let (kind, holder) = match &grant.principal {
                        Principal::User(id) => (
                            "user",
                            store
                                .find_user(id)
                                .ok()
                                .flatten()
                                .map_or(id.clone(), |user| user.username),
                        ),
                        Principal::Group(name) => ("group", name.clone()),
                        Principal::Client(id) => ("client", id.clone()),
                    };
                    (grant.role.clone(), kind, holder)
                })
                .collect();
            let document: Vec<_> = rows
                .iter()
                .map(|(role, kind, holder)| json!({ "role": role, kind.to_owned(): holder }))
                .collect();
            emit(json, &document, || {
                let mut lines = vec![format!("{:<24} {:<8} HOLDER", "ROLE", "KIND")];
                lines.extend(
                    rows.iter()
                        .map(|(role, kind, holder)| format!("{role:<24} {kind:<8} {holder}")),
                );
                lines.join("\n")
            })
        }
    }
}
