//! Seals one file from disk to disk as a report attachment, to measure peak
//! memory (`/usr/bin/time -v`) and wall time on real files:
//!
//! ```text
//! cargo run --release -p sealdrop-proto --example seal_file -- IN OUT
//! ```
//!
//! The protocol crate itself does no file I/O; this example supplies the
//! files, as the shopper CLI will.

use std::fs::File;
use std::io::{BufWriter, Write};

use sealdrop_proto::descriptor::ProgramDescriptor;
use sealdrop_proto::hash::questionnaire_digest;
use sealdrop_proto::report::{AttachmentMeta, ReportContent, ReportSealer};
use sealdrop_proto::{ProgramId, SecretIdentity};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, output] = args.as_slice() else {
        return Err("usage: seal_file IN OUT".into());
    };
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    let shopper = SecretIdentity::generate(&mut rng);
    let manager = SecretIdentity::generate(&mut rng);
    let descriptor = ProgramDescriptor::first(
        ProgramId::random(&mut rng),
        "example",
        manager.public(),
        questionnaire_digest(b"q"),
        30,
        0,
    )?;
    let content = ReportContent {
        answers: b"{}".to_vec(),
        attachments: vec![AttachmentMeta {
            file_name: input.clone(),
            captured_at: None,
            media_type: "application/octet-stream".into(),
        }],
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as u64;
    let mut sealer = ReportSealer::new(&shopper, &descriptor, now, &mut rng)?;
    let mut out = BufWriter::with_capacity(256 * 1024, File::create(output)?);
    sealer.seal_content(&content, &mut out)?;
    let digest = sealer.seal_attachment(&mut File::open(input)?, &mut out)?;
    let (report, _key) = sealer.finish(&mut rng)?;
    out.flush()?;
    println!(
        "sealed {} ciphertext bytes for report {}",
        digest.ciphertext_len,
        report.report_id()
    );
    Ok(())
}
