//! The authorization code grant (RFC 6749 §4.1.3, RFC 7636 §4.6).

use actix_web::HttpRequest;
use ferrid_store::secret::{digest, random_token};
use ferrid_store::{AuthorizationCode, Client, Grant};

use crate::audit::{Event, Outcome};
use crate::error::{Internal, OAuthError};
use crate::grants::invalid_grant;
use crate::grants::issue::{self, Subject, TokenResponse};
use crate::http::Params;
use crate::state::AppState;
use crate::{pkce, scopes};

/// Redeems a code for tokens. A code presented again revokes every token
/// issued from its first redemption (RFC 6749 §4.1.2, RFC 9700 §4.5).
pub async fn exchange(
    state: &AppState,
    http: &HttpRequest,
    client: &Client,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let code = params
        .get("code")
        .ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let redirect_uri = params
        .get("redirect_uri")
        .ok_or_else(|| OAuthError::invalid_request("redirect_uri is required"))?;
    let verifier = params.get("code_verifier");
    if verifier.is_some_and(|verifier| !pkce::is_well_formed(verifier)) {
        return Err(OAuthError::invalid_request(
            "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]",
        ));
    }

    // Redeeming first makes the code single-use even when the request turns
    // out to be wrong: a code presented wrongly is burnt.
    let (code_digest, now) = (digest(code), state.now());
    let redeemed = {
        let code_digest = code_digest.clone();
        state
            .db(move |store| store.redeem_authorization_code(&code_digest, now))
            .await?
    };
    let Some(redeemed) = redeemed else {
        revoke_on_reuse(state, http, code_digest, client).await?;
        return Err(invalid_grant(
            "the authorization code is invalid, expired or already used",
        ));
    };
    check_code(&redeemed, client, redirect_uri, verifier)?;

    let user_id = redeemed.user_id.clone();
    state
        .db(move |store| store.find_user(&user_id))
        .await?
        .filter(|user| !user.disabled)
        .ok_or_else(|| invalid_grant("the user is no longer active"))?;

    let scope = scopes::split(&redeemed.scope);
    // A grant with refresh tokens lives as long as they may; one without
    // ends with its access token.
    let expires_at = if issue::allows_refresh(client, &scope) {
        now + issue::refresh_lifetimes(state, client).1
    } else {
        now + state.settings.access_token_ttl
    };
    let grant = Grant {
        id: random_token(16),
        client_id: client.client_id.clone(),
        user_id: redeemed.user_id.clone(),
        sid: redeemed.sid.clone(),
        scope: redeemed.scope.clone(),
        auth_time: redeemed.auth_time,
        created_at: now,
        expires_at,
        revoked_at: None,
        amr: redeemed.amr.clone(),
    };
    {
        let (grant, code_digest) = (grant.clone(), code_digest.clone());
        state
            .db(move |store| {
                store.create_grant(&grant)?;
                store.set_code_grant(&code_digest, &grant.id)
            })
            .await?;
    }
    let mut response = issue::tokens(
        state,
        client,
        Subject::User {
            grant: &grant,
            nonce: redeemed.nonce.as_deref(),
        },
        &scope,
    )?;
    if issue::allows_refresh(client, &scope) {
        response.refresh_token =
            Some(issue::refresh_token(state, client, &grant, &grant.scope).await?);
    }
    Ok(response)
}

/// If the code was redeemed before, its tokens are revoked: either the
/// client is replaying or someone stole the code.
async fn revoke_on_reuse(
    state: &AppState,
    http: &HttpRequest,
    code_digest: String,
    client: &Client,
) -> Result<(), Internal> {
    let now = state.now();
    let revoked = state
        .db(move |store| {
            let Some((grant_id, user_id)) = store.redeemed_code_grant(&code_digest)? else {
                return Ok(None);
            };
            // Only the first replay revokes; later ones find it done.
            Ok(store
                .revoke_grant(&grant_id, now)?
                .then_some((grant_id, user_id)))
        })
        .await?;
    if let Some((grant_id, user_id)) = revoked {
        tracing::warn!(%grant_id, "authorization code reused: its tokens are revoked");
        Event::new("grant.revoke", Outcome::Success)
            .actor("system")
            .subject(user_id)
            .client(&client.client_id)
            .detail(format!("authorization code reused; grant {grant_id}"))
            .record(state, http)
            .await;
    }
    Ok(())
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
