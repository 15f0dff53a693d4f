//! `submit`: check, seal into the outbox, then try to send.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use sealdrop_api::B64;
use sealdrop_proto::hash::{Hasher, questionnaire_digest};
use sealdrop_proto::report::{AttachmentMeta, ReportContent, ReportSealer};
use sealdrop_questionnaire::Kind;
use serde_json::{Value, json};

use super::Ctx;
use super::draft::questionnaire;
use super::form;
use crate::cli::SubmitArgs;
use crate::home::{Sealed, SecretBytes, Unlocked};
use crate::media::{self, Format};
use crate::outbox::{self, Queued};
use crate::pii;
use crate::send::{self, now};

/// Names what a draft hash covers.
const DRAFT_LABEL: &[u8] = b"sealdrop shopper draft v1\0";

/// An attachment ready to seal: a photo rewritten without its metadata
/// (small, in memory), or a file sealed as it is, streamed from disk so
/// that a video of any size needs no more memory than a photo.
struct Attachment {
    name: String,
    media_type: &'static str,
    /// When the photo was taken, read from its EXIF before stripping.
    captured_at: Option<u64>,
    body: Body,
}

enum Body {
    Stripped(Vec<u8>),
    File { path: PathBuf, len: u64 },
}

impl Attachment {
    fn len(&self) -> u64 {
        match &self.body {
            Body::Stripped(b) => b.len() as u64,
            Body::File { len, .. } => *len,
        }
    }

    fn reader(&self) -> Result<Box<dyn std::io::Read + '_>> {
        Ok(match &self.body {
            Body::Stripped(b) => Box::new(b.as_slice()),
            Body::File { path, .. } => Box::new(std::io::BufReader::with_capacity(
                256 * 1024,
                std::fs::File::open(path)
                    .with_context(|| format!("cannot read {}", path.display()))?,
            )),
        })
    }
}

fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot read the folder {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            inside.sort();
            out.extend(inside);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn prepare(path: &Path, keep_metadata: bool) -> Result<Attachment> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut head = [0u8; 16];
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let n = std::io::Read::read(&mut file, &mut head)?;
    let mut captured_at = None;
    let (media_type, body) = match media::sniff(&head[..n]) {
        Format::Jpeg => {
            let bytes = std::fs::read(path)?;
            captured_at = media::jpeg_capture_time(&bytes);
            (
                "image/jpeg",
                Body::Stripped(media::strip_jpeg(&bytes).with_context(|| name.clone())?),
            )
        }
        Format::Png => {
            let bytes = std::fs::read(path)?;
            (
                "image/png",
                Body::Stripped(media::strip_png(&bytes).with_context(|| name.clone())?),
            )
        }
        Format::Other if keep_metadata => (
            "application/octet-stream",
            Body::File {
                path: path.to_path_buf(),
                len: file.metadata()?.len(),
            },
        ),
        Format::Other => bail!(
            "{name}: only JPEG and PNG photos can have their metadata (location, camera, owner) removed; convert it, or attach it as it is with --keep-metadata"
        ),
    };
    Ok(Attachment {
        name,
        media_type,
        captured_at,
        body,
    })
}

/// The answers, from a `shopper new` file or a plain answers object.
fn read_answers(path: &Path) -> Result<(Option<String>, BTreeMap<String, Value>)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let doc: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    let program = doc
        .get("program")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let answers = match doc.get("answers") {
        Some(Value::Object(a)) => a.clone(),
        _ => match doc {
            Value::Object(a) => a,
            _ => bail!("{} holds no answers object", path.display()),
        },
    };
    Ok((
        program,
        answers.into_iter().filter(|(_, v)| !v.is_null()).collect(),
    ))
}

/// Personal data in free text: refused, masked, or allowed.
fn check_pii(answers: &mut BTreeMap<String, Value>, args: &SubmitArgs) -> Result<usize> {
    let region = args.phone_region.parse().ok();
    let mut listed = Vec::new();
    let mut masked = 0;
    for (id, value) in answers.iter_mut() {
        let Value::String(text) = value else { continue };
        let found = pii::scan(text, region);
        if found.is_empty() {
            continue;
        }
        if args.mask {
            masked += found.len();
            *text = pii::mask(text, &found);
        } else {
            listed.extend(found.iter().map(|f| format!("{id}: {}", f.kind)));
        }
    }
    if !listed.is_empty() && !args.allow_pii {
        bail!(
            "the report contains personal data, so it was not sealed:\n  {}\nRemove it, or run again with --mask to replace it with labels (or --allow-pii to send it as it is).",
            listed.join("\n  ")
        );
    }
    Ok(masked)
}

pub fn submit(ctx: &Ctx, args: &SubmitArgs) -> Result<()> {
    let mut un = ctx.unlock()?;
    // A file, or the draft `shopper new` wrote with the form.
    let mut attach = args.attach.clone();
    let (program_id, mut answers, from_draft) = match &args.file {
        Some(file) => {
            let (file_program, answers) = read_answers(file)?;
            let wanted = args.program.clone().or(file_program);
            (un.state.program(wanted.as_deref())?.0, answers, false)
        }
        None => {
            let (id, _) = un.state.program(args.program.as_deref())?;
            let draft = form::load(&ctx.home, &un, &id)?
                .filter(|d| d.complete)
                .context("there is no finished draft for this program: run `shopper new` to fill one in, or give a file")?;
            attach.extend(draft.photos.values().cloned());
            let answers = draft
                .answers
                .into_iter()
                .filter(|(_, v)| !v.is_null())
                .collect();
            (id, answers, true)
        }
    };
    let attachments: Vec<Attachment> = files(&attach)?
        .iter()
        .map(|p| prepare(p, args.keep_metadata))
        .collect::<Result<_>>()?;

    // Online: the newest program version (never an older one) and its
    // questionnaire. Offline: the last verified ones.
    let (client, unreachable) = if args.offline {
        (None, None)
    } else {
        let program = un.state.enrolled(&program_id)?;
        match send::connect(&program) {
            Ok(c) => (Some(c), None),
            Err(e) => (None, Some(format!("{e:#}"))),
        }
    };
    if let Some(client) = &client {
        refresh(ctx, &mut un, client, &program_id)?;
    }
    let program = un.state.enrolled(&program_id)?;
    let descriptor = program.descriptor()?;
    let q = questionnaire(&program)?;

    // Every problem at once, each naming its question.
    let names: Vec<&str> = attachments.iter().map(|a| a.name.as_str()).collect();
    let mut problems: Vec<String> = q
        .check_answers(&answers)
        .iter()
        .map(ToString::to_string)
        .collect();
    for question in q.questions().filter(|x| x.kind == Kind::Photo) {
        if let Some(Value::String(file)) = answers.get(&question.id)
            && file != sealdrop_questionnaire::NOT_APPLICABLE
            && !names.contains(&file.as_str())
        {
            problems.push(format!(
                "{}: names the photo {file}, which is not attached (--attach {file})",
                question.id
            ));
        }
    }
    if !problems.is_empty() {
        bail!(
            "the report has problems, so it was not sealed:\n  {}",
            problems.join("\n  ")
        );
    }
    let masked = check_pii(&mut answers, args)?;

    // The same draft is sealed once.
    let answers_bytes = serde_json::to_vec(&answers)?;
    let mut h = Hasher::new(DRAFT_LABEL);
    for part in [program_id.as_bytes(), &answers_bytes] {
        h.update(&(part.len() as u64).to_be_bytes());
        h.update(part);
    }
    for a in &attachments {
        h.update(&(a.name.len() as u64).to_be_bytes());
        h.update(a.name.as_bytes());
        h.update(&a.len().to_be_bytes());
        match &a.body {
            Body::Stripped(bytes) => h.update(bytes),
            // A large file is named by its path and modification time rather
            // than hashed twice (sealing hashes its ciphertext anyway).
            Body::File { path, .. } => {
                let modified = std::fs::metadata(path)?
                    .modified()?
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos());
                h.update(path.canonicalize()?.as_os_str().as_encoded_bytes());
                h.update(&modified.to_be_bytes());
            }
        }
    }
    let draft = B64(h.finish().to_vec());
    let draft = serde_json::to_value(&draft)?
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if let Some(s) = un.state.sealed_drafts.get(&draft) {
        bail!(
            "this report was already submitted on {} as {}",
            date(s.at),
            s.report
        );
    }
    if let Some(q) = outbox::list(&ctx.home, &un.vault)?
        .iter()
        .find(|q| q.draft == draft)
    {
        bail!(
            "this report is already in your outbox as {}; run `shopper sync` to send it",
            q.report
        );
    }

    // The server's size limit, before sealing anything.
    if let Some(client) = &client {
        let limit = client.server_info()?.max_upload_bytes;
        let size =
            answers_bytes.len() as u64 + attachments.iter().map(Attachment::len).sum::<u64>();
        if size > limit {
            bail!(
                "the report is {size} bytes, over the server's limit of {limit}; remove or shrink an attachment"
            );
        }
    }

    // Seal into the outbox.
    let pseudonym = program.pseudonym()?;
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    let mut sealer = ReportSealer::new(
        &pseudonym,
        descriptor.unverified_body(),
        now() * 1000,
        &mut rng,
    )?;
    let report = sealer.report_id().to_string();
    let staged = outbox::staging(&ctx.home, &report)?;
    let content = ReportContent {
        answers: answers_bytes,
        attachments: attachments
            .iter()
            .map(|a| AttachmentMeta {
                file_name: a.name.clone(),
                captured_at: a.captured_at,
                media_type: a.media_type.into(),
            })
            .collect(),
    };
    let mut w = outbox::create_stream(&staged, 0)?;
    sealer.seal_content(&content, &mut w)?;
    outbox::finish_stream(w)?;
    for (n, a) in attachments.iter().enumerate() {
        let mut w = outbox::create_stream(&staged, n + 1)?;
        sealer.seal_attachment(&mut a.reader()?, &mut w)?;
        outbox::finish_stream(w)?;
    }
    let (sealed, key) = sealer.finish(&mut rng)?;
    let mut entry = Queued {
        program: program_id.clone(),
        report: report.clone(),
        sealed: B64::of(&sealed),
        content_key: SecretBytes::new(key.expose_bytes()),
        draft: draft.clone(),
        queued_at: now(),
        last_error: None,
        attempts: 0,
        offered_to_removed: Vec::new(),
    };
    outbox::enqueue(&ctx.home, &un.vault, &staged, &entry)?;
    if from_draft {
        std::fs::remove_file(form::draft_path(&ctx.home, &program_id))?;
    }
    un.state.sealed_drafts.insert(
        draft,
        Sealed {
            report: report.clone(),
            at: now(),
        },
    );
    ctx.home.save(&un)?;

    let sent = match &client {
        None => {
            let why = unreachable.unwrap_or_else(|| "--offline".to_owned());
            entry.last_error = Some(why.clone());
            outbox::save(&ctx.home, &un.vault, &entry)?;
            Err(anyhow!(why))
        }
        Some(c) => send::send(&ctx.home, &mut un, Some(c), &mut entry),
    };
    // Online after all: send what else waits for this program too.
    let mut also_sent = Vec::new();
    if sent.is_ok() {
        for mut q in outbox::list(&ctx.home, &un.vault)?
            .into_iter()
            .filter(|q| q.program == program_id)
        {
            if send::send(&ctx.home, &mut un, client.as_ref(), &mut q).is_ok() {
                also_sent.push(q.report);
            }
        }
    }
    match sent {
        Ok(receipt) => ctx.show(
            || {
                let also = if also_sent.is_empty() {
                    String::new()
                } else {
                    format!("\nAlso sent {} report(s) that were waiting in your outbox.", also_sent.len())
                };
                format!("Sent {report}; the server acknowledged it at {}.{also}{}{}", date(receipt.received_at), masked_note(masked), removed_note(&receipt.offered_to_removed))
            },
            || json!({"report": report, "status": "sent", "received_at": receipt.received_at, "masked": masked, "also_sent": also_sent, "offered_to_removed": receipt.offered_to_removed}),
        ),
        Err(e) => ctx.show(
            || format!(
                "Sealed {report} into your outbox; not sent yet ({e:#}). Run `shopper sync` when you are online.{}",
                masked_note(masked)
            ),
            || json!({"report": report, "status": "queued", "reason": format!("{e:#}"), "masked": masked}),
        ),
    }
    Ok(())
}

fn masked_note(n: usize) -> String {
    if n == 0 {
        String::new()
    } else {
        format!("\n{n} piece(s) of personal data were masked.")
    }
}

/// Moves the program to the server's newest verified version, fetching its
/// questionnaire when it changed.
pub fn refresh(
    ctx: &Ctx,
    un: &mut Unlocked,
    client: &sealdrop_client::Client,
    program_id: &str,
) -> Result<()> {
    // A server restored from a backup: follow its log first (and put back
    // in the outbox what the restore lost).
    if let Some(followed) = crate::restore::follow(&ctx.home, un, program_id, client)? {
        eprintln!("warning: {}", followed.describe());
    }
    let program = un.state.enrolled(program_id)?;
    let current = send::current_descriptor(client, &program)?;
    let newest = current.descriptor;
    let body = newest.unverified_body();
    let held = program
        .questionnaire
        .as_deref()
        .map(|q| questionnaire_digest(q.as_bytes()));
    let mut updated = program.clone();
    if held != Some(body.questionnaire_digest) {
        let q = client.questionnaire(&body.program_id, Some(&body.questionnaire_digest))?;
        if questionnaire_digest(&q) != body.questionnaire_digest {
            bail!("the server's questionnaire is not the one the program descriptor names");
        }
        updated.questionnaire =
            Some(String::from_utf8(q).context("the questionnaire is not UTF-8")?);
    }
    updated.name = body.name.clone();
    updated.descriptor = B64::of(&newest);
    updated.log_checkpoint = Some(current.checkpoint);
    un.state.programs.insert(program_id.to_owned(), updated);
    ctx.home.save(un)
}

/// Unix seconds as a UTC date and time.
pub fn date(secs: u64) -> String {
    sealdrop_api::time::utc(secs)
}

/// What a shopper is told when an upload of their report was sealed to
/// readers the program had removed by then.
pub fn removed_note(removed: &[String]) -> String {
    if removed.is_empty() {
        return String::new();
    }
    format!(
        "\nNote: before it was accepted, this report was offered to {} since-removed reader(s) ({}): the server refused that upload as out of date and it was sealed again without them, but the server held it. If you doubt the server, tell your manager.",
        removed.len(),
        removed.join(", ")
    )
}
