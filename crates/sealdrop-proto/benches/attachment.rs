//! A 256 MiB attachment sealed and opened through the report API, against
//! raw ChaCha20-Poly1305 STREAM over the same 64 KiB chunks in the same run
//! (encryption only: no hashing, no copying). Report seal and open as ratios
//! of the raw figure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sealdrop_proto::SecretIdentity;
use sealdrop_proto::report::stream::{CHUNK, TAG};
use sealdrop_proto::report::{AttachmentMeta, ReportContent, ReportSealer};
use std::hint::black_box;

const LEN: usize = 256 * 1024 * 1024;

fn raw_stream(cipher: &ChaCha20Poly1305, buf: &mut [u8]) {
    let chunks = buf.len().div_ceil(CHUNK);
    for (i, chunk) in buf.chunks_mut(CHUNK).enumerate() {
        let mut n = [0u8; 12];
        n[3..11].copy_from_slice(&(i as u64).to_be_bytes());
        n[11] = u8::from(i + 1 == chunks);
        black_box(
            cipher
                .encrypt_inout_detached(&Nonce::from(n), &[0u8; 32], chunk.into())
                .unwrap(),
        );
    }
}

fn attachment(c: &mut Criterion) {
    let plaintext: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
    let mut group = c.benchmark_group("attachment_256MiB");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(LEN as u64));

    let cipher = ChaCha20Poly1305::new(&[7u8; 32].into());
    let mut buf = plaintext.clone();
    group.bench_function("raw_chacha20poly1305_stream", |b| {
        b.iter(|| raw_stream(&cipher, &mut buf))
    });
    drop(buf);

    let (d, _, people) = common::program(3);
    let shopper = SecretIdentity::generate(&mut common::rng());
    let mut rng = common::rng();
    let content = ReportContent {
        answers: b"{}".to_vec(),
        attachments: vec![AttachmentMeta {
            file_name: "big.bin".into(),
            captured_at: None,
            media_type: "application/octet-stream".into(),
        }],
    };
    let mut sealed = Vec::with_capacity(LEN + LEN / CHUNK * TAG + 64);
    let mut result = None;
    group.bench_function("seal", |b| {
        b.iter(|| {
            let mut s = ReportSealer::new(&shopper, &d, 1_000, &mut rng).unwrap();
            let mut stream0 = Vec::new();
            s.seal_content(&content, &mut stream0).unwrap();
            sealed.clear();
            s.seal_attachment(&mut plaintext.as_slice(), &mut sealed)
                .unwrap();
            result = Some((s.finish(&mut rng).unwrap(), stream0));
        })
    });
    let ((report, _), _) = result.unwrap();
    let me = &people[0];
    let env = *report
        .envelopes
        .iter()
        .find(|e| e.recipient == me.id())
        .unwrap();
    let record = report.record().verify().unwrap();
    let key = record.unwrap_key(&env, me).unwrap();
    let mut out = Vec::with_capacity(LEN);
    group.bench_function("open", |b| {
        b.iter(|| {
            out.clear();
            record
                .opener(&key)
                .unwrap()
                .open_attachment(0, &mut sealed.as_slice(), &mut out)
                .unwrap();
        })
    });
    group.finish();
}

criterion_group!(benches, attachment);
criterion_main!(benches);
