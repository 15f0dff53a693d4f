//! Our C2SP signed notes against an independent implementation, the
//! `signed_note` crate (Cloudflare's azul): a checkpoint we sign verifies
//! there, a note it signs over our checkpoint body verifies here, and a
//! changed byte is refused by both.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use data_encoding::{BASE64, HEXLOWER};
use sealdrop_proto::keys::SigningSecret;
use sealdrop_proto::log::checkpoint::{Checkpoint, SIG_TYPE_ED25519, SignedCheckpoint, key_id};
use signed_note::{Note, StandardSigner, StandardVerifier, VerifierList};

const ORIGIN: &str = "sealdrop/0123456789abcdef";

fn keys() -> (SigningSecret, String, String) {
    let seed = [0x2a; 32];
    let key = SigningSecret::from_seed(&seed);
    let public = key.verifying_key().to_bytes();
    let id = HEXLOWER.encode(&key_id(ORIGIN, SIG_TYPE_ED25519, &public));
    let with_alg = |bytes: &[u8]| {
        let mut v = vec![SIG_TYPE_ED25519];
        v.extend_from_slice(bytes);
        BASE64.encode(&v)
    };
    let vkey = format!("{ORIGIN}+{id}+{}", with_alg(&public));
    let skey = format!("PRIVATE+KEY+{ORIGIN}+{id}+{}", with_alg(&seed));
    (key, vkey, skey)
}

fn checkpoint() -> Checkpoint {
    Checkpoint::new(ORIGIN.to_owned(), 1_234_567, [0x5c; 32]).unwrap()
}

#[test]
fn a_note_we_sign_verifies_in_signed_note() {
    let (key, vkey, _) = keys();
    let text = SignedCheckpoint::sign(checkpoint(), &key).to_text();
    let verifiers = VerifierList::new(vec![Box::new(StandardVerifier::new(&vkey).unwrap())]);
    let note = Note::from_bytes(text.as_bytes()).unwrap();
    let (verified, unverified) = note.verify(&verifiers).unwrap();
    assert_eq!(verified.len(), 1);
    assert!(unverified.is_empty());
    assert_eq!(note.text(), checkpoint().body().as_bytes());

    // One changed byte of the size: refused there too.
    let altered = text.replacen("1234567", "1234568", 1);
    let note = Note::from_bytes(altered.as_bytes()).unwrap();
    assert!(note.verify(&verifiers).is_err());
}

#[test]
fn a_note_signed_note_signs_verifies_here() {
    let (key, _, skey) = keys();
    let signer = StandardSigner::new(&skey).unwrap();
    let mut note = Note::new(checkpoint().body().as_bytes(), &[]).unwrap();
    note.add_sigs(&[&signer]).unwrap();
    let bytes = note.to_bytes();
    let public = key.verifying_key().to_bytes();
    let ours = SignedCheckpoint::parse_and_verify(&bytes, ORIGIN, &public).unwrap();
    assert_eq!(ours.checkpoint(), &checkpoint());
    // Ed25519 is deterministic: both implementations write the same note.
    assert_eq!(
        String::from_utf8(bytes.clone()).unwrap(),
        SignedCheckpoint::sign(checkpoint(), &key).to_text()
    );
    let mut altered = bytes;
    let at = altered.iter().position(|b| *b == b'\n').unwrap() + 1;
    altered[at] ^= 1;
    assert!(SignedCheckpoint::parse_and_verify(&altered, ORIGIN, &public).is_err());
}
