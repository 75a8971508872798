//! Resource indicators (RFC 8707): which registered API an access token is
//! for. A grant covers the APIs the user consented to (those named by
//! `resource` at authorization, and those whose scopes were granted); each
//! access token is for one of them, and carries only that API's scopes
//! beside the OpenID Connect ones, so a token for one API is refused by
//! every other (RFC 9068 §4, RFC 9700 §2.3).

use ferrid_store::{Api, Client};
use url::Url;

use crate::error::{ErrorCode, OAuthError};
use ferrid_service::scopes;

/// The registered APIs, as one snapshot.
#[derive(Debug, Default)]
pub struct Apis(Vec<Api>);

impl Apis {
    /// A snapshot of `apis`.
    pub fn new(apis: Vec<Api>) -> Apis {
        Apis(apis)
    }

    /// The API with this identifier.
    pub fn find(&self, identifier: &str) -> Option<&Api> {
        self.0.iter().find(|api| api.identifier == identifier)
    }

    /// The API that defines `scope`.
    pub fn owner_of(&self, scope: &str) -> Option<&Api> {
        self.0.iter().find(|api| api.defines_scope(scope))
    }

    /// The API whose introspection credentials are `client_id`'s.
    pub fn introspecting_as(&self, client_id: &str) -> Option<&Api> {
        self.0
            .iter()
            .find(|api| api.introspection_client_id.as_deref() == Some(client_id))
    }

    /// Whether ferrid can grant `scope`: an OpenID Connect scope or one a
    /// registered API defines.
    pub fn is_known_scope(&self, scope: &str) -> bool {
        scopes::is_supported(scope) || self.owner_of(scope).is_some()
    }

    /// A scope's description for the consent page.
    pub fn describe<'a>(&'a self, scope: &str) -> &'a str {
        match self.owner_of(scope) {
            Some(api) => api
                .scopes
                .iter()
                .find(|defined| defined.name == scope)
                .map_or("", |defined| defined.description.as_str()),
            None => scopes::describe(scope),
        }
    }

    /// The APIs `client` is allowed at least one scope of.
    pub fn allowed_to<'a, 'c>(
        &'a self,
        client: &'c Client,
    ) -> impl Iterator<Item = &'a Api> + use<'a, 'c> {
        self.0
            .iter()
            .filter(|api| client.scopes.iter().any(|scope| api.defines_scope(scope)))
    }

    /// The API named by `resource`, if `client` may ask for tokens for it:
    /// it is registered and the client is allowed at least one of its
    /// scopes.
    pub fn permitted(&self, client: &Client, resource: &str) -> Result<&Api, OAuthError> {
        if !is_resource_uri(resource) {
            return Err(invalid_target(
                "resource must be an absolute URI without a fragment",
            ));
        }
        self.allowed_to(client)
            .find(|api| api.identifier == resource)
            .ok_or_else(|| invalid_target("the resource is unknown or not allowed for this client"))
    }
}

/// ferrid's own admin API at `identifier`, as an API like the registered
/// ones: clients allowed its scopes get tokens for it.
pub fn admin_api(identifier: &str) -> Api {
    Api {
        identifier: identifier.to_owned(),
        name: "ferrid administration".to_owned(),
        scopes: scopes::ADMIN_SCOPES
            .map(|(name, description)| ferrid_store::ApiScope {
                name: name.to_owned(),
                description: description.to_owned(),
            })
            .to_vec(),
        ..Api::default()
    }
}

/// `invalid_target` (RFC 8707 §2).
pub fn invalid_target(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidTarget, description)
}

/// Whether `value` is an absolute URI without a fragment (RFC 8707 §2).
fn is_resource_uri(value: &str) -> bool {
    !value.contains('#') && Url::parse(value).is_ok()
}

/// The APIs an authorization request covers: those it names with
/// `resource` (each checked) and those whose scopes it asks for, in order
/// and once each.
pub fn requested_resources(
    apis: &Apis,
    client: &Client,
    named: &[String],
    requested_scopes: &[String],
) -> Result<Vec<String>, OAuthError> {
    let mut resources: Vec<String> = Vec::new();
    for resource in named {
        let api = apis.permitted(client, resource)?;
        if !resources.contains(&api.identifier) {
            resources.push(api.identifier.clone());
        }
    }
    for scope in requested_scopes {
        if let Some(api) = apis.owner_of(scope) {
            if !resources.contains(&api.identifier) {
                resources.push(api.identifier.clone());
            }
        }
    }
    Ok(resources)
}

/// What one access token is for: an API, or only this server (UserInfo).
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The API, if the token is for one.
    pub api: Option<&'a Api>,
}

impl<'a> Target<'a> {
    /// A token for this server only.
    pub const SERVER: Target<'static> = Target { api: None };

    /// The token's scopes: of `granted`, the OpenID Connect ones and the
    /// target API's.
    pub fn scopes_of(&self, granted: &[String]) -> Vec<String> {
        granted
            .iter()
            .filter(|scope| {
                scopes::is_supported(scope) || self.api.is_some_and(|api| api.defines_scope(scope))
            })
            .cloned()
            .collect()
    }
}

/// Whether a token request naming `named` can be answered from a grant
/// covering `resources`: at most one resource per token request, one the
/// grant covers; a grant covering several APIs needs the request to choose
/// (RFC 8707 §2.2). Checked before anything is spent (a refresh token is
/// rotated only for a request that can succeed).
pub fn check_named(resources: &[String], named: &[String]) -> Result<(), OAuthError> {
    match named {
        [] if resources.len() > 1 => Err(invalid_target(
            "the grant covers several APIs: name one with the resource parameter",
        )),
        [] => Ok(()),
        [resource] if resources.contains(resource) => Ok(()),
        [_] => Err(invalid_target(
            "the resource is not one the authorization covers",
        )),
        _ => Err(invalid_target(
            "name one resource per token request; ask again for each",
        )),
    }
}

/// The target of a token minted from a user's grant covering `resources`
/// for a request naming `named` (see [`check_named`]).
pub fn target_for_grant<'a>(
    apis: &'a Apis,
    resources: &[String],
    named: &[String],
) -> Result<Target<'a>, OAuthError> {
    check_named(resources, named)?;
    match named.first().or(resources.first()) {
        None => Ok(Target::SERVER),
        Some(resource) => apis
            .find(resource)
            .map(|api| Target { api: Some(api) })
            .ok_or_else(|| invalid_target("the resource is no longer registered")),
    }
}

/// The resources a stored grant or code covers.
pub fn stored(resources: &str) -> Vec<String> {
    resources.split_whitespace().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrid_store::ApiScope;

    fn api(identifier: &str, scopes: &[&str]) -> Api {
        Api {
            identifier: identifier.into(),
            name: identifier.into(),
            scopes: scopes
                .iter()
                .map(|name| ApiScope {
                    name: (*name).into(),
                    description: format!("{name} access"),
                })
                .collect(),
            ..Api::default()
        }
    }

    fn apis() -> Apis {
        Apis::new(vec![
            api("https://orders.example", &["orders:read", "orders:write"]),
            api("https://reports.example", &["reports:read"]),
        ])
    }

    fn client(scopes: &[&str]) -> Client {
        Client {
            client_id: "app".into(),
            scopes: scopes.iter().map(|scope| (*scope).to_owned()).collect(),
            ..Client::default()
        }
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| (*value).to_owned()).collect()
    }

    #[test]
    fn scopes_name_their_api_and_describe_themselves() {
        let apis = apis();
        assert_eq!(
            apis.owner_of("reports:read")
                .map(|api| api.identifier.as_str()),
            Some("https://reports.example")
        );
        assert!(apis.owner_of("openid").is_none());
        assert!(apis.is_known_scope("openid") && apis.is_known_scope("orders:write"));
        assert!(!apis.is_known_scope("admin"));
        assert_eq!(apis.describe("orders:read"), "orders:read access");
        assert_eq!(apis.describe("email"), scopes::describe("email"));
    }

    #[test]
    fn a_client_may_target_only_apis_it_has_scopes_of() {
        let apis = apis();
        let orders_client = client(&["openid", "orders:read"]);
        assert!(apis
            .permitted(&orders_client, "https://orders.example")
            .is_ok());
        for refused in [
            "https://reports.example",
            "https://unknown.example",
            "not a uri",
            "https://orders.example#x",
        ] {
            assert_eq!(
                apis.permitted(&orders_client, refused).unwrap_err().error,
                ErrorCode::InvalidTarget,
                "{refused}"
            );
        }
    }

    #[test]
    fn an_authorization_covers_named_resources_and_those_of_its_scopes() {
        let apis = apis();
        let both = client(&["openid", "orders:read", "reports:read"]);
        assert_eq!(
            requested_resources(
                &apis,
                &both,
                &strings(&["https://reports.example"]),
                &strings(&["openid", "orders:read", "orders:read"])
            )
            .unwrap(),
            strings(&["https://reports.example", "https://orders.example"])
        );
        assert!(
            requested_resources(&apis, &both, &[], &strings(&["openid"]))
                .unwrap()
                .is_empty()
        );
        assert!(requested_resources(
            &apis,
            &client(&["openid"]),
            &strings(&["https://orders.example"]),
            &[]
        )
        .is_err());
    }

    #[test]
    fn each_token_is_for_one_api_of_the_grant() {
        let apis = apis();
        let orders = "https://orders.example".to_owned();
        let reports = "https://reports.example".to_owned();
        let one = [orders.clone()];
        let two = [orders.clone(), reports.clone()];
        assert!(target_for_grant(&apis, &[], &[]).unwrap().api.is_none());
        assert_eq!(
            target_for_grant(&apis, &one, &[])
                .unwrap()
                .api
                .unwrap()
                .identifier,
            orders
        );
        assert_eq!(
            target_for_grant(&apis, &two, std::slice::from_ref(&reports))
                .unwrap()
                .api
                .unwrap()
                .identifier,
            reports
        );
        for (resources, named) in [
            (&two[..], &[][..]),
            (&one[..], std::slice::from_ref(&reports)),
            (&two[..], &two[..]),
        ] {
            assert_eq!(
                target_for_grant(&apis, resources, named).unwrap_err().error,
                ErrorCode::InvalidTarget
            );
        }
        let target = target_for_grant(&apis, &two, std::slice::from_ref(&orders)).unwrap();
        assert_eq!(
            target.scopes_of(&strings(&[
                "openid",
                "orders:read",
                "reports:read",
                "email"
            ])),
            strings(&["openid", "orders:read", "email"])
        );
        assert_eq!(
            Target::SERVER.scopes_of(&strings(&["openid", "orders:read"])),
            strings(&["openid"])
        );
    }
}
