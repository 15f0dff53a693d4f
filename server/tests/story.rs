//! The whole story over HTTP against the real binary: enrol, create a
//! program, invite, submit, release, decrypt on the reviewer's side, audit,
//! revoke, re-wrap after `409 stale-list`, delete.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use sealdrop_api::ErrorCode;
use sealdrop_proto::codec::Decode;
use sealdrop_proto::descriptor::SignedDescriptor;
use sealdrop_proto::invite::{SignedEnrolment, SignedInvite, verify_shopper_chain};
use sealdrop_proto::messages::{Acknowledgement, DeletionRequest};
use sealdrop_proto::report::{Envelope, ReportRecord};
use sealdrop_proto::signed::Signed;

#[test]
fn enrol_submit_release_decrypt_audit_revoke_delete() {
    let d = Deployment::new();
    let answers = br#"{"q1":"yes","q2":"The shelves were tidy."}"#;
    let sealed = seal(&d.shopper.key, &d.v2, answers, &[b"JPEG bytes"]);

    // Submit: acknowledged with a signature by the server's log key over
    // this exact report.
    let first = d
        .shopper
        .client
        .submit(&sealed.report, &sealed.stream_refs())
        .unwrap();
    assert!(!first.duplicate);
    let ack = Signed::<Acknowledgement>::from_bytes(&first.receipt.acknowledgement.0).unwrap();
    let body = ack.verify_by_key(&d.log_key).unwrap();
    assert_eq!(body.report_id, sealed.report.report_id());
    assert_eq!(body.sealed_report, sealed.report.hash());

    // The same report again: the same acknowledgement, nothing new stored.
    let again = d
        .shopper
        .client
        .submit(&sealed.report, &sealed.stream_refs())
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(again.receipt, first.receipt);

    // The reviewer sees it, downloads, verifies and decrypts on their side.
    let inbox = d.staff.client.inbox(Some(&d.program), None).unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].report, sealed.report.report_id().to_string());
    assert!(!inbox[0].fetched);
    let release = d.staff.client.release(&sealed.report.report_id()).unwrap();
    let record = ReportRecord::from_bytes(&release.record.0)
        .unwrap()
        .verify()
        .unwrap();
    let envelope = Envelope::from_bytes(&release.envelope.0).unwrap();
    assert!(record.is_signed_envelope(&envelope));
    let key = record.unwrap_key(&envelope, &d.staff.key).unwrap();
    let opener = record.opener(&key).unwrap();
    let content_ct = d
        .staff
        .client
        .stream(&sealed.report.report_id(), 0)
        .unwrap();
    let content = opener.open_content(&mut content_ct.as_slice()).unwrap();
    assert_eq!(content.answers, answers);
    let photo_ct = d
        .staff
        .client
        .stream(&sealed.report.report_id(), 1)
        .unwrap();
    let mut photo = Vec::new();
    opener
        .open_attachment(0, &mut photo_ct.as_slice(), &mut photo)
        .unwrap();
    assert_eq!(photo, b"JPEG bytes");
    assert!(d.staff.client.inbox(None, None).unwrap()[0].fetched);

    // The auditor verifies every record, the shopper's chain to the
    // manager's invite, and sees the release; no envelope is given.
    let reports = d.auditor.client.audit_reports(None).unwrap();
    assert_eq!(reports.items.len(), 1);
    ReportRecord::from_bytes(&reports.items[0].record.0)
        .unwrap()
        .verify()
        .unwrap();
    let people = d.auditor.client.audit_enrolments(None).unwrap();
    let shopper = people
        .items
        .iter()
        .find(|p| p.person == d.shopper.key.id().to_string())
        .unwrap();
    let invite = SignedInvite::from_bytes(&shopper.invite.as_ref().unwrap().0).unwrap();
    let enrolment = SignedEnrolment::from_bytes(&shopper.enrolment.as_ref().unwrap().0).unwrap();
    let chain = d.auditor.client.descriptors(&d.program).unwrap();
    let named = &chain[invite.unverified_body().descriptor_version as usize - 1];
    let (shopper_id, manager_id) = verify_shopper_chain(&enrolment, &invite, named).unwrap();
    assert_eq!(shopper_id, d.shopper.key.id());
    assert_eq!(manager_id, d.manager.key.id());
    let releases = d.auditor.client.audit_releases(None).unwrap();
    assert_eq!(releases.items.len(), 1);
    assert_eq!(releases.items[0].person, d.staff.key.id().to_string());

    // Revoke the reviewer: their envelope is gone at once.
    let v3 = d.next_descriptor(&d.v2, |n| n.remove_recipient(&d.staff.key.id()));
    assert!(d.staff.client.inbox(None, None).unwrap().is_empty());
    let gone = d
        .staff
        .client
        .release(&sealed.report.report_id())
        .unwrap_err();
    assert_eq!(gone.code(), Some(ErrorCode::NotFound));

    // A report sealed to v2 is now stale: 409 with v3, re-wrapped, accepted.
    let late = seal(&d.shopper.key, &d.v2, b"{}", &[]);
    let err = d
        .shopper
        .client
        .submit(&late.report, &late.stream_refs())
        .unwrap_err();
    let sealdrop_client::ClientError::Refused { status, body } = err else {
        panic!("expected a refusal")
    };
    assert_eq!((status, body.error), (409, ErrorCode::StaleList));
    let current = SignedDescriptor::from_bytes(&body.descriptor.unwrap().0).unwrap();
    assert_eq!(current, v3);
    let rewrapped = late
        .report
        .rewrap(
            &late.key,
            &d.shopper.key,
            current.unverified_body(),
            &mut rng(),
        )
        .unwrap();
    let ok = d
        .shopper
        .client
        .submit(&rewrapped, &late.stream_refs())
        .unwrap();
    assert!(!ok.duplicate);

    // The shopper deletes the first report; its ID stays reserved.
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
    let err = d
        .shopper
        .client
        .submit(&sealed.report, &sealed.stream_refs())
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Gone));
    let reports = d.auditor.client.audit_reports(None).unwrap();
    let tomb = reports
        .items
        .iter()
        .find(|r| r.report == sealed.report.report_id().to_string())
        .unwrap();
    assert!(matches!(
        tomb.tombstone,
        Some(sealdrop_api::Tombstone::Deletion { .. })
    ));

    // The counters saw it all: two stored, one duplicate, one stale list,
    // one gone, one release.
    let (_, metrics) = d.auditor.client.raw("GET", "/metrics", None).unwrap();
    let metrics = String::from_utf8(metrics).unwrap();
    for line in [
        "sealdrop_submissions_total 2",
        "sealdrop_duplicate_submissions_total 1",
        "sealdrop_releases_total 1",
        "sealdrop_refusals_total{code=\"stale-list\"} 1",
        "sealdrop_refusals_total{code=\"gone\"} 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line} missing from\n{metrics}"
        );
    }
}

/// The manager re-wraps existing reports for a new reviewer: the server
/// takes the next descriptor (compare-and-swap), the envelopes and the
/// signed grant record, names what the upload missed, and releases the new
/// envelopes with the record that authorises them.
#[test]
fn grant_rewraps_existing_reports_for_a_new_reviewer() {
    use sealdrop_api::GrantUpload;
    use sealdrop_proto::descriptor::ProgramDescriptor;
    use sealdrop_proto::report::{GrantRecord, SignedGrant};

    let d = Deployment::new();
    let first = seal(&d.shopper.key, &d.v2, b"{\"n\":1}", &[]);
    let second = seal(&d.shopper.key, &d.v2, b"{\"n\":2}", &[]);
    for s in [&first, &second] {
        d.shopper
            .client
            .submit(&s.report, &s.stream_refs())
            .unwrap();
    }
    let token = d.manager.client.issue_staff_token().unwrap().token;
    let newcomer = enrol(&d.server, &token);

    // The manager opens the first report and wraps its key for the newcomer.
    let wrap = |report: &Sealed, descriptor_version: u64| {
        let release = d
            .manager
            .client
            .release(&report.report.report_id())
            .unwrap();
        let record = ReportRecord::from_bytes(&release.record.0)
            .unwrap()
            .verify()
            .unwrap();
        let mine = Envelope::from_bytes(&release.envelope.0).unwrap();
        let key = record.unwrap_key(&mine, &d.manager.key).unwrap();
        let envelope = record
            .wrap_for(&key, &newcomer.key.public(), &mut rng())
            .unwrap();
        let grant = GrantRecord {
            program_id: d.program,
            descriptor_version,
            recipient: newcomer.key.public(),
            granted_at: now(),
            envelopes: vec![(report.report.report_id(), envelope.hash())],
        };
        (grant, envelope)
    };
    let mut next = ProgramDescriptor::successor(&d.v2, now());
    next.add_recipient(newcomer.key.public());
    let v3 = next.sign(&d.manager.key).unwrap();
    let (grant, envelope) = wrap(&first, 3);
    let signed: SignedGrant = grant.sign(&d.manager.key, v3.unverified_body()).unwrap();

    // An envelope the grant does not name is refused, and nothing changes.
    let (_, stray) = wrap(&second, 3);
    let bad = GrantUpload {
        descriptor: Some(sealdrop_api::B64::of(&v3)),
        grant: sealdrop_api::B64::of(&signed),
        envelopes: vec![sealdrop_api::B64::of(&stray)],
    };
    let err = d.manager.client.grant(&d.program, &bad).unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Invalid));
    assert_eq!(d.manager.client.descriptor(&d.program).unwrap(), d.v2);

    let upload = GrantUpload {
        descriptor: Some(sealdrop_api::B64::of(&v3)),
        grant: sealdrop_api::B64::of(&signed),
        envelopes: vec![sealdrop_api::B64::of(&envelope)],
    };
    let accepted = d.manager.client.grant(&d.program, &upload).unwrap();
    assert_eq!(accepted.version, 3);
    assert_eq!(
        accepted.missing,
        vec![second.report.report_id().to_string()]
    );
    // The same upload again is not the successor any more.
    let err = d.manager.client.grant(&d.program, &upload).unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::DescriptorConflict));

    // A follow-up grant under the current version covers what was missed.
    let (grant, envelope) = wrap(&second, 3);
    let follow_up = GrantUpload {
        descriptor: None,
        grant: sealdrop_api::B64::of(&grant.sign(&d.manager.key, v3.unverified_body()).unwrap()),
        envelopes: vec![sealdrop_api::B64::of(&envelope)],
    };
    assert!(
        d.manager
            .client
            .grant(&d.program, &follow_up)
            .unwrap()
            .missing
            .is_empty()
    );

    // The newcomer reads the first report; the envelope comes with the
    // grant record that authorises it, which verifies against v3.
    let release = newcomer.client.release(&first.report.report_id()).unwrap();
    let record = ReportRecord::from_bytes(&release.record.0)
        .unwrap()
        .verify()
        .unwrap();
    let envelope = Envelope::from_bytes(&release.envelope.0).unwrap();
    assert!(!record.is_signed_envelope(&envelope));
    let grant = SignedGrant::from_bytes(&release.grant.unwrap().0).unwrap();
    let body = sealdrop_proto::report::grant::verify_grant(&grant, v3.unverified_body()).unwrap();
    assert!(body.covers(&first.report.report_id(), &envelope.hash()));
    let key = record.unwrap_key(&envelope, &newcomer.key).unwrap();
    let ct = newcomer
        .client
        .stream(&first.report.report_id(), 0)
        .unwrap();
    let content = record
        .opener(&key)
        .unwrap()
        .open_content(&mut ct.as_slice())
        .unwrap();
    assert_eq!(content.answers, b"{\"n\":1}");
    assert_eq!(d.auditor.client.audit_grants(None).unwrap().items.len(), 2);
}
