//! Checkpoints as C2SP signed notes, and witness cosignatures
//! (`log::checkpoint`): round trips, known answers computed independently,
//! the reference implementation's and the specs' published examples, and
//! every refusal.

// Tests may panic: a failed expectation should stop the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use data_encoding::{BASE64, HEXLOWER};
use ed25519_dalek::{Signer as _, SigningKey};
use proptest::prelude::*;
use sealdrop_proto::keys::SigningSecret;
use sealdrop_proto::labels;
use sealdrop_proto::log::checkpoint::{
    COSIGNATURE_V1_HEADER, Checkpoint, CheckpointError, MAX_NOTE_LEN, MAX_SIGNATURES, Note,
    NoteSignature, SIG_TYPE_COSIGNATURE_V1, SIG_TYPE_ED25519, SignedCheckpoint, Witness, cosign,
    cosigned_message, count_cosignatures, key_id, require_cosignatures, verify_cosignature,
};
use sealdrop_proto::log::merkle::{Digest, MerkleTree, leaf_hash};

const ORIGIN: &str = "reports.example.org/log";
const LOG_SEED: [u8; 32] = [7; 32];
const WITNESS_SEED: [u8; 32] = [9; 32];
const WITNESS: &str = "witness.example.org/w1";
const TIME: u64 = 1_790_000_000;

/// The root of the 8-leaf Certificate Transparency test tree (see
/// `tests/merkle.rs`).
fn root8() -> Digest {
    HEXLOWER
        .decode(b"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")
        .unwrap()
        .try_into()
        .unwrap()
}

fn checkpoint8() -> Checkpoint {
    Checkpoint::new(ORIGIN, 8, root8()).unwrap()
}

fn log_key() -> SigningSecret {
    SigningSecret::from_seed(&LOG_SEED)
}

fn log_public() -> [u8; 32] {
    log_key().verifying_key().to_bytes()
}

fn witness(seed: &[u8; 32], name: &str) -> Witness {
    Witness::new(
        name,
        SigningSecret::from_seed(seed).verifying_key().as_bytes(),
    )
    .unwrap()
}

fn verify(note: &str) -> Result<SignedCheckpoint, CheckpointError> {
    SignedCheckpoint::parse_and_verify(note.as_bytes(), ORIGIN, &log_public())
}

/// Signs any text as a note line with raw ed25519-dalek, to build notes
/// that `SignedCheckpoint::sign` never would (bad bodies that are validly
/// signed), so that the parser, not the signature, must refuse them.
fn raw_signed_note(text: &str, name: &str, seed: &[u8; 32]) -> String {
    let key = SigningKey::from_bytes(seed);
    let mut payload = key_id(name, SIG_TYPE_ED25519, key.verifying_key().as_bytes()).to_vec();
    payload.extend_from_slice(&key.sign(text.as_bytes()).to_bytes());
    format!("{text}\n— {name} {}\n", BASE64.encode(&payload))
}

// Round trip and known answers.

#[test]
fn a_signed_checkpoint_round_trips() {
    let mut tree = MerkleTree::new();
    for i in 0..1000u32 {
        tree.push(leaf_hash(&i.to_be_bytes()));
    }
    for size in [0, 1, 999, 1000] {
        let checkpoint = Checkpoint::new(ORIGIN, size, tree.root_at(size).unwrap()).unwrap();
        let signed = SignedCheckpoint::sign(checkpoint.clone(), &log_key());
        let text = signed.to_text();
        assert!(text.starts_with(&checkpoint.body()));
        let parsed = verify(&text).unwrap();
        assert_eq!(parsed, signed);
        assert_eq!(parsed.checkpoint(), &checkpoint);
        assert_eq!(parsed.into_checkpoint(), checkpoint);
        assert_eq!(
            Checkpoint::parse_body(&checkpoint.body()).unwrap(),
            checkpoint
        );
    }
}

/// The expected note was computed once, independently of this crate, with
/// Python 3.11 `hashlib` and `cryptography` 48.0.0 (Ed25519 is
/// deterministic, RFC 8032):
///
/// ```text
/// sk   = Ed25519PrivateKey.from_private_bytes(bytes([7]) * 32)
/// body = "reports.example.org/log\n8\n" + b64encode(root8) + "\n"
/// kid  = sha256(b"reports.example.org/log" + b"\n" + b"\x01" + pk).digest()[:4]
/// note = body + "\n" + "\u2014 reports.example.org/log " + b64encode(kid + sk.sign(body)) + "\n"
/// ```
///
/// The same script reproduced the Go reference implementation's published
/// PeterNeumann signature byte for byte, which checks the method.
const KAT_NOTE: &str = "reports.example.org/log\n\
8\n\
XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\
\n\
— reports.example.org/log PVfijwHT3S9S+HNvESAYMLIU8NdaD2MhRnRbSafaVs/LlvZnCxjSv5bj0eH0SUXyfnaKCYBCowbNw+JHzGKhJzu3jgk=\n";

#[test]
fn known_answer_checkpoint_note() {
    assert_eq!(
        HEXLOWER.encode(&log_public()),
        "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"
    );
    assert_eq!(
        key_id(ORIGIN, SIG_TYPE_ED25519, &log_public()),
        [0x3d, 0x57, 0xe2, 0x8f]
    );
    let signed = SignedCheckpoint::sign(checkpoint8(), &log_key());
    assert_eq!(signed.to_text(), KAT_NOTE);
    let parsed = verify(KAT_NOTE).unwrap();
    assert_eq!(parsed.checkpoint(), &checkpoint8());
}

/// The same Python script, with `wsk = from_private_bytes(bytes([9]) * 32)`:
///
/// ```text
/// msg  = b"cosignature/v1\ntime 1790000000\n" + body
/// kid  = sha256(b"witness.example.org/w1" + b"\n" + b"\x04" + wpk).digest()[:4]
/// line = "\u2014 witness.example.org/w1 " + b64encode(kid + (1790000000).to_bytes(8, "big") + wsk.sign(msg)) + "\n"
/// ```
const KAT_COSIGNATURE: &str = "— witness.example.org/w1 M/kVzAAAAABqsTuAvm5UZaWXxhR239s2mQDb2KJH5XrWrLl7GDPowlTZWmKCkIFHjP8M8LeDOq2iBlLpPNWFxHLbBoPt2mdAHoZmBQ==\n";

#[test]
fn known_answer_cosignature() {
    let w = witness(&WITNESS_SEED, WITNESS);
    assert_eq!(
        HEXLOWER.encode(w.public_key()),
        "fd1724385aa0c75b64fb78cd602fa1d991fdebf76b13c58ed702eac835e9f618"
    );
    assert_eq!(w.key_id(), [0x33, 0xf9, 0x15, 0xcc]);
    assert_eq!(
        w.key_id(),
        key_id(WITNESS, SIG_TYPE_COSIGNATURE_V1, w.public_key())
    );
    assert_eq!(
        cosigned_message(&checkpoint8(), TIME),
        format!(
            "{COSIGNATURE_V1_HEADER}time 1790000000\n{}",
            checkpoint8().body()
        )
    );
    let line = cosign(
        &checkpoint8(),
        WITNESS,
        &SigningSecret::from_seed(&WITNESS_SEED),
        TIME,
    )
    .unwrap();
    assert_eq!(line.to_line(), KAT_COSIGNATURE);
    assert_eq!(verify_cosignature(&checkpoint8(), &line, &w), Ok(TIME));

    // The cosigned note as a client receives it.
    let note = format!("{KAT_NOTE}{KAT_COSIGNATURE}");
    let signed = verify(&note).unwrap();
    assert_eq!(require_cosignatures(&signed, &[w], 1), Ok(1));
}

// Published examples.

/// golang.org/x/mod/sumdb/note `note_test.go` (`TestOpen`): the
/// PeterNeumann and EnochRoot keys and signatures, and its malformed notes.
mod go_reference {
    use super::*;

    pub const PETER_VKEY: &str =
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    pub const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    pub const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                            then you don't know what your problem is.\n";
    pub const PETER_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    pub const ENOCH_SIG: &str = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    /// A verifier key `name+hex(key_id)+base64(0x01 ‖ key)`: the name, the
    /// key ID and the key, checking that the ID is the spec's.
    pub fn vkey(text: &str) -> (String, [u8; 4], ed25519_dalek::VerifyingKey) {
        let mut parts = text.splitn(3, '+');
        let (name, id, key) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let key = BASE64.decode(key.as_bytes()).unwrap();
        assert_eq!(key[0], SIG_TYPE_ED25519);
        let key: [u8; 32] = key[1..].try_into().unwrap();
        let id: [u8; 4] = HEXLOWER.decode(id.as_bytes()).unwrap().try_into().unwrap();
        assert_eq!(key_id(name, SIG_TYPE_ED25519, &key), id);
        (
            name.to_owned(),
            id,
            ed25519_dalek::VerifyingKey::from_bytes(&key).unwrap(),
        )
    }
}

#[test]
fn the_reference_implementations_notes_verify() {
    use go_reference::*;
    let (peter, _, peter_key) = vkey(PETER_VKEY);
    let (enoch, _, enoch_key) = vkey(ENOCH_VKEY);
    let both = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    let note = Note::parse(both.as_bytes()).unwrap();
    assert_eq!(note.text(), TEXT);
    assert_eq!(note.signatures().len(), 2);
    assert_eq!(note.to_text(), both);
    // Each key finds and verifies its own line and ignores the other's.
    note.verify_ed25519(&peter, &peter_key).unwrap();
    note.verify_ed25519(&enoch, &enoch_key).unwrap();
    // A name with another key's ID, or a key under another name: unknown.
    assert!(matches!(
        note.verify_ed25519(&peter, &enoch_key),
        Err(CheckpointError::NoValidSignature { .. })
    ));
    assert!(matches!(
        note.verify_ed25519("PeterNeuman", &peter_key),
        Err(CheckpointError::NoValidSignature { .. })
    ));
    // Repeated lines are fine.
    let repeated = format!("{TEXT}\n{PETER_SIG}{PETER_SIG}{ENOCH_SIG}{ENOCH_SIG}");
    Note::parse(repeated.as_bytes())
        .unwrap()
        .verify_ed25519(&peter, &peter_key)
        .unwrap();
    // "Invalid signature": four base64 characters inserted.
    let invalid = format!("{TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    assert!(matches!(
        Note::parse(invalid.as_bytes())
            .unwrap()
            .verify_ed25519(&peter, &peter_key),
        Err(CheckpointError::BadSignature { .. })
    ));
    // A modified text.
    let modified = both.replace("cryptography", "cryptographY");
    assert!(matches!(
        Note::parse(modified.as_bytes())
            .unwrap()
            .verify_ed25519(&peter, &peter_key),
        Err(CheckpointError::BadSignature { .. })
    ));
}

#[test]
fn the_reference_implementations_malformed_notes_are_refused() {
    use go_reference::*;
    let bad_messages = [
        TEXT.to_owned(),
        format!("{TEXT}\n"),
        format!("{TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
        format!("\x01{TEXT}\n{PETER_SIG}"),
        format!(
            "{TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
        ),
        format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"),
        format!("{TEXT}\n{}", PETER_SIG.repeat(MAX_SIGNATURES + 1)),
    ];
    for message in &bad_messages {
        assert!(
            Note::parse(message.as_bytes()).is_err(),
            "accepted {message:?}"
        );
    }
    let mut invalid_utf8 = format!("{TEXT}\n{PETER_SIG}").into_bytes();
    invalid_utf8.insert(0, 0xff);
    assert_eq!(Note::parse(&invalid_utf8), Err(CheckpointError::NotUtf8));
    // Exactly the limit is accepted.
    let hundred = format!("{TEXT}\n{}", PETER_SIG.repeat(MAX_SIGNATURES));
    assert_eq!(
        Note::parse(hundred.as_bytes()).unwrap().signatures().len(),
        100
    );
}

/// The examples of c2sp.org/tlog-checkpoint and c2sp.org/tlog-cosignature
/// (C2SP/C2SP `tlog-checkpoint.md`, `tlog-cosignature.md`). Their keys are
/// not published, so only their structure is checked: the body parses, the
/// log line is ignored under any other key, and the cosignature's
/// timestamp is the `time 1679315147` of the spec's message example.
#[test]
fn the_specs_examples_parse() {
    let example = "example.com/behind-the-sofa\n\
                   20852163\n\
                   CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\
                   \n\
                   — example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
                   — witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";
    let note = Note::parse(example.as_bytes()).unwrap();
    let checkpoint = Checkpoint::parse_body(note.text()).unwrap();
    assert_eq!(checkpoint.origin(), "example.com/behind-the-sofa");
    assert_eq!(checkpoint.size(), 20_852_163);
    assert_eq!(checkpoint.body(), note.text());
    let [log, cosignature] = note.signatures() else {
        panic!("two signature lines expected");
    };
    assert_eq!(log.signature.len(), 64);
    assert_eq!(cosignature.key_id, [0x8d, 0x66, 0xcf, 0x3f]);
    assert_eq!(cosignature.signature.len(), 8 + 64);
    assert_eq!(
        u64::from_be_bytes(cosignature.signature[..8].try_into().unwrap()),
        1_679_315_147
    );
    assert!(matches!(
        SignedCheckpoint::parse_and_verify(
            example.as_bytes(),
            "example.com/behind-the-sofa",
            &log_public()
        ),
        Err(CheckpointError::NoValidSignature { .. })
    ));
}

// Refusals.

#[test]
fn a_tampered_body_is_refused() {
    for (from, to) in [
        ("\n8\n", "\n9\n"),
        ("\n8\n", "\n80\n"),
        ("Qyg=", "Qyh="),
        ("XcnaeacG", "XcnaeacH"),
        ("reports.example.org/log\n8", "reports.example.org/lo\n8"),
    ] {
        let note = KAT_NOTE.replacen(from, to, 1);
        assert_ne!(note, KAT_NOTE);
        assert!(
            matches!(verify(&note), Err(CheckpointError::BadSignature { .. })),
            "{from:?} -> {to:?}: {:?}",
            verify(&note)
        );
    }
}

#[test]
fn a_wrong_key_or_key_name_is_refused() {
    let other = SigningSecret::from_seed(&[8; 32])
        .verifying_key()
        .to_bytes();
    assert_eq!(
        SignedCheckpoint::parse_and_verify(KAT_NOTE.as_bytes(), ORIGIN, &other),
        Err(CheckpointError::NoValidSignature {
            name: ORIGIN.into()
        })
    );
    assert!(matches!(
        SignedCheckpoint::parse_and_verify(
            KAT_NOTE.as_bytes(),
            "reports.example.org/log2",
            &log_public()
        ),
        Err(CheckpointError::NoValidSignature { .. })
    ));
    // A pinned key that is not a valid Ed25519 key.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert_eq!(
        SignedCheckpoint::parse_and_verify(KAT_NOTE.as_bytes(), ORIGIN, &identity),
        Err(CheckpointError::InvalidKey)
    );
}

#[test]
fn a_truncated_or_mangled_signature_is_refused() {
    let line_start = KAT_NOTE.find("— ").unwrap();
    let sig_end = KAT_NOTE.len() - 1;
    // Four base64 characters fewer: three bytes of signature missing.
    let short = format!("{}{}", &KAT_NOTE[..sig_end - 4], "\n");
    assert!(matches!(
        verify(&short),
        Err(CheckpointError::BadSignature { .. })
    ));
    // One character fewer: not base64 any more.
    let short = format!("{}{}", &KAT_NOTE[..sig_end - 1], "\n");
    assert!(matches!(
        verify(&short),
        Err(CheckpointError::MalformedNote(_))
    ));
    // Only the key ID left.
    let id_only = format!(
        "{}— {ORIGIN} {}\n",
        &KAT_NOTE[..line_start],
        BASE64.encode(&key_id(ORIGIN, SIG_TYPE_ED25519, &log_public()))
    );
    assert!(matches!(
        verify(&id_only),
        Err(CheckpointError::MalformedNote(_))
    ));
    // Non-canonical base64 (non-zero trailing bits) of the same bytes.
    let noncanonical = KAT_NOTE.replacen("jgk=\n", "jgl=\n", 1);
    assert!(matches!(
        verify(&noncanonical),
        Err(CheckpointError::MalformedNote(_))
    ));
}

#[test]
fn a_note_signed_only_by_an_unknown_key_is_refused() {
    let body = checkpoint8().body();
    let note = raw_signed_note(&body, "someone.example/key", &[8; 32]);
    assert_eq!(
        verify(&note).unwrap_err(),
        CheckpointError::NoValidSignature {
            name: ORIGIN.into()
        }
    );
    // The same key under the log's name is a different key ID: unknown too.
    let note = raw_signed_note(&body, ORIGIN, &[8; 32]);
    assert!(matches!(
        verify(&note),
        Err(CheckpointError::NoValidSignature { .. })
    ));
    // With the log's line added, the unknown line is ignored.
    let mixed = format!("{}{}", note, &KAT_NOTE[body.len() + 1..]);
    assert_eq!(verify(&mixed).unwrap().checkpoint(), &checkpoint8());
}

#[test]
fn oversized_notes_are_refused() {
    let filler = format!("— x.example/k {}\n", BASE64.encode(&[0u8; 68]));
    let many = filler.repeat(MAX_NOTE_LEN / filler.len() + 1);
    let huge = format!("{KAT_NOTE}{many}");
    assert!(matches!(
        verify(&huge),
        Err(CheckpointError::TooLong {
            max: MAX_NOTE_LEN,
            ..
        })
    ));
    let short_filler = "— x AAAAAAA=\n".repeat(MAX_SIGNATURES);
    let too_many = format!("{KAT_NOTE}{short_filler}");
    assert!(too_many.len() <= MAX_NOTE_LEN);
    assert_eq!(
        verify(&too_many),
        Err(CheckpointError::TooManySignatures {
            max: MAX_SIGNATURES
        })
    );
    // A body that alone is too long.
    let long_origin = "a".repeat(MAX_NOTE_LEN);
    assert!(matches!(
        verify(&raw_signed_note(
            &format!("{long_origin}\n8\nAA==\n"),
            ORIGIN,
            &LOG_SEED
        )),
        Err(CheckpointError::TooLong { .. })
    ));
}

/// Bodies that are validly signed by the log key under its name, and still
/// refused by the body parser.
#[test]
fn validly_signed_malformed_bodies_are_refused() {
    let root = BASE64.encode(&root8());
    let cases: [(String, CheckpointError); 13] = [
        (
            format!("{ORIGIN}\n007\n{root}\n"),
            CheckpointError::InvalidSize,
        ),
        (
            format!("{ORIGIN}\n00\n{root}\n"),
            CheckpointError::InvalidSize,
        ),
        (
            format!("{ORIGIN}\n+8\n{root}\n"),
            CheckpointError::InvalidSize,
        ),
        (
            format!("{ORIGIN}\n\n{root}\n"),
            CheckpointError::InvalidSize,
        ),
        (
            format!("{ORIGIN}\n18446744073709551616\n{root}\n"),
            CheckpointError::InvalidSize,
        ),
        (
            format!("{ORIGIN}\n8\n{}\n", BASE64.encode(&[0u8; 31])),
            CheckpointError::InvalidRoot,
        ),
        (
            format!("{ORIGIN}\n8\n{}\n", &root[..43]),
            CheckpointError::InvalidRoot,
        ),
        (
            format!("{ORIGIN}\n8\n{root}\nextension\n"),
            CheckpointError::ExtensionLines,
        ),
        (
            format!("{ORIGIN}\n8\n{root}\nsealdrop-heads {root}\nextension\n"),
            CheckpointError::ExtensionLines,
        ),
        (
            format!("{ORIGIN}\n8\n{root}\nsealdrop-heads {}\n", &root[..43]),
            CheckpointError::InvalidRoot,
        ),
        (
            format!("{ORIGIN}\n8\n{root}\nsealdrop-heads  {root}\n"),
            CheckpointError::InvalidRoot,
        ),
        (
            format!("{ORIGIN}\n8\n"),
            CheckpointError::MalformedBody("the body must have three lines"),
        ),
        (
            format!("{ORIGIN}\n8\n{root}\n\n"),
            CheckpointError::ExtensionLines,
        ),
    ];
    for (body, expected) in cases {
        let note = raw_signed_note(&body, ORIGIN, &LOG_SEED);
        assert_eq!(verify(&note), Err(expected), "{body:?}");
    }
    // The largest size is fine.
    let body = format!("{ORIGIN}\n18446744073709551615\n{root}\n");
    assert_eq!(
        verify(&raw_signed_note(&body, ORIGIN, &LOG_SEED))
            .unwrap()
            .checkpoint()
            .size(),
        u64::MAX
    );
}

#[test]
fn control_characters_and_a_missing_final_newline_are_refused() {
    for control in ["\0", "\r", "\t", "\x1b"] {
        let note = KAT_NOTE.replacen("reports.", &format!("reports{control}."), 1);
        assert_eq!(
            verify(&note),
            Err(CheckpointError::ControlCharacter),
            "{control:?}"
        );
    }
    let crlf = KAT_NOTE.replace('\n', "\r\n");
    assert_eq!(verify(&crlf), Err(CheckpointError::ControlCharacter));
    let no_final_newline = &KAT_NOTE[..KAT_NOTE.len() - 1];
    assert!(matches!(
        verify(no_final_newline),
        Err(CheckpointError::MalformedNote(_))
    ));
    let no_blank_line = KAT_NOTE.replacen("=\n\n", "=\n", 1);
    assert!(matches!(
        verify(&no_blank_line),
        Err(CheckpointError::MalformedNote(_))
    ));
    assert!(matches!(verify(""), Err(CheckpointError::MalformedNote(_))));
    // A signature line with a hyphen instead of the em dash.
    let hyphen = KAT_NOTE.replacen("— ", "- ", 1);
    assert!(matches!(
        verify(&hyphen),
        Err(CheckpointError::MalformedNote(_))
    ));
}

#[test]
fn origins_must_be_key_names() {
    for bad in [
        "",
        "reports.example.org/log ",
        "reports example",
        "a+b",
        "nul\0",
        "tab\t",
        "line\nbreak",
        "nbsp\u{a0}",
        "del\u{7f}",
    ] {
        assert!(
            matches!(
                Checkpoint::new(bad, 1, root8()),
                Err(CheckpointError::InvalidOrigin(_))
            ),
            "{bad:?}"
        );
    }
    assert!(Checkpoint::new("a".repeat(257), 1, root8()).is_err());
    Checkpoint::new("a".repeat(256), 1, root8()).unwrap();
    Checkpoint::new("oid/1.3.6.1.4.1.44363.47.1", 1, root8()).unwrap();
}

/// Domain separation (`log::checkpoint` docs): every sealdrop label holds a
/// NUL, and a note holding a NUL is refused before any signature check, so
/// a labelled message can never pass as a note text, nor the reverse.
#[test]
fn labelled_messages_can_never_be_note_texts() {
    for (name, label) in labels::ALL {
        assert!(label.contains(&0), "{name}");
        let mut forged = label.to_vec();
        forged.extend_from_slice(b"\n8\nAA==\n\n- x AAAAAAA=\n");
        assert_eq!(
            Note::parse(&forged),
            Err(CheckpointError::ControlCharacter),
            "{name}"
        );
    }
    assert!(!checkpoint8().body().contains('\0'));
    assert!(!cosigned_message(&checkpoint8(), TIME).contains('\0'));
    // Nor is a cosigned message ever a checkpoint body.
    assert!(Checkpoint::parse_body(&cosigned_message(&checkpoint8(), TIME)).is_err());
}

#[test]
fn every_byte_flip_and_every_truncation_of_the_note_is_refused() {
    let bytes = KAT_NOTE.as_bytes();
    for i in 0..bytes.len() {
        for bit in [0x01, 0x20, 0x80] {
            let mut flipped = bytes.to_vec();
            flipped[i] ^= bit;
            assert!(
                SignedCheckpoint::parse_and_verify(&flipped, ORIGIN, &log_public()).is_err(),
                "flip {bit:#x} at {i}"
            );
        }
    }
    for len in 0..bytes.len() {
        assert!(
            SignedCheckpoint::parse_and_verify(&bytes[..len], ORIGIN, &log_public()).is_err(),
            "truncated to {len}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_input_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = Note::parse(&bytes);
        let _ = SignedCheckpoint::parse_and_verify(&bytes, ORIGIN, &log_public());
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = Checkpoint::parse_body(text);
        }
    }

    #[test]
    fn arbitrary_lines_after_the_note_never_panic(tail in "[— a-zA-Z0-9+/=\n]{0,200}") {
        let note = format!("{KAT_NOTE}{tail}");
        let _ = verify(&note);
    }
}

// Cosignatures.

#[test]
fn cosignatures_round_trip_and_count_distinct_witnesses() {
    let keys: Vec<SigningSecret> = (1..=4u8)
        .map(|i| SigningSecret::from_seed(&[0x40 + i; 32]))
        .collect();
    let names = [
        "w1.example/w",
        "w2.example/w",
        "w3.example/w",
        "w4.example/w",
    ];
    let witnesses: Vec<Witness> = keys
        .iter()
        .zip(names)
        .map(|(k, n)| Witness::new(n, k.verifying_key().as_bytes()).unwrap())
        .collect();

    let mut signed = SignedCheckpoint::sign(checkpoint8(), &log_key());
    assert_eq!(count_cosignatures(&signed, &witnesses), Ok(0));
    // Witnesses 1 and 2 cosign, 2 twice (a later timestamp); an unknown
    // witness cosigns too.
    for (key, name, time) in [
        (&keys[0], names[0], TIME),
        (&keys[1], names[1], TIME),
        (&keys[1], names[1], TIME + 60),
    ] {
        let line = cosign(signed.checkpoint(), name, key, time).unwrap();
        assert_eq!(
            verify_cosignature(
                signed.checkpoint(),
                &line,
                &witnesses[names.iter().position(|n| *n == name).unwrap()]
            ),
            Ok(time)
        );
        signed.add_signature(line).unwrap();
    }
    let stranger = SigningSecret::from_seed(&[0x50; 32]);
    signed
        .add_signature(cosign(signed.checkpoint(), "stranger.example/w", &stranger, TIME).unwrap())
        .unwrap();

    // What a client receives, parsed afresh.
    let received = verify(&signed.to_text()).unwrap();
    assert_eq!(received, signed);
    assert_eq!(count_cosignatures(&received, &witnesses), Ok(2));
    assert_eq!(require_cosignatures(&received, &witnesses, 2), Ok(2));
    assert_eq!(
        require_cosignatures(&received, &witnesses, 3),
        Err(CheckpointError::NotEnoughCosignatures { have: 2, need: 3 })
    );
    // A witness listed twice, or one key under two names, counts once.
    let mut doubled = witnesses.clone();
    doubled.push(witnesses[0].clone());
    assert_eq!(count_cosignatures(&received, &doubled), Ok(2));
    let mut renamed = received.clone();
    renamed
        .add_signature(cosign(renamed.checkpoint(), "alias.example/w", &keys[0], TIME).unwrap())
        .unwrap();
    let alias = Witness::new("alias.example/w", keys[0].verifying_key().as_bytes()).unwrap();
    let with_alias = [witnesses[0].clone(), alias];
    assert_eq!(count_cosignatures(&renamed, &with_alias), Ok(1));
}

#[test]
fn a_wrong_timestamp_or_checkpoint_is_refused() {
    let w = witness(&WITNESS_SEED, WITNESS);
    let line = cosign(
        &checkpoint8(),
        WITNESS,
        &SigningSecret::from_seed(&WITNESS_SEED),
        TIME,
    )
    .unwrap();
    // Another timestamp in the line than the one signed.
    let mut retimed = line.clone();
    retimed.signature[..8].copy_from_slice(&(TIME + 1).to_be_bytes());
    assert!(matches!(
        verify_cosignature(&checkpoint8(), &retimed, &w),
        Err(CheckpointError::BadSignature { .. })
    ));
    // A timestamp above 2^63 - 1.
    let mut huge = line.clone();
    huge.signature[..8].copy_from_slice(&(1u64 << 63).to_be_bytes());
    assert_eq!(
        verify_cosignature(&checkpoint8(), &huge, &w),
        Err(CheckpointError::TimestampOutOfRange)
    );
    assert_eq!(
        cosign(
            &checkpoint8(),
            WITNESS,
            &SigningSecret::from_seed(&WITNESS_SEED),
            1 << 63
        ),
        Err(CheckpointError::TimestampOutOfRange)
    );
    cosign(
        &checkpoint8(),
        WITNESS,
        &SigningSecret::from_seed(&WITNESS_SEED),
        (1 << 63) - 1,
    )
    .unwrap();
    // Another checkpoint.
    let other = Checkpoint::new(ORIGIN, 9, root8()).unwrap();
    assert!(matches!(
        verify_cosignature(&other, &line, &w),
        Err(CheckpointError::BadSignature { .. })
    ));
    // Truncated or extended payloads.
    for len in [0, 8, 71, 73] {
        let mut cut = line.clone();
        cut.signature.resize(len, 0);
        assert!(
            verify_cosignature(&checkpoint8(), &cut, &w).is_err(),
            "len {len}"
        );
    }
    // Another witness's line, or this line under another witness.
    let v = witness(&[10; 32], "witness.example.org/w2");
    assert!(matches!(
        verify_cosignature(&checkpoint8(), &line, &v),
        Err(CheckpointError::NoValidSignature { .. })
    ));
    // A plain Ed25519 note signature by the witness key (type 0x01) is not
    // a cosignature: another key ID.
    let plain = NoteSignature {
        key_id: key_id(WITNESS, SIG_TYPE_ED25519, w.public_key()),
        ..line.clone()
    };
    assert!(matches!(
        verify_cosignature(&checkpoint8(), &plain, &w),
        Err(CheckpointError::NoValidSignature { .. })
    ));
}

#[test]
fn a_bad_line_from_a_trusted_witness_refuses_the_note() {
    let w = witness(&WITNESS_SEED, WITNESS);
    let mut signed = verify(KAT_NOTE).unwrap();
    let mut line = cosign(
        signed.checkpoint(),
        WITNESS,
        &SigningSecret::from_seed(&WITNESS_SEED),
        TIME,
    )
    .unwrap();
    line.signature[20] ^= 1;
    signed.add_signature(line).unwrap();
    let received = verify(&signed.to_text()).unwrap();
    assert!(matches!(
        count_cosignatures(&received, &[w]),
        Err(CheckpointError::BadSignature { .. })
    ));
}

#[test]
fn witness_and_cosigner_names_are_checked() {
    let key = SigningSecret::from_seed(&WITNESS_SEED);
    assert_eq!(
        Witness::new("bad name", key.verifying_key().as_bytes()),
        Err(CheckpointError::InvalidKeyName)
    );
    assert_eq!(
        cosign(&checkpoint8(), "a+b", &key, TIME),
        Err(CheckpointError::InvalidKeyName)
    );
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert_eq!(
        Witness::new(WITNESS, &identity),
        Err(CheckpointError::InvalidKey)
    );
}

#[test]
fn add_signature_keeps_notes_within_the_limits() {
    let mut signed = SignedCheckpoint::sign(checkpoint8(), &log_key());
    let filler = NoteSignature {
        name: "x".into(),
        key_id: [0; 4],
        signature: vec![0; 64],
    };
    let mut added = 0;
    while signed.add_signature(filler.clone()).is_ok() {
        added += 1;
    }
    assert_eq!(added, MAX_SIGNATURES - 1);
    // Whatever was built parses again.
    assert_eq!(verify(&signed.to_text()).unwrap(), signed);
    let long = NoteSignature {
        name: "y".repeat(256),
        key_id: [0; 4],
        signature: vec![0; 4000],
    };
    let mut signed = SignedCheckpoint::sign(checkpoint8(), &log_key());
    let mut added = 0;
    while signed.add_signature(long.clone()).is_ok() {
        added += 1;
    }
    assert!(added < 4);
    assert!(signed.to_text().len() <= MAX_NOTE_LEN);
    verify(&signed.to_text()).unwrap();
}
