//! Reports: submission, release, grants, deletion and retention.

use rusqlite::{Connection, OptionalExtension, Row, params};
use sealdrop_proto::codec::Encode;
use sealdrop_proto::ids::{PersonId, ProgramId, ReportId};
use sealdrop_proto::messages::Acknowledgement;
use sealdrop_proto::report::SealedReport;
use sealdrop_proto::signed::Signed;

use sealdrop_proto::log::entry::LogEntry;

use super::{array, decode, to_i64, to_u64};
use super::{log, programs};
use crate::StoredReport;
use crate::model::*;

const SECONDS_PER_DAY: u64 = 86_400;

/// The checks every new report passes inside the writing transaction, in
/// this order: the shopper is still enrolled in the program and enabled; the
/// ID is not reserved by a tombstone; the same report stored before is a
/// duplicate (its first acknowledgement), a different one a conflict; the
/// descriptor version is still the current one.
pub(super) fn check_new_report(
    c: &Connection,
    sealed: &SealedReport,
    shopper: &PersonId,
) -> Result<Option<SubmitOutcome>, StoreError> {
    let header = &sealed.header;
    let id = header.core.report_id;
    let program = header.core.program_id;
    let person: Option<(String, Option<i64>, Option<Vec<u8>>)> = c
        .prepare_cached("SELECT role, disabled_at, program_id FROM people WHERE id = ?1")?
        .query_row([&shopper.as_bytes()[..]], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    match person {
        Some((_, Some(_), _)) => return Err(StoreError::Disabled),
        Some((role, None, Some(p))) if role == "shopper" && p == program.as_bytes() => {}
        _ => return Err(StoreError::NotAllowed),
    }
    /// Record hash, acknowledgement, tombstoned, acceptance leaf.
    type Existing = (Vec<u8>, Vec<u8>, bool, Option<i64>);
    let existing: Option<Existing> = c
        .prepare_cached(
            "SELECT record_hash, acknowledgement, purged_at IS NOT NULL OR deleted_at IS NOT NULL,
             accepted_leaf FROM reports WHERE id = ?1",
        )?
        .query_row([&id.as_bytes()[..]], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    if let Some((hash, ack, tombstoned, leaf)) = existing {
        return if tombstoned {
            Err(StoreError::Gone)
        } else if hash == sealed.hash() {
            Ok(Some(SubmitOutcome::Duplicate(Accepted {
                acknowledgement: ack,
                leaf: leaf.map(to_u64),
            })))
        } else {
            Err(StoreError::ReportIdConflict)
        };
    }
    let current: i64 = c
        .prepare_cached("SELECT current_version FROM programs WHERE id = ?1")?
        .query_row([&program.as_bytes()[..]], |r| r.get(0))
        .optional()?
        .ok_or(StoreError::UnknownProgram)?;
    if to_u64(current) != header.descriptor_version {
        let current = programs::current(c, &program)?
            .ok_or_else(|| StoreError::Backend("a program has no current descriptor".into()))?;
        return Err(StoreError::StaleList {
            current: Box::new(current),
        });
    }
    Ok(None)
}

pub(super) fn new_blob(c: &Connection) -> Result<i64, StoreError> {
    Ok(
        c.prepare_cached("INSERT INTO blobs DEFAULT VALUES RETURNING id")?
            .query_row([], |r| r.get(0))?,
    )
}

/// Inserts a checked report whose ciphertext is in `blob`.
pub(super) fn insert_report(
    c: &Connection,
    sealed: &SealedReport,
    shopper: &PersonId,
    acknowledgement: &Signed<Acknowledgement>,
    blob: i64,
    ciphertext_len: u64,
) -> Result<Accepted, StoreError> {
    let core = &sealed.header.core;
    let record = sealed.record().to_bytes();
    let size = ciphertext_len.saturating_add(record.len() as u64);
    let ack = acknowledgement.to_bytes();
    let acked = acknowledgement.unverified_body();
    let leaf = log::append(
        c,
        &LogEntry::Accepted {
            program: acked.program_id,
            report: acked.report_id,
            sealed_report: acked.sealed_report,
            received_at: acked.received_at,
        },
    )?;
    let seq: i64 = c
        .prepare_cached(
            "INSERT INTO reports (id, program_id, shopper_id, received_at, size, record, record_hash, acknowledgement, blob, accepted_leaf)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING seq",
        )?
        .query_row(
            params![
                &core.report_id.as_bytes()[..],
                &core.program_id.as_bytes()[..],
                &shopper.as_bytes()[..],
                to_i64(acknowledgement.unverified_body().received_at)?,
                to_i64(size)?,
                record,
                &sealed.hash()[..],
                &ack,
                blob,
                to_i64(leaf)?,
            ],
            |r| r.get(0),
        )?;
    c.prepare_cached("UPDATE programs SET report_count = report_count + 1 WHERE id = ?1")?
        .execute([&core.program_id.as_bytes()[..]])?;
    let mut envelope = c.prepare_cached(
        "INSERT INTO envelopes (recipient, report_seq, envelope) VALUES (?1, ?2, ?3)",
    )?;
    for e in &sealed.envelopes {
        envelope.execute(params![&e.recipient.as_bytes()[..], seq, e.to_bytes()])?;
    }
    Ok(Accepted {
        acknowledgement: ack,
        leaf: Some(leaf),
    })
}

pub(super) fn insert_part(
    c: &Connection,
    blob: i64,
    stream: u32,
    part: i64,
    data: &[u8],
) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO chunks (blob, stream, part, size, data) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![blob, stream, part, data.len() as i64, data])?;
    Ok(())
}

pub(super) fn submit(c: &Connection, s: &Submission) -> Result<SubmitOutcome, StoreError> {
    if let Some(duplicate) = check_new_report(c, &s.sealed, &s.shopper)? {
        return Ok(duplicate);
    }
    let blob = new_blob(c)?;
    let mut ciphertext = 0u64;
    for (stream, parts) in s.streams.iter().enumerate() {
        let stream = u32::try_from(stream).map_err(|_| StoreError::Invalid("too many streams"))?;
        for (part, data) in parts.iter().enumerate() {
            insert_part(c, blob, stream, part as i64, data)?;
            ciphertext += data.len() as u64;
        }
    }
    let ack = insert_report(
        c,
        &s.sealed,
        &s.shopper,
        &s.acknowledgement,
        blob,
        ciphertext,
    )?;
    Ok(SubmitOutcome::Stored(ack))
}

pub(super) fn inbox(
    c: &Connection,
    person: &PersonId,
    filter: &InboxFilter,
) -> Result<Vec<InboxRow>, StoreError> {
    let program = filter.program.map(|p| p.as_bytes().to_vec());
    let since = to_i64(filter.since.unwrap_or(0))?;
    let mut stmt = c.prepare_cached(
        "SELECT r.id, r.program_id, r.shopper_id, r.received_at, r.size, e.fetched_at IS NOT NULL
         FROM envelopes e JOIN reports r ON r.seq = e.report_seq
         WHERE e.recipient = ?1 AND (?2 IS NULL OR r.program_id = ?2) AND r.received_at >= ?3
         ORDER BY r.seq",
    )?;
    let rows = stmt.query_map(params![&person.as_bytes()[..], program, since], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, Vec<u8>>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, bool>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, program, shopper, received_at, size, fetched) = row?;
        out.push(InboxRow {
            report: ReportId::from_bytes(array(id)?),
            program: ProgramId::from_bytes(array(program)?),
            shopper: PersonId::from_bytes(array(shopper)?),
            received_at: to_u64(received_at),
            size: to_u64(size),
            fetched,
        });
    }
    Ok(out)
}

/// The log leaf that records a report's acceptance.
pub(super) fn accepted_leaf(c: &Connection, report: &ReportId) -> Result<Option<u64>, StoreError> {
    let leaf: Option<Option<i64>> = c
        .prepare_cached("SELECT accepted_leaf FROM reports WHERE id = ?1")?
        .query_row([&report.as_bytes()[..]], |r| r.get(0))
        .optional()?;
    Ok(leaf.flatten().map(to_u64))
}

/// The sequence number of a live report, or why there is none.
fn live_seq(c: &Connection, report: &ReportId) -> Result<i64, StoreError> {
    let row: Option<(i64, bool)> = c
        .prepare_cached(
            "SELECT seq, purged_at IS NOT NULL OR deleted_at IS NOT NULL FROM reports WHERE id = ?1",
        )?
        .query_row([&report.as_bytes()[..]], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match row {
        None => Err(StoreError::UnknownReport),
        Some((_, true)) => Err(StoreError::Gone),
        Some((seq, false)) => Ok(seq),
    }
}

pub(super) fn holds_envelope(
    c: &Connection,
    report: &ReportId,
    person: &PersonId,
) -> Result<bool, StoreError> {
    let seq = live_seq(c, report)?;
    Ok(c.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM envelopes WHERE recipient = ?1 AND report_seq = ?2)",
    )?
    .query_row(params![&person.as_bytes()[..], seq], |r| r.get(0))?)
}

pub(super) fn release(
    c: &Connection,
    report: &ReportId,
    person: &PersonId,
    now: u64,
) -> Result<Release, StoreError> {
    let seq = live_seq(c, report)?;
    let row: Option<(Vec<u8>, Option<Vec<u8>>)> = c
        .prepare_cached(
            "UPDATE envelopes SET fetched_at = COALESCE(fetched_at, ?3)
             WHERE recipient = ?1 AND report_seq = ?2
             RETURNING envelope, (SELECT grant_record FROM grants g WHERE g.seq = envelopes.grant_seq)",
        )?
        .query_row(params![&person.as_bytes()[..], seq, to_i64(now)?], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let (envelope, grant) = row.ok_or(StoreError::NotAllowed)?;
    let (record, acknowledgement): (Vec<u8>, Vec<u8>) = c
        .prepare_cached("SELECT record, acknowledgement FROM reports WHERE seq = ?1")?
        .query_row([seq], |r| Ok((r.get(0)?, r.get(1)?)))?;
    // One `released` leaf per report, reader and envelope: a later request
    // returns the same leaf, so that a reader can wait for witnesses to
    // cover it and the access history counts each report a person read
    // once; an envelope given again after a revocation is a new release.
    let envelope: sealdrop_proto::report::Envelope = decode(&envelope)?;
    let envelope_hash = envelope.hash();
    let earlier: Option<(i64, i64)> = c
        .prepare_cached(
            "SELECT leaf, released_at FROM releases
             WHERE report_id = ?1 AND person_id = ?2 AND envelope_hash = ?3
               AND leaf IS NOT NULL
             ORDER BY seq LIMIT 1",
        )?
        .query_row(
            params![
                &report.as_bytes()[..],
                &person.as_bytes()[..],
                &envelope_hash[..]
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (leaf, released_at) = match earlier {
        Some((leaf, at)) => (to_u64(leaf), to_u64(at)),
        None => {
            let leaf = log::append(
                c,
                &LogEntry::Released {
                    report: *report,
                    person: *person,
                    at: now,
                },
            )?;
            c.prepare_cached(
                "INSERT INTO releases (report_id, person_id, released_at, leaf, envelope_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                &report.as_bytes()[..],
                &person.as_bytes()[..],
                to_i64(now)?,
                to_i64(leaf)?,
                &envelope_hash[..]
            ])?;
            (leaf, now)
        }
    };
    Ok(Release {
        record,
        envelope,
        grant,
        acknowledgement,
        leaf,
        released_at,
    })
}

pub(super) fn stream_part(
    c: &Connection,
    report: &ReportId,
    stream: u32,
    part: u32,
) -> Result<Option<Vec<u8>>, StoreError> {
    let seq = live_seq(c, report)?;
    Ok(c.prepare_cached(
        "SELECT c.data FROM chunks c JOIN reports r ON r.blob = c.blob
         WHERE r.seq = ?1 AND c.stream = ?2 AND c.part = ?3",
    )?
    .query_row(params![seq, stream, part], |r| r.get(0))
    .optional()?)
}

/// Columns of `reports r`, in the order `report_from_row` reads them.
pub(super) const REPORT_COLUMNS: &str = "r.seq, r.record, r.program_id, r.received_at,
    r.acknowledgement, r.purged_at, r.purge_version, r.purge_days, r.deleted_at, r.deletion, r.id";

pub(super) fn report_from_row(r: &Row<'_>) -> Result<(u64, StoredReport), StoreError> {
    let record: Vec<u8> = r.get(1)?;
    let purged_at: Option<i64> = r.get(5)?;
    let deleted_at: Option<i64> = r.get(8)?;
    let tombstone = match (purged_at, deleted_at) {
        (Some(at), _) => Some(Tombstone::Retention {
            descriptor_version: to_u64(r.get::<_, Option<i64>>(6)?.unwrap_or(0)),
            retention_days: u32::try_from(r.get::<_, Option<i64>>(7)?.unwrap_or(0)).unwrap_or(0),
            purged_at: to_u64(at),
        }),
        (None, Some(at)) => Some(Tombstone::Deletion {
            request: r.get::<_, Option<Vec<u8>>>(9)?.unwrap_or_default(),
            deleted_at: to_u64(at),
        }),
        (None, None) => None,
    };
    Ok((
        to_u64(r.get(0)?),
        StoredReport {
            id: ReportId::from_bytes(array(r.get(10)?)?),
            record,
            program: ProgramId::from_bytes(array(r.get(2)?)?),
            received_at: to_u64(r.get(3)?),
            acknowledgement: r.get(4)?,
            tombstone,
        },
    ))
}

pub(super) fn report(c: &Connection, id: &ReportId) -> Result<Option<StoredReport>, StoreError> {
    let sql = format!("SELECT {REPORT_COLUMNS} FROM reports r WHERE r.id = ?1");
    let mut stmt = c.prepare_cached(&sql)?;
    let mut rows = stmt.query([&id.as_bytes()[..]])?;
    match rows.next()? {
        Some(r) => Ok(Some(report_from_row(r)?.1)),
        None => Ok(None),
    }
}

pub(super) fn grant(c: &Connection, g: &NewGrant) -> Result<GrantStored, StoreError> {
    let body = g.grant.unverified_body();
    let program = body.program_id;
    let descriptor_leaf = match &g.descriptor {
        Some(next) => Some(programs::swap_current(c, next, g.now)?),
        None => {
            let current: i64 = c
                .query_row(
                    "SELECT current_version FROM programs WHERE id = ?1",
                    [&program.as_bytes()[..]],
                    |r| r.get(0),
                )
                .optional()?
                .ok_or(StoreError::UnknownProgram)?;
            if to_u64(current) != body.descriptor_version {
                return Err(StoreError::DescriptorConflict {
                    current: to_u64(current),
                });
            }
            None
        }
    };
    let grant_seq: i64 = c.query_row(
        "INSERT INTO grants (program_id, grant_record, accepted_at) VALUES (?1, ?2, ?3) RETURNING seq",
        params![&program.as_bytes()[..], g.grant.to_bytes(), to_i64(g.now)?],
        |r| r.get(0),
    )?;
    let recipient = body.recipient.id();
    let granted_leaf = log::append(
        c,
        &LogEntry::Granted {
            program,
            recipient,
            grant: g.grant.hash(sealdrop_proto::labels::HASH_GRANT_RECORD),
            at: g.now,
        },
    )?;
    let mut find = c.prepare_cached(
        "SELECT seq FROM reports WHERE id = ?1 AND program_id = ?2
         AND purged_at IS NULL AND deleted_at IS NULL",
    )?;
    // A later grant's envelope replaces an earlier grant's for the same
    // person and report (both open to the same committed key); an envelope
    // the shopper sealed is never replaced.
    let mut sealed_by_shopper = c.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM envelopes WHERE recipient = ?1 AND report_seq = ?2
         AND grant_seq IS NULL)",
    )?;
    let mut insert = c.prepare_cached(
        "INSERT INTO envelopes (recipient, report_seq, envelope, grant_seq) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (recipient, report_seq) DO UPDATE SET envelope = excluded.envelope,
         grant_seq = excluded.grant_seq",
    )?;
    for (report, envelope) in body.envelopes.iter().map(|(id, _)| id).zip(&g.envelopes) {
        let seq: i64 = find
            .query_row(
                params![&report.as_bytes()[..], &program.as_bytes()[..]],
                |r| r.get(0),
            )
            .optional()?
            .ok_or(StoreError::Invalid(
                "a granted envelope is for a report this program does not hold",
            ))?;
        if sealed_by_shopper.query_row(params![&recipient.as_bytes()[..], seq], |r| r.get(0))? {
            return Err(StoreError::Invalid(
                "the recipient already holds the envelope the shopper sealed for a granted report",
            ));
        }
        insert.execute(params![
            &recipient.as_bytes()[..],
            seq,
            envelope.to_bytes(),
            grant_seq
        ])?;
    }
    let missing: Vec<Vec<u8>> = c
        .prepare_cached(
            "SELECT r.id FROM reports r WHERE r.program_id = ?1
             AND r.purged_at IS NULL AND r.deleted_at IS NULL
             AND NOT EXISTS (SELECT 1 FROM envelopes e WHERE e.report_seq = r.seq AND e.recipient = ?2)
             ORDER BY r.seq",
        )?
        .query_map(
            params![&program.as_bytes()[..], &recipient.as_bytes()[..]],
            |r| r.get(0),
        )?
        .collect::<Result<_, _>>()?;
    Ok(GrantStored {
        descriptor_leaf,
        granted_leaf,
        missing: missing
            .into_iter()
            .map(|b| array(b).map(ReportId::from_bytes))
            .collect::<Result<_, _>>()?,
    })
}

/// Deletes a report's envelopes at once and hands its ciphertext to the
/// sweep, which deletes it in bounded steps after this commits. From this
/// commit on the report is tombstoned: nothing serves its ciphertext.
fn erase(c: &Connection, seq: i64) -> Result<(), StoreError> {
    c.prepare_cached("DELETE FROM envelopes WHERE report_seq = ?1")?
        .execute([seq])?;
    c.prepare_cached("INSERT INTO dead_blobs (blob) SELECT blob FROM reports WHERE seq = ?1")?
        .execute([seq])?;
    Ok(())
}

pub(super) fn delete(c: &Connection, d: &NewDeletion) -> Result<(), StoreError> {
    let seq = live_seq(c, &d.report)?;
    let program: Vec<u8> = c
        .prepare_cached("SELECT program_id FROM reports WHERE seq = ?1")?
        .query_row([seq], |r| r.get(0))?;
    log::append(
        c,
        &LogEntry::Deleted {
            program: ProgramId::from_bytes(array(program)?),
            report: d.report,
            deletion_request: d.request.hash(sealdrop_proto::labels::HASH_DELETION_RECORD),
            at: d.now,
        },
    )?;
    erase(c, seq)?;
    c.execute(
        "UPDATE reports SET deleted_at = ?2, deletion = ?3 WHERE seq = ?1",
        params![seq, to_i64(d.now)?, d.request.to_bytes()],
    )?;
    Ok(())
}

/// Tombstones every report received at or before `cutoff` minus its
/// program's retention, recording `now` as the purge time.
pub(super) fn purge(c: &Connection, cutoff_at: u64, now: u64) -> Result<Vec<ReportId>, StoreError> {
    let program_ids: Vec<Vec<u8>> = c
        .prepare("SELECT id FROM programs")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut purged = Vec::new();
    for id in program_ids {
        let program = ProgramId::from_bytes(array(id)?);
        let Some(current) = programs::current(c, &program)? else {
            continue;
        };
        let d = current.unverified_body();
        let cutoff = cutoff_at.saturating_sub(u64::from(d.retention_days) * SECONDS_PER_DAY);
        let due: Vec<(i64, Vec<u8>, i64)> = c
            .prepare_cached(
                "SELECT seq, id, received_at FROM reports WHERE program_id = ?1 AND received_at <= ?2
                 AND purged_at IS NULL AND deleted_at IS NULL ORDER BY seq",
            )?
            .query_map(params![&program.as_bytes()[..], to_i64(cutoff)?], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        for (seq, id, received_at) in due {
            let report = ReportId::from_bytes(array(id)?);
            log::append(
                c,
                &LogEntry::Purged {
                    program,
                    report,
                    descriptor_version: d.version,
                    retention_days: d.retention_days,
                    received_at: to_u64(received_at),
                    at: now,
                },
            )?;
            erase(c, seq)?;
            c.prepare_cached(
                "UPDATE reports SET purged_at = ?2, purge_version = ?3, purge_days = ?4 WHERE seq = ?1",
            )?
            .execute(params![
                seq,
                to_i64(now)?,
                to_i64(d.version)?,
                i64::from(d.retention_days)
            ])?;
            purged.push(report);
        }
    }
    Ok(purged)
}
