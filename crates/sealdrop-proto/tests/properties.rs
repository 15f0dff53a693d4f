//! Property tests: sealing and opening round-trip at any size, including
//! empty and chunk-boundary lengths; every encoding round-trips; no decoder
//! panics on arbitrary bytes.

// Tests may panic: a failed expectation should stop the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::World;
use proptest::prelude::*;
use sealdrop_proto::codec::{Decode, Encode};
use sealdrop_proto::descriptor::{ProgramDescriptor, SignedDescriptor};
use sealdrop_proto::invite::SignedEnrolment;
use sealdrop_proto::invite::SignedInvite;
use sealdrop_proto::messages::{Acknowledgement, AuthResponse, DeletionRequest};
use sealdrop_proto::report::stream::{CHUNK, StreamDigest};
use sealdrop_proto::report::{
    AttachmentMeta, ReportContent, ReportRecord, SealedReport, SignedGrant,
};
use sealdrop_proto::signed::Signed;

fn interesting_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        0usize..64,
        (CHUNK - 2)..(CHUNK + 3),
        (2 * CHUNK - 2)..(2 * CHUNK + 3),
        0usize..(3 * CHUNK),
    ]
}

proptest! {
    // No persistence file: integration tests have no lib.rs beside them,
    // and CI runs on a fresh checkout anyway.
    #![proptest_config(ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn seal_then_open_returns_the_same_bytes(
        answers_len in interesting_len(),
        file_len in interesting_len(),
        seed in any::<u8>(),
    ) {
        let mut w = World::new(&[b'p', seed]);
        let answers: Vec<u8> = (0..answers_len).map(|i| (i % 251) as u8).collect();
        let file: Vec<u8> = (0..file_len).map(|i| (i % 253) as u8 ^ seed).collect();
        let v2 = w.v2.clone();
        let s = w.seal(&v2, &answers, &[("f.png", &file)]);
        prop_assert_eq!(
            s.report.streams[1].ciphertext_len,
            StreamDigest::sealed_len(file_len as u64)
        );
        let record = s.report.record().verify().unwrap();
        let env = s.report.envelopes.iter().find(|e| e.recipient == w.reviewer.id()).unwrap();
        let key = record.unwrap_key(env, &w.reviewer).unwrap();
        let opener = record.opener(&key).unwrap();
        let content = opener.open_content(&mut s.streams[0].as_slice()).unwrap();
        prop_assert_eq!(content.answers, answers);
        let mut out = Vec::new();
        opener.open_attachment(0, &mut s.streams[1].as_slice(), &mut out).unwrap();
        prop_assert_eq!(out, file);
    }

    #[test]
    fn content_round_trips(
        answers in proptest::collection::vec(any::<u8>(), 0..512),
        names in proptest::collection::vec(("[a-z./ ]{0,40}", any::<Option<u64>>()), 0..8),
    ) {
        let content = ReportContent {
            answers,
            attachments: names
                .into_iter()
                .map(|(file_name, captured_at)| AttachmentMeta {
                    file_name,
                    captured_at,
                    media_type: "image/png".into(),
                })
                .collect(),
        };
        prop_assert_eq!(ReportContent::from_bytes(&content.to_bytes()).unwrap(), content);
    }

    #[test]
    fn descriptors_round_trip(name in "[!-~][ -~]{0,199}", retention in 1u32..=36_500, qv in 1u32..1000) {
        let w = World::new(b"desc-prop");
        let mut next = ProgramDescriptor::successor(&w.v2, 5);
        next.name = name;
        next.retention_days = retention;
        next.questionnaire_version = qv;
        let signed = next.sign(&w.manager).unwrap();
        let bytes = signed.to_bytes();
        prop_assert_eq!(SignedDescriptor::from_bytes(&bytes).unwrap(), signed);
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = SealedReport::from_bytes(&bytes);
        let _ = ReportRecord::from_bytes(&bytes);
        let _ = ReportContent::from_bytes(&bytes);
        let _ = SignedDescriptor::from_bytes(&bytes);
        let _ = SignedInvite::from_bytes(&bytes);
        let _ = SignedEnrolment::from_bytes(&bytes);
        let _ = SignedGrant::from_bytes(&bytes);
        let _ = Signed::<AuthResponse>::from_bytes(&bytes);
        let _ = Signed::<DeletionRequest>::from_bytes(&bytes);
        let _ = Signed::<Acknowledgement>::from_bytes(&bytes);
        let _ = sealdrop_proto::invite::InviteBundle::parse(&String::from_utf8_lossy(&bytes), 0);
        let _ = String::from_utf8_lossy(&bytes).parse::<sealdrop_proto::PersonId>();
        let _ = String::from_utf8_lossy(&bytes).parse::<sealdrop_proto::PublicIdentity>();
    }

    #[test]
    fn mutated_reports_never_panic_and_never_verify(pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut w = World::new(b"mutate");
        let v2 = w.v2.clone();
        let s = w.seal(&v2, b"{}", &[]);
        let mut bytes = s.report.to_bytes();
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        if let Ok(r) = SealedReport::from_bytes(&bytes) {
            prop_assert!(r.verify().is_err());
        }
    }
}
