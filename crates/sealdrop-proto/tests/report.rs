//! Sealed reports: round trips, re-wrapping, grants, auditing, and every
//! tampering the spec names, each refused with the right error.

// Tests may panic: a failed expectation should stop the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{NOW, Sealed, World};
use sealdrop_proto::codec::{Decode, Encode};
use sealdrop_proto::descriptor::ProgramDescriptor;
use sealdrop_proto::report::grant::{GrantError, verify_grant};
use sealdrop_proto::report::stream::{CHUNK, TAG};
use sealdrop_proto::report::{
    GrantRecord, ReportContent, ReportError, ReportRecord, SealedReport, VerifiedRecord,
};
use sealdrop_proto::{ProgramId, SecretIdentity};

const PHOTO_LEN: usize = 2 * CHUNK + 1000; // three chunks

fn photo(seed: u8) -> Vec<u8> {
    (0..PHOTO_LEN)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

fn sealed_with_photos(w: &mut World) -> Sealed {
    let v2 = w.v2.clone();
    let (a, b) = (photo(1), photo(2));
    w.seal(
        &v2,
        br#"{"q1":"yes"}"#,
        &[("front.jpg", &a), ("till.jpg", &b)],
    )
}

fn open_all(
    record: &VerifiedRecord,
    report: &SealedReport,
    me: &SecretIdentity,
    streams: &[Vec<u8>],
) -> Result<(ReportContent, Vec<Vec<u8>>), ReportError> {
    let envelope = report
        .envelopes
        .iter()
        .find(|e| e.recipient == me.id())
        .ok_or(ReportError::NotARecipient)?;
    let key = record.unwrap_key(envelope, me)?;
    let opener = record.opener(&key)?;
    let content = opener.open_content(&mut streams[0].as_slice())?;
    let mut files = Vec::new();
    for (n, s) in streams.iter().enumerate().skip(1) {
        let mut out = Vec::new();
        opener.open_attachment(n - 1, &mut s.as_slice(), &mut out)?;
        files.push(out);
    }
    Ok((content, files))
}

fn verify(report: &SealedReport) -> VerifiedRecord {
    report.record().verify().expect("signature verifies")
}

#[test]
fn every_recipient_opens_what_the_shopper_sealed() {
    let mut w = World::new(b"roundtrip");
    let s = sealed_with_photos(&mut w);
    let record = verify(&s.report);
    for who in [&w.manager, &w.reviewer] {
        let (content, files) = open_all(&record, &s.report, who, &s.streams).unwrap();
        assert_eq!(content, s.content);
        assert_eq!(files, vec![photo(1), photo(2)]);
    }
    assert_eq!(s.report.envelopes.len(), 2);
    assert_eq!(s.streams[1].len(), PHOTO_LEN + 3 * TAG);
}

#[test]
fn file_names_are_not_in_the_public_bytes() {
    let mut w = World::new(b"names");
    let s = sealed_with_photos(&mut w);
    let public = [s.report.to_bytes(), s.streams.concat()].concat();
    let needle = b"front.jpg";
    assert!(!public.windows(needle.len()).any(|win| win == needle));
    assert!(!public.windows(6).any(|win| win == br#"{"q1":"#));
}

#[test]
fn sealed_report_and_record_round_trip_through_the_codec() {
    let mut w = World::new(b"codec");
    let s = sealed_with_photos(&mut w);
    let bytes = s.report.to_bytes();
    assert_eq!(SealedReport::from_bytes(&bytes).unwrap(), s.report);
    let record = s.report.record();
    assert_eq!(
        ReportRecord::from_bytes(&record.to_bytes()).unwrap(),
        record
    );
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(SealedReport::from_bytes(&trailing).is_err());
}

#[test]
fn someone_without_an_envelope_cannot_open() {
    let mut w = World::new(b"outsider");
    let s = sealed_with_photos(&mut w);
    let record = verify(&s.report);
    assert!(matches!(
        open_all(&record, &s.report, &w.outsider, &s.streams),
        Err(ReportError::NotARecipient)
    ));
    // Relabelling the reviewer's envelope for the outsider does not help:
    // the recipient ID is bound into the HPKE info.
    let mut stolen = *s
        .report
        .envelopes
        .iter()
        .find(|e| e.recipient == w.reviewer.id())
        .unwrap();
    stolen.recipient = w.outsider.id();
    assert!(matches!(
        record.unwrap_key(&stolen, &w.outsider),
        Err(ReportError::DecryptionFailed)
    ));
}

/// Flips `mask` in each byte at `positions` of the encoded report: each copy
/// must fail to decode or fail signature verification.
fn assert_flips_refused(report: &SealedReport, positions: impl Iterator<Item = usize>, mask: u8) {
    let bytes = report.to_bytes();
    for i in positions {
        let mut tampered = bytes.clone();
        tampered[i] ^= mask;
        if let Ok(r) = SealedReport::from_bytes(&tampered) {
            assert!(
                matches!(r.verify(), Err(ReportError::BadSignature)),
                "byte {i} flipped and still verified"
            );
        }
    }
}

#[test]
fn flipping_any_byte_of_the_header_is_refused() {
    let mut w = World::new(b"flip-h0");
    let s = sealed_with_photos(&mut w);
    let header_len = s.report.header.to_bytes().len();
    assert_flips_refused(&s.report, 0..header_len, 0x01);
}

#[test]
fn flipping_any_byte_of_an_envelope_or_the_signature_is_refused() {
    let mut w = World::new(b"flip-env");
    let s = sealed_with_photos(&mut w);
    let len = s.report.to_bytes().len();
    let envelopes_start = s.report.header.to_bytes().len() + 4;
    let envelopes_end = envelopes_start + 100 * s.report.envelopes.len();
    let positions = (envelopes_start..envelopes_end).chain(len - 64..len);
    assert_flips_refused(&s.report, positions, 0x80);
}

#[test]
fn a_tampered_envelope_does_not_open_even_if_presented_directly() {
    let mut w = World::new(b"env-direct");
    let s = sealed_with_photos(&mut w);
    let record = verify(&s.report);
    let mut env = *s
        .report
        .envelopes
        .iter()
        .find(|e| e.recipient == w.reviewer.id())
        .unwrap();
    for i in 0..80 {
        let mut t = env;
        if i < 32 {
            t.enc[i] ^= 1;
        } else {
            t.ciphertext[i - 32] ^= 1;
        }
        assert!(
            matches!(
                record.unwrap_key(&t, &w.reviewer),
                Err(ReportError::DecryptionFailed)
            ),
            "envelope byte {i}"
        );
    }
    // An all-zero ephemeral share gives an all-zero DH output: refused.
    env.enc = [0u8; 32];
    assert!(matches!(
        record.unwrap_key(&env, &w.reviewer),
        Err(ReportError::DecryptionFailed)
    ));
}

fn open_attachment_stream(
    s: &Sealed,
    who: &SecretIdentity,
    n: usize,
    stream: &[u8],
) -> Result<Vec<u8>, ReportError> {
    let record = verify(&s.report);
    let env = s
        .report
        .envelopes
        .iter()
        .find(|e| e.recipient == who.id())
        .unwrap();
    let key = record.unwrap_key(env, who)?;
    let mut out = Vec::new();
    record
        .opener(&key)?
        .open_attachment(n, &mut &stream[..], &mut out)?;
    Ok(out)
}

#[test]
fn flipping_chunk_bytes_is_refused() {
    let mut w = World::new(b"flip-chunk");
    let s = sealed_with_photos(&mut w);
    let stream = &s.streams[1];
    let chunk = CHUNK + TAG;
    let positions = [
        0,
        1,
        CHUNK - 1,
        CHUNK,
        chunk - 1,
        chunk,
        2 * chunk + 5,
        stream.len() - 1,
    ];
    for &i in &positions {
        let mut t = stream.clone();
        t[i] ^= 0x40;
        assert!(
            matches!(
                open_attachment_stream(&s, &w.reviewer, 0, &t),
                Err(ReportError::DecryptionFailed)
            ),
            "chunk byte {i}"
        );
    }
}

#[test]
fn dropping_duplicating_reordering_or_truncating_chunks_is_refused() {
    let mut w = World::new(b"chunks");
    let s = sealed_with_photos(&mut w);
    let c = CHUNK + TAG;
    let st = &s.streams[1];
    let chunks = [&st[..c], &st[c..2 * c], &st[2 * c..]];
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("drop middle", [chunks[0], chunks[2]].concat()),
        ("drop last", [chunks[0], chunks[1]].concat()),
        ("drop first", [chunks[1], chunks[2]].concat()),
        (
            "duplicate",
            [chunks[0], chunks[0], chunks[1], chunks[2]].concat(),
        ),
        ("reorder", [chunks[1], chunks[0], chunks[2]].concat()),
        ("truncate mid-chunk", st[..st.len() - 10].to_vec()),
        ("extend", [st.as_slice(), chunks[2]].concat()),
        ("empty", Vec::new()),
    ];
    for (name, t) in cases {
        let r = open_attachment_stream(&s, &w.reviewer, 0, &t);
        assert!(
            matches!(
                r,
                Err(ReportError::DecryptionFailed | ReportError::CiphertextMismatch { .. })
            ),
            "{name}: {r:?}"
        );
    }
    // Control: the untouched stream opens.
    assert_eq!(
        open_attachment_stream(&s, &w.reviewer, 0, st).unwrap(),
        photo(1)
    );
}

#[test]
fn swapping_two_attachments_streams_is_refused() {
    let mut w = World::new(b"swap");
    let s = sealed_with_photos(&mut w);
    assert!(matches!(
        open_attachment_stream(&s, &w.reviewer, 0, &s.streams[2]),
        Err(ReportError::DecryptionFailed)
    ));
    assert!(matches!(
        open_attachment_stream(&s, &w.reviewer, 1, &s.streams[1]),
        Err(ReportError::DecryptionFailed)
    ));
}

#[test]
fn moving_a_report_to_another_program_or_version_is_refused() {
    let mut w = World::new(b"move");
    let s = sealed_with_photos(&mut w);
    let mut moved = s.report.clone();
    moved.header.core.program_id = ProgramId::from_bytes([7; 16]);
    assert!(matches!(moved.verify(), Err(ReportError::BadSignature)));
    let mut moved = s.report.clone();
    moved.header.descriptor_version = 1;
    assert!(matches!(moved.verify(), Err(ReportError::BadSignature)));
}

#[test]
fn a_signature_by_another_key_is_refused_and_resigning_breaks_decryption() {
    let mut w = World::new(b"resign");
    let s = sealed_with_photos(&mut w);
    // Another person signs the same statement: the header names the
    // shopper's key, so verification fails.
    let forged = {
        let impostor = SecretIdentity::generate(&mut w.rng);
        let d = w.v2.unverified_body().clone();
        let mut sealer =
            sealdrop_proto::report::ReportSealer::new(&impostor, &d, NOW * 1000, &mut w.rng)
                .unwrap();
        sealer.seal_content(&s.content, &mut Vec::new()).unwrap();
        for _ in 0..2 {
            sealer
                .seal_attachment(&mut &b"x"[..], &mut Vec::new())
                .unwrap();
        }
        sealer.finish(&mut w.rng).unwrap().0
    };
    let mut stripped = s.report.clone();
    stripped.signature = forged.signature;
    assert!(matches!(stripped.verify(), Err(ReportError::BadSignature)));

    // Someone who holds the content key (any recipient) can put their own
    // key in the header and re-sign; the copy verifies as theirs, but the
    // chunks are bound to the original core, so it never opens.
    let impostor = SecretIdentity::generate(&mut w.rng);
    let mut claimed = s.report.clone();
    claimed.header.core.shopper = impostor.public();
    let v3 = v3(&w);
    let resigned = claimed
        .rewrap(&s.key, &impostor, v3.unverified_body(), &mut w.rng)
        .unwrap();
    let record = verify(&resigned);
    let env = resigned
        .envelopes
        .iter()
        .find(|e| e.recipient == w.manager.id())
        .unwrap();
    let key = record.unwrap_key(env, &w.manager).unwrap();
    assert!(matches!(
        record
            .opener(&key)
            .unwrap()
            .open_content(&mut s.streams[0].as_slice()),
        Err(ReportError::DecryptionFailed)
    ));
}

#[test]
fn an_auditor_verifies_with_hashes_alone_and_catches_altered_ciphertext() {
    let mut w = World::new(b"audit");
    let s = sealed_with_photos(&mut w);
    let record = ReportRecord::from_bytes(&s.report.record().to_bytes()).unwrap();
    let verified = record.verify().unwrap();
    for (i, st) in s.streams.iter().enumerate() {
        verified.check_ciphertext(i, &mut st.as_slice()).unwrap();
    }
    let mut altered = s.streams[1].clone();
    altered[100] ^= 1;
    assert!(matches!(
        verified.check_ciphertext(1, &mut altered.as_slice()),
        Err(ReportError::CiphertextMismatch { stream: 1 })
    ));
    assert!(matches!(
        verified.check_ciphertext(1, &mut s.streams[2].as_slice()),
        Err(ReportError::CiphertextMismatch { stream: 1 })
    ));
    assert!(matches!(
        verified.check_ciphertext(9, &mut s.streams[2].as_slice()),
        Err(ReportError::NoSuchStream { stream: 9 })
    ));
}

/// v3: reviewer removed, outsider added, from v2.
fn v3(w: &World) -> sealdrop_proto::descriptor::SignedDescriptor {
    let mut next = ProgramDescriptor::successor(&w.v2, NOW + 120);
    next.remove_recipient(&w.reviewer.id());
    next.add_recipient(w.outsider.public());
    next.sign(&w.manager2).unwrap()
}

#[test]
fn a_stale_report_is_rewrapped_to_the_new_list_without_reencrypting() {
    let mut w = World::new(b"rewrap");
    let s = sealed_with_photos(&mut w);
    let v3 = v3(&w);
    let mut chain = w.chain();
    chain.advance(v3.clone()).unwrap();
    let fresh = s
        .report
        .rewrap(&s.key, &w.shopper, chain.current(), &mut w.rng)
        .unwrap();
    assert_eq!(fresh.header.descriptor_version, 3);
    assert_eq!(fresh.streams, s.report.streams);
    let record = verify(&fresh);
    // The revoked reviewer gets no envelope; the new recipient opens it.
    assert!(
        !fresh
            .envelopes
            .iter()
            .any(|e| e.recipient == w.reviewer.id())
    );
    let (content, files) = open_all(&record, &fresh, &w.outsider, &s.streams).unwrap();
    assert_eq!(content, s.content);
    assert_eq!(files[1], photo(2));

    // Only with the right key, the right shopper, the same program.
    let wrong_key = sealdrop_proto::report::ContentKey::from_bytes([9; 32]);
    assert!(matches!(
        s.report
            .rewrap(&wrong_key, &w.shopper, chain.current(), &mut w.rng),
        Err(ReportError::KeyMismatch)
    ));
    assert!(matches!(
        s.report
            .rewrap(&s.key, &w.outsider, chain.current(), &mut w.rng),
        Err(ReportError::WrongShopper)
    ));
    let other = World::new(b"other-program");
    assert!(matches!(
        s.report
            .rewrap(&s.key, &w.shopper, other.v1.unverified_body(), &mut w.rng),
        Err(ReportError::WrongProgram)
    ));
}

#[test]
fn a_manager_grants_a_new_recipient_without_touching_the_ciphertext() {
    let mut w = World::new(b"grant");
    let s = sealed_with_photos(&mut w);
    let v3 = v3(&w);
    let d3 = v3.unverified_body();
    let record = verify(&s.report);
    let manager_env = s
        .report
        .envelopes
        .iter()
        .find(|e| e.recipient == w.manager.id())
        .unwrap();
    let key = record.unwrap_key(manager_env, &w.manager).unwrap();
    let granted = record
        .wrap_for(&key, &w.outsider.public(), &mut w.rng)
        .unwrap();
    assert!(!record.is_signed_envelope(&granted));
    let grant = GrantRecord {
        program_id: d3.program_id,
        descriptor_version: 3,
        recipient: w.outsider.public(),
        granted_at: NOW + 200,
        envelopes: vec![(record.report_id(), granted.hash())],
    }
    .sign(&w.manager, d3)
    .unwrap();
    let body = verify_grant(&grant, d3).unwrap();
    assert!(body.covers(&record.report_id(), &granted.hash()));
    assert!(!body.covers(&record.report_id(), &manager_env.hash()));

    let key = record.unwrap_key(&granted, &w.outsider).unwrap();
    let content = record
        .opener(&key)
        .unwrap()
        .open_content(&mut s.streams[0].as_slice())
        .unwrap();
    assert_eq!(content, s.content);

    // Refusals: a grant signed by a non-manager, a grant to someone not on
    // the list, a grant checked against another version.
    let forged =
        sealdrop_proto::signed::Signed::sign(grant.unverified_body().clone(), w.outsider.signing());
    assert_eq!(
        verify_grant(&forged, d3),
        Err(GrantError::NotSignedByManager)
    );
    assert_eq!(
        verify_grant(&grant, w.v2.unverified_body()),
        Err(GrantError::WrongDescriptor)
    );
    let to_reviewer = GrantRecord {
        recipient: w.reviewer.public(),
        ..grant.unverified_body().clone()
    };
    assert_eq!(
        to_reviewer.sign(&w.manager, d3).map(|_| ()),
        Err(GrantError::NotARecipient)
    );
    // A wrong key cannot be wrapped for anyone.
    let wrong = sealdrop_proto::report::ContentKey::from_bytes([3; 32]);
    assert!(matches!(
        record.wrap_for(&wrong, &w.outsider.public(), &mut w.rng),
        Err(ReportError::DecryptionFailed)
    ));
}

#[test]
fn a_shopper_cannot_give_recipients_different_keys() {
    // A malicious shopper wraps another key for the reviewer. The key
    // commitment in the signed header catches it.
    let mut w = World::new(b"commit");
    let s = sealed_with_photos(&mut w);
    let record = verify(&s.report);
    let other_key = sealdrop_proto::report::ContentKey::from_bytes([5; 32]);
    assert!(matches!(
        record.opener(&other_key),
        Err(ReportError::DecryptionFailed)
    ));
}

/// Content that announces one attachment, `a.jpg`.
fn one_attachment_content() -> ReportContent {
    ReportContent {
        answers: b"{}".to_vec(),
        attachments: vec![sealdrop_proto::report::AttachmentMeta {
            file_name: "a.jpg".into(),
            captured_at: None,
            media_type: "image/jpeg".into(),
        }],
    }
}

#[test]
fn streams_must_be_sealed_in_order_and_completely() {
    let mut w = World::new(b"order");
    let d = w.v2.unverified_body().clone();
    let shopper = SecretIdentity::generate(&mut w.rng);
    let mut sealer =
        sealdrop_proto::report::ReportSealer::new(&shopper, &d, NOW * 1000, &mut w.rng).unwrap();
    assert!(matches!(
        sealer.seal_attachment(&mut &b"x"[..], &mut Vec::new()),
        Err(ReportError::StreamOrder)
    ));
    let content = one_attachment_content();
    sealer.seal_content(&content, &mut Vec::new()).unwrap();
    let mut rng = common::TestRng::new(b"x");
    // One attachment announced but none sealed.
    assert!(matches!(
        sealer.finish(&mut rng),
        Err(ReportError::StreamOrder)
    ));
}

#[test]
fn a_descriptor_with_no_recipients_cannot_be_sealed_to() {
    let mut w = World::new(b"norecip");
    let mut d = w.v2.unverified_body().clone();
    d.recipients.clear();
    let shopper = SecretIdentity::generate(&mut w.rng);
    assert!(matches!(
        sealdrop_proto::report::ReportSealer::new(&shopper, &d, NOW * 1000, &mut w.rng),
        Err(ReportError::NoRecipients)
    ));
}

#[test]
fn a_report_must_be_addressed_to_exactly_the_current_recipients() {
    let mut w = World::new(b"addressed");
    let s = sealed_with_photos(&mut w);
    s.report.check_addressed_to(w.v2.unverified_body()).unwrap();
    let v3 = v3(&w);
    assert!(matches!(
        s.report.check_addressed_to(v3.unverified_body()),
        Err(ReportError::StaleList {
            sealed_for: 2,
            current: 3
        })
    ));
    let mut short = s.report.clone();
    short.envelopes.pop();
    assert!(matches!(
        short.check_addressed_to(w.v2.unverified_body()),
        Err(ReportError::WrongRecipients)
    ));
    let other = World::new(b"elsewhere");
    assert!(matches!(
        s.report.check_addressed_to(other.v2.unverified_body()),
        Err(ReportError::WrongProgram)
    ));
    // Re-wrapping for the same (or an older) version is refused.
    assert!(matches!(
        s.report
            .rewrap(&s.key, &w.shopper, w.v2.unverified_body(), &mut w.rng),
        Err(ReportError::NotNewer)
    ));
}

/// A reader that fails after `ok` bytes.
struct FailingReader {
    ok: usize,
}

impl std::io::Read for FailingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.ok == 0 {
            return Err(std::io::Error::other("disk unplugged"));
        }
        let n = buf.len().min(self.ok);
        buf[..n].fill(7);
        self.ok -= n;
        Ok(n)
    }
}

#[test]
fn a_stream_that_fails_part_way_abandons_the_report() {
    let mut w = World::new(b"abandon");
    let d = w.v2.unverified_body().clone();
    let shopper = SecretIdentity::generate(&mut w.rng);
    let mut sealer =
        sealdrop_proto::report::ReportSealer::new(&shopper, &d, NOW * 1000, &mut w.rng).unwrap();
    let content = one_attachment_content();
    sealer.seal_content(&content, &mut Vec::new()).unwrap();
    let mut out = Vec::new();
    assert!(matches!(
        sealer.seal_attachment(&mut FailingReader { ok: 3 * CHUNK }, &mut out),
        Err(ReportError::Io(_))
    ));
    // Retrying under the same stream key could reuse nonces: refused.
    assert!(matches!(
        sealer.seal_attachment(&mut &b"x"[..], &mut Vec::new()),
        Err(ReportError::Abandoned)
    ));
    let mut rng = common::TestRng::new(b"y");
    assert!(matches!(
        sealer.finish(&mut rng),
        Err(ReportError::Abandoned)
    ));
}

#[test]
fn only_lengths_that_sealing_produces_decode() {
    use sealdrop_proto::report::StreamDigest;
    for len in [
        0u64,
        1,
        100,
        CHUNK as u64,
        CHUNK as u64 + 1,
        3 * CHUNK as u64 - 7,
    ] {
        let sealed = StreamDigest::sealed_len(len);
        assert!(StreamDigest::is_possible_len(sealed), "{len}");
    }
    let full = (CHUNK + TAG) as u64;
    for bad in [0u64, 15, full + 1, full + 16, 2 * full + 3] {
        assert!(!StreamDigest::is_possible_len(bad), "{bad}");
    }
}

#[test]
fn a_long_stream_round_trips_through_the_background_hasher() {
    // 40 chunks: several batches and more chunks than the buffer pool holds.
    let mut w = World::new(b"long");
    let big: Vec<u8> = (0..40 * CHUNK + 17).map(|i| (i % 241) as u8).collect();
    let v2 = w.v2.clone();
    let s = w.seal(&v2, b"{}", &[("big.bin", &big)]);
    let record = verify(&s.report);
    record
        .check_ciphertext(1, &mut s.streams[1].as_slice())
        .unwrap();
    assert_eq!(
        open_attachment_stream(&s, &w.reviewer, 0, &s.streams[1]).unwrap(),
        big
    );
    let mut t = s.streams[1].clone();
    t[30 * (CHUNK + TAG) + 9] ^= 1;
    assert!(matches!(
        open_attachment_stream(&s, &w.reviewer, 0, &t),
        Err(ReportError::DecryptionFailed)
    ));
}
