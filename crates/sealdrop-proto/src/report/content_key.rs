//! The report's content key and what is derived from it.
//!
//! ```text
//! K          = 32 random bytes, one per report
//! PRK        = HKDF-Extract(salt = report_id[16], IKM = K)            (SHA-256)
//! commitment = HKDF-Expand(PRK, "sealdrop/v1/kdf/key-commitment\0" ‖ report_id, 32)
//! k_stream_i = HKDF-Expand(PRK, "sealdrop/v1/kdf/stream-key\0" ‖ report_id ‖ u32_be(i), 32)
//! ```
//!
//! The commitment sits in the signed header. ChaCha20-Poly1305 is not key
//! committing, so without it a malicious shopper could wrap different keys
//! for different recipients that each decrypt the same ciphertext to different
//! plaintexts; with it, every recipient checks that they hold the one key the
//! shopper signed for.

use std::fmt;

use hkdf::Hkdf;
use rand_core::CryptoRng;
use sha2::Sha256;
use subtle::ConstantTimeEq as _;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::hash::Digest;
use crate::ids::ReportId;
use crate::labels;
use crate::report::stream::StreamKey;

/// A report's content key. Zeroized on drop; no `Clone`, no printing.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct ContentKey([u8; 32]);

impl ContentKey {
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut k = [0u8; 32];
        rng.fill_bytes(&mut k);
        Self(k)
    }

    /// The raw key, only for storing it encrypted (the shopper's outbox keeps
    /// it until the server acknowledges, to re-wrap on a stale list).
    pub fn expose_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub(crate) fn schedule(&self, report_id: &ReportId) -> KeySchedule {
        KeySchedule {
            hkdf: Hkdf::<Sha256>::new(Some(report_id.as_bytes()), &self.0),
            report_id: *report_id,
        }
    }
}

impl fmt::Debug for ContentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ContentKey(<secret>)")
    }
}

/// The HKDF state for one report's content key.
pub(crate) struct KeySchedule {
    hkdf: Hkdf<Sha256>,
    report_id: ReportId,
}

impl fmt::Debug for KeySchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeySchedule(<secret>)")
    }
}

impl KeySchedule {
    fn expand(&self, label: &[u8], suffix: &[u8]) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expand
        // cannot fail; the fallback keeps the all-zero output, which no
        // commitment check would ever accept.
        let _ = self
            .hkdf
            .expand_multi_info(&[label, self.report_id.as_bytes(), suffix], out.as_mut());
        out
    }

    pub(crate) fn commitment(&self) -> Digest {
        *self.expand(labels::KDF_KEY_COMMITMENT, &[])
    }

    pub(crate) fn matches(&self, commitment: &Digest) -> bool {
        self.commitment().ct_eq(commitment).into()
    }

    pub(crate) fn stream_key(&self, index: u32) -> StreamKey {
        StreamKey(self.expand(labels::KDF_STREAM_KEY, &index.to_be_bytes()))
    }
}
