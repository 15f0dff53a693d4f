//! [`MerkleTree`]: the log's whole tree in memory, for the one process that
//! appends to it and answers proofs.

use std::fmt;

use super::{CompactRange, Digest, ProofError, empty_root, node_hash, split_point};

/// An append-only Merkle tree of leaf hashes that keeps every complete
/// subtree.
///
/// `levels[k][i]` is the hash of the aligned complete subtree of leaves
/// `[i·2^k, (i+1)·2^k)`, so level 0 holds the leaf hashes and level k holds
/// `len >> k` hashes: about `2·len` hashes in all (64 MiB for a million
/// leaves). Every subtree that RFC 9162's recursion visits for a tree of
/// any size up to `len` is either one of these (a lookup) or lies on that
/// size's ragged right edge (at most 63 lookups and node hashes). Hence
/// `push` costs one node hash amortised, and roots and proofs for *any*
/// size up to `len`, past sizes included, cost O(log n) lookups: no
/// recomputation, no per-size state.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct MerkleTree {
    levels: Vec<Vec<Digest>>,
}

impl MerkleTree {
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of leaves.
    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends one leaf hash (see [`super::leaf_hash`]) and completes the
    /// subtrees it closes: one node hash per trailing one bit of the old
    /// size, one on average.
    pub fn push(&mut self, leaf_hash: Digest) {
        let mut hash = leaf_hash;
        let mut level = 0;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let Some(row) = self.levels.get_mut(level) else {
                return;
            };
            row.push(hash);
            // An even count means the pushed hash closed a pair: its parent
            // is complete and goes one level up.
            if row.len() % 2 != 0 {
                return;
            }
            let [.., left, right] = row.as_slice() else {
                return;
            };
            hash = node_hash(left, right);
            level += 1;
        }
    }

    /// The leaf hash at `index`, if there is one.
    pub fn leaf(&self, index: u64) -> Option<Digest> {
        self.node(0, index)
    }

    /// The root of the tree as it is now.
    pub fn root(&self) -> Digest {
        // The current size is always in range.
        self.root_at(self.len()).unwrap_or_else(|_| empty_root())
    }

    /// The root of the tree of the first `size` leaves (RFC 9162 MTH).
    pub fn root_at(&self, size: u64) -> Result<Digest, ProofError> {
        self.check_size(size)?;
        if size == 0 {
            return Ok(empty_root());
        }
        self.subtree(0, size)
    }

    /// The inclusion proof (RFC 9162 §2.1.3.1, PATH) of leaf `index` in the
    /// tree of the first `size` leaves, ordered from the leaf up.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Digest>, ProofError> {
        self.check_size(size)?;
        if index >= size {
            return Err(ProofError::IndexOutOfRange { index, size });
        }
        // Walk down from the root of [0, size), noting the sibling of each
        // subtree the path enters; PATH lists them bottom up.
        let mut proof = Vec::new();
        let (mut start, mut n, mut m) = (0u64, size, index);
        while n > 1 {
            let k = split_point(n);
            if m < k {
                proof.push(self.subtree(start + k, n - k)?);
                n = k;
            } else {
                proof.push(self.subtree(start, k)?);
                start += k;
                m -= k;
                n -= k;
            }
        }
        proof.reverse();
        Ok(proof)
    }

    /// The consistency proof (RFC 9162 §2.1.4.1, PROOF and SUBPROOF) from
    /// the tree of the first `old_size` leaves to the tree of the first
    /// `new_size`. Empty when `old_size` is 0 or equals `new_size`.
    pub fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<Vec<Digest>, ProofError> {
        self.check_size(new_size)?;
        if old_size > new_size {
            return Err(ProofError::SizesOutOfOrder { old_size, new_size });
        }
        let mut proof = Vec::new();
        if old_size == 0 || old_size == new_size {
            return Ok(proof);
        }
        // SUBPROOF(m, D[start:start+n], b), unrolled: `b` stays true while
        // the old tree is still a whole subtree on the left edge, whose
        // root the verifier already has.
        let (mut start, mut n, mut m, mut whole) = (0u64, new_size, old_size, true);
        loop {
            if m == n {
                if !whole {
                    proof.push(self.subtree(start, n)?);
                }
                break;
            }
            let k = split_point(n);
            if m <= k {
                proof.push(self.subtree(start + k, n - k)?);
                n = k;
            } else {
                proof.push(self.subtree(start, k)?);
                start += k;
                m -= k;
                n -= k;
                whole = false;
            }
        }
        proof.reverse();
        Ok(proof)
    }

    /// The compact range of the first `size` leaves: what an auditor keeps
    /// to extend the tree from there without the earlier leaves.
    pub fn compact_range(&self, size: u64) -> Result<CompactRange, ProofError> {
        self.check_size(size)?;
        let mut hashes = Vec::with_capacity(size.count_ones() as usize);
        let mut start = 0u64;
        for level in (0..64u32).rev() {
            let piece = 1u64 << level;
            if size & piece != 0 {
                hashes.push(self.aligned(level, start)?);
                start += piece;
            }
        }
        Ok(CompactRange::from_checked_parts(size, hashes))
    }

    /// Drops every leaf from `size` on, and the subtrees they completed,
    /// as if they had never been pushed: the rollback for an append that
    /// was aborted before being committed elsewhere. Does nothing when
    /// `size >= len()`.
    pub fn truncate(&mut self, size: u64) {
        if size >= self.len() {
            return;
        }
        for (level, row) in self.levels.iter_mut().enumerate() {
            // Level k keeps exactly the complete subtrees of the prefix.
            let keep = usize::try_from(size >> level).unwrap_or(usize::MAX);
            row.truncate(keep);
        }
        // No level is ever empty, so equal trees have equal levels.
        while self.levels.last().is_some_and(Vec::is_empty) {
            self.levels.pop();
        }
    }

    fn check_size(&self, size: u64) -> Result<(), ProofError> {
        let len = self.len();
        if size > len {
            Err(ProofError::SizeOutOfRange { size, len })
        } else {
            Ok(())
        }
    }

    fn node(&self, level: u32, index: u64) -> Option<Digest> {
        let row = self.levels.get(usize::try_from(level).ok()?)?;
        row.get(usize::try_from(index).ok()?).copied()
    }

    /// The complete subtree of 2^level leaves starting at leaf `start`
    /// (a multiple of 2^level).
    fn aligned(&self, level: u32, start: u64) -> Result<Digest, ProofError> {
        self.node(level, start >> level)
            .ok_or(ProofError::SizeOutOfRange {
                size: start.saturating_add(1u64 << level),
                len: self.len(),
            })
    }

    /// MTH(D[start : start + size]) for a subtree that RFC 9162's recursion
    /// visits: `start` is a multiple of the smallest power of two ≥ `size`,
    /// so the range splits, by the one bits of `size` from the highest, into
    /// aligned complete subtrees, and its hash folds them from the right
    /// (the recursion's right spine).
    fn subtree(&self, start: u64, size: u64) -> Result<Digest, ProofError> {
        let mut pieces = [Digest::default(); 64];
        let mut count = 0;
        let mut offset = start;
        for level in (0..64u32).rev() {
            let piece = 1u64 << level;
            if size & piece != 0 {
                if let Some(slot) = pieces.get_mut(count) {
                    *slot = self.aligned(level, offset)?;
                }
                count += 1;
                offset += piece;
            }
        }
        let mut folded = pieces.iter().take(count).rev();
        let mut hash = folded.next().copied().unwrap_or_else(empty_root);
        for left in folded {
            hash = node_hash(left, &hash);
        }
        Ok(hash)
    }
}

impl fmt::Debug for MerkleTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MerkleTree")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}
