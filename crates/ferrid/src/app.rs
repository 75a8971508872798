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

/// Opens the database and applies pending migrations, as the role of
/// `migrate_database_url` when one is set. With nothing pending, nothing
/// is asked of the database but a read, so the server's role may have
/// data rights only.
pub fn open_migrated_store(config: &Config) -> anyhow::Result<Store> {
    let store = open_store(config)?;
    let applied = if config.migrate_database_url.is_empty() {
        store.migrate()
    } else {
        let settings = ferrid_store::PoolSettings::new(1);
        Store::open_with(&config.migrate_database_url, settings)
            .context("cannot open migrate_database_url")?
            .migrate()
    }
    .context(
        "cannot migrate the database (if the server's role may not change the schema, run \
         `ferrid migrate` with migrate_database_url naming the owner role)",
    )?;
    for version in applied {
        tracing::info!(%version, "applied migration");
    }
    Ok(store)
}

/// The master key: from `master_key` (environment), else the file. On
/// the embedded SQLite database the file is generated while the database
/// holds no sealed key, so a lost key file is an error and never silently
/// replaced. On PostgreSQL, shared by many nodes, no node ever invents
/// one: nodes starting together would each seal keys with their own.
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
    if is_shared_database(config) {
        bail!(
            "no master key: {} does not exist and FERRID_MASTER_KEY is not set. On a shared \
             PostgreSQL database no node creates the master key by itself; create it once with \
             `ferrid master-key create` and give every node the same key",
            path.display()
        );
    }
    let key = MasterKey::generate(path)?;
    tracing::info!(path = %path.display(), "generated a new master key (mode 0600); back it up");
    Ok(key)
}

/// Whether the database may be shared by several nodes (PostgreSQL).
pub fn is_shared_database(config: &Config) -> bool {
    matches!(
        ferrid_store::DatabaseUrl::parse(&config.database_url),
        Ok(ferrid_store::DatabaseUrl::Postgres(_))
    )
}

/// Records this node's issuer and master key as the deployment's if it is
/// the first node, and otherwise refuses to start with different ones:
/// either would make nodes issue tokens or seal keys the others reject.
pub fn check_installation(
    store: &Store,
    issuer: &str,
    key: &MasterKey,
    now: i64,
) -> anyhow::Result<()> {
    let check = key.check_value();
    let recorded = store
        .claim_installation(issuer, &check, now)
        .context("cannot read the installation record")?;
    // The check value is one-way and reveals nothing: a plain comparison.
    if recorded.master_key_check != check {
        bail!(
            "this node's master key is not the one this database was set up with: give every \
             node the same master key (a copy of the first node's master_key_file, or \
             FERRID_MASTER_KEY)"
        );
    }
    if recorded.issuer != issuer {
        bail!(
            "this node's issuer {issuer} differs from {} recorded in the database: every node \
             must publish the same issuer, or tokens one node signs are rejected by the others. \
             To move the whole deployment to a new issuer, configure it and run `ferrid issuer \
             change`",
            recorded.issuer
        );
    }
    Ok(())
}

/// Everything `serve` needs before it binds: migrated store, keys (created
/// as the key policy requires), state.
pub fn prepare(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<AppState> {
    let store = open_migrated_store(config)?;
    let master_key = master_key(config, &store)?;
    let settings = config.settings()?;
    check_installation(&store, &settings.issuer, &master_key, clock.now())?;
    let passwords = PasswordHasher::new(config.argon2)?;
    AppState::start(
        store,
        master_key,
        config.key_policy()?,
        passwords,
        settings,
        clock,
    )
    .context("cannot load the signing keys")
}
