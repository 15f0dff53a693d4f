//! The `shopper` CLI run as a shopper would, with their own home.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use super::{Staff, bin, example_report};

/// Someone using the `shopper` CLI, with their own home.
pub struct Shopper {
    pub home: tempfile::TempDir,
    pub passphrase: String,
}

impl Shopper {
    pub fn new() -> Self {
        Self {
            home: tempfile::tempdir().unwrap(),
            passphrase: "a shopper's long passphrase".into(),
        }
    }

    pub fn run_with(&self, args: &[&str], passphrase: &str) -> Output {
        Command::new(bin("shopper"))
            .args(args)
            .env("SEALDROP_HOME", self.home.path().join("h"))
            .env("SEALDROP_PASSPHRASE", passphrase)
            .env("SEALDROP_SYNC_MAX_DELAY_MS", "0")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Runs with `input` on stdin: the form, as a person would type it.
    pub fn typed(&self, args: &[&str], input: &str) -> Output {
        use std::io::Write as _;
        let mut child = Command::new(bin("shopper"))
            .args(args)
            .env("SEALDROP_HOME", self.home.path().join("h"))
            .env("SEALDROP_PASSPHRASE", &self.passphrase)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "shopper {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.run_with(&all, &self.passphrase);
        assert!(
            out.status.success(),
            "shopper {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run_with(args, &self.passphrase);
        assert!(!out.status.success(), "shopper {args:?} should have failed");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }
}

/// Enrols a new shopper in `program` with an invite from `manager`.
pub fn enrolled_shopper(manager: &Staff, program: &str) -> Shopper {
    let invite = manager.json(&["invite", "shopper", "--program", program])["invite"]
        .as_str()
        .unwrap()
        .to_owned();
    let sam = Shopper::new();
    sam.json(&["init"]);
    let enrolled = sam.json(&["enroll", &invite]);
    assert_eq!(enrolled["program"], program);
    sam
}

/// A report file from `shopper new`, with `answers` filled in.
pub fn filled(sam: &Shopper, name: &str, answers: &Value) -> PathBuf {
    let path = sam.path(name);
    sam.json(&["new", "--out", path.to_str().unwrap()]);
    let mut doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for (k, v) in answers.as_object().unwrap() {
        assert!(doc["answers"].get(k).is_some(), "no question {k}");
        doc["answers"][k] = v.clone();
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    path
}

/// The example questionnaire's answers (`example_report`), as JSON.
pub fn example_answers() -> Value {
    serde_json::from_slice(&example_report()).unwrap()
}
