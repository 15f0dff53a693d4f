//! The vault's known-answer vector, computed by an independent
//! implementation (Python's `cryptography`), in tests/vectors/vault-v1.json.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sealdrop_keystore::Vault;
use sealdrop_proto::SecretIdentity;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn the_vault_matches_its_known_answer_vector() {
    let v: serde_json::Value = serde_json::from_str(include_str!("vectors/vault-v1.json")).unwrap();
    let secret: [u8; 64] = hex(v["identity_secret_bytes_hex"].as_str().unwrap())
        .try_into()
        .unwrap();
    let nonce: [u8; 12] = hex(v["nonce_hex"].as_str().unwrap()).try_into().unwrap();
    let purpose = v["purpose"].as_str().unwrap();
    let plaintext = v["plaintext_utf8"].as_str().unwrap().as_bytes();
    let expected = hex(v["sealed_hex"].as_str().unwrap());

    let vault = Vault::new(&SecretIdentity::from_secret_bytes(&secret));
    assert_eq!(vault.seal_with_nonce(purpose, plaintext, nonce), expected);
    assert_eq!(&*vault.open(purpose, &expected).unwrap(), plaintext);
}
