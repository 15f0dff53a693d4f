//! The server's log, followed across restores: every command that talks
//! to the server first checks that it runs the log this home pinned. If it
//! runs another, the server must hand over to it from the pinned one
//! (`sealdrop_verify::handover`); the home then pins the new log, says so,
//! and names any entries this person saw that the restore lost.
//!
//! Staff and managers also keep the newest checkpoint they verified, and
//! every later one must extend it: a server cannot show them a history and
//! later another. (Auditors keep theirs in the audit memory.)

use anyhow::{Context as _, Result, anyhow, bail};
use sealdrop_api::{B64, Role};
use sealdrop_client::{Client, log_check, restore};
use sealdrop_proto::log::checkpoint::Checkpoint;
use sealdrop_verify::handover::LogPins;
use serde::{Deserialize, Serialize};

use super::Ctx;
use crate::home::State;

/// A restore this home followed, as kept in the home: auditors see each
/// one with lost entries in `audit verify` until they acknowledge it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FollowedRestore {
    pub from: String,
    pub to: String,
    /// Entries of the old log every restore kept.
    pub kept: u64,
    /// Entries `[kept, lost_to)` this home saw and the restore lost.
    pub lost_to: Option<u64>,
    pub followed_at: u64,
    #[serde(default)]
    pub acknowledged: bool,
}

impl FollowedRestore {
    pub fn describe(&self) -> String {
        match self.lost_to {
            Some(to) => format!(
                "the server was restored from a backup (log {} → {}); entries {}..{} of the old log, which you had seen, are lost: changes recorded there (reports, grants, revocations) must be made again",
                self.from,
                self.to,
                self.kept,
                to.saturating_sub(1)
            ),
            None => format!(
                "the server was restored from a backup (log {} → {}); its first {} entries are kept, and nothing you saw was lost",
                self.from, self.to, self.kept
            ),
        }
    }
}

fn pins_of(state: &State) -> Result<Option<LogPins>> {
    match (&state.log_key, &state.log_origin) {
        (Some(key), Some(origin)) => Ok(Some(LogPins {
            key: key
                .0
                .as_slice()
                .try_into()
                .context("the pinned log key in the state file is damaged")?,
            origin: origin.clone(),
        })),
        _ => Ok(None),
    }
}

/// Every checkpoint of the pinned log this home holds.
fn seen(state: &State, pins: &LogPins) -> Vec<Checkpoint> {
    let notes = [
        state.log_seen.as_ref(),
        state.audit.as_ref().map(|m| &m.checkpoint),
        state.witness.as_ref().map(|m| &m.checkpoint),
    ];
    notes
        .into_iter()
        .flatten()
        .filter_map(|n| log_check::checkpoint(n.as_bytes(), &pins.origin, &pins.key).ok())
        .collect()
}

/// The server's current checkpoint, verified under `pins`.
fn current(client: &Client, pins: &LogPins) -> Result<(Checkpoint, String)> {
    let note = client.log_checkpoint()?;
    let checkpoint = log_check::checkpoint(&note, &pins.origin, &pins.key)
        .context("the server's checkpoint does not verify under its log key")?;
    Ok((checkpoint, String::from_utf8_lossy(&note).into_owned()))
}

/// Checks that the server runs the pinned log (or hands over to the one it
/// runs), and for staff that its history extends the one seen before.
/// Saves what changed; a restore that lost entries this person saw is an
/// error, once (the new log stays pinned).
pub fn check(ctx: &Ctx, state: &mut State, client: &Client) -> Result<()> {
    let Some(pinned) = pins_of(state)? else {
        return Ok(());
    };
    let running = restore::running(client)?;
    let mut lost = None;
    if running != pinned {
        let seen = seen(state, &pinned);
        if seen.is_empty() {
            ctx.out.warn(
                "this laptop kept no checkpoint of the server's old log, so it cannot tell what the restore lost",
            );
        }
        let restore::Arrived { followed, note, .. } =
            restore::follow(client, &pinned, &running, &seen)?;
        let restore = FollowedRestore {
            from: pinned.origin.clone(),
            to: running.origin.clone(),
            kept: followed.kept,
            lost_to: followed.lost.as_ref().map(|l| l.to),
            followed_at: super::now(),
            acknowledged: false,
        };
        ctx.out.warn(&restore.describe());
        state.log_key = Some(B64(running.key.to_vec()));
        state.log_origin = Some(running.origin.clone());
        // The checkpoint just verified to extend what the restores kept is
        // the one every later answer must extend (auditors too, until their
        // next clean run). What auditors and witnesses verified of the old
        // log cannot be extended under the new key: they start over with a
        // full run.
        state.log_seen = Some(note);
        state.audit = None;
        state.witness = None;
        if restore.lost_to.is_some() {
            lost = Some(restore.describe());
        }
        state.restores.push(restore);
    }
    // Staff always; auditors from a restore until their next clean run
    // (their audit memory keeps the checkpoint otherwise).
    let keeps = state.role != Some(Role::Auditor) || state.log_seen.is_some();
    let before_run = state.log_seen.clone();
    if keeps {
        let (now, note) = current(client, &running)?;
        let kept = state
            .log_seen
            .as_ref()
            .map(|n| log_check::checkpoint(n.as_bytes(), &running.origin, &running.key))
            .transpose()
            .context("the checkpoint kept in your home does not verify under the pinned log key")?;
        if let Some(before) = kept {
            let path = client.log_consistency(before.size(), now.size())?;
            log_check::extends(&before, &now, &path).map_err(|why| {
                anyhow!("the server's log does not extend the history it showed you before: {why}. It has shown you, or someone else, another history; tell your auditor")
            })?;
        }
        state.log_seen = Some(note);
    }
    // Saved only when something changed: an auditor's home carries a
    // large audit memory.
    if state.log_seen != before_run || running != pinned {
        ctx.home.save(state)?;
    }
    if let Some(lost) = lost {
        bail!("{lost}");
    }
    Ok(())
}

/// `now` extends `kept`, the checkpoint note this home kept (under
/// `pins`): what binds an answer fetched later in a command to the one
/// `check` verified at its start.
pub fn extends_kept(
    client: &Client,
    pins: &([u8; 32], String),
    kept: &str,
    now: &Checkpoint,
) -> Result<()> {
    let kept = log_check::checkpoint(kept.as_bytes(), &pins.1, &pins.0)
        .context("the checkpoint kept in your home does not verify under the pinned log key")?;
    let path = client.log_consistency(kept.size(), now.size())?;
    log_check::extends(&kept, now, &path).map_err(|why| {
        anyhow!("the server's log does not extend the checkpoint this home kept: {why}. It has shown you, or someone else, another history; tell your auditor")
    })
}

/// Where a manager's change must be proven: the pinned log, and the
/// checkpoint this home kept at the command's start, which the proof's
/// checkpoint must extend (a server cannot prove the change in a history
/// it shows only this manager).
pub struct ProvenIn<'a> {
    pub client: &'a Client,
    pub log: &'a ([u8; 32], String),
    pub kept: Option<String>,
    /// Where each proven change's receipt is kept.
    pub home: &'a crate::home::Home,
}

impl ProvenIn<'_> {
    /// `expected` is in the checkpoint `proof` names, which extends the
    /// kept one. The proof is kept as the manager's receipt of the change
    /// (`change-receipts.jsonl` in the home): signed evidence of what the
    /// server's log committed to, whatever it shows later.
    pub fn included(
        &self,
        proof: &sealdrop_api::log::LogProof,
        expected: &sealdrop_proto::log::entry::LogEntry,
    ) -> Result<Checkpoint> {
        let checkpoint = log_check::included(proof, expected, &self.log.1, &self.log.0)?;
        if let Some(kept) = &self.kept {
            extends_kept(self.client, self.log, kept, &checkpoint)?;
        }
        self.home.keep_change_receipt(&serde_json::json!({
            "kind": expected.kind_name(),
            "entry": sealdrop_api::B64(expected.leaf_data()),
            "proof": proof,
            "log_origin": self.log.1,
            "log_key": sealdrop_api::B64(self.log.0.to_vec()),
        }))?;
        Ok(checkpoint)
    }
}

/// `audit acknowledge-loss`: every restore that lost entries is recorded
/// as acknowledged; `audit verify` stops failing on them.
pub fn acknowledge(ctx: &Ctx) -> Result<()> {
    let mut state = ctx.home.state()?;
    let mut acknowledged = Vec::new();
    for r in state
        .restores
        .iter_mut()
        .filter(|r| r.lost_to.is_some() && !r.acknowledged)
    {
        r.acknowledged = true;
        acknowledged.push(r.describe());
    }
    ctx.home.save(&state)?;
    ctx.out.show(
        || {
            if acknowledged.is_empty() {
                "No restore lost entries you had seen.".into()
            } else {
                format!("Acknowledged:\n{}", acknowledged.join("\n"))
            }
        },
        || serde_json::json!({"acknowledged": acknowledged}),
    );
    Ok(())
}

/// What `audit verify` reports of restores: each that lost entries and
/// was not acknowledged.
pub fn unacknowledged_losses(state: &State) -> Vec<(String, String)> {
    state
        .restores
        .iter()
        .filter(|r| r.lost_to.is_some() && !r.acknowledged)
        .map(|r| {
            (
                format!("log {}", r.from),
                format!(
                    "{}; run `sealdrop audit acknowledge-loss` once the loss is recorded",
                    r.describe()
                ),
            )
        })
        .collect()
}
