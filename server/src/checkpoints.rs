//! The one place this server signs checkpoints, and the proofs it hands
//! out with them.
//!
//! Every checkpoint is of the in-memory tree the store extends only by
//! appending the leaves it reads back committed, so any two checkpoints
//! this process signs are consistent: one tree, two of its sizes. The
//! latest signed note is kept and reused until a request needs a leaf it
//! does not cover; under load, one signature covers a whole group commit.

use std::sync::{Arc, Mutex};

use sealdrop_api::B64;
use sealdrop_api::log::LogProof;
use sealdrop_proto::log::checkpoint::{Checkpoint, SignedCheckpoint};
use sealdrop_store::TreeHead;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The latest checkpoint this process signed.
#[derive(Debug, Clone)]
pub struct Signed {
    pub head: TreeHead,
    pub note: String,
}

#[derive(Debug, Default)]
pub struct Checkpoints {
    latest: Mutex<Option<Arc<Signed>>>,
}

impl AppState {
    /// A checkpoint of at least `leaves` leaves (the newest when 0 or
    /// when the cached one is too small), signed by the log key.
    pub fn checkpoint_covering(&self, leaves: u64) -> ApiResult<Arc<Signed>> {
        let cached = self.checkpoints.latest.lock().ok().and_then(|l| l.clone());
        if let Some(c) = cached.filter(|c| leaves > 0 && c.head.size >= leaves) {
            return Ok(c);
        }
        let head = self.store.log_head()?;
        let mut latest = self
            .checkpoints
            .latest
            .lock()
            .map_err(|_| ApiError::internal())?;
        if let Some(c) = latest.as_ref().filter(|c| c.head.size >= head.size) {
            return Ok(c.clone());
        }
        let checkpoint = Checkpoint::new(self.log_origin.clone(), head.size, head.root)
            .map_err(|_| ApiError::internal())?;
        let signed = Arc::new(Signed {
            head,
            note: SignedCheckpoint::sign(checkpoint, &self.log_key).to_text(),
        });
        *latest = Some(signed.clone());
        Ok(signed)
    }

    /// Leaf `leaf`'s inclusion in a signed checkpoint that covers it.
    pub fn log_proof(&self, leaf: u64) -> ApiResult<LogProof> {
        let checkpoint = self.checkpoint_covering(leaf.saturating_add(1))?;
        let path = self.store.log_inclusion(leaf, checkpoint.head.size)?;
        Ok(LogProof {
            leaf_index: leaf,
            tree_size: checkpoint.head.size,
            path: path.iter().map(|h| B64(h.to_vec())).collect(),
            checkpoint: checkpoint.note.clone(),
        })
    }
}
