//! C2SP `tlog-cosignature` (<https://c2sp.org/tlog-cosignature>), the
//! Ed25519 `cosignature/v1` type: a witness's timestamped statement that
//! the checkpoint is, at that time, the largest consistent tree head it has
//! seen for the origin. Clients that require k witnesses' cosignatures are
//! not shown a history that those witnesses were not all shown.
//!
//! ```text
//! witness key ID   = SHA-256(name ‖ 0x0A ‖ 0x04 ‖ ed25519_pk[32])[:4]
//! cosigned message = "cosignature/v1\n" "time " decimal(t) "\n" body
//! signature line   = "— " name " " base64(key_id[4] ‖ u64_be(t) ‖ Ed25519(message)[64]) "\n"
//! t                ≤ 2^63 − 1, Unix seconds, decimal without leading zeros
//! ```
//!
//! The Ed25519 message does not commit to the witness's name, so each
//! witness must have its own key (the spec's MUST); counting therefore
//! counts distinct keys.

use ed25519_dalek::{Signature, VerifyingKey};

use crate::keys::{self, SigningSecret};

use super::note::{NoteSignature, SIG_TYPE_COSIGNATURE_V1, is_valid_key_name, key_id};
use super::{Checkpoint, CheckpointError, SignedCheckpoint};

/// The header line of the cosigned message: its domain separation.
pub const COSIGNATURE_V1_HEADER: &str = "cosignature/v1\n";

/// The largest timestamp the spec allows.
const MAX_TIME: u64 = i64::MAX as u64;

/// A trusted witness: its key name and Ed25519 public key, checked once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness {
    name: String,
    key: VerifyingKey,
    key_id: [u8; 4],
}

impl Witness {
    /// Refuses an invalid key name and a non-canonical or weak key
    /// (`keys::parse_verifying_key`).
    pub fn new(name: impl Into<String>, public_key: &[u8; 32]) -> Result<Self, CheckpointError> {
        let name = name.into();
        if !is_valid_key_name(&name) {
            return Err(CheckpointError::InvalidKeyName);
        }
        let key = keys::parse_verifying_key(public_key).map_err(|_| CheckpointError::InvalidKey)?;
        let key_id = key_id(&name, SIG_TYPE_COSIGNATURE_V1, key.as_bytes());
        Ok(Self { name, key, key_id })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn public_key(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }

    /// The cosignature key ID (signature type 0x04).
    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }
}

/// The bytes a witness signs: the header line, the time line, then the
/// checkpoint body.
pub fn cosigned_message(checkpoint: &Checkpoint, time: u64) -> String {
    format!("{COSIGNATURE_V1_HEADER}time {time}\n{}", checkpoint.body())
}

/// A witness's cosignature of `checkpoint` at `time` (Unix seconds), as
/// the signature line to append to the checkpoint's note. The witness must
/// have verified the log's signature and the consistency of the checkpoint
/// with the last one it cosigned before calling this.
pub fn cosign(
    checkpoint: &Checkpoint,
    witness_name: &str,
    witness_key: &SigningSecret,
    time: u64,
) -> Result<NoteSignature, CheckpointError> {
    if !is_valid_key_name(witness_name) {
        return Err(CheckpointError::InvalidKeyName);
    }
    if time > MAX_TIME {
        return Err(CheckpointError::TimestampOutOfRange);
    }
    let message = cosigned_message(checkpoint, time);
    // Unlabelled like every note signature; the message has no NUL (see
    // the module docs of `log::checkpoint`).
    let signature = witness_key.sign_labelled(b"", message.as_bytes());
    let mut payload = Vec::with_capacity(72);
    payload.extend_from_slice(&time.to_be_bytes());
    payload.extend_from_slice(&signature);
    Ok(NoteSignature {
        name: witness_name.to_owned(),
        key_id: key_id(
            witness_name,
            SIG_TYPE_COSIGNATURE_V1,
            witness_key.verifying_key().as_bytes(),
        ),
        signature: payload,
    })
}

/// Verifies one signature line as `witness`'s cosignature of `checkpoint`
/// and returns its timestamp, for callers that also require freshness. A
/// line of another name or key ID is `NoValidSignature`; a line of this
/// witness that is malformed or does not verify is `BadSignature`.
pub fn verify_cosignature(
    checkpoint: &Checkpoint,
    line: &NoteSignature,
    witness: &Witness,
) -> Result<u64, CheckpointError> {
    if !line.is_by(&witness.name, &witness.key_id) {
        return Err(CheckpointError::NoValidSignature {
            name: witness.name.clone(),
        });
    }
    let bad = || CheckpointError::BadSignature {
        name: witness.name.clone(),
    };
    let Some((time, signature)) = line.signature.split_first_chunk::<8>() else {
        return Err(bad());
    };
    let time = u64::from_be_bytes(*time);
    if time > MAX_TIME {
        return Err(CheckpointError::TimestampOutOfRange);
    }
    let signature = Signature::from_slice(signature).map_err(|_| bad())?;
    let message = cosigned_message(checkpoint, time);
    witness
        .key
        .verify_strict(message.as_bytes(), &signature)
        .map_err(|_| bad())?;
    Ok(time)
}

/// The number of distinct trusted witnesses (distinct public keys) with a
/// valid cosignature on the note. Lines of unknown keys are ignored, as
/// signed-note requires; a line that claims a trusted witness's name and
/// key ID but does not verify refuses the whole note (its SHOULD), since it
/// can only come from corruption or an attack.
pub fn count_cosignatures(
    signed: &SignedCheckpoint,
    witnesses: &[Witness],
) -> Result<usize, CheckpointError> {
    let mut counted: Vec<&[u8; 32]> = Vec::new();
    for witness in witnesses {
        let mut valid = false;
        for line in signed
            .signatures()
            .iter()
            .filter(|l| l.is_by(&witness.name, &witness.key_id))
        {
            verify_cosignature(signed.checkpoint(), line, witness)?;
            valid = true;
        }
        if valid && !counted.contains(&witness.public_key()) {
            counted.push(witness.public_key());
        }
    }
    Ok(counted.len())
}

/// [`count_cosignatures`], refusing fewer than `need`.
pub fn require_cosignatures(
    signed: &SignedCheckpoint,
    witnesses: &[Witness],
    need: usize,
) -> Result<usize, CheckpointError> {
    let have = count_cosignatures(signed, witnesses)?;
    if have < need {
        Err(CheckpointError::NotEnoughCosignatures { have, need })
    } else {
        Ok(have)
    }
}
