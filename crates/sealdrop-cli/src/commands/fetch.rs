//! `fetch`: download, verify everything, decrypt, write one folder per
//! report. A report is decrypted only after every check passed, and its
//! folder appears only whole (written under a temporary name, then renamed);
//! a report that fails is listed with the reason and never written.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use sealdrop_api::InboxEntry;
use sealdrop_client::{Client, log_check};
use sealdrop_proto::codec::Decode as _;
use sealdrop_proto::descriptor::{DescriptorChain, SignedDescriptor};
use sealdrop_proto::ids::{ProgramId, ReportId};
use sealdrop_proto::invite::{SignedEnrolment, SignedInvite, verify_shopper_chain};
use sealdrop_proto::keys::{PublicIdentity, SecretIdentity};
use sealdrop_proto::log::entry::LogEntry;
use sealdrop_proto::messages::Acknowledgement;
use sealdrop_proto::report::{Envelope, ReportRecord, SignedGrant, grant::verify_grant};
use sealdrop_proto::signed::Signed;
use serde_json::json;

use super::Ctx;
use super::program::parse_program;
use crate::pipeline::{ReadAhead, WriteBehind};

/// Reports fetched at once.
const FETCH_THREADS: usize = 4;

/// Every verified descriptor version of a program, oldest first.
struct Versions(Vec<SignedDescriptor>);

impl Versions {
    fn get(&self, version: u64) -> Result<&SignedDescriptor> {
        usize::try_from(version)
            .ok()
            .and_then(|v| v.checked_sub(1))
            .and_then(|i| self.0.get(i))
            .ok_or_else(|| {
                anyhow!("it names descriptor version {version}, which the chain does not have")
            })
    }
}

fn versions(
    client: &Client,
    state: &mut crate::home::State,
    program: &ProgramId,
) -> Result<Versions> {
    let all = client.descriptors(program)?;
    DescriptorChain::verify_from_genesis(all.iter().cloned())
        .context("the program's descriptor chain does not verify")?;
    super::program::verified_current(client, state, program)?;
    Ok(Versions(all))
}

/// A file name from a report, made safe: no directories, no `..`, no
/// control characters, not hidden, not empty.
pub fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() || c == ':' {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    let mut out: String = trimmed.chars().take(200).collect();
    if out.is_empty() || out == "report.json" || out == "verification.json" {
        out = format!("attachment-{out}");
    }
    out
}

/// `name`, or `name (2)`, `name (3)`… whichever is not taken yet.
fn unique(dir: &Path, name: &str, taken: &mut Vec<String>) -> String {
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    let mut candidate = name.to_owned();
    let mut n = 2;
    while taken.contains(&candidate) || dir.join(&candidate).exists() {
        candidate = format!("{stem} ({n}){ext}");
        n += 1;
    }
    taken.push(candidate.clone());
    candidate
}

fn private_dir(path: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .with_context(|| format!("cannot create {}", path.display()))
}

/// Each shopper's chain, checked once per run: their enrolled key and the
/// manager whose invite they used, or why the chain fails.
type Shoppers =
    std::sync::Mutex<BTreeMap<String, std::result::Result<(PublicIdentity, String), String>>>;

fn shopper_chain(
    client: &Client,
    shopper: &PublicIdentity,
    versions: &Versions,
    cache: &Shoppers,
) -> Result<String> {
    let id = shopper.id().to_string();
    let cached = cache.lock().ok().and_then(|c| c.get(&id).cloned());
    let result = match cached {
        Some(r) => r,
        None => {
            let r = (|| -> Result<(PublicIdentity, String)> {
                let person = client.person(&shopper.id())?;
                let (invite, enrolment) = match (person.invite, person.enrolment) {
                    (Some(i), Some(e)) => (
                        SignedInvite::from_bytes(&i.0)
                            .context("the shopper's invite is malformed")?,
                        SignedEnrolment::from_bytes(&e.0)
                            .context("the shopper's enrolment is malformed")?,
                    ),
                    _ => bail!(
                        "the shopper has no invite and enrolment: not enrolled through a manager"
                    ),
                };
                let named = versions.get(invite.unverified_body().descriptor_version)?;
                let (_, manager) =
                    verify_shopper_chain(&enrolment, &invite, named).map_err(|e| {
                        anyhow!("the shopper does not chain to a manager's invite: {e}")
                    })?;
                Ok((enrolment.unverified_body().shopper, manager.to_string()))
            })()
            .map_err(|e| format!("{e:#}"));
            if let Ok(mut c) = cache.lock() {
                c.insert(id, r.clone());
            }
            r
        }
    };
    let (enrolled, manager) = result.map_err(|e| anyhow!(e))?;
    if enrolled != *shopper {
        bail!("the report is signed by a key other than the enrolled pseudonym's");
    }
    Ok(manager)
}

/// Who is fetching, over which connection, trusting which log key and
/// witnesses.
struct Reader<'a> {
    client: &'a Client,
    me: &'a SecretIdentity,
    log: &'a ([u8; 32], String),
    trusted: &'a super::witness::Trusted,
}

/// Verifies one report and writes its folder; returns the folder.
fn fetch_one(
    reader: &Reader<'_>,
    entry: &InboxEntry,
    versions: &Versions,
    shoppers: &Shoppers,
    out: &Path,
) -> Result<PathBuf> {
    let Reader {
        client,
        me,
        log,
        trusted,
    } = *reader;
    let report: ReportId = entry.report.parse().context("a malformed report ID")?;
    let release = client.release(&report)?;

    // The shopper's signature, strictly, over H0, envelope hashes and digests.
    let record = ReportRecord::from_bytes(&release.record.0)
        .context("the report record is malformed")?
        .verify()
        .map_err(|_| anyhow!("the shopper's signature does not verify"))?;
    let core = &record.header().core;
    if core.report_id != report || core.program_id.to_string() != entry.program {
        bail!("the record is for another report or program than the server listed");
    }

    // The shopper chains to a manager's invite.
    let manager_id = shopper_chain(client, &core.shopper, versions, shoppers)?;

    // My envelope: sealed by the shopper, or added by a manager's grant.
    let envelope =
        Envelope::from_bytes(&release.envelope.0).context("the envelope is malformed")?;
    let granted_by = if record.is_signed_envelope(&envelope) {
        None
    } else {
        let grant = release
            .grant
            .as_ref()
            .ok_or_else(|| anyhow!("the envelope is neither signed by the shopper nor granted"))?;
        let grant = SignedGrant::from_bytes(&grant.0).context("the grant record is malformed")?;
        let version = versions.get(grant.unverified_body().descriptor_version)?;
        let body = verify_grant(&grant, version.unverified_body())
            .map_err(|e| anyhow!("the grant record does not verify: {e}"))?;
        if !body.covers(&report, &envelope.hash()) {
            bail!("the grant record does not name this envelope");
        }
        Some(grant.signer_key().to_owned())
    };

    let (log_key, log_origin) = log;
    // The server's acknowledgement names this report.
    let ack = Signed::<Acknowledgement>::from_bytes(&release.acknowledgement.0)
        .context("the acknowledgement is malformed")?;
    let ack_body = ack
        .verify_by_key(log_key)
        .map_err(|_| anyhow!("the acknowledgement is not signed by the server's log key"))?;
    if ack_body.sealed_report != record.record().hash() || ack_body.report_id != report {
        bail!("the acknowledgement names another report");
    }

    // The log records this release to me: a release the server keeps out
    // of its log is never decrypted.
    let released = LogEntry::Released {
        report,
        person: me.id(),
        at: release.released_at,
    };
    let checkpoint = log_check::included(&release.log, &released, log_origin, log_key)
        .context("not decrypted: the server does not prove that its log records this release")?;
    trusted
        .vouch(client, log_key, log_origin, &checkpoint)
        .map_err(|why| anyhow!("not decrypted: {why}"))?;

    // Only now: decrypt, into a temporary folder.
    let key = record
        .unwrap_key(&envelope, me)
        .map_err(|_| anyhow!("the envelope does not open with your key"))?;
    let opener = record.opener(&key)?;
    let content = opener
        .open_content(&mut client.stream_reader(&report, 0)?)
        .map_err(|e| anyhow!("the content does not decrypt: {e}"))?;
    let tmp = out.join(format!(".partial-{report}"));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).ok();
    }
    private_dir(&tmp)?;
    let result = (|| -> Result<serde_json::Value> {
        let mut taken = Vec::new();
        let mut attachments = Vec::new();
        for (n, meta) in content.attachments.iter().enumerate() {
            let name = unique(&tmp, &safe_name(&meta.file_name), &mut taken);
            // Network reads and file writes on threads of their own, so
            // this one only decrypts (docs: crate::pipeline).
            let mut file = WriteBehind::new(fs::File::create(tmp.join(&name))?);
            let mut ciphertext =
                ReadAhead::new(client.stream_reader(&report, u32::try_from(n + 1)?)?);
            opener
                .open_attachment(n, &mut ciphertext, &mut file)
                .map_err(|e| anyhow!("attachment {n} does not decrypt: {e}"))?;
            file.finish()
                .with_context(|| format!("cannot write {name}"))?;
            attachments.push(json!({"file": name, "name": meta.file_name,
                                    "captured_at": meta.captured_at, "media_type": meta.media_type}));
        }
        let answers: serde_json::Value =
            serde_json::from_slice(&content.answers).unwrap_or_else(|_| {
                String::from_utf8_lossy(&content.answers)
                    .into_owned()
                    .into()
            });
        let report_json = json!({"report": report.to_string(), "program": entry.program,
                                 "answers": answers, "attachments": attachments});
        fs::write(
            tmp.join("report.json"),
            serde_json::to_vec_pretty(&report_json)?,
        )?;
        let verification = json!({
            "report": report.to_string(),
            "program": entry.program,
            "signer": core.shopper.id().to_string(),
            "signature": "valid (Ed25519, strict)",
            "inviting_manager": manager_id.to_string(),
            "descriptor_version": record.header().descriptor_version,
            "questionnaire_digest": hex(&core.questionnaire_digest),
            "created_at": core.created_at,
            "received_at": ack_body.received_at,
            "record_hash": hex(&record.record().hash()),
            "streams": record.record().streams.iter().map(|s| json!({"ciphertext_len": s.ciphertext_len, "sha256": hex(&s.sha256)})).collect::<Vec<_>>(),
            "envelope": if granted_by.is_some() { "added by a manager's grant" } else { "sealed by the shopper" },
            "acknowledgement": sealdrop_api::B64(release.acknowledgement.0.clone()),
        });
        let mut f = fs::File::create(tmp.join("verification.json"))?;
        f.write_all(&serde_json::to_vec_pretty(&verification)?)?;
        Ok(report_json)
    })();
    if let Err(e) = result {
        fs::remove_dir_all(&tmp).ok();
        return Err(e);
    }
    let folder = out.join(report.to_string());
    fs::rename(&tmp, &folder).context("cannot move the report into place")?;
    Ok(folder)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Returns the number of reports that failed.
pub fn fetch(
    ctx: &Ctx,
    program: Option<&str>,
    out: &Path,
    trusted: &super::witness::Trusted,
) -> Result<usize> {
    let program = program.map(parse_program).transpose()?;
    let (mut state, me, client) = ctx.connect()?;
    let log = state.log_pins(&client)?;
    ctx.home.save(&state)?;
    private_dir(out)?;
    let entries = client.inbox(program.as_ref(), None)?;
    let mut chains: BTreeMap<String, Versions> = BTreeMap::new();
    let (mut written, mut skipped) = (Vec::new(), 0usize);
    let mut failed = Vec::new();
    let mut todo = Vec::new();
    for entry in &entries {
        if out.join(&entry.report).join("verification.json").exists() {
            skipped += 1;
            continue;
        }
        if !chains.contains_key(&entry.program) {
            let id: ProgramId = entry.program.parse()?;
            chains.insert(entry.program.clone(), versions(&client, &mut state, &id)?);
        }
        todo.push(entry);
    }
    // Four at a time: most of the time is waiting on the network.
    let progress = crate::output::Progress::new(&ctx.out, "fetching", todo.len());
    let shoppers = Shoppers::default();
    let reader = Reader {
        client: &client,
        me: &me,
        log: &log,
        trusted,
    };
    let results = std::sync::Mutex::new(Vec::with_capacity(todo.len()));
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..FETCH_THREADS {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(entry) = todo.get(i) else { break };
                    progress.at(i + 1);
                    let result = match chains.get(&entry.program) {
                        Some(versions) => fetch_one(&reader, entry, versions, &shoppers, out),
                        None => Err(anyhow!("no verified chain for the program")),
                    };
                    if let Ok(mut r) = results.lock() {
                        r.push((entry.report.clone(), result));
                    }
                }
            });
        }
    });
    progress.finish();
    let mut results = results
        .into_inner()
        .map_err(|_| anyhow!("a fetching thread failed"))?;
    results.sort_by(|a, b| a.0.cmp(&b.0));
    for (report, result) in results {
        match result {
            Ok(folder) => written.push(folder),
            Err(e) => failed.push((report, format!("{e:#}"))),
        }
    }
    state.fetched_to = Some(out.to_path_buf());
    ctx.home.save(&state)?;
    ctx.out.show(
        || {
            let mut t = format!(
                "Fetched {} new report(s) into {} ({} already there).",
                written.len(),
                out.display(),
                skipped
            );
            for (report, why) in &failed {
                t.push_str(&format!("\nNOT WRITTEN {report}: {why}"));
            }
            t
        },
        || {
            json!({"fetched": written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
                   "skipped": skipped,
                   "failed": failed.iter().map(|(r, w)| json!({"report": r, "reason": w})).collect::<Vec<_>>()})
        },
    );
    Ok(failed.len())
}

#[cfg(test)]
mod tests {
    use super::safe_name;

    #[test]
    fn names_are_made_safe() {
        assert_eq!(safe_name("../../x"), "_.._x");
        assert_eq!(safe_name("/etc/passwd"), "_etc_passwd");
        assert_eq!(safe_name(".."), "attachment-");
        assert_eq!(safe_name(".hidden"), "hidden");
        assert_eq!(safe_name("a\u{0}b\nc"), "a_b_c");
        assert_eq!(safe_name("report.json"), "attachment-report.json");
        assert_eq!(safe_name("photo 1.jpg"), "photo 1.jpg");
        assert!(!safe_name("..\\..\\win").contains('\\'));
    }
}
