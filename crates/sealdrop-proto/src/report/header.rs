//! H0, the report's public header, and the encrypted content manifest.
//!
//! ```text
//! core   = u16 protocol_version (=1) ‖ program_id[16] ‖ identity shopper
//!        ‖ report_id[16] ‖ u64 created_at ‖ digest questionnaire ‖ digest key_commitment
//! H0     = core ‖ u64 descriptor_version
//! core_hash   = SHA-256("sealdrop/v1/hash/report-core\0" ‖ core)    the chunks' AAD
//! header_hash = SHA-256("sealdrop/v1/hash/report-header\0" ‖ H0)    the envelopes' info
//!
//! content (stream 0 plaintext) = u16 format (=1) ‖ bytes<8 MiB> answers
//!        ‖ list<attachment, 64>
//! attachment = string<255> file_name ‖ option<u64> captured_at ‖ string<127> media_type
//! ```
//!
//! The chunks bind the core, not the descriptor version: when the recipient
//! list changes before a queued report is sent (`409 stale-list`), the shopper
//! re-wraps and re-signs it for the new version without re-encrypting, which
//! would otherwise reuse nonces under the same stream keys with a new AAD.
//! The descriptor version is still bound by the signature and every envelope.
//! File names and capture times live only in the encrypted content.

use crate::codec::{Decode, DecodeError, Decoder, Encode, Encoder};
use crate::hash::{self, Digest};
use crate::ids::{PersonId, ProgramId, ReportId};
use crate::keys::PublicIdentity;
use crate::labels;

pub const PROTOCOL_VERSION: u16 = 1;
pub const MAX_ANSWERS_LEN: usize = 8 * 1024 * 1024;
pub const MAX_ATTACHMENTS: usize = 64;
pub const MAX_FILE_NAME_LEN: usize = 255;
pub const MAX_MEDIA_TYPE_LEN: usize = 127;
const CONTENT_FORMAT: u16 = 1;
/// The longest encoded content (stream 0 plaintext) that can decode.
pub const MAX_CONTENT_LEN: usize = 2
    + 4
    + MAX_ANSWERS_LEN
    + 4
    + MAX_ATTACHMENTS * (4 + MAX_FILE_NAME_LEN + 9 + 4 + MAX_MEDIA_TYPE_LEN);

/// The parts of H0 fixed when the report is sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportCore {
    pub program_id: ProgramId,
    pub shopper: PublicIdentity,
    pub report_id: ReportId,
    pub created_at: u64,
    pub questionnaire_digest: Digest,
    pub key_commitment: Digest,
}

/// H0: the core and the descriptor version whose recipients it is sealed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportHeader {
    pub core: ReportCore,
    pub descriptor_version: u64,
}

impl ReportHeader {
    pub fn hash(&self) -> Digest {
        hash::labelled(labels::HASH_HEADER, &[&self.to_bytes()])
    }

    pub fn shopper_id(&self) -> PersonId {
        self.core.shopper.id()
    }
}

impl ReportCore {
    pub fn hash(&self) -> Digest {
        hash::labelled(labels::HASH_CORE, &[&self.to_bytes()])
    }
}

impl Encode for ReportCore {
    fn encode(&self, e: &mut Encoder) {
        e.u16(PROTOCOL_VERSION)
            .value(&self.program_id)
            .value(&self.shopper)
            .value(&self.report_id)
            .u64(self.created_at)
            .raw(&self.questionnaire_digest)
            .raw(&self.key_commitment);
    }
}

impl Decode for ReportCore {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        d.version("protocol", PROTOCOL_VERSION)?;
        let core = Self {
            program_id: d.value()?,
            shopper: d.value()?,
            report_id: d.value()?,
            created_at: d.u64("created at")?,
            questionnaire_digest: d.array("questionnaire digest")?,
            key_commitment: d.array("key commitment")?,
        };
        if core.created_at != core.report_id.unix_millis() / 1000 {
            return Err(DecodeError::Invalid {
                field: "created at",
                reason: "differs from the time in the report ID",
            });
        }
        Ok(core)
    }
}

impl Encode for ReportHeader {
    fn encode(&self, e: &mut Encoder) {
        e.value(&self.core).u64(self.descriptor_version);
    }
}

impl Decode for ReportHeader {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            core: d.value()?,
            descriptor_version: d.u64("descriptor version")?,
        })
    }
}

/// An attachment's private metadata, sealed inside stream 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentMeta {
    pub file_name: String,
    /// Unix seconds, when the file (a photo) says when it was taken.
    pub captured_at: Option<u64>,
    pub media_type: String,
}

/// The plaintext of stream 0: the answers and the attachments' metadata, in
/// the order of streams 1…n.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReportContent {
    pub answers: Vec<u8>,
    pub attachments: Vec<AttachmentMeta>,
}

impl ReportContent {
    pub(crate) fn check_limits(&self) -> Result<(), DecodeError> {
        let too_long = |field, len: usize, max: usize| {
            Err(DecodeError::TooLong {
                field,
                len: len as u64,
                max: max as u64,
            })
        };
        if self.answers.len() > MAX_ANSWERS_LEN {
            return too_long("answers", self.answers.len(), MAX_ANSWERS_LEN);
        }
        if self.attachments.len() > MAX_ATTACHMENTS {
            return too_long("attachments", self.attachments.len(), MAX_ATTACHMENTS);
        }
        for a in &self.attachments {
            if a.file_name.len() > MAX_FILE_NAME_LEN {
                return too_long("file name", a.file_name.len(), MAX_FILE_NAME_LEN);
            }
            if a.media_type.len() > MAX_MEDIA_TYPE_LEN {
                return too_long("media type", a.media_type.len(), MAX_MEDIA_TYPE_LEN);
            }
        }
        Ok(())
    }
}

impl Encode for ReportContent {
    fn encode(&self, e: &mut Encoder) {
        e.u16(CONTENT_FORMAT)
            .bytes(&self.answers)
            .list(&self.attachments, |e, a| {
                e.str(&a.file_name)
                    .option(a.captured_at.as_ref(), |e, t| {
                        e.u64(*t);
                    })
                    .str(&a.media_type);
            });
    }
}

impl Decode for ReportContent {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        d.version("content format", CONTENT_FORMAT)?;
        Ok(Self {
            answers: d.bytes("answers", MAX_ANSWERS_LEN)?.to_vec(),
            attachments: d.list("attachments", MAX_ATTACHMENTS, 9, |d| {
                Ok(AttachmentMeta {
                    file_name: d.str("file name", MAX_FILE_NAME_LEN)?.to_owned(),
                    captured_at: d.option("captured at", |d| d.u64("captured at"))?,
                    media_type: d.str("media type", MAX_MEDIA_TYPE_LEN)?.to_owned(),
                })
            })?,
        })
    }
}
