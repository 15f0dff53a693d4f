//! Every person's two key pairs: Ed25519 to sign, X25519 to receive envelopes.
//!
//! Secret halves live only in [`SigningSecret`], [`DecryptionSecret`] and
//! [`SecretIdentity`]: no `Clone`, no `Serialize`, a `Debug` that prints the
//! public half only, zeroized on drop, and raw bytes only through the
//! explicitly named [`SecretIdentity::to_secret_bytes`] for the keystore.
//!
//! Signing is crate-private: a secret key signs only the labelled encodings
//! that this crate's message types build, never bytes chosen by a caller.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use rand_core::CryptoRng;
use thiserror::Error;
use x25519_dalek::StaticSecret;
use zeroize::Zeroizing;

use crate::codec::{Decode, DecodeError, Decoder, Encode, Encoder};
use crate::ids::{IdParseError, PersonId};

/// A signature did not verify, or was made by a key that was not allowed to.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignatureError {
    #[error("the signature does not verify")]
    Invalid,
    #[error("the message was signed by a key that is not allowed to sign it")]
    UnauthorisedSigner,
}

/// An Ed25519 signing key. Zeroized on drop (ed25519-dalek's `zeroize`).
pub struct SigningSecret(SigningKey);

/// An X25519 decryption key. Zeroized on drop (x25519-dalek's `zeroize`).
pub struct DecryptionSecret(StaticSecret);

impl SigningSecret {
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        Self(SigningKey::from_bytes(&seed))
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.0.verifying_key()
    }

    /// The 32-byte seed, for an encrypted or 0600 key file. Zeroized on drop.
    pub fn to_seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(SigningKey::from_bytes(seed))
    }

    /// Ed25519 over `label ‖ message`; only this crate's message types call it.
    pub(crate) fn sign_labelled(&self, label: &[u8], message: &[u8]) -> [u8; 64] {
        let mut input = Vec::with_capacity(label.len() + message.len());
        input.extend_from_slice(label);
        input.extend_from_slice(message);
        self.0.sign(&input).to_bytes()
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningSecret")
            .field("public", &Hex(self.verifying_key().as_bytes()))
            .finish_non_exhaustive()
    }
}

impl DecryptionSecret {
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        Self(StaticSecret::random_from_rng(rng))
    }

    pub fn public_key(&self) -> [u8; 32] {
        x25519_dalek::PublicKey::from(&self.0).to_bytes()
    }

    /// The raw scalar, for building the HPKE private key; kept in a
    /// zeroizing buffer.
    pub(crate) fn scalar_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }
}

impl fmt::Debug for DecryptionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecryptionSecret")
            .field("public", &Hex(&self.public_key()))
            .finish_non_exhaustive()
    }
}

/// A person's (or one shopper pseudonym's) two secret keys.
#[derive(Debug)]
pub struct SecretIdentity {
    signing: SigningSecret,
    decryption: DecryptionSecret,
}

impl SecretIdentity {
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        Self {
            signing: SigningSecret::generate(rng),
            decryption: DecryptionSecret::generate(rng),
        }
    }

    pub fn public(&self) -> PublicIdentity {
        PublicIdentity {
            signing: self.signing.verifying_key(),
            decryption: self.decryption.public_key(),
        }
    }

    pub fn id(&self) -> PersonId {
        self.public().id()
    }

    pub fn signing(&self) -> &SigningSecret {
        &self.signing
    }

    pub fn decryption(&self) -> &DecryptionSecret {
        &self.decryption
    }

    /// The 64 secret bytes (Ed25519 seed ‖ X25519 scalar), only for writing
    /// into an encrypted keystore. The buffer zeroizes itself.
    pub fn to_secret_bytes(&self) -> Zeroizing<[u8; 64]> {
        let mut out = Zeroizing::new([0u8; 64]);
        out[..32].copy_from_slice(self.signing.0.as_bytes());
        out[32..].copy_from_slice(self.decryption.scalar_bytes().as_ref());
        out
    }

    /// Rebuilds the identity from [`Self::to_secret_bytes`].
    pub fn from_secret_bytes(bytes: &[u8; 64]) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        seed.copy_from_slice(&bytes[..32]);
        let mut scalar = Zeroizing::new([0u8; 32]);
        scalar.copy_from_slice(&bytes[32..]);
        Self {
            signing: SigningSecret(SigningKey::from_bytes(&seed)),
            decryption: DecryptionSecret(StaticSecret::from(*scalar)),
        }
    }
}

/// A person's public keys. Constructed only from keys that pass the checks
/// below, so holding one means the keys are usable.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicIdentity {
    signing: VerifyingKey,
    decryption: [u8; 32],
}

/// Why public key bytes were refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    #[error("the Ed25519 key is not a valid point")]
    InvalidSigningKey,
    #[error("the Ed25519 key is not canonically encoded")]
    NonCanonicalSigningKey,
    #[error("the Ed25519 key has small order (a weak key)")]
    WeakSigningKey,
    #[error("the X25519 key has small order and would give an all-zero shared secret")]
    WeakDecryptionKey,
    #[error("the X25519 key is not canonically encoded")]
    NonCanonicalDecryptionKey,
    #[error("the key bundle is malformed: {0}")]
    Bundle(#[from] IdParseError),
    #[error("the key bundle does not decode: {0}")]
    BundleDecode(#[from] DecodeError),
}

impl PublicIdentity {
    pub fn from_bytes(signing: &[u8; 32], decryption: &[u8; 32]) -> Result<Self, KeyError> {
        Ok(Self {
            signing: parse_verifying_key(signing)?,
            decryption: check_x25519_public(decryption)?,
        })
    }

    pub fn id(&self) -> PersonId {
        PersonId::from_public_keys(self.signing.as_bytes(), &self.decryption)
    }

    pub fn signing_key(&self) -> &[u8; 32] {
        self.signing.as_bytes()
    }

    pub fn decryption_key(&self) -> &[u8; 32] {
        &self.decryption
    }

    /// Strict Ed25519 verification of `signature` over `label ‖ message`.
    pub fn verify_labelled(
        &self,
        label: &[u8],
        message: &[u8],
        signature: &[u8; 64],
    ) -> Result<(), SignatureError> {
        verify_labelled(&self.signing, label, message, signature)
    }

    /// The copy-pasteable form: `sdkey` + Crockford base32 of both keys + a
    /// two-character checksum.
    pub fn to_bundle(&self) -> String {
        crate::ids::encode_checked("sdkey", &self.to_bytes())
    }

    pub fn from_bundle(text: &str) -> Result<Self, KeyError> {
        let bytes: [u8; 64] = crate::ids::decode_checked("sdkey", text)?;
        let (signing, decryption) = bytes.split_at(32);
        let mut s = [0u8; 32];
        let mut d = [0u8; 32];
        s.copy_from_slice(signing);
        d.copy_from_slice(decryption);
        Self::from_bytes(&s, &d)
    }
}

impl fmt::Debug for PublicIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicIdentity({})", self.id())
    }
}

impl FromStr for PublicIdentity {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_bundle(s)
    }
}

impl Encode for PublicIdentity {
    fn encode(&self, e: &mut Encoder) {
        e.raw(self.signing.as_bytes()).raw(&self.decryption);
    }
}

impl Decode for PublicIdentity {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let signing: [u8; 32] = d.array("ed25519 public key")?;
        let decryption: [u8; 32] = d.array("x25519 public key")?;
        if let Some(known) = d.known_identity(&signing, &decryption) {
            return Ok(known);
        }
        Self::from_bytes(&signing, &decryption).map_err(|_| DecodeError::InvalidKey {
            field: "public identity",
        })
    }
}

/// Identities whose keys were already checked, for
/// [`Decode::from_bytes_with_known`](crate::codec::Decode::from_bytes_with_known).
/// Only a [`PublicIdentity`] goes in, and only one with exactly the same key
/// bytes comes out, so decoding with it gives what decoding without it does.
#[derive(Debug, Default, Clone)]
pub struct KnownIdentities(std::collections::HashMap<[u8; 32], PublicIdentity>);

impl KnownIdentities {
    pub fn insert(&mut self, identity: PublicIdentity) {
        self.0.insert(*identity.signing_key(), identity);
    }

    pub(crate) fn get(&self, signing: &[u8; 32], decryption: &[u8; 32]) -> Option<PublicIdentity> {
        self.0
            .get(signing)
            .filter(|k| k.decryption_key() == decryption)
            .copied()
    }
}

/// Parses an Ed25519 public key, refusing non-canonical encodings and
/// small-order points, so that every accepted key has one encoding.
pub fn parse_verifying_key(bytes: &[u8; 32]) -> Result<VerifyingKey, KeyError> {
    // An encoding is non-canonical when y >= p, or when x = 0 and the sign
    // bit is set. The second only happens for y = 1 or y = p - 1, the points
    // of order 1 and 2, which the weak-key check below refuses; so comparing
    // y with p is the whole canonicity check, without re-encoding the point
    // (a field inversion).
    if !y_below_p(bytes) {
        return Err(KeyError::NonCanonicalSigningKey);
    }
    let key = VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::InvalidSigningKey)?;
    if key.is_weak() {
        return Err(KeyError::WeakSigningKey);
    }
    Ok(key)
}

/// True when the low 255 bits, little-endian, are below p = 2^255 - 19.
fn y_below_p(bytes: &[u8; 32]) -> bool {
    let top = bytes[31] & 0x7f;
    !(top == 0x7f && bytes[1..31].iter().all(|b| *b == 0xff) && bytes[0] >= 0xed)
}

/// Refuses X25519 public keys of small order: a Diffie-Hellman with any
/// clamped scalar against them gives all zeros (RFC 7748 §6.1).
fn check_x25519_public(bytes: &[u8; 32]) -> Result<[u8; 32], KeyError> {
    // One key, one encoding: the top bit clear and the value below
    // p = 2^255 - 19 (little-endian), so each key pair has exactly one ID.
    let at_least_p =
        bytes[31] == 0x7f && bytes[1..31].iter().all(|b| *b == 0xff) && bytes[0] >= 0xed;
    if bytes[31] & 0x80 != 0 || at_least_p {
        return Err(KeyError::NonCanonicalDecryptionKey);
    }
    // A canonical u-coordinate has small order exactly when it is one of
    // these five (the list libsodium checks, less the encodings at or above
    // p refused above). Comparing is ~1000 times cheaper than the scalar
    // multiplication that would otherwise probe for an all-zero output; the
    // Wycheproof test checks the two agree on every vector.
    if SMALL_ORDER_X25519.contains(bytes) {
        Err(KeyError::WeakDecryptionKey)
    } else {
        Ok(*bytes)
    }
}

/// The canonical encodings of the X25519 points of order 1, 2, 4 and 8.
const SMALL_ORDER_X25519: [[u8; 32]; 5] = [
    // 0 (order 2)
    [0; 32],
    // 1 (order 4)
    [
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,
    ],
    // 325606250916557431795983626356110631294008115727848805560023387167927233504 (order 8)
    [
        0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4,
        0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49,
        0xb8, 0x00,
    ],
    // 39382357235489614581723060781553021112529911719440698176882885853963445705823 (order 8)
    [
        0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef,
        0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f,
        0x11, 0x57,
    ],
    // p - 1 (order 4)
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
];

/// Strict Ed25519 verification of `signature` over `label ‖ message`.
pub(crate) fn verify_labelled(
    key: &VerifyingKey,
    label: &[u8],
    message: &[u8],
    signature: &[u8; 64],
) -> Result<(), SignatureError> {
    let mut input = Vec::with_capacity(label.len() + message.len());
    input.extend_from_slice(label);
    input.extend_from_slice(message);
    key.verify_strict(&input, &Signature::from_bytes(signature))
        .map_err(|_| SignatureError::Invalid)
}

/// Lowercase hex for public values in `Debug` output.
pub(crate) struct Hex<'a>(pub &'a [u8]);

impl fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::TestRng;

    #[test]
    fn secret_bytes_round_trip() {
        let mut rng = TestRng::new(b"keys");
        let alice = SecretIdentity::generate(&mut rng);
        let again = SecretIdentity::from_secret_bytes(&alice.to_secret_bytes());
        assert_eq!(alice.public(), again.public());
        assert_eq!(alice.id(), again.id());
    }

    #[test]
    fn bundle_round_trips_and_rejects_typos() {
        let mut rng = TestRng::new(b"bundle");
        let alice = SecretIdentity::generate(&mut rng).public();
        let bundle = alice.to_bundle();
        assert_eq!(bundle.parse::<PublicIdentity>(), Ok(alice));
        let mut typo: Vec<char> = bundle.chars().collect();
        typo[20] = if typo[20] == 'a' { 'b' } else { 'a' };
        let typo: String = typo.into_iter().collect();
        assert!(typo.parse::<PublicIdentity>().is_err());
    }

    #[test]
    fn known_identities_decode_as_without_them_and_check_the_rest() {
        use crate::codec::Decode as _;
        let mut rng = TestRng::new(b"known");
        let alice = SecretIdentity::generate(&mut rng).public();
        let bob = SecretIdentity::generate(&mut rng).public();
        let mut known = KnownIdentities::default();
        known.insert(alice);
        for who in [alice, bob] {
            let bytes = who.to_bytes();
            assert_eq!(
                PublicIdentity::from_bytes_with_known(&bytes, &known),
                <PublicIdentity as crate::codec::Decode>::from_bytes(&bytes)
            );
        }
        // Alice's signing key with another X25519 key is not Alice: it is
        // checked in full, and a small-order X25519 key is refused.
        let mut mixed = alice.to_bytes();
        mixed[32..].copy_from_slice(&[0u8; 32]);
        assert!(PublicIdentity::from_bytes_with_known(&mixed, &known).is_err());
        // An invalid signing key is refused whatever is known.
        let mut weak = bob.to_bytes();
        weak[..32].copy_from_slice(&{
            let mut identity = [0u8; 32];
            identity[0] = 1;
            identity
        });
        assert!(PublicIdentity::from_bytes_with_known(&weak, &known).is_err());
    }

    #[test]
    fn small_order_keys_are_refused() {
        let mut rng = TestRng::new(b"weak");
        let good = SecretIdentity::generate(&mut rng).public();
        // The identity point (y = 1) has order 1.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(
            PublicIdentity::from_bytes(&identity, good.decryption_key()),
            Err(KeyError::WeakSigningKey)
        );
        // u = 0 and u = 1 have small order on Curve25519.
        let mut one = [0u8; 32];
        one[0] = 1;
        for weak in [[0u8; 32], one] {
            assert_eq!(
                PublicIdentity::from_bytes(good.signing_key(), &weak),
                Err(KeyError::WeakDecryptionKey)
            );
        }
    }

    #[test]
    fn non_canonical_x25519_encoding_is_refused() {
        let mut rng = TestRng::new(b"x-noncanon");
        let good = SecretIdentity::generate(&mut rng).public();
        let mut high_bit = *good.decryption_key();
        high_bit[31] |= 0x80;
        let mut p_plus_9 = [0xffu8; 32];
        p_plus_9[0] = 0xed + 9; // p + 9 encodes the base point u = 9 again
        p_plus_9[31] = 0x7f;
        for bad in [high_bit, p_plus_9] {
            assert_eq!(
                PublicIdentity::from_bytes(good.signing_key(), &bad),
                Err(KeyError::NonCanonicalDecryptionKey)
            );
        }
    }

    #[test]
    fn non_canonical_ed25519_encoding_is_refused() {
        // y in [p, 2^255) encodes y - p a second time; decompression reduces
        // it, so only the re-encoding check stands between it and acceptance.
        let mut rng = TestRng::new(b"noncanon");
        let good = SecretIdentity::generate(&mut rng).public();
        let mut refused = 0;
        for k in 2u8..19 {
            let mut y = [0xffu8; 32];
            y[0] = 0xed + k; // p = 2^255 - 19 = ff..ff7f with low byte 0xed
            y[31] = 0x7f;
            let Ok(point) = VerifyingKey::from_bytes(&y) else {
                continue;
            };
            if point.is_weak() {
                continue;
            }
            assert_eq!(
                PublicIdentity::from_bytes(&y, good.decryption_key()),
                Err(KeyError::NonCanonicalSigningKey)
            );
            refused += 1;
        }
        assert!(refused > 0, "no non-canonical valid point among p+2..p+18");
    }
}

#[cfg(test)]
mod cheap_key_checks {
    use super::*;

    /// The cheap canonicity check accepts exactly what the old definition
    /// (decompress, re-encode, compare; not weak) accepts.
    #[test]
    fn ed25519_check_matches_re_encoding() {
        let old = |b: &[u8; 32]| {
            VerifyingKey::from_bytes(b)
                .is_ok_and(|k| k.to_edwards().compress().to_bytes() == *b && !k.is_weak())
        };
        let mut rng = crate::test_rng::TestRng::new(b"canonical");
        let mut cases: Vec<[u8; 32]> = (0..2000)
            .map(|_| {
                let mut b = [0u8; 32];
                rand_core::Rng::fill_bytes(&mut rng, &mut b);
                b
            })
            .collect();
        let mut one = [0u8; 32];
        one[0] = 1;
        let mut minus_one = [0xffu8; 32];
        minus_one[0] = 0xec;
        minus_one[31] = 0x7f;
        for mut edge in [one, minus_one] {
            cases.push(edge);
            edge[31] |= 0x80;
            cases.push(edge);
        }
        for k in 0u8..19 {
            let mut y = [0xffu8; 32];
            y[0] = 0xed + k;
            y[31] = 0x7f;
            cases.push(y);
            y[31] = 0xff;
            cases.push(y);
        }
        for b in cases {
            assert_eq!(parse_verifying_key(&b).is_ok(), old(&b), "{b:02x?}");
        }
    }

    #[test]
    fn every_listed_point_has_small_order_and_is_refused() {
        for u in SMALL_ORDER_X25519 {
            assert_eq!(x25519_dalek::x25519([9u8; 32], u), [0u8; 32]);
            assert!(matches!(
                check_x25519_public(&u),
                Err(KeyError::WeakDecryptionKey)
            ));
        }
    }
}
