//! The tower layers every request passes through, outermost first: timing, request id, tracing,
//! metrics, panic catching, error bodies, security headers, compression, timeout and body
//! limit. `crate::router` assembles them in that order.

pub mod body_limit;
pub mod error_bodies;
pub mod metrics;
pub mod request_id;
pub mod security_headers;
pub mod timing;
