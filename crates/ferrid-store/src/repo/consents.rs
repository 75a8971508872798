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
    /// earlier grant. Safe when the same user consents in several browser
    /// tabs at once: an insert that loses the race becomes an update.
    pub fn grant_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
        now: i64,
    ) -> StoreResult<()> {
        let mut connection = self.connection()?;
        let scope = scopes.join(" ");
        for _ in 0..3 {
            let updated = diesel::update(consents::table.find((user_id, client_id)))
                .set((consents::scope.eq(&scope), consents::granted_at.eq(now)))
                .execute(&mut connection)?;
            if updated == 1 {
                return Ok(());
            }
            let inserted = diesel::insert_into(consents::table)
                .values((
                    consents::user_id.eq(user_id),
                    consents::client_id.eq(client_id),
                    consents::scope.eq(&scope),
                    consents::granted_at.eq(now),
                ))
                .execute(&mut connection);
            match inserted {
                Ok(_) => return Ok(()),
                // Another request inserted it first: update that row.
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(crate::StoreError::Conflict("consent"))
    }
}
