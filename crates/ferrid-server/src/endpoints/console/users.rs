//! `/admin/users`: list with search and keyset paging (fast at 100,000
//! users), invite by e-mail, and per user: profile, sessions (end them,
//! back-channel logouts sent), groups, roles, unlock, reset the second
//! factor, require a new password, the console role, and disable.

use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_pages::console::{Choice, FieldErrors, SessionRow, UserPage, UserRow, UsersPage};
use ferrid_service::clock::timestamp;
use ferrid_service::groups;
use ferrid_service::users::{self, AdminRole, UserError};
use ferrid_store::{Principal, Store, User};

use crate::console_session::{confirm, Confirmation, ConsoleAdmin};
use crate::email_link::{self, PasswordLink};
use crate::endpoints::console::{
    done, not_found, sentence, signed_in, writer_form, ConsoleError, Page,
};
use crate::error::{Internal, PageError};
use crate::http::Params;
use crate::state::AppState;
use crate::user_accounts::{self, CreateError};

/// Users per page.
const PAGE_SIZE: i64 = 50;

fn status(user: &User) -> String {
    let mut parts = vec![if user.disabled { "disabled" } else { "active" }];
    if user.has_mfa() {
        parts.push("second factor");
    }
    if let Some(role) = user.admin_role.as_deref() {
        parts.push(role);
    }
    parts.join(", ")
}

/// The list and the invitation form.
async fn list_page(
    state: &AppState,
    http: &HttpRequest,
    admin: &ConsoleAdmin,
    invite: (&str, &str, &str),
    errors: FieldErrors,
) -> Result<HttpResponse, ConsoleError> {
    let query = Params::parse(http.query_string().as_bytes()).unwrap_or_default();
    let q: String = query
        .get("q")
        .unwrap_or_default()
        .trim()
        .chars()
        .take(254)
        .collect();
    let after = query.get("after").map(str::to_owned);
    let search = (!q.is_empty()).then(|| q.clone());
    let found = state
        .db(move |store| store.page_users(after.as_deref(), search.as_deref(), PAGE_SIZE + 1))
        .await?;
    let more = found.len() as i64 > PAGE_SIZE;
    let shown: Vec<&User> = found.iter().take(PAGE_SIZE as usize).collect();
    let next = more
        .then(|| shown.last().map(|user| user.username.clone()))
        .flatten();
    let admin_passkeys_required = crate::console_session::admin_passkeys_required(state).await?;
    let page = Page::new(state, http, admin);
    let (username, email, name) = invite;
    let view = UsersPage {
        admin_passkeys_required,
        admin_passkeys_forced: state.settings.security.passkeys.required_for_admins,
        frame: page.frame("users"),
        users: shown
            .into_iter()
            .map(|user| UserRow {
                id: user.id.clone(),
                username: user.username.clone(),
                email: user.email.clone(),
                status: status(user),
            })
            .collect(),
        q: &q,
        next,
        username,
        email,
        name,
        errors,
    };
    page.respond(&view, &view.errors)
}

/// `GET /admin/users?q=…&after=…`.
pub async fn list(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    let admin = signed_in(&state, &http).await?;
    list_page(&state, &http, &admin, ("", "", ""), FieldErrors::none()).await
}

/// `POST /admin/users/admin-passkeys`: requires administrators to sign
/// in with a passkey (`required=true`), or no longer. A recent
/// confirmation is needed, and turning it on a passkey of one's own (the
/// next sign-in would otherwise be refused).
pub async fn admin_passkeys(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let (admin, params) = writer_form(&state, &http, &body).await?;
    let required = params.get("required") == Some("true");
    if let Confirmation::Refused(message) = confirm(&state, &http, &admin, &params).await? {
        let errors = FieldErrors::one("confirm-admin-passkeys", message);
        return list_page(&state, &http, &admin, ("", "", ""), errors).await;
    }
    if required && admin.user.passkeys == 0 {
        let errors = FieldErrors::one(
            "required",
            "Add a passkey to your own account first (on your account page): otherwise you could not sign in to the console again.",
        );
        return list_page(&state, &http, &admin, ("", "", ""), errors).await;
    }
    crate::console_session::set_admin_passkeys_required(&state, &http, &admin.user.id, required)
        .await?;
    Ok(done(
        "/admin/users",
        if required {
            "admin-passkeys-on"
        } else {
            "admin-passkeys-off"
        },
    ))
}

/// `POST /admin/users/invite`: creates the user and e-mails a link to
/// choose a password.
pub async fn invite(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let (admin, params) = writer_form(&state, &http, &body).await?;
    let text = |name: &str| params.get(name).unwrap_or_default().trim().to_owned();
    let (username, email, name) = (text("username"), text("email"), text("name"));
    let created = user_accounts::create(
        &state,
        user_accounts::NewUser {
            username: username.clone(),
            email: email.clone(),
            name: (!name.is_empty()).then(|| name.clone()),
            password: None,
            passwordless: params.get("passwordless") == Some("true"),
        },
        &admin.user.id,
    )
    .await;
    match created {
        Ok(user) => Ok(done(&format!("/admin/users/{}", user.id), "user-invited")),
        Err(CreateError::Invalid(error)) => {
            let errors = user_errors(error)?;
            list_page(&state, &http, &admin, (&username, &email, &name), errors).await
        }
        Err(CreateError::Busy) => Err(PageError {
            status: actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            title: "Busy".into(),
            message: "Too many passwords are being checked; try again shortly.".into(),
            hint: None,
        }
        .into()),
        Err(CreateError::Internal(internal)) => Err(internal.into()),
    }
}

fn user_errors(error: UserError) -> Result<FieldErrors, ConsoleError> {
    match (error.field(), error) {
        (Some(field), error) => Ok(FieldErrors::one(field, sentence(&error))),
        (None, UserError::NotFound(_)) => Err(not_found("such user")),
        (None, other) => Err(Internal::log(other).into()),
    }
}

/// What the user page shows besides the user.
struct Details {
    user: User,
    groups: Vec<(String, bool)>,
    roles: Vec<String>,
    sessions: Vec<ferrid_store::Session>,
    passkeys: Vec<ferrid_store::Passkey>,
}

fn details(store: &Store, user_id: &str, now: i64) -> ferrid_store::StoreResult<Option<Details>> {
    let Some(user) = store.find_user(user_id)? else {
        return Ok(None);
    };
    let member_of = store.groups_of_user(&user.id)?;
    let groups = store
        .list_groups()?
        .into_iter()
        .map(|group| {
            let member = member_of.contains(&group.name);
            (group.name, member)
        })
        .collect();
    let mut roles = Vec::new();
    for api in store.list_apis()? {
        for grant in store.role_grants(&api.identifier)? {
            if grant.principal == Principal::User(user.id.clone()) {
                roles.push(format!("{} at {}", grant.role, api.identifier));
            }
        }
    }
    let sessions = store.list_sessions(&user.id, now)?;
    let passkeys = store.user_passkeys(&user.id)?;
    Ok(Some(Details {
        user,
        groups,
        roles,
        sessions,
        passkeys,
    }))
}

async fn user_page(
    state: &AppState,
    http: &HttpRequest,
    admin: &ConsoleAdmin,
    user_id: String,
    typed: Option<(&str, &str)>,
    errors: FieldErrors,
) -> Result<HttpResponse, ConsoleError> {
    let now = state.now();
    let details = state
        .db(move |store| details(store, &user_id, now))
        .await?
        .ok_or_else(|| not_found("such user"))?;
    let user = &details.user;
    let (email, name) = typed.unwrap_or((&user.email, user.name.as_deref().unwrap_or_default()));
    let page = Page::new(state, http, admin);
    let view = UserPage {
        frame: page.frame("users"),
        id: &user.id,
        username: &user.username,
        email,
        name,
        email_verified: user.email_verified,
        disabled: user.disabled,
        mfa: user.has_mfa(),
        passwordless: user.passwordless,
        admin_role: user.admin_role.as_deref().unwrap_or_default(),
        groups: details
            .groups
            .iter()
            .map(|(group, member)| Choice {
                value: group.clone(),
                label: group.clone(),
                chosen: *member,
            })
            .collect(),
        roles: details.roles.clone(),
        sessions: details
            .sessions
            .iter()
            .map(|session| SessionRow {
                sid: session.sid.clone(),
                signed_in: timestamp(session.auth_time),
                methods: session.amr.clone(),
                expires: timestamp(session.expires_at),
            })
            .collect(),
        passkeys: details.passkeys.iter().map(crate::passkeys::view).collect(),
        errors,
    };
    page.respond(&view, &view.errors)
}

/// `GET /admin/users/{id}`.
pub async fn show(
    state: web::Data<AppState>,
    http: HttpRequest,
    user_id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let admin = signed_in(&state, &http).await?;
    user_page(
        &state,
        &http,
        &admin,
        user_id.into_inner(),
        None,
        FieldErrors::none(),
    )
    .await
}

async fn stored(state: &AppState, user_id: String) -> Result<User, ConsoleError> {
    state
        .db(move |store| store.find_user(&user_id))
        .await?
        .ok_or_else(|| not_found("such user"))
}

/// `POST /admin/users/{id}/profile`: e-mail address and display name.
pub async fn profile(
    state: web::Data<AppState>,
    http: HttpRequest,
    user_id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let (admin, params) = writer_form(&state, &http, &body).await?;
    let user_id = user_id.into_inner();
    let email = params.get("email").unwrap_or_default().to_owned();
    let name = params.get("name").unwrap_or_default().to_owned();
    let (actor, now, id, new_email, new_name) = (
        admin.user.id.clone(),
        state.now(),
        user_id.clone(),
        email.clone(),
        name.clone(),
    );
    let updated = state
        .db(move |store| {
            Ok(users::update_profile(
                store, &id, &new_email, &new_name, &actor, now,
            ))
        })
        .await?;
    match updated {
        Ok(_) => Ok(done(&format!("/admin/users/{user_id}"), "user-updated")),
        // Only the address can be taken here.
        Err(UserError::Taken) => {
            let errors =
                FieldErrors::one("email", "A user with this e-mail address already exists.");
            user_page(
                &state,
                &http,
                &admin,
                user_id,
                Some((&email, &name)),
                errors,
            )
            .await
        }
        Err(error) => {
            let errors = user_errors(error)?;
            user_page(
                &state,
                &http,
                &admin,
                user_id,
                Some((&email, &name)),
                errors,
            )
            .await
        }
    }
}

/// An action on a user, by username, done by the admin.
type Action = fn(&Store, &str, &str, i64) -> Result<(), UserError>;

/// What an action needs besides the admin's say-so.
#[derive(Clone, Copy)]
struct Needs {
    /// The confirmation field, for a dangerous action.
    confirmation: Option<&'static str>,
    /// Whether it ends sessions (back-channel logouts to send).
    ends_sessions: bool,
}

const SAY_SO: Needs = Needs {
    confirmation: None,
    ends_sessions: false,
};

async fn act(
    state: &AppState,
    http: &HttpRequest,
    user_id: String,
    body: &[u8],
    action: Action,
    needs: Needs,
    notice: &str,
) -> Result<HttpResponse, ConsoleError> {
    let (admin, params) = writer_form(state, http, body).await?;
    if let Some(field) = needs.confirmation {
        if let Confirmation::Refused(message) = confirm(state, http, &admin, &params).await? {
            let errors = FieldErrors::one(field, message);
            return user_page(state, http, &admin, user_id, None, errors).await;
        }
    }
    let user = stored(state, user_id).await?;
    let (actor, now, username) = (admin.user.id.clone(), state.now(), user.username.clone());
    state
        .db(move |store| Ok(action(store, &username, &actor, now)))
        .await?
        .map_err(|error| ConsoleError::from(Internal::log(error)))?;
    if needs.ends_sessions {
        state.deliver_logouts_soon();
    }
    Ok(done(&format!("/admin/users/{}", user.id), notice))
}

/// `POST /admin/users/{id}/unlock`.
pub async fn unlock(
    state: web::Data<AppState>,
    http: HttpRequest,
    user_id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    act(
        &state,
        &http,
        user_id.into_inner(),
        &body,
        users::unlock,
        SAY_SO,
        "user-unlocked",
    )
    .await
}

/// `POST /admin/users/{id}/reset-mfa`.
pub async fn reset_mfa(
    state: web::Data<AppState>,
    http: HttpRequest,
    user_id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    act(
        &state,
        &http,
        user_id.into_inner(),
        &body,
        users::reset_mfa,
        SAY_SO,
        "mfa-reset",
    )
    .await
}

/// `POST /admin/users/{id}/require-password-reset`: the password stops
/// working, sessions end, and a reset link is e-mailed.
pub async fn require_password_reset(
    state: web::Data<AppState>,
    http: HttpRequest,
    user_id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let (admin, _) = writer_form(&state, &http, &body).await?;
    let user_id = user_id.into_inner();
    let (store, hasher, actor, now, id) = (
        state.store.clone(),
        state.passwords.clone(),
        admin.user.id.clone(),
        state.now(),
        user_id.clone(),
    );
    let user = state
        .password_pool
        .run(move || users::require_password_reset(&store, &id, &hasher, &actor, now))
        .await
        .map_err(|error| match error {
            crate::password_pool::PoolError::Internal(internal) => ConsoleError::from(internal),
            crate::password_pool::PoolError::Full => ConsoleError::from(PageError {
                status: actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                title: "Busy".into(),
                message: "Too many passwords are being checked; try again shortly.".into(),
                hint: None,
            }),
        })?
        .map_err(|error| match error {
            UserError::NotFound(_) => not_found("such user"),
            refused @ UserError::PasswordlessWithPassword => ConsoleError::from(
                PageError::bad_request("Passwordless account", refused.to_string()),
            ),
            other => Internal::log(other).into(),
        })?;
    state.deliver_logouts_soon();
    email_link::send_password_link(&state, user, PasswordLink::Reset);
    Ok(done(
        &format!("/admin/users/{user_id}"),
        "password-reset-required",
    ))
}

/// `POST /admin/users/{id}/end-sessions`: needs a recent confirmation.
pub async fn end_sessions(
    state: web::Data<AppState>,
    http: HttpRequest,
    user_id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let needs = Needs {
        confirmation: Some("confirm-end-sessions"),
        ends_sessions: true,
    };
    let action: Action =
        |store, username, actor, now| users::end_sessions(store, username, actor, now).map(|_| ());
    let user_id = user_id.into_inner();
    act(
        &state,
        &http,
        user_id,
        &body,
        action,
        needs,
        "sessions-ended",
    )
    .await
}

/// `POST /admin/users/{id}/passkeys/remove`: removes the user's passkey
/// `passkey` (a lost or stolen authenticator).
pub async fn remove_passkey(
    state: web::Data<AppState>,
    http: HttpRequest,
    user_id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let (admin, params) = writer_form(&state, &http, &body).await?;
    let user = stored(&state, user_id.into_inner()).await?;
    let passkey_id = params.get("passkey").unwrap_or_default().to_owned();
    let (user_id, actor, now) = (user.id.clone(), admin.user.id.clone(), state.now());
    state
        .db(move |store| {
            Ok(users::remove_passkey(
                store,
                &user_id,
                &passkey_id,
                &actor,
                now,
            ))
        })
        .await?
        .map_err(|error| match error {
            UserError::PasskeyNotFound(_) => not_found("such passkey"),
            other => ConsoleError::from(Internal::log(other)),
        })?;
    Ok(done(
        &format!("/admin/users/{}", user.id),
        "passkey-removed",
    ))
}

/// `POST /admin/users/{id}/disable`: needs a recent confirmation.
pub async fn disable(
    state: web::Data<AppState>,
    http: HttpRequest,
    user_id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let needs = Needs {
        confirmation: Some("confirm-disable"),
        ends_sessions: true,
    };
    let action: Action =
        |store, username, actor, now| users::disable(store, username, actor, now).map(|_| ());
    let user_id = user_id.into_inner();
    act(
        &state,
        &http,
        user_id,
        &body,
        action,
        needs,
        "user-disabled",
    )
    .await
}

/// `POST /admin/users/{id}/admin-role`: `admin`, `auditor` or none.
pub async fn admin_role(
    state: web::Data<AppState>,
    http: HttpRequest,
    user_id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let (admin, params) = writer_form(&state, &http, &body).await?;
    let role = match params.get("admin_role").unwrap_or_default() {
        "" => None,
        name => Some(AdminRole::parse(name).ok_or_else(|| {
            PageError::bad_request(
                "Unknown role",
                "The console role must be admin, auditor or none.",
            )
        })?),
    };
    let user = stored(&state, user_id.into_inner()).await?;
    let (actor, now, username) = (admin.user.id.clone(), state.now(), user.username.clone());
    state
        .db(move |store| Ok(users::set_admin_role(store, &username, role, &actor, now)))
        .await?
        .map_err(|error| ConsoleError::from(Internal::log(error)))?;
    Ok(done(&format!("/admin/users/{}", user.id), "user-updated"))
}

/// `POST /admin/users/{id}/groups`: the groups the user is a member of.
pub async fn set_groups(
    state: web::Data<AppState>,
    http: HttpRequest,
    user_id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let (admin, params) = writer_form(&state, &http, &body).await?;
    let user = stored(&state, user_id.into_inner()).await?;
    let wanted = params.all("group").to_vec();
    let (actor, now, user_id, username) = (
        admin.user.id.clone(),
        state.now(),
        user.id.clone(),
        user.username.clone(),
    );
    state
        .db(move |store| {
            let current = store.groups_of_user(&user_id)?;
            let result = (|| {
                for group in store.list_groups()? {
                    let (is, want) = (current.contains(&group.name), wanted.contains(&group.name));
                    if is != want {
                        groups::set_member(store, &group.name, &username, want, &actor, now)?;
                    }
                }
                Ok::<_, groups::GroupError>(())
            })();
            Ok(result)
        })
        .await?
        .map_err(|error| ConsoleError::from(Internal::log(error)))?;
    Ok(done(&format!("/admin/users/{}", user.id), "user-updated"))
}
