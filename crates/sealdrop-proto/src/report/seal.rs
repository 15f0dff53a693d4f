//! Sealing a report on the shopper's laptop, and re-wrapping a queued one.

use std::io::{Read, Write};

use rand_core::CryptoRng;

use crate::codec::Encode;
use crate::descriptor::ProgramDescriptor;
use crate::hash::Digest;
use crate::ids::ReportId;
use crate::keys::SecretIdentity;
use crate::report::ReportError;
use crate::report::content_key::{ContentKey, KeySchedule};
use crate::report::envelope::Envelope;
use crate::report::header::{ReportContent, ReportCore, ReportHeader};
use crate::report::sealed::{MAX_STREAMS, SealedReport};
use crate::report::stream::{self, StreamDigest};

/// Seals one report: the content stream first, then each attachment in the
/// order the content lists them, then [`ReportSealer::finish`] wraps the key
/// for the descriptor's recipients and signs.
pub struct ReportSealer<'a> {
    shopper: &'a SecretIdentity,
    descriptor: &'a ProgramDescriptor,
    core: ReportCore,
    core_hash: Digest,
    key: ContentKey,
    schedule: KeySchedule,
    attachments_expected: Option<usize>,
    streams: Vec<StreamDigest>,
    /// Set when a stream failed part-way. Its key and nonces may have
    /// produced output already; sealing anything more under them could reuse
    /// a nonce, so the whole report is abandoned.
    failed: bool,
}

impl std::fmt::Debug for ReportSealer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportSealer")
            .field("core", &self.core)
            .field("streams", &self.streams)
            .finish_non_exhaustive()
    }
}

impl<'a> ReportSealer<'a> {
    /// Starts a report for `descriptor` (already verified by the caller's
    /// descriptor chain), created at `now_millis`.
    pub fn new(
        shopper: &'a SecretIdentity,
        descriptor: &'a ProgramDescriptor,
        now_millis: u64,
        rng: &mut impl CryptoRng,
    ) -> Result<Self, ReportError> {
        if descriptor.recipients.is_empty() {
            return Err(ReportError::NoRecipients);
        }
        let report_id = ReportId::new(now_millis, rng);
        let key = ContentKey::generate(rng);
        let schedule = key.schedule(&report_id);
        let core = ReportCore {
            program_id: descriptor.program_id,
            shopper: shopper.public(),
            report_id,
            created_at: now_millis / 1000,
            questionnaire_digest: descriptor.questionnaire_digest,
            key_commitment: schedule.commitment(),
        };
        Ok(Self {
            shopper,
            descriptor,
            core_hash: core.hash(),
            core,
            key,
            schedule,
            attachments_expected: None,
            streams: Vec::new(),
            failed: false,
        })
    }

    pub fn report_id(&self) -> ReportId {
        self.core.report_id
    }

    /// Seals stream 0: the answers and the attachments' metadata.
    pub fn seal_content(
        &mut self,
        content: &ReportContent,
        out: &mut impl Write,
    ) -> Result<StreamDigest, ReportError> {
        if self.failed {
            return Err(ReportError::Abandoned);
        }
        if self.attachments_expected.is_some() {
            return Err(ReportError::StreamOrder);
        }
        content.check_limits().map_err(ReportError::Malformed)?;
        let plaintext = zeroize::Zeroizing::new(content.to_bytes());
        let digest = self.seal_stream(&mut plaintext.as_slice(), out)?;
        self.attachments_expected = Some(content.attachments.len());
        Ok(digest)
    }

    /// Seals the next attachment's bytes as the next stream.
    pub fn seal_attachment(
        &mut self,
        input: &mut impl Read,
        out: &mut impl Write,
    ) -> Result<StreamDigest, ReportError> {
        match self.attachments_expected {
            Some(n) if self.streams.len() <= n => self.seal_stream(input, out),
            _ => Err(ReportError::StreamOrder),
        }
    }

    fn seal_stream(
        &mut self,
        input: &mut impl Read,
        out: &mut impl Write,
    ) -> Result<StreamDigest, ReportError> {
        if self.failed {
            return Err(ReportError::Abandoned);
        }
        if self.streams.len() >= MAX_STREAMS {
            return Err(ReportError::StreamOrder);
        }
        let index = u32::try_from(self.streams.len()).map_err(|_| ReportError::StreamOrder)?;
        let key = self.schedule.stream_key(index);
        match stream::seal(&key, &self.core_hash, input, out) {
            Ok(digest) => {
                self.streams.push(digest);
                Ok(digest)
            }
            Err(e) => {
                self.failed = true;
                Err(e.into())
            }
        }
    }

    /// Wraps the content key for every recipient of the descriptor and signs.
    /// Returns the content key too: the shopper keeps it (encrypted) until the
    /// server acknowledges, to re-wrap on a stale recipient list.
    pub fn finish(
        self,
        rng: &mut impl CryptoRng,
    ) -> Result<(SealedReport, ContentKey), ReportError> {
        if self.failed {
            return Err(ReportError::Abandoned);
        }
        if self.attachments_expected.map(|n| n + 1) != Some(self.streams.len()) {
            return Err(ReportError::StreamOrder);
        }
        let header = ReportHeader {
            core: self.core,
            descriptor_version: self.descriptor.version,
        };
        let envelopes = wrap_all(&self.key, &header, self.descriptor, rng)?;
        let report = SealedReport::sign(self.shopper, header, envelopes, self.streams);
        Ok((report, self.key))
    }
}

fn wrap_all(
    key: &ContentKey,
    header: &ReportHeader,
    descriptor: &ProgramDescriptor,
    rng: &mut impl CryptoRng,
) -> Result<Vec<Envelope>, ReportError> {
    let header_hash = header.hash();
    descriptor
        .recipients
        .iter()
        .map(|r| {
            Envelope::wrap(key, &header_hash, r, rng)
                .map_err(|_| ReportError::RecipientKey { recipient: r.id() })
        })
        .collect()
}

impl SealedReport {
    /// Re-wraps a queued report for a newer descriptor version of the same
    /// program (after `409 stale-list`): new envelopes for the new recipient
    /// list, a new signature, the same ciphertext. Only the shopper who sealed
    /// it, holding its content key, can do this.
    pub fn rewrap(
        &self,
        key: &ContentKey,
        shopper: &SecretIdentity,
        descriptor: &ProgramDescriptor,
        rng: &mut impl CryptoRng,
    ) -> Result<SealedReport, ReportError> {
        let core = &self.header.core;
        if core.program_id != descriptor.program_id {
            return Err(ReportError::WrongProgram);
        }
        if core.shopper != shopper.public() {
            return Err(ReportError::WrongShopper);
        }
        if !key.schedule(&core.report_id).matches(&core.key_commitment) {
            return Err(ReportError::KeyMismatch);
        }
        if descriptor.version <= self.header.descriptor_version {
            return Err(ReportError::NotNewer);
        }
        if descriptor.recipients.is_empty() {
            return Err(ReportError::NoRecipients);
        }
        let header = ReportHeader {
            core: core.clone(),
            descriptor_version: descriptor.version,
        };
        let envelopes = wrap_all(key, &header, descriptor, rng)?;
        Ok(SealedReport::sign(
            shopper,
            header,
            envelopes,
            self.streams.clone(),
        ))
    }
}
