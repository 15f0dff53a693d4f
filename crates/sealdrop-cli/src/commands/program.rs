//! `program create|list|show`.

use anyhow::{Context as _, Result, bail};
use sealdrop_proto::descriptor::{ProgramDescriptor, SignedDescriptor, hash_of};
use sealdrop_proto::hash::questionnaire_digest;
use sealdrop_proto::ids::{DescriptorFingerprint, ProgramId};
use sealdrop_verify::ProgramAuthority;
use serde_json::json;

use super::{Ctx, now};
use crate::cli::CreateArgs;
use crate::home::State;

pub fn parse_program(text: &str) -> Result<ProgramId> {
    text.trim()
        .parse()
        .with_context(|| format!("{text:?} is not a program ID (they start with `sdp`)"))
}

/// Reads and checks a questionnaire file, listing every problem at once.
pub fn read_questionnaire(path: &std::path::Path) -> Result<(Vec<u8>, u32)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    match sealdrop_questionnaire::Questionnaire::parse(&bytes) {
        Ok(q) => Ok((bytes, q.version)),
        Err(problems) => {
            let list: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
            bail!(
                "{} has {} problem(s); nothing was changed:\n{}",
                path.display(),
                problems.len(),
                list.join("\n")
            )
        }
    }
}

pub fn create(ctx: &Ctx, args: &CreateArgs) -> Result<()> {
    let (questionnaire, questionnaire_version) = read_questionnaire(&args.questionnaire)?;
    let (mut state, me, client) = ctx.connect()?;
    let mut first = ProgramDescriptor::first(
        ProgramId::random(&mut rand_core::UnwrapErr(getrandom::SysRng)),
        &args.name,
        me.public(),
        questionnaire_digest(&questionnaire),
        args.retention_days,
        now(),
    )?;
    first.questionnaire_version = questionnaire_version;
    let first = first.sign(&me)?;
    let accepted = client
        .create_program(&first)
        .context("the server refused the program")?;
    let log = state.log_pins(&client)?;
    let proven_in = super::log_follow::ProvenIn {
        client: &client,
        log: &log,
        kept: state.log_seen.clone(),
        home: &ctx.home,
    };
    proven_logged(&proven_in, &accepted, &first)?;
    client
        .put_questionnaire(&first.unverified_body().program_id, &questionnaire)
        .context("the server refused the questionnaire")?;
    state.pin(&first);
    let id = first.unverified_body().program_id;
    // The creator signed version 1 themselves: nothing to confirm.
    state.confirm(&id, &sealdrop_verify::Anchor::of(&first));
    ctx.home.save(&state)?;
    ctx.out.show(
        || {
            format!(
                "Created program {id} ({:?}), descriptor version 1, you as manager and recipient.\nPrograms should have two managers: add one with `sealdrop program managers add {id} --fingerprint FP`.",
                args.name
            )
        },
        || json!({"id": id.to_string()}),
    );
    Ok(())
}

pub fn list(ctx: &Ctx) -> Result<()> {
    let (_, _, client) = ctx.connect()?;
    let programs = client.programs()?;
    ctx.out.show(
        || {
            if programs.is_empty() {
                return "No programs.".into();
            }
            programs
                .iter()
                .map(|p| {
                    format!(
                        "{}  v{}  {} reports  {}",
                        p.program, p.version, p.report_count, p.name
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        },
        || serde_json::to_value(&programs).unwrap_or_default(),
    );
    Ok(())
}

/// The program's one chain: downloaded once, verified from version 1 as an
/// extension of what this laptop pinned and containing the version the
/// person confirmed (if they did); its newest version becomes the pin.
/// Every later check of the command uses this same copy.
pub fn authority(
    client: &sealdrop_client::Client,
    state: &mut State,
    program: &ProgramId,
) -> Result<ProgramAuthority> {
    let offered = client.descriptors(program)?;
    let authority = ProgramAuthority::verify(
        program,
        offered,
        state.pinned(program)?.as_ref(),
        state.anchor(program)?.as_ref(),
    )?;
    state.pin(authority.current_signed());
    Ok(authority)
}

/// [`authority`], refusing a program the person has not confirmed out of
/// band: nothing is decrypted, exported, granted or signed for it.
pub fn confirmed_authority(
    client: &sealdrop_client::Client,
    state: &mut State,
    program: &ProgramId,
) -> Result<ProgramAuthority> {
    let authority = authority(client, state, program)?;
    authority.confirmed()?;
    Ok(authority)
}

/// What a manager reads to the person they just added, so that the person
/// pins the program from something confirmed out of band.
pub fn confirmation_line(program: &ProgramId, descriptor: &SignedDescriptor) -> String {
    let version = descriptor.unverified_body().version;
    format!(
        "Read them the program's descriptor fingerprint (version {version}):\n  {}\nThey confirm it once with:\n  sealdrop program trust {program} --descriptor \"{}\"",
        fingerprint_of(descriptor),
        fingerprint_of(descriptor)
    )
}

pub fn fingerprint_of(descriptor: &SignedDescriptor) -> DescriptorFingerprint {
    DescriptorFingerprint::of_hash(&hash_of(descriptor))
}

/// `program trust P --descriptor FP`: pins the program from the fingerprint
/// a manager read out. A pin this laptop made on first use, before any
/// confirmation, does not stand in the way (the server chose it), but a
/// chain that differs from it is reported: the server showed a forged
/// program before.
pub fn trust(ctx: &Ctx, program: &str, fingerprint: &str) -> Result<()> {
    let id = parse_program(program)?;
    let fingerprint = DescriptorFingerprint::parse(fingerprint).context(
        "that is not a descriptor fingerprint (ten groups of five digits, as the manager's grant printed it)",
    )?;
    let (mut state, _, client) = ctx.connect()?;
    let offered = client.descriptors(&id)?;
    let anchor = state.anchor(&id)?;
    let pinned = state.pinned(&id)?;
    // Checked against what was confirmed before, if anything; a pin only
    // trusted on first use is compared but not relied on.
    let chain = ProgramAuthority::verify(&id, offered, None, anchor.as_ref())?;
    let new_anchor = chain.confirm(&fingerprint)?;
    let earlier_pin_differs = pinned
        .as_ref()
        .is_some_and(|p| chain.hash_at(p.unverified_body().version) != Some(&hash_of(p)));
    if earlier_pin_differs && anchor.is_some() {
        bail!(
            "the server's chain for program {id} does not contain the version this laptop verified before: the server forked the program; nothing was changed"
        );
    }
    // The newer of the two confirmations is kept: the chain contains both.
    if anchor
        .as_ref()
        .is_none_or(|a| a.version < new_anchor.version)
    {
        state.confirm(&id, &new_anchor);
    }
    state.pin(chain.current_signed());
    ctx.home.save(&state)?;
    let d = chain.current();
    let warning = earlier_pin_differs.then(|| {
        format!("warning: this laptop had pinned a different chain for program {id} before you confirmed it: the server showed you a forged program then. Tell the program's manager.")
    });
    if let Some(w) = &warning {
        eprintln!("{w}");
    }
    ctx.out.show(
        || {
            format!(
                "Program {id} ({:?}) confirmed at descriptor version {}; it is now at version {}.",
                d.name, new_anchor.version, d.version
            )
        },
        || {
            json!({"id": id.to_string(), "confirmed_version": new_anchor.version,
                   "version": d.version, "forged_before": earlier_pin_differs})
        },
    );
    Ok(())
}

/// Signs and uploads the next descriptor version after `change`, and pins
/// it. Returns it.
pub fn change(
    ctx: &Ctx,
    program: &ProgramId,
    change: impl FnOnce(&mut ProgramDescriptor) -> Result<()>,
) -> Result<SignedDescriptor> {
    match change_if(ctx, program, |d| change(d).map(|()| true))? {
        Changed::Signed(next) => Ok(*next),
        Changed::Unchanged { .. } => bail!("the change left the program as it was"),
    }
}

/// What [`change_if`] did.
#[derive(Debug)]
pub enum Changed {
    /// The new version, signed, accepted by the server and pinned.
    Signed(Box<SignedDescriptor>),
    /// Nothing to change, judged on the program's chain, which this person
    /// had (`confirmed`) or had not confirmed.
    Unchanged { confirmed: bool },
}

/// [`change`], where `change` says whether there is anything to change.
/// One chain, downloaded once; it must be confirmed for anything to be
/// signed.
pub fn change_if(
    ctx: &Ctx,
    program: &ProgramId,
    change: impl FnOnce(&mut ProgramDescriptor) -> Result<bool>,
) -> Result<Changed> {
    let (mut state, me, client) = ctx.connect()?;
    let chain = authority(&client, &mut state, program)?;
    ctx.home.save(&state)?;
    let current = chain.current_signed().clone();
    let mut next = ProgramDescriptor::successor(&current, now());
    if !change(&mut next)? {
        return Ok(Changed::Unchanged {
            confirmed: chain.is_confirmed(),
        });
    }
    chain.confirmed()?;
    if !current.unverified_body().is_manager(&me.id()) {
        bail!("you are not a manager of program {program}; ask one of its managers");
    }
    let next = next.sign(&me)?;
    let accepted = client
        .update_descriptor(&next)
        .context("the server refused the new descriptor version")?;
    // Pinned whatever the proof says: a server that answered "done" and
    // did not apply it is then caught by every later command (a rollback).
    state.pin(&next);
    ctx.home.save(&state)?;
    let log = state.log_pins(&client)?;
    let proven_in = super::log_follow::ProvenIn {
        client: &client,
        log: &log,
        kept: state.log_seen.clone(),
        home: &ctx.home,
    };
    proven_logged(&proven_in, &accepted, &next)?;
    Ok(Changed::Signed(Box::new(next)))
}

/// Proves that the server's log records `descriptor` as its program's new
/// version: a manager calls a change done only then, so a server cannot
/// answer "done" to a revoke and keep the reader. Returns the leaf index.
pub fn proven_logged(
    proven_in: &super::log_follow::ProvenIn<'_>,
    accepted: &sealdrop_api::DescriptorAccepted,
    descriptor: &SignedDescriptor,
) -> Result<u64> {
    let not_done = "the server says it took the change but does not prove that its log records it, so it may not have applied it. Check with `sealdrop program show`, and tell the operator";
    let proof = accepted.log.as_ref().context(not_done)?;
    let d = descriptor.unverified_body();
    proven_in
        .included(
            proof,
            &sealdrop_proto::log::entry::LogEntry::Descriptor {
                program: d.program_id,
                version: d.version,
                descriptor: hash_of(descriptor),
                at: accepted.logged_at,
            },
        )
        .context(not_done)?;
    Ok(proof.leaf_index)
}

pub fn update_questionnaire(
    ctx: &Ctx,
    program: &str,
    questionnaire: &std::path::Path,
) -> Result<()> {
    let id = parse_program(program)?;
    let (bytes, version) = read_questionnaire(questionnaire)?;
    let next = change(ctx, &id, |d| {
        if version <= d.questionnaire_version {
            bail!(
                "the questionnaire's version must be above the current {}",
                d.questionnaire_version
            );
        }
        d.questionnaire_digest = questionnaire_digest(&bytes);
        d.questionnaire_version = version;
        Ok(())
    })?;
    let (_, _, client) = ctx.connect()?;
    client
        .put_questionnaire(&id, &bytes)
        .context("the server refused the questionnaire")?;
    let d = next.unverified_body();
    ctx.out.show(
        || format!("Program {id}: questionnaire version {} in descriptor version {}.", d.questionnaire_version, d.version),
        || json!({"id": id.to_string(), "version": d.version, "questionnaire_version": d.questionnaire_version}),
    );
    Ok(())
}

pub fn set_retention(ctx: &Ctx, program: &str, days: u32) -> Result<()> {
    let id = parse_program(program)?;
    let next = change(ctx, &id, |d| {
        d.retention_days = days;
        Ok(())
    })?;
    let version = next.unverified_body().version;
    ctx.out.show(
        || format!("Program {id}: reports are kept {days} days (descriptor version {version})."),
        || json!({"id": id.to_string(), "version": version, "retention_days": days}),
    );
    Ok(())
}

/// `program witnesses`: the witnesses (and how many of them) the
/// program's clients require, in a new descriptor version. No specs is
/// `--none`.
pub fn set_witnesses(
    ctx: &Ctx,
    program: &str,
    specs: &[String],
    threshold: Option<u8>,
    max_age: &str,
) -> Result<()> {
    use sealdrop_proto::descriptor::{MAX_WITNESS_AGE_SECS, MIN_WITNESS_AGE_SECS};
    let id = parse_program(program)?;
    let mut witnesses: Vec<sealdrop_proto::descriptor::ProgramWitness> = Vec::new();
    for spec in specs {
        let w = sealdrop_client::witnesses::parse(spec)?;
        // The same key named twice is one witness.
        if !witnesses.iter().any(|k| k.key == *w.public_key()) {
            witnesses.push(sealdrop_proto::descriptor::ProgramWitness {
                name: w.name().to_owned(),
                key: *w.public_key(),
            });
        }
    }
    let max_age = u32::try_from(sealdrop_client::witnesses::parse_age(max_age)?)
        .ok()
        .filter(|a| (MIN_WITNESS_AGE_SECS..=MAX_WITNESS_AGE_SECS).contains(a))
        .ok_or_else(|| anyhow::anyhow!("--max-age must be between 1m and 7d"))?;
    let max_age = if witnesses.is_empty() { 0 } else { max_age };
    let count = u8::try_from(witnesses.len())
        .ok()
        .filter(|n| usize::from(*n) <= sealdrop_proto::descriptor::MAX_WITNESSES)
        .ok_or_else(|| anyhow::anyhow!("a program has at most 16 witnesses"))?;
    let threshold = threshold.unwrap_or(count);
    if threshold > count || (threshold == 0) != (count == 0) {
        bail!("--threshold must be between 1 and the {count} witness(es) given");
    }
    let next = change(ctx, &id, |d| {
        d.set_witnesses(witnesses, threshold, max_age);
        Ok(())
    })?;
    let body = next.unverified_body();
    let (version, have) = (body.version, body.witnesses.len());
    ctx.out.show(
        || {
            if have == 0 {
                format!("Program {id}: no witnesses (descriptor version {version}). Clients can no longer tell a server that shows one shopper an old recipient list for one upload.")
            } else {
                format!("Program {id}: {threshold} of {have} witness(es) must vouch, each with a cosignature at most {max_age} s old (descriptor version {version}).")
            }
        },
        || json!({"id": id.to_string(), "version": version, "witnesses": have, "threshold": threshold, "max_age": max_age}),
    );
    Ok(())
}

pub fn show(ctx: &Ctx, program: &str) -> Result<()> {
    let id = parse_program(program)?;
    let (mut state, _, client) = ctx.connect()?;
    let chain = authority(&client, &mut state, &id)?;
    ctx.home.save(&state)?;
    let confirmed = chain.is_confirmed();
    let d = chain.current();
    let people = |list: &[sealdrop_proto::PublicIdentity]| {
        list.iter()
            .map(|p| (p.id().to_string(), p.id().fingerprint().to_string()))
            .collect::<Vec<_>>()
    };
    let (managers, recipients) = (people(&d.managers), people(&d.recipients));
    let witnesses: Vec<(String, String)> = d
        .witnesses
        .iter()
        .map(|w| {
            // A valid key name: no control character, no space.
            (w.name.clone(), data_encoding::BASE64.encode(&w.key))
        })
        .collect();
    ctx.out.show(
        || {
            let mut t = format!(
                "Program {} ({:?})\nDescriptor version {} (verified from version 1)\n{}\nQuestionnaire version {}\nRetention {} days\nManagers:\n",
                d.program_id, d.name, d.version,
                // An unconfirmed chain's fingerprint is the server's word:
                // never shown where it could be copied into `trust`.
                if confirmed {
                    format!("Confirmed on this laptop; descriptor fingerprint {}", fingerprint_of(chain.current_signed()))
                } else {
                    "NOT CONFIRMED on this laptop: ask a manager of the program to read you its descriptor fingerprint, then run `sealdrop program trust`.".to_owned()
                },
                d.questionnaire_version, d.retention_days
            );
            for (id, fp) in &managers {
                t.push_str(&format!("  {id}  {fp}\n"));
            }
            if managers.len() < 2 {
                t.push_str("  (only one manager: programs should have two)\n");
            }
            t.push_str("Recipients:\n");
            for (id, fp) in &recipients {
                t.push_str(&format!("  {id}  {fp}\n"));
            }
            if d.witnesses.is_empty() {
                t.push_str("Witnesses: none (see `sealdrop program witnesses`)\n");
            } else {
                t.push_str(&format!("Witnesses ({} of them must vouch, each cosigned within {} s):\n", d.witness_threshold, d.witness_max_age));
                for (name, key) in &witnesses {
                    t.push_str(&format!("  {name}={key}\n"));
                }
            }
            t.trim_end().to_owned()
        },
        || {
            json!({"id": d.program_id.to_string(), "name": d.name, "version": d.version,
                   "fingerprint": confirmed.then(|| fingerprint_of(chain.current_signed()).to_string()),
                   "confirmed": confirmed,
                   "questionnaire_version": d.questionnaire_version, "retention_days": d.retention_days,
                   "managers": managers.iter().map(|(i, f)| json!({"id": i, "fingerprint": f})).collect::<Vec<_>>(),
                   "recipients": recipients.iter().map(|(i, f)| json!({"id": i, "fingerprint": f})).collect::<Vec<_>>(),
                   "witnesses": witnesses.iter().map(|(n, k)| json!({"name": n, "key": k})).collect::<Vec<_>>(),
                   "witness_threshold": d.witness_threshold, "witness_max_age": d.witness_max_age})
        },
    );
    Ok(())
}
