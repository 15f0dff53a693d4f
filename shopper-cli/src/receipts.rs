//! `shopper receipts --verify`: is every report the server acknowledged
//! still provably in its log?
//!
//! Offline, each receipt is checked on its own: the acknowledgement's
//! signature under the pinned log key, and the acceptance leaf's inclusion
//! proof in the signed checkpoint kept with it. Online, each program's
//! server is asked for its current checkpoint, which must extend the
//! newest one this home has seen (no rollback, no fork), and then, for
//! each receipt, for a consistency proof from the receipt's checkpoint and
//! an inclusion proof of its leaf at the current size. A receipt the
//! server can no longer prove is named with the reason.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result, anyhow, bail};
use sealdrop_api::log::LogProof;
use sealdrop_client::witnesses::Trusted;
use sealdrop_client::{ClientError, log_check};
use sealdrop_proto::codec::Decode as _;
use sealdrop_proto::log::checkpoint::Checkpoint;
use sealdrop_proto::messages::Acknowledgement;
use sealdrop_proto::signed::Signed;

use crate::home::{Program, Unlocked};
use crate::send::{self, Receipt};

/// What verifying the receipts found.
#[derive(Debug, Default)]
pub struct Verification {
    /// Receipts that do not verify, with why.
    pub failures: Vec<(String, String)>,
    /// Programs checked against their server's current checkpoint, with
    /// its size.
    pub online: Vec<(String, u64)>,
    /// Receipts whose entry lies beyond what the required witnesses have
    /// cosigned yet: proven by the server, not yet vouched for (report,
    /// entry, size covered).
    pub waiting: Vec<(String, u64, u64)>,
    /// Programs whose server could not be reached: checked offline only.
    pub offline: Vec<(String, String)>,
}

/// The receipt's own checks, needing no network: its checkpoint.
fn offline(receipt: &Receipt, program: &Program) -> Result<Checkpoint> {
    let proof = receipt
        .log
        .as_ref()
        .context("it carries no proof that the server's log records the report")?;
    // The log it was sent to: the pinned one, or one the server ran before
    // a restore this home followed.
    let origin = proof.checkpoint.split('\n').next().unwrap_or_default();
    let key = program.log_key_of(origin)?;
    let ack = Signed::<Acknowledgement>::from_bytes(&receipt.acknowledgement.0)
        .context("the acknowledgement is malformed")?;
    let body = ack
        .verify_by_key(&key)
        .map_err(|_| anyhow!("not signed by the server key your invite pinned"))?;
    if body.report_id.to_string() != receipt.report
        || body.sealed_report.as_slice() != receipt.record_hash.0.as_slice()
    {
        bail!("it names another report than the one you sent");
    }
    Ok(log_check::included(
        proof,
        &receipt.expected_leaf()?,
        origin,
        &key,
    )?)
}

/// Checks every receipt; updates each program's newest checkpoint seen.
pub fn verify(un: &mut Unlocked, receipts: &[Receipt], trusted: &Trusted) -> Verification {
    let mut found = Verification::default();
    let mut by_program: BTreeMap<String, Vec<(&Receipt, Checkpoint)>> = BTreeMap::new();
    for r in receipts {
        let checked = un
            .state
            .programs
            .get(&r.program)
            .context("its program is no longer in your home")
            .and_then(|p| offline(r, p));
        match checked {
            Ok(checkpoint) => by_program
                .entry(r.program.clone())
                .or_default()
                .push((r, checkpoint)),
            Err(e) => found.failures.push((r.report.clone(), format!("{e:#}"))),
        }
    }
    for (program_id, held) in by_program {
        let Some(program) = un.state.programs.get(&program_id).cloned() else {
            continue;
        };
        match online(&program, &held, trusted) {
            Ok((current, failures, covered)) => {
                found.online.push((program_id.clone(), current.size()));
                if !trusted.is_empty() {
                    for (r, _) in &held {
                        let leaf = r.log.as_ref().map_or(u64::MAX, |p| p.leaf_index);
                        if leaf >= covered && !failures.iter().any(|(f, _)| *f == r.report) {
                            found.waiting.push((r.report.clone(), leaf, covered));
                        }
                    }
                }
                found.failures.extend(failures);
                if let Some(p) = un.state.programs.get_mut(&program_id) {
                    p.log_checkpoint = Some(current.note);
                }
            }
            // Witnesses the shopper requires cannot vouch offline.
            Err(OnlineError::Unreachable(why)) if !trusted.is_empty() => {
                for (r, _) in &held {
                    found.failures.push((
                        r.report.clone(),
                        format!("the witnesses you require cannot vouch offline: {why}"),
                    ));
                }
            }
            Err(OnlineError::Unreachable(why)) => found.offline.push((program_id, why)),
            Err(OnlineError::Refused(why)) => {
                for (r, _) in &held {
                    found.failures.push((r.report.clone(), why.clone()));
                }
            }
        }
    }
    found
}

enum OnlineError {
    /// No answer: nothing learnt.
    Unreachable(String),
    /// The server's log contradicts what this home saw: every receipt of
    /// the program is in doubt.
    Refused(String),
}

/// The server's current checkpoint, verified and as a note.
struct Current {
    checkpoint: Checkpoint,
    note: String,
}

impl Current {
    fn size(&self) -> u64 {
        self.checkpoint.size()
    }
}

type Failures = Vec<(String, String)>;

fn online(
    program: &Program,
    held: &[(&Receipt, Checkpoint)],
    trusted: &Trusted,
) -> Result<(Current, Failures, u64), OnlineError> {
    // Only a server that cannot be reached is "offline"; one that answers
    // and refuses (or presents another certificate) is a failure.
    let answered = |e: anyhow::Error| match e.downcast_ref::<ClientError>() {
        Some(ClientError::Transport(_)) => OnlineError::Unreachable(format!("{e:#}")),
        _ => OnlineError::Refused(format!("{e:#}")),
    };
    let client = send::connect(program).map_err(answered)?;
    let key = program.log_key().map_err(answered)?;
    let note = client
        .log_checkpoint()
        .map_err(|e| answered(anyhow::Error::new(e)))?;
    let refused = |e: log_check::LogCheckError| OnlineError::Refused(e.to_string());
    let checkpoint = log_check::checkpoint(&note, &program.log_origin, &key).map_err(refused)?;
    let current = Current {
        checkpoint,
        note: String::from_utf8_lossy(&note).into_owned(),
    };
    // The witnesses the shopper trusts saw this history.
    let covered = trusted
        .vouch(&client, &key, &program.log_origin, &current.checkpoint)
        .map_err(|e| OnlineError::Refused(e.to_string()))?;
    // The newest checkpoint this home saw before must be a prefix.
    if let Some(seen) = &program.log_checkpoint {
        let seen =
            log_check::checkpoint(seen.as_bytes(), &program.log_origin, &key).map_err(refused)?;
        extends_now(&client, &seen, &current.checkpoint)?;
    }
    let mut failures = Vec::new();
    for (receipt, theirs) in held {
        let proven = (|| -> Result<(), OnlineError> {
            // A receipt from before a restore: the handover chain proved
            // the kept prefix; its leaf is proven in the new log below.
            if theirs.origin() == program.log_origin {
                extends_now(&client, theirs, &current.checkpoint)?;
            }
            let leaf = receipt.log.as_ref().map_or(0, |p| p.leaf_index);
            let path = client.log_inclusion(leaf, current.size()).map_err(|e| {
                OnlineError::Refused(format!("the server cannot prove it now: {e}"))
            })?;
            let proof = LogProof {
                leaf_index: leaf,
                tree_size: current.size(),
                path: path.iter().map(|h| sealdrop_api::B64(h.to_vec())).collect(),
                checkpoint: current.note.clone(),
            };
            let expected = receipt
                .expected_leaf()
                .map_err(|e| OnlineError::Refused(format!("{e:#}")))?;
            log_check::included(&proof, &expected, &program.log_origin, &key).map_err(refused)?;
            Ok(())
        })();
        if let Err(OnlineError::Refused(why) | OnlineError::Unreachable(why)) = proven {
            failures.push((receipt.report.clone(), why));
        }
    }
    Ok((current, failures, covered))
}

/// `new` extends `old`, by the server's consistency proof.
fn extends_now(
    client: &sealdrop_client::Client,
    old: &Checkpoint,
    new: &Checkpoint,
) -> Result<(), OnlineError> {
    if new.size() < old.size() {
        return Err(OnlineError::Refused(
            log_check::LogCheckError::RolledBack {
                old: old.size(),
                new: new.size(),
            }
            .to_string(),
        ));
    }
    let path = client
        .log_consistency(old.size(), new.size())
        .map_err(|e| {
            OnlineError::Refused(format!(
                "the server cannot prove its log extends the one you saw: {e}"
            ))
        })?;
    log_check::extends(old, new, &path).map_err(|e| OnlineError::Refused(e.to_string()))
}
