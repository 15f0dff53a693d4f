//! `GET /v1/audit/bulk`: every report's public record, acknowledgement and
//! ciphertext in binary pages, so an auditor checks everything without a
//! request per report and without JSON and base64 in the way.
//!
//! ```text
//! page  = entry*                       (the next cursor in the `sealdrop-next` header)
//! entry = report_id[16]
//!       ‖ u64 seq                      (the report's place in the listing: the cursor after it)
//!       ‖ u64 leaf                     (1 + the index of its acceptance leaf in the log; 0: none)
//!       ‖ u32 record_len ‖ record       (the report record: H0, envelope hashes, digests, signature)
//!       ‖ u32 ack_len ‖ acknowledgement (the server's signed acknowledgement)
//!       ‖ u8 state ‖ body
//! state = 0  live, too large for a page: no body (fetch its streams one by one)
//!       | 1  live: body = u32 stream_count ‖ (u64 length ‖ bytes[length])*
//!       | 2  tombstoned (purged or deleted): no body, no ciphertext exists
//! ```
//!
//! Decoding is strict: truncation, a trailing byte, an unknown state, or a
//! length beyond the limits below refuses the whole page.

/// The response header that carries the next cursor.
pub const NEXT_HEADER: &str = "sealdrop-next";

/// The most streams a report has (content and 64 attachments).
const MAX_STREAMS: u32 = 65;
/// A record or acknowledgement longer than this is not one.
const MAX_SIGNED_LEN: u32 = 64 * 1024;

/// What a page says about a report's ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ciphertext {
    /// Live, with every stream in the page.
    Included(Vec<Vec<u8>>),
    /// Live, but too large for a page: fetch it stream by stream.
    TooLarge,
    /// Purged or deleted: its ciphertext no longer exists.
    Tombstoned,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub report: [u8; 16],
    pub seq: u64,
    /// The log leaf that records the report's acceptance.
    pub leaf: Option<u64>,
    pub record: Vec<u8>,
    pub acknowledgement: Vec<u8>,
    pub ciphertext: Ciphertext,
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
}

pub fn encode(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        out.extend_from_slice(&e.report);
        out.extend_from_slice(&e.seq.to_be_bytes());
        let leaf = e.leaf.map_or(0, |l| l.saturating_add(1));
        out.extend_from_slice(&leaf.to_be_bytes());
        put_len(&mut out, e.record.len());
        out.extend_from_slice(&e.record);
        put_len(&mut out, e.acknowledgement.len());
        out.extend_from_slice(&e.acknowledgement);
        match &e.ciphertext {
            Ciphertext::TooLarge => out.push(0),
            Ciphertext::Included(streams) => {
                out.push(1);
                put_len(&mut out, streams.len());
                for s in streams {
                    out.extend_from_slice(&(s.len() as u64).to_be_bytes());
                    out.extend_from_slice(s);
                }
            }
            Ciphertext::Tombstoned => out.push(2),
        }
    }
    out
}

fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (head, tail) = (b.get(..n)?, b.get(n..)?);
    *b = tail;
    Some(head)
}

fn take_u32(b: &mut &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(take(b, 4)?.try_into().ok()?))
}

fn take_signed(b: &mut &[u8]) -> Option<Vec<u8>> {
    let len = take_u32(b)?;
    if len > MAX_SIGNED_LEN {
        return None;
    }
    Some(take(b, usize::try_from(len).ok()?)?.to_vec())
}

/// Decodes a page strictly: any truncation or trailing byte is an error.
pub fn decode(mut bytes: &[u8]) -> Option<Vec<Entry>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let report: [u8; 16] = take(&mut bytes, 16)?.try_into().ok()?;
        let seq = u64::from_be_bytes(take(&mut bytes, 8)?.try_into().ok()?);
        let leaf = u64::from_be_bytes(take(&mut bytes, 8)?.try_into().ok()?).checked_sub(1);
        let record = take_signed(&mut bytes)?;
        let acknowledgement = take_signed(&mut bytes)?;
        let ciphertext = match take(&mut bytes, 1)?.first()? {
            0 => Ciphertext::TooLarge,
            1 => {
                let count = take_u32(&mut bytes)?;
                if count > MAX_STREAMS {
                    return None;
                }
                let mut streams = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    let len = u64::from_be_bytes(take(&mut bytes, 8)?.try_into().ok()?);
                    streams.push(take(&mut bytes, usize::try_from(len).ok()?)?.to_vec());
                }
                Ciphertext::Included(streams)
            }
            2 => Ciphertext::Tombstoned,
            _ => return None,
        };
        out.push(Entry {
            report,
            seq,
            leaf,
            record,
            acknowledgement,
            ciphertext,
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::{Ciphertext, Entry};

    fn entry(n: u8, ciphertext: Ciphertext) -> Entry {
        Entry {
            report: [n; 16],
            seq: u64::from(n) * 3,
            leaf: (n % 2 == 1).then_some(u64::from(n)),
            record: vec![n; 40],
            acknowledgement: vec![n; 7],
            ciphertext,
        }
    }

    #[test]
    fn round_trip_and_strictness() {
        let entries = vec![
            entry(1, Ciphertext::Included(vec![vec![1, 2, 3], vec![]])),
            entry(2, Ciphertext::TooLarge),
            entry(3, Ciphertext::Tombstoned),
        ];
        let bytes = super::encode(&entries);
        assert_eq!(super::decode(&bytes), Some(entries.clone()));
        // A prefix decodes only where an entry ends, and then to the
        // entries before it: truncation inside an entry is refused.
        let ends: Vec<usize> = (1..=entries.len())
            .map(|k| super::encode(&entries[..k]).len())
            .collect();
        for cut in 1..bytes.len() {
            match (
                super::decode(&bytes[..cut]),
                ends.iter().position(|e| *e == cut),
            ) {
                (None, None) => {}
                (Some(decoded), Some(k)) => assert_eq!(decoded, entries[..=k]),
                (decoded, _) => panic!("a {cut}-byte prefix decoded as {decoded:?}"),
            }
        }
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(super::decode(&long), None);
    }

    #[test]
    fn unknown_states_and_hostile_lengths_are_refused() {
        let mut bytes = super::encode(&[entry(1, Ciphertext::Tombstoned)]);
        let state = bytes.len() - 1;
        bytes[state] = 3;
        assert_eq!(super::decode(&bytes), None);
        // A record length beyond the limit, with the bytes present.
        let mut big = Entry {
            report: [0; 16],
            seq: 0,
            leaf: None,
            record: vec![0; 64 * 1024 + 1],
            acknowledgement: vec![],
            ciphertext: Ciphertext::Tombstoned,
        };
        assert_eq!(super::decode(&super::encode(&[big.clone()])), None);
        big.record.pop();
        assert!(super::decode(&super::encode(&[big])).is_some());
        // A stream count beyond the limit.
        let mut many = super::encode(&[entry(1, Ciphertext::Included(vec![]))]);
        let count = many.len() - 4;
        many[count..].copy_from_slice(&66u32.to_be_bytes());
        assert_eq!(super::decode(&many), None);
    }
}
