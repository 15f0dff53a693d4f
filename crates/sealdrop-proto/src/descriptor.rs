//! Program descriptors: a program's signed authority, and the rules by which
//! one version hands authority to the next.
//!
//! ```text
//! descriptor = u16 format (=2) ‖ program_id[16] ‖ u64 version ‖ option<digest> previous
//!            ‖ string<200> name ‖ list<identity, 16> managers ‖ digest questionnaire
//!            ‖ u32 questionnaire_version ‖ u32 retention_days
//!            ‖ list<identity, 1024> recipients ‖ u64 issued_at
//!            ‖ list<witness, 16> witnesses ‖ u8 witness_threshold
//!            ‖ u32 witness_max_age (seconds)
//! identity   = ed25519_pk[32] ‖ x25519_pk[32]         (sets sorted by person ID)
//! witness    = string<256> key_name ‖ ed25519_pk[32]  (sorted by key, unique keys)
//! hash(d)    = SHA-256("sealdrop/v1/hash/program-descriptor\0" ‖ body(d))
//! ```
//!
//! Chain rules: version 1 has no `previous` and is signed by one of its own
//! managers; version n+1 names `hash(version n)` as `previous`, keeps the
//! program ID, and is signed by a manager of version n. A client keeps the
//! highest version it verified and refuses anything lower, any fork (another
//! descriptor with the same version), and any broken link.

use thiserror::Error;

use crate::codec::{Decode, DecodeError, Decoder, Encode, Encoder, check_strictly_sorted};
use crate::hash::{self, Digest};
use crate::ids::{PersonId, ProgramId};
use crate::keys::{PublicIdentity, SignatureError};
use crate::labels;
use crate::signed::{Signed, SignedBody};

pub const MAX_NAME_LEN: usize = 200;
pub const MAX_MANAGERS: usize = 16;
pub const MAX_RECIPIENTS: usize = 1024;
pub const MAX_RETENTION_DAYS: u32 = 36_500;
pub const MAX_WITNESSES: usize = 16;
/// The longest a program may let its witnesses' cosignatures age: a week.
pub const MAX_WITNESS_AGE_SECS: u32 = 7 * 24 * 3600;
/// The shortest: a minute.
pub const MIN_WITNESS_AGE_SECS: u32 = 60;
/// Format 2 added the witnesses; format 1 is refused (no deployment
/// predates it).
const FORMAT: u16 = 2;

/// A witness the program's clients require: the key name it cosigns
/// under (C2SP signed-note) and its Ed25519 key. sealdrop's witnesses are
/// auditors running `audit witness`, whose key also stands for "I
/// recomputed the checkpoint's heads line" (docs/PROTOCOL.md §14.13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramWitness {
    pub name: String,
    pub key: [u8; 32],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramDescriptor {
    pub program_id: ProgramId,
    pub version: u64,
    /// `hash` of the previous version; `None` exactly for version 1.
    pub previous: Option<Digest>,
    pub name: String,
    /// Who may sign the next version and shopper invites. Sorted by ID.
    pub managers: Vec<PublicIdentity>,
    pub questionnaire_digest: Digest,
    pub questionnaire_version: u32,
    pub retention_days: u32,
    /// Whose keys every report of this version is sealed to. Sorted by ID.
    pub recipients: Vec<PublicIdentity>,
    pub issued_at: u64,
    /// The witnesses whose cosignatures shoppers, reviewers and auditors
    /// require by default, sorted by key; empty for a program without.
    pub witnesses: Vec<ProgramWitness>,
    /// How many of them must vouch: 0 exactly when there are none.
    pub witness_threshold: u8,
    /// How old, in seconds, the newest cosignature of a witness may be for
    /// it to count: a little more than the witnesses' interval, so that a
    /// server showing an older cosignature gains at most that long. 0
    /// exactly when there are no witnesses.
    pub witness_max_age: u32,
}

pub type SignedDescriptor = Signed<ProgramDescriptor>;

/// Why a descriptor was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DescriptorError {
    #[error("descriptor field {field} is invalid: {reason}")]
    Invalid {
        field: &'static str,
        reason: &'static str,
    },
    #[error("the descriptor belongs to program {found}, not {expected}")]
    WrongProgram {
        expected: ProgramId,
        found: ProgramId,
    },
    #[error(
        "descriptor version {offered} is older than version {current} already verified (rollback)"
    )]
    Rollback { current: u64, offered: u64 },
    #[error("a different descriptor claims version {version}, which is already verified (fork)")]
    Fork { version: u64 },
    #[error("descriptor version {found} does not follow version {current}")]
    NotSuccessor { current: u64, found: u64 },
    #[error("descriptor version {version} does not name the hash of the version before it")]
    BrokenLink { version: u64 },
    #[error("descriptor version {version} is not signed by a manager of the version before it")]
    UnauthorisedSigner { version: u64 },
    #[error("descriptor version {version} has an invalid signature")]
    BadSignature { version: u64 },
    #[error("the descriptor does not have the pinned hash")]
    HashMismatch,
}

fn sorted_by_id(people: &mut [PublicIdentity]) {
    people.sort_by_key(PublicIdentity::id);
}

impl ProgramDescriptor {
    /// Version 1 of a new program, with `creator` as its manager and first
    /// recipient.
    pub fn first(
        program_id: ProgramId,
        name: &str,
        creator: PublicIdentity,
        questionnaire_digest: Digest,
        retention_days: u32,
        issued_at: u64,
    ) -> Result<Self, DescriptorError> {
        let d = Self {
            program_id,
            version: 1,
            previous: None,
            name: name.to_owned(),
            managers: vec![creator],
            questionnaire_digest,
            questionnaire_version: 1,
            retention_days,
            recipients: vec![creator],
            issued_at,
            witnesses: Vec::new(),
            witness_threshold: 0,
            witness_max_age: 0,
        };
        d.validate()?;
        Ok(d)
    }

    /// A copy with the version advanced and `previous` linked to `current`,
    /// ready for the caller to change and sign.
    pub fn successor(current: &SignedDescriptor, issued_at: u64) -> Self {
        let mut next = current.unverified_body().clone();
        next.version = next.version.saturating_add(1);
        next.previous = Some(hash_of(current));
        next.issued_at = issued_at;
        next
    }

    pub fn add_manager(&mut self, manager: PublicIdentity) {
        if !self.is_manager(&manager.id()) {
            self.managers.push(manager);
            sorted_by_id(&mut self.managers);
        }
    }

    pub fn remove_manager(&mut self, id: &PersonId) {
        self.managers.retain(|m| m.id() != *id);
    }

    pub fn add_recipient(&mut self, recipient: PublicIdentity) {
        if !self.is_recipient(&recipient.id()) {
            self.recipients.push(recipient);
            sorted_by_id(&mut self.recipients);
        }
    }

    pub fn remove_recipient(&mut self, id: &PersonId) {
        self.recipients.retain(|r| r.id() != *id);
    }

    /// Replaces the witnesses, threshold and age limit (validated when
    /// signed). A key named twice is one witness.
    pub fn set_witnesses(
        &mut self,
        mut witnesses: Vec<ProgramWitness>,
        threshold: u8,
        max_age: u32,
    ) {
        witnesses.sort_by_key(|w| w.key);
        witnesses.dedup_by(|a, b| a.key == b.key);
        self.witnesses = witnesses;
        self.witness_threshold = threshold;
        self.witness_max_age = max_age;
    }

    pub fn is_manager(&self, id: &PersonId) -> bool {
        self.managers.iter().any(|m| m.id() == *id)
    }

    pub fn is_recipient(&self, id: &PersonId) -> bool {
        self.recipients.iter().any(|r| r.id() == *id)
    }

    /// Signs this descriptor. Validates first, so nothing invalid is signed.
    pub fn sign(
        self,
        signer: &crate::keys::SecretIdentity,
    ) -> Result<SignedDescriptor, DescriptorError> {
        self.validate()?;
        Ok(Signed::sign(self, signer.signing()))
    }

    fn validate(&self) -> Result<(), DescriptorError> {
        let invalid = |field, reason| Err(DescriptorError::Invalid { field, reason });
        if self.version == 0 {
            return invalid("version", "versions start at 1");
        }
        if (self.version == 1) != self.previous.is_none() {
            return invalid("previous", "exactly version 1 has no previous hash");
        }
        if self.name.trim().is_empty() || self.name.len() > MAX_NAME_LEN {
            return invalid("name", "must be 1 to 200 bytes");
        }
        if self.managers.is_empty() || self.managers.len() > MAX_MANAGERS {
            return invalid("managers", "a program has 1 to 16 managers");
        }
        if self.recipients.len() > MAX_RECIPIENTS {
            return invalid("recipients", "at most 1024 recipients");
        }
        if self.retention_days == 0 || self.retention_days > MAX_RETENTION_DAYS {
            return invalid("retention_days", "must be 1 to 36500");
        }
        if self.questionnaire_version == 0 {
            return invalid("questionnaire_version", "versions start at 1");
        }
        let sorted = check_strictly_sorted(&self.managers, "managers", PublicIdentity::id)
            .and_then(|()| {
                check_strictly_sorted(&self.recipients, "recipients", PublicIdentity::id)
            });
        if sorted.is_err() {
            return invalid("managers/recipients", "must be sorted by ID and unique");
        }
        if self.witnesses.len() > MAX_WITNESSES {
            return invalid("witnesses", "at most 16 witnesses");
        }
        if !self.witnesses.windows(2).all(|w| w[0].key < w[1].key) {
            return invalid("witnesses", "must be sorted by key and unique");
        }
        for w in &self.witnesses {
            if !crate::log::checkpoint::is_valid_key_name(&w.name) {
                return invalid("witnesses", "a witness name is not a valid key name");
            }
            if crate::keys::parse_verifying_key(&w.key).is_err() {
                return invalid("witnesses", "a witness key is not a valid Ed25519 key");
            }
        }
        let threshold = usize::from(self.witness_threshold);
        if threshold > self.witnesses.len() || (threshold == 0) != self.witnesses.is_empty() {
            return invalid(
                "witness_threshold",
                "must be 1 to the number of witnesses, and 0 without witnesses",
            );
        }
        let age_ok = if self.witnesses.is_empty() {
            self.witness_max_age == 0
        } else {
            (MIN_WITNESS_AGE_SECS..=MAX_WITNESS_AGE_SECS).contains(&self.witness_max_age)
        };
        if !age_ok {
            return invalid(
                "witness_max_age",
                "must be a minute to a week with witnesses, and 0 without",
            );
        }
        Ok(())
    }
}

/// The hash that invites and the next version use to name a descriptor.
pub fn hash_of(descriptor: &SignedDescriptor) -> Digest {
    hash::labelled(labels::HASH_DESCRIPTOR, &[descriptor.body_bytes()])
}

impl Encode for ProgramDescriptor {
    fn encode(&self, e: &mut Encoder) {
        e.u16(FORMAT)
            .value(&self.program_id)
            .u64(self.version)
            .option(self.previous.as_ref(), |e, p| {
                e.raw(p);
            })
            .str(&self.name)
            .list(&self.managers, |e, m| {
                e.value(m);
            })
            .raw(&self.questionnaire_digest)
            .u32(self.questionnaire_version)
            .u32(self.retention_days)
            .list(&self.recipients, |e, r| {
                e.value(r);
            })
            .u64(self.issued_at)
            .list(&self.witnesses, |e, w| {
                e.str(&w.name).raw(&w.key);
            })
            .u8(self.witness_threshold)
            .u32(self.witness_max_age);
    }
}

impl Decode for ProgramDescriptor {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        d.version("descriptor format", FORMAT)?;
        let descriptor = Self {
            program_id: d.value()?,
            version: d.u64("version")?,
            previous: d.option("previous", |d| d.array("previous"))?,
            name: d.str("name", MAX_NAME_LEN)?.to_owned(),
            managers: d.list("managers", MAX_MANAGERS, 64, Decoder::value)?,
            questionnaire_digest: d.array("questionnaire digest")?,
            questionnaire_version: d.u32("questionnaire version")?,
            retention_days: d.u32("retention days")?,
            recipients: d.list("recipients", MAX_RECIPIENTS, 64, Decoder::value)?,
            issued_at: d.u64("issued at")?,
            witnesses: d.list(
                "witnesses",
                MAX_WITNESSES,
                4 + 32,
                |d| -> Result<ProgramWitness, DecodeError> {
                    Ok(ProgramWitness {
                        name: d
                            .str("witness name", crate::log::checkpoint::MAX_KEY_NAME_LEN)?
                            .to_owned(),
                        key: d.array("witness key")?,
                    })
                },
            )?,
            witness_threshold: d.u8("witness threshold")?,
            witness_max_age: d.u32("witness max age")?,
        };
        check_strictly_sorted(&descriptor.managers, "managers", PublicIdentity::id)?;
        check_strictly_sorted(&descriptor.recipients, "recipients", PublicIdentity::id)?;
        descriptor.validate().map_err(|_| DecodeError::Invalid {
            field: "program descriptor",
            reason: "violates the descriptor rules",
        })?;
        Ok(descriptor)
    }
}

impl SignedBody for ProgramDescriptor {
    const LABEL: &'static [u8] = labels::SIG_DESCRIPTOR;
    const MAX_BODY: usize = 160 * 1024;
}

/// The highest verified version of one program's descriptor.
#[derive(Debug, Clone)]
pub struct DescriptorChain {
    current: SignedDescriptor,
    current_hash: Digest,
}

/// What [`DescriptorChain::accept`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// The offered descriptor is the one already held.
    Unchanged,
    /// The chain advanced to this version.
    Advanced(u64),
}

impl DescriptorChain {
    /// Starts a chain at version 1: self-signed by one of its own managers.
    pub fn genesis(first: SignedDescriptor) -> Result<Self, DescriptorError> {
        let body = first.unverified_body();
        if body.version != 1 || body.previous.is_some() {
            return Err(DescriptorError::Invalid {
                field: "version",
                reason: "a chain starts at version 1",
            });
        }
        first
            .verify_by_any(&body.managers)
            .map_err(|e| signature_error(e, 1))?;
        Ok(Self::at(first))
    }

    /// Starts a chain at a descriptor whose hash the caller pinned from a
    /// trusted source (a manager-signed invite). The pin is the trust: this
    /// version was signed by a manager of a version the caller never saw.
    pub fn pinned(
        descriptor: SignedDescriptor,
        expected_hash: &Digest,
    ) -> Result<Self, DescriptorError> {
        if hash_of(&descriptor) != *expected_hash {
            return Err(DescriptorError::HashMismatch);
        }
        Ok(Self::at(descriptor))
    }

    /// Resumes from a descriptor this client verified earlier and stored
    /// locally. No check: the caller vouches for its own storage.
    pub fn resume_trusted(descriptor: SignedDescriptor) -> Self {
        Self::at(descriptor)
    }

    /// Verifies a whole chain from version 1.
    pub fn verify_from_genesis(
        versions: impl IntoIterator<Item = SignedDescriptor>,
    ) -> Result<Self, DescriptorError> {
        let mut iter = versions.into_iter();
        let first = iter.next().ok_or(DescriptorError::Invalid {
            field: "chain",
            reason: "empty",
        })?;
        let mut chain = Self::genesis(first)?;
        for next in iter {
            chain.advance(next)?;
        }
        Ok(chain)
    }

    fn at(descriptor: SignedDescriptor) -> Self {
        let current_hash = hash_of(&descriptor);
        Self {
            current: descriptor,
            current_hash,
        }
    }

    pub fn current(&self) -> &ProgramDescriptor {
        self.current.unverified_body()
    }

    pub fn current_signed(&self) -> &SignedDescriptor {
        &self.current
    }

    pub fn current_hash(&self) -> &Digest {
        &self.current_hash
    }

    /// Advances to exactly the next version.
    pub fn advance(&mut self, next: SignedDescriptor) -> Result<(), DescriptorError> {
        let cur = self.current();
        let body = next.unverified_body();
        if body.program_id != cur.program_id {
            return Err(DescriptorError::WrongProgram {
                expected: cur.program_id,
                found: body.program_id,
            });
        }
        if body.version <= cur.version {
            return Err(if body.version == cur.version {
                DescriptorError::Fork {
                    version: body.version,
                }
            } else {
                DescriptorError::Rollback {
                    current: cur.version,
                    offered: body.version,
                }
            });
        }
        if body.version != cur.version.saturating_add(1) {
            return Err(DescriptorError::NotSuccessor {
                current: cur.version,
                found: body.version,
            });
        }
        if body.previous != Some(self.current_hash) {
            return Err(DescriptorError::BrokenLink {
                version: body.version,
            });
        }
        next.verify_by_any(&cur.managers)
            .map_err(|e| signature_error(e, body.version))?;
        *self = Self::at(next);
        Ok(())
    }

    /// Accepts the descriptor a server says is current: the one already held
    /// (unchanged), or a chain of successors ending at it (`path` holds the
    /// versions after the current one, in order, ending with the new latest).
    pub fn accept(
        &mut self,
        path: impl IntoIterator<Item = SignedDescriptor>,
    ) -> Result<Accepted, DescriptorError> {
        // All or nothing: a path that breaks part-way leaves the chain as
        // it was.
        let mut trial = self.clone();
        let mut advanced = None;
        for next in path {
            let version = next.unverified_body().version;
            if version == trial.current().version && hash_of(&next) == trial.current_hash {
                continue;
            }
            trial.advance(next)?;
            advanced = Some(version);
        }
        *self = trial;
        Ok(advanced.map_or(Accepted::Unchanged, Accepted::Advanced))
    }
}

fn signature_error(e: SignatureError, version: u64) -> DescriptorError {
    match e {
        SignatureError::Invalid => DescriptorError::BadSignature { version },
        SignatureError::UnauthorisedSigner => DescriptorError::UnauthorisedSigner { version },
    }
}
