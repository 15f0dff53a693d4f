//! The `sealdrop` CLI against a real server: keys, enrolment, programs,
//! invites (a shopper enrols and submits through the client library until
//! the shopper CLI exists), the inbox, and the refusals a person meets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::fs::PermissionsExt as _;

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

#[test]
fn a_manager_creates_a_program_invites_a_reviewer_and_a_shopper() {
    let server = Server::start();
    let ada = Staff::new("ada's long passphrase");

    let keys = ada.json(&["keygen", "--name", "Ada Manager"]);
    let ada_id = keys["id"].as_str().unwrap().to_owned();
    assert_eq!(keys["fingerprint"].as_str().unwrap().split(' ').count(), 10);
    let mode = |p: std::path::PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(ada.dir()), 0o700);
    assert_eq!(mode(ada.dir().join("keystore.json")), 0o600);
    let keystore = std::fs::read_to_string(ada.dir().join("keystore.json")).unwrap();
    assert!(!keystore.contains("ada's long passphrase"));
    assert!(
        ada.fails(&["keygen", "--name", "Again"])
            .contains("already holds a keystore")
    );

    let enrolled = ada.json(&[
        "enroll",
        "--server",
        &server.url,
        "--token",
        &server.first_token,
    ]);
    assert_eq!(enrolled["role"], "manager");
    assert_eq!(enrolled["id"], ada_id.as_str());
    // The token worked once.
    let eve = Staff::new("eve");
    eve.json(&["keygen", "--name", "Eve"]);
    assert!(
        eve.fails(&[
            "enroll",
            "--server",
            &server.url,
            "--token",
            &server.first_token
        ])
        .contains("bad-token")
    );

    let questionnaire = example_questionnaire(ada.home.path(), 1);
    let created = ada.json(&[
        "program",
        "create",
        "Spring visits",
        "--questionnaire",
        questionnaire.to_str().unwrap(),
    ]);
    let program = created["id"].as_str().unwrap().to_owned();
    assert!(program.starts_with("sdp"));

    // A reviewer enrols with a staff token.
    let token = ada.json(&["invite", "staff"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let rita = Staff::new("rita");
    rita.json(&["keygen", "--name", "Rita Reviewer"]);
    assert_eq!(
        rita.json(&["enroll", "--server", &server.url, "--token", &token])["role"],
        "staff"
    );

    let shown = ada.json(&["program", "show", &program]);
    assert_eq!(shown["version"], 1);
    assert_eq!(shown["managers"][0]["id"], ada_id.as_str());
    assert_eq!(shown["recipients"].as_array().unwrap().len(), 1);
    let text = String::from_utf8(ada.run(&["program", "show", &program]).stdout).unwrap();
    assert!(text.contains("only one manager"), "{text}");
    let listed = ada.json(&["program", "list"]);
    assert_eq!(listed[0]["program"], program.as_str());

    // A shopper takes the invite and submits (through the client library).
    let invite = ada.json(&[
        "invite",
        "shopper",
        "--program",
        &program,
        "--expires",
        "2d",
    ])["invite"]
        .as_str()
        .unwrap()
        .to_owned();
    let bundle = InviteBundle::parse(&invite, now()).unwrap();
    assert_eq!(
        bundle.invite.unverified_body().expires_at - bundle.invite.unverified_body().issued_at,
        2 * 86_400
    );
    let pseudonym = SecretIdentity::generate(&mut UnwrapErr(getrandom::SysRng));
    let mut shopper = Client::new(&server.url).unwrap();
    shopper.enrol_shopper(&bundle, &pseudonym).unwrap();
    shopper.sign_in(&pseudonym).unwrap();
    let descriptor = shopper.descriptor(&program.parse().unwrap()).unwrap();
    let mut sealer = ReportSealer::new(
        &pseudonym,
        descriptor.unverified_body(),
        now() * 1000,
        &mut UnwrapErr(getrandom::SysRng),
    )
    .unwrap();
    let mut ct = Vec::new();
    sealer
        .seal_content(
            &ReportContent {
                answers: b"{}".to_vec(),
                attachments: vec![],
            },
            &mut ct,
        )
        .unwrap();
    let (sealed, _) = sealer.finish(&mut UnwrapErr(getrandom::SysRng)).unwrap();
    shopper.submit(&sealed, &[&ct]).unwrap();

    // The manager (a recipient) sees it; the reviewer (not yet) does not.
    let inbox = ada.json(&["inbox", "--program", &program, "--since", "2020-01-01"]);
    assert_eq!(inbox.as_array().unwrap().len(), 1);
    assert_eq!(inbox[0]["shopper"], pseudonym.id().to_string().as_str());
    assert_eq!(rita.json(&["inbox"]).as_array().unwrap().len(), 0);
    // A reviewer cannot invite shoppers.
    assert!(
        rita.fails(&["invite", "shopper", "--program", &program])
            .contains("error:")
    );
}

#[test]
fn clear_errors_for_a_wrong_passphrase_and_bad_arguments() {
    let ada = Staff::new("right");
    ada.json(&["keygen", "--name", "Ada"]);
    let wrong = Staff {
        home: tempfile::tempdir().unwrap(),
        passphrase: "wrong".into(),
    };
    std::fs::create_dir_all(wrong.dir()).unwrap();
    std::fs::copy(
        ada.dir().join("keystore.json"),
        wrong.dir().join("keystore.json"),
    )
    .unwrap();
    let err = wrong.fails(&[
        "enroll",
        "--server",
        "http://127.0.0.1:9",
        "--token",
        "sde_x",
    ]);
    assert!(err.contains("passphrase is wrong"), "{err}");
    assert_eq!(err.lines().count(), 1, "one sentence: {err}");
    let err = ada.fails(&["program", "show", "not-a-program"]);
    assert!(err.contains("not a program ID"), "{err}");
    let err = ada.fails(&["inbox"]);
    assert!(err.contains("sealdrop enroll"), "{err}");
    let nobody = Staff::new("x");
    assert!(nobody.fails(&["inbox"]).contains("sealdrop keygen"));
    let help = String::from_utf8(ada.run(&["invite", "shopper", "--help"]).stdout).unwrap();
    assert!(help.contains("Example"));
}

/// No command prints the passphrase or any encoding of the secret keys, in
/// text or JSON, on stdout or stderr.
#[test]
fn no_output_carries_a_secret() {
    let server = Server::start();
    let (ada, program) = manager_with_program(&server);
    let secret = sealdrop_keystore::Keystore::read(&ada.dir().join("keystore.json"))
        .unwrap()
        .unlock(&sealdrop_keystore::Passphrase::new(ada.passphrase.clone()))
        .unwrap()
        .to_secret_bytes();
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let b64 = serde_json::to_value(sealdrop_api::B64(secret.to_vec())).unwrap();
    let b64 = b64.as_str().unwrap();
    let mut forbidden = vec![
        ada.passphrase.clone(),
        hex[..16].to_owned(),
        hex[64..80].to_owned(),
    ];
    forbidden.push(b64[..16].to_owned());
    let commands: Vec<Vec<&str>> = vec![
        vec!["program", "list"],
        vec!["program", "show", &program],
        vec!["invite", "staff"],
        vec!["invite", "shopper", "--program", &program],
        vec!["inbox"],
        vec!["access"],
        vec!["enroll", "--server", &server.url, "--token", "sde_wrong"],
        vec!["keygen", "--name", "Again"],
    ];
    for args in commands {
        for json in [false, true] {
            let mut all = args.clone();
            if json {
                all.push("--json");
            }
            let out = ada.run(&all);
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            for f in &forbidden {
                assert!(
                    !text.contains(f.as_str()),
                    "sealdrop {all:?} printed a secret"
                );
            }
        }
    }
}
