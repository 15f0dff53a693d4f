//! `audit checkpoint` and `audit witness`.

use anyhow::{Context as _, Result, anyhow, bail};
use sealdrop_api::Role;
use sealdrop_client::log_check;
pub use sealdrop_client::witnesses::Trusted;
use sealdrop_proto::log::checkpoint::{SignedCheckpoint, cosign};
use serde_json::json;

use super::audit_log;
use super::{Ctx, now};

/// The key name an auditor cosigns under (the server checks the same).
pub fn witness_name(person: &sealdrop_proto::PersonId) -> String {
    format!("sealdrop-witness/{person}")
}

pub fn checkpoint(ctx: &Ctx) -> Result<()> {
    let (mut state, _, client) = ctx.connect()?;
    let (key, origin) = state.log_pins(&client)?;
    ctx.home.save(&state)?;
    let note = client.log_checkpoint()?;
    let cp = log_check::checkpoint(&note, &origin, &key)
        .context("the server's checkpoint is refused")?;
    let text = String::from_utf8(note).context("the checkpoint is not UTF-8")?;
    ctx.out.show(
        || text.trim_end().to_owned(),
        || {
            json!({"origin": cp.origin(), "size": cp.size(),
                   "root": data_encoding::BASE64.encode(cp.root()), "note": text})
        },
    );
    Ok(())
}

/// `audit witness --every`: cosign after each interval until stopped. A
/// run that fails (a server that shows another history, or cannot be
/// reached) is reported on stderr and tried again at the next interval:
/// the witness goes quiet, and clients notice its cosignatures aging.
pub fn serve(ctx: &Ctx, every: &str) -> Result<()> {
    let interval = sealdrop_client::witnesses::parse_age(every)?;
    loop {
        if let Err(e) = witness(ctx) {
            eprintln!("error: {e:#} (trying again in {every})");
        }
        std::thread::sleep(std::time::Duration::from_secs(interval));
    }
}

/// Verifies the log as `audit verify` does (consistency with the last
/// checkpoint this auditor verified, every new entry), then cosigns the
/// checkpoint and hands the cosignature to the server.
pub fn witness(ctx: &Ctx) -> Result<()> {
    let (mut state, me, client) = ctx.connect()?;
    if state.role != Some(Role::Auditor) {
        bail!(
            "only auditors witness checkpoints (you enrolled as {:?})",
            state.role
        );
    }
    let pins = state.log_pins(&client)?;
    // The witness's own memory of what it cosigned (or, the first time,
    // what this auditor verified), so cosigning never skips entries the
    // audit has yet to match with the data.
    let memory = state.witness.clone().or_else(|| state.audit.clone());
    let progress = crate::output::Progress::open_ended(&ctx.out, "verifying the log");
    // A memory from before the heads line holds no heads to start from:
    // this run reads the whole log once.
    let full = memory.as_ref().is_some_and(|m| m.heads.is_none());
    let view = audit_log::read(&client, &pins, memory.as_ref(), full, &progress)?;
    progress.finish();
    let view = view.map_err(|(what, why)| anyhow!("not cosigned: {what}: {why}"))?;
    // After a restore, the checkpoint verified when it was followed binds
    // what this witness cosigns until its memory does.
    if memory.is_none()
        && let Some(kept) = &state.log_seen
    {
        super::log_follow::extends_kept(&client, &pins, kept, &view.checkpoint)
            .context("not cosigned")?;
    }
    let name = witness_name(&me.id());
    let line = cosign(&view.checkpoint, &name, me.signing(), now())
        .map_err(|e| anyhow!("cannot cosign: {e}"))?;
    let mut signed = SignedCheckpoint::parse_and_verify(view.note.as_bytes(), &pins.1, &pins.0)
        .context("the checkpoint does not verify")?;
    signed
        .add_signature(line)
        .map_err(|e| anyhow!("cannot add the cosignature: {e}"))?;
    client
        .log_cosign(&signed.to_text())
        .context("the server refused the cosignature")?;
    state.witness = Some(view.memory(0, now()));
    ctx.home.save(&state)?;
    let key = data_encoding::BASE64.encode(me.signing().verifying_key().as_bytes());
    let size = view.checkpoint.size();
    ctx.out.show(
        || {
            format!(
                "Cosigned the checkpoint of {size} entries as {name}.\nClients trust this witness with: --witness {name}={key}"
            )
        },
        || json!({"size": size, "witness": name, "key": key}),
    );
    Ok(())
}

/// The witnesses a command was told to require.
pub fn trusted(args: &crate::cli::WitnessArgs) -> Result<Trusted> {
    let max_age = sealdrop_client::witnesses::parse_age(&args.witness_max_age)?;
    Ok(Trusted::parse(&args.witnesses, args.require_witnesses)?.with_max_age(max_age))
}
