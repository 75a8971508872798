//! Outgoing e-mail: SMTP (with TLS, through lettre) when a server is
//! configured, otherwise `.eml` files in an outbox folder, so a developer
//! can follow reset and verification links without a mail server.

use std::path::PathBuf;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox};
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
            .body(eight_bit(&body)?)
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

/// The body as 8bit text with CRLF line ends. lettre would pick
/// quoted-printable for lines over 76 characters, folding every link
/// (`=3D`, soft breaks) in the outbox files people read; RFC 5322 allows
/// lines up to 998 characters, and our messages are ours to keep short.
fn eight_bit(body: &str) -> Result<Body, String> {
    if body.lines().any(|line| line.len() > 998) || body.contains('\0') {
        return Err("a line of the message is too long for e-mail".to_owned());
    }
    let crlf = body.replace("\r\n", "\n").replace('\n', "\r\n");
    Ok(Body::dangerous_pre_encoded(
        crlf.into_bytes(),
        ContentTransferEncoding::EightBit,
    ))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outbox_keeps_long_links_whole() {
        let folder = tempfile::tempdir().unwrap();
        let mailer = Mailer::new(&EmailSettings {
            outbox_dir: folder.path().join("outbox"),
            ..EmailSettings::default()
        })
        .unwrap();
        let link = format!(
            "http://127.0.0.1:8080/password/reset?token={}",
            "x".repeat(43)
        );
        mailer
            .send("alice@example.com", "Reset", format!("Open:\n\n{link}\n"))
            .unwrap();
        let files: Vec<_> = std::fs::read_dir(folder.path().join("outbox"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1);
        let message = std::fs::read_to_string(&files[0]).unwrap();
        assert!(message.contains(&link), "{message}");
        assert!(message.contains("To: alice@example.com"));
        assert!(Mailer::new(&EmailSettings {
            smtp_url: "nonsense://x".into(),
            ..EmailSettings::default()
        })
        .is_err());
    }

    #[test]
    fn smtp_urls_with_tls_are_accepted_and_never_echoed() {
        for url in [
            "smtps://user:hunter2@smtp.example.com:465",
            "smtp://user:hunter2@smtp.example.com:587?tls=required",
        ] {
            let mailer = Mailer::new(&EmailSettings {
                smtp_url: url.into(),
                ..EmailSettings::default()
            })
            .unwrap();
            assert_eq!(mailer.describe(), "SMTP");
        }
        let error = Mailer::new(&EmailSettings {
            smtp_url: "smtps://user:hunter2@".into(),
            ..EmailSettings::default()
        })
        .err()
        .unwrap();
        assert!(!error.contains("hunter2"), "{error}");
    }
}
