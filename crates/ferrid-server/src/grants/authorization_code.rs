//! The authorization code grant (RFC 6749 §4.1.3, RFC 7636 §4.6).
//!
//! [`redeem`] is the whole storage step as one plain function over the
//! narrow [`CodeGrantStorage`] it declares, run in one transaction:
//! redeeming the code, recording its grant and storing the first refresh
//! token happen together, so a concurrent replay of the code always finds
//! (and revokes) what the winner got. [`exchange`] wires it to HTTP and
//! mints the tokens after the commit.

use actix_web::HttpRequest;
use ferrid_service::audit::{actors, Event, EventKind, Outcome};
use ferrid_store::secret::{digest, random_token};
use ferrid_store::{
    AuthorizationCode, Client, Grant, RefreshToken, Store, StoreResult, Transaction,
};

use crate::audit::RecordForRequest;
use crate::error::{ErrorCode, OAuthError};
use crate::grants::invalid_grant;
use crate::grants::issue::{self, Lifetimes, Subject, TokenResponse};
use crate::http::Params;
use crate::pkce;
use crate::resources;
use crate::state::AppState;
use ferrid_service::scopes;

/// What the code grant needs of storage, within one transaction.
pub trait CodeGrantTx {
    /// Marks an unexpired, unredeemed code redeemed by grant `grant_id`
    /// and returns it; `None` for every caller but one.
    fn redeem_code(
        &mut self,
        code_digest: &str,
        grant_id: &str,
        now: i64,
    ) -> StoreResult<Option<AuthorizationCode>>;
    /// The grant (and user) recorded for a code redeemed earlier.
    fn code_grant(&mut self, code_digest: &str) -> StoreResult<Option<(String, String)>>;
    /// Revokes a grant; true if it was live.
    fn revoke_grant(&mut self, grant_id: &str, now: i64) -> StoreResult<bool>;
    /// Whether the user exists and is enabled.
    fn is_user_active(&mut self, user_id: &str) -> StoreResult<bool>;
    /// Stores the grant a code created (named when it was redeemed) and
    /// the grant's first refresh token, if any.
    fn record_grant(
        &mut self,
        grant: &Grant,
        refresh_token: Option<&RefreshToken>,
    ) -> StoreResult<()>;
}

/// Storage that runs a code-grant step in one transaction: committed
/// when `step` returns `Ok` (a refusal included: a code presented wrongly
/// stays burnt), rolled back when it fails.
pub trait CodeGrantStorage {
    /// Runs `step` in one transaction.
    fn in_transaction<T>(
        &self,
        step: impl FnOnce(&mut dyn CodeGrantTx) -> StoreResult<T>,
    ) -> StoreResult<T>;
}

impl CodeGrantTx for Transaction<'_> {
    fn redeem_code(
        &mut self,
        code_digest: &str,
        grant_id: &str,
        now: i64,
    ) -> StoreResult<Option<AuthorizationCode>> {
        self.redeem_authorization_code(code_digest, grant_id, now)
    }

    fn code_grant(&mut self, code_digest: &str) -> StoreResult<Option<(String, String)>> {
        self.redeemed_code_grant(code_digest)
    }

    fn revoke_grant(&mut self, grant_id: &str, now: i64) -> StoreResult<bool> {
        Transaction::revoke_grant(self, grant_id, now)
    }

    fn is_user_active(&mut self, user_id: &str) -> StoreResult<bool> {
        Transaction::is_user_active(self, user_id)
    }

    fn record_grant(
        &mut self,
        grant: &Grant,
        refresh_token: Option<&RefreshToken>,
    ) -> StoreResult<()> {
        self.create_code_grant(grant)?;
        refresh_token.map_or(Ok(()), |token| self.insert_refresh_token(token))
    }
}

impl CodeGrantStorage for Store {
    fn in_transaction<T>(
        &self,
        step: impl FnOnce(&mut dyn CodeGrantTx) -> StoreResult<T>,
    ) -> StoreResult<T> {
        self.write_transaction(|transaction| step(transaction))
    }
}

/// The parameters of a code exchange (no `Debug`: it holds the code and
/// the verifier).
#[derive(Clone, Copy)]
pub struct CodeExchange<'a> {
    /// The code, as presented.
    pub code: &'a str,
    /// The redirect URI of the authorization request.
    pub redirect_uri: &'a str,
    /// The PKCE verifier, if sent.
    pub verifier: Option<&'a str>,
    /// The thumbprint of the DPoP key the request proved, if any.
    pub holder: Option<&'a str>,
}

/// A redeemed code: the grant it created and what to mint from it.
#[derive(Clone)]
pub struct Redeemed {
    /// The new grant.
    pub grant: Grant,
    /// The nonce of the authorization request, for the ID token.
    pub nonce: Option<String>,
    /// The granted scopes.
    pub scope: Vec<String>,
    /// The first refresh token, when the grant has them.
    pub refresh_token: Option<String>,
}

/// Never shows the refresh token.
impl std::fmt::Debug for Redeemed {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Redeemed")
            .field("grant", &self.grant.id)
            .field("scope", &self.scope)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "…"))
            .finish_non_exhaustive()
    }
}

/// Why a code exchange was refused.
#[derive(Debug)]
pub enum Refused {
    /// The code is unknown, expired or used; if it had been redeemed, the
    /// grant it created (and its user) was revoked by this presentation.
    Unusable {
        /// `(grant id, user id)` of the revoked grant.
        revoked: Option<(String, String)>,
    },
    /// The code does not belong to this request, or the user is gone.
    Invalid(OAuthError),
}

/// Redeems a code in one transaction (see the module documentation). A
/// code presented again revokes every token issued from its first
/// redemption (RFC 6749 §4.1.2, RFC 9700 §4.5).
pub fn redeem(
    storage: &impl CodeGrantStorage,
    client: &Client,
    exchange: &CodeExchange<'_>,
    lifetimes: Lifetimes,
    now: i64,
) -> StoreResult<Result<Redeemed, Refused>> {
    let code_digest = digest(exchange.code);
    let grant_id = random_token(16);
    storage.in_transaction(|tx| {
        // Redeeming first makes the code single-use even when the request
        // turns out to be wrong: a code presented wrongly is burnt (its
        // grant is then never created, and a replay revokes nothing).
        let Some(code) = tx.redeem_code(&code_digest, &grant_id, now)? else {
            let revoked = match tx.code_grant(&code_digest)? {
                // Only the first replay revokes; later ones find it done.
                Some((grant_id, user_id)) if tx.revoke_grant(&grant_id, now)? => {
                    Some((grant_id, user_id))
                }
                _ => None,
            };
            return Ok(Err(Refused::Unusable { revoked }));
        };
        if let Err(error) = check_code(&code, client, exchange.redirect_uri, exchange.verifier) {
            return Ok(Err(Refused::Invalid(error)));
        }
        if !tx.is_user_active(&code.user_id)? {
            return Ok(Err(Refused::Invalid(invalid_grant(
                "the user is no longer active",
            ))));
        }
        let scope = scopes::split(&code.scope);
        let refreshable = issue::allows_refresh(client, &scope);
        // A grant with refresh tokens lives as long as they may; one
        // without ends with its access token.
        let expires_at = now
            + if refreshable {
                lifetimes.refresh_absolute
            } else {
                lifetimes.access_token
            };
        let grant = Grant {
            id: grant_id.clone(),
            client_id: client.client_id.clone(),
            user_id: code.user_id.clone(),
            sid: code.sid.clone(),
            scope: code.scope.clone(),
            auth_time: code.auth_time,
            created_at: now,
            expires_at,
            revoked_at: None,
            amr: code.amr.clone(),
            resources: code.resources.clone(),
            id_token_claims: code.id_token_claims.clone(),
            // A public client's refresh tokens are bound to its DPoP key
            // (RFC 9449 §5); a confidential one's to its authentication.
            dpop_jkt: exchange
                .holder
                .filter(|_| !client.auth_method.is_confidential())
                .map(str::to_owned),
        };
        let refresh = refreshable.then(|| {
            issue::new_refresh_token(client, &grant, &grant.scope, lifetimes.refresh_idle, now)
        });
        tx.record_grant(&grant, refresh.as_ref().map(|(_, row)| row))?;
        Ok(Ok(Redeemed {
            grant,
            nonce: code.nonce,
            scope,
            refresh_token: refresh.map(|(token, _)| token),
        }))
    })
}

/// Redeems a code for tokens.
pub async fn exchange(
    state: &AppState,
    http: &HttpRequest,
    client: &Client,
    params: &Params,
    holder: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let code = params
        .get("code")
        .ok_or_else(|| OAuthError::invalid_request("code is required"))?
        .to_owned();
    let redirect_uri = params
        .get("redirect_uri")
        .ok_or_else(|| OAuthError::invalid_request("redirect_uri is required"))?
        .to_owned();
    let verifier = params.get("code_verifier").map(str::to_owned);
    if verifier
        .as_deref()
        .is_some_and(|verifier| !pkce::is_well_formed(verifier))
    {
        return Err(OAuthError::invalid_request(
            "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]",
        ));
    }
    let presented = Presented {
        code,
        redirect_uri,
        verifier,
        what: "authorization code",
        holder: holder.map(str::to_owned),
    };
    redeem_and_mint(state, http, client, params, presented).await
}

/// A code as presented for redemption: by the client at the token
/// endpoint, or bound to a device code the client polls with.
pub struct Presented {
    /// The code.
    pub code: String,
    /// The redirect URI it must have been issued for.
    pub redirect_uri: String,
    /// The PKCE verifier, if sent.
    pub verifier: Option<String>,
    /// What the client presented, for logs and the audit trail.
    pub what: &'static str,
    /// The thumbprint of the DPoP key the request proved, if any.
    pub holder: Option<String>,
}

/// Redeems a presented code and mints its tokens for the target the
/// token request names (RFC 8707). A code presented again revokes its
/// grant.
pub async fn redeem_and_mint(
    state: &AppState,
    http: &HttpRequest,
    client: &Client,
    params: &Params,
    presented: Presented,
) -> Result<TokenResponse, OAuthError> {
    let Presented {
        code,
        redirect_uri,
        verifier,
        what,
        holder,
    } = presented;
    let (lifetimes, now, caller) = (
        Lifetimes::of(&state.settings, client),
        state.now(),
        client.clone(),
    );
    let bound = holder.clone();
    let outcome = state
        .db(move |store| {
            let exchange = CodeExchange {
                code: &code,
                redirect_uri: &redirect_uri,
                verifier: verifier.as_deref(),
                holder: bound.as_deref(),
            };
            redeem(store, &caller, &exchange, lifetimes, now)
        })
        .await?;
    let redeemed = match outcome {
        Ok(redeemed) => redeemed,
        Err(Refused::Invalid(error)) => return Err(error),
        Err(Refused::Unusable { revoked }) => {
            if let Some((grant_id, user_id)) = revoked {
                tracing::warn!(%grant_id, "{what} reused: its tokens are revoked");
                Event::new(EventKind::GrantRevoke, Outcome::Success)
                    .actor(actors::SYSTEM)
                    .subject(user_id)
                    .client(&client.client_id)
                    .detail(format!("{what} reused; grant {grant_id}"))
                    .record(state, http)
                    .await;
            }
            return Err(OAuthError::new(
                ErrorCode::InvalidGrant,
                format!("the {what} is invalid, expired or already used"),
            ));
        }
    };
    let apis = state.apis().await?;
    let target = match resources::target_for_grant(
        &apis,
        &resources::stored(&redeemed.grant.resources),
        params.all("resource"),
    ) {
        Ok(target) => target,
        Err(error) => {
            // The code is spent; the grant it made must not outlive it.
            let grant_id = redeemed.grant.id.clone();
            state
                .db(move |store| store.revoke_grant(&grant_id, now))
                .await?;
            return Err(error);
        }
    };
    let mut response = issue::mint(
        state,
        client,
        Subject::User {
            grant: &redeemed.grant,
            nonce: redeemed.nonce.as_deref(),
        },
        &redeemed.scope,
        target,
        holder.as_deref(),
    )
    .await?;
    response.refresh_token = redeemed.refresh_token;
    Ok(response)
}

/// The checks binding a redeemed code to this token request.
fn check_code(
    code: &AuthorizationCode,
    client: &Client,
    redirect_uri: &str,
    verifier: Option<&str>,
) -> Result<(), OAuthError> {
    if code.client_id != client.client_id {
        return Err(invalid_grant(
            "the authorization code is invalid, expired or already used",
        ));
    }
    if code.redirect_uri != redirect_uri {
        return Err(invalid_grant(
            "redirect_uri does not match the one in the authorization request",
        ));
    }
    match (&code.code_challenge, verifier) {
        (None, None) => Ok(()),
        (Some(challenge), Some(verifier)) if pkce::verify(verifier, challenge) => Ok(()),
        (Some(_), Some(_)) => Err(invalid_grant(
            "code_verifier does not match the code_challenge",
        )),
        (Some(_), None) => Err(invalid_grant("code_verifier is required")),
        // RFC 9700 §2.1.1: a verifier without a challenge is a downgrade attempt.
        (None, Some(_)) => Err(invalid_grant(
            "code_verifier sent, but the authorization request had no code_challenge",
        )),
    }
}

#[cfg(test)]
mod tests {
    use ferrid_store::StoreError;

    use super::*;
    use crate::grants::memory::fixtures::{self, client, code, LIFETIMES, NOW};
    use crate::grants::memory::Memory;

    fn exchange_of(code: &str) -> CodeExchange<'_> {
        CodeExchange {
            code,
            redirect_uri: "https://app.example/cb",
            verifier: None,
            holder: None,
        }
    }

    fn memory_with_code(value: &str) -> Memory {
        memory_with_code_where(value, |_| {})
    }

    /// A memory holding code `value` of an active user, as `change` left it.
    fn memory_with_code_where(value: &str, change: impl FnOnce(&mut AuthorizationCode)) -> Memory {
        let memory = Memory::default();
        {
            let mut rows = memory.0.lock().unwrap();
            rows.active_users.insert("u1".into());
            let mut stored = code(value, "u1");
            change(&mut stored);
            rows.codes.insert(digest(value), stored);
        }
        memory
    }

    #[test]
    fn a_code_gives_one_grant_with_its_first_refresh_token() {
        let memory = memory_with_code("c1");
        let redeemed = redeem(&memory, &client(), &exchange_of("c1"), LIFETIMES, NOW)
            .unwrap()
            .unwrap();
        assert_eq!(redeemed.grant.user_id, "u1");
        assert_eq!(redeemed.grant.sid, "sid-1");
        assert_eq!(redeemed.grant.expires_at, NOW + LIFETIMES.refresh_absolute);
        assert_eq!(redeemed.nonce.as_deref(), Some("n-1"));
        let token = redeemed.refresh_token.unwrap();
        let rows = memory.rows();
        assert_eq!(
            rows.codes[&digest("c1")].grant_id.as_deref(),
            Some(redeemed.grant.id.as_str())
        );
        let stored = &rows.refresh_tokens[&digest(&token)];
        assert_eq!(stored.grant_id, redeemed.grant.id);
        assert_eq!(stored.expires_at, NOW + LIFETIMES.refresh_idle);
    }

    #[test]
    fn without_offline_access_the_grant_ends_with_its_access_token() {
        let memory = memory_with_code_where("c1", |code| code.scope = "openid".into());
        let redeemed = redeem(&memory, &client(), &exchange_of("c1"), LIFETIMES, NOW)
            .unwrap()
            .unwrap();
        assert!(redeemed.refresh_token.is_none());
        assert_eq!(redeemed.grant.expires_at, NOW + LIFETIMES.access_token);
        assert!(memory.rows().refresh_tokens.is_empty());
    }

    #[test]
    fn a_replay_revokes_the_grant_once() {
        let memory = memory_with_code("c1");
        let first = redeem(&memory, &client(), &exchange_of("c1"), LIFETIMES, NOW)
            .unwrap()
            .unwrap();
        let replay = redeem(&memory, &client(), &exchange_of("c1"), LIFETIMES, NOW + 1).unwrap();
        match replay {
            Err(Refused::Unusable {
                revoked: Some((grant_id, user_id)),
            }) => {
                assert_eq!(
                    (grant_id.as_str(), user_id.as_str()),
                    (first.grant.id.as_str(), "u1")
                );
            }
            other => panic!("expected a revoking refusal, got {other:?}"),
        }
        assert_eq!(
            memory.rows().grants[&first.grant.id].revoked_at,
            Some(NOW + 1)
        );
        let again = redeem(&memory, &client(), &exchange_of("c1"), LIFETIMES, NOW + 2).unwrap();
        assert!(matches!(again, Err(Refused::Unusable { revoked: None })));
    }

    #[test]
    fn a_code_presented_wrongly_is_burnt() {
        let cases: [fn(&mut CodeExchange<'_>, &mut Client); 4] = [
            |exchange, _| exchange.redirect_uri = "https://app.example/other",
            |exchange, _| {
                exchange.verifier = Some("a-verifier-without-any-challenge-aaaaaaaaaaaaa")
            },
            |_, client| client.client_id = "another-app".into(),
            |_, _| {},
        ];
        for (index, mutate) in cases.iter().enumerate() {
            let memory = memory_with_code("c1");
            if index == 3 {
                // The user was disabled since the code was issued.
                memory.0.lock().unwrap().active_users.clear();
            }
            let (mut exchange, mut caller) = (exchange_of("c1"), client());
            mutate(&mut exchange, &mut caller);
            let refused = redeem(&memory, &caller, &exchange, LIFETIMES, NOW).unwrap();
            assert!(matches!(refused, Err(Refused::Invalid(_))), "case {index}");
            let rows = memory.rows();
            assert!(rows.grants.is_empty(), "case {index}: no grant");
            assert_eq!(
                rows.codes[&digest("c1")].redeemed_at,
                Some(NOW),
                "case {index}: burnt"
            );
        }
    }

    #[test]
    fn pkce_binds_the_code_to_its_verifier() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        for (presented, accepted) in [
            (Some(verifier), true),
            (Some("x".repeat(43).as_str()), false),
            (None, false),
        ] {
            let memory =
                memory_with_code_where("c1", |code| code.code_challenge = Some(challenge.into()));
            let exchange = CodeExchange {
                verifier: presented,
                ..exchange_of("c1")
            };
            let outcome = redeem(&memory, &client(), &exchange, LIFETIMES, NOW).unwrap();
            assert_eq!(outcome.is_ok(), accepted, "{presented:?}");
        }
    }

    #[test]
    fn an_expired_or_unknown_code_is_refused() {
        let memory = memory_with_code("c1");
        let late = redeem(&memory, &client(), &exchange_of("c1"), LIFETIMES, NOW + 55).unwrap();
        assert!(matches!(late, Err(Refused::Unusable { revoked: None })));
        let unknown = redeem(&memory, &client(), &exchange_of("nope"), LIFETIMES, NOW).unwrap();
        assert!(matches!(unknown, Err(Refused::Unusable { revoked: None })));
    }

    #[test]
    fn a_failed_step_leaves_the_code_unredeemed() {
        let memory = memory_with_code("c1");
        memory.0.lock().unwrap().fail_next_write = true;
        assert!(redeem(&memory, &client(), &exchange_of("c1"), LIFETIMES, NOW).is_err());
        let rows = memory.rows();
        assert!(rows.codes[&digest("c1")].redeemed_at.is_none());
        assert!(rows.grants.is_empty());
        assert!(
            redeem(&memory, &client(), &exchange_of("c1"), LIFETIMES, NOW)
                .unwrap()
                .is_ok()
        );
    }

    /// The real store keeps the same contract: a step that fails after
    /// recording the grant rolls everything back (SQLite here; the
    /// integration suite races redemptions on both databases).
    #[test]
    fn the_store_redeems_and_records_in_one_transaction() {
        struct FailAfterRecord<'t, 'c>(&'t mut Transaction<'c>);
        impl CodeGrantTx for FailAfterRecord<'_, '_> {
            fn redeem_code(
                &mut self,
                digest: &str,
                grant_id: &str,
                now: i64,
            ) -> StoreResult<Option<AuthorizationCode>> {
                CodeGrantTx::redeem_code(self.0, digest, grant_id, now)
            }
            fn code_grant(&mut self, digest: &str) -> StoreResult<Option<(String, String)>> {
                CodeGrantTx::code_grant(self.0, digest)
            }
            fn revoke_grant(&mut self, grant_id: &str, now: i64) -> StoreResult<bool> {
                CodeGrantTx::revoke_grant(self.0, grant_id, now)
            }
            fn is_user_active(&mut self, user_id: &str) -> StoreResult<bool> {
                CodeGrantTx::is_user_active(self.0, user_id)
            }
            fn record_grant(
                &mut self,
                grant: &Grant,
                refresh_token: Option<&RefreshToken>,
            ) -> StoreResult<()> {
                CodeGrantTx::record_grant(self.0, grant, refresh_token)?;
                Err(StoreError::Corrupt("the node died here".into()))
            }
        }
        struct Crashing<'s>(&'s Store);
        impl CodeGrantStorage for Crashing<'_> {
            fn in_transaction<T>(
                &self,
                step: impl FnOnce(&mut dyn CodeGrantTx) -> StoreResult<T>,
            ) -> StoreResult<T> {
                self.0
                    .write_transaction(|transaction| step(&mut FailAfterRecord(transaction)))
            }
        }

        let (store, user_id, _folder) = fixtures::sqlite();
        store
            .insert_authorization_code(&code("c1", &user_id))
            .unwrap();
        assert!(redeem(
            &Crashing(&store),
            &client(),
            &exchange_of("c1"),
            LIFETIMES,
            NOW
        )
        .is_err());
        let redeemed = redeem(&store, &client(), &exchange_of("c1"), LIFETIMES, NOW)
            .unwrap()
            .expect("the crashed step left the code unredeemed");
        let replay = redeem(&store, &client(), &exchange_of("c1"), LIFETIMES, NOW + 1).unwrap();
        assert!(
            matches!(&replay, Err(Refused::Unusable { revoked: Some((grant_id, _)) }) if *grant_id == redeemed.grant.id),
            "{replay:?}"
        );
    }
}
