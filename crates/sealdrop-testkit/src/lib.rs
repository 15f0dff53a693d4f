//! What sealdrop's test suites share.
//!
//! * [`liar`]: a lying server. An HTTP proxy between the real clients and
//!   the real `sealdrop-server` that passes everything through until a test
//!   tells it to answer one request two ways, rewrite, withhold or drop an
//!   answer. Tests that act as the server on its own disk (rows, leaves,
//!   checkpoints under its own log key) do that directly on the data
//!   directory; the proxy covers what a server says on the wire.
//!
//! Nothing here is compiled into any product binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod liar;
