//! The tamper suite: a server's database altered behind its back, each
//! alteration caught by an auditor's `audit verify`, a shopper's
//! `receipts --verify` or a reviewer's `fetch`, with its own message; and
//! a purge by retention, which is no alarm at all.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

/// A server with a program, a shopper who sent three reports through the
/// shopper CLI, and an auditor whose first audit passed.
struct World {
    server: Server,
    ada: Staff,
    program: String,
    sam: Shopper,
    reports: Vec<String>,
    auditor: Staff,
}

fn report_file(sam: &Shopper, n: usize) -> String {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/report.json");
    let mut doc: Value = serde_json::from_slice(&std::fs::read(example).unwrap()).unwrap();
    doc["notes"] = format!("Visit number {n}.").into();
    let path = sam.path(&format!("visit-{n}.json"));
    std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
    path.to_str().unwrap().to_owned()
}

impl World {
    fn new() -> Self {
        let server = Server::start();
        let (ada, program) = manager_with_program(&server);
        let sam = enrolled_shopper(&ada, &program);
        let mut world = Self {
            server,
            ada,
            program,
            sam,
            reports: Vec::new(),
            auditor: Staff::new("audit"),
        };
        for _ in 0..3 {
            world.send();
        }
        world.auditor.json(&["keygen", "--name", "Auditor"]);
        let token = operator_token(&world.server, "auditor");
        world
            .auditor
            .json(&["enroll", "--server", &world.server.url, "--token", &token]);
        auditor_confirms(&world.auditor, &world.ada, &world.program);
        let (clean, summary) = world.audit(&[]);
        assert!(clean.is_empty(), "{clean:?}");
        assert_eq!(summary["reports"], 3);
        assert_eq!(world.receipt_failures(), Vec::<(String, String)>::new());
        world
    }

    /// One more report through the shopper CLI; returns its ID.
    fn send(&mut self) -> String {
        let file = report_file(&self.sam, self.reports.len());
        let sent = self.sam.json(&["submit", &file]);
        assert_eq!(sent["status"], "sent", "{sent}");
        let id = sent["report"].as_str().unwrap().to_owned();
        self.reports.push(id.clone());
        id
    }

    /// `audit verify` with `extra` flags: its failures and its summary.
    fn audit(&self, extra: &[&str]) -> (Vec<(String, String)>, Value) {
        self.audit_at(0, extra)
    }

    /// `audit verify` with the auditor's clock `offset` seconds ahead (a
    /// debug build's test knob, like the operator's).
    fn audit_at(&self, offset: i64, extra: &[&str]) -> (Vec<(String, String)>, Value) {
        let mut args = vec!["audit", "verify", "--json"];
        args.extend(extra);
        let out = std::process::Command::new(bin("sealdrop"))
            .args(&args)
            .env("SEALDROP_HOME", self.auditor.dir())
            .env("SEALDROP_PASSPHRASE", &self.auditor.passphrase)
            .env("SEALDROP_TEST_CLOCK_OFFSET", offset.to_string())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
        let failures = failure_pairs(&v["failures"], "item");
        assert_eq!(
            out.status.code(),
            Some(if failures.is_empty() { 0 } else { 2 }),
            "{v}"
        );
        (failures, v)
    }

    /// `shopper receipts --verify`: the receipts that do not verify.
    fn receipt_failures(&self) -> Vec<(String, String)> {
        let out = self
            .sam
            .run_with(&["receipts", "--verify", "--json"], &self.sam.passphrase);
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
        assert!(
            v["offline"].as_array().unwrap().is_empty(),
            "the server was reachable: {v}"
        );
        let failures = failure_pairs(&v["failures"], "report");
        assert_eq!(out.status.success(), failures.is_empty(), "{v}");
        failures
    }

    fn db(&self) -> rusqlite::Connection {
        let db = rusqlite::Connection::open(self.server.data.join("sealdrop.db")).unwrap();
        db.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
        db
    }

    fn accepted_leaf(&self, report: &str) -> i64 {
        self.db()
            .query_row(
                "SELECT accepted_leaf FROM reports WHERE id = ?1",
                [id(report)],
                |r| r.get(0),
            )
            .unwrap()
    }

    /// A dishonest operator also removes the head the honest server keeps
    /// of what it signed (which would make it refuse to start).
    fn forget_signed_head(&self) {
        std::fs::remove_file(self.server.data.join("log-head")).unwrap();
    }

    fn leaves(&self) -> i64 {
        self.db()
            .query_row("SELECT COUNT(*) FROM log_leaves", [], |r| r.get(0))
            .unwrap()
    }
}

fn id(report: &str) -> Vec<u8> {
    report
        .parse::<sealdrop_proto::ReportId>()
        .unwrap()
        .as_bytes()
        .to_vec()
}

fn only(failures: &[(String, String)], item: &str, says: &str) {
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].0, item, "{failures:?}");
    assert!(failures[0].1.contains(says), "{failures:?}");
}

#[test]
fn a_purge_before_it_is_due_is_named() {
    let w = World::new();
    let set = w.ada.json(&["program", "set-retention", &w.program, "1"]);
    assert_eq!(set["retention_days"], 1);
    // A purge early, in a drill, is a tombstone the policy does not
    // justify: the auditor says so.
    let drill = (now() + 2 * 86_400).to_string();
    let out = w.server.operator_cmd(&["purge", "--at", &drill]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (failures, _) = w.audit(&[]);
    assert_eq!(failures.len(), 3, "{failures:?}");
    assert!(
        failures.iter().all(
            |(_, why)| why.contains("does not justify") && why.contains("before its retention")
        ),
        "{failures:?}"
    );
}

#[test]
fn a_purge_that_is_due_and_a_signed_deletion_are_no_alarm() {
    let w = World::new();
    let set = w.ada.json(&["program", "set-retention", &w.program, "1"]);
    assert_eq!(set["retention_days"], 1);
    let deleted = w.sam.json(&["delete", &w.reports[0], "--yes"]);
    assert!(deleted.to_string().contains(&w.reports[0]), "{deleted}");
    // Three days later (the operator's clock, in a debug build).
    let out = std::process::Command::new(bin("sealdrop-server"))
        .args(["purge", "--data"])
        .arg(&w.server.data)
        .env("SEALDROP_TEST_CLOCK_OFFSET", (3 * 86_400).to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Audited now, the purge is dated in the future: named.
    let (failures, _) = w.audit(&[]);
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(
        failures
            .iter()
            .all(|(_, why)| why.contains("in the future")),
        "{failures:?}"
    );
    // Audited three days later too, it is justified.
    let later = 3 * 86_400;
    let (failures, summary) = w.audit_at(later, &[]);
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(summary["log"]["purged"], 2, "{summary}");
    assert_eq!(summary["log"]["deleted"], 1, "{summary}");
    assert!(w.receipt_failures().is_empty());
    let (failures, _) = w.audit_at(later, &["--full"]);
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn an_altered_leaf_is_located() {
    let w = World::new();
    let leaf = w.accepted_leaf(&w.reports[1]);
    w.db()
        .execute(
            "UPDATE log_leaves SET entry = CAST(substr(entry, 1, length(entry) - 1)
             || CASE WHEN substr(entry, -1) = X'00' THEN X'01' ELSE X'00' END AS BLOB)
             WHERE idx = ?1",
            [leaf],
        )
        .unwrap();
    let (failures, _) = w.audit(&["--full"]);
    only(&failures, &format!("log entry {leaf}"), "altered");
}

#[test]
fn a_report_deleted_without_a_tombstone_is_named() {
    let w = World::new();
    let db = w.db();
    let seq: i64 = db
        .query_row(
            "SELECT seq FROM reports WHERE id = ?1",
            [id(&w.reports[0])],
            |r| r.get(0),
        )
        .unwrap();
    db.execute("DELETE FROM envelopes WHERE report_seq = ?1", [seq])
        .unwrap();
    db.execute("DELETE FROM reports WHERE seq = ?1", [seq])
        .unwrap();
    let (failures, _) = w.audit(&["--full"]);
    only(
        &failures,
        &format!("report {}", w.reports[0]),
        "gone from the server, and no tombstone",
    );
}

#[test]
fn ciphertext_deleted_without_a_tombstone_is_named() {
    let w = World::new();
    w.db()
        .execute(
            "DELETE FROM chunks WHERE blob = (SELECT blob FROM reports WHERE id = ?1)",
            [id(&w.reports[2])],
        )
        .unwrap();
    let (failures, _) = w.audit(&["--full"]);
    only(
        &failures,
        &format!("report {}", w.reports[2]),
        "ciphertext is gone, and no tombstone",
    );
    // Tombstoning it by hand, without the log, is named too.
    w.db()
        .execute(
            "UPDATE reports SET purged_at = 1, purge_version = 1, purge_days = 1 WHERE id = ?1",
            [id(&w.reports[2])],
        )
        .unwrap();
    let (failures, _) = w.audit(&["--full"]);
    only(
        &failures,
        &format!("report {}", w.reports[2]),
        "the log records no purge or deletion",
    );
}

#[test]
fn a_truncated_log_is_caught_by_the_auditor_and_by_receipts() {
    let mut w = World::new();
    let before = w.leaves();
    // The last report's acceptance and everything after it, gone.
    let last = w.accepted_leaf(&w.reports[2]);
    w.server.stop();
    w.db()
        .execute("DELETE FROM log_leaves WHERE idx >= ?1", [last])
        .unwrap();
    w.forget_signed_head();
    w.server.restart();
    let (failures, _) = w.audit(&[]);
    only(&failures, "log", "truncated or rolled back");
    assert!(failures[0].1.contains(&format!("fewer than the {before}")));
    // The program is refused first (nothing more is sent into that log),
    // then each receipt is named.
    let all = w.receipt_failures();
    assert!(
        all[0].0.starts_with("program ") && all[0].1.contains("rolled"),
        "{all:?}"
    );
    let receipts: Vec<_> = all
        .into_iter()
        .filter(|(r, _)| !r.starts_with("program "))
        .collect();
    assert_eq!(receipts.len(), 3, "{receipts:?}");
    assert!(
        receipts.iter().all(|(_, why)| why.contains("rolled")),
        "{receipts:?}"
    );
}

#[test]
fn an_honest_server_refuses_to_serve_a_log_that_contradicts_what_it_signed() {
    let mut w = World::new();
    w.server.stop_gracefully();
    assert!(w.server.data.join("log-head").exists());
    // The server must refuse at once; one that starts is killed and failed.
    let serve = |w: &World| serve_refused(&bin("sealdrop-server"), &w.server.data);
    // Truncated: fewer entries than it signed.
    let last = w.accepted_leaf(&w.reports[2]);
    let kept: Vec<(i64, Vec<u8>)> = {
        let db = w.db();
        let mut stmt = db
            .prepare("SELECT idx, entry FROM log_leaves WHERE idx >= ?1")
            .unwrap();
        stmt.query_map([last], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    w.db()
        .execute("DELETE FROM log_leaves WHERE idx >= ?1", [last])
        .unwrap();
    let refused = serve(&w);
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains("fewer than the") && why.contains("truncated"),
        "{why}"
    );
    // Put back, but one entry altered: a different root.
    for (idx, mut entry) in kept {
        if idx == last {
            *entry.last_mut().unwrap() ^= 1;
        }
        w.db()
            .execute(
                "INSERT INTO log_leaves (idx, entry) VALUES (?1, ?2)",
                rusqlite::params![idx, entry],
            )
            .unwrap();
    }
    let refused = serve(&w);
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(why.contains("altered"), "{why}");
}

#[test]
fn an_earlier_backup_restored_over_the_data_is_a_rollback() {
    let mut w = World::new();
    let backup = w.sam.path("early.db");
    let out = w
        .server
        .operator_cmd(&["backup", "--out", backup.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    w.send();
    let (clean, _) = w.audit(&[]);
    assert!(clean.is_empty(), "{clean:?}");
    // The operator (or an intruder) puts the old file back, keeping the key.
    w.server.stop();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(w.server.data.join(format!("sealdrop.db{suffix}")));
    }
    std::fs::copy(&backup, w.server.data.join("sealdrop.db")).unwrap();
    w.forget_signed_head();
    w.server.restart();
    let (failures, _) = w.audit(&[]);
    only(&failures, "log", "truncated or rolled back");
    let receipts = w.receipt_failures();
    assert!(
        receipts
            .iter()
            .any(|(r, why)| *r == w.reports[3] && why.contains("rolled")),
        "{receipts:?}"
    );
}

#[test]
fn a_log_rebuilt_without_one_report_is_a_fork() {
    let mut w = World::new();
    let victim = w.reports[1].clone();
    w.server.stop();
    rebuild_log_without(&w.server, &victim);
    w.server.restart();
    // The shopper, who kept the longer log's checkpoint, sends nothing
    // into this one.
    let file = report_file(&w.sam, w.reports.len());
    let refused = w.sam.fails(&["submit", &file]);
    assert!(refused.contains("rolled its history back"), "{refused}");
    // Enrolments of people who saw nothing before (the manager, who kept
    // a checkpoint, refuses this log too) make it longer than the one
    // verified.
    for name in ["Extra", "Another"] {
        enrolled(&w.server, name, &operator_token(&w.server, "auditor"));
    }
    let (failures, _) = w.audit(&[]);
    only(&failures, "log", "forked checkpoint");
    let receipts = w.receipt_failures();
    assert!(
        receipts.iter().any(|(r, _)| *r == victim),
        "the victim's receipt is named: {receipts:?}"
    );
}

#[test]
fn a_release_kept_out_of_the_log_is_not_decrypted() {
    let w = World::new();
    // The server writes every release's leaf as a copy of another entry:
    // the envelope is released, but the log records no release.
    w.db()
        .execute_batch(
            "CREATE TRIGGER hide_releases AFTER INSERT ON log_leaves
             WHEN substr(NEW.entry, 24, 1) = X'05'
             BEGIN
               UPDATE log_leaves SET entry = (SELECT entry FROM log_leaves WHERE idx = 0)
               WHERE idx = NEW.idx;
             END;",
        )
        .unwrap();
    let out = w.ada.home.path().join("findings");
    let refused = w.ada.run(&[
        "fetch",
        "--program",
        &w.program,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    let stdout = String::from_utf8_lossy(&refused.stdout);
    assert!(
        stdout.contains("does not prove that its log records this release")
            || stderr.contains("does not prove that its log records this release"),
        "{stdout}\n{stderr}"
    );
    // Nothing was decrypted: no report folder holds content.
    let written = std::fs::read_dir(&out)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .count()
        })
        .unwrap_or(0);
    assert_eq!(written, 0);
    // A release once hidden stays unprovable: the server answers a later
    // request with the same leaf. Asked again, nothing is decrypted.
    w.db().execute_batch("DROP TRIGGER hide_releases;").unwrap();
    let again = w.ada.run(&[
        "fetch",
        "--program",
        &w.program,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!again.status.success());
    // A server that records the releases anew, honestly: the same fetch
    // decrypts all three.
    w.db().execute_batch("DELETE FROM releases;").unwrap();
    let fetched = w.ada.json(&[
        "fetch",
        "--program",
        &w.program,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        fetched["fetched"].as_array().map(Vec::len),
        Some(3),
        "{fetched}"
    );
}
