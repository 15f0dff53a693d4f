//! `sealdrop-loadgen`: how many verified, durably committed submissions per
//! second a sealdrop-server takes, with the baselines that bound it measured
//! in the same run on the same machine:
//!
//! 1. `verify_strict` of the same reports on 2 threads (the CPU bound);
//! 2. the store's durable group-commit insert rate, no HTTP (the disk bound);
//! 3. the server over HTTP, C connections, N pre-sealed 2 KiB reports to 3
//!    recipients: submissions/s, p50, p99.
//!
//! With `--prefill M` the server's store first gets M reports, so the same
//! load can be compared between an empty and a full store.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use clap::Parser;
use rand_core::UnwrapErr;
use sealdrop_client::{Client, log_check};
use sealdrop_proto::codec::Encode as _;
use sealdrop_proto::descriptor::{ProgramDescriptor, SignedDescriptor};
use sealdrop_proto::invite::{InviteBundle, ServerPins};
use sealdrop_proto::keys::SigningSecret;
use sealdrop_proto::log::checkpoint::Checkpoint;
use sealdrop_proto::messages::Acknowledgement;
use sealdrop_proto::report::{ReportContent, ReportSealer, SealedReport};
use sealdrop_proto::signed::Signed;
use sealdrop_proto::{ProgramId, SecretIdentity};
use sealdrop_store::{Store, Submission};

mod attachment;

#[derive(Debug, Parser)]
#[command(
    about = "Load generator for sealdrop-server, with same-run baselines.",
    after_help = "Example:\n  cargo build --release -p sealdrop-server -p sealdrop-loadgen\n  target/release/sealdrop-loadgen --reports 20000 --connections 32\n  target/release/sealdrop-loadgen --reports 20000 --prefill 1000000\n  target/release/sealdrop-loadgen --reports 100000 --audit\n  target/release/sealdrop-loadgen --reports 1000 --prefill 1000000 --audit --audit-then 10000\n  target/release/sealdrop-loadgen --reports 20000 --baseline-server OLD/sealdrop-server\n  target/release/sealdrop-loadgen --reports 1 --attachment-mib 1024"
)]
struct Args {
    /// Reports to submit over HTTP.
    #[arg(long, default_value_t = 20_000)]
    reports: usize,
    /// Concurrent connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Reports stored before the HTTP run (compare a full store with an empty one).
    #[arg(long, default_value_t = 0)]
    prefill: usize,
    /// The sealdrop-server binary (default: next to this one).
    #[arg(long)]
    server: Option<PathBuf>,
    /// Size of each report's answers, in bytes.
    #[arg(long, default_value_t = 2048)]
    answers_bytes: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// After the HTTP run, time `sealdrop audit verify` over everything
    /// stored (the `sealdrop` binary next to this one), against the 2-thread
    /// verify_strict rate.
    #[arg(long)]
    audit: bool,
    /// With `--audit`: then submit this many more reports and time an
    /// incremental `audit verify` (work in proportion to the new ones).
    #[arg(long)]
    audit_then: Option<usize>,
    /// After the HTTP run, time `sealdrop fetch` of every report as the
    /// program's manager, against the single-core rate of verify_strict +
    /// HPKE open + ChaCha20-Poly1305 open of the same reports.
    #[arg(long)]
    fetch: bool,
    /// After the HTTP run, time `sealdrop fetch` of one report with an
    /// attachment of this many MiB (peak memory too), against `rage -d` of
    /// the same size (use with `--reports 1`).
    #[arg(long)]
    attachment_mib: Option<u64>,
    /// Another sealdrop-server binary to compare with (for example one
    /// built from the commit before a change): the HTTP load runs on it and
    /// on this one in turn, each on a fresh store, and the ratio is printed.
    #[arg(long)]
    baseline_server: Option<PathBuf>,
    /// After the HTTP run, submit this many more reports twice over: plain,
    /// and each after the proof a shopper makes before every send (the
    /// server's checkpoint, its consistency with the one kept, the
    /// program's head proof, the descriptor listing), and print the ratio.
    #[arg(long)]
    head_proof: Option<usize>,
    /// Rounds of the comparison with `--baseline-server`.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

fn rng() -> UnwrapErr<getrandom::SysRng> {
    UnwrapErr(getrandom::SysRng)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A program with 3 recipients and a shopper pseudonym.
struct Fixture {
    manager: SecretIdentity,
    staff: Vec<SecretIdentity>,
    shopper: SecretIdentity,
    descriptor: SignedDescriptor,
}

impl Fixture {
    fn new() -> Result<Self> {
        let manager = SecretIdentity::generate(&mut rng());
        let mut first = ProgramDescriptor::first(
            ProgramId::random(&mut rng()),
            "Load test",
            manager.public(),
            [0; 32],
            365,
            now(),
        )?;
        let staff: Vec<SecretIdentity> = (0..2)
            .map(|_| SecretIdentity::generate(&mut rng()))
            .collect();
        for s in &staff {
            first.add_recipient(s.public());
        }
        Ok(Self {
            descriptor: first.sign(&manager)?,
            manager,
            staff,
            shopper: SecretIdentity::generate(&mut rng()),
        })
    }

    fn seal(&self, answers: &[u8]) -> Result<(SealedReport, Vec<u8>)> {
        let mut sealer = ReportSealer::new(
            &self.shopper,
            self.descriptor.unverified_body(),
            now() * 1000,
            &mut rng(),
        )?;
        let mut ct = Vec::new();
        sealer.seal_content(
            &ReportContent {
                answers: answers.to_vec(),
                attachments: Vec::new(),
            },
            &mut ct,
        )?;
        Ok((sealer.finish(&mut rng())?.0, ct))
    }
}

fn seal_many(f: &Fixture, n: usize, answers: &[u8]) -> Result<Vec<(SealedReport, Vec<u8>)>> {
    let threads = 2;
    let per = n.div_ceil(threads);
    let out = Mutex::new(Vec::with_capacity(n));
    std::thread::scope(|s| -> Result<()> {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let count = per.min(n.saturating_sub(t * per));
                let out = &out;
                s.spawn(move || -> Result<()> {
                    let mut mine = Vec::with_capacity(count);
                    for _ in 0..count {
                        mine.push(f.seal(answers)?);
                    }
                    out.lock()
                        .map_err(|_| anyhow::anyhow!("poisoned"))?
                        .extend(mine);
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("a sealing thread failed"))??;
        }
        Ok(())
    })?;
    out.into_inner().map_err(|_| anyhow::anyhow!("poisoned"))
}

/// `verify_strict` of every report on 2 threads: reports per second.
fn verify_rate(reports: &[(SealedReport, Vec<u8>)]) -> Result<f64> {
    let start = Instant::now();
    std::thread::scope(|s| -> Result<()> {
        let halves = reports.split_at(reports.len() / 2);
        let handles = [halves.0, halves.1]
            .map(|half| s.spawn(move || half.iter().all(|(r, _)| r.verify().is_ok())));
        for h in handles {
            if !h
                .join()
                .map_err(|_| anyhow::anyhow!("a verifying thread failed"))?
            {
                bail!("a report did not verify");
            }
        }
        Ok(())
    })?;
    Ok(reports.len() as f64 / start.elapsed().as_secs_f64())
}

fn submission(f: &Fixture, log: &SigningSecret, r: &SealedReport, ct: &[u8]) -> Submission {
    Submission {
        sealed: r.clone(),
        streams: vec![vec![ct.to_vec()]],
        acknowledgement: Signed::sign(
            Acknowledgement {
                log_origin: "loadgen".into(),
                program_id: r.header.core.program_id,
                report_id: r.report_id(),
                sealed_report: r.hash(),
                received_at: now(),
            },
            log,
        ),
        shopper: f.shopper.id(),
    }
}

/// Stores `reports` through the store alone from `threads` writers:
/// durable commits per second.
fn store_rate(
    store: &Arc<dyn Store>,
    f: &Fixture,
    reports: &[(SealedReport, Vec<u8>)],
    threads: usize,
) -> Result<f64> {
    let log = SigningSecret::generate(&mut rng());
    let next = AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|s| -> Result<()> {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> Result<()> {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((r, ct)) = reports.get(i) else {
                            return Ok(());
                        };
                        store.submit(submission(f, &log, r, ct))?;
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| anyhow::anyhow!("a writer failed"))??;
        }
        Ok(())
    })?;
    Ok(reports.len() as f64 / start.elapsed().as_secs_f64())
}

/// Enrols the fixture's people in a fresh store, as the server would.
/// The organisation `enrol_directly` makes.
const PREFILL_ORG: &str = "loadgen";

fn enrol_directly(store: &dyn Store, f: &Fixture, log: &SigningSecret) -> Result<()> {
    let org = store.create_organisation(PREFILL_ORG, now())?;
    let token = [42u8; 32];
    store.issue_enrolment_token(sealdrop_store::EnrolmentToken {
        hash: token,
        org: org.id,
        role: sealdrop_api::Role::Manager,
        expires_at: now() + 60,
    })?;
    store.enrol(sealdrop_store::NewPerson {
        token_hash: token,
        identity: f.manager.public(),
        now: now(),
    })?;
    for (i, s) in f.staff.iter().enumerate() {
        let token = [i as u8; 32];
        store.issue_enrolment_token(sealdrop_store::EnrolmentToken {
            hash: token,
            org: org.id,
            role: sealdrop_api::Role::Staff,
            expires_at: now() + 60,
        })?;
        store.enrol(sealdrop_store::NewPerson {
            token_hash: token,
            identity: s.public(),
            now: now(),
        })?;
    }
    store.create_program(org.id, &f.descriptor, now())?;
    let bundle = InviteBundle::create(
        &f.descriptor,
        &f.manager,
        &ServerPins {
            server_url: "http://127.0.0.1:1".into(),
            tls_cert_sha256: None,
            log_key: log.verifying_key().to_bytes(),
            log_origin: "loadgen".into(),
        },
        now(),
        now() + 60,
        &mut rng(),
    )?;
    let body = bundle.invite.unverified_body();
    store.register_invite(sealdrop_store::NewInvite {
        program: body.program_id,
        token_hash: body.token_hash,
        expires_at: body.expires_at,
    })?;
    let commitment_leaf = store.commit_enrolment(sealdrop_store::NewCommitment {
        token_hash: body.token_hash,
        commitment: sealdrop_proto::invite::enrolment_commitment(
            bundle.token.expose_bytes(),
            &f.shopper.public(),
        ),
        now: now(),
    })?;
    store.enrol_shopper(sealdrop_store::NewShopper {
        enrolment: sealdrop_proto::invite::Enrolment::sign(
            &bundle,
            &f.shopper,
            now(),
            commitment_leaf,
        ),
        invite: bundle.invite,
        now: now(),
    })?;
    Ok(())
}

struct Server {
    child: Child,
    url: String,
    token: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(bin: &Path, data: &Path) -> Result<Server> {
    let mut child = Command::new(bin)
        .args(["serve", "--bind", "127.0.0.1:0", "--data"])
        .arg(data)
        .env("SEALDROP_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut token = String::new();
    let url = loop {
        let line = lines.next().context("the server exited")??;
        if line.trim_start().starts_with("sde_") {
            line.trim().clone_into(&mut token);
        }
        if let Some(url) = line.strip_prefix("sealdrop-server listening on ") {
            break url.trim().to_owned();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    Ok(Server { child, url, token })
}

struct HttpRun {
    rate: f64,
    p50: Duration,
    p99: Duration,
}

fn http_run(
    server: &Server,
    f: &Fixture,
    reports: &[(SealedReport, Vec<u8>)],
    connections: usize,
    token: &str,
) -> Result<HttpRun> {
    http_run_proving(server, f, reports, connections, token, false)
}

/// The shopper's proof before a send (`shopper-cli/src/send.rs`,
/// `current_descriptor`), without witnesses: one request for the
/// checkpoint, its consistency with the one this connection kept, the
/// program's head in it and the versions after version 1, all checked.
fn prove_head(
    client: &Client,
    f: &Fixture,
    (key, origin): &([u8; 32], String),
    kept: &mut Option<Checkpoint>,
) -> Result<()> {
    let id = f.descriptor.unverified_body().program_id;
    let answer = client.program_current(&id, kept.as_ref().map(Checkpoint::size), 1)?;
    let checkpoint = log_check::checkpoint(answer.checkpoint.as_bytes(), origin, key)?;
    if let Some(old) = kept.as_ref() {
        log_check::extends(old, &checkpoint, &answer.consistency)?;
    }
    let head = log_check::head(&checkpoint, &id, &answer.head)?;
    let at_head = std::iter::once(&f.descriptor)
        .chain(&answer.versions)
        .find(|d| d.unverified_body().version == head.version)
        .context("the head's version is not listed")?;
    if sealdrop_proto::descriptor::hash_of(at_head) != head.descriptor {
        bail!("the listed version is not the head");
    }
    *kept = Some(checkpoint);
    Ok(())
}

fn http_run_proving(
    server: &Server,
    f: &Fixture,
    reports: &[(SealedReport, Vec<u8>)],
    connections: usize,
    token: &str,
    prove: bool,
) -> Result<HttpRun> {
    let next = AtomicUsize::new(0);
    let latencies = Mutex::new(Vec::with_capacity(reports.len()));
    let start = Instant::now();
    std::thread::scope(|s| -> Result<()> {
        let handles: Vec<_> = (0..connections)
            .map(|_| {
                s.spawn(|| -> Result<()> {
                    let mut client = Client::new(&server.url)?;
                    client.set_token(Some(token.to_owned()));
                    let mut mine = Vec::new();
                    let mut kept = None;
                    // What the shopper pinned from its invite.
                    let pins = if prove {
                        let info = client.server_info()?;
                        let key: [u8; 32] = info
                            .log_key
                            .0
                            .as_slice()
                            .try_into()
                            .context("a log key of another length")?;
                        Some((key, info.log_origin))
                    } else {
                        None
                    };
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((r, ct)) = reports.get(i) else { break };
                        let body = sealdrop_api::upload::body(&r.to_bytes(), &[ct]);
                        let t = Instant::now();
                        if let Some(pins) = &pins {
                            prove_head(&client, f, pins, &mut kept)?;
                        }
                        let done = client.submit_raw(&body)?;
                        mine.push(t.elapsed());
                        if done.duplicate {
                            bail!("a fresh report was answered as a duplicate");
                        }
                    }
                    latencies
                        .lock()
                        .map_err(|_| anyhow::anyhow!("poisoned"))?
                        .extend(mine);
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("a connection failed"))??;
        }
        Ok(())
    })?;
    let elapsed = start.elapsed();
    let mut l = latencies
        .into_inner()
        .map_err(|_| anyhow::anyhow!("poisoned"))?;
    l.sort();
    let pct = |p: f64| {
        l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Ok(HttpRun {
        rate: reports.len() as f64 / elapsed.as_secs_f64(),
        p50: pct(0.50),
        p99: pct(0.99),
    })
}

/// A fresh server with `bin` on its own data directory, `prefill` reports
/// stored first, the fixture's program and shopper enrolled: the server
/// and the shopper's bearer token.
struct Prepared {
    _dir: tempfile::TempDir,
    data: PathBuf,
    server: Server,
    token: String,
}

fn prepare(bin: &Path, f: &Fixture, prefill: usize, answers: &[u8]) -> Result<Prepared> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let init = Command::new(bin)
        .args(["init", "--data"])
        .arg(&data)
        .output()?;
    if !init.status.success() {
        bail!("init failed: {}", String::from_utf8_lossy(&init.stderr));
    }
    if prefill > 0 {
        eprintln!("prefilling {} reports…", prefill);
        let store: Arc<dyn Store> = Arc::new(sealdrop_store::SqliteStore::open(
            &data.join("sealdrop.db"),
        )?);
        let log = SigningSecret::generate(&mut rng());
        enrol_directly(&*store, f, &log)?;
        let batch = 20_000;
        let mut left = prefill;
        while left > 0 {
            let n = left.min(batch);
            let fill = seal_many(f, n, answers)?;
            store_rate(&store, f, &fill, 64)?;
            left -= n;
        }
    }
    let invite = Command::new(bin)
        .args(["invite", "--role", "manager", "--json", "--data"])
        .arg(&data)
        .output()?;
    let invite: serde_json::Value = serde_json::from_slice(&invite.stdout)
        .with_context(|| String::from_utf8_lossy(&invite.stderr).into_owned())?;
    let mut server = start_server(bin, &data)?;
    invite["token"]
        .as_str()
        .context("invite printed no token")?
        .clone_into(&mut server.token);
    let token = if prefill > 0 {
        // The shopper is enrolled already; sign in.
        let mut c = Client::new(&server.url)?;
        c.sign_in(&f.shopper)?.token
    } else {
        let mut manager = Client::new(&server.url)?;
        manager.enrol(&server.token, &f.manager)?;
        manager.sign_in(&f.manager)?;
        for s in &f.staff {
            Client::new(&server.url)?.enrol(&manager.issue_staff_token()?.token, s)?;
        }
        manager.create_program(&f.descriptor)?;
        let info = manager.server_info()?;
        let bundle = InviteBundle::create(
            &f.descriptor,
            &f.manager,
            &ServerPins {
                server_url: server.url.clone(),
                tls_cert_sha256: None,
                log_key: info.log_key.0.as_slice().try_into()?,
                log_origin: info.log_origin,
            },
            now(),
            now() + 600,
            &mut rng(),
        )?;
        manager.register_invite(&bundle.invite)?;
        let mut shopper = Client::new(&server.url)?;
        shopper.enrol_shopper(&bundle, &f.shopper)?;
        shopper.sign_in(&f.shopper)?.token
    };
    Ok(Prepared {
        _dir: dir,
        data,
        server,
        token,
    })
}

/// The same load on the baseline binary and on this one, in turn.
struct Compared {
    this: Vec<f64>,
    baseline: Vec<f64>,
}

impl Compared {
    fn ratios(&self) -> Vec<f64> {
        self.this
            .iter()
            .zip(&self.baseline)
            .map(|(t, b)| t / b)
            .collect()
    }
}

fn compare(
    bin: &Path,
    base: &Path,
    f: &Fixture,
    reports: &[(SealedReport, Vec<u8>)],
    answers: &[u8],
    args: &Args,
) -> Result<Compared> {
    let mut c = Compared {
        this: Vec::new(),
        baseline: Vec::new(),
    };
    for round in 0..args.rounds {
        for (which, out) in [(base, &mut c.baseline), (bin, &mut c.this)] {
            eprintln!("round {}: {}…", round + 1, which.display());
            let p = prepare(which, f, 0, answers)?;
            out.push(http_run(&p.server, f, reports, args.connections, &p.token)?.rate);
        }
    }
    Ok(c)
}

fn main() -> Result<()> {
    let args = Args::parse();
    let bin = match &args.server {
        Some(p) => p.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("no parent directory")?
            .join("sealdrop-server"),
    };
    let f = Fixture::new()?;
    let answers = vec![b'a'; args.answers_bytes];
    eprintln!("sealing {} reports…", args.reports);
    let reports = seal_many(&f, args.reports, &answers)?;

    let verify = verify_rate(&reports)?;

    // The store alone, on this disk, with the same writers.
    let scratch = tempfile::tempdir()?;
    let store: Arc<dyn Store> = Arc::new(sealdrop_store::SqliteStore::open(
        &scratch.path().join("s.db"),
    )?);
    let log = SigningSecret::generate(&mut rng());
    enrol_directly(&*store, &f, &log)?;
    let store_only = store_rate(&store, &f, &reports, args.connections)?;
    drop(store);

    // The server, over HTTP.
    let Prepared {
        _dir,
        data,
        server,
        token,
    } = prepare(&bin, &f, args.prefill, &answers)?;
    eprintln!("submitting over {} connections…", args.connections);
    let http = http_run(&server, &f, &reports, args.connections, &token)?;

    let compared = match &args.baseline_server {
        Some(base) => Some(compare(&bin, base, &f, &reports, &answers, &args)?),
        None => None,
    };

    let fetch = if args.fetch {
        Some(fetch_run(&bin, &server.url, &f, &reports)?)
    } else {
        None
    };
    let big = match args.attachment_mib {
        Some(mib) => Some(attachment::run(&bin, &server.url, &f, &token, mib)?),
        None => None,
    };
    let more = |n: usize| -> Result<()> {
        eprintln!("sealing and submitting {n} more…");
        let extra = seal_many(&f, n, &answers)?;
        http_run(&server, &f, &extra, args.connections, &token)?;
        Ok(())
    };
    // Plain, proven, plain again: the plain rate is their mean, so the
    // store growing through the run weighs on both sides alike.
    let head_proof = match args.head_proof {
        Some(n) => {
            eprintln!("submitting 3 × {n} more: plain, with the shopper's head proof, plain…");
            let mut runs = Vec::new();
            for prove in [false, true, false] {
                let batch = seal_many(&f, n, &answers)?;
                runs.push(http_run_proving(
                    &server,
                    &f,
                    &batch,
                    args.connections,
                    &token,
                    prove,
                )?);
            }
            let plain = (runs[0].rate + runs[2].rate) / 2.0;
            let plain_p50 = (runs[0].p50 + runs[2].p50) / 2;
            Some((plain, plain_p50, runs[1].rate, runs[1].p50))
        }
        None => None,
    };
    let then = args.audit_then.map(|n| move || more(n));
    let (audit, audit_again) = if args.audit {
        let (first, second) = audit_run(
            &bin,
            &data,
            &server.url,
            // Prefilled reports belong to the organisation made for them.
            (args.prefill > 0).then_some(PREFILL_ORG),
            &f.descriptor,
            then.as_ref().map(|m| m as &dyn Fn() -> Result<()>),
        )?;
        (Some(first), second)
    } else {
        (None, None)
    };

    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "reports": args.reports,
                "connections": args.connections,
                "prefill": args.prefill,
                "http_submissions_per_s": http.rate,
                "http_p50_ms": http.p50.as_secs_f64() * 1e3,
                "http_p99_ms": http.p99.as_secs_f64() * 1e3,
                "verify_strict_per_s_2_threads": verify,
                "store_group_commit_per_s": store_only,
                "baseline": compared.as_ref().map(|c| serde_json::json!({
                    "this_per_s": c.this, "baseline_per_s": c.baseline, "ratios": c.ratios(),
                })),
                "fetch": fetch.as_ref().map(|x| serde_json::json!({
                    "reports": x.reports, "seconds": x.seconds, "reports_per_s": x.rate(),
                    "open_single_core_per_s": x.baseline, "ratio": x.rate() / x.baseline,
                })),
                "attachment": big.as_ref().map(|b| serde_json::json!({
                    "mib": b.mib, "fetch_seconds": b.fetch_seconds,
                    "process_peak_kib": b.process_peak_kib, "transfer_peak_kib": b.transfer_peak_kib,
                    "rage_d_seconds": b.rage_seconds,
                    "ratio_to_rage": b.rage_seconds.map(|r| b.fetch_seconds / r),
                })),
                "audit": audit.as_ref().map(|a| serde_json::json!({
                    "reports": a.reports, "log_entries": a.log_new, "seconds": a.seconds, "session_seconds": a.session_seconds,
                    "reports_per_s": a.rate(), "ratio_to_verify_2_threads": a.rate() / verify,
                })),
                "head_proof": head_proof.map(|(plain, plain_p50, proven, proven_p50)| serde_json::json!({
                    "plain_per_s": plain, "proven_per_s": proven, "ratio": proven / plain,
                    "plain_p50_ms": plain_p50.as_secs_f64() * 1e3, "proven_p50_ms": proven_p50.as_secs_f64() * 1e3,
                })),
                "audit_incremental": audit_again.as_ref().map(|a| serde_json::json!({
                    "reports": a.reports, "log_entries": a.log_new, "seconds": a.seconds,
                    "session_seconds": a.session_seconds,
                })),
            })
        );
    } else {
        println!(
            "reports {} ({} B answers, 3 recipients), {} connections, {} stored before",
            args.reports, args.answers_bytes, args.connections, args.prefill
        );
        println!("verify_strict, 2 threads       {verify:>10.0} /s");
        println!("store group commit, no HTTP    {store_only:>10.0} /s");
        println!(
            "server over HTTP               {:>10.0} /s   p50 {:.2} ms   p99 {:.2} ms",
            http.rate,
            http.p50.as_secs_f64() * 1e3,
            http.p99.as_secs_f64() * 1e3
        );
        println!(
            "HTTP / verify bound            {:>10.2}",
            http.rate / verify
        );
        println!(
            "HTTP / store bound             {:>10.2}",
            http.rate / store_only
        );
        if let Some((plain, plain_p50, proven, proven_p50)) = head_proof {
            println!(
                "submit with the head proof     {proven:>10.0} /s   p50 {:.2} ms   (plain {plain:.0} /s, p50 {:.2} ms; ratio {:.2})",
                proven_p50.as_secs_f64() * 1e3,
                plain_p50.as_secs_f64() * 1e3,
                proven / plain
            );
        }
        if let Some(c) = &compared {
            for (round, (this, base)) in c.this.iter().zip(&c.baseline).enumerate() {
                println!(
                    "round {}: this {this:>8.0} /s   baseline {base:>8.0} /s   ratio {:.2}",
                    round + 1,
                    this / base
                );
            }
        }
        if let Some(x) = &fetch {
            println!(
                "fetch (verify, decrypt, write)  {:>10.0} reports/s ({} reports in {:.2} s)",
                x.rate(),
                x.reports,
                x.seconds
            );
            println!("open+verify, 1 core            {:>10.0} /s", x.baseline);
            println!(
                "fetch / open bound             {:>10.2}",
                x.rate() / x.baseline
            );
        }
        if let Some(b) = &big {
            println!(
                "fetch of a {} MiB attachment    {:>10.2} s   memory: {:.1} MiB while fetching, {:.1} MiB process peak (with unlocking)",
                b.mib,
                b.fetch_seconds,
                b.transfer_peak_kib as f64 / 1024.0,
                b.process_peak_kib as f64 / 1024.0,
            );
            if let Some(r) = b.rage_seconds {
                println!("rage -d, same size             {r:>10.2} s");
                println!(
                    "fetch / rage -d                {:>10.2}",
                    b.fetch_seconds / r
                );
            }
        }
        if let Some(a) = &audit {
            println!(
                "audit verify                   {:>10.0} reports/s ({} reports in {:.2} s, less {:.2} s of unlocking and signing in)",
                a.rate(),
                a.reports,
                a.seconds,
                a.session_seconds
            );
            println!("audit / verify bound           {:>10.2}", a.rate() / verify);
            if let Some(b) = &audit_again {
                let per = |r: &AuditRun| (r.seconds - r.session_seconds) / r.log_new.max(1) as f64;
                println!(
                    "audit verify again            {:>10.2} s for {} new log entries and {} new reports (first run: {} entries in {:.2} s); time per new entry, again / first: {:.2}",
                    b.seconds - b.session_seconds,
                    b.log_new,
                    b.reports,
                    a.log_new,
                    a.seconds - a.session_seconds,
                    per(b) / per(a)
                );
            }
        }
    }
    Ok(())
}

struct AuditRun {
    reports: u64,
    /// Log entries this run read (all of them on a first run).
    log_new: u64,
    seconds: f64,
    /// What unlocking the keystore and signing in cost (timed with a
    /// command that does only that), taken off `seconds` for the rate.
    session_seconds: f64,
}

impl AuditRun {
    fn rate(&self) -> f64 {
        self.reports as f64 / (self.seconds - self.session_seconds).max(1e-9)
    }
}

/// Enrols an auditor with the real CLI and times `sealdrop audit verify`;
/// with `more`, runs it, then runs `audit verify` again (incrementally).
fn audit_run(
    server_bin: &Path,
    data: &Path,
    url: &str,
    org: Option<&str>,
    descriptor: &SignedDescriptor,
    more: Option<&dyn Fn() -> Result<()>>,
) -> Result<(AuditRun, Option<AuditRun>)> {
    let cli = server_bin.with_file_name("sealdrop");
    let home = tempfile::tempdir()?;
    let run = |args: &[&str]| -> Result<std::process::Output> {
        let out = Command::new(&cli)
            .args(args)
            .env("SEALDROP_HOME", home.path().join("auditor"))
            .env("SEALDROP_PASSPHRASE", "loadgen auditor")
            .output()
            .with_context(|| format!("cannot run {}", cli.display()))?;
        if !out.status.success() {
            bail!(
                "sealdrop {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(out)
    };
    run(&["keygen", "--name", "Auditor"])?;
    let mut invite = Command::new(server_bin);
    invite
        .args(["invite", "--role", "auditor", "--json", "--data"])
        .arg(data);
    if let Some(org) = org {
        invite.args(["--org", org]);
    }
    let invite = invite.output()?;
    let token: serde_json::Value = serde_json::from_slice(&invite.stdout)?;
    run(&[
        "enroll",
        "--server",
        url,
        "--token",
        token["token"].as_str().context("no token")?,
    ])?;
    // The auditor confirms the program from its descriptor fingerprint, as
    // its manager would read it out.
    let fingerprint = sealdrop_proto::DescriptorFingerprint::of_hash(
        &sealdrop_proto::descriptor::hash_of(descriptor),
    )
    .to_string();
    run(&[
        "audit",
        "trust",
        &descriptor.unverified_body().program_id.to_string(),
        "--descriptor",
        &fingerprint,
    ])?;
    let t = Instant::now();
    run(&["program", "list"])?;
    let session_seconds = t.elapsed().as_secs_f64();
    let audit = || -> Result<AuditRun> {
        eprintln!("auditing…");
        let t = Instant::now();
        let out = run(&["audit", "verify", "--json"])?;
        let seconds = t.elapsed().as_secs_f64();
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        if summary["failures"].as_array().is_none_or(|f| !f.is_empty()) {
            bail!("audit verify found failures: {summary}");
        }
        Ok(AuditRun {
            reports: summary["reports"].as_u64().unwrap_or(0),
            log_new: summary["log"]["new"].as_u64().unwrap_or(0),
            seconds,
            session_seconds,
        })
    };
    let first = audit()?;
    let second = match more {
        Some(more) => {
            more()?;
            Some(audit()?)
        }
        None => None,
    };
    Ok((first, second))
}

struct FetchRun {
    reports: usize,
    seconds: f64,
    baseline: f64,
}

impl FetchRun {
    fn rate(&self) -> f64 {
        self.reports as f64 / self.seconds.max(1e-9)
    }
}

/// Writes a keystore for the fixture's manager (who is a recipient of every
/// report) and times `sealdrop fetch` of everything, after measuring the
/// single-core verify + open rate of the same reports.
fn fetch_run(
    server_bin: &Path,
    url: &str,
    f: &Fixture,
    reports: &[(SealedReport, Vec<u8>)],
) -> Result<FetchRun> {
    // The bound: verify_strict, unwrap the manager's envelope (HPKE), open
    // the content (ChaCha20-Poly1305), one core.
    let sample = reports.len().min(5_000);
    let t = Instant::now();
    for (r, ct) in reports.iter().take(sample) {
        let record = r.record().verify()?;
        let envelope = r
            .envelopes
            .iter()
            .find(|e| e.recipient == f.manager.id())
            .context("no envelope for the manager")?;
        let key = record.unwrap_key(envelope, &f.manager)?;
        record.opener(&key)?.open_content(&mut ct.as_slice())?;
    }
    let baseline = sample as f64 / t.elapsed().as_secs_f64();

    let (home, dir) = manager_home(url, f)?;
    let out = home.path().join("findings");
    eprintln!("fetching…");
    let t = Instant::now();
    let result = Command::new(server_bin.with_file_name("sealdrop"))
        .args(["fetch", "--json", "--out"])
        .arg(&out)
        .env("SEALDROP_HOME", &dir)
        .env("SEALDROP_PASSPHRASE", "loadgen")
        .output()?;
    let seconds = t.elapsed().as_secs_f64();
    if !result.status.success() {
        bail!(
            "sealdrop fetch failed: {}",
            String::from_utf8_lossy(&result.stderr)
        );
    }
    let summary: serde_json::Value = serde_json::from_slice(&result.stdout)?;
    Ok(FetchRun {
        reports: summary["fetched"].as_array().map_or(0, Vec::len),
        seconds,
        baseline,
    })
}

/// A `SEALDROP_HOME` for the fixture's manager (a recipient of every
/// report), passphrase "loadgen", signed in to `url`.
fn manager_home(url: &str, f: &Fixture) -> Result<(tempfile::TempDir, PathBuf)> {
    let home = tempfile::tempdir()?;
    let dir = home.path().join("manager");
    std::fs::create_dir_all(&dir)?;
    let keystore = sealdrop_keystore::Keystore::create(
        "Loadgen manager",
        &f.manager,
        &sealdrop_keystore::Passphrase::new("loadgen".into()),
        sealdrop_keystore::KdfParams::MIN,
    )?;
    keystore.write_new(&dir.join("keystore.json"))?;
    // The manager created the program: its version 1 is confirmed.
    let confirmed = serde_json::json!({
        f.descriptor.unverified_body().program_id.to_string(): {
            "version": 1,
            "hash": sealdrop_api::B64(sealdrop_proto::descriptor::hash_of(&f.descriptor).to_vec()),
        }
    });
    sealdrop_keystore::write_private(
        &dir.join("state.json"),
        serde_json::json!({"server": url, "role": "manager", "confirmed": confirmed})
            .to_string()
            .as_bytes(),
    )?;
    Ok((home, dir))
}
