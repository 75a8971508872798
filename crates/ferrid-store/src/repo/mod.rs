//! One module per stored concern; each adds its methods to [`crate::Store`].

pub mod apis;
pub mod audit;
pub mod authorization;
pub mod client_assertions;
pub mod clients;
pub mod consents;
pub mod console;
pub mod device_authorizations;
pub mod email_tokens;
pub mod grants;
pub mod housekeeping;
pub mod installation;
pub mod keys;
pub mod leases;
pub mod logout_deliveries;
pub mod mfa;
pub mod passkeys;
pub mod pushed_requests;
pub mod roles;
pub mod sessions;
pub mod throttles;
pub mod transaction;
pub mod users;
