//! The `ferrid` binary's library: configuration, start-up and the CLI
//! commands. The integration tests start the server through the same code
//! as `ferrid serve`.

pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
mod environment;
pub mod output;

use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command};
use crate::config::{Config, LogFormat};

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref())?;
    init_logging(&config, matches!(cli.command, Command::Serve));
    for warning in Config::environment_warnings()
        .into_iter()
        .chain(config.warnings())
    {
        tracing::warn!("{warning}");
    }
    match cli.command {
        Command::Serve => commands::serve::serve(&config),
        Command::Migrate => commands::serve::migrate(&config, cli.json),
        Command::Health => commands::health::run(&config),
        Command::Backup { to } => commands::serve::backup(&config, cli.json, &to),
        Command::Client(command) => commands::client::run(&config, cli.json, command),
        Command::Api(command) => commands::api::run(&config, cli.json, command),
        Command::Group(command) => commands::group::run_group(&config, cli.json, command),
        Command::Role(command) => commands::group::run_role(&config, cli.json, command),
        Command::User(command) => commands::user::run(&config, cli.json, command),
        Command::Key(command) => commands::key::run(&config, cli.json, command),
        Command::Audit(command) => commands::audit::run(&config, cli.json, command),
        Command::MasterKey(command) => commands::deployment::master_key(&config, cli.json, command),
        Command::Issuer(command) => commands::deployment::issuer(&config, cli.json, command),
        Command::DevCert {
            out_dir,
            hosts,
            days,
        } => commands::dev_cert::run(&out_dir, hosts, days, cli.json),
    }
}

/// Logs to standard error; `RUST_LOG` overrides the level. One-shot
/// commands log only warnings so their output stays readable. Colours
/// only on a terminal: log collectors store escape codes verbatim.
fn init_logging(config: &Config, serving: bool) {
    use std::io::IsTerminal;
    let default_level = if serving { "info" } else { "warn" };
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match config.log_format {
        // The request's span (with its id) on every line, as a field.
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
