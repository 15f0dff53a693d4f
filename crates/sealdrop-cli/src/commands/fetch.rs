//! `fetch`: download, verify everything, decrypt, write one folder per
//! report. A report is decrypted only after every check passed, and its
//! folder appears only whole (written under a temporary name, then renamed);
//! a report that fails is listed with the reason and never written.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow};
use sealdrop_api::InboxEntry;
use sealdrop_client::Client;
use sealdrop_proto::ids::{PersonId, ProgramId, ReportId};
use sealdrop_proto::keys::{PublicIdentity, SecretIdentity};
use sealdrop_verify::ProgramAuthority;
use sealdrop_verify::release::{self as verify, ReaderView, ReleaseError, VerifiedShopper};
use serde_json::json;

use super::Ctx;
use super::program::{confirmed_authority, parse_program};
use crate::pipeline::{ReadAhead, WriteBehind};

/// Reports fetched at once.
const FETCH_THREADS: usize = 4;

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

/// Each shopper's chain, checked once per run (in the one verified chain
/// of their program), or why it fails.
pub type Shoppers =
    std::sync::Mutex<BTreeMap<PersonId, std::result::Result<VerifiedShopper, String>>>;

pub fn shopper_chain(
    client: &Client,
    shopper: &PublicIdentity,
    authority: &ProgramAuthority,
    cache: &Shoppers,
) -> std::result::Result<VerifiedShopper, ReleaseError> {
    let id = shopper.id();
    let cached = cache.lock().ok().and_then(|c| c.get(&id).cloned());
    let result = match cached {
        Some(r) => r,
        None => {
            let r = match client.person(&id) {
                Ok(person) => verify::shopper_chain(
                    authority,
                    person.invite.as_ref().map(|b| b.0.as_slice()),
                    person.enrolment.as_ref().map(|b| b.0.as_slice()),
                )
                .map_err(|e| e.to_string()),
                Err(e) => Err(format!("the shopper's enrolment cannot be read: {e}")),
            };
            if let Ok(mut c) = cache.lock() {
                c.insert(id, r.clone());
            }
            r
        }
    };
    result.map_err(ReleaseError::Chain)
}

/// What the witnesses this reader trusts vouch for, asked once per run: a
/// checkpoint they cover up to `covered` entries. A release is decrypted
/// only when its leaf lies below that size and the checkpoint it is proven
/// in is one history with the vouched one (one consistency proof per
/// distinct checkpoint the server signs, not one per report).
struct WitnessGate {
    vouched: sealdrop_proto::log::checkpoint::Checkpoint,
    /// Or why the witnesses vouch for nothing: every report fails so.
    covered: std::result::Result<u64, String>,
    linked: std::sync::Mutex<Vec<sealdrop_proto::log::checkpoint::Checkpoint>>,
}

/// What became of one report.
enum Fetched {
    Written(PathBuf),
    /// Its release is not yet below what the witnesses cosigned.
    Waiting {
        leaf: u64,
        covered: u64,
    },
}

impl WitnessGate {
    /// `kept`: the checkpoint this home kept (checked at the command's
    /// start), which the vouched one must extend; it then replaces it.
    ///
    /// Every set in `required` must vouch (the witnesses this reader gave
    /// as flags, the program's own): what is covered is the least any of
    /// them covers.
    fn open(
        client: &Client,
        log: &([u8; 32], String),
        required: &[&super::witness::Trusted],
        kept: &mut Option<String>,
    ) -> Result<Option<Self>> {
        let required: Vec<_> = required.iter().filter(|t| !t.is_empty()).collect();
        if required.is_empty() {
            return Ok(None);
        }
        let vouch = |vouched: &sealdrop_proto::log::checkpoint::Checkpoint| {
            let mut covered = u64::MAX;
            for trusted in &required {
                covered = covered.min(
                    trusted
                        .vouch(client, &log.0, &log.1, vouched)
                        .map_err(|why| why.to_string())?,
                );
            }
            Ok::<u64, String>(covered)
        };
        // A witness may cosign between the two requests, past the
        // checkpoint just fetched: then once more with a newer one.
        let mut attempt = 0;
        let (vouched, note, covered) = loop {
            let note = client.log_checkpoint()?;
            let vouched = sealdrop_client::log_check::checkpoint(&note, &log.1, &log.0)?;
            let covered = vouch(&vouched);
            attempt += 1;
            if covered.is_ok() || attempt == 2 {
                break (vouched, note, covered);
            }
        };
        if let Some(kept) = kept.as_deref() {
            super::log_follow::extends_kept(client, log, kept, &vouched)?;
        }
        *kept = Some(String::from_utf8_lossy(&note).into_owned());
        Ok(Some(Self {
            vouched,
            covered,
            linked: std::sync::Mutex::new(Vec::new()),
        }))
    }

    /// Whether the release at `leaf`, proven in `proven_in`, is covered:
    /// `None` if it is, else the size the witnesses cover.
    fn admits(
        &self,
        client: &Client,
        proven_in: &sealdrop_proto::log::checkpoint::Checkpoint,
        leaf: u64,
    ) -> Result<Option<u64>> {
        let covered = *self
            .covered
            .as_ref()
            .map_err(|why| anyhow!("not decrypted: {why}"))?;
        if leaf >= covered {
            return Ok(Some(covered));
        }
        let known = |c: &sealdrop_proto::log::checkpoint::Checkpoint| {
            c.size() == proven_in.size() && c.root() == proven_in.root()
        };
        if known(&self.vouched) || self.linked.lock().is_ok_and(|l| l.iter().any(known)) {
            return Ok(None);
        }
        let (old, new) = if proven_in.size() < self.vouched.size() {
            (proven_in, &self.vouched)
        } else {
            (&self.vouched, proven_in)
        };
        let path = client.log_consistency(old.size(), new.size())?;
        sealdrop_client::log_check::extends(old, new, &path).map_err(|why| {
            anyhow!("not decrypted: the release is proven in a history the witnesses did not vouch for: {why}")
        })?;
        if let Ok(mut l) = self.linked.lock() {
            l.push(proven_in.clone());
        }
        Ok(None)
    }
}

/// Who is fetching, over which connection, trusting which log key and
/// witnesses.
struct Reader<'a> {
    client: &'a Client,
    me: &'a SecretIdentity,
    log: &'a ([u8; 32], String),
    /// Per program: the witnesses its reports wait for, if any.
    witnesses: &'a BTreeMap<String, Option<WitnessGate>>,
}

/// Verifies one report and writes its folder; returns the folder, or that
/// the report waits for the witnesses.
fn fetch_one(
    reader: &Reader<'_>,
    entry: &InboxEntry,
    authority: &ProgramAuthority,
    shoppers: &Shoppers,
    out: &Path,
) -> Result<Fetched> {
    let Reader {
        client,
        me,
        log,
        witnesses,
    } = *reader;
    let report: ReportId = entry.report.parse().context("a malformed report ID")?;
    let release = client.release(&report)?;
    let (log_key, log_origin) = log;
    let view = ReaderView {
        reader: &me.id(),
        log_key,
        log_origin,
        authority,
    };
    let verified = verify::verify_release(&view, &report, &release, |key| {
        shopper_chain(client, key, authority, shoppers)
    })
    .map_err(|e| match e {
        ReleaseError::ReleaseNotLogged(why) => anyhow!(
            "not decrypted: the server does not prove that its log records this release: {why}"
        ),
        other => anyhow!(other),
    })?;
    if let Some(Some(gate)) = witnesses.get(&entry.program)
        && let Some(covered) =
            gate.admits(client, verified.checkpoint(), verified.release_leaf())?
    {
        return Ok(Fetched::Waiting {
            leaf: verified.release_leaf(),
            covered,
        });
    }
    let (record, envelope, ack_body) = (
        verified.record(),
        verified.envelope(),
        verified.acknowledgement(),
    );
    let (granted_by, manager_id) = (verified.granted_by(), verified.inviting_manager());
    let core = &record.header().core;

    // Only now: decrypt, into a temporary folder.
    let key = record
        .unwrap_key(envelope, me)
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
    Ok(Fetched::Written(folder))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The program's head at the checkpoint this home keeps (verified when the
/// command connected, or just now by the witness gate) is a version of the
/// chain this reader holds, with the same hash: the listing the chain came
/// from is not cut short of what the log names current. One request per
/// program.
fn chain_reaches_head(
    client: &Client,
    log: &([u8; 32], String),
    kept: Option<&str>,
    authority: &ProgramAuthority,
) -> std::result::Result<(), String> {
    let Some(kept) = kept else {
        return Ok(());
    };
    let checkpoint = sealdrop_client::log_check::checkpoint(kept.as_bytes(), &log.1, &log.0)
        .map_err(|e| format!("the kept checkpoint does not verify: {e}"))?;
    let id = authority.current().program_id;
    let body = client
        .program_head(&id, checkpoint.size())
        .map_err(|e| format!("the server will not prove the program's current version: {e}"))?;
    let head =
        sealdrop_client::log_check::head(&checkpoint, &id, &body).map_err(|e| e.to_string())?;
    let held = usize::try_from(head.version)
        .ok()
        .and_then(|v| v.checked_sub(1))
        .and_then(|i| authority.versions().get(i));
    match held {
        Some(d) if sealdrop_proto::descriptor::hash_of(d) == head.descriptor => Ok(()),
        Some(_) => Err(format!(
            "the log's version {} of the program is not the one the server shows you: it shows two histories",
            head.version
        )),
        None => Err(format!(
            "the log says version {} of the program is current, but the server shows you only up to version {}: it is hiding a change",
            head.version,
            authority.current().version
        )),
    }
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
    // Each program's one chain, or why its reports are not fetched (an
    // unconfirmed program, a fork): that fails only that program's reports.
    let mut chains: BTreeMap<String, std::result::Result<ProgramAuthority, String>> =
        BTreeMap::new();
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
            let chain = confirmed_authority(&client, &mut state, &id).map_err(|e| format!("{e:#}"));
            chains.insert(entry.program.clone(), chain);
        }
        todo.push(entry);
    }
    // Four at a time: most of the time is waiting on the network.
    let progress = crate::output::Progress::new(&ctx.out, "fetching", todo.len());
    let shoppers = Shoppers::default();
    // The witnesses the reader named and those each program's descriptor
    // names: both must vouch. Asked once per program, not per report.
    let mut gates: BTreeMap<String, Option<WitnessGate>> = BTreeMap::new();
    let mut behind: Vec<(String, String)> = Vec::new();
    for (program, chain) in &chains {
        if let Ok(authority) = chain {
            let own = sealdrop_client::witnesses::Trusted::of_program(authority.current())?;
            let gate = WitnessGate::open(&client, &log, &[trusted, &own], &mut state.log_seen)?;
            if let Err(why) =
                chain_reaches_head(&client, &log, state.log_seen.as_deref(), authority)
            {
                behind.push((program.clone(), why));
            }
            gates.insert(program.clone(), gate);
        }
    }
    // A chain the server cut short of what its own log names current (a
    // version that added witnesses or removed someone, hidden from this
    // reader) decides nothing.
    for (program, why) in behind {
        chains.insert(program, Err(why));
    }
    let reader = Reader {
        client: &client,
        me: &me,
        log: &log,
        witnesses: &gates,
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
                        Some(Ok(authority)) => fetch_one(&reader, entry, authority, &shoppers, out),
                        Some(Err(why)) => Err(anyhow!("not fetched: {why}")),
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
    let mut waiting = Vec::new();
    for (report, result) in results {
        match result {
            Ok(Fetched::Written(folder)) => written.push(folder),
            Ok(Fetched::Waiting { leaf, covered }) => waiting.push((report, leaf, covered)),
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
            for (report, leaf, covered) in &waiting {
                t.push_str(&format!(
                    "\nWAITING {report}: its release (log entry {leaf}) is beyond what the witnesses you trust have cosigned ({covered} entries); run fetch again after their next run"
                ));
            }
            for (report, why) in &failed {
                t.push_str(&format!("\nNOT WRITTEN {report}: {why}"));
            }
            t
        },
        || {
            json!({"fetched": written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
                   "skipped": skipped,
                   "waiting": waiting.iter().map(|(r, leaf, covered)| json!({"report": r, "release_leaf": leaf, "covered": covered})).collect::<Vec<_>>(),
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
