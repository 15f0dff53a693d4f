//! Refusals added after a review: removed managers' invites, grants over
//! sealed envelopes, strangers in descriptors, who learns a report is gone,
//! retried finishes and the limit on unfinished uploads.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use sealdrop_api::{B64, ErrorCode, GrantUpload};
use sealdrop_proto::SecretIdentity;
use sealdrop_proto::codec::Decode;
use sealdrop_proto::descriptor::ProgramDescriptor;
use sealdrop_proto::invite::InviteBundle;
use sealdrop_proto::messages::DeletionRequest;
use sealdrop_proto::report::{Envelope, GrantRecord, ReportRecord};
use sealdrop_proto::signed::Signed;

#[test]
fn a_removed_managers_invites_stop_working() {
    let d = Deployment::new();
    let second = enrol(&d.server, &d.server.operator_token("manager", None));
    let v3 = d.next_descriptor(&d.v2, |n| n.add_manager(second.key.public()));
    let pins = pins(&d.server, &second.client);
    let early =
        InviteBundle::create(&v3, &second.key, &pins, now(), now() + 600, &mut rng()).unwrap();
    second.client.register_invite(&early.invite).unwrap();

    // The first manager removes the second.
    let _v4 = d.next_descriptor(&v3, |n| n.remove_manager(&second.key.id()));
    let err = d
        .server
        .client()
        .enrol_shopper(&early, &SecretIdentity::generate(&mut rng()))
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::BadInviteChain));
    let late =
        InviteBundle::create(&v3, &second.key, &pins, now(), now() + 600, &mut rng()).unwrap();
    assert_eq!(
        second
            .client
            .register_invite(&late.invite)
            .unwrap_err()
            .code(),
        Some(ErrorCode::Forbidden)
    );
}

#[test]
fn grants_never_replace_a_sealed_envelope_and_lists_name_only_members() {
    let d = Deployment::new();
    let sealed = seal(&d.shopper.key, &d.v2, b"{}", &[]);
    d.shopper
        .client
        .submit(&sealed.report, &sealed.stream_refs())
        .unwrap();

    // A grant to the reviewer, who holds the shopper's own envelope.
    let envelope = {
        let release = d
            .manager
            .client
            .release(&sealed.report.report_id())
            .unwrap();
        let record = ReportRecord::from_bytes(&release.record.0)
            .unwrap()
            .verify()
            .unwrap();
        let mine = Envelope::from_bytes(&release.envelope.0).unwrap();
        let key = record.unwrap_key(&mine, &d.manager.key).unwrap();
        record
            .wrap_for(&key, &d.staff.key.public(), &mut rng())
            .unwrap()
    };
    let grant = GrantRecord {
        program_id: d.program,
        descriptor_version: 2,
        recipient: d.staff.key.public(),
        granted_at: now(),
        envelopes: vec![(sealed.report.report_id(), envelope.hash())],
    }
    .sign(&d.manager.key, d.v2.unverified_body())
    .unwrap();
    let upload = GrantUpload {
        descriptor: None,
        grant: B64::of(&grant),
        envelopes: vec![B64::of(&envelope)],
    };
    assert_eq!(
        d.manager
            .client
            .grant(&d.program, &upload)
            .unwrap_err()
            .code(),
        Some(ErrorCode::Invalid)
    );

    // A recipient who is not enrolled here, or is disabled, is refused.
    let stranger = SecretIdentity::generate(&mut rng());
    let mut next = ProgramDescriptor::successor(&d.v2, now());
    next.add_recipient(stranger.public());
    let err = d
        .manager
        .client
        .update_descriptor(&next.sign(&d.manager.key).unwrap())
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Invalid));
    let token = d.manager.client.issue_staff_token().unwrap().token;
    let leaver = enrol(&d.server, &token);
    assert!(
        d.server
            .operator(&["user", "disable", &leaver.key.id().to_string()])
            .status
            .success()
    );
    let mut next = ProgramDescriptor::successor(&d.v2, now());
    next.add_recipient(leaver.key.public());
    let err = d
        .manager
        .client
        .update_descriptor(&next.sign(&d.manager.key).unwrap())
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Invalid));
}

#[test]
fn only_the_reports_organisation_learns_it_is_gone() {
    let d = Deployment::new();
    let sealed = seal(&d.shopper.key, &d.v2, b"{}", &[]);
    d.shopper
        .client
        .submit(&sealed.report, &sealed.stream_refs())
        .unwrap();
    let request = Signed::sign(
        DeletionRequest {
            program_id: d.program,
            report_id: sealed.report.report_id(),
            shopper: d.shopper.key.id(),
            requested_at: now(),
        },
        d.shopper.key.signing(),
    );
    d.shopper.client.request_deletion(&request).unwrap();
    let id = sealed.report.report_id();
    assert_eq!(
        d.staff.client.release(&id).unwrap_err().code(),
        Some(ErrorCode::Gone)
    );
    let other = enrol(
        &d.server,
        &d.server.operator_token("manager", Some("elsewhere")),
    );
    assert_eq!(
        other.client.release(&id).unwrap_err().code(),
        Some(ErrorCode::NotFound)
    );
    assert_eq!(
        other.client.stream(&id, 0).unwrap_err().code(),
        Some(ErrorCode::NotFound)
    );
}

#[test]
fn retried_finish_and_the_unfinished_upload_limit() {
    let d = Deployment::new();
    let sealed = seal(&d.shopper.key, &d.v2, b"{}", &[b"photo"]);
    let shopper = &d.shopper.client;
    let first = shopper
        .upload(&sealed.report, &sealed.stream_refs(), 1 << 20)
        .unwrap();
    // The answer was lost; the shopper finishes again.
    let again = shopper.finish_upload(&sealed.report.report_id()).unwrap();
    assert!(again.duplicate);
    assert_eq!(again.receipt, first.receipt);

    for _ in 0..8 {
        let s = seal(&d.shopper.key, &d.v2, b"{}", &[]);
        shopper.begin_upload(&s.report).unwrap();
    }
    let ninth = seal(&d.shopper.key, &d.v2, b"{}", &[]);
    assert_eq!(
        shopper.begin_upload(&ninth.report).unwrap_err().code(),
        Some(ErrorCode::Invalid)
    );
    // A one-request submission is not an upload and is not limited.
    assert!(
        !shopper
            .submit(&ninth.report, &ninth.stream_refs())
            .unwrap()
            .duplicate
    );
}

#[test]
fn a_purge_records_the_real_time_and_leaves_nothing_in_the_wal() {
    let d = Deployment::new();
    let sealed = seal(&d.shopper.key, &d.v2, b"{}", &[&vec![1u8; 200_000]]);
    d.shopper
        .client
        .submit(&sealed.report, &sealed.stream_refs())
        .unwrap();
    let before = now();
    let later = (now() + 400 * 86_400).to_string();
    let out = d.server.operator(&["purge", "--at", &later, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let audit = d.auditor.client.audit_reports(None).unwrap();
    match &audit.items[0].tombstone {
        Some(sealdrop_api::Tombstone::Retention { purged_at, .. }) => {
            assert!((before..before + 60).contains(purged_at), "{purged_at}");
        }
        other => panic!("{other:?}"),
    }
    let wal = d.server.data.join("sealdrop.db-wal");
    let len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(len, 0, "the WAL was truncated after the purge");
    // The ciphertext's bytes are nowhere in the database file.
    let db = std::fs::read(d.server.data.join("sealdrop.db")).unwrap();
    let needle = &sealed.streams[1][1000..1064];
    assert!(
        !db.windows(needle.len()).any(|w| w == needle),
        "purged ciphertext is still on disk"
    );
}
