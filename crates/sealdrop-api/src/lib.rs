//! sealdrop's HTTP interface as types: the JSON bodies, the error codes and
//! their statuses, the routes, and the framing of a report upload. The
//! server and every client build on this one crate, so the two sides cannot
//! drift apart.
//!
//! Signed protocol objects never travel as JSON: they are the protocol
//! crate's canonical bytes, base64url-encoded ([`B64`]) inside a JSON field,
//! and each side decodes them strictly. See `docs/API.md`.

mod b64;
pub mod bulk;
mod error;
pub mod log;
pub mod routes;
pub mod time;
mod types;
pub mod upload;

pub use b64::B64;
pub use error::{ErrorBody, ErrorCode};
pub use types::*;
