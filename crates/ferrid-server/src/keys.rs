//! The signing-key lifecycle: which key signs, when the next one is
//! published and when it takes over, when a retired key may go, and the
//! operator's rotation and revocation commands.
//!
//! Every change runs under a database lease, so any number of nodes (and
//! the CLI) can run it at the same moment and the work happens once. Every
//! node reloads its keyring when the stored keys change (see
//! [`AppState::refresh_keys`](crate::AppState::refresh_keys)).

use std::time::Duration;

use ferrid_store::{SealedKind, SigningKeyRecord, Store, StoreError, StoreResult};
use ferrid_tokens::{
    generate_key, KeyState, Keyring, MasterKey, SigningAlgorithm, StoredKey, TokenError,
};

use crate::clock::Clock;

/// Default time between two keys of one algorithm: 30 days.
pub const DEFAULT_ROTATION_INTERVAL: i64 = 30 * 24 * 3600;
/// Default time a new key is published before it signs: 1 day, far more
/// than the JWKS cache lifetime plus the refresh interval.
pub const DEFAULT_PREPUBLISH: i64 = 24 * 3600;
/// Default bound on how long a node takes to see a key change: 10 s.
pub const DEFAULT_REFRESH_INTERVAL: i64 = 10;
// The defaults must satisfy the rule the configuration enforces: a key is
// in every cache before it signs.
const _: () =
    assert!(DEFAULT_PREPUBLISH >= crate::settings::METADATA_MAX_AGE + DEFAULT_REFRESH_INTERVAL);

/// Clock-skew allowance added to token lifetimes before a retired key is
/// dropped: 60 s.
pub const CLOCK_SKEW: i64 = 60;
/// Name of the rotation lease.
const LEASE: &str = "signing-keys";
/// How long the lease is held at most if its holder dies mid-job.
const LEASE_SECONDS: i64 = 60;
/// Pause between two attempts to take the lease.
const LEASE_WAIT_PAUSE: Duration = Duration::from_millis(250);
/// Attempts before giving up: a little longer than a dead holder's lease.
const LEASE_WAIT_ATTEMPTS: u32 = 4 * (LEASE_SECONDS as u32 + 10);

/// Why key handling failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A key could not be generated, decrypted or parsed.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Another node held the rotation lease for too long.
    #[error("another node is rotating keys; try again")]
    Busy,
    /// No such key, or not in a state that allows the operation.
    #[error("{0}")]
    Refused(String),
}

/// The rotation schedule.
#[derive(Debug, Clone)]
pub struct KeyPolicy {
    /// Algorithms with keys; each has its own current key.
    pub algorithms: Vec<SigningAlgorithm>,
    /// Seconds between two keys of one algorithm.
    pub rotation_interval: i64,
    /// Seconds a key is published before it signs.
    pub prepublish: i64,
    /// Seconds between two checks of the stored keys by each node.
    pub refresh_interval: i64,
    /// Seconds a retired key stays published: the longest token lifetime,
    /// plus clock skew, plus the refresh interval (a slower node may still
    /// sign with it that long).
    pub retention: i64,
}

impl KeyPolicy {
    /// The policy for tokens living at most `longest_token_ttl` seconds.
    pub fn new(
        algorithms: Vec<SigningAlgorithm>,
        rotation_interval: i64,
        prepublish: i64,
        refresh_interval: i64,
        longest_token_ttl: i64,
    ) -> KeyPolicy {
        KeyPolicy {
            algorithms,
            rotation_interval,
            prepublish,
            refresh_interval,
            retention: longest_token_ttl + CLOCK_SKEW + refresh_interval,
        }
    }
}

/// What a maintenance run or a command changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyEvent {
    /// A key was created in `state`.
    Created {
        /// Key id.
        kid: String,
        /// Algorithm.
        alg: SigningAlgorithm,
        /// Initial state.
        state: KeyState,
    },
    /// A key became current; the previous current key is retired.
    Promoted {
        /// Key id.
        kid: String,
    },
    /// A key was revoked.
    Revoked {
        /// Key id.
        kid: String,
    },
    /// Retired keys past their retention were deleted.
    Deleted {
        /// How many.
        count: usize,
    },
}

impl KeyEvent {
    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            KeyEvent::Created { kid, alg, state } => {
                format!("created {alg} key {kid} ({})", state.as_str())
            }
            KeyEvent::Promoted { kid } => format!("key {kid} now signs"),
            KeyEvent::Revoked { kid } => format!("revoked key {kid}"),
            KeyEvent::Deleted { count } => format!("deleted {count} expired key(s)"),
        }
    }

    /// Writes the event to the audit log, done by `actor`. Blocking.
    pub fn audit(&self, store: &Store, actor: &str, now: i64) -> StoreResult<()> {
        let (name, subject) = match self {
            KeyEvent::Created { kid, .. } => ("key.create", Some(kid)),
            KeyEvent::Promoted { kid } => ("key.rotate", Some(kid)),
            KeyEvent::Revoked { kid } => ("key.revoke", Some(kid)),
            KeyEvent::Deleted { .. } => ("key.delete", None),
        };
        let mut event = crate::audit::Event::new(name, crate::audit::Outcome::Success)
            .actor(actor)
            .detail(self.describe());
        if let Some(kid) = subject {
            event = event.subject(kid);
        }
        event.record_now(store, now)
    }
}

/// Every stored key, in the form the keyring loads.
pub fn stored_keys(store: &Store) -> StoreResult<Vec<StoredKey>> {
    Ok(store
        .list_signing_keys()?
        .into_iter()
        .map(|record| StoredKey {
            kid: record.kid,
            alg: record.alg,
            state: record.state,
            public_jwk: record.public_jwk,
            private_key_sealed: record.private_key_sealed,
            created_at: record.created_at,
            activates_at: record.activates_at,
            retired_at: record.retired_at,
        })
        .collect())
}

fn to_record(key: StoredKey) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: key.kid,
        alg: key.alg,
        state: key.state,
        public_jwk: key.public_jwk,
        private_key_sealed: key.private_key_sealed,
        created_at: key.created_at,
        activates_at: key.activates_at,
        retired_at: key.retired_at,
    }
}

/// Checks that `master_key` opens the stored keys, before anything is
/// sealed with it: a node started with the wrong master key must fail, not
/// add a key no other node can open.
pub fn check_master_key(store: &Store, master_key: &MasterKey) -> Result<(), KeyringError> {
    let stored = stored_keys(store)?;
    match stored
        .iter()
        .find(|key| KeyState::parse(&key.state) != Some(KeyState::Revoked))
    {
        Some(key) => Ok(master_key
            .open(&key.private_key_sealed, &key.kid)
            .map(drop)?),
        None => Ok(()),
    }
}

/// Loads the keyring at start-up, first making sure every algorithm of
/// the policy has a current key. Waits while another node starting at the
/// same moment holds the lease (a crashed holder's lease expires).
pub fn load_at_start(
    store: &Store,
    master_key: &MasterKey,
    policy: &KeyPolicy,
    clock: &dyn Clock,
    holder: &str,
) -> Result<Keyring, KeyringError> {
    check_master_key(store, master_key)?;
    for _ in 0..LEASE_WAIT_ATTEMPTS {
        maintain(store, master_key, policy, clock.now(), holder)?;
        let keyring = Keyring::load(&stored_keys(store)?, master_key)?;
        let signing = keyring.signing_algorithms();
        if policy.algorithms.iter().all(|alg| signing.contains(alg)) {
            return Ok(keyring);
        }
        std::thread::sleep(LEASE_WAIT_PAUSE);
    }
    Err(KeyringError::Busy)
}

/// Runs `work` under the rotation lease; `None` if another holder has it.
fn with_lease<T>(
    store: &Store,
    now: i64,
    holder: &str,
    work: impl FnOnce() -> Result<T, KeyringError>,
) -> Result<Option<T>, KeyringError> {
    if !store.try_acquire_lease(LEASE, holder, now, now + LEASE_SECONDS)? {
        return Ok(None);
    }
    let result = work();
    // Give the lease back even if the work failed, so others can retry.
    store.release_lease(LEASE, holder)?;
    result.map(Some)
}

/// Like [`with_lease`], waiting for the lease (long enough for a crashed
/// holder's lease to expire): for operator commands.
fn with_lease_waiting<T>(
    store: &Store,
    clock: &dyn Clock,
    holder: &str,
    mut work: impl FnMut(i64) -> Result<T, KeyringError>,
) -> Result<T, KeyringError> {
    for _ in 0..LEASE_WAIT_ATTEMPTS {
        let now = clock.now();
        if let Some(result) = with_lease(store, now, holder, || work(now))? {
            return Ok(result);
        }
        std::thread::sleep(LEASE_WAIT_PAUSE);
    }
    Err(KeyringError::Busy)
}

fn create(
    store: &Store,
    master_key: &MasterKey,
    alg: SigningAlgorithm,
    state: KeyState,
    now: i64,
    activates_at: i64,
) -> Result<(KeyEvent, StoredKey), KeyringError> {
    check_master_key(store, master_key)?;
    let key = generate_key(alg, master_key, state, now, activates_at)?;
    store.insert_signing_key(&to_record(key.clone()))?;
    tracing::info!(kid = %key.kid, %alg, state = state.as_str(), activates_at, "created signing key");
    let event = KeyEvent::Created {
        kid: key.kid.clone(),
        alg,
        state,
    };
    Ok((event, key))
}

fn promote(store: &Store, key: &StoredKey, now: i64) -> Result<KeyEvent, KeyringError> {
    store.promote_signing_key(&key.kid, &key.alg, now)?;
    tracing::info!(kid = %key.kid, alg = %key.alg, "signing key is now current");
    Ok(KeyEvent::Promoted {
        kid: key.kid.clone(),
    })
}

/// The keys of one algorithm by state.
struct AlgorithmKeys {
    current: Option<StoredKey>,
    next: Option<StoredKey>,
}

fn keys_of(stored: &[StoredKey], alg: SigningAlgorithm) -> AlgorithmKeys {
    let of_state = |state: KeyState| {
        stored
            .iter()
            .filter(|key| key.alg == alg.as_str() && key.state == state.as_str())
            .max_by_key(|key| key.activates_at)
            .cloned()
    };
    AlgorithmKeys {
        current: of_state(KeyState::Current),
        next: of_state(KeyState::Next),
    }
}

/// The scheduled work, run by every node every refresh interval: create
/// missing keys, publish the next key `prepublish` seconds before it is
/// due, promote it when due, and delete retired keys past retention.
/// Returns what changed; nothing if another node holds the lease.
pub fn maintain(
    store: &Store,
    master_key: &MasterKey,
    policy: &KeyPolicy,
    now: i64,
    holder: &str,
) -> Result<Vec<KeyEvent>, KeyringError> {
    let events = with_lease(store, now, holder, || {
        let stored = stored_keys(store)?;
        let mut events = Vec::new();
        for &alg in &policy.algorithms {
            let keys = keys_of(&stored, alg);
            match (keys.current, keys.next) {
                (None, Some(next)) => events.push(promote(store, &next, now)?),
                (None, None) => {
                    events.push(create(store, master_key, alg, KeyState::Current, now, now)?.0)
                }
                (Some(_), Some(next)) if now >= next.activates_at => {
                    events.push(promote(store, &next, now)?)
                }
                (Some(current), None)
                    if now
                        >= current.activates_at + policy.rotation_interval - policy.prepublish =>
                {
                    let due = (current.activates_at + policy.rotation_interval)
                        .max(now + policy.prepublish);
                    events.push(create(store, master_key, alg, KeyState::Next, now, due)?.0);
                }
                _ => {}
            }
        }
        let count = store.delete_retired_signing_keys(now - policy.retention)?;
        if count > 0 {
            tracing::info!(count, "deleted retired signing keys past retention");
            events.push(KeyEvent::Deleted { count });
        }
        Ok(events)
    })?;
    Ok(events.unwrap_or_default())
}

/// `ferrid key rotate`: publishes a next key for each algorithm now, to
/// sign after the pre-publication period; with `immediately`, the new key
/// signs at once (emergency) and the old one is retired.
pub fn rotate(
    store: &Store,
    master_key: &MasterKey,
    policy: &KeyPolicy,
    algorithms: &[SigningAlgorithm],
    immediately: bool,
    clock: &dyn Clock,
    holder: &str,
) -> Result<Vec<KeyEvent>, KeyringError> {
    with_lease_waiting(store, clock, holder, |now| {
        let stored = stored_keys(store)?;
        let mut events = Vec::new();
        for &alg in algorithms {
            let pending_next = keys_of(&stored, alg).next;
            if immediately {
                let next = match pending_next {
                    Some(next) => next,
                    None => {
                        let (event, key) =
                            create(store, master_key, alg, KeyState::Next, now, now)?;
                        events.push(event);
                        key
                    }
                };
                events.push(promote(store, &next, now)?);
            } else if pending_next.is_none() {
                let due = now + policy.prepublish;
                events.push(create(store, master_key, alg, KeyState::Next, now, due)?.0);
            }
        }
        Ok(events)
    })
}

/// `ferrid key revoke KID`: withdraws a key at once; its private half is
/// erased. If it was signing, the next key (or a new one) signs from now on.
pub fn revoke(
    store: &Store,
    master_key: &MasterKey,
    kid: &str,
    clock: &dyn Clock,
    holder: &str,
) -> Result<Vec<KeyEvent>, KeyringError> {
    with_lease_waiting(store, clock, holder, |now| {
        let revoked = match store.revoke_signing_key(kid, now) {
            Err(StoreError::NotFound(_)) => {
                return Err(KeyringError::Refused(format!(
                    "no active key with kid {kid}"
                )))
            }
            other => other?,
        };
        tracing::warn!(%kid, alg = %revoked.alg, "signing key revoked");
        let mut events = vec![KeyEvent::Revoked {
            kid: kid.to_owned(),
        }];
        // If it was signing, another key of its algorithm signs from now on.
        let alg = SigningAlgorithm::parse(&revoked.alg)
            .ok_or_else(|| KeyringError::Refused(format!("unknown algorithm {}", revoked.alg)))?;
        let keys = keys_of(&stored_keys(store)?, alg);
        match (keys.current, keys.next) {
            (Some(_), _) => {}
            (None, Some(next)) => events.push(promote(store, &next, now)?),
            (None, None) => {
                events.push(create(store, master_key, alg, KeyState::Current, now, now)?.0)
            }
        }
        Ok(events)
    })
}

/// `ferrid key rewrap`: re-encrypts everything sealed under the master key
/// (private signing keys, `client_secret_jwt` secrets, TOTP secrets) under
/// `new`, in one transaction and under the lease, so no key is created
/// meanwhile. Returns how many values moved.
pub fn rewrap(
    store: &Store,
    old: &MasterKey,
    new: &MasterKey,
    clock: &dyn Clock,
    holder: &str,
) -> Result<usize, KeyringError> {
    with_lease_waiting(store, clock, holder, |_| {
        let resealed = store.reseal_all(|kind, id, sealed| {
            let aad = match kind {
                SealedKind::SigningKey | SealedKind::ClientSecret => id.to_owned(),
                SealedKind::TotpSecret => crate::state::totp_aad(id),
            };
            let value = old.open(sealed, &aad)?;
            new.seal(&value, &aad)
        })?;
        Ok(resealed?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::METADATA_MAX_AGE;

    /// docs/keys.md states the defaults; this keeps it honest.
    #[test]
    fn documented_defaults_match_the_code() {
        let doc = include_str!("../../../docs/keys.md");
        for row in [
            format!("| `key_rotation_interval` | {DEFAULT_ROTATION_INTERVAL} s (30 days) |"),
            format!("| `key_prepublish` | {DEFAULT_PREPUBLISH} s (1 day) |"),
            format!("| `key_refresh_interval` | {DEFAULT_REFRESH_INTERVAL} s |"),
            format!("| (fixed) | {CLOCK_SKEW} s |"),
            format!("| (fixed, `Cache-Control: public, max-age`) | {METADATA_MAX_AGE} s |"),
        ] {
            assert!(doc.contains(&row), "docs/keys.md lacks {row}");
        }
        let policy = KeyPolicy::new(
            vec![SigningAlgorithm::Rs256],
            DEFAULT_ROTATION_INTERVAL,
            DEFAULT_PREPUBLISH,
            DEFAULT_REFRESH_INTERVAL,
            crate::settings::DEFAULT_ACCESS_TOKEN_TTL.max(crate::settings::DEFAULT_ID_TOKEN_TTL),
        );
        assert!(doc.contains(&format!("= {} s by default", policy.retention)));
        assert_eq!(DEFAULT_ROTATION_INTERVAL, 30 * 86_400);
        assert_eq!(DEFAULT_PREPUBLISH, 86_400);
    }
}
