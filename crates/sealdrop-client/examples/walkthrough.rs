//! The whole sealdrop story against a running server, every part played by
//! this one program through the client library: a manager creates a program,
//! enrols a reviewer and invites a shopper; the shopper seals and submits a
//! report; the reviewer downloads, verifies and decrypts it; an auditor
//! verifies every record and the shopper's invite chain without decrypting.
//!
//! ```sh
//! cargo run --release -p sealdrop-server -- serve          # prints a manager token
//! sealdrop-server invite --role auditor --data sealdrop-data
//! cargo run -p sealdrop-client --example walkthrough -- http://127.0.0.1:8080 MANAGER_TOKEN AUDITOR_TOKEN
//! ```

use anyhow::{Context as _, Result, bail};
use rand_core::UnwrapErr;
use sealdrop_client::Client;
use sealdrop_proto::codec::Decode as _;
use sealdrop_proto::descriptor::ProgramDescriptor;
use sealdrop_proto::hash::questionnaire_digest;
use sealdrop_proto::invite::{InviteBundle, ServerPins, SignedEnrolment, SignedInvite};
use sealdrop_proto::messages::Acknowledgement;
use sealdrop_proto::report::{Envelope, ReportContent, ReportRecord, ReportSealer};
use sealdrop_proto::signed::Signed;
use sealdrop_proto::{ProgramId, SecretIdentity};

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, manager_token, auditor_token] = args.as_slice() else {
        bail!("usage: walkthrough SERVER_URL MANAGER_TOKEN AUDITOR_TOKEN");
    };
    let mut rng = UnwrapErr(getrandom::SysRng);

    // The manager enrols with the operator's token and creates a program.
    let manager = SecretIdentity::generate(&mut rng);
    let mut m = Client::new(url)?;
    m.enrol(manager_token, &manager)
        .context("manager enrolment")?;
    m.sign_in(&manager)?;
    println!(
        "manager      {}  {}",
        manager.id(),
        manager.id().fingerprint().short()
    );
    let questionnaire = br#"{"version":1,"questions":[{"id":"clean","type":"yes-no"}]}"#;
    let v1 = ProgramDescriptor::first(
        ProgramId::random(&mut rng),
        "Spring store visits",
        manager.public(),
        questionnaire_digest(questionnaire),
        365,
        now(),
    )?
    .sign(&manager)?;
    let program = v1.unverified_body().program_id;
    m.create_program(&v1)?;
    println!("program      {program} (descriptor v1)");

    // A reviewer enrols with a staff token; v2 adds them as a recipient.
    let reviewer = SecretIdentity::generate(&mut rng);
    let mut r = Client::new(url)?;
    r.enrol(&m.issue_staff_token()?.token, &reviewer)?;
    r.sign_in(&reviewer)?;
    let mut next = ProgramDescriptor::successor(&v1, now());
    next.add_recipient(reviewer.public());
    let v2 = next.sign(&manager)?;
    m.update_descriptor(&v2)?;
    println!("reviewer     {}  added in descriptor v2", reviewer.id());

    // The manager signs a shopper invite pinning this server's log key.
    let info = m.server_info()?;
    let pins = ServerPins {
        server_url: url.clone(),
        tls_cert_sha256: None,
        log_key: info.log_key.0.as_slice().try_into()?,
        log_origin: info.log_origin,
    };
    let invite = InviteBundle::create(&v2, &manager, &pins, now(), now() + 7 * 86_400, &mut rng)?;
    m.register_invite(&invite.invite)?;
    let text = invite.to_text();
    println!("invite       {}…", &text[..40]);

    // The shopper enrols a fresh pseudonym and submits a sealed report.
    let bundle = InviteBundle::parse(&text, now())?;
    let shopper = SecretIdentity::generate(&mut rng);
    let mut s = Client::new(url)?;
    s.enrol_shopper(&bundle, &shopper)?;
    s.sign_in(&shopper)?;
    let answers = br#"{"clean":"yes"}"#;
    let mut sealer = ReportSealer::new(&shopper, v2.unverified_body(), now() * 1000, &mut rng)?;
    let mut ciphertext = Vec::new();
    sealer.seal_content(
        &ReportContent {
            answers: answers.to_vec(),
            attachments: vec![],
        },
        &mut ciphertext,
    )?;
    let (sealed, _key) = sealer.finish(&mut rng)?;
    let receipt = s.submit(&sealed, &[&ciphertext])?.receipt;
    let ack = Signed::<Acknowledgement>::from_bytes(&receipt.acknowledgement.0)?;
    ack.verify_by_key(&pins.log_key)
        .context("the acknowledgement is not signed by the pinned log key")?;
    println!(
        "submitted    {} as shopper {}",
        receipt.report,
        shopper.id()
    );

    // The reviewer downloads, verifies and decrypts on their own machine.
    let id = sealed.report_id();
    let release = r.release(&id)?;
    let record = ReportRecord::from_bytes(&release.record.0)?.verify()?;
    let key = record.unwrap_key(&Envelope::from_bytes(&release.envelope.0)?, &reviewer)?;
    let content = record
        .opener(&key)?
        .open_content(&mut r.stream(&id, 0)?.as_slice())?;
    println!("decrypted    {}", String::from_utf8_lossy(&content.answers));

    // The auditor verifies every record and the shopper's invite chain.
    let auditor = SecretIdentity::generate(&mut rng);
    let mut a = Client::new(url)?;
    a.enrol(auditor_token, &auditor)
        .context("auditor enrolment")?;
    a.sign_in(&auditor)?;
    for item in a.audit_reports(None)?.items {
        ReportRecord::from_bytes(&item.record.0)?.verify()?;
    }
    let chain = a.descriptors(&program)?;
    for person in a.audit_enrolments(None)?.items {
        if let (Some(i), Some(e)) = (person.invite, person.enrolment) {
            let invite = SignedInvite::from_bytes(&i.0)?;
            let version = usize::try_from(invite.unverified_body().descriptor_version)?;
            let named = chain
                .get(version - 1)
                .context("the invite names an unknown version")?;
            sealdrop_proto::invite::verify_shopper_chain(
                &SignedEnrolment::from_bytes(&e.0)?,
                &invite,
                named,
            )?;
        }
    }
    println!("audited      every record verifies; every shopper chains to a manager's invite");
    Ok(())
}
