//! `--attachment-mib N`: one report carrying an N MiB attachment, uploaded
//! through the resumable path, then fetched by the program's manager with
//! the real `sealdrop fetch`, against `rage -d` of an age file of the same
//! size in the same run (`cargo install rage`).
//!
//! Memory is read from `/proc/PID/status` every few milliseconds: the
//! process's peak (`VmHWM`), which includes Argon2id's working memory while
//! the keystore unlocks, and the largest resident size while the attachment
//! is being fetched (`VmRSS` while the report's `.partial-` folder exists),
//! which is what streaming has to keep small.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use sealdrop_client::Client;
use sealdrop_proto::report::{AttachmentMeta, ReportContent, ReportSealer};

use crate::{Fixture, manager_home, now, rng};

pub struct AttachmentRun {
    pub mib: u64,
    pub fetch_seconds: f64,
    /// Peak resident memory of the whole `sealdrop fetch` process.
    pub process_peak_kib: u64,
    /// Largest resident memory seen while the attachment was fetched.
    pub transfer_peak_kib: u64,
    /// `rage -d` of the same number of bytes, when `rage` is installed.
    pub rage_seconds: Option<f64>,
}

/// `len` bytes that repeat a random MiB: as costly to encrypt as any bytes.
struct Filler {
    block: Vec<u8>,
    left: u64,
    at: usize,
}

impl Filler {
    fn new(len: u64) -> Self {
        let mut block = vec![0u8; 1 << 20];
        rand_core::Rng::fill_bytes(&mut rng(), &mut block);
        Self {
            block,
            left: len,
            at: 0,
        }
    }
}

impl Read for Filler {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let rest = self.block.get(self.at..).unwrap_or_default();
        let n = buf
            .len()
            .min(rest.len())
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        buf[..n].copy_from_slice(&rest[..n]);
        self.left -= n as u64;
        self.at = (self.at + n) % self.block.len();
        Ok(n)
    }
}

pub fn run(
    server_bin: &Path,
    url: &str,
    f: &Fixture,
    shopper_token: &str,
    mib: u64,
) -> Result<AttachmentRun> {
    let len = mib << 20;
    eprintln!("sealing and uploading a {mib} MiB attachment…");
    let mut sealer = ReportSealer::new(
        &f.shopper,
        f.descriptor.unverified_body(),
        now() * 1000,
        &mut rng(),
    )?;
    let mut content = Vec::new();
    sealer.seal_content(
        &ReportContent {
            answers: br#"{"q1": "yes"}"#.to_vec(),
            attachments: vec![AttachmentMeta {
                file_name: "walkthrough.mp4".into(),
                captured_at: None,
                media_type: "video/mp4".into(),
            }],
        },
        &mut content,
    )?;
    let mut attachment = Vec::with_capacity(usize::try_from(len + len / 1000)?);
    sealer.seal_attachment(&mut Filler::new(len), &mut attachment)?;
    let (sealed, _) = sealer.finish(&mut rng())?;
    let mut shopper = Client::new(url)?;
    shopper.set_token(Some(shopper_token.to_owned()));
    let piece = usize::try_from(shopper.server_info()?.max_piece_bytes)?;
    shopper.upload(&sealed, &[&content, &attachment], piece)?;
    drop(attachment);

    let (home, dir) = manager_home(url, f)?;
    let age = prepare_rage(home.path(), len)?;
    // Three rounds, each tool after a `sync` so neither pays for the
    // other's dirty pages; the medians are reported.
    let out = home.path().join("findings");
    let cli = server_bin.with_file_name("sealdrop");
    let (mut fetches, mut rages) = (Vec::new(), Vec::new());
    let (mut process_peak_kib, mut transfer_peak_kib) = (0, 0);
    for round in 1..=ROUNDS {
        eprintln!("round {round}/{ROUNDS}: sealdrop fetch, then rage -d…");
        let folder = out.join(sealed.report_id().to_string());
        if folder.exists() {
            std::fs::remove_dir_all(&folder)?;
        }
        sync()?;
        let m = fetch(&cli, &dir, &out, &sealed.report_id().to_string())?;
        fetches.push(m.seconds);
        process_peak_kib = process_peak_kib.max(m.process_peak_kib);
        transfer_peak_kib = transfer_peak_kib.max(m.transfer_peak_kib);
        let fetched = folder.join("walkthrough.mp4");
        if std::fs::metadata(&fetched)?.len() != len {
            bail!("the fetched attachment has the wrong length");
        }
        std::fs::remove_file(&fetched)?;
        if let Some((key, sealed_file)) = &age {
            sync()?;
            rages.push(rage_decrypt(home.path(), key, sealed_file)?);
        }
    }
    Ok(AttachmentRun {
        mib,
        fetch_seconds: median(&mut fetches),
        process_peak_kib,
        transfer_peak_kib,
        rage_seconds: (!rages.is_empty()).then(|| median(&mut rages)),
    })
}

const ROUNDS: usize = 3;

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(0.0)
}

fn sync() -> Result<()> {
    Command::new("sync").status()?;
    Ok(())
}

struct Fetched {
    seconds: f64,
    process_peak_kib: u64,
    transfer_peak_kib: u64,
}

/// Runs `sealdrop fetch` once, sampling its memory.
fn fetch(cli: &Path, home: &Path, out: &Path, report: &str) -> Result<Fetched> {
    let t = Instant::now();
    let mut child = Command::new(cli)
        .args(["fetch", "--json", "--out"])
        .arg(out)
        .env("SEALDROP_HOME", home)
        .env("SEALDROP_PASSPHRASE", "loadgen")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let status = format!("/proc/{}/status", child.id());
    let partial = out.join(format!(".partial-{report}"));
    let (mut process_peak_kib, mut transfer_peak_kib) = (0, 0);
    let exit = loop {
        if let Some(exit) = child.try_wait()? {
            break exit;
        }
        if let Ok(text) = std::fs::read_to_string(&status) {
            process_peak_kib = process_peak_kib.max(kib(&text, "VmHWM:"));
            if partial.exists() {
                transfer_peak_kib = transfer_peak_kib.max(kib(&text, "VmRSS:"));
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let seconds = t.elapsed().as_secs_f64();
    if !exit.success() {
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .map(|mut e| e.read_to_string(&mut stderr));
        bail!("sealdrop fetch failed: {stderr}");
    }
    Ok(Fetched {
        seconds,
        process_peak_kib,
        transfer_peak_kib,
    })
}

/// A `/proc/PID/status` field in KiB, or 0.
fn kib(status: &str, field: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// An age identity file and an age file of `len` bytes, or `None` without
/// rage.
fn prepare_rage(dir: &Path, len: u64) -> Result<Option<(PathBuf, PathBuf)>> {
    if Command::new("rage").arg("--version").output().is_err() {
        eprintln!("rage is not installed (cargo install rage): no baseline");
        return Ok(None);
    }
    let key = dir.join("age-key.txt");
    let keygen = Command::new("rage-keygen").arg("-o").arg(&key).output()?;
    if !keygen.status.success() {
        bail!("rage-keygen failed");
    }
    let recipient = std::fs::read_to_string(&key)?
        .lines()
        .find_map(|l| l.strip_prefix("# public key: ").map(str::to_owned))
        .context("no public key in rage-keygen's file")?;
    let plain = dir.join("plain.bin");
    std::io::copy(&mut Filler::new(len), &mut std::fs::File::create(&plain)?)?;
    let sealed = dir.join("plain.bin.age");
    let enc = Command::new("rage")
        .args(["-e", "-r", &recipient, "-o"])
        .arg(&sealed)
        .arg(&plain)
        .status()?;
    std::fs::remove_file(&plain)?;
    if !enc.success() {
        bail!("rage -e failed");
    }
    Ok(Some((key, sealed)))
}

/// Seconds `rage -d` takes to decrypt to a file.
fn rage_decrypt(dir: &Path, key: &Path, sealed: &Path) -> Result<f64> {
    let out = dir.join("plain.out");
    let t = Instant::now();
    let dec = Command::new("rage")
        .arg("-d")
        .arg("-i")
        .arg(key)
        .arg("-o")
        .arg(&out)
        .arg(sealed)
        .status()?;
    let seconds = t.elapsed().as_secs_f64();
    if !dec.success() {
        bail!("rage -d failed");
    }
    std::fs::remove_file(&out)?;
    Ok(seconds)
}
