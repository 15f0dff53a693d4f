//! Hostile and broken input: each refusal has its 4xx code and JSON body,
//! and the store is unchanged afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use sealdrop_api::{B64, ErrorCode, upload};
use sealdrop_client::ClientError;
use sealdrop_proto::codec::Encode;
use sealdrop_proto::descriptor::ProgramDescriptor;
use sealdrop_proto::invite::{Enrolment, InviteBundle};
use sealdrop_proto::messages::{AuthPurpose, AuthResponse};
use sealdrop_proto::signed::Signed;
use sealdrop_proto::{ProgramId, SecretIdentity};

fn code(e: ClientError) -> (u16, ErrorCode) {
    match e {
        ClientError::Refused { status, body } => (status, body.error),
        other => panic!("expected a refusal, got {other}"),
    }
}

#[test]
fn malformed_oversized_truncated_and_tampered_uploads_are_refused_and_store_nothing() {
    let d = Deployment::with_flags(&["--max-report-bytes", "65536"]);
    let before = snapshot(&d);
    let shopper = &d.shopper.client;
    let sealed = seal(&d.shopper.key, &d.v2, b"{\"q\":1}", &[b"photo"]);
    let body = upload::body(&sealed.report.to_bytes(), &sealed.stream_refs());

    // Garbage, an empty body, a length prefix past the limit.
    assert_eq!(
        code(shopper.submit_raw(b"\x00\x00\x00\x05hello").unwrap_err()),
        (400, ErrorCode::Malformed)
    );
    assert_eq!(
        code(shopper.submit_raw(b"").unwrap_err()),
        (400, ErrorCode::Malformed)
    );
    assert_eq!(
        code(shopper.submit_raw(&[0xff; 16]).unwrap_err()),
        (413, ErrorCode::TooLarge)
    );

    // Truncated in the middle of a stream, and one byte too long.
    assert_eq!(
        code(shopper.submit_raw(&body[..body.len() - 3]).unwrap_err()),
        (400, ErrorCode::Malformed)
    );
    let mut long = body.clone();
    long.push(0);
    assert_eq!(
        code(shopper.submit_raw(&long).unwrap_err()),
        (400, ErrorCode::Malformed)
    );

    // A flipped ciphertext byte; a flipped signature byte; a non-canonical
    // signature (S + L), which strict verification refuses.
    let mut flipped = body.clone();
    *flipped.last_mut().unwrap() ^= 1;
    assert_eq!(
        code(shopper.submit_raw(&flipped).unwrap_err()),
        (400, ErrorCode::CiphertextMismatch)
    );
    let mut forged = sealed.report.clone();
    forged.signature[0] ^= 1;
    assert_eq!(
        code(shopper.submit(&forged, &sealed.stream_refs()).unwrap_err()),
        (400, ErrorCode::BadSignature)
    );
    let mut non_canonical = sealed.report.clone();
    add_group_order(&mut non_canonical.signature);
    assert_eq!(
        code(
            shopper
                .submit(&non_canonical, &sealed.stream_refs())
                .unwrap_err()
        ),
        (400, ErrorCode::BadSignature)
    );

    // Larger than the server accepts: refused before the streams are read.
    let big = seal(&d.shopper.key, &d.v2, b"{}", &[&vec![7u8; 70_000]]);
    assert_eq!(
        code(shopper.submit(&big.report, &big.stream_refs()).unwrap_err()),
        (413, ErrorCode::TooLarge)
    );

    // Someone else's report: a staff member cannot submit, nor can a
    // shopper submit a report sealed under another pseudonym.
    assert_eq!(
        code(
            d.staff
                .client
                .submit(&sealed.report, &sealed.stream_refs())
                .unwrap_err()
        )
        .0,
        403
    );
    let stranger = SecretIdentity::generate(&mut rng());
    let theirs = seal(&stranger, &d.v2, b"{}", &[]);
    assert_eq!(
        code(
            shopper
                .submit(&theirs.report, &theirs.stream_refs())
                .unwrap_err()
        ),
        (403, ErrorCode::Forbidden)
    );

    // Malformed JSON and binary inside JSON.
    let (status, _) = d
        .manager
        .client
        .raw("POST", "/v1/programs", Some("{not json"))
        .unwrap();
    assert_eq!(status, 400);
    let (status, _) = d
        .manager
        .client
        .raw("POST", "/v1/programs", Some(r#"{"descriptor":"AAAA"}"#))
        .unwrap();
    assert_eq!(status, 400);

    assert_eq!(snapshot(&d), before, "a refused upload changed the store");

    // After all that, the genuine upload still works, once.
    assert!(!shopper.submit_raw(&body).unwrap().duplicate);
    assert!(shopper.submit_raw(&body).unwrap().duplicate);
}

/// Adds the Ed25519 group order L to the signature's S half.
fn add_group_order(signature: &mut [u8; 64]) {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(signature[32 + i]) + u16::from(L[i]) + carry;
        signature[32 + i] = sum as u8;
        carry = sum >> 8;
    }
}

#[test]
fn replayed_challenges_tokens_and_invites_are_refused() {
    let d = Deployment::new();
    let before = snapshot(&d);
    let anon = d.server.client();

    // A challenge response works once.
    let (_, challenge) = anon.raw("POST", "/v1/auth/challenge", None).unwrap();
    let challenge: sealdrop_api::Challenge = serde_json::from_slice(&challenge).unwrap();
    let response = Signed::sign(
        AuthResponse {
            origin: d.server.url.clone(),
            purpose: AuthPurpose::Session,
            nonce: challenge.nonce.0.as_slice().try_into().unwrap(),
            time: now(),
            person: d.staff.key.id(),
        },
        d.staff.key.signing(),
    );
    let body = serde_json::json!({ "response": B64::of(&response) }).to_string();
    assert_eq!(
        anon.raw("POST", "/v1/auth/session", Some(&body)).unwrap().0,
        200
    );
    let (status, e) = anon.raw("POST", "/v1/auth/session", Some(&body)).unwrap();
    assert_eq!(status, 401, "{}", String::from_utf8_lossy(&e));

    // A response for another server's origin, or signed by another key.
    let (_, challenge) = anon.raw("POST", "/v1/auth/challenge", None).unwrap();
    let challenge: sealdrop_api::Challenge = serde_json::from_slice(&challenge).unwrap();
    let elsewhere = Signed::sign(
        AuthResponse {
            origin: "https://evil.example".into(),
            purpose: AuthPurpose::Session,
            nonce: challenge.nonce.0.as_slice().try_into().unwrap(),
            time: now(),
            person: d.staff.key.id(),
        },
        d.staff.key.signing(),
    );
    let body = serde_json::json!({ "response": B64::of(&elsewhere) }).to_string();
    assert_eq!(
        anon.raw("POST", "/v1/auth/session", Some(&body)).unwrap().0,
        401
    );
    let impostor = Signed::sign(
        AuthResponse {
            origin: d.server.url.clone(),
            purpose: AuthPurpose::Session,
            nonce: challenge.nonce.0.as_slice().try_into().unwrap(),
            time: now(),
            person: d.staff.key.id(),
        },
        d.shopper.key.signing(),
    );
    let body = serde_json::json!({ "response": B64::of(&impostor) }).to_string();
    assert_eq!(
        anon.raw("POST", "/v1/auth/session", Some(&body)).unwrap().0,
        400
    );

    // An enrolment token works once.
    let token = d.manager.client.issue_staff_token().unwrap().token;
    let _first = enrol(&d.server, &token);
    let again = d
        .server
        .client()
        .enrol(&token, &SecretIdentity::generate(&mut rng()));
    assert_eq!(code(again.unwrap_err()), (403, ErrorCode::BadToken));

    // An invite works once; an unregistered one not at all; an enrolment
    // signed by a key other than the pseudonym's is not a chain.
    let pins = pins(&d.server, &d.manager.client);
    let bundle =
        InviteBundle::create(&d.v2, &d.manager.key, &pins, now(), now() + 600, &mut rng()).unwrap();
    let e = d
        .server
        .client()
        .enrol_shopper(&bundle, &SecretIdentity::generate(&mut rng()));
    assert_eq!(code(e.unwrap_err()), (403, ErrorCode::BadToken));
    d.manager.client.register_invite(&bundle.invite).unwrap();
    let pseudonym = SecretIdentity::generate(&mut rng());
    let reveal = |enrolment: &sealdrop_proto::invite::SignedEnrolment| {
        let request = serde_json::json!({
            "invite": B64::of(&bundle.invite),
            "enrolment": B64::of(enrolment),
        })
        .to_string();
        let (status, e) = d
            .server
            .client()
            .raw("POST", "/v1/enrol/shopper", Some(&request))
            .unwrap();
        (status, String::from_utf8_lossy(&e).into_owned())
    };
    // A commitment for an unknown token, or of the wrong size, is refused
    // and logs nothing.
    let commit = |token_hash: Vec<u8>, commitment: Vec<u8>| {
        let request = serde_json::json!({
            "token_hash": B64(token_hash),
            "commitment": B64(commitment),
        })
        .to_string();
        d.server
            .client()
            .raw("POST", "/v1/enrol/commit", Some(&request))
            .unwrap()
            .0
    };
    assert_eq!(commit(vec![7; 32], vec![1; 32]), 403);
    assert_eq!(commit(bundle.token.hash().to_vec(), vec![1; 31]), 400);
    // The reveal names a leaf that holds no commitment it opens (leaf 0 is
    // the program's first descriptor): refused, the invite not used up.
    let unopened = Enrolment::sign(&bundle, &pseudonym, now(), 0);
    let (status, e) = reveal(&unopened);
    assert_eq!(status, 403, "{e}");
    assert!(e.contains("commitment"), "{e}");
    // An enrolment signed by a key other than the one it names.
    let mut body = unopened.unverified_body().clone();
    let other = SecretIdentity::generate(&mut rng());
    body.shopper = other.public();
    let enrolment = Signed::sign(body, pseudonym.signing());
    let (status, e) = reveal(&enrolment);
    assert_eq!(status, 403, "{e}");
    assert!(e.contains("bad-invite-chain"));
    // The invite was not used up by the refused attempt.
    d.server
        .client()
        .enrol_shopper(&bundle, &pseudonym)
        .unwrap();
    let e = d
        .server
        .client()
        .enrol_shopper(&bundle, &SecretIdentity::generate(&mut rng()));
    assert_eq!(code(e.unwrap_err()), (403, ErrorCode::BadToken));

    // A staff member cannot register invites.
    let e = d.staff.client.register_invite(&bundle.invite);
    assert_eq!(code(e.unwrap_err()).0, 403);
    assert_ne!(snapshot(&d), before, "the two enrolments were stored");
}

#[test]
fn disabled_shoppers_stale_rolled_back_and_forged_descriptors_are_refused() {
    let d = Deployment::new();
    let sealed = seal(&d.shopper.key, &d.v2, b"{}", &[]);
    d.shopper
        .client
        .submit(&sealed.report, &sealed.stream_refs())
        .unwrap();

    // Rollback and fork: v2 again, or another v2.
    assert_eq!(
        code(d.manager.client.update_descriptor(&d.v2).unwrap_err()),
        (409, ErrorCode::DescriptorConflict)
    );
    let mut fork = ProgramDescriptor::successor(&d.v1, now());
    fork.name = "Forked".into();
    let fork = fork.sign(&d.manager.key).unwrap();
    assert_eq!(
        code(d.manager.client.update_descriptor(&fork).unwrap_err()),
        (409, ErrorCode::DescriptorConflict)
    );
    // Signed by someone who is not a manager of v2.
    let forged = ProgramDescriptor::successor(&d.v2, now())
        .sign(&d.staff.key)
        .unwrap();
    assert_eq!(
        code(d.manager.client.update_descriptor(&forged).unwrap_err()).0,
        403
    );
    // An unknown program.
    let unknown = ProgramId::random(&mut rng());
    assert_eq!(
        code(d.manager.client.descriptor(&unknown).unwrap_err()),
        (404, ErrorCode::NotFound)
    );

    // The same report ID with different contents (re-wrapped for v3) while
    // the first is stored: a conflict.
    let v3 = d.next_descriptor(&d.v2, |n| n.name = "Renamed".into());
    let other = sealed
        .report
        .rewrap(
            &sealed.key,
            &d.shopper.key,
            v3.unverified_body(),
            &mut rng(),
        )
        .unwrap();
    assert_eq!(
        code(
            d.shopper
                .client
                .submit(&other, &sealed.stream_refs())
                .unwrap_err()
        ),
        (409, ErrorCode::ReportIdConflict)
    );

    // A disabled shopper: the session ends, signing in again is refused.
    let out = d
        .server
        .operator(&["user", "disable", &d.shopper.key.id().to_string()]);
    assert!(out.status.success());
    let late = seal(&d.shopper.key, &v3, b"{}", &[]);
    // Refused: as unauthenticated (the session is gone) or, within the few
    // seconds a submitter's session lookup is reused, as disabled by the
    // store's own check in the write. Either way nothing is stored.
    let refused = code(
        d.shopper
            .client
            .submit(&late.report, &late.stream_refs())
            .unwrap_err(),
    );
    assert!(
        matches!(
            refused,
            (401, ErrorCode::Unauthenticated) | (403, ErrorCode::Disabled)
        ),
        "{refused:?}"
    );
    let stored = d.auditor.client.audit_reports(None).unwrap().items;
    let late_id = late.report.report_id().to_string();
    assert!(stored.iter().all(|r| r.report != late_id));
    let mut again = d.server.client();
    assert_eq!(
        code(again.sign_in(&d.shopper.key).unwrap_err()),
        (403, ErrorCode::Disabled)
    );
}
