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
}

/// The witnesses to require, and how many of them.
#[derive(Debug, Default)]
pub struct Trusted {
    witnesses: Vec<Witness>,
    need: usize,
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
        Ok(Self { witnesses, need })
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
        let mut sizes: Vec<u64> = Vec::new();
        let notes = client.log_checkpoints_cosigned().map_err(|e| {
            WitnessError::NotVouched(format!("the server offers no cosigned checkpoints: {e}"))
        })?;
        let mut vouching: Vec<&Witness> = Vec::new();
        let mut problems: Vec<String> = Vec::new();
        for note in &notes {
            let Ok(signed) = SignedCheckpoint::parse_and_verify(note.as_bytes(), origin, log_key)
            else {
                problems.push("a cosigned checkpoint is not signed by the log key".into());
                continue;
            };
            let witnessed = signed.checkpoint();
            for w in &self.witnesses {
                let lines: Vec<_> = signed
                    .signatures()
                    .iter()
                    .filter(|l| l.is_by(w.name(), &w.key_id()))
                    .collect();
                if lines.is_empty() || vouching.iter().any(|v| v.public_key() == w.public_key()) {
                    continue;
                }
                if !lines
                    .iter()
                    .any(|l| verify_cosignature(witnessed, l, w).is_ok())
                {
                    problems.push(format!(
                        "{}'s cosignature does not verify over the checkpoint this server shows for that size",
                        w.name()
                    ));
                    continue;
                }
                if let Err(why) = extends_now(client, witnessed, current) {
                    problems.push(format!("{}: {why}", w.name()));
                    continue;
                }
                vouching.push(w);
                sizes.push(witnessed.size());
            }
        }
        if vouching.len() >= self.need {
            // `need` of them each cosigned at least this much.
            sizes.sort_unstable_by(|a, b| b.cmp(a));
            return Ok(sizes
                .get(self.need.saturating_sub(1))
                .copied()
                .unwrap_or_default());
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

fn parse(spec: &str) -> Result<Witness, WitnessError> {
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
