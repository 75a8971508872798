//! Leases: a row per job name that one holder owns until it expires, so a
//! job scheduled on every node runs on one node at a time.

use diesel::prelude::*;

use crate::error::{StoreError, StoreResult};
use crate::schema::leases;
use crate::Store;

impl Store {
    /// Takes (or renews) the lease `name` for `holder` until `expires_at`,
    /// if it is free, expired, or already `holder`'s. Both steps are single
    /// atomic statements, so two nodes can never both succeed.
    pub fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<bool> {
        let mut connection = self.connection()?;
        let taken = diesel::update(
            leases::table
                .find(name)
                .filter(leases::expires_at.le(now).or(leases::holder.eq(holder))),
        )
        .set((leases::holder.eq(holder), leases::expires_at.eq(expires_at)))
        .execute(&mut connection)?;
        if taken == 1 {
            return Ok(true);
        }
        let inserted = diesel::insert_into(leases::table)
            .values((
                leases::name.eq(name),
                leases::holder.eq(holder),
                leases::expires_at.eq(expires_at),
            ))
            .execute(&mut connection)
            .map_err(StoreError::conflict_as("lease"));
        match inserted {
            Ok(_) => Ok(true),
            // Someone else holds it (or took it just now).
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Gives a lease back early.
    pub fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        let mut connection = self.connection()?;
        diesel::delete(leases::table.find(name).filter(leases::holder.eq(holder)))
            .execute(&mut connection)?;
        Ok(())
    }
}
