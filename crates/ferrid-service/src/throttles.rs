//! The names of the failure counters that lock sign-ins: shared by the
//! server, which counts failures, and by administrators, who clear them.

use ferrid_store::secret::digest;
use ferrid_store::User;

/// The counter of password attempts for a login name (username or
/// e-mail address, trimmed and lower-cased): the same for names with and
/// without an account, so that neither the messages nor the locks tell
/// which names exist. The name itself is not stored, only its digest.
pub fn login_subject(login: &str) -> String {
    format!("login:{}", digest(&normalize_login(login)))
}

/// How a login name is compared: trimmed and lower-cased, as the account
/// lookup does.
pub fn normalize_login(login: &str) -> String {
    login.trim().to_lowercase()
}

/// The counter of second-factor attempts of an account (reached only
/// after a correct password, so it may be per account).
pub fn mfa_subject(user_id: &str) -> String {
    format!("mfa:{user_id}")
}

/// The counter of wrong device user codes typed from one address (or
/// from addresses that cannot be told apart, when `None`). A right code
/// does not clear it: anyone can get a right code from their own device,
/// and must not be able to buy more guesses with it.
pub fn device_code_subject(address: Option<&str>) -> String {
    format!("device:{}", address.unwrap_or("unknown"))
}

/// Every counter a complete sign-in of `user` clears.
pub fn subjects_of(user: &User) -> [String; 3] {
    [
        login_subject(&user.username),
        login_subject(&user.email),
        mfa_subject(&user.id),
    ]
}
