//! The one place this server signs checkpoints, and the proofs it hands
//! out with them. Every checkpoint carries the program heads root of its
//! size (`sealdrop_proto::log::heads`) as its extension line.
//!
//! Every checkpoint is of the in-memory tree the store extends only by
//! appending the leaves it reads back committed, so any two checkpoints
//! this process signs are consistent: one tree, two of its sizes. The
//! latest signed note is kept and reused until a request needs a leaf it
//! does not cover; under load, one signature covers a whole group commit.
//!
//! Across restarts the tree is rebuilt from the database, which someone
//! may have altered. So the newest signed head is also written to the data
//! directory (`log-head`: when a new one is signed, at most once a second;
//! a timer catches up a skipped one; and at a clean stop), and
//! `serve` refuses to start when the database's log does not extend it:
//! an honest server never signs a checkpoint inconsistent with one it
//! signed before, whatever happened to its disk.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

#[derive(Debug)]
pub struct Checkpoints {
    latest: Mutex<Option<Arc<Signed>>>,
    /// Where the newest signed head is kept, and when it was last written.
    head_file: PathBuf,
    written: Mutex<Option<(Instant, u64)>>,
}

/// The newest signed head is written at most this often.
const HEAD_EVERY: Duration = Duration::from_secs(1);

impl Checkpoints {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            latest: Mutex::new(None),
            head_file: head_file(data_dir),
            written: Mutex::new(None),
        }
    }

    /// Writes the newest signed head if the last write is older than
    /// [`HEAD_EVERY`] (or `force`). Atomic (rename); not synced: a head
    /// lost in a crash is an older one, and the log extends that too.
    pub fn persist(&self, force: bool) {
        let Some(latest) = self.latest.lock().ok().and_then(|l| l.clone()) else {
            return;
        };
        let Ok(mut written) = self.written.lock() else {
            return;
        };
        match *written {
            Some((_, size)) if size == latest.head.size => return,
            Some((at, _)) if !force && at.elapsed() < HEAD_EVERY => return,
            _ => {}
        }
        let text = format!(
            "{} {}\n",
            latest.head.size,
            data_encoding::HEXLOWER.encode(&latest.head.root)
        );
        let tmp = self.head_file.with_extension("tmp");
        let wrote =
            std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, &self.head_file));
        if let Err(e) = wrote {
            tracing::warn!(error = %e, "cannot keep the newest signed log head");
        }
        *written = Some((Instant::now(), latest.head.size));
    }
}

fn head_file(data_dir: &Path) -> PathBuf {
    data_dir.join("log-head")
}

/// Refuses a database whose log does not extend the newest head this
/// server signed (kept in `log-head`).
pub fn check_head(data_dir: &Path, store: &dyn sealdrop_store::Store) -> anyhow::Result<()> {
    let path = head_file(data_dir);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(());
    };
    let parsed = text.trim().split_once(' ').and_then(|(size, root)| {
        let size: u64 = size.parse().ok()?;
        let root: [u8; 32] = data_encoding::HEXLOWER
            .decode(root.as_bytes())
            .ok()?
            .try_into()
            .ok()?;
        Some((size, root))
    });
    let Some((size, root)) = parsed else {
        anyhow::bail!(
            "{} is damaged; if nothing else is wrong, remove it and start again",
            path.display()
        );
    };
    let head = store.log_head()?;
    if head.size < size {
        anyhow::bail!(
            "the database holds {} log entries, fewer than the {size} of the last checkpoint this server signed: it was truncated or replaced by an older copy. Serving it would show clients a history that contradicts what they hold; restore it properly (docs/SERVER.md, backup and restore) instead",
            head.size
        );
    }
    if store.log_root_at(size)? != root {
        anyhow::bail!(
            "the database's log does not match the last checkpoint this server signed ({size} entries): its entries were altered. Serving it would show clients a forked history; restore from a backup (docs/SERVER.md) instead"
        );
    }
    Ok(())
}

impl AppState {
    /// A checkpoint of at least `leaves` leaves (the newest when 0 or
    /// when the cached one is too small), signed by the log key.
    pub fn checkpoint_covering(&self, leaves: u64) -> ApiResult<Arc<Signed>> {
        let cached = self.checkpoints.latest.lock().ok().and_then(|l| l.clone());
        if let Some(c) = cached.filter(|c| leaves > 0 && c.head.size >= leaves) {
            return Ok(c);
        }
        // One request at a time reads the new head and signs it; those
        // waiting meanwhile then find it covers them: one signature per
        // group commit, not one per request.
        let mut latest = self
            .checkpoints
            .latest
            .lock()
            .map_err(|_| ApiError::internal())?;
        if let Some(c) = latest
            .as_ref()
            .filter(|c| leaves > 0 && c.head.size >= leaves)
        {
            return Ok(c.clone());
        }
        let head = self.store.log_head()?;
        if let Some(c) = latest.as_ref().filter(|c| c.head.size >= head.size) {
            return Ok(c.clone());
        }
        let checkpoint = Checkpoint::new(self.log_origin.clone(), head.size, head.root)
            .map_err(|_| ApiError::internal())?
            .with_heads(head.heads);
        let signed = Arc::new(Signed {
            head,
            note: SignedCheckpoint::sign(checkpoint, &self.log_key).to_text(),
        });
        *latest = Some(signed.clone());
        drop(latest);
        self.checkpoints.persist(false);
        Ok(signed)
    }

    /// Leaf `leaf`'s inclusion in a signed checkpoint that covers it.
    pub fn log_proof(&self, leaf: u64) -> ApiResult<LogProof> {
        let checkpoint = self.checkpoint_covering(leaf.saturating_add(1))?;
        self.proof_in(leaf, &checkpoint)
    }

    /// [`AppState::log_proof`] when the latest signed checkpoint covers the
    /// leaf already: no I/O, no signing (for the executor threads). `None`
    /// when it does not.
    pub fn cached_log_proof(&self, leaf: u64) -> Option<ApiResult<LogProof>> {
        let cached = self
            .checkpoints
            .latest
            .lock()
            .ok()
            .and_then(|l| l.clone())?;
        (cached.head.size > leaf).then(|| self.proof_in(leaf, &cached))
    }

    fn proof_in(&self, leaf: u64, checkpoint: &Signed) -> ApiResult<LogProof> {
        let path = self.store.log_inclusion(leaf, checkpoint.head.size)?;
        Ok(LogProof {
            leaf_index: leaf,
            tree_size: checkpoint.head.size,
            path: path.iter().map(|h| B64(h.to_vec())).collect(),
            checkpoint: checkpoint.note.clone(),
        })
    }
}

impl AppState {
    /// The checkpoint of `size` leaves (a size the log has had), signed:
    /// the same note as when it was first signed, Ed25519 being
    /// deterministic.
    pub fn checkpoint_at(&self, size: u64) -> ApiResult<SignedCheckpoint> {
        let root = self.store.log_root_at(size)?;
        let heads = self.store.log_heads_at(size)?.root();
        let checkpoint = Checkpoint::new(self.log_origin.clone(), size, root)
            .map_err(|_| ApiError::internal())?
            .with_heads(heads);
        Ok(SignedCheckpoint::sign(checkpoint, &self.log_key))
    }
}
