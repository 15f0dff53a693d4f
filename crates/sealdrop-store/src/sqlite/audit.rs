//! What auditors page through: every report's public record, every person,
//! grant and release.

use rusqlite::{Connection, params};
use sealdrop_proto::ids::{PersonId, ProgramId, ReportId};

use super::people::{PERSON_COLUMNS, person_from_row};
use super::reports::{REPORT_COLUMNS, report_from_row};
use super::{array, to_i64, to_u64};
use crate::StoredReport;
use crate::model::*;

pub(super) fn reports(
    c: &Connection,
    org: i64,
    page: AuditPage,
) -> Result<Vec<(u64, StoredReport)>, StoreError> {
    let sql = format!(
        "SELECT {REPORT_COLUMNS} FROM reports r JOIN programs p ON p.id = r.program_id\n         WHERE r.seq > ?1 AND p.org_id = ?3 ORDER BY r.seq LIMIT ?2"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![to_i64(page.after)?, page.limit, org])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(report_from_row(r)?);
    }
    Ok(out)
}

pub(super) fn people(
    c: &Connection,
    org: i64,
    page: AuditPage,
) -> Result<Vec<(u64, Person)>, StoreError> {
    let sql = format!(
        "SELECT {PERSON_COLUMNS} FROM people p JOIN organisations o ON o.id = p.org_id
         WHERE p.seq > ?1 AND p.org_id = ?3 ORDER BY p.seq LIMIT ?2"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![to_i64(page.after)?, page.limit, org])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(person_from_row(r, true)?);
    }
    Ok(out)
}

pub(super) fn grants(
    c: &Connection,
    org: i64,
    page: AuditPage,
) -> Result<Vec<(u64, GrantRow)>, StoreError> {
    let rows: Vec<(i64, Vec<u8>, Vec<u8>, i64)> = c
        .prepare_cached(
            "SELECT g.seq, g.program_id, g.grant_record, g.accepted_at FROM grants g\n             JOIN programs p ON p.id = g.program_id\n             WHERE g.seq > ?1 AND p.org_id = ?3 ORDER BY g.seq LIMIT ?2",
        )?
        .query_map(params![to_i64(page.after)?, page.limit, org], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|(seq, program, grant, at)| {
            Ok((
                to_u64(seq),
                GrantRow {
                    program: ProgramId::from_bytes(array(program)?),
                    grant,
                    accepted_at: to_u64(at),
                },
            ))
        })
        .collect()
}

pub(super) fn releases(
    c: &Connection,
    org: i64,
    page: AuditPage,
) -> Result<Vec<(u64, ReleaseRow)>, StoreError> {
    let rows: Vec<(i64, Vec<u8>, Vec<u8>, i64)> = c
        .prepare_cached(
            "SELECT x.seq, x.report_id, x.person_id, x.released_at FROM releases x\n             JOIN reports r ON r.id = x.report_id JOIN programs p ON p.id = r.program_id\n             WHERE x.seq > ?1 AND p.org_id = ?3 ORDER BY x.seq LIMIT ?2",
        )?
        .query_map(params![to_i64(page.after)?, page.limit, org], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|(seq, report, person, at)| {
            Ok((
                to_u64(seq),
                ReleaseRow {
                    report: ReportId::from_bytes(array(report)?),
                    person: PersonId::from_bytes(array(person)?),
                    released_at: to_u64(at),
                },
            ))
        })
        .collect()
}

pub(super) fn ciphertext(
    c: &Connection,
    org: i64,
    page: AuditPage,
    max_bytes: u64,
) -> Result<Vec<BulkRow>, StoreError> {
    type Row = (
        i64,
        Vec<u8>,
        Option<i64>,
        i64,
        Vec<u8>,
        Vec<u8>,
        bool,
        Option<i64>,
    );
    let rows: Vec<Row> = c
        .prepare_cached(
            "SELECT r.seq, r.id, r.blob, r.size, r.record, r.acknowledgement,
                    r.purged_at IS NOT NULL OR r.deleted_at IS NOT NULL, r.accepted_leaf
             FROM reports r JOIN programs p ON p.id = r.program_id
             WHERE r.seq > ?1 AND p.org_id = ?3 ORDER BY r.seq LIMIT ?2",
        )?
        .query_map(params![to_i64(page.after)?, page.limit, org], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    let mut parts =
        c.prepare_cached("SELECT stream, data FROM chunks WHERE blob = ?1 ORDER BY stream, part")?;
    let mut out = Vec::new();
    let mut total = 0u64;
    for (seq, id, blob, size, record, acknowledgement, tombstoned, leaf) in rows {
        if total >= max_bytes && !out.is_empty() {
            break;
        }
        let mut row = BulkRow {
            seq: to_u64(seq),
            report: ReportId::from_bytes(array(id)?),
            leaf: leaf.map(to_u64),
            record,
            acknowledgement,
            ciphertext: BulkCiphertext::TooLarge,
        };
        let blob = match blob {
            Some(blob) if !tombstoned => blob,
            _ => {
                row.ciphertext = BulkCiphertext::Tombstoned;
                out.push(row);
                continue;
            }
        };
        if to_u64(size) > max_bytes {
            out.push(row);
            continue;
        }
        let mut streams: Vec<Vec<u8>> = Vec::new();
        let mut rows = parts.query([blob])?;
        while let Some(r) = rows.next()? {
            let stream = usize::try_from(r.get::<_, i64>(0)?)
                .map_err(|_| StoreError::Backend("a stored stream index is negative".into()))?;
            let data: Vec<u8> = r.get(1)?;
            while streams.len() <= stream {
                streams.push(Vec::new());
            }
            total += data.len() as u64;
            if let Some(s) = streams.get_mut(stream) {
                s.extend_from_slice(&data);
            }
        }
        row.ciphertext = BulkCiphertext::Included(streams);
        out.push(row);
    }
    Ok(out)
}
