//! Proof verification, step for step as RFC 9162 §2.1.3.2 (inclusion) and
//! §2.1.4.2 (consistency) write it, so that the code can be read against
//! the RFC line by line. The step numbers in the comments are the RFC's.
//!
//! Both loops stop when the proof has more nodes than the sizes allow
//! (`sn` reaches 0 early) and fail when it has fewer (`sn` not 0 at the
//! end), so a proof of any other length than the one the sizes determine is
//! refused, whatever its nodes. Each loop runs at most 64 times whatever
//! the proof's length.

use super::{Digest, ProofError, empty_root, node_hash};

/// Right-shifts `fn` and `sn` together until `fn`'s lowest bit is set or
/// `fn` is 0 (steps 2.1.3.2 4.b.ii and 2.1.4.2 6.b.iii).
fn shift_while_even(fn_: &mut u64, sn: &mut u64) {
    while *fn_ & 1 == 0 && *fn_ != 0 {
        *fn_ >>= 1;
        *sn >>= 1;
    }
}

/// Verifies that `leaf_hash` is the leaf at `index` of the tree of `size`
/// leaves whose root is `root` (RFC 9162 §2.1.3.2). `proof` is ordered from
/// the leaf up, as [`super::MerkleTree::inclusion_proof`] gives it.
pub fn verify_inclusion(
    leaf_hash: &Digest,
    index: u64,
    size: u64,
    proof: &[Digest],
    root: &Digest,
) -> Result<(), ProofError> {
    // 1. The index must be in the tree.
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    // 2., 3.
    let mut fn_ = index;
    let mut sn = size - 1;
    let mut r = *leaf_hash;
    // 4.
    for p in proof {
        // 4.a
        if sn == 0 {
            return Err(ProofError::ProofTooLong);
        }
        // 4.b
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                shift_while_even(&mut fn_, &mut sn);
            }
        } else {
            r = node_hash(&r, p);
        }
        // 4.c
        fn_ >>= 1;
        sn >>= 1;
    }
    // 5.
    if sn != 0 {
        return Err(ProofError::ProofTooShort);
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Verifies that the tree of `new_size` leaves with root `new_root` extends
/// the tree of `old_size` leaves with root `old_root` (RFC 9162 §2.1.4.2).
///
/// The RFC defines proofs for `0 < old_size < new_size`. The edge cases,
/// which a client meets on its first visit and when the log has not grown:
/// - `old_size > new_size` is refused (`SizesOutOfOrder`);
/// - `old_size == 0`: every tree extends the empty tree, so the proof must
///   be empty, and `old_root` must be the empty tree's root;
/// - `old_size == new_size`: the proof must be empty and the roots equal.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Digest,
    new_root: &Digest,
    proof: &[Digest],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::SizesOutOfOrder { old_size, new_size });
    }
    if old_size == 0 || old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::ProofTooLong);
        }
        if old_size == 0 && *old_root != empty_root() {
            return Err(ProofError::OldRootMismatch);
        }
        if old_size == new_size && old_root != new_root {
            return Err(ProofError::RootMismatch);
        }
        return Ok(());
    }
    // 1. An empty proof cannot prove 0 < old_size < new_size.
    let Some((first, rest)) = proof.split_first() else {
        return Err(ProofError::ProofTooShort);
    };
    // 2. When the old tree is a complete subtree, the proof omits its root
    //    (the verifier has it): put it back in front.
    let (start, rest) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        (first, rest)
    };
    // 3.
    let mut fn_ = old_size - 1;
    let mut sn = new_size - 1;
    // 4.
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // 5.
    let mut fr = *start;
    let mut sr = *start;
    // 6.
    for c in rest {
        // 6.a
        if sn == 0 {
            return Err(ProofError::ProofTooLong);
        }
        // 6.b
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                shift_while_even(&mut fn_, &mut sn);
            }
        } else {
            sr = node_hash(&sr, c);
        }
        // 6.c
        fn_ >>= 1;
        sn >>= 1;
    }
    // 7.
    if sn != 0 {
        return Err(ProofError::ProofTooShort);
    }
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if sr != *new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}
