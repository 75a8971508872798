//! `id_token_hint` (OIDC Core §3.1.2.1, RP-Initiated Logout §2): an ID
//! token this server issued, presented back. Its signature (by any
//! published key, retired ones included) and issuer must check out; its
//! expiry need not, since relying parties keep the ID token of a login and
//! present it long after. The audience must include the named client.

use ferrid_tokens::IdTokenClaims;

use crate::authorize::request::AuthorizationRequest;
use crate::error::OAuthError;
use crate::http::Params;
use crate::state::AppState;

/// The claims of a valid hint, or `None`.
pub fn verify(state: &AppState, hint: &str, client_id: Option<&str>) -> Option<IdTokenClaims> {
    let claims: IdTokenClaims = state
        .published()
        .keyring
        .verify(hint, ferrid_tokens::claims::ID_TOKEN_TYPE)
        .ok()?;
    if claims.iss != state.settings.issuer {
        return None;
    }
    if client_id.is_some_and(|client_id| claims.aud != client_id) {
        return None;
    }
    Some(claims)
}

/// Applies an authorization request's `id_token_hint`, if it has one: only
/// the user it names may then answer without a new login. A hint that is
/// not an ID token this server issued to the client is `invalid_request`.
pub fn apply(
    state: &AppState,
    params: &Params,
    request: &mut AuthorizationRequest,
) -> Result<(), OAuthError> {
    let Some(raw) = params.get("id_token_hint") else {
        return Ok(());
    };
    let claims = verify(state, raw, Some(&request.client_id)).ok_or_else(|| {
        OAuthError::invalid_request(
            "id_token_hint is not an ID token this server issued to this client",
        )
    })?;
    request.expected_subject = Some(claims.sub);
    Ok(())
}
