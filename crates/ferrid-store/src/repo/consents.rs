//! Remembered consent, per user and client.

use diesel::prelude::*;

use crate::error::StoreResult;
use crate::schema::consents;
use crate::Store;

impl Store {
    /// The scopes a user has granted a client, if any.
    pub fn find_consent(&self, user_id: &str, client_id: &str) -> StoreResult<Option<Vec<String>>> {
        let mut connection = self.connection()?;
        let scope: Option<String> = consents::table
            .find((user_id, client_id))
            .select(consents::scope)
            .first(&mut connection)
            .optional()?;
        Ok(scope.map(|scope| scope.split_whitespace().map(str::to_owned).collect()))
    }

    /// Records that a user granted a client these scopes, replacing any
    /// earlier grant.
    pub fn grant_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
        now: i64,
    ) -> StoreResult<()> {
        let mut connection = self.connection()?;
        connection.transaction(|connection| {
            diesel::delete(consents::table.find((user_id, client_id))).execute(connection)?;
            diesel::insert_into(consents::table)
                .values((
                    consents::user_id.eq(user_id),
                    consents::client_id.eq(client_id),
                    consents::scope.eq(scopes.join(" ")),
                    consents::granted_at.eq(now),
                ))
                .execute(connection)?;
            Ok(())
        })
    }
}
