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
//! Memory is bounded by a few chunk buffers whatever the stream's length
//! (see `hash_sink`): the reader looks one chunk ahead to know which chunk is
//! last, and hashing runs one or two chunks behind on a second thread.

use std::io::{self, Read, Write};

#[cfg(feature = "open")]
use chacha20poly1305::Tag;
#[cfg(feature = "open")]
use chacha20poly1305::aead::inout::InOutBuf;
use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::codec::{Decode, DecodeError, Decoder, Encode, Encoder};
use crate::hash::{Digest, Hasher};
use crate::labels;
use crate::report::hash_sink::HashSink;
#[cfg(feature = "open")]
use crate::report::hash_sink::new_buf;

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

impl StreamDigest {
    /// True when some plaintext seals to exactly `len` bytes: every chunk
    /// carries a tag, and only a lone chunk may be empty.
    pub fn is_possible_len(len: u64) -> bool {
        let full = (CHUNK + TAG) as u64;
        let rem = len % full;
        if len < full {
            rem >= TAG as u64
        } else {
            rem == 0 || rem > TAG as u64
        }
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
        if !(TAG as u64..=MAX_STREAM_LEN).contains(&ciphertext_len)
            || !StreamDigest::is_possible_len(ciphertext_len)
        {
            return Err(DecodeError::Invalid {
                field: "stream length",
                reason: "not a length that sealing can produce, or over 64 GiB",
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

fn hashing_failed() -> StreamError {
    StreamError::Io(io::Error::other("the hashing thread stopped"))
}

/// Seals `input` to `output`, returning the ciphertext's digest. Streams of
/// more than one chunk hash on a second thread while the next chunk is
/// encrypted (see `hash_sink`).
pub(crate) fn seal(
    key: &StreamKey,
    aad: &Digest,
    input: &mut impl Read,
    output: &mut impl Write,
) -> Result<StreamDigest, StreamError> {
    let cipher = ChaCha20Poly1305::new(&(*key.0).into());
    std::thread::scope(|scope| {
        let mut sink = HashSink::new(labels::HASH_CIPHERTEXT);
        let mut cur = sink.spare();
        let mut cur_len = read_full(input, cur.get_mut(..CHUNK).unwrap_or_default())?;
        let mut counter: u64 = 0;
        let mut total: u64 = 0;
        loop {
            // Look ahead: a chunk is last when nothing follows it.
            let mut next = sink.spare();
            let next_len = if cur_len == CHUNK {
                read_full(input, next.get_mut(..CHUNK).unwrap_or_default())?
            } else {
                0
            };
            let last = next_len == 0;
            if !last {
                sink.go_parallel(scope);
            }
            let (body, tag_slot) = cur.split_at_mut(cur_len);
            let tag = cipher
                .encrypt_inout_detached(&nonce(counter, last), aad, body.into())
                .map_err(|_| StreamError::TooLong)?;
            if let Some(slot) = tag_slot.get_mut(..TAG) {
                slot.copy_from_slice(&tag);
            }
            let sealed_len = cur_len + TAG;
            output.write_all(cur.get(..sealed_len).unwrap_or_default())?;
            total += sealed_len as u64;
            if total > MAX_STREAM_LEN {
                return Err(StreamError::TooLong);
            }
            sink.absorb(cur, sealed_len);
            if last {
                break;
            }
            counter += 1;
            cur = next;
            cur_len = next_len;
        }
        Ok(StreamDigest {
            ciphertext_len: total,
            sha256: sink.finish().ok_or_else(hashing_failed)?,
        })
    })
}

/// Opens `input` into `output`, checking every chunk and, at the end, the
/// whole ciphertext against `expected`.
///
/// Plaintext reaches `output` chunk by chunk, before the end is known to be
/// authentic: the caller must write to a place nobody reads (a temporary
/// file) and discard it unless this returns `Ok`.
#[cfg(feature = "open")]
pub(crate) fn open(
    key: &StreamKey,
    aad: &Digest,
    expected: &StreamDigest,
    input: &mut impl Read,
    output: &mut impl Write,
) -> Result<(), StreamError> {
    let cipher = ChaCha20Poly1305::new(&(*key.0).into());
    let mut plain = new_buf();
    std::thread::scope(|scope| {
        let mut sink = HashSink::new(labels::HASH_CIPHERTEXT);
        let mut cur = sink.spare();
        let mut cur_len = read_full(input, &mut cur)?;
        let mut counter: u64 = 0;
        let mut total: u64 = 0;
        loop {
            let mut next = sink.spare();
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
            // An empty final chunk is canonical only as the whole of an
            // empty stream.
            if cur_len < TAG || (last && cur_len == TAG && counter > 0) {
                return Err(StreamError::DecryptionFailed);
            }
            if !last {
                sink.go_parallel(scope);
            }
            // Decrypt out of place, so the ciphertext stays intact for the
            // hashing thread.
            let body_len = cur_len - TAG;
            let (body, tag) = cur.get(..cur_len).unwrap_or_default().split_at(body_len);
            let tag = Tag::try_from(tag).map_err(|_| StreamError::DecryptionFailed)?;
            let out = plain.get_mut(..body_len).unwrap_or_default();
            let inout = InOutBuf::new(body, out).map_err(|_| StreamError::DecryptionFailed)?;
            cipher
                .decrypt_inout_detached(&nonce(counter, last), aad, inout, &tag)
                .map_err(|_| StreamError::DecryptionFailed)?;
            output.write_all(plain.get(..body_len).unwrap_or_default())?;
            sink.absorb(cur, cur_len);
            if last {
                break;
            }
            counter += 1;
            cur = next;
            cur_len = next_len;
        }
        let digest = sink.finish().ok_or_else(hashing_failed)?;
        if total != expected.ciphertext_len || digest != expected.sha256 {
            return Err(StreamError::DigestMismatch);
        }
        Ok(())
    })
}

/// Hashes a ciphertext stream without decrypting it: what an auditor does.
pub(crate) fn digest(input: &mut impl Read) -> Result<StreamDigest, StreamError> {
    let mut hasher = CiphertextHasher::new();
    let mut buf = vec![0u8; CHUNK + TAG];
    loop {
        let n = read_full(input, &mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or_default())?;
    }
    Ok(hasher.finish())
}

/// Computes a [`StreamDigest`] from ciphertext that arrives in pieces of any
/// size: what a server does while a stream is uploaded.
pub struct CiphertextHasher {
    hasher: Hasher,
    total: u64,
}

impl std::fmt::Debug for CiphertextHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CiphertextHasher")
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

impl Default for CiphertextHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl CiphertextHasher {
    pub fn new() -> Self {
        Self {
            hasher: Hasher::new(labels::HASH_CIPHERTEXT),
            total: 0,
        }
    }

    /// Bytes hashed so far.
    pub fn len(&self) -> u64 {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Adds the next piece; refuses to go past the longest possible stream.
    pub fn update(&mut self, piece: &[u8]) -> Result<(), StreamError> {
        self.total = self.total.saturating_add(piece.len() as u64);
        if self.total > MAX_STREAM_LEN {
            return Err(StreamError::TooLong);
        }
        self.hasher.update(piece);
        Ok(())
    }

    pub fn finish(self) -> StreamDigest {
        StreamDigest {
            ciphertext_len: self.total,
            sha256: self.hasher.finish(),
        }
    }
}
