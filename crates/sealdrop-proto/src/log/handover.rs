//! The handover note: how a log that was restored from a backup hands its
//! clients over to the new log that continues it (`docs/PROTOCOL.md`
//! §14.11).
//!
//! A restore starts a new log: a new key and a new origin, over the
//! restored database's leaves. Clients pinned the *old* key and origin, and
//! must not trust a new key merely because the server shows it. So the
//! restore has the old key sign a handover: a C2SP signed note under the old
//! origin that names the new origin and key, quotes the old log's last
//! checkpoint, and says how much of the old log the restored data holds.
//!
//! ```text
//! text = "sealdrop handover v1\n"
//!        "old " old_origin "\n"
//!        "new " new_origin "\n"
//!        "key " base64(new_log_key[32]) "\n"
//!        "restored " decimal(k) " " base64(root_k) "\n"
//!        *("proof " base64(node) "\n")          PROOF(k, D[N]) in the old tree
//!        old_origin "\n" decimal(N) "\n" base64(root_N) "\n"   the old checkpoint's body
//! note = text "\n" "— " old_origin " " base64(key_id[4] ‖ Ed25519(old log key, text)) "\n"
//! ```
//!
//! `k` is the number of leaves the restored database holds, `root_k` the
//! old tree's root at that size, `N` and `root_N` the old log's last
//! checkpoint, and the proof lines the RFC 9162 consistency proof from `k`
//! to `N` in the old tree. A `Handover` is only ever built valid: the proof
//! verifies, `k ≤ N`, the new origin differs from the old, and the new key
//! is a valid Ed25519 key. The parser accepts exactly what [`Handover::text`]
//! writes.
//!
//! **Never confused with a checkpoint.** The old key signs checkpoint bodies
//! and handover texts under the same key name (the old origin) and key ID.
//! A checkpoint body has three or four lines and its first line is an
//! origin, which holds no space; a handover's first line is
//! [`HANDOVER_HEADER`], which does, and it has at least eight lines. A
//! cosigned message starts with `cosignature/v1`. Labelled messages hold a
//! NUL, which no note text does (`super::checkpoint`). So no signature over
//! one verifies as another.

use data_encoding::BASE64;
use thiserror::Error;

use crate::hash::Digest;
use crate::keys::{self, SigningSecret};

use super::checkpoint::{
    Checkpoint, CheckpointError, MAX_NOTE_LEN, Note, NoteSignature, SIG_TYPE_ED25519, key_id,
};
use super::merkle::{ProofError, verify_consistency};

/// The first line of every handover text: its type and version. It holds
/// spaces, so it is never an origin and never a checkpoint's first line.
pub const HANDOVER_HEADER: &str = "sealdrop handover v1";

/// Restores a server went through, at most: a longer chain is refused.
pub const MAX_CHAIN: usize = 64;

/// Splits a chain of handover notes, as a server restored more than once
/// serves them (concatenated, oldest first), into its notes. A note ends
/// after its signature lines (each beginning `"— "`), which follow its one
/// blank line; the next line begins the next note. The notes are not
/// parsed here: [`Handover::verify`] does that, one by one.
pub fn split_chain(chain: &[u8]) -> Result<Vec<Vec<u8>>, HandoverError> {
    if chain.len() > MAX_CHAIN * MAX_NOTE_LEN {
        return Err(HandoverError::Malformed("the handover chain is too long"));
    }
    let mut notes = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    let mut in_signatures = false;
    for line in chain.split_inclusive(|b| *b == b'\n') {
        let is_signature = line.starts_with("— ".as_bytes());
        if in_signatures && !is_signature {
            notes.push(std::mem::take(&mut current));
            in_signatures = false;
        }
        if line == b"\n" {
            in_signatures = true;
        }
        current.extend_from_slice(line);
    }
    if !current.is_empty() {
        notes.push(current);
    }
    if notes.len() > MAX_CHAIN {
        return Err(HandoverError::Malformed("the handover chain is too long"));
    }
    Ok(notes)
}

/// Why a handover was refused, or could not be made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HandoverError {
    /// The note did not parse, or is not signed by the pinned old key
    /// under the old origin, or a quoted checkpoint part is invalid.
    #[error("the handover note is not signed by the old log key: {0}")]
    Note(#[from] CheckpointError),
    #[error("the handover text is malformed: {0}")]
    Malformed(&'static str),
    #[error("the new log key in the handover is not a valid Ed25519 key")]
    InvalidKey,
    #[error("the handover is from origin {found}, not {expected}")]
    OriginMismatch { expected: String, found: String },
    #[error("the handover names the old origin as the new one")]
    SameOrigin,
    #[error("the handover restores {restored} leaves of a log of only {old}")]
    RestoredBeyondOld { restored: u64, old: u64 },
    #[error("the restored prefix is not a prefix of the old log: {0}")]
    Inconsistent(ProofError),
    #[error("the handover note would be over {MAX_NOTE_LEN} bytes")]
    TooLong,
}

/// A verified-valid handover from an old log to the new log that continues
/// it. Built by [`Handover::new`], [`Handover::verify`] or
/// [`Handover::parse_unverified`]; each checks every rule of the format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handover {
    old: Checkpoint,
    restored: Checkpoint,
    proof: Vec<Digest>,
    new_origin: String,
    new_key: [u8; 32],
}

impl Handover {
    /// A handover from the log whose last checkpoint is `old` to the log of
    /// `new_origin` and `new_key`, which continues the old log's first
    /// `restored_size` leaves (whose old root is `restored_root`); `proof`
    /// is the old tree's consistency proof from `restored_size` to
    /// `old.size()`. Refuses anything the parser would refuse.
    pub fn new(
        old: Checkpoint,
        restored_size: u64,
        restored_root: Digest,
        proof: Vec<Digest>,
        new_origin: &str,
        new_key: [u8; 32],
    ) -> Result<Self, HandoverError> {
        // The quote is the tree (origin, size, root); the old log's heads
        // line, if any, says nothing about the handover.
        let old = old.without_heads();
        let restored = Checkpoint::new(old.origin(), restored_size, restored_root)?;
        // Checks the origin's rules (length, key name).
        let new_origin = Checkpoint::new(new_origin, 0, Digest::default())?
            .origin()
            .to_owned();
        if new_origin == old.origin() {
            return Err(HandoverError::SameOrigin);
        }
        keys::parse_verifying_key(&new_key).map_err(|_| HandoverError::InvalidKey)?;
        if restored.size() > old.size() {
            return Err(HandoverError::RestoredBeyondOld {
                restored: restored.size(),
                old: old.size(),
            });
        }
        verify_consistency(
            restored.size(),
            old.size(),
            restored.root(),
            old.root(),
            &proof,
        )
        .map_err(HandoverError::Inconsistent)?;
        let handover = Self {
            old,
            restored,
            proof,
            new_origin,
            new_key,
        };
        // A valid proof has about 64 nodes at most, an origin 256 bytes, so
        // this holds by a wide margin; checked so every handover signs into
        // a note that parses.
        if handover.text().len() + SIGNATURE_LINE_MAX > MAX_NOTE_LEN {
            return Err(HandoverError::TooLong);
        }
        Ok(handover)
    }

    /// The old log's origin: the key name the handover is signed under.
    pub fn old_origin(&self) -> &str {
        self.old.origin()
    }

    /// The old log's last checkpoint, as quoted (signed by the old key as
    /// part of the handover).
    pub fn old_checkpoint(&self) -> &Checkpoint {
        &self.old
    }

    /// The old log at the restored size `k`: origin the old origin, size
    /// `k`, root `root_k`. The new log's first `k` leaves are these leaves:
    /// its checkpoints must be consistent with this one.
    pub fn restored(&self) -> &Checkpoint {
        &self.restored
    }

    /// The old tree's consistency proof from the restored size to the old
    /// checkpoint's size.
    pub fn proof(&self) -> &[Digest] {
        &self.proof
    }

    pub fn new_origin(&self) -> &str {
        &self.new_origin
    }

    /// The new log key (raw Ed25519), valid by construction.
    pub fn new_key(&self) -> &[u8; 32] {
        &self.new_key
    }

    /// The handover text: the exact bytes the old key signs.
    pub fn text(&self) -> String {
        let mut out = format!(
            "{HANDOVER_HEADER}\nold {}\nnew {}\nkey {}\nrestored {} {}\n",
            self.old.origin(),
            self.new_origin,
            BASE64.encode(&self.new_key),
            self.restored.size(),
            BASE64.encode(self.restored.root()),
        );
        for node in &self.proof {
            out.push_str("proof ");
            out.push_str(&BASE64.encode(node));
            out.push('\n');
        }
        out.push_str(&self.old.body());
        out
    }

    /// Signs the handover with the old log key under the old origin as key
    /// name, as the old log signed its checkpoints, and returns the note.
    /// The caller passes the key that signed [`Handover::old_checkpoint`];
    /// a note signed by any other key verifies under no pin that matters.
    pub fn sign(&self, old_key: &SigningSecret) -> String {
        let text = self.text();
        // Bare note text, no label, as signed-note requires; see the module
        // docs for why it never verifies as anything else.
        let signature = old_key.sign_labelled(b"", text.as_bytes());
        let line = NoteSignature {
            name: self.old.origin().to_owned(),
            key_id: key_id(
                self.old.origin(),
                SIG_TYPE_ED25519,
                old_key.verifying_key().as_bytes(),
            ),
            signature: signature.to_vec(),
        };
        format!("{text}\n{}", line.to_line())
    }

    /// Parses a handover note and verifies it under the pinned old log key
    /// and origin: the note must parse ([`Note::parse`]) and carry a
    /// signature line of key name `old_origin` and the old key's ID that
    /// verifies strictly (other lines are ignored, one of that key that
    /// fails refuses the note); only then is its text parsed, strictly, and
    /// its old origin must be `old_origin`.
    pub fn verify(
        note: &[u8],
        old_origin: &str,
        old_key: &[u8; 32],
    ) -> Result<Self, HandoverError> {
        let key = keys::parse_verifying_key(old_key).map_err(|_| CheckpointError::InvalidKey)?;
        let note = Note::parse(note)?;
        note.verify_ed25519(old_origin, &key)?;
        let handover = Self::parse_text(note.text())?;
        if handover.old_origin() != old_origin {
            return Err(HandoverError::OriginMismatch {
                expected: old_origin.to_owned(),
                found: handover.old_origin().to_owned(),
            });
        }
        Ok(handover)
    }

    /// Parses a handover note **without verifying its signature**: for the
    /// server, which holds no old key, to check that the note it is about
    /// to serve names its own key and origin. Clients use
    /// [`Handover::verify`].
    pub fn parse_unverified(note: &[u8]) -> Result<Self, HandoverError> {
        Self::parse_text(Note::parse(note)?.text())
    }

    /// Parses a handover text strictly: the header, then the `old`, `new`,
    /// `key` and `restored` lines in that order, any `proof` lines, and a
    /// checkpoint body of the old origin as the last three lines. Every
    /// number is canonical decimal, every hash and key canonical base64;
    /// then every rule of [`Handover::new`] must hold.
    pub fn parse_text(text: &str) -> Result<Self, HandoverError> {
        let Some(lines) = text.strip_suffix('\n') else {
            return Err(HandoverError::Malformed("the text must end with a newline"));
        };
        let lines: Vec<&str> = lines.split('\n').collect();
        let Some((fixed, rest)) = lines.split_first_chunk::<5>() else {
            return Err(HandoverError::Malformed("the text is too short"));
        };
        let [header, old, new, key, restored] = *fixed;
        if header != HANDOVER_HEADER {
            return Err(HandoverError::Malformed(
                "the first line is not \"sealdrop handover v1\"",
            ));
        }
        let old_origin = field(old, "old ")?;
        let new_origin = field(new, "new ")?;
        let new_key: [u8; 32] = decode_base64(field(key, "key ")?)
            .and_then(|k| k.try_into().ok())
            .ok_or(HandoverError::Malformed(
                "the key is not the canonical base64 of 32 bytes",
            ))?;
        let (size, root) =
            field(restored, "restored ")?
                .split_once(' ')
                .ok_or(HandoverError::Malformed(
                    "the restored line must hold a size and a root",
                ))?;
        let restored_size = parse_size(size)?;
        let restored_root = parse_digest(root)?;
        let Some((proof_lines, body)) = rest.split_last_chunk::<3>() else {
            return Err(HandoverError::Malformed(
                "the text must end with the old checkpoint's body",
            ));
        };
        let proof = proof_lines
            .iter()
            .map(|line| parse_digest(field(line, "proof ")?))
            .collect::<Result<Vec<_>, _>>()?;
        let old = Checkpoint::parse_body(&format!("{}\n{}\n{}\n", body[0], body[1], body[2]))?;
        if old.origin() != old_origin {
            return Err(HandoverError::Malformed(
                "the quoted checkpoint is not of the old origin",
            ));
        }
        let handover = Self::new(
            old,
            restored_size,
            restored_root,
            proof,
            new_origin,
            new_key,
        )?;
        // Implied by the checks above; kept as the definition of canonical.
        if handover.text() != text {
            return Err(HandoverError::Malformed("the text is not canonical"));
        }
        Ok(handover)
    }
}

/// The longest signature line `sign` writes: "— ", a 256-byte name, a
/// space, base64 of 68 bytes (92) and a newline, plus the blank line.
const SIGNATURE_LINE_MAX: usize = 3 + 256 + 1 + 92 + 1 + 1;

fn field<'a>(line: &'a str, prefix: &'static str) -> Result<&'a str, HandoverError> {
    line.strip_prefix(prefix)
        .ok_or(HandoverError::Malformed(match prefix {
            "old " => "the second line must be `old <origin>`",
            "new " => "the third line must be `new <origin>`",
            "key " => "the fourth line must be `key <base64>`",
            "restored " => "the fifth line must be `restored <size> <root>`",
            _ => "a line between `restored` and the checkpoint is not `proof <base64>`",
        }))
}

/// ASCII decimal, no sign, no leading zeros except `"0"` itself, ≤ u64::MAX.
fn parse_size(text: &str) -> Result<u64, HandoverError> {
    let bad = HandoverError::Malformed("the restored size is not a canonical decimal u64");
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if !canonical {
        return Err(bad);
    }
    text.parse().map_err(|_| bad)
}

fn parse_digest(text: &str) -> Result<Digest, HandoverError> {
    decode_base64(text)
        .and_then(|d| d.try_into().ok())
        .ok_or(HandoverError::Malformed(
            "a hash is not the canonical base64 of 32 bytes",
        ))
}

/// Standard padded base64, canonical only (the encoding that re-encodes to
/// the input), as the checkpoint body's root.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let bytes = BASE64.decode(text.as_bytes()).ok()?;
    (BASE64.encode(&bytes) == text).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::merkle::{MerkleTree, empty_root, leaf_hash};

    const OLD: &str = "reports.example.org/log";
    const NEW: &str = "reports.example.org/log-2";

    fn old_key() -> SigningSecret {
        SigningSecret::from_seed(&[7; 32])
    }

    fn old_public() -> [u8; 32] {
        old_key().verifying_key().to_bytes()
    }

    fn new_public() -> [u8; 32] {
        SigningSecret::from_seed(&[8; 32])
            .verifying_key()
            .to_bytes()
    }

    /// The 8-leaf Certificate Transparency test tree (`tests/merkle.rs`).
    fn ct_tree() -> MerkleTree {
        let mut tree = MerkleTree::new();
        for hex in [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ] {
            let data = data_encoding::HEXLOWER.decode(hex.as_bytes()).unwrap();
            tree.push(leaf_hash(&data));
        }
        tree
    }

    fn handover(tree: &MerkleTree, k: u64) -> Handover {
        let n = tree.len();
        Handover::new(
            Checkpoint::new(OLD, n, tree.root()).unwrap(),
            k,
            tree.root_at(k).unwrap(),
            tree.consistency_proof(k, n).unwrap(),
            NEW,
            new_public(),
        )
        .unwrap()
    }

    fn verify(note: &str) -> Result<Handover, HandoverError> {
        Handover::verify(note.as_bytes(), OLD, &old_public())
    }

    /// Computed once, independently of this crate, with Python 3 `hashlib`
    /// and `cryptography` 48.0.0: the RFC 9162 MTH and PROOF recursions
    /// over the CT test leaves, `Ed25519PrivateKey.from_private_bytes`
    /// with seeds `07`×32 (old) and `08`×32 (new), the key ID
    /// `sha256(b"reports.example.org/log\n\x01" + old_pk)[:4]`, and the
    /// signature over the text above the blank line. The root of 8 leaves
    /// is the published `5dc9da79…`, and the first proof node the published
    /// `0298d122…` of transparency-dev's `verify_test.go` (3 → 8), which
    /// checks the method.
    const KAT: &str = "sealdrop handover v1\n\
old reports.example.org/log\n\
new reports.example.org/log-2\n\
key E5j2LG0aRXxRumpLXz29L2n8qTIWIY3ImX5Ba9F9k8o=\n\
restored 3 rra8/idLcKFPsGel5VeCZNsPqbUa9eC6FZFY8yngbnc=\n\
proof ApjRIpBtz8EIkstTpzmS/FufST6kybrbJ7eRtBJ6f+c=\n\
proof B1Bqhf2d0vEg62lPhgEeW7RmLlxBWmKRcDPUqWJEh+c=\n\
proof +sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU=\n\
proof a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ=\n\
reports.example.org/log\n\
8\n\
XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\
\n\
— reports.example.org/log PVfij43RUNtWiv+KUaVrWglDF3G1xn4fCtz8wNsxp4FbZ0RkhYcGoIOyBXZWFfObtV0pogpk/NleDZ3gYPO9k4sq5AU=\n";

    #[test]
    fn a_chain_splits_into_its_notes_exactly() {
        let second = handover(&ct_tree(), 5).sign(&old_key());
        let chain = format!("{KAT}{second}{KAT}");
        let notes = split_chain(chain.as_bytes()).unwrap();
        assert_eq!(
            notes,
            [KAT.as_bytes(), second.as_bytes(), KAT.as_bytes()].map(<[u8]>::to_vec)
        );
        assert!(verify(std::str::from_utf8(&notes[1]).unwrap()).is_ok());
        assert_eq!(
            split_chain(KAT.as_bytes()).unwrap(),
            [KAT.as_bytes().to_vec()]
        );
        assert_eq!(split_chain(b"").unwrap(), Vec::<Vec<u8>>::new());
        let too_many = KAT.repeat(MAX_CHAIN + 1);
        assert!(split_chain(too_many.as_bytes()).is_err());
    }

    #[test]
    fn the_known_answer_signs_and_verifies() {
        let tree = ct_tree();
        let h = handover(&tree, 3);
        assert_eq!(h.sign(&old_key()), KAT);
        let v = verify(KAT).unwrap();
        assert_eq!(v, h);
        assert_eq!(v.old_origin(), OLD);
        assert_eq!(v.new_origin(), NEW);
        assert_eq!(v.new_key(), &new_public());
        assert_eq!(v.old_checkpoint().size(), 8);
        assert_eq!(v.old_checkpoint().root(), &tree.root());
        assert_eq!(v.restored().size(), 3);
        assert_eq!(v.restored().origin(), OLD);
        assert_eq!(v.restored().root(), &tree.root_at(3).unwrap());
        assert_eq!(v.proof().len(), 4);
        // The quoted body is the old log's own checkpoint body, verbatim.
        assert!(KAT.contains(&Checkpoint::new(OLD, 8, tree.root()).unwrap().body()));
        assert_eq!(Handover::parse_unverified(KAT.as_bytes()).unwrap(), h);
    }

    #[test]
    fn every_restored_size_round_trips() {
        let tree = ct_tree();
        for k in 0..=8 {
            let h = handover(&tree, k);
            let note = h.sign(&old_key());
            assert_eq!(verify(&note).unwrap(), h, "k = {k}");
            assert_eq!(Handover::parse_text(&h.text()).unwrap(), h);
        }
        // An empty old log hands over an empty one.
        let empty = Handover::new(
            Checkpoint::new(OLD, 0, empty_root()).unwrap(),
            0,
            empty_root(),
            Vec::new(),
            NEW,
            new_public(),
        )
        .unwrap();
        assert_eq!(verify(&empty.sign(&old_key())).unwrap(), empty);
    }

    #[test]
    fn every_flipped_bit_and_truncation_is_refused() {
        let bytes = KAT.as_bytes();
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.to_vec();
                b[i] ^= 1 << bit;
                assert!(
                    Handover::verify(&b, OLD, &old_public()).is_err(),
                    "byte {i} bit {bit}"
                );
            }
        }
        for len in 0..bytes.len() {
            assert!(
                Handover::verify(&bytes[..len], OLD, &old_public()).is_err(),
                "truncated to {len}"
            );
        }
    }

    #[test]
    fn a_wrong_key_or_old_origin_is_refused() {
        let other = SigningSecret::from_seed(&[9; 32])
            .verifying_key()
            .to_bytes();
        assert_eq!(
            Handover::verify(KAT.as_bytes(), OLD, &other),
            Err(HandoverError::Note(CheckpointError::NoValidSignature {
                name: OLD.into()
            }))
        );
        // The new key cannot vouch for itself.
        assert!(Handover::verify(KAT.as_bytes(), OLD, &new_public()).is_err());
        assert_eq!(
            Handover::verify(KAT.as_bytes(), "reports.example.org/other", &old_public()),
            Err(HandoverError::Note(CheckpointError::NoValidSignature {
                name: "reports.example.org/other".into()
            }))
        );
        assert_eq!(
            Handover::verify(KAT.as_bytes(), OLD, &[0; 32]).map(|_| ()),
            Err(HandoverError::Note(CheckpointError::InvalidKey))
        );
    }

    /// Signs `text` by hand, so the parser, not the signature, must refuse.
    fn signed(text: &str) -> String {
        let line = NoteSignature {
            name: OLD.into(),
            key_id: key_id(OLD, SIG_TYPE_ED25519, &old_public()),
            signature: old_key().sign_labelled(b"", text.as_bytes()).to_vec(),
        };
        format!("{text}\n{}", line.to_line())
    }

    #[test]
    fn validly_signed_malformed_texts_are_refused() {
        let text = handover(&ct_tree(), 3).text();
        // (the altered text, why it is wrong, the refusal's variant)
        let cases: Vec<(String, &str, &str)> = vec![
            (text.replacen("v1", "v2", 1), "header", "Malformed"),
            (
                text.replacen("old ", "old  ", 1),
                "a space in the origin",
                "Malformed",
            ),
            (text.replacen("new ", "new+", 1), "new line", "Malformed"),
            (
                text.replacen("restored 3", "restored 03", 1),
                "leading zero",
                "Malformed",
            ),
            (
                text.replacen("restored 3", "restored 4", 1),
                "wrong size",
                "Inconsistent",
            ),
            (
                text.replacen("rra8", "rrb8", 1),
                "wrong restored root",
                "Inconsistent",
            ),
            (
                text.replacen("proof ", "proof  ", 1),
                "proof spacing",
                "Malformed",
            ),
            (
                text.replacen("\n8\n", "\n9\n", 1),
                "wrong old size",
                "Inconsistent",
            ),
            (
                text.replacen("\n8\n", "\n2\n", 1),
                "old size below the restored",
                "RestoredBeyondOld",
            ),
            (
                text.replacen(
                    "new reports.example.org/log-2",
                    "new reports.example.org/log",
                    1,
                ),
                "same origin",
                "SameOrigin",
            ),
            (
                text.replacen("key E5j2", "key E5j2=", 1),
                "key with padding inside",
                "Malformed",
            ),
            (
                text.replacen("=\nproof", "\nproof", 1),
                "unpadded base64",
                "Malformed",
            ),
            (
                text.trim_end_matches('\n').to_owned(),
                "no final newline",
                "Note(MalformedNote",
            ),
            (format!("{text}extension\n"), "trailing line", "Malformed"),
            (
                text.replacen(
                    "reports.example.org/log\n8",
                    "reports.example.org/other\n8",
                    1,
                ),
                "quoted origin",
                "Malformed",
            ),
        ];
        for (bad, why, variant) in cases {
            assert_ne!(bad, text, "{why}");
            let refusal = verify(&signed(&bad)).unwrap_err();
            assert!(
                format!("{refusal:?}").starts_with(variant),
                "{why}: {refusal:?}"
            );
        }
        assert_eq!(
            Handover::parse_text(text.trim_end_matches('\n')),
            Err(HandoverError::Malformed("the text must end with a newline"))
        );
        // Dropping or duplicating a proof node breaks the proof.
        let lines: Vec<&str> = text.lines().collect();
        let dropped = [&lines[..5], &lines[6..]].concat().join("\n") + "\n";
        assert!(matches!(
            verify(&signed(&dropped)),
            Err(HandoverError::Inconsistent(_))
        ));
        let doubled = [&lines[..6], &lines[5..]].concat().join("\n") + "\n";
        assert!(matches!(
            verify(&signed(&doubled)),
            Err(HandoverError::Inconsistent(_))
        ));
        // A validly signed checkpoint body is not a handover.
        let body = Checkpoint::new(OLD, 8, ct_tree().root()).unwrap().body();
        assert!(verify(&signed(&body)).is_err());
    }

    #[test]
    fn the_constructor_refuses_what_the_parser_would() {
        let tree = ct_tree();
        let old = Checkpoint::new(OLD, 8, tree.root()).unwrap();
        let root3 = tree.root_at(3).unwrap();
        let proof = tree.consistency_proof(3, 8).unwrap();
        let make = |k, root, proof: Vec<Digest>, origin: &str, key| {
            Handover::new(old.clone(), k, root, proof, origin, key)
        };
        assert_eq!(
            make(3, root3, proof.clone(), OLD, new_public()),
            Err(HandoverError::SameOrigin)
        );
        assert!(matches!(
            make(3, root3, proof.clone(), "bad origin", new_public()),
            Err(HandoverError::Note(CheckpointError::InvalidOrigin(_)))
        ));
        assert_eq!(
            make(3, root3, proof.clone(), NEW, [0; 32]),
            Err(HandoverError::InvalidKey)
        );
        assert_eq!(
            make(9, root3, Vec::new(), NEW, new_public()),
            Err(HandoverError::RestoredBeyondOld {
                restored: 9,
                old: 8
            })
        );
        assert!(matches!(
            make(
                3,
                tree.root_at(4).unwrap(),
                proof.clone(),
                NEW,
                new_public()
            ),
            Err(HandoverError::Inconsistent(_))
        ));
        assert!(matches!(
            make(3, root3, proof[1..].to_vec(), NEW, new_public()),
            Err(HandoverError::Inconsistent(_))
        ));
    }
}
