//! The log's Merkle tree (`log::merkle`) against a naive reference written
//! from RFC 9162's recursive definitions, against published known answers,
//! and against tampered proofs.

// Tests may panic: a failed expectation should stop the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use data_encoding::HEXLOWER;
use proptest::prelude::*;
use sealdrop_proto::codec::{Decode, DecodeError, Encode, Encoder};
use sealdrop_proto::log::merkle::{
    CompactRange, Digest, MerkleTree, ProofError, empty_root, leaf_hash, node_hash,
    verify_consistency, verify_inclusion,
};

/// RFC 9162 §2.1, written as the RFC writes it: recursion over slices of
/// leaf data, no cleverness. Slow, and obviously right.
mod reference {
    use super::*;

    /// The largest power of two strictly less than `n` (n ≥ 2).
    fn k(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    /// §2.1.1: MTH(D[n]).
    pub fn mth(d: &[Vec<u8>]) -> Digest {
        match d.len() {
            0 => empty_root(),
            1 => leaf_hash(&d[0]),
            n => {
                let k = k(n);
                node_hash(&mth(&d[..k]), &mth(&d[k..]))
            }
        }
    }

    /// §2.1.3.1: PATH(m, D[n]).
    pub fn path(m: usize, d: &[Vec<u8>]) -> Vec<Digest> {
        let n = d.len();
        if n == 1 {
            return vec![];
        }
        let k = k(n);
        if m < k {
            let mut p = path(m, &d[..k]);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = path(m - k, &d[k..]);
            p.push(mth(&d[..k]));
            p
        }
    }

    /// §2.1.4.1: PROOF(m, D[n]) = SUBPROOF(m, D[n], true), 0 < m < n.
    pub fn proof(m: usize, d: &[Vec<u8>]) -> Vec<Digest> {
        subproof(m, d, true)
    }

    fn subproof(m: usize, d: &[Vec<u8>], b: bool) -> Vec<Digest> {
        let n = d.len();
        if m == n {
            return if b { vec![] } else { vec![mth(d)] };
        }
        let k = k(n);
        if m <= k {
            let mut p = subproof(m, &d[..k], b);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = subproof(m - k, &d[k..], false);
            p.push(mth(&d[..k]));
            p
        }
    }
}

/// Distinct leaf data for leaf `i`.
fn data(i: usize) -> Vec<u8> {
    format!("leaf {i}").into_bytes()
}

fn tree_of(leaves: &[Vec<u8>]) -> MerkleTree {
    let mut tree = MerkleTree::new();
    for leaf in leaves {
        tree.push(leaf_hash(leaf));
    }
    tree
}

fn h(hex: &str) -> Digest {
    HEXLOWER.decode(hex.as_bytes()).unwrap().try_into().unwrap()
}

// (a) the efficient tree against the reference, exhaustively.

#[test]
fn roots_and_every_proof_match_the_rfc_definitions_up_to_70_leaves() {
    let leaves: Vec<Vec<u8>> = (0..70).map(data).collect();
    let tree = tree_of(&leaves);
    assert_eq!(tree.len(), 70);
    assert_eq!(tree.root_at(0).unwrap(), empty_root());
    for n in 1..=70usize {
        let d = &leaves[..n];
        let root = reference::mth(d);
        assert_eq!(tree.root_at(n as u64).unwrap(), root, "root at {n}");
        for m in 0..n {
            let proof = tree.inclusion_proof(m as u64, n as u64).unwrap();
            assert_eq!(proof, reference::path(m, d), "PATH({m}, {n})");
            verify_inclusion(&leaf_hash(&d[m]), m as u64, n as u64, &proof, &root)
                .unwrap_or_else(|e| panic!("inclusion {m} in {n}: {e}"));
        }
        for m in 1..n {
            let proof = tree.consistency_proof(m as u64, n as u64).unwrap();
            assert_eq!(proof, reference::proof(m, d), "PROOF({m}, {n})");
            let old_root = reference::mth(&leaves[..m]);
            verify_consistency(m as u64, n as u64, &old_root, &root, &proof)
                .unwrap_or_else(|e| panic!("consistency {m} to {n}: {e}"));
        }
        // The trivial cases: from the empty tree, and to the same size.
        assert!(tree.consistency_proof(0, n as u64).unwrap().is_empty());
        assert!(
            tree.consistency_proof(n as u64, n as u64)
                .unwrap()
                .is_empty()
        );
        verify_consistency(0, n as u64, &empty_root(), &root, &[]).unwrap();
        verify_consistency(n as u64, n as u64, &root, &root, &[]).unwrap();
    }
}

#[test]
fn leaves_are_kept_and_out_of_range_arguments_are_errors() {
    let leaves: Vec<Vec<u8>> = (0..5).map(data).collect();
    let tree = tree_of(&leaves);
    assert_eq!(tree.leaf(4), Some(leaf_hash(&leaves[4])));
    assert_eq!(tree.leaf(5), None);
    assert_eq!(
        tree.root_at(6),
        Err(ProofError::SizeOutOfRange { size: 6, len: 5 })
    );
    assert_eq!(
        tree.inclusion_proof(5, 5),
        Err(ProofError::IndexOutOfRange { index: 5, size: 5 })
    );
    assert_eq!(
        tree.inclusion_proof(0, 6),
        Err(ProofError::SizeOutOfRange { size: 6, len: 5 })
    );
    assert_eq!(
        tree.inclusion_proof(0, 0),
        Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
    );
    assert_eq!(
        tree.consistency_proof(3, 2),
        Err(ProofError::SizesOutOfOrder {
            old_size: 3,
            new_size: 2
        })
    );
    assert_eq!(
        tree.consistency_proof(1, 6),
        Err(ProofError::SizeOutOfRange { size: 6, len: 5 })
    );
    assert_eq!(
        tree.inclusion_proof(u64::MAX, u64::MAX),
        Err(ProofError::SizeOutOfRange {
            size: u64::MAX,
            len: 5
        })
    );
    let empty = MerkleTree::new();
    assert_eq!(empty.root(), empty_root());
    assert!(empty.is_empty());
}

#[test]
fn truncate_rolls_back_to_exactly_the_earlier_tree() {
    let leaves: Vec<Vec<u8>> = (0..40).map(data).collect();
    for keep in 0..=40usize {
        let mut tree = tree_of(&leaves);
        tree.truncate(keep as u64);
        assert_eq!(tree, tree_of(&leaves[..keep]), "truncate to {keep}");
        // And it grows again as if the rolled-back leaves never were.
        tree.push(leaf_hash(b"other"));
        let mut expected = leaves[..keep].to_vec();
        expected.push(b"other".to_vec());
        assert_eq!(tree.root(), reference::mth(&expected));
    }
    let mut tree = tree_of(&leaves);
    tree.truncate(100);
    assert_eq!(tree.len(), 40);
}

// (b) published known answers.

/// The 8-leaf test tree of Certificate Transparency and transparency-dev:
/// leaf inputs, node hashes, roots and compact ranges from
/// transparency-dev/merkle `testonly/constants.go`; the proofs from
/// transparency-dev/merkle `proof/verify_test.go` (`inclusionProofs`, whose
/// leaf numbers are 1-based, and `consistencyProofs`).
mod ct_tree {
    use super::*;

    pub const LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];

    /// Roots for sizes 0..=8 (`RootHashes()`).
    pub const ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    /// `NodeHashes()`: level, then index within the level.
    pub const NODES: [&[&str]; 4] = [
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
            "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
        ],
        &[
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        ],
        &[
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
        &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
    ];

    /// `CompactTrees()`: (level, index) of each compact range hash, sizes 0..=8.
    pub const COMPACT: [&[(usize, usize)]; 9] = [
        &[],
        &[(0, 0)],
        &[(1, 0)],
        &[(1, 0), (0, 2)],
        &[(2, 0)],
        &[(2, 0), (0, 4)],
        &[(2, 0), (1, 2)],
        &[(2, 0), (1, 2), (0, 6)],
        &[(3, 0)],
    ];

    /// (0-based leaf index, tree size, proof).
    pub const INCLUSION: [(u64, u64, &[&str]); 5] = [
        (0, 1, &[]),
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];

    /// (old size, new size, proof).
    pub const CONSISTENCY: [(u64, u64, &[&str]); 5] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (
            6,
            7,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];

    pub fn tree() -> MerkleTree {
        let mut tree = MerkleTree::new();
        for leaf in LEAVES {
            tree.push(leaf_hash(&HEXLOWER.decode(leaf.as_bytes()).unwrap()));
        }
        tree
    }

    pub fn hashes(hex: &[&str]) -> Vec<Digest> {
        hex.iter().map(|x| h(x)).collect()
    }
}

#[test]
fn ct_test_tree_roots_and_node_hashes() {
    let tree = ct_tree::tree();
    for (size, root) in ct_tree::ROOTS.iter().enumerate() {
        assert_eq!(tree.root_at(size as u64).unwrap(), h(root), "root {size}");
    }
    // Every leaf hash, and every interior node from its two children.
    for (i, leaf) in ct_tree::NODES[0].iter().enumerate() {
        assert_eq!(tree.leaf(i as u64).unwrap(), h(leaf));
    }
    for level in 1..ct_tree::NODES.len() {
        for (i, node) in ct_tree::NODES[level].iter().enumerate() {
            let below = ct_tree::NODES[level - 1];
            assert_eq!(
                node_hash(&h(below[2 * i]), &h(below[2 * i + 1])),
                h(node),
                "node {level}/{i}"
            );
        }
    }
}

#[test]
fn ct_test_tree_compact_ranges() {
    let tree = ct_tree::tree();
    let mut pushed = CompactRange::new();
    for (size, expected) in ct_tree::COMPACT.iter().enumerate() {
        let expected: Vec<Digest> = expected
            .iter()
            .map(|(level, i)| h(ct_tree::NODES[*level][*i]))
            .collect();
        assert_eq!(pushed.hashes(), &expected[..], "pushed, size {size}");
        assert_eq!(tree.compact_range(size as u64).unwrap(), pushed);
        assert_eq!(pushed.root(), h(ct_tree::ROOTS[size]));
        if let Some(leaf) = tree.leaf(size as u64) {
            pushed.push(leaf);
        }
    }
}

#[test]
fn ct_test_tree_inclusion_proofs() {
    let tree = ct_tree::tree();
    for (index, size, proof) in ct_tree::INCLUSION {
        let proof = ct_tree::hashes(proof);
        assert_eq!(tree.inclusion_proof(index, size).unwrap(), proof);
        let root = h(ct_tree::ROOTS[size as usize]);
        verify_inclusion(&tree.leaf(index).unwrap(), index, size, &proof, &root).unwrap();
    }
}

#[test]
fn ct_test_tree_consistency_proofs() {
    let tree = ct_tree::tree();
    for (old, new, proof) in ct_tree::CONSISTENCY {
        let proof = ct_tree::hashes(proof);
        assert_eq!(tree.consistency_proof(old, new).unwrap(), proof);
        let old_root = h(ct_tree::ROOTS[old as usize]);
        let new_root = h(ct_tree::ROOTS[new as usize]);
        verify_consistency(old, new, &old_root, &new_root, &proof).unwrap();
    }
}

// (c) tampered proofs.

const SOME_HASH: &str = "abacaba000000000000000000000000000000000000000000060061e00123456";

/// Every corruption transparency-dev's `corruptInclusionProof` makes, and a
/// few more; each must be refused.
fn assert_inclusion_tampering_refused(
    leaf: &Digest,
    index: u64,
    size: u64,
    proof: &[Digest],
    root: &Digest,
) {
    let refused =
        |leaf: &Digest, index: u64, size: u64, proof: &[Digest], root: &Digest, what: &str| {
            assert!(
                verify_inclusion(leaf, index, size, proof, root).is_err(),
                "{what} accepted for leaf {index} of {size}"
            );
        };
    refused(leaf, index.wrapping_sub(1), size, proof, root, "index - 1");
    refused(leaf, index + 1, size, proof, root, "index + 1");
    refused(leaf, index ^ 2, size, proof, root, "index ^ 2");
    refused(leaf, index, size * 2, proof, root, "size * 2");
    refused(leaf, index, size / 2, proof, root, "size / 2");
    refused(
        &leaf_hash(b"WrongLeaf"),
        index,
        size,
        proof,
        root,
        "wrong leaf",
    );
    refused(leaf, index, size, proof, &empty_root(), "empty root");
    refused(leaf, index, size, proof, &h(SOME_HASH), "other root");
    let mut longer = proof.to_vec();
    longer.push(*root);
    refused(leaf, index, size, &longer, root, "extra node at the end");
    let mut longer = vec![*root];
    longer.extend_from_slice(proof);
    refused(leaf, index, size, &longer, root, "extra node in front");
    for i in 0..proof.len() {
        for bit in [0, 3, 7] {
            let mut flipped = proof.to_vec();
            flipped[i][31 - bit] ^= 1 << bit;
            refused(leaf, index, size, &flipped, root, "flipped node byte");
        }
    }
    if let Some((_, shorter)) = proof.split_last() {
        refused(leaf, index, size, shorter, root, "truncated proof");
    }
    if proof.len() > 1 {
        let mut inserted = vec![proof[0], h(SOME_HASH)];
        inserted.extend_from_slice(&proof[1..]);
        refused(leaf, index, size, &inserted, root, "inserted node");
        let mut swapped = proof.to_vec();
        swapped.swap(0, 1);
        refused(leaf, index, size, &swapped, root, "swapped nodes");
    }
}

/// Every corruption of transparency-dev's `corruptConsistencyProof`.
fn assert_consistency_tampering_refused(
    old: u64,
    new: u64,
    old_root: &Digest,
    new_root: &Digest,
    proof: &[Digest],
) {
    let refused = |old: u64, new: u64, r1: &Digest, r2: &Digest, proof: &[Digest], what: &str| {
        assert!(
            verify_consistency(old, new, r1, r2, proof).is_err(),
            "{what} accepted for {old} to {new}"
        );
    };
    refused(old - 1, new, old_root, new_root, proof, "old - 1");
    refused(old + 1, new, old_root, new_root, proof, "old + 1");
    refused(old ^ 2, new, old_root, new_root, proof, "old ^ 2");
    refused(old, new * 2, old_root, new_root, proof, "new * 2");
    refused(old, new / 2, old_root, new_root, proof, "new / 2");
    refused(old, new, &h(SOME_HASH), new_root, proof, "wrong old root");
    refused(old, new, old_root, &h(SOME_HASH), proof, "wrong new root");
    refused(old, new, new_root, old_root, proof, "swapped roots");
    refused(old, new, old_root, new_root, &[], "empty proof");
    for extra in [*old_root, *new_root, proof[0], empty_root()] {
        let mut longer = proof.to_vec();
        longer.push(extra);
        refused(
            old,
            new,
            old_root,
            new_root,
            &longer,
            "extra node at the end",
        );
        let mut longer = vec![extra];
        longer.extend_from_slice(proof);
        refused(old, new, old_root, new_root, &longer, "extra node in front");
    }
    refused(
        old,
        new,
        old_root,
        new_root,
        &proof[..proof.len() - 1],
        "truncated proof",
    );
    for i in 0..proof.len() {
        let mut flipped = proof.to_vec();
        flipped[i][0] ^= 16;
        refused(old, new, old_root, new_root, &flipped, "flipped node byte");
    }
}

#[test]
fn tampered_proofs_are_refused_for_every_leaf_and_size_up_to_40() {
    let leaves: Vec<Vec<u8>> = (0..40).map(data).collect();
    let tree = tree_of(&leaves);
    for n in 1..=40u64 {
        let root = tree.root_at(n).unwrap();
        for m in 0..n {
            let proof = tree.inclusion_proof(m, n).unwrap();
            assert_inclusion_tampering_refused(&tree.leaf(m).unwrap(), m, n, &proof, &root);
        }
        for m in 1..n {
            let proof = tree.consistency_proof(m, n).unwrap();
            assert_consistency_tampering_refused(m, n, &tree.root_at(m).unwrap(), &root, &proof);
        }
    }
}

#[test]
fn ct_test_tree_tampered_proofs_are_refused() {
    let tree = ct_tree::tree();
    for (index, size, proof) in ct_tree::INCLUSION {
        let root = h(ct_tree::ROOTS[size as usize]);
        let leaf = tree.leaf(index).unwrap();
        assert_inclusion_tampering_refused(&leaf, index, size, &ct_tree::hashes(proof), &root);
    }
    for (old, new, proof) in ct_tree::CONSISTENCY.into_iter().filter(|(o, n, _)| o != n) {
        let proof = ct_tree::hashes(proof);
        let (r1, r2) = (
            h(ct_tree::ROOTS[old as usize]),
            h(ct_tree::ROOTS[new as usize]),
        );
        assert_consistency_tampering_refused(old, new, &r1, &r2, &proof);
    }
}

/// transparency-dev/merkle `proof/verify_test.go` `TestVerifyConsistency`
/// edge cases, with sealdrop's one difference: an old tree of size 0 must
/// have the empty root.
#[test]
fn consistency_edge_cases() {
    let (r1, r2) = (h(SOME_HASH), leaf_hash(b"don't care 2"));
    let empty = empty_root();
    let one = [empty];
    type Case<'a> = (
        u64,
        u64,
        &'a Digest,
        &'a Digest,
        &'a [Digest],
        Result<(), ProofError>,
    );
    let cases: [Case; 12] = [
        (0, 0, &empty, &r2, &[], Err(ProofError::RootMismatch)),
        (1, 1, &r1, &r2, &[], Err(ProofError::RootMismatch)),
        (0, 0, &empty, &empty, &[], Ok(())),
        (0, 1, &empty, &r2, &[], Ok(())),
        (0, 1, &r1, &r2, &[], Err(ProofError::OldRootMismatch)),
        (1, 1, &r2, &r2, &[], Ok(())),
        (
            1,
            0,
            &r1,
            &r2,
            &[],
            Err(ProofError::SizesOutOfOrder {
                old_size: 1,
                new_size: 0,
            }),
        ),
        (
            2,
            1,
            &r1,
            &r2,
            &[],
            Err(ProofError::SizesOutOfOrder {
                old_size: 2,
                new_size: 1,
            }),
        ),
        (1, 2, &r1, &r2, &[], Err(ProofError::ProofTooShort)),
        (0, 0, &empty, &empty, &one, Err(ProofError::ProofTooLong)),
        (0, 1, &empty, &empty, &one, Err(ProofError::ProofTooLong)),
        (1, 1, &empty, &empty, &one, Err(ProofError::ProofTooLong)),
    ];
    for (old, new, r1, r2, proof, expected) in cases {
        assert_eq!(
            verify_consistency(old, new, r1, r2, proof),
            expected,
            "{old} to {new}"
        );
    }
}

/// transparency-dev/merkle `TestVerifyInclusion` and
/// `TestVerifyInclusionSingleEntry`.
#[test]
fn inclusion_edge_cases() {
    let some = h(SOME_HASH);
    for (index, size) in [(0, 0), (1, 0), (2, 1)] {
        assert_eq!(
            verify_inclusion(&some, index, size, &[], &empty_root()),
            Err(ProofError::IndexOutOfRange { index, size })
        );
    }
    let hash = leaf_hash(b"data");
    verify_inclusion(&hash, 0, 1, &[], &hash).unwrap();
    assert_eq!(
        verify_inclusion(&hash, 0, 1, &[], &empty_root()),
        Err(ProofError::RootMismatch)
    );
    assert_eq!(
        verify_inclusion(&hash, 0, 1, &[hash], &hash),
        Err(ProofError::ProofTooLong)
    );
    // A hostile proof of any length costs at most 64 steps.
    let long = vec![hash; 100_000];
    assert_eq!(
        verify_inclusion(&hash, 0, u64::MAX, &long, &hash),
        Err(ProofError::ProofTooLong)
    );
    assert_eq!(
        verify_consistency(1, u64::MAX, &hash, &hash, &long),
        Err(ProofError::ProofTooLong)
    );
}

// (d) compact ranges.

#[test]
fn compact_range_roots_match_the_tree_up_to_70_leaves() {
    let leaves: Vec<Vec<u8>> = (0..70).map(data).collect();
    let tree = tree_of(&leaves);
    let mut range = CompactRange::new();
    for size in 0..=70u64 {
        assert_eq!(range.size(), size);
        assert_eq!(range.hashes().len(), size.count_ones() as usize);
        assert_eq!(range.root(), tree.root_at(size).unwrap(), "size {size}");
        assert_eq!(range, tree.compact_range(size).unwrap());
        let bytes = range.to_bytes();
        assert_eq!(bytes.len(), 2 + 8 + 4 + 32 * size.count_ones() as usize);
        assert_eq!(CompactRange::from_bytes(&bytes).unwrap(), range);
        if let Some(leaf) = tree.leaf(size) {
            range.push(leaf);
        }
    }
}

#[test]
fn compact_range_encoding_is_exact_and_strict() {
    let tree = tree_of(&(0..5).map(data).collect::<Vec<_>>());
    let range = tree.compact_range(5).unwrap();
    let bytes = range.to_bytes();
    // u16 format ‖ u64 size ‖ u32 count ‖ hashes.
    assert_eq!(&bytes[..14], &[0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 2]);
    assert_eq!(&bytes[14..46], &tree.root_at(4).unwrap());
    assert_eq!(&bytes[46..], &tree.leaf(4).unwrap());

    let encode = |format: u16, size: u64, hashes: &[Digest]| {
        let mut e = Encoder::new();
        e.u16(format).u64(size).list(hashes, |e, h| {
            e.raw(h);
        });
        e.finish()
    };
    let hashes = range.hashes();
    let invalid = |bytes: &[u8]| {
        matches!(
            CompactRange::from_bytes(bytes),
            Err(DecodeError::Invalid { .. })
        )
    };
    // One hash too many, one too few, none.
    let mut three = hashes.to_vec();
    three.push(empty_root());
    assert!(invalid(&encode(1, 5, &three)));
    assert!(invalid(&encode(1, 5, &hashes[..1])));
    assert!(invalid(&encode(1, 5, &[])));
    assert!(invalid(&encode(1, 0, &hashes[..1])));
    // Trailing bytes, a wrong format, a size that could overflow.
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(
        CompactRange::from_bytes(&trailing),
        Err(DecodeError::TrailingBytes { count: 1 })
    );
    assert!(matches!(
        CompactRange::from_bytes(&encode(2, 5, hashes)),
        Err(DecodeError::UnsupportedVersion { found: 2, .. })
    ));
    assert!(invalid(&encode(1, u64::MAX, &[empty_root(); 64])));
    assert!(matches!(
        CompactRange::from_bytes(&encode(1, 5, &[empty_root(); 65])),
        Err(DecodeError::TooLong { .. })
    ));
    assert!(CompactRange::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    // The empty range.
    assert_eq!(
        CompactRange::from_bytes(&encode(1, 0, &[])).unwrap(),
        CompactRange::new()
    );
}

#[test]
fn an_auditor_extends_a_stored_compact_range_with_the_new_leaves_only() {
    let leaves: Vec<Vec<u8>> = (0..1000).map(data).collect();
    let tree = tree_of(&leaves);
    let stored = tree.compact_range(377).unwrap().to_bytes();
    let mut range = CompactRange::from_bytes(&stored).unwrap();
    for leaf in &leaves[377..1000] {
        range.push(leaf_hash(leaf));
    }
    assert_eq!(range.root(), tree.root());
}

// (e) random appends, rollbacks and past sizes against the reference.

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_appends_and_rollbacks_agree_with_the_reference(
        steps in prop::collection::vec((1usize..40, 0usize..10), 1..8),
        picks in prop::collection::vec(any::<u64>(), 8),
    ) {
        let mut tree = MerkleTree::new();
        let mut range = CompactRange::new();
        let mut leaves: Vec<Vec<u8>> = Vec::new();
        let mut counter = 0usize;
        for (append, rollback) in steps {
            for _ in 0..append {
                let leaf = data(counter);
                counter += 1;
                tree.push(leaf_hash(&leaf));
                range.push(leaf_hash(&leaf));
                leaves.push(leaf);
            }
            let keep = leaves.len().saturating_sub(rollback);
            tree.truncate(keep as u64);
            leaves.truncate(keep);
            range = tree.compact_range(keep as u64).unwrap();
            prop_assert_eq!(tree.root(), reference::mth(&leaves));
            prop_assert_eq!(range.root(), tree.root());
        }
        let n = leaves.len() as u64;
        prop_assume!(n > 0);
        // Past sizes: a proof for any (index, size) and any (old, new).
        let size = 1 + picks[0] % n;
        let index = picks[1] % size;
        let root = tree.root_at(size).unwrap();
        prop_assert_eq!(root, reference::mth(&leaves[..size as usize]));
        let proof = tree.inclusion_proof(index, size).unwrap();
        prop_assert_eq!(&proof, &reference::path(index as usize, &leaves[..size as usize]));
        prop_assert!(verify_inclusion(&leaf_hash(&leaves[index as usize]), index, size, &proof, &root).is_ok());
        let old = picks[2] % (size + 1);
        let proof = tree.consistency_proof(old, size).unwrap();
        let old_root = tree.root_at(old).unwrap();
        prop_assert!(verify_consistency(old, size, &old_root, &root, &proof).is_ok());
        if old > 0 && old < size {
            prop_assert_eq!(&proof, &reference::proof(old as usize, &leaves[..size as usize]));
        }
    }
}

// Scale: a million leaves.

#[test]
fn a_million_leaves_answer_proofs_for_past_sizes() {
    const N: u64 = 1_000_000;
    let start = std::time::Instant::now();
    let mut tree = MerkleTree::new();
    let mut range = CompactRange::new();
    for i in 0..N {
        let leaf = leaf_hash(&i.to_be_bytes());
        tree.push(leaf);
        range.push(leaf);
    }
    assert_eq!(range.root(), tree.root());
    for size in [1, 2, 3, 65_537, 999_999, N] {
        let root = tree.root_at(size).unwrap();
        assert_eq!(tree.compact_range(size).unwrap().root(), root);
        for index in [0, size / 3, size - 1] {
            let proof = tree.inclusion_proof(index, size).unwrap();
            verify_inclusion(&tree.leaf(index).unwrap(), index, size, &proof, &root).unwrap();
        }
        for old in [1, size / 2, size - 1] {
            let proof = tree.consistency_proof(old, size).unwrap();
            verify_consistency(old, size, &tree.root_at(old).unwrap(), &root, &proof).unwrap();
        }
    }
    // Generous even for an unoptimised build on a slow machine; the point
    // is that nothing here is quadratic.
    assert!(start.elapsed().as_secs() < 60, "took {:?}", start.elapsed());
}
