//! The part of an auditor's memory that judges who read what: every
//! acceptance, grant, revocation and disabling the log recorded up to the
//! last clean run ([`ReadingFacts`]), kept in the home as text so that an
//! incremental run judges a release of an old report as `--full` does.

use std::collections::BTreeMap;

use sealdrop_api::B64;
use sealdrop_verify::readers::{Accepted, LoggedGrant, ReadingFacts};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReadingMemory {
    /// Per program, per report: the version it is sealed for and its
    /// `accepted` leaf.
    reports: BTreeMap<String, BTreeMap<String, (u64, u64)>>,
    /// `granted` leaves: program, recipient, grant hash, leaf.
    grants: Vec<(String, String, B64, u64)>,
    /// `revoked` leaves: program, person, leaf.
    revoked: Vec<(String, String, u64)>,
    /// `disabled` leaves: person, leaf.
    disabled: Vec<(String, u64)>,
}

impl From<&ReadingFacts> for ReadingMemory {
    fn from(facts: &ReadingFacts) -> Self {
        let mut reports: BTreeMap<String, BTreeMap<String, (u64, u64)>> = BTreeMap::new();
        for (report, a) in &facts.reports {
            reports
                .entry(a.program.to_string())
                .or_default()
                .insert(report.to_string(), (a.sealed_for, a.leaf));
        }
        Self {
            reports,
            grants: facts
                .grants
                .iter()
                .map(|g| {
                    (
                        g.program.to_string(),
                        g.recipient.to_string(),
                        B64(g.grant.to_vec()),
                        g.leaf,
                    )
                })
                .collect(),
            revoked: facts
                .revoked
                .iter()
                .flat_map(|((program, person), leaves)| {
                    leaves
                        .iter()
                        .map(|l| (program.to_string(), person.to_string(), *l))
                })
                .collect(),
            disabled: facts
                .disabled
                .iter()
                .flat_map(|(person, leaves)| leaves.iter().map(|l| (person.to_string(), *l)))
                .collect(),
        }
    }
}

impl ReadingMemory {
    /// The facts, or `None` if anything in the home does not parse (the
    /// run then asks for `--full`).
    pub fn facts(&self) -> Option<ReadingFacts> {
        let mut facts = ReadingFacts::default();
        for (program, reports) in &self.reports {
            let program = program.parse().ok()?;
            for (report, (sealed_for, leaf)) in reports {
                facts.reports.insert(
                    report.parse().ok()?,
                    Accepted {
                        program,
                        sealed_for: *sealed_for,
                        leaf: *leaf,
                    },
                );
            }
        }
        for (program, recipient, grant, leaf) in &self.grants {
            facts.grants.push(LoggedGrant {
                program: program.parse().ok()?,
                recipient: recipient.parse().ok()?,
                grant: grant.0.as_slice().try_into().ok()?,
                leaf: *leaf,
            });
        }
        for (program, person, leaf) in &self.revoked {
            facts
                .revoked
                .entry((program.parse().ok()?, person.parse().ok()?))
                .or_default()
                .push(*leaf);
        }
        for (person, leaf) in &self.disabled {
            facts
                .disabled
                .entry(person.parse().ok()?)
                .or_default()
                .push(*leaf);
        }
        Some(facts)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use rand_core::UnwrapErr;
    use sealdrop_proto::SecretIdentity;
    use sealdrop_proto::ids::{ProgramId, ReportId};

    #[test]
    fn the_facts_survive_the_home() {
        let mut rng = UnwrapErr(getrandom::SysRng);
        let program = ProgramId::random(&mut rng);
        let person = SecretIdentity::generate(&mut rng).id();
        let mut facts = ReadingFacts::default();
        facts.reports.insert(
            ReportId::new(1_700_000_000_000, &mut rng),
            Accepted {
                program,
                sealed_for: 2,
                leaf: 9,
            },
        );
        facts.grants.push(LoggedGrant {
            program,
            recipient: person,
            grant: [3; 32],
            leaf: 11,
        });
        facts.revoked.insert((program, person), vec![12, 20]);
        facts.disabled.insert(person, vec![30]);
        let text = serde_json::to_string(&ReadingMemory::from(&facts)).unwrap();
        let back: ReadingMemory = serde_json::from_str(&text).unwrap();
        assert_eq!(back.facts().unwrap(), facts);
        let damaged = text.replace(&program.to_string(), "sdp-not-an-id");
        let damaged: ReadingMemory = serde_json::from_str(&damaged).unwrap();
        assert!(damaged.facts().is_none());
    }
}
