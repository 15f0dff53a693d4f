//! Command-line interface. Settings come from flags, then `SEALDROP_*`
//! environment variables, then the optional `--config` file.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "sealdrop-server",
    version,
    about = "sealdrop's server: verifies signed, encrypted reports, stores only ciphertext, and releases each to the people a manager authorised.",
    after_help = "Examples:\n  sealdrop-server serve                         # ./sealdrop-data, 127.0.0.1:8080\n  sealdrop-server invite --role manager         # another one-time manager token\n  sealdrop-server backup --out backup.db\n  sealdrop-server restore --from backup.db --data ./restored --handover-from ./sealdrop-data"
)]
pub struct Cli {
    /// The data directory: database, log key, log origin.
    #[arg(
        long,
        global = true,
        env = "SEALDROP_DATA",
        default_value = "sealdrop-data"
    )]
    pub data: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (creating the data directory on first run).
    #[command(
        after_help = "Examples:\n  sealdrop-server serve\n  sealdrop-server serve --bind 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem --public-url https://reports.example.com"
    )]
    Serve(ServeArgs),
    /// Create the data directory: database, log key (mode 0600), default organisation.
    Init,
    /// Issue a one-time enrolment token for a manager or an auditor.
    #[command(
        after_help = "Examples:\n  sealdrop-server invite --role manager\n  sealdrop-server invite --role auditor --org acme --new-org --json"
    )]
    Invite(InviteArgs),
    /// Manage people.
    #[command(subcommand)]
    User(UserCommand),
    /// Write a consistent copy of the database (safe while serving).
    #[command(
        after_help = "Example:\n  sealdrop-server backup --out /backups/sealdrop-2026-11-23.db"
    )]
    Backup {
        #[arg(long)]
        out: PathBuf,
    },
    /// Create a new data directory from a backup, after checking it is whole.
    /// The restored server has a new log key and origin; with
    /// --handover-from, the old log key signs a handover to them.
    #[command(
        after_help = "Examples:\n  sealdrop-server restore --from backup.db --data ./sealdrop-data-restored --handover-from ./sealdrop-data\n  sealdrop-server restore --from backup.db --data ./sealdrop-data-restored    # the old data directory is lost"
    )]
    Restore {
        /// The backup file (`sealdrop-server backup --out`).
        #[arg(long)]
        from: PathBuf,
        /// The data directory being replaced (stopped): its log key signs a
        /// handover note naming the new log key and origin and quoting the
        /// old log's last checkpoint, so clients pinned to the old key can
        /// move to the new one. Without it, they refuse the new key until
        /// they re-pin it.
        #[arg(long, value_name = "OLD_DATA_DIR")]
        handover_from: Option<PathBuf>,
    },
    /// Delete every report past its program's retention period, leaving tombstones.
    Purge {
        /// Purge as if it were this Unix time: for retention drills and
        /// tests. Never earlier than now.
        #[arg(long)]
        at: Option<u64>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "SEALDROP_BIND")]
    pub bind: Option<String>,
    /// The URL clients use to reach this server (repeatable). Challenge
    /// responses must name one. Default: derived from the bound address.
    #[arg(
        long = "public-url",
        env = "SEALDROP_PUBLIC_URL",
        value_delimiter = ','
    )]
    pub public_urls: Vec<String>,
    /// PEM certificate chain for TLS.
    #[arg(long, env = "SEALDROP_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for TLS.
    #[arg(long, env = "SEALDROP_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Allow plain HTTP on an address other than loopback.
    #[arg(long, env = "SEALDROP_INSECURE_HTTP")]
    pub insecure_http: bool,
    /// The largest report accepted in one upload, in bytes.
    #[arg(long, env = "SEALDROP_MAX_REPORT_BYTES")]
    pub max_report_bytes: Option<u64>,
    /// The largest report accepted through a resumable upload, in bytes.
    #[arg(long, env = "SEALDROP_MAX_UPLOAD_BYTES")]
    pub max_upload_bytes: Option<u64>,
    /// Seconds between retention purges.
    #[arg(long, env = "SEALDROP_PURGE_INTERVAL")]
    pub purge_interval: Option<u64>,
    /// Seconds a bearer token lives (default 900).
    #[arg(long, env = "SEALDROP_SESSION_TTL")]
    pub session_ttl: Option<u64>,
    /// Worker threads (default: one per core).
    #[arg(long, env = "SEALDROP_WORKERS")]
    pub workers: Option<usize>,
    /// A file of `key = value` lines (bind, public_url, tls_cert, tls_key,
    /// max_report_bytes, purge_interval, workers); flags and environment win.
    #[arg(long, env = "SEALDROP_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum InviteRole {
    Manager,
    Auditor,
}

#[derive(Debug, Args)]
pub struct InviteArgs {
    #[arg(long, value_enum)]
    pub role: InviteRole,
    /// The organisation (default: the default organisation).
    #[arg(long)]
    pub org: Option<String>,
    /// Create the organisation named by --org.
    #[arg(long, requires = "org")]
    pub new_org: bool,
    /// Days the token stays valid.
    #[arg(long, default_value_t = 7)]
    pub days: u64,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Disable a person: their sessions end and they can do nothing more.
    #[command(after_help = "Example:\n  sealdrop-server user disable sd5x3k…")]
    Disable { id: String },
}
