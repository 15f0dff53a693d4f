//! The witnesses a client requires before it trusts a checkpoint: k of
//! them must have cosigned a checkpoint that the one it is shown extends.
//! Both CLIs take them as `--witness NAME=KEY` (what `sealdrop audit
//! witness` prints) and `--require-witnesses K`.

use sealdrop_proto::log::checkpoint::{
    Checkpoint, SignedCheckpoint, Witness, require_cosignatures,
};
use thiserror::Error;

use crate::{Client, log_check};

#[derive(Debug, Error)]
pub enum WitnessError {
    #[error("{0:?} is not a witness like sealdrop-witness/sd…=KEY (a name, '=', a base64 key)")]
    Spec(String),
    #[error("the witness {name} is refused: {why}")]
    Key { name: String, why: String },
    #[error("--require-witnesses {need} needs at least {need} --witness NAME=KEY")]
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
        let witnesses = specs
            .iter()
            .map(|spec| parse(spec))
            .collect::<Result<Vec<_>, _>>()?;
        let need = need.unwrap_or(witnesses.len());
        if need > witnesses.len() {
            return Err(WitnessError::TooFew { need });
        }
        Ok(Self { witnesses, need })
    }

    /// True when no witness is required.
    pub fn is_empty(&self) -> bool {
        self.need == 0
    }

    /// The newest cosigned checkpoint carries `need` of the witnesses'
    /// cosignatures, and `current` extends it: the server shows this
    /// client the history the witnesses saw.
    pub fn vouch(
        &self,
        client: &Client,
        log_key: &[u8; 32],
        origin: &str,
        current: &Checkpoint,
    ) -> Result<(), WitnessError> {
        if self.is_empty() {
            return Ok(());
        }
        let refused = |why: String| WitnessError::NotVouched(why);
        let note = client
            .log_checkpoint_cosigned()
            .map_err(|e| refused(format!("the server offers no cosigned checkpoint: {e}")))?;
        let signed = SignedCheckpoint::parse_and_verify(&note, origin, log_key)
            .map_err(|e| refused(format!("the cosigned checkpoint is refused: {e}")))?;
        let have = require_cosignatures(&signed, &self.witnesses, self.need).map_err(|e| {
            refused(format!(
                "the witnesses you trust do not vouch for this log: {e}; the server may be showing you a history they never saw"
            ))
        })?;
        let witnessed = signed.checkpoint();
        if witnessed.size() > current.size() {
            return Err(refused(format!(
                "the witnessed checkpoint has {} entries, more than the {} the server shows you",
                witnessed.size(),
                current.size()
            )));
        }
        let proof = client
            .log_consistency(witnessed.size(), current.size())
            .map_err(|e| {
                refused(format!(
                    "the server cannot prove its log extends the witnessed one: {e}"
                ))
            })?;
        log_check::extends(witnessed, current, &proof).map_err(|e| {
            refused(format!(
                "the log does not extend the checkpoint {have} witness(es) cosigned: {e}"
            ))
        })
    }
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
        assert!(
            Trusted::parse(std::slice::from_ref(&good), Some(0))
                .unwrap()
                .is_empty()
        );
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
