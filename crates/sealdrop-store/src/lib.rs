//! sealdrop's storage: one [`Store`] interface and its SQLite implementation.
//!
//! Everything that crosses this interface is sealed or public: signed
//! descriptors, invites and enrolments, sealed reports and their ciphertext,
//! envelopes, grants, and hashes of secrets (tokens and challenges are
//! stored only as hashes, computed by the caller). No plaintext type of the
//! protocol appears here, and no SQL leaves the implementation.
//!
//! The store enforces what must be atomic: single-use tokens and
//! challenges, report-ID uniqueness and reservation after deletion, the
//! descriptor compare-and-swap, and "nothing partial": every method either
//! commits all its effects or none. Signature checks happen before, in the
//! server's services; the store re-checks only what can change between the
//! check and the commit (the current descriptor version, a person's status).

mod model;
pub mod sqlite;

pub use model::*;
pub use sqlite::{SqliteStore, TreeHead};

use sealdrop_proto::descriptor::SignedDescriptor;
use sealdrop_proto::ids::{PersonId, ProgramId, ReportId};
use sealdrop_proto::log::merkle::Digest;
use sealdrop_proto::report::ReportRecord;

/// The storage interface. Every method blocks: call it from a thread that
/// may block, never from an async executor thread.
pub trait Store: Send + Sync {
    // The log (RFC 9162 Merkle tree over every change's leaf).
    /// The current size and root, including every leaf committed so far.
    fn log_head(&self) -> Result<TreeHead, StoreError>;
    /// The audit path of leaf `index` in the tree of `size` leaves
    /// (`size` at most that of the last [`Store::log_head`]).
    fn log_inclusion(&self, index: u64, size: u64) -> Result<Vec<Digest>, StoreError>;
    /// The consistency proof from size `old` to size `new`.
    fn log_consistency(&self, old: u64, new: u64) -> Result<Vec<Digest>, StoreError>;
    /// The stored data of leaves `[start, end)`.
    fn log_leaves(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError>;
    /// The root of the tree of `size` leaves (a size the log has had).
    fn log_root_at(&self, size: u64) -> Result<Digest, StoreError>;
    /// Every program's head (its last descriptor leaf) among the first
    /// `size` leaves: what the checkpoint of that size commits to.
    fn log_heads_at(&self, size: u64) -> Result<sealdrop_proto::log::heads::HeadsMap, StoreError>;
    /// Keeps a witness's verified cosignature of the checkpoint of `size`.
    fn put_cosignature(
        &self,
        witness: &PersonId,
        size: u64,
        line: &str,
        now: u64,
    ) -> Result<(), StoreError>;
    /// Forgets every cosignature (a restore starts a new log origin).
    fn forget_cosignatures(&self) -> Result<(), StoreError>;
    /// Each witness's newest cosignature (size and line), at most `limit`
    /// witnesses, the most recent first.
    fn newest_cosignatures(&self, limit: u32) -> Result<Vec<(u64, String)>, StoreError>;
    /// The leaf that records a report's acceptance.
    fn accepted_leaf(&self, report: &ReportId) -> Result<Option<u64>, StoreError>;

    // Organisations and one-time enrolment tokens.
    fn organisation(&self, name: &str) -> Result<Option<Organisation>, StoreError>;
    fn create_organisation(&self, name: &str, now: u64) -> Result<Organisation, StoreError>;
    fn issue_enrolment_token(&self, token: EnrolmentToken) -> Result<(), StoreError>;

    // People.
    /// Consumes `token_hash` and enrols the person with the token's role and
    /// organisation, in one transaction.
    fn enrol(&self, enrolment: NewPerson) -> Result<Person, StoreError>;
    /// Logs a shopper's commitment (a `committed` leaf) if an unused,
    /// unexpired invite has its token hash and has not had too many
    /// commitments; returns the leaf's index.
    fn commit_enrolment(&self, commitment: NewCommitment) -> Result<u64, StoreError>;
    /// Consumes the invite's token and enrols the shopper, in one
    /// transaction, if the enrolment's commitment leaf holds the commitment
    /// it opens. The caller has verified the chain.
    fn enrol_shopper(&self, enrolment: NewShopper) -> Result<EnrolledShopper, StoreError>;
    fn person(&self, id: &PersonId) -> Result<Option<Person>, StoreError>;
    /// As [`Store::person`], with a shopper's signed invite and enrolment.
    fn person_record(&self, id: &PersonId) -> Result<Option<Person>, StoreError>;
    /// The shoppers enrolled in a program.
    fn shoppers(&self, program: &ProgramId) -> Result<Vec<Person>, StoreError>;
    /// Disables a person (appending a `disabled` leaf the first time) and
    /// ends their sessions: when, and that leaf. `None` when unknown.
    fn disable_person(&self, id: &PersonId, now: u64) -> Result<Option<Disabled>, StoreError>;

    // Challenges and sessions, by hash.
    fn put_challenge(&self, hash: [u8; 32], expires_at: u64) -> Result<(), StoreError>;
    /// Deletes the challenge and says whether it existed and was unexpired.
    fn take_challenge(&self, hash: [u8; 32], now: u64) -> Result<bool, StoreError>;
    fn put_session(
        &self,
        hash: [u8; 32],
        person: &PersonId,
        expires_at: u64,
    ) -> Result<(), StoreError>;
    /// The person a live session belongs to.
    fn session(&self, hash: [u8; 32], now: u64) -> Result<Option<PersonId>, StoreError>;

    // Shopper invites: the server learns only the token's hash.
    fn register_invite(&self, invite: NewInvite) -> Result<(), StoreError>;

    // Programs and descriptors.
    fn create_program(
        &self,
        org: i64,
        first: &SignedDescriptor,
        now: u64,
    ) -> Result<u64, StoreError>;
    /// Stores `next` as the current version if the current one is still
    /// `next.version - 1` (compare-and-swap), deleting the envelopes of
    /// `revoked` recipients on this program's reports. Both return the
    /// index of the version's `descriptor` leaf.
    fn advance_descriptor(
        &self,
        next: &SignedDescriptor,
        revoked: &[PersonId],
        now: u64,
    ) -> Result<u64, StoreError>;
    fn program(&self, id: &ProgramId) -> Result<Option<Program>, StoreError>;
    fn programs(&self, org: i64) -> Result<Vec<Program>, StoreError>;
    fn descriptor(
        &self,
        id: &ProgramId,
        version: u64,
    ) -> Result<Option<SignedDescriptor>, StoreError>;
    fn descriptors(&self, id: &ProgramId) -> Result<Vec<SignedDescriptor>, StoreError>;
    /// Stores a questionnaire under its digest (the caller checked that a
    /// descriptor of the program signs it). Storing the same one again is
    /// no change.
    fn put_questionnaire(
        &self,
        program: &ProgramId,
        digest: [u8; 32],
        body: Vec<u8>,
    ) -> Result<(), StoreError>;
    fn questionnaire(
        &self,
        program: &ProgramId,
        digest: [u8; 32],
    ) -> Result<Option<Vec<u8>>, StoreError>;

    // Reports.
    /// Stores a verified report atomically and durably, or returns the
    /// acknowledgement of the identical report stored before.
    fn submit(&self, submission: Submission) -> Result<SubmitOutcome, StoreError>;
    /// [`Store::submit`] without waiting: queues the write for the next
    /// group commit and returns at once; `done` runs with the outcome after
    /// the commit (or its failure). For callers that must not block, such as
    /// an async server's executor threads. A store too busy to queue it
    /// answers [`StoreError::Busy`] through `done`.
    fn submit_queued(&self, submission: Submission, done: Done<SubmitOutcome>);
    /// The reports `person` holds an envelope for.
    fn inbox(&self, person: &PersonId, filter: &InboxFilter) -> Result<Vec<InboxRow>, StoreError>;
    /// Releases `person`'s envelope of a report and records the release.
    fn release(
        &self,
        report: &ReportId,
        person: &PersonId,
        now: u64,
    ) -> Result<Release, StoreError>;
    /// True when `person` holds an envelope of the live report.
    fn holds_envelope(&self, report: &ReportId, person: &PersonId) -> Result<bool, StoreError>;
    /// Part `part` of a stream's ciphertext; `None` past the end.
    fn stream_part(
        &self,
        report: &ReportId,
        stream: u32,
        part: u32,
    ) -> Result<Option<Vec<u8>>, StoreError>;
    fn report(&self, id: &ReportId) -> Result<Option<StoredReport>, StoreError>;
    /// Applies a grant: the next descriptor if it carries one
    /// (compare-and-swap; otherwise the grant must name the current version)
    /// and new envelopes, each on a live report of the program. Returns the live
    /// reports still without an envelope for the recipient.
    fn grant(&self, grant: NewGrant) -> Result<GrantStored, StoreError>;
    // Resumable uploads, each owned by the shopper who began it.
    fn begin_upload(&self, upload: NewUpload) -> Result<UploadStart, StoreError>;
    fn upload_state(
        &self,
        report: &ReportId,
        shopper: &PersonId,
    ) -> Result<UploadState, StoreError>;
    /// Appends a piece at exactly the received offset; returns the new one.
    fn append_upload(&self, piece: UploadPiece) -> Result<u64, StoreError>;
    fn upload_part(
        &self,
        report: &ReportId,
        shopper: &PersonId,
        stream: u32,
        part: u32,
    ) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stores the uploaded report (the caller checked every digest), with
    /// the same checks and outcomes as [`Store::submit`].
    fn finish_upload(&self, finish: FinishUpload) -> Result<SubmitOutcome, StoreError>;
    fn discard_upload(&self, report: &ReportId, shopper: &PersonId) -> Result<(), StoreError>;

    /// Deletes a report's ciphertext and envelopes, leaving a tombstone.
    fn delete_report(&self, deletion: NewDeletion) -> Result<(), StoreError>;
    /// Purges every report past its program's retention as of `as_of`
    /// (normally `now`; later only for drills), recording `now` as the
    /// purge time; deletes uploads abandoned for a week and expired
    /// challenges and sessions. Deleted ciphertext is overwritten, and the
    /// write-ahead log truncated, before this returns.
    fn purge(&self, as_of: u64, now: u64) -> Result<Vec<ReportId>, StoreError>;

    // What auditors read of one organisation, in pages by sequence number.
    fn audit_reports(
        &self,
        org: i64,
        page: AuditPage,
    ) -> Result<Vec<(u64, StoredReport)>, StoreError>;
    fn audit_people(&self, org: i64, page: AuditPage) -> Result<Vec<(u64, Person)>, StoreError>;
    fn audit_grants(&self, org: i64, page: AuditPage) -> Result<Vec<(u64, GrantRow)>, StoreError>;
    /// Every report's record and acknowledgement, in pages, with the
    /// ciphertext of live reports (a report too large for a page is marked
    /// for fetching stream by stream). A page stops after about `max_bytes`
    /// of ciphertext.
    fn audit_bulk(
        &self,
        org: i64,
        page: AuditPage,
        max_bytes: u64,
    ) -> Result<Vec<BulkRow>, StoreError>;
    fn audit_releases(
        &self,
        org: i64,
        page: AuditPage,
    ) -> Result<Vec<(u64, ReleaseRow)>, StoreError>;

    /// A consistent copy of the whole store, taken while serving.
    fn backup(&self, to: &std::path::Path) -> Result<(), StoreError>;
}

/// A completion callback.
pub type Done<T> = Box<dyn FnOnce(Result<T, StoreError>) + Send>;

impl StoredReport {
    /// The record, decoded strictly.
    pub fn decoded(&self) -> Result<ReportRecord, StoreError> {
        use sealdrop_proto::codec::Decode as _;
        ReportRecord::from_bytes(&self.record)
            .map_err(|e| StoreError::Backend(format!("a stored record does not decode: {e}")))
    }
}

/// The public part of a stored report, for auditors and checks. The record
/// is kept as stored bytes: a damaged one is the auditor's to find and
/// name, not a reason to fail a whole listing.
#[derive(Debug, Clone)]
pub struct StoredReport {
    pub id: ReportId,
    pub record: Vec<u8>,
    pub program: ProgramId,
    pub received_at: u64,
    pub acknowledgement: Vec<u8>,
    pub tombstone: Option<Tombstone>,
}
