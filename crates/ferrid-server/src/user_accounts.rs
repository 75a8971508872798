//! Creating a user from an admin surface (the API or the console): with a
//! password, or by invitation (a random password nobody sees and an
//! e-mailed link to choose one). Hashing runs on the password pool.

use ferrid_service::users::{self, NewAccount, PasswordRules, UserError};
use ferrid_store::secret::generate_secret;
use ferrid_store::User;

use crate::email_link::{self, PasswordLink};
use crate::password_pool::PoolError;
use crate::state::AppState;

/// Why a user was not created.
#[derive(Debug)]
pub enum CreateError {
    /// A rule is broken, or the name or address is taken.
    Invalid(UserError),
    /// Every hashing thread is busy.
    Busy,
    /// The server failed (logged).
    Internal(crate::error::Internal),
}

/// Who to create.
pub struct NewUser {
    /// Login name.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// The password; `None` invites the user by e-mail.
    pub password: Option<String>,
    /// A passwordless account: invited by e-mail to create a passkey,
    /// never given a password (`password` must then be `None`).
    pub passwordless: bool,
}

/// Creates the user, done by `actor`, and sends the invitation if there
/// is no password.
pub async fn create(state: &AppState, new: NewUser, actor: &str) -> Result<User, CreateError> {
    let invited = new.password.is_none();
    if new.passwordless && !invited {
        return Err(CreateError::Invalid(UserError::PasswordlessWithPassword));
    }
    let passwordless = new.passwordless;
    // An invited user's password is random and never shown: the link is
    // the only way in.
    let password = new.password.unwrap_or_else(|| generate_secret("invited-"));
    let (store, hasher, min_length, now) = (
        state.store.clone(),
        state.passwords.clone(),
        state.settings.security.passwords.min_length,
        state.now(),
    );
    let actor = actor.to_owned();
    let created = state
        .password_pool
        .run(move || {
            users::create(
                &store,
                NewAccount {
                    username: &new.username,
                    email: &new.email,
                    name: new.name.as_deref(),
                    password: &password,
                    passwordless,
                },
                PasswordRules {
                    min_length,
                    hasher: &hasher,
                },
                &actor,
                now,
            )
        })
        .await
        .map_err(|error| match error {
            PoolError::Full => CreateError::Busy,
            PoolError::Internal(internal) => CreateError::Internal(internal),
        })?
        .map_err(CreateError::Invalid)?;
    if invited {
        email_link::send_password_link(state, created.clone(), PasswordLink::Invitation);
    }
    Ok(created)
}
