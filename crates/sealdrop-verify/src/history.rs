//! A program's authority as the log orders it: which descriptor version was
//! current at each point of the log, and the rules that depend on it.
//!
//! A signature names the version it was made under, but what decides
//! whether it counts is the version current when the log recorded it: a
//! report sealed to version 3 and accepted after version 4 (which removed a
//! reader) was accepted by a server that withheld its `409 stale-list`; an
//! invite or a grant recorded after its signer stopped being a manager was
//! made with authority that had already been taken away.

use std::collections::BTreeMap;

use sealdrop_proto::descriptor::{ProgramDescriptor, SignedDescriptor};
use sealdrop_proto::ids::ProgramId;
use sealdrop_proto::log::entry::LogEntry;

/// Each program's current descriptor version at any index of the log,
/// from the versions current where the window starts and the `descriptor`
/// leaves in it.
#[derive(Debug, Clone, Default)]
pub struct VersionTimeline {
    start: BTreeMap<ProgramId, u64>,
    /// Per program: `(leaf index, version)` in log order.
    changes: BTreeMap<ProgramId, Vec<(u64, u64)>>,
}

impl VersionTimeline {
    /// `start`: each program's version current before the window's first
    /// entry (empty when the window starts at 0).
    pub fn new(start: BTreeMap<ProgramId, u64>, window: &[(u64, LogEntry)]) -> Self {
        let mut changes: BTreeMap<ProgramId, Vec<(u64, u64)>> = BTreeMap::new();
        for (index, entry) in window {
            if let LogEntry::Descriptor {
                program, version, ..
            } = entry
            {
                changes
                    .entry(*program)
                    .or_default()
                    .push((*index, *version));
            }
        }
        Self { start, changes }
    }

    /// The version of `program` current when the log recorded the entry at
    /// `index` (the newest `descriptor` leaf before it).
    pub fn at(&self, program: &ProgramId, index: u64) -> Option<u64> {
        self.changes
            .get(program)
            .and_then(|c| c.iter().rev().find(|(i, _)| *i < index).map(|(_, v)| *v))
            .or_else(|| self.start.get(program).copied())
    }

    /// Each program's version current after the window: what the auditor
    /// keeps for its next run.
    pub fn end(&self) -> BTreeMap<ProgramId, u64> {
        let mut end = self.start.clone();
        for (program, changes) in &self.changes {
            if let Some((_, v)) = changes.last() {
                end.insert(*program, *v);
            }
        }
        end
    }
}

/// Each program's `descriptor` leaves must come in strict version order:
/// the version after the one current where the window starts (or 1 for a
/// program created in it), each once. A server that logs an old version's
/// leaf again would otherwise make that version "current" again for every
/// rule here. On an incremental run (`window_start > 0`), a program whose
/// version at the start is unknown (an audit memory from before versions
/// were kept) cannot be judged: that is a failure too, until `--full`.
pub fn check_sequence(
    start: &BTreeMap<ProgramId, u64>,
    window: &[(u64, LogEntry)],
    window_start: u64,
    programs: impl IntoIterator<Item = ProgramId>,
) -> Vec<(String, String)> {
    let mut findings = Vec::new();
    let mut expected: BTreeMap<ProgramId, u64> = start
        .iter()
        .map(|(p, v)| (*p, v.saturating_add(1)))
        .collect();
    let mut created_here = std::collections::BTreeSet::new();
    for (index, entry) in window {
        let LogEntry::Descriptor {
            program, version, ..
        } = entry
        else {
            continue;
        };
        let want = match expected.get(program) {
            Some(v) => *v,
            None if *version == 1 => {
                created_here.insert(*program);
                1
            }
            None if window_start == 0 => 1,
            None => {
                expected.insert(*program, version.saturating_add(1));
                continue;
            }
        };
        if *version != want {
            findings.push((
                format!("log entry {index}"),
                format!(
                    "records version {version} of program {program} where version {want} comes next: the server replayed or reordered the program's versions"
                ),
            ));
        }
        expected.insert(*program, version.saturating_add(1));
    }
    if window_start > 0 {
        for program in programs {
            if !start.contains_key(&program) && !created_here.contains(&program) {
                findings.push((
                    format!("program {program}"),
                    "this auditor's memory does not say which version was current where this run starts; run `sealdrop audit verify --full` once".into(),
                ));
            }
        }
    }
    findings
}

/// Version `version` of a verified chain (oldest first).
pub(crate) fn version_of(chain: &[SignedDescriptor], version: u64) -> Option<&ProgramDescriptor> {
    usize::try_from(version)
        .ok()
        .and_then(|v| v.checked_sub(1))
        .and_then(|i| chain.get(i))
        .map(|d| d.unverified_body())
}

/// Why a report accepted at `index` should not have been: sealed for a
/// version other than the one current then (the server withheld `409`), or
/// with another number of envelopes than that version has recipients (a
/// reader added or left out).
pub fn check_acceptance(
    timeline: &VersionTimeline,
    chain: &[SignedDescriptor],
    program: &ProgramId,
    index: u64,
    sealed_for: u64,
    envelopes: usize,
) -> Option<String> {
    let current = timeline.at(program, index)?;
    if sealed_for != current {
        return Some(format!(
            "sealed for descriptor version {sealed_for}, but the log accepted it (entry {index}) when version {current} was current: the server withheld its 409 stale-list"
        ));
    }
    let recipients = version_of(chain, current).map(|d| d.recipients.len())?;
    (envelopes != recipients).then(|| {
        format!(
            "it carries {envelopes} envelope(s), but version {current} has {recipients} recipient(s)"
        )
    })
}

/// Why something signed by `signer` and recorded at `index` lacked
/// authority: the signer was no manager of the version current then.
pub fn check_manager_at(
    timeline: &VersionTimeline,
    chain: &[SignedDescriptor],
    program: &ProgramId,
    index: u64,
    signer: &[u8; 32],
) -> Option<String> {
    // Unknown (an audit memory from before versions were kept): the next
    // full run decides.
    let current = timeline.at(program, index)?;
    let d = version_of(chain, current)?;
    (!d.managers.iter().any(|m| m.signing_key() == signer)).then(|| {
        format!(
            "its signer was no manager of version {current}, current when the log recorded it (entry {index}): a removed manager's authority"
        )
    })
}

/// Why a grant to `recipient` recorded at `index` gave nothing: the
/// recipient was no recipient of the version current then (the grant names
/// a version of its own choosing; the log's order is what counts).
pub fn check_recipient_at(
    timeline: &VersionTimeline,
    chain: &[SignedDescriptor],
    program: &ProgramId,
    index: u64,
    recipient: &sealdrop_proto::ids::PersonId,
) -> Option<String> {
    let current = timeline.at(program, index)?;
    let d = version_of(chain, current)?;
    (!d.is_recipient(recipient)).then(|| {
        format!(
            "its recipient was no recipient of version {current}, current when the log recorded it (entry {index})"
        )
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use rand_core::UnwrapErr;
    use sealdrop_proto::SecretIdentity;

    fn rng() -> UnwrapErr<getrandom::SysRng> {
        UnwrapErr(getrandom::SysRng)
    }

    fn descriptor_leaf(program: ProgramId, version: u64) -> LogEntry {
        LogEntry::Descriptor {
            program,
            version,
            descriptor: [0; 32],
            at: 0,
        }
    }

    /// v1: Ada; v2: Ada and Bob manage, Rita reads too; v3: Bob removed.
    fn chain(
        ada: &SecretIdentity,
        bob: &SecretIdentity,
        rita: &SecretIdentity,
    ) -> (ProgramId, Vec<SignedDescriptor>) {
        let id = ProgramId::random(&mut rng());
        let v1 = ProgramDescriptor::first(id, "Visits", ada.public(), [1; 32], 30, 1)
            .unwrap()
            .sign(ada)
            .unwrap();
        let mut d2 = ProgramDescriptor::successor(&v1, 2);
        d2.add_manager(bob.public());
        d2.add_recipient(rita.public());
        let v2 = d2.sign(ada).unwrap();
        let mut d3 = ProgramDescriptor::successor(&v2, 3);
        d3.remove_manager(&bob.id());
        let v3 = d3.sign(ada).unwrap();
        (id, vec![v1, v2, v3])
    }

    #[test]
    fn the_version_current_at_an_index_follows_the_log() {
        let id = ProgramId::random(&mut rng());
        let window = [(5, descriptor_leaf(id, 2)), (9, descriptor_leaf(id, 3))];
        let t = VersionTimeline::new(BTreeMap::from([(id, 1)]), &window);
        assert_eq!(
            [t.at(&id, 5), t.at(&id, 6), t.at(&id, 9), t.at(&id, 10)],
            [Some(1), Some(2), Some(2), Some(3)]
        );
        assert_eq!(t.end()[&id], 3);
        assert_eq!(
            VersionTimeline::new(BTreeMap::new(), &window).at(&id, 3),
            None
        );
    }

    #[test]
    fn versions_must_be_logged_in_order_and_known() {
        let id = ProgramId::random(&mut rng());
        let other = ProgramId::random(&mut rng());
        let honest = [
            (0, descriptor_leaf(id, 1)),
            (3, descriptor_leaf(id, 2)),
            (5, descriptor_leaf(other, 1)),
        ];
        assert!(check_sequence(&BTreeMap::new(), &honest, 0, [id, other]).is_empty());
        // Version 2 logged again after 3: a replay.
        let replayed = [
            (0, descriptor_leaf(id, 1)),
            (1, descriptor_leaf(id, 2)),
            (2, descriptor_leaf(id, 3)),
            (3, descriptor_leaf(id, 2)),
        ];
        let found = check_sequence(&BTreeMap::new(), &replayed, 0, [id]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "log entry 3");
        // Incremental: continues from the remembered version; a program the
        // memory does not know (and not created in the window) fails.
        let later = [
            (10, descriptor_leaf(id, 3)),
            (11, descriptor_leaf(other, 1)),
        ];
        let start = BTreeMap::from([(id, 2)]);
        assert!(check_sequence(&start, &later, 10, [id, other]).is_empty());
        let unknown = check_sequence(&BTreeMap::new(), &[], 10, [id]);
        assert!(unknown[0].1.contains("--full"), "{unknown:?}");
        assert_eq!(
            check_sequence(&start, &[(12, descriptor_leaf(id, 2))], 10, [id]).len(),
            1
        );
    }

    #[test]
    fn a_stale_acceptance_and_a_wrong_envelope_count_are_named() {
        let (ada, bob, rita) = (
            SecretIdentity::generate(&mut rng()),
            SecretIdentity::generate(&mut rng()),
            SecretIdentity::generate(&mut rng()),
        );
        let (id, chain) = chain(&ada, &bob, &rita);
        let window = [(0, descriptor_leaf(id, 1)), (1, descriptor_leaf(id, 2))];
        let t = VersionTimeline::new(BTreeMap::new(), &window);
        // After version 2: sealed for it with its two recipients, fine.
        assert_eq!(check_acceptance(&t, &chain, &id, 2, 2, 2), None);
        // Sealed for version 1 and accepted after version 2: no 409.
        assert!(
            check_acceptance(&t, &chain, &id, 2, 1, 1)
                .unwrap()
                .contains("409")
        );
        // One envelope too few for version 2.
        assert!(
            check_acceptance(&t, &chain, &id, 2, 2, 1)
                .unwrap()
                .contains("envelope")
        );
    }

    #[test]
    fn a_removed_managers_signature_counts_only_before_the_removal() {
        let (ada, bob, rita) = (
            SecretIdentity::generate(&mut rng()),
            SecretIdentity::generate(&mut rng()),
            SecretIdentity::generate(&mut rng()),
        );
        let (id, chain) = chain(&ada, &bob, &rita);
        let window = [
            (0, descriptor_leaf(id, 1)),
            (1, descriptor_leaf(id, 2)),
            (4, descriptor_leaf(id, 3)),
        ];
        let t = VersionTimeline::new(BTreeMap::new(), &window);
        let bob_key = bob.public().signing_key().to_owned();
        assert_eq!(check_manager_at(&t, &chain, &id, 3, &bob_key), None);
        assert!(
            check_manager_at(&t, &chain, &id, 5, &bob_key)
                .unwrap()
                .contains("removed manager")
        );
        let ada_key = ada.public().signing_key().to_owned();
        assert_eq!(check_manager_at(&t, &chain, &id, 5, &ada_key), None);
        assert_eq!(check_manager_at(&t, &chain, &id, 0, &ada_key), None);
        // Rita reads from version 2 on.
        assert!(check_recipient_at(&t, &chain, &id, 1, &rita.id()).is_some());
        assert_eq!(check_recipient_at(&t, &chain, &id, 2, &rita.id()), None);
    }
}
