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
use sealdrop_proto::invite::{
    Enrolment, InviteBundle, InviteToken, ServerPins, SignedEnrolment, SignedInvite,
};
use sealdrop_proto::{ProgramId, SecretIdentity};
use sealdrop_testkit::liar::LyingProxy;

/// A real server, and the lying proxy in front of it.
fn server_behind_liar() -> (Server, LyingProxy) {
    let liar = LyingProxy::bind();
    let server = Server::start_with(&["--public-url", &liar.url]);
    liar.forward_to(&server.url);
    (server, liar)
}

/// A server behind the liar, and a manager (Ada) who enrolled and created
/// a program through it.
fn manager_behind_liar() -> (Server, LyingProxy, Staff, String) {
    let (server, liar) = server_behind_liar();
    let (ada, _, _) = enrolled_via(&liar.url, "Ada", &server.first_token);
    let program = create_program(&ada);
    (server, liar, ada, program)
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
    slip_in_shopper(
        &db,
        &rogue_key,
        &program_id,
        &invite.invite.to_bytes(),
        &enrolment,
    );
    let mut rogue = Client::new(&server.url).unwrap();
    rogue.sign_in(&rogue_key).unwrap();
    Forgery {
        chain: vec![forged_v1],
        rogue,
        rogue_key,
    }
}

/// What a lying server writes on its own disk to make `key` a shopper of
/// `program`, with this invite and enrolment on record.
fn slip_in_shopper(
    db: &rusqlite::Connection,
    key: &SecretIdentity,
    program: &ProgramId,
    invite: &[u8],
    enrolment: &SignedEnrolment,
) {
    use sealdrop_proto::codec::Encode as _;
    db.execute(
        "INSERT INTO people (id, identity, role, org_id, enrolled_at, program_id, invite, enrolment)
         VALUES (?1, ?2, 'shopper', (SELECT org_id FROM programs WHERE id = ?3), ?4, ?3, ?5, ?6)",
        rusqlite::params![
            &key.id().as_bytes()[..],
            key.public().to_bytes(),
            &program.as_bytes()[..],
            now() as i64,
            invite,
            enrolment.to_bytes(),
        ],
    )
    .unwrap();
}

/// What a server holds once a shopper enrolled: the shopper's row ID, the
/// signed invite, and that invite with the token the enrolment revealed.
fn invite_on_disk(db: &rusqlite::Connection) -> (Vec<u8>, Vec<u8>, InviteBundle) {
    use sealdrop_proto::codec::Decode as _;
    let (id, invite, enrolment): (Vec<u8>, Vec<u8>, Vec<u8>) = db
        .query_row(
            "SELECT id, invite, enrolment FROM people WHERE role = 'shopper'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let stolen = InviteBundle {
        invite: SignedInvite::from_bytes(&invite).unwrap(),
        token: InviteToken::from_bytes(
            SignedEnrolment::from_bytes(&enrolment)
                .unwrap()
                .unverified_body()
                .token,
        ),
    };
    (id, invite, stolen)
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
        assert_eq!(
            result.status.code(),
            Some(2),
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
        let listed: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
        let failed = failure_pairs(&listed["failed"], "report");
        if lie_on == 0 {
            // The only copy is the forged one: refused as a fork of what
            // this laptop pinned, and nothing of the program is decrypted.
            assert_eq!(failed.len(), 2, "{failed:?}");
            assert!(
                failed.iter().all(|(_, why)| why.contains("forked")),
                "{failed:?}"
            );
            assert!(!out.join(&honest).exists());
        } else {
            // The lie comes too late: the only copy is the real one, in
            // which the server's shopper does not chain to a real
            // manager's invite.
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
    let refused = rita.run(&["fetch", "--out", out.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2));
    let said = String::from_utf8_lossy(&refused.stdout);
    assert!(said.contains("program trust"), "{said}");
    assert!(!out.join(&report).exists());

    // The server shows the newcomer its own program under the same ID: the
    // fingerprint the manager read out matches none of its versions.
    let body = chain_body(&forgery.chain);
    liar.on("GET", is_descriptors, move |x, _| x.body = body.clone());
    let refused = rita.fails(&["program", "trust", &program, "--descriptor", &fingerprint]);
    assert!(refused.contains("fingerprint"), "{refused}");
    let refused = rita.run(&["fetch", "--out", out.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2));
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
    // A newcomer whose first sight of the program was the forged chain
    // (pinned on first use) confirms the real one from the fingerprint,
    // and is told that the server showed them a forged program before.
    let token = ada.json(&["invite", "staff"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ray, ray_id, ray_fp) = enrolled_via(&liar.url, "Ray", &token);
    let granted = grant(&ada, &program, &ray_id, &ray_fp);
    let body = chain_body(&forgery.chain);
    liar.on("GET", is_descriptors, move |x, _| x.body = body.clone());
    let shown = ray.json(&["program", "show", &program]);
    assert_eq!(shown["confirmed"], false);
    assert!(shown["fingerprint"].is_null(), "{shown}");
    liar.honest();
    let confirmed = ray.json(&[
        "program",
        "trust",
        &program,
        "--descriptor",
        granted["descriptor_fingerprint"].as_str().unwrap(),
    ]);
    assert_eq!(confirmed["forged_before"], true, "{confirmed}");

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
    let (server, liar, ada, program) = manager_behind_liar();
    let secret_program = create_program(&ada);
    let (shopper, key) = new_shopper(&server, &ada, &secret_program);
    let secret = submit(&shopper, &key, &secret_program, b"{\"clean\":\"no\"}", &[]);
    let (rita, rita_id, rita_fp) = staff_of(&server, &ada, "Rita");

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
    let db = rusqlite::Connection::open(server.data.join("sealdrop.db")).unwrap();
    let rita_key: sealdrop_proto::PersonId = rita_id.parse().unwrap();
    let envelopes: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM envelopes WHERE recipient = ?1",
            [&rita_key.as_bytes()[..]],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(envelopes, 0, "an envelope was made for Rita");
    drop(rita);
}

/// Every file of the server's data directory, as one byte string.
fn server_disk(server: &Server) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(&server.data).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            all.extend(std::fs::read(path).unwrap());
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The server never holds a signed invite nobody used: registering one
/// sends only the program, the token's hash and the expiry. Before the
/// fix, the whole invite was uploaded and kept, and the server could enrol
/// a key of its own under any unused invite.
#[test]
fn the_server_never_holds_an_invite_before_a_shopper_uses_it() {
    let (server, liar, ada, program) = manager_behind_liar();
    let registered = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = registered.clone();
    liar.intercept(
        "POST",
        |p| p == "/v1/invites/shopper",
        move |r| {
            *seen.lock().unwrap() = r.body.clone();
            None
        },
    );
    let text = ada.json(&["invite", "shopper", "--program", &program])["invite"]
        .as_str()
        .unwrap()
        .to_owned();
    let bundle = InviteBundle::parse(&text, now()).unwrap();
    use sealdrop_proto::codec::Encode as _;
    let signed = bundle.invite.to_bytes();

    let body: serde_json::Value = serde_json::from_slice(&registered.lock().unwrap()).unwrap();
    assert!(body.get("invite").is_none(), "{body}");
    let encoded = serde_json::to_string(&B64::of(&bundle.invite)).unwrap();
    assert!(!contains(
        &serde_json::to_vec(&body).unwrap(),
        encoded.trim_matches('"').as_bytes()
    ));
    assert!(
        !contains(&server_disk(&server), &signed),
        "the server keeps the unused invite"
    );

    // Once a shopper used it, the server holds it (the scan can see it).
    let sam = Shopper::new();
    sam.json(&["init"]);
    sam.json(&["enroll", &text]);
    assert!(contains(&server_disk(&server), &signed));
}

/// A front-running server: it reads the token from the shopper's reveal,
/// enrols a key of its own with it first, then lets the shopper's reveal
/// through, which is refused as used. The shopper is told plainly, and
/// keeps no half-made enrolment. (Its own commitment was logged first, so
/// an auditor who is shown both enrolments counts only the shopper's; see
/// the next test.)
#[test]
fn a_front_run_enrolment_leaves_the_shopper_refusing_loudly() {
    let (server, liar, ada, program) = manager_behind_liar();
    let text = ada.json(&["invite", "shopper", "--program", &program])["invite"]
        .as_str()
        .unwrap()
        .to_owned();
    let minted = std::sync::Arc::new(std::sync::Mutex::new(None));
    let (record, upstream) = (minted.clone(), server.url.clone());
    liar.intercept(
        "POST",
        |p| p == "/v1/enrol/shopper",
        move |r| {
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            let b64 = |k: &str| serde_json::from_value::<B64>(body[k].clone()).unwrap();
            let invite: SignedInvite = b64("invite").decode().unwrap();
            let enrolment: SignedEnrolment = b64("enrolment").decode().unwrap();
            let stolen = InviteBundle {
                invite,
                token: InviteToken::from_bytes(enrolment.unverified_body().token),
            };
            let mallory = SecretIdentity::generate(&mut rng());
            Client::new(&upstream)
                .unwrap()
                .enrol_shopper(&stolen, &mallory)
                .unwrap();
            *record.lock().unwrap() = Some(mallory.id());
            None
        },
    );
    let sam = Shopper::new();
    sam.json(&["init"]);
    let refused = sam.fails(&["enroll", &text]);
    assert!(
        refused.contains("someone else used this invite") && refused.contains("manager"),
        "{refused}"
    );
    assert!(
        minted.lock().unwrap().is_some(),
        "the server did enrol its key"
    );
    assert!(
        sam.json(&["programs"]).as_array().unwrap().is_empty(),
        "nothing half-enrolled is kept"
    );
}

/// A server that lets the real shopper enrol, then writes a second
/// enrolment under the same invite for a key of its own (it has the token
/// now), logged after it: both an auditor who had verified the log before
/// and a new auditor name the second enrolment.
#[test]
fn a_second_enrolment_under_one_invite_is_named_by_auditors() {
    let (mut server, ada, program, auditor) = audited_with_one_shopper();

    server.stop();
    let db = rusqlite::Connection::open(server.data.join("sealdrop.db")).unwrap();
    let (_, invite, stolen) = invite_on_disk(&db);
    let size: u64 = db
        .query_row("SELECT COUNT(*) FROM log_leaves", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap() as u64;
    let mallory = SecretIdentity::generate(&mut rng());
    let minted = Enrolment::sign(&stolen, &mallory, now(), size);
    let program_id: ProgramId = program.parse().unwrap();
    let leaves = [
        sealdrop_proto::log::entry::LogEntry::Committed {
            commitment: minted.unverified_body().commitment(),
            at: now(),
        },
        sealdrop_proto::log::entry::LogEntry::Enrolled {
            person: mallory.id(),
            role: sealdrop_proto::log::entry::LoggedRole::Shopper,
            program: Some(program_id),
            enrolment: Some(minted.hash(sealdrop_proto::labels::HASH_ENROLMENT_RECORD)),
            at: now(),
        },
    ];
    for (i, leaf) in leaves.iter().enumerate() {
        db.execute(
            "INSERT INTO log_leaves (idx, entry) VALUES (?1, ?2)",
            rusqlite::params![(size + i as u64) as i64, leaf.leaf_data()],
        )
        .unwrap();
    }
    slip_in_shopper(&db, &mallory, &program_id, &invite, &minted);
    drop(db);
    server.restart();

    let fresh = new_auditor(&server, &ada, &program);
    for who in [&auditor, &fresh] {
        let (failures, _) = audit(who);
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert_eq!(failures[0].0, format!("shopper {}", mallory.id()));
        assert!(failures[0].1.contains("second enrolment"), "{failures:?}");
    }
}

/// A server with one program, one shopper enrolled through the shopper
/// CLI, and an auditor whose first audit was clean.
fn audited_with_one_shopper() -> (Server, Staff, String, Staff) {
    let server = Server::start();
    let (ada, program) = manager_with_program(&server);
    let _sam = enrolled_shopper(&ada, &program);
    let auditor = new_auditor(&server, &ada, &program);
    let (clean, _) = audit(&auditor);
    assert!(clean.is_empty(), "{clean:?}");
    (server, ada, program, auditor)
}

/// `audit verify --json`: its failures and summary.
fn audit(auditor: &Staff) -> (Vec<(String, String)>, serde_json::Value) {
    let out = auditor.run(&["audit", "verify", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    (failure_pairs(&v["failures"], "item"), v)
}

/// `revoke --all-programs` against a server that leaves a program out of
/// its list: the manager's laptop knows the programs it pinned, so the
/// dismissed reader loses that one too.
#[test]
fn revoke_everywhere_reaches_a_program_the_server_hides() {
    let (server, liar) = server_behind_liar();
    let (ada, _, _) = enrolled_via(&liar.url, "Ada", &server.first_token);
    let shown = create_program(&ada);
    let hidden = create_program(&ada);
    let (_rita, rita_id, rita_fp) = staff_of(&server, &ada, "Rita");
    grant(&ada, &shown, &rita_id, &rita_fp);
    grant(&ada, &hidden, &rita_id, &rita_fp);

    let left_out = hidden.clone();
    liar.on(
        "GET",
        |p| p == "/v1/programs",
        move |x, _| {
            let list: Vec<serde_json::Value> = serde_json::from_slice(&x.body).unwrap();
            let kept: Vec<_> = list
                .into_iter()
                .filter(|p| p["program"] != left_out.as_str())
                .collect();
            x.body = serde_json::to_vec(&kept).unwrap();
        },
    );
    let revoked = ada.json(&["revoke", "--all-programs", "--from", &rita_id]);
    let programs: Vec<&str> = revoked["revoked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["program"].as_str().unwrap())
        .collect();
    assert!(programs.contains(&hidden.as_str()), "{revoked}");
    assert_eq!(programs.len(), 2, "{revoked}");
    liar.honest();
    for program in [&shown, &hidden] {
        let after = ada.json(&["program", "show", program]);
        assert!(
            after["recipients"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["id"] != rita_id.as_str()),
            "{after}"
        );
    }
}

/// The server hides `version` of `program` on its disk (the one before it
/// is current again) and restarts: what it answers while it pretends a
/// change never happened. Returns the hidden descriptor.
fn hide_version(server: &mut Server, program: &str, version: i64) -> Vec<u8> {
    server.stop();
    let db = rusqlite::Connection::open(server.data.join("sealdrop.db")).unwrap();
    let id = program.parse::<ProgramId>().unwrap().as_bytes().to_vec();
    let hidden: Vec<u8> = db
        .query_row(
            "SELECT descriptor FROM descriptors WHERE program_id = ?1 AND version = ?2",
            rusqlite::params![id, version],
            |r| r.get(0),
        )
        .unwrap();
    db.execute(
        "DELETE FROM descriptors WHERE program_id = ?1 AND version = ?2",
        rusqlite::params![id, version],
    )
    .unwrap();
    db.execute(
        "UPDATE programs SET current_version = ?2 WHERE id = ?1",
        rusqlite::params![id, version - 1],
    )
    .unwrap();
    drop(db);
    server.restart();
    hidden
}

/// Undoes [`hide_version`]: the hidden version is current again.
fn put_back_version(server: &mut Server, program: &str, version: i64, descriptor: &[u8]) {
    server.stop();
    let db = rusqlite::Connection::open(server.data.join("sealdrop.db")).unwrap();
    let id = program.parse::<ProgramId>().unwrap().as_bytes().to_vec();
    db.execute(
        "INSERT INTO descriptors (program_id, version, descriptor, accepted_at)
         VALUES (?1, ?2, ?3, ?4)",
        rusqlite::params![id, version, descriptor, now() as i64],
    )
    .unwrap();
    db.execute(
        "UPDATE programs SET current_version = ?2 WHERE id = ?1",
        rusqlite::params![id, version],
    )
    .unwrap();
    drop(db);
    server.restart();
}

/// A server that withholds its `409 stale-list`: after a reader was
/// revoked (version 3), it accepts a report sealed to version 2, so the
/// revoked reader gets an envelope of a report sent after the revocation.
/// (It hides version 3 on its own disk while the report arrives, then puts
/// it back.) Auditors, old and new, name the report: the log accepted it
/// when version 3 was current.
#[test]
fn a_report_accepted_without_the_409_is_named_by_auditors() {
    let mut server = Server::start();
    let (ada, program) = manager_with_program(&server);
    let (_rita, rita_id, rita_fp) = staff_of(&server, &ada, "Rita");
    grant(&ada, &program, &rita_id, &rita_fp);
    let (_, key) = new_shopper(&server, &ada, &program);
    let auditor = new_auditor(&server, &ada, &program);
    let (clean, _) = audit(&auditor);
    assert!(clean.is_empty(), "{clean:?}");
    ada.json(&["revoke", "--program", &program, "--from", &rita_id]);

    let v3 = hide_version(&mut server, &program, 3);
    let mut shopper = Client::new(&server.url).unwrap();
    shopper.sign_in(&key).unwrap();
    let stale = submit(&shopper, &key, &program, b"{\"clean\":\"late\"}", &[]);
    put_back_version(&mut server, &program, 3, &v3);

    let fresh = new_auditor(&server, &ada, &program);
    for who in [&auditor, &fresh] {
        let (failures, _) = audit(who);
        let named: Vec<_> = failures
            .iter()
            .filter(|(item, _)| *item == format!("report {stale}"))
            .collect();
        assert_eq!(named.len(), 1, "{failures:?}");
        assert!(named[0].1.contains("409"), "{failures:?}");
    }
}

/// The server hides a revocation: its listing stops at the version before
/// it, and it takes uploads sealed to that version without a 409. The log
/// still holds the revocation's leaf, and every checkpoint commits to each
/// program's newest descriptor: the shopper's CLI is shown a head it cannot
/// follow, sends nothing, and says why with a non-zero exit. Once the
/// server shows the version, the report goes out without the revoked key.
#[test]
fn a_revocation_the_server_hides_reaches_no_shopper_upload() {
    let mut server = Server::start();
    let (ada, program) = manager_with_program(&server);
    let (rita, rita_id, rita_fp) = staff_of(&server, &ada, "Rita");
    let granted = grant(&ada, &program, &rita_id, &rita_fp);
    confirm(&rita, &program, &granted);
    let sam = enrolled_shopper(&ada, &program);
    let visit = filled(&sam, "visit.json", &example_answers());
    let queued = sam.json(&["submit", visit.to_str().unwrap(), "--offline"]);
    assert_eq!(queued["status"], "queued");
    ada.json(&["revoke", "--program", &program, "--from", &rita_id]);

    let v3 = hide_version(&mut server, &program, 3);
    let refused = sam.fails(&["sync"]);
    assert!(refused.contains("does not show it"), "{refused}");
    assert_eq!(
        reports_stored(&server),
        0,
        "an upload sealed to the revoked reader"
    );

    put_back_version(&mut server, &program, 3, &v3);
    let synced = sam.json(&["sync"]);
    assert_eq!(synced["sent"].as_array().unwrap().len(), 1, "{synced}");
    assert_eq!(synced["offered_to_removed"], serde_json::json!([]));
    assert_eq!(reports_stored(&server), 1);
    assert_eq!(rita.json(&["inbox"]).as_array().unwrap().len(), 0);
    assert_eq!(ada.json(&["inbox"]).as_array().unwrap().len(), 1);
}

/// Makes the liar answer `GET /v1/programs/{program}/current` (the n-th
/// request, from 0, when `when(n)`) as a server that shows an older checkpoint
/// (`note`, which it signed, with a true consistency proof to it and the
/// head proven in it; `None` keeps the current one), lists only versions
/// below `below` and calls the one before it current. `probe`, a client of
/// the real server, fetches the proofs.
fn show_old_state(
    liar: &LyingProxy,
    probe: Client,
    program: &str,
    note: Option<String>,
    below: u64,
    when: fn(usize) -> bool,
) {
    let id: ProgramId = program.parse().unwrap();
    liar.on(
        "GET",
        |p| p.starts_with("/v1/programs/") && p.contains("/current"),
        move |x, n| {
            if !when(n) {
                return;
            }
            let mut body: serde_json::Value = serde_json::from_slice(&x.body).unwrap();
            if let Some(note) = &note {
                let size: u64 = note.lines().nth(1).unwrap().parse().unwrap();
                let kept = x
                    .path
                    .split(['?', '&'])
                    .find_map(|kv| kv.strip_prefix("kept="))
                    .map(|k| k.parse::<u64>().unwrap());
                let consistency: Vec<B64> = match kept {
                    Some(k) if k <= size => probe
                        .log_consistency(k, size)
                        .unwrap()
                        .iter()
                        .map(|h| B64(h.to_vec()))
                        .collect(),
                    _ => Vec::new(),
                };
                body["checkpoint"] = note.clone().into();
                body["consistency"] = serde_json::to_value(consistency).unwrap();
                body["head"] =
                    serde_json::to_value(probe.program_head(&id, size).unwrap()).unwrap();
            }
            let versions: Vec<serde_json::Value> = body["versions"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|v| {
                    let d: SignedDescriptor = serde_json::from_value::<B64>((*v).clone())
                        .unwrap()
                        .decode()
                        .unwrap();
                    d.unverified_body().version < below
                })
                .cloned()
                .collect();
            body["versions"] = versions.into();
            if body["current"].as_u64().unwrap() >= below {
                body["current"] = (below - 1).into();
            }
            x.body = serde_json::to_vec(&body).unwrap();
        },
    );
}

/// A program (Ada's) behind the liar; Rita granted and confirmed; Sam enrolled,
/// with one report queued offline while Rita may read; the checkpoint of
/// that moment (`before`); then Rita revoked (version 3). The world in which
/// a server tries to make Sam seal to Rita anyway. `probe` is another
/// shopper's client of the real server, for [`show_old_state`].
struct RevokedAfterSealing {
    server: Server,
    liar: LyingProxy,
    program: String,
    probe: Client,
    rita: Staff,
    rita_id: String,
    sam: Shopper,
    before: String,
}

fn revoked_after_sealing() -> RevokedAfterSealing {
    let (server, liar, ada, program) = manager_behind_liar();
    let (probe, _) = new_shopper(&server, &ada, &program);
    let (rita, rita_id, rita_fp) = staff_of(&server, &ada, "Rita");
    let granted = grant(&ada, &program, &rita_id, &rita_fp);
    confirm(&rita, &program, &granted);
    let sam = enrolled_shopper(&ada, &program);
    let visit = filled(&sam, "visit.json", &example_answers());
    sam.json(&["submit", visit.to_str().unwrap(), "--offline"]);
    let before = ada.json(&["audit", "checkpoint"])["note"]
        .as_str()
        .unwrap()
        .to_owned();
    ada.json(&["revoke", "--program", &program, "--from", &rita_id]);
    RevokedAfterSealing {
        server,
        liar,
        program,
        probe,
        rita,
        rita_id,
        sam,
        before,
    }
}

/// A descriptor change that lands between the shopper's proof of the
/// program's head and its upload: the race `409 stale-list` is kept for,
/// played by a server that shows an old checkpoint (from before Rita's
/// revocation) and hides the new version from its first two listings.
/// The upload is sealed to the old list; the server answers 409, the
/// shopper seals again without Rita and is told that the refused upload
/// was offered to a since-removed reader. (Once the listing shows the new
/// version, the old checkpoint itself is refused: see
/// `a_stale_checkpoint_behind_a_newer_listing_is_refused` below.)
#[test]
fn a_change_between_proof_and_upload_costs_one_refused_upload_and_is_told() {
    let RevokedAfterSealing {
        server: _server,
        liar,
        program,
        probe,
        rita,
        rita_id,
        sam,
        before,
    } = revoked_after_sealing();

    // The shopper's two proofs (before sealing again, before the upload)
    // are shown the old state; the one after the 409 the true one.
    show_old_state(&liar, probe, &program, Some(before), 3, |n| n < 2);
    let synced = sam.json(&["sync"]);
    assert_eq!(synced["sent"].as_array().unwrap().len(), 1, "{synced}");
    let sent = synced["sent"][0].as_str().unwrap();
    assert_eq!(
        synced["offered_to_removed"],
        serde_json::json!([{"report": sent, "readers": [rita_id]}]),
        "{synced}"
    );
    liar.honest();
    assert_eq!(rita.json(&["inbox"]).as_array().unwrap().len(), 0);
}

/// A server that shows an old checkpoint while its listing shows the
/// newer version: the shopper follows the listing's signed chain, and the
/// next proof, at a checkpoint older than the version it now holds, is a
/// rollback. Nothing is sent, and `sync` exits non-zero.
#[test]
fn a_stale_checkpoint_behind_a_newer_listing_is_refused() {
    let RevokedAfterSealing {
        server,
        liar,
        program,
        probe,
        sam,
        before,
        ..
    } = revoked_after_sealing();
    show_old_state(&liar, probe, &program, Some(before), u64::MAX, |_| true);
    let refused = sam.fails(&["sync"]);
    assert!(refused.contains("rolled the program back"), "{refused}");
    assert_eq!(reports_stored(&server), 0);
}

/// A revoke the server acknowledges and never applies or logs: it answers
/// "done" without forwarding. The manager's CLI calls the change done only
/// once the server proves its log records it, so it fails loudly; the new
/// version it signed stays pinned, so every later command sees the server
/// is behind it.
#[test]
fn a_revoke_acknowledged_but_never_logged_is_not_called_done() {
    let (server, liar, ada, program) = manager_behind_liar();
    let (_rita, rita_id, rita_fp) = staff_of(&server, &ada, "Rita");
    grant(&ada, &program, &rita_id, &rita_fp);

    let answered = program.clone();
    liar.intercept(
        "PUT",
        |p| p.ends_with("/descriptor"),
        move |_| {
            let body = serde_json::json!({"program": answered, "version": 3, "revoked": [], "logged_at": now()});
            Some((200, serde_json::to_vec(&body).unwrap()))
        },
    );
    let refused = ada.fails(&["revoke", "--program", &program, "--from", &rita_id]);
    assert!(
        refused.contains("does not prove that its log records it"),
        "{refused}"
    );
    liar.honest();
    // The server never applied it: Rita still reads, and the manager's
    // laptop, holding version 3, refuses the server's version 2.
    let db = rusqlite::Connection::open(server.data.join("sealdrop.db")).unwrap();
    let program_id: ProgramId = program.parse().unwrap();
    let current: i64 = db
        .query_row(
            "SELECT current_version FROM programs WHERE id = ?1",
            [&program_id.as_bytes()[..]],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(current, 2);
    let shown = ada.fails(&["program", "show", &program]);
    assert!(shown.contains("rollback"), "{shown}");
}

/// After a clean audit, the server puts a shopper of its own in the real
/// shopper's place: same invite and token (it has them since the reveal),
/// no log entry at all. An auditor who remembers the enrolments it
/// verified names both the stranger and the missing shopper.
#[test]
fn a_shopper_replaced_behind_an_earlier_audit_is_named() {
    let (mut server, _ada, program, auditor) = audited_with_one_shopper();

    server.stop();
    let db = rusqlite::Connection::open(server.data.join("sealdrop.db")).unwrap();
    let (real, invite, stolen) = invite_on_disk(&db);
    let mallory = SecretIdentity::generate(&mut rng());
    let minted = Enrolment::sign(&stolen, &mallory, now(), 0);
    db.execute("DELETE FROM people WHERE id = ?1", [&real])
        .unwrap();
    let program_id: ProgramId = program.parse().unwrap();
    slip_in_shopper(&db, &mallory, &program_id, &invite, &minted);
    drop(db);
    server.restart();

    let (failures, _) = audit(&auditor);
    assert!(
        failures
            .iter()
            .any(|(item, why)| *item == format!("shopper {}", mallory.id())
                && why.contains("no enrolment")),
        "{failures:?}"
    );
    assert!(
        failures
            .iter()
            .any(|(_, why)| why.contains("no longer listed")),
        "{failures:?}"
    );
}

/// A server that keeps a dismissed reader reading: after Rita's revoke
/// deleted her envelope of a report she never fetched, the server puts the
/// envelope back on its disk and releases it to her, logging the release
/// as readers require. Auditors, one after a clean audit and one new, name
/// the release: Rita's access was taken away before it.
#[test]
fn a_release_to_a_revoked_reader_is_named_by_auditors() {
    let mut server = Server::start();
    let (ada, program) = manager_with_program(&server);
    let (rita, rita_id, rita_fp) = staff_of(&server, &ada, "Rita");
    let granted = grant(&ada, &program, &rita_id, &rita_fp);
    confirm(&rita, &program, &granted);
    let (shopper, key) = new_shopper(&server, &ada, &program);
    let report = submit(&shopper, &key, &program, b"{\"clean\":\"yes\"}", &[]);
    let auditor = new_auditor(&server, &ada, &program);
    let (clean, _) = audit(&auditor);
    assert!(clean.is_empty(), "{clean:?}");

    let rita_key = rita_id.parse::<sealdrop_proto::PersonId>().unwrap();
    let kept: (Vec<u8>, i64, Vec<u8>) = {
        let db = rusqlite::Connection::open(server.data.join("sealdrop.db")).unwrap();
        db.query_row(
            "SELECT recipient, report_seq, envelope FROM envelopes WHERE recipient = ?1",
            [&rita_key.as_bytes()[..]],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    };
    ada.json(&["revoke", "--program", &program, "--from", &rita_id]);
    server.stop();
    let db = rusqlite::Connection::open(server.data.join("sealdrop.db")).unwrap();
    db.execute(
        "INSERT INTO envelopes (recipient, report_seq, envelope) VALUES (?1, ?2, ?3)",
        rusqlite::params![kept.0, kept.1, kept.2],
    )
    .unwrap();
    drop(db);
    server.restart();
    let out = rita.dir().join("out");
    let _ = rita.run(&["fetch", "--out", out.to_str().unwrap()]);
    let db = rusqlite::Connection::open(server.data.join("sealdrop.db")).unwrap();
    let released: i64 = db
        .query_row(
            "SELECT count(*) FROM releases WHERE person_id = ?1",
            [&rita_key.as_bytes()[..]],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(released, 1, "the server did not release the kept envelope");

    let fresh = new_auditor(&server, &ada, &program);
    for who in [&auditor, &fresh] {
        let (failures, _) = audit(who);
        let named: Vec<_> = failures
            .iter()
            .filter(|(_, why)| why.contains(&format!("released report {report} to {rita_id}")))
            .collect();
        assert_eq!(named.len(), 1, "{failures:?}");
        assert!(
            named[0].1.contains("no recipient of version 3"),
            "{failures:?}"
        );
    }
}

/// A removed manager's authority, revived by the server. Bob managed (and
/// read) the program, invited a shopper and granted Vic; Ada then removed
/// him. The server hides the removal while Bob's shopper enrols (its own
/// check sees Bob as a manager), and logs Bob's grant a second time after
/// the removal. Both are signed by Bob under a version that made him a
/// manager; what counts is the version current when the log recorded them,
/// and auditors, old and new, name both.
#[test]
fn an_invite_and_a_grant_by_a_removed_manager_are_named_by_auditors() {
    let mut server = Server::start();
    let (ada, program) = manager_with_program(&server);
    let (bob, bob_id, bob_fp) = enrolled(&server, "Bob", &operator_token(&server, "manager"));
    let added = ada.json(&[
        "program",
        "managers",
        "add",
        &program,
        "--fingerprint",
        &bob_fp,
    ]);
    confirm(&bob, &program, &added);
    grant(&ada, &program, &bob_id, &bob_fp);
    let bobs_invite = bob.json(&["invite", "shopper", "--program", &program])["invite"]
        .as_str()
        .unwrap()
        .to_owned();
    let (shopper, key) = new_shopper(&server, &ada, &program);
    submit(&shopper, &key, &program, b"{\"clean\":\"yes\"}", &[]);
    let (_vic, vic_id, vic_fp) = staff_of(&server, &ada, "Vic");
    grant(&bob, &program, &vic_id, &vic_fp);
    let auditor = new_auditor(&server, &ada, &program);
    let (clean, _) = audit(&auditor);
    assert!(clean.is_empty(), "{clean:?}");

    let removed = ada.json(&[
        "program",
        "managers",
        "remove",
        &program,
        "--manager",
        &bob_id,
    ]);
    let removal = removed["version"].as_i64().unwrap();
    let hidden = hide_version(&mut server, &program, removal);
    // The shopper's CLI would notice (the log's head names the removal the
    // listing hides) and refuse to use the program; the server enrols
    // whoever presents the invite, which is what auditors judge.
    let sam = SecretIdentity::generate(&mut rng());
    Client::new(&server.url)
        .unwrap()
        .enrol_shopper(&InviteBundle::parse(&bobs_invite, now()).unwrap(), &sam)
        .unwrap();
    put_back_version(&mut server, &program, removal, &hidden);
    let sam_id = sam.id().to_string();

    server.stop();
    let db = rusqlite::Connection::open(server.data.join("sealdrop.db")).unwrap();
    let granted: Vec<u8> = db
        .prepare("SELECT entry FROM log_leaves ORDER BY idx")
        .unwrap()
        .query_map([], |r| r.get::<_, Vec<u8>>(0))
        .unwrap()
        .map(Result::unwrap)
        .find(|leaf| {
            matches!(
                sealdrop_proto::log::entry::LogEntry::from_leaf_data(leaf),
                Ok(sealdrop_proto::log::entry::LogEntry::Granted { .. })
            )
        })
        .unwrap();
    let replayed: i64 = db
        .query_row(
            "INSERT INTO log_leaves (idx, entry)
             VALUES ((SELECT MAX(idx) + 1 FROM log_leaves), ?1) RETURNING idx",
            [granted],
            |r| r.get(0),
        )
        .unwrap();
    drop(db);
    server.restart();

    let fresh = new_auditor(&server, &ada, &program);
    for who in [&auditor, &fresh] {
        let (failures, _) = audit(who);
        let removed_manager = |item: &str| {
            failures
                .iter()
                .any(|(i, why)| i == item && why.contains("removed manager"))
        };
        assert!(
            removed_manager(&format!("shopper {sam_id}")),
            "{failures:?}"
        );
        assert!(
            removed_manager(&format!("log entry {replayed}")),
            "{failures:?}"
        );
    }
}

/// A grant with re-wrapped envelopes that the server acknowledges and
/// never applies or logs. The manager's CLI calls it done only once the
/// server proves the `granted` leaf (and the version that adds the
/// reader), so it fails loudly; the version it signed stays pinned, so
/// later commands see a server that stayed behind.
#[test]
fn a_grant_acknowledged_but_never_logged_is_not_called_done() {
    let (server, liar, ada, program) = manager_behind_liar();
    let (shopper, key) = new_shopper(&server, &ada, &program);
    submit(&shopper, &key, &program, b"{\"clean\":\"yes\"}", &[]);
    let (_rita, rita_id, rita_fp) = staff_of(&server, &ada, "Rita");

    liar.intercept(
        "POST",
        |p| p.ends_with("/grants"),
        move |_| {
            let body = serde_json::json!({"version": 2, "missing": [], "logged_at": now()});
            Some((200, serde_json::to_vec(&body).unwrap()))
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
    assert!(
        refused.contains("does not prove that its log records it"),
        "{refused}"
    );
    assert_eq!(liar.count("POST", |p| p.ends_with("/grants")), 1);
    liar.honest();
    let shown = ada.fails(&["program", "show", &program]);
    assert!(shown.contains("rollback"), "{shown}");
}

/// A revoke the server applies and "proves" in a history of its own: the
/// leaf is real, but the checkpoint it is proven in (signed with the
/// server's log key) is of a tree that rewrote everything before it, shown
/// only to this manager. The manager's CLI requires that checkpoint to
/// extend the one its home kept, so the change is not called done.
#[test]
fn a_change_proven_in_a_history_shown_only_to_the_manager_is_not_done() {
    use sealdrop_proto::log::checkpoint::{Checkpoint, SignedCheckpoint};
    use sealdrop_proto::log::merkle::{MerkleTree, leaf_hash};

    let (server, liar, ada, program) = manager_behind_liar();
    let (_rita, rita_id, rita_fp) = staff_of(&server, &ada, "Rita");
    grant(&ada, &program, &rita_id, &rita_fp);

    let origin = Client::new(&server.url)
        .unwrap()
        .server_info()
        .unwrap()
        .log_origin;
    let data = server.data.clone();
    liar.on(
        "PUT",
        |p| p.ends_with("/descriptor"),
        move |x, _| {
            let mut body: serde_json::Value = serde_json::from_slice(&x.body).unwrap();
            let index = body["log"]["leaf_index"].as_u64().unwrap();
            let db = rusqlite::Connection::open(data.join("sealdrop.db")).unwrap();
            let leaf: Vec<u8> = db
                .query_row(
                    "SELECT entry FROM log_leaves WHERE idx = ?1",
                    [index as i64],
                    |r| r.get(0),
                )
                .unwrap();
            // Every entry before it rewritten; the real leaf at its index.
            let mut tree = MerkleTree::new();
            for i in 0..index {
                tree.push(leaf_hash(format!("rewritten {i}").as_bytes()));
            }
            tree.push(leaf_hash(&leaf));
            let seed: [u8; 32] = std::fs::read(data.join("log-key")).unwrap()[..32]
                .try_into()
                .unwrap();
            let key = sealdrop_proto::keys::SigningSecret::from_seed(&seed);
            let checkpoint = Checkpoint::new(origin.clone(), index + 1, tree.root()).unwrap();
            let note = SignedCheckpoint::sign(checkpoint, &key).to_text();
            let path: Vec<String> = tree
                .inclusion_proof(index, index + 1)
                .unwrap()
                .iter()
                .map(|h| data_encoding::BASE64URL_NOPAD.encode(h))
                .collect();
            body["log"] = serde_json::json!({
                "leaf_index": index, "tree_size": index + 1, "path": path, "checkpoint": note
            });
            x.body = serde_json::to_vec(&body).unwrap();
        },
    );
    let refused = ada.fails(&["revoke", "--program", &program, "--from", &rita_id]);
    assert!(
        refused.contains("does not prove that its log records it")
            && refused.contains("does not extend the checkpoint this home kept"),
        "{refused}"
    );
}

/// After a restore, the witness followed the handover to a checkpoint of
/// the new log (and verified it keeps the old log's prefix). The server
/// then shows the witness's log check another history of the new log:
/// one entry after the restore rewritten, checkpoint signed with the new
/// log key, leaves to match. The witness cosigns only a history that
/// extends the checkpoint it followed to, so it refuses.
#[test]
fn a_witness_after_a_restore_cosigns_only_the_history_it_followed_to() {
    use sealdrop_proto::log::entry::LogEntry;
    use sealdrop_proto::log::merkle::{MerkleTree, leaf_hash};

    let liar = LyingProxy::bind();
    let public = ["--public-url", liar.url.as_str()];
    let mut server = Server::start_with(&public);
    liar.forward_to(&server.url);
    let (ada, _, _) = enrolled_via(&liar.url, "Ada", &server.first_token);
    let program = create_program(&ada);
    let (witness, _, _) = enrolled_via(&liar.url, "Witness", &operator_token(&server, "auditor"));
    auditor_confirms(&witness, &ada, &program);
    witness.json(&["audit", "witness"]);
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("backup.db");
    assert!(
        server
            .operator_cmd(&["backup", "--out", backup.to_str().unwrap()])
            .status
            .success()
    );
    server.restore_from_with(&backup, true, &public);
    // An entry of the new log after what the restore kept.
    create_program(&ada);

    // The new log as the server holds it, and the same with that last
    // entry rewritten, signed with the new log key.
    let db = rusqlite::Connection::open(server.data.join("sealdrop.db")).unwrap();
    let mut leaves: Vec<Vec<u8>> = db
        .prepare("SELECT entry FROM log_leaves ORDER BY idx")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    drop(db);
    let last = leaves.len() - 1;
    leaves[last] = LogEntry::Disabled {
        person: SecretIdentity::generate(&mut rng()).id(),
        at: now(),
    }
    .leaf_data();
    let mut tree = MerkleTree::new();
    let mut heads = sealdrop_proto::log::heads::HeadsMap::new();
    for leaf in &leaves {
        tree.push(leaf_hash(leaf));
        heads.apply(&LogEntry::from_leaf_data(leaf).unwrap());
    }
    let forged = sign_as_server(&server, leaves.len() as u64, tree.root(), heads.root());
    // The command's first two checkpoint requests (following the restore,
    // then the home's kept checkpoint) are answered honestly; the log
    // check after them sees the other history.
    liar.on(
        "GET",
        |p| p == "/v1/log/checkpoint",
        move |x, n| {
            if n >= 2 {
                x.body = forged.clone().into_bytes();
            }
        },
    );
    liar.on(
        "GET",
        |p| p.starts_with("/v1/log/leaves"),
        move |x, _| {
            let mut body: serde_json::Value = serde_json::from_slice(&x.body).unwrap();
            let start = body["start"].as_u64().unwrap() as usize;
            let served = body["leaves"].as_array().unwrap().len();
            if (start..start + served).contains(&last) {
                body["leaves"][last - start] =
                    data_encoding::BASE64URL_NOPAD.encode(&leaves[last]).into();
            }
            x.body = serde_json::to_vec(&body).unwrap();
        },
    );
    let out = witness.run(&["audit", "witness"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "cosigned: {said}");
    assert!(
        said.contains("not cosigned")
            && said.contains("does not extend the checkpoint this home kept"),
        "{said}"
    );
}

/// The server signs, with its own log key, a checkpoint of its true tree
/// whose heads line leaves out a revocation: it names the version before
/// as current, so that a shopper who trusted it would still seal to the
/// revoked reader. Auditors recompute the heads from the leaves and name
/// it, after a clean audit and fresh; a witness refuses to cosign it.
#[test]
fn a_checkpoint_naming_an_old_recipient_list_is_named_and_never_cosigned() {
    use sealdrop_proto::log::entry::LogEntry;
    use sealdrop_proto::log::heads::HeadsMap;
    use sealdrop_proto::log::merkle::{MerkleTree, leaf_hash};

    let (server, liar, ada, program) = manager_behind_liar();
    let (_rita, rita_id, rita_fp) = staff_of(&server, &ada, "Rita");
    grant(&ada, &program, &rita_id, &rita_fp);
    let auditor_via_liar = |name: &str| {
        let (auditor, _, _) = enrolled_via(&liar.url, name, &operator_token(&server, "auditor"));
        auditor_confirms(&auditor, &ada, &program);
        auditor
    };
    let audited = auditor_via_liar("Auditor");
    let (clean, _) = audit(&audited);
    assert!(clean.is_empty(), "{clean:?}");
    let fresh = auditor_via_liar("Fresh");
    ada.json(&["revoke", "--program", &program, "--from", &rita_id]);

    // The true tree; heads as if the revocation's descriptor leaf set none.
    let db = rusqlite::Connection::open(server.data.join("sealdrop.db")).unwrap();
    let leaves: Vec<Vec<u8>> = db
        .prepare("SELECT entry FROM log_leaves ORDER BY idx")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    drop(db);
    let mut tree = MerkleTree::new();
    let (mut true_heads, mut old_heads) = (HeadsMap::new(), HeadsMap::new());
    for leaf in &leaves {
        tree.push(leaf_hash(leaf));
        let entry = LogEntry::from_leaf_data(leaf).unwrap();
        true_heads.apply(&entry);
        if !matches!(entry, LogEntry::Descriptor { version: 3, .. }) {
            old_heads.apply(&entry);
        }
    }
    assert_ne!(true_heads.root(), old_heads.root());
    let forged = sign_as_server(&server, leaves.len() as u64, tree.root(), old_heads.root());
    liar.intercept(
        "GET",
        |p| p == "/v1/log/checkpoint",
        move |_| Some((200, forged.clone().into_bytes())),
    );

    for who in [&audited, &fresh] {
        let (failures, _) = audit(who);
        assert!(
            failures.iter().any(|(item, why)| item == "log heads"
                && why.contains("not the newest its entries record")),
            "{failures:?}"
        );
    }
    let out = audited.run(&["audit", "witness"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "cosigned: {said}");
    assert!(
        said.contains("not cosigned") && said.contains("log heads"),
        "{said}"
    );
}

/// The same old checkpoint and hidden version as in
/// `a_change_between_proof_and_upload_costs_one_refused_upload_and_is_told`,
/// for a program whose descriptor names a witness that cosigned after the
/// revocation: the witness's newest checkpoint is newer than the one the
/// server shows, so it does not vouch, and the shopper sends nothing at
/// all, though the server also lists the witness's older cosignature (of a
/// checkpoint the old one extends) first. With the server honest again,
/// the report goes out without the revoked key.
#[test]
fn with_a_witness_an_old_checkpoint_gets_no_upload() {
    let (server, liar, ada, program) = manager_behind_liar();
    let (probe, _) = new_shopper(&server, &ada, &program);
    let (rita, rita_id, rita_fp) = staff_of(&server, &ada, "Rita");
    let granted = grant(&ada, &program, &rita_id, &rita_fp);
    confirm(&rita, &program, &granted);
    let witness = new_auditor(&server, &ada, &program);
    let cosigned = witness.json(&["audit", "witness"]);
    // The witness's first cosignature, which the server will list first
    // later on: from before the revocation, still within the age limit.
    let first_cosigned = probe.log_checkpoints_cosigned().unwrap();
    let spec = format!(
        "{}={}",
        cosigned["witness"].as_str().unwrap(),
        cosigned["key"].as_str().unwrap()
    );
    let named = ada.json(&["program", "witnesses", &program, "--witness", &spec]);
    assert_eq!(named["threshold"], 1);
    let shown = ada.json(&["program", "show", &program]);
    assert_eq!(shown["witnesses"].as_array().unwrap().len(), 1, "{shown}");

    let sam = enrolled_shopper(&ada, &program);
    assert_eq!(sam.json(&["programs"])[0]["witnesses"], 1);
    let visit = filled(&sam, "visit.json", &example_answers());
    sam.json(&["submit", visit.to_str().unwrap(), "--offline"]);
    let before = ada.json(&["audit", "checkpoint"])["note"]
        .as_str()
        .unwrap()
        .to_owned();
    ada.json(&["revoke", "--program", &program, "--from", &rita_id]);
    witness.json(&["audit", "witness"]);

    show_old_state(&liar, probe, &program, Some(before), 4, |_| true);
    liar.on(
        "GET",
        |p| p == "/v1/log/checkpoint/cosigned",
        move |x, _| {
            let mut body: serde_json::Value = serde_json::from_slice(&x.body).unwrap();
            let mut notes = first_cosigned.clone();
            notes.extend(
                body["notes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| n.as_str().unwrap().to_owned()),
            );
            body["notes"] = notes.into();
            x.body = serde_json::to_vec(&body).unwrap();
        },
    );
    let refused = sam.fails(&["sync"]);
    assert!(refused.contains("do not vouch"), "{refused}");
    assert_eq!(
        reports_stored(&server),
        0,
        "an upload sealed to the revoked reader"
    );

    liar.honest();
    let synced = sam.json(&["sync"]);
    assert_eq!(synced["sent"].as_array().unwrap().len(), 1, "{synced}");
    assert_eq!(synced["offered_to_removed"], serde_json::json!([]));
    assert_eq!(rita.json(&["inbox"]).as_array().unwrap().len(), 0);
}

/// A fake `409 stale-list` after the shopper proved the revocation and
/// sealed without Rita, with a listing that stops before the revocation:
/// the shopper never moves back to the list it left (which would seal to
/// Rita again). It refuses, sends nothing more, and `sync` exits non-zero.
#[test]
fn a_fake_409_never_moves_a_shopper_back_to_an_old_list() {
    let RevokedAfterSealing {
        server,
        liar,
        program,
        probe,
        sam,
        ..
    } = revoked_after_sealing();

    let mut uploads = 0;
    liar.intercept(
        "POST",
        |p| p == "/v1/reports",
        move |_| {
            uploads += 1;
            let body = serde_json::json!({"error": "stale-list", "message": "The recipient list changed."});
            (uploads == 1).then(|| (409, serde_json::to_vec(&body).unwrap()))
        },
    );
    // The listing stops before the revocation from the third request on:
    // after the shopper's two proofs, for the 409.
    show_old_state(&liar, probe, &program, None, 3, |n| n >= 2);
    let refused = sam.fails(&["sync"]);
    assert!(refused.contains("rollback"), "{refused}");
    assert_eq!(
        reports_stored(&server),
        0,
        "an upload sealed to the revoked reader"
    );
    assert_eq!(sam.json(&["programs"])[0]["version"], 3);
}

/// A program whose descriptor names a witness, and a reviewer and an
/// auditor who give no `--witness` flag: the reviewer's release waits
/// for the witness's next run, and when the server stops serving the
/// witness's cosignatures (as it would to show someone a history the
/// witness never saw), the reviewer decrypts nothing more and auditors,
/// after a clean audit and fresh, name the program.
#[test]
fn a_programs_own_witnesses_are_required_without_any_flag() {
    let (server, liar, ada, program) = manager_behind_liar();
    let witness = new_auditor(&server, &ada, &program);
    let cosigned = witness.json(&["audit", "witness"]);
    let spec = format!(
        "{}={}",
        cosigned["witness"].as_str().unwrap(),
        cosigned["key"].as_str().unwrap()
    );
    ada.json(&["program", "witnesses", &program, "--witness", &spec]);
    let token = ada.json(&["invite", "staff"]);
    let (rita, rita_id, rita_fp) =
        enrolled_via(&liar.url, "Rita", token["token"].as_str().unwrap());
    let granted = grant(&ada, &program, &rita_id, &rita_fp);
    confirm(&rita, &program, &granted);
    let auditor_via_liar = |name: &str| {
        let (auditor, _, _) = enrolled_via(&liar.url, name, &operator_token(&server, "auditor"));
        auditor_confirms(&auditor, &ada, &program);
        auditor
    };
    let audited = auditor_via_liar("Auditor");
    let (shopper, key) = new_shopper(&server, &ada, &program);
    submit(&shopper, &key, &program, &example_report(), &[]);

    let out = rita.home.path().join("out");
    let fetch = || {
        let o = rita.run(&["fetch", "--out", out.to_str().unwrap(), "--json"]);
        serde_json::from_slice::<serde_json::Value>(&o.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&o.stderr)))
    };
    let first = fetch();
    assert_eq!(first["waiting"].as_array().unwrap().len(), 1, "{first}");
    witness.json(&["audit", "witness"]);
    let second = fetch();
    assert_eq!(second["fetched"].as_array().unwrap().len(), 1, "{second}");
    witness.json(&["audit", "witness"]);
    let (clean, _) = audit(&audited);
    assert!(clean.is_empty(), "{clean:?}");
    let fresh = auditor_via_liar("Fresh");

    liar.intercept(
        "GET",
        |p| p == "/v1/log/checkpoint/cosigned",
        |_| Some((200, br#"{"notes":[]}"#.to_vec())),
    );
    submit(&shopper, &key, &program, &example_report(), &[]);
    let third = fetch();
    let failed = third["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{third}");
    assert!(failed[0].to_string().contains("do not vouch"), "{third}");
    for who in [&audited, &fresh] {
        let (failures, _) = audit(who);
        assert!(
            failures
                .iter()
                .any(|(item, why)| *item == format!("program {program}")
                    && why.contains("the witnesses its descriptor names")),
            "{failures:?}"
        );
    }
}

/// A shopper revocation the server acknowledges and never applies: it
/// answers without forwarding. The manager's CLI calls it done only once
/// the log proves the `disabled` leaf, so it fails loudly, and the
/// shopper can still sign in (the server never applied it). Done honestly,
/// the proof is kept as the manager's receipt.
#[test]
fn a_shopper_revocation_acknowledged_but_never_logged_is_not_called_done() {
    let (server, liar, ada, program) = manager_behind_liar();
    let (shopper, key) = new_shopper(&server, &ada, &program);
    let pseudonym = key.id().to_string();
    let answered = pseudonym.clone();
    liar.intercept(
        "POST",
        |p| p.ends_with("/revocation"),
        move |_| {
            let body = serde_json::json!({"person": answered, "logged_at": now()});
            Some((200, serde_json::to_vec(&body).unwrap()))
        },
    );
    let refused = ada.fails(&["shopper", "revoke", "--program", &program, &pseudonym]);
    assert!(refused.contains("does not prove"), "{refused}");
    liar.honest();
    let future = pseudonym.clone();
    liar.intercept(
        "POST",
        |p| p.ends_with("/revocation"),
        move |_| {
            let body = serde_json::json!({"person": future, "logged_at": now() + 86_400});
            Some((200, serde_json::to_vec(&body).unwrap()))
        },
    );
    let refused = ada.fails(&["shopper", "revoke", "--program", &program, &pseudonym]);
    assert!(refused.contains("in the future"), "{refused}");
    let mut again = Client::new(&server.url).unwrap();
    again.sign_in(&key).unwrap();
    drop(shopper);

    liar.honest();
    let receipts = ada.dir().join("change-receipts.jsonl");
    let before = std::fs::read_to_string(&receipts).unwrap_or_default();
    ada.json(&["shopper", "revoke", "--program", &program, &pseudonym]);
    let after = std::fs::read_to_string(&receipts).unwrap();
    let kept: Vec<serde_json::Value> = after[before.len()..]
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(kept.len(), 1, "{after}");
    assert_eq!(kept[0]["kind"], "disabled");
    assert!(Client::new(&server.url).unwrap().sign_in(&key).is_err());
}

/// A checkpoint note the server signs with its own log key (read from its
/// data directory), as a lying server would: of `size` leaves with `root`
/// and the heads line `heads`.
fn sign_as_server(server: &Server, size: u64, root: [u8; 32], heads: [u8; 32]) -> String {
    use sealdrop_proto::log::checkpoint::{Checkpoint, SignedCheckpoint};
    let seed: [u8; 32] = std::fs::read(server.data.join("log-key")).unwrap()[..32]
        .try_into()
        .unwrap();
    let key = sealdrop_proto::keys::SigningSecret::from_seed(&seed);
    let origin = Client::new(&server.url)
        .unwrap()
        .server_info()
        .unwrap()
        .log_origin;
    SignedCheckpoint::sign(
        Checkpoint::new(origin, size, root)
            .unwrap()
            .with_heads(heads),
        &key,
    )
    .to_text()
}

/// The server hides from a reviewer the version that made the program's
/// witness required: her listing ends at the version she holds, and it
/// takes reports sealed to that one. Her chain is short of the head the
/// log names at the checkpoint her home keeps, so nothing of the program
/// is decrypted, and she is told why.
#[test]
fn a_version_hidden_from_a_reviewer_decides_nothing() {
    let mut server = Server::start();
    let (ada, program) = manager_with_program(&server);
    let (rita, rita_id, rita_fp) = staff_of(&server, &ada, "Rita");
    let granted = grant(&ada, &program, &rita_id, &rita_fp);
    confirm(&rita, &program, &granted);
    let (shopper, key) = new_shopper(&server, &ada, &program);
    let witness = new_auditor(&server, &ada, &program);
    let cosigned = witness.json(&["audit", "witness"]);
    let spec = format!(
        "{}={}",
        cosigned["witness"].as_str().unwrap(),
        cosigned["key"].as_str().unwrap()
    );
    let named = ada.json(&["program", "witnesses", &program, "--witness", &spec]);
    let version = named["version"].as_i64().unwrap();
    hide_version(&mut server, &program, version);
    let mut shopper = shopper;
    shopper.sign_in(&key).unwrap();
    submit(&shopper, &key, &program, &example_report(), &[]);

    let out = rita.home.path().join("out");
    let o = rita.run(&["fetch", "--out", out.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&o.stderr)));
    assert_eq!(v["fetched"].as_array().unwrap().len(), 0, "{v}");
    let failed = v["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{v}");
    assert!(failed[0].to_string().contains("hiding a change"), "{v}");
    assert!(!o.status.success());
}

/// How many reports the server's database holds, read from its disk.
fn reports_stored(server: &Server) -> i64 {
    let db = rusqlite::Connection::open(server.data.join("sealdrop.db")).unwrap();
    db.query_row("SELECT COUNT(*) FROM reports", [], |r| r.get(0))
        .unwrap()
}
