//! An in-memory storage for the grants' unit tests: it keeps the storage
//! contract (one transaction per step, all or nothing, steps one at a
//! time) so the grant logic can be tested without a database. The same
//! contract is tested against SQLite beside it and against both databases
//! by the integration suite.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use ferrid_store::{AuthorizationCode, Grant, RefreshToken, StoreError, StoreResult};

use crate::grants::authorization_code::{CodeGrantStorage, CodeGrantTx};
use crate::grants::refresh::{RefreshStorage, RefreshTx};

/// What a database would hold.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    pub codes: HashMap<String, AuthorizationCode>,
    pub grants: HashMap<String, Grant>,
    pub refresh_tokens: HashMap<String, RefreshToken>,
    pub active_users: HashSet<String>,
    /// Makes the next write of a grant or refresh token fail, as a crash
    /// or a lost connection would.
    pub fail_next_write: bool,
}

/// Rows behind a lock: each step runs alone on a copy that replaces the
/// rows only if the step succeeds.
#[derive(Debug, Default)]
pub struct Memory(pub Mutex<Rows>);

impl Memory {
    fn transaction<T>(&self, step: impl FnOnce(&mut Rows) -> StoreResult<T>) -> StoreResult<T> {
        let mut rows = self.0.lock().unwrap();
        let mut working = rows.clone();
        // The injected failure is spent whether the step commits or not.
        rows.fail_next_write = false;
        let result = step(&mut working);
        if result.is_ok() {
            *rows = working;
        }
        result
    }

    /// A copy of the rows, to look at.
    pub fn rows(&self) -> Rows {
        self.0.lock().unwrap().clone()
    }
}

fn write_failure(rows: &mut Rows) -> StoreResult<()> {
    if std::mem::take(&mut rows.fail_next_write) {
        return Err(StoreError::Corrupt("the write failed".into()));
    }
    Ok(())
}

impl CodeGrantTx for Rows {
    fn redeem_code(
        &mut self,
        code_digest: &str,
        grant_id: &str,
        now: i64,
    ) -> StoreResult<Option<AuthorizationCode>> {
        Ok(self.codes.get_mut(code_digest).and_then(|code| {
            (code.redeemed_at.is_none() && code.expires_at > now).then(|| {
                code.redeemed_at = Some(now);
                code.grant_id = Some(grant_id.to_owned());
                code.clone()
            })
        }))
    }

    fn code_grant(&mut self, code_digest: &str) -> StoreResult<Option<(String, String)>> {
        Ok(self
            .codes
            .get(code_digest)
            .filter(|code| code.redeemed_at.is_some())
            .and_then(|code| Some((code.grant_id.clone()?, code.user_id.clone()))))
    }

    fn revoke_grant(&mut self, grant_id: &str, now: i64) -> StoreResult<bool> {
        Ok(match self.grants.get_mut(grant_id) {
            Some(grant) if grant.revoked_at.is_none() => {
                grant.revoked_at = Some(now);
                true
            }
            _ => false,
        })
    }

    fn is_user_active(&mut self, user_id: &str) -> StoreResult<bool> {
        Ok(self.active_users.contains(user_id))
    }

    fn record_grant(
        &mut self,
        grant: &Grant,
        refresh_token: Option<&RefreshToken>,
    ) -> StoreResult<()> {
        self.grants.insert(grant.id.clone(), grant.clone());
        write_failure(self)?;
        if let Some(token) = refresh_token {
            self.refresh_tokens
                .insert(token.token_digest.clone(), token.clone());
        }
        Ok(())
    }
}

impl RefreshTx for Rows {
    fn find_refresh_token(&mut self, digest: &str) -> StoreResult<Option<(RefreshToken, Grant)>> {
        Ok(self.refresh_tokens.get(digest).and_then(|token| {
            let grant = self.grants.get(&token.grant_id)?;
            Some((token.clone(), grant.clone()))
        }))
    }

    fn rotate_refresh_token(&mut self, digest: &str, now: i64) -> StoreResult<bool> {
        Ok(match self.refresh_tokens.get_mut(digest) {
            Some(token) if token.rotated_at.is_none() && token.expires_at > now => {
                token.rotated_at = Some(now);
                true
            }
            _ => false,
        })
    }

    fn use_refresh_grace(&mut self, digest: &str) -> StoreResult<bool> {
        Ok(match self.refresh_tokens.get_mut(digest) {
            Some(token) if !token.grace_used => {
                token.grace_used = true;
                true
            }
            _ => false,
        })
    }

    fn revoke_grant(&mut self, grant_id: &str, now: i64) -> StoreResult<bool> {
        CodeGrantTx::revoke_grant(self, grant_id, now)
    }

    fn is_user_active(&mut self, user_id: &str) -> StoreResult<bool> {
        CodeGrantTx::is_user_active(self, user_id)
    }

    fn insert_refresh_token(&mut self, token: &RefreshToken) -> StoreResult<()> {
        write_failure(self)?;
        self.refresh_tokens
            .insert(token.token_digest.clone(), token.clone());
        Ok(())
    }
}

impl CodeGrantStorage for Memory {
    fn in_transaction<T>(
        &self,
        step: impl FnOnce(&mut dyn CodeGrantTx) -> StoreResult<T>,
    ) -> StoreResult<T> {
        self.transaction(|rows| step(rows))
    }
}

impl RefreshStorage for Memory {
    fn in_transaction<T>(
        &self,
        step: impl FnOnce(&mut dyn RefreshTx) -> StoreResult<T>,
    ) -> StoreResult<T> {
        self.transaction(|rows| step(rows))
    }
}

/// Fixtures shared by the grants' tests.
pub mod fixtures {
    use ferrid_store::secret::digest;
    use ferrid_store::{AuthorizationCode, Client, GrantType, NewUser, Store};

    use crate::grants::issue::Lifetimes;

    /// The time the tests start at.
    pub const NOW: i64 = 1_000_000;

    /// Short lifetimes, easy to read in assertions.
    pub const LIFETIMES: Lifetimes = Lifetimes {
        access_token: 300,
        refresh_idle: 3_600,
        refresh_absolute: 86_400,
    };

    /// A confidential client with the code and refresh grants.
    pub fn client() -> Client {
        Client {
            client_id: "app".into(),
            name: "App".into(),
            redirect_uris: vec!["https://app.example/cb".into()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scopes: vec!["openid".into(), "offline_access".into()],
            id_token_signed_response_alg: "RS256".into(),
            ..Client::default()
        }
    }

    /// An unredeemed code `value` of `user` for [`client`], asking for
    /// refresh tokens.
    pub fn code(value: &str, user_id: &str) -> AuthorizationCode {
        AuthorizationCode {
            code_digest: digest(value),
            client_id: "app".into(),
            user_id: user_id.into(),
            sid: "sid-1".into(),
            redirect_uri: "https://app.example/cb".into(),
            scope: "openid offline_access".into(),
            nonce: Some("n-1".into()),
            code_challenge: None,
            auth_time: NOW - 5,
            created_at: NOW - 5,
            expires_at: NOW + 55,
            redeemed_at: None,
            grant_id: None,
            amr: "pwd".into(),
            resources: String::new(),
            id_token_claims: String::new(),
        }
    }

    /// A migrated SQLite database with [`client`] and one user; returns
    /// the store, the user id and the folder that holds the file.
    pub fn sqlite() -> (Store, String, tempfile::TempDir) {
        let folder = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", folder.path().join("grants.db").display());
        let store = Store::open(&url, 2).unwrap();
        store.migrate().unwrap();
        store.create_client(&client()).unwrap();
        let user = store
            .create_user(
                NewUser {
                    username: "ada",
                    email: "ada@example.com",
                    name: None,
                    password_hash: "not-a-hash",
                    passwordless: false,
                },
                NOW - 100,
            )
            .unwrap();
        (store, user.id, folder)
    }
}
