//! Signing keys. The private half arrives sealed by `ferrid-tokens`; this
//! layer never sees key material in the clear. Which key is in which state
//! is decided by the key lifecycle plan (`ferrid_tokens::lifecycle`); these
//! are its primitives. Keys come and go as [`StoredKey`], with a typed
//! algorithm and state; the row type stays private to this module.

use diesel::prelude::*;
use ferrid_tokens::{KeyState, SigningAlgorithm, StoredKey};

use crate::error::{StoreError, StoreResult};
use crate::repo::installation::PAIRWISE_SALT_ID;
use crate::schema::{clients, installation, signing_keys, users};
use crate::Store;

/// A signing key row, as the database spells it.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
struct KeyRow {
    kid: String,
    alg: String,
    state: String,
    public_jwk: String,
    private_key_sealed: String,
    created_at: i64,
    activates_at: i64,
    retired_at: Option<i64>,
}

impl KeyRow {
    fn from_key(key: &StoredKey) -> KeyRow {
        KeyRow {
            kid: key.kid.clone(),
            alg: key.alg.as_str().to_owned(),
            state: key.state.as_str().to_owned(),
            public_jwk: key.public_jwk.clone(),
            private_key_sealed: key.private_key_sealed.clone(),
            created_at: key.created_at,
            activates_at: key.activates_at,
            retired_at: key.retired_at,
        }
    }

    fn into_key(self) -> StoreResult<StoredKey> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("signing key {}: {what}", self.kid));
        Ok(StoredKey {
            alg: SigningAlgorithm::parse(&self.alg).ok_or_else(|| corrupt("alg"))?,
            state: KeyState::parse(&self.state).ok_or_else(|| corrupt("state"))?,
            kid: self.kid,
            public_jwk: self.public_jwk,
            private_key_sealed: self.private_key_sealed,
            created_at: self.created_at,
            activates_at: self.activates_at,
            retired_at: self.retired_at,
        })
    }
}

impl Store {
    /// Stores a new signing key.
    pub fn insert_signing_key(&self, key: &StoredKey) -> StoreResult<()> {
        let mut connection = self.connection()?;
        diesel::insert_into(signing_keys::table)
            .values(KeyRow::from_key(key))
            .execute(&mut connection)
            .map_err(StoreError::conflict_as(
                "a signing key with this kid, or a second current or next key of this algorithm",
            ))?;
        Ok(())
    }

    /// Every signing key, oldest first. A key whose algorithm or state
    /// this version does not know (a newer node's, during a rolling
    /// upgrade) is left out and reported, as the keyring leaves out a key
    /// it cannot open: one such row must not stop key handling.
    pub fn list_signing_keys(&self) -> StoreResult<Vec<StoredKey>> {
        let mut connection = self.connection()?;
        Ok(signing_keys::table
            .order((signing_keys::created_at.asc(), signing_keys::kid.asc()))
            .select(KeyRow::as_select())
            .load(&mut connection)?
            .into_iter()
            .filter_map(|row| match row.into_key() {
                Ok(key) => Some(key),
                Err(error) => {
                    tracing::error!(%error, "signing key left out");
                    None
                }
            })
            .collect())
    }

    /// Makes `kid` the current key of its algorithm from `now`, retiring
    /// the key that was current, in one transaction.
    pub fn promote_signing_key(
        &self,
        kid: &str,
        alg: SigningAlgorithm,
        now: i64,
    ) -> StoreResult<()> {
        let mut connection = self.connection()?;
        connection.transaction(|connection| {
            diesel::update(
                signing_keys::table
                    .filter(signing_keys::alg.eq(alg.as_str()))
                    .filter(signing_keys::state.eq(KeyState::Current.as_str()))
                    .filter(signing_keys::kid.ne(kid)),
            )
            .set((
                signing_keys::state.eq(KeyState::Retired.as_str()),
                signing_keys::retired_at.eq(now),
            ))
            .execute(connection)?;
            let promoted = diesel::update(signing_keys::table.find(kid))
                .set((
                    signing_keys::state.eq(KeyState::Current.as_str()),
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
    pub fn revoke_signing_key(&self, kid: &str, now: i64) -> StoreResult<StoredKey> {
        let mut connection = self.connection()?;
        connection.transaction(|connection| {
            let updated = diesel::update(
                signing_keys::table
                    .find(kid)
                    .filter(signing_keys::state.ne(KeyState::Revoked.as_str())),
            )
            .set((
                signing_keys::state.eq(KeyState::Revoked.as_str()),
                signing_keys::private_key_sealed.eq(""),
                signing_keys::retired_at.eq(now),
            ))
            .execute(connection)?;
            if updated != 1 {
                return Err(StoreError::NotFound("active signing key"));
            }
            signing_keys::table
                .find(kid)
                .select(KeyRow::as_select())
                .first(connection)?
                .into_key()
        })
    }

    /// Deletes retired keys that stopped signing at or before `retired_before`.
    pub fn delete_retired_signing_keys(&self, retired_before: i64) -> StoreResult<usize> {
        let mut connection = self.connection()?;
        Ok(diesel::delete(
            signing_keys::table
                .filter(signing_keys::state.eq(KeyState::Retired.as_str()))
                .filter(signing_keys::retired_at.le(retired_before)),
        )
        .execute(&mut connection)?)
    }

    /// Replaces every value sealed under the master key with
    /// `reseal(kind, id, sealed)`, in one transaction: signing keys,
    /// `client_secret_jwt` secrets and TOTP secrets (confirmed and
    /// pending) all move to the new master key, or none does. Returns how
    /// many values moved.
    pub fn reseal_all<E>(
        &self,
        reseal: impl Fn(SealedKind, &str, &str) -> Result<String, E>,
    ) -> StoreResult<Result<usize, E>> {
        let mut connection = self.connection()?;
        let outcome = connection.transaction::<_, ResealAbort<E>, _>(|connection| {
            // Write first: SQLite then takes its write lock at the start,
            // instead of failing to upgrade a read made before another
            // connection's commit (SQLITE_BUSY_SNAPSHOT, which the busy
            // timeout does not cover).
            diesel::update(
                signing_keys::table.filter(signing_keys::state.ne(KeyState::Revoked.as_str())),
            )
            .set(signing_keys::private_key_sealed.eq(signing_keys::private_key_sealed))
            .execute(connection)?;
            let mut count = 0;
            let keys: Vec<(String, String)> = signing_keys::table
                .filter(signing_keys::state.ne(KeyState::Revoked.as_str()))
                .select((signing_keys::kid, signing_keys::private_key_sealed))
                .load(connection)?;
            for (kid, sealed) in &keys {
                let resealed =
                    reseal(SealedKind::SigningKey, kid, sealed).map_err(ResealAbort::Reseal)?;
                diesel::update(signing_keys::table.find(kid))
                    .set(signing_keys::private_key_sealed.eq(resealed))
                    .execute(connection)?;
                count += 1;
            }
            let secrets: Vec<(String, Option<String>)> = clients::table
                .filter(clients::secret_sealed.is_not_null())
                .select((clients::client_id, clients::secret_sealed))
                .load(connection)?;
            for (client_id, sealed) in &secrets {
                let Some(sealed) = sealed else { continue };
                let resealed = reseal(SealedKind::ClientSecret, client_id, sealed)
                    .map_err(ResealAbort::Reseal)?;
                diesel::update(clients::table.find(client_id))
                    .set(clients::secret_sealed.eq(resealed))
                    .execute(connection)?;
                count += 1;
            }
            let totp: Vec<(String, Option<String>)> = users::table
                .filter(users::totp_secret_sealed.is_not_null())
                .select((users::id, users::totp_secret_sealed))
                .load(connection)?;
            for (user_id, sealed) in &totp {
                let Some(sealed) = sealed else { continue };
                let resealed =
                    reseal(SealedKind::TotpSecret, user_id, sealed).map_err(ResealAbort::Reseal)?;
                diesel::update(users::table.find(user_id))
                    .set(users::totp_secret_sealed.eq(resealed))
                    .execute(connection)?;
                count += 1;
            }
            let salt: Option<Option<String>> = installation::table
                .select(installation::pairwise_salt_sealed)
                .first(connection)
                .optional()?;
            if let Some(Some(sealed)) = salt {
                let resealed = reseal(SealedKind::PairwiseSalt, PAIRWISE_SALT_ID, &sealed)
                    .map_err(ResealAbort::Reseal)?;
                diesel::update(installation::table)
                    .set(installation::pairwise_salt_sealed.eq(resealed))
                    .execute(connection)?;
                count += 1;
            }
            Ok(count)
        });
        match outcome {
            Ok(count) => Ok(Ok(count)),
            Err(ResealAbort::Reseal(error)) => Ok(Err(error)),
            Err(ResealAbort::Database(error)) => Err(error.into()),
        }
    }
}

/// What a sealed value is; its id is the kid, client id or user id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedKind {
    /// A signing key's private key.
    SigningKey,
    /// A `client_secret_jwt` client's secret.
    ClientSecret,
    /// A user's TOTP secret.
    TotpSecret,
    /// The salt of pairwise subject identifiers (id
    /// [`PAIRWISE_SALT_ID`](crate::repo::installation::PAIRWISE_SALT_ID)).
    PairwiseSalt,
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
