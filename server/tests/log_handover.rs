//! A restore starts a new log, and the old log key hands its clients over
//! to it (`docs/PROTOCOL.md` §14.11): the handover verifies under the key
//! and origin clients pinned before, names the new ones, quotes the old
//! log's last checkpoint, and the new log continues exactly the restored
//! prefix. A handover that would not be true is never written.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;
use sealdrop_api::{B64, ErrorCode, Receipt};
use sealdrop_client::Client;
use sealdrop_client::log_check::{self, extends, included};
use sealdrop_proto::codec::Decode;
use sealdrop_proto::log::checkpoint::Checkpoint;
use sealdrop_proto::log::entry::LogEntry;
use sealdrop_proto::log::handover::{Handover, HandoverError};
use sealdrop_proto::log::merkle::{MerkleTree, leaf_hash};
use sealdrop_proto::messages::{Acknowledgement, DeletionRequest};
use sealdrop_proto::signed::Signed;

fn run(args: &[&str], data: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The latest checkpoint, verified under the pinned key and origin.
fn checkpoint(client: &Client, origin: &str, key: &[u8; 32]) -> Checkpoint {
    log_check::checkpoint(&client.log_checkpoint().unwrap(), origin, key).unwrap()
}

/// The acceptance leaf a receipt's acknowledgement promises.
fn accepted(receipt: &Receipt) -> LogEntry {
    let ack = Signed::<Acknowledgement>::from_bytes(&receipt.acknowledgement.0).unwrap();
    let body = ack.unverified_body();
    LogEntry::Accepted {
        program: body.program_id,
        report: body.report_id,
        sealed_report: body.sealed_report,
        received_at: body.received_at,
    }
}

fn signed_in(server: &TestServer, person: &Person) -> Client {
    let mut client = server.client();
    client.sign_in(&person.key).unwrap();
    client
}

#[test]
fn a_restore_hands_the_old_log_over_to_the_new_one() {
    let mut d = Deployment::new();
    let old_pins = pins(&d.server, &d.manager.client);
    let (old_origin, old_key) = (old_pins.log_origin.clone(), old_pins.log_key);
    let shopper = &d.shopper.client;
    assert_eq!(
        shopper.log_handover().unwrap(),
        None,
        "a server never restored has no handover"
    );
    let submit = |s: &Sealed| shopper.submit(&s.report, &s.stream_refs()).unwrap().receipt;

    // Before the backup: a report purged by retention, a live one, and one
    // its shopper deleted.
    let purged = seal(&d.shopper.key, &d.v2, b"{\"n\":1}", &[]);
    submit(&purged);
    let later = (now() + 366 * 86_400).to_string();
    let out = ok(&d.server.operator(&["purge", "--at", &later, "--json"]));
    assert!(
        out.contains(&purged.report.report_id().to_string()),
        "{out}"
    );
    let c0 = checkpoint(shopper, &old_origin, &old_key);
    let live = seal(&d.shopper.key, &d.v2, b"{\"n\":2}", &[b"photo"]);
    let live_receipt = submit(&live);
    let deleted = seal(&d.shopper.key, &d.v2, b"{\"n\":3}", &[]);
    submit(&deleted);
    shopper
        .request_deletion(&Signed::sign(
            DeletionRequest {
                program_id: d.program,
                report_id: deleted.report.report_id(),
                shopper: d.shopper.key.id(),
                requested_at: now(),
            },
            d.shopper.key.signing(),
        ))
        .unwrap();
    let c1 = checkpoint(shopper, &old_origin, &old_key);
    assert!(c0.size() < c1.size());

    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("backup.db");
    ok(&d
        .server
        .operator(&["backup", "--out", backup.to_str().unwrap()]));

    // After the backup: a report the restore will lose, and a release.
    let lost = seal(&d.shopper.key, &d.v2, b"{\"n\":4}", &[]);
    let lost_receipt = submit(&lost);
    let c2 = checkpoint(shopper, &old_origin, &old_key);
    d.staff.client.release(&live.report.report_id()).unwrap();
    let last = checkpoint(shopper, &old_origin, &old_key);
    assert!(c1.size() < c2.size() && c2.size() < last.size());
    // What clients of the old server could prove while it ran.
    let p0 = shopper.log_consistency(c0.size(), last.size()).unwrap();
    let p2 = shopper.log_consistency(c2.size(), last.size()).unwrap();
    extends(&c0, &last, &p0).unwrap();
    extends(&c2, &last, &p2).unwrap();
    assert!(d.server.stop().success());

    // Restore into a new directory, handing over from the old one.
    let restored = dir.path().join("restored");
    let out = ok(&run(
        &[
            "restore",
            "--from",
            backup.to_str().unwrap(),
            "--handover-from",
            d.server.data.to_str().unwrap(),
        ],
        &restored,
    ));
    assert!(out.contains("hands over"), "{out}");
    assert!(
        out.contains(&format!("{} change(s)", last.size() - c1.size())),
        "{out}"
    );

    let r = TestServer::start_on(&restored, &[]);
    let shopper = signed_in(&r, &d.shopper);
    let info = shopper.server_info().unwrap();
    let new_key: [u8; 32] = info.log_key.0.as_slice().try_into().unwrap();
    assert_ne!(info.log_origin, old_origin);
    assert_ne!(new_key, old_key);

    // The handover verifies under the pins clients held before the restore,
    // and names the key and origin the new server signs with.
    let note = shopper.log_handover().unwrap().expect("a handover");
    let h = Handover::verify(&note, &old_origin, &old_key).unwrap();
    assert_eq!(h.new_origin(), info.log_origin);
    assert_eq!(h.new_key(), &new_key);
    // It quotes the very checkpoint the old server last showed, and the
    // restored prefix is exactly what the old log held at the backup.
    assert!(h.old_checkpoint().same_tree(&last));
    assert!(h.restored().same_tree(&c1));
    // Every checkpoint a client saved before the restore is consistent with
    // the quoted one: by the proofs the old server gave...
    extends(&c0, h.old_checkpoint(), &p0).unwrap();
    extends(&c2, h.old_checkpoint(), &p2).unwrap();
    // ...and, for one inside the restored prefix, by the new server's proof
    // to the restored size and the handover's own proof on to the old size.
    let q0 = shopper
        .log_consistency(c0.size(), h.restored().size())
        .unwrap();
    extends(&c0, h.restored(), &q0).unwrap();
    assert!(extends(&c0, h.restored(), &p0).is_err(), "a proof can fail");

    // The new log continues the restored prefix: its checkpoints, signed by
    // the new key under the new origin, extend (k, root_k)...
    let k = h.restored().size();
    let now_cp = checkpoint(&shopper, h.new_origin(), h.new_key());
    assert!(now_cp.size() >= k);
    let qk = shopper.log_consistency(k, now_cp.size()).unwrap();
    extends(h.restored(), &now_cp, &qk).unwrap();
    // ...and its first k leaves, as an auditor reads them, hash to root_k.
    let auditor = signed_in(&r, &d.auditor);
    let mut tree = MerkleTree::new();
    for leaf in auditor.log_leaves(0, k).unwrap() {
        tree.push(leaf_hash(&leaf));
    }
    assert_eq!(tree.len(), k);
    assert_eq!(&tree.root(), h.restored().root());

    // A receipt from before the backup is proven in the new log at the same
    // index; the receipt of the report made after it names a lost leaf.
    let expected = accepted(&live_receipt);
    let old_proof = live_receipt.log.clone().unwrap();
    included(&old_proof, &expected, &old_origin, &old_key).unwrap();
    assert!(old_proof.leaf_index < k);
    let path = shopper
        .log_inclusion(old_proof.leaf_index, now_cp.size())
        .unwrap();
    let proof = sealdrop_api::log::LogProof {
        leaf_index: old_proof.leaf_index,
        tree_size: now_cp.size(),
        path: path.iter().map(|h| B64(h.to_vec())).collect(),
        checkpoint: String::from_utf8(shopper.log_checkpoint().unwrap()).unwrap(),
    };
    let checked = included(&proof, &expected, h.new_origin(), h.new_key()).unwrap();
    assert_eq!(checked, now_cp);
    assert!(lost_receipt.log.unwrap().leaf_index >= k);

    // A handover altered anywhere is refused, and only the old key vouches.
    for i in [0, note.len() / 3, note.len() / 2, note.len() - 10] {
        let mut bad = note.clone();
        bad[i] ^= 0x01;
        assert!(
            Handover::verify(&bad, &old_origin, &old_key).is_err(),
            "byte {i}"
        );
    }
    let text = String::from_utf8(note.clone()).unwrap();
    let key_b64 = data_encoding::BASE64.encode(&new_key);
    let other_key = data_encoding::BASE64.encode(
        sealdrop_proto::SecretIdentity::generate(&mut rng())
            .public()
            .signing_key(),
    );
    let swapped = text.replacen(&key_b64, &other_key, 1);
    assert_ne!(swapped, text);
    assert!(matches!(
        Handover::verify(swapped.as_bytes(), &old_origin, &old_key),
        Err(HandoverError::Note(_))
    ));
    assert!(Handover::verify(&note, h.new_origin(), h.new_key()).is_err());
    assert!(Handover::verify(&note, &old_origin, &new_key).is_err());

    // Anyone signed in may read it; nobody else.
    let (status, _) = r.client().raw("GET", "/v1/log/handover", None).unwrap();
    assert_eq!(status, 401);
    let staff = signed_in(&r, &d.staff);
    assert_eq!(staff.log_handover().unwrap(), Some(note.clone()));

    // Tombstoned IDs stay reserved after the restore; the report the
    // restore lost is accepted again, under the new log.
    for gone in [&purged, &deleted] {
        let err = shopper
            .submit(&gone.report, &gone.stream_refs())
            .unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::Gone));
    }
    let again = shopper.submit(&lost.report, &lost.stream_refs()).unwrap();
    assert!(!again.duplicate);
    included(
        again.receipt.log.as_ref().unwrap(),
        &accepted(&again.receipt),
        h.new_origin(),
        h.new_key(),
    )
    .unwrap();
    assert!(again.receipt.log.unwrap().leaf_index >= k);
}

#[test]
fn a_handover_that_would_not_be_true_is_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let a = TestServer::start_on(&dir.path().join("a"), &[]);
    let b = TestServer::start_on(&dir.path().join("b"), &[]);
    // One leaf each (the first manager's enrolment), so the logs differ.
    enrol(&a, a.first_token.as_deref().unwrap());
    enrol(&b, b.first_token.as_deref().unwrap());
    let backup = dir.path().join("a.db");
    ok(&a.operator(&["backup", "--out", backup.to_str().unwrap()]));
    let from = backup.to_str().unwrap();

    // A backup of one server cannot hand over from another's log.
    let target = dir.path().join("new");
    let out = run(
        &[
            "restore",
            "--from",
            from,
            "--handover-from",
            b.data.to_str().unwrap(),
        ],
        &target,
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not the beginning"), "{err}");
    assert!(!target.exists(), "a refused restore leaves nothing behind");

    // An empty directory given for the new one stays empty on refusal.
    std::fs::create_dir(&target).unwrap();
    let out = run(
        &[
            "restore",
            "--from",
            from,
            "--handover-from",
            dir.path().join("nope").to_str().unwrap(),
        ],
        &target,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no sealdrop data directory"));
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);

    // Without --handover-from: a warning, and no handover.
    let bare = dir.path().join("bare");
    let out = run(&["restore", "--from", from], &bare);
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("until they re-pin"));
    assert!(!bare.join("log-handover").exists());

    // From its own server, the handover is written and served.
    let good = dir.path().join("good");
    ok(&run(
        &[
            "restore",
            "--from",
            from,
            "--handover-from",
            a.data.to_str().unwrap(),
        ],
        &good,
    ));
    let note = std::fs::read(good.join("log-handover")).unwrap();
    let a_pins = a.client().server_info().unwrap();
    let h = Handover::verify(
        &note,
        &a_pins.log_origin,
        a_pins.log_key.0.as_slice().try_into().unwrap(),
    )
    .unwrap();
    assert_eq!((h.restored().size(), h.old_checkpoint().size()), (1, 1));

    // A server refuses to serve a handover to another log than its own.
    std::fs::copy(good.join("log-handover"), bare.join("log-handover")).unwrap();
    let serve = serve_refused(&bare);
    assert!(!serve.status.success());
    assert!(String::from_utf8_lossy(&serve.stderr).contains("belongs elsewhere"));
    let served = TestServer::start_on(&good, &[]);
    let mut manager = served.client();
    let me = sealdrop_proto::SecretIdentity::generate(&mut rng());
    // The backup's token was used; the restored server issues another.
    manager
        .enrol(&served.operator_token("manager", None), &me)
        .unwrap();
    manager.sign_in(&me).unwrap();
    assert_eq!(manager.log_handover().unwrap(), Some(note));
}
