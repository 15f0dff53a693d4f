use std::fmt;

use zeroize::Zeroizing;

/// A passphrase: zeroized on drop, never printed.
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    pub fn new(text: String) -> Self {
        Self(Zeroizing::new(text))
    }

    /// Reads the first line of a passphrase file (without its newline).
    pub fn from_file_contents(contents: &str) -> Self {
        Self::new(contents.lines().next().unwrap_or_default().to_owned())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Constant-time comparison, for "type it again" prompts.
    pub fn matches(&self, other: &Passphrase) -> bool {
        use subtle::ConstantTimeEq as _;
        bool::from(self.0.as_bytes().ct_eq(other.0.as_bytes()))
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

/// Why no passphrase could be had.
#[derive(Debug, thiserror::Error)]
pub enum PassphraseError {
    #[error("cannot read the passphrase file {path}: {source}")]
    File {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot read a passphrase from the terminal; give --passphrase-file or SEALDROP_PASSPHRASE"
    )]
    NoTerminal,
    #[error("the two passphrases differ; nothing was written")]
    Mismatch,
    #[error("the passphrase is empty")]
    Empty,
}

/// The passphrase, from `file` if given, else `SEALDROP_PASSPHRASE`, else a
/// no-echo prompt (asked twice when `confirm`, for a new keystore). Shared
/// by both CLIs so they behave the same.
pub fn obtain(
    file: Option<&std::path::Path>,
    confirm: bool,
) -> Result<Passphrase, PassphraseError> {
    let nonempty = |p: Passphrase| {
        if p.is_empty() {
            Err(PassphraseError::Empty)
        } else {
            Ok(p)
        }
    };
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|source| PassphraseError::File {
            path: path.to_path_buf(),
            source,
        })?;
        return nonempty(Passphrase::from_file_contents(&text));
    }
    if let Ok(text) = std::env::var("SEALDROP_PASSPHRASE") {
        return nonempty(Passphrase::new(text));
    }
    let prompt = |p: &str| {
        rpassword::prompt_password(p)
            .map(Passphrase::new)
            .map_err(|_| PassphraseError::NoTerminal)
    };
    let first = prompt("Passphrase: ")?;
    if confirm && !prompt("Passphrase again: ")?.matches(&first) {
        return Err(PassphraseError::Mismatch);
    }
    nonempty(first)
}
