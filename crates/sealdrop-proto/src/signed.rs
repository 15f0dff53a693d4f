//! `Signed<T>`: a message body, the Ed25519 key that signed it, and the
//! signature over `T::LABEL ‖ body`.
//!
//! ```text
//! signed<T> = bytes<T::MAX_BODY>(body) ‖ signer_key[32] ‖ signature[64]
//! signature = Ed25519(signer, T::LABEL ‖ body)          verified strictly
//! ```
//!
//! The body bytes are the signer's own canonical encoding: decoding refuses a
//! body whose re-encoding differs. Verification of the signature and the
//! decision whether that signer may sign are separate steps: every caller
//! names the keys it accepts ([`Signed::verify_by`]).

use std::fmt;

use ed25519_dalek::VerifyingKey;

use crate::codec::{Decode, DecodeError, Decoder, Encode, Encoder};
use crate::hash::{self, Digest};
use crate::keys::{self, PublicIdentity, SignatureError, SigningSecret};

/// A message type that is signed, with its own domain-separation label.
pub trait SignedBody: Encode + Decode {
    /// The label signed before the body; unique per message type.
    const LABEL: &'static [u8];
    /// The largest body accepted when decoding, in bytes.
    const MAX_BODY: usize;
}

#[derive(Clone, PartialEq, Eq)]
pub struct Signed<T> {
    body: T,
    body_bytes: Vec<u8>,
    signer: VerifyingKey,
    signature: [u8; 64],
}

impl<T: SignedBody> Signed<T> {
    /// Encodes `body` and signs `T::LABEL ‖ body`.
    pub fn sign(body: T, signer: &SigningSecret) -> Self {
        let body_bytes = body.to_bytes();
        let signature = signer.sign_labelled(T::LABEL, &body_bytes);
        Self {
            body,
            body_bytes,
            signer: signer.verifying_key(),
            signature,
        }
    }

    /// Verifies the signature strictly and that the signer is `allowed`.
    pub fn verify_by(&self, allowed: &PublicIdentity) -> Result<&T, SignatureError> {
        self.verify_by_key(allowed.signing_key())
    }

    /// Verifies the signature strictly and that the signer is one of `allowed`.
    pub fn verify_by_any<'a>(
        &self,
        allowed: impl IntoIterator<Item = &'a PublicIdentity>,
    ) -> Result<&'a PublicIdentity, SignatureError> {
        let signer = allowed
            .into_iter()
            .find(|p| p.signing_key() == self.signer.as_bytes())
            .ok_or(SignatureError::UnauthorisedSigner)?;
        self.check_signature()?;
        Ok(signer)
    }

    /// Verifies the signature strictly and that it was made by the raw
    /// Ed25519 key `allowed` (for keys that are not a person's, like the
    /// server's log key).
    pub fn verify_by_key(&self, allowed: &[u8; 32]) -> Result<&T, SignatureError> {
        if self.signer.as_bytes() != allowed {
            return Err(SignatureError::UnauthorisedSigner);
        }
        self.check_signature()?;
        Ok(&self.body)
    }

    fn check_signature(&self) -> Result<(), SignatureError> {
        keys::verify_labelled(&self.signer, T::LABEL, &self.body_bytes, &self.signature)
    }

    /// The body before any check: for routing and for looking up which keys
    /// may have signed it, never for acting on.
    pub fn unverified_body(&self) -> &T {
        &self.body
    }

    pub fn body_bytes(&self) -> &[u8] {
        &self.body_bytes
    }

    pub fn signer_key(&self) -> &[u8; 32] {
        self.signer.as_bytes()
    }

    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }

    /// SHA-256(label ‖ the whole signed encoding): names this exact signed
    /// message, signature included.
    pub fn hash(&self, label: &[u8]) -> Digest {
        hash::labelled(label, &[&self.to_bytes()])
    }
}

impl<T: SignedBody> Encode for Signed<T> {
    fn encode(&self, e: &mut Encoder) {
        e.bytes(&self.body_bytes)
            .raw(self.signer.as_bytes())
            .raw(&self.signature);
    }
}

/// The parts of a signed encoding, the body decoded strictly, the signer
/// key not yet parsed.
struct Parts<T> {
    body: T,
    body_bytes: Vec<u8>,
    signer_bytes: [u8; 32],
    signature: [u8; 64],
}

fn decode_parts<T: SignedBody>(d: &mut Decoder<'_>) -> Result<Parts<T>, DecodeError> {
    let body_bytes = d.bytes("signed body", T::MAX_BODY)?.to_vec();
    let signer_bytes: [u8; 32] = d.array("signer key")?;
    let signature: [u8; 64] = d.array("signature")?;
    let body = T::from_bytes(&body_bytes)?;
    if body.to_bytes() != body_bytes {
        return Err(DecodeError::NotCanonical {
            field: "signed body",
            reason: "re-encoding differs",
        });
    }
    Ok(Parts {
        body,
        body_bytes,
        signer_bytes,
        signature,
    })
}

impl<T: SignedBody> Signed<T> {
    /// The body of a signed encoding, decoded as strictly as a whole
    /// `Signed<T>`, but with neither the signer key nor the signature
    /// checked: for reading what a message says when its signature is not
    /// what the reader relies on (an auditor reading the server's own
    /// acknowledgements). Skips the signer key's point decompression.
    pub fn unverified_body_of(bytes: &[u8]) -> Result<T, DecodeError> {
        let mut d = Decoder::new(bytes);
        let parts = decode_parts::<T>(&mut d)?;
        d.finish()?;
        Ok(parts.body)
    }
}

impl<T: SignedBody> Decode for Signed<T> {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let Parts {
            body,
            body_bytes,
            signer_bytes,
            signature,
        } = decode_parts::<T>(d)?;
        let signer =
            keys::parse_verifying_key(&signer_bytes).map_err(|_| DecodeError::InvalidKey {
                field: "signer key",
            })?;
        Ok(Self {
            body,
            body_bytes,
            signer,
            signature,
        })
    }
}

impl<T: fmt::Debug> fmt::Debug for Signed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signed")
            .field("body", &self.body)
            .field("signer", &keys::Hex(self.signer.as_bytes()))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SecretIdentity;
    use crate::labels;
    use crate::messages::{AuthPurpose, AuthResponse, DeletionRequest};
    use crate::test_rng::TestRng;

    const SIGNATURE_LABELS: &[&[u8]] = &[
        labels::SIG_AUTH_RESPONSE,
        labels::SIG_DESCRIPTOR,
        labels::SIG_INVITE,
        labels::SIG_ENROLMENT,
        labels::SIG_REPORT,
        labels::SIG_GRANT,
        labels::SIG_DELETION,
        labels::SIG_ACKNOWLEDGEMENT,
    ];

    #[test]
    fn no_message_of_one_type_verifies_as_another() {
        let mut rng = TestRng::new(b"domains");
        let alice = SecretIdentity::generate(&mut rng);
        let message = b"the same bytes under every label";
        for signed_as in SIGNATURE_LABELS {
            let sig = alice.signing().sign_labelled(signed_as, message);
            for checked_as in SIGNATURE_LABELS {
                let result = alice.public().verify_labelled(checked_as, message, &sig);
                assert_eq!(result.is_ok(), signed_as == checked_as);
            }
        }
    }

    #[test]
    fn a_signed_message_does_not_decode_or_verify_as_another_type() {
        let mut rng = TestRng::new(b"typed");
        let alice = SecretIdentity::generate(&mut rng);
        let auth = Signed::sign(
            AuthResponse {
                origin: "https://x".into(),
                purpose: AuthPurpose::Session,
                nonce: [1; 32],
                time: 5,
                person: alice.id(),
            },
            alice.signing(),
        );
        let bytes = auth.to_bytes();
        assert!(Signed::<DeletionRequest>::from_bytes(&bytes).is_err());
        // Reinterpret the same signature over the same body under another
        // label: only the body's own type verifies.
        let sig = auth.signature();
        assert!(
            alice
                .public()
                .verify_labelled(labels::SIG_DELETION, auth.body_bytes(), sig)
                .is_err()
        );
        assert!(auth.verify_by(&alice.public()).is_ok());
    }

    #[test]
    fn verification_names_the_allowed_signer() {
        let mut rng = TestRng::new(b"allowed");
        let alice = SecretIdentity::generate(&mut rng);
        let bob = SecretIdentity::generate(&mut rng);
        let msg = Signed::sign(
            DeletionRequest {
                program_id: crate::ProgramId::from_bytes([1; 16]),
                report_id: crate::ReportId::from_bytes([2; 16]),
                shopper: alice.id(),
                requested_at: 9,
            },
            alice.signing(),
        );
        assert!(msg.verify_by(&alice.public()).is_ok());
        assert_eq!(
            msg.verify_by(&bob.public()).map(|_| ()),
            Err(SignatureError::UnauthorisedSigner)
        );
        let mut bytes = msg.to_bytes();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = Signed::<DeletionRequest>::from_bytes(&bytes).unwrap();
        assert_eq!(
            tampered.verify_by(&alice.public()).map(|_| ()),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn the_unverified_body_is_decoded_as_strictly_as_the_whole() {
        let mut rng = TestRng::new(b"body only");
        let alice = SecretIdentity::generate(&mut rng);
        let body = DeletionRequest {
            program_id: crate::ProgramId::from_bytes([1; 16]),
            report_id: crate::ReportId::from_bytes([2; 16]),
            shopper: alice.id(),
            requested_at: 9,
        };
        let bytes = Signed::sign(body.clone(), alice.signing()).to_bytes();
        assert_eq!(
            Signed::<DeletionRequest>::unverified_body_of(&bytes),
            Ok(body)
        );
        // Framing: a trailing byte or a missing one is refused.
        let mut long = bytes.clone();
        long.push(0);
        assert!(Signed::<DeletionRequest>::unverified_body_of(&long).is_err());
        assert!(Signed::<DeletionRequest>::unverified_body_of(&bytes[..bytes.len() - 1]).is_err());
        // Another message type's encoding is refused.
        let auth = Signed::sign(
            AuthResponse {
                origin: "https://x".into(),
                purpose: AuthPurpose::Session,
                nonce: [1; 32],
                time: 5,
                person: alice.id(),
            },
            alice.signing(),
        );
        assert!(Signed::<DeletionRequest>::unverified_body_of(&auth.to_bytes()).is_err());
    }
}
