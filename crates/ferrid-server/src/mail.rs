//! Outgoing e-mail: SMTP (with TLS, through lettre) when a server is
//! configured, otherwise `.eml` files in an outbox folder, so a developer
//! can follow reset and verification links without a mail server.

use std::path::PathBuf;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{FileTransport, Message, SmtpTransport, Transport};

use crate::security::EmailSettings;

/// Where messages go.
pub enum Mailer {
    /// A real SMTP server.
    Smtp {
        /// The connection.
        transport: Box<SmtpTransport>,
        /// The sender.
        from: Mailbox,
    },
    /// Files in a folder (development).
    Outbox {
        /// The writer.
        transport: FileTransport,
        /// The folder.
        folder: PathBuf,
        /// The sender.
        from: Mailbox,
    },
}

impl Mailer {
    /// Builds the mailer from the settings; the outbox folder is created
    /// (mode 0700: messages carry live links).
    pub fn new(settings: &EmailSettings) -> Result<Mailer, String> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|error| format!("email.from: {error}"))?;
        if settings.smtp_url.is_empty() {
            let folder = settings.outbox_dir.clone();
            create_private_dir(&folder)
                .map_err(|error| format!("email.outbox_dir {}: {error}", folder.display()))?;
            return Ok(Mailer::Outbox {
                transport: FileTransport::new(&folder),
                folder,
                from,
            });
        }
        let transport = SmtpTransport::from_url(&settings.smtp_url)
            // The URL may hold a password: never echo it.
            .map_err(|_| "email.smtp_url is not a valid smtp:// or smtps:// URL".to_owned())?
            .timeout(Some(std::time::Duration::from_secs(10)))
            .build();
        Ok(Mailer::Smtp {
            transport: Box::new(transport),
            from,
        })
    }

    /// A description for the start-up log.
    pub fn describe(&self) -> String {
        match self {
            Mailer::Smtp { .. } => "SMTP".to_owned(),
            Mailer::Outbox { folder, .. } => format!("files in {}", folder.display()),
        }
    }

    /// Sends a plain-text message. Blocking: call from the blocking pool.
    pub fn send(&self, to: &str, subject: &str, body: String) -> Result<(), String> {
        let to: Mailbox = to.parse().map_err(|error| format!("recipient: {error}"))?;
        let from = match self {
            Mailer::Smtp { from, .. } | Mailer::Outbox { from, .. } => from.clone(),
        };
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|error| error.to_string())?;
        match self {
            Mailer::Smtp { transport, .. } => transport
                .send(&message)
                .map(drop)
                .map_err(|error| error.to_string()),
            Mailer::Outbox { transport, .. } => transport
                .send(&message)
                .map(drop)
                .map_err(|error| error.to_string()),
        }
    }
}

fn create_private_dir(folder: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(folder)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Sends a message from the blocking pool without making the request wait
/// for it: a response that took longer when the address exists would tell
/// an attacker which addresses have accounts. Failures are logged.
pub fn send_in_background(
    state: &crate::state::AppState,
    to: String,
    subject: String,
    body: String,
) {
    let mailer = state.mailer.clone();
    actix_web::rt::spawn(async move {
        let sent = actix_web::web::block(move || mailer.send(&to, &subject, body)).await;
        match sent {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!(%error, "could not send an e-mail"),
            Err(error) => tracing::error!(%error, "the e-mail task failed"),
        }
    });
}

/// Issues a single-use e-mail token for `purpose`, stores its digest and
/// returns the token. Blocking.
pub fn issue_token(
    store: &ferrid_store::Store,
    user: &ferrid_store::User,
    purpose: &str,
    now: i64,
    ttl: i64,
) -> ferrid_store::StoreResult<String> {
    let token = ferrid_store::secret::random_token(32);
    store.create_email_token(&ferrid_store::EmailToken {
        token_digest: ferrid_store::secret::digest(&token),
        user_id: user.id.clone(),
        purpose: purpose.to_owned(),
        email: user.email.clone(),
        created_at: now,
        expires_at: now + ttl,
        used_at: None,
    })?;
    Ok(token)
}

/// Purpose of a password-reset token.
pub const PASSWORD_RESET: &str = "password_reset";
/// Purpose of an address-verification token.
pub const VERIFY_EMAIL: &str = "verify_email";
