//! One story of the storage interface, written against `dyn Store` so every
//! backend runs the same test (SQLite today; PostgreSQL adds a line).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use rand_core::UnwrapErr;
use sealdrop_proto::descriptor::{ProgramDescriptor, SignedDescriptor};
use sealdrop_proto::invite::{Enrolment, InviteBundle, ServerPins, enrolment_commitment};
use sealdrop_proto::keys::SigningSecret;
use sealdrop_proto::log::entry::LogEntry;
use sealdrop_proto::log::merkle::{MerkleTree, leaf_hash, verify_consistency, verify_inclusion};
use sealdrop_proto::messages::{Acknowledgement, DeletionRequest};
use sealdrop_proto::report::{ReportContent, ReportSealer, SealedReport};
use sealdrop_proto::signed::Signed;
use sealdrop_proto::{ProgramId, SecretIdentity};
use sealdrop_store::*;

const NOW: u64 = 1_800_000_000;

fn rng() -> UnwrapErr<getrandom::SysRng> {
    UnwrapErr(getrandom::SysRng)
}

struct World {
    log: SigningSecret,
    manager: SecretIdentity,
    reviewer: SecretIdentity,
    shopper: SecretIdentity,
    v1: SignedDescriptor,
    v2: SignedDescriptor,
    org: i64,
}

fn setup(store: &dyn Store) -> World {
    let org = store.create_organisation("acme", NOW).unwrap();
    assert!(matches!(
        store.create_organisation("acme", NOW),
        Err(StoreError::OrganisationExists)
    ));
    let manager = SecretIdentity::generate(&mut rng());
    let reviewer = SecretIdentity::generate(&mut rng());
    for (who, hash) in [(&manager, [1u8; 32]), (&reviewer, [2u8; 32])] {
        store
            .issue_enrolment_token(EnrolmentToken {
                hash,
                org: org.id,
                role: Role::Manager,
                expires_at: NOW + 10,
            })
            .unwrap();
        store
            .enrol(NewPerson {
                token_hash: hash,
                identity: who.public(),
                now: NOW,
            })
            .unwrap();
    }
    let v1 = ProgramDescriptor::first(
        ProgramId::random(&mut rng()),
        "Visits",
        manager.public(),
        [0; 32],
        30,
        NOW,
    )
    .unwrap()
    .sign(&manager)
    .unwrap();
    store.create_program(org.id, &v1, NOW).unwrap();
    let mut next = ProgramDescriptor::successor(&v1, NOW);
    next.add_recipient(reviewer.public());
    let v2 = next.sign(&manager).unwrap();
    store.advance_descriptor(&v2, &[], NOW).unwrap();

    let log = SigningSecret::generate(&mut rng());
    let pins = ServerPins {
        server_url: "http://127.0.0.1:1".into(),
        tls_cert_sha256: None,
        log_key: log.verifying_key().to_bytes(),
        log_origin: "test".into(),
    };
    let bundle = InviteBundle::create(&v2, &manager, &pins, NOW, NOW + 60, &mut rng()).unwrap();
    let token_hash = bundle.token.hash();
    store
        .register_invite(NewInvite {
            program: v2.unverified_body().program_id,
            token_hash,
            expires_at: NOW + 60,
        })
        .unwrap();
    let shopper = SecretIdentity::generate(&mut rng());
    let commitment = NewCommitment {
        token_hash,
        commitment: enrolment_commitment(bundle.token.expose_bytes(), &shopper.public()),
        now: NOW,
    };
    // No invite has this token: refused, nothing logged.
    assert!(matches!(
        store.commit_enrolment(NewCommitment {
            token_hash: [9; 32],
            ..commitment.clone()
        }),
        Err(StoreError::BadToken)
    ));
    let leaf = store.commit_enrolment(commitment.clone()).unwrap();
    // An enrolment that names a leaf without its commitment is refused and
    // does not use the invite up.
    let wrong_leaf = NewShopper {
        invite: bundle.invite.clone(),
        enrolment: Enrolment::sign(&bundle, &shopper, NOW, leaf - 1),
        now: NOW,
    };
    assert!(matches!(
        store.enrol_shopper(wrong_leaf),
        Err(StoreError::CommitmentMismatch)
    ));
    let new_shopper = NewShopper {
        invite: bundle.invite.clone(),
        enrolment: Enrolment::sign(&bundle, &shopper, NOW, leaf),
        now: NOW,
    };
    let enrolled = store.enrol_shopper(new_shopper.clone()).unwrap();
    assert_eq!(enrolled.leaf, leaf + 1);
    // A used invite takes no more commitments.
    assert!(matches!(
        store.commit_enrolment(commitment),
        Err(StoreError::BadToken)
    ));
    assert!(matches!(
        store.enrol_shopper(new_shopper),
        Err(StoreError::BadToken)
    ));
    World {
        log,
        manager,
        reviewer,
        shopper,
        v1,
        v2,
        org: org.id,
    }
}

fn seal(w: &World, descriptor: &SignedDescriptor) -> (SealedReport, Vec<u8>) {
    let mut sealer = ReportSealer::new(
        &w.shopper,
        descriptor.unverified_body(),
        NOW * 1000,
        &mut rng(),
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
    (sealer.finish(&mut rng()).unwrap().0, ct)
}

fn submission(w: &World, report: &SealedReport, ct: &[u8]) -> Submission {
    Submission {
        sealed: report.clone(),
        streams: vec![vec![ct.to_vec()]],
        acknowledgement: Signed::sign(
            Acknowledgement {
                log_origin: "test".into(),
                program_id: report.header.core.program_id,
                report_id: report.report_id(),
                sealed_report: report.hash(),
                received_at: NOW,
            },
            &w.log,
        ),
        shopper: w.shopper.id(),
    }
}

fn story(store: Arc<dyn Store>) {
    let w = setup(&*store);
    let page = AuditPage {
        after: 0,
        limit: 100,
    };

    // Tokens, challenges and sessions are single-use or expire.
    assert!(matches!(
        store.enrol(NewPerson {
            token_hash: [1; 32],
            identity: SecretIdentity::generate(&mut rng()).public(),
            now: NOW
        }),
        Err(StoreError::BadToken)
    ));
    store.put_challenge([9; 32], NOW + 5).unwrap();
    assert!(store.take_challenge([9; 32], NOW).unwrap());
    assert!(!store.take_challenge([9; 32], NOW).unwrap());
    store.put_challenge([8; 32], NOW + 5).unwrap();
    assert!(!store.take_challenge([8; 32], NOW + 6).unwrap());
    store
        .put_session([7; 32], &w.reviewer.id(), NOW + 5)
        .unwrap();
    assert_eq!(store.session([7; 32], NOW).unwrap(), Some(w.reviewer.id()));
    assert_eq!(store.session([7; 32], NOW + 6).unwrap(), None);

    // Descriptor compare-and-swap: a stale or repeated version is refused.
    assert!(matches!(
        store.advance_descriptor(&w.v2, &[], NOW),
        Err(StoreError::DescriptorConflict { current: 2 })
    ));
    let program = w.v1.unverified_body().program_id;
    assert_eq!(
        store.descriptors(&program).unwrap(),
        vec![w.v1.clone(), w.v2.clone()]
    );

    // Submission: stored, duplicate, stale.
    let (report, ct) = seal(&w, &w.v2);
    let first = store.submit(submission(&w, &report, &ct)).unwrap();
    let SubmitOutcome::Stored(ack) = first else {
        panic!("not stored")
    };
    match store.submit(submission(&w, &report, &ct)).unwrap() {
        SubmitOutcome::Duplicate(again) => assert_eq!(again, ack),
        other => panic!("expected a duplicate, got {other:?}"),
    }
    let (stale, stale_ct) = seal(&w, &w.v1);
    match store.submit(submission(&w, &stale, &stale_ct)) {
        Err(StoreError::StaleList { current }) => assert_eq!(*current, w.v2),
        other => panic!("expected stale-list, got {other:?}"),
    }

    // Release: the reviewer's envelope, recorded; the ciphertext by part.
    let inbox = store
        .inbox(&w.reviewer.id(), &InboxFilter::default())
        .unwrap();
    assert_eq!(inbox.len(), 1);
    assert!(!inbox[0].fetched);
    let release = store
        .release(&report.report_id(), &w.reviewer.id(), NOW)
        .unwrap();
    assert_eq!(release.envelope.recipient, w.reviewer.id());
    assert_eq!(
        store.stream_part(&report.report_id(), 0, 0).unwrap(),
        Some(ct.clone())
    );
    assert_eq!(store.stream_part(&report.report_id(), 0, 1).unwrap(), None);
    // Asked again later: the same release, the same leaf, no new entry.
    let again = store
        .release(&report.report_id(), &w.reviewer.id(), NOW + 60)
        .unwrap();
    assert_eq!((again.leaf, again.released_at), (release.leaf, NOW));
    assert_eq!(store.audit_releases(w.org, page).unwrap().len(), 1);
    assert_eq!(
        store.audit_releases(w.org + 1, page).unwrap().len(),
        0,
        "other organisations see nothing"
    );

    // Revoking the reviewer deletes their envelope at once.
    let mut next = ProgramDescriptor::successor(&w.v2, NOW);
    next.remove_recipient(&w.reviewer.id());
    let v3 = next.sign(&w.manager).unwrap();
    store
        .advance_descriptor(&v3, &[w.reviewer.id()], NOW)
        .unwrap();
    assert!(
        store
            .inbox(&w.reviewer.id(), &InboxFilter::default())
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        store.release(&report.report_id(), &w.reviewer.id(), NOW),
        Err(StoreError::NotAllowed)
    ));

    // A disabled shopper cannot submit.
    let (late, late_ct) = seal(&w, &v3);
    assert!(
        store
            .disable_person(&w.shopper.id(), NOW)
            .unwrap()
            .is_some()
    );
    assert!(matches!(
        store.submit(submission(&w, &late, &late_ct)),
        Err(StoreError::Disabled)
    ));

    // Deletion leaves a tombstone; the ID stays reserved.
    let request = Signed::sign(
        DeletionRequest {
            program_id: program,
            report_id: report.report_id(),
            shopper: w.shopper.id(),
            requested_at: NOW,
        },
        w.shopper.signing(),
    );
    store
        .delete_report(NewDeletion {
            report: report.report_id(),
            request,
            now: NOW,
        })
        .unwrap();
    assert!(matches!(
        store.stream_part(&report.report_id(), 0, 0),
        Err(StoreError::Gone)
    ));
    let audit = store.audit_reports(w.org, page).unwrap();
    assert!(matches!(
        audit[0].1.tombstone,
        Some(Tombstone::Deletion { .. })
    ));

    // Every change above is one leaf, in order; refused writes (the stale
    // report, the duplicate, the repeated descriptor) left none.
    let entries = check_log(&*store);
    let kinds: Vec<&str> = entries.iter().map(LogEntry::kind_name).collect();
    assert_eq!(
        kinds,
        [
            "enrolled",
            "enrolled",
            "descriptor",
            "descriptor",
            "committed",
            "enrolled",
            "accepted",
            "released",
            "descriptor",
            "revoked",
            "disabled",
            "deleted"
        ]
    );
    let accepted = store.accepted_leaf(&report.report_id()).unwrap().unwrap();
    assert_eq!(
        entries[usize::try_from(accepted).unwrap()].report(),
        Some(&report.report_id())
    );
    assert_eq!(
        entries[usize::try_from(release.leaf).unwrap()],
        LogEntry::Released {
            report: report.report_id(),
            person: w.reviewer.id(),
            at: NOW
        }
    );
}

/// Reads every leaf, checks that the head's root is the RFC 9162 root of
/// exactly those leaves and that each leaf's inclusion proof verifies;
/// returns the decoded entries.
fn check_log(store: &dyn Store) -> Vec<LogEntry> {
    let head = store.log_head().unwrap();
    let leaves = store.log_leaves(0, head.size).unwrap();
    assert_eq!(leaves.len() as u64, head.size);
    let mut tree = MerkleTree::new();
    for data in &leaves {
        tree.push(leaf_hash(data));
    }
    assert_eq!(tree.root(), head.root);
    for (index, data) in (0..).zip(&leaves) {
        let proof = store.log_inclusion(index, head.size).unwrap();
        verify_inclusion(&leaf_hash(data), index, head.size, &proof, &head.root).unwrap();
    }
    if head.size > 1 {
        let proof = store.log_consistency(1, head.size).unwrap();
        let first = tree.root_at(1).unwrap();
        verify_consistency(1, head.size, &first, &head.root, &proof).unwrap();
    }
    leaves
        .iter()
        .map(|d| LogEntry::from_leaf_data(d).unwrap())
        .collect()
}

/// Many writers at once share commits; each gets its own answer, and a
/// refused write in a group does not disturb the others.
fn group_commit(store: Arc<dyn Store>) {
    let w = Arc::new(setup(&*store));
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let (store, w) = (store.clone(), w.clone());
            std::thread::spawn(move || {
                let mut stored = 0;
                for _ in 0..25 {
                    let descriptor = if i == 0 { &w.v1 } else { &w.v2 };
                    let (report, ct) = seal(&w, descriptor);
                    match store.submit(submission(&w, &report, &ct)) {
                        Ok(SubmitOutcome::Stored(_)) => stored += 1,
                        Err(StoreError::StaleList { .. }) if i == 0 => {}
                        other => panic!("unexpected {other:?}"),
                    }
                }
                stored
            })
        })
        .collect();
    let stored: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(stored, 15 * 25);
    // One acceptance leaf per stored report, none for the refused ones,
    // indices dense although refused writes rolled back inside groups.
    let entries = check_log(&*store);
    let accepted = entries
        .iter()
        .filter(|e| matches!(e, LogEntry::Accepted { .. }))
        .count();
    assert_eq!(accepted, stored);
    let audit = store
        .audit_reports(
            w.org,
            AuditPage {
                after: 0,
                limit: 5000,
            },
        )
        .unwrap();
    assert_eq!(audit.len(), stored);
}

fn sqlite() -> (tempfile::TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    (dir, Arc::new(store))
}

#[test]
fn sqlite_story() {
    let (_dir, store) = sqlite();
    story(store);
}

/// One release leaf per report, reader and envelope: asked again, the
/// same leaf; given a new envelope (a grant after a revocation), a new
/// release and leaf.
#[test]
fn sqlite_a_new_envelope_is_a_new_release() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = SqliteStore::open(&path).unwrap();
    let w = setup(&store);
    let (report, ct) = seal(&w, &w.v2);
    store.submit(submission(&w, &report, &ct)).unwrap();
    let id = report.report_id();
    let first = store.release(&id, &w.reviewer.id(), NOW).unwrap();
    let again = store.release(&id, &w.reviewer.id(), NOW + 1).unwrap();
    assert_eq!(again.leaf, first.leaf);
    // Another envelope for the reviewer (the manager's bytes stand in for
    // a re-wrapped one: only its hash matters here).
    let other = report
        .envelopes
        .iter()
        .find(|e| e.recipient != w.reviewer.id())
        .unwrap();
    let db = rusqlite::Connection::open(&path).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    db.execute(
        "UPDATE envelopes SET envelope = ?1 WHERE recipient = ?2",
        rusqlite::params![
            sealdrop_proto::codec::Encode::to_bytes(other),
            &w.reviewer.id().as_bytes()[..]
        ],
    )
    .unwrap();
    let regranted = store.release(&id, &w.reviewer.id(), NOW + 2).unwrap();
    assert_ne!(regranted.leaf, first.leaf);
    assert_eq!(regranted.released_at, NOW + 2);
}

#[test]
fn sqlite_group_commit() {
    let (_dir, store) = sqlite();
    group_commit(store);
}

#[test]
fn sqlite_reopens_and_checks_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = SqliteStore::open(&path).unwrap();
    let w = setup(&store);
    let head = store.log_head().unwrap();
    assert!(head.size > 0);
    drop(store);
    // Reopened, the tree is rebuilt from the leaves: the same head.
    let again = SqliteStore::open(&path).unwrap();
    assert_eq!(again.log_head().unwrap(), head);
    drop((again, w));
    assert_eq!(
        SqliteStore::check_file(&path).unwrap(),
        sqlite_schema_version()
    );
    std::fs::write(dir.path().join("junk.db"), b"not a database at all").unwrap();
    assert!(SqliteStore::check_file(&dir.path().join("junk.db")).is_err());
}

fn sqlite_schema_version() -> i64 {
    sealdrop_store::sqlite::schema::SCHEMA_VERSION
}
