//! `ferrid key …`

use serde::Serialize;

use crate::config::Config;
use crate::output::{emit, timestamp};
use crate::{app, cli::KeyCommand};

#[derive(Serialize)]
struct KeyView {
    kid: String,
    alg: String,
    state: String,
    created_at: String,
}

/// Runs a key command.
pub fn run(config: &Config, json: bool, command: KeyCommand) -> anyhow::Result<()> {
    match command {
        KeyCommand::List => {
            let store = app::open_migrated_store(config)?;
            let keys: Vec<KeyView> = store
                .list_signing_keys()?
                .into_iter()
                .map(|key| KeyView {
                    kid: key.kid,
                    alg: key.alg,
                    state: key.state,
                    created_at: timestamp(key.created_at),
                })
                .collect();
            emit(json, &keys, || {
                let mut lines = vec![format!("{:<20} {:<6} {:<8} CREATED", "KID", "ALG", "STATE")];
                lines.extend(keys.iter().map(|key| {
                    format!(
                        "{:<20} {:<6} {:<8} {}",
                        key.kid, key.alg, key.state, key.created_at
                    )
                }));
                lines.join("\n")
            })
        }
    }
}
