//! `access`, `exposure`, `shopper list|revoke` and `audit access-log`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use sealdrop_client::Client;

#[test]
fn who_can_read_what_and_bursts_of_fetching() {
    let server = Server::start();
    let (ada, ada_id, _) = enrolled(&server, "Ada", &server.first_token);
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
    let token = ada.json(&["invite", "staff"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (rita, rita_id, rita_fp) = enrolled(&server, "Rita", &token);
    let granted = ada.json(&[
        "grant",
        "--program",
        &program,
        "--to",
        &rita_id,
        "--fingerprint",
        &rita_fp,
    ]);
    confirm(&rita, &program, &granted);

    let access = ada.json(&["access", "--program", &program]);
    let readers = access[0]["readers"].as_array().unwrap();
    let since = |id: &str| {
        readers.iter().find(|r| r["person"] == id).unwrap()["since_version"]
            .as_u64()
            .unwrap()
    };
    assert_eq!((since(&ada_id), since(&rita_id)), (1, 2));

    // A shopper submits 21 reports; the reviewer fetches them all at once.
    let (shopper, key) = new_shopper(&server, &ada, &program);
    for _ in 0..21 {
        submit(&shopper, &key, &program, &example_report(), &[]);
    }
    let out = rita.home.path().join("out");
    rita.json(&["fetch", "--out", out.to_str().unwrap()]);

    let listed = ada.json(&["shopper", "list", "--program", &program]);
    assert_eq!(listed[0]["person"], key.id().to_string().as_str());
    assert_eq!(listed[0]["disabled"], false);
    ada.json(&[
        "shopper",
        "revoke",
        "--program",
        &program,
        &key.id().to_string(),
    ]);
    assert_eq!(
        ada.json(&["shopper", "list", "--program", &program])[0]["disabled"],
        true
    );
    let refused = Client::new(&server.url).unwrap().sign_in(&key).unwrap_err();
    assert_eq!(refused.code(), Some(sealdrop_api::ErrorCode::Disabled));

    let (auditor, _, _) = enrolled(&server, "Auditor", &operator_token(&server, "auditor"));
    let exposure = auditor.json(&["exposure", &rita_id]);
    assert_eq!(exposure["reports"].as_array().unwrap().len(), 21);
    assert!(ada.fails(&["exposure", &rita_id]).contains("auditor"));
    let log = auditor.json(&["audit", "access-log", "--alerts"]);
    let alerts = log["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{log}");
    assert_eq!(alerts[0]["person"], rita_id.as_str());
    assert_eq!(alerts[0]["releases"], 21);
    let full = auditor.json(&["audit", "access-log", "--program", &program]);
    assert_eq!(full["releases"].as_array().unwrap().len(), 21);
}
