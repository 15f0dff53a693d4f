//! `sealdrop`: the staff and auditor CLI.

mod cli;
mod commands;
mod home;
mod output;
mod pipeline;
mod unlock;

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            // One clear sentence on stderr; the chain of causes after it.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
