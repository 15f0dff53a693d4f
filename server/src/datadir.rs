//! The data directory: the SQLite database, the log key (mode 0600), the
//! log origin, and after a restore with a handover the old log key's
//! handover note (public). Created on first use, mode 0700.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use sealdrop_proto::keys::SigningSecret;
use sealdrop_store::SqliteStore;
use zeroize::Zeroizing;

pub const DB_FILE: &str = "sealdrop.db";
const KEY_FILE: &str = "log-key";
const ORIGIN_FILE: &str = "log-origin";
const HANDOVER_FILE: &str = "log-handover";
pub const DEFAULT_ORG: &str = "default";

/// The leaf hashes (32 bytes each, in order) of the log that handover
/// `hop` (1 = the chain's first) handed over from, kept by `restore`.
pub fn old_log_file(data: &Path, hop: u32) -> PathBuf {
    data.join(format!("old-log-{hop}"))
}

#[derive(Debug, Clone)]
pub struct DataDir {
    pub path: PathBuf,
}

impl DataDir {
    pub fn new(path: &Path) -> Result<Self> {
        let path = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir()
                .context("cannot read the current directory")?
                .join(path)
        };
        Ok(Self { path })
    }

    pub fn db(&self) -> PathBuf {
        self.path.join(DB_FILE)
    }

    pub fn exists(&self) -> bool {
        self.path.join(KEY_FILE).exists() && self.db().exists()
    }

    /// Creates the directory, the log key and origin, and the database with
    /// the default organisation. Refuses to overwrite an existing key.
    pub fn init(&self) -> Result<()> {
        self.init_keys()?;
        let store = self.open_store()?;
        use sealdrop_store::Store as _;
        store
            .create_organisation(DEFAULT_ORG, crate::clock::now())
            .context("cannot create the default organisation")?;
        Ok(())
    }

    /// Creates the directory and a new log key and origin.
    pub fn init_keys(&self) -> Result<()> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.path)
            .with_context(|| format!("cannot create {}", self.path.display()))?;
        let key_path = self.path.join(KEY_FILE);
        if key_path.exists() {
            bail!(
                "{} already holds a log key; it is initialised already",
                self.path.display()
            );
        }
        let key = SigningSecret::generate(&mut rand_core::UnwrapErr(getrandom::SysRng));
        write_private(&key_path, key.to_seed().as_ref())?;
        let public = key.verifying_key().to_bytes();
        let origin = format!(
            "sealdrop/{}",
            data_encoding::HEXLOWER.encode(public.get(..8).unwrap_or_default())
        );
        fs::write(self.path.join(ORIGIN_FILE), format!("{origin}\n"))
            .context("cannot write the log origin")?;
        Ok(())
    }

    pub fn open_store(&self) -> Result<SqliteStore> {
        if !self.path.is_dir() {
            bail!(
                "{} does not exist; run `sealdrop-server init --data {}` first",
                self.path.display(),
                self.path.display()
            );
        }
        SqliteStore::open(&self.db())
            .with_context(|| format!("cannot open the database in {}", self.path.display()))
    }

    pub fn log_key(&self) -> Result<SigningSecret> {
        let path = self.path.join(KEY_FILE);
        let meta = fs::metadata(&path)
            .with_context(|| format!("cannot read the log key {}", path.display()))?;
        if meta.permissions().mode() & 0o077 != 0 {
            bail!(
                "the log key {} is readable by others; run `chmod 600 {}`",
                path.display(),
                path.display()
            );
        }
        let bytes = Zeroizing::new(fs::read(&path).context("cannot read the log key")?);
        let seed: &[u8; 32] = bytes
            .as_slice()
            .try_into()
            .context("the log key file is damaged")?;
        Ok(SigningSecret::from_seed(seed))
    }

    /// The handover note by which the log this one continues handed over
    /// to it (`restore --handover-from`), unverified; `None` if there is
    /// none.
    pub fn handover(&self) -> Result<Option<String>> {
        match fs::read_to_string(self.path.join(HANDOVER_FILE)) {
            Ok(note) => Ok(Some(note)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).context("cannot read the log handover"),
        }
    }

    /// Writes the handover notes (the chain, oldest first); refuses to
    /// replace them.
    pub fn write_handover(&self, note: &str) -> Result<()> {
        let path = self.path.join(HANDOVER_FILE);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        file.write_all(note.as_bytes())?;
        file.sync_all()?;
        Ok(())
    }

    pub fn log_origin(&self) -> Result<String> {
        Ok(fs::read_to_string(self.path.join(ORIGIN_FILE))
            .context("cannot read the log origin")?
            .trim()
            .to_owned())
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}
