//! One module per command group.

pub mod client;
pub mod key;
pub mod serve;
pub mod user;
