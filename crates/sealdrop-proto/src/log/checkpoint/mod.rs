//! Checkpoints: the log's signed statements of its size and root, in the
//! formats of C2SP [`tlog-checkpoint`], [`signed-note`] and
//! [`tlog-cosignature`] (cosignature/v1), so that standard witnesses and
//! monitors can check sealdrop's log.
//!
//! ```text
//! body      = origin "\n" size "\n" base64(root) "\n"           (tlog-checkpoint)
//!             [ "sealdrop-heads " base64(heads_root) "\n" ]      (its one extension line, crate::log::heads)
//! note      = body "\n" 1*signature_line                          (signed-note)
//! signature_line = "— " key_name " " base64(key_id[4] ‖ signature) "\n"
//! log key ID     = SHA-256(key_name ‖ 0x0A ‖ 0x01 ‖ ed25519_pk[32])[:4]
//! log signature  = Ed25519(log key, body)
//! ```
//!
//! The log signs under its origin as key name (the checkpoint spec's
//! SHOULD); a client pins the pair (origin, log key) and accepts only
//! checkpoints of that origin.
//!
//! **Domain separation from sealdrop's own signatures.** The log key also
//! signs acknowledgements (`SIG_ACKNOWLEDGEMENT ‖ body`), and checkpoint
//! signatures are over the note text with *no* label, as the C2SP formats
//! require. The two can never be confused: every label ends with a NUL byte
//! and every labelled message therefore contains a NUL (`crate::labels`),
//! while note text never does. [`Checkpoint::new`] refuses an origin with
//! any control character, the body's other lines are digits and base64,
//! and the note parser refuses NUL and every other control character except
//! `'\n'`, as signed-note requires. So no byte string is both a labelled
//! message and a note text, and no signature over one verifies as a
//! signature over the other. Likewise a cosigned message (five or six
//! lines, the second `time …`) is never a checkpoint body (three or four
//! lines, the second decimal digits only).
//!
//! [`tlog-checkpoint`]: https://c2sp.org/tlog-checkpoint
//! [`signed-note`]: https://c2sp.org/signed-note
//! [`tlog-cosignature`]: https://c2sp.org/tlog-cosignature

use data_encoding::BASE64;
use thiserror::Error;

use crate::hash::Digest;

mod cosignature;
mod note;
mod signed;

pub use cosignature::{
    COSIGNATURE_V1_HEADER, Witness, cosign, cosigned_message, count_cosignatures,
    require_cosignatures, verify_cosignature,
};
pub use note::{
    MAX_KEY_NAME_LEN, MAX_NOTE_LEN, MAX_SIGNATURES, Note, NoteSignature, SIG_TYPE_COSIGNATURE_V1,
    SIG_TYPE_ED25519, is_valid_key_name, key_id,
};
pub use signed::SignedCheckpoint;

/// Why a checkpoint, note or cosignature was refused. The text is never
/// acted on before one of these has been ruled out.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CheckpointError {
    #[error("the note is {len} bytes, over the limit of {max}")]
    TooLong { len: usize, max: usize },
    #[error("the note has more than {max} signature lines")]
    TooManySignatures { max: usize },
    #[error("the note is not valid UTF-8")]
    NotUtf8,
    #[error("the note contains a control character other than newline")]
    ControlCharacter,
    #[error("the note is malformed: {0}")]
    MalformedNote(&'static str),
    #[error("a key name is empty, too long, or contains a space, a plus or a control character")]
    InvalidKeyName,
    #[error("the checkpoint origin is invalid: {0}")]
    InvalidOrigin(&'static str),
    #[error("the checkpoint body is malformed: {0}")]
    MalformedBody(&'static str),
    #[error("the checkpoint has extension lines other than one sealdrop-heads line")]
    ExtensionLines,
    #[error("the checkpoint carries no sealdrop-heads line, which this check needs")]
    NoHeads,
    #[error("the tree size is not a canonical decimal u64")]
    InvalidSize,
    #[error("the root hash is not the canonical base64 of 32 bytes")]
    InvalidRoot,
    #[error("the pinned public key is not a valid Ed25519 key")]
    InvalidKey,
    #[error("a signature by {name} does not verify")]
    BadSignature { name: String },
    #[error("the note has no signature by {name} with the expected key")]
    NoValidSignature { name: String },
    #[error("the checkpoint is for origin {found}, not {expected}")]
    OriginMismatch { expected: String, found: String },
    #[error("the cosignature timestamp is above 2^63 - 1")]
    TimestampOutOfRange,
    #[error("{have} distinct witnesses cosigned, {need} are required")]
    NotEnoughCosignatures { have: usize, need: usize },
}

/// The largest origin, in bytes: the limit of `log_origin` in the
/// acknowledgement and the invite's server pins, so that every origin a
/// client pinned can name a checkpoint.
pub const MAX_ORIGIN_LEN: usize = crate::invite::MAX_ORIGIN_LEN;

/// A log's state at one size: its origin, the number of leaves, and the
/// RFC 9162 root of those leaves. Constructed only through [`Checkpoint::new`]
/// and [`Checkpoint::parse_body`], so holding one means its body is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Digest,
    /// The root of the program heads at this size (`crate::log::heads`),
    /// as the body's one extension line. sealdrop's log always writes it;
    /// a checkpoint without it is still a valid C2SP checkpoint (the
    /// synthetic ones a handover quotes), and whoever needs the heads
    /// refuses it ([`Checkpoint::heads`]).
    heads: Option<Digest>,
}

/// The prefix of the extension line that carries the heads root.
pub const HEADS_LINE_PREFIX: &str = "sealdrop-heads ";

impl Checkpoint {
    /// Checks the origin: non-empty, at most [`MAX_ORIGIN_LEN`] bytes, and
    /// a valid signed-note key name (no Unicode space, no `+`, no control
    /// character), since the log signs under its origin. The checkpoint spec
    /// only recommends the last two; sealdrop's origins are its own, so it
    /// requires them.
    pub fn new(
        origin: impl Into<String>,
        size: u64,
        root: Digest,
    ) -> Result<Self, CheckpointError> {
        let origin = origin.into();
        check_origin(&origin)?;
        Ok(Self {
            origin,
            size,
            root,
            heads: None,
        })
    }

    /// The same checkpoint, committing to `heads` (the program heads root
    /// at its size) in its extension line.
    pub fn with_heads(mut self, heads: Digest) -> Self {
        self.heads = Some(heads);
        self
    }

    /// The same checkpoint without its extension line: the three lines a
    /// handover quotes.
    pub fn without_heads(mut self) -> Self {
        self.heads = None;
        self
    }

    /// The program heads root this checkpoint commits to; refused when it
    /// carries none.
    pub fn heads(&self) -> Result<&Digest, CheckpointError> {
        self.heads.as_ref().ok_or(CheckpointError::NoHeads)
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn root(&self) -> &Digest {
        &self.root
    }

    /// The note body: `origin \n size \n base64(root) \n`, the size in
    /// decimal without leading zeros, the root in standard padded base64,
    /// then the heads line when there is one. The exact bytes the log
    /// signs.
    pub fn body(&self) -> String {
        let mut body = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(&self.root)
        );
        if let Some(heads) = &self.heads {
            body.push_str(HEADS_LINE_PREFIX);
            body.push_str(&BASE64.encode(heads));
            body.push('\n');
        }
        body
    }

    /// Same origin, size and root; the heads line is not compared (a
    /// handover quotes a checkpoint without it).
    pub fn same_tree(&self, other: &Checkpoint) -> bool {
        self.origin == other.origin && self.size == other.size && self.root == other.root
    }

    /// Parses a body strictly: three non-empty lines, each ending in
    /// `'\n'`; a valid origin; a decimal size without leading zeros
    /// (`"0"` alone for the empty tree) that fits a u64; the root as the
    /// canonical padded base64 of exactly 32 bytes; then at most one
    /// extension line, `sealdrop-heads ` and the canonical base64 of 32
    /// bytes.
    ///
    /// Any other extension line is refused: sealdrop's log writes none,
    /// and refusing them keeps `parse_body(t).body() == t` for every
    /// accepted `t`.
    pub fn parse_body(text: &str) -> Result<Self, CheckpointError> {
        let Some(lines) = text.strip_suffix('\n') else {
            return Err(CheckpointError::MalformedBody(
                "the body must end with a newline",
            ));
        };
        let mut lines = lines.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(CheckpointError::MalformedBody(
                "the body must have three lines",
            ));
        };
        let heads = match lines.next() {
            None => None,
            Some(line) => {
                let heads = line
                    .strip_prefix(HEADS_LINE_PREFIX)
                    .ok_or(CheckpointError::ExtensionLines)?;
                Some(parse_root(heads)?)
            }
        };
        if lines.next().is_some() {
            return Err(CheckpointError::ExtensionLines);
        }
        check_origin(origin)?;
        let size = parse_size(size)?;
        let root = parse_root(root)?;
        let checkpoint = Self {
            origin: origin.to_owned(),
            size,
            root,
            heads,
        };
        // Implied by the checks above; kept as the definition of canonical.
        if checkpoint.body() != text {
            return Err(CheckpointError::MalformedBody("the body is not canonical"));
        }
        Ok(checkpoint)
    }
}

fn check_origin(origin: &str) -> Result<(), CheckpointError> {
    if origin.is_empty() {
        return Err(CheckpointError::InvalidOrigin("empty"));
    }
    if origin.len() > MAX_ORIGIN_LEN {
        return Err(CheckpointError::InvalidOrigin(
            "longer than MAX_ORIGIN_LEN bytes",
        ));
    }
    if !is_valid_key_name(origin) {
        return Err(CheckpointError::InvalidOrigin(
            "contains a space, a plus or a control character",
        ));
    }
    Ok(())
}

/// ASCII decimal, no sign, no leading zeros except `"0"` itself, ≤ u64::MAX.
fn parse_size(line: &str) -> Result<u64, CheckpointError> {
    let canonical = !line.is_empty()
        && line.bytes().all(|b| b.is_ascii_digit())
        && (line == "0" || !line.starts_with('0'));
    if !canonical {
        return Err(CheckpointError::InvalidSize);
    }
    line.parse().map_err(|_| CheckpointError::InvalidSize)
}

fn parse_root(line: &str) -> Result<Digest, CheckpointError> {
    let bytes = decode_base64(line).ok_or(CheckpointError::InvalidRoot)?;
    bytes.try_into().map_err(|_| CheckpointError::InvalidRoot)
}

/// Standard padded base64 (RFC 4648 §4), canonical only: the one encoding
/// that re-encodes to the input (zero trailing bits, padding only at the
/// end), so each value has one text form.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let bytes = BASE64.decode(text.as_bytes()).ok()?;
    (BASE64.encode(&bytes) == text).then_some(bytes)
}
