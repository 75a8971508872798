//! The scopes ferrid understands and the claims each releases.

/// The scopes OpenID Connect defines and ferrid supports (OIDC Core
/// §5.4, §11). Requests carry scopes as a space-separated string, so
/// granted scopes stay strings; this is the closed set they are checked
/// against and described from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `openid`: every OpenID Connect request includes it.
    OpenId,
    /// `profile`: name and username.
    Profile,
    /// `email`: the e-mail address and whether it is verified.
    Email,
    /// `offline_access`: asks for a refresh token.
    OfflineAccess,
    /// `groups`: the names of the user's groups.
    Groups,
}

impl Scope {
    /// Every supported scope, in the order discovery lists them.
    pub const ALL: [Scope; 5] = [
        Scope::OpenId,
        Scope::Profile,
        Scope::Email,
        Scope::OfflineAccess,
        Scope::Groups,
    ];

    /// The scope's name in requests and tokens.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::OpenId => OPENID,
            Scope::Profile => "profile",
            Scope::Email => "email",
            Scope::OfflineAccess => OFFLINE_ACCESS,
            Scope::Groups => GROUPS,
        }
    }

    /// Parses a scope name.
    pub fn parse(name: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == name)
    }

    /// What it grants, in words (shown on the consent page).
    pub fn description(self) -> &'static str {
        match self {
            Scope::OpenId => "Sign you in and know who you are",
            Scope::Profile => "Your name and username",
            Scope::Email => "Your e-mail address",
            Scope::OfflineAccess => "Stay connected to your account while you are away",
            Scope::Groups => "The groups you belong to",
        }
    }
}

/// The scope that asks for a refresh token (OIDC Core §11).
pub const OFFLINE_ACCESS: &str = "offline_access";

/// The scope that releases the `groups` claim.
pub const GROUPS: &str = "groups";

/// Reads everything through ferrid's admin API.
pub const ADMIN_READ: &str = "ferrid:admin.read";
/// Changes things through ferrid's admin API.
pub const ADMIN_WRITE: &str = "ferrid:admin.write";
/// The scopes of ferrid's own admin API, with their descriptions.
pub const ADMIN_SCOPES: [(&str, &str); 2] = [
    (
        ADMIN_READ,
        "See ferrid's clients, APIs, users and audit log",
    ),
    (ADMIN_WRITE, "Change ferrid's clients, APIs, users and keys"),
];

/// Scope names an API may not define: those ferrid supports, the other
/// standard OpenID Connect ones (OIDC Core §5.4), and ferrid's own
/// (`ferrid:…`).
pub fn is_reserved(name: &str) -> bool {
    is_supported(name) || matches!(name, "address" | "phone") || name.starts_with("ferrid:")
}

/// The scope every OpenID Connect request must include.
pub const OPENID: &str = "openid";

/// Whether ferrid supports `scope`.
pub fn is_supported(scope: &str) -> bool {
    Scope::parse(scope).is_some()
}

/// The consent-page description of a supported scope.
pub fn describe(scope: &str) -> &'static str {
    Scope::parse(scope).map_or("", Scope::description)
}

/// The names of the supported scopes, space-separated.
pub fn supported_names() -> String {
    Scope::ALL.map(Scope::as_str).join(" ")
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
