//! Matching the log with the data: every stored report has its acceptance
//! in the log, every acceptance its report (or a tombstone), every
//! tombstone its leaf, and every purge the retention its descriptor signs.
//!
//! Only the auditor's own organisation's programs are matched: the log is
//! one per server, and other organisations' data is not listed to them.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context as _, Result, anyhow, bail};
use sealdrop_api::Tombstone;
use sealdrop_client::Client;
use sealdrop_proto::codec::Decode as _;
use sealdrop_proto::descriptor::{SignedDescriptor, hash_of};
use sealdrop_proto::ids::{ProgramId, ReportId};
use sealdrop_proto::labels::HASH_DELETION_RECORD;
use sealdrop_proto::log::entry::LogEntry;
use sealdrop_proto::log::merkle::Digest;
use sealdrop_proto::messages::DeletionRequest;
use sealdrop_proto::report::ReportRecord;
use sealdrop_proto::signed::Signed;

use super::audit_log::LogView;

const SECONDS_PER_DAY: u64 = 86_400;

/// What the data listing says of one report.
#[derive(Debug, Clone)]
pub struct Seen {
    pub report: ReportId,
    pub program: ProgramId,
    pub seq: u64,
    pub leaf: Option<u64>,
    pub sealed_report: Digest,
    pub received_at: u64,
    pub tombstoned: bool,
    /// The descriptor version the record is sealed for and its number of
    /// envelopes, once its signature verified.
    pub sealed: Option<(u64, usize)>,
}

/// What the matching found.
#[derive(Debug, Default)]
pub struct Matched {
    pub failures: Vec<(String, String)>,
    /// Legal tombstones: purged under retention, deleted on request.
    pub purged: usize,
    pub deleted: usize,
    /// The listing cursor after the last report whose acceptance the
    /// checkpoint covers (later ones are checked on the next visit).
    pub cursor: u64,
}

struct Acceptance {
    leaf: u64,
    program: ProgramId,
    sealed_report: Digest,
    received_at: u64,
}

pub fn check(
    client: &Client,
    (log_key, origin): &([u8; 32], String),
    log: &LogView,
    chains: &BTreeMap<ProgramId, Vec<SignedDescriptor>>,
    (mut seen, listed_ids): (Vec<Seen>, &BTreeSet<ReportId>),
    cursor: u64,
) -> Result<Matched> {
    let mut m = Matched {
        cursor,
        ..Matched::default()
    };
    seen.sort_by_key(|s| s.seq);
    let listed: BTreeMap<ReportId, &Seen> = seen.iter().map(|s| (s.report, s)).collect();
    // Each program's current version as the entries go by, for purges.
    let mut current: BTreeMap<ProgramId, u64> = BTreeMap::new();
    let now = audit_clock();
    let mine = |p: &ProgramId| chains.contains_key(p);
    let mut accepted: BTreeMap<ReportId, Acceptance> = BTreeMap::new();
    let mut tombstoned: BTreeSet<ReportId> = BTreeSet::new();
    let mut deletions: Vec<(u64, ReportId, ProgramId, Digest)> = Vec::new();
    for (index, entry) in &log.entries {
        match entry {
            LogEntry::Accepted {
                program,
                report,
                sealed_report,
                received_at,
            } if mine(program) => {
                accepted.insert(
                    *report,
                    Acceptance {
                        leaf: *index,
                        program: *program,
                        sealed_report: *sealed_report,
                        received_at: *received_at,
                    },
                );
            }
            LogEntry::Descriptor {
                program,
                version,
                descriptor,
                ..
            } if mine(program) => {
                current.insert(*program, *version);
                let named = chains.get(program).and_then(|c| {
                    usize::try_from(*version)
                        .ok()
                        .and_then(|v| v.checked_sub(1))
                        .and_then(|i| c.get(i))
                });
                if named.is_none_or(|d| hash_of(d) != *descriptor) {
                    m.failures.push((
                        format!("log entry {index}"),
                        format!("records version {version} of program {program}, which is not the version its chain holds"),
                    ));
                }
            }
            LogEntry::Purged {
                program,
                report,
                descriptor_version,
                retention_days,
                received_at,
                at,
            } if mine(program) => {
                tombstoned.insert(*report);
                // The purge's facts are the report's own, not the server's
                // word: its program and receive time as accepted, the
                // version current when it was purged, a time not ahead.
                let facts = accepted
                    .get(report)
                    .map(|a| (a.program, a.received_at))
                    .or_else(|| listed.get(report).map(|r| (r.program, r.received_at)));
                let wrong = match facts {
                    Some((p, _)) if p != *program => {
                        Some(format!("it cites program {program}, but the report is of {p}"))
                    }
                    Some((_, r)) if r != *received_at => Some(format!(
                        "it cites a receive time of {}, but the report was received on {}",
                        sealdrop_api::time::utc(*received_at),
                        sealdrop_api::time::utc(r)
                    )),
                    _ => None,
                }
                .or_else(|| match current.get(program) {
                    Some(v) if v != descriptor_version => Some(format!(
                        "it cites descriptor version {descriptor_version}, but version {v} was current"
                    )),
                    _ => None,
                })
                .or_else(|| {
                    (*at > now + sealdrop_proto::invite::CLOCK_SKEW_SECS).then(|| {
                        format!("it is dated {}, in the future", sealdrop_api::time::utc(*at))
                    })
                });
                let verdict = match wrong {
                    Some(why) => Err(why),
                    None => justified(
                        chains,
                        program,
                        *descriptor_version,
                        *retention_days,
                        *received_at,
                        *at,
                    ),
                };
                match verdict {
                    Ok(()) => m.purged += 1,
                    Err(why) => m.failures.push((
                        format!("report {report}"),
                        format!("a tombstone the retention policy does not justify: {why}"),
                    )),
                }
            }
            LogEntry::Deleted {
                program,
                report,
                deletion_request,
                ..
            } if mine(program) => {
                tombstoned.insert(*report);
                deletions.push((*index, *report, *program, *deletion_request));
            }
            _ => {}
        }
    }

    let size = log.checkpoint.size();
    let mut unexplained = Vec::new();
    for row in &seen {
        let Some(leaf) = row.leaf else {
            m.failures.push((
                format!("report {}", row.report),
                "stored, but the log never recorded its acceptance".into(),
            ));
            m.cursor = row.seq;
            continue;
        };
        if leaf >= size {
            // Committed after the checkpoint: the next visit checks it.
            break;
        }
        match accepted.remove(&row.report) {
            Some(a) => {
                if a.leaf != leaf
                    || a.sealed_report != row.sealed_report
                    || a.received_at != row.received_at
                {
                    m.failures.push((
                        format!("report {}", row.report),
                        format!(
                            "its acceptance in the log (entry {}) records another report or time",
                            a.leaf
                        ),
                    ));
                }
            }
            None if leaf < log.start => {
                if let Err(e) = old_acceptance(client, log, leaf, row) {
                    m.failures
                        .push((format!("report {}", row.report), format!("{e:#}")));
                }
            }
            None => m.failures.push((
                format!("report {}", row.report),
                format!("log entry {leaf}, which the server names as its acceptance, is not"),
            )),
        }
        if row.tombstoned && leaf >= log.start && !tombstoned.contains(&row.report) {
            unexplained.push((row.report, m.cursor));
        }
        m.cursor = row.seq;
    }
    for (report, a) in accepted.iter().filter(|(r, _)| !listed_ids.contains(r)) {
        m.failures.push((
            format!("report {report}"),
            format!(
                "accepted (log entry {}) but gone from the server, and no tombstone records why",
                a.leaf
            ),
        ));
    }
    if !unexplained.is_empty() {
        explain_tombstones(client, (log_key, origin), log, &unexplained, &mut m)?;
    }
    if !deletions.is_empty() {
        check_deletions(client, &deletions, &mut m)?;
    }
    Ok(m)
}

/// Tombstoned reports whose purge or deletion is not among this run's
/// entries: one committed after the checkpoint was read has its entry
/// after it. The entries since are read, proven into a fresh checkpoint,
/// and searched; a tombstone they do not explain is named. When too many
/// entries came since, the listing cursor stays before the first such
/// report, so the next visit looks again.
fn explain_tombstones(
    client: &Client,
    (log_key, origin): (&[u8; 32], &String),
    log: &LogView,
    unexplained: &[(ReportId, u64)],
    m: &mut Matched,
) -> Result<()> {
    let size = log.checkpoint.size();
    let note = client.log_checkpoint()?;
    let fresh = match sealdrop_client::log_check::checkpoint(&note, origin, log_key) {
        Ok(c) => c,
        Err(e) => {
            m.failures.push((
                "log".into(),
                format!("the server's checkpoint is refused: {e}"),
            ));
            return Ok(());
        }
    };
    let mut explained = BTreeSet::new();
    if fresh.size() > size {
        if fresh.size() - size > MAX_LATE_ENTRIES {
            m.cursor = unexplained.first().map_or(m.cursor, |(_, before)| *before);
            return Ok(());
        }
        let mut range = log.compact.clone();
        let mut from = size;
        while from < fresh.size() {
            let to = fresh
                .size()
                .min(from + sealdrop_api::log::MAX_LEAVES_PER_PAGE);
            for data in client.log_leaves(from, to)? {
                range.push(sealdrop_proto::log::merkle::leaf_hash(&data));
                if let Ok(LogEntry::Purged { report, .. } | LogEntry::Deleted { report, .. }) =
                    LogEntry::from_leaf_data(&data)
                {
                    explained.insert(report);
                }
            }
            from = to;
        }
        let proof = client
            .log_consistency(size, fresh.size())
            .unwrap_or_default();
        if range.size() != fresh.size()
            || range.root() != *fresh.root()
            || sealdrop_client::log_check::extends(&log.checkpoint, &fresh, &proof).is_err()
        {
            m.failures.push((
                format!("log entries {size} to {}", fresh.size()),
                "altered: the entries since the checkpoint do not hash into the next one".into(),
            ));
            return Ok(());
        }
    }
    for (report, _) in unexplained {
        if !explained.contains(report) {
            m.failures.push((
                format!("report {report}"),
                "its ciphertext is gone, but the log records no purge or deletion".into(),
            ));
        }
    }
    Ok(())
}

/// The auditor's clock, against which no entry may be dated in the future.
/// Debug builds add `SEALDROP_TEST_CLOCK_OFFSET` seconds, as the server's
/// operator commands do, so a test can audit a purge days "later"; release
/// builds have no such knob.
fn audit_clock() -> u64 {
    let now = super::now();
    #[cfg(debug_assertions)]
    let now = now.saturating_add_signed(
        std::env::var("SEALDROP_TEST_CLOCK_OFFSET")
            .ok()
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0),
    );
    now
}

/// Entries read after the checkpoint to explain late tombstones, at most.
const MAX_LATE_ENTRIES: u64 = 10_000;

/// A purge is justified when its descriptor version signs exactly that
/// retention and the report was older than it.
fn justified(
    chains: &BTreeMap<ProgramId, Vec<SignedDescriptor>>,
    program: &ProgramId,
    version: u64,
    days: u32,
    received_at: u64,
    at: u64,
) -> std::result::Result<(), String> {
    let descriptor = chains
        .get(program)
        .and_then(|c| {
            usize::try_from(version)
                .ok()
                .and_then(|v| v.checked_sub(1))
                .and_then(|i| c.get(i))
        })
        .ok_or_else(|| {
            format!(
                "it cites descriptor version {version}, which the program's chain does not have"
            )
        })?;
    let signed = descriptor.unverified_body().retention_days;
    if signed != days {
        return Err(format!(
            "it cites {days} days of retention, but version {version} signs {signed}"
        ));
    }
    let due = received_at.saturating_add(u64::from(days) * SECONDS_PER_DAY);
    if at < due {
        return Err(format!(
            "purged on {}, before its retention of {days} days ran out on {}",
            sealdrop_api::time::utc(at),
            sealdrop_api::time::utc(due)
        ));
    }
    Ok(())
}

/// A report verified on an earlier visit: its acceptance leaf, fetched
/// alone and proven in the current checkpoint.
fn old_acceptance(client: &Client, log: &LogView, leaf: u64, row: &Seen) -> Result<()> {
    let data = client
        .log_leaves(leaf, leaf + 1)?
        .pop()
        .ok_or_else(|| anyhow!("the server does not serve its acceptance (log entry {leaf})"))?;
    let entry = LogEntry::from_leaf_data(&data).context("its acceptance leaf is malformed")?;
    let path = client.log_inclusion(leaf, log.checkpoint.size())?;
    sealdrop_proto::log::InclusionProof {
        leaf_index: leaf,
        tree_size: log.checkpoint.size(),
        path,
    }
    .verify(&entry, &log.checkpoint)
    .map_err(|_| {
        anyhow!("log entry {leaf}, its acceptance, is altered: it is not in the signed checkpoint")
    })?;
    match entry {
        LogEntry::Accepted {
            report,
            sealed_report,
            received_at,
            ..
        } if report == row.report
            && sealed_report == row.sealed_report
            && received_at == row.received_at =>
        {
            Ok(())
        }
        _ => bail!("log entry {leaf}, which the server names as its acceptance, is not"),
    }
}

/// Each deletion's tombstone carries a request its shopper signed, whose
/// hash the deletion leaf records.
fn check_deletions(
    client: &Client,
    deletions: &[(u64, ReportId, ProgramId, Digest)],
    m: &mut Matched,
) -> Result<()> {
    let wanted: BTreeSet<String> = deletions.iter().map(|d| d.1.to_string()).collect();
    let mut found = BTreeMap::new();
    let mut after = None;
    loop {
        let page = client.audit_reports(after)?;
        for r in page.items {
            if wanted.contains(&r.report) {
                found.insert(r.report.clone(), r);
            }
        }
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    for (index, report, program, hash) in deletions {
        let check = (|| -> Result<()> {
            let stored = found.get(&report.to_string()).ok_or_else(|| {
                anyhow!("deleted (log entry {index}), but the server no longer lists it")
            })?;
            let Some(Tombstone::Deletion { request, .. }) = &stored.tombstone else {
                bail!(
                    "the log records a deletion (entry {index}), but the server shows no deletion tombstone"
                );
            };
            let record =
                ReportRecord::from_bytes(&stored.record.0).context("its record is malformed")?;
            let shopper = record.header.core.shopper;
            let request = Signed::<DeletionRequest>::from_bytes(&request.0)
                .context("its deletion request is malformed")?;
            let body = request.verify_by(&shopper).map_err(|_| {
                anyhow!("deleted, but the deletion request is not signed by the report's shopper")
            })?;
            if body.report_id != *report || body.program_id != *program {
                bail!("deleted at a request for another report");
            }
            if request.hash(HASH_DELETION_RECORD) != *hash {
                bail!("deleted, but the log records another deletion request (entry {index})");
            }
            Ok(())
        })();
        match check {
            Ok(()) => m.deleted += 1,
            Err(e) => m
                .failures
                .push((format!("report {report}"), format!("{e:#}"))),
        }
    }
    Ok(())
}
