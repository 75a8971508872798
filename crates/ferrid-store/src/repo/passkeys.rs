//! Passkeys (WebAuthn public key credentials) and the challenges of their
//! ceremonies. A challenge lives in the database, not in one node's
//! memory, so a ceremony started on one node can finish on any other; it
//! is taken (deleted) when used, so it works once.

use diesel::prelude::*;

use crate::error::{StoreError, StoreResult};
use crate::schema::{passkeys, users, webauthn_challenges};
use crate::Store;

/// A registered passkey.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = passkeys)]
pub struct Passkey {
    /// ferrid's id of the passkey (in URLs and the audit log).
    pub id: String,
    /// Its owner.
    pub user_id: String,
    /// The authenticator's credential id, base64url.
    pub credential_id: String,
    /// The COSE public key, base64url.
    pub public_key: String,
    /// Its COSE algorithm (-7 ES256, -8 EdDSA, -257 RS256).
    pub algorithm: i64,
    /// The last signature counter seen.
    pub sign_count: i64,
    /// Whether the credential may be synced to other devices (BE flag):
    /// fixed at registration.
    pub backup_eligible: bool,
    /// Whether it was backed up (BS flag) at its last use.
    pub backed_up: bool,
    /// The authenticator model (AAGUID, hex; zeros when not told).
    pub aaguid: String,
    /// Transports the browser reported, space-separated.
    pub transports: String,
    /// The name the user gave it.
    pub name: String,
    /// Registration time, Unix seconds.
    pub created_at: i64,
    /// Last sign-in with it, Unix seconds.
    pub last_used_at: Option<i64>,
}

/// A challenge waiting for its ceremony's response.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webauthn_challenges)]
pub struct WebauthnChallenge {
    /// Digest of the challenge.
    pub challenge_digest: String,
    /// What the ceremony is for (registration, sign-in, second factor…).
    pub purpose: String,
    /// Digest of what started it: a pending sign-in, a session or an
    /// invitation link. The response must come with the same.
    pub binding: String,
    /// The user the ceremony is for, when it is known beforehand.
    pub user_id: Option<String>,
    /// Expiry, Unix seconds.
    pub expires_at: i64,
}

/// How a use of a passkey changes its stored state.
#[derive(Debug, Clone, Copy)]
pub struct PasskeyUse<'a> {
    /// The passkey.
    pub id: &'a str,
    /// The counter it was checked against: the update applies only if
    /// it is still the stored one, so two nodes cannot both accept the
    /// same counter value.
    pub previous_count: i64,
    /// The new counter.
    pub sign_count: i64,
    /// The backup state the authenticator reported.
    pub backed_up: bool,
    /// When.
    pub now: i64,
}

/// What removing a passkey came to.
#[derive(Debug, Clone)]
pub enum PasskeyRemoval {
    /// Removed; the user's other sessions ended.
    Removed(Box<Passkey>),
    /// The user has no such passkey.
    NotFound,
    /// It is the last passkey of a passwordless account, which keeps it.
    LastOfPasswordless,
}

impl Store {
    /// Stores a challenge.
    pub fn insert_webauthn_challenge(&self, challenge: &WebauthnChallenge) -> StoreResult<()> {
        let mut connection = self.connection()?;
        diesel::insert_into(webauthn_challenges::table)
            .values(challenge)
            .execute(&mut connection)?;
        Ok(())
    }

    /// Takes the unexpired challenge with this digest, for `purpose`,
    /// bound to `binding`: it is deleted, so it answers once, on any node.
    pub fn take_webauthn_challenge(
        &self,
        challenge_digest: &str,
        purpose: &str,
        binding: &str,
        now: i64,
    ) -> StoreResult<Option<WebauthnChallenge>> {
        self.write_transaction(|transaction| {
            let connection = transaction.connection();
            let found = webauthn_challenges::table
                .find(challenge_digest)
                .filter(webauthn_challenges::purpose.eq(purpose))
                .filter(webauthn_challenges::binding.eq(binding))
                .filter(webauthn_challenges::expires_at.gt(now))
                .select(WebauthnChallenge::as_select())
                .first(connection)
                .optional()?;
            let Some(found) = found else {
                return Ok(None);
            };
            let taken = diesel::delete(webauthn_challenges::table.find(challenge_digest))
                .execute(connection)?;
            Ok((taken == 1).then_some(found))
        })
    }

    /// Stores a new passkey and counts it on its user. A user's first
    /// second factor ends their other sessions (one that signed in with
    /// the password alone must not outlive it), keeping `keep_sid`.
    pub fn insert_passkey(
        &self,
        passkey: &Passkey,
        keep_sid: Option<&str>,
        now: i64,
    ) -> StoreResult<()> {
        let mut connection = self.connection()?;
        let first_factor = users::table
            .find(&passkey.user_id)
            .select((users::passkeys, users::totp_secret_sealed.is_null()))
            .first::<(i64, bool)>(&mut connection)
            .optional()?
            .is_some_and(|(count, no_totp)| count == 0 && no_totp);
        drop(connection);
        let insert = |connection: &mut crate::DbConnection| -> StoreResult<()> {
            diesel::insert_into(passkeys::table)
                .values(passkey)
                .execute(connection)
                .map_err(StoreError::conflict_as("a passkey with this credential id"))?;
            diesel::update(users::table.find(&passkey.user_id))
                .set((
                    users::passkeys.eq(users::passkeys + 1),
                    users::updated_at.eq(now),
                ))
                .execute(connection)?;
            Ok(())
        };
        if first_factor {
            self.end_user_sessions(&passkey.user_id, keep_sid, now, insert)
                .map(drop)
        } else {
            let mut connection = self.connection()?;
            connection.transaction(|connection| insert(connection))
        }
    }

    /// The user's passkeys, oldest first.
    pub fn user_passkeys(&self, user_id: &str) -> StoreResult<Vec<Passkey>> {
        let mut connection = self.connection()?;
        Ok(passkeys::table
            .filter(passkeys::user_id.eq(user_id))
            .order((passkeys::created_at.asc(), passkeys::id.asc()))
            .select(Passkey::as_select())
            .load(&mut connection)?)
    }

    /// The passkey with this credential id, if registered.
    pub fn find_passkey_by_credential(&self, credential_id: &str) -> StoreResult<Option<Passkey>> {
        let mut connection = self.connection()?;
        Ok(passkeys::table
            .filter(passkeys::credential_id.eq(credential_id))
            .select(Passkey::as_select())
            .first(&mut connection)
            .optional()?)
    }

    /// Records a use: the new counter, backup state and time. False if
    /// the passkey is gone or another use got in first (its counter moved).
    pub fn record_passkey_use(&self, used: PasskeyUse<'_>) -> StoreResult<bool> {
        let mut connection = self.connection()?;
        let updated = diesel::update(
            passkeys::table
                .find(used.id)
                .filter(passkeys::sign_count.eq(used.previous_count)),
        )
        .set((
            passkeys::sign_count.eq(used.sign_count),
            passkeys::backed_up.eq(used.backed_up),
            passkeys::last_used_at.eq(used.now),
        ))
        .execute(&mut connection)?;
        Ok(updated == 1)
    }

    /// Removes the user's passkey `id` and ends the user's sessions but
    /// `keep_sid` (one may have signed in with a stolen authenticator).
    /// A passwordless account keeps its last passkey: the count is
    /// lowered by a conditional update, so two removals at once (two
    /// tabs, two nodes) cannot both take it.
    pub fn remove_passkey(
        &self,
        user_id: &str,
        id: &str,
        keep_sid: Option<&str>,
        now: i64,
    ) -> StoreResult<PasskeyRemoval> {
        let mut removed = None;
        let outcome = self.end_user_sessions(user_id, keep_sid, now, |connection| {
            let found = passkeys::table
                .find(id)
                .filter(passkeys::user_id.eq(user_id))
                .select(Passkey::as_select())
                .first(connection)
                .optional()?;
            let Some(found) = found else {
                return Err(StoreError::NotFound("passkey"));
            };
            let counted = diesel::update(
                users::table
                    .find(user_id)
                    .filter(users::passwordless.eq(false).or(users::passkeys.gt(1))),
            )
            .set((
                users::passkeys.eq(users::passkeys - 1),
                users::updated_at.eq(now),
            ))
            .execute(connection)?;
            if counted == 0 {
                return Err(StoreError::NotFound("another passkey"));
            }
            diesel::delete(passkeys::table.find(id)).execute(connection)?;
            removed = Some(found);
            Ok(())
        });
        match (outcome, removed) {
            (Ok(_), Some(passkey)) => Ok(PasskeyRemoval::Removed(Box::new(passkey))),
            (Err(StoreError::NotFound("passkey")), _) => Ok(PasskeyRemoval::NotFound),
            (Err(StoreError::NotFound("another passkey")), _) => {
                Ok(PasskeyRemoval::LastOfPasswordless)
            }
            (Err(other), _) => Err(other),
            (Ok(_), None) => Ok(PasskeyRemoval::NotFound),
        }
    }
}
