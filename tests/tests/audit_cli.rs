//! `sealdrop audit verify` passes on an honest store, then (with `--full`)
//! names exactly what is wrong after the server's database is altered: a
//! ciphertext byte, a report's signature, a shopper's enrolment record, a
//! shopper inserted without an invite. An auditor never gets an envelope.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use sealdrop_client::Client;
use sealdrop_proto::SecretIdentity;
use sealdrop_proto::codec::Encode as _;
use sealdrop_proto::invite::InviteBundle;

/// `audit verify --full`: alterations of reports verified on an earlier
/// visit are only seen when everything is read again.
fn failures(auditor: &Staff) -> Vec<(String, String)> {
    let out = auditor.run(&["audit", "verify", "--full", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    let list = failure_pairs(&v["failures"], "item");
    assert_eq!(out.status.code(), Some(if list.is_empty() { 0 } else { 2 }));
    list
}

#[test]
fn audit_verify_catches_every_alteration() {
    let server = Server::start();
    let (ada, program) = manager_with_program(&server);
    let mut reports = Vec::new();
    let mut shoppers = Vec::new();
    for _ in 0..2 {
        let invite = ada.json(&["invite", "shopper", "--program", &program])["invite"]
            .as_str()
            .unwrap()
            .to_owned();
        let key = SecretIdentity::generate(&mut rng());
        let mut c = Client::new(&server.url).unwrap();
        c.enrol_shopper(&InviteBundle::parse(&invite, now()).unwrap(), &key)
            .unwrap();
        c.sign_in(&key).unwrap();
        for n in 0..2 {
            reports.push(submit(
                &c,
                &key,
                &program,
                format!("{{\"n\":{n}}}").as_bytes(),
                &[("p.jpg", b"JPEG")],
            ));
        }
        shoppers.push(key);
    }

    let auditor = Staff::new("audit");
    auditor.json(&["keygen", "--name", "Auditor"]);
    auditor.json(&[
        "enroll",
        "--server",
        &server.url,
        "--token",
        &operator_token(&server, "auditor"),
    ]);
    // Programs are pinned only from what a manager confirms out of band:
    // the first run names the program and its genesis manager, and fails.
    let unconfirmed = auditor.run(&["audit", "verify", "--json"]);
    assert_eq!(unconfirmed.status.code(), Some(2));
    let listed: serde_json::Value = serde_json::from_slice(&unconfirmed.stdout).unwrap();
    let failed = failure_pairs(&listed["failures"], "item");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, format!("program {program}"));
    let ada_fp = ada.json(&["program", "show", &program])["managers"][0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        failed[0].1.contains("not confirmed") && failed[0].1.contains(&ada_fp),
        "{failed:?}"
    );
    // A wrong fingerprint confirms nothing.
    let refused = auditor.fails(&[
        "audit",
        "trust",
        &program,
        "--descriptor",
        "12345 12345 12345 12345 12345 12345 12345 12345 12345 12345",
    ]);
    assert!(refused.contains("fingerprint"), "{refused}");
    auditor_confirms(&auditor, &ada, &program);
    let first = auditor.json(&["audit", "verify"]);
    assert_eq!(first["reports"], 4);
    assert!(first["ciphertext_bytes"].as_u64().unwrap() > 0);
    assert_eq!(first["log"]["new"], first["log"]["size"]);
    // The next visit has nothing new to check; --full checks it all again.
    let again = auditor.json(&["audit", "verify"]);
    assert_eq!(again["reports"], 0);
    assert_eq!(again["log"]["new"], 0);
    assert!(failures(&auditor).is_empty());

    // An auditor can fetch no envelope.
    let out = auditor.home.path().join("out");
    let err = auditor.fails(&["fetch", "--out", out.to_str().unwrap()]);
    assert!(err.contains("forbidden"), "{err}");
    // Nor by asking for one report's release directly, with the auditor's
    // own keys, though the ciphertext itself is open to them.
    let auditor_key = sealdrop_keystore::Keystore::read(&auditor.dir().join("keystore.json"))
        .unwrap()
        .unlock(&sealdrop_keystore::Passphrase::new("audit".into()))
        .unwrap();
    let mut direct = Client::new(&server.url).unwrap();
    direct.sign_in(&auditor_key).unwrap();
    for r in &reports {
        let report: sealdrop_proto::ReportId = r.parse().unwrap();
        let refused = direct.release(&report).unwrap_err();
        assert!(
            matches!(
                refused.code(),
                Some(sealdrop_api::ErrorCode::Forbidden | sealdrop_api::ErrorCode::NotFound)
            ),
            "{refused}"
        );
        assert!(!direct.stream(&report, 0).unwrap().is_empty());
    }

    let db = rusqlite::Connection::open(server.data.join("sealdrop.db")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    let id = |r: &str| {
        r.parse::<sealdrop_proto::ReportId>()
            .unwrap()
            .as_bytes()
            .to_vec()
    };

    // A ciphertext byte.
    db.execute(
        "UPDATE chunks SET data = CAST(zeroblob(length(data)) AS BLOB)
         WHERE blob = (SELECT blob FROM reports WHERE id = ?1) AND stream = 1",
        [id(&reports[0])],
    )
    .unwrap();
    let f = failures(&auditor);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].0, format!("report {}", reports[0]));
    assert!(f[0].1.contains("stream 1's ciphertext"), "{f:?}");

    // A report's signature (the record's last byte, always changed).
    db.execute(
        "UPDATE reports SET record = CAST(substr(record, 1, length(record) - 1)
         || CASE WHEN substr(record, -1) = X'00' THEN X'01' ELSE X'00' END AS BLOB) WHERE id = ?1",
        [id(&reports[1])],
    )
    .unwrap();
    let f = failures(&auditor);
    assert!(
        f.iter()
            .any(|(w, r)| *w == format!("report {}", reports[1]) && r.contains("signature")),
        "{f:?}"
    );

    // A shopper's enrolment record.
    db.execute(
        "UPDATE people SET enrolment = CAST(substr(enrolment, 1, length(enrolment) - 1)
         || CASE WHEN substr(enrolment, -1) = X'00' THEN X'01' ELSE X'00' END AS BLOB) WHERE id = ?1",
        [&shoppers[1].id().as_bytes()[..]],
    )
    .unwrap();
    let f = failures(&auditor);
    assert!(
        f.iter()
            .any(|(w, _)| *w == format!("shopper {}", shoppers[1].id())),
        "{f:?}"
    );
    assert!(
        f.iter()
            .any(|(w, r)| *w == format!("report {}", reports[3])
                && r.contains("not a shopper enrolled")),
        "{f:?}"
    );

    // A shopper inserted without an invite.
    let rogue = SecretIdentity::generate(&mut rng());
    let program_id: sealdrop_proto::ProgramId = program.parse().unwrap();
    db.execute(
        "INSERT INTO people (id, identity, role, org_id, enrolled_at, program_id)
         VALUES (?1, ?2, 'shopper', (SELECT org_id FROM programs WHERE id = ?3), ?4, ?3)",
        rusqlite::params![
            &rogue.id().as_bytes()[..],
            rogue.public().to_bytes(),
            &program_id.as_bytes()[..],
            now() as i64
        ],
    )
    .unwrap();
    let f = failures(&auditor);
    assert!(
        f.iter()
            .any(|(w, r)| *w == format!("shopper {}", rogue.id())
                && r.contains("not enrolled through a manager")),
        "{f:?}"
    );

    // A malformed acknowledgement (of a report already failing for its
    // signer) adds no second failure: the report is still listed, not
    // "gone".
    db.execute(
        "UPDATE reports SET acknowledgement = X'00' WHERE id = ?1",
        [id(&reports[2])],
    )
    .unwrap();
    let f = failures(&auditor);
    let about: Vec<_> = f
        .iter()
        .filter(|(w, _)| *w == format!("report {}", reports[2]))
        .collect();
    assert_eq!(about.len(), 1, "{f:?}");
    assert!(!about[0].1.contains("gone"), "{f:?}");
}
