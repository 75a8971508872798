//! Signing keys. The private half arrives sealed by `ferrid-tokens`; this
//! layer never sees key material in the clear.

use diesel::prelude::*;

use crate::error::{StoreError, StoreResult};
use crate::schema::signing_keys;
use crate::Store;

/// A signing key row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRecord {
    /// Key id, never reused.
    pub kid: String,
    /// JWS algorithm (`RS256`, …).
    pub alg: String,
    /// Lifecycle state (`current`, …).
    pub state: String,
    /// Public JWK as JSON.
    pub public_jwk: String,
    /// Private key sealed under the master key.
    pub private_key_sealed: String,
    /// Creation time, Unix seconds.
    pub created_at: i64,
}

impl Store {
    /// Stores a new signing key.
    pub fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
        let mut connection = self.connection()?;
        diesel::insert_into(signing_keys::table)
            .values(key)
            .execute(&mut connection)
            .map_err(StoreError::conflict_as("a signing key with this kid"))?;
        Ok(())
    }

    /// Every signing key, oldest first.
    pub fn list_signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        let mut connection = self.connection()?;
        Ok(signing_keys::table
            .order((signing_keys::created_at.asc(), signing_keys::kid.asc()))
            .select(SigningKeyRecord::as_select())
            .load(&mut connection)?)
    }
}
