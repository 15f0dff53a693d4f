//! Adding managers, granting and revoking with the `sealdrop` CLI.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use rand_core::UnwrapErr;
use sealdrop_client::Client;
use sealdrop_proto::SecretIdentity;
use sealdrop_proto::invite::InviteBundle;
use sealdrop_proto::report::{ReportContent, ReportSealer};

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn submit(server: &Server, invite: &str) {
    let bundle = InviteBundle::parse(invite, now()).unwrap();
    let key = SecretIdentity::generate(&mut UnwrapErr(getrandom::SysRng));
    let mut shopper = Client::new(&server.url).unwrap();
    shopper.enrol_shopper(&bundle, &key).unwrap();
    shopper.sign_in(&key).unwrap();
    let program = bundle.invite.unverified_body().program_id;
    let descriptor = shopper.descriptor(&program).unwrap();
    let mut sealer = ReportSealer::new(
        &key,
        descriptor.unverified_body(),
        now() * 1000,
        &mut UnwrapErr(getrandom::SysRng),
    )
    .unwrap();
    let mut ct = Vec::new();
    sealer
        .seal_content(
            &ReportContent {
                answers: b"{\"q\":1}".to_vec(),
                attachments: vec![],
            },
            &mut ct,
        )
        .unwrap();
    let (sealed, _) = sealer.finish(&mut UnwrapErr(getrandom::SysRng)).unwrap();
    shopper.submit(&sealed, &[&ct]).unwrap();
}

#[test]
fn managers_grants_and_revocation() {
    let server = Server::start();
    let (ada, _, _) = enrolled(&server, "Ada", &server.first_token);
    let q = example_questionnaire(ada.home.path(), 1);
    let program = ada.json(&[
        "program",
        "create",
        "Visits",
        "--questionnaire",
        q.to_str().unwrap(),
    ])["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // A second manager, added by the fingerprint they read out.
    let (_bob, bob_id, bob_fp) = enrolled(&server, "Bob", &operator_token(&server, "manager"));
    let shown = ada.json(&[
        "program",
        "managers",
        "add",
        &program,
        "--fingerprint",
        &bob_fp,
    ]);
    assert_eq!(shown["managers"], 2);
    let text = String::from_utf8(ada.run(&["program", "show", &program]).stdout).unwrap();
    assert!(
        text.contains(&bob_id) && !text.contains("only one manager"),
        "{text}"
    );

    // Questionnaire and retention changes are new, chained versions; the
    // questionnaire's own version must go up.
    let q2 = example_questionnaire(ada.home.path(), 2);
    let err = ada.fails(&[
        "program",
        "update",
        &program,
        "--questionnaire",
        q.to_str().unwrap(),
    ]);
    assert!(err.contains("version must be above"), "{err}");
    assert_eq!(
        ada.json(&[
            "program",
            "update",
            &program,
            "--questionnaire",
            q2.to_str().unwrap()
        ])["questionnaire_version"],
        2
    );
    assert_eq!(
        ada.json(&["program", "set-retention", &program, "90"])["version"],
        4
    );

    // Two reports arrive before the reviewer is granted anything.
    let invite = ada.json(&["invite", "shopper", "--program", &program])["invite"]
        .as_str()
        .unwrap()
        .to_owned();
    submit(&server, &invite);
    let invite = ada.json(&["invite", "shopper", "--program", &program])["invite"]
        .as_str()
        .unwrap()
        .to_owned();
    submit(&server, &invite);
    let staff_token = ada.json(&["invite", "staff"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (rita, rita_id, rita_fp) = enrolled(&server, "Rita", &staff_token);
    assert_eq!(
        rita.json(&["inbox"]).as_array().unwrap().len(),
        0,
        "nothing before the grant"
    );

    // A wrong fingerprint is refused, and nothing changes.
    let err = ada.fails(&[
        "grant",
        "--program",
        &program,
        "--to",
        &rita_id,
        "--fingerprint",
        &bob_fp,
    ]);
    assert!(err.contains("does not belong"), "{err}");
    assert_eq!(ada.json(&["program", "show", &program])["version"], 4);

    let granted = grant(&ada, &program, &rita_id, &rita_fp);
    assert_eq!(granted["rewrapped"], 2);
    confirm(&rita, &program, &granted);
    assert_eq!(
        rita.json(&["inbox"]).as_array().unwrap().len(),
        2,
        "both existing reports after the grant"
    );
    assert!(
        ada.fails(&[
            "grant",
            "--program",
            &program,
            "--to",
            &rita_id,
            "--fingerprint",
            &rita_fp
        ])
        .contains("already")
    );

    // The reviewer decrypts both, through envelopes the grant added.
    let out = rita.home.path().join("out");
    let fetched = rita.json(&["fetch", "--out", out.to_str().unwrap()]);
    assert_eq!(fetched["fetched"].as_array().unwrap().len(), 2, "{fetched}");
    for folder in fetched["fetched"].as_array().unwrap() {
        let v: serde_json::Value = serde_json::from_slice(
            &std::fs::read(
                std::path::Path::new(folder.as_str().unwrap()).join("verification.json"),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(v["envelope"], "added by a manager's grant");
    }

    // Revocation ends access at once.
    let revoked = ada.json(&["revoke", "--all-programs", "--from", &rita_id]);
    assert_eq!(revoked["revoked"].as_array().unwrap().len(), 1);
    assert_eq!(rita.json(&["inbox"]).as_array().unwrap().len(), 0);
    let after = ada.json(&["program", "show", &program]);
    assert!(
        after["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"] != rita_id.as_str())
    );
    // A shopper's next report is sealed to the new list, without her key:
    // she never sees it, and fetching gives her nothing new.
    let invite = ada.json(&["invite", "shopper", "--program", &program])["invite"]
        .as_str()
        .unwrap()
        .to_owned();
    submit(&server, &invite);
    assert_eq!(rita.json(&["inbox"]).as_array().unwrap().len(), 0);
    let again = rita.json(&["fetch", "--out", out.to_str().unwrap()]);
    assert_eq!(again["fetched"].as_array().unwrap().len(), 0);
    assert_eq!(ada.json(&["inbox"]).as_array().unwrap().len(), 3);

    // Granted again, then revoked from this one program only.
    let regranted = grant(&ada, &program, &rita_id, &rita_fp);
    assert_eq!(regranted["rewrapped"], 3);
    assert_eq!(rita.json(&["inbox"]).as_array().unwrap().len(), 3);
    ada.json(&["revoke", "--program", &program, "--from", &rita_id]);
    assert_eq!(rita.json(&["inbox"]).as_array().unwrap().len(), 0);
    let after = ada.json(&["program", "show", &program]);
    assert!(
        after["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"] != rita_id.as_str())
    );
}
