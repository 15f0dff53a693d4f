//! Hashes a stream's ciphertext chunks, on a second core once the stream
//! turns out to have more than one chunk.
//!
//! Encryption and SHA-256 each take about half a core-second per GiB here;
//! done in turn they halve throughput. Handing each finished chunk to a
//! hashing thread, in batches of [`BATCH`], lets the two overlap. A pool of
//! at most [`POOL`] chunk buffers (about 1.3 MiB) bounds memory whatever the
//! stream's length; a one-chunk stream (every small report) is hashed inline
//! and starts no thread.

use std::sync::mpsc::{Receiver, SyncSender, channel, sync_channel};
use std::thread::{Scope, ScopedJoinHandle};

use zeroize::Zeroizing;

use crate::hash::{Digest, Hasher};
use crate::report::stream::{CHUNK, TAG};

/// Chunks handed to the hashing thread at once: one wake-up per batch, not
/// per chunk, which is what kept the two threads from overlapping fully.
const BATCH: usize = 8;
/// Chunk buffers in existence at most, once hashing runs in the background:
/// a batch being hashed, a batch being filled, and a few to read into.
const POOL: usize = 2 * BATCH + 4;

pub(crate) type Buf = Zeroizing<Vec<u8>>;

pub(crate) fn new_buf() -> Buf {
    Zeroizing::new(vec![0u8; CHUNK + TAG])
}

pub(crate) enum HashSink<'scope> {
    Inline {
        hasher: Hasher,
        spare: Option<Buf>,
    },
    Background {
        full: SyncSender<Vec<(Buf, usize)>>,
        pending: Vec<(Buf, usize)>,
        empty: Receiver<Buf>,
        allocated: usize,
        worker: ScopedJoinHandle<'scope, Digest>,
    },
}

impl<'scope> HashSink<'scope> {
    pub(crate) fn new(label: &[u8]) -> Self {
        Self::Inline {
            hasher: Hasher::new(label),
            spare: None,
        }
    }

    /// Moves hashing to a thread of `scope` (once; later calls do nothing).
    pub(crate) fn go_parallel<'env>(&mut self, scope: &'scope Scope<'scope, 'env>) {
        let Self::Inline { hasher, spare } = self else {
            return;
        };
        let mut hasher = hasher.clone();
        let (full_tx, full_rx) = sync_channel::<Vec<(Buf, usize)>>(2);
        let (empty_tx, empty_rx) = channel::<Buf>();
        if let Some(buf) = spare.take() {
            let _ = empty_tx.send(buf);
        }
        let worker = scope.spawn(move || {
            for batch in full_rx {
                for (buf, len) in batch {
                    hasher.update(buf.get(..len).unwrap_or_default());
                    // The main thread may have finished already; then the
                    // buffer is simply dropped (and zeroized).
                    let _ = empty_tx.send(buf);
                }
            }
            hasher.finish()
        });
        // The caller holds two buffers (the current chunk and the look-ahead).
        *self = Self::Background {
            full: full_tx,
            pending: Vec::with_capacity(BATCH),
            empty: empty_rx,
            allocated: 2,
            worker,
        };
    }

    /// A buffer to fill next: recycled when possible.
    pub(crate) fn spare(&mut self) -> Buf {
        match self {
            Self::Inline { spare, .. } => spare.take().unwrap_or_else(new_buf),
            Self::Background {
                full,
                pending,
                empty,
                allocated,
                ..
            } => {
                if let Ok(buf) = empty.try_recv() {
                    return buf;
                }
                if *allocated < POOL {
                    *allocated += 1;
                    return new_buf();
                }
                // Hand over what is pending before waiting, or the worker
                // could be idle while we wait for it.
                if !pending.is_empty() {
                    let _ = full.send(std::mem::take(pending));
                }
                empty.recv().unwrap_or_else(|_| new_buf())
            }
        }
    }

    /// Hashes the first `len` bytes of `buf` (now or on the worker).
    pub(crate) fn absorb(&mut self, buf: Buf, len: usize) {
        match self {
            Self::Inline { hasher, spare } => {
                hasher.update(buf.get(..len).unwrap_or_default());
                *spare = Some(buf);
            }
            Self::Background { full, pending, .. } => {
                pending.push((buf, len));
                if pending.len() >= BATCH {
                    // The worker only stops when this sender is dropped.
                    let _ = full.send(std::mem::replace(pending, Vec::with_capacity(BATCH)));
                }
            }
        }
    }

    /// The digest; `None` only if the hashing thread died.
    pub(crate) fn finish(self) -> Option<Digest> {
        match self {
            Self::Inline { hasher, .. } => Some(hasher.finish()),
            Self::Background {
                full,
                pending,
                worker,
                ..
            } => {
                if !pending.is_empty() {
                    let _ = full.send(pending);
                }
                drop(full);
                worker.join().ok()
            }
        }
    }
}
