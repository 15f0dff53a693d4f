//! `outbox`, `sync`, `receipts`.

use std::time::Duration;

use anyhow::{Result, bail};
use serde_json::json;

use super::Ctx;
use super::submit::{date, refresh};
use crate::home::Home;
use crate::outbox;
use crate::send::{self, Receipt};

pub fn outbox(ctx: &Ctx, remove: Option<&str>, yes: bool) -> Result<()> {
    let un = ctx.unlock()?;
    let queued = outbox::list(&ctx.home, &un.vault)?;
    if let Some(id) = remove {
        if !queued.iter().any(|q| q.report == id) {
            bail!("{id} is not in your outbox; `shopper outbox` lists what is");
        }
        if !yes {
            super::confirm(
                &format!("Remove {id} from your outbox? It will never be sent."),
                "nothing was removed",
            )?;
        }
        outbox::remove(&ctx.home, id)?;
        ctx.show(
            || format!("Removed {id}; it was never sent."),
            || json!({"removed": id}),
        );
        return Ok(());
    }
    ctx.show(
        || {
            if queued.is_empty() {
                return "Your outbox is empty: everything was sent.".into();
            }
            queued
                .iter()
                .map(|q| {
                    let why = q.last_error.as_deref().map_or_else(
                        || "not tried yet".to_owned(),
                        |e| format!("last try failed: {e}"),
                    );
                    format!(
                        "{}  program {}  queued {}  {}",
                        q.report,
                        q.program,
                        date(q.queued_at),
                        why
                    )
                })
                .chain(std::iter::once(
                    "Run `shopper sync` to send them.".to_owned(),
                ))
                .collect::<Vec<_>>()
                .join("\n")
        },
        || {
            json!(
                queued
                    .iter()
                    .map(|q| json!({
                        "report": q.report, "program": q.program, "queued_at": q.queued_at,
                        "attempts": q.attempts, "last_error": q.last_error,
                    }))
                    .collect::<Vec<_>>()
            )
        },
    );
    Ok(())
}

/// A random pause of up to `SEALDROP_SYNC_MAX_DELAY_MS` (default 2 s)
/// before each program's reports, so one sync does not link programs by
/// timing.
fn pause() {
    let max: u64 = std::env::var("SEALDROP_SYNC_MAX_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    if max > 0 {
        let r = rand_core::Rng::next_u64(&mut rand_core::UnwrapErr(getrandom::SysRng));
        std::thread::sleep(Duration::from_millis(r % (max + 1)));
    }
}

/// What one pass over the outbox did: the receipts of what was sent, and
/// why each report left in the outbox is still there.
pub struct SyncOutcome {
    pub sent: Vec<Receipt>,
    pub failed: Vec<(String, String)>,
    /// Programs whose server was restored since the last run.
    pub restored: Vec<crate::restore::Followed>,
    /// Programs whose server answered but could not be trusted (its log
    /// cannot be followed from the pinned one, or its program version is
    /// a rollback), with why.
    pub refused: Vec<(String, String)>,
}

/// Sends every queued report: each program on its own connection and
/// pseudonym, after a random pause, signed in once. Every program is
/// visited, also one with nothing queued: its server may have been
/// restored from a backup that lost reports already sent, which then go
/// back in the outbox and are sent in the same visit.
pub fn send_queued(ctx: &Ctx, un: &mut crate::home::Unlocked) -> Result<SyncOutcome> {
    let programs: Vec<String> = un.state.programs.keys().cloned().collect();
    let (mut sent, mut failed, mut restored, mut refused) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for program in programs {
        pause();
        let client = un
            .state
            .programs
            .get(&program)
            .and_then(|p| send::connect(p).ok());
        // A restored server is followed first; a newer program version is
        // picked up; a rollback is refused.
        if let Some(client) = &client {
            let checked =
                crate::restore::follow(&ctx.home, un, &program, client).and_then(|followed| {
                    restored.extend(followed);
                    refresh(ctx, un, client, &program)
                });
            if let Err(e) = checked {
                refused.push((program.clone(), format!("{e:#}")));
                for q in outbox::list(&ctx.home, &un.vault)?
                    .iter()
                    .filter(|q| q.program == program)
                {
                    failed.push((q.report.clone(), format!("{e:#}")));
                }
                continue;
            }
        }
        for mut q in outbox::list(&ctx.home, &un.vault)?
            .into_iter()
            .filter(|q| q.program == program)
        {
            match send::send(&ctx.home, un, client.as_ref(), &mut q) {
                Ok(r) => sent.push(r),
                Err(e) => {
                    if e.downcast_ref::<send::Distrusted>().is_some()
                        && !refused.iter().any(|(p, _)| *p == program)
                    {
                        refused.push((program.clone(), format!("{e:#}")));
                    }
                    failed.push((q.report.clone(), format!("{e:#}")));
                }
            }
        }
    }
    Ok(SyncOutcome {
        sent,
        failed,
        restored,
        refused,
    })
}

/// What commands other than `sync` and `submit` do on the way: send what
/// waits in the outbox, quietly. A failure leaves the reports queued, as a
/// failed `sync` would, and never fails the command itself.
pub fn send_opportunistically(ctx: &Ctx, un: &mut crate::home::Unlocked) {
    let waiting = outbox::list(&ctx.home, &un.vault).map_or(0, |q| q.len());
    if waiting == 0 {
        return;
    }
    if let Ok(outcome) = send_queued(ctx, un)
        && !outcome.sent.is_empty()
        && !ctx.json
    {
        eprintln!(
            "Also sent {} report(s) that were waiting in your outbox.",
            outcome.sent.len()
        );
    }
}

pub fn sync(ctx: &Ctx) -> Result<()> {
    let mut un = ctx.unlock()?;
    let SyncOutcome {
        sent,
        failed,
        restored,
        refused,
    } = send_queued(ctx, &mut un)?;
    for (program, why) in &refused {
        eprintln!("warning: program {program}: {why}");
    }
    for r in &restored {
        eprintln!("warning: {}", r.describe());
    }
    let lost: usize = restored.iter().map(|r| r.requeued.len()).sum();
    ctx.show(
        || {
            let mut t = match (sent.len(), failed.len()) {
                (0, 0) => "Nothing to send: your outbox is empty.".to_owned(),
                (n, 0) => format!("Sent {n} report(s); each acknowledgement verified and kept."),
                (n, f) => format!("Sent {n} report(s); {f} still queued."),
            };
            for r in &sent {
                t.push_str(&super::submit::removed_note(&r.offered_to_removed).replace(
                    "this report",
                    &format!("report {}", r.report),
                ));
            }
            for (r, why) in &failed {
                t.push_str(&format!("\nNOT SENT {r}: {why}"));
            }
            t
        },
        || {
            json!({"sent": sent.iter().map(|r| &r.report).collect::<Vec<_>>(),
                   "queued": failed.iter().map(|(r, w)| json!({"report": r, "reason": w})).collect::<Vec<_>>(),
                   "offered_to_removed": sent.iter().filter(|r| !r.offered_to_removed.is_empty())
                        .map(|r| json!({"report": r.report, "readers": r.offered_to_removed})).collect::<Vec<_>>(),
                   "restored": restored.iter().map(|r| json!({"program": r.program, "from": r.from, "to": r.to, "lost": r.requeued})).collect::<Vec<_>>()})
        },
    );
    if lost > 0 {
        bail!(
            "a restore of the server lost {lost} of your report(s); they went back in your outbox (see above: sent again, or still queued)"
        );
    }
    if !refused.is_empty() {
        bail!(
            "nothing was sent for {} program(s) whose server could not show what you need to trust it (see the warnings above); those reports stay in your outbox",
            refused.len()
        );
    }
    Ok(())
}

pub fn receipts(
    ctx: &Ctx,
    verify: bool,
    trusted: &sealdrop_client::witnesses::Trusted,
) -> Result<()> {
    let mut un = ctx.unlock()?;
    // Receipts of reports still queued come in first; verifying visits
    // every program's server, following any restore first.
    let mut lost = 0;
    let mut refused = Vec::new();
    if verify {
        let outcome = send_queued(ctx, &mut un)?;
        for r in &outcome.restored {
            eprintln!("warning: {}", r.describe());
            lost += r.requeued.len();
        }
        refused = outcome.refused;
    } else {
        send_opportunistically(ctx, &mut un);
    }
    let mut all: Vec<Receipt> = Vec::new();
    let dir = ctx.home.receipts();
    if dir.exists() {
        for e in std::fs::read_dir(&dir)? {
            let path = e?.path();
            if path.extension().is_some_and(|x| x == "sealed") {
                all.push(Home::read_sealed(&un.vault, &path, "receipt")?);
            }
        }
    }
    all.sort_by(|a, b| a.report.cmp(&b.report));
    let found = if verify {
        let mut found = crate::receipts::verify(&mut un, &all, trusted);
        // A server that could not be followed: its program's receipts
        // fail for that reason first.
        for (program, why) in refused {
            found
                .failures
                .insert(0, (format!("program {program}"), why));
        }
        ctx.home.save(&un)?;
        found
    } else {
        crate::receipts::Verification::default()
    };
    let bad = &found.failures;
    ctx.show(
        || {
            let mut t = if all.is_empty() {
                "No receipts yet.".to_owned()
            } else {
                all.iter()
                    .map(|r| {
                        let removed = if r.offered_to_removed.is_empty() {
                            String::new()
                        } else {
                            format!("  offered to a since-removed reader ({})", r.offered_to_removed.join(", "))
                        };
                        format!("{}  program {}  acknowledged {}{removed}", r.report, r.program, date(r.received_at))
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            if verify && bad.is_empty() && !all.is_empty() {
                t.push_str(&format!(
                    "\nAll {} receipt(s) verify: each acknowledgement, and each report's place in the server's log.",
                    all.len()
                ));
            }
            for (program, size) in &found.online {
                t.push_str(&format!("\nProgram {program}: checked against the server's current log of {size} entries."));
            }
            for (program, why) in &found.offline {
                t.push_str(&format!(
                    "\nProgram {program}: the server could not be reached ({why}); checked offline only, against the log checkpoints kept with each receipt."
                ));
            }
            for (r, leaf, covered) in &found.waiting {
                t.push_str(&format!(
                    "\nWAITING {r}: the server proves it (log entry {leaf}), but the witnesses you trust have cosigned only {covered} entries; check again after their next run"
                ));
            }
            for (r, why) in bad {
                t.push_str(&format!("\nFAILED {r}: {why}"));
            }
            t
        },
        || {
            json!({"receipts": all.iter().map(|r| json!({"report": r.report, "program": r.program,
                        "received_at": r.received_at, "descriptor_version": r.descriptor_version,
                        "offered_to_removed": r.offered_to_removed})).collect::<Vec<_>>(),
                   "failures": bad.iter().map(|(r, w)| json!({"report": r, "reason": w})).collect::<Vec<_>>(),
                   "waiting": found.waiting.iter().map(|(r, leaf, covered)| json!({"report": r, "leaf": leaf, "covered": covered})).collect::<Vec<_>>(),
                   "online": found.online.iter().map(|(p, n)| json!({"program": p, "log_size": n})).collect::<Vec<_>>(),
                   "offline": found.offline.iter().map(|(p, w)| json!({"program": p, "reason": w})).collect::<Vec<_>>()})
        },
    );
    if !bad.is_empty() {
        bail!("{} receipt(s) do not verify", bad.len());
    }
    if lost > 0 {
        bail!(
            "a restore of the server lost {lost} of your report(s); they went back in your outbox and were sent again if the server could be reached (`shopper outbox` shows what waits)"
        );
    }
    Ok(())
}
