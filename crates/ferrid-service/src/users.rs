//! User administration: creating users, setting passwords, disabling
//! accounts, removing second factors and lifting locks. Each operation
//! checks the account rules, changes the store and writes its audit event.

use ferrid_store::{NewUser, PasswordHasher, Store, StoreError, User};

use crate::accounts::{check_identity, check_password, IdentityError, PasswordError};
use crate::audit::{Event, EventKind, Outcome};
use crate::throttles;

/// Why a user operation failed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// The username or e-mail address breaks a rule.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The password breaks the policy.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// Another user has this username or e-mail address.
    #[error("a user with this username or email already exists")]
    Taken,
    /// No user has this username.
    #[error("no user named {0}")]
    NotFound(String),
    /// The user has no passkey with this id.
    #[error("the user has no passkey {0}")]
    PasskeyNotFound(String),
    /// The last passkey of a passwordless account stays (it is the only
    /// way in); `reset-mfa` removes every factor when that is meant.
    #[error("this is the last passkey of a passwordless account; to remove every factor, reset the second factor instead")]
    LastPasskey,
    /// A password was given for an account meant to have none.
    #[error("a passwordless account has no password: leave it out to invite the user to create a passkey")]
    PasswordlessWithPassword,
    /// The display name is too long or has control characters.
    #[error("the display name must be at most 200 characters without control characters")]
    Name,
    /// The database (or the password hasher) failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl UserError {
    /// The field of a user's details the error is about, if any (the
    /// admin API's member and the console's form field).
    pub fn field(&self) -> Option<&'static str> {
        match self {
            UserError::Identity(IdentityError::Username) | UserError::Taken => Some("username"),
            UserError::Identity(IdentityError::Email) => Some("email"),
            UserError::Password(_) | UserError::PasswordlessWithPassword => Some("password"),
            UserError::Name => Some("name"),
            UserError::NotFound(_)
            | UserError::PasskeyNotFound(_)
            | UserError::LastPasskey
            | UserError::Store(_) => None,
        }
    }
}

/// What the password rules need to know of the deployment.
#[derive(Clone, Copy)]
pub struct PasswordRules<'a> {
    /// The configured minimum length.
    pub min_length: usize,
    /// How passwords are hashed.
    pub hasher: &'a PasswordHasher,
}

/// A new user's details (no `Debug`: it holds a password).
#[derive(Clone, Copy)]
pub struct NewAccount<'a> {
    /// Login name.
    pub username: &'a str,
    /// E-mail address.
    pub email: &'a str,
    /// Display name.
    pub name: Option<&'a str>,
    /// The initial password, in the clear (hashed here, never stored).
    pub password: &'a str,
    /// Whether the account signs in with passkeys only; its password is
    /// then a random one nobody sees.
    pub passwordless: bool,
}

/// Creates a user, done by `actor`.
pub fn create(
    store: &Store,
    account: NewAccount<'_>,
    rules: PasswordRules<'_>,
    actor: &str,
    now: i64,
) -> Result<User, UserError> {
    check_identity(account.username, account.email)?;
    check_password(
        account.password,
        rules.min_length,
        account.username,
        account.email,
    )?;
    let hash = rules.hasher.hash(account.password)?;
    let user = store
        .create_user(
            NewUser {
                username: account.username,
                email: account.email,
                name: account.name,
                password_hash: &hash,
                passwordless: account.passwordless,
            },
            now,
        )
        .map_err(|error| match error {
            StoreError::Conflict(_) => UserError::Taken,
            other => other.into(),
        })?;
    audit(EventKind::UserCreate, actor, &user.id).write(store, now)?;
    Ok(user)
}

/// A user as the admin surfaces show them (never a hash or secret).
#[derive(Debug, Clone, serde::Serialize)]
pub struct UserView {
    /// The subject identifier.
    pub id: String,
    /// Login name.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// Whether the address was verified.
    pub email_verified: bool,
    /// Whether the account is disabled.
    pub disabled: bool,
    /// Whether a second factor is enrolled (TOTP or a passkey).
    pub mfa: bool,
    /// How many passkeys the user has.
    pub passkeys: i64,
    /// Whether the account signs in with passkeys only.
    pub passwordless: bool,
    /// `admin` or `auditor`, for administrators.
    pub admin_role: Option<String>,
    /// Creation time, RFC 3339.
    pub created_at: String,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        UserView {
            id: user.id.clone(),
            username: user.username.clone(),
            email: user.email.clone(),
            name: user.name.clone(),
            email_verified: user.email_verified,
            disabled: user.disabled,
            mfa: user.has_mfa(),
            passkeys: user.passkeys,
            passwordless: user.passwordless,
            admin_role: user.admin_role.clone(),
            created_at: crate::clock::timestamp(user.created_at),
        }
    }
}

/// The user with this id.
pub fn show(store: &Store, user_id: &str) -> Result<User, UserError> {
    store
        .find_user(user_id)?
        .ok_or_else(|| UserError::NotFound(user_id.to_owned()))
}

/// Ends every session of a user; relying parties with a back-channel
/// logout receiver are told. Returns how many ended.
pub fn end_sessions(
    store: &Store,
    username: &str,
    actor: &str,
    now: i64,
) -> Result<usize, UserError> {
    let user = find(store, username)?;
    let ended = store.end_user_sessions(&user.id, None, now, |_| Ok(()))?;
    audit(EventKind::SessionEnd, actor, &user.id)
        .detail(format!("an administrator ended {ended} sessions"))
        .write(store, now)?;
    Ok(ended)
}

/// Longest display name, characters.
pub const MAX_NAME: usize = 200;

/// Changes a user's e-mail address and display name (an empty name
/// removes it); a new address is unverified. Audited.
pub fn update_profile(
    store: &Store,
    user_id: &str,
    email: &str,
    name: &str,
    actor: &str,
    now: i64,
) -> Result<User, UserError> {
    let user = show(store, user_id)?;
    let email = email.trim();
    check_identity(&user.username, email)?;
    let name = name.trim();
    if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(UserError::Name);
    }
    let name = (!name.is_empty()).then_some(name);
    store
        .set_user_profile(user_id, email, name, now)
        .map_err(|error| match error {
            StoreError::Conflict(_) => UserError::Taken,
            StoreError::NotFound(_) => UserError::NotFound(user_id.to_owned()),
            other => other.into(),
        })?;
    audit(EventKind::UserUpdate, actor, user_id)
        .detail(if email == user.email {
            "profile changed".to_owned()
        } else {
            "profile and e-mail address changed".to_owned()
        })
        .write(store, now)?;
    show(store, user_id)
}

/// Makes a user choose a new password: the current one stops working
/// (replaced by a random one nobody knows), sessions end and grants are
/// revoked; the caller e-mails a reset link. Returns the user.
pub fn require_password_reset(
    store: &Store,
    user_id: &str,
    hasher: &PasswordHasher,
    actor: &str,
    now: i64,
) -> Result<User, UserError> {
    let user = show(store, user_id)?;
    if user.passwordless {
        return Err(UserError::PasswordlessWithPassword);
    }
    let unknowable = ferrid_store::secret::generate_secret("reset-");
    let hash = hasher.hash(&unknowable)?;
    let ended = store.change_password(&user.id, &hash, None, now)?;
    audit(EventKind::PasswordResetRequired, actor, &user.id)
        .detail(format!("{ended} sessions ended"))
        .write(store, now)?;
    Ok(user)
}

/// Every user.
pub fn list(store: &Store) -> Result<Vec<User>, UserError> {
    Ok(store.list_users()?)
}

/// The user with exactly this username (case-insensitive), not an e-mail
/// address.
pub fn find(store: &Store, username: &str) -> Result<User, UserError> {
    match store.find_user_by_login(username)? {
        Some(user) if user.username == username.to_lowercase() => Ok(user),
        _ => Err(UserError::NotFound(username.to_owned())),
    }
}

/// Sets a user's password; their sessions end and their grants are
/// revoked. Returns how many sessions ended.
pub fn set_password(
    store: &Store,
    username: &str,
    password: &str,
    rules: PasswordRules<'_>,
    actor: &str,
    now: i64,
) -> Result<usize, UserError> {
    let user = find(store, username)?;
    if user.passwordless {
        return Err(UserError::PasswordlessWithPassword);
    }
    check_password(password, rules.min_length, &user.username, &user.email)?;
    let hash = rules.hasher.hash(password)?;
    let ended = store.change_password(&user.id, &hash, None, now)?;
    audit(EventKind::PasswordSet, actor, &user.id)
        .detail(format!("{ended} sessions ended"))
        .write(store, now)?;
    Ok(ended)
}

/// Disables a user and ends their sessions; relying parties with a
/// back-channel logout receiver are told. Returns how many sessions ended.
pub fn disable(store: &Store, username: &str, actor: &str, now: i64) -> Result<usize, UserError> {
    let user = find(store, username)?;
    let ended = store.disable_user(&user.id, now)?;
    audit(EventKind::UserDisable, actor, &user.id)
        .detail(format!("{ended} sessions ended"))
        .write(store, now)?;
    Ok(ended)
}

/// Removes a user's second factors: TOTP, recovery codes and passkeys
/// (a passwordless user then gets a new passkey through "forgot password"
/// or an administrator's "require a new password").
pub fn reset_mfa(store: &Store, username: &str, actor: &str, now: i64) -> Result<(), UserError> {
    let user = find(store, username)?;
    store.reset_mfa(&user.id, now)?;
    // Failed codes of the old device must not lock the new one.
    store.clear_login_failures(&[throttles::mfa_subject(&user.id)])?;
    audit(EventKind::MfaReset, actor, &user.id).write(store, now)?;
    Ok(())
}

/// A passkey as the admin surfaces show it: no key material.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PasskeyView {
    /// ferrid's id of the passkey.
    pub id: String,
    /// The name its owner gave it.
    pub name: String,
    /// Whether it may be synced between devices (backup eligible).
    pub synced: bool,
    /// Whether it was backed up at its last use.
    pub backed_up: bool,
    /// The authenticator model (AAGUID, hex; zeros when not told).
    pub aaguid: String,
    /// Registration time, RFC 3339.
    pub created_at: String,
    /// Last use, RFC 3339.
    pub last_used_at: Option<String>,
}

/// The passkeys of user `user_id`, oldest first.
pub fn passkeys(store: &Store, user_id: &str) -> Result<Vec<PasskeyView>, UserError> {
    Ok(store
        .user_passkeys(user_id)?
        .into_iter()
        .map(|passkey| PasskeyView {
            id: passkey.id,
            name: passkey.name,
            synced: passkey.backup_eligible,
            backed_up: passkey.backed_up,
            aaguid: passkey.aaguid,
            created_at: crate::clock::timestamp(passkey.created_at),
            last_used_at: passkey.last_used_at.map(crate::clock::timestamp),
        })
        .collect())
}

/// Removes passkey `passkey_id` of user `user_id` (a lost or stolen
/// authenticator) and ends the user's sessions (one may have signed in
/// with it); the user keeps their other factors.
pub fn remove_passkey(
    store: &Store,
    user_id: &str,
    passkey_id: &str,
    actor: &str,
    now: i64,
) -> Result<ferrid_store::Passkey, UserError> {
    let removed = match store.remove_passkey(user_id, passkey_id, None, now)? {
        ferrid_store::PasskeyRemoval::Removed(passkey) => *passkey,
        ferrid_store::PasskeyRemoval::NotFound => {
            return Err(UserError::PasskeyNotFound(passkey_id.to_owned()))
        }
        ferrid_store::PasskeyRemoval::LastOfPasswordless => return Err(UserError::LastPasskey),
    };
    audit(EventKind::PasskeyRemove, actor, user_id)
        .detail(format!("passkey {} ({})", removed.id, removed.name))
        .write(store, now)?;
    Ok(removed)
}

/// Forgets a user's failed sign-in attempts: every counter that could
/// lock them (their username, their e-mail address, their second factor).
pub fn unlock(store: &Store, username: &str, actor: &str, now: i64) -> Result<(), UserError> {
    let user = find(store, username)?;
    store.clear_login_failures(&throttles::subjects_of(&user))?;
    audit(EventKind::AccountUnlock, actor, &user.id).write(store, now)?;
    Ok(())
}

/// What an administrator of ferrid may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminRole {
    /// Everything.
    Admin,
    /// Read everything, change nothing.
    Auditor,
}

impl AdminRole {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AdminRole::Admin => "admin",
            AdminRole::Auditor => "auditor",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<AdminRole> {
        [AdminRole::Admin, AdminRole::Auditor]
            .into_iter()
            .find(|role| role.as_str() == name)
    }

    /// Whether this role may change things.
    pub fn may_write(self) -> bool {
        self == AdminRole::Admin
    }
}

/// Makes a user an administrator with `role`, or (with `None`) no longer
/// one.
pub fn set_admin_role(
    store: &Store,
    username: &str,
    role: Option<AdminRole>,
    actor: &str,
    now: i64,
) -> Result<User, UserError> {
    let user = find(store, username)?;
    store.set_admin_role(&user.id, role.map(AdminRole::as_str))?;
    audit(EventKind::UserAdminRole, actor, &user.id)
        .detail(format!(
            "admin role: {}",
            role.map_or("none", AdminRole::as_str)
        ))
        .write(store, now)?;
    Ok(user)
}

fn audit(kind: EventKind, actor: &str, user_id: &str) -> Event {
    Event::new(kind, Outcome::Success)
        .actor(actor)
        .subject(user_id)
}
