//! Checking what the server says about its log, against the log key and
//! origin a client pinned. The only checks this crate makes: every caller
//! of a log proof needs the same ones, in the same order.

use sealdrop_api::log::{HeadBody, LogProof};
use sealdrop_proto::ids::ProgramId;
use sealdrop_proto::log::InclusionProof;
use sealdrop_proto::log::checkpoint::{Checkpoint, SignedCheckpoint};
use sealdrop_proto::log::entry::LogEntry;
use sealdrop_proto::log::heads::{Head, HeadProof};
use sealdrop_proto::log::merkle::verify_consistency;
use thiserror::Error;

use sealdrop_api::B64;

/// Why the server's word about its log is refused.
#[derive(Debug, Error)]
pub enum LogCheckError {
    #[error("the log checkpoint is not signed by the log key you pinned: {0}")]
    Checkpoint(#[from] sealdrop_proto::log::checkpoint::CheckpointError),
    #[error("the checkpoint is for {checkpoint} leaves but the proof for {proof}")]
    SizeMismatch { checkpoint: u64, proof: u64 },
    #[error("the log does not prove that it holds this {kind} leaf: {why}")]
    NotIncluded {
        kind: &'static str,
        why: sealdrop_proto::log::merkle::ProofError,
    },
    #[error(
        "the log's checkpoint of {new} leaves does not extend the one of {old} you saw: the server rewrote or forked its history"
    )]
    Inconsistent { old: u64, new: u64 },
    #[error("the log shrank from {old} to {new} leaves: the server rolled its history back")]
    RolledBack { old: u64, new: u64 },
    #[error("the server's proof is malformed: {0}")]
    Malformed(String),
    #[error(
        "the log's checkpoint does not commit to the programs' current descriptors (no sealdrop-heads line)"
    )]
    NoHeads,
    #[error("the log does not prove which descriptor of the program is current: {0}")]
    Head(#[from] sealdrop_proto::log::heads::HeadsError),
}

/// A verified checkpoint note.
pub fn checkpoint(
    note: &[u8],
    origin: &str,
    log_key: &[u8; 32],
) -> Result<Checkpoint, LogCheckError> {
    Ok(SignedCheckpoint::parse_and_verify(note, origin, log_key)?.into_checkpoint())
}

/// Checks that `proof` shows `expected` in a checkpoint signed under the
/// pinned key; returns that checkpoint.
pub fn included(
    proof: &LogProof,
    expected: &LogEntry,
    origin: &str,
    log_key: &[u8; 32],
) -> Result<Checkpoint, LogCheckError> {
    let checkpoint = checkpoint(proof.checkpoint.as_bytes(), origin, log_key)?;
    if checkpoint.size() != proof.tree_size {
        return Err(LogCheckError::SizeMismatch {
            checkpoint: checkpoint.size(),
            proof: proof.tree_size,
        });
    }
    let path = digests(&proof.path)?;
    InclusionProof {
        leaf_index: proof.leaf_index,
        tree_size: proof.tree_size,
        path,
    }
    .verify(expected, &checkpoint)
    .map_err(|why| LogCheckError::NotIncluded {
        kind: expected.kind_name(),
        why,
    })?;
    Ok(checkpoint)
}

/// Checks that `new` extends `old` by the consistency proof `path`.
pub fn extends(old: &Checkpoint, new: &Checkpoint, path: &[[u8; 32]]) -> Result<(), LogCheckError> {
    if new.size() < old.size() {
        return Err(LogCheckError::RolledBack {
            old: old.size(),
            new: new.size(),
        });
    }
    verify_consistency(old.size(), new.size(), old.root(), new.root(), path).map_err(|_| {
        LogCheckError::Inconsistent {
            old: old.size(),
            new: new.size(),
        }
    })
}

/// `program`'s head (its current descriptor version and hash) under the
/// heads line of `checkpoint`, a checkpoint the caller verified, by the
/// server's proof `body`.
pub fn head(
    checkpoint: &Checkpoint,
    program: &ProgramId,
    body: &HeadBody,
) -> Result<Head, LogCheckError> {
    let root = checkpoint.heads().map_err(|_| LogCheckError::NoHeads)?;
    let descriptor: [u8; 32] = body
        .descriptor
        .0
        .as_slice()
        .try_into()
        .map_err(|_| LogCheckError::Malformed("a descriptor hash is not 32 bytes".into()))?;
    let proof = HeadProof {
        head: Head {
            program: *program,
            version: body.version,
            descriptor,
        },
        index: body.index,
        count: body.count,
        path: digests(&body.path)?,
    };
    Ok(proof.verify(program, root)?)
}

/// The hashes of a proof path, each exactly 32 bytes.
pub fn digests(path: &[B64]) -> Result<Vec<[u8; 32]>, LogCheckError> {
    path.iter()
        .map(|h| {
            h.0.as_slice()
                .try_into()
                .map_err(|_| LogCheckError::Malformed("a proof hash is not 32 bytes".into()))
        })
        .collect()
}
