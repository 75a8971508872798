//! The device authorization grant (RFC 8628): a device with no browser
//! (a TV, a command-line tool) asks for authorization and shows a short
//! user code; its user types the code on the verification page of
//! another device, signs in and approves there, through the same login,
//! second-factor and consent steps as any authorization request.
//!
//! Approval stores an authorization code bound to the device code: the
//! device's next poll redeems it like the code grant, so the grant, its
//! refresh tokens and the revocation of a replayed device code are the
//! code grant's own.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use ferrid_store::secret::digest;
use ferrid_store::{AuthorizationCode, Client, DeviceAuthorization, Session, User};
use rand::rngs::OsRng;
use rand::Rng;
use serde::Serialize;

use crate::authorize::request::{self, AuthorizationRequest, Prompt, ResponseMode};
use crate::error::{ErrorCode, Internal, OAuthError, PageError};
use crate::http::{html_response, Params};
use crate::paths;
use crate::resources;
use crate::state::AppState;
use ferrid_service::scopes;

/// The letters of a user code: consonants only, so no code spells a word
/// and none can be misread (no 0/O, 1/I/L confusion: no digits, no vowels),
/// as RFC 8628 §6.1 suggests.
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Letters in a user code: 20^8, about 34 bits, against guesses that are
/// rate-limited and locked.
pub const USER_CODE_LENGTH: usize = 8;
/// Seconds added to a device's polling interval each time it polls too
/// soon (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP: i64 = 5;

/// What the device authorization endpoint answers (RFC 8628 §3.2).
#[derive(Serialize)]
pub struct DeviceAuthorizationResponse {
    /// The code the device polls with.
    pub device_code: String,
    /// The code the user types, as `XXXX-XXXX`.
    pub user_code: String,
    /// Where the user types it.
    pub verification_uri: String,
    /// The same page with the code filled in (for a QR code).
    pub verification_uri_complete: String,
    /// Seconds until both codes expire.
    pub expires_in: i64,
    /// Seconds the device waits between polls.
    pub interval: i64,
}

/// A new user code, grouped for reading: `BDFG-HJKL`.
fn new_user_code() -> String {
    let letters: String = (0..USER_CODE_LENGTH)
        .map(|_| char::from(USER_CODE_ALPHABET[OsRng.gen_range(0..USER_CODE_ALPHABET.len())]))
        .collect();
    format!("{}-{}", &letters[..4], &letters[4..])
}

/// A typed user code as stored, or `None` if it cannot be one: case,
/// spaces and dashes do not matter.
pub fn normalize_user_code(typed: &str) -> Option<String> {
    let letters: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (letters.chars().count() == USER_CODE_LENGTH
        && letters
            .bytes()
            .all(|letter| USER_CODE_ALPHABET.contains(&letter)))
    .then_some(letters)
}

/// The redirect URI of a device's request and of the code its approval
/// stores: this server's verification page, which is where the request
/// ends instead of at a client.
pub fn verification_uri(state: &AppState) -> String {
    format!("{}{}", state.settings.issuer, paths::DEVICE)
}

/// Starts a device authorization for `client`, which has been
/// authenticated and may use the device grant: the scopes and resources
/// asked for are checked as for an authorization request.
pub async fn start(
    state: &AppState,
    client: &Client,
    params: &Params,
) -> Result<DeviceAuthorizationResponse, OAuthError> {
    let scope = params.get("scope").ok_or_else(|| {
        OAuthError::new(
            ErrorCode::InvalidScope,
            "scope is required: name the scopes the device needs",
        )
    })?;
    let requested = scopes::split(scope);
    let apis = state.apis().await?;
    if requested.is_empty() {
        return Err(OAuthError::new(ErrorCode::InvalidScope, "scope is empty"));
    }
    request::check_scopes(&apis, client, &requested)?;
    let resources =
        resources::requested_resources(&apis, client, params.all("resource"), &requested)?;
    let device_code = ferrid_store::secret::random_token(32);
    let now = state.now();
    let (lifetime, interval) = (
        state.settings.device_code_ttl,
        state.settings.device_poll_interval,
    );
    // A user code can collide with a live one (1 in 20^8 each); draw
    // again then.
    for _ in 0..3 {
        let user_code = new_user_code();
        let row = DeviceAuthorization {
            device_code_digest: digest(&device_code),
            user_code_digest: user_code_digest(&user_code),
            client_id: client.client_id.clone(),
            scope: requested.join(" "),
            resources: resources.join(" "),
            status: ferrid_store::DEVICE_PENDING.to_owned(),
            created_at: now,
            expires_at: now + lifetime,
            poll_interval: interval,
            last_polled_at: None,
        };
        if state
            .db(move |store| store.insert_device_authorization(&row))
            .await?
        {
            let verification_uri = verification_uri(state);
            return Ok(DeviceAuthorizationResponse {
                device_code,
                verification_uri_complete: format!("{verification_uri}?user_code={user_code}"),
                user_code,
                verification_uri,
                expires_in: lifetime,
                interval,
            });
        }
    }
    Err(Internal::log("no free user code after three draws").into())
}

/// The stored digest of a user code, as shown or as typed.
fn user_code_digest(user_code: &str) -> String {
    digest(&format!(
        "user_code:{}",
        normalize_user_code(user_code).unwrap_or_default()
    ))
}

/// The authorization request a typed user code stands for, if it names a
/// pending, unexpired device request (the code is normalised already).
pub async fn request_for_user_code(
    state: &AppState,
    user_code: &str,
) -> Result<Option<AuthorizationRequest>, Internal> {
    let (code_digest, now) = (user_code_digest(user_code), state.now());
    let Some(row) = state
        .db(move |store| store.find_pending_device_authorization(&code_digest, now))
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(AuthorizationRequest {
        client_id: row.client_id,
        redirect_uri: verification_uri(state),
        response_mode: ResponseMode::Query,
        scopes: scopes::split(&row.scope),
        state: None,
        nonce: None,
        code_challenge: None,
        // The user is asked every time: approving a device they did not
        // start is how device-code phishing works (RFC 8628 §5.4).
        prompt: Prompt {
            consent: true,
            ..Prompt::default()
        },
        max_age: None,
        login_hint: None,
        expected_subject: None,
        acr_values: Vec::new(),
        resources: resources::stored(&row.resources),
        id_token_claims: Vec::new(),
        device_code_digest: Some(row.device_code_digest),
        ui_locales: None,
    }))
}

/// Ends a device's request (pending under `pending_id`) approved by the
/// session's user: the code the
/// device's next poll redeems is stored, and the user is told to go back
/// to the device.
pub async fn approve(
    state: &AppState,
    pending_id: &str,
    request: &AuthorizationRequest,
    device_code_digest: &str,
    session: &Session,
    user: &User,
) -> Result<HttpResponse, PageError> {
    let now = state.now();
    let code = AuthorizationCode {
        // Only this server can derive it, from the device code's digest
        // (see `grants::device_code`); nothing to hand out.
        code_digest: digest(device_code_digest),
        client_id: request.client_id.clone(),
        user_id: user.id.clone(),
        sid: session.sid.clone(),
        redirect_uri: request.redirect_uri.clone(),
        scope: request.scopes.join(" "),
        nonce: None,
        code_challenge: None,
        auth_time: session.auth_time,
        created_at: now,
        // The device request's own expiry bounds it (checked at the poll).
        expires_at: now + state.settings.device_code_ttl,
        redeemed_at: None,
        grant_id: None,
        amr: session.amr.clone(),
        resources: request.resources.join(" "),
        id_token_claims: String::new(),
    };
    let (pending_digest, device_digest) = (digest(pending_id), device_code_digest.to_owned());
    let approved = state
        .db(move |store| {
            store.approve_device_authorization(&pending_digest, &code, &device_digest, now)
        })
        .await?;
    if !approved {
        return Err(expired_code());
    }
    Ok(notice(
        "Device connected",
        "You allowed the device. Go back to it: it will finish signing in by itself.",
    ))
}

/// Ends a device's request refused by the user (or failed): the device's
/// next poll gets `access_denied`.
pub async fn deny(
    state: &AppState,
    pending_id: &str,
    device_code_digest: &str,
    error: &OAuthError,
) -> Result<HttpResponse, PageError> {
    let (pending_digest, device_digest) = (digest(pending_id), device_code_digest.to_owned());
    state
        .db(move |store| {
            store.claim_pending_authorization(&pending_digest)?;
            store.deny_device_authorization(&device_digest)
        })
        .await?;
    tracing::info!(error = error.error.as_str(), "device authorization refused");
    Ok(notice(
        "Device not connected",
        "The device was refused access. If you did not start this sign-in yourself, there is nothing more to do.",
    ))
}

/// The page for a user code that is wrong, expired or answered already.
pub fn expired_code() -> PageError {
    PageError::bad_request(
        "Code not valid",
        "This code is wrong, has expired or was used already.",
    )
    .with_hint("Check the code your device shows, or start again on the device for a new one.")
}

fn notice(title: &str, message: &str) -> HttpResponse {
    html_response(
        StatusCode::OK,
        &ferrid_pages::NoticePage {
            title,
            message,
            link: None,
            link_text: "",
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_use_the_unambiguous_alphabet_in_two_groups() {
        for _ in 0..200 {
            let code = new_user_code();
            assert_eq!(code.len(), USER_CODE_LENGTH + 1);
            assert_eq!(code.as_bytes()[4], b'-');
            assert!(code
                .bytes()
                .filter(|letter| *letter != b'-')
                .all(|letter| USER_CODE_ALPHABET.contains(&letter)));
            assert!(normalize_user_code(&code).is_some());
        }
        for confusable in [b'0', b'O', b'1', b'I', b'A', b'E', b'U', b'Y'] {
            assert!(!USER_CODE_ALPHABET.contains(&confusable));
        }
    }

    #[test]
    fn typed_codes_forgive_case_spaces_and_dashes() {
        assert_eq!(
            normalize_user_code("bcdf-ghjk").as_deref(),
            Some("BCDFGHJK")
        );
        assert_eq!(
            normalize_user_code(" BCDF GHJK ").as_deref(),
            Some("BCDFGHJK")
        );
        assert_eq!(normalize_user_code("BCDFGHJK").as_deref(), Some("BCDFGHJK"));
        assert_eq!(user_code_digest("bcdf ghjk"), user_code_digest("BCDF-GHJK"));
    }

    #[test]
    fn typed_codes_outside_the_alphabet_or_of_the_wrong_length_are_refused() {
        for typed in [
            "",
            "BCDF-GHJ",
            "BCDF-GHJKL",
            "BCDF-GH0K",
            "ABCD-EFGH",
            "BCDF-GHJ\u{e9}",
        ] {
            assert_eq!(normalize_user_code(typed), None, "{typed}");
        }
    }
}
