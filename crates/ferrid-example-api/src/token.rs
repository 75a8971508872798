//! Checking a ferrid access token the way RFC 9068 §4 asks a resource
//! server to: `typ` is `at+jwt`, the signature verifies with a key ferrid
//! publishes (asymmetric algorithms only, and the key's own), `iss` is
//! ferrid, `aud` names this API, and it has not expired. What it may do is
//! then in `scope` and `roles`.

use jsonwebtoken::{decode, decode_header, Algorithm, Validation};
use serde::Deserialize;

use crate::keys::KeySet;

/// Algorithms ferrid signs access tokens with; never `none` or an HMAC
/// (a public key must not be usable as a shared secret).
const ACCEPTED: [Algorithm; 4] = [
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
];

/// Clock skew tolerated on `exp`, seconds.
const LEEWAY: u64 = 30;

/// What the API reads from a valid token.
#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    /// The user, or the client itself for client credentials.
    pub sub: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// Granted scopes, space-separated.
    #[serde(default)]
    pub scope: String,
    /// The subject's roles at this API.
    #[serde(default)]
    pub roles: Vec<String>,
    /// How the user signed in (`1`, `2`, `phr`, `phrh`); absent for a
    /// client's own token.
    #[serde(default)]
    pub acr: Option<String>,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// The key the token is bound to (DPoP), if any.
    #[serde(default)]
    pub cnf: Option<Confirmation>,
}

/// `cnf` (RFC 9449 §6.1).
#[derive(Debug, Clone, Deserialize)]
pub struct Confirmation {
    /// The JWK SHA-256 thumbprint of the key.
    pub jkt: String,
}

impl Claims {
    /// Whether `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.split(' ').any(|granted| granted == scope)
    }

    /// Whether the subject holds `role` at this API.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|held| held == role)
    }
}

/// Why a token was refused (the text is for the `error_description`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

/// Validates ferrid access tokens for one API.
pub struct Validator {
    issuer: String,
    audience: String,
    keys: KeySet,
    /// DPoP proofs accepted lately, against replay.
    pub proofs: crate::dpop::SeenProofs,
    /// Where callers reach this API (`https://api.example.com`): the URL
    /// a DPoP proof must name is this and the request's path. Configured,
    /// never taken from request headers a caller controls.
    pub public_url: String,
}

impl Validator {
    /// A validator for tokens ferrid at `issuer` issued for the API
    /// `audience`, with ferrid's keys from `keys`.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>, keys: KeySet) -> Validator {
        Validator {
            issuer: issuer.into(),
            audience: audience.into(),
            keys,
            proofs: crate::dpop::SeenProofs::default(),
            public_url: String::new(),
        }
    }

    /// Sets where callers reach this API, for DPoP proofs' `htu`.
    pub fn with_public_url(mut self, public_url: impl Into<String>) -> Validator {
        self.public_url = public_url.into().trim_end_matches('/').to_owned();
        self
    }

    /// The API this validator accepts tokens for.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The claims of `token`, if it is a valid access token for this API.
    pub async fn validate(&self, token: &str) -> Result<Claims, Invalid> {
        let invalid = |why: &str| Invalid(why.to_owned());
        let header = decode_header(token).map_err(|_| invalid("not a JWT"))?;
        let typ = header.typ.as_deref().unwrap_or_default();
        if !typ.eq_ignore_ascii_case("at+jwt") && !typ.eq_ignore_ascii_case("application/at+jwt") {
            return Err(invalid("not an access token (typ must be at+jwt)"));
        }
        if !ACCEPTED.contains(&header.alg) {
            return Err(invalid("unaccepted signing algorithm"));
        }
        let kid = header.kid.as_deref().ok_or_else(|| invalid("no key id"))?;
        let (key, jwk) = self
            .keys
            .key(kid)
            .await
            .map_err(|error| Invalid(error.to_string()))?;
        // A key published for one algorithm verifies only that algorithm.
        if let Some(published) = jwk.common.key_algorithm {
            if published.to_string().parse::<Algorithm>().ok() != Some(header.alg) {
                return Err(invalid("the algorithm is not the key's"));
            }
        }
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY;
        decode::<Claims>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(|error| Invalid(format!("rejected: {error}")))
    }
}
