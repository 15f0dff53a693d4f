//! The shopper's home: the keystore, and everything else sealed in the
//! vault (docs/KEYSTORE.md, "The vault"). Every file is written to a
//! temporary name, synced and renamed (`sealdrop_keystore::write_private`),
//! so an interruption leaves the old file or the new one.
//!
//! ```text
//! HOME/keystore.json            the vault identity (Argon2id), never sent anywhere
//! HOME/state.sealed             programs, pseudonym keys, pins, sent drafts
//! HOME/outbox/ID.sealed         a queued report: sealed record, content key, last error
//! HOME/outbox/ID/stream-N       its ciphertext (encrypted already)
//! HOME/receipts/ID.sealed       the server's acknowledgement of a sent report
//! HOME/sent/ID.sealed, sent/ID/  the local copy of a sent report, for `export`
//! ```

use std::collections::BTreeMap;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use sealdrop_api::B64;
use sealdrop_keystore::{KdfParams, Keystore, Passphrase, Vault, read_private, write_private};
use sealdrop_proto::SecretIdentity;
use sealdrop_proto::descriptor::SignedDescriptor;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Secret bytes inside a sealed file: base64 on disk (inside the vault's
/// encryption), zeroized in memory, never printed.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretBytes(B64);

impl SecretBytes {
    pub fn new(bytes: &[u8]) -> Self {
        Self(B64(bytes.to_vec()))
    }

    pub fn expose(&self) -> &[u8] {
        &self.0.0
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0.0);
    }
}

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBytes(..)")
    }
}

/// One program the shopper is enrolled in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Program {
    pub name: String,
    pub server: String,
    /// The SHA-256 of the server's TLS certificate, when the invite pinned
    /// one: then that certificate is the only one trusted.
    #[serde(default)]
    pub tls_pin: Option<B64>,
    pub log_key: B64,
    pub log_origin: String,
    /// The newest descriptor version verified from the invite's pin on.
    pub descriptor: B64,
    /// The questionnaire of that version, once fetched.
    #[serde(default)]
    pub questionnaire: Option<String>,
    /// This program's pseudonym: a key pair no other program sees.
    pub pseudonym: SecretBytes,
    pub pseudonym_id: String,
    pub enrolled_at: u64,
    /// The newest log checkpoint verified for this program's server: a
    /// later one must extend it.
    #[serde(default)]
    pub log_checkpoint: Option<String>,
    /// Logs this program's server ran before a restore, each followed by a
    /// verified handover: receipts from then verify under their key.
    #[serde(default)]
    pub earlier_logs: Vec<EarlierLog>,
}

/// A log the server ran before a restore.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EarlierLog {
    pub key: B64,
    pub origin: String,
}

impl Program {
    pub fn descriptor(&self) -> Result<SignedDescriptor> {
        self.descriptor
            .decode()
            .context("the pinned descriptor in your home is damaged")
    }

    pub fn pseudonym(&self) -> Result<SecretIdentity> {
        let bytes: &[u8; 64] = self
            .pseudonym
            .expose()
            .try_into()
            .context("a pseudonym key in your home is damaged")?;
        Ok(SecretIdentity::from_secret_bytes(bytes))
    }

    pub fn tls_pin(&self) -> Result<Option<[u8; 32]>> {
        self.tls_pin
            .as_ref()
            .map(|pin| {
                pin.0
                    .as_slice()
                    .try_into()
                    .context("a pinned TLS certificate hash in your home is damaged")
            })
            .transpose()
    }

    /// A client for the program's server, trusting only what the invite
    /// pinned when it pinned a certificate.
    pub fn client(&self) -> Result<sealdrop_client::Client> {
        Ok(sealdrop_client::Client::connect(
            &self.server,
            self.tls_pin()?,
        )?)
    }

    /// The key of the log of `origin`: the current one, or one this home
    /// followed a handover from.
    pub fn log_key_of(&self, origin: &str) -> Result<[u8; 32]> {
        if origin == self.log_origin {
            return self.log_key();
        }
        let earlier = self
            .earlier_logs
            .iter()
            .find(|l| l.origin == origin)
            .with_context(|| {
                format!("the log {origin} is neither the one your invite pinned nor one a verified handover led to")
            })?;
        earlier
            .key
            .0
            .as_slice()
            .try_into()
            .context("a pinned log key in your home is damaged")
    }

    pub fn log_key(&self) -> Result<[u8; 32]> {
        self.log_key
            .0
            .as_slice()
            .try_into()
            .context("a pinned log key in your home is damaged")
    }
}

/// A draft that was sealed: sending it again is refused.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sealed {
    pub report: String,
    pub at: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct State {
    pub programs: BTreeMap<String, Program>,
    /// SHA-256 of each draft's bytes (answers and attachment names) that
    /// was sealed, and as which report.
    #[serde(default)]
    pub sealed_drafts: BTreeMap<String, Sealed>,
}

impl State {
    /// A copy of the program with this ID.
    pub fn enrolled(&self, id: &str) -> Result<Program> {
        self.programs
            .get(id)
            .cloned()
            .with_context(|| format!("you are not enrolled in program {id}"))
    }

    /// The program named, or the only one.
    pub fn program(&self, wanted: Option<&str>) -> Result<(String, &Program)> {
        match wanted {
            Some(id) => self
                .programs
                .get(id)
                .map(|p| (id.to_owned(), p))
                .with_context(|| {
                    format!("you are not enrolled in program {id}; see `shopper programs`")
                }),
            None => {
                let mut all = self.programs.iter();
                match (all.next(), all.next()) {
                    (Some((id, p)), None) => Ok((id.clone(), p)),
                    (None, _) => bail!(
                        "you are not enrolled in any program yet; run `shopper enroll INVITE`"
                    ),
                    (Some(_), Some(_)) => bail!(
                        "you are in several programs; say which with --program (see `shopper programs`)"
                    ),
                }
            }
        }
    }
}

pub struct Home {
    pub dir: PathBuf,
}

/// The home, unlocked: the vault key and the state it opens.
pub struct Unlocked {
    pub vault: Vault,
    pub state: State,
}

impl Home {
    pub fn locate(flag: Option<&Path>) -> Result<Self> {
        let dir = match flag {
            Some(p) => p.to_path_buf(),
            None => std::env::var_os("XDG_DATA_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
                .context("no home directory: give --home DIR or SEALDROP_HOME")?
                .join("sealdrop-shopper"),
        };
        Ok(Self { dir })
    }

    fn keystore_path(&self) -> PathBuf {
        self.dir.join("keystore.json")
    }

    pub fn outbox(&self) -> PathBuf {
        self.dir.join("outbox")
    }

    pub fn receipts(&self) -> PathBuf {
        self.dir.join("receipts")
    }

    pub fn sent(&self) -> PathBuf {
        self.dir.join("sent")
    }

    pub fn private_dir(path: &Path) -> Result<()> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .with_context(|| format!("cannot create {}", path.display()))
    }

    /// Creates the keystore and an empty state. Refuses to replace either.
    pub fn init(&self, passphrase: &Passphrase, kdf: KdfParams) -> Result<SecretIdentity> {
        if self.keystore_path().exists() {
            bail!(
                "{} already holds a keystore; nothing was changed",
                self.dir.display()
            );
        }
        Self::private_dir(&self.dir)?;
        Self::private_dir(&self.outbox())?;
        Self::private_dir(&self.receipts())?;
        let identity = SecretIdentity::generate(&mut rand_core::UnwrapErr(getrandom::SysRng));
        let keystore = Keystore::create("shopper", &identity, passphrase, kdf)?;
        keystore
            .write_new(&self.keystore_path())
            .context("cannot write the keystore")?;
        let vault = Vault::new(&identity);
        self.save(&Unlocked {
            vault,
            state: State::default(),
        })?;
        Ok(identity)
    }

    pub fn unlock(&self, passphrase_file: Option<&Path>) -> Result<Unlocked> {
        let path = self.keystore_path();
        if !path.exists() {
            bail!(
                "there is no keystore in {}; run `shopper init` first",
                self.dir.display()
            );
        }
        let keystore =
            Keystore::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let pass = sealdrop_keystore::obtain_passphrase(passphrase_file, false)?;
        let identity = keystore
            .unlock(&pass)
            .context("cannot open your keystore")?;
        let vault = Vault::new(&identity);
        let sealed =
            read_private(&self.dir.join("state.sealed")).context("cannot read your state file")?;
        let bytes = vault
            .open("state", &sealed)
            .context("your state file does not open")?;
        let state = serde_json::from_slice(&bytes).context("your state file is damaged")?;
        Ok(Unlocked { vault, state })
    }

    pub fn save(&self, home: &Unlocked) -> Result<()> {
        let bytes = Zeroizing::new(serde_json::to_vec(&home.state)?);
        self.write_sealed(&home.vault, &self.dir.join("state.sealed"), "state", &bytes)
    }

    pub fn write_sealed(
        &self,
        vault: &Vault,
        path: &Path,
        purpose: &str,
        bytes: &[u8],
    ) -> Result<()> {
        write_private(path, &vault.seal(purpose, bytes))
            .with_context(|| format!("cannot write {}", path.display()))
    }

    pub fn read_sealed<T: serde::de::DeserializeOwned>(
        vault: &Vault,
        path: &Path,
        purpose: &str,
    ) -> Result<T> {
        let sealed =
            read_private(path).with_context(|| format!("cannot read {}", path.display()))?;
        let bytes = vault
            .open(purpose, &sealed)
            .with_context(|| format!("{} does not open", path.display()))?;
        serde_json::from_slice(&bytes).with_context(|| format!("{} is damaged", path.display()))
    }
}
