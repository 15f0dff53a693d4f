//! The log's leaves in the database, and the Merkle tree over them.
//!
//! Each change appends its leaf inside its own transaction
//! ([`append`]), so after any crash the leaves and the data agree. The
//! tree itself lives in memory ([`LogTree`]): it is rebuilt from the
//! leaves when the store opens and extended from them after commits, by
//! whichever thread first needs a newer head. It reads the leaves back
//! from the database rather than trusting what a write meant to append,
//! so leaves appended by another process on the same file (an operator's
//! `purge`) join it in their order too.

use std::sync::{Mutex, RwLock};

use rusqlite::{Connection, params};
use sealdrop_proto::log::entry::LogEntry;
use sealdrop_proto::log::heads::{Head, HeadsMap};
use sealdrop_proto::log::merkle::{Digest, MerkleTree, leaf_hash};

use super::{to_i64, to_u64};
use crate::StoreError;

/// Appends `entry` as the next leaf; returns its index.
pub(super) fn append(c: &Connection, entry: &LogEntry) -> Result<u64, StoreError> {
    let idx: i64 = c
        .prepare_cached(
            "INSERT INTO log_leaves (idx, entry)
             VALUES ((SELECT IFNULL(MAX(idx) + 1, 0) FROM log_leaves), ?1) RETURNING idx",
        )?
        .query_row([entry.leaf_data()], |r| r.get(0))?;
    Ok(to_u64(idx))
}

/// Leaves `[start, end)` as stored.
pub(super) fn leaves(c: &Connection, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT idx, entry FROM log_leaves WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
    )?;
    let rows = stmt.query_map(params![to_i64(start)?, to_i64(end)?], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
    })?;
    let mut out = Vec::new();
    for (expected, row) in (start..).zip(rows) {
        let (idx, entry) = row?;
        if to_u64(idx) != expected {
            return Err(StoreError::Backend(format!(
                "log leaf {expected} is missing from the database"
            )));
        }
        out.push(entry);
    }
    Ok(out)
}

/// How many leaves the database holds (one past the highest index).
pub(super) fn stored_len(c: &Connection) -> Result<u64, StoreError> {
    let next: i64 = c
        .prepare_cached("SELECT IFNULL(MAX(idx) + 1, 0) FROM log_leaves")?
        .query_row([], |r| r.get(0))?;
    Ok(to_u64(next))
}

/// Keeps a witness's cosignature line of the checkpoint of `size` leaves
/// (the same witness cosigning the same size again replaces it).
pub(super) fn put_cosignature(
    c: &Connection,
    witness: &sealdrop_proto::ids::PersonId,
    size: u64,
    line: &str,
    now: u64,
) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO log_cosignatures (witness, size, line, cosigned_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (witness, size) DO UPDATE SET line = excluded.line, cosigned_at = excluded.cosigned_at",
    )?
    .execute(params![&witness.as_bytes()[..], to_i64(size)?, line, to_i64(now)?])?;
    Ok(())
}

/// Each witness's newest cosignature: its size and line, at most `limit`
/// witnesses, most recently cosigned first.
pub(super) fn newest_cosignatures(
    c: &Connection,
    limit: u32,
) -> Result<Vec<(u64, String)>, StoreError> {
    c.prepare_cached(
        "SELECT size, line FROM log_cosignatures c
         WHERE size = (SELECT MAX(size) FROM log_cosignatures w WHERE w.witness = c.witness)
         ORDER BY cosigned_at DESC LIMIT ?1",
    )?
    .query_map([limit], |r| Ok((to_u64(r.get::<_, i64>(0)?), r.get(1)?)))?
    .collect::<Result<Vec<_>, _>>()
    .map_err(Into::into)
}

/// A tree head: the size and root of the log at some point, and the root
/// of its program heads (`sealdrop_proto::log::heads`) at that size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeHead {
    pub size: u64,
    pub root: Digest,
    pub heads: Digest,
}

/// The in-memory Merkle tree over the stored leaves, and the program heads
/// they set.
#[derive(Debug, Default)]
pub(crate) struct LogTree {
    state: RwLock<Logged>,
    /// One thread extends the tree at a time.
    extending: Mutex<()>,
}

/// The tree and the heads, under one lock so that a head's size, root
/// and heads root always belong together.
#[derive(Debug, Default)]
struct Logged {
    tree: MerkleTree,
    heads: HeadsLog,
}

/// Every `descriptor` leaf, in log order, and the heads they add up to.
#[derive(Debug)]
struct HeadsLog {
    changes: Vec<(u64, Head)>,
    current: HeadsMap,
    root: Digest,
    /// `root` is behind `current` (until the batch is settled).
    stale: bool,
}

impl Default for HeadsLog {
    fn default() -> Self {
        let current = HeadsMap::new();
        Self {
            changes: Vec::new(),
            root: current.root(),
            current,
            stale: false,
        }
    }
}

impl HeadsLog {
    /// Takes note of leaf `index` if it is a descriptor leaf. A leaf that
    /// does not decode sets no head (auditors name it).
    fn push(&mut self, index: u64, data: &[u8]) {
        if !LogEntry::may_be_descriptor_leaf(data) {
            return;
        }
        if let Ok(LogEntry::Descriptor {
            program,
            version,
            descriptor,
            ..
        }) = LogEntry::from_leaf_data(data)
        {
            let head = Head {
                program,
                version,
                descriptor,
            };
            self.changes.push((index, head));
            self.current.set(head);
            self.stale = true;
        }
    }

    /// Recomputes the root once after a batch of leaves, not per leaf.
    fn settle(&mut self) {
        if self.stale {
            self.root = self.current.root();
            self.stale = false;
        }
    }

    /// The heads of the first `size` leaves.
    fn at(&self, size: u64) -> HeadsMap {
        let mut map = HeadsMap::new();
        for (_, head) in self.changes.iter().take_while(|(i, _)| *i < size) {
            map.set(*head);
        }
        map
    }
}

const EXTEND_BATCH: u64 = 10_000;

impl LogTree {
    /// Brings the tree up to the leaves `c` sees committed.
    pub(crate) fn catch_up(&self, c: &Connection) -> Result<TreeHead, StoreError> {
        let stored = stored_len(c)?;
        if let Some(head) = self.head_if_at_least(stored)? {
            return Ok(head);
        }
        let _one = self.extending.lock().map_err(|_| poisoned())?;
        loop {
            let have = self.len()?;
            // More than `stored`: another reader, on a newer snapshot,
            // extended the tree first. (Leaves removed behind the
            // server's back look the same here; the tree keeps them, and
            // auditors reading the leaves, or the next start, see it.)
            if have >= stored {
                break;
            }
            let end = stored.min(have + EXTEND_BATCH);
            let leaves = leaves(c, have, end)?;
            let hashes: Vec<Digest> = leaves.iter().map(|data| leaf_hash(data)).collect();
            let mut state = self.state.write().map_err(|_| poisoned())?;
            for (i, (h, data)) in hashes.into_iter().zip(&leaves).enumerate() {
                state.heads.push(have + i as u64, data);
                state.tree.push(h);
            }
            state.heads.settle();
        }
        self.head()
    }

    fn len(&self) -> Result<u64, StoreError> {
        Ok(self.state.read().map_err(|_| poisoned())?.tree.len())
    }

    fn head_if_at_least(&self, size: u64) -> Result<Option<TreeHead>, StoreError> {
        let state = self.state.read().map_err(|_| poisoned())?;
        Ok((state.tree.len() >= size).then(|| TreeHead {
            size: state.tree.len(),
            root: state.tree.root(),
            heads: state.heads.root,
        }))
    }

    pub(crate) fn head(&self) -> Result<TreeHead, StoreError> {
        let state = self.state.read().map_err(|_| poisoned())?;
        Ok(TreeHead {
            size: state.tree.len(),
            root: state.tree.root(),
            heads: state.heads.root,
        })
    }

    pub(crate) fn root_at(&self, size: u64) -> Result<Digest, StoreError> {
        self.state
            .read()
            .map_err(|_| poisoned())?
            .tree
            .root_at(size)
            .map_err(|_| StoreError::Invalid("the log has no such size"))
    }

    /// The program heads of the first `size` leaves.
    pub(crate) fn heads_at(&self, size: u64) -> Result<HeadsMap, StoreError> {
        let state = self.state.read().map_err(|_| poisoned())?;
        if size > state.tree.len() {
            return Err(StoreError::Invalid("the log has no such size"));
        }
        Ok(if size == state.tree.len() {
            state.heads.current.clone()
        } else {
            state.heads.at(size)
        })
    }

    pub(crate) fn inclusion(&self, index: u64, size: u64) -> Result<Vec<Digest>, StoreError> {
        self.state
            .read()
            .map_err(|_| poisoned())?
            .tree
            .inclusion_proof(index, size)
            .map_err(|_| StoreError::Invalid("no such leaf in a tree of that size"))
    }

    pub(crate) fn consistency(&self, old: u64, new: u64) -> Result<Vec<Digest>, StoreError> {
        self.state
            .read()
            .map_err(|_| poisoned())?
            .tree
            .consistency_proof(old, new)
            .map_err(|_| StoreError::Invalid("the log has no such pair of sizes"))
    }
}

fn poisoned() -> StoreError {
    StoreError::Backend("the log tree's lock was poisoned".into())
}
