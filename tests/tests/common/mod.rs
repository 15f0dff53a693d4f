//! Finding and running the real binaries: a server on port 0 with a
//! temporary data directory, and people who each have their own `--home`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

mod shopper;
#[allow(unused_imports)]
pub use shopper::{Shopper, enrolled_shopper, example_answers, filled};

use rand_core::UnwrapErr;
use sealdrop_client::Client;
use sealdrop_proto::SecretIdentity;
use sealdrop_proto::report::{AttachmentMeta, ReportContent, ReportSealer};

/// A binary built by `cargo build --workspace --bins` (scripts/test does
/// that first): next to this test's `deps/` directory.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built; run `cargo build --workspace --bins` (scripts/test does)",
        path.display()
    );
    path
}

pub struct Server {
    pub url: String,
    pub data: PathBuf,
    pub first_token: String,
    /// The TLS certificate's SHA-256 the server printed, when it has TLS.
    pub tls_pin: Option<String>,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Server {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts with more `serve` flags (`--tls-cert`, …).
    pub fn start_with(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let (child, url, first_token, tls_pin) = Self::spawn(&data, "127.0.0.1:0", extra);
        Self {
            url,
            tls_pin,
            data,
            first_token,
            child,
            _dir: dir,
        }
    }

    fn spawn(data: &Path, bind: &str, extra: &[&str]) -> (Child, String, String, Option<String>) {
        let mut child = Command::new(bin("sealdrop-server"))
            .args(["serve", "--bind", bind, "--workers", "2", "--data"])
            .arg(data)
            .args(extra)
            .env("SEALDROP_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut first_token = String::new();
        let mut tls_pin = None;
        let url = loop {
            let line = lines.next().expect("the server exited").unwrap();
            if line.trim_start().starts_with("sde_") {
                first_token = line.trim().to_owned();
            }
            if line.starts_with("TLS certificate SHA-256") {
                tls_pin = line.rsplit(' ').next().map(str::to_owned);
            }
            if let Some(u) = line.strip_prefix("sealdrop-server listening on ") {
                break u.trim().to_owned();
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        (child, url, first_token, tls_pin)
    }

    /// Runs an operator command of `sealdrop-server` on this data.
    pub fn operator_cmd(&self, args: &[&str]) -> Output {
        Command::new(bin("sealdrop-server"))
            .args(args)
            .arg("--data")
            .arg(&self.data)
            .output()
            .unwrap()
    }

    /// Stops the server (its data stays).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops the server as an operator would (SIGTERM): it finishes what
    /// is in flight and keeps the newest signed log head.
    pub fn stop_gracefully(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }

    /// The operator restores `backup` into a new data directory (with a
    /// handover from the current one when `handover`) and serves it on the
    /// same address: what clients meet after a restore.
    pub fn restore_from(&mut self, backup: &Path, handover: bool) {
        self.restore_from_with(backup, handover, &[]);
    }

    /// [`Server::restore_from`], serving again with `extra` flags.
    pub fn restore_from_with(&mut self, backup: &Path, handover: bool, extra: &[&str]) {
        self.stop();
        let restored = self.data.with_file_name(format!(
            "restored-{}",
            self.data.file_name().unwrap().to_string_lossy()
        ));
        let mut args = vec![
            "restore".to_owned(),
            "--from".into(),
            backup.to_string_lossy().into_owned(),
            "--data".into(),
            restored.to_string_lossy().into_owned(),
        ];
        if handover {
            args.push("--handover-from".into());
            args.push(self.data.to_string_lossy().into_owned());
        }
        let out = Command::new(bin("sealdrop-server"))
            .args(&args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "restore failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.data = restored;
        self.restart_with(extra);
    }

    /// Starts it again on the same address and data.
    pub fn restart(&mut self) {
        self.restart_with(&[]);
    }

    /// Starts it again on the same address and data, with `extra` flags.
    pub fn restart_with(&mut self, extra: &[&str]) {
        let bind = self
            .url
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .to_owned();
        let (child, url, _, tls_pin) = Self::spawn(&self.data, &bind, extra);
        self.tls_pin = tls_pin;
        assert_eq!(url, self.url);
        self.child = child;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Someone using the `sealdrop` CLI, with their own home and passphrase.
pub struct Staff {
    pub home: tempfile::TempDir,
    pub passphrase: String,
}

impl Staff {
    pub fn new(passphrase: &str) -> Self {
        Self {
            home: tempfile::tempdir().unwrap(),
            passphrase: passphrase.to_owned(),
        }
    }

    /// Runs `sealdrop ARGS` as this person.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// The command `run` runs, to spawn one that keeps running.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin("sealdrop"));
        c.args(args)
            .env("SEALDROP_HOME", self.home.path().join("h"))
            .env("SEALDROP_PASSPHRASE", &self.passphrase)
            .stdin(Stdio::null());
        c
    }

    /// Runs with `--json` and parses stdout, asserting success.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.run(&all);
        assert!(
            out.status.success(),
            "sealdrop {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "sealdrop {args:?}: not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// Runs and expects failure; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "sealdrop {args:?} should have failed"
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub fn dir(&self) -> PathBuf {
        self.home.path().join("h")
    }
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub fn rng() -> UnwrapErr<getrandom::SysRng> {
    UnwrapErr(getrandom::SysRng)
}

/// Seals and submits a report with attachments as `key` (signed in on `client`).
pub fn submit(
    client: &Client,
    key: &SecretIdentity,
    program: &str,
    answers: &[u8],
    files: &[(&str, &[u8])],
) -> String {
    let descriptor = client.descriptor(&program.parse().unwrap()).unwrap();
    let mut sealer =
        ReportSealer::new(key, descriptor.unverified_body(), now() * 1000, &mut rng()).unwrap();
    let content = ReportContent {
        answers: answers.to_vec(),
        attachments: files
            .iter()
            .map(|(name, _)| AttachmentMeta {
                file_name: (*name).to_owned(),
                captured_at: Some(now()),
                media_type: "image/jpeg".into(),
            })
            .collect(),
    };
    let mut streams = vec![Vec::new()];
    sealer.seal_content(&content, &mut streams[0]).unwrap();
    for (_, bytes) in files {
        let mut out = Vec::new();
        sealer.seal_attachment(&mut &bytes[..], &mut out).unwrap();
        streams.push(out);
    }
    let (sealed, _) = sealer.finish(&mut rng()).unwrap();
    let refs: Vec<&[u8]> = streams.iter().map(Vec::as_slice).collect();
    client.submit(&sealed, &refs).unwrap();
    sealed.report_id().to_string()
}

/// An operator token from the server's own command.
pub fn operator_token(server: &Server, role: &str) -> String {
    let out = Command::new(bin("sealdrop-server"))
        .args(["invite", "--role", role, "--json", "--data"])
        .arg(&server.data)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["token"].as_str().unwrap().to_owned()
}

/// The example questionnaire from docs/examples, with `version`, written to
/// `dir`; returns its path.
pub fn example_questionnaire(dir: &Path, version: u32) -> PathBuf {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/questionnaire.json"),
    )
    .unwrap();
    let mut q: serde_json::Value = serde_json::from_str(&text).unwrap();
    q["version"] = version.into();
    let path = dir.join(format!("questionnaire-v{version}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(&q).unwrap()).unwrap();
    path
}

/// The example report's answers from docs/examples.
pub fn example_report() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/report.json"))
        .unwrap()
}

/// A person who ran `keygen` and `enroll` with `token`: them, their ID and
/// their fingerprint.
pub fn enrolled(server: &Server, name: &str, token: &str) -> (Staff, String, String) {
    enrolled_via(&server.url, name, token)
}

/// [`enrolled`] through `url`: the server's, or a lying proxy's in front of it.
pub fn enrolled_via(url: &str, name: &str, token: &str) -> (Staff, String, String) {
    let p = Staff::new(&format!("{name} passphrase"));
    let keys = p.json(&["keygen", "--name", name]);
    p.json(&["enroll", "--server", url, "--token", token]);
    (
        p,
        keys["id"].as_str().unwrap().to_owned(),
        keys["fingerprint"].as_str().unwrap().to_owned(),
    )
}

/// The first manager, enrolled with the first-run token, and a program
/// with the example questionnaire.
pub fn manager_with_program(server: &Server) -> (Staff, String) {
    let (ada, _, _) = enrolled(server, "Ada", &server.first_token);
    let program = create_program(&ada);
    (ada, program)
}

/// `manager` creates a program with the example questionnaire; its ID.
pub fn create_program(manager: &Staff) -> String {
    let q = example_questionnaire(manager.home.path(), 1);
    manager.json(&[
        "program",
        "create",
        "Visits",
        "--questionnaire",
        q.to_str().unwrap(),
    ])["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// What a server that lies does to its database while stopped: the report
/// and its acceptance entry gone, later entries moved down, so that on
/// restart it signs a tree that never held the report. (The head it kept
/// of what it signed must be removed too, or it refuses to start.)
pub fn rebuild_log_without(server: &Server, report: &str) {
    let db = rusqlite::Connection::open(server.data.join("sealdrop.db")).unwrap();
    let victim = report
        .parse::<sealdrop_proto::ReportId>()
        .unwrap()
        .as_bytes()
        .to_vec();
    let (seq, leaf): (i64, i64) = db
        .query_row(
            "SELECT seq, accepted_leaf FROM reports WHERE id = ?1",
            [victim],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    db.execute_batch(&format!(
        "DELETE FROM envelopes WHERE report_seq = {seq};
         DELETE FROM reports WHERE seq = {seq};
         CREATE TEMP TABLE later AS SELECT idx, entry FROM log_leaves WHERE idx > {leaf};
         DELETE FROM log_leaves WHERE idx >= {leaf};
         INSERT INTO log_leaves (idx, entry) SELECT idx - 1, entry FROM later;
         UPDATE reports SET accepted_leaf = accepted_leaf - 1 WHERE accepted_leaf > {leaf};
         UPDATE releases SET leaf = leaf - 1 WHERE leaf > {leaf};"
    ))
    .unwrap();
    std::fs::remove_file(server.data.join("log-head")).unwrap();
}

/// An auditor enrolled by the operator who confirmed `program` from the
/// fingerprint `manager` read them.
pub fn new_auditor(server: &Server, manager: &Staff, program: &str) -> Staff {
    let (auditor, _, _) = enrolled(server, "Auditor", &operator_token(server, "auditor"));
    auditor_confirms(&auditor, manager, program);
    auditor
}

/// A reviewer (staff) enrolled with a token `manager` issued: their CLI,
/// ID and fingerprint.
pub fn staff_of(server: &Server, manager: &Staff, name: &str) -> (Staff, String, String) {
    let token = manager.json(&["invite", "staff"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    enrolled(server, name, &token)
}

/// A shopper enrolled through an invite `manager` signs for `program`,
/// signed in: their client and pseudonym key.
pub fn new_shopper(server: &Server, manager: &Staff, program: &str) -> (Client, SecretIdentity) {
    let invite = manager.json(&["invite", "shopper", "--program", program])["invite"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = SecretIdentity::generate(&mut rng());
    let mut client = Client::new(&server.url).unwrap();
    client
        .enrol_shopper(
            &sealdrop_proto::invite::InviteBundle::parse(&invite, now()).unwrap(),
            &key,
        )
        .unwrap();
    client.sign_in(&key).unwrap();
    (client, key)
}

/// `sealdrop grant` as `manager`: `to` reads `program`, checked by `fingerprint`.
pub fn grant(manager: &Staff, program: &str, to: &str, fingerprint: &str) -> serde_json::Value {
    manager.json(&[
        "grant",
        "--program",
        program,
        "--to",
        to,
        "--fingerprint",
        fingerprint,
    ])
}

/// `reader` confirms `program` from the descriptor fingerprint that a
/// grant or `managers add` printed (`granted`), as they would once the
/// manager read it to them.
pub fn confirm(reader: &Staff, program: &str, granted: &serde_json::Value) {
    reader.json(&[
        "program",
        "trust",
        program,
        "--descriptor",
        granted["descriptor_fingerprint"].as_str().unwrap(),
    ]);
}

/// `auditor` confirms `program` for their audits from the descriptor
/// fingerprint `manager` reads them.
pub fn auditor_confirms(auditor: &Staff, manager: &Staff, program: &str) {
    let shown = manager.json(&["program", "show", program]);
    auditor.json(&[
        "audit",
        "trust",
        program,
        "--descriptor",
        shown["fingerprint"].as_str().unwrap(),
    ]);
}

/// Runs `serve` on `data`, expecting it to refuse at once: its output. A
/// server that starts instead is killed and the test fails, rather than
/// waiting for it forever.
pub fn serve_refused(bin: &Path, data: &Path) -> Output {
    let mut child = Command::new(bin)
        .args(["serve", "--bind", "127.0.0.1:0", "--data"])
        .arg(data)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..300 {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("the server started where it should have refused");
}

/// The `(key, reason)` pairs of a `--json` output's failure list.
pub fn failure_pairs(list: &serde_json::Value, key: &str) -> Vec<(String, String)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f[key].as_str().unwrap().to_owned(),
                f["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}
