//! `audit verify`: as an auditor, check everything the server holds without
//! being able to decrypt any of it: every program's descriptor chain, every
//! shopper's chain to a manager's invite, every report's signature (strict,
//! on both cores) and ciphertext against its signed digests, every
//! acknowledgement and every grant record.

use std::collections::BTreeMap;
use std::sync::Mutex;

use anyhow::{Context as _, Result, anyhow, bail};
use sealdrop_api::{AuditEnrolment, AuditReport, Role};
use sealdrop_client::Client;
use sealdrop_proto::codec::Decode as _;
use sealdrop_proto::descriptor::{DescriptorChain, SignedDescriptor};
use sealdrop_proto::ids::ProgramId;
use sealdrop_proto::invite::{SignedEnrolment, SignedInvite, verify_shopper_chain};
use sealdrop_proto::keys::PublicIdentity;
use sealdrop_proto::messages::Acknowledgement;
use sealdrop_proto::report::{ReportRecord, SignedGrant, grant::verify_grant};
use sealdrop_proto::signed::Signed;
use serde_json::json;

use super::Ctx;

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

/// The shopper's key, if their enrolment chains to a manager's invite.
fn check_enrolment(
    e: &AuditEnrolment,
    chains: &BTreeMap<ProgramId, Vec<SignedDescriptor>>,
) -> Result<PublicIdentity> {
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
    Ok(identity)
}

struct Checked {
    failures: Vec<(String, String)>,
    ciphertext_bytes: u64,
}

fn check_report(
    client: &Client,
    r: &AuditReport,
    shoppers: &BTreeMap<String, PublicIdentity>,
    log_key: &[u8; 32],
    ciphertext: Option<&[Vec<u8>]>,
) -> Result<u64> {
    let record = ReportRecord::from_bytes(&r.record.0).context("the record is malformed")?;
    let core = record.header.core.clone();
    if core.report_id.to_string() != r.report || core.program_id.to_string() != r.program {
        bail!("the record is for another report or program than listed");
    }
    match shoppers.get(&core.shopper.id().to_string()) {
        Some(key) if *key == core.shopper => {}
        _ => bail!("the signer is not a shopper enrolled through a manager's invite"),
    }
    let hash = record.hash();
    let verified = record
        .verify()
        .map_err(|_| anyhow!("the shopper's signature does not verify"))?;
    let ack = Signed::<Acknowledgement>::from_bytes(&r.acknowledgement.0)
        .context("the acknowledgement is malformed")?;
    let ack = ack
        .verify_by_key(log_key)
        .map_err(|_| anyhow!("the acknowledgement is not signed by the server's log key"))?;
    if ack.sealed_report != hash || ack.report_id != core.report_id {
        bail!("the acknowledgement names another report");
    }
    if r.tombstone.is_some() {
        return Ok(0);
    }
    let mut bytes = 0;
    for (i, digest) in verified.record().streams.iter().enumerate() {
        let checked = match ciphertext {
            Some(streams) => {
                let stream = streams.get(i).map(Vec::as_slice).unwrap_or_default();
                verified.check_ciphertext(i, &mut &stream[..])
            }
            None => {
                let mut reader = client
                    .stream_reader(&core.report_id, u32::try_from(i)?)
                    .map_err(|e| anyhow!("the ciphertext cannot be read: {e}"))?;
                verified.check_ciphertext(i, &mut reader)
            }
        };
        checked.map_err(|_| anyhow!("stream {i}'s ciphertext does not match the signed digest"))?;
        bytes += digest.ciphertext_len;
    }
    Ok(bytes)
}

pub fn verify(ctx: &Ctx) -> Result<usize> {
    let (state, _, client) = ctx.connect()?;
    if state.role != Some(Role::Auditor) {
        bail!(
            "audit verify is for auditors (you enrolled as {:?})",
            state.role
        );
    }
    let log_key: [u8; 32] = client.server_info()?.log_key.0.as_slice().try_into()?;
    let mut failures: Vec<(String, String)> = Vec::new();

    // Programs: every chain from version 1.
    let mut chains = BTreeMap::new();
    for p in client.programs()? {
        let id: ProgramId = p.program.parse()?;
        let versions = client.descriptors(&id)?;
        match DescriptorChain::verify_from_genesis(versions.iter().cloned()) {
            Ok(_) => {
                chains.insert(id, versions);
            }
            Err(e) => failures.push((format!("program {id}"), format!("descriptor chain: {e}"))),
        }
    }

    // People: every shopper chains to a manager's invite.
    let people = all_pages(|after| Ok(client.audit_enrolments(after)?))?;
    let mut shoppers = BTreeMap::new();
    for p in &people {
        if p.role != Role::Shopper {
            continue;
        }
        match check_enrolment(p, &chains) {
            Ok(key) => {
                shoppers.insert(p.person.clone(), key);
            }
            Err(e) => failures.push((format!("shopper {}", p.person), format!("{e:#}"))),
        }
    }

    // Grants: each verifies against the version it names.
    let grants = all_pages(|after| Ok(client.audit_grants(after)?))?;
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
            Ok(())
        })();
        if let Err(e) = result {
            failures.push((format!("grant in {}", g.program), format!("{e:#}")));
        }
    }

    // Reports, on both cores: first those whose ciphertext comes in pages,
    // then the rest (tombstoned, too large for a page, or missing).
    let reports = all_pages(|after| Ok(client.audit_reports(after)?))?;
    let by_id: BTreeMap<&str, &AuditReport> =
        reports.iter().map(|r| (r.report.as_str(), r)).collect();
    let checked = Mutex::new(Checked {
        failures: Vec::new(),
        ciphertext_bytes: 0,
    });
    let progress = crate::output::Progress::new(&ctx.out, "verifying reports", reports.len());
    let done = std::sync::atomic::AtomicUsize::new(0);
    let run = |batch: &[(&AuditReport, Option<Vec<Vec<u8>>>)]| {
        let next = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((r, ct)) = batch.get(i) else { break };
                        progress.at(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1);
                        let result = check_report(&client, r, &shoppers, &log_key, ct.as_deref());
                        if let Ok(mut c) = checked.lock() {
                            match result {
                                Ok(bytes) => c.ciphertext_bytes += bytes,
                                Err(e) => c
                                    .failures
                                    .push((format!("report {}", r.report), format!("{e:#}"))),
                            }
                        }
                    }
                });
            }
        });
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut after = None;
    loop {
        let (entries, next) = client.audit_ciphertext(after)?;
        let batch: Vec<(&AuditReport, Option<Vec<Vec<u8>>>)> = entries
            .into_iter()
            .filter_map(|(id, streams)| {
                let id = sealdrop_proto::ids::ReportId::from_bytes(id).to_string();
                let r = *by_id.get(id.as_str())?;
                seen.insert(id);
                Some((r, streams))
            })
            .collect();
        run(&batch);
        match next {
            Some(n) if n != after.unwrap_or(0) => after = Some(n),
            _ => break,
        }
    }
    let rest: Vec<(&AuditReport, Option<Vec<Vec<u8>>>)> = reports
        .iter()
        .filter(|r| !seen.contains(&r.report))
        .map(|r| (r, None))
        .collect();
    run(&rest);
    progress.finish();
    let checked = checked
        .into_inner()
        .map_err(|_| anyhow!("a checking thread failed"))?;
    failures.extend(checked.failures);
    failures.sort();
    let tombstones = reports.iter().filter(|r| r.tombstone.is_some()).count();
    ctx.out.show(
        || {
            let mut t = format!(
                "Checked {} program chain(s), {} people ({} shoppers), {} grant(s), {} report(s) ({} tombstoned), {} bytes of ciphertext.",
                chains.len(),
                people.len(),
                shoppers.len(),
                grants.len(),
                reports.len(),
                tombstones,
                checked.ciphertext_bytes
            );
            if failures.is_empty() {
                t.push_str("\nEverything verifies.");
            }
            for (what, why) in &failures {
                t.push_str(&format!("\nFAILED {what}: {why}"));
            }
            t
        },
        || {
            json!({"programs": chains.len(), "people": people.len(), "grants": grants.len(),
                   "reports": reports.len(), "tombstones": tombstones,
                   "ciphertext_bytes": checked.ciphertext_bytes,
                   "failures": failures.iter().map(|(w, r)| json!({"item": w, "reason": r})).collect::<Vec<_>>()})
        },
    );
    Ok(failures.len())
}
