//! One module per command group.

pub mod api;
pub mod audit;
pub mod client;
pub mod deployment;
pub mod dev_cert;
pub mod group;
pub mod health;
pub mod key;
pub mod serve;
pub mod user;
