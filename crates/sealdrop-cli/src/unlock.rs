//! Passphrases: from `--passphrase-file`, `SEALDROP_PASSPHRASE`, or a
//! no-echo prompt, in that order.

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use sealdrop_keystore::{Keystore, Passphrase};
use sealdrop_proto::SecretIdentity;

pub fn passphrase(file: Option<&Path>, confirm: bool) -> Result<Passphrase> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the passphrase file {}", path.display()))?;
        return nonempty(Passphrase::from_file_contents(&text));
    }
    if let Ok(text) = std::env::var("SEALDROP_PASSPHRASE") {
        return nonempty(Passphrase::new(text));
    }
    let first = Passphrase::new(
        rpassword::prompt_password("Passphrase: ")
            .context("cannot read a passphrase; give --passphrase-file or SEALDROP_PASSPHRASE")?,
    );
    if confirm {
        let again = rpassword::prompt_password("Passphrase again: ")
            .context("cannot read the passphrase")?;
        if Passphrase::new(again).matches(&first) {
            return nonempty(first);
        }
        bail!("the two passphrases differ; nothing was written");
    }
    nonempty(first)
}

fn nonempty(p: Passphrase) -> Result<Passphrase> {
    if p.is_empty() {
        bail!("the passphrase is empty");
    }
    Ok(p)
}

/// Opens the keystore with the passphrase.
pub fn identity(keystore: &Keystore, file: Option<&Path>) -> Result<SecretIdentity> {
    let pass = passphrase(file, false)?;
    keystore.unlock(&pass).context("cannot open your keystore")
}
