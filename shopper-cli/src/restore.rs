//! A program's server restored from a backup: its log has a new key and
//! origin, handed over from the one the invite pinned. Before sending, the
//! shopper follows the handovers (`sealdrop_verify::handover`), pins the
//! new log, and puts every report the restore lost (its receipt's leaf at
//! or beyond the size every restore kept) back in the outbox from its sent
//! copy, so that it is sent again.

use anyhow::{Context as _, Result};
use sealdrop_api::B64;
use sealdrop_client::{Client, log_check, restore};
use sealdrop_proto::log::checkpoint::Checkpoint;
use sealdrop_verify::handover::LogPins;

use crate::home::{EarlierLog, Home, Program, Unlocked};
use crate::outbox;
use crate::send::Receipt;

/// What following a restore did for one program.
#[derive(Debug)]
pub struct Followed {
    pub program: String,
    pub from: String,
    pub to: String,
    /// Reports the restore lost, back in the outbox.
    pub requeued: Vec<String>,
    /// Reports the restore lost that the shopper had deleted: not sent
    /// again.
    pub deleted: Vec<String>,
}

impl Followed {
    pub fn describe(&self) -> String {
        let mut t = format!(
            "the server of program {} was restored from a backup (log {} → {})",
            self.program, self.from, self.to
        );
        if self.requeued.is_empty() && self.deleted.is_empty() {
            t.push_str("; none of your reports was lost");
        }
        if !self.deleted.is_empty() {
            t.push_str(&format!(
                "; it lost {} report(s) you had deleted, which stay deleted: {}",
                self.deleted.len(),
                self.deleted.join(", ")
            ));
        }
        if !self.requeued.is_empty() {
            t.push_str(&format!(
                "; it lost {} of your report(s), which are back in your outbox to be sent again: {}",
                self.requeued.len(),
                self.requeued.join(", ")
            ));
        }
        t
    }
}

/// Every receipt of `program`, with its path.
fn receipts_of(home: &Home, un: &Unlocked, program: &str) -> Result<Vec<Receipt>> {
    let mut out = Vec::new();
    let dir = home.receipts();
    if dir.exists() {
        for e in std::fs::read_dir(&dir)? {
            let path = e?.path();
            if path.extension().is_some_and(|x| x == "sealed") {
                let r: Receipt = Home::read_sealed(&un.vault, &path, "receipt")?;
                if r.program == program {
                    out.push(r);
                }
            }
        }
    }
    Ok(out)
}

/// Every checkpoint of the pinned log this home holds for `program`: the
/// one kept, and each receipt's (a receipt proven in a fork is caught).
fn seen(program: &Program, receipts: &[Receipt], pins: &LogPins) -> Vec<Checkpoint> {
    let receipt_notes = receipts
        .iter()
        .filter_map(|r| r.log.as_ref().map(|p| p.checkpoint.as_str()));
    program
        .log_checkpoint
        .as_deref()
        .into_iter()
        .chain(receipt_notes)
        .filter_map(|n| log_check::checkpoint(n.as_bytes(), &pins.origin, &pins.key).ok())
        .collect()
}

/// Follows the server of `program_id` to the log it runs now, if that is
/// not the pinned one. `Ok(None)`: nothing to follow.
pub fn follow(
    home: &Home,
    un: &mut Unlocked,
    program_id: &str,
    client: &Client,
) -> Result<Option<Followed>> {
    let program = un.state.enrolled(program_id)?;
    let pinned = LogPins {
        key: program.log_key()?,
        origin: program.log_origin.clone(),
    };
    let running = restore::running(client)?;
    if running == pinned {
        return Ok(None);
    }
    let receipts = receipts_of(home, un, program_id)?;
    let restore::Arrived { followed, note, .. } = restore::follow(
        client,
        &pinned,
        &running,
        &seen(&program, &receipts, &pinned),
    )?;
    // Reports whose acceptance the restore did not keep go back in the
    // outbox; a receipt below the kept size is proven in the new log at
    // the same index (receipts --verify checks it).
    // The old receipt is kept aside, not deleted: it is the shopper's
    // proof that the old server accepted the report.
    let (mut requeued, mut deleted) = (Vec::new(), Vec::new());
    let superseded = home.receipts().join("superseded");
    for r in &receipts {
        let index = r.log.as_ref().map_or(u64::MAX, |p| p.leaf_index);
        if index < followed.kept {
            continue;
        }
        let back = outbox::requeue_sent(home, &un.vault, &r.report)
            .with_context(|| format!("cannot put report {} back in the outbox", r.report))?;
        if back {
            requeued.push(r.report.clone());
        } else {
            deleted.push(r.report.clone());
        }
        Home::private_dir(&superseded)?;
        let name = format!("{}.sealed", r.report);
        std::fs::rename(home.receipts().join(&name), superseded.join(&name))?;
    }
    if let Some(p) = un.state.programs.get_mut(program_id) {
        // Receipts from the logs left behind verify under their keys.
        p.earlier_logs.push(EarlierLog {
            key: B64(pinned.key.to_vec()),
            origin: pinned.origin.clone(),
        });
        for hop in &followed.hops[..followed.hops.len().saturating_sub(1)] {
            p.earlier_logs.push(EarlierLog {
                key: B64(hop.new_key().to_vec()),
                origin: hop.new_origin().to_owned(),
            });
        }
        p.log_key = B64(running.key.to_vec());
        p.log_origin = running.origin.clone();
        p.log_checkpoint = Some(note);
    }
    home.save(un)?;
    Ok(Some(Followed {
        program: program_id.to_owned(),
        from: pinned.origin,
        to: running.origin,
        requeued,
        deleted,
    }))
}
