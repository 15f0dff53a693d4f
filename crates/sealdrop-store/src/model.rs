//! The values that cross the [`crate::Store`] interface.

use sealdrop_proto::descriptor::SignedDescriptor;
use sealdrop_proto::hash::Digest;
use sealdrop_proto::ids::{PersonId, ProgramId, ReportId};
use sealdrop_proto::invite::{SignedEnrolment, SignedInvite};
use sealdrop_proto::keys::PublicIdentity;
use sealdrop_proto::messages::{Acknowledgement, DeletionRequest};
use sealdrop_proto::report::{Envelope, SealedReport, SignedGrant};
use sealdrop_proto::signed::Signed;
use thiserror::Error;

/// A role, as stored.
pub use sealdrop_api::Role;

/// Why a store operation failed. Only [`StoreError::Backend`] is a fault of
/// the store itself; the others are refusals the caller maps to a status.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("the enrolment token is unknown, used or expired")]
    BadToken,
    #[error("this person is already enrolled")]
    AlreadyEnrolled,
    #[error("no such organisation")]
    UnknownOrganisation,
    #[error("an organisation of that name exists")]
    OrganisationExists,
    #[error("no such program")]
    UnknownProgram,
    #[error("a program with that ID exists")]
    ProgramExists,
    #[error("the descriptor is not the successor of the current version {current}")]
    DescriptorConflict { current: u64 },
    #[error("the report is sealed for an older descriptor version")]
    StaleList { current: Box<SignedDescriptor> },
    #[error("the person is unknown or not allowed to do this")]
    NotAllowed,
    #[error("the person is disabled")]
    Disabled,
    #[error("a different report already uses this ID")]
    ReportIdConflict,
    #[error("the report was purged or deleted")]
    Gone,
    #[error("no such report")]
    UnknownReport,
    #[error("the invite's manager no longer manages the program")]
    InviterNotManager,
    #[error("the enrolment's commitment leaf does not hold the commitment it opens")]
    CommitmentMismatch,
    #[error("the store is too busy to take this write now")]
    Busy,
    #[error("no such upload in progress")]
    UnknownUpload,
    #[error("the upload continues at offset {expected}")]
    UploadOffset { expected: u64 },
    #[error("the upload is not complete")]
    Incomplete,
    #[error("{0}")]
    Invalid(&'static str),
    /// A fault in the database: never shown to clients.
    #[error("storage failure: {0}")]
    Backend(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Backend(e.to_string())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub id: i64,
    pub name: String,
}

/// A one-time token, by hash, that enrols one person with `role` in `org`.
#[derive(Debug, Clone)]
pub struct EnrolmentToken {
    pub hash: [u8; 32],
    pub org: i64,
    pub role: Role,
    pub expires_at: u64,
}

#[derive(Debug, Clone)]
pub struct NewPerson {
    pub token_hash: [u8; 32],
    pub identity: PublicIdentity,
    pub now: u64,
}

/// A shopper's reveal: the invite, seen here first, and the enrolment that
/// reveals its token and names its commitment's leaf.
#[derive(Debug, Clone)]
pub struct NewShopper {
    pub invite: SignedInvite,
    pub enrolment: SignedEnrolment,
    pub now: u64,
}

/// An enrolled shopper and the index of their `enrolled` leaf.
#[derive(Debug, Clone)]
pub struct EnrolledShopper {
    pub person: Person,
    pub leaf: u64,
}

/// What a manager registers of a shopper invite: never the signed invite.
#[derive(Debug, Clone)]
pub struct NewInvite {
    pub program: ProgramId,
    pub token_hash: [u8; 32],
    pub expires_at: u64,
}

/// A shopper's commitment to an invite's token and their new keys.
#[derive(Debug, Clone)]
pub struct NewCommitment {
    pub token_hash: [u8; 32],
    pub commitment: [u8; 32],
    pub now: u64,
}

#[derive(Debug, Clone)]
pub struct Person {
    pub id: PersonId,
    pub identity: PublicIdentity,
    pub role: Role,
    pub organisation: Organisation,
    pub enrolled_at: u64,
    pub disabled: bool,
    /// Shoppers: their program.
    pub program: Option<ProgramId>,
    /// Shoppers: the invite and the signed enrolment. Read only for
    /// auditors ([`crate::Store::audit_people`]): decoding them costs
    /// several curve-point decompressions, too much for every request.
    pub shopper: Option<ShopperRecord>,
}

#[derive(Debug, Clone)]
pub struct ShopperRecord {
    pub invite: SignedInvite,
    pub enrolment: SignedEnrolment,
}

#[derive(Debug, Clone)]
pub struct Program {
    pub id: ProgramId,
    pub org: i64,
    pub current: SignedDescriptor,
    pub report_count: u64,
}

/// A report whose signature and addressing the caller verified.
#[derive(Debug)]
pub struct Submission {
    pub sealed: SealedReport,
    /// Each stream's ciphertext, in parts of at most [`crate::sqlite::PART_LEN`].
    pub streams: Vec<Vec<Vec<u8>>>,
    pub acknowledgement: Signed<Acknowledgement>,
    pub shopper: PersonId,
}

#[derive(Debug, Clone)]
pub enum SubmitOutcome {
    Stored(Accepted),
    /// The same report was stored before: its original acknowledgement.
    Duplicate(Accepted),
}

impl SubmitOutcome {
    pub fn accepted(&self) -> &Accepted {
        match self {
            Self::Stored(a) | Self::Duplicate(a) => a,
        }
    }
}

/// A stored report's acknowledgement and the log leaf of its acceptance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub acknowledgement: Vec<u8>,
    /// `None` only for a report stored before the log existed.
    pub leaf: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct InboxFilter {
    pub program: Option<ProgramId>,
    pub since: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct InboxRow {
    pub report: ReportId,
    pub program: ProgramId,
    pub shopper: PersonId,
    pub received_at: u64,
    pub size: u64,
    pub fetched: bool,
}

#[derive(Debug, Clone)]
pub struct Release {
    pub record: Vec<u8>,
    pub envelope: Envelope,
    pub grant: Option<Vec<u8>>,
    pub acknowledgement: Vec<u8>,
    /// The index of the log leaf that records this release.
    pub leaf: u64,
    pub released_at: u64,
}

#[derive(Debug, Clone)]
pub struct NewGrant {
    pub descriptor: Option<SignedDescriptor>,
    pub grant: SignedGrant,
    pub envelopes: Vec<Envelope>,
    pub now: u64,
}

/// A disabled person: when, and the `disabled` leaf that records it
/// (absent for a person disabled before the store kept it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disabled {
    pub at: u64,
    pub leaf: Option<u64>,
}

/// What a stored grant appended to the log, and what it left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantStored {
    /// The new version's `descriptor` leaf, when the grant brought one.
    pub descriptor_leaf: Option<u64>,
    /// The grant's `granted` leaf.
    pub granted_leaf: u64,
    /// Live reports the recipient still has no envelope for.
    pub missing: Vec<ReportId>,
}

#[derive(Debug, Clone)]
pub struct NewDeletion {
    pub report: ReportId,
    pub request: Signed<DeletionRequest>,
    pub now: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tombstone {
    Retention {
        descriptor_version: u64,
        retention_days: u32,
        purged_at: u64,
    },
    Deletion {
        request: Vec<u8>,
        deleted_at: u64,
    },
}

#[derive(Debug, Clone)]
pub struct GrantRow {
    pub program: ProgramId,
    pub grant: Vec<u8>,
    pub accepted_at: u64,
}

#[derive(Debug, Clone)]
pub struct ReleaseRow {
    pub report: ReportId,
    pub person: PersonId,
    pub released_at: u64,
}

/// Items with a sequence number above `after`, at most `limit`.
#[derive(Debug, Clone, Copy)]
pub struct AuditPage {
    pub after: u64,
    pub limit: u32,
}

/// A resumable upload's start: a sealed report the caller checked.
#[derive(Debug, Clone)]
pub struct NewUpload {
    pub sealed: SealedReport,
    pub shopper: PersonId,
    pub now: u64,
}

#[derive(Debug, Clone)]
pub enum UploadStart {
    /// In progress: continue each stream at its received offset.
    Started(Box<UploadState>),
    /// This report is stored already: its acknowledgement.
    Stored(Accepted),
}

#[derive(Debug, Clone)]
pub struct UploadState {
    pub sealed: SealedReport,
    /// Bytes received so far, per stream.
    pub received: Vec<u64>,
    /// Which bytes these are: finishing names it, so that bytes checked
    /// are the bytes stored even if the upload was restarted in between.
    pub blob: i64,
}

#[derive(Debug, Clone)]
pub struct UploadPiece {
    pub report: ReportId,
    pub shopper: PersonId,
    pub stream: u32,
    pub offset: u64,
    pub data: Vec<u8>,
    pub now: u64,
}

#[derive(Debug, Clone)]
pub struct FinishUpload {
    pub report: ReportId,
    pub shopper: PersonId,
    /// The sealed report and the blob whose ciphertext the caller checked.
    pub sealed_hash: Digest,
    pub blob: i64,
    pub acknowledgement: Signed<Acknowledgement>,
}

/// A report as auditors page through it: its public record, the
/// acknowledgement, and its ciphertext when it is live and small enough.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkRow {
    pub seq: u64,
    pub report: ReportId,
    /// The log leaf of the report's acceptance.
    pub leaf: Option<u64>,
    pub record: Vec<u8>,
    pub acknowledgement: Vec<u8>,
    pub ciphertext: BulkCiphertext,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkCiphertext {
    /// Every stream, in order.
    Included(Vec<Vec<u8>>),
    /// Live, but larger than a page: read it stream by stream.
    TooLarge,
    /// Purged or deleted.
    Tombstoned,
}
