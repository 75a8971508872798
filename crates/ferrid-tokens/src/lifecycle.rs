//! The signing-key lifecycle as a pure plan: given the stored keys, the
//! rotation policy and the time, which keys to create, which to promote
//! and which retired keys may go. Keys move *next* (published, not yet
//! signing) → *current* (signing) → *retired* (published until every token
//! it signed has expired) → deleted, or to *revoked* at any time. The
//! service layer takes the database lease, applies the actions and audits
//! them; nothing here touches storage or the clock.

use crate::keyring::{KeyState, SigningAlgorithm, StoredKey};

/// Default time between two keys of one algorithm: 30 days.
pub const DEFAULT_ROTATION_INTERVAL: i64 = 30 * 24 * 3600;
/// Default time a new key is published before it signs: 1 day, far more
/// than the JWKS cache lifetime plus the refresh interval.
pub const DEFAULT_PREPUBLISH: i64 = 24 * 3600;
/// Default bound on how long a node takes to see a key change: 10 s.
pub const DEFAULT_REFRESH_INTERVAL: i64 = 10;
/// How long clients may cache the discovery and JWKS documents
/// (`Cache-Control: public, max-age`), seconds.
pub const METADATA_MAX_AGE: i64 = 300;
/// Clock-skew allowance: added to token lifetimes before a retired key is
/// dropped, and tolerated on the times of assertions we verify: 60 s.
pub const CLOCK_SKEW: i64 = 60;
// The defaults must satisfy the rule the configuration enforces: a key is
// in every cache before it signs.
const _: () = assert!(DEFAULT_PREPUBLISH >= METADATA_MAX_AGE + DEFAULT_REFRESH_INTERVAL);

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

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyAction {
    /// Generate a key of `alg` in `state`, signing from `activates_at`.
    Create {
        /// Algorithm.
        alg: SigningAlgorithm,
        /// Initial state: `Next` or `Current`.
        state: KeyState,
        /// When it signs.
        activates_at: i64,
    },
    /// Make a stored key current; the current key of its algorithm retires.
    Promote {
        /// The key.
        kid: String,
        /// Its algorithm.
        alg: SigningAlgorithm,
    },
    /// Make the key created by the previous `Create` of `alg` current (an
    /// emergency rotation, where the key does not exist yet).
    PromoteCreated {
        /// Algorithm.
        alg: SigningAlgorithm,
    },
    /// Delete retired keys that stopped signing at or before this time.
    DeleteRetired {
        /// Unix seconds.
        retired_before: i64,
    },
}

/// The newest key of `alg` in `state`.
fn newest(keys: &[StoredKey], alg: SigningAlgorithm, state: KeyState) -> Option<&StoredKey> {
    keys.iter()
        .filter(|key| key.alg == alg && key.state == state)
        .max_by_key(|key| key.activates_at)
}

/// The scheduled work, run by every node every refresh interval: create
/// missing keys, publish the next key `prepublish` seconds before it is
/// due, promote it when due, and delete retired keys past retention.
pub fn plan(keys: &[StoredKey], policy: &KeyPolicy, now: i64) -> Vec<KeyAction> {
    let mut actions = Vec::new();
    for &alg in &policy.algorithms {
        let current = newest(keys, alg, KeyState::Current);
        let next = newest(keys, alg, KeyState::Next);
        match (current, next) {
            (None, Some(next)) => actions.push(promote(next)),
            (None, None) => actions.push(KeyAction::Create {
                alg,
                state: KeyState::Current,
                activates_at: now,
            }),
            (Some(_), Some(next)) if now >= next.activates_at => actions.push(promote(next)),
            (Some(current), None)
                if now >= current.activates_at + policy.rotation_interval - policy.prepublish =>
            {
                // The guard makes this at least the rotation date; a plan
                // that runs late still publishes the key a full pre-publish
                // period before it signs.
                actions.push(KeyAction::Create {
                    alg,
                    state: KeyState::Next,
                    activates_at: now + policy.prepublish,
                });
            }
            _ => {}
        }
    }
    let retired_before = now - policy.retention;
    if keys.iter().any(|key| {
        key.state == KeyState::Retired && key.retired_at.is_some_and(|at| at <= retired_before)
    }) {
        actions.push(KeyAction::DeleteRetired { retired_before });
    }
    actions
}

/// An operator's rotation of `algorithms`: publish a next key to sign
/// after the pre-publication period (nothing if one is already pending);
/// with `immediately`, the next key (or a new one) signs now and the
/// current one retires.
pub fn plan_rotation(
    keys: &[StoredKey],
    algorithms: &[SigningAlgorithm],
    immediately: bool,
    policy: &KeyPolicy,
    now: i64,
) -> Vec<KeyAction> {
    let mut actions = Vec::new();
    for &alg in algorithms {
        match (newest(keys, alg, KeyState::Next), immediately) {
            (Some(next), true) => actions.push(promote(next)),
            (None, true) => actions.extend([
                KeyAction::Create {
                    alg,
                    state: KeyState::Next,
                    activates_at: now,
                },
                KeyAction::PromoteCreated { alg },
            ]),
            (None, false) => actions.push(KeyAction::Create {
                alg,
                state: KeyState::Next,
                activates_at: now + policy.prepublish,
            }),
            (Some(_), false) => {}
        }
    }
    actions
}

/// After a key of `alg` was revoked: if none of that algorithm signs any
/// more, the next key (or a new one) signs from now on.
pub fn plan_after_revocation(
    keys: &[StoredKey],
    alg: SigningAlgorithm,
    now: i64,
) -> Vec<KeyAction> {
    match (
        newest(keys, alg, KeyState::Current),
        newest(keys, alg, KeyState::Next),
    ) {
        (Some(_), _) => Vec::new(),
        (None, Some(next)) => vec![promote(next)],
        (None, None) => vec![KeyAction::Create {
            alg,
            state: KeyState::Current,
            activates_at: now,
        }],
    }
}

fn promote(key: &StoredKey) -> KeyAction {
    KeyAction::Promote {
        kid: key.kid.clone(),
        alg: key.alg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SigningAlgorithm::{Es256, Rs256};

    const DAY: i64 = 86_400;

    fn key(kid: &str, alg: SigningAlgorithm, state: KeyState, activates_at: i64) -> StoredKey {
        StoredKey {
            kid: kid.into(),
            alg,
            state,
            public_jwk: String::new(),
            private_key_sealed: String::new(),
            created_at: 0,
            activates_at,
            retired_at: (state == KeyState::Retired).then_some(activates_at),
        }
    }

    fn policy(algorithms: &[SigningAlgorithm]) -> KeyPolicy {
        KeyPolicy::new(algorithms.to_vec(), 30 * DAY, DAY, 10, 3600)
    }

    fn create(alg: SigningAlgorithm, state: KeyState, activates_at: i64) -> KeyAction {
        KeyAction::Create {
            alg,
            state,
            activates_at,
        }
    }

    fn promote(kid: &str, alg: SigningAlgorithm) -> KeyAction {
        KeyAction::Promote {
            kid: kid.into(),
            alg,
        }
    }

    #[test]
    fn the_schedule_creates_publishes_promotes_and_deletes() {
        let retention = policy(&[Rs256]).retention;
        let rows: Vec<(&str, Vec<StoredKey>, i64, Vec<KeyAction>)> = vec![
            (
                "no key: one signs at once",
                vec![],
                100,
                vec![create(Rs256, KeyState::Current, 100)],
            ),
            (
                "a current key mid-life: nothing",
                vec![key("a", Rs256, KeyState::Current, 0)],
                10 * DAY,
                vec![],
            ),
            (
                "one day before rotation: publish the next key for the due time",
                vec![key("a", Rs256, KeyState::Current, 0)],
                29 * DAY,
                vec![create(Rs256, KeyState::Next, 30 * DAY)],
            ),
            (
                "overdue: the next key still gets its full pre-publication",
                vec![key("a", Rs256, KeyState::Current, 0)],
                40 * DAY,
                vec![create(Rs256, KeyState::Next, 41 * DAY)],
            ),
            (
                "next key not yet due: nothing",
                vec![
                    key("a", Rs256, KeyState::Current, 0),
                    key("b", Rs256, KeyState::Next, 30 * DAY),
                ],
                29 * DAY + 5,
                vec![],
            ),
            (
                "next key due: promoted",
                vec![
                    key("a", Rs256, KeyState::Current, 0),
                    key("b", Rs256, KeyState::Next, 30 * DAY),
                ],
                30 * DAY,
                vec![promote("b", Rs256)],
            ),
            (
                "a next key without a current one signs at once",
                vec![key("b", Rs256, KeyState::Next, 30 * DAY)],
                DAY,
                vec![promote("b", Rs256)],
            ),
            (
                "retired key within retention: kept",
                vec![
                    key("a", Rs256, KeyState::Current, DAY),
                    key("r", Rs256, KeyState::Retired, DAY),
                ],
                DAY + retention - 1,
                vec![],
            ),
            (
                "retired key past retention: deleted",
                vec![
                    key("a", Rs256, KeyState::Current, DAY),
                    key("r", Rs256, KeyState::Retired, DAY),
                ],
                DAY + retention,
                vec![KeyAction::DeleteRetired {
                    retired_before: DAY,
                }],
            ),
            (
                "revoked keys are not current",
                vec![key("x", Rs256, KeyState::Revoked, 0)],
                5,
                vec![create(Rs256, KeyState::Current, 5)],
            ),
        ];
        for (case, keys, now, expected) in rows {
            assert_eq!(plan(&keys, &policy(&[Rs256]), now), expected, "{case}");
        }
    }

    #[test]
    fn each_algorithm_has_its_own_schedule() {
        let keys = [key("a", Rs256, KeyState::Current, 0)];
        assert_eq!(
            plan(&keys, &policy(&[Rs256, Es256]), DAY),
            vec![create(Es256, KeyState::Current, DAY)]
        );
    }

    #[test]
    fn operator_rotations() {
        let p = policy(&[Rs256]);
        let current = key("a", Rs256, KeyState::Current, 0);
        let next = key("b", Rs256, KeyState::Next, 30 * DAY);
        let rows: Vec<(&str, Vec<StoredKey>, bool, Vec<KeyAction>)> = vec![
            (
                "scheduled: publish a next key",
                vec![current.clone()],
                false,
                vec![create(Rs256, KeyState::Next, 5 + DAY)],
            ),
            (
                "scheduled, one pending: nothing",
                vec![current.clone(), next.clone()],
                false,
                vec![],
            ),
            (
                "immediate, one pending: it signs now",
                vec![current.clone(), next.clone()],
                true,
                vec![promote("b", Rs256)],
            ),
            (
                "immediate, none pending: a new one signs now",
                vec![current],
                true,
                vec![
                    create(Rs256, KeyState::Next, 5),
                    KeyAction::PromoteCreated { alg: Rs256 },
                ],
            ),
        ];
        for (case, keys, immediately, expected) in rows {
            assert_eq!(
                plan_rotation(&keys, &[Rs256], immediately, &p, 5),
                expected,
                "{case}"
            );
        }
    }

    #[test]
    fn after_a_revocation_another_key_signs() {
        let next = key("b", Rs256, KeyState::Next, 30 * DAY);
        let current = key("a", Rs256, KeyState::Current, 0);
        assert_eq!(
            plan_after_revocation(&[current.clone(), next.clone()], Rs256, 9),
            vec![]
        );
        assert_eq!(
            plan_after_revocation(&[next], Rs256, 9),
            vec![promote("b", Rs256)]
        );
        assert_eq!(
            plan_after_revocation(&[], Rs256, 9),
            vec![create(Rs256, KeyState::Current, 9)]
        );
    }
}
