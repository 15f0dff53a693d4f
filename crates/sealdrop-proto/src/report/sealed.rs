//! The sealed report as it travels and is stored, and its verification.
//!
//! ```text
//! sealed_report = H0 ‖ list<envelope, 1024> ‖ list<stream_digest, 65> ‖ signature[64]
//! report_record = H0 ‖ list<digest, 1024> envelope_hashes ‖ list<stream_digest, 65> ‖ signature[64]
//! stream_digest = u64 ciphertext_len ‖ digest sha256
//! signature     = Ed25519(shopper, "sealdrop/v1/sig/report\0" ‖ H0 ‖ set_hash ‖ list<stream_digest>)
//! ```
//!
//! Envelopes are sorted by recipient ID and unique. The record is what the
//! server keeps forever and what auditors check: it verifies with envelope
//! hashes alone, so an auditor never needs (or gets) an envelope.

use crate::codec::{Decode, DecodeError, Decoder, Encode, Encoder, check_strictly_sorted};
use crate::descriptor::MAX_RECIPIENTS;
use crate::hash::{self, Digest};
use crate::ids::ReportId;
use crate::keys::SecretIdentity;
use crate::labels;
use crate::report::ReportError;
use crate::report::envelope::{self, ENVELOPE_LEN, Envelope};
use crate::report::header::{MAX_ATTACHMENTS, ReportHeader};
use crate::report::stream::{self, StreamDigest};
use std::io::Read;

pub const MAX_STREAMS: usize = MAX_ATTACHMENTS + 1;

/// A report as the shopper sends it: header, envelopes, stream digests and
/// the shopper's signature. The ciphertext streams travel beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedReport {
    pub header: ReportHeader,
    pub envelopes: Vec<Envelope>,
    pub streams: Vec<StreamDigest>,
    pub signature: [u8; 64],
}

/// The public, permanent part of a report: everything but the envelopes'
/// contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRecord {
    pub header: ReportHeader,
    pub envelope_hashes: Vec<Digest>,
    pub streams: Vec<StreamDigest>,
    pub signature: [u8; 64],
}

/// The bytes the shopper signs.
pub(crate) fn signed_statement(
    header: &ReportHeader,
    envelope_hashes: &[Digest],
    streams: &[StreamDigest],
) -> Vec<u8> {
    let mut e = Encoder::new();
    e.value(header)
        .raw(&envelope::set_hash(envelope_hashes))
        .list(streams, |e, s| {
            e.value(s);
        });
    e.finish()
}

impl SealedReport {
    /// Signs a report. Envelopes are sorted by recipient first.
    pub(crate) fn sign(
        shopper: &SecretIdentity,
        header: ReportHeader,
        mut envelopes: Vec<Envelope>,
        streams: Vec<StreamDigest>,
    ) -> Self {
        envelopes.sort_by_key(|e| e.recipient);
        let hashes: Vec<Digest> = envelopes.iter().map(Envelope::hash).collect();
        let statement = signed_statement(&header, &hashes, &streams);
        let signature = shopper
            .signing()
            .sign_labelled(labels::SIG_REPORT, &statement);
        Self {
            header,
            envelopes,
            streams,
            signature,
        }
    }

    pub fn report_id(&self) -> ReportId {
        self.header.core.report_id
    }

    pub fn record(&self) -> ReportRecord {
        ReportRecord {
            header: self.header.clone(),
            envelope_hashes: self.envelopes.iter().map(Envelope::hash).collect(),
            streams: self.streams.clone(),
            signature: self.signature,
        }
    }

    /// The hash an acknowledgement names: over the public record, so that it
    /// stays checkable after an envelope is revoked.
    pub fn hash(&self) -> Digest {
        self.record().hash()
    }

    /// Checks that the report is for `descriptor`'s program and version and
    /// carries exactly one envelope for each of its recipients, no more and
    /// no fewer: what a server checks on upload, so that a shopper cannot
    /// leave a recipient out or add one.
    pub fn check_addressed_to(
        &self,
        descriptor: &crate::descriptor::ProgramDescriptor,
    ) -> Result<(), ReportError> {
        if self.header.core.program_id != descriptor.program_id {
            return Err(ReportError::WrongProgram);
        }
        if self.header.descriptor_version != descriptor.version {
            return Err(ReportError::StaleList {
                sealed_for: self.header.descriptor_version,
                current: descriptor.version,
            });
        }
        let mut expected: Vec<_> = descriptor.recipients.iter().map(|r| r.id()).collect();
        expected.sort();
        let found: Vec<_> = self.envelopes.iter().map(|e| e.recipient).collect();
        if found != expected {
            return Err(ReportError::WrongRecipients);
        }
        Ok(())
    }

    /// Checks the shopper's signature strictly.
    pub fn verify(&self) -> Result<(), ReportError> {
        self.record().verify().map(|_| ())
    }
}

impl ReportRecord {
    pub fn hash(&self) -> Digest {
        hash::labelled(labels::HASH_SEALED_REPORT, &[&self.to_bytes()])
    }

    /// Checks the shopper's signature strictly, with envelope hashes alone.
    pub fn verify(self) -> Result<VerifiedRecord, ReportError> {
        let statement = signed_statement(&self.header, &self.envelope_hashes, &self.streams);
        self.header
            .core
            .shopper
            .verify_labelled(labels::SIG_REPORT, &statement, &self.signature)
            .map_err(|_| ReportError::BadSignature)?;
        Ok(VerifiedRecord {
            header_hash: self.header.hash(),
            core_hash: self.header.core.hash(),
            record: self,
        })
    }
}

/// A record whose signature verified. Only this type opens streams.
#[derive(Debug, Clone)]
// The hashes serve opening, which only the "open" feature builds.
#[cfg_attr(not(feature = "open"), allow(dead_code))]
pub struct VerifiedRecord {
    record: ReportRecord,
    header_hash: Digest,
    core_hash: Digest,
}

impl VerifiedRecord {
    pub fn record(&self) -> &ReportRecord {
        &self.record
    }

    pub fn header(&self) -> &ReportHeader {
        &self.record.header
    }

    pub fn report_id(&self) -> ReportId {
        self.record.header.core.report_id
    }

    #[cfg_attr(not(feature = "open"), allow(dead_code))]
    pub(crate) fn header_hash(&self) -> &Digest {
        &self.header_hash
    }

    #[cfg_attr(not(feature = "open"), allow(dead_code))]
    pub(crate) fn core_hash(&self) -> &Digest {
        &self.core_hash
    }

    /// True when the shopper signed this envelope; otherwise only a grant
    /// record can authorise it.
    pub fn is_signed_envelope(&self, envelope: &Envelope) -> bool {
        self.record.envelope_hashes.contains(&envelope.hash())
    }

    /// Checks one stream's ciphertext against the signed digest without
    /// decrypting: an auditor's check.
    pub fn check_ciphertext(&self, index: usize, input: &mut impl Read) -> Result<(), ReportError> {
        let expected = self.stream(index)?;
        let found = stream::digest(input)?;
        if found == *expected {
            Ok(())
        } else {
            Err(ReportError::CiphertextMismatch { stream: index })
        }
    }

    pub(crate) fn stream(&self, index: usize) -> Result<&StreamDigest, ReportError> {
        self.record()
            .streams
            .get(index)
            .ok_or(ReportError::NoSuchStream { stream: index })
    }
}

fn check_envelopes(envelopes: &[Envelope]) -> Result<(), DecodeError> {
    if envelopes.is_empty() {
        return Err(DecodeError::Invalid {
            field: "envelopes",
            reason: "a report is sealed to at least one recipient",
        });
    }
    check_strictly_sorted(envelopes, "envelopes", |e| e.recipient)
}

fn encode_streams(e: &mut Encoder, streams: &[StreamDigest]) {
    e.list(streams, |e, s| {
        e.value(s);
    });
}

fn decode_streams(d: &mut Decoder<'_>) -> Result<Vec<StreamDigest>, DecodeError> {
    let streams = d.list("streams", MAX_STREAMS, 40, Decoder::value)?;
    if streams.is_empty() {
        return Err(DecodeError::Invalid {
            field: "streams",
            reason: "a report has at least the content stream",
        });
    }
    Ok(streams)
}

impl Encode for SealedReport {
    fn encode(&self, e: &mut Encoder) {
        e.value(&self.header).list(&self.envelopes, |e, env| {
            e.value(env);
        });
        encode_streams(e, &self.streams);
        e.raw(&self.signature);
    }
}

impl Decode for SealedReport {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let header = d.value()?;
        let envelopes = d.list("envelopes", MAX_RECIPIENTS, ENVELOPE_LEN, Decoder::value)?;
        check_envelopes(&envelopes)?;
        Ok(Self {
            header,
            envelopes,
            streams: decode_streams(d)?,
            signature: d.array("signature")?,
        })
    }
}

impl Encode for ReportRecord {
    fn encode(&self, e: &mut Encoder) {
        e.value(&self.header).list(&self.envelope_hashes, |e, h| {
            e.raw(h);
        });
        encode_streams(e, &self.streams);
        e.raw(&self.signature);
    }
}

impl Decode for ReportRecord {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let record = Self {
            header: d.value()?,
            envelope_hashes: d.list("envelope hashes", MAX_RECIPIENTS, 32, |d| {
                d.array("envelope hash")
            })?,
            streams: decode_streams(d)?,
            signature: d.array("signature")?,
        };
        if record.envelope_hashes.is_empty() {
            return Err(DecodeError::Invalid {
                field: "envelope hashes",
                reason: "a report is sealed to at least one recipient",
            });
        }
        Ok(record)
    }
}
