//! `ferrid audit tail`: reads the audit log.

use anyhow::{bail, Context};
use ferrid_service::audit::{self, AuditQuery};
use ferrid_service::{Clock, SystemClock};
use ferrid_store::AuditEvent;
use serde::Serialize;

use crate::app;
use crate::cli::AuditCommand;
use crate::config::Config;
use crate::output::{emit, timestamp};

#[derive(Serialize)]
struct EventView<'a> {
    #[serde(flatten)]
    event: &'a AuditEvent,
    time: String,
}

/// Runs an audit command.
pub fn run(config: &Config, json: bool, command: AuditCommand) -> anyhow::Result<()> {
    let store = app::open_migrated_store(config)?;
    let AuditCommand::Tail { user, since, limit } = command;
    let since = since
        .map(|text| parse_since(&text, SystemClock.now()))
        .transpose()?;
    let query = AuditQuery {
        user: user.as_deref(),
        since,
        limit,
    };
    let events = audit::query(&store, &query).map_err(|error| match error {
        audit::AuditQueryError::Limit => anyhow::anyhow!("--limit: {error}"),
        other => other.into(),
    })?;
    let views: Vec<EventView> = events
        .iter()
        .map(|event| EventView {
            event,
            time: timestamp(event.at),
        })
        .collect();
    emit(json, &views, || {
        views
            .iter()
            .map(|view| {
                let event = view.event;
                let mut line = format!("{} {:<28} {:<8}", view.time, event.event, event.outcome);
                for (name, value) in [
                    ("actor", &event.actor),
                    ("subject", &event.subject),
                    ("client", &event.client_id),
                    ("ip", &event.ip),
                    ("request", &event.request_id),
                ] {
                    if let Some(value) = value {
                        line.push_str(&format!(" {name}={value}"));
                    }
                }
                if let Some(detail) = &event.detail {
                    line.push_str(&format!(" \"{detail}\""));
                }
                if event.repeats > 1 {
                    let last = event.last_at.map(timestamp).unwrap_or_default();
                    line.push_str(&format!(" repeated={} last={last}", event.repeats));
                }
                line
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// `--since`: RFC 3339, Unix seconds, or an age (`30s`, `15m`, `2h`, `7d`).
fn parse_since(text: &str, now: i64) -> anyhow::Result<i64> {
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    let (amount, unit) = text.split_at(text.len().saturating_sub(1));
    if let (Ok(amount), Some(unit)) = (amount.parse::<i64>(), unit.chars().next()) {
        let scale = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            other => bail!("--since {text}: unknown unit '{other}' (use s, m, h or d)"),
        };
        return Ok(now - amount * scale);
    }
    let parsed = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .with_context(|| {
            format!("--since {text}: not RFC 3339, Unix seconds, or an age like 2h")
        })?;
    Ok(parsed.unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::parse_since;

    #[test]
    fn since_accepts_three_forms() {
        assert_eq!(parse_since("1000", 5000).unwrap(), 1000);
        assert_eq!(parse_since("15m", 5000).unwrap(), 4100);
        assert_eq!(parse_since("1d", 100_000).unwrap(), 13_600);
        assert_eq!(
            parse_since("2026-11-29T00:00:00Z", 0).unwrap(),
            1_795_910_400
        );
        assert!(parse_since("soon", 0).is_err());
        assert!(parse_since("3w", 0).is_err());
    }
}
