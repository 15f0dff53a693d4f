//! The log half of `audit verify`: the server's current checkpoint, its
//! consistency with the last one this auditor verified, and every leaf
//! added since, hashed into the compact range kept from the last visit.
//!
//! The work is proportional to the new leaves: the stored compact range
//! stands for everything verified before. `--full` starts from leaf 0 (the
//! stored checkpoint is still the one the new history must extend).
//!
//! What it tells apart, each with its own message: a log that shrank (a
//! truncation or a rollback), a checkpoint that does not extend the stored
//! one (a fork: the server showed someone else another history, or
//! rewrote its own), and leaves that do not hash into the signed root (an
//! altered leaf, located by binary search with consistency proofs).

use std::collections::BTreeMap;

use anyhow::{Context as _, Result, anyhow};
use sealdrop_api::B64;
use sealdrop_client::{Client, log_check};
use sealdrop_proto::codec::{Decode as _, Encode as _};
use sealdrop_proto::log::checkpoint::Checkpoint;
use sealdrop_proto::log::entry::LogEntry;
use sealdrop_proto::log::heads::{Head, HeadsMap};
use sealdrop_proto::log::merkle::{CompactRange, Digest, leaf_hash, verify_consistency};
use serde::{Deserialize, Serialize};

/// Leaves asked for at once (the server's page limit).
const PAGE: u64 = sealdrop_api::log::MAX_LEAVES_PER_PAGE;

/// What an auditor keeps of a server's log between visits.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditMemory {
    /// The last checkpoint verified, as its signed note.
    pub checkpoint: String,
    /// The compact range of that checkpoint's tree.
    pub compact: B64,
    /// The bulk listing's cursor after the last report verified.
    #[serde(default)]
    pub report_cursor: u64,
    pub verified_at: u64,
    /// Each program's descriptor version current at that checkpoint, so
    /// that the next run knows which version was current at its first
    /// entries.
    #[serde(default)]
    pub versions: BTreeMap<String, u64>,
    /// The shopper enrolments (their record hashes) verified against the
    /// log, so that a later run names a listed shopper whose enrolment it
    /// never saw logged, and one verified before who is no longer listed.
    #[serde(default)]
    pub shoppers: Vec<B64>,
    /// Who the log authorised to read what, up to that checkpoint (absent
    /// in a memory from before releases were judged: the next run then
    /// asks for `--full`).
    #[serde(default)]
    pub reading: Option<super::audit_memory::ReadingMemory>,
    /// Each program's head (descriptor version and hash) at that
    /// checkpoint, from which the next run recomputes the heads line of
    /// the next checkpoint (absent in a memory from before heads: the next
    /// run then asks for `--full`).
    #[serde(default)]
    pub heads: Option<BTreeMap<String, (u64, B64)>>,
}

impl AuditMemory {
    /// The heads kept, or `None` if absent or damaged.
    fn heads(&self) -> Option<HeadsMap> {
        let mut map = HeadsMap::new();
        for (program, (version, descriptor)) in self.heads.as_ref()? {
            map.set(Head {
                program: program.parse().ok()?,
                version: *version,
                descriptor: descriptor.0.as_slice().try_into().ok()?,
            });
        }
        Some(map)
    }
}

/// The log as this run verified it.
#[derive(Debug)]
pub struct LogView {
    pub checkpoint: Checkpoint,
    pub note: String,
    /// The first leaf read this run: everything before it was verified on
    /// an earlier visit.
    pub start: u64,
    /// The leaves read this run, decoded, with their indices.
    pub entries: Vec<(u64, LogEntry)>,
    pub compact: CompactRange,
    /// Every program's head at the checkpoint, recomputed from the leaves.
    pub heads: HeadsMap,
}

impl LogView {
    pub fn memory(&self, report_cursor: u64, now: u64) -> AuditMemory {
        AuditMemory {
            checkpoint: self.note.clone(),
            compact: B64(self.compact.to_bytes()),
            report_cursor,
            verified_at: now,
            versions: BTreeMap::new(),
            shoppers: Vec::new(),
            reading: None,
            heads: Some(
                self.heads
                    .iter()
                    .map(|h| {
                        (
                            h.program.to_string(),
                            (h.version, B64(h.descriptor.to_vec())),
                        )
                    })
                    .collect(),
            ),
        }
    }
}

/// A failure of the log itself: nothing it says can be relied on.
pub type Failure = (String, String);

/// Verifies the log from `memory` (or from the start) to the server's
/// current checkpoint. `Err` is a failure to talk to the server; a log
/// that fails a check is `Ok(Err(failure))`.
pub fn read(
    client: &Client,
    (log_key, origin): &([u8; 32], String),
    memory: Option<&AuditMemory>,
    full: bool,
    progress: &crate::output::Progress,
) -> Result<std::result::Result<LogView, Failure>> {
    let note = client.log_checkpoint()?;
    let checkpoint = match log_check::checkpoint(&note, origin, log_key) {
        Ok(c) => c,
        Err(e) => {
            return Ok(Err((
                "log".into(),
                format!("the server's checkpoint is refused: {e}"),
            )));
        }
    };
    let note = String::from_utf8(note).context("the checkpoint is not UTF-8")?;

    // The history must extend the one verified last time.
    let mut base = CompactRange::new();
    let mut heads = HeadsMap::new();
    if let Some(memory) = memory {
        let seen = log_check::checkpoint(memory.checkpoint.as_bytes(), origin, log_key).context(
            "the checkpoint kept from your last audit does not verify; your home is damaged",
        )?;
        if checkpoint.size() < seen.size() {
            return Ok(Err((
                "log".into(),
                format!(
                    "truncated or rolled back: the server's log has {} entries, fewer than the {} of the checkpoint you verified on {}",
                    checkpoint.size(),
                    seen.size(),
                    sealdrop_api::time::utc(memory.verified_at)
                ),
            )));
        }
        // A proof the server will not give is as bad as one that fails.
        let proof = client
            .log_consistency(seen.size(), checkpoint.size())
            .unwrap_or_default();
        if log_check::extends(&seen, &checkpoint, &proof).is_err() {
            return Ok(Err((
                "log".into(),
                format!(
                    "forked checkpoint: the server's checkpoint of {} entries does not extend the one of {} you verified on {}; it has shown another history",
                    checkpoint.size(),
                    seen.size(),
                    sealdrop_api::time::utc(memory.verified_at)
                ),
            )));
        }
        if !full {
            base = CompactRange::from_bytes(&memory.compact.0)
                .ok()
                .filter(|c| c.size() == seen.size() && c.root() == *seen.root())
                .ok_or_else(|| {
                    anyhow!("the audit state kept in your home is damaged; run `sealdrop audit verify --full`")
                })?;
            heads = memory
                .heads()
                .filter(|h| seen.heads().is_ok_and(|root| *root == h.root()))
                .ok_or_else(|| {
                    anyhow!("the audit state kept in your home predates the log's program heads, or is damaged; run `sealdrop audit verify --full` once")
                })?;
        }
    }

    // Every new leaf, into the compact range.
    let start = base.size();
    let mut compact = base.clone();
    let mut hashes: Vec<Digest> = Vec::new();
    let mut entries = Vec::new();
    let mut undecodable = None;
    let mut from = start;
    while from < checkpoint.size() {
        let to = checkpoint.size().min(from + PAGE);
        let page = match client.log_leaves(from, to) {
            Ok(page) if page.len() as u64 == to - from => page,
            Ok(page) => {
                return Ok(Err((
                    format!("log entries {from} to {to}"),
                    format!(
                        "the server sent {} entries where its checkpoint has {}",
                        page.len(),
                        to - from
                    ),
                )));
            }
            Err(e) => {
                return Ok(Err((
                    format!("log entries {from} to {to}"),
                    format!("the server does not serve entries its checkpoint covers: {e}"),
                )));
            }
        };
        for (index, data) in (from..).zip(&page) {
            let h = leaf_hash(data);
            compact.push(h);
            hashes.push(h);
            match LogEntry::from_leaf_data(data) {
                Ok(entry) => {
                    heads.apply(&entry);
                    entries.push((index, entry));
                }
                Err(e) => {
                    undecodable.get_or_insert((index, e));
                }
            }
        }
        progress.at(usize::try_from(to - start).unwrap_or(usize::MAX));
        from = to;
    }
    if compact.root() != *checkpoint.root() {
        let altered =
            "altered: the entry the server serves does not hash into its signed checkpoint";
        return Ok(Err(
            match first_altered(client, &base, &hashes, &checkpoint) {
                Ok(bad) => (format!("log entry {bad}"), altered.into()),
                Err(_) => (
                    format!("log entries {start} to {}", checkpoint.size()),
                    format!("{altered} (the server would not give the proofs that locate it)"),
                ),
            },
        ));
    }
    if let Some((index, e)) = undecodable {
        return Ok(Err((
            format!("log entry {index}"),
            format!("malformed, though the checkpoint covers it: {e}"),
        )));
    }
    if let Some(failure) = check_heads(&checkpoint, &heads) {
        return Ok(Err(failure));
    }
    Ok(Ok(LogView {
        checkpoint,
        note,
        start,
        entries,
        compact,
        heads,
    }))
}

/// The checkpoint's heads line must be the root of the heads its leaves
/// set: shoppers rely on it to learn which recipient list is current.
fn check_heads(checkpoint: &Checkpoint, heads: &HeadsMap) -> Option<Failure> {
    let failure = |why: String| Some(("log heads".to_owned(), why));
    match checkpoint.heads() {
        Err(_) => failure(format!(
            "the checkpoint of {} entries does not commit to the programs' current descriptors (it has no sealdrop-heads line); shoppers cannot learn from it who may read new reports",
            checkpoint.size()
        )),
        Ok(root) if *root != heads.root() => failure(format!(
            "the checkpoint of {} entries commits to program descriptors that are not the newest its entries record: the server is telling shoppers an outdated or false recipient list is current",
            checkpoint.size()
        )),
        Ok(_) => None,
    }
}

/// The first leaf from `base.size()` on whose served bytes the checkpoint
/// does not cover: the largest prefix still consistent with the signed
/// root ends just before it. Binary search, one consistency proof a step.
fn first_altered(
    client: &Client,
    base: &CompactRange,
    hashes: &[Digest],
    checkpoint: &Checkpoint,
) -> Result<u64> {
    let root_at = |size: u64| {
        let mut range = base.clone();
        for h in hashes
            .iter()
            .take(usize::try_from(size - base.size()).unwrap_or(0))
        {
            range.push(*h);
        }
        range.root()
    };
    let consistent = |size: u64| -> Result<bool> {
        let proof = client.log_consistency(size, checkpoint.size())?;
        Ok(verify_consistency(
            size,
            checkpoint.size(),
            &root_at(size),
            checkpoint.root(),
            &proof,
        )
        .is_ok())
    };
    // Invariant: the prefix of `good` leaves is consistent, of `bad` not.
    let (mut good, mut bad) = (base.size(), checkpoint.size());
    while bad - good > 1 {
        let mid = good + (bad - good) / 2;
        if consistent(mid)? {
            good = mid;
        } else {
            bad = mid;
        }
    }
    Ok(good)
}
