//! `ferrid master-key create` and `ferrid issuer change`: what all nodes
//! of one deployment must share, created and changed explicitly.

use anyhow::{bail, Context};
use ferrid_server::{Clock, SystemClock};
use ferrid_tokens::MasterKey;

use crate::app;
use crate::cli::{IssuerCommand, MasterKeyCommand};
use crate::config::Config;
use crate::output::emit;

/// Runs a `ferrid master-key` command.
pub fn master_key(config: &Config, json: bool, command: MasterKeyCommand) -> anyhow::Result<()> {
    match command {
        MasterKeyCommand::Create => create_master_key(config, json),
    }
}

fn create_master_key(config: &Config, json: bool) -> anyhow::Result<()> {
    if config.master_key.is_some() {
        bail!("FERRID_MASTER_KEY is set: that is this deployment's master key already");
    }
    let path = &config.master_key_file;
    if path.exists() {
        bail!("{} exists already; it is not replaced", path.display());
    }
    let store = app::open_migrated_store(config)?;
    if store.installation()?.is_some() || !store.list_signing_keys()?.is_empty() {
        bail!(
            "this database was set up with a master key already: copy that key from a node \
             that runs (its master_key_file, or FERRID_MASTER_KEY) instead of creating another"
        );
    }
    let key = MasterKey::generate(path)?;
    let issuer = config.settings()?.issuer;
    app::check_installation(&store, &issuer, &key, SystemClock.now())?;
    emit(
        json,
        &serde_json::json!({ "master_key_file": path, "issuer": issuer }),
        || {
            format!(
                "Created the master key in {} (mode 0600) and recorded it, with the issuer {issuer}, \
                 in the database.\nGive every node a copy of this file (or set FERRID_MASTER_KEY \
                 to its contents) and back it up: without it the signing keys cannot be opened.",
                path.display()
            )
        },
    )
}

/// Runs a `ferrid issuer` command.
pub fn issuer(config: &Config, json: bool, command: IssuerCommand) -> anyhow::Result<()> {
    match command {
        IssuerCommand::Change => change_issuer(config, json),
    }
}

fn change_issuer(config: &Config, json: bool) -> anyhow::Result<()> {
    let store = app::open_migrated_store(config)?;
    let key = app::master_key(config, &store)?;
    let issuer = config.settings()?.issuer;
    let Some(recorded) = store.installation()? else {
        bail!("no node has started on this database yet: the first one records its issuer");
    };
    // Only the holder of the deployment's master key may move it.
    if recorded.master_key_check != key.check_value() {
        bail!("this master key is not the one this database was set up with");
    }
    store
        .change_installation_issuer(&issuer)
        .context("cannot record the new issuer")?;
    emit(
        json,
        &serde_json::json!({ "previous": recorded.issuer, "issuer": issuer }),
        || {
            format!(
                "The deployment's issuer is now {issuer} (was {}). Restart every node with it; \
                 relying parties must use the new issuer too.",
                recorded.issuer
            )
        },
    )
}
