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
}

/// Follows `notes` (oldest first, as the server serves them; earlier ones
/// the person already followed are skipped) from `pinned` to `running`,
/// judging `seen`, the newest checkpoint of the pinned log the person
/// verified, if any.
pub fn follow(
    pinned: &LogPins,
    running: &LogPins,
    seen: Option<&Checkpoint>,
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
    let mut lost = None;
    if let Some(seen) = seen {
        let quoted = first.old_checkpoint();
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
            lost = Some(Lost {
                origin: pinned.origin.clone(),
                from: kept.size(),
                to: seen.size(),
            });
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
        let followed = follow(&a.pins(), &c.pins(), Some(&a.checkpoint(6)), &notes).unwrap();
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
        let followed = follow(&a.pins(), &c.pins(), Some(&a.checkpoint(10)), &notes).unwrap();
        assert_eq!(
            followed.lost,
            Some(Lost {
                origin: "example.org/a".into(),
                from: 8,
                to: 10
            })
        );
        // Pinned to b already: the first note is skipped.
        let followed = follow(&b.pins(), &c.pins(), Some(&b.checkpoint(13)), &notes).unwrap();
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

    #[test]
    fn a_note_not_signed_by_the_log_before_it_is_refused() {
        let a = Log::new(1, "example.org/a", 10);
        let (b, ab) = a.restore(8, 2, "example.org/b", 5);
        // The server signs a handover from b to a log of its own with its
        // own key instead of b's.
        let mallory = Log::new(9, "example.org/b", 13);
        let (c, bc) = mallory.restore(12, 3, "example.org/c", 0);
        let err = follow(&a.pins(), &c.pins(), None, &[ab.clone(), bc]).unwrap_err();
        assert!(matches!(err, FollowError::BadNote { hop: 2, .. }), "{err}");
        // No note from the pinned log at all.
        let err = follow(&b.pins(), &c.pins(), None, std::slice::from_ref(&ab)).unwrap_err();
        assert!(matches!(err, FollowError::NoHandover { .. }), "{err}");
        // The notes lead elsewhere than the running log.
        let err = follow(&a.pins(), &c.pins(), None, &[ab]).unwrap_err();
        assert!(matches!(err, FollowError::WrongEnd { .. }), "{err}");
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
            Some(&longer.checkpoint(12)),
            std::slice::from_ref(&ab),
        )
        .unwrap_err();
        assert!(matches!(err, FollowError::SawMore { .. }), "{err}");
        // Ten entries, but another history than the one quoted.
        let other = Log::new(7, "example.org/a", 10);
        let err = follow(&a.pins(), &b.pins(), Some(&other.checkpoint(10)), &[ab]).unwrap_err();
        assert!(matches!(err, FollowError::Forked { seen: 10 }), "{err}");
    }
}
