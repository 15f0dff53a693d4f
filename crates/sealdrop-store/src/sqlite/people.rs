//! Organisations, enrolment tokens, people, challenges, sessions, invites.

use rusqlite::{Connection, OptionalExtension, Row, params};
use sealdrop_proto::codec::Encode;
use sealdrop_proto::ids::{PersonId, ProgramId};
use sealdrop_proto::log::entry::{LogEntry, LoggedRole};

use super::{array, decode, to_i64, to_u64};
use crate::model::*;

pub(super) fn organisation(c: &Connection, name: &str) -> Result<Option<Organisation>, StoreError> {
    Ok(c.query_row(
        "SELECT id, name FROM organisations WHERE name = ?1",
        [name],
        |r| {
            Ok(Organisation {
                id: r.get(0)?,
                name: r.get(1)?,
            })
        },
    )
    .optional()?)
}

pub(super) fn create_organisation(
    c: &Connection,
    name: &str,
    now: u64,
) -> Result<Organisation, StoreError> {
    if organisation(c, name)?.is_some() {
        return Err(StoreError::OrganisationExists);
    }
    c.execute(
        "INSERT INTO organisations (name, created_at) VALUES (?1, ?2)",
        params![name, to_i64(now)?],
    )?;
    Ok(Organisation {
        id: c.last_insert_rowid(),
        name: name.to_owned(),
    })
}

pub(super) fn issue_token(c: &Connection, t: &EnrolmentToken) -> Result<(), StoreError> {
    if t.role == Role::Shopper {
        return Err(StoreError::Invalid(
            "shoppers enrol with a manager-signed invite",
        ));
    }
    let org_exists: bool = c.query_row(
        "SELECT EXISTS (SELECT 1 FROM organisations WHERE id = ?1)",
        [t.org],
        |r| r.get(0),
    )?;
    if !org_exists {
        return Err(StoreError::UnknownOrganisation);
    }
    c.execute(
        "INSERT INTO enrolment_tokens (hash, org_id, role, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![&t.hash[..], t.org, t.role.as_str(), to_i64(t.expires_at)?],
    )?;
    Ok(())
}

fn ensure_new_person(c: &Connection, id: &PersonId) -> Result<(), StoreError> {
    let exists: bool = c.query_row(
        "SELECT EXISTS (SELECT 1 FROM people WHERE id = ?1)",
        [&id.as_bytes()[..]],
        |r| r.get(0),
    )?;
    if exists {
        Err(StoreError::AlreadyEnrolled)
    } else {
        Ok(())
    }
}

pub(super) fn enrol(c: &Connection, e: &NewPerson) -> Result<Person, StoreError> {
    let token: Option<(i64, String)> = c
        .query_row(
            "UPDATE enrolment_tokens SET used = 1
             WHERE hash = ?1 AND used = 0 AND expires_at >= ?2
             RETURNING org_id, role",
            params![&e.token_hash[..], to_i64(e.now)?],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (org, role) = token.ok_or(StoreError::BadToken)?;
    let id = e.identity.id();
    ensure_new_person(c, &id)?;
    c.execute(
        "INSERT INTO people (id, identity, role, org_id, enrolled_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            &id.as_bytes()[..],
            e.identity.to_bytes(),
            role,
            org,
            to_i64(e.now)?
        ],
    )?;
    let stored = person(c, &id, false)?
        .ok_or_else(|| StoreError::Backend("the new person vanished".into()))?;
    super::log::append(
        c,
        &LogEntry::Enrolled {
            person: id,
            role: logged_role(stored.role),
            program: None,
            enrolment: None,
            at: e.now,
        },
    )?;
    Ok(stored)
}

/// A role as log leaves record it.
fn logged_role(role: Role) -> LoggedRole {
    match role {
        Role::Admin => LoggedRole::Admin,
        Role::Manager => LoggedRole::Manager,
        Role::Staff => LoggedRole::Staff,
        Role::Auditor => LoggedRole::Auditor,
        Role::Shopper => LoggedRole::Shopper,
    }
}

/// At most this many commitments per invite: a shopper who retries after
/// a broken connection needs a few, a hostile one cannot fill the log.
pub const MAX_COMMITMENTS_PER_INVITE: i64 = 8;

pub(super) fn commit_enrolment(c: &Connection, e: &NewCommitment) -> Result<u64, StoreError> {
    let counted = c
        .query_row(
            "UPDATE shopper_invites SET commitments = commitments + 1
             WHERE token_hash = ?1 AND used = 0 AND expires_at >= ?2 AND commitments < ?3
             RETURNING 1",
            params![
                &e.token_hash[..],
                to_i64(e.now)?,
                MAX_COMMITMENTS_PER_INVITE
            ],
            |_| Ok(()),
        )
        .optional()?;
    counted.ok_or(StoreError::BadToken)?;
    super::log::append(
        c,
        &LogEntry::Committed {
            commitment: e.commitment,
            at: e.now,
        },
    )
}

pub(super) fn enrol_shopper(c: &Connection, e: &NewShopper) -> Result<EnrolledShopper, StoreError> {
    let program = e.invite.unverified_body().program_id;
    let body = e.enrolment.unverified_body();
    let used = c
        .query_row(
            "UPDATE shopper_invites SET used = 1
             WHERE token_hash = ?1 AND program_id = ?2 AND used = 0 AND expires_at >= ?3
             RETURNING 1",
            params![
                &body.token_hash()[..],
                &program.as_bytes()[..],
                to_i64(e.now)?
            ],
            |_| Ok(()),
        )
        .optional()?;
    used.ok_or(StoreError::BadToken)?;
    // The commitment was logged first, at the leaf the enrolment names,
    // and this enrolment opens it.
    let committed = super::log::leaves(
        c,
        body.commitment_leaf,
        body.commitment_leaf.saturating_add(1),
    )?;
    let opens = committed.first().is_some_and(|data| {
        matches!(
            LogEntry::from_leaf_data(data),
            Ok(LogEntry::Committed { commitment, .. }) if commitment == body.commitment()
        )
    });
    if !opens {
        return Err(StoreError::CommitmentMismatch);
    }
    // The invite's manager must still manage the program: removing a
    // manager ends their invites, also those registered before.
    let current = super::programs::current(c, &program)?.ok_or(StoreError::UnknownProgram)?;
    let signer = e.invite.signer_key();
    if !current
        .unverified_body()
        .managers
        .iter()
        .any(|m| m.signing_key() == signer)
    {
        return Err(StoreError::InviterNotManager);
    }
    let org: i64 = c
        .query_row(
            "SELECT org_id FROM programs WHERE id = ?1",
            [&program.as_bytes()[..]],
            |r| r.get(0),
        )
        .optional()?
        .ok_or(StoreError::UnknownProgram)?;
    let shopper = &e.enrolment.unverified_body().shopper;
    let id = shopper.id();
    ensure_new_person(c, &id)?;
    c.execute(
        "INSERT INTO people (id, identity, role, org_id, enrolled_at, program_id, invite, enrolment)
         VALUES (?1, ?2, 'shopper', ?3, ?4, ?5, ?6, ?7)",
        params![
            &id.as_bytes()[..],
            shopper.to_bytes(),
            org,
            to_i64(e.now)?,
            &program.as_bytes()[..],
            e.invite.to_bytes(),
            e.enrolment.to_bytes(),
        ],
    )?;
    let leaf = super::log::append(
        c,
        &LogEntry::Enrolled {
            person: id,
            role: LoggedRole::Shopper,
            program: Some(program),
            enrolment: Some(
                e.enrolment
                    .hash(sealdrop_proto::labels::HASH_ENROLMENT_RECORD),
            ),
            at: e.now,
        },
    )?;
    let person = person(c, &id, false)?
        .ok_or_else(|| StoreError::Backend("the new person vanished".into()))?;
    Ok(EnrolledShopper { person, leaf })
}

pub(super) const PERSON_COLUMNS: &str = "p.seq, p.id, p.identity, p.role, p.org_id, o.name,
    p.enrolled_at, p.disabled_at, p.program_id, p.invite, p.enrolment";

/// A person from a row of [`PERSON_COLUMNS`]; their invite and enrolment
/// only when `records` is set.
pub(super) fn person_from_row(r: &Row<'_>, records: bool) -> Result<(u64, Person), StoreError> {
    let role: String = r.get(3)?;
    let role = role
        .parse::<Role>()
        .map_err(|_| StoreError::Backend("a stored role is unknown".into()))?;
    let program: Option<Vec<u8>> = r.get(8)?;
    let shopper = if records {
        let invite: Option<Vec<u8>> = r.get(9)?;
        let enrolment: Option<Vec<u8>> = r.get(10)?;
        // A record that no longer decodes is shown as missing, for the
        // auditor to name; it does not fail the whole listing.
        match (invite, enrolment) {
            (Some(i), Some(e)) => match (decode(&i), decode(&e)) {
                (Ok(invite), Ok(enrolment)) => Some(ShopperRecord { invite, enrolment }),
                _ => {
                    tracing::warn!("a stored shopper enrolment does not decode");
                    None
                }
            },
            _ => None,
        }
    } else {
        None
    };
    let identity: Vec<u8> = r.get(2)?;
    Ok((
        to_u64(r.get(0)?),
        Person {
            id: PersonId::from_bytes(array(r.get(1)?)?),
            identity: decode(&identity)?,
            role,
            organisation: Organisation {
                id: r.get(4)?,
                name: r.get(5)?,
            },
            enrolled_at: to_u64(r.get(6)?),
            disabled: r.get::<_, Option<i64>>(7)?.is_some(),
            program: program
                .map(|p| array(p).map(ProgramId::from_bytes))
                .transpose()?,
            shopper,
        },
    ))
}

pub(super) fn person(
    c: &Connection,
    id: &PersonId,
    records: bool,
) -> Result<Option<Person>, StoreError> {
    let sql = format!(
        "SELECT {PERSON_COLUMNS} FROM people p JOIN organisations o ON o.id = p.org_id
         WHERE p.id = ?1"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let mut rows = stmt.query([&id.as_bytes()[..]])?;
    match rows.next()? {
        Some(r) => Ok(Some(person_from_row(r, records)?.1)),
        None => Ok(None),
    }
}

pub(super) fn disable(
    c: &Connection,
    id: &PersonId,
    now: u64,
) -> Result<Option<Disabled>, StoreError> {
    let found: Option<(Option<i64>, Option<i64>)> = c
        .prepare_cached("SELECT disabled_at, disabled_leaf FROM people WHERE id = ?1")?
        .query_row([&id.as_bytes()[..]], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((disabled_at, disabled_leaf)) = found else {
        return Ok(None);
    };
    c.execute(
        "DELETE FROM sessions WHERE person_id = ?1",
        [&id.as_bytes()[..]],
    )?;
    if let Some(at) = disabled_at {
        return Ok(Some(Disabled {
            at: to_u64(at),
            leaf: disabled_leaf.map(to_u64),
        }));
    }
    let leaf = super::log::append(
        c,
        &LogEntry::Disabled {
            person: *id,
            at: now,
        },
    )?;
    c.execute(
        "UPDATE people SET disabled_at = ?2, disabled_leaf = ?3 WHERE id = ?1",
        params![&id.as_bytes()[..], to_i64(now)?, to_i64(leaf)?],
    )?;
    Ok(Some(Disabled {
        at: now,
        leaf: Some(leaf),
    }))
}

pub(super) fn put_challenge(
    c: &Connection,
    hash: [u8; 32],
    expires_at: u64,
) -> Result<(), StoreError> {
    c.prepare_cached("INSERT INTO challenges (hash, expires_at) VALUES (?1, ?2)")?
        .execute(params![&hash[..], to_i64(expires_at)?])?;
    Ok(())
}

pub(super) fn take_challenge(c: &Connection, hash: [u8; 32], now: u64) -> Result<bool, StoreError> {
    let expires_at: Option<i64> = c
        .prepare_cached("DELETE FROM challenges WHERE hash = ?1 RETURNING expires_at")?
        .query_row([&hash[..]], |r| r.get(0))
        .optional()?;
    // Expired challenges are swept as they are met; a sweep of the rest
    // keeps the table small.
    c.prepare_cached("DELETE FROM challenges WHERE expires_at < ?1")?
        .execute([to_i64(now)?])?;
    Ok(expires_at.is_some_and(|e| to_u64(e) >= now))
}

/// Deletes expired challenges and sessions.
pub(super) fn sweep_expired(c: &Connection, now: u64) -> Result<(), StoreError> {
    let now = to_i64(now)?;
    c.prepare_cached("DELETE FROM challenges WHERE expires_at < ?1")?
        .execute([now])?;
    c.prepare_cached("DELETE FROM sessions WHERE expires_at < ?1")?
        .execute([now])?;
    Ok(())
}

pub(super) fn put_session(
    c: &Connection,
    hash: [u8; 32],
    person: &PersonId,
    expires_at: u64,
) -> Result<(), StoreError> {
    c.prepare_cached("INSERT INTO sessions (hash, person_id, expires_at) VALUES (?1, ?2, ?3)")?
        .execute(params![
            &hash[..],
            &person.as_bytes()[..],
            to_i64(expires_at)?
        ])?;
    Ok(())
}

pub(super) fn session(
    c: &Connection,
    hash: [u8; 32],
    now: u64,
) -> Result<Option<PersonId>, StoreError> {
    let id: Option<Vec<u8>> = c
        .prepare_cached("SELECT person_id FROM sessions WHERE hash = ?1 AND expires_at >= ?2")?
        .query_row(params![&hash[..], to_i64(now)?], |r| r.get(0))
        .optional()?;
    id.map(|b| array(b).map(PersonId::from_bytes)).transpose()
}

pub(super) fn register_invite(c: &Connection, i: &NewInvite) -> Result<(), StoreError> {
    let inserted = c.execute(
        "INSERT INTO shopper_invites (token_hash, program_id, expires_at)
         VALUES (?1, ?2, ?3) ON CONFLICT (token_hash) DO NOTHING",
        params![
            &i.token_hash[..],
            &i.program.as_bytes()[..],
            to_i64(i.expires_at)?
        ],
    )?;
    if inserted == 0 {
        return Err(StoreError::Invalid(
            "an invite with this token is already registered",
        ));
    }
    Ok(())
}

pub(super) fn shoppers(c: &Connection, program: &ProgramId) -> Result<Vec<Person>, StoreError> {
    let sql = format!(
        "SELECT {PERSON_COLUMNS} FROM people p JOIN organisations o ON o.id = p.org_id
         WHERE p.program_id = ?1 AND p.role = 'shopper' ORDER BY p.seq"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let mut rows = stmt.query([&program.as_bytes()[..]])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(person_from_row(r, false)?.1);
    }
    Ok(out)
}
