use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "sealdrop",
    version,
    about = "The staff and auditor tool of sealdrop: programs, invites, reports.",
    after_help = "Examples:\n  sealdrop keygen --name \"Ada Manager\"\n  sealdrop enroll --server https://reports.example.com --token sde_…\n  sealdrop program create \"Spring visits\" --questionnaire questionnaire.json\n  sealdrop invite shopper --program sdp… --expires 7d"
)]
pub struct Cli {
    /// Where this person's keystore and state live.
    #[arg(long, global = true, env = "SEALDROP_HOME")]
    pub home: Option<PathBuf>,
    /// Read the passphrase from the first line of this file.
    #[arg(long, global = true)]
    pub passphrase_file: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create your keys and keystore; prints your ID and fingerprint.
    #[command(after_help = "Example:\n  sealdrop keygen --name \"Ada Manager\"")]
    Keygen {
        /// Your name, kept in your keystore only.
        #[arg(long)]
        name: String,
    },
    /// Register with a server using a one-time token.
    #[command(
        after_help = "Examples:\n  sealdrop enroll --server http://127.0.0.1:8080 --token sde_…\n  sealdrop enroll --server https://reports.example:8443 --token sde_… --tls-pin 3f1c…\n\nWith --tls-pin (the SHA-256 that `sealdrop-server serve` prints for its\ncertificate, checked with the operator), only that certificate is trusted,\nand the shopper invites you sign carry the pin."
    )]
    Enroll {
        #[arg(long)]
        server: String,
        #[arg(long)]
        token: String,
        /// SHA-256 of the server's TLS certificate, in hex (colons allowed).
        #[arg(long, value_name = "SHA256")]
        tls_pin: Option<String>,
    },
    /// Create, list and show programs.
    #[command(subcommand)]
    Program(ProgramCommand),
    /// Issue one-time invites.
    #[command(subcommand)]
    Invite(InviteCommand),
    /// Let someone read a program's reports: checks their keys against the
    /// fingerprint they read to you, re-wraps every existing report for
    /// them on this laptop, and adds them to the recipient list.
    #[command(
        after_help = "Example:\n  sealdrop grant --program sdp… --to sd… --fingerprint \"12345 67890 …\""
    )]
    Grant {
        #[arg(long)]
        program: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        fingerprint: String,
    },
    /// Stop someone reading: a new descriptor without them; the server
    /// deletes their envelopes at once.
    #[command(
        after_help = "Examples:\n  sealdrop revoke --program sdp… --from sd…\n  sealdrop revoke --all-programs --from sd…"
    )]
    Revoke {
        #[arg(
            long,
            required_unless_present = "all_programs",
            conflicts_with = "all_programs"
        )]
        program: Option<String>,
        #[arg(long)]
        all_programs: bool,
        #[arg(long)]
        from: String,
    },
    /// Download, verify and decrypt your reports: one folder each.
    #[command(
        after_help = "Example:\n  sealdrop fetch --program sdp… --out findings/\n\nEach report is written only after every check passed: the shopper's\nsignature (strict), their enrolment chain to a manager's invite, your\nenvelope (sealed by the shopper or granted by a manager), the server's\nacknowledgement. A report that fails is listed with the reason, never\nwritten, and the exit code is 2."
    )]
    Fetch {
        #[arg(long)]
        program: Option<String>,
        #[arg(long)]
        out: std::path::PathBuf,
        #[command(flatten)]
        witnesses: WitnessArgs,
    },
    /// The answers of every fetched report of a program as one table, with
    /// each report's score.
    #[command(
        after_help = "Examples:\n  sealdrop export --program sdp… --format csv --out findings.csv\n  sealdrop export --program sdp… --format json"
    )]
    Export {
        #[arg(long)]
        program: String,
        #[arg(long, value_enum, default_value = "csv")]
        format: ExportFormat,
        /// The folder `fetch` wrote to (default: the last one).
        #[arg(long)]
        from: Option<std::path::PathBuf>,
        /// Write here (mode 0600) instead of standard output.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Auditors: check everything the server holds, decrypting nothing.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Who can read each program, and since when.
    #[command(after_help = "Example:\n  sealdrop access --program sdp…")]
    Access {
        #[arg(long)]
        program: Option<String>,
    },
    /// Auditors: every stored report a person's key could read (after a
    /// laptop is lost or a key leaks).
    #[command(after_help = "Example:\n  sealdrop exposure sd…")]
    Exposure { person: String },
    /// A program's shoppers.
    #[command(subcommand)]
    Shopper(ShopperCommand),
    /// The reports you may read.
    #[command(after_help = "Example:\n  sealdrop inbox --program sdp… --since 2026-11-01")]
    Inbox {
        #[arg(long)]
        program: Option<String>,
        /// YYYY-MM-DD, or Unix seconds.
        #[arg(long)]
        since: Option<String>,
    },
}

/// The witnesses a command requires before it trusts a checkpoint.
#[derive(Debug, Clone, clap::Args)]
pub struct WitnessArgs {
    /// A witness you trust, as NAME=KEY (what `sealdrop audit witness`
    /// prints); repeat for several.
    #[arg(long = "witness", value_name = "NAME=KEY")]
    pub witnesses: Vec<String>,
    /// How many of those witnesses must have cosigned a checkpoint that
    /// the log extends (default: all given).
    #[arg(long)]
    pub require_witnesses: Option<usize>,
    /// How old a witness's newest cosignature may be before the witness
    /// counts as gone quiet (90s, 30m, 24h, 7d).
    #[arg(long, value_name = "AGE", default_value = "24h")]
    pub witness_max_age: String,
}

#[derive(Debug, Subcommand)]
pub enum ProgramCommand {
    /// Sign descriptor version 1 with you as manager and first recipient.
    #[command(
        after_help = "Example:\n  sealdrop program create \"Spring visits\" --questionnaire docs/examples/questionnaire.json --retention-days 365"
    )]
    Create(CreateArgs),
    /// The programs you can see.
    #[command(after_help = "Example:\n  sealdrop program list --json")]
    List,
    /// A program's current descriptor, verified from version 1, its
    /// fingerprint, and whether you confirmed the program.
    #[command(after_help = "Example:\n  sealdrop program show sdp…")]
    Show { program: String },
    /// Confirm a program from the descriptor fingerprint its manager read
    /// to you (grant and `managers add` print it). Until you do, nothing of
    /// the program is decrypted, exported, granted or signed on this laptop:
    /// a server could otherwise show you a program it made up under the
    /// same ID.
    #[command(
        after_help = "Example:\n  sealdrop program trust sdp… --descriptor \"12345 67890 …\"\n\nAsk for the fingerprint by phone or in person, not by a message the\nserver could carry."
    )]
    Trust {
        program: String,
        /// The descriptor fingerprint: ten groups of five digits.
        #[arg(long, value_name = "FINGERPRINT")]
        descriptor: String,
    },
    /// Add or list managers.
    #[command(subcommand)]
    Managers(ManagersCommand),
    /// A new questionnaire version.
    #[command(
        after_help = "Example:\n  sealdrop program update sdp… --questionnaire questionnaire-v2.json"
    )]
    Update {
        program: String,
        #[arg(long)]
        questionnaire: PathBuf,
    },
    /// A new retention period, in days.
    #[command(after_help = "Example:\n  sealdrop program set-retention sdp… 180")]
    SetRetention { program: String, days: u32 },
    /// Name the witnesses the program's shoppers, reviewers and auditors
    /// require: auditors who run `sealdrop audit witness` (it prints the
    /// NAME=KEY to give here). With witnesses, a shopper sends only after
    /// enough of them recently cosigned the log that says who may read; a
    /// program without them cannot detect a server that shows a shopper an
    /// old list for one upload.
    #[command(
        after_help = "Examples:\n  sealdrop program witnesses sdp… --witness sealdrop-witness/sd…=KEY --threshold 1 --max-age 2h\n  sealdrop program witnesses sdp… --none"
    )]
    Witnesses {
        program: String,
        /// A witness as NAME=KEY; repeat for each.
        #[arg(
            long = "witness",
            value_name = "NAME=KEY",
            required_unless_present = "none"
        )]
        witnesses: Vec<String>,
        /// How many of them must vouch (default: all).
        #[arg(long)]
        threshold: Option<u8>,
        /// How old a witness's newest cosignature may be for it to count:
        /// a little more than how often the witnesses run (`audit witness
        /// --every`). A server that shows an older cosignature gains at
        /// most this long. 1m to 7d.
        #[arg(long, value_name = "DURATION", default_value = "2h")]
        max_age: String,
        /// Remove every witness.
        #[arg(long, conflicts_with_all = ["witnesses", "threshold"])]
        none: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ShopperCommand {
    /// The shoppers enrolled in a program.
    #[command(after_help = "Example:\n  sealdrop shopper list --program sdp…")]
    List {
        #[arg(long)]
        program: String,
    },
    /// Stop a shopper (a lost laptop, a dismissed shopper): they can no
    /// longer sign in or submit.
    #[command(after_help = "Example:\n  sealdrop shopper revoke --program sdp… sd…")]
    Revoke {
        #[arg(long)]
        program: String,
        shopper: String,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExportFormat {
    Csv,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the server's log (its checkpoint, consistency with the one
    /// you verified last, every new entry) and every descriptor chain,
    /// shopper enrolment, grant, new report's signature (strictly) and
    /// ciphertext digest, and that the log and the data agree; exit 2
    /// naming each failure. Work is in proportion to what is new.
    #[command(
        after_help = "Examples:\n  sealdrop audit verify\n  sealdrop audit verify --full   # everything again, from the first entry"
    )]
    Verify {
        /// Check every log entry and report again, not only the new ones.
        #[arg(long)]
        full: bool,
        #[command(flatten)]
        witnesses: WitnessArgs,
    },
    /// Confirm a program for your audits from the descriptor fingerprint a
    /// manager of it read to you; `audit verify` names every program you
    /// have not confirmed, and fails until you do.
    #[command(after_help = "Example:\n  sealdrop audit trust sdp… --descriptor \"12345 67890 …\"")]
    Trust {
        program: String,
        /// The descriptor fingerprint: ten groups of five digits.
        #[arg(long, value_name = "FINGERPRINT")]
        descriptor: String,
    },
    /// Print the server's current checkpoint (a C2SP signed note), verified
    /// under the log key you pinned.
    #[command(after_help = "Example:\n  sealdrop audit checkpoint")]
    Checkpoint,
    /// Verify the log since the checkpoint you verified last, then cosign
    /// the new checkpoint as a witness (C2SP tlog-cosignature) and give
    /// the cosignature to the server. Refuses to cosign a log that does
    /// not extend what you verified before.
    #[command(
        after_help = "Examples:\n  sealdrop audit witness\n  sealdrop audit witness --every 1h     # as a service: cosign every hour until stopped\n  sealdrop audit verify --witness sealdrop-witness/sd…=KEY --require-witnesses 1"
    )]
    Witness {
        /// Run as a service: verify and cosign again after each interval
        /// (90s, 30m, 1h), until stopped. Clients refuse a witness whose
        /// newest cosignature is older than their limit (24h by default).
        #[arg(long, value_name = "DURATION")]
        every: Option<String>,
    },
    /// Acknowledge the entries a restore of the server lost: `audit verify`
    /// names each restore that lost entries you had verified, and fails,
    /// until you have recorded the loss (with the operator) and run this.
    #[command(after_help = "Example:\n  sealdrop audit acknowledge-loss")]
    AcknowledgeLoss,
    /// Who fetched which report, when; `--alerts` flags bursts (an hour
    /// with 20 or more fetches and over three times the person's usual).
    #[command(after_help = "Example:\n  sealdrop audit access-log --alerts")]
    AccessLog {
        #[arg(long)]
        program: Option<String>,
        #[arg(long)]
        alerts: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ManagersCommand {
    /// Add a manager by the fingerprint they read to you.
    #[command(
        after_help = "Example:\n  sealdrop program managers add sdp… --fingerprint \"12345 67890 …\""
    )]
    Add {
        program: String,
        #[arg(long)]
        fingerprint: String,
    },
    /// Remove a manager: from the next entry of the log on, their invites
    /// and grants no longer count (also those they made before but that
    /// are used later), and they can change nothing.
    #[command(
        after_help = "Example:\n  sealdrop program managers remove sdp… --manager sd…\n\nA program keeps at least one manager."
    )]
    Remove {
        program: String,
        /// The manager's person ID (`program show` lists them).
        #[arg(long, value_name = "ID")]
        manager: String,
    },
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    pub name: String,
    #[arg(long)]
    pub questionnaire: PathBuf,
    #[arg(long, default_value_t = 365)]
    pub retention_days: u32,
}

#[derive(Debug, Subcommand)]
pub enum InviteCommand {
    /// A one-time token for a reviewer (staff) to enrol with.
    #[command(
        after_help = "Example:\n  sealdrop invite staff\n\nGive the token to the reviewer over a channel you trust; it works once."
    )]
    Staff,
    /// A manager-signed invite for a shopper.
    #[command(after_help = "Example:\n  sealdrop invite shopper --program sdp… --expires 7d")]
    Shopper {
        #[arg(long)]
        program: String,
        /// How long the invite is valid: 30m, 12h, 7d.
        #[arg(long, default_value = "7d")]
        expires: String,
    },
}

#[cfg(test)]
mod help_tests {
    use clap::CommandFactory as _;

    /// Every command a person can run shows an example in its `--help`.
    #[test]
    fn every_command_has_an_example() {
        fn walk(cmd: &clap::Command, path: String, missing: &mut Vec<String>) {
            let subs: Vec<_> = cmd
                .get_subcommands()
                .filter(|s| s.get_name() != "help")
                .collect();
            if subs.is_empty() {
                let help = cmd
                    .get_after_help()
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                if !help.contains("Example") || !help.contains("sealdrop ") {
                    missing.push(path);
                }
                return;
            }
            for s in subs {
                walk(s, format!("{path} {}", s.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&super::Cli::command(), "sealdrop".into(), &mut missing);
        assert!(missing.is_empty(), "no example in --help: {missing:?}");
    }
}
