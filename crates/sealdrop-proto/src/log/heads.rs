//! Program heads: every checkpoint commits to each program's newest
//! descriptor, so that a shopper can learn, from one short proof, which
//! version of its program's recipient list is current (`docs/PROTOCOL.md`
//! §14.13).
//!
//! ```text
//! head_leaf  = HEADS_LEAF label ‖ program_id[16] ‖ u64 version ‖ digest descriptor
//! heads_root = MTH(head_leaf(h) for each program h, by ascending program ID)   (RFC 9162)
//! heads line = "sealdrop-heads " base64(heads_root)    the checkpoint's extension line
//! ```
//!
//! A program's head is the last `descriptor` leaf logged for it below the
//! checkpoint's size: a pure function of the leaves, which auditors and
//! sealdrop's witnesses recompute and compare before they call a log
//! sound or cosign it. A shopper holding a proof of (program, version,
//! digest) under a heads root its witnesses cosigned therefore knows that
//! version was current at that size, without reading the log.
//!
//! The map is small (one leaf per program), so it is rebuilt rather than
//! kept as a sparse tree; the sort order makes the root one value per map.

use std::collections::BTreeMap;

use thiserror::Error;

use crate::codec::Encoder;
use crate::hash::Digest;
use crate::ids::ProgramId;
use crate::labels;

use super::entry::LogEntry;
use super::merkle::{self, MerkleTree, ProofError};

/// One program's newest descriptor at some size of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub program: ProgramId,
    pub version: u64,
    pub descriptor: Digest,
}

impl Head {
    /// The leaf data the heads tree hashes for this head.
    pub fn leaf_data(&self) -> Vec<u8> {
        let mut e = Encoder::with_label(labels::HEADS_LEAF);
        e.value(&self.program)
            .u64(self.version)
            .raw(&self.descriptor);
        e.finish()
    }
}

/// Why a head proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HeadsError {
    #[error("the head proof is for program {found}, not {expected}")]
    OtherProgram {
        expected: ProgramId,
        found: ProgramId,
    },
    #[error("the head proof does not lead to the checkpoint's heads root: {0}")]
    Proof(#[from] ProofError),
}

/// Every program's head at one size of the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeadsMap {
    heads: BTreeMap<ProgramId, (u64, Digest)>,
}

impl HeadsMap {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one leaf: a `descriptor` leaf makes its version the
    /// program's head; every other kind leaves the map as it is.
    pub fn apply(&mut self, entry: &LogEntry) {
        if let LogEntry::Descriptor {
            program,
            version,
            descriptor,
            ..
        } = entry
        {
            self.set(Head {
                program: *program,
                version: *version,
                descriptor: *descriptor,
            });
        }
    }

    /// Makes `head` its program's head.
    pub fn set(&mut self, head: Head) {
        self.heads
            .insert(head.program, (head.version, head.descriptor));
    }

    pub fn get(&self, program: &ProgramId) -> Option<Head> {
        self.heads.get(program).map(|(version, descriptor)| Head {
            program: *program,
            version: *version,
            descriptor: *descriptor,
        })
    }

    /// Every head, by ascending program ID.
    pub fn iter(&self) -> impl Iterator<Item = Head> + '_ {
        self.heads
            .iter()
            .map(|(program, (version, descriptor))| Head {
                program: *program,
                version: *version,
                descriptor: *descriptor,
            })
    }

    pub fn len(&self) -> usize {
        self.heads.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heads.is_empty()
    }

    fn tree(&self) -> MerkleTree {
        let mut tree = MerkleTree::new();
        for head in self.iter() {
            tree.push(merkle::leaf_hash(&head.leaf_data()));
        }
        tree
    }

    /// The heads root: what a checkpoint's `sealdrop-heads` line carries.
    pub fn root(&self) -> Digest {
        self.tree().root()
    }

    /// The proof of `program`'s head under [`HeadsMap::root`]; `None` when
    /// the program has no descriptor leaf yet.
    pub fn prove(&self, program: &ProgramId) -> Option<HeadProof> {
        let index = self.heads.keys().position(|p| p == program)?;
        let head = self.get(program)?;
        let count = self.heads.len() as u64;
        let path = self.tree().inclusion_proof(index as u64, count).ok()?;
        Some(HeadProof {
            head,
            index: index as u64,
            count,
            path,
        })
    }
}

/// A program's head and its RFC 9162 inclusion proof in the heads tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadProof {
    pub head: Head,
    /// The head's position among the programs, in ascending ID order.
    pub index: u64,
    /// How many programs the map holds.
    pub count: u64,
    pub path: Vec<Digest>,
}

impl HeadProof {
    /// The head of `program` under `heads_root` (a checkpoint's heads
    /// line the caller verified), or why not.
    pub fn verify(&self, program: &ProgramId, heads_root: &Digest) -> Result<Head, HeadsError> {
        if self.head.program != *program {
            return Err(HeadsError::OtherProgram {
                expected: *program,
                found: self.head.program,
            });
        }
        merkle::verify_inclusion(
            &merkle::leaf_hash(&self.head.leaf_data()),
            self.index,
            self.count,
            &self.path,
            heads_root,
        )?;
        Ok(self.head)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::log::merkle::empty_root;

    fn program(n: u8) -> ProgramId {
        ProgramId::from_bytes([n; 16])
    }

    fn descriptor(program: ProgramId, version: u64, d: u8) -> LogEntry {
        LogEntry::Descriptor {
            program,
            version,
            descriptor: [d; 32],
            at: 1,
        }
    }

    #[test]
    fn the_last_descriptor_leaf_is_the_head_and_every_head_proves() {
        let mut map = HeadsMap::new();
        assert_eq!(map.root(), empty_root());
        for (p, v) in [(3, 1), (1, 1), (2, 1), (1, 2), (3, 2)] {
            map.apply(&descriptor(program(p), v, p * 10 + v as u8));
        }
        map.apply(&LogEntry::Disabled {
            person: crate::ids::PersonId::from_bytes([9; 20]),
            at: 2,
        });
        assert_eq!(map.len(), 3);
        assert_eq!(map.get(&program(1)).unwrap().version, 2);
        let root = map.root();
        for p in 1..=3 {
            let proof = map.prove(&program(p)).unwrap();
            assert_eq!(
                proof.verify(&program(p), &root).unwrap().program,
                program(p)
            );
        }
        assert!(map.prove(&program(4)).is_none());
    }

    /// docs/PROTOCOL.md §14.13, computed with Python's hashlib:
    /// leaf(p, v, d) = sha256(b"\0" + b"sealdrop/v1/log/program-head\0" + p + v.to_bytes(8, "big") + d),
    /// node(l, r) = sha256(b"\1" + l + r).
    #[test]
    fn the_known_answer() {
        let mut map = HeadsMap::new();
        map.apply(&descriptor(program(3), 2, 0xcc));
        map.apply(&descriptor(program(1), 1, 0xaa));
        map.apply(&descriptor(program(2), 3, 0xbb));
        let hex = |d: &Digest| data_encoding::HEXLOWER.encode(d);
        assert_eq!(
            hex(&map.root()),
            "89c8a0922dc5742508309f0ff8b87b1c2d4ed556d9813889f54a50c24c67abd2"
        );
        let proof = map.prove(&program(3)).unwrap();
        assert_eq!((proof.index, proof.count), (2, 3));
        assert_eq!(
            proof.path.iter().map(hex).collect::<Vec<_>>(),
            ["50dc83a2127a90bd6f5b2a9be0b4034b899caaccc2b31dc819647acc375173bf"]
        );
    }

    #[test]
    fn an_old_head_another_program_or_a_flipped_byte_is_refused() {
        let mut map = HeadsMap::new();
        map.apply(&descriptor(program(1), 1, 1));
        map.apply(&descriptor(program(2), 1, 2));
        let old = map.prove(&program(1)).unwrap();
        map.apply(&descriptor(program(1), 2, 3));
        let root = map.root();
        // The version the log replaced does not prove under the new root.
        assert!(matches!(
            old.verify(&program(1), &root),
            Err(HeadsError::Proof(_))
        ));
        let proof = map.prove(&program(1)).unwrap();
        assert!(matches!(
            proof.verify(&program(2), &root),
            Err(HeadsError::OtherProgram { .. })
        ));
        let mut forged = proof.clone();
        forged.head.version = 1;
        assert!(forged.verify(&program(1), &root).is_err());
        let mut flipped = proof.clone();
        flipped.path[0][0] ^= 1;
        assert!(flipped.verify(&program(1), &root).is_err());
        let mut moved = proof;
        moved.index = 1;
        assert!(moved.verify(&program(1), &root).is_err());
    }
}
