//! The auditor's rules for shopper enrolments, against the log.
//!
//! A shopper enrols in two logged steps (docs/PROTOCOL.md §7): a
//! `committed` leaf holding `H(token ‖ keys)`, then, after the shopper
//! proved it, an `enrolled` leaf for the enrolment that reveals the token and
//! names the commitment's leaf. The server first sees an invite's token at
//! the reveal, so any key of its own it enrols with that token opens a
//! commitment logged after the real shopper's. These rules make that, and
//! every other way of minting a shopper, visible:
//!
//! * one enrolment per invite (`token_hash`): the one that opens the
//!   earliest commitment; any other is flagged;
//! * each enrolment's commitment leaf holds the commitment it opens, and
//!   comes before its `enrolled` leaf;
//! * its `enrolled` leaf is no later than the invite's expiry;
//! * every listed shopper has an `enrolled` leaf, and every `enrolled` leaf
//!   of the auditor's programs is a listed shopper.
//!
//! The log is read incrementally, so the leaf checks apply to enrolments
//! whose `enrolled` leaf is among the entries read this run (on a first or
//! `--full` run, all of them); commitments older than those entries are
//! fetched and proven by the caller ([`needed_leaves`]).

use std::collections::{BTreeMap, BTreeSet};

use sealdrop_proto::descriptor::SignedDescriptor;
use sealdrop_proto::hash::Digest;
use sealdrop_proto::ids::{PersonId, ProgramId};
use sealdrop_proto::log::entry::{LogEntry, LoggedRole};

use crate::history::{VersionTimeline, check_manager_at};

/// A shopper as the server lists them, with the facts of their (already
/// chain-checked) invite and enrolment.
#[derive(Debug, Clone)]
pub struct ListedEnrolment {
    pub person: PersonId,
    pub program: ProgramId,
    pub token_hash: Digest,
    pub invite_expires_at: u64,
    /// `hash(HASH_ENROLMENT_RECORD, signed enrolment)`, as the `enrolled`
    /// leaf names it.
    pub record_hash: Digest,
    pub commitment: Digest,
    pub commitment_leaf: u64,
    /// The Ed25519 key that signed the invite.
    pub invite_signer: [u8; 32],
}

/// The log entries this run read: `entries` are `(index, entry)` from
/// index `start` on.
#[derive(Debug, Clone, Copy)]
pub struct LogWindow<'a> {
    pub start: u64,
    pub entries: &'a [(u64, LogEntry)],
}

/// A problem, as `(item, why)` for the auditor's failure list.
pub type Finding = (String, String);

/// `enrolled` shopper leaves in the window, by the record hash they name.
fn enrolled_leaves(window: &LogWindow<'_>) -> BTreeMap<Digest, (u64, PersonId, u64)> {
    window
        .entries
        .iter()
        .filter_map(|(index, entry)| match entry {
            LogEntry::Enrolled {
                person,
                role: LoggedRole::Shopper,
                enrolment: Some(record),
                at,
                ..
            } => Some((*record, (*index, *person, *at))),
            _ => None,
        })
        .collect()
}

/// The program an `enrolled` leaf of the window names.
fn enrolled_program(window: &LogWindow<'_>, leaf: u64) -> Option<ProgramId> {
    window.entries.iter().find_map(|(i, e)| match e {
        LogEntry::Enrolled { program, .. } if *i == leaf => *program,
        _ => None,
    })
}

/// The commitment leaves older than the window that [`check`] needs: those
/// of enrolments whose `enrolled` leaf is in the window. The caller fetches
/// each with an inclusion proof in the checkpoint it verified.
pub fn needed_leaves(listed: &[ListedEnrolment], window: &LogWindow<'_>) -> BTreeSet<u64> {
    let enrolled = enrolled_leaves(window);
    listed
        .iter()
        .filter(|e| enrolled.contains_key(&e.record_hash) && e.commitment_leaf < window.start)
        .map(|e| e.commitment_leaf)
        .collect()
}

/// Every finding about shopper enrolments. `older` holds the proven leaves
/// [`needed_leaves`] named; `programs` are the auditor's own (the log is
/// one per server); `remembered` (incremental runs) the record hashes of
/// the enrolments a clean earlier run verified against the log.
pub fn check(
    listed: &[ListedEnrolment],
    window: &LogWindow<'_>,
    older: &BTreeMap<u64, LogEntry>,
    programs: &BTreeSet<ProgramId>,
    remembered: &BTreeSet<Digest>,
    (timeline, chains): (
        &VersionTimeline,
        &BTreeMap<ProgramId, Vec<SignedDescriptor>>,
    ),
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let item = |p: &PersonId| format!("shopper {p}");

    // One enrolment per invite: the earliest commitment wins.
    let mut by_token: BTreeMap<Digest, Vec<&ListedEnrolment>> = BTreeMap::new();
    for e in listed {
        by_token.entry(e.token_hash).or_default().push(e);
    }
    for group in by_token.values_mut() {
        group.sort_by_key(|e| (e.commitment_leaf, e.person));
        if let Some((first, later)) = group.split_first() {
            for e in later {
                findings.push((
                    item(&e.person),
                    format!(
                        "a second enrolment under one invite: it opens the commitment at log entry {}, after {}'s at entry {}; only the earliest counts (the server may have used a shopper's token for a key of its own)",
                        e.commitment_leaf, first.person, first.commitment_leaf
                    ),
                ));
            }
        }
    }

    // Each enrolment whose `enrolled` leaf was read this run.
    let enrolled = enrolled_leaves(window);
    let in_window: BTreeMap<u64, &LogEntry> = window.entries.iter().map(|(i, e)| (*i, e)).collect();
    for e in listed {
        let Some(&(leaf, person, at)) = enrolled.get(&e.record_hash) else {
            // Not among the entries read: verified by an earlier clean run,
            // or never logged (a shopper the server put in another's place).
            if window.start == 0 || !remembered.contains(&e.record_hash) {
                findings.push((
                    item(&e.person),
                    "listed as enrolled, but the log records no enrolment of theirs".into(),
                ));
            }
            continue;
        };
        if enrolled_program(window, leaf) != Some(e.program) {
            findings.push((
                item(&e.person),
                "the log records this enrolment for another program".into(),
            ));
        }
        if person != e.person {
            findings.push((
                item(&e.person),
                format!("the log records this enrolment for {person}, another person"),
            ));
        }
        let committed = in_window
            .get(&e.commitment_leaf)
            .copied()
            .or_else(|| older.get(&e.commitment_leaf));
        match committed {
            Some(LogEntry::Committed { commitment, .. }) if *commitment == e.commitment => {}
            Some(_) => findings.push((
                item(&e.person),
                format!(
                    "log entry {} is not the commitment the enrolment opens",
                    e.commitment_leaf
                ),
            )),
            None => findings.push((
                item(&e.person),
                format!(
                    "the commitment at log entry {} could not be read",
                    e.commitment_leaf
                ),
            )),
        }
        if e.commitment_leaf >= leaf {
            findings.push((
                item(&e.person),
                format!(
                    "enrolled at log entry {leaf} before its commitment at entry {} was logged",
                    e.commitment_leaf
                ),
            ));
        }
        // The invite's signer managed the version current when the log
        // recorded the enrolment, whatever version the invite names.
        if let Some(why) = chains
            .get(&e.program)
            .and_then(|chain| check_manager_at(timeline, chain, &e.program, leaf, &e.invite_signer))
        {
            findings.push((item(&e.person), format!("its invite does not count: {why}")));
        }
        if at > e.invite_expires_at {
            findings.push((
                item(&e.person),
                format!(
                    "the log records the enrolment at {at}, after the invite expired at {}",
                    e.invite_expires_at
                ),
            ));
        }
    }

    // The reverse: an `enrolled` leaf of one of these programs that names
    // no listed shopper, and a shopper verified before who is gone.
    let listed_records: BTreeSet<Digest> = listed.iter().map(|e| e.record_hash).collect();
    if window.start > 0 {
        for gone in remembered.difference(&listed_records) {
            findings.push((
                "shoppers".into(),
                format!(
                    "an enrolment this auditor verified before ({}) is no longer listed",
                    gone.iter()
                        .take(8)
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>()
                ),
            ));
        }
    }
    for (index, entry) in window.entries {
        if let LogEntry::Enrolled {
            person,
            role: LoggedRole::Shopper,
            program: Some(program),
            enrolment,
            ..
        } = entry
            && programs.contains(program)
            && enrolment.is_none_or(|r| !listed_records.contains(&r))
        {
            findings.push((
                format!("log entry {index}"),
                format!("records an enrolment of shopper {person} that the server does not list"),
            ));
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn person(n: u8) -> PersonId {
        PersonId::from_bytes([n; 20])
    }

    fn program() -> ProgramId {
        ProgramId::from_bytes([1; 16])
    }

    /// A shopper whose commitment is at `commitment_leaf` and enrolment at
    /// `commitment_leaf + 1`, both logged.
    fn honest(n: u8, token: u8, commitment_leaf: u64) -> (ListedEnrolment, Vec<(u64, LogEntry)>) {
        let e = ListedEnrolment {
            person: person(n),
            program: program(),
            token_hash: [token; 32],
            invite_expires_at: 1000,
            record_hash: [n; 32],
            commitment: [n.wrapping_add(100); 32],
            commitment_leaf,
            invite_signer: [0; 32],
        };
        let leaves = vec![
            (
                commitment_leaf,
                LogEntry::Committed {
                    commitment: e.commitment,
                    at: 10,
                },
            ),
            (
                commitment_leaf + 1,
                LogEntry::Enrolled {
                    person: e.person,
                    role: LoggedRole::Shopper,
                    program: Some(program()),
                    enrolment: Some(e.record_hash),
                    at: 20,
                },
            ),
        ];
        (e, leaves)
    }

    fn run(listed: &[ListedEnrolment], entries: &[(u64, LogEntry)], start: u64) -> Vec<Finding> {
        let window = LogWindow { start, entries };
        check(
            listed,
            &window,
            &BTreeMap::new(),
            &BTreeSet::from([program()]),
            &BTreeSet::new(),
            (&VersionTimeline::default(), &BTreeMap::new()),
        )
    }

    #[test]
    fn honest_enrolments_pass() {
        let (a, mut leaves) = honest(1, 1, 0);
        let (b, more) = honest(2, 2, 2);
        leaves.extend(more);
        assert_eq!(run(&[a, b], &leaves, 0), Vec::<Finding>::new());
    }

    #[test]
    fn a_later_commitment_for_a_used_token_is_flagged() {
        let (real, mut leaves) = honest(1, 7, 0);
        let (minted, more) = honest(2, 7, 2);
        leaves.extend(more);
        let found = run(&[minted, real], &leaves, 0);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, format!("shopper {}", person(2)));
        assert!(found[0].1.contains("second enrolment"));
    }

    #[test]
    fn a_commitment_not_opened_or_logged_late_or_after_expiry_is_flagged() {
        let (e, mut leaves) = honest(1, 1, 0);
        leaves[0].1 = LogEntry::Committed {
            commitment: [0; 32],
            at: 10,
        };
        assert!(
            run(std::slice::from_ref(&e), &leaves, 0)[0]
                .1
                .contains("not the commitment")
        );

        let (mut e, leaves) = honest(1, 1, 0);
        e.commitment_leaf = 1;
        let found = run(&[e], &leaves, 0);
        assert!(
            found.iter().any(|f| f.1.contains("before its commitment")),
            "{found:?}"
        );

        let (mut e, leaves) = honest(1, 1, 0);
        e.invite_expires_at = 19;
        assert!(
            run(&[e], &leaves, 0)[0]
                .1
                .contains("after the invite expired")
        );
    }

    #[test]
    fn a_shopper_without_a_leaf_and_a_leaf_without_a_shopper_are_flagged() {
        let (e, leaves) = honest(1, 1, 0);
        let found = run(std::slice::from_ref(&e), &[], 0);
        assert!(found[0].1.contains("no enrolment"));
        // An incremental run that read none of it: fine if a clean earlier
        // run verified it, named if nobody did (a shopper put in another's
        // place), and a verified shopper no longer listed is named.
        let programs = BTreeSet::from([program()]);
        let none = (&VersionTimeline::default(), &BTreeMap::new());
        let window = LogWindow {
            start: 5,
            entries: &[],
        };
        let known = BTreeSet::from([e.record_hash]);
        assert!(
            check(
                std::slice::from_ref(&e),
                &window,
                &BTreeMap::new(),
                &programs,
                &known,
                none
            )
            .is_empty()
        );
        assert!(
            run(std::slice::from_ref(&e), &[], 5)[0]
                .1
                .contains("no enrolment")
        );
        let gone = check(&[], &window, &BTreeMap::new(), &programs, &known, none);
        assert!(gone[0].1.contains("no longer listed"), "{gone:?}");
        let found = run(&[], &leaves, 0);
        assert_eq!(found.len(), 1);
        assert!(found[0].1.contains("does not list"));
    }

    #[test]
    fn older_commitments_are_asked_for_and_used() {
        let (e, leaves) = honest(1, 1, 0);
        let window = LogWindow {
            start: 1,
            entries: &leaves[1..],
        };
        assert_eq!(
            needed_leaves(std::slice::from_ref(&e), &window),
            BTreeSet::from([0])
        );
        let programs = BTreeSet::from([program()]);
        let none = (&VersionTimeline::default(), &BTreeMap::new());
        let missing = check(
            std::slice::from_ref(&e),
            &window,
            &BTreeMap::new(),
            &programs,
            &BTreeSet::new(),
            none,
        );
        assert!(missing[0].1.contains("could not be read"));
        let older = BTreeMap::from([leaves[0].clone()]);
        assert!(check(&[e], &window, &older, &programs, &BTreeSet::new(), none).is_empty());
    }
}
