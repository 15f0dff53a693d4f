//! Versioned migrations. `PRAGMA user_version` records how many have run;
//! each runs in its own transaction, so a crash leaves a whole version.

use rusqlite::Connection;

use crate::StoreError;

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE organisations (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

-- One-time tokens for staff, managers and auditors, by hash. A used token
-- keeps its row (so it cannot be reused) but names nobody: no link from a
-- token to the key it enrolled.
CREATE TABLE enrolment_tokens (
    hash        BLOB PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES organisations(id),
    role        TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    used        INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE people (
    seq         INTEGER PRIMARY KEY,
    id          BLOB NOT NULL UNIQUE,
    identity    BLOB NOT NULL,
    role        TEXT NOT NULL,
    org_id      INTEGER NOT NULL REFERENCES organisations(id),
    enrolled_at INTEGER NOT NULL,
    disabled_at INTEGER,
    program_id  BLOB,
    invite      BLOB,
    enrolment   BLOB
);

-- Shopper invites a manager registered: the token's hash, never the token.
CREATE TABLE shopper_invites (
    token_hash  BLOB PRIMARY KEY,
    program_id  BLOB NOT NULL,
    invite      BLOB NOT NULL,
    expires_at  INTEGER NOT NULL,
    used        INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE challenges (
    hash        BLOB PRIMARY KEY,
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE sessions (
    hash        BLOB PRIMARY KEY,
    person_id   BLOB NOT NULL,
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_by_person ON sessions(person_id);

CREATE TABLE programs (
    id              BLOB PRIMARY KEY,
    org_id          INTEGER NOT NULL REFERENCES organisations(id),
    current_version INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    -- Kept by each insert, so listing programs never counts reports.
    report_count    INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE descriptors (
    program_id  BLOB NOT NULL REFERENCES programs(id),
    version     INTEGER NOT NULL,
    descriptor  BLOB NOT NULL,
    accepted_at INTEGER NOT NULL,
    PRIMARY KEY (program_id, version)
) WITHOUT ROWID;

-- Report IDs are time-ordered, so the unique index on id grows at its end.
-- A tombstoned report keeps its row (the ID stays reserved) and its public
-- record; its ciphertext and envelopes are deleted.
CREATE TABLE reports (
    seq             INTEGER PRIMARY KEY,
    id              BLOB NOT NULL UNIQUE,
    program_id      BLOB NOT NULL REFERENCES programs(id),
    shopper_id      BLOB NOT NULL,
    received_at     INTEGER NOT NULL,
    size            INTEGER NOT NULL,
    record          BLOB NOT NULL,
    record_hash     BLOB NOT NULL,
    acknowledgement BLOB NOT NULL,
    blob            INTEGER NOT NULL REFERENCES blobs(id),
    purged_at       INTEGER,
    purge_version   INTEGER,
    purge_days      INTEGER,
    deleted_at      INTEGER,
    deletion        BLOB
);
CREATE INDEX reports_by_program ON reports(program_id, received_at);

CREATE TABLE envelopes (
    recipient   BLOB NOT NULL,
    report_seq  INTEGER NOT NULL REFERENCES reports(seq),
    envelope    BLOB NOT NULL,
    grant_seq   INTEGER REFERENCES grants(seq),
    fetched_at  INTEGER,
    PRIMARY KEY (recipient, report_seq)
) WITHOUT ROWID;
CREATE INDEX envelopes_by_report ON envelopes(report_seq);

-- Ciphertext lives in parts under a blob ID. An upload fills a blob part
-- by part; finishing it hands the same blob to the report, so a large
-- attachment is never copied.
CREATE TABLE blobs (
    id          INTEGER PRIMARY KEY
);

CREATE TABLE chunks (
    blob        INTEGER NOT NULL REFERENCES blobs(id),
    stream      INTEGER NOT NULL,
    part        INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    data        BLOB NOT NULL,
    UNIQUE (blob, stream, part)
);

-- Blobs whose report was purged or deleted, or whose upload was
-- discarded: their chunks are deleted in small steps after the change that
-- killed them commits (sqlite/sweep.rs).
CREATE TABLE dead_blobs (
    blob        INTEGER PRIMARY KEY
);

-- Resumable uploads in progress: the sealed report (checked when the
-- upload began) and the blob being filled.
CREATE TABLE uploads (
    report_id   BLOB PRIMARY KEY,
    shopper_id  BLOB NOT NULL,
    sealed      BLOB NOT NULL,
    blob        INTEGER NOT NULL REFERENCES blobs(id),
    started_at  INTEGER NOT NULL,
    touched_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX uploads_by_shopper ON uploads(shopper_id);

CREATE TABLE grants (
    seq         INTEGER PRIMARY KEY,
    program_id  BLOB NOT NULL REFERENCES programs(id),
    grant_record BLOB NOT NULL,
    accepted_at INTEGER NOT NULL
);

CREATE TABLE releases (
    seq         INTEGER PRIMARY KEY,
    report_id   BLOB NOT NULL,
    person_id   BLOB NOT NULL,
    released_at INTEGER NOT NULL
);
"#,
    // 2: questionnaires, by the digest their program's descriptor signs.
    r#"
CREATE TABLE questionnaires (
    program_id  BLOB NOT NULL REFERENCES programs(id),
    digest      BLOB NOT NULL,
    body        BLOB NOT NULL,
    PRIMARY KEY (program_id, digest)
) WITHOUT ROWID;
"#,
    // 3: the log. One row a leaf, `idx` its index in the Merkle tree from
    // 0, dense: a leaf is appended in the same transaction as the change it
    // records. Reports and releases remember their leaf, so a duplicate
    // submission or a proof request finds it without a scan.
    r#"
CREATE TABLE log_leaves (
    idx         INTEGER PRIMARY KEY,
    entry       BLOB NOT NULL
);
ALTER TABLE reports ADD COLUMN accepted_leaf INTEGER;
ALTER TABLE releases ADD COLUMN leaf INTEGER;
"#,
    // 4: witnesses' cosignatures of checkpoints, by the size they cosign;
    // each line was verified against the witness's enrolled key.
    r#"
CREATE TABLE log_cosignatures (
    witness     BLOB NOT NULL,
    size        INTEGER NOT NULL,
    line        TEXT NOT NULL,
    cosigned_at INTEGER NOT NULL,
    PRIMARY KEY (witness, size)
) WITHOUT ROWID;
CREATE INDEX log_cosignatures_by_size ON log_cosignatures(size);
"#,
    // 5: shopper invites keep only what recognises a token (never the
    // signed invite, which the server first sees when a shopper uses it),
    // and count the commitments made to each, so that one invite cannot
    // fill the log.
    r#"
CREATE TABLE shopper_invites_5 (
    token_hash  BLOB PRIMARY KEY,
    program_id  BLOB NOT NULL,
    expires_at  INTEGER NOT NULL,
    used        INTEGER NOT NULL DEFAULT 0,
    commitments INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO shopper_invites_5 (token_hash, program_id, expires_at, used)
    SELECT token_hash, program_id, expires_at, used FROM shopper_invites;
DROP TABLE shopper_invites;
ALTER TABLE shopper_invites_5 RENAME TO shopper_invites;
"#,
    // 6: one release leaf per report, reader and envelope, found by this
    // index: a reader given the report again (a new envelope, after a
    // revocation) is released, and logged, anew.
    r#"
ALTER TABLE releases ADD COLUMN envelope_hash BLOB;
CREATE INDEX releases_by_report_person ON releases(report_id, person_id);
"#,
    // 7: the `disabled` leaf of each disabled person, so that a manager who
    // revokes a shopper (again) is shown the proof of it.
    r#"
ALTER TABLE people ADD COLUMN disabled_leaf INTEGER;
"#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::Backend(format!(
            "the database has schema version {current}, newer than this server's {SCHEMA_VERSION}"
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// The version a database file says it has.
pub fn version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}
