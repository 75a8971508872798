//! `ferrid dev-cert`: a self-signed certificate for trying HTTPS locally.
//! Browsers will warn about it; production uses a real certificate.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use serde_json::json;

use crate::output::emit;

/// Writes `cert.pem` and `key.pem` (0600) into `out_dir`.
pub fn run(out_dir: &Path, hosts: Vec<String>, days: u32, json: bool) -> anyhow::Result<()> {
    let mut params = rcgen::CertificateParams::new(hosts.clone())
        .context("invalid --host (use DNS names or IP addresses)")?;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::minutes(5);
    params.not_after = now + time::Duration::days(i64::from(days.max(1)));
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "ferrid development certificate");
    let key = rcgen::KeyPair::generate().context("cannot generate a key")?;
    let certificate = params
        .self_signed(&key)
        .context("cannot sign the certificate")?;
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let (cert_path, key_path) = (out_dir.join("cert.pem"), out_dir.join("key.pem"));
    std::fs::write(&cert_path, certificate.pem())
        .with_context(|| format!("cannot write {}", cert_path.display()))?;
    write_private(&key_path, key.serialize_pem().as_bytes())?;
    emit(
        json,
        &json!({ "certificate": cert_path, "private_key": key_path, "hosts": hosts }),
        || {
            format!(
                "Wrote {} and {} for {}.\nServe HTTPS with:\n  FERRID_TLS__CERTIFICATE={} FERRID_TLS__PRIVATE_KEY={} FERRID_ISSUER=https://localhost:8443 FERRID_BIND=127.0.0.1:8443 ferrid serve",
                cert_path.display(),
                key_path.display(),
                hosts.join(", "),
                cert_path.display(),
                key_path.display()
            )
        },
    )
}

fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(contents)
        .with_context(|| format!("cannot write {}", path.display()))?;
    // An existing file keeps its old mode through open(): set it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict {}", path.display()))?;
    }
    Ok(())
}
