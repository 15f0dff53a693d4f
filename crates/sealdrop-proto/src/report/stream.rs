//! ChaCha20-Poly1305 STREAM (Hoang, Reyhanitabar, Rogaway, Vizár 2015) in
//! 64 KiB chunks, as age uses it, with the report's core hash as AAD.
//!
//! ```text
//! plaintext P split into chunks P_0 … P_{n-1} of CHUNK bytes; the last chunk
//!   has 1..=CHUNK bytes, or 0 bytes only when P is empty (then n = 1)
//! nonce_i = u88_be(i) ‖ (0x01 if i = n-1 else 0x00)           12 bytes
//! C_i     = ChaCha20-Poly1305(k_stream, nonce_i, aad = core_hash, P_i)
//! stream  = C_0 ‖ … ‖ C_{n-1}                                (each |P_i| + 16)
//! digest  = SHA-256("sealdrop/v1/hash/stream-ciphertext\0" ‖ stream), length
//! ```
//!
//! The last-chunk flag makes truncation and extension fail authentication;
//! the counter makes reordering, dropping or duplicating a chunk fail. Each
//! stream has its own key, so nonces never repeat under one key.
//!
//! Memory is bounded by two chunk buffers whatever the stream's length: the
//! reader looks one chunk ahead to know which chunk is last.

use std::io::{self, Read, Write};

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce, Tag};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::codec::{Decode, DecodeError, Decoder, Encode, Encoder};
use crate::hash::{Digest, Hasher};
use crate::labels;

/// Plaintext bytes per chunk.
pub const CHUNK: usize = 64 * 1024;
pub const TAG: usize = 16;
/// The largest ciphertext stream accepted: 64 GiB.
pub const MAX_STREAM_LEN: u64 = 1 << 36;

/// The public description of one sealed stream: what the shopper signs and
/// auditors check ciphertext against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamDigest {
    pub ciphertext_len: u64,
    pub sha256: Digest,
}

impl StreamDigest {
    /// The ciphertext length a plaintext of `len` bytes seals to.
    pub fn sealed_len(plaintext_len: u64) -> u64 {
        let chunks = plaintext_len.div_ceil(CHUNK as u64).max(1);
        plaintext_len + chunks * TAG as u64
    }
}

impl Encode for StreamDigest {
    fn encode(&self, e: &mut Encoder) {
        e.u64(self.ciphertext_len).raw(&self.sha256);
    }
}

impl Decode for StreamDigest {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let ciphertext_len = d.u64("stream length")?;
        if !(TAG as u64..=MAX_STREAM_LEN).contains(&ciphertext_len) {
            return Err(DecodeError::Invalid {
                field: "stream length",
                reason: "outside 16 bytes to 64 GiB",
            });
        }
        Ok(Self {
            ciphertext_len,
            sha256: d.array("stream digest")?,
        })
    }
}

/// Why a stream could not be sealed or opened.
#[derive(Debug, Error)]
pub enum StreamError {
    /// Any authentication failure: wrong key, altered, reordered, truncated
    /// or extended chunk. Deliberately one opaque case.
    #[error("decryption failed: the data is damaged or not meant for this key")]
    DecryptionFailed,
    #[error("the ciphertext does not match the signed digest")]
    DigestMismatch,
    #[error("the stream is longer than the limit")]
    TooLong,
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

/// A 32-byte stream key; zeroized on drop.
pub(crate) struct StreamKey(pub(crate) Zeroizing<[u8; 32]>);

fn nonce(counter: u64, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[3..11].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    Nonce::from(n)
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let Some(rest) = buf.get_mut(filled..) else {
            break;
        };
        match input.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Seals `input` to `output`, returning the ciphertext's digest.
pub(crate) fn seal(
    key: &StreamKey,
    aad: &Digest,
    input: &mut impl Read,
    output: &mut impl Write,
) -> Result<StreamDigest, StreamError> {
    let cipher = ChaCha20Poly1305::new(&(*key.0).into());
    let mut hasher = Hasher::new(labels::HASH_CIPHERTEXT);
    let mut cur = Zeroizing::new(vec![0u8; CHUNK + TAG]);
    let mut next = Zeroizing::new(vec![0u8; CHUNK + TAG]);
    let mut cur_len = read_full(input, cur.get_mut(..CHUNK).unwrap_or_default())?;
    let mut counter: u64 = 0;
    let mut total: u64 = 0;
    loop {
        // Look ahead: a chunk is last when nothing follows it.
        let next_len = if cur_len == CHUNK {
            read_full(input, next.get_mut(..CHUNK).unwrap_or_default())?
        } else {
            0
        };
        let last = next_len == 0;
        let (body, tag_slot) = cur.split_at_mut(cur_len);
        let tag = cipher
            .encrypt_inout_detached(&nonce(counter, last), aad, body.into())
            .map_err(|_| StreamError::TooLong)?;
        if let Some(slot) = tag_slot.get_mut(..TAG) {
            slot.copy_from_slice(&tag);
        }
        let sealed = cur.get(..cur_len + TAG).unwrap_or_default();
        hasher.update(sealed);
        output.write_all(sealed)?;
        total += sealed.len() as u64;
        if total > MAX_STREAM_LEN {
            return Err(StreamError::TooLong);
        }
        if last {
            break;
        }
        counter += 1;
        std::mem::swap(&mut cur, &mut next);
        cur_len = next_len;
    }
    Ok(StreamDigest {
        ciphertext_len: total,
        sha256: hasher.finish(),
    })
}

/// Opens `input` into `output`, checking every chunk and, at the end, the
/// whole ciphertext against `expected`.
///
/// Plaintext reaches `output` chunk by chunk, before the end is known to be
/// authentic: the caller must write to a place nobody reads (a temporary
/// file) and discard it unless this returns `Ok`.
pub(crate) fn open(
    key: &StreamKey,
    aad: &Digest,
    expected: &StreamDigest,
    input: &mut impl Read,
    output: &mut impl Write,
) -> Result<(), StreamError> {
    let cipher = ChaCha20Poly1305::new(&(*key.0).into());
    let mut hasher = Hasher::new(labels::HASH_CIPHERTEXT);
    let mut cur = Zeroizing::new(vec![0u8; CHUNK + TAG]);
    let mut next = Zeroizing::new(vec![0u8; CHUNK + TAG]);
    let mut cur_len = read_full(input, &mut cur)?;
    let mut counter: u64 = 0;
    let mut total: u64 = 0;
    loop {
        let next_len = if cur_len == CHUNK + TAG {
            read_full(input, &mut next)?
        } else {
            0
        };
        let last = next_len == 0;
        total += cur_len as u64;
        if total > expected.ciphertext_len {
            return Err(StreamError::DigestMismatch);
        }
        // An empty final chunk is canonical only as the whole of an empty
        // stream.
        if cur_len < TAG || (last && cur_len == TAG && counter > 0) {
            return Err(StreamError::DecryptionFailed);
        }
        let sealed = cur.get_mut(..cur_len).unwrap_or_default();
        hasher.update(sealed);
        let (body, tag) = sealed.split_at_mut(cur_len - TAG);
        let tag = Tag::try_from(&*tag).map_err(|_| StreamError::DecryptionFailed)?;
        cipher
            .decrypt_inout_detached(&nonce(counter, last), aad, body.into(), &tag)
            .map_err(|_| StreamError::DecryptionFailed)?;
        output.write_all(body)?;
        if last {
            break;
        }
        counter += 1;
        std::mem::swap(&mut cur, &mut next);
        cur_len = next_len;
    }
    if total != expected.ciphertext_len || hasher.finish() != expected.sha256 {
        return Err(StreamError::DigestMismatch);
    }
    Ok(())
}

/// Hashes a ciphertext stream without decrypting it: what an auditor does.
pub(crate) fn digest(input: &mut impl Read) -> Result<StreamDigest, StreamError> {
    let mut hasher = Hasher::new(labels::HASH_CIPHERTEXT);
    let mut buf = vec![0u8; CHUNK + TAG];
    let mut total: u64 = 0;
    loop {
        let n = read_full(input, &mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > MAX_STREAM_LEN {
            return Err(StreamError::TooLong);
        }
        hasher.update(buf.get(..n).unwrap_or_default());
    }
    Ok(StreamDigest {
        ciphertext_len: total,
        sha256: hasher.finish(),
    })
}
