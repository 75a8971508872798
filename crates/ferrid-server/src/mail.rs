//! Outgoing e-mail: SMTP (with TLS, through lettre) when a server is
//! configured, otherwise `.eml` files in an outbox folder, so a developer
//! can follow reset and verification links without a mail server.

use std::path::{Path, PathBuf};

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox};
use lettre::{Message, SmtpTransport, Transport};

use std::sync::Arc;

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
            return Ok(Mailer::Outbox { folder, from });
        }
        require_tls(&settings.smtp_url)?;
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
            Mailer::Outbox { folder, .. } => write_to_outbox(folder, &message.formatted())
                .map_err(|error| format!("outbox {}: {error}", folder.display())),
        }
    }
}

/// Refuses an SMTP URL that would send mail (with its reset links, and
/// the SMTP password) in the clear or with downgradable STARTTLS, except
/// to a relay on the same machine. Never echoes the URL.
fn require_tls(smtp_url: &str) -> Result<(), String> {
    let invalid = || "email.smtp_url is not a valid smtp:// or smtps:// URL".to_owned();
    let url = url::Url::parse(smtp_url).map_err(|_| invalid())?;
    // lettre reads the first `tls` it finds: a second one must not be
    // able to make this check see something else.
    let tls: Vec<_> = url
        .query_pairs()
        .filter(|(name, _)| name == "tls")
        .map(|(_, value)| value.into_owned())
        .collect();
    if tls.len() > 1 {
        return Err("email.smtp_url names tls more than once".to_owned());
    }
    let tls_required = match url.scheme() {
        "smtps" => true,
        "smtp" => tls.first().is_some_and(|value| value == "required"),
        _ => return Err(invalid()),
    };
    let loopback = match url.host() {
        // smtp: is not a special scheme, so an IPv4 address comes as text.
        Some(url::Host::Domain(name)) => {
            name.eq_ignore_ascii_case("localhost")
                || name
                    .parse::<std::net::Ipv4Addr>()
                    .is_ok_and(|address| address.is_loopback())
        }
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        None => return Err(invalid()),
    };
    if tls_required || loopback {
        Ok(())
    } else {
        Err("email.smtp_url must use TLS: smtps://HOST:465 or smtp://HOST:587?tls=required (plain SMTP only to a relay on localhost)".to_owned())
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

/// Writes one message as `<uuid>.eml`, complete or not at all: it is
/// written under a hidden temporary name and renamed into place, so
/// whoever watches the folder (a developer, a test) never reads half a
/// message. The names sort by time (UUIDv7).
fn write_to_outbox(folder: &Path, message: &[u8]) -> std::io::Result<()> {
    let id = uuid::Uuid::now_v7();
    let partial = folder.join(format!(".{id}.eml.part"));
    std::fs::write(&partial, message)?;
    std::fs::rename(&partial, folder.join(format!("{id}.eml")))
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
pub fn send_in_background(mailer: &Arc<Mailer>, to: String, subject: String, body: String) {
    let mailer = Arc::clone(mailer);
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
/// Purpose of a token that lets a passwordless account's user create a
/// passkey (their invitation, or a new one after losing theirs).
pub const PASSKEY_SETUP: &str = "passkey_setup";
/// Purpose of an address-verification token.
pub const VERIFY_EMAIL: &str = "verify_email";
/// Purpose of the "this was not me" link sent when a second factor is
/// enrolled.
pub const MFA_REVERT: &str = "mfa_revert";

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
        assert!(files[0].extension().is_some_and(|ext| ext == "eml"));
        let message = std::fs::read_to_string(&files[0]).unwrap();
        assert!(message.contains(&link), "{message}");
        assert!(message.contains("To: alice@example.com"));
        assert!(Mailer::new(&EmailSettings {
            smtp_url: "nonsense://x".into(),
            ..EmailSettings::default()
        })
        .is_err());
    }

    /// Regression: lettre's file transport wrote messages in place, and a
    /// test reading the outbox while a message was being written saw it
    /// without its headers.
    #[test]
    fn readers_of_the_outbox_never_see_half_a_message() {
        let folder = tempfile::tempdir().unwrap();
        let outbox = folder.path().join("outbox");
        let mailer = Mailer::new(&EmailSettings {
            outbox_dir: outbox.clone(),
            ..EmailSettings::default()
        })
        .unwrap();
        let body = format!("{}\nthe end\n", "line of text\n".repeat(2000));
        let writer = std::thread::spawn(move || {
            for _ in 0..300 {
                mailer
                    .send("alice@example.com", "Long", body.clone())
                    .unwrap();
            }
        });
        loop {
            // Checked before the scan so the last pass sees every message.
            let finished = writer.is_finished();
            let mut seen = 0;
            for entry in std::fs::read_dir(&outbox).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|ext| ext == "eml") {
                    let message = std::fs::read_to_string(&path).unwrap();
                    assert!(message.contains("To: alice@example.com"));
                    assert!(message.ends_with("the end\r\n"), "partial message");
                    seen += 1;
                }
            }
            if finished {
                assert_eq!(seen, 300);
                break;
            }
        }
        writer.join().unwrap();
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
        // Plain or downgradable SMTP only to a relay on this machine.
        for url in [
            "smtp://user:hunter2@smtp.example.com:25",
            "smtp://user:hunter2@smtp.example.com:587?tls=opportunistic",
            "smtp://user:hunter2@192.0.2.7:25",
            "smtp://user:hunter2@smtp.example.com:587?tls=opportunistic&tls=required",
        ] {
            let error = Mailer::new(&EmailSettings {
                smtp_url: url.into(),
                ..EmailSettings::default()
            })
            .err()
            .unwrap();
            assert!(error.contains("TLS") || error.contains("tls"), "{error}");
            assert!(!error.contains("hunter2"), "{error}");
        }
        for url in [
            "smtp://localhost:25",
            "smtp://127.0.0.1:25",
            "smtp://[::1]:25",
        ] {
            let mailer = Mailer::new(&EmailSettings {
                smtp_url: url.into(),
                ..EmailSettings::default()
            });
            assert!(mailer.is_ok(), "{url}: {:?}", mailer.err());
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
