//! Photos without metadata: JPEG and PNG files are rewritten keeping only
//! what draws the image, so EXIF (GPS position, camera serial, owner name),
//! XMP, comments and text chunks never reach the sealed report. Any other
//! file type cannot be stripped here and is refused unless the shopper says
//! `--keep-metadata`.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum MediaError {
    #[error("it is not a valid JPEG file")]
    BadJpeg,
    #[error("it is not a valid PNG file")]
    BadPng,
}

/// What kind of file, by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    Other,
}

pub fn sniff(bytes: &[u8]) -> Format {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Format::Jpeg
    } else if bytes.starts_with(PNG_SIGNATURE) {
        Format::Png
    } else {
        Format::Other
    }
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// A JPEG without APP1–APP15 (EXIF, XMP, ICC, maker notes) or comments;
/// APP0 is kept only as the plain JFIF header.
pub fn strip_jpeg(input: &[u8]) -> Result<Vec<u8>, MediaError> {
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(input.get(..2).ok_or(MediaError::BadJpeg)?);
    let mut at = 2;
    loop {
        let marker = input.get(at..at + 2).ok_or(MediaError::BadJpeg)?;
        if marker[0] != 0xFF {
            return Err(MediaError::BadJpeg);
        }
        let kind = marker[1];
        match kind {
            // Fill bytes before a marker.
            0xFF => {
                at += 1;
                continue;
            }
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(marker);
                at += 2;
                continue;
            }
            0xD9 => {
                out.extend_from_slice(marker);
                return Ok(out);
            }
            _ => {}
        }
        let len_bytes = input.get(at + 2..at + 4).ok_or(MediaError::BadJpeg)?;
        let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
        if len < 2 {
            return Err(MediaError::BadJpeg);
        }
        let segment = input.get(at..at + 2 + len).ok_or(MediaError::BadJpeg)?;
        let payload = &segment[4..];
        let keep = match kind {
            0xE0 => payload.starts_with(b"JFIF\0"),
            0xE1..=0xEF | 0xFE => false,
            _ => true,
        };
        if keep {
            out.extend_from_slice(segment);
        }
        at += 2 + len;
        if kind == 0xDA {
            // Start of scan: the entropy-coded image follows to the end.
            out.extend_from_slice(input.get(at..).ok_or(MediaError::BadJpeg)?);
            return Ok(out);
        }
    }
}

/// A PNG with only the chunks that draw the image: the critical ones and
/// transparency, colour space and pixel size. Text, EXIF, time and ICC
/// profiles (which may carry a name) are dropped.
pub fn strip_png(input: &[u8]) -> Result<Vec<u8>, MediaError> {
    const KEEP: &[&[u8; 4]] = &[
        b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"sBIT", b"bKGD",
        b"pHYs",
    ];
    if !input.starts_with(PNG_SIGNATURE) {
        return Err(MediaError::BadPng);
    }
    let mut out = PNG_SIGNATURE.to_vec();
    let mut at = PNG_SIGNATURE.len();
    loop {
        let head = input.get(at..at + 8).ok_or(MediaError::BadPng)?;
        let len = usize::try_from(u32::from_be_bytes([head[0], head[1], head[2], head[3]]))
            .map_err(|_| MediaError::BadPng)?;
        let kind: [u8; 4] = [head[4], head[5], head[6], head[7]];
        let chunk = input.get(at..at + 12 + len).ok_or(MediaError::BadPng)?;
        if KEEP.contains(&&kind) {
            out.extend_from_slice(chunk);
        }
        at += 12 + len;
        if &kind == b"IEND" {
            return Ok(out);
        }
    }
}

/// When a JPEG photo was taken, from its EXIF `DateTimeOriginal` (else
/// `DateTime`), read before the metadata is stripped so that the time
/// survives inside the ciphertext. Cameras record local time without a
/// zone; it is kept as if it were UTC. `None` when absent or malformed.
pub fn jpeg_capture_time(input: &[u8]) -> Option<u64> {
    let mut at = 2;
    while let Some(marker) = input.get(at..at + 4) {
        if marker[0] != 0xFF || marker[1] == 0xDA || marker[1] == 0xD9 {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([marker[2], marker[3]]));
        let payload = input.get(at + 4..at + 2 + len)?;
        if marker[1] == 0xE1
            && let Some(tiff) = payload.strip_prefix(b"Exif\0\0")
        {
            return exif_time(tiff);
        }
        at += 2 + len;
    }
    None
}

fn exif_time(tiff: &[u8]) -> Option<u64> {
    let big = match tiff.get(..2)? {
        b"MM" => true,
        b"II" => false,
        _ => return None,
    };
    let u16_at = |o: usize| {
        let b: [u8; 2] = tiff.get(o..o + 2)?.try_into().ok()?;
        Some(if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let u32_at = |o: usize| {
        let b: [u8; 4] = tiff.get(o..o + 4)?.try_into().ok()?;
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    // The value of `tag` in the IFD at `ifd`, as (type, count, value or offset).
    let find = |ifd: usize, tag: u16| -> Option<(u16, u32, u32)> {
        let n = usize::from(u16_at(ifd)?);
        (0..n.min(512)).find_map(|i| {
            let e = ifd + 2 + 12 * i;
            (u16_at(e)? == tag).then(|| Some((u16_at(e + 2)?, u32_at(e + 4)?, u32_at(e + 8)?)))?
        })
    };
    let text = |(kind, count, offset): (u16, u32, u32)| -> Option<u64> {
        if kind != 2 || count < 19 {
            return None;
        }
        let s = std::str::from_utf8(tiff.get(offset as usize..offset as usize + 19)?).ok()?;
        parse_exif_datetime(s)
    };
    let ifd0 = u32_at(4)? as usize;
    let exif_ifd = find(ifd0, 0x8769).map(|(_, _, o)| o as usize);
    exif_ifd
        .and_then(|e| find(e, 0x9003))
        .and_then(text)
        .or_else(|| find(ifd0, 0x0132).and_then(text))
}

/// "YYYY:MM:DD HH:MM:SS" as Unix seconds.
fn parse_exif_datetime(s: &str) -> Option<u64> {
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (h, mi, se) = (n(11..13)?, n(14..16)?, n(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + h * 3600 + mi * 60 + se).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(kind: u8, payload: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, kind];
        s.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
        s.extend_from_slice(payload);
        s
    }

    /// A JPEG skeleton with JFIF, EXIF (with a GPS tag's bytes), XMP, a
    /// comment, a quantisation table and a scan.
    pub fn jpeg_with_gps() -> Vec<u8> {
        let mut j = vec![0xFF, 0xD8];
        j.extend(segment(0xE0, b"JFIF\0\x01\x02\0\0\x01\0\x01\0\0"));
        j.extend(segment(0xE1, b"Exif\0\0MM\0*GPSLatitude 51.5N"));
        j.extend(segment(
            0xE1,
            b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta owner=Jo/>",
        ));
        j.extend(segment(0xFE, b"taken by Jo Smith"));
        j.extend(segment(0xDB, &[0u8; 65]));
        j.extend(segment(0xDA, &[1, 2, 3]));
        j.extend_from_slice(&[0x12, 0x34, 0xFF, 0x00, 0x56, 0xFF, 0xD9]);
        j
    }

    /// A big-endian EXIF block: IFD0 points to an Exif IFD whose
    /// DateTimeOriginal is `when`.
    pub fn exif_with_time(when: &str) -> Vec<u8> {
        let mut t = b"MM\0\x2a\0\0\0\x08".to_vec();
        // IFD0 at 8: one entry, ExifIFD pointer -> 26.
        t.extend_from_slice(&[0, 1, 0x87, 0x69, 0, 4, 0, 0, 0, 1, 0, 0, 0, 26, 0, 0, 0, 0]);
        // Exif IFD at 26: DateTimeOriginal, ASCII, 20 bytes at 44.
        t.extend_from_slice(&[0, 1, 0x90, 0x03, 0, 2, 0, 0, 0, 20, 0, 0, 0, 44, 0, 0, 0, 0]);
        t.extend_from_slice(when.as_bytes());
        t.push(0);
        let mut payload = b"Exif\0\0".to_vec();
        payload.extend(t);
        payload
    }

    #[test]
    fn the_capture_time_is_read_before_stripping() {
        let mut j = vec![0xFF, 0xD8];
        j.extend(segment(0xE0, b"JFIF\0\x01\x02\0\0\x01\0\x01\0\0"));
        j.extend(segment(0xE1, &exif_with_time("2026:11:20 14:05:09")));
        j.extend(segment(0xDA, &[1, 2, 3]));
        j.extend_from_slice(&[0xFF, 0xD9]);
        assert_eq!(jpeg_capture_time(&j), Some(1_795_183_509));
        assert_eq!(jpeg_capture_time(&strip_jpeg(&j).unwrap()), None);
        assert_eq!(jpeg_capture_time(&jpeg_with_gps()), None);
        assert_eq!(
            parse_exif_datetime("2000:02:29 00:00:00"),
            Some(951_782_400)
        );
        assert_eq!(parse_exif_datetime("0000:00:00 00:00:00"), None);
    }

    #[test]
    fn jpeg_metadata_is_gone_and_the_image_kept() {
        let input = jpeg_with_gps();
        let out = strip_jpeg(&input).unwrap();
        let text = String::from_utf8_lossy(&out);
        for gone in ["Exif", "GPS", "xmpmeta", "Jo Smith"] {
            assert!(!text.contains(gone), "{gone} survived");
        }
        assert!(text.contains("JFIF"));
        assert!(out.ends_with(&[0x12, 0x34, 0xFF, 0x00, 0x56, 0xFF, 0xD9]));
        assert_eq!(sniff(&out), Format::Jpeg);
        // Stripping twice changes nothing more.
        assert_eq!(strip_jpeg(&out).unwrap(), out);
    }

    #[test]
    fn truncated_or_foreign_files_are_refused() {
        let input = jpeg_with_gps();
        assert_eq!(strip_jpeg(&input[..30]), Err(MediaError::BadJpeg));
        assert_eq!(strip_png(b"\x89PNG\r\n\x1a\n\0\0"), Err(MediaError::BadPng));
        assert_eq!(strip_png(b"GIF89a"), Err(MediaError::BadPng));
        assert_eq!(sniff(b"%PDF-1.7"), Format::Other);
    }

    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        c.extend_from_slice(&[0, 0, 0, 0]);
        c
    }

    #[test]
    fn png_text_and_exif_chunks_are_gone() {
        let mut p = PNG_SIGNATURE.to_vec();
        p.extend(chunk(b"IHDR", &[0; 13]));
        p.extend(chunk(b"tEXt", b"Author\0Jo Smith"));
        p.extend(chunk(b"eXIf", b"MM\0*GPS"));
        p.extend(chunk(b"IDAT", &[9; 20]));
        p.extend(chunk(b"IEND", &[]));
        let out = strip_png(&p).unwrap();
        let text = String::from_utf8_lossy(&out);
        assert!(!text.contains("Jo Smith") && !text.contains("GPS"));
        assert!(text.contains("IHDR") && text.contains("IDAT") && text.contains("IEND"));
    }
}
