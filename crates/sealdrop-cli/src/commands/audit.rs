//! `audit verify`: as an auditor, check everything the server holds without
//! being able to decrypt any of it: every program's descriptor chain, every
//! shopper's chain to a manager's invite, every report's signature (strict,
//! on both cores) and ciphertext against its signed digests, that every
//! acknowledgement names its report, and every grant record.
//!
//! Reports arrive in binary bulk pages; one thread downloads while two
//! verify. Shoppers' keys, checked once with their enrolment, are not
//! decompressed again for each of their reports ([`KnownIdentities`]).
//!
//! First the log (`audit_log.rs`): the checkpoint, its consistency with
//! the one kept from the last visit, and every new leaf. Then the data
//! listed since the last visit, matched with the log (`audit_match.rs`).
//! What was verified is kept in the home, so the next run does work in
//! proportion to what is new; `--full` checks everything again.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::mpsc::{SyncSender, sync_channel};

use super::AuditMemory;
use anyhow::{Context as _, Result, anyhow, bail};
use sealdrop_api::{AuditEnrolment, Role, bulk};
use sealdrop_client::Client;
use sealdrop_proto::codec::Decode as _;
use sealdrop_proto::descriptor::SignedDescriptor;
use sealdrop_proto::hash::Digest;
use sealdrop_proto::ids::{PersonId, ProgramId, ReportId};
use sealdrop_proto::invite::{SignedEnrolment, SignedInvite, verify_shopper_chain};
use sealdrop_proto::keys::{KnownIdentities, PublicIdentity};
use sealdrop_proto::log::entry::LogEntry;
use sealdrop_proto::messages::Acknowledgement;
use sealdrop_proto::report::{ReportRecord, SignedGrant, grant::verify_grant};
use sealdrop_proto::signed::Signed;
use sealdrop_verify::enrolment::{self, ListedEnrolment, LogWindow};
use sealdrop_verify::history::{self, VersionTimeline};
use sealdrop_verify::readers::{self, GrantCoverage, ReadingFacts};
use serde_json::json;

use super::audit_log;
use super::audit_match::{self, Seen};
use super::{Ctx, now};

fn all_pages<T>(
    mut page: impl FnMut(Option<u64>) -> Result<sealdrop_api::Listing<T>>,
) -> Result<Vec<T>> {
    let mut items = Vec::new();
    let mut after = None;
    loop {
        let listing = page(after)?;
        items.extend(listing.items);
        match listing.next {
            Some(n) => after = Some(n),
            None => return Ok(items),
        }
    }
}

fn version(chain: &[SignedDescriptor], v: u64) -> Result<&SignedDescriptor> {
    usize::try_from(v)
        .ok()
        .and_then(|v| v.checked_sub(1))
        .and_then(|i| chain.get(i))
        .ok_or_else(|| anyhow!("names descriptor version {v}, which the chain does not have"))
}

/// An enrolled shopper: their key, the program whose invite they used, and
/// what the log must show of their enrolment.
struct Shopper {
    key: PublicIdentity,
    program: ProgramId,
    listed: ListedEnrolment,
}

/// The shopper, if their enrolment chains to a manager's invite.
fn check_enrolment(
    e: &AuditEnrolment,
    chains: &BTreeMap<ProgramId, Vec<SignedDescriptor>>,
) -> Result<Shopper> {
    let identity =
        PublicIdentity::from_bundle(&e.identity).context("the key bundle is malformed")?;
    if identity.id().to_string() != e.person {
        bail!("the keys do not derive the person's ID");
    }
    let (Some(invite), Some(enrolment)) = (&e.invite, &e.enrolment) else {
        bail!("a shopper without an invite and enrolment: not enrolled through a manager");
    };
    let invite = SignedInvite::from_bytes(&invite.0).context("the invite is malformed")?;
    let enrolment =
        SignedEnrolment::from_bytes(&enrolment.0).context("the enrolment is malformed")?;
    let program = invite.unverified_body().program_id;
    let chain = chains
        .get(&program)
        .ok_or_else(|| anyhow!("the invite is for an unknown program"))?;
    let named = version(chain, invite.unverified_body().descriptor_version)?;
    let (shopper, _) = verify_shopper_chain(&enrolment, &invite, named)
        .map_err(|err| anyhow!("the enrolment does not chain to a manager's invite: {err}"))?;
    if shopper != identity.id() {
        bail!("the enrolment names other keys than the person's");
    }
    let e = enrolment.unverified_body();
    let listed = ListedEnrolment {
        person: shopper,
        program,
        token_hash: e.token_hash(),
        invite_expires_at: invite.unverified_body().expires_at,
        record_hash: enrolment.hash(sealdrop_proto::labels::HASH_ENROLMENT_RECORD),
        commitment: e.commitment(),
        commitment_leaf: e.commitment_leaf,
        invite_signer: *invite.signer_key(),
    };
    Ok(Shopper {
        key: identity,
        program,
        listed,
    })
}

/// Leaf `index`, proven in the checkpoint this audit verified.
fn proven_leaf(client: &Client, log: &audit_log::LogView, index: u64) -> Result<LogEntry> {
    let data = client
        .log_leaves(index, index.saturating_add(1))?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("the server does not serve log entry {index}"))?;
    let entry = LogEntry::from_leaf_data(&data)
        .with_context(|| format!("log entry {index} is malformed"))?;
    let path = client.log_inclusion(index, log.checkpoint.size())?;
    sealdrop_proto::log::InclusionProof {
        leaf_index: index,
        tree_size: log.checkpoint.size(),
        path,
    }
    .verify(&entry, &log.checkpoint)
    .map_err(|why| anyhow!("log entry {index} is not the one the checkpoint holds: {why}"))?;
    Ok(entry)
}

/// The enrolment rules against the log (`sealdrop_verify::enrolment`).
fn check_enrolments_logged(
    client: &Client,
    log: &audit_log::LogView,
    shoppers: &BTreeMap<PersonId, Shopper>,
    remembered: &std::collections::BTreeSet<Digest>,
    authority: (
        &VersionTimeline,
        &BTreeMap<ProgramId, Vec<SignedDescriptor>>,
    ),
) -> Vec<(String, String)> {
    let programs = authority.1.keys().copied().collect();
    let listed: Vec<ListedEnrolment> = shoppers.values().map(|s| s.listed.clone()).collect();
    let window = LogWindow {
        start: log.start,
        entries: &log.entries,
    };
    let mut failures = Vec::new();
    let mut older = BTreeMap::new();
    for index in enrolment::needed_leaves(&listed, &window) {
        match proven_leaf(client, log, index) {
            Ok(entry) => {
                older.insert(index, entry);
            }
            Err(e) => failures.push((format!("log entry {index}"), format!("{e:#}"))),
        }
    }
    failures.extend(enrolment::check(
        &listed, &window, &older, &programs, remembered, authority,
    ));
    failures
}

/// The rules that depend on the version current at a point of the log,
/// for the entries this run read (`sealdrop_verify::history`).
fn authority_in_log_order(
    log: &audit_log::LogView,
    timeline: &VersionTimeline,
    chains: &BTreeMap<ProgramId, Vec<SignedDescriptor>>,
    seen: &[Seen],
    grants: &[sealdrop_api::AuditGrant],
) -> Vec<(String, String)> {
    let mut failures = Vec::new();
    let read = log.start..log.checkpoint.size();
    for row in seen {
        let (Some(leaf), Some((version, envelopes))) = (row.leaf, row.sealed) else {
            continue;
        };
        let why = chains
            .get(&row.program)
            .filter(|_| read.contains(&leaf))
            .and_then(|chain| {
                history::check_acceptance(timeline, chain, &row.program, leaf, version, envelopes)
            });
        if let Some(why) = why {
            failures.push((format!("report {}", row.report), why));
        }
    }
    let listed: BTreeMap<Digest, ([u8; 32], PersonId)> = grants
        .iter()
        .filter_map(|g| {
            let grant = SignedGrant::from_bytes(&g.grant.0).ok()?;
            Some((
                grant.hash(sealdrop_proto::labels::HASH_GRANT_RECORD),
                (*grant.signer_key(), grant.unverified_body().recipient.id()),
            ))
        })
        .collect();
    for (index, entry) in &log.entries {
        let LogEntry::Granted { program, grant, .. } = entry else {
            continue;
        };
        let Some(chain) = chains.get(program) else {
            continue;
        };
        let why = match listed.get(grant) {
            Some((signer, recipient)) => {
                history::check_manager_at(timeline, chain, program, *index, signer).or_else(|| {
                    history::check_recipient_at(timeline, chain, program, *index, recipient)
                })
            }
            None => Some("the log records a grant the server does not list".into()),
        };
        if let Some(why) = why {
            failures.push((format!("log entry {index}"), format!("grant: {why}")));
        }
    }
    failures
}

/// Every `released` leaf this run read against who the log authorised
/// to read what (`sealdrop_verify::readers`), reaching back through the
/// facts earlier runs kept. Returns the facts up to this run's checkpoint
/// (`None` when the memory cannot give the earlier ones).
fn releases_authorised(
    log: &audit_log::LogView,
    authority: (
        &VersionTimeline,
        &BTreeMap<ProgramId, Vec<SignedDescriptor>>,
    ),
    seen: &[Seen],
    coverage: &GrantCoverage,
    memory: Option<&AuditMemory>,
) -> (Option<ReadingFacts>, Vec<(String, String)>) {
    let mut facts = match memory {
        Some(m) if log.start > 0 => {
            match m
                .reading
                .as_ref()
                .and_then(super::audit_memory::ReadingMemory::facts)
            {
                Some(facts) => facts,
                None => {
                    return (
                        None,
                        vec![(
                            "releases".into(),
                            "this auditor's memory does not say who was authorised to read before this run; run `sealdrop audit verify --full` once".into(),
                        )],
                    );
                }
            }
        }
        _ => ReadingFacts::default(),
    };
    let sealed_for = seen
        .iter()
        .filter_map(|row| Some((row.report, row.sealed?.0)))
        .collect();
    let mut found = facts.absorb(&log.entries, &sealed_for);
    found.extend(readers::check_releases(
        &log.entries,
        &facts,
        coverage,
        authority.0,
        authority.1,
    ));
    (Some(facts), found)
}

/// The version of each program current where this run's log entries
/// start: nothing before a first or full run, else what the last clean
/// run kept.
fn versions_at_start(
    log: &audit_log::LogView,
    memory: Option<&AuditMemory>,
) -> BTreeMap<ProgramId, u64> {
    match memory {
        Some(m) if log.start > 0 => m
            .versions
            .iter()
            .filter_map(|(p, v)| Some((p.parse().ok()?, *v)))
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// Threads that verify reports: one per core of the machines we measure on.
const VERIFY_THREADS: usize = 2;
/// Batches downloaded ahead of the verifying threads.
const BATCHES_AHEAD: usize = 4;
/// Reports handed to a verifying thread at once: small enough that the two
/// threads finish together, large enough that the hand-over costs nothing.
const BATCH: usize = 64;

/// Downloads every bulk page after `after` and sends its reports on, in
/// batches.
fn send_batches(
    client: &Client,
    mut after: Option<u64>,
    out: &SyncSender<Vec<bulk::Entry>>,
) -> Result<()> {
    loop {
        let (entries, next) = client.audit_bulk(after)?;
        let mut entries = entries.into_iter();
        loop {
            let batch: Vec<bulk::Entry> = entries.by_ref().take(BATCH).collect();
            if batch.is_empty() {
                break;
            }
            out.send(batch)
                .map_err(|_| anyhow!("the verifying threads stopped"))?;
        }
        match next {
            Some(n) if Some(n) != after => after = Some(n),
            _ => return Ok(()),
        }
    }
}

#[derive(Default)]
struct Checked {
    failures: Vec<(String, String)>,
    seen: Vec<Seen>,
    /// Every report listed, also those whose acknowledgement does not
    /// decode (already failed): they are not "gone".
    listed: std::collections::BTreeSet<ReportId>,
    reports: usize,
    tombstones: usize,
    ciphertext_bytes: u64,
}

/// Checks one report: the record's signer is an enrolled shopper of the
/// record's program, the signature verifies strictly, the acknowledgement
/// names the record, and a live report's ciphertext matches every signed
/// digest. Returns the ciphertext bytes checked, and the version the
/// record is sealed for with its number of envelopes.
fn check_report(
    client: &Client,
    entry: &bulk::Entry,
    shoppers: &BTreeMap<PersonId, Shopper>,
    known: &KnownIdentities,
) -> Result<(u64, (u64, usize))> {
    let record = ReportRecord::from_bytes_with_known(&entry.record, known)
        .context("the record is malformed")?;
    let core = &record.header.core;
    if core.report_id.as_bytes() != &entry.report {
        bail!("the record is for another report than listed");
    }
    match shoppers.get(&core.shopper.id()) {
        Some(s) if s.key == core.shopper && s.program == core.program_id => {}
        Some(_) => bail!("the signer was invited to another program"),
        None => bail!("the signer is not a shopper enrolled through a manager's invite"),
    }
    let hash = record.hash();
    let report = core.report_id;
    let sealed = (
        record.header.descriptor_version,
        record.envelope_hashes.len(),
    );
    let verified = record
        .verify()
        .map_err(|_| anyhow!("the shopper's signature does not verify"))?;
    // The acknowledgement is the server's own statement, so its signature
    // proves nothing to an auditor about the server (the log's signed
    // checkpoints do that); what is checked is that it names this report.
    let ack = Signed::<Acknowledgement>::unverified_body_of(&entry.acknowledgement)
        .context("the acknowledgement is malformed")?;
    if ack.sealed_report != hash || ack.report_id != report {
        bail!("the acknowledgement names another report");
    }
    // Ciphertext missing from a live report: deleted behind the log's back
    // (a purge or a deletion would have tombstoned the report).
    if let bulk::Ciphertext::Included(streams) = &entry.ciphertext {
        let signed = &verified.record().streams;
        let gone = signed
            .iter()
            .enumerate()
            .any(|(i, d)| d.ciphertext_len > 0 && streams.get(i).is_none_or(Vec::is_empty));
        if gone {
            bail!("its ciphertext is gone, and no tombstone records a purge or deletion");
        }
    }
    let mut bytes = 0;
    for (i, digest) in verified.record().streams.iter().enumerate() {
        let checked = match &entry.ciphertext {
            bulk::Ciphertext::Tombstoned => return Ok((0, sealed)),
            bulk::Ciphertext::Included(streams) => {
                let stream = streams.get(i).map(Vec::as_slice).unwrap_or_default();
                verified.check_ciphertext(i, &mut &stream[..])
            }
            bulk::Ciphertext::TooLarge => {
                let mut reader = client
                    .stream_reader(&report, u32::try_from(i)?)
                    .map_err(|e| anyhow!("the ciphertext cannot be read: {e}"))?;
                verified.check_ciphertext(i, &mut reader)
            }
        };
        checked.map_err(|_| anyhow!("stream {i}'s ciphertext does not match the signed digest"))?;
        bytes += digest.ciphertext_len;
    }
    if let bulk::Ciphertext::Included(streams) = &entry.ciphertext
        && streams.len() != verified.record().streams.len()
    {
        bail!("the page carries more streams than the report signed");
    }
    Ok((bytes, sealed))
}

/// What the listing says of a report, for matching with the log.
fn seen(entry: &bulk::Entry) -> Option<Seen> {
    let ack = Signed::<Acknowledgement>::unverified_body_of(&entry.acknowledgement).ok()?;
    Some(Seen {
        report: ReportId::from_bytes(entry.report),
        program: ack.program_id,
        seq: entry.seq,
        leaf: entry.leaf,
        sealed_report: ack.sealed_report,
        received_at: ack.received_at,
        tombstoned: entry.ciphertext == bulk::Ciphertext::Tombstoned,
        sealed: None,
    })
}

/// What an auditor is told of a program they have not confirmed: who its
/// genesis names as managers, to compare out of band.
fn unconfirmed(chain: &sealdrop_verify::ProgramAuthority) -> String {
    let genesis = chain.versions().first().map(|g| g.unverified_body());
    let managers: Vec<String> = genesis
        .map(|g| {
            g.managers
                .iter()
                .map(|m| format!("{} ({})", m.id(), m.id().fingerprint()))
                .collect()
        })
        .unwrap_or_default();
    format!(
        "not confirmed on this laptop: its version 1 names as managers {}. Check with one of them, out loud, and ask for the descriptor fingerprint, then run `sealdrop audit trust {} --descriptor \"FINGERPRINT\"`",
        managers.join(", "),
        chain.program()
    )
}

pub fn verify(ctx: &Ctx, full: bool, trusted: &super::witness::Trusted) -> Result<usize> {
    let (mut state, _, client) = ctx.connect()?;
    if state.role != Some(Role::Auditor) {
        bail!(
            "audit verify is for auditors; this home is enrolled as {}",
            state
                .role
                .map_or_else(|| "nobody yet".to_owned(), |r| r.to_string())
        );
    }
    let mut failures: Vec<(String, String)> = super::log_follow::unacknowledged_losses(&state);

    // The log first: reports committed after its checkpoint wait for the
    // next visit, so everything matched below is covered by it.
    let pins = state.log_pins(&client)?;
    let memory = state.audit.clone();
    let progress = crate::output::Progress::open_ended(&ctx.out, "verifying the log");
    let log = match audit_log::read(&client, &pins, memory.as_ref(), full, &progress)? {
        Ok(view) => Some(view),
        Err(failure) => {
            failures.push(failure);
            None
        }
    };
    progress.finish();
    // After a restore, the new log's checkpoint verified when it was
    // followed binds this first run of the new log.
    let log = match (log, &state.log_seen) {
        (Some(view), Some(seen)) if memory.is_none() => {
            match super::log_follow::extends_kept(&client, &pins, seen, &view.checkpoint) {
                Ok(()) => Some(view),
                Err(why) => {
                    failures.push(("log".into(), format!("{why:#}")));
                    None
                }
            }
        }
        (log, _) => log,
    };
    // The witnesses this auditor trusts saw the same history.
    let log = match log {
        Some(view) if !trusted.is_empty() => {
            match trusted.vouch(&client, &pins.0, &pins.1, &view.checkpoint) {
                Ok(_) => Some(view),
                Err(why) => {
                    failures.push(("log".into(), why.to_string()));
                    None
                }
            }
        }
        other => other,
    };
    let cursor = match (&memory, full, &log) {
        (Some(m), false, Some(_)) => m.report_cursor,
        _ => 0,
    };

    // Programs: every chain from version 1, extending what this auditor
    // pinned, and confirmed out of band.
    let mut chains = BTreeMap::new();
    let listed: Vec<ProgramId> = client
        .programs()?
        .iter()
        .map(|p| p.program.parse())
        .collect::<Result<_, _>>()
        .context("the server listed a malformed program ID")?;
    let pins_before = state.programs.clone();
    for id in &listed {
        match super::program::authority(&client, &mut state, id) {
            Ok(chain) => {
                if !chain.is_confirmed() {
                    failures.push((format!("program {id}"), unconfirmed(&chain)));
                }
                chains.insert(*id, chain.versions().to_vec());
            }
            Err(e) => failures.push((format!("program {id}"), format!("{e:#}"))),
        }
    }
    for pinned in state.programs.keys() {
        if !listed.iter().any(|id| id.to_string() == *pinned) {
            failures.push((
                format!("program {pinned}"),
                "the server no longer lists a program this auditor pinned: it hid the program"
                    .into(),
            ));
        }
    }
    // Each program's own witnesses, as its descriptor names them, saw the
    // history verified above (in addition to any given as flags).
    if let Some(view) = &log {
        for (id, chain) in &chains {
            // The version the verified checkpoint's heads name, not the
            // newest the listing shows (it may be past the checkpoint).
            let at_head = view.heads.get(id).and_then(|h| {
                usize::try_from(h.version)
                    .ok()
                    .and_then(|v| v.checked_sub(1))
                    .and_then(|i| chain.get(i))
            });
            let Some(current) = at_head.or(chain.last()) else {
                continue;
            };
            let vouched =
                sealdrop_client::witnesses::Trusted::of_program(current.unverified_body())
                    .and_then(|own| own.vouch(&client, &pins.0, &pins.1, &view.checkpoint));
            if let Err(why) = vouched {
                failures.push((
                    format!("program {id}"),
                    format!("the witnesses its descriptor names: {why}"),
                ));
            }
        }
    }
    // The pins hold whatever the verdict: the next run compares with them.
    // (Saved only when they moved: the home also carries the audit memory.)
    if state.programs != pins_before {
        ctx.home.save(&state)?;
    }

    // People: every shopper chains to a manager's invite.
    let people = all_pages(|after| Ok(client.audit_enrolments(after)?))?;
    let mut shoppers: BTreeMap<PersonId, Shopper> = BTreeMap::new();
    for p in &people {
        if p.role != Role::Shopper {
            continue;
        }
        match check_enrolment(p, &chains) {
            Ok(shopper) => {
                shoppers.insert(shopper.key.id(), shopper);
            }
            Err(e) => failures.push((format!("shopper {}", p.person), format!("{e:#}"))),
        }
    }
    let timeline = log.as_ref().map(|log| {
        let start = versions_at_start(log, memory.as_ref());
        failures.extend(history::check_sequence(
            &start,
            &log.entries,
            log.start,
            chains.keys().copied(),
        ));
        VersionTimeline::new(start, &log.entries)
    });
    if let (Some(log), Some(timeline)) = (&log, &timeline) {
        let remembered = match &memory {
            Some(m) if log.start > 0 => m
                .shoppers
                .iter()
                .filter_map(|h| <[u8; 32]>::try_from(h.0.as_slice()).ok())
                .collect(),
            _ => std::collections::BTreeSet::new(),
        };
        failures.extend(check_enrolments_logged(
            &client,
            log,
            &shoppers,
            &remembered,
            (timeline, &chains),
        ));
    }

    // Grants: each verifies against the version it names.
    let grants = all_pages(|after| Ok(client.audit_grants(after)?))?;
    let mut coverage = GrantCoverage::new();
    for g in &grants {
        let result = (|| -> Result<()> {
            let grant = SignedGrant::from_bytes(&g.grant.0).context("malformed")?;
            let body = grant.unverified_body();
            let chain = chains
                .get(&body.program_id)
                .ok_or_else(|| anyhow!("for an unknown program"))?;
            verify_grant(
                &grant,
                version(chain, body.descriptor_version)?.unverified_body(),
            )
            .map_err(|e| anyhow!("{e}"))?;
            coverage.insert(
                grant.hash(sealdrop_proto::labels::HASH_GRANT_RECORD),
                (
                    body.recipient.id(),
                    body.program_id,
                    body.envelopes.iter().map(|(report, _)| *report).collect(),
                ),
            );
            Ok(())
        })();
        if let Err(e) = result {
            failures.push((format!("grant in {}", g.program), format!("{e:#}")));
        }
    }

    // Reports: one thread downloads bulk pages while both cores verify.
    let mut known = KnownIdentities::default();
    for s in shoppers.values() {
        known.insert(s.key);
    }
    let checked = Mutex::new(Checked::default());
    let progress = crate::output::Progress::open_ended(&ctx.out, "verifying reports");
    let (batches, to_check) = sync_channel::<Vec<bulk::Entry>>(BATCHES_AHEAD);
    let to_check = Mutex::new(to_check);
    let download = std::thread::scope(|s| {
        for _ in 0..VERIFY_THREADS {
            s.spawn(|| {
                while let Some(batch) = to_check.lock().ok().and_then(|rx| rx.recv().ok()) {
                    let results: Vec<_> = batch
                        .iter()
                        .map(|e| (e, check_report(&client, e, &shoppers, &known)))
                        .collect();
                    let Ok(mut c) = checked.lock() else { return };
                    for (entry, result) in results {
                        c.reports += 1;
                        let mut row = seen(entry);
                        c.listed.insert(ReportId::from_bytes(entry.report));
                        match result {
                            Ok((bytes, sealed)) => {
                                c.ciphertext_bytes += bytes;
                                if let Some(row) = &mut row {
                                    row.sealed = Some(sealed);
                                }
                            }
                            Err(e) => {
                                let id = ReportId::from_bytes(entry.report);
                                c.failures.push((format!("report {id}"), format!("{e:#}")));
                            }
                        }
                        c.seen.extend(row);
                        if entry.ciphertext == bulk::Ciphertext::Tombstoned {
                            c.tombstones += 1;
                        }
                    }
                    progress.at(c.reports);
                }
            });
        }
        let result = send_batches(&client, (cursor > 0).then_some(cursor), &batches);
        drop(batches);
        result
    });
    download?;
    progress.finish();
    let checked = checked
        .into_inner()
        .map_err(|_| anyhow!("a checking thread failed"))?;
    let (reports, tombstones) = (checked.reports, checked.tombstones);
    failures.extend(checked.failures);

    // Authority as the log ordered it: each report accepted under the
    // version current then, each grant signed by a manager of the version
    // current when the log recorded it.
    if let (Some(log), Some(timeline)) = (&log, &timeline) {
        failures.extend(authority_in_log_order(
            log,
            timeline,
            &chains,
            &checked.seen,
            &grants,
        ));
    }
    // Releases: each rests on an authorisation nothing took away since.
    let reading = match (&log, &timeline) {
        (Some(log), Some(timeline)) => {
            let (facts, found) = releases_authorised(
                log,
                (timeline, &chains),
                &checked.seen,
                &coverage,
                memory.as_ref(),
            );
            failures.extend(found);
            facts
        }
        _ => None,
    };

    // The log and the data agree; then remember what was verified, only
    // when everything did: a failure is reported again on the next run,
    // never skipped because its entries were "seen".
    let matched = match &log {
        Some(log) => {
            let m = audit_match::check(
                &client,
                &pins,
                log,
                &chains,
                (checked.seen, &checked.listed),
                cursor,
            )?;
            if failures.is_empty() && m.failures.is_empty() {
                let mut memory = log.memory(m.cursor, now());
                if let Some(timeline) = &timeline {
                    memory.versions = timeline
                        .end()
                        .into_iter()
                        .map(|(p, v)| (p.to_string(), v))
                        .collect();
                }
                memory.shoppers = shoppers
                    .values()
                    .map(|s| sealdrop_api::B64(s.listed.record_hash.to_vec()))
                    .collect();
                memory.reading = reading
                    .as_ref()
                    .map(super::audit_memory::ReadingMemory::from);
                // The memory's checkpoint binds the next run from now on.
                state.log_seen = None;
                state.audit = Some(memory);
                ctx.home.save(&state)?;
            }
            failures.extend(m.failures.iter().cloned());
            Some((log, m))
        }
        None => None,
    };
    failures.sort();
    ctx.out.show(
        || {
            let mut t = format!(
                "Checked {} program chain(s), {} people ({} shoppers), {} grant(s), {} report(s) ({} tombstoned), {} bytes of ciphertext.",
                chains.len(),
                people.len(),
                shoppers.len(),
                grants.len(),
                reports,
                tombstones,
                checked.ciphertext_bytes
            );
            if let Some((log, m)) = &matched {
                t.push_str(&format!(
                    "\nLog: {} entries under the signed checkpoint; {} new since your last audit, each checked.",
                    log.checkpoint.size(),
                    log.checkpoint.size() - log.start
                ));
                if m.purged + m.deleted > 0 {
                    t.push_str(&format!(
                        "\nTombstones the log justifies: {} purged under their program's signed retention, {} deleted at their shopper's signed request.",
                        m.purged, m.deleted
                    ));
                }
            }
            if failures.is_empty() {
                t.push_str("\nEverything verifies.");
            }
            for (what, why) in &failures {
                t.push_str(&format!("\nFAILED {what}: {why}"));
            }
            t
        },
        || {
            json!({"log": matched.as_ref().map(|(log, m)| json!({
                       "size": log.checkpoint.size(), "new": log.checkpoint.size() - log.start,
                       "purged": m.purged, "deleted": m.deleted})),
                   "programs": chains.len(), "people": people.len(), "grants": grants.len(),
                   "reports": reports, "tombstones": tombstones,
                   "ciphertext_bytes": checked.ciphertext_bytes,
                   "failures": failures.iter().map(|(w, r)| json!({"item": w, "reason": r})).collect::<Vec<_>>()})
        },
    );
    Ok(failures.len())
}
