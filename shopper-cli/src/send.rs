//! Sending one queued report: sign in under the program's pseudonym,
//! prove the program's current descriptor from the log (re-wrapping if it
//! moved), upload (whole, or resumably for large reports), re-wrap and resend on
//! `409 stale-list`, verify the acknowledgement and the log's proof that
//! it records the report against the log key the invite pinned, keep the
//! receipt, and only then leave the outbox.

use std::io::{Read as _, Seek as _, SeekFrom};

use anyhow::{Context as _, Result, anyhow, bail};
use sealdrop_api::log::LogProof;
use sealdrop_api::{B64, ErrorCode};
use sealdrop_client::witnesses::Trusted;
use sealdrop_client::{Client, ClientError, Submitted, log_check};
use sealdrop_proto::codec::Decode as _;
use sealdrop_proto::descriptor::{self, DescriptorChain, SignedDescriptor};
use sealdrop_proto::log::entry::LogEntry;
use sealdrop_proto::messages::Acknowledgement;
use sealdrop_proto::report::{ContentKey, SealedReport};
use sealdrop_proto::signed::Signed;
use serde::{Deserialize, Serialize};

use crate::home::{Home, Program, Unlocked};
use crate::outbox::{self, Queued};

/// Reports at most this large go in one request; larger ones resumably.
const WHOLE_LIMIT: u64 = 1024 * 1024;
/// Re-wraps tried for one report before giving up for this run.
const MAX_REWRAPS: usize = 3;

/// What the shopper keeps of a sent report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Receipt {
    pub program: String,
    pub report: String,
    pub acknowledgement: B64,
    pub record_hash: B64,
    pub received_at: u64,
    pub descriptor_version: u64,
    /// The acceptance leaf's inclusion in a signed checkpoint, as the
    /// server proved it when it acknowledged.
    #[serde(default)]
    pub log: Option<LogProof>,
    /// Readers an earlier upload was sealed to who had been removed from
    /// the program (see `Queued::offered_to_removed`).
    #[serde(default)]
    pub offered_to_removed: Vec<String>,
}

impl Receipt {
    /// The log leaf the server must hold for this report: rebuilt from
    /// the acknowledgement, never taken from the server.
    pub fn expected_leaf(&self) -> Result<LogEntry> {
        let ack = Signed::<Acknowledgement>::from_bytes(&self.acknowledgement.0)
            .context("the acknowledgement is malformed")?;
        let body = ack.unverified_body();
        Ok(LogEntry::Accepted {
            program: body.program_id,
            report: body.report_id,
            sealed_report: body.sealed_report,
            received_at: body.received_at,
        })
    }
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A signed-in client for a program.
pub fn connect(program: &Program) -> Result<Client> {
    let mut client = program.client()?;
    client.sign_in(&program.pseudonym()?)?;
    Ok(client)
}

/// The program's current descriptor as the log says it, and the
/// checkpoint that says so (to keep as the newest seen).
pub struct Current {
    pub descriptor: SignedDescriptor,
    pub checkpoint: String,
}

/// What the log says is the program's current descriptor, checked before
/// sealing and before each send, so that no envelope goes to a recipient
/// list the shopper has not seen proven current: the server's checkpoint
/// (under the pinned log key, extending the one this home kept) commits to
/// every program's newest descriptor, and the server proves this
/// program's. A newer head is followed along the chain from the pinned
/// version (the server must show it); an older one, or another descriptor
/// under the pinned version, is refused.
///
/// A failure other than not reaching the server is [`Distrusted`]: the
/// server showed something the shopper must not rely on.
pub fn current_descriptor(client: &Client, program: &Program) -> Result<Current> {
    // A witness may cosign between the server's answer and the request
    // for cosignatures, past the checkpoint just shown: then once more.
    let not_vouched = |e: &anyhow::Error| {
        e.chain().any(|c| {
            matches!(
                c.downcast_ref::<sealdrop_client::witnesses::WitnessError>(),
                Some(sealdrop_client::witnesses::WitnessError::NotVouched(_))
            )
        })
    };
    let proven = match prove_current(client, program) {
        Err(e) if not_vouched(&e) => prove_current(client, program),
        other => other,
    };
    proven.map_err(|e| {
        let unreachable = e.chain().any(|c| {
            matches!(
                c.downcast_ref::<ClientError>(),
                Some(ClientError::Transport(_))
            )
        });
        if unreachable {
            e
        } else {
            anyhow::Error::new(Distrusted(format!("{e:#}")))
        }
    })
}

/// The server showed this shopper something it must not rely on (a log
/// that is not the one it saw, a head it cannot follow): nothing is sent,
/// and `sync` exits non-zero.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Distrusted(pub String);

fn prove_current(client: &Client, program: &Program) -> Result<Current> {
    let key = program.log_key()?;
    let kept = program
        .log_checkpoint
        .as_ref()
        .map(|note| {
            log_check::checkpoint(note.as_bytes(), &program.log_origin, &key).context(
                "the log checkpoint kept in your home does not verify: your home is damaged",
            )
        })
        .transpose()?;
    let pinned = program.descriptor()?;
    let held = pinned.unverified_body().version;
    let id = pinned.unverified_body().program_id;
    // One request: the checkpoint, its consistency with the kept one, the
    // head in it, and the versions after the pinned one.
    let answer = client
        .program_current(&id, kept.as_ref().map(|k| k.size()), held)
        .context("the server will not prove which version of the program is current")?;
    let checkpoint = log_check::checkpoint(answer.checkpoint.as_bytes(), &program.log_origin, &key)
        .context("the server's log checkpoint is refused")?;
    if let Some(kept) = &kept {
        log_check::extends(kept, &checkpoint, &answer.consistency)
            .context("the server's log is not the one you saw before (tell your manager: the server may be dishonest)")?;
        // One size, one body: the log signed two statements of which
        // programs' lists are current at the same point of its history.
        if kept.size() == checkpoint.size() && *kept != checkpoint {
            bail!(
                "the server signed two different checkpoints of {} entries: it tells people different things about who may read (tell your manager: the server may be dishonest)",
                kept.size()
            );
        }
    }
    let mut head = log_check::head(&checkpoint, &id, &answer.head)?;
    // The program's witnesses recomputed the heads line of what they
    // cosigned: the newest head any of them vouches for counts, so a
    // server cannot show an old list past their last run. (Their
    // checkpoints must be fresh and extended by the server's current one.)
    let trusted = Trusted::of_program(pinned.unverified_body())?;
    for witnessed in trusted.vouching(client, &key, &program.log_origin, &checkpoint)? {
        let body = client
            .program_head(&id, witnessed.size())
            .context("the server will not prove which version of the program is current")?;
        let theirs = log_check::head(&witnessed, &id, &body)?;
        if theirs.version > head.version {
            head = theirs;
        }
    }
    if head.version < held {
        bail!(
            "the log says version {} of the program is current, older than version {held} you have seen: the server rolled the program back (tell your manager: the server may be dishonest)",
            head.version
        );
    }
    if answer.current < held {
        bail!(
            "the server offers version {} of the program, older than version {held} you have seen: refusing (a rollback)",
            answer.current
        );
    }
    let version = |d: &SignedDescriptor| d.unverified_body().version;
    let shown = answer.versions.last().map_or(held, version);
    if shown < head.version {
        bail!(
            "the log says version {} of the program is current, but the server does not show it: it may be hiding a change of who may read your reports (tell your manager: the server may be dishonest)",
            head.version
        );
    }
    // Up to the head: the version there must be the one the log names.
    let mut chain = DescriptorChain::resume_trusted(pinned);
    chain
        .accept(
            answer
                .versions
                .iter()
                .filter(|d| version(d) > held && version(d) <= head.version)
                .cloned(),
        )
        .context("the program's new descriptor does not chain from the one you trust")?;
    if descriptor::hash_of(chain.current_signed()) != head.descriptor {
        bail!(
            "the log's version {} of the program is not the one the server shows you: it shows two histories (tell your manager: the server may be dishonest)",
            head.version
        );
    }
    // Versions after the checkpoint: changes logged since (or not yet),
    // signed along the chain by the program's managers. They are followed
    // so that a removal they make is never sealed around; the pinned
    // version is the floor from then on.
    chain
        .accept(
            answer
                .versions
                .into_iter()
                .filter(|d| version(d) > head.version),
        )
        .context("the program's new descriptor does not chain from the one you trust")?;
    Ok(Current {
        descriptor: chain.current_signed().clone(),
        checkpoint: answer.checkpoint,
    })
}

fn stream_lengths(sealed: &SealedReport) -> Vec<u64> {
    sealed
        .record()
        .streams
        .iter()
        .map(|s| s.ciphertext_len)
        .collect()
}

fn upload(client: &Client, home: &Home, sealed: &SealedReport) -> Result<Submitted, ClientError> {
    let report = sealed.report_id().to_string();
    let lengths = stream_lengths(sealed);
    if lengths.iter().sum::<u64>() <= WHOLE_LIMIT {
        let streams: Vec<Vec<u8>> = (0..lengths.len())
            .map(|n| std::fs::read(outbox::stream_path(home, &report, n)))
            .collect::<std::io::Result<_>>()
            .map_err(|e| ClientError::Transport(format!("cannot read the queued report: {e}")))?;
        let refs: Vec<&[u8]> = streams.iter().map(Vec::as_slice).collect();
        return client.submit(sealed, &refs);
    }
    let piece = usize::try_from(client.server_info()?.max_piece_bytes)
        .unwrap_or(4 << 20)
        .clamp(64 * 1024, 16 << 20);
    let status = client.begin_upload(sealed)?;
    if status.acknowledgement.is_some() {
        return client.finish_upload(&sealed.report_id());
    }
    let io =
        |e: std::io::Error| ClientError::Transport(format!("cannot read the queued report: {e}"));
    let mut buf = vec![0u8; piece];
    for (n, stream) in status.streams.iter().enumerate() {
        let mut file = std::fs::File::open(outbox::stream_path(home, &report, n)).map_err(io)?;
        let mut offset = stream.received;
        while offset < stream.length {
            file.seek(SeekFrom::Start(offset)).map_err(io)?;
            let want = usize::try_from((stream.length - offset).min(piece as u64)).unwrap_or(piece);
            let chunk = buf.get_mut(..want).unwrap_or_default();
            file.read_exact(chunk).map_err(io)?;
            let answer = client.upload_piece(
                &sealed.report_id(),
                u32::try_from(n).unwrap_or(u32::MAX),
                offset,
                chunk,
            )?;
            if answer.received <= offset {
                return Err(ClientError::BadAnswer("the upload did not advance".into()));
            }
            offset = answer.received;
        }
    }
    client.finish_upload(&sealed.report_id())
}

/// Sends one queued report over `client` (signed in under the report's
/// program's pseudonym), or over a new connection when `None`. On success
/// the receipt is written and the report leaves the outbox; on failure the
/// entry records why.
pub fn send(
    home: &Home,
    un: &mut Unlocked,
    client: Option<&Client>,
    entry: &mut Queued,
) -> Result<Receipt> {
    let result = match client {
        Some(c) => try_send(home, un, c, entry),
        None => un
            .state
            .enrolled(&entry.program)
            .and_then(|p| connect(&p))
            .and_then(|c| try_send(home, un, &c, entry)),
    };
    if let Err(e) = &result {
        entry.attempts += 1;
        entry.last_error = Some(format!("{e:#}"));
        outbox::save(home, &un.vault, entry)?;
    }
    result
}

fn try_send(
    home: &Home,
    un: &mut Unlocked,
    client: &Client,
    entry: &mut Queued,
) -> Result<Receipt> {
    let program = un
        .state
        .programs
        .get(&entry.program)
        .cloned()
        .ok_or_else(|| {
            anyhow!(
                "the report is for program {}, which you are no longer in",
                entry.program
            )
        })?;
    // Never an envelope for a list not proven current: follow the log's
    // head first, and seal again if it moved past the sealed version.
    let current = current_descriptor(client, &program)?;
    if let Some(p) = un.state.programs.get_mut(&entry.program) {
        p.descriptor = B64::of(&current.descriptor);
        p.log_checkpoint = Some(current.checkpoint.clone());
    }
    home.save(un)?;
    let sealed = entry.sealed()?;
    if sealed.header.descriptor_version < current.descriptor.unverified_body().version {
        rewrap(home, un, entry, &program, &sealed, &current.descriptor)?;
    }
    let mut rewraps = 0;
    let submitted = loop {
        let sealed = entry.sealed()?;
        match upload(client, home, &sealed) {
            Ok(s) => break (s, sealed),
            Err(e) if e.code() == Some(ErrorCode::StaleList) && rewraps < MAX_REWRAPS => {
                rewraps += 1;
                // The same proof as before the upload, from what the home
                // pins now: a 409 never moves the shopper to a list the
                // log does not show, nor back to one it left.
                let pinned = un.state.enrolled(&entry.program)?;
                let newer = current_descriptor(client, &pinned)?;
                if let Some(p) = un.state.programs.get_mut(&entry.program) {
                    p.log_checkpoint = Some(newer.checkpoint.clone());
                }
                let newer = newer.descriptor;
                if newer.unverified_body().version <= sealed.header.descriptor_version {
                    return Err(Distrusted(format!(
                        "the server refused the report as sealed for an outdated version {} of the program, but proves no newer one (tell your manager: the server may be dishonest)",
                        sealed.header.descriptor_version
                    ))
                    .into());
                }
                // The upload the server refused was sealed to these
                // readers; any the new version dropped were offered a
                // report after their removal (the server held it).
                for e in &sealed.envelopes {
                    let id = e.recipient.to_string();
                    if !newer.unverified_body().is_recipient(&e.recipient)
                        && !entry.offered_to_removed.contains(&id)
                    {
                        entry.offered_to_removed.push(id);
                    }
                }
                rewrap(home, un, entry, &program, &sealed, &newer)?;
            }
            Err(e) => return Err(explain(e)),
        }
    };
    let (submitted, sealed) = submitted;
    let ack_bytes = submitted.receipt.acknowledgement;
    let ack = Signed::<Acknowledgement>::from_bytes(&ack_bytes.0)
        .context("the server's acknowledgement is malformed")?;
    let distrusted = |why: &str| anyhow::Error::new(Distrusted(why.to_owned()));
    let body = ack.verify_by_key(&program.log_key()?).map_err(|_| {
        distrusted("the acknowledgement is not signed by the server key your invite pinned; the report stays queued")
    })?;
    let record_hash = sealed.hash();
    if body.sealed_report != record_hash || body.report_id != sealed.report_id() {
        return Err(distrusted(
            "the acknowledgement names another report; the report stays queued",
        ));
    }
    let proof = submitted.receipt.log.ok_or_else(|| {
        distrusted(
            "the server sent no proof that its log records the report; the report stays queued",
        )
    })?;
    let accepted = LogEntry::Accepted {
        program: body.program_id,
        report: body.report_id,
        sealed_report: body.sealed_report,
        received_at: body.received_at,
    };
    log_check::included(&proof, &accepted, &program.log_origin, &program.log_key()?)
        .map_err(|e| distrusted(&format!("{e}; the report stays queued")))?;
    let receipt = Receipt {
        program: entry.program.clone(),
        report: entry.report.clone(),
        acknowledgement: ack_bytes,
        record_hash: B64(record_hash.to_vec()),
        received_at: body.received_at,
        descriptor_version: sealed.header.descriptor_version,
        log: Some(proof),
        offered_to_removed: entry.offered_to_removed.clone(),
    };
    let bytes = serde_json::to_vec(&receipt)?;
    Home::private_dir(&home.receipts())?;
    home.write_sealed(
        &un.vault,
        &home.receipts().join(format!("{}.sealed", entry.report)),
        "receipt",
        &bytes,
    )?;
    outbox::keep_sent(home, &un.vault, entry)?;
    Ok(receipt)
}

/// Seals the queued report again for `newer`'s recipients (same content
/// key and ciphertext), keeps it in the outbox, and pins `newer`.
fn rewrap(
    home: &Home,
    un: &mut Unlocked,
    entry: &mut Queued,
    program: &Program,
    sealed: &SealedReport,
    newer: &SignedDescriptor,
) -> Result<()> {
    let key: [u8; 32] = entry
        .content_key
        .expose()
        .try_into()
        .context("a queued report's content key is damaged")?;
    let rewrapped = sealed
        .rewrap(
            &ContentKey::from_bytes(key),
            &program.pseudonym()?,
            newer.unverified_body(),
            &mut rand_core::UnwrapErr(getrandom::SysRng),
        )
        .context("cannot re-wrap the report for the program's new recipients")?;
    entry.sealed = B64::of(&rewrapped);
    outbox::save(home, &un.vault, entry)?;
    if let Some(p) = un.state.programs.get_mut(&entry.program) {
        p.descriptor = B64::of(newer);
    }
    home.save(un)
}

/// A server refusal in plain words, with what to do.
fn explain(e: ClientError) -> anyhow::Error {
    match e.code() {
        Some(ErrorCode::Unauthenticated | ErrorCode::Forbidden | ErrorCode::Disabled) => anyhow!(
            "the server no longer accepts your pseudonym for this program ({e}); ask the program manager"
        ),
        Some(ErrorCode::TooLarge) => anyhow!("{e}; remove or shrink an attachment"),
        Some(_) => anyhow!("{e}"),
        None => anyhow!("{e}; the report stays queued: run `shopper sync` when you are online"),
    }
}
