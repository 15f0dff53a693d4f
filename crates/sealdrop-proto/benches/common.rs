//! Shared bench fixtures: OS randomness and a program with N recipients.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sealdrop_proto::descriptor::ProgramDescriptor;
use sealdrop_proto::hash::questionnaire_digest;
use sealdrop_proto::{ProgramId, SecretIdentity};

pub type Rng = rand_core::UnwrapErr<getrandom::SysRng>;

pub fn rng() -> Rng {
    rand_core::UnwrapErr(getrandom::SysRng)
}

/// A descriptor whose recipients are `n` fresh people; returns them too.
pub fn program(n: usize) -> (ProgramDescriptor, SecretIdentity, Vec<SecretIdentity>) {
    let mut rng = rng();
    let manager = SecretIdentity::generate(&mut rng);
    let v1 = ProgramDescriptor::first(
        ProgramId::random(&mut rng),
        "bench",
        manager.public(),
        questionnaire_digest(b"q"),
        30,
        1,
    )
    .unwrap()
    .sign(&manager)
    .unwrap();
    let mut d = ProgramDescriptor::successor(&v1, 2);
    let people: Vec<SecretIdentity> = (0..n).map(|_| SecretIdentity::generate(&mut rng)).collect();
    d.recipients.clear();
    for p in &people {
        d.add_recipient(p.public());
    }
    (d, manager, people)
}
