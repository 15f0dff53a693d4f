//! `sealdrop fetch`: verified, decrypted folders; safe attachment names;
//! incremental runs; and reports that fail a check are never written:
//! a shopper slipped into the database without an invite, a ciphertext
//! byte altered on the server's disk.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::fs::PermissionsExt as _;

use common::*;
use sealdrop_client::Client;
use sealdrop_proto::SecretIdentity;
use sealdrop_proto::codec::Encode as _;

#[test]
fn fetch_verifies_decrypts_and_refuses_what_fails() {
    let server = Server::start();
    let (ada, program) = manager_with_program(&server);

    // An honest shopper, with a hostile attachment name.
    let (shopper, key) = new_shopper(&server, &ada, &program);
    let good = submit(
        &shopper,
        &key,
        &program,
        br#"{"clean":"yes"}"#,
        &[("../../x", b"escape?"), ("photo.jpg", b"JPEG")],
    );

    let out = ada.home.path().join("findings");
    let fetched = ada.json(&["fetch", "--out", out.to_str().unwrap()]);
    assert_eq!(fetched["fetched"].as_array().unwrap().len(), 1, "{fetched}");
    let folder = out.join(&good);
    assert_eq!(
        std::fs::metadata(&folder).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["answers"]["clean"], "yes");
    let names: Vec<&str> = report["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["file"].as_str().unwrap())
        .collect();
    for name in &names {
        assert!(!name.contains('/') && name != &"..", "{name}");
        assert!(folder.join(name).exists());
    }
    assert_eq!(std::fs::read(folder.join(names[0])).unwrap(), b"escape?");
    assert!(!ada.home.path().join("x").exists() && !out.join("x").exists());
    let verification: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("verification.json")).unwrap()).unwrap();
    assert_eq!(verification["signer"], key.id().to_string().as_str());
    assert_eq!(verification["envelope"], "sealed by the shopper");
    // Incremental: nothing new the second time.
    let again = ada.json(&["fetch", "--out", out.to_str().unwrap()]);
    assert_eq!(
        (
            again["fetched"].as_array().unwrap().len(),
            again["skipped"].as_u64()
        ),
        (0, Some(1))
    );

    // A shopper slipped into the database directly, with no invite chain.
    let rogue = SecretIdentity::generate(&mut rng());
    let db = rusqlite::Connection::open(server.data.join("sealdrop.db")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
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
    let mut rogue_client = Client::new(&server.url).unwrap();
    rogue_client.sign_in(&rogue).unwrap();
    let forged = submit(&rogue_client, &rogue, &program, b"{\"clean\":\"no\"}", &[]);

    // And a ciphertext byte altered on the server's disk.
    let altered = submit(&shopper, &key, &program, b"{\"clean\":\"maybe\"}", &[]);
    let altered_id: sealdrop_proto::ReportId = altered.parse().unwrap();
    db.execute(
        "UPDATE chunks SET data = CAST(zeroblob(length(data)) AS BLOB)
         WHERE blob = (SELECT blob FROM reports WHERE id = ?1) AND stream = 0",
        [&altered_id.as_bytes()[..]],
    )
    .unwrap();

    let result = ada.run(&["fetch", "--out", out.to_str().unwrap(), "--json"]);
    assert_eq!(
        result.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let listed: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
    let failed: Vec<(String, String)> = listed["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["report"].as_str().unwrap().to_owned(),
                f["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
    let reason = |id: &str| {
        failed
            .iter()
            .find(|(r, _)| r == id)
            .map(|(_, w)| w.clone())
            .unwrap()
    };
    assert!(reason(&forged).contains("invite"), "{}", reason(&forged));
    assert!(reason(&altered).contains("decrypt"), "{}", reason(&altered));
    for id in [&forged, &altered] {
        assert!(!out.join(id).exists(), "{id} was written");
    }
    assert!(std::fs::read_dir(&out).unwrap().all(|e| {
        !e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".partial")
    }));
}
