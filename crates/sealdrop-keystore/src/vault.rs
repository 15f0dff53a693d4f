//! The vault: how a shopper's laptop keeps its own secrets (pseudonym keys,
//! drafts, content keys of queued reports, receipts) encrypted at rest
//! under the identity in the keystore.
//!
//! ```text
//! vault_key = HKDF-SHA256(salt = "", ikm = ed25519_seed ‖ x25519_secret,
//!                         info = "sealdrop vault key v1")           (32 bytes)
//! sealed    = "sdvault1" ‖ nonce[12]
//!           ‖ ChaCha20-Poly1305(vault_key, nonce, plaintext,
//!                               aad = "sealdrop vault v1" ‖ 0x00 ‖ purpose)
//! ```
//!
//! The nonce is random: a laptop seals far fewer than 2^32 files under one
//! key. `purpose` names what the bytes are ("state", "draft", "outbox…"),
//! so a sealed file moved into another role does not open. The key is
//! derived, not stored: unlocking the keystore is the only way to it. The
//! derivation separates this key from the identity's signing and
//! decryption uses by its label. docs/KEYSTORE.md has a known-answer vector.

use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use hkdf::Hkdf;
use sealdrop_proto::SecretIdentity;
use sha2::Sha256;
use zeroize::Zeroizing;

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum VaultError {
    #[error("not a sealdrop vault file")]
    NotAVaultFile,
    #[error(
        "a vault file does not open: it is damaged, or sealed by another keystore or for another purpose"
    )]
    DoesNotOpen,
}

const KEY_INFO: &[u8] = b"sealdrop vault key v1";
const AAD_LABEL: &[u8] = b"sealdrop vault v1";
const MAGIC: &[u8; 8] = b"sdvault1";

/// The key that seals a shopper's local files. No `Debug` of the key.
pub struct Vault {
    key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(..)")
    }
}

fn aad(purpose: &str) -> Vec<u8> {
    let mut aad = AAD_LABEL.to_vec();
    aad.push(0);
    aad.extend_from_slice(purpose.as_bytes());
    aad
}

impl Vault {
    pub fn new(identity: &SecretIdentity) -> Self {
        let ikm = identity.to_secret_bytes();
        let mut key = Zeroizing::new([0u8; 32]);
        // HKDF-SHA256 can expand to 32 bytes from any input: this never fails.
        let _ = Hkdf::<Sha256>::new(None, &ikm[..]).expand(KEY_INFO, &mut key[..]);
        Self { key }
    }

    /// Seals `plaintext` for `purpose` with the nonce given: for tests and
    /// known-answer vectors; everything else uses [`Vault::seal`].
    pub fn seal_with_nonce(&self, purpose: &str, plaintext: &[u8], nonce: [u8; 12]) -> Vec<u8> {
        let cipher = ChaCha20Poly1305::new(&(*self.key).into());
        let body = cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad(purpose),
                },
            )
            .unwrap_or_default();
        let mut out = Vec::with_capacity(MAGIC.len() + 12 + body.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&body);
        out
    }

    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        rand_core::Rng::fill_bytes(&mut rand_core::UnwrapErr(getrandom::SysRng), &mut nonce);
        self.seal_with_nonce(purpose, plaintext, nonce)
    }

    /// Opens what [`Vault::seal`] sealed for the same purpose.
    pub fn open(&self, purpose: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let rest = sealed
            .strip_prefix(&MAGIC[..])
            .ok_or(VaultError::NotAVaultFile)?;
        if rest.len() < 12 + 16 {
            return Err(VaultError::DoesNotOpen);
        }
        let (nonce, body) = rest.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| VaultError::DoesNotOpen)?;
        ChaCha20Poly1305::new(&(*self.key).into())
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: body,
                    aad: &aad(purpose),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| VaultError::DoesNotOpen)
    }
}

#[cfg(test)]
mod tests {
    use super::Vault;
    use sealdrop_proto::SecretIdentity;

    fn identity(byte: u8) -> SecretIdentity {
        SecretIdentity::from_secret_bytes(&[byte; 64])
    }

    #[test]
    fn seals_and_opens_for_the_same_purpose_only() {
        let vault = Vault::new(&identity(1));
        let sealed = vault.seal("draft", b"answers");
        assert_eq!(&*vault.open("draft", &sealed).unwrap(), b"answers");
        assert!(vault.open("state", &sealed).is_err());
        assert!(Vault::new(&identity(2)).open("draft", &sealed).is_err());
        for i in 0..sealed.len() {
            let mut flipped = sealed.clone();
            flipped[i] ^= 1;
            assert!(vault.open("draft", &flipped).is_err(), "byte {i}");
        }
        assert!(vault.open("draft", &sealed[..sealed.len() - 1]).is_err());
    }

    #[test]
    fn debug_shows_no_key() {
        assert_eq!(format!("{:?}", Vault::new(&identity(1))), "Vault(..)");
    }
}
