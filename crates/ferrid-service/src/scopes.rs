//! The scopes ferrid understands and the claims each releases.

/// Scopes this server supports, with what they grant in words (shown on
/// the consent page).
pub const SUPPORTED: [(&str, &str); 4] = [
    ("openid", "Sign you in and know who you are"),
    ("profile", "Your name and username"),
    ("email", "Your e-mail address"),
    (
        OFFLINE_ACCESS,
        "Stay connected to your account while you are away",
    ),
];

/// The scope that asks for a refresh token (OIDC Core §11).
pub const OFFLINE_ACCESS: &str = "offline_access";

/// The scope every OpenID Connect request must include.
pub const OPENID: &str = "openid";

/// Whether ferrid supports `scope`.
pub fn is_supported(scope: &str) -> bool {
    SUPPORTED.iter().any(|(name, _)| *name == scope)
}

/// The consent-page description of a supported scope.
pub fn describe(scope: &str) -> &'static str {
    SUPPORTED
        .iter()
        .find(|(name, _)| *name == scope)
        .map_or("", |(_, description)| description)
}

/// Whether a granted scope list contains `scope`.
pub fn contains(scopes: &[String], scope: &str) -> bool {
    scopes.iter().any(|granted| granted == scope)
}

/// Splits a space-delimited scope parameter (RFC 6749 §3.3), dropping
/// repeats and keeping the order.
pub fn split(scope: &str) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    for token in scope.split(' ').filter(|token| !token.is_empty()) {
        if !scopes.iter().any(|seen| seen == token) {
            scopes.push(token.to_owned());
        }
    }
    scopes
}
