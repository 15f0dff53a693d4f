//! Known-answer vectors for every message type and the sealed report.
//!
//! Each file in `tests/vectors/` says what it tests and the expected result,
//! then lists hex fields. Two checks per file:
//! 1. regenerating it from its seed gives exactly the file's bytes (so any
//!    change to an encoding, label or derivation shows up as a diff);
//! 2. the bytes *in the file* decode and check to the stated result (so the
//!    file is also a vector for independent implementations).
//!
//! `SEALDROP_BLESS=1 cargo test --test vectors` rewrites the files after an
//! intended format change; review the diff.

// Tests may panic: a failed expectation should stop the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::TestRng;
use data_encoding::HEXLOWER;
use sealdrop_proto::codec::{Decode, Encode};
use sealdrop_proto::descriptor::{
    DescriptorChain, DescriptorError, ProgramDescriptor, SignedDescriptor, hash_of,
};
use sealdrop_proto::hash::questionnaire_digest;
use sealdrop_proto::invite::{
    Enrolment, InviteBundle, ServerPins, SignedEnrolment, enrolment_commitment,
    verify_shopper_chain,
};
use sealdrop_proto::keys::SigningSecret;
use sealdrop_proto::messages::{Acknowledgement, AuthPurpose, AuthResponse, DeletionRequest};
use sealdrop_proto::report::grant::verify_grant;
use sealdrop_proto::report::{
    AttachmentMeta, GrantRecord, ReportContent, ReportError, ReportSealer, SealedReport,
    SignedGrant,
};
use sealdrop_proto::signed::Signed;
use sealdrop_proto::{DescriptorFingerprint, ProgramId, PublicIdentity, SecretIdentity};

const T0: u64 = 1_790_000_000;

struct Vector {
    name: &'static str,
    tests: &'static str,
    expect: &'static str,
    seed: &'static str,
    fields: Vec<(&'static str, Vec<u8>)>,
}

impl Vector {
    fn render(&self) -> String {
        let mut s = format!(
            "# sealdrop test vector: {}\n# tests: {}\n# expect: {}\nseed: {}\n",
            self.name, self.tests, self.expect, self.seed
        );
        for (k, v) in &self.fields {
            s.push_str(&format!("{k}: {}\n", HEXLOWER.encode(v)));
        }
        s
    }
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn parse(text: &str) -> (String, BTreeMap<String, Vec<u8>>) {
    let mut expect = String::new();
    let mut fields = BTreeMap::new();
    for line in text.lines() {
        if let Some(e) = line.strip_prefix("# expect: ") {
            expect = e.to_owned();
        } else if let Some((k, v)) = line.split_once(": ")
            && !line.starts_with('#')
            && k != "seed"
        {
            fields.insert(k.to_owned(), HEXLOWER.decode(v.as_bytes()).unwrap());
        }
    }
    (expect, fields)
}

/// A small cast: a manager, a reviewer, a shopper, a server log key.
struct Cast {
    rng: TestRng,
    manager: SecretIdentity,
    reviewer: SecretIdentity,
    shopper: SecretIdentity,
    log: SigningSecret,
    v1: SignedDescriptor,
    v2: SignedDescriptor,
}

fn cast(seed: &str) -> Cast {
    let mut rng = TestRng::new(seed.as_bytes());
    let manager = SecretIdentity::generate(&mut rng);
    let reviewer = SecretIdentity::generate(&mut rng);
    let shopper = SecretIdentity::generate(&mut rng);
    let log = SigningSecret::generate(&mut rng);
    let program = ProgramId::random(&mut rng);
    let v1 = ProgramDescriptor::first(
        program,
        "Vector program",
        manager.public(),
        questionnaire_digest(b"questionnaire v1"),
        180,
        T0,
    )
    .unwrap()
    .sign(&manager)
    .unwrap();
    let mut next = ProgramDescriptor::successor(&v1, T0 + 60);
    next.add_recipient(reviewer.public());
    // The witness of docs/PROTOCOL.md §14.9's cosignature known answer.
    next.set_witnesses(
        vec![sealdrop_proto::descriptor::ProgramWitness {
            name: "witness.example.org/w1".into(),
            key: SigningSecret::from_seed(&[9; 32])
                .verifying_key()
                .to_bytes(),
        }],
        1,
        7200,
    );
    let v2 = next.sign(&manager).unwrap();
    Cast {
        rng,
        manager,
        reviewer,
        shopper,
        log,
        v1,
        v2,
    }
}

fn pins(c: &Cast) -> ServerPins {
    ServerPins {
        server_url: "https://sealdrop.example".into(),
        tls_cert_sha256: None,
        log_key: c.log.verifying_key().to_bytes(),
        log_origin: "sealdrop.example/log".into(),
    }
}

fn seal_report(c: &mut Cast) -> (SealedReport, [u8; 32], Vec<Vec<u8>>, ReportContent, Vec<u8>) {
    let content = ReportContent {
        answers: br#"{"greeted":"yes","wait_minutes":4}"#.to_vec(),
        attachments: vec![AttachmentMeta {
            file_name: "receipt.png".into(),
            captured_at: Some(T0 - 600),
            media_type: "image/png".into(),
        }],
    };
    let file: Vec<u8> = (0u8..100).collect();
    let d = c.v2.unverified_body().clone();
    let mut sealer = ReportSealer::new(&c.shopper, &d, T0 * 1000 + 123, &mut c.rng).unwrap();
    let mut streams = vec![Vec::new(), Vec::new()];
    sealer.seal_content(&content, &mut streams[0]).unwrap();
    sealer
        .seal_attachment(&mut file.as_slice(), &mut streams[1])
        .unwrap();
    let (report, key) = sealer.finish(&mut c.rng).unwrap();
    (report, *key.expose_bytes(), streams, content, file)
}

fn generate() -> Vec<Vector> {
    let mut out = Vec::new();

    let seed = "person-id";
    let mut rng = TestRng::new(seed.as_bytes());
    let alice = SecretIdentity::generate(&mut rng);
    let p = alice.public();
    out.push(Vector {
        name: "person-id",
        tests: "PersonId = first 20 bytes of SHA-256(label || ed25519 pk || x25519 pk); typed, fingerprint and bundle forms (UTF-8 bytes)",
        expect: "valid",
        seed,
        fields: vec![
            ("ed25519_public", p.signing_key().to_vec()),
            ("x25519_public", p.decryption_key().to_vec()),
            ("person_id", p.id().as_bytes().to_vec()),
            ("person_id_text", p.id().to_string().into_bytes()),
            ("fingerprint_text", p.id().fingerprint().to_string().into_bytes()),
            ("key_bundle_text", p.to_bundle().into_bytes()),
        ],
    });

    let seed = "auth-response";
    let mut rng = TestRng::new(seed.as_bytes());
    let alice = SecretIdentity::generate(&mut rng);
    let auth = Signed::sign(
        AuthResponse {
            origin: "https://sealdrop.example".into(),
            purpose: AuthPurpose::Session,
            nonce: [0x42; 32],
            time: T0,
            person: alice.id(),
        },
        alice.signing(),
    );
    out.push(Vector {
        name: "auth-response",
        tests: "signed<auth_response> verifies under the signer's key",
        expect: "valid",
        seed,
        fields: vec![
            ("signer_identity", alice.public().to_bytes()),
            ("signed", auth.to_bytes()),
        ],
    });

    let seed = "descriptor";
    let c = cast(seed);
    out.push(Vector {
        name: "program-descriptor",
        tests: "a chain of signed<descriptor> v1 (genesis) and v2 (adds a recipient and a witness, threshold 1, cosignatures at most 2 h old), signed by the manager; v2's hash and the descriptor fingerprint read out to confirm it",
        expect: "valid",
        seed,
        fields: vec![
            ("v1", c.v1.to_bytes()),
            ("v2", c.v2.to_bytes()),
            ("v2_hash", hash_of(&c.v2).to_vec()),
            (
                "v2_fingerprint_text",
                DescriptorFingerprint::of_hash(&hash_of(&c.v2))
                    .to_string()
                    .into_bytes(),
            ),
        ],
    });
    out.push(Vector {
        name: "program-descriptor-rollback",
        tests: "after verifying v2, being offered v1 again",
        expect: "error Rollback",
        seed,
        fields: vec![("v1", c.v1.to_bytes()), ("v2", c.v2.to_bytes())],
    });
    let mut bad = ProgramDescriptor::successor(&c.v2, T0 + 120);
    bad.retention_days = 1;
    let bad = bad.sign(&c.reviewer).unwrap();
    out.push(Vector {
        name: "program-descriptor-non-manager",
        tests: "v3 signed by a recipient who is not a manager of v2",
        expect: "error UnauthorisedSigner",
        seed,
        fields: vec![
            ("v1", c.v1.to_bytes()),
            ("v2", c.v2.to_bytes()),
            ("v3", bad.to_bytes()),
        ],
    });

    let seed = "invite";
    let mut c = cast(seed);
    let pins = pins(&c);
    let bundle =
        InviteBundle::create(&c.v2, &c.manager, &pins, T0, T0 + 86_400, &mut c.rng).unwrap();
    let enrolment = Enrolment::sign(&bundle, &c.shopper, T0 + 100, 7);
    out.push(Vector {
        name: "shopper-invite-and-enrolment",
        tests: "invite text (UTF-8) parsed at issued_at + 50; the commitment the shopper has logged (at leaf 7) before revealing the token; enrolment reveals the token, names leaf 7, opens the commitment, and chains shopper -> invite -> manager of v2",
        expect: "valid",
        seed,
        fields: vec![
            ("descriptor_v2", c.v2.to_bytes()),
            ("invite_text", bundle.to_text().into_bytes()),
            (
                "commitment",
                enrolment_commitment(bundle.token.expose_bytes(), &c.shopper.public()).to_vec(),
            ),
            ("enrolment", enrolment.to_bytes()),
        ],
    });

    let seed = "report";
    let mut c = cast(seed);
    let (report, key, streams, content, file) = seal_report(&mut c);
    let reviewer_secret = c.reviewer.to_secret_bytes().to_vec();
    let report_fields = |report: &SealedReport, streams: &[Vec<u8>]| {
        vec![
            ("recipient_secret", reviewer_secret.clone()),
            ("sealed_report", report.to_bytes()),
            ("stream0", streams[0].clone()),
            ("stream1", streams[1].clone()),
            ("content_key", key.to_vec()),
            ("content", content.to_bytes()),
            ("attachment", file.clone()),
        ]
    };
    out.push(Vector {
        name: "sealed-report",
        tests: "a report with answers and one 100-byte attachment sealed to v2 (manager, reviewer); the reviewer opens it",
        expect: "valid",
        seed,
        fields: report_fields(&report, &streams),
    });
    let mut bad_sig = report.clone();
    bad_sig.signature[10] ^= 1;
    out.push(Vector {
        name: "sealed-report-bad-signature",
        tests: "the same report with one signature bit flipped",
        expect: "error BadSignature",
        seed,
        fields: report_fields(&bad_sig, &streams),
    });
    let mut flipped = streams.clone();
    flipped[1][3] ^= 1;
    out.push(Vector {
        name: "sealed-report-altered-chunk",
        tests: "the same report with one ciphertext bit of the attachment flipped",
        expect: "error DecryptionFailed",
        seed,
        fields: report_fields(&report, &flipped),
    });

    let seed = "grant";
    let mut c = cast(seed);
    let (report, key_bytes, _, _, _) = seal_report(&mut c);
    let record = report.record().verify().unwrap();
    let newcomer = SecretIdentity::generate(&mut c.rng);
    let mut next = ProgramDescriptor::successor(&c.v2, T0 + 300);
    next.add_recipient(newcomer.public());
    let v3 = next.sign(&c.manager).unwrap();
    let key = sealdrop_proto::report::ContentKey::from_bytes(key_bytes);
    let env = record
        .wrap_for(&key, &newcomer.public(), &mut c.rng)
        .unwrap();
    let grant = GrantRecord {
        program_id: v3.unverified_body().program_id,
        descriptor_version: 3,
        recipient: newcomer.public(),
        granted_at: T0 + 301,
        envelopes: vec![(report.report_id(), env.hash())],
    }
    .sign(&c.manager, v3.unverified_body())
    .unwrap();
    out.push(Vector {
        name: "grant-record",
        tests: "a manager-signed grant adding an envelope for a recipient added in v3",
        expect: "valid",
        seed,
        fields: vec![
            ("descriptor_v3", v3.to_bytes()),
            ("envelope", env.to_bytes()),
            ("grant", grant.to_bytes()),
        ],
    });

    let seed = "deletion-and-ack";
    let mut c = cast(seed);
    let (report, ..) = seal_report(&mut c);
    let deletion = Signed::sign(
        DeletionRequest {
            program_id: report.header.core.program_id,
            report_id: report.report_id(),
            shopper: c.shopper.id(),
            requested_at: T0 + 900,
        },
        c.shopper.signing(),
    );
    let ack = Signed::sign(
        Acknowledgement {
            log_origin: "sealdrop.example/log".into(),
            program_id: report.header.core.program_id,
            report_id: report.report_id(),
            sealed_report: report.hash(),
            received_at: T0 + 1,
        },
        &c.log,
    );
    out.push(Vector {
        name: "deletion-request-and-acknowledgement",
        tests: "a shopper's signed deletion request and the server's signed acknowledgement of the report",
        expect: "valid",
        seed,
        fields: vec![
            ("shopper_identity", c.shopper.public().to_bytes()),
            ("log_key", c.log.verifying_key().to_bytes().to_vec()),
            ("sealed_report", report.to_bytes()),
            ("deletion", deletion.to_bytes()),
            ("acknowledgement", ack.to_bytes()),
        ],
    });
    out
}

/// Checks a file's own bytes against its stated result; returns the outcome
/// as "valid" or "error <Name>".
fn check(name: &str, f: &BTreeMap<String, Vec<u8>>) -> String {
    let get = |k: &str| f.get(k).unwrap_or_else(|| panic!("{name}: no field {k}"));
    let text = |k: &str| String::from_utf8(get(k).clone()).unwrap();
    let descriptor = |k: &str| SignedDescriptor::from_bytes(get(k)).unwrap();
    let outcome = |r: Result<(), String>| match r {
        Ok(()) => "valid".to_owned(),
        Err(e) => format!("error {e}"),
    };
    let name_of = |e: &DescriptorError| {
        format!("{e:?}")
            .split([' ', '{'])
            .next()
            .unwrap()
            .to_owned()
    };
    match name {
        "person-id" => {
            let p = PublicIdentity::from_bytes(
                &get("ed25519_public")[..].try_into().unwrap(),
                &get("x25519_public")[..].try_into().unwrap(),
            )
            .unwrap();
            assert_eq!(&p.id().as_bytes()[..], &get("person_id")[..]);
            assert_eq!(p.id().to_string(), text("person_id_text"));
            assert_eq!(p.id().fingerprint().to_string(), text("fingerprint_text"));
            assert_eq!(
                text("key_bundle_text").parse::<PublicIdentity>().unwrap(),
                p
            );
            "valid".into()
        }
        "auth-response" => {
            let signer = PublicIdentity::from_bytes_slice(get("signer_identity"));
            let auth = Signed::<AuthResponse>::from_bytes(get("signed")).unwrap();
            outcome(
                auth.verify_by(&signer)
                    .map(|_| ())
                    .map_err(|e| format!("{e:?}")),
            )
        }
        "program-descriptor" | "program-descriptor-rollback" | "program-descriptor-non-manager" => {
            let mut chain =
                DescriptorChain::verify_from_genesis([descriptor("v1"), descriptor("v2")]).unwrap();
            if name == "program-descriptor" {
                let v2 = descriptor("v2");
                assert_eq!(&hash_of(&v2)[..], &get("v2_hash")[..]);
                let fp = DescriptorFingerprint::parse(&text("v2_fingerprint_text")).unwrap();
                assert_eq!(fp, DescriptorFingerprint::of_hash(&hash_of(&v2)));
                assert_eq!(&fp.as_bytes()[..], &get("v2_hash")[..20]);
            }
            let r = match name {
                "program-descriptor" => Ok(()),
                "program-descriptor-rollback" => chain.accept([descriptor("v1")]).map(|_| ()),
                _ => chain.advance(descriptor("v3")),
            };
            outcome(r.map_err(|e| name_of(&e)))
        }
        "shopper-invite-and-enrolment" => {
            let v2 = descriptor("descriptor_v2");
            let bundle = InviteBundle::parse(&text("invite_text"), T0 + 50).unwrap();
            let enrolment = SignedEnrolment::from_bytes(get("enrolment")).unwrap();
            let body = enrolment.unverified_body();
            assert_eq!(&body.commitment()[..], &get("commitment")[..]);
            assert_eq!(
                body.commitment(),
                enrolment_commitment(bundle.token.expose_bytes(), &body.shopper)
            );
            assert_eq!(body.commitment_leaf, 7);
            outcome(
                verify_shopper_chain(&enrolment, &bundle.invite, &v2)
                    .map(|_| ())
                    .map_err(|e| format!("{e:?}")),
            )
        }
        n if n.starts_with("sealed-report") => {
            let me =
                SecretIdentity::from_secret_bytes(&get("recipient_secret")[..].try_into().unwrap());
            let report = SealedReport::from_bytes(get("sealed_report")).unwrap();
            let r = (|| -> Result<(), ReportError> {
                let record = report.record().verify()?;
                let env = report
                    .envelopes
                    .iter()
                    .find(|e| e.recipient == me.id())
                    .unwrap();
                let key = record.unwrap_key(env, &me)?;
                assert_eq!(&key.expose_bytes()[..], &get("content_key")[..]);
                let opener = record.opener(&key)?;
                let content = opener.open_content(&mut get("stream0").as_slice())?;
                assert_eq!(content.to_bytes(), *get("content"));
                let mut file = Vec::new();
                opener.open_attachment(0, &mut get("stream1").as_slice(), &mut file)?;
                assert_eq!(&file, get("attachment"));
                Ok(())
            })();
            outcome(r.map_err(|e| {
                format!("{e:?}")
                    .split([' ', '{'])
                    .next()
                    .unwrap()
                    .to_owned()
            }))
        }
        "grant-record" => {
            let v3 = descriptor("descriptor_v3");
            let grant = SignedGrant::from_bytes(get("grant")).unwrap();
            let env = sealdrop_proto::report::Envelope::from_bytes(get("envelope")).unwrap();
            let body = verify_grant(&grant, v3.unverified_body()).unwrap();
            assert!(body.covers(&body.envelopes[0].0, &env.hash()));
            "valid".into()
        }
        "deletion-request-and-acknowledgement" => {
            let shopper = PublicIdentity::from_bytes_slice(get("shopper_identity"));
            let report = SealedReport::from_bytes(get("sealed_report")).unwrap();
            let deletion = Signed::<DeletionRequest>::from_bytes(get("deletion")).unwrap();
            let ack = Signed::<Acknowledgement>::from_bytes(get("acknowledgement")).unwrap();
            let d = deletion.verify_by(&shopper).unwrap();
            assert_eq!(d.report_id, report.report_id());
            let a = ack
                .verify_by_key(&get("log_key")[..].try_into().unwrap())
                .unwrap();
            assert_eq!(a.sealed_report, report.hash());
            "valid".into()
        }
        other => panic!("no checker for {other}"),
    }
}

trait FromSlice {
    fn from_bytes_slice(b: &[u8]) -> Self;
}

impl FromSlice for PublicIdentity {
    fn from_bytes_slice(b: &[u8]) -> Self {
        PublicIdentity::from_bytes(&b[..32].try_into().unwrap(), &b[32..].try_into().unwrap())
            .unwrap()
    }
}

#[test]
fn vector_files_match_regeneration_and_their_stated_results() {
    let bless = std::env::var_os("SEALDROP_BLESS").is_some();
    let vectors = generate();
    for v in &vectors {
        let path = dir().join(format!("{}.txt", v.name));
        let rendered = v.render();
        if bless {
            std::fs::create_dir_all(dir()).unwrap();
            std::fs::write(&path, &rendered).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with SEALDROP_BLESS=1)", path.display()));
        assert_eq!(on_disk, rendered, "{} differs from regeneration", v.name);
        let (expect, fields) = parse(&on_disk);
        assert_eq!(expect, v.expect);
        assert_eq!(check(v.name, &fields), expect, "{}", v.name);
    }
    let files = std::fs::read_dir(dir()).unwrap().count();
    assert_eq!(files, vectors.len(), "stale files in tests/vectors");
}
