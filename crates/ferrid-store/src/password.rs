//! Password hashing with Argon2id, PHC strings in the database.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{
    Output, ParamsString, PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};

use crate::error::{StoreError, StoreResult};

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Argon2Params {
    /// Memory cost in KiB.
    pub memory_kib: u32,
    /// Number of passes.
    pub iterations: u32,
    /// Degree of parallelism.
    pub parallelism: u32,
}

impl Argon2Params {
    /// The OWASP Password Storage Cheat Sheet minimum for Argon2id:
    /// m = 19 MiB, t = 2, p = 1. This is the default.
    pub const OWASP: Argon2Params = Argon2Params {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self::OWASP
    }
}

/// Hashes and verifies passwords with fixed Argon2id parameters.
#[derive(Clone)]
pub struct PasswordHasher {
    argon2: Argon2<'static>,
    params: Argon2Params,
    /// A PHC string with the configured parameters that no password
    /// matches, verified against when the user is unknown so that unknown
    /// and known users cost the same work.
    dummy_hash: String,
}

impl PasswordHasher {
    /// Builds a hasher; fails if the parameters are out of Argon2's range.
    pub fn new(params: Argon2Params) -> StoreResult<Self> {
        let configured = params;
        let params = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            None,
        )
        .map_err(|error| StoreError::PasswordHash(error.to_string()))?;
        let dummy_hash = unmatchable_hash(&params)?;
        Ok(PasswordHasher {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            params: configured,
            dummy_hash,
        })
    }

    /// Hashes a password into a PHC string with a fresh random salt.
    pub fn hash(&self, password: &str) -> StoreResult<String> {
        let salt = SaltString::generate(&mut OsRng);
        self.argon2
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| StoreError::PasswordHash(error.to_string()))
    }

    /// Verifies `password` against a stored PHC string. A malformed stored
    /// hash verifies as false (and is logged), never as an error to the caller.
    pub fn verify(&self, password: &str, phc: &str) -> bool {
        match PasswordHash::new(phc) {
            Ok(parsed) => self
                .argon2
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
            Err(error) => {
                tracing::error!(%error, "stored password hash is malformed");
                false
            }
        }
    }

    /// Whether a stored hash was made with other parameters (or another
    /// algorithm) than the configured ones, and should be replaced after
    /// the next successful login.
    pub fn needs_rehash(&self, phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        let Ok(params) = Params::try_from(&parsed) else {
            return true;
        };
        parsed.algorithm != Algorithm::Argon2id.ident()
            || parsed.version != Some(Version::V0x13.into())
            || params.m_cost() != self.params.memory_kib
            || params.t_cost() != self.params.iterations
            || params.p_cost() != self.params.parallelism
    }

    /// Spends the same work as [`verify`](Self::verify) for a user that does
    /// not exist, and always fails.
    pub fn verify_unknown_user(&self, password: &str) -> bool {
        let _ = self.verify(password, &self.dummy_hash);
        false
    }
}

/// A PHC string with `params`, a random salt and a random "hash" that no
/// password produces (2^-256). Built, not computed: hashing a password
/// here would cost every start (and every CLI command) one Argon2id run
/// and leave its memory (19 MiB by default) in the allocator's heap.
fn unmatchable_hash(params: &Params) -> StoreResult<String> {
    let failed = |error: argon2::password_hash::Error| StoreError::PasswordHash(error.to_string());
    let salt = SaltString::generate(&mut OsRng);
    let random: [u8; 32] = rand::random();
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(failed)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&random).map_err(failed)?),
    };
    Ok(hash.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: Argon2Params = Argon2Params {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn hashes_are_argon2id_phc_strings_that_verify() {
        let hasher = PasswordHasher::new(CHEAP).unwrap();
        let hash = hasher.hash("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(hasher.verify("correct horse", &hash));
        assert!(!hasher.verify("wrong horse", &hash));
        assert!(!hasher.verify("correct horse", "not a phc string"));
        assert!(!hasher.verify_unknown_user("correct horse"));
        assert!(!hasher.needs_rehash(&hash));
    }

    #[test]
    fn the_unknown_user_hash_has_the_configured_cost_and_matches_nothing() {
        let hasher = PasswordHasher::new(CHEAP).unwrap();
        let dummy = PasswordHash::new(&hasher.dummy_hash).expect("a well-formed PHC string");
        // Same algorithm and parameters as a real hash: the same work.
        assert!(!hasher.needs_rehash(&hasher.dummy_hash));
        assert_eq!(dummy.hash.map(|hash| hash.len()), Some(32));
        assert!(!hasher.verify("", &hasher.dummy_hash));
        assert_ne!(
            hasher.dummy_hash,
            PasswordHasher::new(CHEAP).unwrap().dummy_hash,
            "each start draws a new salt and output"
        );
    }

    #[test]
    fn hashes_with_other_parameters_need_a_rehash() {
        let old = PasswordHasher::new(CHEAP).unwrap().hash("pw").unwrap();
        let stronger = PasswordHasher::new(Argon2Params {
            memory_kib: 128,
            ..CHEAP
        })
        .unwrap();
        assert!(stronger.needs_rehash(&old));
        assert!(stronger.verify("pw", &old));
        assert!(!stronger.needs_rehash(&stronger.hash("pw").unwrap()));
        assert!(!stronger.needs_rehash("not a phc string"));
    }

    #[test]
    fn default_parameters_meet_owasp() {
        let params = Argon2Params::default();
        assert!(params.memory_kib >= 19 * 1024);
        assert!(params.iterations >= 2);
        assert!(params.parallelism >= 1);
    }

    #[test]
    fn out_of_range_parameters_are_rejected() {
        let bad = Argon2Params {
            memory_kib: 1,
            iterations: 0,
            parallelism: 1,
        };
        assert!(PasswordHasher::new(bad).is_err());
    }
}
