//! Registered APIs (resource servers): their identifiers, the scopes and
//! roles they define, and their token settings.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::error::{StoreError, StoreResult};
use crate::schema::{api_roles, api_scopes, apis};
use crate::Store;

/// A scope an API defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiScope {
    /// The scope's name, unique across APIs.
    pub name: String,
    /// What it allows, in words (shown on the consent page).
    pub description: String,
}

/// A role an API defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRole {
    /// The role's name, unique within its API.
    pub name: String,
    /// What it is for.
    pub description: String,
}

/// A registered API.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Api {
    /// Absolute URI: the `aud` of its access tokens.
    pub identifier: String,
    /// Display name.
    pub name: String,
    /// Access-token lifetime, seconds; `None` for the server's.
    pub access_token_ttl: Option<i64>,
    /// Access-token signing algorithm; `None` for the server's.
    pub signing_alg: Option<String>,
    /// The client whose credentials the API introspects with, if it may.
    pub introspection_client_id: Option<String>,
    /// Registration time, Unix seconds.
    pub created_at: i64,
    /// The scopes it defines.
    pub scopes: Vec<ApiScope>,
    /// The roles it defines.
    pub roles: Vec<ApiRole>,
}

impl Api {
    /// Whether the API defines `scope`.
    pub fn defines_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|defined| defined.name == scope)
    }

    /// Whether the API defines `role`.
    pub fn defines_role(&self, role: &str) -> bool {
        self.roles.iter().any(|defined| defined.name == role)
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = apis)]
struct ApiRow {
    identifier: String,
    name: String,
    access_token_ttl: Option<i64>,
    signing_alg: Option<String>,
    introspection_client_id: Option<String>,
    created_at: i64,
}

impl Store {
    /// Registers an API with its scopes and roles, in one transaction.
    pub fn create_api(&self, api: &Api) -> StoreResult<()> {
        let mut connection = self.connection()?;
        connection.transaction(|connection| {
            diesel::insert_into(apis::table)
                .values((
                    apis::identifier.eq(&api.identifier),
                    apis::name.eq(&api.name),
                    apis::access_token_ttl.eq(api.access_token_ttl),
                    apis::signing_alg.eq(&api.signing_alg),
                    apis::introspection_client_id.eq(&api.introspection_client_id),
                    apis::created_at.eq(api.created_at),
                ))
                .execute(connection)
                .map_err(StoreError::conflict_as("an API with this identifier"))?;
            insert_scopes(connection, &api.identifier, &api.scopes)?;
            insert_roles(connection, &api.identifier, &api.roles)
        })
    }

    /// Replaces an API's settings, scopes and roles. Roles that stay keep
    /// their grants; removed ones lose them.
    pub fn update_api(&self, api: &Api) -> StoreResult<()> {
        let mut connection = self.connection()?;
        connection.transaction(|connection| {
            let updated = diesel::update(apis::table.find(&api.identifier))
                .set((
                    apis::name.eq(&api.name),
                    apis::access_token_ttl.eq(api.access_token_ttl),
                    apis::signing_alg.eq(&api.signing_alg),
                    apis::introspection_client_id.eq(&api.introspection_client_id),
                ))
                .execute(connection)?;
            if updated == 0 {
                return Err(StoreError::NotFound("API"));
            }
            diesel::delete(
                api_scopes::table.filter(api_scopes::api_identifier.eq(&api.identifier)),
            )
            .execute(connection)?;
            insert_scopes(connection, &api.identifier, &api.scopes)?;
            let kept: Vec<&str> = api.roles.iter().map(|role| role.name.as_str()).collect();
            diesel::delete(
                api_roles::table
                    .filter(api_roles::api_identifier.eq(&api.identifier))
                    .filter(api_roles::name.ne_all(&kept)),
            )
            .execute(connection)?;
            for role in &api.roles {
                let changed = diesel::update(api_roles::table.find((&api.identifier, &role.name)))
                    .set(api_roles::description.eq(&role.description))
                    .execute(connection)?;
                if changed == 0 {
                    insert_roles(connection, &api.identifier, std::slice::from_ref(role))?;
                }
            }
            Ok(())
        })
    }

    /// The API with this identifier.
    pub fn find_api(&self, identifier: &str) -> StoreResult<Option<Api>> {
        Ok(self.load_apis(Some(identifier))?.into_iter().next())
    }

    /// Every API, by identifier.
    pub fn list_apis(&self) -> StoreResult<Vec<Api>> {
        self.load_apis(None)
    }

    /// Deletes an API with its scopes, roles and role grants.
    pub fn delete_api(&self, identifier: &str) -> StoreResult<()> {
        let mut connection = self.connection()?;
        let deleted = diesel::delete(apis::table.find(identifier)).execute(&mut connection)?;
        if deleted == 0 {
            return Err(StoreError::NotFound("API"));
        }
        Ok(())
    }

    fn load_apis(&self, only: Option<&str>) -> StoreResult<Vec<Api>> {
        let mut connection = self.connection()?;
        let mut rows = apis::table
            .order(apis::identifier.asc())
            .select(ApiRow::as_select())
            .into_boxed();
        let mut scopes = api_scopes::table
            .order(api_scopes::name.asc())
            .select((
                api_scopes::api_identifier,
                api_scopes::name,
                api_scopes::description,
            ))
            .into_boxed();
        let mut roles = api_roles::table
            .order(api_roles::name.asc())
            .select((
                api_roles::api_identifier,
                api_roles::name,
                api_roles::description,
            ))
            .into_boxed();
        if let Some(identifier) = only {
            rows = rows.filter(apis::identifier.eq(identifier));
            scopes = scopes.filter(api_scopes::api_identifier.eq(identifier));
            roles = roles.filter(api_roles::api_identifier.eq(identifier));
        }
        let rows = rows.load(&mut connection)?;
        let mut scopes_of: HashMap<String, Vec<ApiScope>> = HashMap::new();
        for (api, name, description) in scopes.load::<(String, String, String)>(&mut connection)? {
            scopes_of
                .entry(api)
                .or_default()
                .push(ApiScope { name, description });
        }
        let mut roles_of: HashMap<String, Vec<ApiRole>> = HashMap::new();
        for (api, name, description) in roles.load::<(String, String, String)>(&mut connection)? {
            roles_of
                .entry(api)
                .or_default()
                .push(ApiRole { name, description });
        }
        Ok(rows
            .into_iter()
            .map(|row| Api {
                scopes: scopes_of.remove(&row.identifier).unwrap_or_default(),
                roles: roles_of.remove(&row.identifier).unwrap_or_default(),
                identifier: row.identifier,
                name: row.name,
                access_token_ttl: row.access_token_ttl,
                signing_alg: row.signing_alg,
                introspection_client_id: row.introspection_client_id,
                created_at: row.created_at,
            })
            .collect())
    }
}

fn insert_scopes(
    connection: &mut crate::DbConnection,
    identifier: &str,
    scopes: &[ApiScope],
) -> StoreResult<()> {
    for scope in scopes {
        diesel::insert_into(api_scopes::table)
            .values((
                api_scopes::name.eq(&scope.name),
                api_scopes::api_identifier.eq(identifier),
                api_scopes::description.eq(&scope.description),
            ))
            .execute(connection)
            .map_err(StoreError::conflict_as("a scope with this name"))?;
    }
    Ok(())
}

fn insert_roles(
    connection: &mut crate::DbConnection,
    identifier: &str,
    roles: &[ApiRole],
) -> StoreResult<()> {
    for role in roles {
        diesel::insert_into(api_roles::table)
            .values((
                api_roles::api_identifier.eq(identifier),
                api_roles::name.eq(&role.name),
                api_roles::description.eq(&role.description),
            ))
            .execute(connection)
            .map_err(StoreError::conflict_as("a role with this name"))?;
    }
    Ok(())
}
