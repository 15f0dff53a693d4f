//! The local operator commands, which work on the data directory directly.

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use sealdrop_api::Role;
use sealdrop_proto::ids::PersonId;
use sealdrop_store::{EnrolmentToken, SqliteStore, Store as _};

use crate::cli::{Cli, Command, InviteArgs, InviteRole, UserCommand};
use crate::clock::now;
use crate::datadir::{self, DataDir};
use crate::secrets;

const DAY: u64 = 86_400;

pub fn run(cli: Cli) -> Result<()> {
    let data = DataDir::new(&cli.data)?;
    match cli.command {
        Command::Serve(args) => crate::serve::run(&data, args),
        Command::Init => {
            data.init()?;
            println!("Initialised {}", data.path.display());
            println!(
                "Next: `sealdrop-server invite --role manager --data {}`",
                data.path.display()
            );
            Ok(())
        }
        Command::Invite(args) => invite(&data, &args),
        Command::User(UserCommand::Disable { id }) => {
            let id: PersonId = id
                .parse()
                .context("that is not a person ID (they start with `sd`)")?;
            let store = data.open_store()?;
            if !store.disable_person(&id, now())? {
                bail!("no person {id} is enrolled on this server");
            }
            println!("Disabled {id}; their sessions have ended.");
            Ok(())
        }
        Command::Backup { out } => backup(&data, &out),
        Command::Restore { from } => restore(&data, &from),
        Command::Purge { at, json } => {
            let store = data.open_store()?;
            let purged = store.purge(at.unwrap_or(0).max(now()), now())?;
            if json {
                let ids: Vec<String> = purged.iter().map(ToString::to_string).collect();
                println!("{}", serde_json::json!({ "purged": ids }));
            } else {
                println!("Purged {} report(s) past retention.", purged.len());
            }
            Ok(())
        }
    }
}

/// Issues a one-time manager or auditor token and returns it.
pub fn issue_token(store: &SqliteStore, org: i64, role: Role, days: u64) -> Result<String> {
    let (token, hash) = secrets::new_enrolment_token();
    store.issue_enrolment_token(EnrolmentToken {
        hash,
        org,
        role,
        expires_at: now() + days * DAY,
    })?;
    Ok(token.to_string())
}

fn invite(data: &DataDir, args: &InviteArgs) -> Result<()> {
    let store = data.open_store()?;
    let name = args.org.as_deref().unwrap_or(datadir::DEFAULT_ORG);
    let org = match (store.organisation(name)?, args.new_org) {
        (Some(_), true) => bail!("an organisation called {name:?} exists; leave out --new-org"),
        (Some(org), false) => org,
        (None, true) => store.create_organisation(name, now())?,
        (None, false) => {
            bail!("there is no organisation called {name:?}; add --new-org to create it")
        }
    };
    let role = match args.role {
        InviteRole::Manager => Role::Manager,
        InviteRole::Auditor => Role::Auditor,
    };
    let token = issue_token(&store, org.id, role, args.days)?;
    if args.json {
        println!("{}", serde_json::json!({ "token": token }));
    } else {
        println!(
            "One-time {role} enrolment token for organisation {:?} (valid {} days):",
            org.name, args.days
        );
        println!("{token}");
        println!("Give it to that person only; it works once.");
    }
    Ok(())
}

fn backup(data: &DataDir, out: &Path) -> Result<()> {
    if out.exists() {
        bail!("{} exists; choose a new file name", out.display());
    }
    let store = data.open_store()?;
    store.backup(out).context("the backup failed")?;
    SqliteStore::check_file(out).context("the backup did not check out whole")?;
    println!("Backed up to {}", out.display());
    Ok(())
}

fn restore(data: &DataDir, from: &Path) -> Result<()> {
    let version = SqliteStore::check_file(from)
        .with_context(|| format!("{} is not a whole sealdrop backup", from.display()))?;
    if data.path.exists() && data.path.read_dir()?.next().is_some() {
        bail!(
            "{} is not empty; restore into a new directory",
            data.path.display()
        );
    }
    data.init_keys()?;
    std::fs::copy(from, data.db()).context("cannot copy the backup into place")?;
    // Opening brings an older schema up to date.
    data.open_store()?;
    println!(
        "Restored {} (schema {version}) into {}",
        from.display(),
        data.path.display()
    );
    println!("The restored server has a new log key and origin; clients must re-pin it.");
    Ok(())
}
