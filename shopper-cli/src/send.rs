//! Sending one queued report: sign in under the program's pseudonym,
//! upload (whole, or resumably for large reports), re-wrap and resend on
//! `409 stale-list`, verify the acknowledgement and the log's proof that
//! it records the report against the log key the invite pinned, keep the
//! receipt, and only then leave the outbox.

use std::io::{Read as _, Seek as _, SeekFrom};

use anyhow::{Context as _, Result, anyhow, bail};
use sealdrop_api::log::LogProof;
use sealdrop_api::{B64, ErrorCode};
use sealdrop_client::{Client, ClientError, Submitted, log_check};
use sealdrop_proto::codec::Decode as _;
use sealdrop_proto::descriptor::{DescriptorChain, SignedDescriptor};
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

/// The program's newest descriptor, verified as a successor of the one
/// pinned; refuses an older version (a rollback) or a fork.
pub fn refresh_descriptor(client: &Client, program: &Program) -> Result<SignedDescriptor> {
    let pinned = program.descriptor()?;
    let held = pinned.unverified_body().version;
    let mut chain = DescriptorChain::resume_trusted(pinned);
    let all = client.descriptors(&chain.current().program_id)?;
    let latest = all.last().map_or(0, |d| d.unverified_body().version);
    if latest < held {
        bail!(
            "the server offers version {latest} of the program, older than version {held} you have seen: refusing (a rollback)"
        );
    }
    chain
        .accept(
            all.into_iter()
                .filter(|d| d.unverified_body().version > held),
        )
        .context("the program's new descriptor does not chain from the one you trust")?;
    Ok(chain.current_signed().clone())
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
    let mut rewraps = 0;
    let submitted = loop {
        let sealed = entry.sealed()?;
        match upload(client, home, &sealed) {
            Ok(s) => break (s, sealed),
            Err(e) if e.code() == Some(ErrorCode::StaleList) && rewraps < MAX_REWRAPS => {
                rewraps += 1;
                let newer = refresh_descriptor(client, &program)?;
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
                    p.descriptor = B64::of(&newer);
                }
                home.save(un)?;
            }
            Err(e) => return Err(explain(e)),
        }
    };
    let (submitted, sealed) = submitted;
    let ack_bytes = submitted.receipt.acknowledgement;
    let ack = Signed::<Acknowledgement>::from_bytes(&ack_bytes.0)
        .context("the server's acknowledgement is malformed")?;
    let body = ack
        .verify_by_key(&program.log_key()?)
        .map_err(|_| anyhow!("the acknowledgement is not signed by the server key your invite pinned; the report stays queued"))?;
    let record_hash = sealed.hash();
    if body.sealed_report != record_hash || body.report_id != sealed.report_id() {
        bail!("the acknowledgement names another report; the report stays queued");
    }
    let proof = submitted.receipt.log.ok_or_else(|| {
        anyhow!("the server sent no proof that its log records the report; the report stays queued")
    })?;
    let accepted = LogEntry::Accepted {
        program: body.program_id,
        report: body.report_id,
        sealed_report: body.sealed_report,
        received_at: body.received_at,
    };
    log_check::included(&proof, &accepted, &program.log_origin, &program.log_key()?)
        .context("the report stays queued")?;
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
