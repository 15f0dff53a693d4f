//! A real `sealdrop-server` on port 0 with a temporary data directory, and
//! the people of a small deployment, each with their own client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use rand_core::UnwrapErr;
use sealdrop_client::Client;
use sealdrop_proto::descriptor::{ProgramDescriptor, SignedDescriptor};
use sealdrop_proto::hash::questionnaire_digest;
use sealdrop_proto::invite::{InviteBundle, ServerPins};
use sealdrop_proto::report::{ContentKey, ReportContent, ReportSealer, SealedReport};
use sealdrop_proto::{ProgramId, SecretIdentity};

pub fn rng() -> UnwrapErr<getrandom::SysRng> {
    UnwrapErr(getrandom::SysRng)
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub const BIN: &str = env!("CARGO_BIN_EXE_sealdrop-server");

pub struct TestServer {
    pub url: String,
    pub data: PathBuf,
    pub first_token: Option<String>,
    child: Option<Child>,
    _dir: Option<tempfile::TempDir>,
}

impl TestServer {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mut s = Self::start_on(&data, &[]);
        s._dir = Some(dir);
        s
    }

    /// Starts the server on `data` (created if missing) with extra flags.
    pub fn start_on(data: &Path, extra: &[&str]) -> Self {
        Self::start_with_env(data, extra, &[])
    }

    /// As [`TestServer::start_on`], with environment variables set.
    pub fn start_with_env(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(BIN);
        cmd.envs(env.iter().copied());
        cmd.args(["serve", "--workers", "2"]);
        if !extra.contains(&"--bind") {
            cmd.args(["--bind", "127.0.0.1:0"]);
        }
        let mut child = cmd
            .arg("--data")
            .arg(data)
            .args(extra)
            .env("SEALDROP_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut first_token = None;
        let mut expect_token = false;
        let url = loop {
            let line = lines
                .next()
                .expect("the server exited before listening")
                .unwrap();
            if expect_token {
                first_token = Some(line.trim().to_owned());
                expect_token = false;
            }
            if line.starts_with("One-time enrolment token for the first manager") {
                expect_token = true;
            }
            if let Some(url) = line.strip_prefix("sealdrop-server listening on ") {
                break url.trim().to_owned();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self {
            url,
            data: data.to_path_buf(),
            first_token,
            child: Some(child),
            _dir: None,
        }
    }

    pub fn client(&self) -> Client {
        Client::new(&self.url).unwrap()
    }

    /// Runs an operator command on this server's data directory.
    pub fn operator(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .arg("--data")
            .arg(&self.data)
            .output()
            .unwrap()
    }

    pub fn operator_token(&self, role: &str, org: Option<&str>) -> String {
        let mut args = vec!["invite", "--role", role, "--json"];
        if let Some(org) = org {
            args.extend(["--org", org, "--new-org"]);
        }
        let out = self.operator(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["token"].as_str().unwrap().to_owned()
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, and wait for the graceful stop.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().unwrap();
        Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status()
            .unwrap();
        c.wait().unwrap()
    }

    pub fn keep_dir(&mut self, dir: tempfile::TempDir) {
        self._dir = Some(dir);
    }

    pub fn take_dir(&mut self) -> Option<tempfile::TempDir> {
        self._dir.take()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}

pub struct Person {
    pub key: SecretIdentity,
    pub client: Client,
}

/// Enrols a new person with `token` and signs them in.
pub fn enrol(server: &TestServer, token: &str) -> Person {
    let key = SecretIdentity::generate(&mut rng());
    let mut client = server.client();
    client.enrol(token, &key).unwrap();
    client.sign_in(&key).unwrap();
    Person { key, client }
}

/// A deployment: a manager, a program whose v2 adds a reviewer, an
/// enrolled shopper, an auditor.
pub struct Deployment {
    pub server: TestServer,
    pub manager: Person,
    pub staff: Person,
    pub shopper: Person,
    pub auditor: Person,
    pub program: ProgramId,
    pub v1: SignedDescriptor,
    pub v2: SignedDescriptor,
    pub log_key: [u8; 32],
}

pub fn pins(server: &TestServer, client: &Client) -> ServerPins {
    let info = client.server_info().unwrap();
    ServerPins {
        server_url: server.url.clone(),
        tls_cert_sha256: None,
        log_key: info.log_key.0.as_slice().try_into().unwrap(),
        log_origin: info.log_origin,
    }
}

pub fn invite_shopper(
    server: &TestServer,
    manager: &Person,
    descriptor: &SignedDescriptor,
) -> Person {
    let bundle = InviteBundle::create(
        descriptor,
        &manager.key,
        &pins(server, &manager.client),
        now(),
        now() + 86_400,
        &mut rng(),
    )
    .unwrap();
    manager.client.register_invite(&bundle.invite).unwrap();
    let parsed = InviteBundle::parse(&bundle.to_text(), now()).unwrap();
    let key = SecretIdentity::generate(&mut rng());
    let mut client = server.client();
    client.enrol_shopper(&parsed, &key).unwrap();
    client.sign_in(&key).unwrap();
    Person { key, client }
}

impl Deployment {
    pub fn new() -> Self {
        Self::with_flags(&[])
    }

    pub fn with_flags(flags: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut server = TestServer::start_on(&dir.path().join("data"), flags);
        server.keep_dir(dir);
        let manager = enrol(&server, server.first_token.as_deref().unwrap());
        let program = ProgramId::random(&mut rng());
        let v1 = ProgramDescriptor::first(
            program,
            "Spring store visits",
            manager.key.public(),
            questionnaire_digest(b"{\"questions\":[]}"),
            365,
            now(),
        )
        .unwrap()
        .sign(&manager.key)
        .unwrap();
        manager.client.create_program(&v1).unwrap();
        manager
            .client
            .put_questionnaire(&program, b"{\"questions\":[]}")
            .unwrap();
        let staff_token = manager.client.issue_staff_token().unwrap().token;
        let staff = enrol(&server, &staff_token);
        let mut next = ProgramDescriptor::successor(&v1, now());
        next.add_recipient(staff.key.public());
        let v2 = next.sign(&manager.key).unwrap();
        manager.client.update_descriptor(&v2).unwrap();
        let shopper = invite_shopper(&server, &manager, &v2);
        let auditor = enrol(&server, &server.operator_token("auditor", None));
        let log_key = pins(&server, &manager.client).log_key;
        Self {
            server,
            manager,
            staff,
            shopper,
            auditor,
            program,
            v1,
            v2,
            log_key,
        }
    }

    /// The manager signs and uploads the next descriptor after `current`.
    pub fn next_descriptor(
        &self,
        current: &SignedDescriptor,
        change: impl FnOnce(&mut ProgramDescriptor),
    ) -> SignedDescriptor {
        let mut next = ProgramDescriptor::successor(current, now());
        change(&mut next);
        let next = next.sign(&self.manager.key).unwrap();
        self.manager.client.update_descriptor(&next).unwrap();
        next
    }
}

pub struct Sealed {
    pub report: SealedReport,
    pub key: ContentKey,
    pub streams: Vec<Vec<u8>>,
}

impl Sealed {
    pub fn stream_refs(&self) -> Vec<&[u8]> {
        self.streams.iter().map(Vec::as_slice).collect()
    }
}

/// Seals `answers` (and attachments) as `shopper` to `descriptor`.
pub fn seal(
    shopper: &SecretIdentity,
    descriptor: &SignedDescriptor,
    answers: &[u8],
    attachments: &[&[u8]],
) -> Sealed {
    let content = ReportContent {
        answers: answers.to_vec(),
        attachments: attachments
            .iter()
            .enumerate()
            .map(|(i, _)| sealdrop_proto::report::AttachmentMeta {
                file_name: format!("photo-{i}.jpg"),
                captured_at: Some(now()),
                media_type: "image/jpeg".to_owned(),
            })
            .collect(),
    };
    let mut sealer = ReportSealer::new(
        shopper,
        descriptor.unverified_body(),
        now() * 1000,
        &mut rng(),
    )
    .unwrap();
    let mut streams = vec![Vec::new()];
    sealer.seal_content(&content, &mut streams[0]).unwrap();
    for bytes in attachments {
        let mut out = Vec::new();
        sealer.seal_attachment(&mut &bytes[..], &mut out).unwrap();
        streams.push(out);
    }
    let (report, key) = sealer.finish(&mut rng()).unwrap();
    Sealed {
        report,
        key,
        streams,
    }
}

/// What an auditor can count: reports (with tombstones), people, grants,
/// releases. Equal snapshots mean nothing was stored.
pub fn snapshot(d: &Deployment) -> String {
    let a = &d.auditor.client;
    format!(
        "{:?}|{:?}|{:?}|{:?}",
        a.audit_reports(None).unwrap().items,
        a.audit_enrolments(None).unwrap().items.len(),
        a.audit_grants(None).unwrap().items,
        a.audit_releases(None).unwrap().items,
    )
}

/// Runs `serve` on `data`, expecting it to refuse at once: its output. A
/// server that starts instead is killed and the test fails, rather than
/// waiting for it forever.
pub fn serve_refused(data: &Path) -> Output {
    let mut child = Command::new(BIN)
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
