//! Groups of users and the API roles granted to users, groups and
//! clients. Tokens for an API carry the roles their subject holds there.

use ferrid_store::{Group, Principal, RoleGrant, Store, StoreError};

use crate::apis::{self, ApiError};
use crate::audit::{Event, EventKind, Outcome};
use crate::users::{self, UserError};

/// Why a group or role operation failed.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    /// Not a valid group name.
    #[error("\"{0}\" is not a valid group name: 1 to 128 characters, printable ASCII without spaces, quotes or backslashes")]
    InvalidName(String),
    /// No such group.
    #[error("no group named {0}")]
    NotFound(String),
    /// A group with this name exists.
    #[error("a group named {0} already exists")]
    Exists(String),
    /// The API does not define the role.
    #[error("the API {api} defines no role {role}")]
    UnknownRole {
        /// The API.
        api: String,
        /// The role.
        role: String,
    },
    /// No such client.
    #[error("no client with id {0}")]
    UnknownClient(String),
    /// The API is unknown.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The user is unknown.
    #[error(transparent)]
    User(#[from] UserError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who a role is granted to, as an administrator names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A user, by username.
    User(String),
    /// A group, by name.
    Group(String),
    /// A client, by id.
    Client(String),
}

/// Creates a group.
pub fn create(
    store: &Store,
    name: &str,
    description: &str,
    actor: &str,
    now: i64,
) -> Result<Group, GroupError> {
    let name = name.trim();
    if !apis::is_valid_name(name) {
        return Err(GroupError::InvalidName(name.to_owned()));
    }
    let group = Group {
        name: name.to_owned(),
        description: description.trim().to_owned(),
        created_at: now,
    };
    store.create_group(&group).map_err(|error| match error {
        StoreError::Conflict(_) => GroupError::Exists(group.name.clone()),
        other => other.into(),
    })?;
    audit(EventKind::GroupCreate, actor, name).write(store, now)?;
    Ok(group)
}

/// Deletes a group, its memberships and the roles granted to it.
pub fn delete(store: &Store, name: &str, actor: &str, now: i64) -> Result<(), GroupError> {
    store.delete_group(name).map_err(|error| match error {
        StoreError::NotFound(_) => GroupError::NotFound(name.to_owned()),
        other => other.into(),
    })?;
    audit(EventKind::GroupDelete, actor, name).write(store, now)?;
    Ok(())
}

/// Every group with its members' usernames.
pub fn list(store: &Store) -> Result<Vec<(Group, Vec<String>)>, GroupError> {
    store
        .list_groups()?
        .into_iter()
        .map(|group| {
            let members = store.group_members(&group.name)?;
            Ok((group, members))
        })
        .collect()
}

/// Adds (`member` true) or removes a user from a group.
pub fn set_member(
    store: &Store,
    group: &str,
    username: &str,
    member: bool,
    actor: &str,
    now: i64,
) -> Result<(), GroupError> {
    if store.find_group(group)?.is_none() {
        return Err(GroupError::NotFound(group.to_owned()));
    }
    let user = users::find(store, username)?;
    if member {
        store.add_group_member(group, &user.id)?;
    } else {
        store.remove_group_member(group, &user.id)?;
    }
    Event::new(EventKind::GroupMembership, Outcome::Success)
        .actor(actor)
        .subject(&user.id)
        .detail(format!(
            "{} group {group}",
            if member { "joined" } else { "left" }
        ))
        .write(store, now)?;
    Ok(())
}

/// Grants (`granted` true) or revokes a role of an API.
pub fn set_role(
    store: &Store,
    api: &str,
    role: &str,
    holder: &Holder,
    granted: bool,
    actor: &str,
    now: i64,
) -> Result<(), GroupError> {
    let defined = apis::show(store, api)?;
    if !defined.defines_role(role) {
        return Err(GroupError::UnknownRole {
            api: api.to_owned(),
            role: role.to_owned(),
        });
    }
    let principal = match holder {
        Holder::User(username) => Principal::User(users::find(store, username)?.id),
        Holder::Group(name) => {
            if store.find_group(name)?.is_none() {
                return Err(GroupError::NotFound(name.clone()));
            }
            Principal::Group(name.clone())
        }
        Holder::Client(client_id) => {
            if store.find_client(client_id)?.is_none() {
                return Err(GroupError::UnknownClient(client_id.clone()));
            }
            Principal::Client(client_id.clone())
        }
    };
    let grant = RoleGrant {
        api: api.to_owned(),
        role: role.to_owned(),
        principal,
    };
    let kind = if granted {
        store.grant_role(&grant)?;
        EventKind::RoleGrant
    } else {
        store.revoke_role(&grant)?;
        EventKind::RoleRevoke
    };
    Event::new(kind, Outcome::Success)
        .actor(actor)
        .subject(api)
        .detail(format!("role {role} for {holder:?}"))
        .write(store, now)?;
    Ok(())
}

fn audit(kind: EventKind, actor: &str, group: &str) -> Event {
    Event::new(kind, Outcome::Success)
        .actor(actor)
        .subject(group)
}
