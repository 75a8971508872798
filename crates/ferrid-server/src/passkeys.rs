//! Passkeys (WebAuthn): the relying party ferrid is, the challenges of
//! its ceremonies (in the database, single-use, short-lived and bound to
//! what started them, so any node can finish a ceremony another began),
//! and checking a passkey's answer. The pages that run ceremonies are in
//! `endpoints::login_passkey` and `endpoints::account::passkeys`.

use actix_web::http::StatusCode;
use ferrid_store::secret::{digest, random_token};
use ferrid_store::{Passkey, PasskeyUse, User, WebauthnChallenge};
use ferrid_tokens::webauthn::{
    self, AssertionResponse, NewPasskey, RegistrationResponse, RelyingParty, StoredPasskey,
};
use url::Url;

use crate::acr::Assurance;
use crate::error::{Internal, PageError};
use crate::security::PasskeyPolicy;
use crate::state::AppState;

/// How long a ceremony may take, seconds: the 300 s timeout the options
/// give the browser, and a little slack for the round trip.
pub const CHALLENGE_TTL: i64 = 330;
/// Longest name a passkey may be given.
pub const MAX_NAME_LENGTH: usize = 64;

/// What a ceremony is for; a challenge answers only its own kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ceremony {
    /// A signed-in user registers a passkey.
    Register,
    /// An invited user registers their first passkey from the e-mailed
    /// link.
    Invitation,
    /// Signing in with a passkey alone.
    SignIn,
    /// A passkey as the second factor after the password (or a step-up).
    SecondFactor,
}

impl Ceremony {
    fn purpose(self) -> &'static str {
        match self {
            Ceremony::Register => "register",
            Ceremony::Invitation => "invitation",
            Ceremony::SignIn => "sign_in",
            Ceremony::SecondFactor => "second_factor",
        }
    }
}

/// The relying party of an issuer under `policy`: its id (the issuer's
/// host, or a parent domain of it) and the origins ceremonies may come
/// from. An error says what is wrong with the configuration.
pub fn relying_party(issuer: &str, policy: &PasskeyPolicy) -> Result<RelyingParty, String> {
    let issuer = Url::parse(issuer).map_err(|error| format!("the issuer: {error}"))?;
    let host = issuer.host_str().unwrap_or_default().to_ascii_lowercase();
    let id = policy
        .rp_id
        .as_deref()
        .map_or_else(|| host.clone(), str::to_ascii_lowercase);
    let on_domain = |host: &str| host == id || host.ends_with(&format!(".{id}"));
    if id.is_empty() || !on_domain(&host) {
        return Err(format!(
            "passkeys.rp_id must be the issuer's host or a parent domain of it, not {id:?}"
        ));
    }
    let origins = if policy.origins.is_empty() {
        vec![issuer.origin().ascii_serialization()]
    } else {
        policy
            .origins
            .iter()
            .map(|origin| {
                let url = Url::parse(origin)
                    .map_err(|error| format!("passkeys.origins: {origin:?}: {error}"))?;
                let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
                let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
                if !matches!(url.scheme(), "https" | "http") || !bare || !on_domain(&host) {
                    return Err(format!(
                        "passkeys.origins: {origin:?} must be an http(s) origin on {id}"
                    ));
                }
                Ok(url.origin().ascii_serialization())
            })
            .collect::<Result<_, _>>()?
    };
    Ok(RelyingParty { id, origins })
}

/// This server's relying party (its configuration was checked at start).
pub fn this_relying_party(state: &AppState) -> Result<RelyingParty, Internal> {
    relying_party(&state.settings.issuer, &state.settings.security.passkeys).map_err(Internal::log)
}

/// The WebAuthn user handle of a user: their id's bytes, base64url. It
/// names no one outside ferrid (the id is a random UUID).
pub fn user_handle(user_id: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(user_id.as_bytes())
}

/// Starts a ceremony bound to `binding` (what started it): stores a new
/// challenge's digest and returns the challenge.
pub async fn begin(
    state: &AppState,
    ceremony: Ceremony,
    binding: &str,
    user_id: Option<String>,
) -> Result<String, Internal> {
    let challenge = webauthn::new_challenge();
    let row = WebauthnChallenge {
        challenge_digest: digest(&challenge),
        purpose: ceremony.purpose().to_owned(),
        binding: digest(binding),
        user_id,
        expires_at: state.now() + CHALLENGE_TTL,
    };
    state
        .db(move |store| store.insert_webauthn_challenge(&row))
        .await?;
    Ok(challenge)
}

/// Takes the challenge `challenge` of a `ceremony` bound to `binding`, if
/// it is still waiting: it then works no more, on any node.
async fn take(
    state: &AppState,
    ceremony: Ceremony,
    binding: &str,
    challenge: &str,
) -> Result<Option<WebauthnChallenge>, Internal> {
    let (challenge_digest, binding, now) = (digest(challenge), digest(binding), state.now());
    state
        .db(move |store| {
            store.take_webauthn_challenge(&challenge_digest, ceremony.purpose(), &binding, now)
        })
        .await
}

/// Why a passkey's answer was refused: a message for the page (the same
/// for every reason, so it tells an attacker nothing) and the reason for
/// the audit log.
#[derive(Debug)]
pub struct Refused {
    /// The reason, for the audit log.
    pub reason: String,
    /// The passkey's owner, when known.
    pub user_id: Option<String>,
}

impl Refused {
    fn new(reason: impl Into<String>) -> Self {
        Refused {
            reason: reason.into(),
            user_id: None,
        }
    }
}

/// The message a page shows for any refused passkey.
pub const PASSKEY_FAILED: &str =
    "The passkey could not be used. Try again, or use another way to sign in.";

/// Checks a registration answer (`credential`, the browser's JSON) to a
/// `ceremony` bound to `binding`; the new passkey's data.
pub async fn verify_registration(
    state: &AppState,
    ceremony: Ceremony,
    binding: &str,
    credential: &str,
) -> Result<Result<(NewPasskey, Option<String>), Refused>, Internal> {
    let response = match RegistrationResponse::parse(credential) {
        Ok(response) => response,
        Err(error) => return Ok(Err(Refused::new(error.to_string()))),
    };
    let Some(challenge) = take(state, ceremony, binding, response.challenge()).await? else {
        return Ok(Err(Refused::new("unknown, spent or expired challenge")));
    };
    let rp = this_relying_party(state)?;
    Ok(response
        .verify(&rp, response.challenge())
        .map(|passkey| (passkey, challenge.user_id))
        .map_err(|error| Refused::new(error.to_string())))
}

/// Stores a verified new passkey named `name` for `user_id` (a user's
/// first second factor ends their other sessions but `keep_sid`).
pub async fn store_new(
    state: &AppState,
    new: NewPasskey,
    user_id: &str,
    name: &str,
    keep_sid: Option<String>,
) -> Result<Passkey, Internal> {
    use base64::Engine;
    let now = state.now();
    let passkey = Passkey {
        id: random_token(12),
        user_id: user_id.to_owned(),
        credential_id: new.credential_id,
        public_key: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&new.public_key),
        algorithm: new.algorithm,
        sign_count: i64::from(new.sign_count),
        backup_eligible: new.backup_eligible,
        backed_up: new.backed_up,
        aaguid: new.aaguid,
        transports: new.transports.join(" "),
        name: name.to_owned(),
        created_at: now,
        last_used_at: None,
    };
    let stored = passkey.clone();
    state
        .db(move |store| store.insert_passkey(&stored, keep_sid.as_deref(), now))
        .await?;
    Ok(passkey)
}

/// The name a passkey gets: what the user typed (trimmed, bounded), or
/// "Passkey N".
pub fn name_for(given: Option<&str>, existing: usize) -> Result<String, &'static str> {
    let given = given.map(str::trim).unwrap_or_default();
    if given.chars().count() > MAX_NAME_LENGTH {
        return Err("The name is too long (at most 64 characters).");
    }
    if given.is_empty() {
        return Ok(format!("Passkey {}", existing + 1));
    }
    Ok(given.to_owned())
}

/// A passkey's good answer: its owner and the passkey as used.
#[derive(Debug)]
pub struct Used {
    /// The enabled owner.
    pub user: User,
    /// The passkey, with its new counter and backup state.
    pub passkey: Passkey,
}

/// Checks a sign-in answer (`credential`, the browser's JSON) to a
/// `ceremony` bound to `binding`: the challenge is taken, the passkey
/// must be registered to an enabled user (`expected_user`, when the
/// ceremony was for one), its signature good and its counter moving on;
/// the use is recorded.
pub async fn verify_assertion(
    state: &AppState,
    ceremony: Ceremony,
    binding: &str,
    credential: &str,
    expected_user: Option<&str>,
) -> Result<Result<Used, Refused>, Internal> {
    use base64::Engine;
    let response = match AssertionResponse::parse(credential) {
        Ok(response) => response,
        Err(error) => return Ok(Err(Refused::new(error.to_string()))),
    };
    if take(state, ceremony, binding, response.challenge())
        .await?
        .is_none()
    {
        return Ok(Err(Refused::new("unknown, spent or expired challenge")));
    }
    let credential_id = response.credential_id().to_owned();
    let found = state
        .db(move |store| {
            let Some(passkey) = store.find_passkey_by_credential(&credential_id)? else {
                return Ok(None);
            };
            Ok(store
                .find_user(&passkey.user_id)?
                .map(|user| (passkey, user)))
        })
        .await?;
    let Some((passkey, user)) = found else {
        return Ok(Err(Refused::new(
            "unknown passkey (removed, or never registered)",
        )));
    };
    let refused = |reason: String| {
        Ok(Err(Refused {
            reason,
            user_id: Some(user.id.clone()),
        }))
    };
    if user.disabled {
        return refused("account disabled".into());
    }
    if expected_user.is_some_and(|expected| expected != user.id) {
        return refused("the passkey belongs to another account".into());
    }
    // A discoverable credential names its user; it must be the owner. Where
    // no user was named beforehand the handle is required (§7.2 step 6).
    match response.user_handle() {
        Some(handle) if handle != user_handle(&user.id) => {
            return refused("the user handle does not match the passkey's owner".into());
        }
        None if ceremony == Ceremony::SignIn => {
            return refused("no user handle in a sign-in without a username".into());
        }
        _ => {}
    }
    let Ok(public_key) =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&passkey.public_key)
    else {
        return Err(Internal::log(
            "a stored passkey's public key is not base64url",
        ));
    };
    let stored = StoredPasskey {
        public_key: &public_key,
        sign_count: u32::try_from(passkey.sign_count).unwrap_or(u32::MAX),
        backup_eligible: passkey.backup_eligible,
    };
    let rp = this_relying_party(state)?;
    let verified = match response.verify(&rp, response.challenge(), &stored) {
        Ok(verified) => verified,
        Err(error) => return refused(error.to_string()),
    };
    let now = state.now();
    let used = Passkey {
        sign_count: i64::from(verified.sign_count),
        backed_up: verified.backed_up,
        last_used_at: Some(now),
        ..passkey
    };
    let (id, previous_count, sign_count, backed_up) = (
        used.id.clone(),
        stored.sign_count.into(),
        used.sign_count,
        used.backed_up,
    );
    let recorded = state
        .db(move |store| {
            store.record_passkey_use(PasskeyUse {
                id: &id,
                previous_count,
                sign_count,
                backed_up,
                now,
            })
        })
        .await?;
    if !recorded {
        return refused("another sign-in used the same signature counter".into());
    }
    Ok(Ok(Used {
        user,
        passkey: used,
    }))
}

/// The strongest level of assurance `user`'s enrolled factors can reach:
/// a device-bound passkey, a synced one, TOTP, or the password alone.
pub async fn reachable_assurance(state: &AppState, user: &User) -> Result<Assurance, Internal> {
    if user.passkeys > 0 {
        let user_id = user.id.clone();
        let passkeys = state.db(move |store| store.user_passkeys(&user_id)).await?;
        if passkeys.iter().any(|passkey| !passkey.backup_eligible) {
            return Ok(Assurance::PhishingResistantHardware);
        }
        if !passkeys.is_empty() {
            return Ok(Assurance::PhishingResistant);
        }
    }
    Ok(if user.has_totp() {
        Assurance::MultiFactor
    } else {
        Assurance::SingleFactor
    })
}

/// The creation options for `user`, excluding the passkeys they have.
pub async fn creation_options(
    state: &AppState,
    ceremony: Ceremony,
    binding: &str,
    user: &User,
) -> Result<actix_web::HttpResponse, Internal> {
    let user_id = user.id.clone();
    let existing = state.db(move |store| store.user_passkeys(&user_id)).await?;
    let exclude: Vec<String> = existing
        .into_iter()
        .map(|passkey| passkey.credential_id)
        .collect();
    let challenge = begin(state, ceremony, binding, Some(user.id.clone())).await?;
    let rp = this_relying_party(state)?;
    // The name authenticators show beside the passkey.
    let product = state
        .branding
        .get()
        .map_or_else(|| "ferrid".to_owned(), |brand| brand.product_name.clone());
    let options = webauthn::CreationOptions {
        rp: &rp,
        rp_name: &product,
        user_handle: &user_handle(&user.id),
        user_name: &user.username,
        display_name: user.name.as_deref().unwrap_or(&user.username),
        challenge: &challenge,
        exclude_credentials: &exclude,
    };
    Ok(options_response(&options.to_json()))
}

/// A passkey as the account page and the console show it.
pub fn view(passkey: &Passkey) -> ferrid_pages::PasskeyView {
    ferrid_pages::PasskeyView {
        id: passkey.id.clone(),
        name: passkey.name.clone(),
        created: ferrid_service::clock::timestamp(passkey.created_at),
        last_used: passkey
            .last_used_at
            .map(ferrid_service::clock::timestamp)
            .unwrap_or_default(),
        synced: passkey.backup_eligible,
    }
}

/// The answer of an options endpoint: the WebAuthn options as JSON,
/// never cached (they hold a single-use challenge).
pub fn options_response(options: &serde_json::Value) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(options)
}

/// Lets a page run the passkey script: scripts and `fetch` from this
/// origin only, on top of the policy the response already has.
pub fn allow_passkey_script(response: &mut actix_web::HttpResponse) {
    use actix_web::http::header;
    let policy = response
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|value| value.to_str().ok())
        .unwrap_or(crate::http::CONTENT_SECURITY_POLICY)
        .replacen(
            "default-src 'none';",
            "default-src 'none'; script-src 'self'; connect-src 'self';",
            1,
        );
    if let Ok(value) = header::HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// The page for a request that needs a passkey the user does not have.
pub fn passkey_needed() -> PageError {
    PageError {
        status: StatusCode::FORBIDDEN,
        title: "Passkey needed".into(),
        message: "This application requires you to sign in with a passkey, and your account has none that qualifies.".into(),
        hint: Some("Add a passkey on your account's security page (/account/security), then sign in to the application again.".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(rp_id: Option<&str>, origins: &[&str]) -> PasskeyPolicy {
        PasskeyPolicy {
            rp_id: rp_id.map(str::to_owned),
            origins: origins.iter().map(|origin| (*origin).to_owned()).collect(),
            required_for_admins: false,
        }
    }

    #[test]
    fn the_relying_party_follows_the_issuer() {
        let rp = relying_party("https://id.example.com/tenant", &policy(None, &[])).unwrap();
        assert_eq!(rp.id, "id.example.com");
        assert_eq!(rp.origins, vec!["https://id.example.com"]);
        let rp = relying_party(
            "https://id.example.com",
            &policy(
                Some("example.com"),
                &["https://login.example.com", "https://id.example.com:8443"],
            ),
        )
        .unwrap();
        assert_eq!(rp.id, "example.com");
        assert_eq!(rp.origins[1], "https://id.example.com:8443");
    }

    #[test]
    fn foreign_ids_and_origins_are_refused() {
        for (rp_id, origins) in [
            (Some("other.com"), vec![]),
            (Some("ample.com"), vec![]),
            (None, vec!["https://evil.com"]),
            (None, vec!["https://id.example.com/path"]),
            (None, vec!["ftp://id.example.com"]),
            (None, vec!["not a url"]),
        ] {
            assert!(
                relying_party("https://id.example.com", &policy(rp_id, &origins)).is_err(),
                "{rp_id:?} {origins:?}"
            );
        }
    }

    #[test]
    fn names_are_bounded_and_defaulted() {
        assert_eq!(name_for(None, 0).unwrap(), "Passkey 1");
        assert_eq!(name_for(Some("  "), 2).unwrap(), "Passkey 3");
        assert_eq!(name_for(Some(" Laptop "), 2).unwrap(), "Laptop");
        assert!(name_for(Some(&"x".repeat(65)), 0).is_err());
    }
}
