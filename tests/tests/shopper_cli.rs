//! The `shopper` CLI against a real server: init, enroll, a fillable
//! report, submit with a photo carrying GPS EXIF (gone when the manager
//! decrypts it), receipts; personal data refused or masked; the same draft
//! twice; the server down, then sync; a grant and a revoke between sealing
//! and sending; a wrong passphrase; a tampered invite.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::{Value, json};

/// A JPEG skeleton whose EXIF carries a GPS position and whose comment
/// names its owner.
fn jpeg_with_gps() -> Vec<u8> {
    fn segment(kind: u8, payload: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, kind];
        s.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
        s.extend_from_slice(payload);
        s
    }
    let mut j = vec![0xFF, 0xD8];
    j.extend(segment(0xE0, b"JFIF\0\x01\x02\0\0\x01\0\x01\0\0"));
    // EXIF: IFD0 points to an Exif IFD whose DateTimeOriginal is
    // 2026:11:20 14:05:09; a GPS position follows.
    let mut exif = b"Exif\0\0MM\0\x2a\0\0\0\x08".to_vec();
    exif.extend_from_slice(&[0, 1, 0x87, 0x69, 0, 4, 0, 0, 0, 1, 0, 0, 0, 26, 0, 0, 0, 0]);
    exif.extend_from_slice(&[0, 1, 0x90, 0x03, 0, 2, 0, 0, 0, 20, 0, 0, 0, 44, 0, 0, 0, 0]);
    exif.extend_from_slice(b"2026:11:20 14:05:09\0GPSLatitude 51.5074N");
    j.extend(segment(0xE1, &exif));
    j.extend(segment(0xFE, b"taken by Sam Shopper"));
    j.extend(segment(0xDB, &[0u8; 65]));
    j.extend(segment(0xDA, &[1, 2, 3]));
    j.extend_from_slice(&[0x12, 0x34, 0xFF, 0xD9]);
    j
}

/// A `shopper new` file filled in with `answers`; returns its path.
/// The manager fetches into `out`; returns the report folders fetched.
fn fetch(manager: &Staff, out: &Path) -> Vec<PathBuf> {
    let v = manager.json(&["fetch", "--out", out.to_str().unwrap()]);
    assert!(v["failed"].as_array().unwrap().is_empty(), "{v}");
    v["fetched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| PathBuf::from(p.as_str().unwrap()))
        .collect()
}

#[test]
fn enrol_fill_in_submit_with_a_photo_and_keep_receipts() {
    let server = Server::start();
    let (ada, program) = manager_with_program(&server);
    let sam = enrolled_shopper(&ada, &program);
    assert_eq!(sam.json(&["programs"]).as_array().unwrap().len(), 1);

    // A wrong passphrase: one clear sentence, nothing changed.
    let wrong = sam.run_with(&["programs"], "not it");
    assert!(!wrong.status.success());
    let err = String::from_utf8_lossy(&wrong.stderr);
    assert!(err.contains("passphrase is wrong"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    // Not greeted: the entrance photo is asked for.
    let mut answers = example_answers();
    answers["greeted"] = json!(false);
    answers["greeting_quality"] = Value::Null;
    answers["entrance_photo"] = json!("door.jpg");
    let visit = filled(&sam, "visit.json", &answers);
    let door = sam.path("door.jpg");
    std::fs::write(&door, jpeg_with_gps()).unwrap();
    let sent = sam.json(&[
        "submit",
        visit.to_str().unwrap(),
        "--attach",
        door.to_str().unwrap(),
    ]);
    assert_eq!(sent["status"], "sent", "{sent}");

    // The same draft again is refused, naming the report.
    let again = sam.fails(&[
        "submit",
        visit.to_str().unwrap(),
        "--attach",
        door.to_str().unwrap(),
    ]);
    assert!(
        again.contains("already submitted") && again.contains(sent["report"].as_str().unwrap()),
        "{again}"
    );

    // The manager decrypts it: the answers as written, the photo without
    // its location or owner.
    let out = ada.home.path().join("findings");
    let folders = fetch(&ada, &out);
    assert_eq!(folders.len(), 1);
    let report: Value =
        serde_json::from_slice(&std::fs::read(folders[0].join("report.json")).unwrap()).unwrap();
    assert_eq!(report["answers"]["greeted"], false);
    assert_eq!(report["answers"]["entrance_photo"], "door.jpg");
    let photo = std::fs::read(folders[0].join("door.jpg")).unwrap();
    let text = String::from_utf8_lossy(&photo);
    assert!(!text.contains("GPS") && !text.contains("Exif") && !text.contains("Sam"));
    // The capture time survives, inside the ciphertext.
    assert_eq!(report["attachments"][0]["captured_at"], 1_795_183_509u64);
    assert!(photo.starts_with(&[0xFF, 0xD8]) && photo.ends_with(&[0xFF, 0xD9]));

    // The receipt verifies against the server key the invite pinned.
    let receipts = sam.json(&["receipts", "--verify"]);
    assert_eq!(receipts["receipts"].as_array().unwrap().len(), 1);
    assert!(receipts["failures"].as_array().unwrap().is_empty());

    // Personal data in free text is refused, naming the question, then
    // masked on request.
    let mut chatty = example_answers();
    chatty["notes"] = json!("The manager said to call 020 7946 0958 or write to jo@example.com.");
    let visit2 = filled(&sam, "visit2.json", &chatty);
    let refused = sam.fails(&["submit", visit2.to_str().unwrap()]);
    assert!(refused.contains("notes: a phone number"), "{refused}");
    assert!(refused.contains("notes: an e-mail address"), "{refused}");
    assert!(
        sam.json(&["outbox"]).as_array().unwrap().is_empty(),
        "nothing was sealed"
    );
    let masked = sam.json(&["submit", visit2.to_str().unwrap(), "--mask"]);
    assert_eq!(masked["status"], "sent");
    assert_eq!(masked["masked"], 2);
    let folders = fetch(&ada, &out);
    let report: Value =
        serde_json::from_slice(&std::fs::read(folders[0].join("report.json")).unwrap()).unwrap();
    let notes = report["answers"]["notes"].as_str().unwrap();
    assert!(notes.contains("[phone number removed]") && notes.contains("[e-mail address removed]"));
    assert!(!notes.contains("7946") && !notes.contains("jo@"));

    // Answers that do not fit the questionnaire: every problem at once.
    let mut wrongs = example_answers();
    wrongs["greeting_quality"] = json!(9);
    wrongs["area"] = json!("roof");
    let bad = filled(&sam, "bad.json", &wrongs);
    let problems = sam.fails(&["submit", bad.to_str().unwrap()]);
    assert!(
        problems.contains("greeting_quality") && problems.contains("area"),
        "{problems}"
    );

    // A file that cannot be stripped is refused unless the shopper says so.
    let pdf = sam.path("menu.pdf");
    std::fs::write(&pdf, b"%PDF-1.7 author Sam").unwrap();
    let err = sam.fails(&[
        "submit",
        bad.to_str().unwrap(),
        "--attach",
        pdf.to_str().unwrap(),
    ]);
    assert!(err.contains("--keep-metadata"), "{err}");
}

#[test]
fn reports_wait_in_the_outbox_while_the_server_is_down() {
    let mut server = Server::start();
    let (ada, program) = manager_with_program(&server);
    let sam = enrolled_shopper(&ada, &program);
    let visit = filled(&sam, "visit.json", &example_answers());

    server.stop();
    let queued = sam.json(&["submit", visit.to_str().unwrap()]);
    assert_eq!(queued["status"], "queued", "{queued}");
    let outbox = sam.json(&["outbox"]);
    assert_eq!(outbox.as_array().unwrap().len(), 1);
    assert!(
        outbox[0]["last_error"].as_str().unwrap().contains("reach"),
        "{outbox}"
    );
    // Still down: sync keeps it.
    let still = sam.json(&["sync"]);
    assert_eq!(still["queued"].as_array().unwrap().len(), 1);

    server.restart();
    let synced = sam.json(&["sync"]);
    assert_eq!(synced["sent"].as_array().unwrap().len(), 1, "{synced}");
    assert!(sam.json(&["outbox"]).as_array().unwrap().is_empty());
    assert_eq!(
        sam.json(&["receipts", "--verify"])["receipts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(ada.json(&["inbox"]).as_array().unwrap().len(), 1);

    // A report queued offline goes out with the next one sent online.
    let mut answers = example_answers();
    answers["wait_minutes"] = json!(4);
    let queued = filled(&sam, "queued.json", &answers);
    sam.json(&["submit", queued.to_str().unwrap(), "--offline"]);
    answers["wait_minutes"] = json!(5);
    let online = filled(&sam, "online.json", &answers);
    let both = sam.json(&["submit", online.to_str().unwrap()]);
    assert_eq!(both["also_sent"].as_array().unwrap().len(), 1, "{both}");
    assert!(sam.json(&["outbox"]).as_array().unwrap().is_empty());
    assert_eq!(ada.json(&["inbox"]).as_array().unwrap().len(), 3);
}

#[test]
fn grants_and_revocations_between_sealing_and_sending_are_rewrapped() {
    let server = Server::start();
    let (ada, program) = manager_with_program(&server);
    let token = ada.json(&["invite", "staff"]);
    let (rita, rita_id, rita_fp) = enrolled(&server, "Rita", token["token"].as_str().unwrap());
    let sam = enrolled_shopper(&ada, &program);

    // Sealed offline to version 1 (Ada alone); Rita is granted; sent.
    let first = filled(&sam, "first.json", &example_answers());
    assert_eq!(
        sam.json(&["submit", first.to_str().unwrap(), "--offline"])["status"],
        "queued"
    );
    let granted = grant(&ada, &program, &rita_id, &rita_fp);
    confirm(&rita, &program, &granted);
    let synced = sam.json(&["sync"]);
    assert_eq!(synced["sent"].as_array().unwrap().len(), 1, "{synced}");
    // Nobody was removed: nothing to report.
    assert_eq!(synced["offered_to_removed"], json!([]), "{synced}");
    assert_eq!(
        rita.json(&["inbox"]).as_array().unwrap().len(),
        1,
        "re-wrapped to Rita"
    );
    let out = rita.home.path().join("out");
    assert_eq!(
        rita.json(&["fetch", "--out", out.to_str().unwrap()])["fetched"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Sealed offline with Rita; Rita is revoked; the log's head says so
    // before anything is sent, so the report is sealed again without her
    // key first: no upload ever carried her envelope, nothing to report.
    let mut answers = example_answers();
    answers["wait_minutes"] = json!(7);
    let second = filled(&sam, "second.json", &answers);
    assert_eq!(
        sam.json(&["submit", second.to_str().unwrap(), "--offline"])["status"],
        "queued"
    );
    ada.json(&["revoke", "--program", &program, "--from", &rita_id]);
    let synced = sam.json(&["sync"]);
    assert_eq!(synced["sent"].as_array().unwrap().len(), 1, "{synced}");
    assert_eq!(synced["offered_to_removed"], json!([]), "{synced}");
    assert_eq!(rita.json(&["inbox"]).as_array().unwrap().len(), 0);
    assert_eq!(ada.json(&["inbox"]).as_array().unwrap().len(), 2);
    let programs = sam.json(&["programs"]);
    assert_eq!(programs[0]["version"], 3, "the shopper follows the chain");
}

#[test]
fn a_tampered_invite_is_refused_before_anything_is_sent() {
    let server = Server::start();
    let (ada, program) = manager_with_program(&server);
    let invite = ada.json(&["invite", "shopper", "--program", &program])["invite"]
        .as_str()
        .unwrap()
        .to_owned();
    let sam = Shopper::new();
    sam.json(&["init"]);
    // Change one character in the middle of the invite.
    let mut chars: Vec<char> = invite.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    let err = sam.fails(&["enroll", &tampered]);
    assert!(err.contains("invite"), "{err}");
    assert!(sam.json(&["programs"]).as_array().unwrap().is_empty());
    // The genuine invite still works: the token was not spent.
    assert_eq!(sam.json(&["enroll", &invite])["program"], program);
    // A second init does not replace the keystore.
    assert!(sam.fails(&["init"]).contains("already holds a keystore"));
}

#[test]
fn a_backup_restored_elsewhere_syncs_its_outbox_then_exports_and_deletes() {
    let server = Server::start();
    let (ada, program) = manager_with_program(&server);
    let sam = enrolled_shopper(&ada, &program);
    let first = filled(&sam, "first.json", &example_answers());
    let sent = sam.json(&["submit", first.to_str().unwrap()]);
    assert_eq!(sent["status"], "sent");
    let mut answers = example_answers();
    answers["wait_minutes"] = json!(11);
    let second = filled(&sam, "second.json", &answers);
    assert_eq!(
        sam.json(&["submit", second.to_str().unwrap(), "--offline"])["status"],
        "queued"
    );

    let file = sam.path("backup.json");
    sam.json(&["backup", "--out", file.to_str().unwrap()]);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("wait_minutes") && !text.contains(&program));

    // A new laptop: the wrong passphrase restores nothing; the right one
    // restores a home whose outbox still sends.
    let laptop = Shopper::new();
    let wrong = laptop.run_with(&["restore", file.to_str().unwrap()], "not it");
    assert!(!wrong.status.success());
    assert!(!laptop.path("h").join("keystore.json").exists());
    laptop.json(&["restore", file.to_str().unwrap()]);
    assert_eq!(laptop.json(&["outbox"]).as_array().unwrap().len(), 1);
    let synced = laptop.json(&["sync"]);
    assert_eq!(synced["sent"].as_array().unwrap().len(), 1, "{synced}");
    assert_eq!(ada.json(&["inbox"]).as_array().unwrap().len(), 2);
    assert_eq!(
        laptop.json(&["receipts", "--verify"])["receipts"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Everything sent, decrypted from the local copies.
    let out = laptop.path("mine");
    let exported = laptop.json(&["export", "--out", out.to_str().unwrap()]);
    assert_eq!(exported["exported"].as_array().unwrap().len(), 2);
    let waits: Vec<i64> = exported["exported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let doc: Value = serde_json::from_slice(
                &std::fs::read(Path::new(p.as_str().unwrap()).join("report.json")).unwrap(),
            )
            .unwrap();
            assert!(doc["acknowledgement"].is_string());
            doc["answers"]["wait_minutes"].as_i64().unwrap()
        })
        .collect();
    assert!(waits.contains(&11) && waits.contains(&3), "{waits:?}");

    // A signed deletion: the server forgets the report; the receipt stays.
    let report = sent["report"].as_str().unwrap();
    laptop.json(&["delete", report, "--yes"]);
    assert_eq!(ada.json(&["inbox"]).as_array().unwrap().len(), 1);
    assert_eq!(
        laptop.json(&["receipts"])["receipts"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(
        laptop
            .fails(&["delete", "sdrnotareport", "--yes"])
            .contains("not a report you sent")
    );
}

/// Replaces what the server serves as the program's descriptor chain, with
/// the server stopped (it caches descriptors): drops versions above
/// `keep`, then appends `extra`.
fn rewrite_chain(
    server: &mut Server,
    program: &str,
    keep: u64,
    extra: Option<&sealdrop_proto::descriptor::SignedDescriptor>,
) {
    use sealdrop_proto::codec::Encode as _;
    server.stop();
    let db = rusqlite::Connection::open(server.data.join("sealdrop.db")).unwrap();
    let id = program
        .parse::<sealdrop_proto::ProgramId>()
        .unwrap()
        .as_bytes()
        .to_vec();
    db.execute(
        "DELETE FROM descriptors WHERE program_id = ?1 AND version > ?2",
        rusqlite::params![id, keep as i64],
    )
    .unwrap();
    let mut current = keep;
    if let Some(d) = extra {
        current = d.unverified_body().version;
        db.execute(
            "INSERT INTO descriptors (program_id, version, descriptor, accepted_at) VALUES (?1, ?2, ?3, 0)",
            rusqlite::params![id, current as i64, d.to_bytes()],
        )
        .unwrap();
    }
    db.execute(
        "UPDATE programs SET current_version = ?2 WHERE id = ?1",
        rusqlite::params![id, current as i64],
    )
    .unwrap();
    drop(db);
    server.restart();
}

#[test]
fn a_descriptor_no_pinned_manager_signed_and_a_rolled_back_one_are_refused() {
    use sealdrop_proto::descriptor::ProgramDescriptor;
    let mut server = Server::start();
    let (ada, program) = manager_with_program(&server);
    let sam = enrolled_shopper(&ada, &program);

    // A version 2 the server made up, adding its own key as a reader and
    // signed by a key that manages nothing: the shopper never seals to it.
    let v1 = {
        let db = rusqlite::Connection::open(server.data.join("sealdrop.db")).unwrap();
        let bytes: Vec<u8> = db
            .query_row(
                "SELECT descriptor FROM descriptors WHERE version = 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        <sealdrop_proto::descriptor::SignedDescriptor as sealdrop_proto::codec::Decode>::from_bytes(
            &bytes,
        )
        .unwrap()
    };
    let intruder = sealdrop_proto::SecretIdentity::generate(&mut rng());
    let mut forged = ProgramDescriptor::successor(&v1, now());
    forged.add_recipient(intruder.public());
    let forged = forged.sign(&intruder).unwrap();
    rewrite_chain(&mut server, &program, 1, Some(&forged));
    let visit = filled(&sam, "visit.json", &example_answers());
    let err = sam.fails(&["submit", visit.to_str().unwrap()]);
    assert!(err.contains("does not chain"), "{err}");
    assert!(
        sam.json(&["outbox"]).as_array().unwrap().is_empty(),
        "nothing was sealed"
    );

    // The genuine chain back, moved on to version 2 by a grant; the shopper
    // follows it. Then the server rolls back to version 1: refused.
    rewrite_chain(&mut server, &program, 1, None);
    let token = ada.json(&["invite", "staff"]);
    let (_rita, rita_id, rita_fp) = enrolled(&server, "Rita", token["token"].as_str().unwrap());
    grant(&ada, &program, &rita_id, &rita_fp);
    assert_eq!(
        sam.json(&["submit", visit.to_str().unwrap()])["status"],
        "sent"
    );
    assert_eq!(sam.json(&["programs"])[0]["version"], 2);
    rewrite_chain(&mut server, &program, 1, None);
    let mut answers = example_answers();
    answers["wait_minutes"] = json!(8);
    let later = filled(&sam, "later.json", &answers);
    let err = sam.fails(&["submit", later.to_str().unwrap()]);
    assert!(err.contains("rollback"), "{err}");
    assert!(sam.json(&["outbox"]).as_array().unwrap().is_empty());
}

#[test]
fn the_form_checks_each_answer_resumes_after_an_interruption_and_submits() {
    let server = Server::start();
    let (ada, program) = manager_with_program(&server);
    let sam = enrolled_shopper(&ada, &program);
    let door = sam.path("door.jpg");
    std::fs::write(&door, jpeg_with_gps()).unwrap();

    // "maybe" is not an answer; "n" is; then the input ends (Ctrl-D, a
    // closed laptop): the draft is kept.
    let first = sam.typed(&["new"], "maybe\nn\n");
    let text = String::from_utf8_lossy(&first.stdout);
    assert!(text.contains("answer y or n; try again"), "{text}");
    assert!(text.contains("Saved your draft"), "{text}");
    assert!(sam.fails(&["submit"]).contains("no finished draft"));

    // Resumed where it stopped: 500 minutes is out of range; the photo is
    // asked because the shopper was not greeted; notes are skipped.
    let input = format!(
        "500\n12\n{}\n2\n1,3\nn/a\n\n2026-11-20T14:05\n",
        door.display()
    );
    let second = sam.typed(&["new"], &input);
    let text = String::from_utf8_lossy(&second.stdout);
    assert!(text.contains("Resuming your draft"), "{text}");
    assert!(text.contains("answer a number from 0 to 120"), "{text}");
    assert!(
        !text.contains("Were you greeted"),
        "greeted was not asked again: {text}"
    );
    assert!(text.contains("The report is complete"), "{text}");

    let sent = sam.json(&["submit"]);
    assert_eq!(sent["status"], "sent", "{sent}");
    assert!(
        sam.fails(&["submit"]).contains("no finished draft"),
        "the draft is used once"
    );

    let out = ada.home.path().join("findings");
    let folders = fetch(&ada, &out);
    let report: Value =
        serde_json::from_slice(&std::fs::read(folders[0].join("report.json")).unwrap()).unwrap();
    let a = &report["answers"];
    assert_eq!(a["greeted"], false);
    assert_eq!(a["wait_minutes"], 12);
    assert_eq!(a["area"], "fitting");
    assert_eq!(a["right"], json!(["clean_floors", "working_lights"]));
    assert_eq!(a["helpfulness"], "n/a");
    assert!(a.get("notes").is_none());
    assert_eq!(a["entrance_photo"], "door.jpg");
    let photo = std::fs::read(folders[0].join("door.jpg")).unwrap();
    assert!(!String::from_utf8_lossy(&photo).contains("GPS"));
}
