//! Printing: text for people, one JSON value with `--json`.

use serde_json::Value;

pub struct Out {
    pub json: bool,
}

impl Out {
    /// Prints `text` for people, or `value` as JSON.
    pub fn show(&self, text: impl FnOnce() -> String, value: impl FnOnce() -> Value) {
        if self.json {
            println!("{}", value());
        } else {
            println!("{}", text());
        }
    }

    /// A warning for people, on stderr (so that `--json` output stays one
    /// value).
    pub fn warn(&self, text: &str) {
        eprintln!("warning: {text}");
    }
}

/// A one-line progress counter on stderr, shown only on a terminal (and
/// never with `--json`), so scripts and logs stay clean.
pub struct Progress {
    label: &'static str,
    /// `None` when the total is not known in advance.
    total: Option<usize>,
    shown: bool,
}

impl Progress {
    pub fn new(out: &Out, label: &'static str, total: usize) -> Self {
        use std::io::IsTerminal as _;
        Self {
            label,
            total: Some(total),
            shown: !out.json && total > 1 && std::io::stderr().is_terminal(),
        }
    }

    /// A counter without a total, for work that arrives in pages.
    pub fn open_ended(out: &Out, label: &'static str) -> Self {
        use std::io::IsTerminal as _;
        Self {
            label,
            total: None,
            shown: !out.json && std::io::stderr().is_terminal(),
        }
    }

    pub fn at(&self, done: usize) {
        match (self.shown, self.total) {
            (false, _) => {}
            (true, Some(total)) => eprint!("\r{} {done}/{total}", self.label),
            (true, None) => eprint!("\r{} {done}", self.label),
        }
    }

    pub fn finish(&self) {
        if self.shown {
            eprintln!();
        }
    }
}
