//! Assertion ids already used by clients (RFC 7523 §3: `jti` replay).

use diesel::prelude::*;

use crate::error::{StoreError, StoreResult};
use crate::schema::client_assertions;
use crate::Store;

impl Store {
    /// Records that `client_id` used assertion `jti`, until `expires_at`.
    /// False if it was used before: the insert is the check, so two
    /// concurrent uses cannot both succeed.
    pub fn record_client_assertion(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: i64,
    ) -> StoreResult<bool> {
        let mut connection = self.connection()?;
        let id = crate::secret::digest(&format!("{client_id}\n{jti}"));
        match diesel::insert_into(client_assertions::table)
            .values((
                client_assertions::id.eq(id),
                client_assertions::expires_at.eq(expires_at),
            ))
            .execute(&mut connection)
            .map_err(StoreError::conflict_as("assertion"))
        {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(error) => Err(error),
        }
    }
}
