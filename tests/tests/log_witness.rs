//! Witnesses: an auditor cosigns checkpoints it verified as consistent;
//! another auditor who trusts that witness requires its cosignature. A
//! server that rebuilds its log (showing a newcomer another history than
//! the one the witness saw) is caught: the witness refuses to cosign, and
//! the newcomer, who saw nothing before, refuses the log because no
//! checkpoint it extends carries the witness's cosignature.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use sealdrop_proto::SecretIdentity;

fn auditor(server: &Server, name: &str, manager: &Staff, program: &str) -> Staff {
    let fingerprint = manager.json(&["program", "show", program])["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    auditor_trusting(server, name, program, &fingerprint)
}

/// An auditor who confirmed `program` from `fingerprint`.
fn auditor_trusting(server: &Server, name: &str, program: &str, fingerprint: &str) -> Staff {
    let a = Staff::new(&format!("{name} passphrase"));
    a.json(&["keygen", "--name", name]);
    a.json(&[
        "enroll",
        "--server",
        &server.url,
        "--token",
        &operator_token(server, "auditor"),
    ]);
    a.json(&["audit", "trust", program, "--descriptor", fingerprint]);
    a
}

fn verify_with(a: &Staff, trust: &str) -> (Option<i32>, Vec<(String, String)>) {
    let out = a.run(&[
        "audit",
        "verify",
        "--witness",
        trust,
        "--require-witnesses",
        "1",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), failure_pairs(&v["failures"], "item"))
}

#[test]
fn witnesses_catch_a_server_showing_another_history() {
    let mut server = Server::start();
    let (ada, program) = manager_with_program(&server);
    let (shopper, key) = new_shopper(&server, &ada, &program);
    // A shopper with the shopper CLI, whose receipt is checked below.
    let sam = enrolled_shopper(&ada, &program);
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/report.json");
    let sent = sam.json(&["submit", example.to_str().unwrap()]);
    assert_eq!(sent["status"], "sent", "{sent}");
    let receipts = |trust: &str| {
        let out = sam.run_with(
            &["receipts", "--verify", "--witness", trust, "--json"],
            &sam.passphrase,
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.success(), v)
    };
    let mut reports = Vec::new();
    for n in 0..3 {
        reports.push(submit(
            &shopper,
            &key,
            &program,
            format!("{{\"n\":{n}}}").as_bytes(),
            &[],
        ));
    }

    // The checkpoint as printed: a C2SP note under the pinned origin.
    let witness = auditor(&server, "Witness", &ada, &program);
    let printed = witness.run(&["audit", "checkpoint"]);
    assert!(printed.status.success());
    let note = String::from_utf8(printed.stdout).unwrap();
    assert!(note.starts_with("sealdrop/"), "{note}");
    assert!(note.contains("\n\n— sealdrop/"), "{note}");

    // Before any cosignature, requiring one is refused.
    let cosigned = witness.json(&["audit", "witness"]);
    let trust = format!(
        "{}={}",
        cosigned["witness"].as_str().unwrap(),
        cosigned["key"].as_str().unwrap()
    );
    let newcomer = auditor(&server, "Newcomer", &ada, &program);
    // A second witness cosigns later, at a larger size: both vouch, and
    // a client can require both (each witness's newest is served).
    let (shopper2, key2) = new_shopper(&server, &ada, &program);
    submit(&shopper2, &key2, &program, b"{\"n\":9}", &[]);
    let second = auditor(&server, "Second", &ada, &program);
    let cosigned2 = second.json(&["audit", "witness"]);
    assert!(cosigned2["size"].as_u64() > cosigned["size"].as_u64());
    let trust2 = format!(
        "{}={}",
        cosigned2["witness"].as_str().unwrap(),
        cosigned2["key"].as_str().unwrap()
    );
    let both = newcomer.run(&[
        "audit",
        "verify",
        "--witness",
        &trust,
        "--witness",
        &trust2,
        "--require-witnesses",
        "2",
        "--json",
    ]);
    assert!(
        both.status.success(),
        "{}",
        String::from_utf8_lossy(&both.stdout)
    );
    let (code, f) = verify_with(&newcomer, &trust);
    assert_eq!(code, Some(0), "{f:?}");
    assert!(f.is_empty(), "{f:?}");
    // A witness whose newest cosignature is older than the client allows
    // has gone quiet, and is named.
    std::thread::sleep(std::time::Duration::from_secs(2));
    let quiet = newcomer.run(&[
        "audit",
        "verify",
        "--witness",
        &trust,
        "--witness-max-age",
        "1s",
        "--json",
    ]);
    assert_eq!(quiet.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&quiet.stdout).unwrap();
    let f = failure_pairs(&v["failures"], "item");
    assert!(
        f.iter().any(|(_, why)| why.contains("went quiet")
            && why.contains(cosigned["witness"].as_str().unwrap())),
        "{f:?}"
    );
    // A reviewer who requires the witness decrypts what it vouches for:
    // releases logged after its cosignature wait (exit 0, nothing
    // written) until its next run covers them.
    let fetch_with = |out: &str| {
        let dir = ada.home.path().join(out);
        ada.run(&[
            "fetch",
            "--program",
            &program,
            "--out",
            dir.to_str().unwrap(),
            "--witness",
            &trust,
            "--json",
        ])
    };
    let early = fetch_with("before");
    assert!(early.status.success());
    let v: serde_json::Value = serde_json::from_slice(&early.stdout).unwrap();
    assert_eq!(v["fetched"].as_array().map(Vec::len), Some(0), "{v}");
    assert_eq!(v["waiting"].as_array().map(Vec::len), Some(5), "{v}");
    let covered = v["waiting"][0]["covered"].as_u64().unwrap();
    assert!(
        v["waiting"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["release_leaf"].as_u64().unwrap() >= covered),
        "{v}"
    );
    witness.json(&["audit", "witness"]);
    let fetched = fetch_with("before");
    assert!(
        fetched.status.success(),
        "{}",
        String::from_utf8_lossy(&fetched.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&fetched.stdout).unwrap();
    assert_eq!(v["fetched"].as_array().map(Vec::len), Some(5), "{v}");
    assert_eq!(v["waiting"].as_array().map(Vec::len), Some(0), "{v}");
    let (ok, v) = receipts(&trust);
    assert!(ok, "{v}");
    assert_eq!(v["waiting"], serde_json::json!([]), "{v}");
    // A receipt of a report sent after the witness's cosignature: the
    // server proves it, the witness has not vouched for it yet.
    let mut answers: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&example).unwrap()).unwrap();
    answers["notes"] = "A later visit.".into();
    let later = sam.path("later.json");
    std::fs::write(&later, serde_json::to_vec(&answers).unwrap()).unwrap();
    let late = sam.json(&["submit", later.to_str().unwrap()]);
    let (ok, v) = receipts(&trust);
    assert!(ok, "{v}");
    let waiting: Vec<&str> = v["waiting"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["report"].as_str().unwrap())
        .collect();
    assert_eq!(waiting, [late["report"].as_str().unwrap()], "{v}");
    // Trusting a witness that never cosigned is refused.
    let stranger = SecretIdentity::generate(&mut rng());
    let fake = format!(
        "sealdrop-witness/{}={}",
        stranger.id(),
        data_encoding::BASE64.encode(stranger.signing().verifying_key().as_bytes())
    );
    let (code, f) = verify_with(&auditor(&server, "Other", &ada, &program), &fake);
    assert_eq!(code, Some(2));
    assert!(f[0].1.contains("do not vouch"), "{f:?}");

    // The server rebuilds its log without the second report and re-signs.
    let fingerprint = ada.json(&["program", "show", &program])["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    server.stop();
    rebuild_log_without(&server, &reports[1]);
    server.restart();
    let mut again = shopper;
    again.sign_in(&key).unwrap();
    for n in 3..5 {
        submit(
            &again,
            &key,
            &program,
            format!("{{\"n\":{n}}}").as_bytes(),
            &[],
        );
    }

    // The witness refuses to cosign the rebuilt log.
    let refused = witness.run(&["audit", "witness"]);
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains("not cosigned") && why.contains("forked"),
        "{why}"
    );
    // A newcomer sees a self-consistent log, but not the one the witness
    // cosigned.
    let late = auditor_trusting(&server, "Late", &program, &fingerprint);
    let (code, f) = verify_with(&late, &trust);
    assert_eq!(code, Some(2), "{f:?}");
    assert!(
        f.iter()
            .any(|(w, r)| w == "log" && r.contains("do not vouch")),
        "{f:?}"
    );
    // The shopper refuses the program (its home kept a checkpoint this
    // log does not extend), and each receipt: the witness does not vouch.
    let (ok, v) = receipts(&trust);
    assert!(!ok, "{v}");
    let failures = v["failures"].as_array().unwrap();
    assert!(
        failures[0]["reason"].as_str().unwrap().contains("forked"),
        "{v}"
    );
    assert!(
        failures[1..]
            .iter()
            .all(|f| f["reason"].as_str().unwrap().contains("do not vouch")),
        "{v}"
    );
    // Nor does the reviewer decrypt anything from the rebuilt log: her
    // home kept the checkpoint she verified, which the new history does
    // not extend, so she refuses the server before anything else.
    let refused = fetch_with("after");
    assert!(!refused.status.success());
    assert!(refused.stdout.is_empty());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains("does not extend the history it showed you"),
        "{why}"
    );
    // Her laptop without that memory (a new one, set up from her keys)
    // relies on the witness, and decrypts nothing either.
    let path = ada.dir().join("state.json");
    let mut state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    state["log_seen"] = serde_json::Value::Null;
    std::fs::write(&path, serde_json::to_vec(&state).unwrap()).unwrap();
    let refused = fetch_with("after");
    assert!(!refused.status.success());
    let v: serde_json::Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert!(v["fetched"].as_array().unwrap().is_empty(), "{v}");
    assert!(
        v["failed"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["reason"].as_str().unwrap().contains("not decrypted")),
        "{v}"
    );
}

/// `audit witness --every` runs as a service: it cosigns again after each
/// interval, so the cosigned size follows the log without anyone running
/// the command.
#[test]
fn a_witness_service_keeps_cosigning() {
    let server = Server::start();
    let (ada, program) = manager_with_program(&server);
    let witness = auditor(&server, "Witness", &ada, &program);
    let mut service = witness
        .command(&["audit", "witness", "--every", "1s", "--json"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines =
        std::io::BufRead::lines(std::io::BufReader::new(service.stdout.take().unwrap()));
    let size = |lines: &mut dyn Iterator<Item = std::io::Result<String>>| {
        let line = lines.next().expect("the service stopped").unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        v["size"].as_u64().unwrap()
    };
    let first = size(&mut lines);
    // The log grows; the service's next round cosigns the larger log.
    let (shopper, key) = new_shopper(&server, &ada, &program);
    submit(&shopper, &key, &program, b"{\"n\":1}", &[]);
    let grown = (0..10).map(|_| size(&mut lines)).find(|s| *s > first);
    let _ = service.kill();
    let _ = service.wait();
    assert!(grown.is_some(), "the service never cosigned the grown log");
}
