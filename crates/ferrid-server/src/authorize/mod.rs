//! The authorization endpoint's logic: request validation, the decision of
//! what comes next, and the flow that carries a request to a code.

pub mod decide;
pub mod device;
pub mod flow;
pub mod pushed;
pub mod request;
pub mod request_object;
