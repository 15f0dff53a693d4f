//! Passphrases: from `--passphrase-file`, `SEALDROP_PASSPHRASE`, or a
//! no-echo prompt, in that order (`sealdrop_keystore::obtain_passphrase`,
//! shared with the shopper CLI).

use std::path::Path;

use anyhow::{Context as _, Result};
use sealdrop_keystore::{Keystore, Passphrase};
use sealdrop_proto::SecretIdentity;

pub fn passphrase(file: Option<&Path>, confirm: bool) -> Result<Passphrase> {
    Ok(sealdrop_keystore::obtain_passphrase(file, confirm)?)
}

/// Opens the keystore with the passphrase.
pub fn identity(keystore: &Keystore, file: Option<&Path>) -> Result<SecretIdentity> {
    let pass = passphrase(file, false)?;
    keystore.unlock(&pass).context("cannot open your keystore")
}
