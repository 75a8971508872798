//! Loading the keyring at start-up, creating the first key if the database
//! has none.

use ferrid_store::{SigningKeyRecord, Store, StoreResult};
use ferrid_tokens::{generate_key, Keyring, MasterKey, SigningAlgorithm, StoredKey, TokenError};

/// Why the keyring could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] ferrid_store::StoreError),
    /// A key could not be generated, decrypted or parsed.
    #[error(transparent)]
    Token(#[from] TokenError),
}

/// Loads every stored key; generates and stores an RS256 key first if
/// there is none.
pub fn load_or_create(
    store: &Store,
    master_key: &MasterKey,
    now: i64,
) -> Result<Keyring, KeyringError> {
    let mut stored = stored_keys(store)?;
    if stored.is_empty() {
        let key = generate_key(SigningAlgorithm::Rs256, master_key, now)?;
        tracing::info!(kid = %key.kid, alg = %key.alg, "generated signing key");
        store.insert_signing_key(&to_record(key))?;
        // Read back: another node starting at the same moment may have
        // added its own key, and both must be published.
        stored = stored_keys(store)?;
    }
    Ok(Keyring::load(&stored, master_key)?)
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
    }
}
