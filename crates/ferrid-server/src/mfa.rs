//! Second factors: TOTP (RFC 6238, SHA-1, 6 digits, 30 s, ±1 step) and
//! recovery codes.

use qrcode::render::svg;
use qrcode::QrCode;
use rand::Rng;
use totp_rs::{Algorithm, Builder, Totp};

use crate::error::Internal;

/// How many recovery codes a user gets.
pub const RECOVERY_CODE_COUNT: usize = 10;
/// Bytes of a new TOTP secret (160 bits, RFC 4226 §4's recommendation).
const SECRET_BYTES: usize = 20;
/// Recovery-code alphabet: no 0/o, 1/l/i to misread.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A new random TOTP secret.
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0_u8; SECRET_BYTES];
    rand::rngs::OsRng.fill(secret.as_mut_slice());
    secret
}

fn totp(secret: Vec<u8>, account: &str, issuer: &str) -> Result<Totp, Internal> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret)
        .with_account_name(account.replace(':', "_"))
        .with_issuer(Some(issuer.replace(':', "_")))
        .build()
        .map_err(Internal::log)
}

/// What the enrolment page shows: the key in base32 and the
/// `otpauth://` URI as an SVG QR code.
pub struct Enrolment {
    /// Base32 key for typing in.
    pub secret_base32: String,
    /// The QR code.
    pub qr_svg: String,
}

/// Builds the enrolment view of `secret` for `account` at `issuer` (the
/// label the authenticator app shows).
pub fn enrolment(secret: &[u8], account: &str, issuer: &str) -> Result<Enrolment, Internal> {
    let totp = totp(secret.to_vec(), account, issuer)?;
    let url = totp.to_url().map_err(Internal::log)?;
    let qr_svg = QrCode::new(url.as_bytes())
        .map_err(Internal::log)?
        .render::<svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Ok(Enrolment {
        secret_base32: totp.secret().to_base32(),
        qr_svg,
    })
}

/// The time step a 6-digit `code` is valid for at `now` (±1 step), if
/// any. The caller must still refuse a step already used.
pub fn check_totp(secret: &[u8], code: &str, now: i64) -> Result<Option<i64>, Internal> {
    if code.len() != 6 || !code.bytes().all(|byte| byte.is_ascii_digit()) {
        return Ok(None);
    }
    let totp = totp(secret.to_vec(), "", "ferrid")?;
    let now = u64::try_from(now).map_err(Internal::log)?;
    Ok(totp
        .check(code, now)
        .and_then(|step| i64::try_from(step).ok()))
}

/// Strips what people type around a code: spaces and dashes; lower-case.
pub fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// New recovery codes, as shown (`xxxx-xxxx-xxxx-xxxx`, 78 bits each).
pub fn new_recovery_codes() -> Vec<String> {
    let mut rng = rand::rngs::OsRng;
    (0..RECOVERY_CODE_COUNT)
        .map(|_| {
            let raw: String = (0..16)
                .map(|_| char::from(RECOVERY_ALPHABET[rng.gen_range(0..RECOVERY_ALPHABET.len())]))
                .collect();
            format!(
                "{}-{}-{}-{}",
                &raw[0..4],
                &raw[4..8],
                &raw[8..12],
                &raw[12..16]
            )
        })
        .collect()
}

/// The stored digest of a recovery code as typed.
pub fn recovery_digest(code: &str) -> String {
    ferrid_store::secret::digest(&normalize_code(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_verify_within_one_step() {
        let secret = new_secret();
        let now = 1_700_000_000_i64;
        let code = totp(secret.clone(), "a", "b")
            .unwrap()
            .generate(now as u64)
            .to_string();
        let step = now / 30;
        assert_eq!(check_totp(&secret, &code, now).unwrap(), Some(step));
        assert_eq!(check_totp(&secret, &code, now + 30).unwrap(), Some(step));
        assert_eq!(check_totp(&secret, &code, now - 30).unwrap(), Some(step));
        assert_eq!(check_totp(&secret, &code, now + 61).unwrap(), None);
        assert_eq!(check_totp(&secret, "12345", now).unwrap(), None);
        assert_eq!(check_totp(&secret, "abcdef", now).unwrap(), None);
    }

    #[test]
    fn enrolment_has_a_qr_code_and_the_key() {
        let secret = new_secret();
        let view = enrolment(&secret, "alice", "http://127.0.0.1:8080").unwrap();
        assert!(view.qr_svg.starts_with("<?xml") || view.qr_svg.contains("<svg"));
        assert_eq!(view.secret_base32.len(), 32);
    }

    #[test]
    fn recovery_codes_are_distinct_and_normalised() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODE_COUNT);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), RECOVERY_CODE_COUNT);
        let code = &codes[0];
        assert_eq!(
            recovery_digest(code),
            recovery_digest(&code.to_uppercase().replace('-', " "))
        );
    }
}
