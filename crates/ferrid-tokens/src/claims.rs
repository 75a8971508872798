//! The claim sets of the tokens ferrid issues. Which values go in them is
//! the server's decision; their shape follows the specifications.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};

use crate::keyring::SigningAlgorithm;

/// JOSE `typ` of ID tokens.
pub const ID_TOKEN_TYPE: &str = "JWT";
/// JOSE `typ` of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// ID token claims (OIDC Core §2, §3.1.3.6).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdTokenClaims {
    /// Issuer.
    pub iss: String,
    /// Subject.
    pub sub: String,
    /// Audience: the client id.
    pub aud: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Issue time, Unix seconds.
    pub iat: i64,
    /// When the user authenticated.
    pub auth_time: i64,
    /// The authorization request's nonce.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Hash of the access token issued with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// Session id.
    pub sid: String,
    /// Authentication methods references.
    pub amr: Vec<String>,
    /// Authentication context class reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// The user's groups, with the `groups` scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// User claims the client asked for in the ID token (the `claims`
    /// request parameter), such as `email` or `name`.
    #[serde(flatten)]
    pub user: serde_json::Map<String, serde_json::Value>,
}

/// An `aud` claim: one audience, or several (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience, serialized as a string.
    One(String),
    /// Several audiences, serialized as an array.
    Many(Vec<String>),
}

impl Audience {
    /// Whether `audience` is one of the values.
    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Audience::One(one) => one == audience,
            Audience::Many(many) => many.iter().any(|one| one == audience),
        }
    }
}

/// JWT access token claims (RFC 9068 §2.2).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    /// Issuer.
    pub iss: String,
    /// Subject (user id).
    pub sub: String,
    /// Audience: the API the token is for (RFC 8707), and this server
    /// when the token may also be used at its UserInfo endpoint.
    pub aud: Audience,
    /// Client the token was issued to.
    pub client_id: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Issue time, Unix seconds.
    pub iat: i64,
    /// Unique token id.
    pub jti: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// When the user authenticated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// Session the token came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The grant (token family) it belongs to; revoking the grant ends it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
    /// Authentication context class of the user's login (RFC 9068 §2.2.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// Authentication methods of the user's login (RFC 9068 §2.2.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    /// The roles of the audience API its subject holds (RFC 9068 §2.2.3.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// Who acts for the subject (RFC 8693 §4.1): set when a token was
    /// exchanged with an actor token; nested for a chain of delegations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<serde_json::Value>,
    /// The key the token is bound to (RFC 9449 §6: `{"jkt": …}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<serde_json::Value>,
}

/// JOSE `typ` of logout tokens (Back-Channel Logout 1.0 §2.4).
pub const LOGOUT_TOKEN_TYPE: &str = "logout+jwt";
/// The event a logout token carries.
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Logout token claims (Back-Channel Logout 1.0 §2.4): never a `nonce`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogoutTokenClaims {
    /// Issuer.
    pub iss: String,
    /// Audience: the client.
    pub aud: String,
    /// Issue time, Unix seconds.
    pub iat: i64,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Unique id (receivers reject replays).
    pub jti: String,
    /// `{ BACKCHANNEL_LOGOUT_EVENT: {} }`.
    pub events: serde_json::Value,
    /// The user.
    pub sub: String,
    /// The session that ended.
    pub sid: String,
}

/// `at_hash` (OIDC Core §3.1.3.6): the left half of the hash of the access
/// token, with the hash function of the ID token's algorithm (SHA-512 for
/// EdDSA on Ed25519, as the OpenID Foundation's libraries use).
pub fn access_token_hash(access_token: &str, alg: SigningAlgorithm) -> String {
    let digest = match alg {
        SigningAlgorithm::Rs256 | SigningAlgorithm::Ps256 | SigningAlgorithm::Es256 => {
            Sha256::digest(access_token.as_bytes()).to_vec()
        }
        SigningAlgorithm::EdDsa => Sha512::digest(access_token.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_matches_the_oidc_example() {
        // OIDC Core Appendix A.3 (RS256).
        assert_eq!(
            access_token_hash(
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y",
                SigningAlgorithm::Rs256
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
