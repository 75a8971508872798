//! Start-up shared by `ferrid serve` and the integration tests: open and
//! migrate the database, obtain the master key, load the keyring.

use std::sync::Arc;

use anyhow::{bail, Context};
use ferrid_server::{AppState, Clock};
use ferrid_store::{PasswordHasher, Store};
use ferrid_tokens::MasterKey;

use crate::config::Config;

/// Opens the database named by the configuration.
pub fn open_store(config: &Config) -> anyhow::Result<Store> {
    Store::open_with(&config.database_url, config.pool_settings())
        .context("cannot open the database")
}

/// Opens the database and applies pending migrations.
pub fn open_migrated_store(config: &Config) -> anyhow::Result<Store> {
    let store = open_store(config)?;
    let applied = store.migrate().context("cannot migrate the database")?;
    for version in applied {
        tracing::info!(%version, "applied migration");
    }
    Ok(store)
}

/// The master key: from `master_key` (environment), else the file. The
/// file is generated only while the database holds no sealed key, so a
/// lost key file is an error and never silently replaced.
pub fn master_key(config: &Config, store: &Store) -> anyhow::Result<MasterKey> {
    if let Some(text) = &config.master_key {
        return MasterKey::from_base64(text).context("FERRID_MASTER_KEY is invalid");
    }
    let path = &config.master_key_file;
    if path.exists() {
        return MasterKey::load(path).map_err(anyhow::Error::from);
    }
    if !store.list_signing_keys()?.is_empty() {
        bail!(
            "the master key file {} is missing, but the database holds signing keys sealed \
             with a master key; restore the file or set FERRID_MASTER_KEY",
            path.display()
        );
    }
    let key = MasterKey::generate(path)?;
    tracing::info!(path = %path.display(), "generated a new master key (mode 0600); back it up");
    Ok(key)
}

/// Everything `serve` needs before it binds: migrated store, keys (created
/// as the key policy requires), state.
pub fn prepare(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<AppState> {
    let store = open_migrated_store(config)?;
    let master_key = master_key(config, &store)?;
    let passwords = PasswordHasher::new(config.argon2)?;
    AppState::start(
        store,
        master_key,
        config.key_policy()?,
        passwords,
        config.settings()?,
        clock,
    )
    .context("cannot load the signing keys")
}
