//! One module per group of commands; `run` dispatches.

mod audit;
mod audit_log;
pub use audit_log::AuditMemory;
mod audit_match;
mod audit_memory;
mod log_follow;
pub use log_follow::FollowedRestore;
mod export;
mod fetch;
mod identity;
mod inbox;
mod invite;
mod oversight;
mod program;
mod sharing;
mod witness;

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use sealdrop_client::Client;
use sealdrop_proto::SecretIdentity;

use crate::cli::{
    AuditCommand, Cli, Command, InviteCommand, ManagersCommand, ProgramCommand, ShopperCommand,
};
use crate::home::{Home, State};
use crate::output::Out;

/// What every command needs: where the person's files are, how to print,
/// where the passphrase comes from.
pub struct Ctx {
    pub home: Home,
    pub out: Out,
    pub passphrase_file: Option<std::path::PathBuf>,
}

impl Ctx {
    pub fn identity(&self) -> Result<SecretIdentity> {
        crate::unlock::identity(&self.home.keystore()?, self.passphrase_file.as_deref())
    }

    /// Unlocks the keystore and signs in to the remembered server.
    pub fn connect(&self) -> Result<(State, SecretIdentity, Client)> {
        let mut state = self.home.state()?;
        let me = self.identity()?;
        let mut client = state.client()?;
        client
            .sign_in(&me)
            .with_context(|| format!("cannot sign in to {}", client.base_url()))?;
        log_follow::check(self, &mut state, &client)?;
        Ok((state, me, client))
    }
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    let ctx = Ctx {
        home: Home::locate(cli.home.as_deref())?,
        out: Out { json: cli.json },
        passphrase_file: cli.passphrase_file,
    };
    match cli.command {
        Command::Keygen { name } => identity::keygen(&ctx, &name),
        Command::Enroll {
            server,
            token,
            tls_pin,
        } => identity::enroll(&ctx, &server, &token, tls_pin.as_deref()),
        Command::Program(ProgramCommand::Create(args)) => program::create(&ctx, &args),
        Command::Program(ProgramCommand::List) => program::list(&ctx),
        Command::Program(ProgramCommand::Show { program }) => program::show(&ctx, &program),
        Command::Program(ProgramCommand::Trust {
            program,
            descriptor,
        })
        | Command::Audit(AuditCommand::Trust {
            program,
            descriptor,
        }) => program::trust(&ctx, &program, &descriptor),
        Command::Program(ProgramCommand::Managers(ManagersCommand::Add {
            program,
            fingerprint,
        })) => sharing::add_manager(&ctx, &program, &fingerprint),
        Command::Program(ProgramCommand::Managers(ManagersCommand::Remove {
            program,
            manager,
        })) => sharing::remove_manager(&ctx, &program, &manager),
        Command::Program(ProgramCommand::Update {
            program,
            questionnaire,
        }) => program::update_questionnaire(&ctx, &program, &questionnaire),
        Command::Program(ProgramCommand::SetRetention { program, days }) => {
            program::set_retention(&ctx, &program, days)
        }
        Command::Program(ProgramCommand::Witnesses {
            program,
            witnesses,
            threshold,
            max_age,
            none: _,
        }) => program::set_witnesses(&ctx, &program, &witnesses, threshold, &max_age),
        Command::Grant {
            program,
            to,
            fingerprint,
        } => sharing::grant(&ctx, &program, &to, &fingerprint),
        Command::Revoke {
            program,
            all_programs,
            from,
        } => sharing::revoke(&ctx, program.as_deref(), all_programs, &from),
        Command::Invite(InviteCommand::Staff) => invite::staff(&ctx),
        Command::Invite(InviteCommand::Shopper { program, expires }) => {
            invite::shopper(&ctx, &program, &expires)
        }
        Command::Inbox { program, since } => {
            inbox::inbox(&ctx, program.as_deref(), since.as_deref())
        }
        Command::Export {
            program,
            format,
            from,
            out,
        } => export::export(&ctx, &program, format, from.as_deref(), out.as_deref()),
        Command::Access { program } => oversight::access(&ctx, program.as_deref()),
        Command::Exposure { person } => oversight::exposure(&ctx, &person),
        Command::Shopper(ShopperCommand::List { program }) => {
            oversight::shopper_list(&ctx, &program)
        }
        Command::Shopper(ShopperCommand::Revoke { program, shopper }) => {
            oversight::shopper_revoke(&ctx, &program, &shopper)
        }
        Command::Audit(AuditCommand::AccessLog { program, alerts }) => {
            oversight::access_log(&ctx, program.as_deref(), alerts)
        }
        Command::Audit(AuditCommand::Checkpoint) => witness::checkpoint(&ctx),
        Command::Audit(AuditCommand::AcknowledgeLoss) => log_follow::acknowledge(&ctx),
        Command::Audit(AuditCommand::Witness { every }) => match every {
            None => witness::witness(&ctx),
            Some(every) => witness::serve(&ctx, &every),
        },
        Command::Audit(AuditCommand::Verify { full, witnesses }) => {
            let trusted = witness::trusted(&witnesses)?;
            let failed = audit::verify(&ctx, full, &trusted)?;
            if failed > 0 {
                eprintln!("error: {failed} item(s) failed verification (listed above)");
                return Ok(ExitCode::from(2));
            }
            Ok(())
        }
        Command::Fetch {
            program,
            out,
            witnesses,
        } => {
            let trusted = witness::trusted(&witnesses)?;
            let failed = fetch::fetch(&ctx, program.as_deref(), &out, &trusted)?;
            if failed > 0 {
                eprintln!(
                    "error: {failed} report(s) failed a check and were not written (listed above)"
                );
                return Ok(ExitCode::from(2));
            }
            Ok(())
        }
    }?;
    Ok(ExitCode::SUCCESS)
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
