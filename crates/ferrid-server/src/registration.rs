//! Client registration rules, shared by the CLI and (later) the admin
//! console: which grants, methods, scopes and redirect URIs make a valid
//! client. The secret is generated here and returned once; only its digest
//! is kept.

use ferrid_store::secret::{digest, generate_secret, random_identifier, CLIENT_SECRET_PREFIX};
use ferrid_store::{Client, ClientAuthMethod};
use ferrid_tokens::{MasterKey, SigningAlgorithm};
use url::Url;

use crate::scopes;

/// Grant types a client may be registered for.
pub const KNOWN_GRANTS: [&str; 3] = ["authorization_code", "refresh_token", "client_credentials"];

/// What an administrator asks for.
#[derive(Debug, Clone, Default)]
pub struct ClientRegistration {
    /// Display name.
    pub name: String,
    /// Redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Grant types.
    pub grant_types: Vec<String>,
    /// `token_endpoint_auth_method` name.
    pub auth_method: String,
    /// Space-separated scopes.
    pub scope: String,
    /// `id_token_signed_response_alg`.
    pub id_token_alg: String,
    /// Refresh-token idle lifetime override, seconds.
    pub refresh_idle_ttl: Option<i64>,
    /// Refresh-token absolute lifetime override, seconds.
    pub refresh_absolute_ttl: Option<i64>,
    /// Issue refresh tokens without `offline_access`.
    pub refresh_for_online_sessions: bool,
    /// Back-channel logout receiver.
    pub backchannel_logout_uri: Option<String>,
    /// Every login for this client needs a second factor.
    pub require_mfa: bool,
    /// For `private_key_jwt`: the client's public keys (a JWKS, JSON).
    pub jwks: Option<String>,
    /// For `private_key_jwt`: where to fetch them.
    pub jwks_uri: Option<String>,
}

/// A registered client and its secret, which is shown once.
#[derive(Debug)]
pub struct Registered {
    /// The client as stored.
    pub client: Client,
    /// The secret of a confidential client.
    pub secret: Option<String>,
}

/// Checks an ID token algorithm against those the server has keys for.
pub fn check_id_token_alg(
    name: &str,
    enabled: &[SigningAlgorithm],
) -> Result<SigningAlgorithm, String> {
    SigningAlgorithm::parse(name)
        .filter(|alg| enabled.contains(alg))
        .ok_or_else(|| {
            format!(
                "id-token-alg must be one of {}",
                enabled
                    .iter()
                    .map(|alg| alg.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

/// Validates a registration, for a server with keys for `enabled`
/// algorithms, and creates the client's id and secret.
pub fn register(
    registration: ClientRegistration,
    enabled: &[SigningAlgorithm],
    master_key: &MasterKey,
    now: i64,
) -> Result<Registered, String> {
    let id_token_alg = check_id_token_alg(&registration.id_token_alg, enabled)?;
    let name = registration.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err("name must be 1 to 200 characters".into());
    }
    let auth_method = ClientAuthMethod::parse(&registration.auth_method).ok_or_else(|| {
        format!(
            "auth-method must be one of {}",
            ClientAuthMethod::ALL
                .map(ClientAuthMethod::as_str)
                .join(", ")
        )
    })?;

    let mut grant_types: Vec<String> = Vec::new();
    for grant in registration.grant_types.iter().map(|grant| grant.trim()) {
        if !KNOWN_GRANTS.contains(&grant) {
            return Err(format!(
                "unknown grant \"{grant}\"; known: {}",
                KNOWN_GRANTS.join(", ")
            ));
        }
        if !grant_types.iter().any(|seen| seen == grant) {
            grant_types.push(grant.to_owned());
        }
    }
    if grant_types.is_empty() {
        return Err("at least one grant is required".into());
    }
    let uses_code = grant_types
        .iter()
        .any(|grant| grant == "authorization_code");
    if !auth_method.is_confidential()
        && grant_types
            .iter()
            .any(|grant| grant == "client_credentials")
    {
        return Err("a public client (auth-method none) cannot use client_credentials".into());
    }

    let uses_refresh = grant_types.iter().any(|grant| grant == "refresh_token");
    if uses_refresh && !uses_code {
        return Err("the refresh_token grant needs the authorization_code grant".into());
    }
    let refresh_settings = registration.refresh_idle_ttl.is_some()
        || registration.refresh_absolute_ttl.is_some()
        || registration.refresh_for_online_sessions;
    if refresh_settings && !uses_refresh {
        return Err("refresh settings need the refresh_token grant".into());
    }
    if [
        registration.refresh_idle_ttl,
        registration.refresh_absolute_ttl,
    ]
    .iter()
    .flatten()
    .any(|ttl| *ttl <= 0)
    {
        return Err("refresh lifetimes must be positive numbers of seconds".into());
    }
    if let (Some(idle), Some(absolute)) = (
        registration.refresh_idle_ttl,
        registration.refresh_absolute_ttl,
    ) {
        if idle > absolute {
            return Err("refresh-idle-ttl cannot exceed refresh-absolute-ttl".into());
        }
    }

    let redirect_uris = checked_uris(&registration.redirect_uris, "redirect-uri")?;
    if uses_code && redirect_uris.is_empty() {
        return Err("the authorization_code grant needs at least one --redirect-uri".into());
    }
    if !uses_code && !redirect_uris.is_empty() {
        return Err("redirect URIs are only for clients with the authorization_code grant".into());
    }
    let post_logout_redirect_uris = checked_uris(
        &registration.post_logout_redirect_uris,
        "post-logout-redirect-uri",
    )?;
    let backchannel_logout_uri = match &registration.backchannel_logout_uri {
        Some(uri) => {
            if !uri.starts_with("https://") && !uri.starts_with("http://") {
                return Err("backchannel-logout-uri must be an http(s) URL".into());
            }
            checked_uris(std::slice::from_ref(uri), "backchannel-logout-uri")?
                .into_iter()
                .next()
        }
        None => None,
    };

    let scopes = scopes::split(&registration.scope);
    if let Some(unknown) = scopes.iter().find(|scope| !scopes::is_supported(scope)) {
        return Err(format!(
            "unsupported scope \"{unknown}\"; supported: {}",
            scopes::SUPPORTED.map(|(name, _)| name).join(" ")
        ));
    }
    if uses_code && !scopes.iter().any(|scope| scope == scopes::OPENID) {
        return Err("a client with the authorization_code grant needs the openid scope".into());
    }

    let (jwks, jwks_uri) = match (auth_method, registration.jwks, registration.jwks_uri) {
        (ClientAuthMethod::PrivateKeyJwt, Some(jwks), None) => {
            ferrid_tokens::assertion::check_public_jwks(&jwks)
                .map_err(|error| format!("jwks: {error}"))?;
            (Some(jwks), None)
        }
        (ClientAuthMethod::PrivateKeyJwt, None, Some(uri)) => {
            let checked = checked_uris(std::slice::from_ref(&uri), "jwks-uri")?;
            if !uri.starts_with("https://") && !uri.starts_with("http://") {
                return Err("jwks-uri must be an http(s) URL".into());
            }
            (None, checked.into_iter().next())
        }
        (ClientAuthMethod::PrivateKeyJwt, _, _) => {
            return Err("private_key_jwt needs exactly one of --jwks and --jwks-uri".into())
        }
        (_, None, None) => (None, None),
        (_, _, _) => return Err("--jwks and --jwks-uri are only for private_key_jwt".into()),
    };
    // Every confidential method but private_key_jwt has a secret; only
    // client_secret_jwt keeps it (sealed), as the HMAC key it is.
    let secret = (auth_method.is_confidential() && auth_method != ClientAuthMethod::PrivateKeyJwt)
        .then(|| generate_secret(CLIENT_SECRET_PREFIX));
    // 128 random bits; hex so that it never starts with `-` and is taken
    // for an option on the command line.
    let client_id = random_identifier(16);
    let (secret_digest, secret_sealed) = match (&secret, auth_method) {
        (Some(secret), ClientAuthMethod::ClientSecretJwt) => (
            None,
            Some(
                master_key
                    .seal(secret.as_bytes(), &client_id)
                    .map_err(|error| error.to_string())?,
            ),
        ),
        (Some(secret), _) => (Some(digest(secret)), None),
        (None, _) => (None, None),
    };
    Ok(Registered {
        client: Client {
            client_id,
            name: name.to_owned(),
            secret_digest,
            secret_sealed,
            jwks,
            jwks_uri,
            auth_method,
            redirect_uris,
            post_logout_redirect_uris,
            grant_types,
            scopes,
            created_at: now,
            id_token_signed_response_alg: id_token_alg.as_str().to_owned(),
            refresh_idle_ttl: registration.refresh_idle_ttl,
            refresh_absolute_ttl: registration.refresh_absolute_ttl,
            refresh_for_online_sessions: registration.refresh_for_online_sessions,
            backchannel_logout_uri,
            require_mfa: registration.require_mfa,
        },
        secret,
    })
}

/// Redirect URIs must be absolute, without fragment (RFC 6749 §3.1.2), and
/// never a scheme that runs code in the browser.
fn checked_uris(uris: &[String], option: &str) -> Result<Vec<String>, String> {
    let mut checked: Vec<String> = Vec::new();
    for uri in uris {
        let parsed =
            Url::parse(uri).map_err(|_| format!("{option} \"{uri}\" is not an absolute URI"))?;
        if parsed.fragment().is_some() {
            return Err(format!("{option} \"{uri}\" must not contain a fragment"));
        }
        if matches!(parsed.scheme(), "javascript" | "data" | "vbscript" | "file") {
            return Err(format!("{option} \"{uri}\" uses a forbidden scheme"));
        }
        if matches!(parsed.scheme(), "http" | "https") && parsed.host_str().is_none() {
            return Err(format!("{option} \"{uri}\" has no host"));
        }
        // RFC 9700 §4.1 / RFC 8252 §8.3: plain http only to this machine.
        if parsed.scheme() == "http" && !is_loopback(&parsed) {
            return Err(format!(
                "{option} \"{uri}\" must use https (http is allowed only for 127.0.0.1, [::1] or localhost)"
            ));
        }
        if !checked.contains(uri) {
            // Stored as given: matching is exact string comparison.
            checked.push(uri.clone());
        }
    }
    Ok(checked)
}

/// Whether a URL points at this machine.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration() -> ClientRegistration {
        ClientRegistration {
            name: "App".into(),
            redirect_uris: vec!["https://app.example/cb".into()],
            post_logout_redirect_uris: vec![],
            grant_types: vec!["authorization_code".into()],
            auth_method: "client_secret_basic".into(),
            scope: "openid profile".into(),
            id_token_alg: "RS256".into(),
            refresh_idle_ttl: None,
            refresh_absolute_ttl: None,
            refresh_for_online_sessions: false,
            backchannel_logout_uri: None,
            require_mfa: false,
            jwks: None,
            jwks_uri: None,
        }
    }

    fn master() -> MasterKey {
        MasterKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap()
    }

    #[test]
    fn confidential_clients_get_a_prefixed_secret_stored_as_digest() {
        let registered = register(registration(), &SigningAlgorithm::ALL, &master(), 1).unwrap();
        let secret = registered.secret.unwrap();
        assert!(secret.starts_with(CLIENT_SECRET_PREFIX));
        // Regression: a base64url id starting with '-' broke `ferrid client show ID`.
        assert!(registered
            .client
            .client_id
            .bytes()
            .all(|byte| byte.is_ascii_hexdigit()));
        assert_eq!(registered.client.secret_digest, Some(digest(&secret)));
    }

    #[test]
    fn loopback_http_and_native_schemes_are_allowed() {
        for uri in [
            "http://127.0.0.1:9000/cb",
            "http://[::1]/cb",
            "http://localhost:3000/cb",
            "com.example.app:/cb",
        ] {
            let mut native = registration();
            native.redirect_uris = vec![uri.into()];
            assert!(
                register(native, &SigningAlgorithm::ALL, &master(), 1).is_ok(),
                "{uri}"
            );
        }
    }

    #[test]
    fn jwt_methods_keep_a_sealed_secret_or_public_keys() {
        let mut hmac = registration();
        hmac.auth_method = "client_secret_jwt".into();
        let registered = register(hmac, &SigningAlgorithm::ALL, &master(), 1).unwrap();
        let secret = registered.secret.unwrap();
        assert!(registered.client.secret_digest.is_none());
        let sealed = registered.client.secret_sealed.unwrap();
        assert_eq!(
            master()
                .open(&sealed, &registered.client.client_id)
                .unwrap(),
            secret.as_bytes()
        );

        let mut keys = registration();
        keys.auth_method = "private_key_jwt".into();
        keys.jwks_uri = Some("https://rp.example/jwks".into());
        let registered = register(keys, &SigningAlgorithm::ALL, &master(), 1).unwrap();
        assert!(registered.secret.is_none());
        assert!(
            registered.client.secret_digest.is_none() && registered.client.secret_sealed.is_none()
        );
    }

    #[test]
    fn public_clients_have_no_secret() {
        let mut public = registration();
        public.auth_method = "none".into();
        let registered = register(public, &SigningAlgorithm::ALL, &master(), 1).unwrap();
        assert!(registered.secret.is_none());
        assert!(registered.client.secret_digest.is_none());
    }

    #[test]
    fn client_credentials_only_needs_no_redirect_uri() {
        let mut service = registration();
        service.redirect_uris.clear();
        service.grant_types = vec!["client_credentials".into()];
        service.scope = "profile".into();
        assert!(register(service, &SigningAlgorithm::ALL, &master(), 1).is_ok());
    }

    #[test]
    fn invalid_registrations_are_refused() {
        let cases: [fn(&mut ClientRegistration); 20] = [
            |r| r.name = " ".into(),
            |r| r.redirect_uris.clear(),
            |r| r.redirect_uris = vec!["/relative".into()],
            |r| r.redirect_uris = vec!["https://app.example/cb#frag".into()],
            |r| r.redirect_uris = vec!["javascript:alert(1)".into()],
            |r| r.redirect_uris = vec!["http://app.example/cb".into()],
            |r| r.grant_types = vec!["implicit".into()],
            |r| r.auth_method = "tls_client_auth".into(),
            |r| r.scope = "openid admin".into(),
            |r| r.scope = "profile".into(),
            |r| r.id_token_alg = "HS256".into(),
            |r| r.grant_types = vec!["refresh_token".into()],
            |r| r.refresh_for_online_sessions = true,
            |r| r.backchannel_logout_uri = Some("http://rp.example/logout".into()),
            |r| r.backchannel_logout_uri = Some("com.example:/logout".into()),
            |r| r.auth_method = "private_key_jwt".into(),
            |r| {
                r.auth_method = "private_key_jwt".into();
                r.jwks = Some(r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#.into());
            },
            |r| r.jwks_uri = Some("https://rp.example/jwks".into()),
            |r| {
                r.grant_types.push("refresh_token".into());
                r.refresh_idle_ttl = Some(10);
                r.refresh_absolute_ttl = Some(5);
            },
            |r| {
                r.auth_method = "none".into();
                r.grant_types.push("client_credentials".into());
            },
        ];
        for (index, mutate) in cases.iter().enumerate() {
            let mut bad = registration();
            mutate(&mut bad);
            assert!(
                register(bad, &SigningAlgorithm::ALL, &master(), 1).is_err(),
                "case {index} was accepted"
            );
        }
    }
}
