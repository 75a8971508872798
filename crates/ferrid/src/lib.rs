//! The `ferrid` binary's library: configuration, start-up and the CLI
//! commands. The integration tests start the server through the same code
//! as `ferrid serve`.

pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
mod environment;
pub mod output;

use std::sync::OnceLock;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::cli::{Cli, Command};
use crate::config::{Config, LogFormat};

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref())?;
    init_logging(&config, matches!(cli.command, Command::Serve))?;
    let result = run_command(cli, &config);
    // Spans still queued for the collector go out before the process ends.
    if let Some(provider) = TRACE_EXPORT.get() {
        let _ = provider.shutdown();
    }
    result
}

fn run_command(cli: Cli, config: &Config) -> anyhow::Result<()> {
    for warning in Config::environment_warnings()
        .into_iter()
        .chain(config.warnings())
    {
        tracing::warn!("{warning}");
    }
    match cli.command {
        Command::Serve => commands::serve::serve(config),
        Command::Migrate => commands::serve::migrate(config, cli.json),
        Command::Health => commands::health::run(config),
        Command::Backup { to } => commands::serve::backup(config, cli.json, &to),
        Command::Client(command) => commands::client::run(config, cli.json, command),
        Command::Api(command) => commands::api::run(config, cli.json, command),
        Command::Group(command) => commands::group::run_group(config, cli.json, command),
        Command::Role(command) => commands::group::run_role(config, cli.json, command),
        Command::User(command) => commands::user::run(config, cli.json, command),
        Command::Key(command) => commands::key::run(config, cli.json, command),
        Command::Audit(command) => commands::audit::run(config, cli.json, command),
        Command::MasterKey(command) => commands::deployment::master_key(config, cli.json, command),
        Command::Issuer(command) => commands::deployment::issuer(config, cli.json, command),
        Command::DevCert {
            out_dir,
            hosts,
            days,
        } => commands::dev_cert::run(&out_dir, hosts, days, cli.json),
    }
}

/// The OpenTelemetry trace pipeline, when `otlp_endpoint` is set.
static TRACE_EXPORT: OnceLock<opentelemetry_sdk::trace::SdkTracerProvider> = OnceLock::new();

/// Logs to standard error; `RUST_LOG` overrides the level. One-shot
/// commands log only warnings so their output stays readable. Colours
/// only on a terminal: log collectors store escape codes verbatim. With
/// `otlp_endpoint` set, spans (one per request, named `request`, with its
/// id) are also exported to an OpenTelemetry collector over OTLP/HTTP.
fn init_logging(config: &Config, serving: bool) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let default_level = if serving { "info" } else { "warn" };
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let ansi = std::io::stderr().is_terminal();
    let output = match config.log_format {
        // The request's span (with its id) on every line, as a field.
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .with_ansi(ansi)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(ansi)
            .boxed(),
    };
    let export = if serving && !config.otlp_endpoint.is_empty() {
        Some(trace_export(&config.otlp_endpoint)?)
    } else {
        None
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(output)
        .with(export)
        .try_init();
    Ok(())
}

/// A layer sending spans to the collector at `endpoint` (OTLP over HTTP,
/// protobuf, batched off the request path).
fn trace_export<S>(endpoint: &str) -> anyhow::Result<impl Layer<S>>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    use opentelemetry::trace::TracerProvider;
    use opentelemetry_otlp::WithExportConfig;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
        .build()
        .map_err(|error| anyhow::anyhow!("invalid configuration: otlp_endpoint: {error}"))?;
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name("ferrid")
                .build(),
        )
        .build();
    let tracer = provider.tracer("ferrid");
    let _ = TRACE_EXPORT.set(provider);
    Ok(tracing_opentelemetry::layer().with_tracer(tracer))
}
