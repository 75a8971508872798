//! ferrid's service layer: what an administrator can do, whichever surface
//! they use (the CLI today; the admin API and console next). Client
//! registration, APIs with their groups and roles, user administration,
//! key operations and the audit trail
//! are plain functions over the store with typed errors in domain words;
//! each surface maps those errors to its own form (a flag name and exit
//! code, a problem document, a message beside a form field). Nothing here
//! knows HTTP.

pub mod accounts;
pub mod apis;
pub mod audit;
pub mod branding;
pub mod clients;
pub mod clock;
pub mod groups;
pub mod keys;
pub mod scopes;
pub mod throttles;
pub mod users;

pub use clock::{Clock, ManualClock, SystemClock};
