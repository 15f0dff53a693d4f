//! Programs and their descriptor versions.

use rusqlite::{Connection, OptionalExtension, params};
use sealdrop_proto::codec::Encode;
use sealdrop_proto::descriptor::SignedDescriptor;
use sealdrop_proto::ids::{PersonId, ProgramId};
use sealdrop_proto::log::entry::LogEntry;

use super::{array, decode, to_i64, to_u64};
use crate::model::*;

pub(super) fn create(
    c: &Connection,
    org: i64,
    first: &SignedDescriptor,
    now: u64,
) -> Result<u64, StoreError> {
    let d = first.unverified_body();
    if d.version != 1 {
        return Err(StoreError::Invalid(
            "a program starts at descriptor version 1",
        ));
    }
    let exists: bool = c.query_row(
        "SELECT EXISTS (SELECT 1 FROM programs WHERE id = ?1)",
        [&d.program_id.as_bytes()[..]],
        |r| r.get(0),
    )?;
    if exists {
        return Err(StoreError::ProgramExists);
    }
    c.execute(
        "INSERT INTO programs (id, org_id, current_version, created_at) VALUES (?1, ?2, 1, ?3)",
        params![&d.program_id.as_bytes()[..], org, to_i64(now)?],
    )?;
    insert_descriptor(c, first, now)
}

/// Stores a descriptor version and appends its `descriptor` leaf; returns
/// the leaf's index.
fn insert_descriptor(c: &Connection, d: &SignedDescriptor, now: u64) -> Result<u64, StoreError> {
    let body = d.unverified_body();
    let leaf = super::log::append(
        c,
        &LogEntry::Descriptor {
            program: body.program_id,
            version: body.version,
            descriptor: sealdrop_proto::descriptor::hash_of(d),
            at: now,
        },
    )?;
    c.execute(
        "INSERT INTO descriptors (program_id, version, descriptor, accepted_at) VALUES (?1, ?2, ?3, ?4)",
        params![
            &body.program_id.as_bytes()[..],
            to_i64(body.version)?,
            d.to_bytes(),
            to_i64(now)?
        ],
    )?;
    Ok(leaf)
}

/// The compare-and-swap on the current version, shared by descriptor
/// updates and grants.
pub(super) fn swap_current(
    c: &Connection,
    next: &SignedDescriptor,
    now: u64,
) -> Result<u64, StoreError> {
    let body = next.unverified_body();
    let expected = body
        .version
        .checked_sub(1)
        .ok_or(StoreError::Invalid("descriptor version 0 does not exist"))?;
    let updated = c.execute(
        "UPDATE programs SET current_version = ?2 WHERE id = ?1 AND current_version = ?3",
        params![
            &body.program_id.as_bytes()[..],
            to_i64(body.version)?,
            to_i64(expected)?
        ],
    )?;
    if updated == 0 {
        let current: Option<i64> = c
            .query_row(
                "SELECT current_version FROM programs WHERE id = ?1",
                [&body.program_id.as_bytes()[..]],
                |r| r.get(0),
            )
            .optional()?;
        return Err(match current {
            None => StoreError::UnknownProgram,
            Some(v) => StoreError::DescriptorConflict { current: to_u64(v) },
        });
    }
    insert_descriptor(c, next, now)
}

pub(super) fn advance(
    c: &Connection,
    next: &SignedDescriptor,
    revoked: &[PersonId],
    now: u64,
) -> Result<u64, StoreError> {
    let leaf = swap_current(c, next, now)?;
    let program = next.unverified_body().program_id;
    let mut delete = c.prepare_cached(
        "DELETE FROM envelopes WHERE recipient = ?1
         AND report_seq IN (SELECT seq FROM reports WHERE program_id = ?2)",
    )?;
    for person in revoked {
        delete.execute(params![&person.as_bytes()[..], &program.as_bytes()[..]])?;
        super::log::append(
            c,
            &LogEntry::Revoked {
                program,
                person: *person,
                descriptor_version: next.unverified_body().version,
                at: now,
            },
        )?;
    }
    Ok(leaf)
}

pub(super) fn current(
    c: &Connection,
    id: &ProgramId,
) -> Result<Option<SignedDescriptor>, StoreError> {
    let bytes: Option<Vec<u8>> = c
        .prepare_cached(
            "SELECT d.descriptor FROM programs p JOIN descriptors d
             ON d.program_id = p.id AND d.version = p.current_version WHERE p.id = ?1",
        )?
        .query_row([&id.as_bytes()[..]], |r| r.get(0))
        .optional()?;
    bytes.map(|b| decode(&b)).transpose()
}

pub(super) fn program(c: &Connection, id: &ProgramId) -> Result<Option<Program>, StoreError> {
    let row: Option<(i64, i64)> = c
        .prepare_cached("SELECT org_id, report_count FROM programs WHERE id = ?1")?
        .query_row([&id.as_bytes()[..]], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((org, count)) = row else {
        return Ok(None);
    };
    let current = current(c, id)?
        .ok_or_else(|| StoreError::Backend("a program has no current descriptor".into()))?;
    Ok(Some(Program {
        id: *id,
        org,
        current,
        report_count: to_u64(count),
    }))
}

pub(super) fn programs(c: &Connection, org: i64) -> Result<Vec<Program>, StoreError> {
    let ids: Vec<Vec<u8>> = c
        .prepare_cached("SELECT id FROM programs WHERE org_id = ?1 ORDER BY created_at, id")?
        .query_map([org], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(p) = program(c, &ProgramId::from_bytes(array(id)?))? {
            out.push(p);
        }
    }
    Ok(out)
}

pub(super) fn descriptor(
    c: &Connection,
    id: &ProgramId,
    version: u64,
) -> Result<Option<SignedDescriptor>, StoreError> {
    let bytes: Option<Vec<u8>> = c
        .prepare_cached(
            "SELECT descriptor FROM descriptors WHERE program_id = ?1 AND version = ?2",
        )?
        .query_row(params![&id.as_bytes()[..], to_i64(version)?], |r| r.get(0))
        .optional()?;
    bytes.map(|b| decode(&b)).transpose()
}

pub(super) fn descriptors(
    c: &Connection,
    id: &ProgramId,
) -> Result<Vec<SignedDescriptor>, StoreError> {
    let rows: Vec<Vec<u8>> = c
        .prepare_cached(
            "SELECT descriptor FROM descriptors WHERE program_id = ?1 ORDER BY version",
        )?
        .query_map([&id.as_bytes()[..]], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    rows.iter().map(|b| decode(b)).collect()
}

pub(super) fn put_questionnaire(
    c: &Connection,
    program: &ProgramId,
    digest: [u8; 32],
    body: &[u8],
) -> Result<(), StoreError> {
    if let Some(existing) = questionnaire(c, program, digest)? {
        return if existing == body {
            Ok(())
        } else {
            Err(StoreError::Invalid(
                "a different questionnaire is stored under this digest",
            ))
        };
    }
    c.execute(
        "INSERT INTO questionnaires (program_id, digest, body) VALUES (?1, ?2, ?3)",
        params![&program.as_bytes()[..], &digest[..], body],
    )?;
    Ok(())
}

pub(super) fn questionnaire(
    c: &Connection,
    program: &ProgramId,
    digest: [u8; 32],
) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(
        c.prepare_cached("SELECT body FROM questionnaires WHERE program_id = ?1 AND digest = ?2")?
            .query_row(params![&program.as_bytes()[..], &digest[..]], |r| r.get(0))
            .optional()?,
    )
}
