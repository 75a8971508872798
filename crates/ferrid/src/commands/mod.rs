//! One module per command group.

pub mod audit;
pub mod client;
pub mod dev_cert;
pub mod key;
pub mod serve;
pub mod user;
