//! C2SP `signed-note` (<https://c2sp.org/signed-note>): text signed by one or
//! more keys, each signature on its own line after a blank line.
//!
//! Parsing follows the spec and its reference implementation
//! (golang.org/x/mod/sumdb/note): the text is everything up to and
//! including the newline before the *last* blank line; every line after it
//! is `"— " name " " base64(key_id[4] ‖ signature) "\n"`. Verification
//! ignores lines whose (name, key ID) pair is not the expected key's, as the
//! spec requires (that is how witnesses' cosignatures and a rotated key's
//! signatures ride along), refuses the note when a line that claims to be
//! the expected key does not verify (the spec's SHOULD), and refuses it
//! when no line of the expected key verifies (its MUST).

use data_encoding::BASE64;
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest as _, Sha256};

use super::{CheckpointError, decode_base64};

/// The largest note accepted, in bytes. A checkpoint with its log signature
/// and 16 cosignatures (the least the spec lets a verifier accept) under
/// 256-byte names takes about 6 KiB.
pub const MAX_NOTE_LEN: usize = 16 * 1024;

/// The most signature lines accepted in one note (the reference
/// implementation's limit; the spec requires at least 16).
pub const MAX_SIGNATURES: usize = 100;

/// The longest key name accepted, in bytes.
pub const MAX_KEY_NAME_LEN: usize = 256;

/// Signature type of plain Ed25519 note signatures (signed-note).
pub const SIG_TYPE_ED25519: u8 = 0x01;

/// Signature type of timestamped Ed25519 witness cosignatures
/// (tlog-cosignature, `cosignature/v1`).
pub const SIG_TYPE_COSIGNATURE_V1: u8 = 0x04;

/// The signed-note key ID: the first four bytes of
/// SHA-256(name ‖ 0x0A ‖ signature type ‖ public key). It only picks the key
/// a line claims; the pinned public key is what authenticates.
pub fn key_id(name: &str, signature_type: u8, public_key: &[u8]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0a, signature_type]);
    h.update(public_key);
    let digest: [u8; 32] = h.finalize().into();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// A key name as signed-note allows it: non-empty, no Unicode space, no
/// `+`; and here also at most [`MAX_KEY_NAME_LEN`] bytes and no control
/// character (which a note cannot hold anyway).
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_KEY_NAME_LEN
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

/// One signature line: the key name, the key ID, and the signature bytes
/// that follow the key ID (64 for Ed25519, 72 for a cosignature's
/// timestamp and signature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_id: [u8; 4],
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// The line as it appears in a note, newline included.
    pub fn to_line(&self) -> String {
        let mut payload = Vec::with_capacity(4 + self.signature.len());
        payload.extend_from_slice(&self.key_id);
        payload.extend_from_slice(&self.signature);
        format!("— {} {}\n", self.name, BASE64.encode(&payload))
    }

    fn parse_line(line: &str) -> Result<Self, CheckpointError> {
        let Some(rest) = line.strip_prefix("— ") else {
            return Err(CheckpointError::MalformedNote(
                "a signature line must start with an em dash and a space",
            ));
        };
        let Some((name, encoded)) = rest.split_once(' ') else {
            return Err(CheckpointError::MalformedNote(
                "a signature line must have a name and a signature",
            ));
        };
        if !is_valid_key_name(name) {
            return Err(CheckpointError::InvalidKeyName);
        }
        let payload = decode_base64(encoded).ok_or(CheckpointError::MalformedNote(
            "a signature is not canonical base64",
        ))?;
        let Some((key_id, signature)) = payload.split_first_chunk::<4>() else {
            return Err(CheckpointError::MalformedNote(
                "a signature is shorter than its key ID",
            ));
        };
        if signature.is_empty() {
            return Err(CheckpointError::MalformedNote("a signature is empty"));
        }
        Ok(Self {
            name: name.to_owned(),
            key_id: *key_id,
            signature: signature.to_vec(),
        })
    }

    /// Whether this line claims to be by the key with this name and ID.
    pub fn is_by(&self, name: &str, key_id: &[u8; 4]) -> bool {
        self.name == name && self.key_id == *key_id
    }
}

/// A parsed signed note, signatures not yet verified: its text (final
/// newline included, separating blank line excluded) and its signature
/// lines in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// Parses a note strictly, before looking at any signature: at most
    /// [`MAX_NOTE_LEN`] bytes, UTF-8, no control character but `'\n'`, a
    /// blank line, then 1 to [`MAX_SIGNATURES`] well-formed signature lines,
    /// the last ending in `'\n'`. Never panics, on any input.
    pub fn parse(note: &[u8]) -> Result<Self, CheckpointError> {
        if note.len() > MAX_NOTE_LEN {
            return Err(CheckpointError::TooLong {
                len: note.len(),
                max: MAX_NOTE_LEN,
            });
        }
        if note.iter().any(|b| *b < 0x20 && *b != b'\n') {
            return Err(CheckpointError::ControlCharacter);
        }
        let note = std::str::from_utf8(note).map_err(|_| CheckpointError::NotUtf8)?;
        // Signature lines are never empty, so the last blank line is the
        // separator even when the text itself holds blank lines.
        let Some(split) = note.rfind("\n\n") else {
            return Err(CheckpointError::MalformedNote(
                "no blank line before the signatures",
            ));
        };
        let (text, signatures) = (&note[..=split], &note[split + 2..]);
        let Some(signatures) = signatures.strip_suffix('\n') else {
            return Err(CheckpointError::MalformedNote(
                "the signatures must end with a newline",
            ));
        };
        if signatures.is_empty() {
            return Err(CheckpointError::MalformedNote("no signature lines"));
        }
        let mut parsed = Vec::new();
        for line in signatures.split('\n') {
            if parsed.len() == MAX_SIGNATURES {
                return Err(CheckpointError::TooManySignatures {
                    max: MAX_SIGNATURES,
                });
            }
            parsed.push(NoteSignature::parse_line(line)?);
        }
        Ok(Self {
            text: text.to_owned(),
            signatures: parsed,
        })
    }

    /// A note of `text` without signatures yet, for the signers in this
    /// crate, which build the text themselves.
    pub(super) fn unsigned(text: String) -> Self {
        Self {
            text,
            signatures: Vec::new(),
        }
    }

    /// Appends a signature line made by this crate over a text it built
    /// (within the limits by construction: a body and one line are under
    /// 1 KiB).
    pub(super) fn push_own(&mut self, signature: NoteSignature) {
        self.signatures.push(signature);
    }

    /// The signed text, final newline included.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// The note as text: the text, a blank line, the signature lines.
    pub fn to_text(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for signature in &self.signatures {
            out.push_str(&signature.to_line());
        }
        out
    }

    /// Appends a signature line, refusing one that would make the note
    /// exceed [`MAX_NOTE_LEN`] or [`MAX_SIGNATURES`], so that every note
    /// built here parses again.
    pub fn add_signature(&mut self, signature: NoteSignature) -> Result<(), CheckpointError> {
        if !is_valid_key_name(&signature.name) {
            return Err(CheckpointError::InvalidKeyName);
        }
        if signature.signature.is_empty() {
            return Err(CheckpointError::MalformedNote("a signature is empty"));
        }
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(CheckpointError::TooManySignatures {
                max: MAX_SIGNATURES,
            });
        }
        let len = self.to_text().len() + signature.to_line().len();
        if len > MAX_NOTE_LEN {
            return Err(CheckpointError::TooLong {
                len,
                max: MAX_NOTE_LEN,
            });
        }
        self.signatures.push(signature);
        Ok(())
    }

    /// Verifies the note under one Ed25519 key (signature type 0x01) named
    /// `name`: every line with that name and the key's ID must verify
    /// strictly over the text, at least one must exist, and all other lines
    /// are ignored.
    pub fn verify_ed25519(&self, name: &str, key: &VerifyingKey) -> Result<(), CheckpointError> {
        let id = key_id(name, SIG_TYPE_ED25519, key.as_bytes());
        let mut verified = false;
        for line in self.signatures.iter().filter(|s| s.is_by(name, &id)) {
            let bad = || CheckpointError::BadSignature {
                name: name.to_owned(),
            };
            let signature = Signature::from_slice(&line.signature).map_err(|_| bad())?;
            key.verify_strict(self.text.as_bytes(), &signature)
                .map_err(|_| bad())?;
            verified = true;
        }
        if verified {
            Ok(())
        } else {
            Err(CheckpointError::NoValidSignature {
                name: name.to_owned(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningSecret;

    /// golang.org/x/mod/sumdb/note `note_test.go` `TestSign`: the key
    /// `PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALV…` (0x01 ‖ this seed) signs
    /// this text to exactly this note. Signing arbitrary text is
    /// crate-private, hence a unit test; `tests/checkpoint.rs` verifies the
    /// same note through the public API.
    #[test]
    fn signs_the_reference_implementations_note_byte_for_byte() {
        let seed: [u8; 32] = data_encoding::HEXLOWER
            .decode(b"810a1402d5146c8d84f2443330f54080ebf98ee17d9c74f6252fc5d5c7283173")
            .unwrap()
            .try_into()
            .unwrap();
        let key = SigningSecret::from_seed(&seed);
        let text = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
        let id = key_id(
            "PeterNeumann",
            SIG_TYPE_ED25519,
            key.verifying_key().as_bytes(),
        );
        assert_eq!(id, [0xc7, 0x4f, 0x20, 0xa3]);
        let mut note = Note::unsigned(text.to_owned());
        note.push_own(NoteSignature {
            name: "PeterNeumann".into(),
            key_id: id,
            signature: key.sign_labelled(b"", text.as_bytes()).to_vec(),
        });
        assert_eq!(
            note.to_text(),
            format!(
                "{text}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
            )
        );
        assert_eq!(Note::parse(note.to_text().as_bytes()).unwrap(), note);
    }
}
