//! `init`, `enroll`, `programs`.

use anyhow::{Context as _, Result, bail};
use sealdrop_api::B64;
use sealdrop_client::Client;
use sealdrop_keystore::KdfParams;
use sealdrop_proto::SecretIdentity;
use sealdrop_proto::descriptor::DescriptorChain;
use sealdrop_proto::hash::questionnaire_digest;
use sealdrop_proto::invite::{InviteBundle, verify_invite_against};
use serde_json::json;

use super::Ctx;
use crate::home::{Program, SecretBytes};
use crate::send::now;

pub fn init(ctx: &Ctx) -> Result<()> {
    let pass = sealdrop_keystore::obtain_passphrase(ctx.passphrase_file.as_deref(), true)?;
    ctx.home.init(&pass, KdfParams::DEFAULT)?;
    ctx.show(
        || {
            format!(
                "Created your keystore in {}.\nNext: `shopper enroll \"sdinvite1.…\"` with the invite your program manager sent you.",
                ctx.home.dir.display()
            )
        },
        || json!({"home": ctx.home.dir.display().to_string()}),
    );
    Ok(())
}

pub fn enroll(ctx: &Ctx, invite: &str) -> Result<()> {
    // Everything that can be checked offline, before anything is sent.
    let bundle = InviteBundle::parse(invite.trim(), now()).context("the invite is refused")?;
    let pins = bundle.invite.unverified_body().clone();
    let program_id = pins.program_id.to_string();
    let mut un = ctx.unlock()?;
    if un
        .state
        .programs
        .get(&program_id)
        .is_some_and(|p| p.enrolled_at > 0)
    {
        bail!("you are already enrolled in this program; see `shopper programs`");
    }

    // A fresh pseudonym, kept before it is used, so that a crash after the
    // server accepted it cannot lose it.
    let pseudonym = SecretIdentity::generate(&mut rand_core::UnwrapErr(getrandom::SysRng));
    un.state.programs.insert(
        program_id.clone(),
        Program {
            name: String::new(),
            server: pins.server_url.clone(),
            tls_pin: pins.tls_cert_sha256.map(|h| B64(h.to_vec())),
            log_key: B64(pins.log_key.to_vec()),
            log_origin: pins.log_origin.clone(),
            descriptor: B64(Vec::new()),
            questionnaire: None,
            pseudonym: SecretBytes::new(&pseudonym.to_secret_bytes()[..]),
            pseudonym_id: pseudonym.id().to_string(),
            enrolled_at: 0,
            log_checkpoint: None,
            earlier_logs: Vec::new(),
        },
    );
    ctx.home.save(&un)?;

    let enrolled = (|| -> Result<Program> {
        let mut client = Client::connect(&pins.server_url, pins.tls_cert_sha256)?;
        let enrolled = client.enrol_shopper(&bundle, &pseudonym).map_err(|e| {
            // The invite parsed as unexpired, and the manager registered it
            // before handing it over: refused as unknown or used means that
            // someone else used it first.
            if e.code() == Some(sealdrop_api::ErrorCode::BadToken) {
                anyhow::anyhow!(
                    "someone else used this invite: tell your manager (the server may be dishonest)"
                )
            } else {
                anyhow::Error::new(e).context(format!("{} refused the enrolment", pins.server_url))
            }
        })?;
        client.sign_in(&pseudonym)?;
        // The descriptor the invite pins, by hash, signed by a manager who
        // also signed the invite; then whatever chains from it.
        let versions = client.descriptors(&pins.program_id)?;
        let named = usize::try_from(pins.descriptor_version)
            .ok()
            .and_then(|v| v.checked_sub(1))
            .and_then(|i| versions.get(i))
            .context("the server does not have the program version the invite names")?
            .clone();
        DescriptorChain::pinned(named.clone(), &pins.descriptor_hash)
            .context("the server's program descriptor is not the one the invite pins")?;
        verify_invite_against(&bundle.invite, &named).context("the invite does not check out")?;
        // From the invite's version to the one the log proves current, in
        // the history that proved the enrolment (kept from now on).
        let mut program = Program {
            name: named.unverified_body().name.clone(),
            server: pins.server_url.clone(),
            tls_pin: pins.tls_cert_sha256.map(|h| B64(h.to_vec())),
            log_key: B64(pins.log_key.to_vec()),
            log_origin: pins.log_origin.clone(),
            descriptor: B64::of(&named),
            questionnaire: None,
            pseudonym: SecretBytes::new(&pseudonym.to_secret_bytes()[..]),
            pseudonym_id: pseudonym.id().to_string(),
            enrolled_at: now(),
            log_checkpoint: enrolled.log.map(|proof| proof.checkpoint),
            earlier_logs: Vec::new(),
        };
        let proven = crate::send::current_descriptor(&client, &program)
            .context("the program's later versions do not check out")?;
        let current = proven.descriptor;
        let body = current.unverified_body();
        let questionnaire =
            client.questionnaire(&pins.program_id, Some(&body.questionnaire_digest))?;
        if questionnaire_digest(&questionnaire) != body.questionnaire_digest {
            bail!("the server's questionnaire is not the one the program descriptor names");
        }
        program.name = body.name.clone();
        program.descriptor = B64::of(&current);
        program.questionnaire =
            Some(String::from_utf8(questionnaire).context("the questionnaire is not UTF-8")?);
        program.log_checkpoint = Some(proven.checkpoint);
        Ok(program)
    })();
    match enrolled {
        Ok(program) => {
            let name = program.name.clone();
            un.state.programs.insert(program_id.clone(), program);
            ctx.home.save(&un)?;
            let id = pseudonym.id().to_string();
            ctx.show(
                || format!("Enrolled in \"{name}\" ({program_id}).\nYour pseudonym there: {id}\nNext: `shopper new --out visit.json`."),
                || json!({"program": program_id, "name": name, "pseudonym": id}),
            );
            Ok(())
        }
        Err(e) => {
            un.state.programs.remove(&program_id);
            ctx.home.save(&un)?;
            Err(e)
        }
    }
}

pub fn programs(ctx: &Ctx) -> Result<()> {
    let mut un = ctx.unlock()?;
    super::queue::send_opportunistically(ctx, &mut un);
    let list: Vec<_> = un
        .state
        .programs
        .iter()
        .filter(|(_, p)| p.enrolled_at > 0)
        .map(|(id, p)| {
            let (version, witnesses) = p
                .descriptor()
                .map(|d| {
                    let d = d.unverified_body();
                    (d.version, (d.witness_threshold, d.witnesses.len()))
                })
                .unwrap_or((0, (0, 0)));
            (
                id.clone(),
                p.name.clone(),
                p.pseudonym_id.clone(),
                version,
                p.server.clone(),
                witnesses,
            )
        })
        .collect();
    ctx.show(
        || {
            if list.is_empty() {
                return "You are in no program yet; run `shopper enroll INVITE`.".into();
            }
            list.iter()
                .map(|(id, name, me, v, server, (need, of))| {
                    let witnessed = if *of == 0 {
                        "no witnesses".to_owned()
                    } else {
                        format!("{need} of {of} witnesses")
                    };
                    format!("{id}  \"{name}\"  version {v}  as {me}  at {server}  {witnessed}")
                })
                .collect::<Vec<_>>()
                .join("\n")
        },
        || {
            json!(
                list.iter()
                    .map(|(id, name, me, v, server, (need, of))| json!({
                        "program": id, "name": name, "pseudonym": me, "version": v, "server": server,
                        "witnesses": of, "witness_threshold": need
                    }))
                    .collect::<Vec<_>>()
            )
        },
    );
    Ok(())
}
