//! [`CompactRange`]: the prefix `[0, size)` of the tree in O(log n) hashes.

use crate::codec::{Decode, DecodeError, Decoder, Encode, Encoder};

use super::{Digest, empty_root, node_hash};

/// The roots of the maximal complete subtrees that tile the leaves
/// `[0, size)`, left to right: one per one bit of `size`, largest first
/// (transparency-dev's compact ranges, for ranges that start at 0).
///
/// That is all the tree's history needed to append to it and compute its
/// root. An auditor stores the compact range of the last checkpoint it
/// verified; on its next visit it pushes only the leaves added since and
/// compares [`CompactRange::root`] with the new checkpoint's root, so its
/// work is proportional to the new leaves, and the stored state to the log
/// of the size.
///
/// ```text
/// compact_range = u16 format(1) ‖ u64 size ‖ list<digest, 64> hashes
///                 count = popcount(size), size < 2^63
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    hashes: Vec<Digest>,
}

/// The largest size a decoded range may have: far beyond any log, and it
/// leaves 2^63 pushes before the size could overflow.
const MAX_DECODED_SIZE: u64 = (1 << 63) - 1;

impl CompactRange {
    /// The empty range, size 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// For `MerkleTree::compact_range`, which supplies `popcount(size)`
    /// hashes of the right subtrees.
    pub(super) fn from_checked_parts(size: u64, hashes: Vec<Digest>) -> Self {
        Self { size, hashes }
    }

    /// The number of leaves covered.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The subtree roots, largest (leftmost) first.
    pub fn hashes(&self) -> &[Digest] {
        &self.hashes
    }

    /// Appends one leaf hash: it merges with one subtree root per trailing
    /// one bit of the old size, as a binary counter carries.
    pub fn push(&mut self, leaf_hash: Digest) {
        let mut hash = leaf_hash;
        let mut carry = self.size;
        while carry & 1 == 1 {
            let Some(left) = self.hashes.pop() else {
                break;
            };
            hash = node_hash(&left, &hash);
            carry >>= 1;
        }
        self.hashes.push(hash);
        self.size += 1;
    }

    /// The RFC 9162 root of the leaves `[0, size)`: the subtree roots folded
    /// from the right, which is exactly MTH's recursion down its right edge.
    pub fn root(&self) -> Digest {
        let mut from_right = self.hashes.iter().rev();
        let Some(last) = from_right.next() else {
            return empty_root();
        };
        from_right.fold(*last, |right, left| node_hash(left, &right))
    }
}

impl Encode for CompactRange {
    fn encode(&self, e: &mut Encoder) {
        e.u16(1).u64(self.size).list(&self.hashes, |e, h| {
            e.raw(h);
        });
    }
}

impl Decode for CompactRange {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        d.version("compact range format", 1)?;
        let size = d.u64("compact range size")?;
        if size > MAX_DECODED_SIZE {
            return Err(DecodeError::Invalid {
                field: "compact range size",
                reason: "must be below 2^63",
            });
        }
        let hashes = d.list("compact range hashes", 64, 32, |d| {
            d.array("compact range hash")
        })?;
        if hashes.len() != size.count_ones() as usize {
            return Err(DecodeError::Invalid {
                field: "compact range hashes",
                reason: "the count must equal the number of one bits of the size",
            });
        }
        Ok(Self { size, hashes })
    }
}
