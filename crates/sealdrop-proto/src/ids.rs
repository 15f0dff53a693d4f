//! Identifiers and their text forms.
//!
//! * [`PersonId`]: 160 bits of SHA-256(label ‖ Ed25519 key ‖ X25519 key). Typed
//!   as `sd` + 32 Crockford base32 characters + 2 checksum characters; read
//!   aloud as a [`Fingerprint`] of ten five-digit groups.
//! * [`ProgramId`]: 128 random bits, `sdp` + 26 characters.
//! * [`ReportId`]: 48-bit Unix milliseconds ‖ 80 random bits, so IDs sort by
//!   creation time; `sdr` + 26 characters.
//!
//! Crockford's alphabet leaves out i, l, o and u; parsing folds case, ignores
//! spaces and hyphens, and reads i/l as 1 and o as 0. Person IDs and key
//! bundles, the forms people type and compare, also carry a checksum, so a
//! mistyped one is an error, not another person. Program and report IDs are
//! copied, not typed, and have none.

use std::fmt;
use std::str::FromStr;

use rand_core::CryptoRng;
use thiserror::Error;

use crate::codec::{Decode, DecodeError, Decoder, Encode, Encoder};
use crate::hash;
use crate::labels;

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Why a typed identifier or fingerprint could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdParseError {
    #[error("an ID of this kind starts with \"{expected}\"")]
    WrongPrefix { expected: &'static str },
    #[error("the ID has {found} characters after its prefix, expected {expected}")]
    WrongLength { found: usize, expected: usize },
    #[error("the ID contains '{0}', which is not a valid character")]
    InvalidCharacter(char),
    #[error("the ID's checksum does not match: check for a mistyped character")]
    BadChecksum,
    #[error("the ID is not in canonical form")]
    NotCanonical,
    #[error("a fingerprint is ten groups of five digits, each at most 65535")]
    BadFingerprint,
}

fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(symbol((acc >> bits) & 31));
        }
    }
    if bits > 0 {
        out.push(symbol((acc << (5 - bits)) & 31));
    }
    out
}

fn symbol(v: u32) -> char {
    ALPHABET.get(v as usize).map_or('0', |&c| char::from(c))
}

fn symbol_value(c: char) -> Result<u32, IdParseError> {
    let folded = match c.to_ascii_lowercase() {
        'i' | 'l' => '1',
        'o' => '0',
        other => other,
    };
    ALPHABET
        .iter()
        .position(|&a| char::from(a) == folded)
        .map(|p| p as u32)
        .ok_or(IdParseError::InvalidCharacter(c))
}

/// Decodes exactly `N` bytes from base32 symbols; the unused low bits of the
/// last symbol must be zero (canonical form).
fn base32_decode<const N: usize>(symbols: &[u32]) -> Result<[u8; N], IdParseError> {
    let expected = (N * 8).div_ceil(5);
    if symbols.len() != expected {
        return Err(IdParseError::WrongLength {
            found: symbols.len(),
            expected,
        });
    }
    let mut out = [0u8; N];
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut i = 0usize;
    for &s in symbols {
        acc = (acc << 5) | s;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            if let Some(slot) = out.get_mut(i) {
                *slot = ((acc >> bits) & 0xff) as u8;
            }
            i += 1;
        }
        acc &= (1 << bits) - 1;
    }
    if acc != 0 {
        return Err(IdParseError::NotCanonical);
    }
    Ok(out)
}

/// Strips the prefix and the characters people add for readability.
fn typed_symbols(text: &str, prefix: &'static str) -> Result<Vec<u32>, IdParseError> {
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    let lower = cleaned.to_ascii_lowercase();
    let rest = lower
        .strip_prefix(prefix)
        .ok_or(IdParseError::WrongPrefix { expected: prefix })?;
    rest.chars().map(symbol_value).collect()
}

/// Ten bits of SHA-256(label ‖ prefix ‖ bytes) as two base32 symbols.
fn checksum(prefix: &str, bytes: &[u8]) -> [u32; 2] {
    let d = hash::labelled(labels::HASH_ID_CHECKSUM, &[prefix.as_bytes(), bytes]);
    let ten_bits = (u32::from(d[0]) << 2) | (u32::from(d[1]) >> 6);
    [ten_bits >> 5, ten_bits & 31]
}

/// `prefix` ‖ base32(bytes) ‖ two checksum symbols: the typeable form of IDs
/// and key bundles.
pub(crate) fn encode_checked(prefix: &str, bytes: &[u8]) -> String {
    let [a, b] = checksum(prefix, bytes);
    format!("{prefix}{}{}{}", base32_encode(bytes), symbol(a), symbol(b))
}

pub(crate) fn decode_checked<const N: usize>(
    prefix: &'static str,
    text: &str,
) -> Result<[u8; N], IdParseError> {
    let symbols = typed_symbols(text, prefix)?;
    let expected = (N * 8).div_ceil(5) + 2;
    if symbols.len() != expected {
        return Err(IdParseError::WrongLength {
            found: symbols.len(),
            expected,
        });
    }
    let (body, check) = symbols.split_at(expected - 2);
    let bytes = base32_decode::<N>(body)?;
    if checksum(prefix, &bytes) != [check[0], check[1]] {
        return Err(IdParseError::BadChecksum);
    }
    Ok(bytes)
}

/// A person's identifier: the fingerprint of their public keys.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PersonId([u8; 20]);

impl PersonId {
    pub const LEN: usize = 20;
    const PREFIX: &'static str = "sd";

    /// Derives the ID from the two public keys. The ID commits to both, so
    /// nobody, the server included, can pair an existing ID with other keys.
    pub fn from_public_keys(signing: &[u8; 32], decryption: &[u8; 32]) -> Self {
        let digest = hash::labelled(labels::HASH_PERSON_ID, &[signing, decryption]);
        let mut id = [0u8; 20];
        id.copy_from_slice(digest.get(..20).unwrap_or(&[0u8; 20]));
        Self(id)
    }

    pub fn from_bytes(bytes: [u8; 20]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// The ten-group decimal fingerprint, for reading aloud and comparing.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint(*self)
    }
}

impl fmt::Display for PersonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&encode_checked(Self::PREFIX, &self.0))
    }
}

impl fmt::Debug for PersonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonId({self})")
    }
}

impl FromStr for PersonId {
    type Err = IdParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        decode_checked(Self::PREFIX, s).map(Self)
    }
}

impl Encode for PersonId {
    fn encode(&self, e: &mut Encoder) {
        e.raw(&self.0);
    }
}

impl Decode for PersonId {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(Self(d.array("person id")?))
    }
}

/// 160 bits as ten groups of five decimal digits, each group one big-endian
/// 16-bit word: the form people read aloud and compare out of band.
fn digit_groups(bytes: &[u8; 20]) -> impl Iterator<Item = u16> + '_ {
    bytes
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
}

fn digit_text(bytes: &[u8; 20]) -> String {
    let text: Vec<String> = digit_groups(bytes).map(|g| format!("{g:05}")).collect();
    text.join(" ")
}

/// Reads ten groups of five digits (spaces optional: fifty digits in a row
/// also do), each at most 65535.
fn parse_digit_groups(text: &str) -> Result<[u8; 20], IdParseError> {
    let groups: Vec<&str> = text.split_whitespace().collect();
    let words: Vec<u16> = if groups.len() == 10 {
        groups
            .iter()
            .map(|g| {
                if g.len() == 5 && g.bytes().all(|b| b.is_ascii_digit()) {
                    g.parse::<u16>().map_err(|_| IdParseError::BadFingerprint)
                } else {
                    Err(IdParseError::BadFingerprint)
                }
            })
            .collect::<Result<_, _>>()?
    } else {
        let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len() != 50 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdParseError::BadFingerprint);
        }
        (0..10)
            .map(|i| {
                digits
                    .get(i * 5..i * 5 + 5)
                    .and_then(|g| g.parse::<u16>().ok())
                    .ok_or(IdParseError::BadFingerprint)
            })
            .collect::<Result<_, _>>()?
    };
    let mut bytes = [0u8; 20];
    for (chunk, word) in bytes.chunks_exact_mut(2).zip(words) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    Ok(bytes)
}

/// A [`PersonId`] as ten groups of five decimal digits (each group one
/// big-endian 16-bit word), all 160 bits: the form people compare out of band
/// before `grant --fingerprint`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Fingerprint(PersonId);

impl Fingerprint {
    /// The first four groups (64 bits): enough to recognise a person in a
    /// list, not enough to authenticate them. Never accepted as input.
    pub fn short(&self) -> String {
        digit_groups(&self.0.0)
            .take(4)
            .map(|g| format!("{g:05}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn person_id(&self) -> PersonId {
        self.0
    }

    /// Reads either the ten-group fingerprint or the typed ID, so that
    /// `--fingerprint` accepts whichever form was read out.
    pub fn parse(text: &str) -> Result<Self, IdParseError> {
        if let Ok(id) = text.parse::<PersonId>() {
            return Ok(Self(id));
        }
        parse_digit_groups(text).map(|bytes| Self(PersonId(bytes)))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&digit_text(&self.0.0))
    }
}

/// The first 160 bits of a program descriptor's hash, as ten groups of five
/// digits: what a manager reads to a new reviewer, manager or auditor so that
/// they pin the program from something confirmed out of band, never from
/// the first chain a server shows them. Because every version names the
/// hash of the one before, confirming any version confirms the whole chain
/// up to it, genesis included.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DescriptorFingerprint([u8; 20]);

impl DescriptorFingerprint {
    /// The fingerprint of a descriptor hash (`descriptor::hash_of`).
    pub fn of_hash(hash: &hash::Digest) -> Self {
        let mut bytes = [0u8; 20];
        bytes.copy_from_slice(&hash[..20]);
        Self(bytes)
    }

    pub fn parse(text: &str) -> Result<Self, IdParseError> {
        parse_digit_groups(text).map(Self)
    }

    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }
}

impl fmt::Display for DescriptorFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&digit_text(&self.0))
    }
}

macro_rules! random_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $field:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name([u8; 16]);

        impl $name {
            const PREFIX: &'static str = $prefix;

            pub fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(bytes)
            }

            pub fn as_bytes(&self) -> &[u8; 16] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}{}", Self::PREFIX, base32_encode(&self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }

        impl FromStr for $name {
            type Err = IdParseError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let symbols = typed_symbols(s, Self::PREFIX)?;
                Ok(Self(base32_decode::<16>(&symbols)?))
            }
        }

        impl Encode for $name {
            fn encode(&self, e: &mut Encoder) {
                e.raw(&self.0);
            }
        }

        impl Decode for $name {
            fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
                Ok(Self(d.array($field)?))
            }
        }
    };
}

random_id!(
    /// A program's identifier: 128 random bits chosen by its creating manager.
    ProgramId,
    "sdp",
    "program id"
);

random_id!(
    /// A report's identifier: 48-bit Unix time in milliseconds, then 80
    /// random bits. Time-ordered so that stores insert at the end of an index.
    ReportId,
    "sdr",
    "report id"
);

impl ProgramId {
    pub fn random(rng: &mut impl CryptoRng) -> Self {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }
}

impl ReportId {
    /// A new ID for a report created at `unix_millis`.
    pub fn new(unix_millis: u64, rng: &mut impl CryptoRng) -> Self {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        let time = (unix_millis & 0xffff_ffff_ffff).to_be_bytes();
        bytes[..6].copy_from_slice(&time[2..]);
        Self(bytes)
    }

    /// The creation time the ID carries, in Unix milliseconds.
    pub fn unix_millis(&self) -> u64 {
        let mut time = [0u8; 8];
        time[2..].copy_from_slice(&self.0[..6]);
        u64::from_be_bytes(time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PersonId {
        PersonId::from_public_keys(&[1u8; 32], &[2u8; 32])
    }

    #[test]
    fn person_id_round_trips_through_text() {
        let id = sample();
        let text = id.to_string();
        assert!(text.starts_with("sd"));
        assert_eq!(text.len(), 36);
        assert_eq!(text.parse::<PersonId>(), Ok(id));
        // Readability characters and case do not matter.
        let spaced: String = text
            .to_uppercase()
            .chars()
            .enumerate()
            .flat_map(|(i, c)| if i % 4 == 3 { vec![c, '-'] } else { vec![c] })
            .collect();
        assert_eq!(spaced.parse::<PersonId>(), Ok(id));
    }

    #[test]
    fn a_mistyped_character_is_caught_by_the_checksum() {
        let text = sample().to_string();
        let mut caught = 0;
        let mut tried = 0;
        for pos in 2..text.len() {
            for replacement in ['0', 'z', 'q'] {
                let mut chars: Vec<char> = text.chars().collect();
                if chars[pos] == replacement {
                    continue;
                }
                chars[pos] = replacement;
                let typo: String = chars.into_iter().collect();
                tried += 1;
                if typo.parse::<PersonId>().is_err() {
                    caught += 1;
                }
            }
        }
        // A 10-bit checksum misses about 1 in 1024 random substitutions.
        assert!(caught * 100 >= tried * 99, "caught {caught} of {tried}");
    }

    #[test]
    fn ambiguous_letters_are_read_as_digits() {
        let text = sample().to_string();
        let swapped = text.replacen('1', "l", 1).replacen('0', "O", 1);
        assert_eq!(swapped.parse::<PersonId>(), Ok(sample()));
    }

    #[test]
    fn fingerprint_round_trips_and_covers_every_bit() {
        let id = sample();
        let fp = id.fingerprint();
        let text = fp.to_string();
        assert_eq!(text.split(' ').count(), 10);
        assert_eq!(Fingerprint::parse(&text).map(|f| f.person_id()), Ok(id));
        assert_eq!(
            Fingerprint::parse(&text.replace(' ', "")).map(|f| f.person_id()),
            Ok(id)
        );
        assert_eq!(
            Fingerprint::parse(&id.to_string()).map(|f| f.person_id()),
            Ok(id)
        );
        assert!(text.starts_with(&fp.short()));
        assert_eq!(
            Fingerprint::parse("99999 00000 00000 00000 00000 00000 00000 00000 00000 00000"),
            Err(IdParseError::BadFingerprint)
        );
        assert!(Fingerprint::parse(&fp.short()).is_err());
    }

    #[test]
    fn report_ids_sort_by_time() {
        let mut rng = crate::test_rng::TestRng::new(b"ids");
        let early = ReportId::new(1_700_000_000_000, &mut rng);
        let late = ReportId::new(1_700_000_000_001, &mut rng);
        assert!(early < late);
        assert!(early.to_string() < late.to_string());
        assert_eq!(late.unix_millis(), 1_700_000_000_001);
        assert_eq!(late.to_string().parse::<ReportId>(), Ok(late));
    }

    #[test]
    fn non_canonical_trailing_bits_are_refused() {
        let id = ProgramId::from_bytes([0xff; 16]);
        let text = id.to_string();
        assert_eq!(text.parse::<ProgramId>(), Ok(id));
        // 128 bits in 26 symbols leaves two unused bits in the last symbol.
        let mut tampered = text.clone();
        tampered.pop();
        tampered.push('z');
        assert_eq!(
            tampered.parse::<ProgramId>(),
            Err(IdParseError::NotCanonical)
        );
        assert!(
            text.parse::<ReportId>().is_err(),
            "prefixes keep kinds apart"
        );
    }
}
