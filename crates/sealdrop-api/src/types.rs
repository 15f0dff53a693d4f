//! JSON request and response bodies. IDs travel in their typed text form;
//! signed objects as [`B64`] canonical bytes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::B64;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// What a person may do on a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Manager,
    Staff,
    Auditor,
    Shopper,
}

impl Role {
    pub const ALL: [Self; 5] = [
        Self::Admin,
        Self::Manager,
        Self::Staff,
        Self::Auditor,
        Self::Shopper,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Manager => "manager",
            Self::Staff => "staff",
            Self::Auditor => "auditor",
            Self::Shopper => "shopper",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or(UnknownRole)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown role: expected admin, manager, staff, auditor or shopper")]
pub struct UnknownRole;

/// `GET /v1/server`: what a client needs before sealing or enrolling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ServerInfo {
    /// The server's Ed25519 log key, which signs acknowledgements.
    pub log_key: B64,
    pub log_origin: String,
    /// The largest report (header, envelopes and every ciphertext stream)
    /// accepted in one `POST /v1/reports`.
    pub max_report_bytes: u64,
    /// The largest report accepted through a resumable upload.
    pub max_upload_bytes: u64,
    /// The largest piece one `PUT /v1/uploads/{report}/streams/{stream}` takes.
    pub max_piece_bytes: u64,
    pub version: String,
}

/// `POST /v1/auth/challenge`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Challenge {
    /// 32 random bytes, single use.
    pub nonce: B64,
    pub expires_at: u64,
}

/// `POST /v1/auth/session`: a signed `AuthResponse` (purpose session).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SessionRequest {
    pub response: B64,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Session {
    /// The bearer token. Secret: the server keeps only its hash.
    pub token: String,
    pub expires_at: u64,
    pub person: String,
    pub role: Role,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("person", &self.person)
            .field("role", &self.role)
            .finish()
    }
}

/// `POST /v1/enrol`: staff, managers and auditors, with a one-time token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct EnrolRequest {
    pub token: String,
    /// The person's public keys as a key bundle (`sdkey…`).
    pub identity: String,
    /// A signed `AuthResponse` with purpose enrol, proving the keys are held.
    pub response: B64,
}

impl fmt::Debug for EnrolRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnrolRequest")
            .field("token", &"<redacted>")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

/// `POST /v1/enrol/shopper`: a shopper pseudonym under a manager's invite.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ShopperEnrolRequest {
    /// The manager-signed invite, which the server sees here for the first
    /// time.
    pub invite: B64,
    /// The enrolment, signed by the new pseudonym over the invite's hash;
    /// it reveals the invite's token and names the log leaf of its
    /// commitment.
    pub enrolment: B64,
}

impl fmt::Debug for ShopperEnrolRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShopperEnrolRequest")
            .field("enrolment", &"<reveals the token>")
            .finish_non_exhaustive()
    }
}

/// `POST /v1/enrol/commit`: the first step of a shopper's enrolment, before
/// the token is revealed. The server checks that an unused invite has this
/// token hash and logs the commitment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct EnrolCommitment {
    pub token_hash: B64,
    /// `H(HASH_ENROLMENT_COMMITMENT, token ‖ the pseudonym's identity)`.
    pub commitment: B64,
}

/// The logged commitment: its `committed` leaf's inclusion proof and time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CommitmentLogged {
    pub committed_at: u64,
    pub log: crate::log::LogProof,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Enrolled {
    pub person: String,
    pub role: Role,
    pub organisation: String,
    /// Shoppers: the server's time of the `enrolled` leaf, and its
    /// inclusion proof; the shopper is enrolled only once it verifies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrolled_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<crate::log::LogProof>,
}

/// `GET /v1/me`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Me {
    pub person: String,
    pub role: Role,
    pub organisation: String,
}

/// `POST /v1/invites/staff`: a one-time staff enrolment token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TokenIssued {
    pub token: String,
    pub expires_at: u64,
}

impl fmt::Debug for TokenIssued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenIssued")
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// `POST /v1/invites/shopper`: registers what the server needs to
/// recognise an invite's token, and nothing else: never the signed invite,
/// which the server first sees when a shopper uses it, so it cannot enrol a
/// key of its own under an invite nobody used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct InviteRegistration {
    pub program: String,
    pub token_hash: B64,
    pub expires_at: u64,
}

/// A signed program descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct DescriptorBody {
    pub descriptor: B64,
}

/// Every version of a program's descriptor, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct DescriptorChainBody {
    pub versions: Vec<B64>,
}

/// What a descriptor update did.
/// `POST /v1/programs/{program}/shoppers/{person}/revocation`: when the
/// shopper was disabled, and the inclusion proof of that `disabled` leaf
/// (absent only for a shopper disabled before the server kept the leaf):
/// the manager calls the revocation done only once it verifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ShopperRevoked {
    pub person: String,
    pub logged_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<crate::log::LogProof>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct DescriptorAccepted {
    pub program: String,
    pub version: u64,
    /// Recipients removed by this version, whose envelopes were deleted.
    pub revoked: Vec<String>,
    /// The server's time of the version's `descriptor` leaf, and the leaf's
    /// inclusion proof: the manager calls the change done only once it
    /// verifies.
    #[serde(default)]
    pub logged_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<crate::log::LogProof>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ProgramSummary {
    pub program: String,
    pub name: String,
    pub version: u64,
    pub report_count: u64,
}

/// `POST /v1/programs/{program}/grants`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct GrantUpload {
    /// The next descriptor version, which adds the recipient; absent when
    /// the recipient is on the current version already (a follow-up grant
    /// for reports the first one missed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descriptor: Option<B64>,
    /// The manager-signed grant record naming every envelope below.
    pub grant: B64,
    /// One envelope per report, for the grant's recipient.
    pub envelopes: Vec<B64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct GrantAccepted {
    pub version: u64,
    /// Live reports of the program that the upload had no envelope for: the
    /// manager re-wraps these in a further grant.
    pub missing: Vec<String>,
    /// The server's time of the grant's leaves, and their inclusion proofs:
    /// the `granted` leaf, and the new version's `descriptor` leaf when
    /// the upload brought one. The manager calls the grant done only once
    /// they verify.
    #[serde(default)]
    pub logged_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<crate::log::LogProof>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descriptor_log: Option<crate::log::LogProof>,
}

/// The server's signed acknowledgement of a stored report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Receipt {
    pub report: String,
    /// A `Signed<Acknowledgement>` by the server's log key.
    pub acknowledgement: B64,
    /// The acceptance leaf's inclusion in a signed checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<crate::log::LogProof>,
}

/// A resumable upload: each stream's declared length and what the server
/// has so far. Continue each stream at `received`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UploadStatus {
    pub report: String,
    pub streams: Vec<UploadStream>,
    /// Present when the report is stored already: its acknowledgement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledgement: Option<B64>,
    /// With `acknowledgement`: the acceptance leaf's inclusion proof.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<crate::log::LogProof>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UploadStream {
    pub length: u64,
    pub received: u64,
}

/// `PUT /v1/uploads/{report}/streams/{stream}` query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct PieceQuery {
    /// Where this piece starts: what the server has received of the stream.
    pub offset: u64,
}

/// A shopper of a program, as its managers and auditors see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ShopperEntry {
    pub person: String,
    pub enrolled_at: u64,
    pub disabled: bool,
}

/// One report the caller may read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct InboxEntry {
    pub report: String,
    pub program: String,
    pub shopper: String,
    pub received_at: u64,
    pub size: u64,
    /// True once the caller has downloaded their envelope.
    pub fetched: bool,
}

/// `GET /v1/reports/{report}`: the public record and the caller's envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ReportRelease {
    pub record: B64,
    pub envelope: B64,
    /// Present when the envelope was added by a grant, not by the shopper.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<B64>,
    pub acknowledgement: B64,
    /// When the server recorded this release (the release leaf's time).
    pub released_at: u64,
    /// The release leaf's inclusion in a signed checkpoint: a client
    /// decrypts only once it verifies.
    pub log: crate::log::LogProof,
}

/// `POST /v1/reports/{report}/deletion`: a shopper's signed request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct DeletionBody {
    pub request: B64,
}

/// Why a report's ciphertext is gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Tombstone {
    /// Purged under the descriptor's signed retention period.
    Retention {
        descriptor_version: u64,
        retention_days: u32,
        received_at: u64,
        purged_at: u64,
    },
    /// Deleted at the shopper's signed request.
    Deletion { request: B64, deleted_at: u64 },
}

/// One report as an auditor sees it: everything but envelopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AuditReport {
    pub report: String,
    pub program: String,
    pub received_at: u64,
    pub record: B64,
    pub acknowledgement: B64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tombstone: Option<Tombstone>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AuditEnrolment {
    pub person: String,
    pub role: Role,
    pub identity: String,
    pub enrolled_at: u64,
    pub disabled: bool,
    /// Shoppers only: the manager-signed invite and the pseudonym's signed
    /// enrolment, so anyone can check the chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite: Option<B64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrolment: Option<B64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AuditGrant {
    pub program: String,
    pub grant: B64,
    pub accepted_at: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AuditRelease {
    pub report: String,
    pub person: String,
    pub released_at: u64,
}

/// Paging for audit lists: items after `after` (exclusive), at most `limit`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct Page {
    pub after: Option<u64>,
    pub limit: Option<u32>,
}

/// `GET /v1/reports` filters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct InboxQuery {
    pub program: Option<String>,
    /// Unix seconds: reports received at or after.
    pub since: Option<u64>,
}

/// A list with the cursor to continue from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Listing<T> {
    pub items: Vec<T>,
    /// Pass as `after` for the next page; absent at the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Health {
    pub status: String,
}
