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
