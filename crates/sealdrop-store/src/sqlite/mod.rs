//! The SQLite store: one file in WAL mode, `synchronous = FULL` (a commit
//! is on disk before it returns), `secure_delete` on (deleted ciphertext is
//! overwritten, not left in free pages).
//!
//! One writer thread owns the only writing connection and commits in
//! groups: it takes every write waiting in its queue, runs each in its own
//! savepoint (a refused write rolls back alone), and commits them together
//! with one fsync. Readers use a small pool of their own connections, which
//! WAL lets run beside the writer.

mod audit;
mod log;
mod people;
mod programs;
mod reports;
pub mod schema;
mod sweep;
mod uploads;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags};
use sealdrop_proto::descriptor::SignedDescriptor;
use sealdrop_proto::ids::{PersonId, ProgramId, ReportId};

use crate::model::*;
use crate::{Store, StoredReport};
pub use log::TreeHead;
use sealdrop_proto::log::heads::HeadsMap;
use sealdrop_proto::log::merkle::Digest;
use writer::Writer;

/// Ciphertext is stored in parts of at most this many bytes: large enough
/// that a 2 KiB report is one row, small enough that a row never strains
/// SQLite or memory.
pub const PART_LEN: usize = 1024 * 1024;

/// Reader connections kept open: enough for every blocking thread that
/// reads at once under load, so connections are opened once, not per read.
const READERS: usize = 64;

pub struct SqliteStore {
    path: PathBuf,
    writer: Writer,
    readers: Mutex<Vec<Connection>>,
    log: log::LogTree,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    // Each write in a group runs in a savepoint, whose undo journal would
    // otherwise be a temporary file written on every change.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its
    /// schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        configure(&conn)?;
        schema::migrate(&mut conn)?;
        let tree = log::LogTree::default();
        tree.catch_up(&conn)?;
        Ok(Self {
            path: path.to_path_buf(),
            writer: Writer::start(conn)?,
            readers: Mutex::new(Vec::new()),
            log: tree,
        })
    }

    /// Checks that a database file is whole and of a schema this build
    /// knows: what `restore` runs before using a backup.
    pub fn check_file(path: &Path) -> Result<i64, StoreError> {
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let verdict: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if verdict != "ok" {
            return Err(StoreError::Invalid("the database file is damaged"));
        }
        let version = schema::version(&conn)?;
        if version == 0 || version > schema::SCHEMA_VERSION {
            return Err(StoreError::Invalid(
                "the file is not a sealdrop database this server can read",
            ));
        }
        Ok(version)
    }

    fn read<R>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let pooled = self.readers.lock().map_err(|_| poisoned())?.pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => {
                let conn = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                configure(&conn)?;
                conn
            }
        };
        let result = f(&conn);
        let mut pool = self.readers.lock().map_err(|_| poisoned())?;
        if pool.len() < READERS {
            pool.push(conn);
        }
        result
    }

    /// Catches the tree up when it is smaller than `size`: leaves another
    /// connection committed since.
    fn log_reaching(&self, size: u64) -> Result<(), StoreError> {
        if self.log.head()?.size < size {
            self.read(|c| self.log.catch_up(c))?;
        }
        Ok(())
    }

    fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        self.writer.run(f)
    }
}

fn poisoned() -> StoreError {
    StoreError::Backend("a connection pool lock was poisoned".into())
}

impl Store for SqliteStore {
    fn log_head(&self) -> Result<TreeHead, StoreError> {
        self.read(|c| self.log.catch_up(c))
    }

    fn log_inclusion(&self, index: u64, size: u64) -> Result<Vec<Digest>, StoreError> {
        self.log_reaching(size)?;
        self.log.inclusion(index, size)
    }

    fn log_consistency(&self, old: u64, new: u64) -> Result<Vec<Digest>, StoreError> {
        self.log_reaching(new)?;
        self.log.consistency(old, new)
    }

    fn log_leaves(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        self.read(|c| log::leaves(c, start, end))
    }

    fn log_root_at(&self, size: u64) -> Result<Digest, StoreError> {
        self.log_reaching(size)?;
        self.log.root_at(size)
    }

    fn log_heads_at(&self, size: u64) -> Result<HeadsMap, StoreError> {
        self.log_reaching(size)?;
        self.log.heads_at(size)
    }

    fn put_cosignature(
        &self,
        witness: &PersonId,
        size: u64,
        line: &str,
        now: u64,
    ) -> Result<(), StoreError> {
        let (witness, line) = (*witness, line.to_owned());
        self.write(move |c| log::put_cosignature(c, &witness, size, &line, now))
    }

    fn forget_cosignatures(&self) -> Result<(), StoreError> {
        self.write(|c| {
            c.execute("DELETE FROM log_cosignatures", [])?;
            Ok(())
        })
    }

    fn newest_cosignatures(&self, limit: u32) -> Result<Vec<(u64, String)>, StoreError> {
        self.read(|c| log::newest_cosignatures(c, limit))
    }

    fn accepted_leaf(&self, report: &ReportId) -> Result<Option<u64>, StoreError> {
        let report = *report;
        self.read(move |c| reports::accepted_leaf(c, &report))
    }

    fn organisation(&self, name: &str) -> Result<Option<Organisation>, StoreError> {
        self.read(|c| people::organisation(c, name))
    }

    fn create_organisation(&self, name: &str, now: u64) -> Result<Organisation, StoreError> {
        let name = name.to_owned();
        self.write(move |c| people::create_organisation(c, &name, now))
    }

    fn issue_enrolment_token(&self, token: EnrolmentToken) -> Result<(), StoreError> {
        self.write(move |c| people::issue_token(c, &token))
    }

    fn enrol(&self, enrolment: NewPerson) -> Result<Person, StoreError> {
        self.write(move |c| people::enrol(c, &enrolment))
    }

    fn commit_enrolment(&self, commitment: NewCommitment) -> Result<u64, StoreError> {
        self.write(move |c| people::commit_enrolment(c, &commitment))
    }

    fn enrol_shopper(&self, enrolment: NewShopper) -> Result<EnrolledShopper, StoreError> {
        self.write(move |c| people::enrol_shopper(c, &enrolment))
    }

    fn person(&self, id: &PersonId) -> Result<Option<Person>, StoreError> {
        self.read(|c| people::person(c, id, false))
    }

    fn person_record(&self, id: &PersonId) -> Result<Option<Person>, StoreError> {
        self.read(|c| people::person(c, id, true))
    }

    fn shoppers(&self, program: &ProgramId) -> Result<Vec<Person>, StoreError> {
        self.read(|c| people::shoppers(c, program))
    }

    fn disable_person(&self, id: &PersonId, now: u64) -> Result<Option<Disabled>, StoreError> {
        let id = *id;
        self.write(move |c| people::disable(c, &id, now))
    }

    fn put_challenge(&self, hash: [u8; 32], expires_at: u64) -> Result<(), StoreError> {
        self.write(move |c| people::put_challenge(c, hash, expires_at))
    }

    fn take_challenge(&self, hash: [u8; 32], now: u64) -> Result<bool, StoreError> {
        self.write(move |c| people::take_challenge(c, hash, now))
    }

    fn put_session(
        &self,
        hash: [u8; 32],
        person: &PersonId,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        let person = *person;
        self.write(move |c| people::put_session(c, hash, &person, expires_at))
    }

    fn session(&self, hash: [u8; 32], now: u64) -> Result<Option<PersonId>, StoreError> {
        self.read(|c| people::session(c, hash, now))
    }

    fn register_invite(&self, invite: NewInvite) -> Result<(), StoreError> {
        self.write(move |c| people::register_invite(c, &invite))
    }

    fn create_program(
        &self,
        org: i64,
        first: &SignedDescriptor,
        now: u64,
    ) -> Result<u64, StoreError> {
        let first = first.clone();
        self.write(move |c| programs::create(c, org, &first, now))
    }

    fn advance_descriptor(
        &self,
        next: &SignedDescriptor,
        revoked: &[PersonId],
        now: u64,
    ) -> Result<u64, StoreError> {
        let (next, revoked) = (next.clone(), revoked.to_vec());
        self.write(move |c| programs::advance(c, &next, &revoked, now))
    }

    fn program(&self, id: &ProgramId) -> Result<Option<Program>, StoreError> {
        self.read(|c| programs::program(c, id))
    }

    fn programs(&self, org: i64) -> Result<Vec<Program>, StoreError> {
        self.read(|c| programs::programs(c, org))
    }

    fn descriptor(
        &self,
        id: &ProgramId,
        version: u64,
    ) -> Result<Option<SignedDescriptor>, StoreError> {
        self.read(|c| programs::descriptor(c, id, version))
    }

    fn descriptors(&self, id: &ProgramId) -> Result<Vec<SignedDescriptor>, StoreError> {
        self.read(|c| programs::descriptors(c, id))
    }

    fn put_questionnaire(
        &self,
        program: &ProgramId,
        digest: [u8; 32],
        body: Vec<u8>,
    ) -> Result<(), StoreError> {
        let program = *program;
        self.write(move |c| programs::put_questionnaire(c, &program, digest, &body))
    }

    fn questionnaire(
        &self,
        program: &ProgramId,
        digest: [u8; 32],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(|c| programs::questionnaire(c, program, digest))
    }

    fn submit(&self, submission: Submission) -> Result<SubmitOutcome, StoreError> {
        self.write(move |c| reports::submit(c, &submission))
    }

    fn submit_queued(&self, submission: Submission, done: crate::Done<SubmitOutcome>) {
        self.writer
            .queue(move |c| reports::submit(c, &submission), done);
    }

    fn inbox(&self, person: &PersonId, filter: &InboxFilter) -> Result<Vec<InboxRow>, StoreError> {
        self.read(|c| reports::inbox(c, person, filter))
    }

    fn release(
        &self,
        report: &ReportId,
        person: &PersonId,
        now: u64,
    ) -> Result<Release, StoreError> {
        let (report, person) = (*report, *person);
        self.write(move |c| reports::release(c, &report, &person, now))
    }

    fn holds_envelope(&self, report: &ReportId, person: &PersonId) -> Result<bool, StoreError> {
        self.read(|c| reports::holds_envelope(c, report, person))
    }

    fn stream_part(
        &self,
        report: &ReportId,
        stream: u32,
        part: u32,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(|c| reports::stream_part(c, report, stream, part))
    }

    fn report(&self, id: &ReportId) -> Result<Option<StoredReport>, StoreError> {
        self.read(|c| reports::report(c, id))
    }

    fn grant(&self, grant: NewGrant) -> Result<GrantStored, StoreError> {
        self.write(move |c| reports::grant(c, &grant))
    }

    fn begin_upload(&self, upload: NewUpload) -> Result<UploadStart, StoreError> {
        self.write(move |c| uploads::begin(c, &upload))
    }

    fn upload_state(
        &self,
        report: &ReportId,
        shopper: &PersonId,
    ) -> Result<UploadState, StoreError> {
        self.read(|c| uploads::state(c, report, shopper))
    }

    fn append_upload(&self, piece: UploadPiece) -> Result<u64, StoreError> {
        self.write(move |c| uploads::append(c, &piece))
    }

    fn upload_part(
        &self,
        report: &ReportId,
        shopper: &PersonId,
        stream: u32,
        part: u32,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(|c| uploads::part(c, report, shopper, stream, part))
    }

    fn finish_upload(&self, finish: FinishUpload) -> Result<SubmitOutcome, StoreError> {
        self.write(move |c| uploads::finish(c, &finish))
    }

    fn discard_upload(&self, report: &ReportId, shopper: &PersonId) -> Result<(), StoreError> {
        let (report, shopper) = (*report, *shopper);
        self.write(move |c| uploads::discard(c, &report, &shopper))?;
        self.sweep()
    }

    fn delete_report(&self, deletion: NewDeletion) -> Result<(), StoreError> {
        self.write(move |c| reports::delete(c, &deletion))?;
        self.sweep()
    }

    fn purge(&self, as_of: u64, now: u64) -> Result<Vec<ReportId>, StoreError> {
        // Solo, in its own transaction: a purge of many reports would
        // otherwise grow one group's savepoint journal without bound.
        let purged = self.writer.run_solo(move |c| {
            in_transaction(c, |c| {
                uploads::expire(c, now)?;
                people::sweep_expired(c, now)?;
                reports::purge(c, as_of, now)
            })
        })?;
        self.sweep()?;
        Ok(purged)
    }

    fn audit_reports(
        &self,
        org: i64,
        page: AuditPage,
    ) -> Result<Vec<(u64, StoredReport)>, StoreError> {
        self.read(|c| audit::reports(c, org, page))
    }

    fn audit_people(&self, org: i64, page: AuditPage) -> Result<Vec<(u64, Person)>, StoreError> {
        self.read(|c| audit::people(c, org, page))
    }

    fn audit_grants(&self, org: i64, page: AuditPage) -> Result<Vec<(u64, GrantRow)>, StoreError> {
        self.read(|c| audit::grants(c, org, page))
    }

    fn audit_bulk(
        &self,
        org: i64,
        page: AuditPage,
        max_bytes: u64,
    ) -> Result<Vec<BulkRow>, StoreError> {
        self.read(|c| audit::ciphertext(c, org, page, max_bytes))
    }

    fn audit_releases(
        &self,
        org: i64,
        page: AuditPage,
    ) -> Result<Vec<(u64, ReleaseRow)>, StoreError> {
        self.read(|c| audit::releases(c, org, page))
    }

    fn backup(&self, to: &Path) -> Result<(), StoreError> {
        self.read(|c| {
            let mut dest = Connection::open(to)?;
            let backup = rusqlite::backup::Backup::new(c, &mut dest)?;
            // One step copies everything from one read snapshot; copying in
            // small steps would restart whenever the writer commits and
            // might never finish on a busy server.
            match backup.step(-1)? {
                rusqlite::backup::StepResult::Done => Ok(()),
                _ => Err(StoreError::Backend("the backup did not complete".into())),
            }
        })
    }
}

impl SqliteStore {
    /// Deletes the chunks of dead blobs a few at a time, each step its own
    /// transaction, then truncates the write-ahead log so no copy of the
    /// deleted pages stays in it.
    fn sweep(&self) -> Result<(), StoreError> {
        let mut swept = false;
        while self.writer.run_solo(|c| in_transaction(c, sweep::step))? {
            swept = true;
        }
        if !swept {
            // Nothing was deleted: no reason to wait for readers to let a
            // truncating checkpoint through (the hourly purge, mostly).
            return Ok(());
        }
        self.writer.run_solo(|c| {
            c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            Ok(())
        })
    }
}

/// Runs `f` in a transaction of its own (for solo writes).
fn in_transaction<R>(
    c: &Connection,
    f: impl FnOnce(&Connection) -> Result<R, StoreError>,
) -> Result<R, StoreError> {
    c.execute_batch("BEGIN IMMEDIATE")?;
    match f(c) {
        Ok(r) => {
            c.execute_batch("COMMIT")?;
            Ok(r)
        }
        Err(e) => {
            let _ = c.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Integer conversions between SQLite's i64 and the protocol's u64/u32:
/// values beyond i64 are refused rather than wrapped.
pub(crate) fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Invalid("a number is out of range"))
}

pub(crate) fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Reads a fixed-size blob column.
pub(crate) fn array<const N: usize>(bytes: Vec<u8>) -> Result<[u8; N], StoreError> {
    <[u8; N]>::try_from(bytes.as_slice())
        .map_err(|_| StoreError::Backend("a stored identifier has the wrong length".into()))
}

pub(crate) fn decode<T: sealdrop_proto::codec::Decode>(bytes: &[u8]) -> Result<T, StoreError> {
    T::from_bytes(bytes)
        .map_err(|e| StoreError::Backend(format!("a stored record does not decode: {e}")))
}
