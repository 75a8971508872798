//! The audit trail: security-relevant events written to the `audit_events`
//! table and to the structured log (target `audit`). Events carry ids,
//! addresses and outcomes, never a password, secret, code or token.

use ferrid_store::{AuditEvent, AuditFilter, Store, StoreError, StoreResult};

/// What happened. The names are what `ferrid audit tail` shows and what
/// operators filter on, so they never change once released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A password login (success, failure or refusal).
    Login,
    /// A second-factor code at login.
    Mfa,
    /// A second factor was enrolled.
    MfaEnrol,
    /// A recovery code was used.
    MfaRecoveryCode,
    /// The recovery codes were replaced.
    MfaRecoveryCodesRegenerate,
    /// An administrator removed a user's second factor.
    MfaReset,
    /// A user removed a second factor they did not set up, from the link
    /// in the enrolment e-mail.
    MfaRevert,
    /// A user confirmed their password before changing a factor.
    Reauthenticate,
    /// A failure started a lock.
    AccountLock,
    /// A failure started a wait.
    AccountThrottle,
    /// An administrator cleared a user's failure counts.
    AccountUnlock,
    /// A user granted a client access.
    Consent,
    /// A verification e-mail was sent.
    EmailVerificationSent,
    /// An e-mail address was verified.
    EmailVerify,
    /// A user changed their password.
    PasswordChange,
    /// An administrator set a user's password.
    PasswordSet,
    /// A password was reset through an e-mailed link.
    PasswordReset,
    /// A reset link was asked for.
    PasswordResetRequested,
    /// A browser session ended.
    SessionEnd,
    /// A grant (all its tokens) was revoked.
    GrantRevoke,
    /// A token was revoked at the revocation endpoint.
    TokenRevoke,
    /// A client was registered.
    ClientCreate,
    /// A client's settings changed.
    ClientUpdate,
    /// A client was deleted.
    ClientDelete,
    /// An API was registered.
    ApiCreate,
    /// An API's settings, scopes or roles changed.
    ApiUpdate,
    /// An API was deleted.
    ApiDelete,
    /// A group was created.
    GroupCreate,
    /// A group was deleted.
    GroupDelete,
    /// A user joined or left a group.
    GroupMembership,
    /// A role was granted.
    RoleGrant,
    /// A role grant was revoked.
    RoleRevoke,
    /// A user was created.
    UserCreate,
    /// A user was disabled.
    UserDisable,
    /// A user's administrative role changed.
    UserAdminRole,
    /// A signing key was created.
    KeyCreate,
    /// A signing key became current.
    KeyRotate,
    /// A signing key was revoked.
    KeyRevoke,
    /// Retired signing keys were deleted.
    KeyDelete,
    /// Everything sealed moved to a new master key.
    KeyRewrap,
    /// A user's profile was changed by an administrator.
    UserUpdate,
    /// An admin signed in to the console.
    ConsoleSignIn,
    /// An admin signed out of the console.
    ConsoleSignOut,
    /// The branding of the sign-in pages changed.
    BrandingUpdate,
    /// An administrator required a user to choose a new password.
    PasswordResetRequired,
    /// A passkey was registered.
    PasskeyRegister,
    /// A passkey was used to sign in (or refused).
    PasskeyUse,
    /// A passkey was removed, by its user or an administrator.
    PasskeyRemove,
    /// An administrator changed whether administrators need a passkey.
    AdminPasskeysPolicy,
}

impl EventKind {
    /// The stored name, e.g. `login` or `key.rotate`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Login => "login",
            EventKind::Mfa => "mfa",
            EventKind::MfaEnrol => "mfa.enrol",
            EventKind::MfaRecoveryCode => "mfa.recovery_code",
            EventKind::MfaRecoveryCodesRegenerate => "mfa.recovery_codes.regenerate",
            EventKind::MfaReset => "mfa.reset",
            EventKind::MfaRevert => "mfa.revert",
            EventKind::Reauthenticate => "account.reauthenticate",
            EventKind::AccountLock => "account.lock",
            EventKind::AccountThrottle => "account.throttle",
            EventKind::AccountUnlock => "account.unlock",
            EventKind::Consent => "consent",
            EventKind::EmailVerificationSent => "email.verification_sent",
            EventKind::EmailVerify => "email.verify",
            EventKind::PasswordChange => "password.change",
            EventKind::PasswordSet => "password.set",
            EventKind::PasswordReset => "password.reset",
            EventKind::PasswordResetRequested => "password.reset_requested",
            EventKind::SessionEnd => "session.end",
            EventKind::GrantRevoke => "grant.revoke",
            EventKind::TokenRevoke => "token.revoke",
            EventKind::ClientCreate => "client.create",
            EventKind::ClientUpdate => "client.update",
            EventKind::ClientDelete => "client.delete",
            EventKind::ApiCreate => "api.create",
            EventKind::ApiUpdate => "api.update",
            EventKind::ApiDelete => "api.delete",
            EventKind::GroupCreate => "group.create",
            EventKind::GroupDelete => "group.delete",
            EventKind::GroupMembership => "group.membership",
            EventKind::RoleGrant => "role.grant",
            EventKind::RoleRevoke => "role.revoke",
            EventKind::UserCreate => "user.create",
            EventKind::UserDisable => "user.disable",
            EventKind::UserAdminRole => "user.admin_role",
            EventKind::KeyCreate => "key.create",
            EventKind::KeyRotate => "key.rotate",
            EventKind::KeyRevoke => "key.revoke",
            EventKind::KeyDelete => "key.delete",
            EventKind::KeyRewrap => "key.rewrap",
            EventKind::UserUpdate => "user.update",
            EventKind::ConsoleSignIn => "console.sign_in",
            EventKind::ConsoleSignOut => "console.sign_out",
            EventKind::BrandingUpdate => "branding.update",
            EventKind::PasswordResetRequired => "password.reset_required",
            EventKind::PasskeyRegister => "passkey.register",
            EventKind::PasskeyUse => "passkey.use",
            EventKind::PasskeyRemove => "passkey.remove",
            EventKind::AdminPasskeysPolicy => "console.admin_passkeys",
        }
    }
}

/// Outcome of an audited action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It happened.
    Success,
    /// Wrong credentials or code.
    Failure,
    /// Refused by a policy (lock, rate limit, disabled account).
    Refused,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Refused => "refused",
        }
    }
}

/// Who acts when no user does.
pub mod actors {
    /// An operator at the command line.
    pub const CLI: &str = "cli";
    /// ferrid itself (background work, reuse detection).
    pub const SYSTEM: &str = "system";
    /// A client registering or managing itself (RFC 7591, RFC 7592).
    pub const DYNAMIC_REGISTRATION: &str = "dynamic-registration";
}

/// Repeats of an aggregated event (see [`Event::repeats_for`]) within this
/// many seconds of its first are counted in its row: 15 minutes.
pub const REPEAT_WINDOW: i64 = 15 * 60;

/// An event being described.
#[derive(Debug, Clone)]
pub struct Event {
    row: AuditEvent,
}

impl Event {
    /// The event's kind, e.g. `login`.
    pub fn kind(&self) -> &str {
        &self.row.event
    }

    /// Its outcome: `success`, `failure` or `refused`.
    pub fn outcome(&self) -> &str {
        &self.row.outcome
    }

    /// A new event, e.g. `Event::new(EventKind::Login, Outcome::Success)`.
    pub fn new(kind: EventKind, outcome: Outcome) -> Event {
        Event {
            row: AuditEvent {
                id: uuid::Uuid::now_v7().to_string(),
                at: 0,
                event: kind.as_str().to_owned(),
                outcome: outcome.as_str().to_owned(),
                actor: None,
                subject: None,
                client_id: None,
                ip: None,
                request_id: None,
                detail: None,
                repeats: 1,
                last_at: None,
                aggregate_key: None,
            },
        }
    }

    /// Makes repeats of this event for the same `name` (e.g. failed
    /// sign-ins as one login name) within [`REPEAT_WINDOW`] one row with a
    /// count, so a guessing attack cannot fill the table. The name itself
    /// is kept only as a digest.
    pub fn repeats_for(mut self, name: &str) -> Event {
        let key = format!("{}\0{}\0{}", self.row.event, self.row.outcome, name);
        self.row.aggregate_key = Some(ferrid_store::secret::digest(&key));
        self
    }

    /// Who acted (a user id, [`actors::CLI`], [`actors::SYSTEM`]).
    pub fn actor(mut self, actor: impl ToString) -> Event {
        self.row.actor = Some(actor.to_string());
        self
    }

    /// Whom or what it concerns (a user id, key id, client id).
    pub fn subject(mut self, subject: impl ToString) -> Event {
        self.row.subject = Some(subject.to_string());
        self
    }

    /// Names the subject when there is one.
    pub fn maybe_subject(self, subject: Option<&str>) -> Event {
        match subject {
            Some(subject) => self.subject(subject),
            None => self,
        }
    }

    /// The relying party involved.
    pub fn client(mut self, client_id: impl ToString) -> Event {
        self.row.client_id = Some(client_id.to_string());
        self
    }

    /// A short detail (never a secret).
    pub fn detail(mut self, detail: impl ToString) -> Event {
        self.row.detail = Some(detail.to_string());
        self
    }

    /// Where the request that caused it came from: the client's address
    /// and the request id.
    pub fn origin(mut self, ip: Option<String>, request_id: Option<String>) -> Event {
        self.row.ip = ip;
        self.row.request_id = request_id;
        self
    }

    /// Writes the event at `now`: to the structured log, then to the
    /// database. Blocking.
    pub fn write(mut self, store: &Store, now: i64) -> StoreResult<()> {
        self.row.at = now;
        log(&self.row);
        match self.row.aggregate_key {
            Some(_) => store.record_audit_repeat(&self.row, now - REPEAT_WINDOW),
            None => store.record_audit(&self.row),
        }
    }
}

fn log(row: &AuditEvent) {
    tracing::info!(
        target: "audit",
        event = %row.event,
        outcome = %row.outcome,
        actor = row.actor.as_deref(),
        subject = row.subject.as_deref(),
        client_id = row.client_id.as_deref(),
        ip = row.ip.as_deref(),
        request_id = row.request_id.as_deref(),
        detail = row.detail.as_deref(),
        "audit"
    );
}

/// The most events one query returns.
pub const MAX_QUERY_LIMIT: i64 = 10_000;

/// Which events to read.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery<'a> {
    /// Only events a user took part in (as actor or subject), named by
    /// username, e-mail address or id.
    pub user: Option<&'a str>,
    /// Only events at or after this time, Unix seconds.
    pub since: Option<i64>,
    /// At most this many, the newest (1 to [`MAX_QUERY_LIMIT`]).
    pub limit: i64,
}

/// Why an audit query was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuditQueryError {
    /// The limit is out of range.
    #[error("the limit must be between 1 and {MAX_QUERY_LIMIT}")]
    Limit,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The newest events matching `query`, oldest first.
pub fn query(store: &Store, query: &AuditQuery<'_>) -> Result<Vec<AuditEvent>, AuditQueryError> {
    if !(1..=MAX_QUERY_LIMIT).contains(&query.limit) {
        return Err(AuditQueryError::Limit);
    }
    // A username or address is resolved to the stable id events are
    // recorded under; anything else is taken as an id.
    let user_id = match query.user {
        Some(login) => Some(match store.find_user_by_login(login)? {
            Some(found) => found.id,
            None => login.to_owned(),
        }),
        None => None,
    };
    Ok(store.audit_events(&AuditFilter {
        user_id,
        since: query.since,
        limit: query.limit,
        ..AuditFilter::default()
    })?)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Collects what the subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_event_is_also_a_structured_log_line() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(move || writer.clone())
            .finish();
        let event = Event::new(EventKind::Login, Outcome::Failure)
            .actor("user-1")
            .subject("user-1")
            .client("client-1")
            .detail("invalid username or password")
            .origin(Some("192.0.2.1".into()), Some("req-1".into()))
            .row;
        tracing::subscriber::with_default(subscriber, || log(&event));
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["target"], "audit");
        let fields = &line["fields"];
        for (name, value) in [
            ("event", "login"),
            ("outcome", "failure"),
            ("actor", "user-1"),
            ("subject", "user-1"),
            ("client_id", "client-1"),
            ("ip", "192.0.2.1"),
            ("request_id", "req-1"),
            ("detail", "invalid username or password"),
        ] {
            assert_eq!(fields[name], value, "{name} in {text}");
        }
    }
}
