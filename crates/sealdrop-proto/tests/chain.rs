//! Program descriptor chains, invites and enrolments: the trust model's
//! rules, each with its refusals.

// Tests may panic: a failed expectation should stop the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{NOW, TestRng, World};
use sealdrop_proto::SecretIdentity;
use sealdrop_proto::codec::{Decode, Encode};
use sealdrop_proto::descriptor::{
    self, Accepted, DescriptorChain, DescriptorError, ProgramDescriptor, SignedDescriptor,
};
use sealdrop_proto::invite::{
    Enrolment, InviteBundle, InviteError, InviteToken, ServerPins, verify_invite_against,
    verify_shopper_chain,
};
use sealdrop_proto::signed::Signed;

fn pins(rng: &mut TestRng) -> ServerPins {
    let log = SecretIdentity::generate(rng);
    ServerPins {
        server_url: "https://reports.example.org".into(),
        tls_cert_sha256: Some([0xab; 32]),
        log_key: *log.public().signing_key(),
        log_origin: "reports.example.org/log".into(),
    }
}

fn v3_by(w: &World, signer: &SecretIdentity) -> SignedDescriptor {
    let mut next = ProgramDescriptor::successor(&w.v2, NOW + 120);
    next.retention_days = 90;
    next.sign(signer).unwrap()
}

#[test]
fn a_chain_verifies_from_version_one() {
    let w = World::new(b"chain");
    let chain = w.chain();
    assert_eq!(chain.current().version, 2);
    assert!(chain.current().is_manager(&w.manager2.id()));
    assert_eq!(chain.current_hash(), &descriptor::hash_of(&w.v2));
    // Decoding round trip of the signed form.
    let bytes = w.v2.to_bytes();
    assert_eq!(SignedDescriptor::from_bytes(&bytes).unwrap(), w.v2);
}

#[test]
fn a_descriptor_signed_by_a_non_manager_is_refused() {
    let w = World::new(b"nonmanager");
    let mut chain = w.chain();
    let forged = v3_by(&w, &w.reviewer);
    assert_eq!(
        chain.advance(forged),
        Err(DescriptorError::UnauthorisedSigner { version: 3 })
    );
    // A manager added in v2 may sign v3.
    chain.advance(v3_by(&w, &w.manager2)).unwrap();
    assert_eq!(chain.current().version, 3);
}

#[test]
fn a_removed_manager_can_no_longer_sign() {
    let w = World::new(b"removed");
    let mut chain = w.chain();
    let mut next = ProgramDescriptor::successor(&w.v2, NOW + 120);
    next.remove_manager(&w.manager2.id());
    let v3 = next.sign(&w.manager).unwrap();
    chain.advance(v3.clone()).unwrap();
    let mut after = ProgramDescriptor::successor(&v3, NOW + 180);
    after.retention_days = 30;
    let v4 = after.sign(&w.manager2).unwrap();
    assert_eq!(
        chain.advance(v4),
        Err(DescriptorError::UnauthorisedSigner { version: 4 })
    );
}

#[test]
fn rollback_fork_skip_broken_link_and_wrong_program_are_refused() {
    let w = World::new(b"rules");
    let mut chain = w.chain();
    assert_eq!(
        chain.accept([w.v1.clone()]),
        Err(DescriptorError::Rollback {
            current: 2,
            offered: 1
        })
    );
    // Another v2, validly signed by a v1 manager: a fork.
    let mut other = ProgramDescriptor::successor(&w.v1, NOW + 61);
    other.retention_days = 7;
    let fork = other.sign(&w.manager).unwrap();
    assert_eq!(
        chain.advance(fork),
        Err(DescriptorError::Fork { version: 2 })
    );
    // v4 straight after v2.
    let v3 = v3_by(&w, &w.manager);
    let mut skip = ProgramDescriptor::successor(&v3, NOW + 200);
    skip.retention_days = 10;
    let v4 = skip.sign(&w.manager).unwrap();
    assert_eq!(
        chain.advance(v4),
        Err(DescriptorError::NotSuccessor {
            current: 2,
            found: 4
        })
    );
    // v3 that names the wrong previous hash.
    let mut broken = ProgramDescriptor::successor(&w.v2, NOW + 120);
    broken.previous = Some([0u8; 32]);
    let broken = broken.sign(&w.manager).unwrap();
    assert_eq!(
        chain.advance(broken),
        Err(DescriptorError::BrokenLink { version: 3 })
    );
    // A valid descriptor of another program.
    let other = World::new(b"other");
    let mut foreign = ProgramDescriptor::successor(&other.v2, NOW);
    foreign.version = 3;
    let foreign = foreign.sign(&other.manager).unwrap();
    assert!(matches!(
        chain.advance(foreign),
        Err(DescriptorError::WrongProgram { .. })
    ));
    // After all that, the chain is still at v2 and accepts v3.
    assert_eq!(chain.current().version, 2);
    assert_eq!(chain.accept([w.v2.clone(), v3]), Ok(Accepted::Advanced(3)));
    assert_eq!(chain.accept([]), Ok(Accepted::Unchanged));
}

#[test]
fn genesis_must_be_signed_by_its_own_manager() {
    let w = World::new(b"genesis");
    let forged = Signed::sign(w.v1.unverified_body().clone(), w.outsider.signing());
    assert_eq!(
        DescriptorChain::genesis(forged).map(|_| ()),
        Err(DescriptorError::UnauthorisedSigner { version: 1 })
    );
    assert!(matches!(
        DescriptorChain::genesis(w.v2.clone()),
        Err(DescriptorError::Invalid { .. })
    ));
}

#[test]
fn tampered_descriptor_bytes_are_refused() {
    let w = World::new(b"tamper-desc");
    let bytes = w.v2.to_bytes();
    for i in 4..bytes.len() {
        let mut t = bytes.clone();
        t[i] ^= 0x04;
        if let Ok(d) = SignedDescriptor::from_bytes(&t) {
            let mut chain = DescriptorChain::genesis(w.v1.clone()).unwrap();
            assert!(chain.advance(d).is_err(), "byte {i} flipped and accepted");
        }
    }
}

#[test]
fn invalid_descriptors_cannot_be_signed() {
    let mut w = World::new(b"invalid");
    let mut d = ProgramDescriptor::successor(&w.v2, NOW);
    d.managers.clear();
    assert!(matches!(
        d.sign(&w.manager),
        Err(DescriptorError::Invalid { .. })
    ));
    let mut d = ProgramDescriptor::successor(&w.v2, NOW);
    d.retention_days = 0;
    assert!(matches!(
        d.sign(&w.manager),
        Err(DescriptorError::Invalid { .. })
    ));
    let mut d = ProgramDescriptor::successor(&w.v2, NOW);
    let extra = SecretIdentity::generate(&mut w.rng).public();
    d.recipients.insert(0, extra);
    d.recipients.push(extra); // unsorted and duplicated
    assert!(matches!(
        d.sign(&w.manager),
        Err(DescriptorError::Invalid { .. })
    ));
}

#[test]
fn a_pinned_descriptor_must_have_the_pinned_hash() {
    let w = World::new(b"pinned");
    let hash = descriptor::hash_of(&w.v2);
    assert!(DescriptorChain::pinned(w.v2.clone(), &hash).is_ok());
    assert_eq!(
        DescriptorChain::pinned(w.v1.clone(), &hash).map(|_| ()),
        Err(DescriptorError::HashMismatch)
    );
}

#[test]
fn an_invited_shopper_chains_to_a_manager() {
    let mut w = World::new(b"invite");
    let pins = pins(&mut w.rng);
    let bundle =
        InviteBundle::create(&w.v2, &w.manager2, &pins, NOW, NOW + 7 * 86400, &mut w.rng).unwrap();
    let text = bundle.to_text();
    assert!(text.starts_with("sdinvite1."));
    let parsed = InviteBundle::parse(&text, NOW + 10).unwrap();
    assert_eq!(parsed.invite, bundle.invite);
    assert_eq!(parsed.invite.unverified_body().server_url, pins.server_url);
    assert_eq!(
        verify_invite_against(&parsed.invite, &w.v2),
        Ok(w.manager2.id())
    );
    let pseudonym = SecretIdentity::generate(&mut w.rng);
    let enrolment = Enrolment::sign(&parsed, &pseudonym, NOW + 20, 0);
    assert_eq!(
        verify_shopper_chain(&enrolment, &parsed.invite, &w.v2),
        Ok((pseudonym.id(), w.manager2.id()))
    );
}

#[test]
fn invites_that_are_forged_tampered_expired_or_mismatched_are_refused() {
    let mut w = World::new(b"bad-invite");
    let pins = pins(&mut w.rng);
    // Only a manager can create one.
    assert!(matches!(
        InviteBundle::create(&w.v2, &w.reviewer, &pins, NOW, NOW + 60, &mut w.rng),
        Err(InviteError::NotSignedByManager)
    ));
    let bundle =
        InviteBundle::create(&w.v2, &w.manager, &pins, NOW, NOW + 600, &mut w.rng).unwrap();
    // Signed by someone else (bypassing the constructor).
    let forged = Signed::sign(
        bundle.invite.unverified_body().clone(),
        w.reviewer.signing(),
    );
    assert_eq!(
        verify_invite_against(&forged, &w.v2),
        Err(InviteError::NotSignedByManager)
    );
    // Checked against another descriptor version.
    assert_eq!(
        verify_invite_against(&bundle.invite, &w.v1),
        Err(InviteError::DescriptorMismatch)
    );
    // Expired.
    assert!(matches!(
        InviteBundle::parse(&bundle.to_text(), NOW + 601),
        Err(InviteError::Expired)
    ));
    // Any altered character of the text.
    let text = bundle.to_text();
    for i in ["sdinvite1.".len(), text.len() / 2, text.len() - 3] {
        let mut chars: Vec<char> = text.chars().collect();
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let t: String = chars.into_iter().collect();
        assert!(InviteBundle::parse(&t, NOW).is_err(), "char {i}");
    }
    // Another invite's token.
    let other = InviteBundle::create(&w.v2, &w.manager, &pins, NOW, NOW + 600, &mut w.rng).unwrap();
    let swapped = InviteBundle {
        invite: bundle.invite.clone(),
        token: sealdrop_proto::invite::InviteToken::from_bytes(*other.token.expose_bytes()),
    };
    assert!(matches!(
        InviteBundle::parse(&swapped.to_text(), NOW),
        Err(InviteError::TokenMismatch)
    ));
    assert!(matches!(
        InviteBundle::parse("hello", NOW),
        Err(InviteError::NotAnInvite)
    ));
}

#[test]
fn enrolments_must_be_the_shoppers_own_for_this_invite_in_time() {
    let mut w = World::new(b"bad-enrol");
    let pins = pins(&mut w.rng);
    let a = InviteBundle::create(&w.v2, &w.manager, &pins, NOW, NOW + 600, &mut w.rng).unwrap();
    let b = InviteBundle::create(&w.v2, &w.manager, &pins, NOW, NOW + 600, &mut w.rng).unwrap();
    let shopper = SecretIdentity::generate(&mut w.rng);
    let for_b = Enrolment::sign(&b, &shopper, NOW, 0);
    assert_eq!(
        verify_shopper_chain(&for_b, &a.invite, &w.v2),
        Err(InviteError::WrongInvite)
    );
    // Signed by a key other than the one it enrols.
    let mut body = Enrolment::sign(&a, &shopper, NOW, 0).unwrap_body();
    body.enrolled_at = NOW + 1;
    let wrong_key = Signed::sign(body, w.outsider.signing());
    assert_eq!(
        verify_shopper_chain(&wrong_key, &a.invite, &w.v2),
        Err(InviteError::BadEnrolmentSignature)
    );
    let late = Enrolment::sign(&a, &shopper, NOW + 601, 0);
    assert_eq!(
        verify_shopper_chain(&late, &a.invite, &w.v2),
        Err(InviteError::EnrolledAfterExpiry)
    );
    // An invite forged by the server (signed by a non-manager) does not
    // make a valid chain even with a genuine-looking enrolment.
    let forged = InviteBundle {
        invite: Signed::sign(a.invite.unverified_body().clone(), w.outsider.signing()),
        token: InviteToken::from_bytes(*a.token.expose_bytes()),
    };
    let e = Enrolment::sign(&forged, &shopper, NOW, 0);
    assert_eq!(
        verify_shopper_chain(&e, &forged.invite, &w.v2),
        Err(InviteError::NotSignedByManager)
    );
    // An enrolment that does not reveal the invite's own token proves
    // nothing about who held the invite.
    let mut body = Enrolment::sign(&a, &shopper, NOW, 0).unwrap_body();
    body.token = [0; 32];
    let guessed = Signed::sign(body, shopper.signing());
    assert_eq!(
        verify_shopper_chain(&guessed, &a.invite, &w.v2),
        Err(InviteError::TokenNotRevealed)
    );
}

trait UnwrapBody<T> {
    fn unwrap_body(self) -> T;
}

impl<T: Clone + sealdrop_proto::signed::SignedBody> UnwrapBody<T> for Signed<T> {
    fn unwrap_body(self) -> T {
        self.unverified_body().clone()
    }
}
