//! Whether a reader may decrypt a report the server released to them.
//!
//! Every check is against data the caller downloaded once and the one
//! [`ProgramAuthority`] it verified: the shopper's chain to a manager's
//! invite is checked in the chain that also decides who the reader is to
//! the program, so a server cannot show one chain to one check and another
//! to the next. Nothing here decrypts; the caller opens the envelope only
//! with a [`VerifiedRelease`] in hand, which nothing else constructs.

use sealdrop_api::ReportRelease;
use sealdrop_proto::codec::Decode as _;
use sealdrop_proto::ids::{PersonId, ProgramId, ReportId};
use sealdrop_proto::invite::{SignedEnrolment, SignedInvite, verify_shopper_chain};
use sealdrop_proto::keys::PublicIdentity;
use sealdrop_proto::log::checkpoint::Checkpoint;
use sealdrop_proto::log::entry::LogEntry;
use sealdrop_proto::messages::Acknowledgement;
use sealdrop_proto::report::grant::verify_grant;
use sealdrop_proto::report::{Envelope, ReportRecord, SignedGrant, VerifiedRecord};
use sealdrop_proto::signed::Signed;
use thiserror::Error;

use crate::authority::ProgramAuthority;
use crate::log_check::{self, LogCheckError};

/// Why a released report is not decrypted.
#[derive(Debug, Error)]
pub enum ReleaseError {
    #[error("the {what} is malformed")]
    Malformed { what: &'static str },
    #[error("the shopper's signature does not verify")]
    BadSignature,
    #[error("the record is for another report or program than the server listed")]
    WrongReport,
    #[error("the shopper has no invite and enrolment: not enrolled through a manager")]
    NotInvited,
    #[error("the shopper does not chain to a manager's invite: {0}")]
    Chain(String),
    #[error("the report is signed by a key other than the enrolled pseudonym's")]
    NotTheEnrolledKey,
    #[error("the envelope is neither sealed by the shopper nor added by a grant")]
    NoAuthorisation,
    #[error("the grant record does not verify: {0}")]
    BadGrant(String),
    #[error("the grant record is for someone else, not for you")]
    GrantForSomeoneElse,
    #[error("the grant record does not name this envelope")]
    GrantDoesNotCover,
    #[error("the acknowledgement is not signed by the server's log key")]
    BadAcknowledgement,
    #[error("the acknowledgement names another report")]
    AcknowledgementMismatch,
    #[error("the server does not prove that its log records this release: {0}")]
    ReleaseNotLogged(LogCheckError),
}

/// A shopper whose chain to a manager's invite verified in a program's
/// authority: their enrolled key and the inviting manager. Only
/// [`shopper_chain`] makes one.
#[derive(Debug, Clone)]
pub struct VerifiedShopper {
    program: ProgramId,
    key: PublicIdentity,
    inviting_manager: PersonId,
}

impl VerifiedShopper {
    pub fn key(&self) -> &PublicIdentity {
        &self.key
    }

    pub fn inviting_manager(&self) -> &PersonId {
        &self.inviting_manager
    }
}

/// Checks a shopper's invite and enrolment (as the server stores them) in
/// `authority`: the invite signed by a manager of the version it names,
/// the enrolment signed by the pseudonym over that invite before it expired.
pub fn shopper_chain(
    authority: &ProgramAuthority,
    invite: Option<&[u8]>,
    enrolment: Option<&[u8]>,
) -> Result<VerifiedShopper, ReleaseError> {
    let (Some(invite), Some(enrolment)) = (invite, enrolment) else {
        return Err(ReleaseError::NotInvited);
    };
    let invite = SignedInvite::from_bytes(invite).map_err(|_| ReleaseError::Malformed {
        what: "shopper's invite",
    })?;
    let enrolment =
        SignedEnrolment::from_bytes(enrolment).map_err(|_| ReleaseError::Malformed {
            what: "shopper's enrolment",
        })?;
    let named = authority
        .version(invite.unverified_body().descriptor_version)
        .map_err(|e| ReleaseError::Chain(e.to_string()))?;
    let (_, manager) = verify_shopper_chain(&enrolment, &invite, named)
        .map_err(|e| ReleaseError::Chain(e.to_string()))?;
    Ok(VerifiedShopper {
        program: *authority.program(),
        key: enrolment.unverified_body().shopper,
        inviting_manager: manager,
    })
}

/// The reader, the log they trust, and the program's one chain.
#[derive(Debug, Clone, Copy)]
pub struct ReaderView<'a> {
    pub reader: &'a PersonId,
    pub log_key: &'a [u8; 32],
    pub log_origin: &'a str,
    pub authority: &'a ProgramAuthority,
}

/// A release every check passed: what may be opened, and what the reader
/// is told about it. Only [`verify_release`] makes one.
#[derive(Debug)]
pub struct VerifiedRelease {
    record: VerifiedRecord,
    envelope: Envelope,
    granted_by: Option<[u8; 32]>,
    acknowledgement: Acknowledgement,
    checkpoint: Checkpoint,
    release_leaf: u64,
    inviting_manager: PersonId,
}

impl VerifiedRelease {
    pub fn record(&self) -> &VerifiedRecord {
        &self.record
    }

    /// The reader's envelope.
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// The Ed25519 key of the manager whose grant added the envelope;
    /// `None` when the shopper sealed it.
    pub fn granted_by(&self) -> Option<&[u8; 32]> {
        self.granted_by.as_ref()
    }

    pub fn acknowledgement(&self) -> &Acknowledgement {
        &self.acknowledgement
    }

    /// The checkpoint in which the release is proven.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The index of the release's `released` leaf.
    pub fn release_leaf(&self) -> u64 {
        self.release_leaf
    }

    pub fn inviting_manager(&self) -> &PersonId {
        &self.inviting_manager
    }
}

/// Checks a release of `report` to the reader. `shopper` gives the result
/// of [`shopper_chain`] for the key that signed the record (callers cache
/// it per shopper); it must be for this program and this key.
pub fn verify_release(
    view: &ReaderView<'_>,
    report: &ReportId,
    release: &ReportRelease,
    shopper: impl FnOnce(&PublicIdentity) -> Result<VerifiedShopper, ReleaseError>,
) -> Result<VerifiedRelease, ReleaseError> {
    let program = view.authority.program();
    // The shopper's signature, strictly, over H0, envelope hashes and digests.
    let record = ReportRecord::from_bytes(&release.record.0)
        .map_err(|_| ReleaseError::Malformed {
            what: "report record",
        })?
        .verify()
        .map_err(|_| ReleaseError::BadSignature)?;
    let core = &record.header().core;
    if core.report_id != *report || core.program_id != *program {
        return Err(ReleaseError::WrongReport);
    }
    let shopper = shopper(&core.shopper)?;
    if shopper.program != *program || shopper.key != core.shopper {
        return Err(ReleaseError::NotTheEnrolledKey);
    }

    // The reader's envelope: sealed by the shopper, or added by a grant
    // that names this reader and this envelope.
    let envelope = Envelope::from_bytes(&release.envelope.0)
        .map_err(|_| ReleaseError::Malformed { what: "envelope" })?;
    let granted_by = if record.is_signed_envelope(&envelope) {
        None
    } else {
        let grant = release
            .grant
            .as_ref()
            .ok_or(ReleaseError::NoAuthorisation)?;
        let grant = SignedGrant::from_bytes(&grant.0).map_err(|_| ReleaseError::Malformed {
            what: "grant record",
        })?;
        let version = view
            .authority
            .version(grant.unverified_body().descriptor_version)
            .map_err(|e| ReleaseError::BadGrant(e.to_string()))?;
        let body = verify_grant(&grant, version.unverified_body())
            .map_err(|e| ReleaseError::BadGrant(e.to_string()))?;
        if body.recipient.id() != *view.reader {
            return Err(ReleaseError::GrantForSomeoneElse);
        }
        if !body.covers(report, &envelope.hash()) {
            return Err(ReleaseError::GrantDoesNotCover);
        }
        Some(*grant.signer_key())
    };

    // The server's acknowledgement names this report.
    let ack = Signed::<Acknowledgement>::from_bytes(&release.acknowledgement.0).map_err(|_| {
        ReleaseError::Malformed {
            what: "acknowledgement",
        }
    })?;
    let acknowledgement = ack
        .verify_by_key(view.log_key)
        .map_err(|_| ReleaseError::BadAcknowledgement)?
        .clone();
    if acknowledgement.sealed_report != record.record().hash()
        || acknowledgement.report_id != *report
    {
        return Err(ReleaseError::AcknowledgementMismatch);
    }

    // The log records this release to this reader: a release the server
    // keeps out of its log is never decrypted.
    let released = LogEntry::Released {
        report: *report,
        person: *view.reader,
        at: release.released_at,
    };
    let checkpoint = log_check::included(&release.log, &released, view.log_origin, view.log_key)
        .map_err(ReleaseError::ReleaseNotLogged)?;
    Ok(VerifiedRelease {
        record,
        envelope,
        granted_by,
        acknowledgement,
        checkpoint,
        release_leaf: release.log.leaf_index,
        inviting_manager: shopper.inviting_manager,
    })
}
