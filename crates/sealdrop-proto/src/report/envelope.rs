//! Envelopes: the content key wrapped for one recipient with HPKE.
//!
//! ```text
//! suite      = DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305  (RFC 9180, mode base)
//! info       = "sealdrop/v1/hpke/envelope\0" ‖ header_hash ‖ recipient_id[20]
//! (enc, ct)  = SealBase(pk_recipient, info, aad = "", pt = K)        |enc| = 32, |ct| = 48
//! envelope   = recipient_id[20] ‖ enc[32] ‖ ct[48]
//! env_hash   = SHA-256("sealdrop/v1/hash/envelope\0" ‖ envelope)
//! set_hash   = SHA-256("sealdrop/v1/hash/envelope-set\0" ‖ u32 n ‖ env_hash_1 ‖ … ‖ env_hash_n)
//! ```
//!
//! Binding the header hash and the recipient ID into `info` means an envelope
//! opens only for this report and this recipient: moving it to another report
//! or relabelling it for another person fails authentication.

#[cfg(feature = "open")]
use hpke::OpModeR;
use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable as _, OpModeS, Serializable as _};
use rand_core::CryptoRng;

use crate::codec::{Decode, DecodeError, Decoder, Encode, Encoder};
use crate::hash::{self, Digest};
use crate::ids::PersonId;
use crate::keys::PublicIdentity;
#[cfg(feature = "open")]
use crate::keys::SecretIdentity;
use crate::labels;
use crate::report::content_key::ContentKey;

type Kem = X25519HkdfSha256;
pub const ENVELOPE_LEN: usize = 20 + 32 + 48;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope {
    pub recipient: PersonId,
    pub enc: [u8; 32],
    pub ciphertext: [u8; 48],
}

/// Wrapping failed: the recipient's key gives an all-zero shared secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the recipient's key cannot receive envelopes")]
pub struct WrapError;

/// Unwrapping failed, for whatever reason; deliberately opaque.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the envelope does not open with this key")]
pub struct UnwrapError;

fn info(header_hash: &Digest, recipient: &PersonId) -> Vec<u8> {
    let mut info = Vec::with_capacity(labels::HPKE_ENVELOPE_INFO.len() + 52);
    info.extend_from_slice(labels::HPKE_ENVELOPE_INFO);
    info.extend_from_slice(header_hash);
    info.extend_from_slice(recipient.as_bytes());
    info
}

impl Envelope {
    pub(crate) fn wrap(
        key: &ContentKey,
        header_hash: &Digest,
        recipient: &PublicIdentity,
        rng: &mut impl CryptoRng,
    ) -> Result<Self, WrapError> {
        let id = recipient.id();
        let pk = <Kem as hpke::Kem>::PublicKey::from_bytes(recipient.decryption_key())
            .map_err(|_| WrapError)?;
        let (enc, ct) = hpke::single_shot_seal_with_rng::<ChaCha20Poly1305, HkdfSha256, Kem>(
            &OpModeS::Base,
            &pk,
            &info(header_hash, &id),
            key.expose_bytes(),
            &[],
            rng,
        )
        .map_err(|_| WrapError)?;
        let mut envelope = Self {
            recipient: id,
            enc: [0; 32],
            ciphertext: [0; 48],
        };
        envelope.enc.copy_from_slice(&enc.to_bytes());
        if ct.len() != 48 {
            return Err(WrapError);
        }
        envelope.ciphertext.copy_from_slice(&ct);
        Ok(envelope)
    }

    #[cfg(feature = "open")]
    pub(crate) fn unwrap(
        &self,
        header_hash: &Digest,
        me: &SecretIdentity,
    ) -> Result<ContentKey, UnwrapError> {
        if self.recipient != me.id() {
            return Err(UnwrapError);
        }
        let scalar = me.decryption().scalar_bytes();
        let sk =
            <Kem as hpke::Kem>::PrivateKey::from_bytes(scalar.as_ref()).map_err(|_| UnwrapError)?;
        let enc =
            <Kem as hpke::Kem>::EncappedKey::from_bytes(&self.enc).map_err(|_| UnwrapError)?;
        let mut pt = hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, Kem>(
            &OpModeR::Base,
            &sk,
            &enc,
            &info(header_hash, &self.recipient),
            &self.ciphertext,
            &[],
        )
        .map_err(|_| UnwrapError)?;
        let key = <[u8; 32]>::try_from(pt.as_slice()).map_err(|_| UnwrapError);
        zeroize::Zeroize::zeroize(&mut pt);
        key.map(ContentKey::from_bytes)
    }

    pub fn hash(&self) -> Digest {
        hash::labelled(labels::HASH_ENVELOPE, &[&self.to_bytes()])
    }
}

/// The hash of an ordered set of envelope hashes, as the shopper signs it.
pub fn set_hash(envelope_hashes: &[Digest]) -> Digest {
    let mut h = hash::Hasher::new(labels::HASH_ENVELOPE_SET);
    h.update(
        &u32::try_from(envelope_hashes.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    for e in envelope_hashes {
        h.update(e);
    }
    h.finish()
}

impl Encode for Envelope {
    fn encode(&self, e: &mut Encoder) {
        e.value(&self.recipient)
            .raw(&self.enc)
            .raw(&self.ciphertext);
    }
}

impl Decode for Envelope {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            recipient: d.value()?,
            enc: d.array("envelope enc")?,
            ciphertext: d.array("envelope ciphertext")?,
        })
    }
}
