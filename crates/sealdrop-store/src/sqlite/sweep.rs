//! Deleting dead ciphertext in bounded steps. `secure_delete` overwrites
//! every freed page, so one step deletes at most `STEP` parts (up to
//! `STEP` MiB): each step is a small transaction, however large the report.

use rusqlite::{Connection, OptionalExtension};

use crate::StoreError;

const STEP: i64 = 16;

/// Deletes up to `STEP` parts of one dead blob, forgetting the blob once it
/// has none left. False when nothing was left to do.
pub(super) fn step(c: &Connection) -> Result<bool, StoreError> {
    let Some(blob): Option<i64> = c
        .prepare_cached("SELECT blob FROM dead_blobs LIMIT 1")?
        .query_row([], |r| r.get(0))
        .optional()?
    else {
        return Ok(false);
    };
    let deleted = c
        .prepare_cached(
            "DELETE FROM chunks WHERE rowid IN (SELECT rowid FROM chunks WHERE blob = ?1 LIMIT ?2)",
        )?
        .execute(rusqlite::params![blob, STEP])?;
    if deleted == 0 {
        c.prepare_cached("DELETE FROM dead_blobs WHERE blob = ?1")?
            .execute([blob])?;
    }
    Ok(true)
}
