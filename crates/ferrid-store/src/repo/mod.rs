//! One module per stored concern; each adds its methods to [`crate::Store`].

pub mod authorization;
pub mod client_assertions;
pub mod clients;
pub mod consents;
pub mod grants;
pub mod housekeeping;
pub mod keys;
pub mod leases;
pub mod logout_deliveries;
pub mod sessions;
pub mod users;
