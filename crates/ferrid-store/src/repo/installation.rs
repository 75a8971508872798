//! The deployment's record of what all its nodes must share: the issuer
//! and a check value of the master key.

use diesel::prelude::*;

use crate::error::{StoreError, StoreResult};
use crate::schema::installation;
use crate::Store;

/// What the first node recorded.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = installation)]
pub struct Installation {
    /// The issuer every node publishes.
    pub issuer: String,
    /// A one-way check value of the master key.
    pub master_key_check: String,
    /// When it was recorded, Unix seconds.
    pub created_at: i64,
}

/// Where the pairwise salt is sealed (its additional data): it names
/// what the value is, as a key's id names a sealed key.
pub const PAIRWISE_SALT_ID: &str = "pairwise-subject-salt";

impl Store {
    /// The recorded installation, if a node has started on this database.
    pub fn installation(&self) -> StoreResult<Option<Installation>> {
        let mut connection = self.connection()?;
        Ok(installation::table
            .select(Installation::as_select())
            .first(&mut connection)
            .optional()?)
    }

    /// Records `issuer` and `master_key_check` unless a node did first,
    /// and returns what is recorded: nodes starting together all get the
    /// first one's record.
    pub fn claim_installation(
        &self,
        issuer: &str,
        master_key_check: &str,
        now: i64,
    ) -> StoreResult<Installation> {
        let mut connection = self.connection()?;
        let inserted = diesel::insert_into(installation::table)
            .values((
                installation::id.eq(1),
                installation::issuer.eq(issuer),
                installation::master_key_check.eq(master_key_check),
                installation::created_at.eq(now),
            ))
            .execute(&mut connection)
            .map_err(StoreError::conflict_as("installation"));
        match inserted {
            Ok(_) | Err(StoreError::Conflict(_)) => {}
            Err(error) => return Err(error),
        }
        Ok(installation::table
            .select(Installation::as_select())
            .first(&mut connection)?)
    }

    /// The pairwise-subject salt, sealed: the stored one, or `sealed` if
    /// none was stored yet. Nodes starting together all get the first
    /// one's (a conditional UPDATE), so every node computes the same
    /// subjects.
    pub fn claim_pairwise_salt(&self, sealed: &str) -> StoreResult<String> {
        let mut connection = self.connection()?;
        diesel::update(
            installation::table
                .find(1)
                .filter(installation::pairwise_salt_sealed.is_null()),
        )
        .set(installation::pairwise_salt_sealed.eq(sealed))
        .execute(&mut connection)?;
        installation::table
            .find(1)
            .select(installation::pairwise_salt_sealed)
            .first::<Option<String>>(&mut connection)?
            .ok_or(StoreError::NotFound("installation record"))
    }

    /// Whether administrators must sign in to the console with a passkey,
    /// as an administrator set it.
    pub fn admin_passkeys_required(&self) -> StoreResult<bool> {
        let mut connection = self.connection()?;
        Ok(installation::table
            .select(installation::admin_passkeys_required)
            .first(&mut connection)
            .optional()?
            .unwrap_or(false))
    }

    /// Sets whether administrators must sign in with a passkey.
    pub fn set_admin_passkeys_required(&self, required: bool) -> StoreResult<()> {
        let mut connection = self.connection()?;
        let updated = diesel::update(installation::table.find(1))
            .set(installation::admin_passkeys_required.eq(required))
            .execute(&mut connection)?;
        if updated == 0 {
            return Err(StoreError::NotFound("installation record"));
        }
        Ok(())
    }

    /// Records a new issuer for the whole deployment (after the operator
    /// moved every node to it).
    pub fn change_installation_issuer(&self, issuer: &str) -> StoreResult<()> {
        let mut connection = self.connection()?;
        let updated = diesel::update(installation::table.find(1))
            .set(installation::issuer.eq(issuer))
            .execute(&mut connection)?;
        if updated == 0 {
            return Err(StoreError::NotFound("installation record"));
        }
        Ok(())
    }
}
