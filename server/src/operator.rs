//! The local operator commands, which work on the data directory directly.

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use sealdrop_api::Role;
use sealdrop_proto::ids::PersonId;
use sealdrop_proto::keys::SigningSecret;
use sealdrop_proto::log::checkpoint::Checkpoint;
use sealdrop_proto::log::handover::{Handover, split_chain};
use sealdrop_proto::log::merkle::{MerkleTree, leaf_hash};
use sealdrop_store::{EnrolmentToken, SqliteStore, Store as _};

use crate::cli::{Cli, Command, InviteArgs, InviteRole, UserCommand};
use crate::clock::now;
use crate::datadir::{self, DataDir};
use crate::secrets;

const DAY: u64 = 86_400;

pub fn run(cli: Cli) -> Result<()> {
    let data = DataDir::new(&cli.data)?;
    match cli.command {
        Command::Serve(args) => {
            crate::handlers::log::set_handover(checked_handover(&data)?)?;
            crate::handlers::log::set_old_logs(data.path.clone());
            crate::serve::run(&data, args)
        }
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
            if store.disable_person(&id, now())?.is_none() {
                bail!("no person {id} is enrolled on this server");
            }
            println!("Disabled {id}; their sessions have ended.");
            Ok(())
        }
        Command::Backup { out } => backup(&data, &out),
        Command::Restore {
            from,
            handover_from,
        } => restore(&data, &from, handover_from.as_deref()),
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

/// The data directory's handover notes, if it has any (one per restore,
/// oldest first), after checking that each is well formed, that each hands
/// over from the log the one before handed over to, and that the last
/// hands over to this directory's own log key and origin (the server
/// cannot check the old keys' signatures: clients do, from the key they
/// pinned).
fn checked_handover(data: &DataDir) -> Result<Option<String>> {
    if !data.exists() {
        return Ok(None);
    }
    let Some(note) = data.handover()? else {
        return Ok(None);
    };
    let damaged = || format!("the log handover in {} is damaged", data.path.display());
    let mut previous: Option<Handover> = None;
    for part in split_chain(note.as_bytes()).with_context(damaged)? {
        let h = Handover::parse_unverified(&part).with_context(damaged)?;
        if let Some(p) = &previous
            && p.new_origin() != h.old_origin()
        {
            bail!(
                "the log handovers in {} do not form one chain: {} hands over to {}, but the next is from {}",
                data.path.display(),
                p.old_origin(),
                p.new_origin(),
                h.old_origin()
            );
        }
        previous = Some(h);
    }
    let handover = previous.with_context(damaged)?;
    let (origin, key) = (
        data.log_origin()?,
        data.log_key()?.verifying_key().to_bytes(),
    );
    if handover.new_origin() != origin || handover.new_key() != &key {
        bail!(
            "the log handover in {} hands over to the log {}, not to this directory's log {origin}; it belongs elsewhere",
            data.path.display(),
            handover.new_origin()
        );
    }
    Ok(Some(note))
}

/// What a handover needs of the log being replaced: its key and origin, and
/// its tree rebuilt from the leaves its database holds.
struct OldLog {
    dir: std::path::PathBuf,
    key: SigningSecret,
    origin: String,
    tree: MerkleTree,
    /// The handovers that led to the old log (if it was itself restored):
    /// the new directory serves them before its own, so that a client
    /// pinned to any earlier log can follow the whole chain.
    earlier: Option<String>,
}

/// Leaves read per query while rebuilding a tree.
const LEAF_PAGE: u64 = 10_000;

impl OldLog {
    fn read(old: &DataDir) -> Result<Self> {
        if !old.exists() {
            bail!(
                "{} holds no sealdrop data directory (no log key and database); give the directory being replaced, or leave out --handover-from",
                old.path.display()
            );
        }
        let key = old.log_key()?;
        let origin = old.log_origin()?;
        let earlier = checked_handover(old)?;
        SqliteStore::check_file(&old.db()).with_context(|| {
            format!(
                "the database in {} is damaged, so its log's last checkpoint is unknown; restore without --handover-from",
                old.path.display()
            )
        })?;
        let store = old.open_store()?;
        let head = store.log_head()?;
        let mut tree = MerkleTree::new();
        while tree.len() < head.size {
            let end = head.size.min(tree.len() + LEAF_PAGE);
            let leaves = store.log_leaves(tree.len(), end)?;
            if leaves.is_empty() {
                bail!("the log in {} is missing leaves", old.path.display());
            }
            for leaf in &leaves {
                tree.push(leaf_hash(leaf));
            }
        }
        if tree.len() != head.size || tree.root() != head.root {
            bail!(
                "the log in {} does not hash to its own tree head",
                old.path.display()
            );
        }
        Ok(Self {
            dir: old.path.clone(),
            key,
            origin,
            tree,
            earlier,
        })
    }

    /// The signed handover to `new`, whose restored database holds
    /// `restored` leaves with root `root`; refuses when those leaves are not
    /// the old log's first ones.
    fn hand_over(&self, new: &DataDir, restored: u64, root: [u8; 32]) -> Result<Handover> {
        let old_size = self.tree.len();
        if restored > old_size || self.tree.root_at(restored).ok() != Some(root) {
            bail!(
                "the backup's log ({restored} leaves) is not the beginning of the log being replaced ({old_size} leaves): the backup is not of that server, or one of them was altered"
            );
        }
        let old = Checkpoint::new(self.origin.clone(), old_size, self.tree.root())?;
        let proof = self.tree.consistency_proof(restored, old_size)?;
        let handover = Handover::new(
            old,
            restored,
            root,
            proof,
            &new.log_origin()?,
            new.log_key()?.verifying_key().to_bytes(),
        )?;
        Ok(handover)
    }
}

fn restore(data: &DataDir, from: &Path, handover_from: Option<&Path>) -> Result<()> {
    let version = SqliteStore::check_file(from)
        .with_context(|| format!("{} is not a whole sealdrop backup", from.display()))?;
    let existed = data.path.exists();
    if existed && data.path.read_dir()?.next().is_some() {
        bail!(
            "{} is not empty; restore into a new directory",
            data.path.display()
        );
    }
    // Everything about the old log is read before anything is written.
    let old = handover_from
        .map(|dir| OldLog::read(&DataDir::new(dir)?))
        .transpose()?;
    let handover = match restore_into(data, from, old.as_ref()) {
        Ok(handover) => handover,
        Err(e) => {
            // The directory was empty or absent: all in it is ours.
            discard(data, existed);
            return Err(e.context(format!("nothing was restored into {}", data.path.display())));
        }
    };
    println!(
        "Restored {} (schema {version}) into {}",
        from.display(),
        data.path.display()
    );
    match handover {
        Some(h) => {
            let (old, restored) = (h.old_checkpoint().size(), h.restored().size());
            println!(
                "The old log {} ({old} leaves) hands over to the new log {}, which starts with its first {restored}.",
                h.old_origin(),
                h.new_origin(),
            );
            if restored < old {
                println!(
                    "{} change(s) logged after the backup are not in the restored data: reports submitted since must be submitted again, and other changes made again.",
                    old - restored
                );
            }
            println!(
                "Clients pinned to the old log key verify the handover (GET /v1/log/handover) and move to the new one."
            );
        }
        None => {
            eprintln!(
                "warning: restored without --handover-from: the server has a new log key and origin, and clients pinned to the old key will refuse the new one until they re-pin it."
            );
        }
    }
    Ok(())
}

/// Creates the new log key and origin in `data`, puts the backup in place,
/// and with `old` writes the old key's handover to the new log.
fn restore_into(data: &DataDir, from: &Path, old: Option<&OldLog>) -> Result<Option<Handover>> {
    data.init_keys()?;
    std::fs::copy(from, data.db()).context("cannot copy the backup into place")?;
    // Opening brings an older schema up to date, and builds the new log's
    // tree from the restored leaves.
    let store = data.open_store()?;
    // Witnesses cosigned the old origin's checkpoints: none of those lines
    // verifies over the new log's, so they go; witnesses cosign anew.
    store.forget_cosignatures()?;
    let head = store.log_head()?;
    drop(store);
    let Some(old) = old else {
        return Ok(None);
    };
    let handover = old.hand_over(data, head.size, head.root)?;
    let note = handover.sign(&old.key);
    // The note must verify as a client will verify it.
    Handover::verify(
        note.as_bytes(),
        &old.origin,
        old.key.verifying_key().as_bytes(),
    )
    .context("the handover note does not verify")?;
    let chain = format!("{}{note}", old.earlier.as_deref().unwrap_or_default());
    // The old logs' leaf hashes, so that the new server can prove to a
    // client that what it saw of an old log and what the restore kept are
    // one history: the old directory's own, then the log it ran.
    let hops = split_chain(chain.as_bytes())?.len();
    for hop in 1..hops {
        let hop = u32::try_from(hop)?;
        let earlier = datadir::old_log_file(&old.dir, hop);
        if !earlier.exists() {
            // A directory restored before old logs were kept: clients who
            // saw past what that restore kept cannot be shown it now.
            eprintln!(
                "warning: {} keeps no leaf hashes of the log its handover {hop} came from; clients who saw entries of that log past what it kept will refuse to follow",
                old.dir.display()
            );
            continue;
        }
        std::fs::copy(&earlier, datadir::old_log_file(&data.path, hop))
            .context("cannot copy an earlier log's leaf hashes")?;
    }
    let mut hashes = Vec::with_capacity(usize::try_from(old.tree.len())? * 32);
    for i in 0..old.tree.len() {
        hashes.extend_from_slice(&old.tree.leaf(i).context("the old tree lost a leaf")?);
    }
    std::fs::write(
        datadir::old_log_file(&data.path, u32::try_from(hops)?),
        hashes,
    )
    .context("cannot write the old log's leaf hashes")?;
    data.write_handover(&chain)?;
    Ok(Some(handover))
}

/// Removes what a failed restore wrote into `data`.
fn discard(data: &DataDir, existed: bool) {
    let result = if existed {
        std::fs::read_dir(&data.path).and_then(|mut entries| {
            entries.try_for_each(|e| e.and_then(|e| std::fs::remove_file(e.path())))
        })
    } else {
        std::fs::remove_dir_all(&data.path)
    };
    if let Err(e) = result {
        eprintln!(
            "warning: could not clean up {}: {e}; remove it before trying again",
            data.path.display()
        );
    }
}
