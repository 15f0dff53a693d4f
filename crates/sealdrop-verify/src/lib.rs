//! The checks sealdrop's clients and auditors make of what a server hands
//! them, as functions of data: no connection, no files, no clock. A binary
//! downloads, calls one of these, and prints; a test feeds them lies.
//!
//! * [`authority`]: a program's one verified descriptor chain, which must
//!   extend what the person's home pinned and what they confirmed out of
//!   band. Every decision about a program (who may invite, who may grant,
//!   who reads) is taken against this one copy.
//! * [`release`]: whether a released report may be decrypted by its reader:
//!   the shopper's signature, their chain to a manager's invite, the
//!   reader's envelope (sealed or granted), and the log's record of the
//!   release.
//! * [`log_check`]: what the server says about its log, against the pinned
//!   log key and origin.
//! * [`enrolment`], [`history`] and [`readers`]: the auditor's rules over
//!   the log in order: who enrolled under which invite, which descriptor
//!   version was current at each entry, and who was released what.

pub mod authority;
pub mod enrolment;
pub mod handover;
pub mod history;
pub mod log_check;
pub mod readers;
pub mod release;

pub use authority::{Anchor, AuthorityError, ProgramAuthority};
