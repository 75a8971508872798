//! Key operations: the scheduled lifecycle and the operator's rotation,
//! revocation and master-key rewrap. What to do is planned by
//! [`ferrid_tokens::lifecycle`]; this module takes the database lease,
//! applies the plan and reports what changed, so any number of nodes (and
//! the CLI) can run it at the same moment and the work happens once.

use std::time::Duration;

use ferrid_store::{SealedKind, Store, StoreError, StoreResult};
use ferrid_tokens::lifecycle::{self, KeyAction, KeyPolicy};
use ferrid_tokens::{generate_key, totp_aad, KeyState, Keyring, MasterKey, SigningAlgorithm};
use ferrid_tokens::{StoredKey, TokenError};

use crate::audit::{Event, EventKind, Outcome};
use crate::clock::Clock;

/// Name of the rotation lease.
const LEASE: &str = "signing-keys";
/// How long the lease is held at most if its holder dies mid-job.
const LEASE_SECONDS: i64 = 60;
/// Pause between two attempts to take the lease.
const LEASE_WAIT_PAUSE: Duration = Duration::from_millis(250);
/// Attempts before giving up: a little longer than a dead holder's lease.
const LEASE_WAIT_ATTEMPTS: u32 = 4 * (LEASE_SECONDS as u32 + 10);

/// Why a key operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A key could not be generated, decrypted or parsed.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Another node held the rotation lease for too long.
    #[error("another node is rotating keys; try again")]
    Busy,
    /// No active key has this id.
    #[error("no active key with kid {0}")]
    NotFound(String),
    /// There is nothing sealed to move to a new master key.
    #[error("there are no keys to re-encrypt")]
    NothingToRewrap,
}

/// What a maintenance run or a command changed (each is also written to
/// the audit log by the operation that made it).
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
        let (kind, subject) = match self {
            KeyEvent::Created { kid, .. } => (EventKind::KeyCreate, Some(kid.as_str())),
            KeyEvent::Promoted { kid } => (EventKind::KeyRotate, Some(kid.as_str())),
            KeyEvent::Revoked { kid } => (EventKind::KeyRevoke, Some(kid.as_str())),
            KeyEvent::Deleted { .. } => (EventKind::KeyDelete, None),
        };
        Event::new(kind, Outcome::Success)
            .actor(actor)
            .detail(self.describe())
            .maybe_subject(subject)
            .write(store, now)
    }
}

/// A signing key as the admin surfaces show it: where it is on its
/// timeline, never its private part.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeyView {
    /// Key id.
    pub kid: String,
    /// Algorithm.
    pub alg: String,
    /// `next`, `current`, `retired` or `revoked`.
    pub state: String,
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// When it signs (or signed) from, RFC 3339.
    pub activates_at: String,
    /// When it stopped signing, RFC 3339.
    pub retired_at: Option<String>,
}

impl From<&StoredKey> for KeyView {
    fn from(key: &StoredKey) -> Self {
        KeyView {
            kid: key.kid.clone(),
            alg: key.alg.as_str().to_owned(),
            state: key.state.as_str().to_owned(),
            created_at: crate::clock::timestamp(key.created_at),
            activates_at: crate::clock::timestamp(key.activates_at),
            retired_at: key.retired_at.map(crate::clock::timestamp),
        }
    }
}

/// Every stored signing key, oldest first.
pub fn list(store: &Store) -> Result<Vec<StoredKey>, KeyError> {
    Ok(store.list_signing_keys()?)
}

/// Checks that `master_key` opens the stored keys, before anything is
/// sealed with it: a node started with the wrong master key must fail, not
/// add a key no other node can open.
pub fn check_master_key(store: &Store, master_key: &MasterKey) -> Result<(), KeyError> {
    let stored = store.list_signing_keys()?;
    match stored.iter().find(|key| key.state.is_published()) {
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
) -> Result<Keyring, KeyError> {
    check_master_key(store, master_key)?;
    for _ in 0..LEASE_WAIT_ATTEMPTS {
        scheduled(store, master_key, policy, clock.now(), holder)?;
        let keyring = Keyring::load(&store.list_signing_keys()?, master_key)?;
        let signing = keyring.signing_algorithms();
        if policy.algorithms.iter().all(|alg| signing.contains(alg)) {
            return Ok(keyring);
        }
        std::thread::sleep(LEASE_WAIT_PAUSE);
    }
    Err(KeyError::Busy)
}

/// Runs `work` under the rotation lease; `None` if another holder has it.
fn with_lease<T>(
    store: &Store,
    now: i64,
    holder: &str,
    work: impl FnOnce() -> Result<T, KeyError>,
) -> Result<Option<T>, KeyError> {
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
    mut work: impl FnMut(i64) -> Result<T, KeyError>,
) -> Result<T, KeyError> {
    for _ in 0..LEASE_WAIT_ATTEMPTS {
        let now = clock.now();
        if let Some(result) = with_lease(store, now, holder, || work(now))? {
            return Ok(result);
        }
        std::thread::sleep(LEASE_WAIT_PAUSE);
    }
    Err(KeyError::Busy)
}

/// Carries out a plan, in order; returns what changed.
fn apply(
    store: &Store,
    master_key: &MasterKey,
    actions: Vec<KeyAction>,
    now: i64,
) -> Result<Vec<KeyEvent>, KeyError> {
    let mut events = Vec::new();
    let mut created: Vec<StoredKey> = Vec::new();
    for action in actions {
        match action {
            KeyAction::Create {
                alg,
                state,
                activates_at,
            } => {
                check_master_key(store, master_key)?;
                let key = generate_key(alg, master_key, state, now, activates_at)?;
                store.insert_signing_key(&key)?;
                tracing::info!(kid = %key.kid, %alg, state = state.as_str(), activates_at, "created signing key");
                events.push(KeyEvent::Created {
                    kid: key.kid.clone(),
                    alg,
                    state,
                });
                created.push(key);
            }
            KeyAction::Promote { kid, alg } => events.push(promote(store, kid, alg, now)?),
            KeyAction::PromoteCreated { alg } => {
                let kid = created
                    .iter()
                    .rev()
                    .find(|key| key.alg == alg)
                    .map(|key| key.kid.clone())
                    .ok_or(StoreError::NotFound("signing key"))?;
                events.push(promote(store, kid, alg, now)?);
            }
            KeyAction::DeleteRetired { retired_before } => {
                let count = store.delete_retired_signing_keys(retired_before)?;
                if count > 0 {
                    tracing::info!(count, "deleted retired signing keys past retention");
                    events.push(KeyEvent::Deleted { count });
                }
            }
        }
    }
    Ok(events)
}

fn promote(
    store: &Store,
    kid: String,
    alg: SigningAlgorithm,
    now: i64,
) -> Result<KeyEvent, KeyError> {
    store.promote_signing_key(&kid, alg, now)?;
    tracing::info!(%kid, %alg, "signing key is now current");
    Ok(KeyEvent::Promoted { kid })
}

/// Writes each event to the audit log, done by `actor`.
fn audited(
    store: &Store,
    events: Vec<KeyEvent>,
    actor: &str,
    now: i64,
) -> Result<Vec<KeyEvent>, KeyError> {
    for event in &events {
        event.audit(store, actor, now)?;
    }
    Ok(events)
}

/// The scheduled work, run by every node every refresh interval (see
/// [`lifecycle::plan`]) and audited as done by `actor`. Returns what
/// changed; nothing if another node holds the lease.
pub fn maintain(
    store: &Store,
    master_key: &MasterKey,
    policy: &KeyPolicy,
    now: i64,
    holder: &str,
    actor: &str,
) -> Result<Vec<KeyEvent>, KeyError> {
    let events = scheduled(store, master_key, policy, now, holder)?;
    audited(store, events, actor, now)
}

/// The scheduled work under the lease, not audited: at start-up it only
/// makes sure every algorithm has a key.
fn scheduled(
    store: &Store,
    master_key: &MasterKey,
    policy: &KeyPolicy,
    now: i64,
    holder: &str,
) -> Result<Vec<KeyEvent>, KeyError> {
    let events = with_lease(store, now, holder, || {
        let actions = lifecycle::plan(&store.list_signing_keys()?, policy, now);
        apply(store, master_key, actions, now)
    })?;
    Ok(events.unwrap_or_default())
}

/// Who asks for a key operation, and under which lease name.
#[derive(Clone, Copy)]
pub struct Operator<'a> {
    /// The time.
    pub clock: &'a dyn Clock,
    /// This process's name in the lease.
    pub holder: &'a str,
    /// Who the audit log names (`cli`, an admin's user id).
    pub actor: &'a str,
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
    operator: Operator<'_>,
) -> Result<Vec<KeyEvent>, KeyError> {
    let events = with_lease_waiting(store, operator.clock, operator.holder, |now| {
        let actions = lifecycle::plan_rotation(
            &store.list_signing_keys()?,
            algorithms,
            immediately,
            policy,
            now,
        );
        apply(store, master_key, actions, now)
    })?;
    audited(store, events, operator.actor, operator.clock.now())
}

/// `ferrid key revoke KID`: withdraws a key at once; its private half is
/// erased. If it was signing, the next key (or a new one) signs from now on.
pub fn revoke(
    store: &Store,
    master_key: &MasterKey,
    kid: &str,
    operator: Operator<'_>,
) -> Result<Vec<KeyEvent>, KeyError> {
    let events = with_lease_waiting(store, operator.clock, operator.holder, |now| {
        let revoked = match store.revoke_signing_key(kid, now) {
            Err(StoreError::NotFound(_)) => return Err(KeyError::NotFound(kid.to_owned())),
            other => other?,
        };
        tracing::warn!(%kid, alg = %revoked.alg, "signing key revoked");
        let mut events = vec![KeyEvent::Revoked {
            kid: kid.to_owned(),
        }];
        let actions =
            lifecycle::plan_after_revocation(&store.list_signing_keys()?, revoked.alg, now);
        events.extend(apply(store, master_key, actions, now)?);
        Ok(events)
    })?;
    audited(store, events, operator.actor, operator.clock.now())
}

/// `ferrid key rewrap`: re-encrypts everything sealed under the master key
/// (private signing keys, `client_secret_jwt` secrets, TOTP secrets, the
/// pairwise-subject salt) under
/// `new`, in one transaction and under the lease, so no key is created
/// meanwhile, and audits it. Returns how many values moved.
pub fn rewrap(
    store: &Store,
    old: &MasterKey,
    new: &MasterKey,
    operator: Operator<'_>,
) -> Result<usize, KeyError> {
    let count = with_lease_waiting(store, operator.clock, operator.holder, |_| {
        let resealed = store.reseal_all(|kind, id, sealed| {
            let aad = match kind {
                SealedKind::SigningKey | SealedKind::ClientSecret => id.to_owned(),
                SealedKind::TotpSecret => totp_aad(id),
                SealedKind::PairwiseSalt => id.to_owned(),
            };
            let value = old.open(sealed, &aad)?;
            new.seal(&value, &aad)
        })?;
        Ok(resealed?)
    })?;
    if count == 0 {
        return Err(KeyError::NothingToRewrap);
    }
    Event::new(EventKind::KeyRewrap, Outcome::Success)
        .actor(operator.actor)
        .detail(format!("{count} sealed values moved to a new master key"))
        .write(store, operator.clock.now())?;
    Ok(count)
}
