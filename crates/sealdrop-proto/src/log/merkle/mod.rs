//! RFC 9162 (RFC 6962) Merkle tree hashing over SHA-256.
//!
//! ```text
//! leaf_hash(d)    = SHA-256(0x00 ‖ d)
//! node_hash(l, r) = SHA-256(0x01 ‖ l ‖ r)
//! MTH({})         = SHA-256()                                  (the empty tree)
//! MTH(D[0:1])     = leaf_hash(D[0])
//! MTH(D[0:n])     = node_hash(MTH(D[0:k]), MTH(D[k:n]))         k = largest power of 2 < n
//! ```
//!
//! These hashes are deliberately *not* labelled like the rest of the
//! protocol (`crate::labels`): they are the standard ones, so that any
//! RFC 9162 or C2SP tooling (witnesses, monitors) can check sealdrop's log.
//! The 0x00/0x01 prefixes separate leaves from interior nodes, so no leaf
//! can be passed off as a subtree. What a leaf's data is, and its own domain
//! separation, is up to whoever appends it.
//!
//! - [`MerkleTree`] (`tree.rs`): the whole tree in memory, answering roots
//!   and proofs for any size up to its current one.
//! - [`verify_inclusion`], [`verify_consistency`] (`verify.rs`): the RFC
//!   9162 §2.1.3.2 and §2.1.4.2 verification algorithms.
//! - [`CompactRange`] (`compact.rs`): the O(log n) hashes that summarise a
//!   prefix of the tree, enough to extend it and compute its root.

use sha2::{Digest as _, Sha256};
use thiserror::Error;

pub use crate::hash::Digest;

mod compact;
mod tree;
mod verify;

pub use compact::CompactRange;
pub use tree::MerkleTree;
pub use verify::{verify_consistency, verify_inclusion};

/// The RFC 9162 hash of one leaf's data: SHA-256(0x00 ‖ data).
pub fn leaf_hash(data: &[u8]) -> Digest {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    h.finalize().into()
}

/// The RFC 9162 hash of an interior node: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Digest, right: &Digest) -> Digest {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: SHA-256 of the empty string (RFC 9162
/// §2.1.1).
pub fn empty_root() -> Digest {
    Sha256::digest([]).into()
}

/// Why a proof could not be made or did not verify. Building a proof for
/// arguments out of range is an error, never a panic; a proof that does not
/// verify says which check failed, for logs and tests (the caller's decision
/// is the same for all of them: the proof is refused).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofError {
    #[error("leaf index {index} is not below the tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("tree size {size} is beyond the {len} leaves held")]
    SizeOutOfRange { size: u64, len: u64 },
    #[error("the old tree size {old_size} is larger than the new tree size {new_size}")]
    SizesOutOfOrder { old_size: u64, new_size: u64 },
    #[error("the proof has more nodes than the tree sizes allow")]
    ProofTooLong,
    #[error("the proof has fewer nodes than the tree sizes need")]
    ProofTooShort,
    #[error("the proof does not lead to the old root")]
    OldRootMismatch,
    #[error("the proof does not lead to the root")]
    RootMismatch,
}

/// The largest power of two strictly below `n`, for `n ≥ 2`: RFC 9162's
/// split point `k`, where the left subtree of a tree of `n` leaves ends.
/// (1 for `n < 2`, where no caller asks.)
fn split_point(n: u64) -> u64 {
    let below = n.saturating_sub(1).max(1);
    1u64 << (63 - below.leading_zeros())
}
