//! `shopper`: the mystery shopper's CLI.

mod cli;
mod commands;
mod home;
mod media;
mod outbox;
mod pii;
mod receipts;
mod restore;
mod send;

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
