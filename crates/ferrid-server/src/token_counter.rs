//! Tokens issued, counted per grant type in memory and added to the
//! database's hourly counts on every background tick: the dashboard gets
//! shared figures without a database write per token.

use std::collections::HashMap;
use std::sync::Mutex;

use ferrid_store::{Store, StoreResult};

/// This node's counts since the last flush.
#[derive(Debug, Default)]
pub struct TokenCounter(Mutex<HashMap<&'static str, i64>>);

impl TokenCounter {
    /// Counts one token response of `grant_type`.
    pub fn count(&self, grant_type: &'static str) {
        crate::metrics::token_issued(grant_type);
        if let Ok(mut counts) = self.0.lock() {
            *counts.entry(grant_type).or_default() += 1;
        }
    }

    /// Adds the counts to the hour of `now` in the database. Counts that
    /// could not be written are kept for the next flush.
    pub fn flush(&self, store: &Store, now: i64) -> StoreResult<()> {
        let taken: Vec<(String, i64)> = match self.0.lock() {
            Ok(mut counts) => counts
                .drain()
                .map(|(grant, count)| (grant.to_owned(), count))
                .collect(),
            Err(_) => return Ok(()),
        };
        if taken.is_empty() {
            return Ok(());
        }
        let written = store.add_token_counts(now / 3600, &taken);
        if written.is_err() {
            for (grant, count) in &taken {
                if let Some(name) = ferrid_store::GrantType::parse(grant) {
                    if let Ok(mut counts) = self.0.lock() {
                        *counts.entry(name.as_str()).or_default() += count;
                    }
                }
            }
        }
        written
    }
}
