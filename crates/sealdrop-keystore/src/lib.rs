//! The keystore: one person's secret keys, encrypted under their
//! passphrase, shared by the `sealdrop` and `shopper` CLIs. Specified in
//! `docs/KEYSTORE.md`:
//!
//! ```text
//! key        = Argon2id(passphrase, salt[16], m KiB, t passes, p lanes) → 32 bytes
//! aad        = "sealdrop/keystore/v1\0" ‖ u32 version ‖ person_id[20]
//!            ‖ u32 m ‖ u32 t ‖ u32 p ‖ salt[16] ‖ string<200> name
//! ciphertext = ChaCha20-Poly1305(key, nonce[12], secret_identity[64], aad)
//! ```
//!
//! The file is JSON (it holds no signed bytes) with mode 0600, written
//! atomically. A wrong passphrase, a changed field or a swapped ciphertext all
//! fail the same authentication check: nothing decrypts unless everything
//! matches.

mod file;
mod passphrase;
mod vault;

pub use file::{read_private, write_private};
pub use passphrase::{Passphrase, PassphraseError, obtain as obtain_passphrase};
pub use vault::{Vault, VaultError};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use data_encoding::BASE64URL_NOPAD;
use rand_core::{CryptoRng, UnwrapErr};
use sealdrop_proto::codec::Encoder;
use sealdrop_proto::ids::PersonId;
use sealdrop_proto::keys::SecretIdentity;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use zeroize::Zeroizing;

const LABEL: &[u8] = b"sealdrop/keystore/v1\0";
const FORMAT: &str = "sealdrop-keystore";
const VERSION: u32 = 1;
pub const MAX_NAME_LEN: usize = 200;

#[derive(Debug, Error)]
pub enum KeystoreError {
    #[error("the passphrase is wrong (or the keystore file was altered)")]
    WrongPassphrase,
    #[error("the keystore file is not valid: {0}")]
    Malformed(String),
    #[error("the keystore's KDF settings are weaker than allowed")]
    WeakKdf,
    #[error("the name must be 1 to 200 bytes")]
    BadName,
    #[error("cannot read or write the keystore: {0}")]
    Io(#[from] std::io::Error),
}

/// Argon2id's cost settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl KdfParams {
    /// 64 MiB, 3 passes, 1 lane: about a third of a second on a laptop.
    pub const DEFAULT: Self = Self {
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 1,
    };

    /// The least a keystore file may claim: a file with weaker settings is
    /// refused, so that an attacker who can write the file cannot make the
    /// next passphrase entry cheap to guess.
    pub const MIN: Self = Self {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };

    fn check(&self) -> Result<(), KeystoreError> {
        if self.memory_kib < Self::MIN.memory_kib
            || self.iterations < Self::MIN.iterations
            || self.parallelism < 1
            || self.memory_kib > 4 * 1024 * 1024
            || self.iterations > 64
            || self.parallelism > 16
        {
            return Err(KeystoreError::WeakKdf);
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Kdf {
    algorithm: String,
    #[serde(flatten)]
    params: KdfParams,
    salt: String,
}

/// The keystore as stored: public fields in the clear, the secret keys
/// sealed. Unlocking needs the passphrase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keystore {
    format: String,
    version: u32,
    /// The person's name, for them: never sent anywhere.
    pub name: String,
    /// The person's ID (`sd…`), in the clear so commands can show it
    /// without the passphrase; bound into the ciphertext.
    pub id: String,
    kdf: Kdf,
    nonce: String,
    ciphertext: String,
}

fn aad(id: &PersonId, params: &KdfParams, salt: &[u8; 16], name: &str) -> Vec<u8> {
    let mut e = Encoder::with_label(LABEL);
    e.u32(VERSION)
        .raw(id.as_bytes())
        .u32(params.memory_kib)
        .u32(params.iterations)
        .u32(params.parallelism)
        .raw(salt)
        .str(name);
    e.finish()
}

fn derive(
    passphrase: &Passphrase,
    salt: &[u8; 16],
    params: &KdfParams,
) -> Result<Zeroizing<[u8; 32]>, KeystoreError> {
    let argon = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            Some(32),
        )
        .map_err(|_| KeystoreError::WeakKdf)?,
    );
    let mut key = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase.expose().as_bytes(), salt, key.as_mut())
        .map_err(|_| KeystoreError::WeakKdf)?;
    Ok(key)
}

fn b64_array<const N: usize>(text: &str, field: &str) -> Result<[u8; N], KeystoreError> {
    BASE64URL_NOPAD
        .decode(text.as_bytes())
        .ok()
        .and_then(|v| <[u8; N]>::try_from(v.as_slice()).ok())
        .ok_or_else(|| KeystoreError::Malformed(format!("{field} is not {N} bytes of base64url")))
}

impl Keystore {
    /// Seals `identity` under `passphrase` with fresh salt and nonce.
    pub fn create(
        name: &str,
        identity: &SecretIdentity,
        passphrase: &Passphrase,
        params: KdfParams,
    ) -> Result<Self, KeystoreError> {
        let mut rng = UnwrapErr(getrandom::SysRng);
        Self::create_with(name, identity, passphrase, params, &mut rng)
    }

    /// As [`Keystore::create`], with the caller's randomness (for vectors).
    pub fn create_with(
        name: &str,
        identity: &SecretIdentity,
        passphrase: &Passphrase,
        params: KdfParams,
        rng: &mut impl CryptoRng,
    ) -> Result<Self, KeystoreError> {
        if name.trim().is_empty() || name.len() > MAX_NAME_LEN {
            return Err(KeystoreError::BadName);
        }
        params.check()?;
        let mut salt = [0u8; 16];
        let mut nonce = [0u8; 12];
        rng.fill_bytes(&mut salt);
        rng.fill_bytes(&mut nonce);
        let key = derive(passphrase, &salt, &params)?;
        let id = identity.id();
        let secret = identity.to_secret_bytes();
        let ciphertext = ChaCha20Poly1305::new(&(*key).into())
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: secret.as_ref(),
                    aad: &aad(&id, &params, &salt, name),
                },
            )
            .map_err(|_| KeystoreError::Malformed("encryption failed".into()))?;
        Ok(Self {
            format: FORMAT.into(),
            version: VERSION,
            name: name.to_owned(),
            id: id.to_string(),
            kdf: Kdf {
                algorithm: "argon2id".into(),
                params,
                salt: BASE64URL_NOPAD.encode(&salt),
            },
            nonce: BASE64URL_NOPAD.encode(&nonce),
            ciphertext: BASE64URL_NOPAD.encode(&ciphertext),
        })
    }

    /// The person's ID, from the clear field.
    pub fn person_id(&self) -> Result<PersonId, KeystoreError> {
        self.id
            .parse()
            .map_err(|_| KeystoreError::Malformed("id is not a person ID".into()))
    }

    /// Decrypts the secret keys, checking they are the ones the file names.
    pub fn unlock(&self, passphrase: &Passphrase) -> Result<SecretIdentity, KeystoreError> {
        if self.format != FORMAT || self.version != VERSION || self.kdf.algorithm != "argon2id" {
            return Err(KeystoreError::Malformed(
                "not a sealdrop keystore of a version this program reads".into(),
            ));
        }
        self.kdf.params.check()?;
        let id = self.person_id()?;
        let salt: [u8; 16] = b64_array(&self.kdf.salt, "salt")?;
        let nonce: [u8; 12] = b64_array(&self.nonce, "nonce")?;
        let ciphertext: [u8; 80] = b64_array(&self.ciphertext, "ciphertext")?;
        let key = derive(passphrase, &salt, &self.kdf.params)?;
        let plain = Zeroizing::new(
            ChaCha20Poly1305::new(&(*key).into())
                .decrypt(
                    &Nonce::from(nonce),
                    Payload {
                        msg: &ciphertext,
                        aad: &aad(&id, &self.kdf.params, &salt, &self.name),
                    },
                )
                .map_err(|_| KeystoreError::WrongPassphrase)?,
        );
        let secret: &[u8; 64] = plain
            .as_slice()
            .try_into()
            .map_err(|_| KeystoreError::WrongPassphrase)?;
        let identity = SecretIdentity::from_secret_bytes(secret);
        if identity.id() != id {
            return Err(KeystoreError::WrongPassphrase);
        }
        Ok(identity)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<Self, KeystoreError> {
        serde_json::from_str(text).map_err(|e| KeystoreError::Malformed(e.to_string()))
    }

    /// Writes the keystore atomically with mode 0600, refusing to replace
    /// an existing one.
    pub fn write_new(&self, path: &std::path::Path) -> Result<(), KeystoreError> {
        if path.exists() {
            return Err(KeystoreError::Io(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("{} exists; a keystore is never overwritten", path.display()),
            )));
        }
        write_private(path, self.to_json().as_bytes())?;
        Ok(())
    }

    pub fn read(path: &std::path::Path) -> Result<Self, KeystoreError> {
        let bytes = read_private(path)?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| KeystoreError::Malformed("not UTF-8".into()))?;
        Self::from_json(text)
    }
}
