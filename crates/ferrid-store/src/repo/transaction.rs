//! Write transactions: one protocol step, all or nothing, on one
//! connection. Grants use them so that redeeming a code and recording its
//! grant, or rotating a refresh token and storing its successor, can never
//! be seen (or survive a crash) half done.

use diesel::connection::{AnsiTransactionManager, Connection, TransactionManager};
use diesel::prelude::*;

use crate::connection::DbConnection;
use crate::error::{StoreError, StoreResult};
use crate::repo::authorization::AuthorizationCode;
use crate::repo::grants::{self, Grant, RefreshToken};
use crate::schema::{authorization_codes, grants as grant_rows, refresh_tokens, users};
use crate::Store;

type Manager = <DbConnection as Connection>::TransactionManager;

/// A transaction in progress; its methods run on its connection.
pub struct Transaction<'c> {
    connection: &'c mut DbConnection,
}

impl Store {
    /// Runs `work` in one write transaction: committed if it returns `Ok`,
    /// rolled back if it returns `Err`. On SQLite the transaction takes the
    /// write lock when it begins (`BEGIN IMMEDIATE`), so a step that reads
    /// before it writes waits for other writers instead of failing when
    /// it upgrades. On PostgreSQL it is READ COMMITTED whatever the
    /// server's default: row locks order concurrent steps, and a step that
    /// waited on a row sees what the step before it committed (a stricter
    /// level would fail it with a serialization error instead).
    pub fn write_transaction<T, E>(
        &self,
        work: impl FnOnce(&mut Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut pooled = self.connection()?;
        let connection: &mut DbConnection = &mut pooled;
        let begun = match &mut *connection {
            DbConnection::Sqlite(sqlite) => {
                AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")
            }
            DbConnection::Postgres(postgres) => AnsiTransactionManager::begin_transaction_sql(
                postgres,
                "BEGIN ISOLATION LEVEL READ COMMITTED",
            ),
        };
        begun.map_err(StoreError::from)?;
        match work(&mut Transaction {
            connection: &mut *connection,
        }) {
            Ok(value) => {
                Manager::commit_transaction(connection).map_err(StoreError::from)?;
                Ok(value)
            }
            Err(error) => {
                // The step's own error is the one to report; a failed
                // rollback leaves a broken connection that the pool drops.
                let _ = Manager::rollback_transaction(connection);
                Err(error)
            }
        }
    }
}

impl Transaction<'_> {
    /// The transaction's connection, for the store's other modules.
    pub(crate) fn connection(&mut self) -> &mut DbConnection {
        self.connection
    }

    /// Redeems a code: marks it used by the grant `grant_id` (which the
    /// caller creates next, in this transaction) and returns it, exactly
    /// once. The conditional UPDATE is the first statement, so of
    /// concurrent redemptions one wins and the others wait for its commit
    /// and then find the code redeemed (and its grant recorded). Naming
    /// the grant here, not after creating it, saves a statement.
    pub fn redeem_authorization_code(
        &mut self,
        code_digest: &str,
        grant_id: &str,
        now: i64,
    ) -> StoreResult<Option<AuthorizationCode>> {
        let claimed = diesel::update(
            authorization_codes::table
                .find(code_digest)
                .filter(authorization_codes::redeemed_at.is_null())
                .filter(authorization_codes::expires_at.gt(now)),
        )
        .set((
            authorization_codes::redeemed_at.eq(now),
            authorization_codes::grant_id.eq(grant_id),
        ))
        .execute(self.connection)?;
        if claimed != 1 {
            return Ok(None);
        }
        Ok(authorization_codes::table
            .find(code_digest)
            .select(AuthorizationCode::as_select())
            .first(self.connection)
            .optional()?)
    }

    /// The grant of a code that was already redeemed, and its user, if
    /// any: presenting it again revokes that grant (RFC 6749 §4.1.2).
    pub fn redeemed_code_grant(
        &mut self,
        code_digest: &str,
    ) -> StoreResult<Option<(String, String)>> {
        Ok(authorization_codes::table
            .find(code_digest)
            .filter(authorization_codes::redeemed_at.is_not_null())
            .select((authorization_codes::grant_id, authorization_codes::user_id))
            .first::<(Option<String>, String)>(self.connection)
            .optional()?
            .and_then(|(grant_id, user_id)| Some((grant_id?, user_id))))
    }

    /// Stores the grant a redeemed code created (the code already names
    /// it).
    pub fn create_code_grant(&mut self, grant: &Grant) -> StoreResult<()> {
        diesel::insert_into(grant_rows::table)
            .values(grant)
            .execute(self.connection)?;
        Ok(())
    }

    /// Revokes a grant (its refresh tokens and access tokens); true if it
    /// was live.
    pub fn revoke_grant(&mut self, grant_id: &str, now: i64) -> StoreResult<bool> {
        grants::revoke_grant(self.connection, grant_id, now)
    }

    /// Whether the user exists and is not disabled.
    pub fn is_user_active(&mut self, user_id: &str) -> StoreResult<bool> {
        let active: i64 = users::table
            .find(user_id)
            .filter(users::disabled.eq(false))
            .count()
            .get_result(self.connection)?;
        Ok(active == 1)
    }

    /// A refresh token and its grant.
    pub fn find_refresh_token(
        &mut self,
        digest: &str,
    ) -> StoreResult<Option<(RefreshToken, Grant)>> {
        grants::find_refresh_token(self.connection, digest)
    }

    /// Stores a refresh token.
    pub fn insert_refresh_token(&mut self, token: &RefreshToken) -> StoreResult<()> {
        diesel::insert_into(refresh_tokens::table)
            .values(token)
            .execute(self.connection)?;
        Ok(())
    }

    /// Marks a live, unexpired refresh token used: true for exactly one
    /// caller however many present it at once (one conditional UPDATE).
    pub fn rotate_refresh_token(&mut self, digest: &str, now: i64) -> StoreResult<bool> {
        let rotated = diesel::update(
            refresh_tokens::table
                .find(digest)
                .filter(refresh_tokens::rotated_at.is_null())
                .filter(refresh_tokens::expires_at.gt(now)),
        )
        .set(refresh_tokens::rotated_at.eq(now))
        .execute(self.connection)?;
        Ok(rotated == 1)
    }

    /// Spends a rotated token's one use within the grace window: true for
    /// exactly one caller.
    pub fn use_refresh_grace(&mut self, digest: &str) -> StoreResult<bool> {
        let used = diesel::update(
            refresh_tokens::table
                .find(digest)
                .filter(refresh_tokens::grace_used.eq(false)),
        )
        .set(refresh_tokens::grace_used.eq(true))
        .execute(self.connection)?;
        Ok(used == 1)
    }
}
