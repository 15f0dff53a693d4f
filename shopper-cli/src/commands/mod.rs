//! One module per group of commands; `run` dispatches.

mod care;
mod draft;
mod form;
mod queue;
mod setup;
mod submit;

use std::path::PathBuf;

use anyhow::Result;
use serde_json::Value;

use crate::cli::{Cli, Command};
use crate::home::{Home, Unlocked};

/// What every command needs.
pub struct Ctx {
    pub home: Home,
    pub json: bool,
    pub passphrase_file: Option<PathBuf>,
}

impl Ctx {
    pub fn unlock(&self) -> Result<Unlocked> {
        self.home.unlock(self.passphrase_file.as_deref())
    }

    /// Prints `text` for people, or `value` as JSON.
    pub fn show(&self, text: impl FnOnce() -> String, value: impl FnOnce() -> Value) {
        if self.json {
            println!("{}", value());
        } else {
            println!("{}", text());
        }
    }
}

/// Asks `question` on stderr; anything but "yes" on stdin is a refusal,
/// reported as `refused`.
pub fn confirm(question: &str, refused: &str) -> Result<()> {
    use std::io::BufRead as _;
    eprint!("{question} Type yes: ");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    if line.trim() != "yes" {
        anyhow::bail!("{refused}");
    }
    Ok(())
}

pub fn run(cli: Cli) -> Result<()> {
    let ctx = Ctx {
        home: Home::locate(cli.home.as_deref())?,
        json: cli.json,
        passphrase_file: cli.passphrase_file,
    };
    match cli.command {
        Command::Init => setup::init(&ctx),
        Command::Enroll { invite } => setup::enroll(&ctx, &invite),
        Command::Programs => setup::programs(&ctx),
        Command::New {
            program,
            out: Some(out),
        } => draft::new(&ctx, program.as_deref(), &out),
        Command::New { program, out: None } => form::interactive(&ctx, program.as_deref()),
        Command::Submit(args) => submit::submit(&ctx, &args),
        Command::Outbox { remove, yes } => queue::outbox(&ctx, remove.as_deref(), yes),
        Command::Sync => queue::sync(&ctx),
        Command::Receipts {
            verify,
            witnesses,
            require_witnesses,
            witness_max_age,
        } => {
            let max_age = sealdrop_client::witnesses::parse_age(&witness_max_age)?;
            let trusted =
                sealdrop_client::witnesses::Trusted::parse(&witnesses, require_witnesses)?
                    .with_max_age(max_age);
            queue::receipts(&ctx, verify, &trusted)
        }
        Command::Backup { out } => care::backup(&ctx, &out),
        Command::Restore { file } => care::restore(&ctx, &file),
        Command::Delete { report, yes } => care::delete(&ctx, &report, yes),
        Command::Export { out } => care::export(&ctx, &out),
    }
}
