//! The log's wire types: proofs, checkpoints and leaves.
//!
//! A checkpoint travels as the text of its C2SP signed note; a proof's
//! hashes as [`B64`]. Clients check everything against the log key and
//! origin they pinned, never against what the server says they are.

use serde::{Deserialize, Serialize};

use crate::B64;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// The most leaves `GET /v1/log/leaves` returns at once.
pub const MAX_LEAVES_PER_PAGE: u64 = 1000;

/// A leaf's place in the log and the proof that a signed checkpoint
/// includes it: what a receipt and a release carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LogProof {
    pub leaf_index: u64,
    pub tree_size: u64,
    /// The RFC 9162 audit path, leaf to root.
    pub path: Vec<B64>,
    /// The checkpoint of `tree_size` leaves, as a signed note.
    pub checkpoint: String,
}

/// `GET /v1/log/inclusion` parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct InclusionQuery {
    pub index: u64,
    pub size: u64,
}

/// `GET /v1/log/consistency` parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct ConsistencyQuery {
    pub from: u64,
    pub to: u64,
}

/// `GET /v1/log/handover/consistency` parameters: a consistency proof from
/// `from` to `to` leaves in the log that handover `hop` (1 = the first
/// note of the chain) handed over from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct OldLogConsistencyQuery {
    pub hop: u32,
    pub from: u64,
    pub to: u64,
}

/// `GET /v1/log/leaves` parameters: leaves `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct LeavesQuery {
    pub start: u64,
    pub end: u64,
}

/// An RFC 9162 proof: inclusion or consistency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ProofBody {
    pub path: Vec<B64>,
}

/// `GET /v1/programs/{program}/head` parameters: the size of the
/// checkpoint whose heads line the proof is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct HeadQuery {
    pub size: u64,
}

/// A program's head (its newest descriptor among the checkpoint's leaves)
/// and its inclusion proof in the heads tree the checkpoint's
/// `sealdrop-heads` line commits to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct HeadBody {
    pub version: u64,
    /// The descriptor's hash (`descriptor::hash_of`).
    pub descriptor: B64,
    /// The head's position among the programs, by ascending program ID.
    pub index: u64,
    /// How many programs have a head.
    pub count: u64,
    pub path: Vec<B64>,
}

/// `GET /v1/programs/{program}/current` parameters: the size of the
/// checkpoint the caller kept (for the consistency proof), and the
/// descriptor version it holds (versions after it are listed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct CurrentQuery {
    #[serde(default)]
    pub kept: Option<u64>,
    pub after: u64,
}

/// Everything a shopper checks before sealing or sending, in one answer:
/// the latest checkpoint, its consistency proof from the kept size (empty
/// when none was given, or when the kept size is beyond it), the program's
/// head in it, the server's current version number, and the versions after
/// `after` up to that one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CurrentBody {
    pub checkpoint: String,
    pub consistency: Vec<B64>,
    pub head: HeadBody,
    pub current: u64,
    pub versions: Vec<B64>,
}

/// `POST /v1/log/cosignatures`: a checkpoint note the server signed, with
/// the caller's cosignature line added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CosignatureBody {
    pub note: String,
}

/// `GET /v1/log/checkpoint/cosigned`: each witness's newest cosigned
/// checkpoint, as a note with that witness's line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CosignedBody {
    pub notes: Vec<String>,
}

/// The most witnesses `GET /v1/log/checkpoint/cosigned` lists.
pub const MAX_COSIGNED_NOTES: u32 = 64;

/// Leaves from `start` on, as stored (label ‖ canonical entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LeavesBody {
    pub start: u64,
    pub leaves: Vec<B64>,
}
