//! The master key that seals private signing keys at rest (AES-256-GCM).
//! It lives in a file (or the environment), never in the database.

use std::io::Write;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use zeroize::Zeroizing;

use crate::error::{TokenError, TokenResult};

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
/// Version tag of the sealed format, so the format can change later.
const SEALED_PREFIX: &str = "v1.";

/// A 256-bit AES-GCM key.
#[derive(Clone)]
pub struct MasterKey {
    cipher: Aes256Gcm,
    /// The key itself, kept only to derive purpose-bound subkeys.
    raw: Zeroizing<[u8; KEY_LEN]>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    /// Parses the text form: 32 bytes in standard base64.
    pub fn from_base64(text: &str) -> TokenResult<MasterKey> {
        let bytes = Zeroizing::new(
            STANDARD
                .decode(text.trim())
                .map_err(|_| TokenError::MasterKey("is not valid base64".into()))?,
        );
        if bytes.len() != KEY_LEN {
            return Err(TokenError::MasterKey(format!(
                "must decode to {KEY_LEN} bytes, found {}",
                bytes.len()
            )));
        }
        let cipher = Aes256Gcm::new_from_slice(&bytes)
            .map_err(|_| TokenError::MasterKey("has the wrong length".into()))?;
        let mut raw = Zeroizing::new([0u8; KEY_LEN]);
        raw.copy_from_slice(&bytes);
        Ok(MasterKey { cipher, raw })
    }

    /// Reads a master key file. Like ssh with a private key, it refuses a
    /// file that its group or other users can read or write: the key opens
    /// every signing key and client secret.
    pub fn load(path: &Path) -> TokenResult<MasterKey> {
        check_private(path)?;
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|error| {
            TokenError::MasterKey(format!("cannot read {}: {error}", path.display()))
        })?);
        Self::from_base64(&text)
            .map_err(|error| TokenError::MasterKey(format!("{}: {error}", path.display())))
    }

    /// Generates a new key and writes it to `path` with mode 0600; fails if
    /// the file exists, so an existing key is never overwritten.
    pub fn generate(path: &Path) -> TokenResult<MasterKey> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        OsRng.fill_bytes(bytes.as_mut());
        let text = Zeroizing::new(STANDARD.encode(bytes.as_ref()));
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|error| {
                    TokenError::MasterKey(format!("cannot create {}: {error}", parent.display()))
                })?;
            }
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|error| {
            TokenError::MasterKey(format!("cannot create {}: {error}", path.display()))
        })?;
        file.write_all(Zeroizing::new(format!("{}\n", text.as_str())).as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|error| {
                TokenError::MasterKey(format!("cannot write {}: {error}", path.display()))
            })?;
        Self::from_base64(&text)
    }

    /// A 256-bit key for one `purpose`, derived from the master key
    /// (HMAC-SHA256 of the purpose, as HKDF-Expand with one block): every
    /// node derives the same key, and no two purposes share one.
    pub fn subkey(&self, purpose: &str) -> Zeroizing<[u8; 32]> {
        use hmac::{Hmac, Mac};
        let mut subkey = Zeroizing::new([0u8; 32]);
        // HMAC accepts a key of any length, so this cannot fail.
        if let Ok(mut mac) = <Hmac<sha2::Sha256> as Mac>::new_from_slice(self.raw.as_ref()) {
            mac.update(purpose.as_bytes());
            subkey.copy_from_slice(&mac.finalize().into_bytes());
        }
        subkey
    }

    /// A one-way check value of this key (base64url of a derived subkey),
    /// recorded in the database so that a node with another key is
    /// refused before it seals anything; it reveals nothing about the key.
    pub fn check_value(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(*self.subkey("ferrid installation check"))
    }

    /// Encrypts `plaintext`, binding `associated_data` (the key id) so a
    /// sealed value cannot be moved to another row.
    pub fn seal(&self, plaintext: &[u8], associated_data: &str) -> TokenResult<String> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: associated_data.as_bytes(),
                },
            )
            .map_err(|_| TokenError::Seal)?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        Ok(format!("{SEALED_PREFIX}{}", STANDARD.encode(sealed)))
    }

    /// Decrypts a value sealed by [`seal`](Self::seal) with the same
    /// associated data. A wrong key, a tampered value or a value moved from
    /// another row fails. The plaintext is wiped from memory when dropped.
    pub fn open(&self, sealed: &str, associated_data: &str) -> TokenResult<Zeroizing<Vec<u8>>> {
        let encoded = sealed
            .strip_prefix(SEALED_PREFIX)
            .ok_or(TokenError::Unseal)?;
        let bytes = STANDARD.decode(encoded).map_err(|_| TokenError::Unseal)?;
        if bytes.len() <= NONCE_LEN {
            return Err(TokenError::Unseal);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: associated_data.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| TokenError::Unseal)
    }
}

/// Refuses a key file whose mode grants anything to group or others.
#[cfg(unix)]
fn check_private(path: &Path) -> TokenResult<()> {
    use std::os::unix::fs::PermissionsExt;
    let metadata = std::fs::metadata(path).map_err(|error| {
        TokenError::MasterKey(format!("cannot read {}: {error}", path.display()))
    })?;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(TokenError::MasterKey(format!(
            "{} has mode {mode:o}: other users can read it; run `chmod 600 {}`",
            path.display(),
            path.display()
        )));
    }
    Ok(())
}

/// Windows has no mode bits; its ACLs are the operator's to set.
#[cfg(not(unix))]
fn check_private(_path: &Path) -> TokenResult<()> {
    Ok(())
}

/// The associated data binding a sealed TOTP secret to its user: one
/// user's sealed secret copied into another's row does not open.
pub fn totp_aad(user_id: &str) -> String {
    format!("totp:{user_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MasterKey {
        MasterKey::from_base64(&STANDARD.encode([7u8; 32])).unwrap()
    }

    #[test]
    fn seal_round_trips_and_binds_associated_data() {
        let sealed = key().seal(b"private", "kid-1").unwrap();
        assert!(!sealed.contains("private"));
        assert_eq!(key().open(&sealed, "kid-1").unwrap().as_slice(), b"private");
        assert!(key().open(&sealed, "kid-2").is_err());
    }

    #[test]
    fn subkeys_are_stable_per_purpose_and_key() {
        assert_eq!(*key().subkey("a"), *key().subkey("a"));
        assert_ne!(*key().subkey("a"), *key().subkey("b"));
        let other = MasterKey::from_base64(&STANDARD.encode([8u8; 32])).unwrap();
        assert_ne!(*key().subkey("a"), *other.subkey("a"));
        assert_ne!(key().subkey("a").as_slice(), [7u8; 32].as_slice());
    }

    #[test]
    fn totp_secrets_are_bound_to_their_user_and_the_key_never_printed() {
        let sealed = key().seal(b"totp", &totp_aad("alice")).unwrap();
        assert!(key().open(&sealed, &totp_aad("alice")).is_ok());
        assert!(key().open(&sealed, &totp_aad("bob")).is_err());
        assert_eq!(format!("{:?}", key()), "MasterKey(..)");
    }

    #[test]
    fn wrong_key_and_tampering_fail() {
        let sealed = key().seal(b"private", "kid").unwrap();
        let other = MasterKey::from_base64(&STANDARD.encode([8u8; 32])).unwrap();
        assert!(other.open(&sealed, "kid").is_err());
        let mut tampered = sealed.into_bytes();
        let last = tampered.len() - 3;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(key()
            .open(&String::from_utf8(tampered).unwrap(), "kid")
            .is_err());
        assert!(key().open("v1.", "kid").is_err());
        assert!(key().open("garbage", "kid").is_err());
    }

    #[test]
    fn generated_file_is_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/master.key");
        let generated = MasterKey::generate(&path).unwrap();
        let sealed = generated.seal(b"x", "k").unwrap();
        assert_eq!(
            MasterKey::load(&path)
                .unwrap()
                .open(&sealed, "k")
                .unwrap()
                .as_slice(),
            b"x"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(MasterKey::generate(&path).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        MasterKey::generate(&path).unwrap();
        for mode in [0o640, 0o604, 0o660, 0o620] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let error = MasterKey::load(&path).unwrap_err().to_string();
            assert!(error.contains("chmod 600"), "{mode:o}: {error}");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(MasterKey::load(&path).is_ok());
    }

    #[test]
    fn malformed_key_text_is_rejected() {
        assert!(MasterKey::from_base64("not base64!").is_err());
        assert!(MasterKey::from_base64(&STANDARD.encode([1u8; 16])).is_err());
    }
}
