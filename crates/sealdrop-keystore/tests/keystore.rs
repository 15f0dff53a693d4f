//! The keystore: round trip, every refusal, file modes, and a known-answer
//! vector that pins the format (docs/KEYSTORE.md).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt as _;

use rand_core::{TryCryptoRng, TryRng};
use sealdrop_keystore::{KdfParams, Keystore, KeystoreError, Passphrase};
use sealdrop_proto::SecretIdentity;

/// Cheap settings for tests that do not check the cost itself.
const FAST: KdfParams = KdfParams::MIN;

fn identity() -> SecretIdentity {
    SecretIdentity::from_secret_bytes(&[7u8; 64])
}

fn pass(s: &str) -> Passphrase {
    Passphrase::new(s.to_owned())
}

#[test]
fn round_trip_and_wrong_passphrase() {
    let ks = Keystore::create("Alice", &identity(), &pass("correct horse"), FAST).unwrap();
    assert_eq!(ks.id, identity().id().to_string());
    let back = Keystore::from_json(&ks.to_json()).unwrap();
    assert_eq!(
        back.unlock(&pass("correct horse")).unwrap().id(),
        identity().id()
    );
    assert!(matches!(
        back.unlock(&pass("correct hors")),
        Err(KeystoreError::WrongPassphrase)
    ));
}

#[test]
fn every_changed_field_is_refused() {
    let ks = Keystore::create("Alice", &identity(), &pass("pw"), FAST).unwrap();
    let json: serde_json::Value = serde_json::from_str(&ks.to_json()).unwrap();
    let other = SecretIdentity::from_secret_bytes(&[8u8; 64])
        .id()
        .to_string();
    let edits: Vec<(&str, serde_json::Value)> = vec![
        ("name", "Mallory".into()),
        ("id", other.into()),
        ("iterations", 3.into()),
        ("memory_kib", (KdfParams::MIN.memory_kib + 1).into()),
    ];
    for (field, value) in edits {
        let mut j = json.clone();
        if j.get(field).is_some() {
            j[field] = value;
        } else {
            j["kdf"][field] = value;
        }
        let edited = Keystore::from_json(&j.to_string()).unwrap();
        assert!(edited.unlock(&pass("pw")).is_err(), "{field}");
    }
    // A flipped ciphertext byte.
    let mut j = json.clone();
    // (A character in the middle: the last one also carries padding bits.)
    let mut ct: Vec<char> = j["ciphertext"].as_str().unwrap().chars().collect();
    ct[10] = if ct[10] == 'A' { 'B' } else { 'A' };
    j["ciphertext"] = ct.into_iter().collect::<String>().into();
    let edited = Keystore::from_json(&j.to_string()).unwrap();
    assert!(matches!(
        edited.unlock(&pass("pw")),
        Err(KeystoreError::WrongPassphrase)
    ));
}

#[test]
fn weak_settings_and_bad_names_are_refused() {
    let weak = KdfParams {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    };
    assert!(matches!(
        Keystore::create("A", &identity(), &pass("pw"), weak),
        Err(KeystoreError::WeakKdf)
    ));
    let ks = Keystore::create("A", &identity(), &pass("pw"), FAST).unwrap();
    let mut j: serde_json::Value = serde_json::from_str(&ks.to_json()).unwrap();
    j["kdf"]["memory_kib"] = 1024.into();
    let weakened = Keystore::from_json(&j.to_string()).unwrap();
    assert!(matches!(
        weakened.unlock(&pass("pw")),
        Err(KeystoreError::WeakKdf)
    ));
    assert!(matches!(
        Keystore::create(" ", &identity(), &pass("pw"), FAST),
        Err(KeystoreError::BadName)
    ));
}

#[test]
fn files_are_private_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keystore.json");
    let ks = Keystore::create("A", &identity(), &pass("pw"), FAST).unwrap();
    ks.write_new(&path).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(ks.write_new(&path).is_err());
    assert_eq!(Keystore::read(&path).unwrap(), ks);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(Keystore::read(&path).is_err());
}

#[test]
fn nothing_secret_prints() {
    let p = pass("hunter2");
    assert!(!format!("{p:?}").contains("hunter2"));
    let ks = Keystore::create("A", &identity(), &p, FAST).unwrap();
    let shown = format!("{ks:?}{}", ks.to_json());
    let secret = data_encoding_hex(&identity().to_secret_bytes()[..]);
    assert!(!shown.contains(&secret));
}

fn data_encoding_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Deterministic "randomness" for the vector: bytes 0, 1, 2, …
struct Counter(u8);

impl TryRng for Counter {
    type Error = std::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for d in dst {
            *d = self.0;
            self.0 = self.0.wrapping_add(1);
        }
        Ok(())
    }
}

impl TryCryptoRng for Counter {}

/// The known-answer vector in docs/KEYSTORE.md: secret bytes 07×64, name
/// "Alice", passphrase "correct horse battery staple", Argon2id 19 MiB × 2
/// × 1, salt 00..0f, nonce 10..1b. Regenerate the expected JSON with
/// SEALDROP_BLESS=1 after an intended format change, and update the doc.
#[test]
fn known_answer_vector() {
    let ks = Keystore::create_with(
        "Alice",
        &identity(),
        &pass("correct horse battery staple"),
        KdfParams::MIN,
        &mut Counter(0),
    )
    .unwrap();
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/keystore-v1.json");
    if std::env::var_os("SEALDROP_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, ks.to_json() + "\n").unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap();
    assert_eq!(ks.to_json(), expected.trim_end());
    // The stored vector unlocks to the stated secret.
    let stored = Keystore::from_json(&expected).unwrap();
    let secret = stored
        .unlock(&pass("correct horse battery staple"))
        .unwrap();
    assert_eq!(*secret.to_secret_bytes(), [7u8; 64]);
}
