//! Labelled SHA-256: every hash in the protocol is SHA-256(label ‖ input).

use sha2::{Digest as _, Sha256};

/// A SHA-256 output.
pub type Digest = [u8; 32];

/// SHA-256 over a label followed by the parts, concatenated.
pub fn labelled(label: &[u8], parts: &[&[u8]]) -> Digest {
    let mut h = Sha256::new();
    h.update(label);
    for part in parts {
        h.update(part);
    }
    h.finalize().into()
}

/// An incremental labelled SHA-256, for data that arrives as a stream.
#[derive(Clone, Debug)]
pub struct Hasher(Sha256);

impl Hasher {
    pub fn new(label: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(label);
        Self(h)
    }

    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    pub fn finish(self) -> Digest {
        self.0.finalize().into()
    }
}

/// The digest of a questionnaire's canonical bytes, as named in descriptors
/// and report headers.
pub fn questionnaire_digest(questionnaire: &[u8]) -> Digest {
    labelled(crate::labels::HASH_QUESTIONNAIRE, &[questionnaire])
}
