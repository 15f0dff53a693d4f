//! Who can read what: `shopper list|revoke`, `access`, `exposure`, and the
//! auditor's `audit access-log`.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result, bail};
use sealdrop_api::Role;
use sealdrop_proto::codec::Decode as _;
use sealdrop_proto::descriptor::SignedDescriptor;
use sealdrop_proto::ids::{PersonId, ProgramId};
use sealdrop_proto::report::{ReportRecord, SignedGrant};
use serde_json::json;

use super::Ctx;
use super::program::{authority, parse_program};

pub fn shopper_list(ctx: &Ctx, program: &str) -> Result<()> {
    let id = parse_program(program)?;
    let (_, _, client) = ctx.connect()?;
    let list = client.shoppers(&id)?;
    ctx.out.show(
        || {
            if list.is_empty() {
                return "No shoppers.".into();
            }
            list.iter()
                .map(|s| {
                    format!(
                        "{}  enrolled {}  {}",
                        s.person,
                        s.enrolled_at,
                        if s.disabled { "revoked" } else { "active" }
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        },
        || json!(list),
    );
    Ok(())
}

pub fn shopper_revoke(ctx: &Ctx, program: &str, shopper: &str) -> Result<()> {
    let id = parse_program(program)?;
    let person: PersonId = shopper
        .trim()
        .parse()
        .context("that is not a pseudonym ID (they start with `sd`)")?;
    let (mut state, _, client) = ctx.connect()?;
    let log = state.log_pins(&client)?;
    let revoked = client.revoke_shopper(&id, &person)?;
    // Done only once the log proves the `disabled` leaf, in a history
    // extending the one this home kept.
    let not_done = "the server says it revoked the shopper but does not prove that its log records it, so it may not have; check with `sealdrop shopper list`, and tell the operator";
    // The leaf's time is the server's word: one ahead of this clock would
    // date the revocation after reports it should have stopped.
    if revoked.logged_at > super::now().saturating_add(300) {
        bail!(
            "the server dates the revocation in the future ({}); check this computer's clock, and tell the operator",
            sealdrop_api::time::utc(revoked.logged_at)
        );
    }
    let proof = revoked.log.as_ref().context(not_done)?;
    let proven_in = super::log_follow::ProvenIn {
        client: &client,
        log: &log,
        kept: state.log_seen.clone(),
        home: &ctx.home,
    };
    proven_in
        .included(
            proof,
            &sealdrop_proto::log::entry::LogEntry::Disabled {
                person,
                at: revoked.logged_at,
            },
        )
        .context(not_done)?;
    ctx.home.save(&state)?;
    let when = sealdrop_api::time::utc(revoked.logged_at);
    let earlier = revoked.logged_at.saturating_add(300) < super::now();
    ctx.out.show(
        || {
            if earlier {
                format!("Shopper {person} was already revoked on {when}; they cannot sign in or submit to program {id}.")
            } else {
                format!("Shopper {person} can no longer sign in or submit to program {id}.")
            }
        },
        || json!({"program": id.to_string(), "revoked": person.to_string(), "revoked_at": revoked.logged_at}),
    );
    Ok(())
}

/// For each current recipient: since when (the version, and its time,
/// from which they have been on the list without a gap).
fn readers_since(versions: &[SignedDescriptor]) -> Vec<(PersonId, u64, u64)> {
    let Some(current) = versions.last() else {
        return Vec::new();
    };
    current
        .unverified_body()
        .recipients
        .iter()
        .map(|r| {
            let id = r.id();
            let since = versions
                .iter()
                .rev()
                .take_while(|v| v.unverified_body().is_recipient(&id))
                .last()
                .map(|v| (v.unverified_body().version, v.unverified_body().issued_at))
                .unwrap_or_default();
            (id, since.0, since.1)
        })
        .collect()
}

pub fn access(ctx: &Ctx, program: Option<&str>) -> Result<()> {
    let (mut state, _, client) = ctx.connect()?;
    let ids: Vec<ProgramId> = match program {
        Some(p) => vec![parse_program(p)?],
        None => client
            .programs()?
            .iter()
            .map(|p| p.program.parse())
            .collect::<Result<_, _>>()?,
    };
    let mut out = Vec::new();
    for id in &ids {
        let chain = authority(&client, &mut state, id)?;
        let versions = chain.versions().to_vec();
        let d = versions.last().map(|v| v.unverified_body().clone());
        let readers = readers_since(&versions);
        out.push(json!({
            "program": id.to_string(),
            "confirmed": chain.is_confirmed(),
            "name": d.as_ref().map(|d| d.name.clone()),
            "version": d.as_ref().map(|d| d.version),
            "managers": d.as_ref().map(|d| d.managers.iter().map(|m| m.id().to_string()).collect::<Vec<_>>()),
            "readers": readers.iter().map(|(p, v, t)| json!({"person": p.to_string(), "since_version": v, "since": t})).collect::<Vec<_>>(),
        }));
    }
    ctx.home.save(&state)?;
    ctx.out.show(
        || {
            let mut t = String::new();
            for p in &out {
                t.push_str(&format!(
                    "Program {} ({}), descriptor version {}{}\n",
                    p["program"].as_str().unwrap_or_default(),
                    p["name"],
                    p["version"],
                    if p["confirmed"] == true {
                        ""
                    } else {
                        " (NOT CONFIRMED on this laptop: as the server shows it)"
                    }
                ));
                for r in p["readers"].as_array().into_iter().flatten() {
                    t.push_str(&format!(
                        "  {} can read, since version {} ({})\n",
                        r["person"].as_str().unwrap_or_default(),
                        r["since_version"],
                        r["since"]
                    ));
                }
            }
            t.trim_end().to_owned()
        },
        || json!(out),
    );
    Ok(())
}

pub fn exposure(ctx: &Ctx, person: &str) -> Result<()> {
    let who: PersonId = person
        .trim()
        .parse()
        .context("that is not a person ID (they start with `sd`)")?;
    let (mut state, _, client) = ctx.connect()?;
    if state.role != Some(Role::Auditor) {
        bail!("exposure reads every report's record: run it as an auditor");
    }
    let mut chains: BTreeMap<ProgramId, Vec<SignedDescriptor>> = BTreeMap::new();
    let mut unconfirmed = Vec::new();
    for p in client.programs()? {
        let id: ProgramId = p.program.parse()?;
        let chain = authority(&client, &mut state, &id)?;
        if !chain.is_confirmed() {
            unconfirmed.push(id.to_string());
        }
        chains.insert(id, chain.versions().to_vec());
    }
    ctx.home.save(&state)?;
    // Reports granted to them.
    let mut granted = std::collections::BTreeSet::new();
    let mut after = None;
    loop {
        let page = client.audit_grants(after)?;
        for g in &page.items {
            let grant =
                SignedGrant::from_bytes(&g.grant.0).context("a grant record is malformed")?;
            if grant.unverified_body().recipient.id() == who {
                granted.extend(
                    grant
                        .unverified_body()
                        .envelopes
                        .iter()
                        .map(|(r, _)| r.to_string()),
                );
            }
        }
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    // Reports sealed to a list that named them, or granted; still stored.
    let mut exposed = Vec::new();
    let mut after = None;
    loop {
        let page = client.audit_reports(after)?;
        for r in &page.items {
            if r.tombstone.is_some() {
                continue;
            }
            let record =
                ReportRecord::from_bytes(&r.record.0).context("a report record is malformed")?;
            let h = &record.header;
            let sealed_to_them = chains
                .get(&h.core.program_id)
                .and_then(|c| c.get(usize::try_from(h.descriptor_version).ok()?.checked_sub(1)?))
                .is_some_and(|d| d.unverified_body().is_recipient(&who));
            if sealed_to_them || granted.contains(&r.report) {
                exposed.push(json!({"report": r.report, "program": r.program,
                                    "how": if sealed_to_them { "sealed to them" } else { "granted" }}));
            }
        }
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    ctx.out.show(
        || {
            let mut t = format!(
                "{} stored report(s) could be read with {who}'s key:",
                exposed.len()
            );
            for e in &exposed {
                t.push_str(&format!(
                    "\n  {} ({}, {})",
                    e["report"].as_str().unwrap_or_default(),
                    e["program"].as_str().unwrap_or_default(),
                    e["how"].as_str().unwrap_or_default()
                ));
            }
            t.push_str("\nRevoke them everywhere with `sealdrop revoke --all-programs --from ID`.");
            if !unconfirmed.is_empty() {
                t.push_str(&format!(
                    "\nNOT CONFIRMED on this laptop, so judged as the server shows them: {} (confirm with `sealdrop audit trust`).",
                    unconfirmed.join(", ")
                ));
            }
            t
        },
        || json!({"person": who.to_string(), "reports": exposed, "unconfirmed_programs": unconfirmed}),
    );
    Ok(())
}

/// An hour with at least this many releases by one person may be a burst…
const BURST_MIN: u64 = 20;
/// …if it is more than this many times their usual hourly count.
const BURST_FACTOR: f64 = 3.0;

/// Releases per person per hour; an hour is flagged when a person fetched
/// at least 20 reports and more than three times their usual hourly count.
pub fn access_log(ctx: &Ctx, program: Option<&str>, alerts: bool) -> Result<()> {
    let program = program
        .map(parse_program)
        .transpose()?
        .map(|p| p.to_string());
    let (state, _, client) = ctx.connect()?;
    if state.role != Some(Role::Auditor) {
        bail!("the access log is for auditors");
    }
    // Which program each report belongs to, for the filter.
    let mut report_program = BTreeMap::new();
    let mut after = None;
    loop {
        let page = client.audit_reports(after)?;
        for r in page.items {
            report_program.insert(r.report, r.program);
        }
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    let mut releases = Vec::new();
    let mut after = None;
    loop {
        let page = client.audit_releases(after)?;
        releases.extend(page.items);
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    releases.retain(|r| {
        program
            .as_ref()
            .is_none_or(|p| report_program.get(&r.report) == Some(p))
    });
    let mut hourly: BTreeMap<(String, u64), u64> = BTreeMap::new();
    for r in &releases {
        *hourly
            .entry((r.person.clone(), r.released_at / 3600))
            .or_default() += 1;
    }
    let mut per_person: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for ((person, _), n) in &hourly {
        let e = per_person.entry(person.as_str()).or_default();
        e.0 += n;
        e.1 += 1;
    }
    let flagged: Vec<_> = hourly
        .iter()
        .filter(|((person, _), n)| {
            // Against the person's other hours: a burst cannot raise its
            // own baseline.
            let (total, hours) = per_person.get(person.as_str()).copied().unwrap_or((0, 1));
            let baseline = if hours > 1 {
                (total - **n) as f64 / (hours - 1) as f64
            } else {
                0.0
            };
            **n >= BURST_MIN && **n as f64 > BURST_FACTOR * baseline
        })
        .map(|((person, hour), n)| json!({"person": person, "hour_start": hour * 3600, "releases": n}))
        .collect();
    ctx.out.show(
        || {
            let mut t = String::new();
            if !alerts {
                for r in &releases {
                    t.push_str(&format!("{}  {}  {}\n", r.released_at, r.person, r.report));
                }
            }
            for f in &flagged {
                t.push_str(&format!(
                    "ALERT {} fetched {} report(s) in the hour from {}\n",
                    f["person"].as_str().unwrap_or_default(),
                    f["releases"],
                    f["hour_start"]
                ));
            }
            if t.is_empty() {
                t = "No releases.".into();
            }
            t.trim_end().to_owned()
        },
        || json!({"releases": if alerts { json!([]) } else { json!(releases) }, "alerts": flagged}),
    );
    Ok(())
}
