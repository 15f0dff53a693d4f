//! `{:?}` of every secret-bearing type prints no secret bytes.

// Tests may panic: a failed expectation should stop the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TestRng, World};
use sealdrop_proto::SecretIdentity;
use sealdrop_proto::invite::{InviteBundle, InviteToken, ServerPins};
use sealdrop_proto::report::ContentKey;

/// Every rendering of `secret` that a leaky Debug would produce: lowercase
/// and uppercase hex of any 4-byte window, and Rust's `[a, b, c` list form.
fn leaks(debug: &str, secret: &[u8]) -> Option<String> {
    for window in secret.windows(4) {
        let hex: String = window.iter().map(|b| format!("{b:02x}")).collect();
        if debug.contains(&hex) || debug.contains(&hex.to_uppercase()) {
            return Some(hex);
        }
    }
    let list = format!("[{}, {}, {}", secret[0], secret[1], secret[2]);
    debug.contains(&list).then_some(list)
}

#[test]
fn debug_output_of_secrets_contains_no_secret_bytes() {
    let mut rng = TestRng::new(b"secrets");
    let id = SecretIdentity::generate(&mut rng);
    let secret = id.to_secret_bytes();
    for (what, debug) in [
        ("SecretIdentity", format!("{id:?}")),
        ("SigningSecret", format!("{:?}", id.signing())),
        ("DecryptionSecret", format!("{:?}", id.decryption())),
        ("SecretIdentity pretty", format!("{id:#?}")),
    ] {
        assert_eq!(leaks(&debug, &secret[..32]), None, "{what}: {debug}");
        assert_eq!(leaks(&debug, &secret[32..]), None, "{what}: {debug}");
    }
    // The public half is shown, so the check above would notice a leak of
    // the same form.
    let public_hex: String = id
        .public()
        .signing_key()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(format!("{:?}", id.signing()).contains(&public_hex));

    let key = ContentKey::from_bytes([0x5a; 32]);
    assert_eq!(leaks(&format!("{key:?}"), key.expose_bytes()), None);

    let token = InviteToken::generate(&mut rng);
    assert_eq!(leaks(&format!("{token:?}"), token.expose_bytes()), None);
}

#[test]
fn debug_of_composite_values_holding_secrets_leaks_nothing() {
    let mut w = World::new(b"composite");
    let pins = ServerPins {
        server_url: "https://x.example".into(),
        tls_cert_sha256: None,
        log_key: *SecretIdentity::generate(&mut w.rng).public().signing_key(),
        log_origin: "x.example".into(),
    };
    let bundle = InviteBundle::create(&w.v2, &w.manager, &pins, 1, 2, &mut w.rng).unwrap();
    let debug = format!("{bundle:?}");
    assert_eq!(leaks(&debug, bundle.token.expose_bytes()), None, "{debug}");
    // The enrolment carries the token until the server has it.
    let shopper = SecretIdentity::generate(&mut w.rng);
    let enrolment = sealdrop_proto::invite::Enrolment::sign(&bundle, &shopper, 1, 0);
    let debug = format!("{enrolment:?} {:?}", enrolment.unverified_body());
    assert_eq!(leaks(&debug, bundle.token.expose_bytes()), None, "{debug}");

    let v2 = w.v2.clone();
    let sealed = w.seal(&v2, b"{}", &[]);
    let record = sealed.report.record().verify().unwrap();
    let env = sealed
        .report
        .envelopes
        .iter()
        .find(|e| e.recipient == w.manager.id())
        .unwrap();
    let key = record.unwrap_key(env, &w.manager).unwrap();
    let opener = record.opener(&key).unwrap();
    let debug = format!("{opener:?} {key:?}");
    assert_eq!(leaks(&debug, key.expose_bytes()), None, "{debug}");
    assert_eq!(
        leaks(&format!("{:?}", sealed.key), sealed.key.expose_bytes()),
        None
    );
}
