//! The tamper-evident log: one append-only Merkle tree of every event, and
//! the signed checkpoints that commit to it (`docs/PROTOCOL.md` §14).
//!
//! - [`merkle`]: RFC 9162 Merkle tree hashing, an in-memory tree that
//!   answers for any past size, the proof verifiers, and the compact range
//!   an auditor keeps between visits.
//! - [`entry`]: what each leaf records, in the canonical codec.
//! - [`checkpoint`]: C2SP `tlog-checkpoint` bodies, signed as C2SP
//!   `signed-note`s by the log key, and C2SP `tlog-cosignature` witness
//!   cosignatures.
//! - [`heads`]: each program's newest descriptor, as the Merkle root a
//!   checkpoint's extension line carries, and the proof of one head.
//!
//! Pure like the rest of the crate: no I/O, no clock (times are arguments),
//! no randomness.

pub mod checkpoint;
pub mod entry;
pub mod handover;
pub mod heads;
pub mod merkle;

use checkpoint::Checkpoint;
use entry::LogEntry;
use merkle::{Digest, ProofError};

/// Where a leaf sits in a tree of some size, and the RFC 9162 audit path
/// that proves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    pub leaf_index: u64,
    pub tree_size: u64,
    pub path: Vec<Digest>,
}

impl InclusionProof {
    /// Checks that `entry` is the leaf at `leaf_index` of the tree that
    /// `checkpoint` commits to. The caller verified the checkpoint's
    /// signature; the proof must be for exactly its size.
    pub fn verify(&self, entry: &LogEntry, checkpoint: &Checkpoint) -> Result<(), ProofError> {
        if self.tree_size != checkpoint.size() {
            return Err(ProofError::SizeOutOfRange {
                size: self.tree_size,
                len: checkpoint.size(),
            });
        }
        merkle::verify_inclusion(
            &entry.leaf_hash(),
            self.leaf_index,
            self.tree_size,
            &self.path,
            checkpoint.root(),
        )
    }
}
