//! Who may manage and read: `program managers add`, `grant`, `revoke`.

use anyhow::{Context as _, Result, bail};
use sealdrop_api::{B64, GrantUpload, Role};
use sealdrop_client::Client;
use sealdrop_proto::descriptor::SignedDescriptor;
use sealdrop_proto::ids::{Fingerprint, PersonId, ProgramId, ReportId};
use sealdrop_proto::keys::{PublicIdentity, SecretIdentity};
use sealdrop_proto::report::{Envelope, GrantRecord};
use serde_json::json;

use super::fetch::{Shoppers, shopper_chain};
use super::program::{
    Changed, change, change_if, confirmation_line, confirmed_authority, fingerprint_of,
    parse_program, proven_logged,
};
use super::{Ctx, now};
use sealdrop_verify::ProgramAuthority;
use sealdrop_verify::release::{ReaderView, verify_release};

/// A grant record holds at most this many envelopes; more go in follow-ups.
const GRANT_BATCH: usize = 5_000;

/// The keys of the person a fingerprint names, as the server has them,
/// checked: the ID commits to the keys, so keys that do not derive the
/// fingerprint's ID are refused, whoever handed them out.
fn keys_for(
    client: &Client,
    fingerprint: &str,
    expected: Option<&PersonId>,
) -> Result<(PublicIdentity, Role)> {
    let id = Fingerprint::parse(fingerprint)
        .context("that is not a fingerprint (ten groups of five digits) or an ID")?
        .person_id();
    if let Some(expected) = expected.filter(|e| **e != id) {
        bail!("the fingerprint does not belong to {expected}: check it with them again, out loud");
    }
    let person = client
        .person(&id)
        .with_context(|| format!("the server knows no {id} in your organisation"))?;
    let identity = PublicIdentity::from_bundle(&person.identity)
        .context("the server's key bundle for that person is malformed")?;
    if identity.id() != id {
        bail!("the server handed out keys that do not match {id}: refusing them");
    }
    if person.disabled {
        bail!("{id} is disabled on the server");
    }
    Ok((identity, person.role))
}

pub fn add_manager(ctx: &Ctx, program: &str, fingerprint: &str) -> Result<()> {
    let id = parse_program(program)?;
    let (_, _, client) = ctx.connect()?;
    let (manager, role) = keys_for(&client, fingerprint, None)?;
    if role != Role::Manager {
        bail!("{} is enrolled as {role}, not as a manager", manager.id());
    }
    let next = change(ctx, &id, |d| {
        if d.is_manager(&manager.id()) {
            bail!("{} already manages this program", manager.id());
        }
        d.add_manager(manager);
        Ok(())
    })?;
    let d = next.unverified_body();
    ctx.out.show(
        || {
            format!(
                "{} now manages program {id} (descriptor version {}).\n{}",
                manager.id(),
                d.version,
                confirmation_line(&id, &next)
            )
        },
        || {
            json!({"id": id.to_string(), "version": d.version, "managers": d.managers.len(),
                  "descriptor_fingerprint": fingerprint_of(&next).to_string()})
        },
    );
    Ok(())
}

pub fn remove_manager(ctx: &Ctx, program: &str, manager: &str) -> Result<()> {
    let id = parse_program(program)?;
    let manager: PersonId = manager
        .trim()
        .parse()
        .context("--manager is not a person ID (they start with `sd`)")?;
    let next = change(ctx, &id, |d| {
        if !d.is_manager(&manager) {
            bail!("{manager} does not manage program {id}");
        }
        if d.managers.len() == 1 {
            bail!("{manager} is the program's only manager; add another one first");
        }
        d.remove_manager(&manager);
        Ok(())
    })?;
    let d = next.unverified_body();
    ctx.out.show(
        || {
            format!(
                "{manager} no longer manages program {id} (descriptor version {}); their invites not yet used no longer work.",
                d.version
            )
        },
        || json!({"id": id.to_string(), "version": d.version, "managers": d.managers.len(), "removed": manager.to_string()}),
    );
    Ok(())
}

/// What re-wrapping checks each report against: the granting manager, the
/// log they pinned, and the program's one verified chain.
struct Rewrapper<'a> {
    client: &'a Client,
    me: &'a SecretIdentity,
    log: &'a ([u8; 32], String),
    authority: &'a ProgramAuthority,
    shoppers: Shoppers,
}

impl Rewrapper<'_> {
    /// Verifies `report` as `fetch` would (this program's, signed by a
    /// shopper who chains to a manager's invite in this chain, my envelope
    /// sealed or granted, its release logged), then opens it with my
    /// envelope and wraps its key for `to`. A manager never signs a grant
    /// over a report the server slipped in from elsewhere.
    fn rewrap(&self, report: &ReportId, to: &PublicIdentity) -> Result<Envelope> {
        let release = self.client.release(report)?;
        let view = ReaderView {
            reader: &self.me.id(),
            log_key: &self.log.0,
            log_origin: &self.log.1,
            authority: self.authority,
        };
        let verified = verify_release(&view, report, &release, |key| {
            shopper_chain(self.client, key, self.authority, &self.shoppers)
        })
        .with_context(|| format!("report {report} does not verify; nothing was granted"))?;
        let key = verified
            .record()
            .unwrap_key(verified.envelope(), self.me)
            .with_context(|| format!("cannot open report {report} with your key"))?;
        Ok(verified
            .record()
            .wrap_for(&key, to, &mut rand_core::UnwrapErr(getrandom::SysRng))?)
    }
}

/// Uploads one grant record with its envelopes (and, the first time, the
/// version that adds the recipient: `pin` then pins it once the server
/// took it), and calls it done only once the server proves its log records
/// the grant (and the version) under the pinned log key: a server that
/// answers "done" without applying it is caught here.
fn upload_grant(
    client: &Client,
    me: &SecretIdentity,
    proven_in: &super::log_follow::ProvenIn<'_>,
    program: &ProgramId,
    (descriptor, pin): (&SignedDescriptor, Option<&mut dyn FnMut() -> Result<()>>),
    to: &PublicIdentity,
    envelopes: Vec<(ReportId, Envelope)>,
) -> Result<Vec<String>> {
    let record = GrantRecord {
        program_id: *program,
        descriptor_version: descriptor.unverified_body().version,
        recipient: *to,
        granted_at: now(),
        envelopes: envelopes.iter().map(|(r, e)| (*r, e.hash())).collect(),
    }
    .sign(me, descriptor.unverified_body())?;
    // The server wants the envelopes in the record's order (sorted by report).
    let mut envelopes = envelopes;
    envelopes.sort_by_key(|(r, _)| *r);
    let accepted = client.grant(
        program,
        &GrantUpload {
            descriptor: pin.is_some().then(|| B64::of(descriptor)),
            grant: B64::of(&record),
            envelopes: envelopes.iter().map(|(_, e)| B64::of(e)).collect(),
        },
    )?;
    let with_descriptor = pin.is_some();
    if let Some(pin) = pin {
        pin()?;
    }
    let not_done = "the server says it took the grant but does not prove that its log records it, so it may not have applied it. Check with `sealdrop program show`, and tell the operator";
    let granted = sealdrop_proto::log::entry::LogEntry::Granted {
        program: *program,
        recipient: to.id(),
        grant: record.hash(sealdrop_proto::labels::HASH_GRANT_RECORD),
        at: accepted.logged_at,
    };
    let proof = accepted.log.as_ref().context(not_done)?;
    proven_in.included(proof, &granted).context(not_done)?;
    if with_descriptor {
        proven_logged(
            proven_in,
            &sealdrop_api::DescriptorAccepted {
                program: program.to_string(),
                version: descriptor.unverified_body().version,
                revoked: Vec::new(),
                logged_at: accepted.logged_at,
                log: accepted.descriptor_log.clone(),
            },
            descriptor,
        )?;
    }
    Ok(accepted.missing)
}

pub fn grant(ctx: &Ctx, program: &str, to: &str, fingerprint: &str) -> Result<()> {
    let program = parse_program(program)?;
    let to_id: PersonId = to
        .trim()
        .parse()
        .context("--to is not a person ID (they start with `sd`)")?;
    let (mut state, me, client) = ctx.connect()?;
    let (recipient, role) = keys_for(&client, fingerprint, Some(&to_id))?;
    if !matches!(role, Role::Manager | Role::Staff) {
        bail!("{to_id} is enrolled as {role}; only managers and staff can read reports");
    }
    let log = state.log_pins(&client)?;
    let proven_in = super::log_follow::ProvenIn {
        client: &client,
        log: &log,
        kept: state.log_seen.clone(),
        home: &ctx.home,
    };
    let authority = confirmed_authority(&client, &mut state, &program)?;
    let current = authority.current_signed();
    if current.unverified_body().is_recipient(&to_id) {
        bail!("{to_id} can already read program {program}");
    }
    if !current.unverified_body().is_manager(&me.id()) {
        bail!("you are not a manager of program {program}");
    }
    let mut next = sealdrop_proto::descriptor::ProgramDescriptor::successor(current, now());
    next.add_recipient(recipient);
    let next = next.sign(&me)?;

    // Every report this laptop can open now, re-wrapped for the recipient.
    let reports: Vec<ReportId> = client
        .inbox(Some(&program), None)?
        .iter()
        .map(|e| e.report.parse())
        .collect::<Result<_, _>>()
        .context("the server listed a malformed report ID")?;
    let rewrapper = Rewrapper {
        client: &client,
        me: &me,
        log: &log,
        authority: &authority,
        shoppers: Shoppers::default(),
    };
    let mut wrapped = Vec::with_capacity(reports.len());
    for report in &reports {
        wrapped.push((*report, rewrapper.rewrap(report, &recipient)?));
    }
    let mut batches = wrapped.chunks(GRANT_BATCH).map(<[_]>::to_vec);
    let mut missing = match batches.next() {
        Some(first) => {
            // Pinned as soon as the server took it, as every change: a
            // server that answered "done" without applying it is caught
            // here and by later commands.
            let mut pin = || {
                state.pin(&next);
                ctx.home.save(&state)
            };
            upload_grant(
                &client,
                &me,
                &proven_in,
                &program,
                (&next, Some(&mut pin)),
                &recipient,
                first,
            )?
        }
        None => {
            // Nothing to re-wrap: the new version alone adds them.
            let accepted = client.update_descriptor(&next)?;
            // Pinned first, as every change: a server that answered
            // "done" without applying it is caught by later commands.
            state.pin(&next);
            ctx.home.save(&state)?;
            proven_logged(&proven_in, &accepted, &next)?;
            Vec::new()
        }
    };
    for batch in batches {
        missing.extend(upload_grant(
            &client,
            &me,
            &proven_in,
            &program,
            (&next, None),
            &recipient,
            batch,
        )?);
    }
    state.pin(&next);
    ctx.home.save(&state)?;
    // Reports that arrived meanwhile, or that the server says were missed.
    let mut rounds = 0;
    while !missing.is_empty() && rounds < 3 {
        let ids: Vec<ReportId> = missing
            .iter()
            .map(|m| m.parse())
            .collect::<Result<_, _>>()?;
        let mut more = Vec::new();
        for report in &ids {
            more.push((*report, rewrapper.rewrap(report, &recipient)?));
        }
        missing = upload_grant(
            &client,
            &me,
            &proven_in,
            &program,
            (&next, None),
            &recipient,
            more,
        )?;
        rounds += 1;
    }
    if !missing.is_empty() {
        bail!(
            "{} reports could not be re-wrapped for {to_id} (you may not hold their envelopes); run grant again",
            missing.len()
        );
    }
    let version = next.unverified_body().version;
    ctx.out.show(
        || {
            format!(
                "{to_id} can now read program {program}: {} existing reports re-wrapped, descriptor version {version}.\n{}",
                reports.len(),
                confirmation_line(&program, &next)
            )
        },
        || json!({"program": program.to_string(), "to": to_id.to_string(), "rewrapped": reports.len(), "version": version,
                  "descriptor_fingerprint": fingerprint_of(&next).to_string()}),
    );
    Ok(())
}

pub fn revoke(ctx: &Ctx, program: Option<&str>, all: bool, from: &str) -> Result<()> {
    let from: PersonId = from
        .trim()
        .parse()
        .context("--from is not a person ID (they start with `sd`)")?;
    let programs: Vec<ProgramId> = match (program, all) {
        (Some(p), _) => vec![parse_program(p)?],
        (None, true) => {
            // Every program the server lists and every one this laptop
            // pinned: a server that leaves a program out of its list does
            // not keep a dismissed reader there.
            let (state, _, client) = ctx.connect()?;
            let mut all = std::collections::BTreeSet::new();
            for summary in client.programs()? {
                all.insert(
                    summary
                        .program
                        .parse::<ProgramId>()
                        .context("the server listed a malformed program ID")?,
                );
            }
            for pinned in state.programs.keys().chain(state.confirmed.keys()) {
                all.insert(parse_program(pinned)?);
            }
            all.into_iter().collect()
        }
        (None, false) => bail!("give --program P or --all-programs"),
    };
    let (mut done, mut failed, mut unconfirmed) = (Vec::new(), Vec::new(), Vec::new());
    for id in &programs {
        let single = program.is_some();
        let outcome = change_if(ctx, id, |d| {
            if !d.is_recipient(&from) {
                if single {
                    bail!("{from} cannot read program {id} already");
                }
                return Ok(false);
            }
            d.remove_recipient(&from);
            Ok(true)
        });
        match outcome {
            Ok(Changed::Signed(next)) => done.push(
                json!({"program": id.to_string(), "version": next.unverified_body().version}),
            ),
            Ok(Changed::Unchanged { confirmed: true }) => {}
            Ok(Changed::Unchanged { confirmed: false }) => unconfirmed.push(id.to_string()),
            Err(e) if single => return Err(e),
            Err(e) => failed.push((id.to_string(), format!("{e:#}"))),
        }
    }
    ctx.out.show(
        || {
            let mut t = if done.is_empty() {
                format!("{from} could read none of the programs you manage.")
            } else {
                format!(
                    "{from} can no longer read {} program(s); the server deleted their envelopes.",
                    done.len()
                )
            };
            for (program, why) in &failed {
                t.push_str(&format!("\nNOT REVOKED in {program}: {why}"));
            }
            if !unconfirmed.is_empty() {
                t.push_str(&format!(
                    "\nNot a reader, as the server shows them, of {} program(s) you have not confirmed: {}",
                    unconfirmed.len(),
                    unconfirmed.join(", ")
                ));
            }
            t
        },
        || {
            json!({"from": from.to_string(), "revoked": done, "unconfirmed": unconfirmed,
                   "failed": failed.iter().map(|(p, w)| json!({"program": p, "reason": w})).collect::<Vec<_>>()})
        },
    );
    if !failed.is_empty() {
        bail!(
            "{from} may still read {} program(s) listed above; resolve each and run revoke again",
            failed.len()
        );
    }
    Ok(())
}
