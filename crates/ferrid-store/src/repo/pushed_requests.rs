//! Pushed authorization requests (RFC 9126): a validated request a client
//! posted to the server, waiting for the browser to bring its
//! `request_uri` to the authorization endpoint.

use diesel::prelude::*;

use crate::error::StoreResult;
use crate::schema::pushed_authorization_requests;
use crate::Store;

/// A pushed request, as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = pushed_authorization_requests)]
pub struct PushedRequest {
    /// Digest of the random part of its `request_uri`.
    pub uri_digest: String,
    /// The client that pushed it (and alone may use it).
    pub client_id: String,
    /// The validated parameters, serialised by the server.
    pub parameters: String,
    /// Expiry, Unix seconds.
    pub expires_at: i64,
}

impl Store {
    /// Stores a pushed request.
    pub fn insert_pushed_request(&self, pushed: &PushedRequest) -> StoreResult<()> {
        let mut connection = self.connection()?;
        diesel::insert_into(pushed_authorization_requests::table)
            .values(pushed)
            .execute(&mut connection)?;
        Ok(())
    }

    /// Takes the unexpired pushed request with this digest, for `client_id`
    /// only: it is deleted as it is read, so a `request_uri` starts one
    /// authorization at most, on whichever node the browser reaches. A
    /// request pushed by another client is neither returned nor spent.
    pub fn take_pushed_request(
        &self,
        uri_digest: &str,
        client_id: &str,
        now: i64,
    ) -> StoreResult<Option<PushedRequest>> {
        self.write_transaction(|transaction| {
            let connection = transaction.connection();
            let found = pushed_authorization_requests::table
                .find(uri_digest)
                .filter(pushed_authorization_requests::client_id.eq(client_id))
                .filter(pushed_authorization_requests::expires_at.gt(now))
                .select(PushedRequest::as_select())
                .first(connection)
                .optional()?;
            let Some(found) = found else {
                return Ok(None);
            };
            let taken = diesel::delete(pushed_authorization_requests::table.find(uri_digest))
                .execute(connection)?;
            Ok((taken == 1).then_some(found))
        })
    }
}
