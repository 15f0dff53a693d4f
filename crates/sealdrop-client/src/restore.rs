//! Following a server's log across restores, over the connection: the
//! requests `sealdrop_verify::handover::follow` needs, and every answer
//! checked against what the person already holds (the pinned key, the
//! checkpoints they saw, the signed notes). Both CLIs call this; what to
//! do with the result (re-pin, name the loss, re-queue) is theirs.

use sealdrop_proto::log::checkpoint::Checkpoint;
use sealdrop_proto::log::handover::{HandoverError, split_chain};
use sealdrop_verify::handover::{self, FollowError, Followed, LogPins};
use sealdrop_verify::log_check::{self, LogCheckError};
use thiserror::Error;

use crate::{Client, ClientError};

#[derive(Debug, Error)]
pub enum RestoreError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Follow(#[from] FollowError),
    #[error("the server's handover chain is malformed: {0}")]
    Chain(HandoverError),
    #[error("the restored server's checkpoint does not verify under its new log key: {0}")]
    Checkpoint(LogCheckError),
    #[error("the restored log does not continue the old one's first {size} entries: {why}")]
    NotContinued { size: u64, why: LogCheckError },
    #[error("the server's log key is malformed")]
    MalformedKey,
}

/// The log the server runs now (`GET /v1/server`).
pub fn running(client: &Client) -> Result<LogPins, RestoreError> {
    let info = client.server_info()?;
    Ok(LogPins {
        key: info
            .log_key
            .0
            .as_slice()
            .try_into()
            .map_err(|_| RestoreError::MalformedKey)?,
        origin: info.log_origin,
    })
}

/// The new log reached, with its current checkpoint: verified under the
/// new key, and extending everything [`Followed::must_extend`] names.
#[derive(Debug)]
pub struct Arrived {
    pub followed: Followed,
    pub checkpoint: Checkpoint,
    /// The checkpoint's signed note, to keep.
    pub note: String,
}

/// Follows the server from `pinned` to `running` (see
/// `sealdrop_verify::handover::follow`), with `seen` every checkpoint of
/// the pinned log the person holds.
pub fn follow(
    client: &Client,
    pinned: &LogPins,
    running: &LogPins,
    seen: &[Checkpoint],
) -> Result<Arrived, RestoreError> {
    let notes = match client.log_handover()? {
        Some(chain) => split_chain(&chain).map_err(RestoreError::Chain)?,
        None => Vec::new(),
    };
    let followed = handover::follow(pinned, running, seen, &notes)?;
    for proof in &followed.old_proofs {
        let path = client.old_log_consistency(proof.hop, proof.from.size(), proof.to.size())?;
        proof.check(&path)?;
    }
    let note = client.log_checkpoint()?;
    let checkpoint = log_check::checkpoint(&note, &running.origin, &running.key)
        .map_err(RestoreError::Checkpoint)?;
    for prefix in &followed.must_extend {
        let path = client.log_consistency(prefix.size(), checkpoint.size())?;
        log_check::extends(prefix, &checkpoint, &path).map_err(|why| {
            RestoreError::NotContinued {
                size: prefix.size(),
                why,
            }
        })?;
    }
    Ok(Arrived {
        followed,
        checkpoint,
        note: String::from_utf8_lossy(&note).into_owned(),
    })
}
