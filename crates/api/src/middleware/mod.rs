//! Middleware applied to every API request.

mod body_limit;
mod draining;
mod limit_ip;
mod observe;
mod request_id;

pub use body_limit::limit_body;
pub use draining::refuse_when_draining;
pub use limit_ip::limit_ip;
pub use observe::observe;
pub use request_id::{request_id, RequestId};
