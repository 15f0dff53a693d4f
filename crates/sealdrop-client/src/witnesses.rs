//! The witnesses a client requires before it trusts a checkpoint: k of
//! them must have cosigned a checkpoint that the one it is shown extends.
//! Both CLIs take them as `--witness NAME=KEY` (what `sealdrop audit
//! witness` prints) and `--require-witnesses K`.

use sealdrop_proto::log::checkpoint::{Checkpoint, SignedCheckpoint, Witness, verify_cosignature};
use thiserror::Error;

use crate::{Client, log_check};

#[derive(Debug, Error)]
pub enum WitnessError {
    #[error("{0:?} is not a witness like sealdrop-witness/sd…=KEY (a name, '=', a base64 key)")]
    Spec(String),
    #[error("the witness {name} is refused: {why}")]
    Key { name: String, why: String },
    #[error(
        "--require-witnesses {need} needs at least {need} distinct --witness NAME=KEY, and at least 1 when witnesses are given"
    )]
    TooFew { need: usize },
    #[error("{0}")]
    NotVouched(String),
    #[error("{0:?} is not an age like 90s, 30m, 24h or 7d")]
    Age(String),
}

/// How old a witness's newest cosignature may be by default: a witness
/// that has not cosigned for a day has gone quiet.
pub const DEFAULT_MAX_AGE_SECS: u64 = 24 * 3600;

/// How far ahead of this clock a cosignature's time may be.
const CLOCK_SKEW_SECS: u64 = 300;

/// The witnesses to require, how many of them, and how recent their
/// cosignatures must be.
#[derive(Debug, Clone)]
pub struct Trusted {
    witnesses: Vec<Witness>,
    need: usize,
    max_age: u64,
}

impl Default for Trusted {
    fn default() -> Self {
        Self {
            witnesses: Vec::new(),
            need: 0,
            max_age: DEFAULT_MAX_AGE_SECS,
        }
    }
}

/// Parses `90s`, `30m`, `24h`, `7d` into seconds (at least one second).
pub fn parse_age(text: &str) -> Result<u64, WitnessError> {
    let text = text.trim();
    let bad = || WitnessError::Age(text.to_owned());
    let cut = text.char_indices().last().map_or(0, |(i, _)| i);
    let (number, unit) = text.split_at(cut);
    let n: u64 = number.parse().map_err(|_| bad())?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    n.checked_mul(unit).filter(|s| *s > 0).ok_or_else(bad)
}

impl Trusted {
    /// From `NAME=KEY` specs; `need` defaults to all of them.
    pub fn parse(specs: &[String], need: Option<usize>) -> Result<Self, WitnessError> {
        let mut witnesses: Vec<Witness> = Vec::new();
        for spec in specs {
            let w = parse(spec)?;
            // The same key named twice is one witness.
            if !witnesses.iter().any(|k| k.public_key() == w.public_key()) {
                witnesses.push(w);
            }
        }
        let need = need.unwrap_or(witnesses.len());
        if need > witnesses.len() {
            return Err(WitnessError::TooFew { need });
        }
        if need == 0 && !witnesses.is_empty() {
            return Err(WitnessError::TooFew { need: 1 });
        }
        Ok(Self {
            witnesses,
            need,
            max_age: DEFAULT_MAX_AGE_SECS,
        })
    }

    /// The witnesses a program's descriptor names, its threshold and its
    /// age limit.
    pub fn of_program(
        descriptor: &sealdrop_proto::descriptor::ProgramDescriptor,
    ) -> Result<Self, WitnessError> {
        let mut witnesses = Vec::new();
        for w in &descriptor.witnesses {
            witnesses.push(
                Witness::new(&w.name, &w.key).map_err(|e| WitnessError::Key {
                    name: w.name.clone(),
                    why: e.to_string(),
                })?,
            );
        }
        Ok(Self {
            witnesses,
            need: usize::from(descriptor.witness_threshold),
            max_age: u64::from(descriptor.witness_max_age),
        })
    }

    /// Cosignatures older than `seconds` no longer count: their witness
    /// has gone quiet.
    pub fn with_max_age(mut self, seconds: u64) -> Self {
        self.max_age = seconds;
        self
    }

    /// True when no witness is required.
    pub fn is_empty(&self) -> bool {
        self.need == 0
    }

    /// At least `need` of the witnesses cosigned a checkpoint (their
    /// newest) that `current` extends: the server shows this client the
    /// history they saw, up to what they cosigned. Entries after the
    /// newest cosigned checkpoint are vouched for by the witnesses' next
    /// run, not by this one. Returns the size up to which `need` of them
    /// vouch (all of `current` when none is required).
    pub fn vouch(
        &self,
        client: &Client,
        log_key: &[u8; 32],
        origin: &str,
        current: &Checkpoint,
    ) -> Result<u64, WitnessError> {
        if self.is_empty() {
            return Ok(current.size());
        }
        let mut sizes: Vec<u64> = self
            .vouching(client, log_key, origin, current)?
            .iter()
            .map(Checkpoint::size)
            .collect();
        // `need` of them each cosigned at least this much.
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        Ok(sizes
            .get(self.need.saturating_sub(1))
            .copied()
            .unwrap_or_default())
    }

    /// The checkpoints (each witness's newest, fresh, extended by
    /// `current`) of the witnesses that vouch, at least `need` of them;
    /// empty when none is required. Each carries the heads line its
    /// witness recomputed.
    pub fn vouching(
        &self,
        client: &Client,
        log_key: &[u8; 32],
        origin: &str,
        current: &Checkpoint,
    ) -> Result<Vec<Checkpoint>, WitnessError> {
        if self.is_empty() {
            return Ok(Vec::new());
        }
        let mut checkpoints: Vec<Checkpoint> = Vec::new();
        let notes = client.log_checkpoints_cosigned().map_err(|e| {
            WitnessError::NotVouched(format!("the server offers no cosigned checkpoints: {e}"))
        })?;
        let mut vouching: Vec<&Witness> = Vec::new();
        let mut problems: Vec<String> = Vec::new();
        // Each witness's newest verifying cosignature among the notes, in
        // whatever order the server lists them: an older one it puts first
        // does not stand for the witness.
        let mut newest: Vec<Option<(u64, Checkpoint)>> = vec![None; self.witnesses.len()];
        for note in &notes {
            let Ok(signed) = SignedCheckpoint::parse_and_verify(note.as_bytes(), origin, log_key)
            else {
                problems.push("a cosigned checkpoint is not signed by the log key".into());
                continue;
            };
            let witnessed = signed.checkpoint();
            for (w, best) in self.witnesses.iter().zip(newest.iter_mut()) {
                let lines: Vec<_> = signed
                    .signatures()
                    .iter()
                    .filter(|l| l.is_by(w.name(), &w.key_id()))
                    .collect();
                if lines.is_empty() {
                    continue;
                }
                let Some(time) = lines
                    .iter()
                    .filter_map(|l| verify_cosignature(witnessed, l, w).ok())
                    .max()
                else {
                    problems.push(format!(
                        "{}'s cosignature does not verify over the checkpoint this server shows for that size",
                        w.name()
                    ));
                    continue;
                };
                if best.as_ref().is_none_or(|(t, _)| time > *t) {
                    *best = Some((time, witnessed.clone()));
                }
            }
        }
        for (w, best) in self.witnesses.iter().zip(newest) {
            let Some((time, witnessed)) = best else {
                continue;
            };
            if vouching.iter().any(|v| v.public_key() == w.public_key()) {
                continue;
            }
            // A time ahead of this clock (beyond the usual skew) would
            // keep a frozen cosignature "fresh": it does not count.
            if time > now().saturating_add(CLOCK_SKEW_SECS) {
                problems.push(format!(
                    "{}'s newest cosignature is dated in the future; check this computer's clock, or the witness's",
                    w.name()
                ));
                continue;
            }
            let age = now().saturating_sub(time);
            if age > self.max_age {
                problems.push(format!(
                    "{} went quiet: its newest cosignature is {} old, over the {} allowed",
                    w.name(),
                    readable(age),
                    readable(self.max_age)
                ));
                continue;
            }
            if let Err(why) = extends_now(client, &witnessed, current) {
                problems.push(format!("{}: {why}", w.name()));
                continue;
            }
            vouching.push(w);
            checkpoints.push(witnessed);
        }
        if vouching.len() >= self.need {
            return Ok(checkpoints);
        }
        let mut why = format!(
            "the witnesses you trust do not vouch for this log: {} of the {} you require cosigned a checkpoint it extends; the server may be showing you a history they never saw",
            vouching.len(),
            self.need
        );
        for p in problems {
            why.push_str("; ");
            why.push_str(&p);
        }
        Err(WitnessError::NotVouched(why))
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `95` → `1m 35s`, `90000` → `25h 0m`.
fn readable(seconds: u64) -> String {
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {}s", s / 60, s % 60),
        s => format!("{}h {}m", s / 3600, (s % 3600) / 60),
    }
}

/// `current` extends `witnessed`, by the server's consistency proof.
fn extends_now(
    client: &Client,
    witnessed: &Checkpoint,
    current: &Checkpoint,
) -> Result<(), String> {
    if witnessed.size() > current.size() {
        return Err(format!(
            "it cosigned {} entries, more than the {} the server shows you",
            witnessed.size(),
            current.size()
        ));
    }
    let proof = client
        .log_consistency(witnessed.size(), current.size())
        .map_err(|e| format!("the server cannot prove its log extends what it cosigned: {e}"))?;
    log_check::extends(witnessed, current, &proof).map_err(|e| e.to_string())
}

/// One `NAME=KEY` spec (a base64 Ed25519 key), checked.
pub fn parse(spec: &str) -> Result<Witness, WitnessError> {
    let (name, key) = spec
        .split_once('=')
        .ok_or_else(|| WitnessError::Spec(spec.to_owned()))?;
    let key: [u8; 32] = data_encoding::BASE64
        .decode(key.as_bytes())
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| WitnessError::Spec(spec.to_owned()))?;
    Witness::new(name, &key).map_err(|e| WitnessError::Key {
        name: name.to_owned(),
        why: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ages_parse_and_nonsense_is_refused() {
        assert_eq!(parse_age("90s").unwrap(), 90);
        assert_eq!(parse_age("24h").unwrap(), 86_400);
        assert_eq!(parse_age("7d").unwrap(), 604_800);
        for bad in [
            "",
            "0s",
            "h",
            "5",
            "5y",
            "-1h",
            "5ħ",
            "99999999999999999999d",
        ] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn specs_are_checked() {
        let key = data_encoding::BASE64.encode(
            sealdrop_proto::keys::SigningSecret::from_seed(&[7; 32])
                .verifying_key()
                .as_bytes(),
        );
        let good = format!("sealdrop-witness/sd1={key}");
        assert_eq!(
            Trusted::parse(std::slice::from_ref(&good), None)
                .unwrap()
                .need,
            1
        );
        assert!(Trusted::parse(&[], None).unwrap().is_empty());
        assert!(Trusted::parse(std::slice::from_ref(&good), Some(0)).is_err());
        // Named twice, one witness: requiring two cannot be met, so it is refused.
        assert!(Trusted::parse(&[good.clone(), good.clone()], Some(2)).is_err());
        assert!(matches!(
            Trusted::parse(&[good], Some(2)),
            Err(WitnessError::TooFew { need: 2 })
        ));
        for bad in [
            "no-equals",
            "name=not base64!",
            "name=AAAA",
            "bad name=AAAA",
        ] {
            assert!(Trusted::parse(&[bad.to_owned()], None).is_err(), "{bad}");
        }
        let spaced = format!("two words={key}");
        assert!(matches!(
            Trusted::parse(&[spaced], None),
            Err(WitnessError::Key { .. })
        ));
    }
}
