//! Groups of users, and the roles of APIs granted to users, groups and
//! clients.

use diesel::prelude::*;

use crate::error::{StoreError, StoreResult};
use crate::schema::{role_grants, user_group_members, user_groups, users};
use crate::Store;

/// A group of users.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = user_groups)]
pub struct Group {
    /// Unique name; the value in the `groups` claim.
    pub name: String,
    /// What the group is for.
    pub description: String,
    /// Creation time, Unix seconds.
    pub created_at: i64,
}

/// Who holds a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A user, by id.
    User(String),
    /// Every member of a group, by name.
    Group(String),
    /// A client acting for itself (client credentials), by id.
    Client(String),
}

impl Principal {
    /// The stored kind and value.
    fn parts(&self) -> (&'static str, &str) {
        match self {
            Principal::User(id) => ("user", id),
            Principal::Group(name) => ("group", name),
            Principal::Client(id) => ("client", id),
        }
    }

    fn from_parts(kind: &str, value: String) -> Option<Principal> {
        match kind {
            "user" => Some(Principal::User(value)),
            "group" => Some(Principal::Group(value)),
            "client" => Some(Principal::Client(value)),
            _ => None,
        }
    }
}

/// A role of an API granted to a principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleGrant {
    /// The API's identifier.
    pub api: String,
    /// The role's name.
    pub role: String,
    /// Who holds it.
    pub principal: Principal,
}

impl Store {
    /// Creates a group.
    pub fn create_group(&self, group: &Group) -> StoreResult<()> {
        let mut connection = self.connection()?;
        diesel::insert_into(user_groups::table)
            .values((
                user_groups::name.eq(&group.name),
                user_groups::description.eq(&group.description),
                user_groups::created_at.eq(group.created_at),
            ))
            .execute(&mut connection)
            .map_err(StoreError::conflict_as("a group with this name"))?;
        Ok(())
    }

    /// Deletes a group, its memberships and the roles granted to it.
    pub fn delete_group(&self, name: &str) -> StoreResult<()> {
        let mut connection = self.connection()?;
        connection.transaction(|connection| {
            diesel::delete(
                role_grants::table
                    .filter(role_grants::principal_kind.eq("group"))
                    .filter(role_grants::principal.eq(name)),
            )
            .execute(connection)?;
            let deleted = diesel::delete(user_groups::table.find(name)).execute(connection)?;
            if deleted == 0 {
                return Err(StoreError::NotFound("group"));
            }
            Ok(())
        })
    }

    /// Every group, by name.
    pub fn list_groups(&self) -> StoreResult<Vec<Group>> {
        let mut connection = self.connection()?;
        Ok(user_groups::table
            .order(user_groups::name.asc())
            .select(Group::as_select())
            .load(&mut connection)?)
    }

    /// The group with this name.
    pub fn find_group(&self, name: &str) -> StoreResult<Option<Group>> {
        let mut connection = self.connection()?;
        Ok(user_groups::table
            .find(name)
            .select(Group::as_select())
            .first(&mut connection)
            .optional()?)
    }

    /// The usernames of a group's members, sorted.
    pub fn group_members(&self, name: &str) -> StoreResult<Vec<String>> {
        let mut connection = self.connection()?;
        Ok(user_group_members::table
            .inner_join(users::table)
            .filter(user_group_members::group_name.eq(name))
            .order(users::username.asc())
            .select(users::username)
            .load(&mut connection)?)
    }

    /// Adds a user to a group; adding a member twice changes nothing.
    pub fn add_group_member(&self, name: &str, user_id: &str) -> StoreResult<()> {
        let mut connection = self.connection()?;
        let inserted = diesel::insert_into(user_group_members::table)
            .values((
                user_group_members::group_name.eq(name),
                user_group_members::user_id.eq(user_id),
            ))
            .execute(&mut connection);
        match inserted {
            Ok(_)
            | Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => Ok(()),
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                _,
            )) => Err(StoreError::NotFound("group")),
            Err(error) => Err(error.into()),
        }
    }

    /// Removes a user from a group; true if they were a member.
    pub fn remove_group_member(&self, name: &str, user_id: &str) -> StoreResult<bool> {
        let mut connection = self.connection()?;
        let deleted = diesel::delete(user_group_members::table.find((name, user_id)))
            .execute(&mut connection)?;
        Ok(deleted > 0)
    }

    /// The names of the groups a user belongs to, sorted.
    pub fn groups_of_user(&self, user_id: &str) -> StoreResult<Vec<String>> {
        let mut connection = self.connection()?;
        Ok(user_group_members::table
            .filter(user_group_members::user_id.eq(user_id))
            .order(user_group_members::group_name.asc())
            .select(user_group_members::group_name)
            .load(&mut connection)?)
    }

    /// Grants a role; granting it twice changes nothing.
    pub fn grant_role(&self, grant: &RoleGrant) -> StoreResult<()> {
        let mut connection = self.connection()?;
        let (kind, principal) = grant.principal.parts();
        let inserted = diesel::insert_into(role_grants::table)
            .values((
                role_grants::api_identifier.eq(&grant.api),
                role_grants::role.eq(&grant.role),
                role_grants::principal_kind.eq(kind),
                role_grants::principal.eq(principal),
            ))
            .execute(&mut connection);
        match inserted {
            Ok(_)
            | Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => Ok(()),
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                _,
            )) => Err(StoreError::NotFound("role")),
            Err(error) => Err(error.into()),
        }
    }

    /// Revokes a role grant; true if it existed.
    pub fn revoke_role(&self, grant: &RoleGrant) -> StoreResult<bool> {
        let mut connection = self.connection()?;
        let (kind, principal) = grant.principal.parts();
        let deleted =
            diesel::delete(role_grants::table.find((&grant.api, &grant.role, kind, principal)))
                .execute(&mut connection)?;
        Ok(deleted > 0)
    }

    /// Every role grant of an API.
    pub fn role_grants(&self, api: &str) -> StoreResult<Vec<RoleGrant>> {
        let mut connection = self.connection()?;
        let rows: Vec<(String, String, String, String)> = role_grants::table
            .filter(role_grants::api_identifier.eq(api))
            .order((
                role_grants::role.asc(),
                role_grants::principal_kind.asc(),
                role_grants::principal.asc(),
            ))
            .select((
                role_grants::api_identifier,
                role_grants::role,
                role_grants::principal_kind,
                role_grants::principal,
            ))
            .load(&mut connection)?;
        Ok(rows
            .into_iter()
            .filter_map(|(api, role, kind, principal)| {
                Some(RoleGrant {
                    api,
                    role,
                    principal: Principal::from_parts(&kind, principal)?,
                })
            })
            .collect())
    }

    /// The roles of `api` a user holds, directly or through a group,
    /// sorted and without repeats.
    pub fn roles_of_user(&self, api: &str, user_id: &str) -> StoreResult<Vec<String>> {
        let mut connection = self.connection()?;
        let groups = user_group_members::table
            .filter(user_group_members::user_id.eq(user_id))
            .select(user_group_members::group_name);
        let mut roles: Vec<String> = role_grants::table
            .filter(role_grants::api_identifier.eq(api))
            .filter(
                role_grants::principal_kind
                    .eq("user")
                    .and(role_grants::principal.eq(user_id))
                    .or(role_grants::principal_kind
                        .eq("group")
                        .and(role_grants::principal.eq_any(groups))),
            )
            .select(role_grants::role)
            .load(&mut connection)?;
        roles.sort();
        roles.dedup();
        Ok(roles)
    }

    /// The roles of `api` granted to a client itself, sorted.
    pub fn roles_of_client(&self, api: &str, client_id: &str) -> StoreResult<Vec<String>> {
        let mut connection = self.connection()?;
        Ok(role_grants::table
            .filter(role_grants::api_identifier.eq(api))
            .filter(role_grants::principal_kind.eq("client"))
            .filter(role_grants::principal.eq(client_id))
            .order(role_grants::role.asc())
            .select(role_grants::role)
            .load(&mut connection)?)
    }
}
