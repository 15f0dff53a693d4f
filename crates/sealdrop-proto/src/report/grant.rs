//! Grant records: a manager's signed authority for envelopes added after a
//! report was sealed.
//!
//! ```text
//! grant = u16 format (=1) ‖ program_id[16] ‖ u64 descriptor_version
//!       ‖ identity recipient ‖ u64 granted_at
//!       ‖ list<report_id[16] ‖ digest envelope_hash, 10000>      (sorted by report ID)
//! signature = Ed25519(manager, "sealdrop/v1/sig/grant-record\0" ‖ grant)
//! ```
//!
//! The grant names the descriptor version that added the recipient; it is
//! valid when signed by a manager of that version and the recipient is on
//! its list. Auditors check that every envelope beyond the shopper-signed set
//! is covered by such a record.

use thiserror::Error;

use crate::codec::{Decode, DecodeError, Decoder, Encode, Encoder, check_strictly_sorted};
use crate::descriptor::ProgramDescriptor;
use crate::hash::Digest;
use crate::ids::{ProgramId, ReportId};
use crate::keys::{PublicIdentity, SecretIdentity, SignatureError};
use crate::labels;
use crate::signed::{Signed, SignedBody};

pub const MAX_GRANT_ENTRIES: usize = 10_000;
const FORMAT: u16 = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRecord {
    pub program_id: ProgramId,
    pub descriptor_version: u64,
    pub recipient: PublicIdentity,
    pub granted_at: u64,
    /// Sorted by report ID, unique.
    pub envelopes: Vec<(ReportId, Digest)>,
}

pub type SignedGrant = Signed<GrantRecord>;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GrantError {
    #[error("the grant is for another program or descriptor version")]
    WrongDescriptor,
    #[error("the grant's recipient is not on that descriptor version's recipient list")]
    NotARecipient,
    #[error("the grant is not signed by a manager of that descriptor version")]
    NotSignedByManager,
    #[error("the grant's signature does not verify")]
    BadSignature,
    #[error("a grant holds 1 to 10000 envelopes")]
    TooManyEntries,
    #[error("a grant holds one envelope per report")]
    DuplicateReport,
}

impl GrantRecord {
    /// Builds and signs a grant; sorts the entries.
    pub fn sign(
        mut self,
        manager: &SecretIdentity,
        descriptor: &ProgramDescriptor,
    ) -> Result<SignedGrant, GrantError> {
        self.envelopes.sort_by_key(|(id, _)| *id);
        if self.envelopes.is_empty() || self.envelopes.len() > MAX_GRANT_ENTRIES {
            return Err(GrantError::TooManyEntries);
        }
        if self
            .envelopes
            .windows(2)
            .any(|w| matches!(w, [a, b] if a.0 == b.0))
        {
            return Err(GrantError::DuplicateReport);
        }
        if !descriptor.is_manager(&manager.id()) {
            return Err(GrantError::NotSignedByManager);
        }
        let signed = Signed::sign(self, manager.signing());
        verify_grant(&signed, descriptor)?;
        Ok(signed)
    }

    /// True when this grant authorises `envelope_hash` on `report_id`.
    pub fn covers(&self, report_id: &ReportId, envelope_hash: &Digest) -> bool {
        self.envelopes
            .binary_search_by_key(report_id, |(id, _)| *id)
            .ok()
            .and_then(|i| self.envelopes.get(i))
            .is_some_and(|(_, h)| h == envelope_hash)
    }
}

/// Checks a grant against the descriptor version it names.
pub fn verify_grant<'a>(
    grant: &'a SignedGrant,
    descriptor: &ProgramDescriptor,
) -> Result<&'a GrantRecord, GrantError> {
    let body = grant.unverified_body();
    if body.program_id != descriptor.program_id || body.descriptor_version != descriptor.version {
        return Err(GrantError::WrongDescriptor);
    }
    if !descriptor.recipients.contains(&body.recipient) {
        return Err(GrantError::NotARecipient);
    }
    grant
        .verify_by_any(&descriptor.managers)
        .map_err(|e| match e {
            SignatureError::Invalid => GrantError::BadSignature,
            SignatureError::UnauthorisedSigner => GrantError::NotSignedByManager,
        })?;
    Ok(body)
}

impl Encode for GrantRecord {
    fn encode(&self, e: &mut Encoder) {
        e.u16(FORMAT)
            .value(&self.program_id)
            .u64(self.descriptor_version)
            .value(&self.recipient)
            .u64(self.granted_at)
            .list(&self.envelopes, |e, (id, h)| {
                e.value(id).raw(h);
            });
    }
}

impl Decode for GrantRecord {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        d.version("grant format", FORMAT)?;
        let grant = Self {
            program_id: d.value()?,
            descriptor_version: d.u64("descriptor version")?,
            recipient: d.value()?,
            granted_at: d.u64("granted at")?,
            envelopes: d.list("grant entries", MAX_GRANT_ENTRIES, 48, |d| {
                Ok((d.value()?, d.array("envelope hash")?))
            })?,
        };
        check_strictly_sorted(&grant.envelopes, "grant entries", |(id, _)| *id)?;
        if grant.envelopes.is_empty() {
            return Err(DecodeError::Invalid {
                field: "grant entries",
                reason: "a grant holds at least one envelope",
            });
        }
        Ok(grant)
    }
}

impl SignedBody for GrantRecord {
    const LABEL: &'static [u8] = labels::SIG_GRANT;
    const MAX_BODY: usize = 1024 + MAX_GRANT_ENTRIES * 48;
}
