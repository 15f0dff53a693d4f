//! `sealdrop-server`: the server and its local operator commands.

mod auth;
mod checkpoints;
mod cli;
mod clock;
mod datadir;
mod error;
mod handlers;
mod metrics;
mod openapi;
mod operator;
mod secrets;
mod serve;
mod state;

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    match operator::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
