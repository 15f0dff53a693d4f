//! Opening a report (recipients) and checking ciphertext (auditors).

use std::io::{Read, Write};

use crate::codec::Decode;
use crate::keys::SecretIdentity;
use crate::report::ReportError;
use crate::report::content_key::{ContentKey, KeySchedule};
use crate::report::envelope::Envelope;
use crate::report::header::{MAX_CONTENT_LEN, ReportContent};
use crate::report::sealed::VerifiedRecord;
use crate::report::stream::{self, StreamDigest, StreamError};

impl VerifiedRecord {
    /// Unwraps `envelope` with `me`'s key and checks the key against the
    /// signed commitment. The envelope may be one the shopper signed or one a
    /// grant added later: either way, only the committed key is accepted.
    pub fn unwrap_key(
        &self,
        envelope: &Envelope,
        me: &SecretIdentity,
    ) -> Result<ContentKey, ReportError> {
        if envelope.recipient != me.id() {
            return Err(ReportError::NotARecipient);
        }
        let key = envelope
            .unwrap(self.header_hash(), me)
            .map_err(|_| ReportError::DecryptionFailed)?;
        self.check_key(&key)?;
        Ok(key)
    }

    fn check_key(&self, key: &ContentKey) -> Result<KeySchedule, ReportError> {
        let core = &self.header().core;
        let schedule = key.schedule(&core.report_id);
        if schedule.matches(&core.key_commitment) {
            Ok(schedule)
        } else {
            Err(ReportError::DecryptionFailed)
        }
    }

    /// An opener for this report's streams under `key`.
    pub fn opener(&self, key: &ContentKey) -> Result<ReportOpener<'_>, ReportError> {
        Ok(ReportOpener {
            schedule: self.check_key(key)?,
            record: self,
        })
    }

    /// Wraps the content key for a new recipient (a grant), without touching
    /// the ciphertext. The caller uploads it with a manager-signed grant
    /// record.
    pub fn wrap_for(
        &self,
        key: &ContentKey,
        recipient: &crate::keys::PublicIdentity,
        rng: &mut impl rand_core::CryptoRng,
    ) -> Result<Envelope, ReportError> {
        self.check_key(key)?;
        Envelope::wrap(key, self.header_hash(), recipient, rng).map_err(|_| {
            ReportError::RecipientKey {
                recipient: recipient.id(),
            }
        })
    }
}

/// Decrypts a verified report's streams.
#[derive(Debug)]
pub struct ReportOpener<'a> {
    schedule: KeySchedule,
    record: &'a VerifiedRecord,
}

impl ReportOpener<'_> {
    /// Decrypts stream 0 and returns the content only once the whole stream
    /// authenticated and matched its signed digest.
    pub fn open_content(&self, input: &mut impl Read) -> Result<ReportContent, ReportError> {
        // Stream 0 is read into memory: refuse a signed length that no valid
        // content could have before reading anything.
        let max = StreamDigest::sealed_len(MAX_CONTENT_LEN as u64);
        if self.record.stream(0)?.ciphertext_len > max {
            return Err(ReportError::TooLong);
        }
        let mut plaintext = zeroize::Zeroizing::new(Vec::new());
        self.open_stream(0, input, &mut *plaintext)?;
        let content =
            ReportContent::from_bytes(&plaintext).map_err(|_| ReportError::DecryptionFailed)?;
        if content.attachments.len() + 1 != self.record.record().streams.len() {
            return Err(ReportError::StreamCountMismatch);
        }
        Ok(content)
    }

    /// Decrypts attachment `n` (0-based; stream n+1) into `output`.
    ///
    /// Plaintext is written as it is decrypted: `output` must be a temporary
    /// place that the caller discards unless this returns `Ok` (for files:
    /// write a temporary file, rename it into place after `Ok`).
    pub fn open_attachment(
        &self,
        n: usize,
        input: &mut impl Read,
        output: &mut impl Write,
    ) -> Result<(), ReportError> {
        self.open_stream(n + 1, input, output)
    }

    fn open_stream(
        &self,
        index: usize,
        input: &mut impl Read,
        output: &mut impl Write,
    ) -> Result<(), ReportError> {
        let expected = self.record.stream(index)?;
        let key = self.schedule.stream_key(
            u32::try_from(index).map_err(|_| ReportError::NoSuchStream { stream: index })?,
        );
        stream::open(&key, self.record.core_hash(), expected, input, output).map_err(|e| match e {
            StreamError::DigestMismatch => ReportError::CiphertextMismatch { stream: index },
            other => ReportError::from(other),
        })
    }
}
