//! The small signed messages: authentication, deletion, acknowledgement.
//!
//! ```text
//! auth_response  = u16 format (=1) ‖ string<256> origin ‖ u8 purpose
//!                ‖ nonce[32] ‖ u64 time ‖ person_id[20]
//! deletion       = u16 format (=1) ‖ program_id[16] ‖ report_id[16]
//!                ‖ person_id[20] shopper ‖ u64 requested_at
//! acknowledgement = u16 format (=1) ‖ string<256> log_origin ‖ program_id[16]
//!                ‖ report_id[16] ‖ digest sealed_report ‖ u64 received_at
//! ```

use crate::codec::{Decode, DecodeError, Decoder, Encode, Encoder};
use crate::hash::Digest;
use crate::ids::{PersonId, ProgramId, ReportId};
use crate::invite::{CLOCK_SKEW_SECS, MAX_ORIGIN_LEN};
use crate::labels;
use crate::signed::SignedBody;

const FORMAT: u16 = 1;

/// What a challenge response is for; a response for one purpose is useless
/// for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum AuthPurpose {
    /// Exchange for a bearer token.
    Session = 1,
    /// Enrol with a one-time token.
    Enrol = 2,
}

/// A person's answer to a server's login challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResponse {
    /// The server's origin (scheme, host, port) as the client sees it, so a
    /// response to one server cannot be replayed at another.
    pub origin: String,
    pub purpose: AuthPurpose,
    pub nonce: [u8; 32],
    pub time: u64,
    pub person: PersonId,
}

impl AuthResponse {
    /// True when the response's time is within the allowed skew of `now`.
    pub fn is_fresh(&self, now: u64) -> bool {
        self.time.abs_diff(now) <= CLOCK_SKEW_SECS
    }
}

impl Encode for AuthResponse {
    fn encode(&self, e: &mut Encoder) {
        e.u16(FORMAT)
            .str(&self.origin)
            .u8(self.purpose as u8)
            .raw(&self.nonce)
            .u64(self.time)
            .value(&self.person);
    }
}

impl Decode for AuthResponse {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        d.version("auth response format", FORMAT)?;
        Ok(Self {
            origin: d.str("origin", MAX_ORIGIN_LEN)?.to_owned(),
            purpose: match d.u8("purpose")? {
                1 => AuthPurpose::Session,
                2 => AuthPurpose::Enrol,
                value => {
                    return Err(DecodeError::InvalidTag {
                        field: "purpose",
                        value,
                    });
                }
            },
            nonce: d.array("nonce")?,
            time: d.u64("time")?,
            person: d.value()?,
        })
    }
}

impl SignedBody for AuthResponse {
    const LABEL: &'static [u8] = labels::SIG_AUTH_RESPONSE;
    const MAX_BODY: usize = 512;
}

/// A shopper's signed request to delete one of their own reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletionRequest {
    pub program_id: ProgramId,
    pub report_id: ReportId,
    pub shopper: PersonId,
    pub requested_at: u64,
}

impl Encode for DeletionRequest {
    fn encode(&self, e: &mut Encoder) {
        e.u16(FORMAT)
            .value(&self.program_id)
            .value(&self.report_id)
            .value(&self.shopper)
            .u64(self.requested_at);
    }
}

impl Decode for DeletionRequest {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        d.version("deletion request format", FORMAT)?;
        Ok(Self {
            program_id: d.value()?,
            report_id: d.value()?,
            shopper: d.value()?,
            requested_at: d.u64("requested at")?,
        })
    }
}

impl SignedBody for DeletionRequest {
    const LABEL: &'static [u8] = labels::SIG_DELETION;
    const MAX_BODY: usize = 256;
}

/// The server's signed statement that it durably stored a sealed report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledgement {
    pub log_origin: String,
    pub program_id: ProgramId,
    pub report_id: ReportId,
    /// [`crate::report::SealedReport::hash`] of what was stored.
    pub sealed_report: Digest,
    pub received_at: u64,
}

impl Encode for Acknowledgement {
    fn encode(&self, e: &mut Encoder) {
        e.u16(FORMAT)
            .str(&self.log_origin)
            .value(&self.program_id)
            .value(&self.report_id)
            .raw(&self.sealed_report)
            .u64(self.received_at);
    }
}

impl Decode for Acknowledgement {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        d.version("acknowledgement format", FORMAT)?;
        Ok(Self {
            log_origin: d.str("log origin", MAX_ORIGIN_LEN)?.to_owned(),
            program_id: d.value()?,
            report_id: d.value()?,
            sealed_report: d.array("sealed report hash")?,
            received_at: d.u64("received at")?,
        })
    }
}

impl SignedBody for Acknowledgement {
    const LABEL: &'static [u8] = labels::SIG_ACKNOWLEDGEMENT;
    const MAX_BODY: usize = 512;
}
