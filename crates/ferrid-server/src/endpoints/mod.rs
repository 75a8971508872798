//! One module per endpoint.

pub mod account;
pub mod admin;
pub mod assets;
pub mod authorize;
pub mod consent;
pub mod console;
pub mod device;
pub mod device_authorization;
pub mod health;
pub mod introspect;
pub mod login;
pub mod login_mfa;
pub mod login_passkey;
pub mod logout;
pub mod metadata;
pub mod metrics;
pub mod par;
pub mod password;
pub mod register;
pub mod revoke;
pub mod token;
pub mod userinfo;
