//! Checking an access token that this server signed, shared by the
//! endpoints that accept one (UserInfo) or describe one (introspection).

use ferrid_tokens::AccessTokenClaims;

use crate::error::Internal;
use crate::state::AppState;

/// What the signature, issuer and expiry of a bearer token say, before
/// the database is asked whether it was revoked.
#[derive(Debug)]
pub enum Verified {
    /// Signed by a published key for this issuer, not expired.
    Current(Box<AccessTokenClaims>),
    /// Genuine, but expired.
    Expired,
    /// Not an access token this server signed.
    Invalid,
}

/// Checks `token` without the database: signature by a published key
/// (verified once, then cached), issuer, expiry.
pub fn verify_access_token(state: &AppState, token: &str) -> Verified {
    let published = state.published();
    let Some(claims) = published.verified_tokens.get_or_verify(token, || {
        published
            .keyring
            .verify::<AccessTokenClaims>(token, ferrid_tokens::claims::ACCESS_TOKEN_TYPE)
            .ok()
    }) else {
        return Verified::Invalid;
    };
    if claims.iss != state.settings.issuer {
        Verified::Invalid
    } else if claims.exp <= state.now() {
        Verified::Expired
    } else {
        Verified::Current(Box::new(claims))
    }
}

/// The claims of an access token this server signed, if it is still valid:
/// signature by a published key, issuer, expiry, and not revoked. Whom
/// it is for (`aud`) is the caller's check: UserInfo accepts only tokens
/// naming this server, introspection answers each API for its own.
pub async fn active_access_token(
    state: &AppState,
    token: &str,
) -> Result<Option<AccessTokenClaims>, Internal> {
    let Verified::Current(claims) = verify_access_token(state, token) else {
        return Ok(None);
    };
    let claims = *claims;
    let (jti, gid) = (claims.jti.clone(), claims.gid.clone());
    let revoked = state
        .db(move |store| store.is_access_token_revoked(&jti, gid.as_deref()))
        .await?;
    Ok((!revoked).then_some(claims))
}
