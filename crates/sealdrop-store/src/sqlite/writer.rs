//! The writer thread and its group commit.
//!
//! A grouped write is a closure run inside a savepoint of the group's
//! transaction. Its result waits until the group commits: a caller never
//! hears "stored" before the fsync, and a failed commit fails every write in
//! the group, none of which then exists.
//!
//! A solo write runs on its own, between groups, with no transaction opened
//! for it: for work too large for a savepoint (deleting ciphertext, which
//! `secure_delete` overwrites page by page, would otherwise copy every page
//! into the in-memory savepoint journal) and for checkpoints. It manages its
//! own transactions.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rusqlite::Connection;

use crate::StoreError;

/// Writes run together in one transaction, at most this many.
const MAX_BATCH: usize = 512;

type Deliver = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
type Grouped = Box<dyn FnOnce(&Connection) -> (bool, Deliver) + Send>;
type Solo = Box<dyn FnOnce(&Connection) + Send>;

enum Job {
    Grouped(Grouped),
    Solo(Solo),
}

pub(crate) struct Writer {
    queue: Mutex<Option<SyncSender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    pub(crate) fn start(conn: Connection) -> Result<Self, StoreError> {
        let (tx, rx) = mpsc::sync_channel::<Job>(4096);
        let thread = std::thread::Builder::new()
            .name("sealdrop-store-writer".into())
            .spawn(move || run_writer(conn, rx))
            .map_err(|e| StoreError::Backend(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            queue: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    fn send(&self, job: Job) -> Result<(), StoreError> {
        let queue = self
            .queue
            .lock()
            .map_err(|_| closed())?
            .as_ref()
            .cloned()
            .ok_or_else(closed)?;
        queue.send(job).map_err(|_| closed())
    }

    /// Runs `f` in the next group and waits for its commit.
    pub(crate) fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let (reply_tx, reply_rx) = mpsc::sync_channel::<Result<R, StoreError>>(1);
        self.send(Job::Grouped(Box::new(move |conn| {
            let result = f(conn);
            let keep = result.is_ok();
            let deliver: Deliver = Box::new(move |commit| {
                // The caller may have gone; nothing to tell then.
                let _ = reply_tx.send(commit.and(result));
            });
            (keep, deliver)
        })))?;
        reply_rx.recv().map_err(|_| closed())?
    }

    /// Queues `f` for the next group without waiting; `done` gets its
    /// result after the commit. A full queue is answered at once with
    /// [`StoreError::Busy`] rather than by blocking.
    pub(crate) fn queue<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
        done: crate::Done<R>,
    ) {
        // The callback runs exactly once: from the job after its commit, or
        // here if the job never gets queued.
        let slot = Arc::new(Mutex::new(Some(done)));
        let take =
            |slot: &Mutex<Option<crate::Done<R>>>| slot.lock().ok().and_then(|mut s| s.take());
        let in_job = slot.clone();
        let job = Job::Grouped(Box::new(move |conn| {
            let result = f(conn);
            let keep = result.is_ok();
            let deliver: Deliver = Box::new(move |commit| {
                if let Some(done) = take(&in_job) {
                    done(commit.and(result));
                }
            });
            (keep, deliver)
        }));
        let queue = self.queue.lock().ok().and_then(|q| q.as_ref().cloned());
        let refusal = match queue.map(|q| q.try_send(job)) {
            Some(Ok(())) => return,
            Some(Err(mpsc::TrySendError::Full(_))) => StoreError::Busy,
            Some(Err(mpsc::TrySendError::Disconnected(_))) | None => closed(),
        };
        if let Some(done) = take(&slot) {
            done(Err(refusal));
        }
    }

    /// Runs `f` alone, outside any transaction, and waits for it.
    pub(crate) fn run_solo<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let (reply_tx, reply_rx) = mpsc::sync_channel::<Result<R, StoreError>>(1);
        self.send(Job::Solo(Box::new(move |conn| {
            let _ = reply_tx.send(f(conn));
        })))?;
        reply_rx.recv().map_err(|_| closed())?
    }

    /// Stops taking writes, lets every queued write commit, and waits.
    pub(crate) fn close(&self) {
        if let Ok(mut queue) = self.queue.lock() {
            queue.take();
        }
        if let Some(thread) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = thread.join();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.close();
    }
}

fn closed() -> StoreError {
    StoreError::Backend("the store is closed, or a write failed inside it".into())
}

fn run_writer(conn: Connection, rx: Receiver<Job>) {
    let mut next = None;
    loop {
        let first = match next.take() {
            Some(job) => job,
            None => match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
        };
        let mut batch = match first {
            Job::Solo(job) => {
                run_solo(&conn, job);
                continue;
            }
            Job::Grouped(job) => vec![job],
        };
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(Job::Grouped(job)) => batch.push(job),
                Ok(solo) => {
                    // Runs right after this group commits.
                    next = Some(solo);
                    break;
                }
                Err(_) => break,
            }
        }
        commit_batch(&conn, batch);
    }
}

fn run_solo(conn: &Connection, job: Solo) {
    if catch_unwind(AssertUnwindSafe(|| job(conn))).is_err() {
        // Whatever the job left open is undone; its caller sees the store
        // fail, and the writer carries on.
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        tracing::error!("a solo write panicked and was rolled back");
    }
}

fn commit_batch(conn: &Connection, batch: Vec<Grouped>) {
    // A job dropped without running drops its reply channel: its caller
    // sees a store failure, and nothing of it was written.
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        tracing::error!(error = %e, "cannot begin a write transaction");
        return;
    }
    let mut deliveries: Vec<Deliver> = Vec::with_capacity(batch.len());
    for job in batch {
        if let Err(e) = conn.execute_batch("SAVEPOINT job") {
            tracing::error!(error = %e, "cannot open a savepoint");
            continue;
        }
        let (keep, deliver) = match catch_unwind(AssertUnwindSafe(|| job(conn))) {
            Ok(done) => (done.0, Some(done.1)),
            Err(_) => {
                tracing::error!("a write panicked; rolling it back alone");
                (false, None)
            }
        };
        let end = if keep {
            conn.execute_batch("RELEASE job")
        } else {
            conn.execute_batch("ROLLBACK TO job; RELEASE job")
        };
        if let Err(e) = end {
            // The savepoint could not close: the transaction is in an
            // unknown state, so none of the group may commit.
            let _ = conn.execute_batch("ROLLBACK");
            let message = e.to_string();
            if let Some(deliver) = deliver {
                deliver(Err(StoreError::Backend(message.clone())));
            }
            for d in deliveries {
                d(Err(StoreError::Backend(message.clone())));
            }
            return;
        }
        deliveries.extend(deliver);
    }
    let commit = conn.execute_batch("COMMIT").map_err(|e| {
        let _ = conn.execute_batch("ROLLBACK");
        e.to_string()
    });
    for deliver in deliveries {
        deliver(commit.clone().map_err(StoreError::Backend));
    }
}
