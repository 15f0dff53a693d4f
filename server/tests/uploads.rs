//! Resumable uploads: a broken upload continues where it stopped; wrong
//! offsets, pieces past the end, early finishes and altered bytes are
//! refused; a stale list during an upload keeps the bytes already sent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use sealdrop_api::ErrorCode;
use sealdrop_proto::codec::Decode;
use sealdrop_proto::descriptor::SignedDescriptor;
use sealdrop_proto::report::{Envelope, ReportRecord};

const MIB: usize = 1024 * 1024;

fn photo(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn a_broken_upload_resumes_where_it_stopped() {
    let d = Deployment::with_flags(&["--max-report-bytes", "1048576"]);
    let big = photo(3 * MIB + 123);
    let sealed = seal(&d.shopper.key, &d.v2, b"{\"photos\":1}", &[&big]);
    let report = sealed.report.report_id();
    let shopper = &d.shopper.client;

    // Too large for one request: the server says so before reading it.
    let err = shopper
        .submit(&sealed.report, &sealed.stream_refs())
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::TooLarge));

    let status = shopper.begin_upload(&sealed.report).unwrap();
    assert_eq!(status.streams.len(), 2);
    assert!(status.streams.iter().all(|s| s.received == 0));
    shopper
        .upload_piece(&report, 0, 0, &sealed.streams[0])
        .unwrap();
    let first = &sealed.streams[1][..MIB];
    shopper.upload_piece(&report, 1, 0, first).unwrap();
    // ...the connection breaks here. Later, the shopper asks where it stands.
    let status = shopper.upload_status(&report).unwrap();
    assert_eq!(status.streams[1].received, MIB as u64);

    // A piece at the wrong offset, or past the declared end, is refused.
    let err = shopper.upload_piece(&report, 1, 0, first).unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::UploadOffset));
    let tail_len = sealed.streams[1].len();
    let err = shopper
        .upload_piece(&report, 1, MIB as u64, &vec![0; tail_len])
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Invalid));
    // Finishing early is refused, and nothing is stored.
    assert_eq!(
        shopper.finish_upload(&report).unwrap_err().code(),
        Some(ErrorCode::Invalid)
    );
    assert!(d.staff.client.inbox(None, None).unwrap().is_empty());
    // Someone else cannot see or add to this upload.
    assert_eq!(
        d.staff.client.upload_status(&report).unwrap_err().code(),
        Some(ErrorCode::Forbidden)
    );

    // Resume: the client continues from what the server has.
    let done = shopper
        .upload(&sealed.report, &sealed.stream_refs(), MIB)
        .unwrap();
    assert!(!done.duplicate);
    // Again: the upload answers with the stored acknowledgement.
    let again = shopper
        .upload(&sealed.report, &sealed.stream_refs(), MIB)
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(again.receipt, done.receipt);

    // The reviewer gets the whole attachment back.
    let release = d.staff.client.release(&report).unwrap();
    let record = ReportRecord::from_bytes(&release.record.0)
        .unwrap()
        .verify()
        .unwrap();
    let key = record
        .unwrap_key(
            &Envelope::from_bytes(&release.envelope.0).unwrap(),
            &d.staff.key,
        )
        .unwrap();
    let ct = d.staff.client.stream(&report, 1).unwrap();
    let mut out = Vec::new();
    record
        .opener(&key)
        .unwrap()
        .open_attachment(0, &mut ct.as_slice(), &mut out)
        .unwrap();
    assert_eq!(out, big);
}

#[test]
fn altered_bytes_discard_the_upload() {
    let d = Deployment::new();
    let sealed = seal(&d.shopper.key, &d.v2, b"{}", &[&photo(100_000)]);
    let report = sealed.report.report_id();
    let shopper = &d.shopper.client;
    shopper.begin_upload(&sealed.report).unwrap();
    shopper
        .upload_piece(&report, 0, 0, &sealed.streams[0])
        .unwrap();
    let mut altered = sealed.streams[1].clone();
    altered[500] ^= 1;
    shopper.upload_piece(&report, 1, 0, &altered).unwrap();
    let err = shopper.finish_upload(&report).unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::CiphertextMismatch));
    assert_eq!(
        shopper.upload_status(&report).unwrap_err().code(),
        Some(ErrorCode::NotFound)
    );
    // Starting again with the right bytes works.
    assert!(
        !shopper
            .upload(&sealed.report, &sealed.stream_refs(), 40_000)
            .unwrap()
            .duplicate
    );
}

#[test]
fn a_stale_list_mid_upload_keeps_the_bytes_sent() {
    let d = Deployment::new();
    let sealed = seal(&d.shopper.key, &d.v2, b"{}", &[&photo(300_000)]);
    let report = sealed.report.report_id();
    let shopper = &d.shopper.client;
    shopper.begin_upload(&sealed.report).unwrap();
    shopper
        .upload_piece(&report, 0, 0, &sealed.streams[0])
        .unwrap();
    shopper
        .upload_piece(&report, 1, 0, &sealed.streams[1])
        .unwrap();

    let v3 = d.next_descriptor(&d.v2, |n| n.remove_recipient(&d.staff.key.id()));
    let err = shopper.finish_upload(&report).unwrap_err();
    let sealdrop_client::ClientError::Refused { body, .. } = err else {
        panic!()
    };
    assert_eq!(body.error, ErrorCode::StaleList);
    let current = SignedDescriptor::from_bytes(&body.descriptor.unwrap().0).unwrap();
    assert_eq!(current, v3);

    let rewrapped = sealed
        .report
        .rewrap(
            &sealed.key,
            &d.shopper.key,
            current.unverified_body(),
            &mut rng(),
        )
        .unwrap();
    let status = shopper.begin_upload(&rewrapped).unwrap();
    assert_eq!(
        status.streams[1].received,
        sealed.streams[1].len() as u64,
        "bytes kept"
    );
    let done = shopper.finish_upload(&report).unwrap();
    assert!(!done.duplicate);
    assert!(
        d.manager
            .client
            .inbox(None, None)
            .unwrap()
            .iter()
            .any(|e| e.report == report.to_string())
    );
}
