//! Shopper invites and enrolments: how every shopper chains back to a manager.
//!
//! ```text
//! invite     = u16 format (=1) ‖ program_id[16] ‖ u64 descriptor_version
//!            ‖ digest descriptor_hash ‖ string<2048> server_url
//!            ‖ option<digest> tls_cert_sha256 ‖ log_key[32] ‖ string<256> log_origin
//!            ‖ digest token_hash ‖ u64 issued_at ‖ u64 expires_at
//! token_hash = SHA-256("sealdrop/v1/hash/invite-token\0" ‖ token[32])
//! invite string = "sdinvite1." ‖ base64url(signed<invite> ‖ token[32])
//! enrolment  = u16 format (=1) ‖ program_id[16] ‖ digest invite_hash
//!            ‖ identity shopper ‖ u64 enrolled_at
//! invite_hash = SHA-256("sealdrop/v1/hash/shopper-invite\0" ‖ signed<invite>)
//! ```
//!
//! The invite is signed by a manager of the descriptor it names; the
//! enrolment is signed by the new pseudonym key over the invite's hash. So an
//! auditor can check that each shopper was invited by a manager, and that each
//! invite was used once: a server cannot enrol shoppers of its own.

use std::fmt;

use data_encoding::BASE64URL_NOPAD;
use rand_core::CryptoRng;
use subtle::ConstantTimeEq as _;
use thiserror::Error;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::codec::{Decode, DecodeError, Decoder, Encode, Encoder};
use crate::descriptor::{self, SignedDescriptor};
use crate::hash::{self, Digest};
use crate::ids::{PersonId, ProgramId};
use crate::keys::{self, PublicIdentity, SecretIdentity, SignatureError};
use crate::labels;
use crate::signed::{Signed, SignedBody};

pub const MAX_URL_LEN: usize = 2048;
pub const MAX_ORIGIN_LEN: usize = 256;
const FORMAT: u16 = 1;
const INVITE_PREFIX: &str = "sdinvite1.";
/// How far a signer's clock may run ahead of the verifier's, in seconds.
pub const CLOCK_SKEW_SECS: u64 = 300;

/// A one-time enrolment secret. The server keeps only its hash.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct InviteToken([u8; 32]);

impl InviteToken {
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut t = [0u8; 32];
        rng.fill_bytes(&mut t);
        Self(t)
    }

    pub fn hash(&self) -> Digest {
        hash::labelled(labels::HASH_INVITE_TOKEN, &[&self.0])
    }

    /// The raw token, for presenting it to the server once.
    pub fn expose_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl fmt::Debug for InviteToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InviteToken(<secret>)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopperInvite {
    pub program_id: ProgramId,
    pub descriptor_version: u64,
    pub descriptor_hash: Digest,
    pub server_url: String,
    /// SHA-256 of the server's DER certificate, when it is self-signed.
    pub tls_cert_sha256: Option<Digest>,
    /// The server's Ed25519 log key, which signs acknowledgements and
    /// checkpoints.
    pub log_key: [u8; 32],
    pub log_origin: String,
    pub token_hash: Digest,
    pub issued_at: u64,
    pub expires_at: u64,
}

pub type SignedInvite = Signed<ShopperInvite>;

/// Why an invite or an enrolment was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InviteError {
    #[error("this is not a sealdrop invite (it should start with \"sdinvite1.\")")]
    NotAnInvite,
    #[error("the invite is damaged: {0}")]
    Malformed(#[from] DecodeError),
    #[error("the invite's signature does not verify")]
    BadSignature,
    #[error("the invite is not signed by a manager of the program")]
    NotSignedByManager,
    #[error("the invite names another version of the program descriptor")]
    DescriptorMismatch,
    #[error("the invite's token does not match the token hash it signs")]
    TokenMismatch,
    #[error("the invite expired; ask the program manager for a new one")]
    Expired,
    #[error("the invite's validity period is inconsistent")]
    BadValidity,
    #[error("the enrolment's signature does not verify against the shopper's key")]
    BadEnrolmentSignature,
    #[error("the enrolment does not refer to this invite")]
    WrongInvite,
    #[error("the enrolment is for another program")]
    WrongProgram,
    #[error("the enrolment was signed after the invite expired")]
    EnrolledAfterExpiry,
    #[error("the enrolment does not reveal the invite's token")]
    TokenNotRevealed,
}

impl Encode for ShopperInvite {
    fn encode(&self, e: &mut Encoder) {
        e.u16(FORMAT)
            .value(&self.program_id)
            .u64(self.descriptor_version)
            .raw(&self.descriptor_hash)
            .str(&self.server_url)
            .option(self.tls_cert_sha256.as_ref(), |e, h| {
                e.raw(h);
            })
            .raw(&self.log_key)
            .str(&self.log_origin)
            .raw(&self.token_hash)
            .u64(self.issued_at)
            .u64(self.expires_at);
    }
}

impl Decode for ShopperInvite {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        d.version("invite format", FORMAT)?;
        let invite = Self {
            program_id: d.value()?,
            descriptor_version: d.u64("descriptor version")?,
            descriptor_hash: d.array("descriptor hash")?,
            server_url: d.str("server url", MAX_URL_LEN)?.to_owned(),
            tls_cert_sha256: d
                .option("tls certificate hash", |d| d.array("tls certificate hash"))?,
            log_key: d.array("log key")?,
            log_origin: d.str("log origin", MAX_ORIGIN_LEN)?.to_owned(),
            token_hash: d.array("token hash")?,
            issued_at: d.u64("issued at")?,
            expires_at: d.u64("expires at")?,
        };
        keys::parse_verifying_key(&invite.log_key)
            .map_err(|_| DecodeError::InvalidKey { field: "log key" })?;
        Ok(invite)
    }
}

impl SignedBody for ShopperInvite {
    const LABEL: &'static [u8] = labels::SIG_INVITE;
    const MAX_BODY: usize = 4096;
}

/// What an invite tells the shopper to pin about the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerPins {
    pub server_url: String,
    pub tls_cert_sha256: Option<Digest>,
    pub log_key: [u8; 32],
    pub log_origin: String,
}

/// A signed invite together with its token: what a manager hands a shopper.
#[derive(Debug)]
pub struct InviteBundle {
    pub invite: SignedInvite,
    pub token: InviteToken,
}

impl InviteBundle {
    /// Creates and signs an invite to the program described by `descriptor`.
    /// Refuses unless `manager` is one of its managers.
    pub fn create(
        descriptor: &SignedDescriptor,
        manager: &SecretIdentity,
        server: &ServerPins,
        issued_at: u64,
        expires_at: u64,
        rng: &mut impl CryptoRng,
    ) -> Result<Self, InviteError> {
        let ServerPins {
            server_url,
            tls_cert_sha256,
            log_key,
            log_origin,
        } = server;
        let (tls_cert_sha256, log_key) = (*tls_cert_sha256, *log_key);
        let d = descriptor.unverified_body();
        if !d.is_manager(&manager.id()) {
            return Err(InviteError::NotSignedByManager);
        }
        if expires_at <= issued_at {
            return Err(InviteError::BadValidity);
        }
        if server_url.len() > MAX_URL_LEN || log_origin.len() > MAX_ORIGIN_LEN {
            return Err(InviteError::Malformed(DecodeError::Invalid {
                field: "server url or log origin",
                reason: "too long",
            }));
        }
        keys::parse_verifying_key(&log_key)
            .map_err(|_| InviteError::Malformed(DecodeError::InvalidKey { field: "log key" }))?;
        let token = InviteToken::generate(rng);
        let invite = ShopperInvite {
            program_id: d.program_id,
            descriptor_version: d.version,
            descriptor_hash: descriptor::hash_of(descriptor),
            server_url: server_url.clone(),
            tls_cert_sha256,
            log_key,
            log_origin: log_origin.clone(),
            token_hash: token.hash(),
            issued_at,
            expires_at,
        };
        Ok(Self {
            invite: Signed::sign(invite, manager.signing()),
            token,
        })
    }

    /// The copy-pasteable text form. It contains the one-time token: treat
    /// it as a secret until it is used.
    pub fn to_text(&self) -> String {
        let mut bytes = self.invite.to_bytes();
        bytes.extend_from_slice(self.token.expose_bytes());
        let text = format!("{INVITE_PREFIX}{}", BASE64URL_NOPAD.encode(&bytes));
        bytes.zeroize();
        text
    }

    /// Parses the text form and checks what can be checked without the
    /// program descriptor: the signature, the token against its hash, and the
    /// expiry at `now`.
    pub fn parse(text: &str, now: u64) -> Result<Self, InviteError> {
        let body = text
            .trim()
            .strip_prefix(INVITE_PREFIX)
            .ok_or(InviteError::NotAnInvite)?;
        let mut bytes = BASE64URL_NOPAD
            .decode(body.as_bytes())
            .map_err(|_| InviteError::NotAnInvite)?;
        let split = bytes
            .len()
            .checked_sub(32)
            .ok_or(InviteError::NotAnInvite)?;
        let mut token = [0u8; 32];
        token.copy_from_slice(bytes.get(split..).unwrap_or(&[0u8; 32]));
        let invite = SignedInvite::from_bytes(bytes.get(..split).unwrap_or_default());
        bytes.zeroize();
        let bundle = Self {
            invite: invite?,
            token: InviteToken::from_bytes(token),
        };
        token.zeroize();
        bundle.check(now)?;
        Ok(bundle)
    }

    fn check(&self, now: u64) -> Result<(), InviteError> {
        let body = self.invite.unverified_body();
        let signer = self.invite.signer_key();
        self.invite
            .verify_by_key(signer)
            .map_err(|_| InviteError::BadSignature)?;
        if !bool::from(self.token.hash().ct_eq(&body.token_hash)) {
            return Err(InviteError::TokenMismatch);
        }
        check_validity(body, now)
    }
}

fn check_validity(invite: &ShopperInvite, now: u64) -> Result<(), InviteError> {
    if invite.expires_at <= invite.issued_at
        || invite.issued_at > now.saturating_add(CLOCK_SKEW_SECS)
    {
        return Err(InviteError::BadValidity);
    }
    if now > invite.expires_at {
        return Err(InviteError::Expired);
    }
    Ok(())
}

/// Checks that `invite` was signed by a manager of `descriptor`, the
/// descriptor version it names by hash.
pub fn verify_invite_against(
    invite: &SignedInvite,
    descriptor: &SignedDescriptor,
) -> Result<PersonId, InviteError> {
    let body = invite.unverified_body();
    let d = descriptor.unverified_body();
    if body.program_id != d.program_id
        || body.descriptor_version != d.version
        || body.descriptor_hash != descriptor::hash_of(descriptor)
    {
        return Err(InviteError::DescriptorMismatch);
    }
    let manager = invite.verify_by_any(&d.managers).map_err(|e| match e {
        SignatureError::Invalid => InviteError::BadSignature,
        SignatureError::UnauthorisedSigner => InviteError::NotSignedByManager,
    })?;
    Ok(manager.id())
}

/// The hash an enrolment signs to name its invite.
pub fn invite_hash(invite: &SignedInvite) -> Digest {
    invite.hash(labels::HASH_INVITE)
}

/// Enrolments reveal the token and name their commitment's log leaf since
/// format 2; format 1 is refused.
const ENROLMENT_FORMAT: u16 = 2;

/// What a shopper has the log record before it reveals an invite's token:
/// `H(HASH_ENROLMENT_COMMITMENT, token ‖ identity)`. It binds the token to
/// the new pseudonym's keys while keeping the token secret, so a server
/// that sees the token at the reveal can only log a commitment of its own
/// after this one.
pub fn enrolment_commitment(token: &[u8; 32], shopper: &PublicIdentity) -> Digest {
    hash::labelled(
        labels::HASH_ENROLMENT_COMMITMENT,
        &[token, &shopper.to_bytes()],
    )
}

#[derive(Clone, PartialEq, Eq)]
pub struct Enrolment {
    pub program_id: ProgramId,
    pub invite_hash: Digest,
    pub shopper: PublicIdentity,
    pub enrolled_at: u64,
    /// The invite's token, revealed: spent by this enrolment, and what lets
    /// anyone check that the enroller held it and that the commitment opens.
    pub token: [u8; 32],
    /// The index of the log leaf that recorded this enrolment's commitment.
    pub commitment_leaf: u64,
}

pub type SignedEnrolment = Signed<Enrolment>;

/// The token is secret until the server has the enrolment: never printed.
impl fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Enrolment")
            .field("program_id", &self.program_id)
            .field("shopper", &self.shopper.id())
            .field("enrolled_at", &self.enrolled_at)
            .field("token", &"<redacted>")
            .field("commitment_leaf", &self.commitment_leaf)
            .finish_non_exhaustive()
    }
}

impl Enrolment {
    /// The new pseudonym's enrolment under `invite`, revealing its token,
    /// naming the leaf that logged its commitment; signed by the pseudonym.
    pub fn sign(
        invite: &InviteBundle,
        pseudonym: &SecretIdentity,
        enrolled_at: u64,
        commitment_leaf: u64,
    ) -> SignedEnrolment {
        Signed::sign(
            Self {
                program_id: invite.invite.unverified_body().program_id,
                invite_hash: invite_hash(&invite.invite),
                shopper: pseudonym.public(),
                enrolled_at,
                token: *invite.token.expose_bytes(),
                commitment_leaf,
            },
            pseudonym.signing(),
        )
    }

    /// The commitment this enrolment opens.
    pub fn commitment(&self) -> Digest {
        enrolment_commitment(&self.token, &self.shopper)
    }

    /// The hash of the token it reveals (the invite's `token_hash`).
    pub fn token_hash(&self) -> Digest {
        hash::labelled(labels::HASH_INVITE_TOKEN, &[&self.token])
    }
}

impl Encode for Enrolment {
    fn encode(&self, e: &mut Encoder) {
        e.u16(ENROLMENT_FORMAT)
            .value(&self.program_id)
            .raw(&self.invite_hash)
            .value(&self.shopper)
            .u64(self.enrolled_at)
            .raw(&self.token)
            .u64(self.commitment_leaf);
    }
}

impl Decode for Enrolment {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        d.version("enrolment format", ENROLMENT_FORMAT)?;
        Ok(Self {
            program_id: d.value()?,
            invite_hash: d.array("invite hash")?,
            shopper: d.value()?,
            enrolled_at: d.u64("enrolled at")?,
            token: d.array("token")?,
            commitment_leaf: d.u64("commitment leaf")?,
        })
    }
}

impl SignedBody for Enrolment {
    const LABEL: &'static [u8] = labels::SIG_ENROLMENT;
    const MAX_BODY: usize = 512;
}

/// Checks the whole chain from a shopper to a manager: the enrolment is
/// signed by the shopper's own key over this invite, before it expired, and
/// reveals the invite's token; the invite is signed by a manager of the
/// descriptor it names. Returns the shopper's ID and the inviting manager's
/// ID. That the enrolment's commitment was logged first, and is the
/// earliest for its token, is checked against the log (auditors).
pub fn verify_shopper_chain(
    enrolment: &SignedEnrolment,
    invite: &SignedInvite,
    descriptor: &SignedDescriptor,
) -> Result<(PersonId, PersonId), InviteError> {
    let e = enrolment.unverified_body();
    enrolment
        .verify_by(&e.shopper)
        .map_err(|_| InviteError::BadEnrolmentSignature)?;
    if e.invite_hash != invite_hash(invite) {
        return Err(InviteError::WrongInvite);
    }
    let i = invite.unverified_body();
    if e.program_id != i.program_id {
        return Err(InviteError::WrongProgram);
    }
    if e.enrolled_at > i.expires_at {
        return Err(InviteError::EnrolledAfterExpiry);
    }
    if e.token_hash() != i.token_hash {
        return Err(InviteError::TokenNotRevealed);
    }
    let manager = verify_invite_against(invite, descriptor)?;
    Ok((e.shopper.id(), manager))
}
