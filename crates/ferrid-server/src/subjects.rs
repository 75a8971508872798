//! The `sub` each client sees for a user (OIDC Core §8): the user's id
//! (public subjects) or, for a client registered for pairwise subjects, a
//! value computed for its sector, so clients of different sectors cannot
//! tell that their users are the same person by comparing `sub`.
//!
//! A pairwise `sub` is HMAC-SHA256 under a secret salt of the sector and
//! the user id: stable for the life of the deployment, unguessable
//! without the salt. The salt is drawn once and kept in the database,
//! sealed under the master key (and moved by `key rewrap`), not derived
//! from the master key: a new master key must not change any client's
//! subjects.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ferrid_store::{Client, Store, StoreError, PAIRWISE_SALT_ID};
use ferrid_tokens::MasterKey;
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

/// Computes the `sub` values clients see.
#[derive(Clone)]
pub struct Subjects {
    salt: Arc<Zeroizing<Vec<u8>>>,
}

impl Subjects {
    /// The deployment's subjects: its stored salt, drawn and stored now
    /// if no node did before.
    pub fn load(store: &Store, master_key: &MasterKey) -> Result<Subjects, String> {
        let mut fresh = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(fresh.as_mut());
        let sealed = master_key
            .seal(fresh.as_ref(), PAIRWISE_SALT_ID)
            .map_err(|error| format!("cannot seal the pairwise salt: {error}"))?;
        let stored = store
            .claim_pairwise_salt(&sealed)
            .map_err(|error: StoreError| format!("cannot store the pairwise salt: {error}"))?;
        let salt = master_key
            .open(&stored, PAIRWISE_SALT_ID)
            .map_err(|error| format!("cannot open the pairwise salt: {error}"))?;
        Ok(Subjects::with_salt(salt))
    }

    /// Subjects under a known salt.
    pub fn with_salt(salt: Zeroizing<Vec<u8>>) -> Subjects {
        Subjects {
            salt: Arc::new(salt),
        }
    }

    /// The `sub` `client` sees for the user `user_id`.
    pub fn for_client(&self, client: &Client, user_id: &str) -> String {
        self.in_sector(client.pairwise_sector.as_deref(), user_id)
    }

    /// The `sid` `client` sees for the session `sid`: for a pairwise
    /// client, one of its sector's own, so two sectors cannot match their
    /// users by a shared session id either.
    pub fn session_for(&self, client: &Client, sid: &str) -> String {
        self.session_in_sector(client.pairwise_sector.as_deref(), sid)
    }

    /// The `sid` of session `sid` in `sector` (`None`: the id itself).
    pub fn session_in_sector(&self, sector: Option<&str>, sid: &str) -> String {
        match sector {
            Some(sector) => self.mac(&["sid", sector, sid]),
            None => sid.to_owned(),
        }
    }

    /// The `sub` of `user_id` in `sector` (`None`: public, the id itself).
    pub fn in_sector(&self, sector: Option<&str>, user_id: &str) -> String {
        match sector {
            Some(sector) => self.mac(&[sector, user_id]),
            None => user_id.to_owned(),
        }
    }

    /// HMAC-SHA256 under the salt of `parts`, each followed by a byte no
    /// host name or id contains, so that ("a", "bc") and ("ab", "c")
    /// differ; base64url.
    fn mac(&self, parts: &[&str]) -> String {
        // HMAC takes keys of any length: a 32-byte salt padded with zeros
        // to the block is the same key, through a constructor that cannot
        // fail.
        let mut block = Zeroizing::new([0u8; 64]);
        block[..self.salt.len().min(64)].copy_from_slice(&self.salt[..self.salt.len().min(64)]);
        let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new(&(*block).into());
        for (index, part) in parts.iter().enumerate() {
            if index > 0 {
                mac.update(b"\0");
            }
            mac.update(part.as_bytes());
        }
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subjects(salt: &[u8]) -> Subjects {
        Subjects::with_salt(Zeroizing::new(salt.to_vec()))
    }

    #[test]
    fn public_subjects_are_the_user_ids() {
        assert_eq!(subjects(b"salt").in_sector(None, "u1"), "u1");
    }

    #[test]
    fn pairwise_subjects_differ_per_sector_and_salt_and_are_stable() {
        let one = subjects(b"salt");
        let a = one.in_sector(Some("a.example"), "u1");
        assert_eq!(a, one.in_sector(Some("a.example"), "u1"));
        assert_ne!(a, "u1");
        assert_ne!(a, one.in_sector(Some("b.example"), "u1"));
        assert_ne!(a, one.in_sector(Some("a.example"), "u2"));
        assert_ne!(a, subjects(b"other").in_sector(Some("a.example"), "u1"));
        assert_ne!(
            one.in_sector(Some("a"), "bc"),
            one.in_sector(Some("ab"), "c")
        );
        assert_eq!(a.len(), 43);
    }

    #[test]
    fn pairwise_session_ids_differ_per_sector_and_from_subjects() {
        let one = subjects(b"salt");
        assert_eq!(one.session_in_sector(None, "s1"), "s1");
        let a = one.session_in_sector(Some("a.example"), "s1");
        assert_ne!(a, "s1");
        assert_ne!(a, one.session_in_sector(Some("b.example"), "s1"));
        assert_ne!(a, one.in_sector(Some("a.example"), "s1"));
        assert_eq!(a, one.session_in_sector(Some("a.example"), "s1"));
    }
}
