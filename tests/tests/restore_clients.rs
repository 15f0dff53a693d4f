//! A server restored from a backup, under live clients of every role: a
//! manager, a reviewer, a shopper and an auditor each follow the handover
//! from the log key they pinned to the new log, and each names what the
//! restore lost of what they had seen. A restore without a handover, or
//! with a handover not signed by the old key, is refused by all of them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// `audit verify --json`: its exit code and failures.
fn audit(auditor: &Staff) -> (Option<i32>, Vec<(String, String)>) {
    let out = auditor.run(&["audit", "verify", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), failure_pairs(&v["failures"], "item"))
}

/// A visit report that differs from the example in its notes.
fn visit(dir: &Path, n: u32) -> PathBuf {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/report.json");
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(example).unwrap()).unwrap();
    v["notes"] = format!("Visit number {n}.").into();
    let path = dir.join(format!("visit-{n}.json"));
    std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
    path
}

/// A program with a reviewer, a shopper who sent one report, and an
/// auditor after a clean audit; then a backup.
struct World {
    server: Server,
    ada: Staff,
    rita: Staff,
    sam: Shopper,
    auditor: Staff,
    backup: PathBuf,
    _dir: tempfile::TempDir,
}

fn world() -> World {
    let server = Server::start();
    let (ada, program) = manager_with_program(&server);
    let (rita, rita_id, rita_fp) = staff_of(&server, &ada, "Rita");
    let granted = grant(&ada, &program, &rita_id, &rita_fp);
    confirm(&rita, &program, &granted);
    let sam = enrolled_shopper(&ada, &program);
    let dir = tempfile::tempdir().unwrap();
    let sent = sam.json(&["submit", visit(dir.path(), 1).to_str().unwrap()]);
    assert_eq!(sent["status"], "sent", "{sent}");
    let auditor = new_auditor(&server, &ada, &program);
    let (code, clean) = audit(&auditor);
    assert_eq!((code, clean.len()), (Some(0), 0), "{clean:?}");
    let backup = dir.path().join("backup.db");
    let out = server.operator_cmd(&["backup", "--out", backup.to_str().unwrap()]);
    assert!(out.status.success());
    World {
        server,
        ada,
        rita,
        sam,
        auditor,
        backup,
        _dir: dir,
    }
}

#[test]
fn every_role_follows_a_restore_and_names_what_it_lost() {
    let mut w = world();
    // After the backup: a second report, which the reviewer fetches and
    // the auditor verifies. The restore will lose it.
    let dir = tempfile::tempdir().unwrap();
    let second = w
        .sam
        .json(&["submit", visit(dir.path(), 2).to_str().unwrap()]);
    let second_id = second["report"].as_str().unwrap().to_owned();
    let out = w.rita.dir().join("before");
    let fetched = w.rita.json(&["fetch", "--out", out.to_str().unwrap()]);
    assert_eq!(fetched["fetched"].as_array().unwrap().len(), 2, "{fetched}");
    let (code, clean) = audit(&w.auditor);
    assert_eq!((code, clean.len()), (Some(0), 0), "{clean:?}");

    w.server.restore_from(&w.backup, true);

    // The reviewer saw entries the restore lost: told once, non-zero.
    let lost = w.rita.fails(&["inbox"]);
    assert!(
        lost.contains("restored from a backup") && lost.contains("are lost"),
        "{lost}"
    );
    let inbox = w.rita.json(&["inbox"]);
    assert_eq!(inbox.as_array().map(Vec::len), Some(1), "{inbox}");
    // The manager saw nothing after the backup: warned, and carries on.
    let shown = w.ada.run(&["program", "list", "--json"]);
    assert!(shown.status.success());
    let warned = String::from_utf8_lossy(&shown.stderr);
    assert!(warned.contains("nothing you saw was lost"), "{warned}");

    // The shopper's lost report goes back in the outbox and is sent again.
    let synced = w.sam.run_with(&["sync", "--json"], &w.sam.passphrase);
    assert!(!synced.status.success(), "the loss must be reported");
    let v: serde_json::Value = serde_json::from_slice(&synced.stdout).unwrap();
    assert_eq!(
        v["restored"][0]["lost"],
        serde_json::json!([second_id]),
        "{v}"
    );
    assert_eq!(v["sent"], serde_json::json!([second_id]), "{v}");
    let receipts = w.sam.json(&["receipts", "--verify"]);
    assert_eq!(
        receipts["receipts"].as_array().unwrap().len(),
        2,
        "{receipts}"
    );
    assert!(
        receipts["failures"].as_array().unwrap().is_empty(),
        "{receipts}"
    );

    // The auditor: refused once with the loss, then every run names it
    // until acknowledged; then the new log verifies from the start.
    let first = w.auditor.run(&["audit", "verify", "--json"]);
    assert!(!first.status.success());
    assert!(
        String::from_utf8_lossy(&first.stderr).contains("are lost"),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    for _ in 0..2 {
        let (code, failures) = audit(&w.auditor);
        assert_eq!(code, Some(2), "{failures:?}");
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(failures[0].1.contains("acknowledge-loss"), "{failures:?}");
    }
    w.auditor.json(&["audit", "acknowledge-loss"]);
    let (code, clean) = audit(&w.auditor);
    assert_eq!((code, clean.len()), (Some(0), 0), "{clean:?}");
}

#[test]
fn a_restore_without_a_true_handover_is_refused_by_every_role() {
    let mut w = world();
    w.server.restore_from(&w.backup, false);
    for who in [&w.rita, &w.ada] {
        let refused = who.fails(&["inbox"]);
        assert!(refused.contains("offers no handover"), "{refused}");
    }
    let (_, failures) = {
        let out = w.auditor.run(&["audit", "verify", "--json"]);
        assert!(!out.status.success());
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert!(failures.contains("offers no handover"), "{failures}");
    let refused = shopper_refuses(&w.sam);
    assert!(refused.contains("offers no handover"), "{refused}");

    // A handover the server signs with a key of its own (not the old log
    // key the clients pinned) is no better.
    let own_key = std::fs::read(w.server.data.join("log-key")).unwrap();
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.rita.dir().join("state.json")).unwrap()).unwrap();
    let pinned = state["log_origin"].as_str().unwrap();
    let forged = forge_handover(&w.server, pinned, &own_key);
    w.server.stop();
    std::fs::write(w.server.data.join("log-handover"), forged).unwrap();
    w.server.restart();
    let refused = w.rita.fails(&["inbox"]);
    assert!(refused.contains("does not verify"), "{refused}");
    let refused = shopper_refuses(&w.sam);
    assert!(refused.contains("does not verify"), "{refused}");
}

/// `shopper receipts --verify`, which must fail: all it printed.
fn shopper_refuses(sam: &Shopper) -> String {
    let out = sam.run_with(&["receipts", "--verify"], &sam.passphrase);
    assert!(!out.status.success());
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A handover from `old_origin` (what the clients pinned) to the running
/// log, signed with the running log's own key (`key_file`) instead of the
/// old log key.
fn forge_handover(server: &Server, old_origin: &str, key_file: &[u8]) -> String {
    use sealdrop_proto::log::checkpoint::Checkpoint;
    use sealdrop_proto::log::handover::Handover;
    use sealdrop_proto::log::merkle::empty_root;
    let running = sealdrop_client::Client::new(&server.url)
        .unwrap()
        .server_info()
        .unwrap();
    let key = sealdrop_proto::keys::SigningSecret::from_seed(key_file.try_into().unwrap());
    Handover::new(
        Checkpoint::new(old_origin, 0, empty_root()).unwrap(),
        0,
        empty_root(),
        Vec::new(),
        &running.log_origin,
        key.verifying_key().to_bytes(),
    )
    .unwrap()
    .sign(&key)
}

/// A restore whose kept entries are not the history a client saw: the
/// server's disk holds an altered copy of the old log (as a server would
/// that rewrote entries before the backup), so it cannot prove that what
/// the reviewer and the shopper saw beyond the restore and what it kept
/// are one history. Both refuse the new log.
#[test]
fn a_restore_that_cannot_prove_what_was_seen_is_refused() {
    let mut w = world();
    let dir = tempfile::tempdir().unwrap();
    w.sam
        .json(&["submit", visit(dir.path(), 2).to_str().unwrap()]);
    let out = w.rita.dir().join("before");
    w.rita.json(&["fetch", "--out", out.to_str().unwrap()]);
    w.server.restore_from(&w.backup, true);
    w.server.stop();
    let old_log = w.server.data.join("old-log-1");
    let mut hashes = std::fs::read(&old_log).unwrap();
    let last = hashes.len() - 1;
    hashes[last] ^= 1;
    std::fs::write(&old_log, hashes).unwrap();
    w.server.restart();

    let refused = w.rita.fails(&["inbox"]);
    assert!(refused.contains("cannot show that"), "{refused}");
    let synced = w.sam.run_with(&["sync", "--json"], &w.sam.passphrase);
    let said = String::from_utf8_lossy(&synced.stderr);
    assert!(said.contains("cannot show that"), "{said}");
    // Nothing was re-pinned: the next run refuses again.
    let again = w.rita.fails(&["inbox"]);
    assert!(again.contains("cannot show that"), "{again}");
}
