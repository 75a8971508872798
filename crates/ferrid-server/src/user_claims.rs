//! The claims about a user that ID tokens and UserInfo can carry, and the
//! scope that covers each (OIDC Core §5.1, §5.4).

use ferrid_service::scopes::Scope;
use ferrid_store::User;
use serde_json::{json, Map, Value};

/// Every user claim this server can release, with the scope that covers
/// it: asking for one (the `claims` parameter) asks for that scope.
pub const SUPPORTED: [(&str, Scope); 5] = [
    ("name", Scope::Profile),
    ("preferred_username", Scope::Profile),
    ("updated_at", Scope::Profile),
    ("email", Scope::Email),
    ("email_verified", Scope::Email),
];

/// The scope covering `claim`, if this server releases it.
pub fn scope_of(claim: &str) -> Option<Scope> {
    SUPPORTED
        .iter()
        .find(|(name, _)| *name == claim)
        .map(|(_, scope)| *scope)
}

/// The claims of `scope` (its members of [`SUPPORTED`]).
pub fn of_scope(scope: Scope) -> impl Iterator<Item = &'static str> {
    SUPPORTED
        .iter()
        .filter(move |(_, covering)| *covering == scope)
        .map(|(name, _)| *name)
}

/// `user`'s values of the claims `names` (a claim without a value, such
/// as a missing `name`, is left out).
pub fn of_user<'a>(user: &User, names: impl IntoIterator<Item = &'a str>) -> Map<String, Value> {
    let mut claims = Map::new();
    for name in names {
        let value = match name {
            "name" => user.name.as_ref().map(|name| json!(name)),
            "preferred_username" => Some(json!(user.username)),
            "updated_at" => Some(json!(user.updated_at)),
            "email" => Some(json!(user.email)),
            "email_verified" => Some(json!(user.email_verified)),
            _ => None,
        };
        if let Some(value) = value {
            claims.insert(name.to_owned(), value);
        }
    }
    claims
}
