//! Plays a shopper until the shopper CLI exists: takes a manager's invite,
//! enrols a fresh pseudonym, seals a report (answers from a JSON file, plus
//! any attachments) to the program's current recipients, submits it, and
//! checks the server's signed acknowledgement against the log key the
//! invite pinned.
//!
//! ```sh
//! cargo run -p sealdrop-client --example shopper -- "sdinvite1.…" docs/examples/report.json [photo.jpg…]
//! ```

use anyhow::{Context as _, Result, bail};
use rand_core::UnwrapErr;
use sealdrop_client::Client;
use sealdrop_proto::SecretIdentity;
use sealdrop_proto::codec::Decode as _;
use sealdrop_proto::descriptor::DescriptorChain;
use sealdrop_proto::invite::InviteBundle;
use sealdrop_proto::messages::Acknowledgement;
use sealdrop_proto::report::{AttachmentMeta, ReportContent, ReportSealer};
use sealdrop_proto::signed::Signed;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, invite, answers, files @ ..] = args.as_slice() else {
        bail!("usage: shopper INVITE ANSWERS.json [ATTACHMENT…]");
    };
    let mut rng = UnwrapErr(getrandom::SysRng);
    let bundle = InviteBundle::parse(invite, now()).context("the invite does not verify")?;
    let pins = bundle.invite.unverified_body().clone();

    let me = SecretIdentity::generate(&mut rng);
    let mut client = Client::new(&pins.server_url)?;
    client.enrol_shopper(&bundle, &me)?;
    client.sign_in(&me)?;
    println!("enrolled     as pseudonym {}", me.id());

    // The program's current descriptor, chained from the one the invite pins.
    let versions = client.descriptors(&pins.program_id)?;
    let from = usize::try_from(pins.descriptor_version)?;
    let pinned = versions
        .get(from.saturating_sub(1))
        .context("the server lacks the invite's descriptor version")?
        .clone();
    let mut chain = DescriptorChain::pinned(pinned, &pins.descriptor_hash)?;
    chain.accept(versions.into_iter().skip(from))?;

    let answers = std::fs::read(answers).with_context(|| format!("cannot read {answers}"))?;
    let content = ReportContent {
        answers,
        attachments: files
            .iter()
            .map(|f| AttachmentMeta {
                file_name: std::path::Path::new(f)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                captured_at: None,
                media_type: "application/octet-stream".into(),
            })
            .collect(),
    };
    let mut sealer = ReportSealer::new(&me, chain.current(), now() * 1000, &mut rng)?;
    let mut streams = vec![Vec::new()];
    sealer.seal_content(&content, &mut streams[0])?;
    for f in files {
        let mut out = Vec::new();
        sealer.seal_attachment(&mut std::fs::File::open(f)?, &mut out)?;
        streams.push(out);
    }
    let (sealed, _key) = sealer.finish(&mut rng)?;
    let refs: Vec<&[u8]> = streams.iter().map(Vec::as_slice).collect();
    let receipt = client.submit(&sealed, &refs)?.receipt;
    let ack = Signed::<Acknowledgement>::from_bytes(&receipt.acknowledgement.0)?;
    ack.verify_by_key(&pins.log_key)
        .context("the acknowledgement is not signed by the log key the invite pinned")?;
    println!("submitted    {} (acknowledgement verified)", receipt.report);
    Ok(())
}
