//! `program create|list|show`.

use anyhow::{Context as _, Result, bail};
use sealdrop_proto::descriptor::{DescriptorChain, ProgramDescriptor, SignedDescriptor};
use sealdrop_proto::hash::questionnaire_digest;
use sealdrop_proto::ids::ProgramId;
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
    client
        .create_program(&first)
        .context("the server refused the program")?;
    client
        .put_questionnaire(&first.unverified_body().program_id, &questionnaire)
        .context("the server refused the questionnaire")?;
    state.pin(&first);
    ctx.home.save(&state)?;
    let id = first.unverified_body().program_id;
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

/// Fetches the whole chain, verifies it from version 1, checks it extends
/// what this laptop pinned, and pins the newest version.
pub fn verified_current(
    client: &sealdrop_client::Client,
    state: &mut State,
    program: &ProgramId,
) -> Result<SignedDescriptor> {
    let versions = client.descriptors(program)?;
    let chain = DescriptorChain::verify_from_genesis(versions.iter().cloned())
        .context("the server's descriptor chain does not verify")?;
    if let Some(pinned) = state.pinned(program)? {
        let v = pinned.unverified_body().version;
        let held = versions.get(usize::try_from(v)?.saturating_sub(1));
        if held != Some(&pinned) {
            bail!(
                "the server's chain does not contain version {v} as this laptop verified it: a rollback or a fork"
            );
        }
    }
    let current = chain.current_signed().clone();
    state.pin(&current);
    Ok(current)
}

/// Signs and uploads the next descriptor version after `change`, and pins
/// it. Returns it.
pub fn change(
    ctx: &Ctx,
    program: &ProgramId,
    change: impl FnOnce(&mut ProgramDescriptor) -> Result<()>,
) -> Result<SignedDescriptor> {
    let (mut state, me, client) = ctx.connect()?;
    let current = verified_current(&client, &mut state, program)?;
    if !current.unverified_body().is_manager(&me.id()) {
        bail!("you are not a manager of this program");
    }
    let mut next = ProgramDescriptor::successor(&current, now());
    change(&mut next)?;
    let next = next.sign(&me)?;
    client
        .update_descriptor(&next)
        .context("the server refused the new descriptor version")?;
    state.pin(&next);
    ctx.home.save(&state)?;
    Ok(next)
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

pub fn show(ctx: &Ctx, program: &str) -> Result<()> {
    let id = parse_program(program)?;
    let (mut state, _, client) = ctx.connect()?;
    let current = verified_current(&client, &mut state, &id)?;
    ctx.home.save(&state)?;
    let d = current.unverified_body();
    let people = |list: &[sealdrop_proto::PublicIdentity]| {
        list.iter()
            .map(|p| (p.id().to_string(), p.id().fingerprint().to_string()))
            .collect::<Vec<_>>()
    };
    let (managers, recipients) = (people(&d.managers), people(&d.recipients));
    ctx.out.show(
        || {
            let mut t = format!(
                "Program {} ({:?})\nDescriptor version {} (verified from version 1)\nQuestionnaire version {}\nRetention {} days\nManagers:\n",
                d.program_id, d.name, d.version, d.questionnaire_version, d.retention_days
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
            t.trim_end().to_owned()
        },
        || {
            json!({"id": d.program_id.to_string(), "name": d.name, "version": d.version,
                   "questionnaire_version": d.questionnaire_version, "retention_days": d.retention_days,
                   "managers": managers.iter().map(|(i, f)| json!({"id": i, "fingerprint": f})).collect::<Vec<_>>(),
                   "recipients": recipients.iter().map(|(i, f)| json!({"id": i, "fingerprint": f})).collect::<Vec<_>>()})
        },
    );
    Ok(())
}
