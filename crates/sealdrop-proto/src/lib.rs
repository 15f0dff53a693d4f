//! sealdrop's protocol core: keys and IDs, the canonical codec, program
//! descriptors, invites and enrolments, sealed reports, and every signed
//! message. Pure: no async runtime, no database, no network, no files; data
//! moves only through `std::io::Read` and `std::io::Write` streams that the
//! caller provides. `docs/PROTOCOL.md` specifies every construction here.

pub mod codec;
pub mod descriptor;
pub mod hash;
pub mod ids;
pub mod invite;
pub mod keys;
pub mod labels;
pub mod log;
pub mod messages;
pub mod report;
pub mod signed;

#[cfg(test)]
mod test_rng;

pub use ids::{DescriptorFingerprint, Fingerprint, PersonId, ProgramId, ReportId};
pub use keys::{KnownIdentities, PublicIdentity, SecretIdentity, SignatureError};
