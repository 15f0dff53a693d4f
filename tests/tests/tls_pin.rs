//! A server on a self-signed certificate: the manager pins its SHA-256 at
//! enrolment, shopper invites carry the pin, and a server that later
//! presents another certificate gets nothing from anyone, while the
//! shopper's report waits in the outbox and goes out on the next command
//! once the pinned certificate is back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn as_refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// A self-signed certificate for 127.0.0.1 and its key; returns the
/// certificate's SHA-256 as openssl prints it (colon-separated hex).
fn self_signed(dir: &Path, name: &str) -> (String, String, String) {
    let cert = dir.join(format!("{name}.pem")).display().to_string();
    let key = dir.join(format!("{name}.key")).display().to_string();
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=sealdrop pinned test",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            &key,
            "-out",
            &cert,
        ])
        .output()
        .expect("openssl (installed by .ci/run) makes the test certificates");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let fp = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in", &cert])
        .output()
        .unwrap();
    let text = String::from_utf8(fp.stdout).unwrap();
    let pin = text.trim().rsplit('=').next().unwrap().to_owned();
    assert_eq!(pin.len(), 95, "{text}");
    (cert, key, pin)
}

#[test]
fn a_pinned_certificate_is_the_only_one_trusted() {
    let certs = tempfile::tempdir().unwrap();
    let (cert_a, key_a, pin_a) = self_signed(certs.path(), "a");
    let (cert_b, key_b, pin_b) = self_signed(certs.path(), "b");
    let tls_a = ["--tls-cert", cert_a.as_str(), "--tls-key", key_a.as_str()];
    let mut server = Server::start_with(&tls_a);
    assert!(server.url.starts_with("https://127.0.0.1:"));
    // What the server prints for operators is what openssl computes.
    assert_eq!(
        server.tls_pin.as_deref(),
        Some(pin_a.replace(':', "").to_lowercase().as_str())
    );

    // Without a pin, a self-signed server is not trusted at all; with the
    // wrong pin, neither; with the right one (in openssl's colon form),
    // enrolment works. The one-time token survives the refused attempts.
    let ada = Staff::new("Ada passphrase");
    ada.json(&["keygen", "--name", "Ada"]);
    let token = server.first_token.clone();
    let enroll = |pin: Option<&str>| {
        let mut args = vec!["enroll", "--server", &server.url, "--token", &token];
        if let Some(pin) = pin {
            args.extend(["--tls-pin", pin]);
        }
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let unpinned = ada.fails(&as_refs(&enroll(None)));
    assert!(unpinned.contains("cannot reach the server"), "{unpinned}");
    let wrong = ada.fails(&as_refs(&enroll(Some(&pin_b))));
    assert!(
        wrong.contains("TLS certificate is not the one pinned"),
        "{wrong}"
    );
    assert_eq!(wrong.trim().lines().count(), 1, "one sentence: {wrong}");
    let bad = ada.fails(&as_refs(&enroll(Some("12:34"))));
    assert!(bad.contains("64 hex digits"), "{bad}");
    ada.json(&as_refs(&enroll(Some(&pin_a))));

    // The manager's later commands keep to the pin, and the shopper's
    // invite carries it.
    let program = create_program(&ada);
    let sam = enrolled_shopper(&ada, &program);
    let report = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/report.json");
    let first = sam.json(&["submit", report.to_str().unwrap()]);
    assert_eq!(first["status"], "sent", "{first}");

    // Another certificate on the same address and data: the shopper's
    // report stays queued, naming the certificate; the manager is refused.
    server.stop();
    let tls_b = ["--tls-cert", cert_b.as_str(), "--tls-key", key_b.as_str()];
    server.restart_with(&tls_b);
    let second_file = sam.path("second.json");
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    doc["notes"] = "A second visit, the following week.".into();
    std::fs::write(&second_file, serde_json::to_vec(&doc).unwrap()).unwrap();
    let queued = sam.json(&["submit", second_file.to_str().unwrap()]);
    assert_eq!(queued["status"], "queued", "{queued}");
    assert!(
        queued["reason"]
            .as_str()
            .unwrap()
            .contains("TLS certificate is not the one pinned"),
        "{queued}"
    );
    let waiting = sam.json(&["outbox"]);
    assert_eq!(waiting.as_array().unwrap().len(), 1, "{waiting}");
    let refused = ada.fails(&["inbox"]);
    assert!(
        refused.contains("TLS certificate is not the one pinned"),
        "{refused}"
    );

    // The pinned certificate back: `shopper programs` sends what waited.
    server.stop();
    server.restart_with(&tls_a);
    let listed = sam.run_with(&["programs"], &sam.passphrase);
    assert!(listed.status.success());
    assert!(
        String::from_utf8_lossy(&listed.stderr).contains("Also sent 1 report(s)"),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    assert!(sam.json(&["outbox"]).as_array().unwrap().is_empty());
    let receipts = sam.json(&["receipts", "--verify"]);
    assert_eq!(
        receipts["receipts"].as_array().unwrap().len(),
        2,
        "{receipts}"
    );
    let inbox = ada.json(&["inbox"]);
    let mut ids: Vec<_> = inbox
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["report"].clone())
        .collect();
    ids.sort_by_key(ToString::to_string);
    let mut sent = vec![first["report"].clone(), queued["report"].clone()];
    sent.sort_by_key(ToString::to_string);
    assert_eq!(ids, sent);
}
