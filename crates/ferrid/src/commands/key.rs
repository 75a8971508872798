//! `ferrid key …`

use std::path::Path;

use anyhow::Context;
use ferrid_service::audit::actors;
use ferrid_service::keys::{self, KeyEvent, KeyView};
use ferrid_service::SystemClock;
use ferrid_store::Store;
use ferrid_tokens::{MasterKey, SigningAlgorithm};
use serde_json::json;

use crate::config::Config;
use crate::output::emit;
use crate::{app, cli::KeyCommand};

/// This process's name in the rotation lease.
fn holder() -> String {
    format!("cli-{}", ferrid_store::secret::random_identifier(8))
}

/// The CLI as the operator of a key command.
fn operator(holder: &str) -> keys::Operator<'_> {
    keys::Operator {
        clock: &SystemClock,
        holder,
        actor: actors::CLI,
    }
}

/// Runs a key command.
pub fn run(config: &Config, json: bool, command: KeyCommand) -> anyhow::Result<()> {
    let store = app::open_migrated_store(config)?;
    match command {
        KeyCommand::List => list(&store, json),
        KeyCommand::Rotate { alg, now } => {
            let master_key = app::master_key(config, &store)?;
            let policy = config.key_policy()?;
            let algorithms = match alg {
                Some(name) => vec![SigningAlgorithm::parse(&name)
                    .filter(|alg| policy.algorithms.contains(alg))
                    .with_context(|| format!("--alg {name} is not one of signing_algorithms"))?],
                None => policy.algorithms.clone(),
            };
            let events = keys::rotate(
                &store,
                &master_key,
                &policy,
                &algorithms,
                now,
                operator(&holder()),
            )?;
            report(json, &events, || {
                if now {
                    "Emergency rotation done: the new keys sign now (running servers switch within \
                     key_refresh_interval). Validators whose cached JWKS predates this may see an unknown \
                     kid until their cache expires (at most 300 s); most libraries refetch the JWKS then."
                } else {
                    "New keys are published and will sign after key_prepublish; nothing to do if one was already scheduled."
                }
            })
        }
        KeyCommand::Revoke { kid } => {
            let master_key = app::master_key(config, &store)?;
            let events = keys::revoke(&store, &master_key, &kid, operator(&holder()))?;
            report(json, &events, || {
                "Revoked: running servers drop the key within key_refresh_interval."
            })
        }
        KeyCommand::Rewrap { new_master_key } => rewrap(config, &store, &new_master_key, json),
    }
}

fn list(store: &Store, json: bool) -> anyhow::Result<()> {
    let keys: Vec<KeyView> = keys::list(store)?.iter().map(KeyView::from).collect();
    emit(json, &keys, || {
        let mut lines = vec![format!(
            "{:<20} {:<6} {:<8} {:<21} {:<21} RETIRED",
            "KID", "ALG", "STATE", "CREATED", "SIGNS FROM"
        )];
        lines.extend(keys.iter().map(|key| {
            format!(
                "{:<20} {:<6} {:<8} {:<21} {:<21} {}",
                key.kid,
                key.alg,
                key.state,
                key.created_at,
                key.activates_at,
                key.retired_at.as_deref().unwrap_or("-")
            )
        }));
        lines.join("\n")
    })
}

fn report(
    json: bool,
    events: &[KeyEvent],
    summary: impl FnOnce() -> &'static str,
) -> anyhow::Result<()> {
    let described: Vec<String> = events.iter().map(KeyEvent::describe).collect();
    emit(json, &json!({ "events": described }), || {
        let mut lines = described.clone();
        lines.push(summary().to_owned());
        lines.join("\n")
    })
}

/// Re-encrypts every private key under a new master key, all or nothing.
fn rewrap(config: &Config, store: &Store, new_path: &Path, json: bool) -> anyhow::Result<()> {
    let old = app::master_key(config, store)?;
    let new = if new_path.exists() {
        MasterKey::load(new_path)?
    } else {
        MasterKey::generate(new_path)?
    };
    let count = keys::rewrap(store, &old, &new, operator(&holder()))?;
    emit(
        json,
        &json!({ "rewrapped": count, "new_master_key_file": new_path }),
        || {
            format!(
                "Re-encrypted {count} key(s) under {}. Point master_key_file (FERRID_MASTER_KEY_FILE) at it \
                 and restart every node; keep the old file until then.",
                new_path.display()
            )
        },
    )
}
