//! The development outbox: e-mails ferrid wrote to `data/outbox/`.

use crate::support::mfa::between;
use crate::support::TestServer;

/// The messages in the outbox folder, oldest first (their names sort by
/// time), once there are at least `count` (they are sent in the
/// background).
pub async fn outbox(server: &TestServer, count: usize) -> Vec<String> {
    let folder = &server.config.email.outbox_dir;
    crate::support::eventually(|| async {
        let mut files: Vec<_> = std::fs::read_dir(folder)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|entry| entry.path())
                    .collect()
            })
            .unwrap_or_default();
        files.retain(|path: &std::path::PathBuf| path.extension().is_some_and(|ext| ext == "eml"));
        files.sort();
        (files.len() >= count).then(|| {
            files
                .iter()
                .map(|path| std::fs::read_to_string(path).unwrap())
                .collect()
        })
    })
    .await
    .unwrap_or_else(|| panic!("expected {count} message(s) in {}", folder.display()))
}

/// The link to `path` in an e-mail.
pub fn link(message: &str, server: &TestServer, path: &str) -> String {
    let start = format!("{}{path}?token=", server.issuer);
    let token = between(message, &start, "\n").trim_end_matches('\r');
    format!("{start}{token}")
}
