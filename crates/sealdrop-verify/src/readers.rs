//! Who the log shows reading: every `released` leaf must rest on an
//! authorisation the log recorded before it and nothing the log recorded
//! since took away.
//!
//! A person X may be released report R (of program P, sealed for version
//! v and accepted at leaf a) at leaf i when
//!
//! * X is a recipient of the version current at i, and
//! * X was authorised at some leaf p < i: p = a if X is a recipient of v,
//!   or p = g for a logged grant (leaf g) to X that covers R, and
//! * no `revoked` leaf for (P, X) and no `disabled` leaf for X lies
//!   between p and i.
//!
//! A server that keeps a dismissed reader's envelope, or hands one out
//! after the revocation, has to log the release (readers decrypt only
//! logged releases), and this rule names it. What a reader took before
//! its revocation it has anyway: a release logged then is not a finding.
//!
//! The facts reach back before an incremental run's window: the auditor
//! keeps them between runs ([`ReadingFacts`]), so that a release logged
//! today of a report accepted a month ago is judged as `--full` judges it.

use std::collections::{BTreeMap, BTreeSet};

use sealdrop_proto::descriptor::SignedDescriptor;
use sealdrop_proto::hash::Digest;
use sealdrop_proto::ids::{PersonId, ProgramId, ReportId};
use sealdrop_proto::log::entry::LogEntry;

use crate::history::{VersionTimeline, version_of};

/// A report as its acceptance fixed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    pub program: ProgramId,
    /// The descriptor version the shopper sealed it for.
    pub sealed_for: u64,
    /// Its `accepted` leaf.
    pub leaf: u64,
}

/// A `granted` leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoggedGrant {
    pub program: ProgramId,
    pub recipient: PersonId,
    /// The hash of the signed grant the leaf names.
    pub grant: Digest,
    pub leaf: u64,
}

/// What the log recorded that bears on reading, from index 0 up to the end
/// of the window last absorbed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadingFacts {
    pub reports: BTreeMap<ReportId, Accepted>,
    pub grants: Vec<LoggedGrant>,
    /// `revoked` leaves per program and person.
    pub revoked: BTreeMap<(ProgramId, PersonId), Vec<u64>>,
    /// `disabled` leaves per person.
    pub disabled: BTreeMap<PersonId, Vec<u64>>,
}

impl ReadingFacts {
    /// Adds a window's leaves. `sealed_for` gives the version each listed
    /// report is sealed for (from its shopper-signed record); an accepted
    /// report the listing does not give is left out, so releasing it is a
    /// finding (and the listing's gap is one of its own). A report's first
    /// acceptance and a grant's first `granted` leaf are the ones that
    /// count; a grant logged again is named: a replay would otherwise
    /// authorise its reader anew after a revocation.
    pub fn absorb(
        &mut self,
        window: &[(u64, LogEntry)],
        sealed_for: &BTreeMap<ReportId, u64>,
    ) -> Vec<(String, String)> {
        let mut findings = Vec::new();
        for (index, entry) in window {
            match entry {
                LogEntry::Accepted {
                    program, report, ..
                } => {
                    if let Some(v) = sealed_for.get(report) {
                        self.reports.entry(*report).or_insert(Accepted {
                            program: *program,
                            sealed_for: *v,
                            leaf: *index,
                        });
                    }
                }
                LogEntry::Granted {
                    program,
                    recipient,
                    grant,
                    ..
                } => match self.grants.iter().find(|g| g.grant == *grant) {
                    Some(first) => findings.push((
                        format!("log entry {index}"),
                        format!(
                            "records a grant the log already recorded at entry {}: a replayed grant, which counts only once",
                            first.leaf
                        ),
                    )),
                    None => self.grants.push(LoggedGrant {
                        program: *program,
                        recipient: *recipient,
                        grant: *grant,
                        leaf: *index,
                    }),
                },
                LogEntry::Revoked {
                    program, person, ..
                } => self
                    .revoked
                    .entry((*program, *person))
                    .or_default()
                    .push(*index),
                LogEntry::Disabled { person, .. } => {
                    self.disabled.entry(*person).or_default().push(*index)
                }
                _ => {}
            }
        }
        findings
    }

    /// A `revoked` or `disabled` leaf for `person` in `program` strictly
    /// between `from` and `to`, if any: (kind, index).
    fn taken_away(
        &self,
        program: &ProgramId,
        person: &PersonId,
        from: u64,
        to: u64,
    ) -> Option<(&'static str, u64)> {
        let between = |leaves: Option<&Vec<u64>>| {
            leaves.and_then(|l| l.iter().copied().find(|i| *i > from && *i < to))
        };
        between(self.revoked.get(&(*program, *person)))
            .map(|i| ("revoked", i))
            .or_else(|| between(self.disabled.get(person)).map(|i| ("disabled", i)))
    }
}

/// The reports a listed, signature-checked grant covers, by the hash of
/// the signed grant: what a `granted` leaf's digest points to.
pub type GrantCoverage = BTreeMap<Digest, (PersonId, ProgramId, BTreeSet<ReportId>)>;

/// Every `released` leaf in `window` against `facts` (which must already
/// hold the window's own leaves) and the verified chains. Findings name
/// the leaf and say what authorisation was missing or taken away.
pub fn check_releases(
    window: &[(u64, LogEntry)],
    facts: &ReadingFacts,
    coverage: &GrantCoverage,
    timeline: &VersionTimeline,
    chains: &BTreeMap<ProgramId, Vec<SignedDescriptor>>,
) -> Vec<(String, String)> {
    let mut grants: BTreeMap<(ProgramId, PersonId), Vec<&LoggedGrant>> = BTreeMap::new();
    for g in &facts.grants {
        grants.entry((g.program, g.recipient)).or_default().push(g);
    }
    let mut findings = Vec::new();
    for (index, entry) in window {
        let LogEntry::Released { report, person, .. } = entry else {
            continue;
        };
        let rules = Rules {
            facts,
            grants: &grants,
            coverage,
            timeline,
            chains,
        };
        if let Some(why) = rules.check_one(*index, report, person) {
            findings.push((
                format!("log entry {index}"),
                format!("released report {report} to {person}: {why}"),
            ));
        }
    }
    findings
}

/// What one release is judged against.
struct Rules<'a> {
    facts: &'a ReadingFacts,
    /// `facts.grants` by program and recipient.
    grants: &'a BTreeMap<(ProgramId, PersonId), Vec<&'a LoggedGrant>>,
    coverage: &'a GrantCoverage,
    timeline: &'a VersionTimeline,
    chains: &'a BTreeMap<ProgramId, Vec<SignedDescriptor>>,
}

impl Rules<'_> {
    fn check_one(&self, index: u64, report: &ReportId, person: &PersonId) -> Option<String> {
        let Rules {
            facts,
            grants,
            coverage,
            timeline,
            chains,
        } = self;
        let Some(accepted) = facts.reports.get(report) else {
            return Some(
                "the log never accepted that report (or the server does not list it)".into(),
            );
        };
        if accepted.leaf >= index {
            return Some(format!(
                "the release comes before the report's acceptance (entry {})",
                accepted.leaf
            ));
        }
        let program = &accepted.program;
        let Some(chain) = chains.get(program) else {
            return Some(format!("its program {program} has no verified chain here"));
        };
        let current = timeline.at(program, index);
        let reads_now = current
            .and_then(|v| version_of(chain, v))
            .is_some_and(|d| d.is_recipient(person));
        if !reads_now {
            return Some(format!(
                "that person is no recipient of version {}, current when the log released it",
                current.map_or_else(|| "?".to_owned(), |v| v.to_string())
            ));
        }
        // Every point at which the log authorised this person for this report.
        let mut authorised: Vec<u64> = Vec::new();
        if version_of(chain, accepted.sealed_for).is_some_and(|d| d.is_recipient(person)) {
            authorised.push(accepted.leaf);
        }
        for g in grants.get(&(*program, *person)).into_iter().flatten() {
            let covers = coverage.get(&g.grant).is_some_and(|(to, p, reports)| {
                to == person && p == program && reports.contains(report)
            });
            if covers && g.leaf < index {
                authorised.push(g.leaf);
            }
        }
        if authorised.is_empty() {
            return Some(format!(
                "that person was no recipient of version {} it was sealed for, and no logged grant before entry {index} covers it",
                accepted.sealed_for
            ));
        }
        let mut removal = None;
        for from in authorised {
            match facts.taken_away(program, person, from, index) {
                None => return None,
                Some(found) => removal = Some(found),
            }
        }
        removal.map(|(kind, at)| {
        format!(
            "that person's access was {kind} at entry {at}, after every authorisation the log records and before the release: the server kept a dismissed reader reading"
        )
    })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use rand_core::UnwrapErr;
    use sealdrop_proto::SecretIdentity;
    use sealdrop_proto::descriptor::ProgramDescriptor;

    fn rng() -> UnwrapErr<getrandom::SysRng> {
        UnwrapErr(getrandom::SysRng)
    }

    struct World {
        program: ProgramId,
        chains: BTreeMap<ProgramId, Vec<SignedDescriptor>>,
        rita: PersonId,
        vic: PersonId,
        report: ReportId,
    }

    /// v1: Ada manages, Rita reads; v2: Rita removed; v3: Vic added and
    /// Rita back.
    fn world() -> World {
        let ada = SecretIdentity::generate(&mut rng());
        let rita = SecretIdentity::generate(&mut rng());
        let vic = SecretIdentity::generate(&mut rng());
        let program = ProgramId::random(&mut rng());
        let mut d1 =
            ProgramDescriptor::first(program, "Visits", ada.public(), [1; 32], 30, 1).unwrap();
        d1.add_recipient(rita.public());
        let v1 = d1.sign(&ada).unwrap();
        let mut d2 = ProgramDescriptor::successor(&v1, 2);
        d2.remove_recipient(&rita.id());
        let v2 = d2.sign(&ada).unwrap();
        let mut d3 = ProgramDescriptor::successor(&v2, 3);
        d3.add_recipient(vic.public());
        d3.add_recipient(rita.public());
        let v3 = d3.sign(&ada).unwrap();
        World {
            program,
            chains: BTreeMap::from([(program, vec![v1, v2, v3])]),
            rita: rita.id(),
            vic: vic.id(),
            report: ReportId::new(1_700_000_000_000, &mut rng()),
        }
    }

    fn descriptor(program: ProgramId, version: u64) -> LogEntry {
        LogEntry::Descriptor {
            program,
            version,
            descriptor: [0; 32],
            at: 0,
        }
    }

    fn accepted(program: ProgramId, report: ReportId) -> LogEntry {
        LogEntry::Accepted {
            program,
            report,
            sealed_report: [0; 32],
            received_at: 0,
        }
    }

    fn released(report: ReportId, person: PersonId) -> LogEntry {
        LogEntry::Released {
            report,
            person,
            at: 0,
        }
    }

    /// Runs the rule over `window` as one full run, and as a run over the
    /// part from `split` on after a run that absorbed what came before:
    /// both must reach the same findings.
    fn findings(
        w: &World,
        window: &[(u64, LogEntry)],
        coverage: &GrantCoverage,
        split: usize,
    ) -> Vec<(String, String)> {
        let sealed = BTreeMap::from([(w.report, 1)]);
        let mut full = ReadingFacts::default();
        let mut whole = full.absorb(window, &sealed);
        let timeline = VersionTimeline::new(BTreeMap::new(), window);
        whole.extend(check_releases(
            window, &full, coverage, &timeline, &w.chains,
        ));
        whole.sort();

        let (before, after) = window.split_at(split);
        let mut remembered = ReadingFacts::default();
        remembered.absorb(before, &sealed);
        let start = VersionTimeline::new(BTreeMap::new(), before).end();
        let mut incremental = remembered.absorb(after, &sealed);
        let timeline = VersionTimeline::new(start, after);
        incremental.extend(check_releases(
            after,
            &remembered,
            coverage,
            &timeline,
            &w.chains,
        ));
        incremental.sort();
        let whole_after: Vec<_> = whole
            .iter()
            .filter(|(item, _)| after.iter().any(|(i, _)| *item == format!("log entry {i}")))
            .cloned()
            .collect();
        assert_eq!(
            whole_after, incremental,
            "an incremental run judged otherwise"
        );
        whole
    }

    #[test]
    fn a_release_to_a_recipient_of_the_sealed_version_passes() {
        let w = world();
        let window = [
            (0, descriptor(w.program, 1)),
            (1, accepted(w.program, w.report)),
            (2, released(w.report, w.rita)),
        ];
        assert!(findings(&w, &window, &GrantCoverage::new(), 2).is_empty());
    }

    #[test]
    fn a_release_after_the_revocation_is_named_in_full_and_incremental_runs() {
        let w = world();
        let revoked = LogEntry::Revoked {
            program: w.program,
            person: w.rita,
            descriptor_version: 2,
            at: 0,
        };
        let window = [
            (0, descriptor(w.program, 1)),
            (1, accepted(w.program, w.report)),
            (2, descriptor(w.program, 2)),
            (3, revoked),
            (4, released(w.report, w.rita)),
            // Back as a reader of new reports, not of this one.
            (5, descriptor(w.program, 3)),
            (6, released(w.report, w.rita)),
        ];
        let found = findings(&w, &window, &GrantCoverage::new(), 3);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].0, "log entry 4");
        assert!(
            found[0].1.contains("no recipient of version 2"),
            "{found:?}"
        );
        assert_eq!(found[1].0, "log entry 6");
        assert!(found[1].1.contains("revoked at entry 3"), "{found:?}");
    }

    #[test]
    fn a_revocation_the_server_did_not_log_is_caught_by_the_version() {
        // Version 2 removed Rita but no `revoked` leaf follows.
        let w = world();
        let window = [
            (0, descriptor(w.program, 1)),
            (1, accepted(w.program, w.report)),
            (2, descriptor(w.program, 2)),
            (3, released(w.report, w.rita)),
        ];
        assert_eq!(findings(&w, &window, &GrantCoverage::new(), 2).len(), 1);
    }

    #[test]
    fn a_later_recipient_reads_only_what_a_logged_grant_covers() {
        let w = world();
        let grant: Digest = [7; 32];
        let window = [
            (0, descriptor(w.program, 1)),
            (1, accepted(w.program, w.report)),
            (2, descriptor(w.program, 2)),
            (3, descriptor(w.program, 3)),
            (4, released(w.report, w.vic)),
            (
                5,
                LogEntry::Granted {
                    program: w.program,
                    recipient: w.vic,
                    grant,
                    at: 0,
                },
            ),
            (6, released(w.report, w.vic)),
        ];
        let covers = GrantCoverage::from([(grant, (w.vic, w.program, BTreeSet::from([w.report])))]);
        // Before the grant: nothing authorises Vic. After it: fine.
        let found = findings(&w, &window, &covers, 5);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "log entry 4");
        assert!(found[0].1.contains("no logged grant"), "{found:?}");
        // A grant that covers other reports authorises nothing here.
        let elsewhere = GrantCoverage::from([(
            grant,
            (
                w.vic,
                w.program,
                BTreeSet::from([ReportId::new(1_700_000_000_000, &mut rng())]),
            ),
        )]);
        assert_eq!(findings(&w, &window, &elsewhere, 5).len(), 2);
    }

    /// Vic, granted the report, is removed and added back for new reports
    /// only; the server logs his old grant again and releases the report.
    #[test]
    fn a_replayed_grant_authorises_nothing_anew() {
        let w = world();
        let grant: Digest = [7; 32];
        let covers = GrantCoverage::from([(grant, (w.vic, w.program, BTreeSet::from([w.report])))]);
        let granted = |at| {
            (
                at,
                LogEntry::Granted {
                    program: w.program,
                    recipient: w.vic,
                    grant,
                    at: 0,
                },
            )
        };
        let window = [
            (0, descriptor(w.program, 1)),
            (1, accepted(w.program, w.report)),
            (2, descriptor(w.program, 2)),
            (3, descriptor(w.program, 3)),
            granted(4),
            (
                5,
                LogEntry::Revoked {
                    program: w.program,
                    person: w.vic,
                    descriptor_version: 3,
                    at: 0,
                },
            ),
            granted(6),
            (7, released(w.report, w.vic)),
        ];
        // (Version 3 still lists Vic: the revoke stands for a removal and
        // a re-admission; what counts is the leaf order.)
        let found = findings(&w, &window, &covers, 5);
        let items: Vec<&str> = found.iter().map(|(i, _)| i.as_str()).collect();
        assert_eq!(items, ["log entry 6", "log entry 7"], "{found:?}");
        assert!(found[0].1.contains("replayed grant"), "{found:?}");
        assert!(found[1].1.contains("revoked at entry 5"), "{found:?}");
    }

    #[test]
    fn disabling_takes_a_grant_away_and_unknown_reports_are_named() {
        let w = world();
        let grant: Digest = [7; 32];
        let covers = GrantCoverage::from([(grant, (w.vic, w.program, BTreeSet::from([w.report])))]);
        let window = [
            (0, descriptor(w.program, 1)),
            (1, accepted(w.program, w.report)),
            (2, descriptor(w.program, 2)),
            (3, descriptor(w.program, 3)),
            (
                4,
                LogEntry::Granted {
                    program: w.program,
                    recipient: w.vic,
                    grant,
                    at: 0,
                },
            ),
            (
                5,
                LogEntry::Disabled {
                    person: w.vic,
                    at: 0,
                },
            ),
            (6, released(w.report, w.vic)),
            (
                7,
                released(ReportId::new(1_700_000_000_000, &mut rng()), w.vic),
            ),
        ];
        let found = findings(&w, &window, &covers, 6);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].1.contains("disabled at entry 5"), "{found:?}");
        assert!(found[1].1.contains("never accepted"), "{found:?}");
    }
}
