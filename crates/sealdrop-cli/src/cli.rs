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
        after_help = "Example:\n  sealdrop enroll --server http://127.0.0.1:8080 --token sde_…"
    )]
    Enroll {
        #[arg(long)]
        server: String,
        #[arg(long)]
        token: String,
    },
    /// Create, list and show programs.
    #[command(subcommand)]
    Program(ProgramCommand),
    /// Issue one-time invites.
    #[command(subcommand)]
    Invite(InviteCommand),
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

#[derive(Debug, Subcommand)]
pub enum ProgramCommand {
    /// Sign descriptor version 1 with you as manager and first recipient.
    #[command(
        after_help = "Example:\n  sealdrop program create \"Spring visits\" --questionnaire docs/examples/questionnaire.json --retention-days 365"
    )]
    Create(CreateArgs),
    /// The programs you can see.
    List,
    /// A program's current descriptor, verified from version 1.
    #[command(after_help = "Example:\n  sealdrop program show sdp…")]
    Show { program: String },
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
