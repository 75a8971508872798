//! CLI output: a human-readable default, or JSON with `--json`.

use serde::Serialize;

/// Prints `value` as JSON when `json` is set, else the human text.
pub fn emit(
    json: bool,
    value: &impl Serialize,
    human: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        println!("{}", human());
    }
    Ok(())
}

pub use ferrid_service::clock::timestamp;

#[cfg(test)]
mod tests {
    use super::timestamp;

    #[test]
    fn formats_utc_times() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(timestamp(1_795_910_400), "2026-11-29T00:00:00Z");
    }
}
