//! Single-use tokens sent by e-mail (password reset, address
//! verification). Only their digest is stored.

use diesel::prelude::*;

use crate::error::StoreResult;
use crate::schema::email_tokens;
use crate::Store;

/// An e-mailed token.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = email_tokens)]
pub struct EmailToken {
    /// SHA-256 digest of the token.
    pub token_digest: String,
    /// The user it acts for.
    pub user_id: String,
    /// `password_reset` or `verify_email`.
    pub purpose: String,
    /// The address it was sent to.
    pub email: String,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Expiry, Unix seconds.
    pub expires_at: i64,
    /// When it was used.
    pub used_at: Option<i64>,
}

impl Store {
    /// Stores a new token.
    pub fn create_email_token(&self, token: &EmailToken) -> StoreResult<()> {
        let mut connection = self.connection()?;
        diesel::insert_into(email_tokens::table)
            .values(token)
            .execute(&mut connection)?;
        Ok(())
    }

    /// When the newest token of this purpose was issued to the user.
    pub fn last_email_token_at(&self, user_id: &str, purpose: &str) -> StoreResult<Option<i64>> {
        let mut connection = self.connection()?;
        Ok(email_tokens::table
            .filter(email_tokens::user_id.eq(user_id))
            .filter(email_tokens::purpose.eq(purpose))
            .select(diesel::dsl::max(email_tokens::created_at))
            .first::<Option<i64>>(&mut connection)?)
    }

    /// The unused, unexpired token with this digest and purpose.
    pub fn find_email_token(
        &self,
        digest: &str,
        purpose: &str,
        now: i64,
    ) -> StoreResult<Option<EmailToken>> {
        let mut connection = self.connection()?;
        Ok(email_tokens::table
            .find(digest)
            .filter(email_tokens::purpose.eq(purpose))
            .filter(email_tokens::used_at.is_null())
            .filter(email_tokens::expires_at.gt(now))
            .select(EmailToken::as_select())
            .first(&mut connection)
            .optional()?)
    }

    /// Spends a token: one conditional UPDATE, so it works once even if
    /// followed twice at the same moment. Returns it if this call won.
    pub fn consume_email_token(
        &self,
        digest: &str,
        purpose: &str,
        now: i64,
    ) -> StoreResult<Option<EmailToken>> {
        let mut connection = self.connection()?;
        let updated = diesel::update(
            email_tokens::table
                .find(digest)
                .filter(email_tokens::purpose.eq(purpose))
                .filter(email_tokens::used_at.is_null())
                .filter(email_tokens::expires_at.gt(now)),
        )
        .set(email_tokens::used_at.eq(now))
        .execute(&mut connection)?;
        if updated == 0 {
            return Ok(None);
        }
        Ok(email_tokens::table
            .find(digest)
            .select(EmailToken::as_select())
            .first(&mut connection)
            .optional()?)
    }
}
