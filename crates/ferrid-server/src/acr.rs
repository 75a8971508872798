//! Authentication methods (`amr`, RFC 8176) and the levels of assurance
//! (`acr`) they reach: what a session records and what tokens, discovery
//! and the authorization request speak of.

/// The `amr` value of a password login (RFC 8176).
pub const AMR_PASSWORD: &str = "pwd";
/// The `amr` value of a one-time password (RFC 8176), added to `pwd`
/// when the user passed TOTP or a recovery code.
pub const AMR_OTP: &str = "otp";
/// The `acr` of a login with one factor (level of assurance 1).
pub const ACR_SINGLE_FACTOR: &str = "1";
/// The `acr` of a login with two factors; a client asks for it with
/// `acr_values=2`.
pub const ACR_MULTI_FACTOR: &str = "2";

/// The `amr` of a login with a password and a second factor.
pub fn amr_with_otp() -> String {
    format!("{AMR_PASSWORD} {AMR_OTP}")
}

/// The `acr` that a login with these methods (space-separated) reached.
pub fn acr_for(amr: &str) -> &'static str {
    if amr.split_whitespace().any(|method| method == AMR_OTP) {
        ACR_MULTI_FACTOR
    } else {
        ACR_SINGLE_FACTOR
    }
}
