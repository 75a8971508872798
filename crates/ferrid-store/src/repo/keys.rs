//! Signing keys. The private half arrives sealed by `ferrid-tokens`; this
//! layer never sees key material in the clear. Which key is in which state
//! is decided by the server's rotation policy; these are its primitives.

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
    /// Lifecycle state (`next`, `current`, `retired`, `revoked`).
    pub state: String,
    /// Public JWK as JSON.
    pub public_jwk: String,
    /// Private key sealed under the master key.
    pub private_key_sealed: String,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// When it starts (or started) signing, Unix seconds.
    pub activates_at: i64,
    /// When it stopped signing, Unix seconds.
    pub retired_at: Option<i64>,
}

impl Store {
    /// Stores a new signing key.
    pub fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
        let mut connection = self.connection()?;
        diesel::insert_into(signing_keys::table)
            .values(key)
            .execute(&mut connection)
            .map_err(StoreError::conflict_as(
                "a signing key with this kid, or a second current or next key of this algorithm",
            ))?;
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

    /// Makes `kid` the current key of its algorithm from `now`, retiring
    /// the key that was current, in one transaction.
    pub fn promote_signing_key(&self, kid: &str, alg: &str, now: i64) -> StoreResult<()> {
        let mut connection = self.connection()?;
        connection.transaction(|connection| {
            diesel::update(
                signing_keys::table
                    .filter(signing_keys::alg.eq(alg))
                    .filter(signing_keys::state.eq("current"))
                    .filter(signing_keys::kid.ne(kid)),
            )
            .set((
                signing_keys::state.eq("retired"),
                signing_keys::retired_at.eq(now),
            ))
            .execute(connection)?;
            let promoted = diesel::update(signing_keys::table.find(kid))
                .set((
                    signing_keys::state.eq("current"),
                    signing_keys::activates_at.eq(now),
                ))
                .execute(connection)?;
            if promoted != 1 {
                return Err(StoreError::NotFound("signing key"));
            }
            Ok(())
        })
    }

    /// Revokes a key: it leaves the JWKS and its private half is erased.
    pub fn revoke_signing_key(&self, kid: &str, now: i64) -> StoreResult<SigningKeyRecord> {
        let mut connection = self.connection()?;
        connection.transaction(|connection| {
            let updated = diesel::update(
                signing_keys::table
                    .find(kid)
                    .filter(signing_keys::state.ne("revoked")),
            )
            .set((
                signing_keys::state.eq("revoked"),
                signing_keys::private_key_sealed.eq(""),
                signing_keys::retired_at.eq(now),
            ))
            .execute(connection)?;
            if updated != 1 {
                return Err(StoreError::NotFound("active signing key"));
            }
            Ok(signing_keys::table
                .find(kid)
                .select(SigningKeyRecord::as_select())
                .first(connection)?)
        })
    }

    /// Deletes retired keys that stopped signing at or before `retired_before`.
    pub fn delete_retired_signing_keys(&self, retired_before: i64) -> StoreResult<usize> {
        let mut connection = self.connection()?;
        Ok(diesel::delete(
            signing_keys::table
                .filter(signing_keys::state.eq("retired"))
                .filter(signing_keys::retired_at.le(retired_before)),
        )
        .execute(&mut connection)?)
    }

    /// Replaces every sealed private key with `reseal(key)`, in one
    /// transaction: either all keys move to the new master key or none.
    pub fn reseal_signing_keys<E>(
        &self,
        reseal: impl Fn(&SigningKeyRecord) -> Result<String, E>,
    ) -> StoreResult<Result<usize, E>> {
        let mut connection = self.connection()?;
        let outcome = connection.transaction::<_, ResealAbort<E>, _>(|connection| {
            // Write first: SQLite then takes its write lock at the start,
            // instead of failing to upgrade a read made before another
            // connection's commit (SQLITE_BUSY_SNAPSHOT, which the busy
            // timeout does not cover).
            diesel::update(signing_keys::table.filter(signing_keys::state.ne("revoked")))
                .set(signing_keys::private_key_sealed.eq(signing_keys::private_key_sealed))
                .execute(connection)?;
            let keys: Vec<SigningKeyRecord> = signing_keys::table
                .filter(signing_keys::state.ne("revoked"))
                .select(SigningKeyRecord::as_select())
                .load(connection)?;
            for key in &keys {
                let sealed = reseal(key).map_err(ResealAbort::Reseal)?;
                diesel::update(signing_keys::table.find(&key.kid))
                    .set(signing_keys::private_key_sealed.eq(sealed))
                    .execute(connection)?;
            }
            Ok(keys.len())
        });
        match outcome {
            Ok(count) => Ok(Ok(count)),
            Err(ResealAbort::Reseal(error)) => Ok(Err(error)),
            Err(ResealAbort::Database(error)) => Err(error.into()),
        }
    }
}

/// Why a reseal transaction rolled back.
enum ResealAbort<E> {
    Reseal(E),
    Database(diesel::result::Error),
}

impl<E> From<diesel::result::Error> for ResealAbort<E> {
    fn from(error: diesel::result::Error) -> Self {
        ResealAbort::Database(error)
    }
}
