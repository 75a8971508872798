//! Deleting expired codes, tokens, sessions and records, on one node at a
//! time (a lease), as part of each node's background work.

use ferrid_store::{Removed, Retention, Store, StoreResult};

/// Name of the cleanup lease.
const LEASE: &str = "housekeeping";
/// How long a dead holder keeps the lease.
const LEASE_SECONDS: i64 = 60;
/// Redeemed codes are kept this long past expiry, so a late replay still
/// revokes the tokens of the first redemption: 1 hour.
pub const CODE_RETENTION: i64 = 3600;

/// Deletes what expired; `None` if another node is doing it.
/// `longest_token_ttl` keeps grants until their last access token expired;
/// `audit_retention_days` of 0 keeps audit events for ever.
pub fn run(
    store: &Store,
    now: i64,
    longest_token_ttl: i64,
    audit_retention_days: i64,
    holder: &str,
) -> StoreResult<Option<Removed>> {
    if !store.try_acquire_lease(LEASE, holder, now, now + LEASE_SECONDS)? {
        return Ok(None);
    }
    let retention = Retention {
        codes: CODE_RETENTION,
        grants: longest_token_ttl,
        // Configuration bounds the days; checked anyway, since a wrapped
        // product would delete every event.
        audit_events: audit_retention_days
            .checked_mul(86_400)
            .filter(|seconds| *seconds > 0),
    };
    let removed = store.delete_expired(now, &retention);
    store.release_lease(LEASE, holder)?;
    let removed = removed?;
    if removed.total() > 0 {
        tracing::info!(?removed, "deleted expired rows");
    }
    Ok(Some(removed))
}
