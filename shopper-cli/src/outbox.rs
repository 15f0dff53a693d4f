//! The outbox: sealed reports waiting for the server's acknowledgement.
//!
//! A report is queued by first writing its ciphertext streams into a
//! temporary folder and renaming it to `outbox/ID/`, then writing
//! `outbox/ID.sealed` (the entry). Only an entry makes a report queued, so
//! an interruption at any point leaves either nothing or a whole report. A
//! report leaves the outbox only after its acknowledgement was verified and
//! its receipt written.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use sealdrop_api::B64;
use sealdrop_keystore::Vault;
use sealdrop_proto::report::SealedReport;
use serde::{Deserialize, Serialize};

use crate::home::{Home, SecretBytes};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Queued {
    pub program: String,
    pub report: String,
    /// The signed, sealed report (re-wrapped after a stale list).
    pub sealed: B64,
    /// The content key, kept to re-wrap for a newer recipient list.
    pub content_key: SecretBytes,
    pub draft: String,
    pub queued_at: u64,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub attempts: u32,
    /// Readers an upload of this report was sealed to who were removed
    /// from the program before it was accepted (a `409 stale-list` whose
    /// new version dropped them): the server held that upload.
    #[serde(default)]
    pub offered_to_removed: Vec<String>,
}

impl Queued {
    pub fn sealed(&self) -> Result<SealedReport> {
        self.sealed
            .decode()
            .context("a queued report in your outbox is damaged")
    }
}

pub fn entry_path(home: &Home, report: &str) -> PathBuf {
    home.outbox().join(format!("{report}.sealed"))
}

pub fn streams_dir(home: &Home, report: &str) -> PathBuf {
    home.outbox().join(report)
}

pub fn stream_path(home: &Home, report: &str, n: usize) -> PathBuf {
    streams_dir(home, report).join(format!("stream-{n}"))
}

/// A folder to seal streams into before they are queued.
pub fn staging(home: &Home, report: &str) -> Result<PathBuf> {
    let dir = home.outbox().join(format!(".staging-{report}"));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    Home::private_dir(&dir)?;
    Ok(dir)
}

/// Makes a staged report queued: streams synced and moved into place, then
/// the entry written.
pub fn enqueue(home: &Home, vault: &Vault, staged: &Path, entry: &Queued) -> Result<()> {
    for file in std::fs::read_dir(staged)? {
        std::fs::File::open(file?.path())?.sync_all()?;
    }
    let target = streams_dir(home, &entry.report);
    std::fs::rename(staged, &target).context("cannot move the sealed report into the outbox")?;
    if let Ok(d) = std::fs::File::open(home.outbox()) {
        let _ = d.sync_all();
    }
    save(home, vault, entry)
}

pub fn save(home: &Home, vault: &Vault, entry: &Queued) -> Result<()> {
    let bytes = zeroize::Zeroizing::new(serde_json::to_vec(entry)?);
    home.write_sealed(vault, &entry_path(home, &entry.report), "outbox", &bytes)
}

/// Every queued report, oldest first.
pub fn list(home: &Home, vault: &Vault) -> Result<Vec<Queued>> {
    let mut out = Vec::new();
    let dir = home.outbox();
    if !dir.exists() {
        return Ok(out);
    }
    for file in std::fs::read_dir(&dir)? {
        let path = file?.path();
        if path.extension().is_some_and(|e| e == "sealed") {
            out.push(Home::read_sealed::<Queued>(vault, &path, "outbox")?);
        }
    }
    out.sort_by(|a, b| a.report.cmp(&b.report));
    Ok(out)
}

/// The local copy of a sent report (for `shopper export`): the outbox
/// entry and its streams, moved under `sent/`. The streams move first, so
/// an interruption leaves the report queued (sending it again gets the same
/// acknowledgement) or fully moved.
pub fn keep_sent(home: &Home, vault: &Vault, entry: &Queued) -> Result<()> {
    let sent = home.sent();
    Home::private_dir(&sent)?;
    let streams = streams_dir(home, &entry.report);
    if streams.exists() {
        std::fs::rename(&streams, sent.join(&entry.report))?;
    }
    let bytes = zeroize::Zeroizing::new(serde_json::to_vec(entry)?);
    home.write_sealed(
        vault,
        &sent.join(format!("{}.sealed", entry.report)),
        "sent",
        &bytes,
    )?;
    let queued = entry_path(home, &entry.report);
    if queued.exists() {
        std::fs::remove_file(queued)?;
    }
    Ok(())
}

/// Every sent report kept locally.
pub fn list_sent(home: &Home, vault: &Vault) -> Result<Vec<Queued>> {
    let mut out = Vec::new();
    let dir = home.sent();
    if dir.exists() {
        for file in std::fs::read_dir(&dir)? {
            let path = file?.path();
            if path.extension().is_some_and(|e| e == "sealed") {
                out.push(Home::read_sealed::<Queued>(vault, &path, "sent")?);
            }
        }
    }
    out.sort_by(|a, b| a.report.cmp(&b.report));
    Ok(out)
}

/// Puts a sent report back in the outbox (a restore of the server lost
/// it): the streams first, then the entry, then the sent copy's entry
/// goes, so an interruption leaves it queued, sent, or both (sending it
/// again is harmless). `false`: there is no sent copy and nothing queued,
/// because the shopper deleted the report.
pub fn requeue_sent(home: &Home, vault: &Vault, report: &str) -> Result<bool> {
    let sent = home.sent();
    let sent_entry = sent.join(format!("{report}.sealed"));
    if !sent_entry.exists() {
        return Ok(entry_path(home, report).exists());
    }
    let mut entry: Queued = Home::read_sealed(vault, &sent_entry, "sent")?;
    Home::private_dir(&home.outbox())?;
    let streams = sent.join(report);
    if streams.exists() {
        std::fs::rename(&streams, streams_dir(home, report))?;
    }
    entry.attempts = 0;
    entry.last_error = None;
    save(home, vault, &entry)?;
    std::fs::remove_file(sent_entry)?;
    Ok(true)
}

/// Removes a report from the outbox: the entry first, so that what is left
/// after an interruption is only unreferenced ciphertext.
pub fn remove(home: &Home, report: &str) -> Result<()> {
    let entry = entry_path(home, report);
    if entry.exists() {
        std::fs::remove_file(&entry)?;
    }
    let dir = streams_dir(home, report);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(())
}

/// A file in the staging folder for stream `n`, created 0600.
pub fn create_stream(dir: &Path, n: usize) -> Result<std::io::BufWriter<std::fs::File>> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dir.join(format!("stream-{n}")))?;
    Ok(std::io::BufWriter::with_capacity(256 * 1024, f))
}

pub fn finish_stream(mut w: std::io::BufWriter<std::fs::File>) -> Result<()> {
    w.flush()?;
    Ok(())
}
