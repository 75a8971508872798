//! E-mailed links (password reset, address verification): checking the
//! single-use token a link carries. Shared by the endpoints the links
//! land on.

use ferrid_store::secret::digest;
use ferrid_store::EmailToken;

use crate::error::PageError;
use crate::state::AppState;
use crate::{mail, paths};

/// The page for a link that is unknown, spent or expired.
pub fn invalid_link() -> PageError {
    PageError::bad_request(
        "Link expired",
        "This link is invalid, was already used, or has expired.",
    )
    .with_hint("Ask for a new one.")
}

/// The stored token of a link for `purpose`, if it is still usable.
pub async fn valid_token(
    state: &AppState,
    token: &str,
    purpose: &'static str,
) -> Result<EmailToken, PageError> {
    let (token_digest, now) = (digest(token), state.now());
    state
        .db(move |store| store.find_email_token(&token_digest, purpose, now))
        .await?
        .ok_or_else(invalid_link)
}

/// The enabled user a link for `purpose` was sent to. The link was for
/// the address the user had then: one sent before the address changed no
/// longer acts on the account.
pub async fn link_user(
    state: &AppState,
    token: &str,
    purpose: &'static str,
) -> Result<ferrid_store::User, PageError> {
    let email_token = valid_token(state, token, purpose).await?;
    let user_id = email_token.user_id.clone();
    state
        .db(move |store| store.find_user(&user_id))
        .await?
        .filter(|user| !user.disabled && user.email == email_token.email)
        .ok_or_else(invalid_link)
}

/// The form that sets a new password with reset token `reset_token`.
pub fn password_reset_form(
    state: &AppState,
    http: &actix_web::HttpRequest,
    reset_token: &str,
    error: Option<&str>,
) -> Result<actix_web::HttpResponse, PageError> {
    let token = crate::forms::FormToken::for_browser(state, http);
    let page = ferrid_pages::PasswordResetPage {
        token: reset_token,
        min_length: state.settings.security.passwords.min_length,
        csrf_token: &token.value,
        error,
    };
    token.respond_form(error, &page)
}

/// At most one reset e-mail per account in this many seconds, so the
/// form cannot be used to flood someone's mailbox.
pub const RESET_COOLDOWN: i64 = 60;

/// Why a user gets a link to choose a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordLink {
    /// They asked to reset a forgotten one.
    Reset,
    /// An administrator created their account.
    Invitation,
}

/// Issues a reset token for `user` and mails the link, in the background,
/// unless one was sent within [`RESET_COOLDOWN`]. A passwordless account
/// never gets a password: its link creates a passkey instead.
pub fn send_password_link(state: &AppState, user: ferrid_store::User, why: PasswordLink) {
    // A passwordless account with passkeys is not recovered by its mailbox
    // alone (that would make the mailbox a credential as strong as the
    // passkeys): an administrator removes lost passkeys first.
    if user.passwordless && user.passkeys > 0 && why == PasswordLink::Reset {
        tracing::info!(user_id = %user.id, "no passkey link: the passwordless account still has passkeys");
        return;
    }
    let (purpose, path) = if user.passwordless {
        (mail::PASSKEY_SETUP, paths::PASSKEY_INVITATION)
    } else {
        (mail::PASSWORD_RESET, paths::PASSWORD_RESET)
    };
    let state = state.clone();
    actix_web::rt::spawn(async move {
        let (now, ttl) = (state.now(), state.settings.security.email.reset_ttl);
        let user_id = user.id.clone();
        let issued = state
            .db(move |store| {
                let recent = store
                    .last_email_token_at(&user.id, purpose)?
                    .is_some_and(|at| now - at < RESET_COOLDOWN);
                if recent {
                    return Ok(None);
                }
                mail::issue_token(store, &user, purpose, now, ttl).map(|token| Some((user, token)))
            })
            .await;
        let Ok(Some((user, token))) = issued else {
            tracing::info!(%user_id, "no reset e-mail: one was sent within the last minute, or the database failed");
            return;
        };
        let link = format!("{}?token={token}", state.settings.endpoint(path));
        let (subject, body) = match (why, user.passwordless) {
            (PasswordLink::Reset, true) => (
                "Set up a new passkey",
                format!(
                    "Hello {},\n\nSomeone asked to recover your account, which signs in with passkeys. To create a new passkey, open this link within {} minutes:\n\n{link}\n\nIf it was not you, ignore this message: your passkeys stay as they are.\n",
                    user.username,
                    ttl / 60
                ),
            ),
            (PasswordLink::Invitation, true) => (
                "Your new account",
                format!(
                    "Hello {},\n\nAn administrator created an account for you. It signs in with a passkey, not a password. To create your passkey, open this link within {} minutes:\n\n{link}\n",
                    user.username,
                    ttl / 60
                ),
            ),
            (PasswordLink::Reset, false) => (
                "Reset your password",
                format!(
                    "Hello {},\n\nSomeone asked to reset the password of your account. To choose a new password, open this link within {} minutes:\n\n{link}\n\nIf it was not you, ignore this message: your password stays as it is.\n",
                    user.username,
                    ttl / 60
                ),
            ),
            (PasswordLink::Invitation, false) => (
                "Your new account",
                format!(
                    "Hello {},\n\nAn administrator created an account for you. To choose your password, open this link within {} minutes:\n\n{link}\n",
                    user.username,
                    ttl / 60
                ),
            ),
        };
        mail::send_in_background(&state.mailer, user.email.clone(), subject.into(), body);
    });
}
