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
}
