//! A server that lies, through the real binaries: on the wire (the test
//! kit's proxy answers one request two ways, or rewrites a listing) and on
//! its own disk (rows it writes itself). Each test shows the victim
//! refusing, with a clear message and a non-zero exit, and writing no
//! plaintext.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use sealdrop_api::{B64, DescriptorChainBody};
use sealdrop_client::Client;
use sealdrop_proto::descriptor::{ProgramDescriptor, SignedDescriptor};
use sealdrop_proto::invite::{Enrolment, InviteBundle, ServerPins};
use sealdrop_proto::{ProgramId, SecretIdentity};
use sealdrop_testkit::liar::LyingProxy;

/// A real server, and the lying proxy in front of it.
fn server_behind_liar() -> (Server, LyingProxy) {
    let liar = LyingProxy::bind();
    let server = Server::start_with(&["--public-url", &liar.url]);
    liar.forward_to(&server.url);
    (server, liar)
}

fn is_descriptors(path: &str) -> bool {
    path.starts_with("/v1/programs/") && path.ends_with("/descriptors")
}

/// What the server mints to forge reports in `program`: a manager key of
/// its own, a chain under the program's ID whose version 1 that key signs
/// (with the real recipients, so that a forged report is sealed to the
/// real reviewers' keys), and a shopper of its own, invited by that key,
/// written into its own database and signed in.
struct Forgery {
    chain: Vec<SignedDescriptor>,
    rogue: Client,
    rogue_key: SecretIdentity,
}

fn forge_program(server: &Server, honest: &Client, program: &str) -> Forgery {
    let program_id: ProgramId = program.parse().unwrap();
    let real = honest.descriptor(&program_id).unwrap();
    let mallory = SecretIdentity::generate(&mut rng());
    let mut first = ProgramDescriptor::first(
        program_id,
        "Visits",
        mallory.public(),
        real.unverified_body().questionnaire_digest,
        30,
        now(),
    )
    .unwrap();
    first.recipients = real.unverified_body().recipients.clone();
    let forged_v1 = first.sign(&mallory).unwrap();

    // Readers never see the invite's server pins; any will do.
    let invite = InviteBundle::create(
        &forged_v1,
        &mallory,
        &ServerPins {
            server_url: server.url.clone(),
            tls_cert_sha256: None,
            log_key: mallory.signing().verifying_key().to_bytes(),
            log_origin: "forged".into(),
        },
        now(),
        now() + 3600,
        &mut rng(),
    )
    .unwrap();
    let rogue_key = SecretIdentity::generate(&mut rng());
    let enrolment = Enrolment::sign(&invite, &rogue_key, now(), 0);
    let db = rusqlite::Connection::open(server.data.join("sealdrop.db")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    use sealdrop_proto::codec::Encode as _;
    db.execute(
        "INSERT INTO people (id, identity, role, org_id, enrolled_at, program_id, invite, enrolment)
         VALUES (?1, ?2, 'shopper', (SELECT org_id FROM programs WHERE id = ?3), ?4, ?3, ?5, ?6)",
        rusqlite::params![
            &rogue_key.id().as_bytes()[..],
            rogue_key.public().to_bytes(),
            &program_id.as_bytes()[..],
            now() as i64,
            invite.invite.to_bytes(),
            enrolment.to_bytes(),
        ],
    )
    .unwrap();
    let mut rogue = Client::new(&server.url).unwrap();
    rogue.sign_in(&rogue_key).unwrap();
    Forgery {
        chain: vec![forged_v1],
        rogue,
        rogue_key,
    }
}

fn chain_body(chain: &[SignedDescriptor]) -> Vec<u8> {
    serde_json::to_vec(&DescriptorChainBody {
        versions: chain.iter().map(B64::of).collect(),
    })
    .unwrap()
}

/// The split chain: the server shows `fetch` a chain it made up under the
/// program's ID for one request and the real one for the other. Before the
/// fix, `fetch` checked the pin on one copy and judged shoppers with the
/// other, and decrypted the server's forged report. Now one copy decides
/// everything: whichever request gets the lie, the forged report is never
/// written.
#[test]
fn a_split_chain_never_decides_a_report() {
    for lie_on in [0, 1] {
        let (server, liar) = server_behind_liar();
        let (ada, _, _) = enrolled_via(&liar.url, "Ada", &server.first_token);
        let program = create_program(&ada);
        let (shopper, key) = new_shopper(&server, &ada, &program);
        let honest = submit(&shopper, &key, &program, b"{\"clean\":\"yes\"}", &[]);
        let forgery = forge_program(&server, &shopper, &program);
        let forged = submit(
            &forgery.rogue,
            &forgery.rogue_key,
            &program,
            b"{\"clean\":\"no, says the server\"}",
            &[],
        );

        let body = chain_body(&forgery.chain);
        liar.on("GET", is_descriptors, move |x, n| {
            if n == lie_on {
                x.body = body.clone();
            }
        });
        let out = ada.home.path().join("findings");
        let before = liar.count("GET", is_descriptors);
        let result = ada.run(&["fetch", "--out", out.to_str().unwrap(), "--json"]);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(
            !result.status.success(),
            "lie on request {lie_on}: {stderr}"
        );
        assert!(
            !out.join(&forged).exists(),
            "lie on request {lie_on}: the forged report was decrypted"
        );
        // One copy of the chain per program and run: nothing to split.
        assert_eq!(
            liar.count("GET", is_descriptors) - before,
            1,
            "{:?}",
            liar.requests()
        );
        if lie_on == 0 {
            // The only copy is the forged one: refused as a fork of what
            // this laptop pinned, and nothing at all is decrypted.
            assert!(stderr.contains("forked"), "{stderr}");
            assert!(!out.join(&honest).exists());
        } else {
            // The only copy is the real one: the server's shopper does not
            // chain to a real manager's invite.
            let listed: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
            let failed = failure_pairs(&listed["failed"], "report");
            assert_eq!(failed.len(), 1, "{failed:?}");
            assert_eq!(failed[0].0, forged);
            assert!(failed[0].1.contains("invite"), "{}", failed[0].1);
            assert!(out.join(&honest).join("report.json").exists());
        }
    }
}

/// Trust on first use is gone: a reviewer pins a program only from the
/// descriptor fingerprint a manager read to them. A server that shows a
/// newcomer a program it made up is caught at `program trust`, and nothing
/// is decrypted before the reviewer confirmed.
#[test]
fn a_reviewer_pins_a_program_only_from_its_confirmed_fingerprint() {
    let (server, liar) = server_behind_liar();
    let (ada, program) = manager_with_program(&server);
    let (shopper, key) = new_shopper(&server, &ada, &program);
    let report = submit(&shopper, &key, &program, b"{\"clean\":\"yes\"}", &[]);
    let token = ada.json(&["invite", "staff"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (rita, rita_id, rita_fp) = enrolled_via(&liar.url, "Rita", &token);
    let granted = grant(&ada, &program, &rita_id, &rita_fp);
    let fingerprint = granted["descriptor_fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    let forgery = forge_program(&server, &shopper, &program);

    // Not confirmed: nothing is decrypted, and the message says what to do.
    let out = rita.home.path().join("findings");
    let refused = rita.fails(&["fetch", "--out", out.to_str().unwrap()]);
    assert!(refused.contains("program trust"), "{refused}");
    assert!(!out.join(&report).exists());

    // The server shows the newcomer its own program under the same ID: the
    // fingerprint the manager read out matches none of its versions.
    let body = chain_body(&forgery.chain);
    liar.on("GET", is_descriptors, move |x, _| x.body = body.clone());
    let refused = rita.fails(&["program", "trust", &program, "--descriptor", &fingerprint]);
    assert!(refused.contains("fingerprint"), "{refused}");
    let refused = rita.fails(&["fetch", "--out", out.to_str().unwrap()]);
    assert!(!refused.is_empty());
    assert!(!out.join(&report).exists());

    // A wrong fingerprint against the real chain is refused too.
    liar.honest();
    let wrong = format!(
        "{}{}",
        if fingerprint.starts_with('0') {
            '1'
        } else {
            '0'
        },
        &fingerprint[1..]
    );
    let refused = rita.fails(&["program", "trust", &program, "--descriptor", &wrong]);
    assert!(refused.contains("fingerprint"), "{refused}");

    // The real chain and the real fingerprint: confirmed.
    let trusted = rita.run(&[
        "program",
        "trust",
        &program,
        "--descriptor",
        &fingerprint,
        "--json",
    ]);
    assert!(
        trusted.status.success(),
        "{}",
        String::from_utf8_lossy(&trusted.stderr)
    );
    let fetched = rita.run(&["fetch", "--out", out.to_str().unwrap(), "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&fetched.stdout).unwrap();
    assert!(out.join(&report).join("report.json").exists(), "{listed}");
    // Once confirmed, the forged chain is refused everywhere.
    let body = chain_body(&forgery.chain);
    liar.on("GET", is_descriptors, move |x, _| x.body = body.clone());
    let refused = rita.fails(&["program", "show", &program]);
    assert!(refused.contains("rollback"), "{refused}");
}

/// A server that slips another program's report into the listing `grant`
/// re-wraps would make the manager hand a new reader a report of a
/// program they were never given. `grant` checks every report in the
/// program's one chain first, and grants nothing.
#[test]
fn grant_never_rewraps_another_programs_report() {
    let (server, liar) = server_behind_liar();
    let (ada, _, _) = enrolled_via(&liar.url, "Ada", &server.first_token);
    let program = create_program(&ada);
    let secret_program = create_program(&ada);
    let (shopper, key) = new_shopper(&server, &ada, &secret_program);
    let secret = submit(&shopper, &key, &secret_program, b"{\"clean\":\"no\"}", &[]);
    let token = ada.json(&["invite", "staff"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (rita, rita_id, rita_fp) = enrolled(&server, "Rita", &token);

    // The listing of `program` carries the other program's report.
    let (program_q, secret_q) = (program.clone(), secret.clone());
    let entry = serde_json::json!({"report": secret_q, "program": program_q,
        "shopper": key.id().to_string(), "received_at": now(), "size": 1, "fetched": false});
    liar.on(
        "GET",
        move |p| p.starts_with("/v1/reports?program="),
        move |x, _| {
            let mut list: Vec<serde_json::Value> = serde_json::from_slice(&x.body).unwrap();
            list.push(entry.clone());
            x.body = serde_json::to_vec(&list).unwrap();
        },
    );
    let refused = ada.fails(&[
        "grant",
        "--program",
        &program,
        "--to",
        &rita_id,
        "--fingerprint",
        &rita_fp,
    ]);
    assert!(refused.contains(&secret), "{refused}");
    assert!(refused.contains("another report or program"), "{refused}");

    // Nothing was granted: Rita is no recipient, and cannot read the report.
    let shown = ada.json(&["program", "show", &program]);
    assert!(
        !shown["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == rita_id.as_str()),
        "{shown}"
    );
    let out = rita.home.path().join("findings");
    let _ = rita.run(&["fetch", "--out", out.to_str().unwrap()]);
    assert!(!out.join(&secret).exists());
}
