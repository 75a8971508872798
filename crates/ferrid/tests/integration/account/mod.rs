//! The signed-in user's account pages, as `endpoints::account` is laid out.

pub mod password;
pub mod second_factor;
pub mod verify_email;
