//! What one leaf of the log records: each change the server makes to who
//! may read, what was stored, and what was destroyed.
//!
//! ```text
//! leaf_data  = LOG_LEAF label ‖ log_entry
//! log_entry  = u16 format (=1) ‖ u8 kind ‖ fields
//!
//! kind 1 accepted    program_id[16] ‖ report_id[16] ‖ digest sealed_report ‖ u64 received_at
//! kind 2 enrolled    person_id[20] ‖ u8 role ‖ option<program_id[16]>
//!                    ‖ option<digest enrolment> ‖ u64 at
//! kind 3 descriptor  program_id[16] ‖ u64 version ‖ digest descriptor ‖ u64 at
//! kind 4 granted     program_id[16] ‖ person_id[20] recipient ‖ digest grant ‖ u64 at
//! kind 5 released    report_id[16] ‖ person_id[20] ‖ u64 at
//! kind 6 revoked     program_id[16] ‖ person_id[20] ‖ u64 descriptor_version ‖ u64 at
//! kind 7 disabled    person_id[20] ‖ u64 at
//! kind 8 purged      program_id[16] ‖ report_id[16] ‖ u64 descriptor_version
//!                    ‖ u32 retention_days ‖ u64 received_at ‖ u64 at
//! kind 9 deleted     program_id[16] ‖ report_id[16] ‖ digest deletion_request ‖ u64 at
//! ```
//!
//! A leaf holds identifiers, digests and times only: no plaintext, no name,
//! no address. The digests name the signed messages the server stores
//! (descriptor: [`crate::descriptor::hash_of`]; sealed report:
//! [`crate::report::SealedReport::hash`]; enrolment, grant and deletion
//! request: `SHA-256(label ‖ signed encoding)` under their own labels), so
//! an auditor can match each leaf with what the server shows, and a client
//! can rebuild the leaf it expects from what it already holds.

use crate::codec::{Decode, DecodeError, Decoder, Encode, Encoder};
use crate::hash::Digest;
use crate::ids::{PersonId, ProgramId, ReportId};
use crate::labels;

const FORMAT: u16 = 1;

/// A person's role, as leaves record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum LoggedRole {
    Admin = 1,
    Manager = 2,
    Staff = 3,
    Auditor = 4,
    Shopper = 5,
}

impl LoggedRole {
    fn from_u8(v: u8) -> Result<Self, DecodeError> {
        Ok(match v {
            1 => Self::Admin,
            2 => Self::Manager,
            3 => Self::Staff,
            4 => Self::Auditor,
            5 => Self::Shopper,
            value => {
                return Err(DecodeError::InvalidTag {
                    field: "role",
                    value,
                });
            }
        })
    }
}

/// One change, as one leaf records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogEntry {
    /// A report was stored; the same facts as its acknowledgement.
    Accepted {
        program: ProgramId,
        report: ReportId,
        sealed_report: Digest,
        received_at: u64,
    },
    /// A person enrolled; for a shopper, their program and signed enrolment.
    Enrolled {
        person: PersonId,
        role: LoggedRole,
        program: Option<ProgramId>,
        enrolment: Option<Digest>,
        at: u64,
    },
    /// A descriptor version became current.
    Descriptor {
        program: ProgramId,
        version: u64,
        descriptor: Digest,
        at: u64,
    },
    /// A manager-signed grant added a recipient's envelopes.
    Granted {
        program: ProgramId,
        recipient: PersonId,
        grant: Digest,
        at: u64,
    },
    /// A person's envelope of a report was released to them.
    Released {
        report: ReportId,
        person: PersonId,
        at: u64,
    },
    /// A descriptor version dropped a recipient; their envelopes are gone.
    Revoked {
        program: ProgramId,
        person: PersonId,
        descriptor_version: u64,
        at: u64,
    },
    /// An operator disabled a person.
    Disabled { person: PersonId, at: u64 },
    /// A report was purged under the retention its descriptor signs.
    Purged {
        program: ProgramId,
        report: ReportId,
        descriptor_version: u64,
        retention_days: u32,
        received_at: u64,
        at: u64,
    },
    /// A shopper committed to an invite's token and its new keys, before
    /// revealing the token (`invite::enrolment_commitment`).
    Committed { commitment: Digest, at: u64 },
    /// A report was deleted at its shopper's signed request.
    Deleted {
        program: ProgramId,
        report: ReportId,
        deletion_request: Digest,
        at: u64,
    },
}

impl LogEntry {
    /// The bytes the Merkle tree hashes as this leaf's data.
    pub fn leaf_data(&self) -> Vec<u8> {
        let mut e = Encoder::with_label(labels::LOG_LEAF);
        self.encode(&mut e);
        e.finish()
    }

    /// Decodes a leaf's data, label included.
    pub fn from_leaf_data(data: &[u8]) -> Result<Self, DecodeError> {
        let body = data
            .strip_prefix(labels::LOG_LEAF)
            .ok_or(DecodeError::Invalid {
                field: "log leaf",
                reason: "it does not start with the log leaf label",
            })?;
        Self::from_bytes(body)
    }

    /// True when `data` may be a `descriptor` leaf: its kind byte says so.
    /// A cheap filter before [`LogEntry::from_leaf_data`] for readers that
    /// only want descriptor leaves.
    pub fn may_be_descriptor_leaf(data: &[u8]) -> bool {
        data.get(labels::LOG_LEAF.len() + 2) == Some(&3)
    }

    /// The leaf's RFC 9162 hash.
    pub fn leaf_hash(&self) -> Digest {
        super::merkle::leaf_hash(&self.leaf_data())
    }

    /// The report the entry is about, if any.
    pub fn report(&self) -> Option<&ReportId> {
        match self {
            Self::Accepted { report, .. }
            | Self::Released { report, .. }
            | Self::Purged { report, .. }
            | Self::Deleted { report, .. } => Some(report),
            _ => None,
        }
    }

    fn kind(&self) -> u8 {
        match self {
            Self::Accepted { .. } => 1,
            Self::Enrolled { .. } => 2,
            Self::Descriptor { .. } => 3,
            Self::Granted { .. } => 4,
            Self::Released { .. } => 5,
            Self::Revoked { .. } => 6,
            Self::Disabled { .. } => 7,
            Self::Purged { .. } => 8,
            Self::Deleted { .. } => 9,
            Self::Committed { .. } => 10,
        }
    }

    /// A short name of the kind, for messages and listings.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Accepted { .. } => "accepted",
            Self::Enrolled { .. } => "enrolled",
            Self::Descriptor { .. } => "descriptor",
            Self::Granted { .. } => "granted",
            Self::Released { .. } => "released",
            Self::Revoked { .. } => "revoked",
            Self::Disabled { .. } => "disabled",
            Self::Purged { .. } => "purged",
            Self::Deleted { .. } => "deleted",
            Self::Committed { .. } => "committed",
        }
    }
}

impl Encode for LogEntry {
    fn encode(&self, e: &mut Encoder) {
        e.u16(FORMAT).u8(self.kind());
        match self {
            Self::Accepted {
                program,
                report,
                sealed_report,
                received_at,
            } => {
                e.value(program)
                    .value(report)
                    .raw(sealed_report)
                    .u64(*received_at);
            }
            Self::Enrolled {
                person,
                role,
                program,
                enrolment,
                at,
            } => {
                e.value(person)
                    .u8(*role as u8)
                    .option(program.as_ref(), |e, p| {
                        e.value(p);
                    })
                    .option(enrolment.as_ref(), |e, h| {
                        e.raw(h);
                    })
                    .u64(*at);
            }
            Self::Descriptor {
                program,
                version,
                descriptor,
                at,
            } => {
                e.value(program).u64(*version).raw(descriptor).u64(*at);
            }
            Self::Granted {
                program,
                recipient,
                grant,
                at,
            } => {
                e.value(program).value(recipient).raw(grant).u64(*at);
            }
            Self::Released { report, person, at } => {
                e.value(report).value(person).u64(*at);
            }
            Self::Revoked {
                program,
                person,
                descriptor_version,
                at,
            } => {
                e.value(program)
                    .value(person)
                    .u64(*descriptor_version)
                    .u64(*at);
            }
            Self::Disabled { person, at } => {
                e.value(person).u64(*at);
            }
            Self::Purged {
                program,
                report,
                descriptor_version,
                retention_days,
                received_at,
                at,
            } => {
                e.value(program)
                    .value(report)
                    .u64(*descriptor_version)
                    .u32(*retention_days)
                    .u64(*received_at)
                    .u64(*at);
            }
            Self::Deleted {
                program,
                report,
                deletion_request,
                at,
            } => {
                e.value(program)
                    .value(report)
                    .raw(deletion_request)
                    .u64(*at);
            }
            Self::Committed { commitment, at } => {
                e.raw(commitment).u64(*at);
            }
        }
    }
}

impl Decode for LogEntry {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        d.version("log entry format", FORMAT)?;
        Ok(match d.u8("log entry kind")? {
            1 => Self::Accepted {
                program: d.value()?,
                report: d.value()?,
                sealed_report: d.array("sealed report hash")?,
                received_at: d.u64("received at")?,
            },
            2 => Self::Enrolled {
                person: d.value()?,
                role: LoggedRole::from_u8(d.u8("role")?)?,
                program: d.option("program", |d| d.value())?,
                enrolment: d.option("enrolment hash", |d| d.array("enrolment hash"))?,
                at: d.u64("enrolled at")?,
            },
            3 => Self::Descriptor {
                program: d.value()?,
                version: d.u64("descriptor version")?,
                descriptor: d.array("descriptor hash")?,
                at: d.u64("accepted at")?,
            },
            4 => Self::Granted {
                program: d.value()?,
                recipient: d.value()?,
                grant: d.array("grant hash")?,
                at: d.u64("granted at")?,
            },
            5 => Self::Released {
                report: d.value()?,
                person: d.value()?,
                at: d.u64("released at")?,
            },
            6 => Self::Revoked {
                program: d.value()?,
                person: d.value()?,
                descriptor_version: d.u64("descriptor version")?,
                at: d.u64("revoked at")?,
            },
            7 => Self::Disabled {
                person: d.value()?,
                at: d.u64("disabled at")?,
            },
            8 => Self::Purged {
                program: d.value()?,
                report: d.value()?,
                descriptor_version: d.u64("descriptor version")?,
                retention_days: d.u32("retention days")?,
                received_at: d.u64("received at")?,
                at: d.u64("purged at")?,
            },
            9 => Self::Deleted {
                program: d.value()?,
                report: d.value()?,
                deletion_request: d.array("deletion request hash")?,
                at: d.u64("deleted at")?,
            },
            10 => Self::Committed {
                commitment: d.array("enrolment commitment")?,
                at: d.u64("committed at")?,
            },
            value => {
                return Err(DecodeError::InvalidTag {
                    field: "log entry kind",
                    value,
                });
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn every_kind() -> Vec<LogEntry> {
        let program = ProgramId::from_bytes([1; 16]);
        let report = ReportId::from_bytes([2; 16]);
        let person = PersonId::from_bytes([3; 20]);
        vec![
            LogEntry::Accepted {
                program,
                report,
                sealed_report: [4; 32],
                received_at: 5,
            },
            LogEntry::Enrolled {
                person,
                role: LoggedRole::Shopper,
                program: Some(program),
                enrolment: Some([6; 32]),
                at: 7,
            },
            LogEntry::Enrolled {
                person,
                role: LoggedRole::Auditor,
                program: None,
                enrolment: None,
                at: 7,
            },
            LogEntry::Descriptor {
                program,
                version: 2,
                descriptor: [8; 32],
                at: 9,
            },
            LogEntry::Granted {
                program,
                recipient: person,
                grant: [10; 32],
                at: 11,
            },
            LogEntry::Released {
                report,
                person,
                at: 12,
            },
            LogEntry::Revoked {
                program,
                person,
                descriptor_version: 3,
                at: 13,
            },
            LogEntry::Disabled { person, at: 14 },
            LogEntry::Purged {
                program,
                report,
                descriptor_version: 1,
                retention_days: 30,
                received_at: 15,
                at: 16,
            },
            LogEntry::Deleted {
                program,
                report,
                deletion_request: [17; 32],
                at: 18,
            },
        ]
    }

    #[test]
    fn every_kind_round_trips_and_hashes_apart() {
        let mut hashes = std::collections::BTreeSet::new();
        for entry in every_kind() {
            let data = entry.leaf_data();
            assert!(data.starts_with(labels::LOG_LEAF));
            assert_eq!(LogEntry::from_leaf_data(&data).unwrap(), entry);
            assert!(hashes.insert(entry.leaf_hash()), "{entry:?}");
            assert_eq!(
                LogEntry::may_be_descriptor_leaf(&data),
                matches!(entry, LogEntry::Descriptor { .. })
            );
        }
    }

    #[test]
    fn decoding_is_strict() {
        for entry in every_kind() {
            let data = entry.leaf_data();
            let body = &data[labels::LOG_LEAF.len()..];
            // Without the label, with a trailing byte, cut short, or with
            // an unknown kind: refused, never a panic.
            assert!(LogEntry::from_leaf_data(body).is_err());
            let mut longer = data.clone();
            longer.push(0);
            assert!(LogEntry::from_leaf_data(&longer).is_err());
            for cut in labels::LOG_LEAF.len()..data.len() {
                assert!(LogEntry::from_leaf_data(&data[..cut]).is_err());
            }
            let mut unknown = data.clone();
            unknown[labels::LOG_LEAF.len() + 2] = 0x7f;
            assert!(LogEntry::from_leaf_data(&unknown).is_err());
        }
    }

    #[test]
    fn a_known_leaf_hash() {
        // SHA-256(0x00 ‖ "sealdrop/v1/log/leaf\0" ‖ 0001 07 ‖ 03×20 ‖
        // 000000000000000e), computed with Python's hashlib:
        // hashlib.sha256(b"\0" + b"sealdrop/v1/log/leaf\0" + bytes.fromhex("000107")
        //   + b"\x03"*20 + (14).to_bytes(8, "big")).hexdigest()
        let entry = LogEntry::Disabled {
            person: PersonId::from_bytes([3; 20]),
            at: 14,
        };
        assert_eq!(
            data_encoding::HEXLOWER.encode(&entry.leaf_hash()),
            KNOWN_DISABLED_LEAF_HASH
        );
    }

    const KNOWN_DISABLED_LEAF_HASH: &str =
        "31b3144074efb6514733187f073bb4877b00f1b7cc64a41cf147ab6d2a83e39b";
}
