//! The shopper's own data: `backup` and `restore` (a second device, a lost
//! laptop), `delete` (a signed request to delete one of their reports),
//! `export` (everything they sent, decrypted from local copies).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use sealdrop_api::B64;
use sealdrop_keystore::{Keystore, Vault, write_private};
use sealdrop_proto::messages::DeletionRequest;
use sealdrop_proto::report::ContentKey;
use sealdrop_proto::signed::Signed;
use serde::{Deserialize, Serialize};
use serde_json::json;
use zeroize::Zeroizing;

use super::Ctx;
use super::submit::date;
use crate::home::Home;
use crate::outbox;
use crate::send::{self, Receipt, now};

const BACKUP_FORMAT: &str = "sealdrop-shopper-backup";

/// A backup file: the keystore (protected by the passphrase) and every
/// other file of the home, sealed together by the vault.
#[derive(Serialize, Deserialize)]
struct Backup {
    format: String,
    version: u32,
    made_at: u64,
    keystore: String,
    files: B64,
}

/// Every file under the home except the keystore, by relative path.
fn home_files(home: &Home) -> Result<BTreeMap<String, B64>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, B64>) -> Result<()> {
        for e in std::fs::read_dir(dir)? {
            let path = e?.path();
            let rel = path.strip_prefix(root)?.to_string_lossy().into_owned();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.starts_with(".staging-") || name.contains(".tmp") || rel == "keystore.json" {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, out)?;
            } else {
                out.insert(rel, B64(std::fs::read(&path)?));
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(&home.dir, &home.dir, &mut out)?;
    Ok(out)
}

pub fn backup(ctx: &Ctx, out: &Path) -> Result<()> {
    if out.exists() {
        bail!("{} exists already; choose another file name", out.display());
    }
    let un = ctx.unlock()?;
    let files = home_files(&ctx.home)?;
    let count = files.len();
    let bytes = Zeroizing::new(serde_json::to_vec(&files)?);
    let backup = Backup {
        format: BACKUP_FORMAT.into(),
        version: 1,
        made_at: now(),
        keystore: std::fs::read_to_string(ctx.home.dir.join("keystore.json"))?,
        files: B64(un.vault.seal("backup", &bytes)),
    };
    write_private(out, &serde_json::to_vec(&backup)?)
        .with_context(|| format!("cannot write {}", out.display()))?;
    let queued = outbox::list(&ctx.home, &un.vault)?.len();
    ctx.show(
        || format!("Wrote {} ({count} files, {queued} queued report(s)). It opens only with your passphrase; keep it somewhere safe.", out.display()),
        || json!({"file": out.display().to_string(), "files": count, "queued": queued}),
    );
    Ok(())
}

pub fn restore(ctx: &Ctx, file: &Path) -> Result<()> {
    if ctx.home.dir.join("keystore.json").exists() {
        bail!(
            "{} already holds a keystore; restore into an empty --home",
            ctx.home.dir.display()
        );
    }
    let text = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let backup: Backup = serde_json::from_slice(&text)
        .ok()
        .filter(|b: &Backup| b.format == BACKUP_FORMAT && b.version == 1)
        .ok_or_else(|| anyhow!("{} is not a shopper backup", file.display()))?;
    let keystore =
        Keystore::from_json(&backup.keystore).context("the backup's keystore is damaged")?;
    let pass = sealdrop_keystore::obtain_passphrase(ctx.passphrase_file.as_deref(), false)?;
    let identity = keystore
        .unlock(&pass)
        .context("cannot open the backup's keystore")?;
    let bytes = Vault::new(&identity)
        .open("backup", &backup.files.0)
        .context("the backup does not open")?;
    let files: BTreeMap<String, B64> =
        serde_json::from_slice(&bytes).context("the backup is damaged")?;
    // Check every path before writing anything.
    for rel in files.keys() {
        let p = Path::new(rel);
        if p.is_absolute()
            || p.components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            bail!("the backup names a file outside the home ({rel}); nothing was restored");
        }
    }
    Home::private_dir(&ctx.home.dir)?;
    for (rel, content) in &files {
        let path = ctx.home.dir.join(rel);
        if let Some(parent) = path.parent() {
            Home::private_dir(parent)?;
        }
        write_private(&path, &content.0)?;
    }
    // The keystore last: a home with a keystore is a whole home.
    keystore.write_new(&ctx.home.dir.join("keystore.json"))?;
    ctx.show(
        || format!("Restored {} files from the backup of {} into {}. `shopper sync` sends what was queued.", files.len(), date(backup.made_at), ctx.home.dir.display()),
        || json!({"restored": files.len(), "home": ctx.home.dir.display().to_string()}),
    );
    Ok(())
}

pub fn delete(ctx: &Ctx, report: &str, yes: bool) -> Result<()> {
    let mut un = ctx.unlock()?;
    let receipt: Receipt = Home::read_sealed(
        &un.vault,
        &ctx.home.receipts().join(format!("{report}.sealed")),
        "receipt",
    )
    .map_err(|_| anyhow!("{report} is not a report you sent; `shopper receipts` lists them"))?;
    if !yes {
        super::confirm(
            &format!("Ask the server to delete {report} for good?"),
            "nothing was deleted",
        )?;
    }
    let program = un.state.enrolled(&receipt.program)?;
    let pseudonym = program.pseudonym()?;
    let request = Signed::sign(
        DeletionRequest {
            program_id: receipt.program.parse()?,
            report_id: report.parse()?,
            shopper: pseudonym.id(),
            requested_at: now(),
        },
        pseudonym.signing(),
    );
    let client = send::connect(&program)?;
    client
        .request_deletion(&request)
        .with_context(|| format!("the server did not delete {report}"))?;
    // The local copy goes too; the receipt stays as proof it was sent.
    let sent = ctx.home.sent();
    let _ = std::fs::remove_file(sent.join(format!("{report}.sealed")));
    let _ = std::fs::remove_dir_all(sent.join(report));
    un.state.sealed_drafts.retain(|_, s| s.report != report);
    ctx.home.save(&un)?;
    ctx.show(
        || format!("The server deleted {report}; its ID stays reserved. Your local copy is gone; the receipt stays."),
        || json!({"deleted": report}),
    );
    Ok(())
}

pub fn export(ctx: &Ctx, out: &Path) -> Result<()> {
    let un = ctx.unlock()?;
    Home::private_dir(out)?;
    let sent = outbox::list_sent(&ctx.home, &un.vault)?;
    let mut written: Vec<PathBuf> = Vec::new();
    for entry in &sent {
        let folder = out.join(&entry.report);
        if folder.exists() {
            continue;
        }
        let sealed = entry.sealed()?;
        let record = sealed.record().verify().map_err(|_| {
            anyhow!(
                "{}: the local copy's signature does not verify",
                entry.report
            )
        })?;
        let key: [u8; 32] = entry
            .content_key
            .expose()
            .try_into()
            .context("a content key is damaged")?;
        let key = ContentKey::from_bytes(key);
        let opener = record.opener(&key)?;
        let stream = |n: usize| -> Result<std::fs::File> {
            std::fs::File::open(
                ctx.home
                    .sent()
                    .join(&entry.report)
                    .join(format!("stream-{n}")),
            )
            .with_context(|| format!("{}: the local copy is incomplete", entry.report))
        };
        let content = opener.open_content(&mut stream(0)?)?;
        let tmp = out.join(format!(".partial-{}", entry.report));
        Home::private_dir(&tmp)?;
        for (n, meta) in content.attachments.iter().enumerate() {
            let name = meta.file_name.replace(['/', '\\'], "_");
            let name = if name.starts_with('.') || name.is_empty() {
                format!("attachment-{n}")
            } else {
                name
            };
            let mut f = std::fs::File::create(tmp.join(name))?;
            opener.open_attachment(n, &mut stream(n + 1)?, &mut f)?;
        }
        let answers: serde_json::Value =
            serde_json::from_slice(&content.answers).unwrap_or_default();
        let receipt: Option<Receipt> = Home::read_sealed(
            &un.vault,
            &ctx.home.receipts().join(format!("{}.sealed", entry.report)),
            "receipt",
        )
        .ok();
        let doc = json!({
            "report": entry.report, "program": entry.program, "answers": answers,
            "attachments": content.attachments.iter().map(|a| &a.file_name).collect::<Vec<_>>(),
            "acknowledged_at": receipt.as_ref().map(|r| r.received_at),
            "acknowledgement": receipt.as_ref().map(|r| &r.acknowledgement),
        });
        write_private(&tmp.join("report.json"), &serde_json::to_vec_pretty(&doc)?)?;
        std::fs::rename(&tmp, &folder)?;
        written.push(folder);
    }
    ctx.show(
        || {
            format!(
                "Exported {} report(s) into {} ({} already there).",
                written.len(),
                out.display(),
                sent.len() - written.len()
            )
        },
        || json!({"exported": written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>()}),
    );
    Ok(())
}
