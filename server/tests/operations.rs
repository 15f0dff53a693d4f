//! The operator's side: the data directory, tokens, backup and restore,
//! retention, refusing plain HTTP off loopback, graceful stop, and what an
//! acknowledgement promises when the server is killed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::*;
use sealdrop_api::{ErrorCode, Tombstone};
use sealdrop_proto::codec::Decode;
use sealdrop_proto::messages::Acknowledgement;
use sealdrop_proto::report::ReportRecord;
use sealdrop_proto::signed::Signed;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn run(args: &[&str], data: &std::path::Path) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .unwrap()
}

#[test]
fn init_invite_and_their_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    assert!(run(&["init"], &data).status.success());
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("log-key")), 0o600);
    let again = run(&["init"], &data);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("initialised already"));

    let unknown = run(&["invite", "--role", "manager", "--org", "nope"], &data);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("--new-org"));
    let created = run(
        &[
            "invite",
            "--role",
            "auditor",
            "--org",
            "acme",
            "--new-org",
            "--json",
        ],
        &data,
    );
    assert!(created.status.success());
    let v: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    assert!(v["token"].as_str().unwrap().starts_with("sde_"));
    let dup = run(
        &["invite", "--role", "manager", "--org", "acme", "--new-org"],
        &data,
    );
    assert!(!dup.status.success());

    // The log key must stay private.
    std::fs::set_permissions(data.join("log-key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let serve = serve_refused(&data);
    assert!(!serve.status.success());
    assert!(String::from_utf8_lossy(&serve.stderr).contains("chmod 600"));
}

#[test]
fn plain_http_off_loopback_is_refused_unless_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--bind", "0.0.0.0:0", "--data"])
        .arg(dir.path().join("d"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--insecure-http"));
    let mut s = TestServer::start_on(
        &dir.path().join("d"),
        &["--bind", "0.0.0.0:0", "--insecure-http"],
    );
    assert!(s.url.starts_with("http://0.0.0.0:"));
    assert!(s.stop().success(), "a graceful stop exits 0");
}

#[test]
fn a_config_file_sets_what_flags_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.conf");
    std::fs::write(&config, "# test\nmax_report_bytes = 12345\n").unwrap();
    let s = TestServer::start_on(
        &dir.path().join("d"),
        &["--config", config.to_str().unwrap()],
    );
    assert_eq!(s.client().server_info().unwrap().max_report_bytes, 12345);
}

/// An acknowledgement as received, and the report it names.
type Acked = (Vec<u8>, sealdrop_proto::ReportId);

/// Submits from six connections until 150 are acknowledged, stops the
/// server with `stop`, restarts it, and checks every acknowledged report is
/// stored and verifies. Returns how many were acknowledged.
fn acknowledged_reports_survive(stop_server: impl FnOnce(&mut TestServer)) -> usize {
    let mut d = Deployment::new();
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut threads = Vec::new();
    for _ in 0..6 {
        let (acked, stop) = (acked.clone(), stop.clone());
        let url = d.server.url.clone();
        let token = d.shopper.client.token().unwrap().to_owned();
        let (key_bytes, v2) = (d.shopper.key.to_secret_bytes(), d.v2.clone());
        threads.push(std::thread::spawn(move || {
            let key = sealdrop_proto::SecretIdentity::from_secret_bytes(&key_bytes);
            let mut client = sealdrop_client::Client::new(&url).unwrap();
            client.set_token(Some(token));
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let s = seal(&key, &v2, b"{\"visit\":true}", &[]);
                match client.submit(&s.report, &s.stream_refs()) {
                    Ok(r) => acked
                        .lock()
                        .unwrap()
                        .push((r.receipt.acknowledgement.0, s.report.report_id())),
                    Err(_) => break,
                }
            }
        }));
    }
    while acked.lock().unwrap().len() < 150 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    stop_server(&mut d.server);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();

    let restarted = TestServer::start_on(&d.server.data, &[]);
    let mut auditor = restarted.client();
    auditor.sign_in(&d.auditor.key).unwrap();
    let mut stored = std::collections::HashMap::new();
    let mut after = None;
    loop {
        let page = auditor.audit_reports(after).unwrap();
        for r in page.items {
            stored.insert(r.report.clone(), r);
        }
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    for (ack, id) in &acked {
        let r = stored
            .get(&id.to_string())
            .unwrap_or_else(|| panic!("acknowledged {id} lost"));
        let record = ReportRecord::from_bytes(&r.record.0).unwrap();
        let ack = Signed::<Acknowledgement>::from_bytes(ack).unwrap();
        assert_eq!(
            ack.verify_by_key(&d.log_key).unwrap().sealed_report,
            record.hash()
        );
        record.verify().unwrap();
    }
    eprintln!(
        "{} acknowledged, all present ({} stored)",
        acked.len(),
        stored.len()
    );
    acked.len()
}

#[test]
fn every_acknowledged_report_survives_sigkill() {
    assert!(acknowledged_reports_survive(TestServer::kill) >= 150);
}

/// SIGTERM with submissions in flight: requests in flight finish, their
/// commits land, and the server exits 0.
#[test]
fn a_graceful_stop_finishes_in_flight_commits() {
    assert!(acknowledged_reports_survive(|s| assert!(s.stop().success())) >= 150);
}

#[test]
fn backup_while_serving_then_restore_and_purge_by_retention() {
    let d = Deployment::new();
    let sealed = seal(&d.shopper.key, &d.v2, b"{}", &[b"attachment"]);
    d.shopper
        .client
        .submit(&sealed.report, &sealed.stream_refs())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("backup.db");
    let out = d
        .server
        .operator(&["backup", "--out", backup.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !d.server
            .operator(&["backup", "--out", backup.to_str().unwrap()])
            .status
            .success()
    );

    // A damaged backup is refused; a whole one restores into a new directory.
    let damaged = dir.path().join("damaged.db");
    let bytes = std::fs::read(&backup).unwrap();
    std::fs::write(&damaged, &bytes[..bytes.len() / 2]).unwrap();
    let out = run(
        &["restore", "--from", damaged.to_str().unwrap()],
        &dir.path().join("bad"),
    );
    assert!(!out.status.success());
    let restored = dir.path().join("restored");
    let out = run(&["restore", "--from", backup.to_str().unwrap()], &restored);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mode(&restored.join("log-key")), 0o600);
    let out = run(&["restore", "--from", backup.to_str().unwrap()], &restored);
    assert!(!out.status.success(), "restore refuses a directory in use");

    let r = TestServer::start_on(&restored, &[]);
    let mut staff = r.client();
    staff.sign_in(&d.staff.key).unwrap();
    let release = staff.release(&sealed.report.report_id()).unwrap();
    ReportRecord::from_bytes(&release.record.0)
        .unwrap()
        .verify()
        .unwrap();
    assert_eq!(
        staff.stream(&sealed.report.report_id(), 1).unwrap(),
        sealed.streams[1]
    );

    // Retention: 365 days. Nothing is due today; a year and a day on, the
    // report is purged and leaves a tombstone citing the policy.
    let out = d.server.operator(&["purge", "--json"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        r#"{"purged":[]}"#
    );
    let later = (now() + 366 * 86_400).to_string();
    let out = d.server.operator(&["purge", "--at", &later, "--json"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&sealed.report.report_id().to_string()));
    let err = d
        .staff
        .client
        .release(&sealed.report.report_id())
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Gone));
    let err = d
        .shopper
        .client
        .submit(&sealed.report, &sealed.stream_refs())
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Gone));
    let audit = d.auditor.client.audit_reports(None).unwrap();
    match &audit.items[0].tombstone {
        Some(Tombstone::Retention {
            retention_days,
            descriptor_version,
            ..
        }) => {
            assert_eq!((*retention_days, *descriptor_version), (365, 2));
        }
        other => panic!("expected a retention tombstone, got {other:?}"),
    }
    // The public record stays, and still verifies.
    ReportRecord::from_bytes(&audit.items[0].record.0)
        .unwrap()
        .verify()
        .unwrap();
}

#[test]
fn tls_with_a_self_signed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let (cert, key, ca) = (p("cert.pem"), p("key.pem"), p("ca.pem"));
    let (ca_key, csr, ext) = (p("ca.key"), p("leaf.csr"), p("leaf.ext"));
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let steps: [Vec<&str>; 3] = [
        [
            &["req", "-x509"][..],
            &ec,
            &[
                "-days",
                "2",
                "-subj",
                "/CN=sealdrop test CA",
                "-keyout",
                &ca_key,
                "-out",
                &ca,
            ],
        ]
        .concat(),
        [
            &["req"][..],
            &ec,
            &["-subj", "/CN=localhost", "-keyout", &key, "-out", &csr],
        ]
        .concat(),
        vec![
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &ext,
            "-out",
            &cert,
        ],
    ];
    for args in steps {
        let out = Command::new("openssl")
            .args(&args)
            .output()
            .expect("openssl (installed by .ci/run) makes the test certificates");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let s = TestServer::start_on(
        &dir.path().join("d"),
        &["--tls-cert", &cert, "--tls-key", &key],
    );
    assert!(s.url.starts_with("https://127.0.0.1:"));
    let pem = std::fs::read(&ca).unwrap();
    let mut manager = sealdrop_client::Client::with_root_certificate(&s.url, &pem).unwrap();
    let me = sealdrop_proto::SecretIdentity::generate(&mut rng());
    manager
        .enrol(s.first_token.as_deref().unwrap(), &me)
        .unwrap();
    manager.sign_in(&me).unwrap();
    assert_eq!(manager.me().unwrap().role, sealdrop_api::Role::Manager);
    // A client that does not trust the certificate gets nowhere, and plain
    // HTTP to the TLS port is not served.
    assert!(matches!(
        s.client().server_info(),
        Err(sealdrop_client::ClientError::Transport(_))
    ));
    let plain = sealdrop_client::Client::new(&s.url.replace("https://", "http://")).unwrap();
    assert!(plain.server_info().is_err());
}

#[test]
fn logs_carry_no_tokens_or_contents() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let mut child = Command::new(BIN)
        .args(["serve", "--bind", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("d"))
        .env("SEALDROP_LOG", "trace")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    use std::io::BufRead as _;
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut token = String::new();
    let url = loop {
        let line = lines.next().unwrap().unwrap();
        if line.trim_start().starts_with("sde_") {
            token = line.trim().to_owned();
        }
        if let Some(u) = line.strip_prefix("sealdrop-server listening on ") {
            break u.to_owned();
        }
    };
    let me = sealdrop_proto::SecretIdentity::generate(&mut rng());
    let mut c = sealdrop_client::Client::new(&url).unwrap();
    c.enrol(&token, &me).unwrap();
    let session = c.sign_in(&me).unwrap();
    c.issue_staff_token().unwrap();
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("person enrolled"),
        "the log is written: {text}"
    );
    assert!(
        !text.contains(&token),
        "the enrolment token reached the log"
    );
    assert!(
        !text.contains(&session.token),
        "a session token reached the log"
    );
    assert!(!text.contains(&session.token[4..20]));
}
