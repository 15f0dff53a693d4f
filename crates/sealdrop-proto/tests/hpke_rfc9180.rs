//! RFC 9180 Appendix A.2.1 known-answer test against hpke 0.15.1
//! (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305, mode Base).

// Tests may panic: a failed expectation should stop the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use core::convert::Infallible;

use data_encoding::HEXLOWER;
use hpke::{
    Deserializable, HpkeError, Kem as KemTrait, OpModeR, OpModeS, Serializable,
    aead::ChaCha20Poly1305,
    kdf::HkdfSha256,
    kem::X25519HkdfSha256,
    rand_core::{TryCryptoRng, TryRng},
};

type A = ChaCha20Poly1305;
type Kdf = HkdfSha256;
type Kem = X25519HkdfSha256;
type PrivateKey = <Kem as KemTrait>::PrivateKey;
type PublicKey = <Kem as KemTrait>::PublicKey;
type EncappedKey = <Kem as KemTrait>::EncappedKey;

// RFC 9180 A.2.1 (verbatim hex)
const INFO: &str = "4f6465206f6e2061204772656369616e2055726e";
const IKM_E: &str = "909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b";
const PK_EM: &str = "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a";
const SK_EM: &str = "f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600";
const IKM_R: &str = "1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df";
const PK_RM: &str = "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a";
const SK_RM: &str = "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb";
/// skRm after X25519 clamping (what hpke >= 0.15 serializes); derived, not printed in the RFC.
const SK_RM_CLAMPED: &str = "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e07b";
const ENC: &str = "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a";
const PT: &str = "4265617574792069732074727574682c20747275746820626561757479";
const AAD0: &str = "436f756e742d30";
const CT0: &str =
    "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28";
const AAD1: &str = "436f756e742d31";
const CT1: &str =
    "6b53c051e4199c518de79594e1c4ab18b96f081549d45ce015be002090bb119e85285337cc95ba5f59992dc98c";
const EXPORT_EMPTY_CTX: &str = "4bbd6243b8bb54cec311fac9df81841b6fd61f56538a775e7c80a9f40160606e";

fn hex(s: &str) -> Result<Vec<u8>, data_encoding::DecodeError> {
    HEXLOWER.decode(s.as_bytes())
}

/// Replays fixed bytes. If asked for more than it holds, it outputs zeros and sets `overrun`
/// (the error type must be `Infallible` for `CryptoRng`, so it can't fail).
#[derive(Debug)]
struct FixedRng {
    bytes: Vec<u8>,
    pos: usize,
    overrun: bool,
}

impl FixedRng {
    fn new(bytes: Vec<u8>) -> Self {
        Self {
            bytes,
            pos: 0,
            overrun: false,
        }
    }
    /// All bytes consumed and nothing more requested.
    fn fully_consumed(&self) -> bool {
        !self.overrun && self.pos == self.bytes.len()
    }
}

impl TryRng for FixedRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        let end = self.pos.saturating_add(dst.len());
        match self.bytes.get(self.pos..end) {
            Some(src) => {
                dst.copy_from_slice(src);
                self.pos = end;
            }
            None => {
                dst.fill(0);
                self.overrun = true;
            }
        }
        Ok(())
    }
}
// Marker; with Error = Infallible this yields rand_core::{Rng, CryptoRng} via blanket impls.
impl TryCryptoRng for FixedRng {}

#[test]
fn rfc9180_a21_x25519_hkdfsha256_chacha20poly1305_base() -> Result<(), Box<dyn std::error::Error>> {
    let info = hex(INFO)?;
    let pt = hex(PT)?;
    let (aad0, ct0) = (hex(AAD0)?, hex(CT0)?);
    let (aad1, ct1) = (hex(AAD1)?, hex(CT1)?);

    // DeriveKeyPair(ikmR) == (skRm, pkRm). Private keys compare after clamping.
    let (sk_r, pk_r) = Kem::derive_keypair(&hex(IKM_R)?);
    assert_eq!(pk_r.to_bytes().as_slice(), hex(PK_RM)?.as_slice());
    let sk_r_rfc = PrivateKey::from_bytes(&hex(SK_RM)?)?;
    assert!(sk_r == sk_r_rfc);
    assert_eq!(sk_r.to_bytes().as_slice(), hex(SK_RM_CLAMPED)?.as_slice());
    assert_eq!(PublicKey::from_bytes(&hex(PK_RM)?)?, pk_r);
    assert_eq!(Kem::sk_to_pk(&sk_r_rfc), pk_r);

    // DeriveKeyPair(ikmE) == (skEm, pkEm)
    let (sk_e, pk_e) = Kem::derive_keypair(&hex(IKM_E)?);
    assert_eq!(pk_e.to_bytes().as_slice(), hex(PK_EM)?.as_slice());
    assert!(sk_e == PrivateKey::from_bytes(&hex(SK_EM)?)?);

    // Single-shot seal: the RNG supplies ikmE (one 32-byte fill_bytes) -> RFC enc and ct.
    let mut rng = FixedRng::new(hex(IKM_E)?);
    let (enc, ct) = hpke::single_shot_seal_with_rng::<A, Kdf, Kem>(
        &OpModeS::Base,
        &pk_r,
        &info,
        &pt,
        &aad0,
        &mut rng,
    )?;
    assert!(rng.fully_consumed());
    assert_eq!(enc.to_bytes().as_slice(), hex(ENC)?.as_slice());
    assert_eq!(ct, ct0);

    // Context API: sequence numbers 0 and 1, plus Export("", 32).
    let mut rng = FixedRng::new(hex(IKM_E)?);
    let (enc2, mut ctx_s) =
        hpke::setup_sender_with_rng::<A, Kdf, Kem>(&OpModeS::Base, &pk_r, &info, &mut rng)?;
    assert_eq!(enc2.to_bytes().as_slice(), hex(ENC)?.as_slice());
    assert_eq!(ctx_s.seal(&pt, &aad0)?, ct0);
    assert_eq!(ctx_s.seal(&pt, &aad1)?, ct1);
    let mut exported = [0u8; 32];
    ctx_s.export(b"", &mut exported)?;
    assert_eq!(exported.as_slice(), hex(EXPORT_EMPTY_CTX)?.as_slice());

    // Open the RFC ciphertext with skRm (built from the RFC bytes).
    let enc_rfc = EncappedKey::from_bytes(&hex(ENC)?)?;
    let opened = hpke::single_shot_open::<A, Kdf, Kem>(
        &OpModeR::Base,
        &sk_r_rfc,
        &enc_rfc,
        &info,
        &ct0,
        &aad0,
    )?;
    assert_eq!(opened, pt);
    let mut ctx_r =
        hpke::setup_receiver::<A, Kdf, Kem>(&OpModeR::Base, &sk_r_rfc, &enc_rfc, &info)?;
    assert_eq!(ctx_r.open(&ct0, &aad0)?, pt);
    assert_eq!(ctx_r.open(&ct1, &aad1)?, pt);

    // Tampered tag -> OpenError.
    let mut bad = ct0.clone();
    if let Some(b) = bad.last_mut() {
        *b ^= 1;
    }
    let r = hpke::single_shot_open::<A, Kdf, Kem>(
        &OpModeR::Base,
        &sk_r_rfc,
        &enc_rfc,
        &info,
        &bad,
        &aad0,
    );
    assert_eq!(r.err(), Some(HpkeError::OpenError));

    // All-zero DH output (u = 0 is a low-order point): EncapError on seal, DecapError on open.
    let zero_pk = PublicKey::from_bytes(&[0u8; 32])?;
    let r = hpke::single_shot_seal_with_rng::<A, Kdf, Kem>(
        &OpModeS::Base,
        &zero_pk,
        &info,
        &pt,
        &aad0,
        &mut FixedRng::new(hex(IKM_E)?),
    );
    assert_eq!(r.err(), Some(HpkeError::EncapError));
    let zero_enc = EncappedKey::from_bytes(&[0u8; 32])?;
    let r = hpke::single_shot_open::<A, Kdf, Kem>(
        &OpModeR::Base,
        &sk_r_rfc,
        &zero_enc,
        &info,
        &ct0,
        &aad0,
    );
    assert_eq!(r.err(), Some(HpkeError::DecapError));

    // Wrong lengths are rejected with IncorrectInputLength(expected, given).
    assert_eq!(
        PublicKey::from_bytes(&[0u8; 31]).err(),
        Some(HpkeError::IncorrectInputLength(32, 31))
    );
    Ok(())
}
