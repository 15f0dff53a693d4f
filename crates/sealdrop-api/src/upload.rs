//! The body of `POST /v1/reports` (`application/octet-stream`):
//!
//! ```text
//! upload = u32 sealed_len ‖ sealed_report[sealed_len] ‖ stream_0 ‖ stream_1 ‖ …
//! ```
//!
//! Each stream is the ciphertext whose length and digest the sealed report
//! signs, in order, with nothing between them: the server reads the sealed
//! report, checks it, then hashes each stream as it arrives.

/// Longer than any sealed report can be (1024 envelopes of 100 bytes, 65
/// stream digests, the header and signature), so a hostile length prefix
/// cannot make the server buffer more.
pub const MAX_SEALED_LEN: u32 = 256 * 1024;

/// The prefix to send before the streams.
pub fn prefix(sealed_report: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + sealed_report.len());
    out.extend_from_slice(&(sealed_report.len() as u32).to_be_bytes());
    out.extend_from_slice(sealed_report);
    out
}

/// A whole upload body held in memory: for small reports and tests.
pub fn body(sealed_report: &[u8], streams: &[&[u8]]) -> Vec<u8> {
    let mut out = prefix(sealed_report);
    for s in streams {
        out.extend_from_slice(s);
    }
    out
}
