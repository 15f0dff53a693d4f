//! The sealed report: header H0, content key and derivations, STREAM
//! encryption, HPKE envelopes, the shopper's signature, opening, re-wrapping
//! and grants. See `docs/PROTOCOL.md` §8–§10.

use thiserror::Error;

use crate::codec::DecodeError;
use crate::ids::PersonId;

pub mod content_key;
pub mod envelope;
pub mod grant;
mod hash_sink;
pub mod header;
#[cfg(feature = "open")]
mod open;
mod seal;
pub mod sealed;
pub mod stream;

pub use content_key::ContentKey;
pub use envelope::Envelope;
pub use grant::{GrantRecord, SignedGrant};
pub use header::{AttachmentMeta, ReportContent, ReportCore, ReportHeader};
#[cfg(feature = "open")]
pub use open::ReportOpener;
pub use seal::ReportSealer;
pub use sealed::{ReportRecord, SealedReport, VerifiedRecord};
pub use stream::{CiphertextHasher, StreamDigest};

/// Why a report could not be sealed, verified or opened.
#[derive(Debug, Error)]
pub enum ReportError {
    /// Any failure to decrypt: a wrong key, an envelope that does not open, a
    /// key that does not match the signed commitment, an altered, reordered,
    /// truncated or extended chunk. One opaque case on purpose.
    #[error("decryption failed: the report is damaged or not meant for this key")]
    DecryptionFailed,
    #[error("the shopper's signature on the report does not verify")]
    BadSignature,
    #[error("stream {stream}'s ciphertext does not match the digest the shopper signed")]
    CiphertextMismatch { stream: usize },
    #[error("the report has no stream {stream}")]
    NoSuchStream { stream: usize },
    #[error("the content lists a different number of attachments than the report has streams")]
    StreamCountMismatch,
    #[error("this report has no envelope for this person")]
    NotARecipient,
    #[error("the program's recipient list is empty")]
    NoRecipients,
    #[error("recipient {recipient}'s key cannot receive envelopes")]
    RecipientKey { recipient: PersonId },
    #[error("streams must be sealed in order: content first, then each listed attachment")]
    StreamOrder,
    #[error("the descriptor is for another program")]
    WrongProgram,
    #[error("only the shopper who sealed a report can re-wrap it")]
    WrongShopper,
    #[error("the content key does not match the report's key commitment")]
    KeyMismatch,
    #[error(
        "the report is sealed for descriptor version {sealed_for}, the current one is {current}"
    )]
    StaleList { sealed_for: u64, current: u64 },
    #[error("the report's envelopes are not exactly the descriptor's recipients")]
    WrongRecipients,
    #[error("re-wrapping needs a newer descriptor version than the report was sealed for")]
    NotNewer,
    #[error("an earlier stream of this report failed; start a new report")]
    Abandoned,
    #[error("the report is malformed: {0}")]
    Malformed(#[from] DecodeError),
    #[error("a stream is longer than the limit")]
    TooLong,
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl From<stream::StreamError> for ReportError {
    fn from(e: stream::StreamError) -> Self {
        match e {
            stream::StreamError::DecryptionFailed => Self::DecryptionFailed,
            stream::StreamError::DigestMismatch => Self::CiphertextMismatch { stream: 0 },
            stream::StreamError::TooLong => Self::TooLong,
            stream::StreamError::Io(e) => Self::Io(e),
        }
    }
}
