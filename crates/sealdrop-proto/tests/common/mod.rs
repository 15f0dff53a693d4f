//! Fixtures shared by the integration tests: a program with two managers,
//! a reviewer, a shopper, and helpers to seal and open reports in memory.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../src/test_rng.rs"]
pub mod test_rng;

use sealdrop_proto::descriptor::{DescriptorChain, ProgramDescriptor, SignedDescriptor};
use sealdrop_proto::hash::questionnaire_digest;
use sealdrop_proto::report::{ContentKey, ReportContent, ReportSealer, SealedReport};
use sealdrop_proto::{ProgramId, SecretIdentity};
pub use test_rng::TestRng;

pub const NOW: u64 = 1_790_000_000;

pub struct World {
    pub rng: TestRng,
    pub manager: SecretIdentity,
    pub manager2: SecretIdentity,
    pub reviewer: SecretIdentity,
    pub shopper: SecretIdentity,
    pub outsider: SecretIdentity,
    /// v1: manager only; v2: + manager2 as manager and reviewer as recipient.
    pub v1: SignedDescriptor,
    pub v2: SignedDescriptor,
}

impl World {
    pub fn new(seed: &[u8]) -> Self {
        let mut rng = TestRng::new(seed);
        let manager = SecretIdentity::generate(&mut rng);
        let manager2 = SecretIdentity::generate(&mut rng);
        let reviewer = SecretIdentity::generate(&mut rng);
        let shopper = SecretIdentity::generate(&mut rng);
        let outsider = SecretIdentity::generate(&mut rng);
        let program = ProgramId::random(&mut rng);
        let v1 = ProgramDescriptor::first(
            program,
            "Spring store visits",
            manager.public(),
            questionnaire_digest(b"{\"questions\":[]}"),
            365,
            NOW,
        )
        .unwrap()
        .sign(&manager)
        .unwrap();
        let mut next = ProgramDescriptor::successor(&v1, NOW + 60);
        next.add_manager(manager2.public());
        next.add_recipient(reviewer.public());
        let v2 = next.sign(&manager).unwrap();
        Self {
            rng,
            manager,
            manager2,
            reviewer,
            shopper,
            outsider,
            v1,
            v2,
        }
    }

    pub fn chain(&self) -> DescriptorChain {
        DescriptorChain::verify_from_genesis([self.v1.clone(), self.v2.clone()]).unwrap()
    }

    /// Seals a report with `attachments` to `descriptor`'s recipients.
    pub fn seal(
        &mut self,
        descriptor: &SignedDescriptor,
        answers: &[u8],
        attachments: &[(&str, &[u8])],
    ) -> Sealed {
        let content = ReportContent {
            answers: answers.to_vec(),
            attachments: attachments
                .iter()
                .map(|(name, _)| sealdrop_proto::report::AttachmentMeta {
                    file_name: (*name).to_owned(),
                    captured_at: Some(NOW - 3600),
                    media_type: "image/jpeg".to_owned(),
                })
                .collect(),
        };
        let d = descriptor.unverified_body();
        let mut sealer = ReportSealer::new(&self.shopper, d, NOW * 1000, &mut self.rng).unwrap();
        let mut streams = vec![Vec::new()];
        sealer.seal_content(&content, &mut streams[0]).unwrap();
        for (_, bytes) in attachments {
            let mut out = Vec::new();
            sealer.seal_attachment(&mut &bytes[..], &mut out).unwrap();
            streams.push(out);
        }
        let (report, key) = sealer.finish(&mut self.rng).unwrap();
        Sealed {
            report,
            key,
            streams,
            content,
        }
    }
}

pub struct Sealed {
    pub report: SealedReport,
    pub key: ContentKey,
    pub streams: Vec<Vec<u8>>,
    pub content: ReportContent,
}
