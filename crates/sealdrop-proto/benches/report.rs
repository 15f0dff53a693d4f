//! A typical report (2 KiB of answers, no attachment) sealed and opened with
//! 1 and 5 recipients, and Ed25519 sign / strict verify of a small message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use sealdrop_proto::messages::DeletionRequest;
use sealdrop_proto::report::{ReportContent, ReportSealer};
use sealdrop_proto::signed::Signed;
use sealdrop_proto::{ProgramId, ReportId, SecretIdentity};
use std::hint::black_box;

fn small_reports(c: &mut Criterion) {
    let content = ReportContent {
        answers: vec![b'a'; 2048],
        attachments: Vec::new(),
    };
    let mut group = c.benchmark_group("report_2KiB");
    for n in [1usize, 5] {
        let (d, _, people) = common::program(n);
        let shopper = SecretIdentity::generate(&mut common::rng());
        let mut rng = common::rng();
        group.bench_with_input(BenchmarkId::new("seal", n), &n, |b, _| {
            b.iter(|| {
                let mut s = ReportSealer::new(&shopper, &d, 1_000, &mut rng).unwrap();
                let mut out = Vec::with_capacity(2200);
                s.seal_content(&content, &mut out).unwrap();
                black_box((s.finish(&mut rng).unwrap(), out))
            });
        });
        let mut s = ReportSealer::new(&shopper, &d, 1_000, &mut rng).unwrap();
        let mut stream0 = Vec::new();
        s.seal_content(&content, &mut stream0).unwrap();
        let (report, _) = s.finish(&mut rng).unwrap();
        let me = &people[0];
        let env = *report
            .envelopes
            .iter()
            .find(|e| e.recipient == me.id())
            .unwrap();
        group.bench_with_input(BenchmarkId::new("verify_and_open", n), &n, |b, _| {
            b.iter(|| {
                let record = report.record().verify().unwrap();
                let key = record.unwrap_key(&env, me).unwrap();
                black_box(
                    record
                        .opener(&key)
                        .unwrap()
                        .open_content(&mut stream0.as_slice())
                        .unwrap(),
                )
            });
        });
    }
    group.finish();
}

fn signatures(c: &mut Criterion) {
    let alice = SecretIdentity::generate(&mut common::rng());
    let body = DeletionRequest {
        program_id: ProgramId::from_bytes([1; 16]),
        report_id: ReportId::from_bytes([2; 16]),
        shopper: alice.id(),
        requested_at: 3,
    };
    let signed = Signed::sign(body.clone(), alice.signing());
    let public = alice.public();
    c.bench_function("ed25519_sign", |b| {
        b.iter(|| black_box(Signed::sign(body.clone(), alice.signing())))
    });
    c.bench_function("ed25519_verify_strict", |b| {
        b.iter(|| black_box(signed.verify_by(&public).unwrap()))
    });
}

criterion_group!(benches, small_reports, signatures);
criterion_main!(benches);
