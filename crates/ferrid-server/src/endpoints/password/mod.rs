//! Password recovery for users who are not signed in.

pub mod forgot;
pub mod reset;
