//! Arguments and help text.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "shopper",
    version,
    about = "Write, seal and send mystery-shopping reports under a pseudonym.",
    after_help = "Examples:\n  shopper init\n  shopper enroll \"sdinvite1.…\"\n  shopper new --out visit.json\n  shopper submit visit.json --attach photos/\n  shopper sync\n\nYour keys and everything you write stay encrypted in --home (default: the\nplatform data folder). Reports go to the server only sealed to the\nprogram's reviewers; the server cannot read them."
)]
pub struct Cli {
    /// Your shopper folder (default: SEALDROP_HOME, then the platform data directory).
    #[arg(long, global = true, env = "SEALDROP_HOME")]
    pub home: Option<PathBuf>,
    /// Read the passphrase from the first line of this file instead of asking
    /// (or set SEALDROP_PASSPHRASE).
    #[arg(long, global = true)]
    pub passphrase_file: Option<PathBuf>,
    /// Print one JSON value instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create your keystore (asks for a new passphrase twice).
    #[command(
        after_help = "Example:\n  shopper init\n\nChoose a passphrase you will remember: nobody can recover it."
    )]
    Init,
    /// Join a program with the invite its manager gave you.
    #[command(
        after_help = "Example:\n  shopper enroll \"sdinvite1.…\"\n\nThe invite is checked (the manager's signature, its expiry) before anything\nis sent. You get a fresh pseudonym for this program only."
    )]
    Enroll { invite: String },
    /// The programs you are in.
    #[command(after_help = "Example:\n  shopper programs")]
    Programs,
    /// Write a report: the program's questions one by one, or a file to fill in.
    #[command(
        after_help = "Examples:\n  shopper new                    # question by question; resumes an unfinished draft\n  shopper new --out visit.json   # a file to fill in, in any editor\n\nThen send it: `shopper submit` (the draft) or `shopper submit visit.json`."
    )]
    New {
        #[arg(long)]
        program: Option<String>,
        /// Write a file to fill in instead of asking question by question.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check, seal and send a filled-in report.
    #[command(
        after_help = "Examples:\n  shopper submit visit.json --attach photos/entrance.jpg\n  shopper submit visit.json --mask\n\nThe answers are checked against the questionnaire, and free text is\nscanned for phone numbers, e-mail addresses, card numbers and IBANs first.\nThe sealed report waits in your outbox until the server acknowledges it;\noffline, it stays there and `shopper sync` sends it later."
    )]
    Submit(SubmitArgs),
    /// Reports waiting to be sent, and why.
    #[command(after_help = "Examples:\n  shopper outbox\n  shopper outbox --remove sdr…")]
    Outbox {
        /// Drop one queued report (asks for confirmation; --yes to skip).
        #[arg(long)]
        remove: Option<String>,
        #[arg(long)]
        yes: bool,
    },
    /// Send every queued report.
    #[command(after_help = "Example:\n  shopper sync")]
    Sync,
    /// The server's acknowledgements of what you sent.
    #[command(after_help = "Examples:\n  shopper receipts\n  shopper receipts --verify")]
    Receipts {
        /// Check every receipt again: its acknowledgement against the
        /// pinned server key, and the report's place in the server's log.
        #[arg(long)]
        verify: bool,
        /// With --verify: a witness you trust, as NAME=KEY (from your
        /// program manager or auditor); repeat for several.
        #[arg(long = "witness", value_name = "NAME=KEY")]
        witnesses: Vec<String>,
        /// How many of those witnesses must vouch for the server's log
        /// (default: all given).
        #[arg(long)]
        require_witnesses: Option<usize>,
        /// How old a witness's newest cosignature may be before it counts
        /// as gone quiet (90s, 30m, 24h, 7d).
        #[arg(long, value_name = "AGE", default_value = "24h")]
        witness_max_age: String,
    },
    /// An encrypted copy of your keystore, outbox and receipts, for a
    /// second device or a lost laptop.
    #[command(
        after_help = "Example:\n  shopper backup --out shopper-backup.json\n\nThe file opens only with your passphrase. Restore it with `shopper restore`."
    )]
    Backup {
        #[arg(long)]
        out: PathBuf,
    },
    /// Restore a backup into an empty home.
    #[command(after_help = "Example:\n  shopper --home ~/new-laptop restore shopper-backup.json")]
    Restore { file: PathBuf },
    /// Ask the server to delete one of your reports (a signed request).
    #[command(after_help = "Example:\n  shopper delete sdr… --yes")]
    Delete {
        report: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Everything you sent, decrypted from your local copies, with receipts.
    #[command(after_help = "Example:\n  shopper export --out my-reports/")]
    Export {
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    /// The filled-in report (a file from `shopper new --out`); without it,
    /// the draft `shopper new` wrote.
    pub file: Option<PathBuf>,
    #[arg(long)]
    pub program: Option<String>,
    /// Files to attach; a folder attaches every file in it.
    #[arg(long)]
    pub attach: Vec<PathBuf>,
    /// Replace personal data found in free text with labelled masks.
    #[arg(long, conflicts_with = "allow_pii")]
    pub mask: bool,
    /// Send free text with personal data in it as it is.
    #[arg(long)]
    pub allow_pii: bool,
    /// Attach files whose metadata cannot be removed here (anything but
    /// JPEG and PNG) as they are.
    #[arg(long)]
    pub keep_metadata: bool,
    /// The region for phone numbers written without a country code.
    #[arg(long, default_value = "GB")]
    pub phone_region: String,
    /// Queue without trying to send now.
    #[arg(long)]
    pub offline: bool,
}

#[cfg(test)]
mod help_tests {
    use clap::CommandFactory as _;

    /// Every command shows an example in its `--help`.
    #[test]
    fn every_command_has_an_example() {
        let missing: Vec<String> = super::Cli::command()
            .get_subcommands()
            .filter(|c| c.get_name() != "help")
            .filter(|c| {
                let help = c
                    .get_after_help()
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                !help.contains("Example") || !help.contains("shopper ")
            })
            .map(|c| c.get_name().to_owned())
            .collect();
        assert!(missing.is_empty(), "no example in --help: {missing:?}");
    }
}
