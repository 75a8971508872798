//! Authentication methods (`amr`, RFC 8176) and the levels of assurance
//! (`acr`) they reach: what a session records and what tokens, discovery
//! and the authorization request speak of.

/// The `amr` value of a password login (RFC 8176).
pub const AMR_PASSWORD: &str = "pwd";
/// The `amr` value of a one-time password (RFC 8176), added to `pwd`
/// when the user passed TOTP or a recovery code.
pub const AMR_OTP: &str = "otp";
/// The `amr` value of a passkey bound to its device (RFC 8176 `hwk`:
/// proof of possession of a hardware-secured key).
pub const AMR_HARDWARE_KEY: &str = "hwk";
/// The `amr` value of a passkey that may be synced between devices
/// (RFC 8176 `swk`: a software-secured key).
pub const AMR_SOFTWARE_KEY: &str = "swk";
/// The `amr` value of the user verification a passkey always asks for
/// (RFC 8176 `user`: the user was present and verified).
pub const AMR_USER: &str = "user";
/// The `amr` value of a login with more than one factor (RFC 8176).
pub const AMR_MULTI_FACTOR: &str = "mfa";
/// The `acr` of a login with one factor (level of assurance 1).
pub const ACR_SINGLE_FACTOR: &str = "1";
/// The `acr` of a login with two factors; a client asks for it with
/// `acr_values=2`.
pub const ACR_MULTI_FACTOR: &str = "2";
/// The `acr` of a phishing-resistant login (a passkey), as the OpenID
/// Extended Authentication Profile names it; `acr_values=phr` asks for it.
pub const ACR_PHISHING_RESISTANT: &str = "phr";
/// The `acr` of a phishing-resistant login with a key that cannot leave
/// its device (a passkey that is not synced): `phrh`.
pub const ACR_PHISHING_RESISTANT_HARDWARE: &str = "phrh";

/// Levels of assurance, weakest first: each satisfies a request for any
/// level below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Assurance {
    /// A password alone.
    SingleFactor,
    /// A password and a one-time code.
    MultiFactor,
    /// A passkey (user verified; bound to ferrid's origin).
    PhishingResistant,
    /// A passkey that cannot leave its authenticator.
    PhishingResistantHardware,
}

impl Assurance {
    /// The `acr` value of this level.
    pub fn acr(self) -> &'static str {
        match self {
            Assurance::SingleFactor => ACR_SINGLE_FACTOR,
            Assurance::MultiFactor => ACR_MULTI_FACTOR,
            Assurance::PhishingResistant => ACR_PHISHING_RESISTANT,
            Assurance::PhishingResistantHardware => ACR_PHISHING_RESISTANT_HARDWARE,
        }
    }

    /// The level an `acr` value names, if ferrid knows it.
    pub fn of_acr(acr: &str) -> Option<Assurance> {
        [
            Assurance::SingleFactor,
            Assurance::MultiFactor,
            Assurance::PhishingResistant,
            Assurance::PhishingResistantHardware,
        ]
        .into_iter()
        .find(|level| level.acr() == acr)
    }

    /// Every `acr` value, for discovery.
    pub fn all_acr_values() -> [&'static str; 4] {
        [
            ACR_SINGLE_FACTOR,
            ACR_MULTI_FACTOR,
            ACR_PHISHING_RESISTANT,
            ACR_PHISHING_RESISTANT_HARDWARE,
        ]
    }
}

/// The level a login with these methods (space-separated) reached.
pub fn assurance(amr: &str) -> Assurance {
    let has = |method: &str| amr.split_whitespace().any(|given| given == method);
    if has(AMR_HARDWARE_KEY) {
        Assurance::PhishingResistantHardware
    } else if has(AMR_SOFTWARE_KEY) {
        Assurance::PhishingResistant
    } else if has(AMR_OTP) {
        Assurance::MultiFactor
    } else {
        Assurance::SingleFactor
    }
}

/// The `amr` of a login with a password and a second factor.
pub fn amr_with_otp() -> String {
    format!("{AMR_PASSWORD} {AMR_OTP}")
}

/// The `amr` of a login with a passkey (`backup_eligible`: one that may
/// be synced), after a password or alone. A passkey with user
/// verification is two factors by itself (something held and something
/// known or inherent), so both are `mfa`.
pub fn amr_with_passkey(backup_eligible: bool, after_password: bool) -> String {
    let key = if backup_eligible {
        AMR_SOFTWARE_KEY
    } else {
        AMR_HARDWARE_KEY
    };
    let methods = format!("{key} {AMR_USER} {AMR_MULTI_FACTOR}");
    if after_password {
        format!("{AMR_PASSWORD} {methods}")
    } else {
        methods
    }
}

/// The `acr` that a login with these methods (space-separated) reached.
pub fn acr_for(amr: &str) -> &'static str {
    assurance(amr).acr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_the_methods() {
        assert_eq!(acr_for("pwd"), "1");
        assert_eq!(acr_for(&amr_with_otp()), "2");
        assert_eq!(acr_for(&amr_with_passkey(true, false)), "phr");
        assert_eq!(acr_for(&amr_with_passkey(false, true)), "phrh");
        assert_eq!(amr_with_passkey(false, true), "pwd hwk user mfa");
        assert_eq!(amr_with_passkey(true, false), "swk user mfa");
        assert!(Assurance::PhishingResistant > Assurance::MultiFactor);
        assert_eq!(Assurance::of_acr("phr"), Some(Assurance::PhishingResistant));
        assert_eq!(Assurance::of_acr("silver"), None);
    }
}
