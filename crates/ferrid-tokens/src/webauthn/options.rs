//! The options the browser script passes to `navigator.credentials`:
//! §5.4 and §5.5 in their Level 3 JSON form
//! (`PublicKeyCredentialCreationOptionsJSON`,
//! `PublicKeyCredentialRequestOptionsJSON`: binary fields as base64url).

use serde_json::{json, Value};

use super::cose::SUPPORTED_ALGORITHMS;
use super::RelyingParty;

/// How long the browser waits for the user, in milliseconds (§5.4
/// `timeout`); ceremonies whose challenge expires sooner fail anyway.
const TIMEOUT_MS: u32 = 300_000;

/// PublicKeyCredentialCreationOptions as JSON (the WebAuthn `...JSON`
/// form: binary fields base64url strings) for the browser script.
#[derive(Debug, Clone, Copy)]
pub struct CreationOptions<'a> {
    /// The relying party (§5.4.2 `rp.id`).
    pub rp: &'a RelyingParty,
    /// The name shown for the relying party (§5.4.2 `rp.name`).
    pub rp_name: &'a str,
    /// The user handle, base64url (§5.4.3 `user.id`): opaque, no personal
    /// data, at most 64 bytes.
    pub user_handle: &'a str,
    /// The account name shown in the passkey picker (`user.name`).
    pub user_name: &'a str,
    /// The friendly name shown with it (`user.displayName`).
    pub display_name: &'a str,
    /// The challenge from [`super::new_challenge`].
    pub challenge: &'a str,
    /// The user's existing credential ids, base64url (§5.4
    /// `excludeCredentials`), so one authenticator is not registered twice.
    pub exclude_credentials: &'a [String],
}

impl CreationOptions<'_> {
    /// The options as `PublicKeyCredentialCreationOptionsJSON`. Passkeys
    /// are discoverable credentials with user verification (§5.4.4
    /// `residentKey: required`, `userVerification: required`); attestation
    /// is `none` because ferrid never judges authenticator models.
    pub fn to_json(&self) -> Value {
        let params: Vec<Value> = SUPPORTED_ALGORITHMS
            .iter()
            .map(|alg| json!({"type": "public-key", "alg": alg}))
            .collect();
        json!({
            "rp": {"id": self.rp.id, "name": self.rp_name},
            "user": {
                "id": self.user_handle,
                "name": self.user_name,
                "displayName": self.display_name,
            },
            "challenge": self.challenge,
            "pubKeyCredParams": params,
            "timeout": TIMEOUT_MS,
            "excludeCredentials": descriptors(self.exclude_credentials),
            "authenticatorSelection": {
                "residentKey": "required",
                "requireResidentKey": true,
                "userVerification": "required",
            },
            "attestation": "none",
        })
    }
}

/// PublicKeyCredentialRequestOptions as JSON (§5.5); `allow_credentials`
/// empty for discoverable (username-less) sign-in.
pub fn request_options(rp: &RelyingParty, challenge: &str, allow_credentials: &[String]) -> Value {
    json!({
        "challenge": challenge,
        "timeout": TIMEOUT_MS,
        "rpId": rp.id,
        "allowCredentials": descriptors(allow_credentials),
        "userVerification": "required",
    })
}

/// `PublicKeyCredentialDescriptorJSON`s (§5.8.3) for credential ids.
fn descriptors(ids: &[String]) -> Vec<Value> {
    ids.iter()
        .map(|id| json!({"type": "public-key", "id": id}))
        .collect()
}
