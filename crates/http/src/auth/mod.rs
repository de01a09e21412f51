//! Authentication and authorization on the request path: every protected route declares its
//! scope in the route table with [`guard`], which authenticates the caller, asks the
//! application whether the principal may proceed, and leaves the [`Principal`] in the request.

mod credentials;
mod middleware;

pub(crate) use credentials::{CHALLENGE, UNAUTHORIZED_DETAIL, count_failure};
pub(crate) use middleware::{Authenticated, guard};
