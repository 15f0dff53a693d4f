//! `GET /v1/audit/ciphertext`: live reports' ciphertext in pages, so an
//! auditor checks every stream against its signed digest without a request
//! per stream.
//!
//! ```text
//! page  = entry*                       (the next cursor in the `sealdrop-next` header)
//! entry = report_id[16] ‖ u8 included
//!       ‖ included = 1: u32 stream_count ‖ (u64 length ‖ bytes[length])*
//! ```
//!
//! A report too large for a page has `included = 0`: fetch its streams one
//! by one.

/// The response header that carries the next cursor.
pub const NEXT_HEADER: &str = "sealdrop-next";

/// One report's streams, or `None` when they were too large for the page.
pub type Entry = ([u8; 16], Option<Vec<Vec<u8>>>);

pub fn encode(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    for (id, streams) in entries {
        out.extend_from_slice(id);
        match streams {
            None => out.push(0),
            Some(streams) => {
                out.push(1);
                out.extend_from_slice(&(streams.len() as u32).to_be_bytes());
                for s in streams {
                    out.extend_from_slice(&(s.len() as u64).to_be_bytes());
                    out.extend_from_slice(s);
                }
            }
        }
    }
    out
}

/// Decodes a page strictly: any truncation or trailing byte is an error.
pub fn decode(mut bytes: &[u8]) -> Option<Vec<Entry>> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, tail) = (b.get(..n)?, b.get(n..)?);
        *b = tail;
        Some(head)
    }
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let id: [u8; 16] = take(&mut bytes, 16)?.try_into().ok()?;
        match take(&mut bytes, 1)?.first()? {
            0 => out.push((id, None)),
            1 => {
                let count = u32::from_be_bytes(take(&mut bytes, 4)?.try_into().ok()?);
                if count > 65 {
                    return None;
                }
                let mut streams = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    let len = u64::from_be_bytes(take(&mut bytes, 8)?.try_into().ok()?);
                    streams.push(take(&mut bytes, usize::try_from(len).ok()?)?.to_vec());
                }
                out.push((id, Some(streams)));
            }
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip_and_strictness() {
        let entries = vec![
            ([1u8; 16], Some(vec![vec![1, 2, 3], vec![]])),
            ([2u8; 16], None),
        ];
        let bytes = super::encode(&entries);
        assert_eq!(super::decode(&bytes), Some(entries));
        assert_eq!(super::decode(&bytes[..bytes.len() - 1]), None);
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(super::decode(&long), None);
    }
}
