//! A program's authority: the one descriptor chain a client uses for every
//! decision about that program.
//!
//! The chain is downloaded once per decision and verified here from version
//! 1; the same verified copy then answers every question (which version a
//! report, invite or grant names, who managed it, who received it). It must
//! extend what the home pinned (the highest version it verified before:
//! no rollback, no fork) and contain the [`Anchor`] the person confirmed out
//! of band. A chain that merely verifies from its own genesis proves only
//! that someone holds the keys it names, which a server can mint; the
//! anchor is what ties it to the real managers.

use sealdrop_proto::descriptor::{
    DescriptorChain, DescriptorError, ProgramDescriptor, SignedDescriptor, hash_of,
};
use sealdrop_proto::hash::Digest;
use sealdrop_proto::ids::{DescriptorFingerprint, ProgramId};
use thiserror::Error;

/// A descriptor version a person confirmed out of band: the version number
/// and the descriptor's full hash. Because each version names the hash of
/// the one before, this pins everything up to it, genesis included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub version: u64,
    pub hash: Digest,
}

impl Anchor {
    /// The anchor a program's creator holds: the version 1 they signed.
    pub fn of(descriptor: &SignedDescriptor) -> Self {
        Self {
            version: descriptor.unverified_body().version,
            hash: hash_of(descriptor),
        }
    }

    pub fn fingerprint(&self) -> DescriptorFingerprint {
        DescriptorFingerprint::of_hash(&self.hash)
    }
}

/// Why a program's chain is not used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthorityError {
    #[error("the server's descriptor chain for program {program} does not verify: {why}")]
    Broken {
        program: ProgramId,
        why: DescriptorError,
    },
    #[error("the server answered for program {found} when asked for {asked}")]
    WrongProgram { asked: ProgramId, found: ProgramId },
    #[error(
        "the server's chain for program {program} ends at version {offered}, below version {pinned} that this laptop verified: a rollback"
    )]
    Rollback {
        program: ProgramId,
        pinned: u64,
        offered: u64,
    },
    #[error(
        "the server's chain for program {program} does not contain version {version} as this laptop verified it: the server forked the program"
    )]
    ForkFromPin { program: ProgramId, version: u64 },
    #[error(
        "the server's chain for program {program} does not contain the descriptor you confirmed (version {version}): the server is showing you another program under its ID"
    )]
    NotTheConfirmedProgram { program: ProgramId, version: u64 },
    #[error(
        "no version of program {program}'s descriptor has the fingerprint {fingerprint}: check it with your manager again, out loud (or the server is showing you another program)"
    )]
    UnknownFingerprint {
        program: ProgramId,
        fingerprint: DescriptorFingerprint,
    },
    #[error(
        "program {program} is not confirmed on this laptop yet: ask the manager who added you for the program's descriptor fingerprint, then run `sealdrop program trust {program} --descriptor \"FINGERPRINT\"`"
    )]
    Unconfirmed { program: ProgramId },
    #[error("program {program}'s chain has no descriptor version {version}")]
    NoSuchVersion { program: ProgramId, version: u64 },
}

/// A program's chain, verified from version 1, extending the home's pin.
#[derive(Debug, Clone)]
pub struct ProgramAuthority {
    program: ProgramId,
    /// `versions[i]` is version `i + 1`.
    versions: Vec<SignedDescriptor>,
    hashes: Vec<Digest>,
    confirmed: bool,
}

impl ProgramAuthority {
    /// Verifies `offered` (every version, oldest first) from version 1 and
    /// requires it to be `program`'s, to contain `pinned` exactly at its
    /// version (the highest this home verified), and to contain `anchor`
    /// (what the person confirmed out of band), if there is one.
    pub fn verify(
        program: &ProgramId,
        offered: Vec<SignedDescriptor>,
        pinned: Option<&SignedDescriptor>,
        anchor: Option<&Anchor>,
    ) -> Result<Self, AuthorityError> {
        let broken = |why| AuthorityError::Broken {
            program: *program,
            why,
        };
        DescriptorChain::verify_from_genesis(offered.iter().cloned()).map_err(broken)?;
        // verify_from_genesis checks that every version keeps the genesis's
        // program ID; the genesis must be the one asked for.
        if let Some(first) = offered.first() {
            let found = first.unverified_body().program_id;
            if found != *program {
                return Err(AuthorityError::WrongProgram {
                    asked: *program,
                    found,
                });
            }
        }
        let hashes: Vec<Digest> = offered.iter().map(hash_of).collect();
        let authority = Self {
            program: *program,
            versions: offered,
            hashes,
            confirmed: false,
        };
        if let Some(pinned) = pinned {
            let version = pinned.unverified_body().version;
            let offered = authority.current().version;
            if version > offered {
                return Err(AuthorityError::Rollback {
                    program: *program,
                    pinned: version,
                    offered,
                });
            }
            // The whole signed descriptor, signature included, as verified.
            if authority.version(version).ok() != Some(pinned) {
                return Err(AuthorityError::ForkFromPin {
                    program: *program,
                    version,
                });
            }
        }
        match anchor {
            Some(anchor) if authority.hash_at(anchor.version) != Some(&anchor.hash) => {
                Err(AuthorityError::NotTheConfirmedProgram {
                    program: *program,
                    version: anchor.version,
                })
            }
            Some(_) => Ok(Self {
                confirmed: true,
                ..authority
            }),
            None => Ok(authority),
        }
    }

    /// The anchor for a fingerprint the person read from their manager: the
    /// version of this chain whose descriptor has it.
    pub fn confirm(&self, fingerprint: &DescriptorFingerprint) -> Result<Anchor, AuthorityError> {
        self.hashes
            .iter()
            .zip(&self.versions)
            .find(|(hash, _)| DescriptorFingerprint::of_hash(hash) == *fingerprint)
            .map(|(hash, d)| Anchor {
                version: d.unverified_body().version,
                hash: *hash,
            })
            .ok_or(AuthorityError::UnknownFingerprint {
                program: self.program,
                fingerprint: *fingerprint,
            })
    }

    /// Whether the chain contains what the person confirmed out of band.
    pub fn is_confirmed(&self) -> bool {
        self.confirmed
    }

    /// This chain, if the person confirmed it; otherwise what to do.
    pub fn confirmed(&self) -> Result<&Self, AuthorityError> {
        if self.confirmed {
            Ok(self)
        } else {
            Err(AuthorityError::Unconfirmed {
                program: self.program,
            })
        }
    }

    pub fn program(&self) -> &ProgramId {
        &self.program
    }

    pub fn current(&self) -> &ProgramDescriptor {
        self.current_signed().unverified_body()
    }

    pub fn current_signed(&self) -> &SignedDescriptor {
        // verify() refuses an empty chain, so there is always a last one.
        &self.versions[self.versions.len() - 1]
    }

    /// Every version, oldest first.
    pub fn versions(&self) -> &[SignedDescriptor] {
        &self.versions
    }

    /// Version `version` of this chain.
    pub fn version(&self, version: u64) -> Result<&SignedDescriptor, AuthorityError> {
        index(version)
            .and_then(|i| self.versions.get(i))
            .ok_or(AuthorityError::NoSuchVersion {
                program: self.program,
                version,
            })
    }

    pub fn hash_at(&self, version: u64) -> Option<&Digest> {
        index(version).and_then(|i| self.hashes.get(i))
    }

    /// The fingerprint of a version, for a manager to read out.
    pub fn fingerprint_at(&self, version: u64) -> Option<DescriptorFingerprint> {
        self.hash_at(version).map(DescriptorFingerprint::of_hash)
    }
}

fn index(version: u64) -> Option<usize> {
    usize::try_from(version).ok()?.checked_sub(1)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use rand_core::UnwrapErr;
    use sealdrop_proto::SecretIdentity;
    use sealdrop_proto::descriptor::ProgramDescriptor;

    fn rng() -> UnwrapErr<getrandom::SysRng> {
        UnwrapErr(getrandom::SysRng)
    }

    /// A program of `n` versions by `manager`.
    fn chain(id: ProgramId, manager: &SecretIdentity, n: u64) -> Vec<SignedDescriptor> {
        let mut out = vec![
            ProgramDescriptor::first(id, "Visits", manager.public(), [7; 32], 30, 1)
                .unwrap()
                .sign(manager)
                .unwrap(),
        ];
        for t in 2..=n {
            let mut next = ProgramDescriptor::successor(out.last().unwrap(), t);
            next.retention_days = 30 + u32::try_from(t).unwrap();
            out.push(next.sign(manager).unwrap());
        }
        out
    }

    #[test]
    fn extends_the_pin_and_contains_the_anchor() {
        let ada = SecretIdentity::generate(&mut rng());
        let id = ProgramId::random(&mut rng());
        let real = chain(id, &ada, 3);
        let anchor = Anchor::of(&real[0]);
        let a = ProgramAuthority::verify(&id, real.clone(), Some(&real[1]), Some(&anchor)).unwrap();
        assert!(a.is_confirmed());
        assert_eq!(a.current().version, 3);
        assert_eq!(a.confirm(&a.fingerprint_at(2).unwrap()).unwrap().version, 2);
        let unconfirmed = ProgramAuthority::verify(&id, real.clone(), None, None).unwrap();
        assert!(matches!(
            unconfirmed.confirmed(),
            Err(AuthorityError::Unconfirmed { .. })
        ));
    }

    #[test]
    fn a_minted_program_under_the_same_id_is_refused() {
        let ada = SecretIdentity::generate(&mut rng());
        let mallory = SecretIdentity::generate(&mut rng());
        let id = ProgramId::random(&mut rng());
        let real = chain(id, &ada, 2);
        let forged = chain(id, &mallory, 2);
        // It verifies from its own genesis: only the pin and the anchor
        // tell it apart.
        assert!(ProgramAuthority::verify(&id, forged.clone(), None, None).is_ok());
        assert!(matches!(
            ProgramAuthority::verify(&id, forged.clone(), Some(&real[1]), None),
            Err(AuthorityError::ForkFromPin { version: 2, .. })
        ));
        assert!(matches!(
            ProgramAuthority::verify(&id, forged.clone(), None, Some(&Anchor::of(&real[0]))),
            Err(AuthorityError::NotTheConfirmedProgram { version: 1, .. })
        ));
        // A fingerprint of the real program matches no forged version.
        let fake = ProgramAuthority::verify(&id, forged, None, None).unwrap();
        let real_fp = DescriptorFingerprint::of_hash(&hash_of(&real[0]));
        assert!(matches!(
            fake.confirm(&real_fp),
            Err(AuthorityError::UnknownFingerprint { .. })
        ));
    }

    #[test]
    fn rollback_wrong_program_and_broken_chains_are_refused() {
        let ada = SecretIdentity::generate(&mut rng());
        let id = ProgramId::random(&mut rng());
        let other = ProgramId::random(&mut rng());
        let real = chain(id, &ada, 3);
        assert!(matches!(
            ProgramAuthority::verify(&id, real[..2].to_vec(), Some(&real[2]), None),
            Err(AuthorityError::Rollback {
                pinned: 3,
                offered: 2,
                ..
            })
        ));
        assert!(matches!(
            ProgramAuthority::verify(&other, real.clone(), None, None),
            Err(AuthorityError::WrongProgram { .. })
        ));
        let mut gap = real.clone();
        gap.remove(1);
        assert!(matches!(
            ProgramAuthority::verify(&id, gap, None, None),
            Err(AuthorityError::Broken { .. })
        ));
        assert!(matches!(
            ProgramAuthority::verify(&id, Vec::new(), None, None),
            Err(AuthorityError::Broken { .. })
        ));
    }
}
