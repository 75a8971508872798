//! Password recovery, as `endpoints::password` is laid out.

pub mod reset;
