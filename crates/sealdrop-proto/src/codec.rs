//! The one canonical binary codec every signed or hashed structure uses.
//!
//! ```text
//! u8 / u16 / u32 / u64   fixed width, big-endian
//! bool                   u8, exactly 0x00 or 0x01
//! option<T>              u8 tag 0x00 (absent) | 0x01 ‖ T
//! bytes<MAX>             u32 length ‖ length bytes, length ≤ MAX
//! string<MAX>            bytes<MAX> holding UTF-8
//! list<T, MAX>           u32 count ‖ count × T, count ≤ MAX
//! [u8; N]                N bytes, no prefix
//! ```
//!
//! Every value has exactly one encoding: lengths are fixed-width, tags are
//! checked, and structures whose elements form a set are sorted and unique
//! (checked by their own decoders). Decoding is strict: trailing bytes, an
//! unknown tag or version, or a length over its documented limit is an error,
//! never a panic and never a silently accepted value.

use thiserror::Error;

use crate::keys::{KnownIdentities, PublicIdentity};

/// Why bytes could not be decoded. Names the field so that a user can say
/// what was wrong without seeing the bytes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("input ended early while reading {field}")]
    UnexpectedEnd { field: &'static str },
    #[error("{count} unexpected trailing bytes after the encoded value")]
    TrailingBytes { count: usize },
    #[error("invalid tag {value:#04x} for {field}")]
    InvalidTag { field: &'static str, value: u8 },
    #[error("{field} is {len} long, over the limit of {max}")]
    TooLong {
        field: &'static str,
        len: u64,
        max: u64,
    },
    #[error("{field} is not valid UTF-8")]
    InvalidUtf8 { field: &'static str },
    #[error("unsupported {field} version {found}")]
    UnsupportedVersion { field: &'static str, found: u16 },
    #[error("{field} is not in canonical form: {reason}")]
    NotCanonical {
        field: &'static str,
        reason: &'static str,
    },
    #[error("{field} is not a valid key")]
    InvalidKey { field: &'static str },
    #[error("{field} is not valid: {reason}")]
    Invalid {
        field: &'static str,
        reason: &'static str,
    },
}

/// Appends canonical encodings to a buffer. Encoding cannot fail: callers
/// construct values that already respect the limits (constructors check them).
#[derive(Debug, Default)]
pub struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts the buffer with a domain-separation label, as every signed and
    /// hashed input does.
    pub fn with_label(label: &[u8]) -> Self {
        let mut buf = Vec::with_capacity(label.len() + 128);
        buf.extend_from_slice(label);
        Self { buf }
    }

    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.u8(u8::from(v))
    }

    /// Fixed-length bytes, no prefix (keys, digests, IDs).
    pub fn raw(&mut self, v: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(v);
        self
    }

    /// Variable-length bytes with a u32 length prefix.
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.u32(len_u32(v.len()));
        self.raw(v)
    }

    pub fn str(&mut self, v: &str) -> &mut Self {
        self.bytes(v.as_bytes())
    }

    pub fn option<T>(&mut self, v: Option<&T>, f: impl FnOnce(&mut Self, &T)) -> &mut Self {
        match v {
            None => self.u8(0),
            Some(inner) => {
                self.u8(1);
                f(self, inner);
                self
            }
        }
    }

    pub fn list<T>(&mut self, items: &[T], mut f: impl FnMut(&mut Self, &T)) -> &mut Self {
        self.u32(len_u32(items.len()));
        for item in items {
            f(self, item);
        }
        self
    }

    pub fn value<T: Encode + ?Sized>(&mut self, v: &T) -> &mut Self {
        v.encode(self);
        self
    }

    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Lengths are bounded by the limits far below `u32::MAX`; a value that could
/// exceed it is refused by its constructor, so saturating here never happens
/// for a value that decodes.
fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// Reads canonical encodings from a byte slice, strictly.
#[derive(Debug)]
pub struct Decoder<'a> {
    input: &'a [u8],
    known: Option<&'a KnownIdentities>,
}

impl<'a> Decoder<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        Self { input, known: None }
    }

    /// A decoder that takes identities in `known` as already checked.
    pub fn with_known(input: &'a [u8], known: &'a KnownIdentities) -> Self {
        Self {
            input,
            known: Some(known),
        }
    }

    /// The checked identity with exactly these key bytes, if known.
    pub(crate) fn known_identity(
        &self,
        signing: &[u8; 32],
        decryption: &[u8; 32],
    ) -> Option<PublicIdentity> {
        self.known?.get(signing, decryption)
    }

    pub fn remaining(&self) -> usize {
        self.input.len()
    }

    /// Refuses trailing bytes.
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.input.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                count: self.input.len(),
            })
        }
    }

    pub fn raw(&mut self, len: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.input.len() < len {
            return Err(DecodeError::UnexpectedEnd { field });
        }
        let (head, tail) = self.input.split_at(len);
        self.input = tail;
        Ok(head)
    }

    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let bytes = self.raw(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    pub fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(u8::from_be_bytes(self.array(field)?))
    }

    pub fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    pub fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    pub fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    pub fn bool(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            value => Err(DecodeError::InvalidTag { field, value }),
        }
    }

    /// Reads a version field and refuses any version other than `expected`.
    pub fn version(&mut self, field: &'static str, expected: u16) -> Result<(), DecodeError> {
        let found = self.u16(field)?;
        if found == expected {
            Ok(())
        } else {
            Err(DecodeError::UnsupportedVersion { field, found })
        }
    }

    pub fn bytes(&mut self, field: &'static str, max: usize) -> Result<&'a [u8], DecodeError> {
        let len = self.u32(field)?;
        let len_usize = usize::try_from(len).unwrap_or(usize::MAX);
        if len_usize > max {
            return Err(DecodeError::TooLong {
                field,
                len: u64::from(len),
                max: max as u64,
            });
        }
        self.raw(len_usize, field)
    }

    pub fn str(&mut self, field: &'static str, max: usize) -> Result<&'a str, DecodeError> {
        let bytes = self.bytes(field, max)?;
        std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8 { field })
    }

    pub fn option<T>(
        &mut self,
        field: &'static str,
        f: impl FnOnce(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Option<T>, DecodeError> {
        match self.u8(field)? {
            0 => Ok(None),
            1 => f(self).map(Some),
            value => Err(DecodeError::InvalidTag { field, value }),
        }
    }

    /// Reads a counted list. The count is checked against `max` before any
    /// allocation, and against the bytes left (each element takes at least
    /// `min_element_len` bytes), so a hostile count cannot reserve memory.
    pub fn list<T>(
        &mut self,
        field: &'static str,
        max: usize,
        min_element_len: usize,
        mut f: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let count = self.u32(field)?;
        let count_usize = usize::try_from(count).unwrap_or(usize::MAX);
        if count_usize > max {
            return Err(DecodeError::TooLong {
                field,
                len: u64::from(count),
                max: max as u64,
            });
        }
        if count_usize.saturating_mul(min_element_len) > self.input.len() {
            return Err(DecodeError::UnexpectedEnd { field });
        }
        let mut out = Vec::with_capacity(count_usize);
        for _ in 0..count_usize {
            out.push(f(self)?);
        }
        Ok(out)
    }

    pub fn value<T: Decode>(&mut self) -> Result<T, DecodeError> {
        T::decode(self)
    }
}

/// A structure with a canonical encoding.
pub trait Encode {
    fn encode(&self, e: &mut Encoder);

    fn to_bytes(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        self.encode(&mut e);
        e.finish()
    }
}

/// A structure decoded strictly from its canonical encoding.
pub trait Decode: Sized {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError>;

    /// Decodes exactly one value and refuses trailing bytes.
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut d = Decoder::new(bytes);
        let value = Self::decode(&mut d)?;
        d.finish()?;
        Ok(value)
    }

    /// As [`Decode::from_bytes`], reusing the identities in `known` instead
    /// of checking their keys again: the same result, without a point
    /// decompression per identity (what an auditor reading many reports
    /// from the same shoppers saves).
    fn from_bytes_with_known(bytes: &[u8], known: &KnownIdentities) -> Result<Self, DecodeError> {
        let mut d = Decoder::with_known(bytes, known);
        let value = Self::decode(&mut d)?;
        d.finish()?;
        Ok(value)
    }
}

/// Checks that a list is strictly increasing by `key`: sorted and without
/// duplicates, the one canonical order for sets.
pub fn check_strictly_sorted<T, K: Ord>(
    items: &[T],
    field: &'static str,
    key: impl Fn(&T) -> K,
) -> Result<(), DecodeError> {
    for pair in items.windows(2) {
        if let [a, b] = pair
            && key(a) >= key(b)
        {
            return Err(DecodeError::NotCanonical {
                field,
                reason: "elements must be sorted and unique",
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_big_endian_and_fixed_width() {
        let mut e = Encoder::new();
        e.u8(1)
            .u16(0x0203)
            .u32(0x0405_0607)
            .u64(0x0809_0a0b_0c0d_0e0f);
        assert_eq!(
            e.finish(),
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
        );
    }

    #[test]
    fn bool_and_option_tags_are_strict() {
        assert_eq!(Decoder::new(&[1]).bool("b"), Ok(true));
        assert_eq!(
            Decoder::new(&[2]).bool("b"),
            Err(DecodeError::InvalidTag {
                field: "b",
                value: 2
            })
        );
        let r = Decoder::new(&[7, 0]).option("o", |d| d.u8("x"));
        assert!(matches!(r, Err(DecodeError::InvalidTag { value: 7, .. })));
    }

    #[test]
    fn bytes_over_the_limit_are_refused_before_reading() {
        let mut e = Encoder::new();
        e.bytes(&[0u8; 10]);
        let bytes = e.finish();
        assert!(matches!(
            Decoder::new(&bytes).bytes("f", 9),
            Err(DecodeError::TooLong {
                len: 10,
                max: 9,
                ..
            })
        ));
        assert_eq!(Decoder::new(&bytes).bytes("f", 10), Ok(&[0u8; 10][..]));
    }

    #[test]
    fn hostile_list_count_does_not_allocate() {
        // count = 1,000,000 but only 3 bytes follow.
        let bytes = [0x00, 0x0f, 0x42, 0x40, 1, 2, 3];
        let r = Decoder::new(&bytes).list("l", 2_000_000, 1, |d| d.u8("x"));
        assert!(matches!(r, Err(DecodeError::UnexpectedEnd { .. })));
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut d = Decoder::new(&[1, 2]);
        assert_eq!(d.u8("a"), Ok(1));
        assert_eq!(d.finish(), Err(DecodeError::TrailingBytes { count: 1 }));
    }

    #[test]
    fn invalid_utf8_is_refused() {
        let mut e = Encoder::new();
        e.bytes(&[0xff, 0xfe]);
        assert_eq!(
            Decoder::new(&e.finish()).str("s", 10),
            Err(DecodeError::InvalidUtf8 { field: "s" })
        );
    }

    #[test]
    fn sets_must_be_sorted_and_unique() {
        assert!(check_strictly_sorted(&[1, 2, 3], "s", |x| *x).is_ok());
        assert!(check_strictly_sorted(&[1, 1], "s", |x| *x).is_err());
        assert!(check_strictly_sorted(&[2, 1], "s", |x| *x).is_err());
    }
}
