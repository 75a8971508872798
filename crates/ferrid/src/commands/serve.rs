//! `ferrid serve` and `ferrid migrate`.

use std::net::TcpListener;
use std::sync::Arc;

use anyhow::Context;
use ferrid_server::maintenance::KeyMaintenance;
use ferrid_server::paths;
use ferrid_server::SystemClock;

use crate::app;
use crate::config::Config;
use crate::output::emit;

/// Runs the provider until interrupted.
pub fn serve(config: &Config) -> anyhow::Result<()> {
    // Listen first: a port in use (or bad TLS files) is reported before
    // anything is created: no database, master key or signing keys.
    let tls = config.tls_config()?;
    let address = config.bind_address()?;
    let listener =
        TcpListener::bind(address).with_context(|| format!("cannot listen on {address}"))?;
    let redirect = match config.redirect_address()? {
        Some(address) => Some(
            TcpListener::bind(address).with_context(|| format!("cannot listen on {address}"))?,
        ),
        None => None,
    };
    let admin = match config.admin_address()? {
        Some(address) => Some(
            TcpListener::bind(address)
                .with_context(|| format!("cannot listen on {address} (admin_bind)"))?,
        ),
        None => None,
    };
    let state = app::prepare(config, Arc::new(SystemClock))?;
    let workers = match config.workers {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        workers => workers,
    };
    let issuer = state.settings.issuer.clone();
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%address, %issuer, scheme, mail = %state.mailer.describe(), discovery = %state.settings.endpoint(paths::DISCOVERY), "ferrid is listening");
    if state.store.count_admins()? == 0 {
        tracing::warn!(
            "no administrator yet: make a user one with `ferrid user grant-admin USERNAME` to use the admin API"
        );
    }
    // Rotation and reloads run beside the server until it stops.
    let maintenance = KeyMaintenance::spawn(state.clone())?;
    let shutdown_timeout = std::time::Duration::from_secs(config.shutdown_timeout);
    actix_web::rt::System::new().block_on(async move {
        let mut others = Vec::new();
        if let Some(listener) = redirect {
            tracing::info!(address = ?listener.local_addr().ok(), "redirecting plain HTTP to HTTPS");
            others.push(ferrid_server::tls::redirect_server(listener, issuer)?);
        }
        if let Some(listener) = admin {
            tracing::info!(address = ?listener.local_addr().ok(), "serving the admin API on its own listener");
            others.push(ferrid_server::admin_http_server(
                state.clone(),
                listener,
                workers,
                tls.clone(),
            )?);
        }
        let server = ferrid_server::http_server(state, listener, workers, tls)?;
        run_together(server, others).await
    })?;
    // The listeners are closed and in-flight requests had
    // `shutdown_timeout` to finish; a round of background work stuck on a
    // hung database must not hold the exit.
    let _ = maintenance.stop(shutdown_timeout);
    tracing::info!("ferrid stopped");
    Ok(())
}

/// Runs the main server and the others until the main one stops (all
/// stop on Ctrl-C or SIGTERM).
async fn run_together(
    main: actix_web::dev::Server,
    others: Vec<actix_web::dev::Server>,
) -> std::io::Result<()> {
    let handles: Vec<_> = others.iter().map(actix_web::dev::Server::handle).collect();
    let running: Vec<_> = others.into_iter().map(actix_web::rt::spawn).collect();
    let result = main.await;
    for handle in handles {
        handle.stop(true).await;
    }
    for server in running {
        let _ = server.await;
    }
    result
}

/// Copies the SQLite database to `to`.
pub fn backup(config: &Config, json: bool, to: &std::path::Path) -> anyhow::Result<()> {
    if to.exists() {
        anyhow::bail!("{} exists already; it is not replaced", to.display());
    }
    let store = app::open_store(config)?;
    store
        .backup_sqlite(to)
        .with_context(|| format!("cannot back up to {}", to.display()))?;
    emit(json, &serde_json::json!({ "backup": to }), || {
        format!(
            "Copied the database to {}. Keep the master key ({}) too, stored apart: \
             the signing keys in the copy are sealed with it.",
            to.display(),
            config.master_key_file.display()
        )
    })
}

/// Applies pending migrations.
pub fn migrate(config: &Config, json: bool) -> anyhow::Result<()> {
    let store = app::open_store(config)?;
    let applied = store.migrate().context("cannot migrate the database")?;
    emit(json, &serde_json::json!({ "applied": applied }), || {
        if applied.is_empty() {
            "The database is up to date.".to_owned()
        } else {
            format!(
                "Applied {} migration(s): {}",
                applied.len(),
                applied.join(", ")
            )
        }
    })
}
