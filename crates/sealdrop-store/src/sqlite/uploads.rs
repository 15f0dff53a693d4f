//! Resumable uploads: a checked sealed report, then its ciphertext in
//! pieces at explicit offsets, then one transaction that turns the filled
//! blob into a stored report.

use rusqlite::{Connection, OptionalExtension, params};
use sealdrop_proto::codec::Encode;
use sealdrop_proto::ids::{PersonId, ReportId};
use sealdrop_proto::report::SealedReport;

use super::reports::{check_new_report, insert_part, insert_report, new_blob};
use super::{PART_LEN, decode, to_i64, to_u64};
use crate::model::*;

/// Uploads nobody added to for this long are deleted by the purge.
pub const UPLOAD_TTL: u64 = 7 * 86_400;

/// Unfinished uploads one pseudonym may hold at once.
pub const MAX_OPEN_UPLOADS: i64 = 8;

struct Row {
    shopper: Vec<u8>,
    sealed: SealedReport,
    blob: i64,
}

fn row(c: &Connection, report: &ReportId) -> Result<Option<Row>, StoreError> {
    let raw: Option<(Vec<u8>, Vec<u8>, i64)> = c
        .prepare_cached("SELECT shopper_id, sealed, blob FROM uploads WHERE report_id = ?1")?
        .query_row([&report.as_bytes()[..]], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    raw.map(|(shopper, sealed, blob)| {
        Ok(Row {
            shopper,
            sealed: decode(&sealed)?,
            blob,
        })
    })
    .transpose()
}

/// The caller's upload of `report`.
fn own(c: &Connection, report: &ReportId, shopper: &PersonId) -> Result<Row, StoreError> {
    row(c, report)?
        .filter(|r| r.shopper == shopper.as_bytes())
        .ok_or(StoreError::UnknownUpload)
}

fn received(c: &Connection, blob: i64, streams: usize) -> Result<Vec<u64>, StoreError> {
    let mut out = vec![0u64; streams];
    let mut stmt =
        c.prepare_cached("SELECT stream, SUM(size) FROM chunks WHERE blob = ?1 GROUP BY stream")?;
    let rows = stmt.query_map([blob], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (stream, size) = row?;
        if let Some(slot) = usize::try_from(stream).ok().and_then(|s| out.get_mut(s)) {
            *slot = to_u64(size);
        }
    }
    Ok(out)
}

pub(super) fn begin(c: &Connection, u: &NewUpload) -> Result<UploadStart, StoreError> {
    if let Some(done) = check_new_report(c, &u.sealed, &u.shopper)? {
        let (SubmitOutcome::Duplicate(accepted) | SubmitOutcome::Stored(accepted)) = done;
        return Ok(UploadStart::Stored(accepted));
    }
    let report = u.sealed.report_id();
    if let Some(existing) = row(c, &report)? {
        if existing.shopper != u.shopper.as_bytes() {
            return Err(StoreError::ReportIdConflict);
        }
        if existing.sealed != u.sealed {
            // A re-wrapped report keeps its ciphertext: the bytes already
            // uploaded still count.
            if existing.sealed.streams != u.sealed.streams {
                return Err(StoreError::Invalid(
                    "a different report is being uploaded under this ID; discard that upload first",
                ));
            }
            c.prepare_cached("UPDATE uploads SET sealed = ?2 WHERE report_id = ?1")?
                .execute(params![&report.as_bytes()[..], u.sealed.to_bytes()])?;
        }
        return Ok(UploadStart::Started(Box::new(UploadState {
            received: received(c, existing.blob, u.sealed.streams.len())?,
            sealed: u.sealed.clone(),
            blob: existing.blob,
        })));
    }
    // One pseudonym may hold only a few unfinished uploads, so it cannot
    // fill the disk with reports it never finishes.
    let open: i64 = c
        .prepare_cached("SELECT COUNT(*) FROM uploads WHERE shopper_id = ?1")?
        .query_row([&u.shopper.as_bytes()[..]], |r| r.get(0))?;
    if open >= MAX_OPEN_UPLOADS {
        return Err(StoreError::Invalid(
            "this pseudonym has too many unfinished uploads; finish or discard one first",
        ));
    }
    let blob = new_blob(c)?;
    c.prepare_cached(
        "INSERT INTO uploads (report_id, shopper_id, sealed, blob, started_at, touched_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    )?
    .execute(params![
        &report.as_bytes()[..],
        &u.shopper.as_bytes()[..],
        u.sealed.to_bytes(),
        blob,
        to_i64(u.now)?
    ])?;
    Ok(UploadStart::Started(Box::new(UploadState {
        received: vec![0; u.sealed.streams.len()],
        sealed: u.sealed.clone(),
        blob,
    })))
}

pub(super) fn state(
    c: &Connection,
    report: &ReportId,
    shopper: &PersonId,
) -> Result<UploadState, StoreError> {
    let row = own(c, report, shopper)?;
    Ok(UploadState {
        received: received(c, row.blob, row.sealed.streams.len())?,
        sealed: row.sealed,
        blob: row.blob,
    })
}

pub(super) fn append(c: &Connection, p: &UploadPiece) -> Result<u64, StoreError> {
    let row = own(c, &p.report, &p.shopper)?;
    let declared = row
        .sealed
        .streams
        .get(p.stream as usize)
        .ok_or(StoreError::Invalid("the report has no such stream"))?
        .ciphertext_len;
    let (have, parts): (i64, i64) = c
        .prepare_cached(
            "SELECT COALESCE(SUM(size), 0), COUNT(*) FROM chunks WHERE blob = ?1 AND stream = ?2",
        )?
        .query_row(params![row.blob, p.stream], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let have = to_u64(have);
    if p.offset != have {
        return Err(StoreError::UploadOffset { expected: have });
    }
    let end = have.saturating_add(p.data.len() as u64);
    if end > declared {
        return Err(StoreError::Invalid(
            "the piece goes past the stream length the report declares",
        ));
    }
    for (i, piece) in p.data.chunks(PART_LEN).enumerate() {
        insert_part(c, row.blob, p.stream, parts + i as i64, piece)?;
    }
    c.prepare_cached("UPDATE uploads SET touched_at = ?2 WHERE report_id = ?1")?
        .execute(params![&p.report.as_bytes()[..], to_i64(p.now)?])?;
    Ok(end)
}

pub(super) fn part(
    c: &Connection,
    report: &ReportId,
    shopper: &PersonId,
    stream: u32,
    part: u32,
) -> Result<Option<Vec<u8>>, StoreError> {
    let row = own(c, report, shopper)?;
    Ok(
        c.prepare_cached("SELECT data FROM chunks WHERE blob = ?1 AND stream = ?2 AND part = ?3")?
            .query_row(params![row.blob, stream, part], |r| r.get(0))
            .optional()?,
    )
}

pub(super) fn finish(c: &Connection, f: &FinishUpload) -> Result<SubmitOutcome, StoreError> {
    let row = own(c, &f.report, &f.shopper)?;
    if row.sealed.hash() != f.sealed_hash || row.blob != f.blob {
        return Err(StoreError::Invalid(
            "the upload changed while it was being finished; try again",
        ));
    }
    let received = received(c, row.blob, row.sealed.streams.len())?;
    if row
        .sealed
        .streams
        .iter()
        .zip(&received)
        .any(|(d, r)| d.ciphertext_len != *r)
    {
        return Err(StoreError::Incomplete);
    }
    let outcome = match check_new_report(c, &row.sealed, &f.shopper)? {
        Some(duplicate) => {
            drop_blob(c, row.blob)?;
            duplicate
        }
        None => {
            let total = received.iter().sum();
            let ack = insert_report(
                c,
                &row.sealed,
                &f.shopper,
                &f.acknowledgement,
                row.blob,
                total,
            )?;
            SubmitOutcome::Stored(ack)
        }
    };
    c.prepare_cached("DELETE FROM uploads WHERE report_id = ?1")?
        .execute([&f.report.as_bytes()[..]])?;
    Ok(outcome)
}

pub(super) fn discard(
    c: &Connection,
    report: &ReportId,
    shopper: &PersonId,
) -> Result<(), StoreError> {
    let row = own(c, report, shopper)?;
    drop_blob(c, row.blob)?;
    c.prepare_cached("DELETE FROM uploads WHERE report_id = ?1")?
        .execute([&report.as_bytes()[..]])?;
    Ok(())
}

/// Hands a blob's chunks to the sweep.
fn drop_blob(c: &Connection, blob: i64) -> Result<(), StoreError> {
    c.prepare_cached("INSERT INTO dead_blobs (blob) VALUES (?1)")?
        .execute([blob])?;
    Ok(())
}

/// Deletes uploads nobody added to for `UPLOAD_TTL`.
pub(super) fn expire(c: &Connection, now: u64) -> Result<usize, StoreError> {
    let cutoff = to_i64(now.saturating_sub(UPLOAD_TTL))?;
    c.prepare_cached(
        "INSERT INTO dead_blobs (blob) SELECT blob FROM uploads WHERE touched_at < ?1",
    )?
    .execute([cutoff])?;
    Ok(
        c.prepare_cached("DELETE FROM uploads WHERE touched_at < ?1")?
            .execute([cutoff])?,
    )
}
