//! Following a server's log across restores: from the log key and origin a
//! person pinned, through each handover note (docs/PROTOCOL.md §14.11), to
//! the log the server runs now.
//!
//! Each note must verify under the key and origin of the log before it:
//! the first under the pinned ones, so a server can never vouch for a key
//! of its own. What the restores kept is the prefix every hop preserved:
//! the smallest restored size along the chain. A checkpoint the person
//! verified before (of the pinned log) is then judged against the chain:
//!
//! * larger than the first hop's quoted old checkpoint, or of its size with
//!   another root: the old server showed this person a history the
//!   handover does not quote (a fork): refused;
//! * beyond the kept prefix: the entries between are **lost**, and the
//!   person is told which;
//! * within it: the new log must extend it (the caller asks the new server
//!   for that consistency proof: [`Followed::must_extend`]).

use sealdrop_proto::log::checkpoint::Checkpoint;
use sealdrop_proto::log::handover::{Handover, HandoverError};
use thiserror::Error;

/// A log's key and origin, as a person pinned them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPins {
    pub key: [u8; 32],
    pub origin: String,
}

/// Why a server's log could not be followed from the pinned one.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FollowError {
    #[error(
        "the server's log is no longer the one you pinned ({pinned}), and it offers no handover from it: it may be another server, or one restored without a handover; ask its operator"
    )]
    NoHandover { pinned: String },
    #[error("handover {hop} of the chain does not verify: {why}")]
    BadNote { hop: usize, why: HandoverError },
    #[error(
        "the handovers lead to the log {reached}, but the server runs {running}: refusing its key"
    )]
    WrongEnd { reached: String, running: String },
    #[error(
        "handover {hop} says its log held {old} entries, fewer than the {restored} it was restored with"
    )]
    BrokenChain { hop: usize, restored: u64, old: u64 },
    #[error(
        "you saw {seen} entries of the old log, but its handover quotes only {quoted}: the old server showed you a history the handover hides (a fork)"
    )]
    SawMore { seen: u64, quoted: u64 },
    #[error(
        "the old log's checkpoint you saw ({seen} entries) is not the one the handover quotes: the old server showed you another history (a fork)"
    )]
    Forked { seen: u64 },
    #[error(
        "the server cannot show that {what} (handover {hop}): the restores may have rewritten history; refusing them"
    )]
    Unproven { hop: u32, what: &'static str },
}

/// A consistency proof the server must give in a log a handover left
/// behind (`GET /v1/log/handover/consistency`): from `from` to `to`, whose
/// sizes and roots come from what this person saw and from the signed
/// notes, so the proof itself needs no signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OldProof {
    /// The handover, by its place in the chain the server serves (1 = the
    /// first), whose old log the proof is in.
    pub hop: u32,
    pub from: Checkpoint,
    pub to: Checkpoint,
    what: &'static str,
}

impl OldProof {
    /// Checks the server's proof `path`.
    pub fn check(&self, path: &[[u8; 32]]) -> Result<(), FollowError> {
        if self.from.size() == 0 {
            return Ok(());
        }
        sealdrop_proto::log::merkle::verify_consistency(
            self.from.size(),
            self.to.size(),
            self.from.root(),
            self.to.root(),
            path,
        )
        .map_err(|_| FollowError::Unproven {
            hop: self.hop,
            what: self.what,
        })
    }
}

/// Entries a person saw that no restore kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lost {
    /// The log they were in.
    pub origin: String,
    /// The first lost index (the kept prefix's size).
    pub from: u64,
    /// One past the last index the person saw.
    pub to: u64,
}

/// The log the server runs now, reached from the pinned one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Followed {
    /// The newest log's key and origin: what to pin from now on.
    pub pins: LogPins,
    /// The handovers followed, oldest first.
    pub hops: Vec<Handover>,
    /// How many of the pinned log's entries every restore kept.
    pub kept: u64,
    /// Entries the person saw that are gone.
    pub lost: Option<Lost>,
    /// Checkpoints the new log's current checkpoint must extend (sizes and
    /// roots; origins differ): the kept prefix, and the person's own when
    /// it lies within it.
    pub must_extend: Vec<Checkpoint>,
    /// Proofs the server must give in the logs left behind: that each log
    /// of the chain began with what the handover before it kept, and that
    /// what the person saw beyond the kept prefix is one history with the
    /// old checkpoint the first handover quotes.
    pub old_proofs: Vec<OldProof>,
}

/// Follows `notes` (oldest first, as the server serves them; earlier ones
/// the person already followed are skipped) from `pinned` to `running`,
/// judging `seen`: every checkpoint of the pinned log the person holds
/// (the one they kept, those in their receipts). Each must be of the
/// history the handovers quote: a fork is refused, the largest beyond the
/// kept prefix names what was lost, and each gets its proof.
pub fn follow(
    pinned: &LogPins,
    running: &LogPins,
    seen: &[Checkpoint],
    notes: &[Vec<u8>],
) -> Result<Followed, FollowError> {
    // Notes before the pinned log's own handover are history this person
    // never had: skip them by their (unverified) old origin, then verify
    // every note from there on under the key before it.
    let start = notes
        .iter()
        .position(|n| Handover::parse_unverified(n).is_ok_and(|h| h.old_origin() == pinned.origin))
        .ok_or_else(|| FollowError::NoHandover {
            pinned: pinned.origin.clone(),
        })?;
    let mut at = pinned.clone();
    let mut hops = Vec::new();
    for (i, note) in notes[start..].iter().enumerate() {
        let hop = i + 1;
        let h = Handover::verify(note, &at.origin, &at.key)
            .map_err(|why| FollowError::BadNote { hop, why })?;
        if let Some(before) = hops.last().map(|b: &Handover| b.restored().size())
            && h.old_checkpoint().size() < before
        {
            return Err(FollowError::BrokenChain {
                hop,
                restored: before,
                old: h.old_checkpoint().size(),
            });
        }
        at = LogPins {
            key: *h.new_key(),
            origin: h.new_origin().to_owned(),
        };
        hops.push(h);
    }
    if at != *running {
        return Err(FollowError::WrongEnd {
            reached: at.origin,
            running: running.origin.clone(),
        });
    }
    // `start` found a note, and every one from there is in `hops`.
    let Some(first) = hops.first() else {
        return Err(FollowError::NoHandover {
            pinned: pinned.origin.clone(),
        });
    };
    let kept_by = hops
        .iter()
        .min_by_key(|h| h.restored().size())
        .unwrap_or(first);
    let kept = kept_by.restored().clone();
    let mut must_extend = vec![kept.clone()];
    let position = |j: usize| u32::try_from(start + j + 1).unwrap_or(u32::MAX);
    // Each later log began with what the handover before it kept: both
    // that prefix and the later note's quoted checkpoint are of one tree.
    let mut old_proofs: Vec<OldProof> = hops
        .windows(2)
        .enumerate()
        .map(|(j, pair)| OldProof {
            hop: position(j + 1),
            from: pair[0].restored().clone(),
            to: pair[1].old_checkpoint().clone(),
            what: "this log began with what the restore before it kept",
        })
        .collect();
    let mut lost: Option<Lost> = None;
    let quoted = first.old_checkpoint();
    let mut judged: Vec<&Checkpoint> = Vec::new();
    for seen in seen {
        if judged
            .iter()
            .any(|j| j.size() == seen.size() && j.root() == seen.root())
        {
            continue;
        }
        judged.push(seen);
        if seen.size() > quoted.size() {
            return Err(FollowError::SawMore {
                seen: seen.size(),
                quoted: quoted.size(),
            });
        }
        let same_size_other_root = seen.size() == quoted.size() && seen.root() != quoted.root();
        let at_first_prefix =
            seen.size() == first.restored().size() && seen.root() != first.restored().root();
        if same_size_other_root || at_first_prefix {
            return Err(FollowError::Forked { seen: seen.size() });
        }
        if seen.size() > kept.size() {
            if lost.as_ref().is_none_or(|l| l.to < seen.size()) {
                lost = Some(Lost {
                    origin: pinned.origin.clone(),
                    from: kept.size(),
                    to: seen.size(),
                });
            }
            // What the person saw, the quoted checkpoint and (by the
            // note's own proof) the kept prefix: one history.
            if seen.size() < quoted.size() {
                old_proofs.push(OldProof {
                    hop: position(0),
                    from: seen.clone(),
                    to: quoted.clone(),
                    what: "the history you saw is the one the handover quotes",
                });
            }
        } else if seen.size() > 0 {
            must_extend.push(seen.clone());
        }
    }
    Ok(Followed {
        pins: at,
        hops,
        kept: kept.size(),
        lost,
        must_extend,
        old_proofs,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use sealdrop_proto::keys::SigningSecret;
    use sealdrop_proto::log::merkle::{MerkleTree, leaf_hash};

    struct Log {
        key: SigningSecret,
        origin: String,
        tree: MerkleTree,
    }

    impl Log {
        fn new(seed: u8, origin: &str, leaves: u8) -> Self {
            let mut tree = MerkleTree::new();
            for i in 0..leaves {
                tree.push(leaf_hash(&[seed, i]));
            }
            Self {
                key: SigningSecret::from_seed(&[seed; 32]),
                origin: origin.into(),
                tree,
            }
        }

        fn pins(&self) -> LogPins {
            LogPins {
                key: self.key.verifying_key().to_bytes(),
                origin: self.origin.clone(),
            }
        }

        fn checkpoint(&self, size: u64) -> Checkpoint {
            Checkpoint::new(&self.origin, size, self.tree.root_at(size).unwrap()).unwrap()
        }

        fn size(&self) -> u64 {
            self.tree.len()
        }

        /// Restores the first `k` leaves into a new log of key `seed`,
        /// which then grows by `more`: the new log and the signed note.
        fn restore(&self, k: u64, seed: u8, origin: &str, more: u8) -> (Log, Vec<u8>) {
            // The restored log starts with the old one's first `k` leaves.
            let mut new = Log {
                key: SigningSecret::from_seed(&[seed; 32]),
                origin: origin.into(),
                tree: MerkleTree::new(),
            };
            for i in 0..k {
                new.tree.push(self.tree.leaf(i).unwrap());
            }
            for i in 0..more {
                new.tree.push(leaf_hash(&[seed, 100 + i]));
            }
            let old = self.checkpoint(self.size());
            let handover = Handover::new(
                old,
                k,
                self.tree.root_at(k).unwrap(),
                self.tree.consistency_proof(k, self.size()).unwrap(),
                origin,
                new.key.verifying_key().to_bytes(),
            )
            .unwrap();
            (new, handover.sign(&self.key).into_bytes())
        }
    }

    #[test]
    fn a_chain_of_two_restores_is_followed_and_what_it_lost_named() {
        let a = Log::new(1, "example.org/a", 10);
        let (b, ab) = a.restore(8, 2, "example.org/b", 5);
        let (c, bc) = b.restore(12, 3, "example.org/c", 1);
        let notes = vec![ab.clone(), bc.clone()];

        // Saw 6 of a: within every kept prefix; the new log must extend it.
        let followed = follow(&a.pins(), &c.pins(), &[a.checkpoint(6)], &notes).unwrap();
        assert_eq!(followed.pins, c.pins());
        assert_eq!(followed.kept, 8);
        assert_eq!(followed.lost, None);
        assert_eq!(
            followed
                .must_extend
                .iter()
                .map(Checkpoint::size)
                .collect::<Vec<_>>(),
            [8, 6]
        );
        // Saw all 10 of a: 8 and 9 are lost.
        let followed = follow(&a.pins(), &c.pins(), &[a.checkpoint(10)], &notes).unwrap();
        assert_eq!(
            followed.lost,
            Some(Lost {
                origin: "example.org/a".into(),
                from: 8,
                to: 10
            })
        );
        // Pinned to b already: the first note is skipped.
        let followed = follow(&b.pins(), &c.pins(), &[b.checkpoint(13)], &notes).unwrap();
        assert_eq!(
            (followed.hops.len(), followed.lost),
            (
                1,
                Some(Lost {
                    origin: "example.org/b".into(),
                    from: 12,
                    to: 13
                })
            )
        );
    }

    /// The proof the server would serve for `p`, from the old log `log`.
    fn serve(log: &Log, p: &OldProof) -> Vec<[u8; 32]> {
        log.tree
            .consistency_proof(p.from.size(), p.to.size())
            .unwrap()
    }

    #[test]
    fn what_was_seen_beyond_the_kept_prefix_and_each_hop_are_proven() {
        let a = Log::new(1, "example.org/a", 10);
        let (b, ab) = a.restore(8, 2, "example.org/b", 5);
        let (c, bc) = b.restore(12, 3, "example.org/c", 1);
        let notes = vec![ab.clone(), bc.clone()];
        // Saw 9 of a: entry 8 lost; 9 → 10 must be proven in a; and b
        // must have begun with a's first 8 (8 → 13 in b).
        let followed = follow(&a.pins(), &c.pins(), &[a.checkpoint(9)], &notes).unwrap();
        let hops: Vec<(u32, u64, u64)> = followed
            .old_proofs
            .iter()
            .map(|p| (p.hop, p.from.size(), p.to.size()))
            .collect();
        assert_eq!(hops, [(2, 8, 13), (1, 9, 10)]);
        let logs = [&a, &b];
        for p in &followed.old_proofs {
            p.check(&serve(logs[p.hop as usize - 1], p)).unwrap();
        }
        // The old server showed this person another 9th entry than the
        // handover's history: the proof cannot exist.
        let other = Log::new(5, "example.org/a", 9);
        let followed = follow(&a.pins(), &c.pins(), &[other.checkpoint(9)], &notes).unwrap();
        let seen = &followed.old_proofs[1];
        assert!(seen.check(&serve(&a, seen)).is_err());

        // A server holding b's key restores a b that did not begin with
        // a's kept entries: the link between the hops cannot be proven.
        let mut forged_b = Log::new(2, "example.org/b", 13);
        forged_b.key = SigningSecret::from_seed(&[2; 32]);
        let (c2, forged_bc) = forged_b.restore(12, 3, "example.org/c", 1);
        let followed = follow(&a.pins(), &c2.pins(), &[], &[ab, forged_bc]).unwrap();
        let link = &followed.old_proofs[0];
        assert!(matches!(
            link.check(&serve(&forged_b, link)),
            Err(FollowError::Unproven { hop: 2, .. })
        ));
    }

    #[test]
    fn a_note_not_signed_by_the_log_before_it_is_refused() {
        let a = Log::new(1, "example.org/a", 10);
        let (b, ab) = a.restore(8, 2, "example.org/b", 5);
        // The server signs a handover from b to a log of its own with its
        // own key instead of b's.
        let mallory = Log::new(9, "example.org/b", 13);
        let (c, bc) = mallory.restore(12, 3, "example.org/c", 0);
        let err = follow(&a.pins(), &c.pins(), &[], &[ab.clone(), bc]).unwrap_err();
        assert!(matches!(err, FollowError::BadNote { hop: 2, .. }), "{err}");
        // No note from the pinned log at all.
        let err = follow(&b.pins(), &c.pins(), &[], std::slice::from_ref(&ab)).unwrap_err();
        assert!(matches!(err, FollowError::NoHandover { .. }), "{err}");
        // The notes lead elsewhere than the running log.
        let err = follow(&a.pins(), &c.pins(), &[], &[ab]).unwrap_err();
        assert!(matches!(err, FollowError::WrongEnd { .. }), "{err}");
    }

    /// Every checkpoint held is judged, not only the largest: a receipt
    /// proven in a fork below the kept size needs a proof in the new log
    /// that cannot exist, and the largest names what was lost.
    #[test]
    fn every_checkpoint_held_is_judged() {
        let a = Log::new(1, "example.org/a", 10);
        let (b, ab) = a.restore(8, 2, "example.org/b", 2);
        let forked = Log::new(6, "example.org/a", 5);
        let held = [a.checkpoint(9), forked.checkpoint(5), a.checkpoint(3)];
        let followed = follow(&a.pins(), &b.pins(), &held, std::slice::from_ref(&ab)).unwrap();
        assert_eq!(followed.lost.as_ref().map(|l| (l.from, l.to)), Some((8, 9)));
        let sizes: Vec<u64> = followed.must_extend.iter().map(Checkpoint::size).collect();
        assert_eq!(sizes, [8, 5, 3]);
        // The new log holds a's first 8 entries: it extends a's 3, not
        // the forked 5.
        let extends = |c: &Checkpoint| {
            let path = b.tree.consistency_proof(c.size(), b.size()).unwrap();
            sealdrop_proto::log::merkle::verify_consistency(
                c.size(),
                b.size(),
                c.root(),
                &b.tree.root(),
                &path,
            )
            .is_ok()
        };
        assert!(extends(&followed.must_extend[2]));
        assert!(!extends(&followed.must_extend[1]));
    }

    #[test]
    fn a_history_the_handover_hides_is_a_fork() {
        let a = Log::new(1, "example.org/a", 10);
        let (b, ab) = a.restore(8, 2, "example.org/b", 0);
        // The old server had shown this person 12 entries: more than the
        // handover quotes.
        let longer = Log::new(1, "example.org/a", 12);
        let err = follow(
            &a.pins(),
            &b.pins(),
            &[longer.checkpoint(12)],
            std::slice::from_ref(&ab),
        )
        .unwrap_err();
        assert!(matches!(err, FollowError::SawMore { .. }), "{err}");
        // Ten entries, but another history than the one quoted.
        let other = Log::new(7, "example.org/a", 10);
        let err = follow(&a.pins(), &b.pins(), &[other.checkpoint(10)], &[ab]).unwrap_err();
        assert!(matches!(err, FollowError::Forked { seen: 10 }), "{err}");
    }
}
