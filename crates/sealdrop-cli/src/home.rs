//! The person's home: keystore and state, under `--home`, `SEALDROP_HOME`
//! or the platform data directory. The directory is 0700, the files 0600.

use std::collections::BTreeMap;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use sealdrop_api::{B64, Role};
use sealdrop_keystore::{Keystore, read_private, write_private};
use sealdrop_proto::descriptor::SignedDescriptor;
use sealdrop_proto::ids::ProgramId;
use sealdrop_verify::Anchor;
use serde::{Deserialize, Serialize};

/// What this person's CLI remembers between runs.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct State {
    pub server: Option<String>,
    /// The SHA-256 of the server's TLS certificate, pinned at enrolment:
    /// then only that certificate is trusted, and shopper invites carry it.
    #[serde(default)]
    pub tls_pin: Option<B64>,
    /// The server's log key and origin, pinned at enrolment: checkpoints,
    /// acknowledgements and release proofs must verify under them.
    #[serde(default)]
    pub log_key: Option<B64>,
    #[serde(default)]
    pub log_origin: Option<String>,
    /// Staff and managers: the newest checkpoint verified under those pins,
    /// as its signed note; every later one must extend it.
    #[serde(default)]
    pub log_seen: Option<String>,
    /// Restores of the server this home followed (handovers to a new log).
    #[serde(default)]
    pub restores: Vec<crate::commands::FollowedRestore>,
    /// Auditors: what `audit verify` verified last (its checkpoint and
    /// compact range), so the next run checks only what is new.
    #[serde(default)]
    pub audit: Option<crate::commands::AuditMemory>,
    /// Witnesses: the log as last cosigned (its report cursor unused).
    #[serde(default)]
    pub witness: Option<crate::commands::AuditMemory>,
    pub role: Option<Role>,
    pub organisation: Option<String>,
    /// The highest descriptor version verified for each program: a lower
    /// one, or one that does not chain from it, is refused.
    #[serde(default)]
    pub programs: BTreeMap<String, B64>,
    /// The descriptor version of each program that this person confirmed
    /// out of band (its fingerprint, read to them by a manager; or the
    /// version 1 they created). Every chain used must contain it. Pins in
    /// `programs` without an entry here were trusted on first use.
    #[serde(default)]
    pub confirmed: BTreeMap<String, ConfirmedVersion>,
    /// Where `fetch` last wrote reports: `export` reads from there.
    #[serde(default)]
    pub fetched_to: Option<PathBuf>,
}

/// A descriptor version confirmed out of band: its number and full hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfirmedVersion {
    pub version: u64,
    pub hash: B64,
}

impl State {
    /// What this person confirmed of `program`, if anything.
    pub fn anchor(&self, program: &ProgramId) -> Result<Option<Anchor>> {
        self.confirmed
            .get(&program.to_string())
            .map(|c| {
                let hash = c
                    .hash
                    .0
                    .as_slice()
                    .try_into()
                    .context("a confirmed descriptor hash in the state file is damaged")?;
                Ok(Anchor {
                    version: c.version,
                    hash,
                })
            })
            .transpose()
    }

    pub fn confirm(&mut self, program: &ProgramId, anchor: &Anchor) {
        self.confirmed.insert(
            program.to_string(),
            ConfirmedVersion {
                version: anchor.version,
                hash: B64(anchor.hash.to_vec()),
            },
        );
    }

    pub fn pinned(&self, program: &ProgramId) -> Result<Option<SignedDescriptor>> {
        self.programs
            .get(&program.to_string())
            .map(|b| {
                b.decode()
                    .context("a pinned descriptor in the state file is damaged")
            })
            .transpose()
    }

    pub fn pin(&mut self, descriptor: &SignedDescriptor) {
        let id = descriptor.unverified_body().program_id.to_string();
        self.programs.insert(id, B64::of(descriptor));
    }

    pub fn tls_pin(&self) -> Result<Option<[u8; 32]>> {
        self.tls_pin
            .as_ref()
            .map(|pin| {
                pin.0
                    .as_slice()
                    .try_into()
                    .context("the pinned TLS certificate hash in the state file is damaged")
            })
            .transpose()
    }

    /// A client for the remembered server, honouring its TLS pin.
    pub fn client(&self) -> Result<sealdrop_client::Client> {
        Ok(sealdrop_client::Client::connect(
            self.server()?,
            self.tls_pin()?,
        )?)
    }

    /// The pinned log key and origin; a home enrolled before they were
    /// pinned pins what the server says now.
    pub fn log_pins(&mut self, client: &sealdrop_client::Client) -> Result<([u8; 32], String)> {
        if self.log_key.is_none() || self.log_origin.is_none() {
            let info = client.server_info()?;
            self.log_key = Some(info.log_key);
            self.log_origin = Some(info.log_origin);
        }
        let key = self
            .log_key
            .as_ref()
            .and_then(|k| <[u8; 32]>::try_from(k.0.as_slice()).ok())
            .context("the pinned log key in the state file is damaged")?;
        let origin = self.log_origin.clone().unwrap_or_default();
        Ok((key, origin))
    }

    pub fn server(&self) -> Result<&str> {
        self.server
            .as_deref()
            .context("you are not enrolled with a server yet; run `sealdrop enroll --server URL --token TOKEN`")
    }
}

pub struct Home {
    pub dir: PathBuf,
}

impl Home {
    pub fn locate(flag: Option<&Path>) -> Result<Self> {
        let dir = match flag {
            Some(p) => p.to_path_buf(),
            None => {
                let base = std::env::var_os("XDG_DATA_HOME")
                    .map(PathBuf::from)
                    .or_else(|| {
                        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share"))
                    })
                    .context("no home directory: give --home DIR or SEALDROP_HOME")?;
                base.join("sealdrop")
            }
        };
        Ok(Self { dir })
    }

    fn keystore_path(&self) -> PathBuf {
        self.dir.join("keystore.json")
    }

    fn state_path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    pub fn create_dir(&self) -> Result<()> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))
    }

    pub fn keystore(&self) -> Result<Keystore> {
        let path = self.keystore_path();
        if !path.exists() {
            bail!(
                "there is no keystore in {}; run `sealdrop keygen --name NAME` first",
                self.dir.display()
            );
        }
        Keystore::read(&path).with_context(|| format!("cannot read {}", path.display()))
    }

    pub fn write_keystore(&self, keystore: &Keystore) -> Result<()> {
        self.create_dir()?;
        keystore
            .write_new(&self.keystore_path())
            .context("cannot write the keystore")
    }

    pub fn state(&self) -> Result<State> {
        let path = self.state_path();
        if !path.exists() {
            return Ok(State::default());
        }
        let bytes =
            read_private(&path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_slice(&bytes).with_context(|| format!("{} is damaged", path.display()))
    }

    /// Where a manager's receipts of their own changes are kept: one JSON
    /// line each, the leaf and its proof as the server gave them.
    pub fn change_receipts(&self) -> PathBuf {
        self.dir.join("change-receipts.jsonl")
    }

    /// Appends one line to [`Home::change_receipts`] (created 0600).
    pub fn keep_change_receipt(&self, line: &serde_json::Value) -> Result<()> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        self.create_dir()?;
        let path = self.change_receipts();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot keep the receipt in {}", path.display()))?;
        // Also when the file was there before, with looser permissions.
        file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        let mut text = serde_json::to_vec(line)?;
        text.push(b'\n');
        file.write_all(&text)
            .with_context(|| format!("cannot keep the receipt in {}", path.display()))
    }

    pub fn save(&self, state: &State) -> Result<()> {
        self.create_dir()?;
        let text = serde_json::to_vec_pretty(state)?;
        write_private(&self.state_path(), &text).context("cannot write the state file")
    }
}
