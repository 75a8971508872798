//! The admin console's pages. Every page carries a [`Frame`] (who is
//! signed in, what they may do, the navigation) and its own view model;
//! form errors are [`FieldErrors`], shown beside their field.

use crate::filters;
use askama::Template;

/// What every console page shows around its content.
pub struct Frame<'a> {
    /// The signed-in admin's username.
    pub admin: &'a str,
    /// `admin` or `auditor`.
    pub role: &'a str,
    /// Whether the admin may change things (forms are shown).
    pub may_write: bool,
    /// Whether the admin confirmed it was them recently: dangerous forms
    /// then ask for nothing more.
    pub confirmed: bool,
    /// Anti-CSRF token echoed by every form.
    pub csrf_token: &'a str,
    /// The navigation entry of this page (`dashboard`, `clients`, …).
    pub section: &'static str,
    /// What just succeeded.
    pub notice: Option<&'a str>,
}

impl Frame<'_> {
    /// `aria-current` value for the navigation entry `section`.
    pub fn current(&self, section: &str) -> &'static str {
        if self.section == section {
            "page"
        } else {
            "false"
        }
    }
}

/// Errors of a submitted form, by field name.
#[derive(Debug, Clone, Default)]
pub struct FieldErrors(Vec<(&'static str, String)>);

impl FieldErrors {
    /// No errors.
    pub fn none() -> FieldErrors {
        FieldErrors::default()
    }

    /// Adds an error for `field`.
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }

    /// One error for `field`.
    pub fn one(field: &'static str, message: impl Into<String>) -> FieldErrors {
        let mut errors = FieldErrors::none();
        errors.add(field, message);
        errors
    }

    /// The error for `field`, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(name, _)| *name == field)
            .map(|(_, message)| message.as_str())
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every error, in order, for the summary at the top of the form.
    pub fn all(&self) -> &[(&'static str, String)] {
        &self.0
    }
}

/// A figure on the dashboard.
pub struct Figure {
    /// What it counts.
    pub label: &'static str,
    /// The count.
    pub value: i64,
    /// Where to see more, if anywhere.
    pub link: Option<&'static str>,
}

/// A signing key's age on the dashboard.
pub struct KeyAge {
    /// Algorithm.
    pub alg: String,
    /// Key id of the signing key.
    pub kid: String,
    /// Age in days.
    pub age_days: i64,
    /// When the next key takes over, as text.
    pub next_rotation: String,
}

/// The dashboard.
#[derive(Template)]
#[template(path = "console/dashboard.html")]
pub struct DashboardPage<'a> {
    /// Around the content.
    pub frame: Frame<'a>,
    /// Live sessions, locked accounts and the like.
    pub figures: Vec<Figure>,
    /// Sign-ins per hour over 24 hours (SVG drawn by [`crate::chart`]).
    pub sign_ins_day: String,
    /// Sign-ins per day over 30 days (SVG).
    pub sign_ins_month: String,
    /// Tokens issued per day over 30 days, by grant (SVG).
    pub tokens_month: String,
    /// The signing keys' ages.
    pub keys: Vec<KeyAge>,
}

/// A client in the list.
pub struct ClientRow {
    /// `client_id`.
    pub client_id: String,
    /// Name.
    pub name: String,
    /// Authentication method.
    pub auth_method: String,
    /// Grant types, comma-separated.
    pub grants: String,
    /// Whether it is disabled.
    pub disabled: bool,
}

/// The client list.
#[derive(Template)]
#[template(path = "console/clients.html")]
pub struct ClientsPage<'a> {
    /// Around the content.
    pub frame: Frame<'a>,
    /// This page of clients.
    pub clients: Vec<ClientRow>,
    /// The search.
    pub q: &'a str,
    /// The cursor of the next page, if there is one.
    pub next: Option<String>,
}

/// A choice in a list of checkboxes or a select.
pub struct Choice {
    /// The value posted.
    pub value: String,
    /// What the admin reads, if other than the value.
    pub label: String,
    /// Whether it is chosen.
    pub chosen: bool,
}

/// The client form's values, as typed.
#[derive(Debug, Clone, Default)]
pub struct ClientForm {
    /// Name.
    pub name: String,
    /// Redirect URIs, one per line.
    pub redirect_uris: String,
    /// Post-logout redirect URIs, one per line.
    pub post_logout_redirect_uris: String,
    /// Back-channel logout URI.
    pub backchannel_logout_uri: String,
    /// Refresh-token idle lifetime, seconds.
    pub refresh_idle_ttl: String,
    /// Refresh-token absolute lifetime, seconds.
    pub refresh_absolute_ttl: String,
    /// Refresh tokens without `offline_access`.
    pub refresh_for_online_sessions: bool,
    /// Inline JWKS.
    pub jwks: String,
    /// JWKS URI.
    pub jwks_uri: String,
    /// Every login needs a second factor.
    pub require_mfa: bool,
    /// PKCE required (confidential clients may opt out).
    pub require_pkce: bool,
    /// Only pushed authorization requests (RFC 9126) are accepted.
    pub require_pushed_requests: bool,
    /// Pairwise subject identifiers (chosen at registration only).
    pub pairwise_subjects: bool,
    /// Every token request must carry a DPoP proof (chosen at
    /// registration only).
    pub dpop_bound_access_tokens: bool,
    /// Requests per minute; empty for the server's default.
    pub rate_limit_per_minute: String,
}

/// Creating or editing a client.
#[derive(Template)]
#[template(path = "console/client_form.html")]
pub struct ClientFormPage<'a> {
    /// Around the content.
    pub frame: Frame<'a>,
    /// The client being edited; `None` when creating.
    pub client_id: Option<&'a str>,
    /// The values.
    pub form: ClientForm,
    /// Authentication methods.
    pub auth_methods: Vec<Choice>,
    /// Grant types.
    pub grant_types: Vec<Choice>,
    /// Scopes, OpenID Connect and APIs'.
    pub scopes: Vec<Choice>,
    /// ID token algorithms.
    pub algorithms: Vec<Choice>,
    /// Why the last submission was refused.
    pub errors: FieldErrors,
}

/// One setting on a detail page.
pub struct Setting {
    /// Its name.
    pub name: &'static str,
    /// Its value, as text.
    pub value: String,
}

/// A client's settings and actions.
#[derive(Template)]
#[template(path = "console/client.html")]
pub struct ClientPage<'a> {
    /// Around the content.
    pub frame: Frame<'a>,
    /// `client_id`.
    pub client_id: &'a str,
    /// Name.
    pub name: &'a str,
    /// Whether it is disabled.
    pub disabled: bool,
    /// Whether it has a secret to rotate.
    pub has_secret: bool,
    /// Whether it is the console's own (neither disabled nor deleted).
    pub built_in: bool,
    /// Its settings.
    pub settings: Vec<Setting>,
    /// A new secret, shown once.
    pub secret: Option<&'a str>,
    /// Why the last action was refused.
    pub errors: FieldErrors,
}

/// A user in the list.
pub struct UserRow {
    /// Subject id.
    pub id: String,
    /// Username.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// What to know at a glance: disabled, admin, second factor.
    pub status: String,
}

/// The user list, with the invitation form.
#[derive(Template)]
#[template(path = "console/users.html")]
pub struct UsersPage<'a> {
    /// Around the content.
    pub frame: Frame<'a>,
    /// This page of users.
    pub users: Vec<UserRow>,
    /// The search.
    pub q: &'a str,
    /// The cursor of the next page, if there is one.
    pub next: Option<String>,
    /// The invitation form's username.
    pub username: &'a str,
    /// The invitation form's address.
    pub email: &'a str,
    /// The invitation form's display name.
    pub name: &'a str,
    /// Whether administrators must sign in with a passkey.
    pub admin_passkeys_required: bool,
    /// Whether the configuration forces that (the console cannot turn it
    /// off).
    pub admin_passkeys_forced: bool,
    /// Why the last invitation (or policy change) was refused.
    pub errors: FieldErrors,
}

/// A session of a user, as the console lists it.
pub struct SessionRow {
    /// Public session id.
    pub sid: String,
    /// When it signed in.
    pub signed_in: String,
    /// How (`pwd`, `pwd otp`).
    pub methods: String,
    /// When it expires.
    pub expires: String,
}

/// A user's profile, actions, groups, roles and sessions.
#[derive(Template)]
#[template(path = "console/user.html")]
pub struct UserPage<'a> {
    /// Around the content.
    pub frame: Frame<'a>,
    /// Subject id.
    pub id: &'a str,
    /// Username.
    pub username: &'a str,
    /// E-mail address (as typed, after a refused edit).
    pub email: &'a str,
    /// Display name (as typed, after a refused edit).
    pub name: &'a str,
    /// Whether the address is verified.
    pub email_verified: bool,
    /// Whether the account is disabled.
    pub disabled: bool,
    /// Whether a second factor is enrolled.
    pub mfa: bool,
    /// Whether the account signs in with passkeys only (no password).
    pub passwordless: bool,
    /// `admin`, `auditor` or "".
    pub admin_role: &'a str,
    /// The groups, with the user's membership.
    pub groups: Vec<Choice>,
    /// Roles granted to the user directly (`api role`).
    pub roles: Vec<String>,
    /// Live sessions.
    pub sessions: Vec<SessionRow>,
    /// The user's passkeys.
    pub passkeys: Vec<crate::PasskeyView>,
    /// Why the last action was refused.
    pub errors: FieldErrors,
}

/// An API in the list.
pub struct ApiRow {
    /// Identifier (`aud`).
    pub identifier: String,
    /// Name.
    pub name: String,
    /// Scopes, space-separated.
    pub scopes: String,
    /// Roles, space-separated.
    pub roles: String,
    /// Token lifetime and algorithm, as text.
    pub tokens: String,
}

/// The API form's values, as typed.
#[derive(Debug, Clone, Default)]
pub struct ApiForm {
    /// Identifier.
    pub identifier: String,
    /// Name.
    pub name: String,
    /// Scopes, one per line as `name: description`.
    pub scopes: String,
    /// Roles, one per line as `name: description`.
    pub roles: String,
    /// Access-token lifetime, seconds; empty for the default.
    pub access_token_ttl: String,
    /// Access-token algorithm; empty for the default.
    pub signing_alg: String,
}

/// The API list and the form to register or edit one.
#[derive(Template)]
#[template(path = "console/apis.html")]
pub struct ApisPage<'a> {
    /// Around the content.
    pub frame: Frame<'a>,
    /// Registered APIs.
    pub apis: Vec<ApiRow>,
    /// The API being edited, if any.
    pub editing: Option<&'a str>,
    /// The form's values.
    pub form: ApiForm,
    /// Algorithms to choose from.
    pub algorithms: Vec<Choice>,
    /// Why the last submission was refused.
    pub errors: FieldErrors,
}

/// A group and its members.
pub struct GroupRow {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Member usernames.
    pub members: Vec<String>,
}

/// A role grant as listed.
pub struct GrantRow {
    /// `user`, `group` or `client`.
    pub kind: String,
    /// The holder's name.
    pub holder: String,
    /// The API's identifier.
    pub api: String,
    /// The role.
    pub role: String,
}

/// Groups, members and role grants.
#[derive(Template)]
#[template(path = "console/groups.html")]
pub struct GroupsPage<'a> {
    /// Around the content.
    pub frame: Frame<'a>,
    /// Groups.
    pub groups: Vec<GroupRow>,
    /// Role grants.
    pub grants: Vec<GrantRow>,
    /// Why the last submission was refused.
    pub errors: FieldErrors,
}

/// A key on the timeline.
pub struct KeyRow {
    /// Key id.
    pub kid: String,
    /// `next`, `current`, `retired` or `revoked`.
    pub state: String,
    /// Created, as text.
    pub created: String,
    /// Signs from, as text.
    pub activates: String,
    /// Stops signing (or stopped), as text.
    pub retires: String,
    /// Leaves the key set, as text.
    pub deleted: String,
}

/// One algorithm's keys.
pub struct AlgorithmKeys {
    /// Algorithm.
    pub alg: String,
    /// Its keys on a timeline (SVG).
    pub timeline: String,
    /// Its keys, newest first.
    pub keys: Vec<KeyRow>,
}

/// Signing keys and their actions.
#[derive(Template)]
#[template(path = "console/keys.html")]
pub struct KeysPage<'a> {
    /// Around the content.
    pub frame: Frame<'a>,
    /// Per algorithm.
    pub algorithms: Vec<AlgorithmKeys>,
    /// Why the last action was refused.
    pub errors: FieldErrors,
}

/// An audit event as listed.
pub struct EventRow {
    /// When, as text.
    pub at: String,
    /// Kind.
    pub event: String,
    /// Outcome.
    pub outcome: String,
    /// Who.
    pub actor: String,
    /// About whom or what.
    pub subject: String,
    /// Client.
    pub client: String,
    /// Detail (with the repeat count).
    pub detail: String,
}

/// The audit log's filters, as typed.
#[derive(Debug, Clone, Default)]
pub struct AuditFilters {
    /// User (username or id).
    pub user: String,
    /// Client id.
    pub client: String,
    /// Event kind.
    pub event: String,
    /// Outcome.
    pub outcome: String,
    /// From (date, `YYYY-MM-DD`).
    pub since: String,
    /// Until (date, `YYYY-MM-DD`, inclusive).
    pub until: String,
}

/// The audit log.
#[derive(Template)]
#[template(path = "console/audit.html")]
pub struct AuditPage<'a> {
    /// Around the content.
    pub frame: Frame<'a>,
    /// The filters.
    pub filters: AuditFilters,
    /// Outcomes to choose from.
    pub outcomes: Vec<Choice>,
    /// This page of events, newest first.
    pub events: Vec<EventRow>,
    /// The query string of the next (older) page, if there is one.
    pub next: Option<String>,
    /// The query string of the filters, for the export links.
    pub export_query: String,
    /// Why the filters were refused.
    pub errors: FieldErrors,
}

/// Branding, with a preview.
#[derive(Template)]
#[template(path = "console/branding.html")]
pub struct BrandingPage<'a> {
    /// Around the content.
    pub frame: Frame<'a>,
    /// Product name.
    pub product_name: &'a str,
    /// Accent colour, `#rrggbb`.
    pub accent_colour: &'a str,
    /// Whether a logo is set.
    pub has_logo: bool,
    /// Why the last submission was refused.
    pub errors: FieldErrors,
}

/// Shown when a signed-in user holds no admin role, or the sign-in failed.
#[derive(Template)]
#[template(path = "console_refused.html")]
pub struct RefusedPage<'a> {
    /// Title.
    pub title: &'a str,
    /// What happened.
    pub message: &'a str,
}
