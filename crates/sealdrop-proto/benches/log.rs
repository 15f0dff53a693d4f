//! The log at a million leaves: inclusion and consistency proofs made from
//! the in-memory tree and verified, with the same-run baseline of one
//! SHA-256 leaf hash. Bytes per proof are printed once (32 per hash).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{Criterion, criterion_group, criterion_main};
use sealdrop_proto::log::merkle::{MerkleTree, leaf_hash, verify_consistency, verify_inclusion};
use std::hint::black_box;

const LEAVES: u64 = 1_000_000;

/// A cheap deterministic sequence, so each iteration asks for another
/// leaf or size (no cache effects from asking the same one).
fn next(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1);
    *state >> 11
}

fn proofs(c: &mut Criterion) {
    let mut tree = MerkleTree::new();
    for i in 0..LEAVES {
        tree.push(leaf_hash(&i.to_be_bytes()));
    }
    let root = tree.root();
    let inclusion = tree.inclusion_proof(123_457, LEAVES).unwrap();
    let consistency = tree.consistency_proof(654_321, LEAVES).unwrap();
    eprintln!(
        "at {LEAVES} leaves: an inclusion proof is {} hashes ({} bytes), a consistency proof {} hashes ({} bytes)",
        inclusion.len(),
        inclusion.len() * 32,
        consistency.len(),
        consistency.len() * 32
    );

    let mut g = c.benchmark_group("log_1M");
    g.bench_function("baseline_leaf_hash", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            black_box(leaf_hash(&i.to_be_bytes()))
        });
    });
    g.bench_function("inclusion_proof", |b| {
        let mut s = 1;
        b.iter(|| black_box(tree.inclusion_proof(next(&mut s) % LEAVES, LEAVES).unwrap()));
    });
    g.bench_function("consistency_proof", |b| {
        let mut s = 2;
        b.iter(|| {
            let old = 1 + next(&mut s) % (LEAVES - 1);
            black_box(tree.consistency_proof(old, LEAVES).unwrap())
        });
    });
    g.bench_function("verify_inclusion", |b| {
        let leaf = tree.leaf(123_457).unwrap();
        b.iter(|| verify_inclusion(&leaf, 123_457, LEAVES, black_box(&inclusion), &root).unwrap());
    });
    g.bench_function("verify_consistency", |b| {
        let old_root = tree.root_at(654_321).unwrap();
        b.iter(|| {
            verify_consistency(654_321, LEAVES, &old_root, &root, black_box(&consistency)).unwrap()
        });
    });
    g.finish();
}

criterion_group!(benches, proofs);
criterion_main!(benches);
