//! `audit checkpoint` and `audit witness`; and the witnesses a client
//! requires before it trusts a checkpoint.

use anyhow::{Context as _, Result, anyhow, bail};
use sealdrop_api::Role;
use sealdrop_client::{Client, log_check};
use sealdrop_proto::log::checkpoint::{
    Checkpoint, SignedCheckpoint, Witness, cosign, require_cosignatures,
};
use serde_json::json;

use super::audit_log;
use super::{Ctx, now};

/// The key name an auditor cosigns under (the server checks the same).
pub fn witness_name(person: &sealdrop_proto::PersonId) -> String {
    format!("sealdrop-witness/{person}")
}

/// A witness a client trusts, as `NAME=BASE64KEY` (what `audit witness`
/// prints).
pub fn parse_witness(text: &str) -> Result<Witness> {
    let (name, key) = text
        .split_once('=')
        .ok_or_else(|| anyhow!("{text:?} is not a witness like sealdrop-witness/sd…=KEY"))?;
    let key: [u8; 32] = data_encoding::BASE64
        .decode(key.as_bytes())
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| anyhow!("the witness key of {name} is not 32 bytes of base64"))?;
    Witness::new(name, &key).map_err(|e| anyhow!("the witness {name} is refused: {e}"))
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
    let memory = state.audit.clone();
    let progress = crate::output::Progress::open_ended(&ctx.out, "verifying the log");
    let view = audit_log::read(&client, &pins, memory.as_ref(), false, &progress)?;
    progress.finish();
    let view = view.map_err(|(what, why)| anyhow!("not cosigned: {what}: {why}"))?;
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
    let cursor = memory.map_or(0, |m| m.report_cursor);
    state.audit = Some(view.memory(cursor, now()));
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

/// The witnesses a command was told to require, and how many of them.
#[derive(Debug, Default)]
pub struct Trusted {
    pub witnesses: Vec<Witness>,
    pub need: usize,
}

impl Trusted {
    pub fn from_args(args: &crate::cli::WitnessArgs) -> Result<Self> {
        let witnesses = args
            .witnesses
            .iter()
            .map(|w| parse_witness(w))
            .collect::<Result<Vec<_>>>()?;
        let need = args.require_witnesses.unwrap_or(witnesses.len());
        if need > witnesses.len() {
            bail!("--require-witnesses {need} needs at least {need} --witness NAME=KEY");
        }
        Ok(Self { witnesses, need })
    }

    /// The newest cosigned checkpoint has `need` of the witnesses'
    /// cosignatures, and `current` extends it: the server shows this
    /// client the history the witnesses saw.
    pub fn vouch(
        &self,
        client: &Client,
        pins: &([u8; 32], String),
        current: &Checkpoint,
    ) -> std::result::Result<(), String> {
        require(client, pins, current, &self.witnesses, self.need)
    }
}

fn require(
    client: &Client,
    (log_key, origin): &([u8; 32], String),
    current: &Checkpoint,
    witnesses: &[Witness],
    need: usize,
) -> std::result::Result<(), String> {
    let note = client
        .log_checkpoint_cosigned()
        .map_err(|e| format!("the server offers no cosigned checkpoint: {e}"))?;
    let signed = SignedCheckpoint::parse_and_verify(&note, origin, log_key)
        .map_err(|e| format!("the cosigned checkpoint is refused: {e}"))?;
    let have = require_cosignatures(&signed, witnesses, need).map_err(|e| {
        format!("the witnesses you trust do not vouch for this log: {e}; the server may be showing you a history they never saw")
    })?;
    let witnessed = signed.checkpoint();
    if witnessed.size() > current.size() {
        return Err(format!(
            "the witnessed checkpoint has {} entries, more than the {} the server shows you",
            witnessed.size(),
            current.size()
        ));
    }
    let proof = client
        .log_consistency(witnessed.size(), current.size())
        .map_err(|e| format!("the server cannot prove its log extends the witnessed one: {e}"))?;
    log_check::extends(witnessed, current, &proof).map_err(|e| {
        format!("the log does not extend the checkpoint {have} witness(es) cosigned: {e}")
    })
}
