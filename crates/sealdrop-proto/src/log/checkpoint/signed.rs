//! [`SignedCheckpoint`]: a checkpoint as a signed note under the log key.

use crate::keys::{self, SigningSecret};

use super::note::{Note, NoteSignature, SIG_TYPE_ED25519, key_id};
use super::{Checkpoint, CheckpointError};

/// A checkpoint whose note carries a verified signature by the log key,
/// with every other signature line kept (witness cosignatures among them,
/// checked separately by [`super::count_cosignatures`]). Constructed only
/// by signing or by [`SignedCheckpoint::parse_and_verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    checkpoint: Checkpoint,
    note: Note,
}

impl SignedCheckpoint {
    /// Signs the checkpoint's body with the log key under the checkpoint's
    /// origin as key name: one line `— <origin> base64(key_id ‖ Ed25519(body))`.
    pub fn sign(checkpoint: Checkpoint, log_key: &SigningSecret) -> Self {
        let body = checkpoint.body();
        // The C2SP formats sign the bare note text: no label. The text has
        // no NUL, every label ends in one (module docs), so this signature
        // is never valid for a labelled message.
        let signature = log_key.sign_labelled(b"", body.as_bytes());
        let line = NoteSignature {
            name: checkpoint.origin().to_owned(),
            key_id: key_id(
                checkpoint.origin(),
                SIG_TYPE_ED25519,
                log_key.verifying_key().as_bytes(),
            ),
            signature: signature.to_vec(),
        };
        let mut note = Note::unsigned(body);
        note.push_own(line);
        Self { checkpoint, note }
    }

    /// Parses a checkpoint note and verifies it under the pinned log key:
    /// the note must parse ([`Note::parse`]), carry a signature line of
    /// key name `origin` and the key's ID that verifies strictly (lines of
    /// other keys are ignored; a line of this key that fails refuses the
    /// note), and its text must be a checkpoint body ([`Checkpoint::parse_body`])
    /// whose origin is `origin`.
    pub fn parse_and_verify(
        note: &[u8],
        origin: &str,
        log_key: &[u8; 32],
    ) -> Result<Self, CheckpointError> {
        let key = keys::parse_verifying_key(log_key).map_err(|_| CheckpointError::InvalidKey)?;
        let note = Note::parse(note)?;
        note.verify_ed25519(origin, &key)?;
        let checkpoint = Checkpoint::parse_body(note.text())?;
        if checkpoint.origin() != origin {
            return Err(CheckpointError::OriginMismatch {
                expected: origin.to_owned(),
                found: checkpoint.origin().to_owned(),
            });
        }
        Ok(Self { checkpoint, note })
    }

    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    pub fn into_checkpoint(self) -> Checkpoint {
        self.checkpoint
    }

    /// Every signature line, the log's included, in note order.
    pub fn signatures(&self) -> &[NoteSignature] {
        self.note.signatures()
    }

    /// The whole note: body, blank line, signature lines.
    pub fn to_text(&self) -> String {
        self.note.to_text()
    }

    /// Appends a signature line, typically a witness's cosignature
    /// ([`super::cosign`]). It is not verified here: cosignatures are
    /// counted against the trusted witnesses by whoever reads the note.
    pub fn add_signature(&mut self, signature: NoteSignature) -> Result<(), CheckpointError> {
        self.note.add_signature(signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::Digest;
    use crate::log::checkpoint::note::NoteSignature;

    /// A note signed by the pinned key under the pinned name, whose body
    /// names another origin, is refused: the key signs for one log only.
    /// (`sign` cannot make such a note; this builds one by hand.)
    #[test]
    fn a_body_of_another_origin_is_refused() {
        let key = SigningSecret::from_seed(&[3; 32]);
        let body = Checkpoint::new("other.example/log", 1, Digest::default())
            .unwrap()
            .body();
        let mut note = Note::unsigned(body.clone());
        note.push_own(NoteSignature {
            name: "reports.example/log".into(),
            key_id: key_id(
                "reports.example/log",
                SIG_TYPE_ED25519,
                key.verifying_key().as_bytes(),
            ),
            signature: key.sign_labelled(b"", body.as_bytes()).to_vec(),
        });
        let result = SignedCheckpoint::parse_and_verify(
            note.to_text().as_bytes(),
            "reports.example/log",
            key.verifying_key().as_bytes(),
        );
        assert_eq!(
            result,
            Err(CheckpointError::OriginMismatch {
                expected: "reports.example/log".into(),
                found: "other.example/log".into(),
            })
        );
    }
}
