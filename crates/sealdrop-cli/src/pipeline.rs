//! Moving a large attachment's I/O off the decrypting thread.
//!
//! Fetching an attachment reads ciphertext from the network, hashes it,
//! decrypts it and writes plaintext to a file. Done on one thread, the
//! network read and the file write add their copies to the decryption's
//! time; here each runs on its own thread, with a few bounded buffers
//! between them, so memory stays a few MiB whatever the attachment's size.

use std::fs::File;
use std::io::{self, Read, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use zeroize::Zeroizing;

/// Bytes read from the network per hand-over.
const READ_PIECE: usize = 256 * 1024;
/// Pieces read ahead of the reader's consumer.
const READ_AHEAD: usize = 4;
/// Plaintext bytes handed to the writing thread at once.
const WRITE_PIECE: usize = 256 * 1024;
/// Pieces queued for the writing thread.
const WRITE_BEHIND: usize = 4;

/// Reads `inner` on a thread of its own, ahead of the caller.
pub struct ReadAhead {
    pieces: Receiver<io::Result<Vec<u8>>>,
    current: Vec<u8>,
    at: usize,
    done: bool,
}

impl ReadAhead {
    pub fn new(mut inner: impl Read + Send + 'static) -> Self {
        let (tx, rx) = sync_channel(READ_AHEAD);
        std::thread::spawn(move || {
            loop {
                let mut piece = vec![0u8; READ_PIECE];
                let mut filled = 0;
                let result = loop {
                    match inner.read(&mut piece[filled..]) {
                        Ok(0) => break Ok(()),
                        Ok(n) => {
                            filled += n;
                            if filled == piece.len() {
                                break Ok(());
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => break Err(e),
                    }
                };
                piece.truncate(filled);
                let end = filled < READ_PIECE;
                // Stop at the end, on an error, or when nobody reads on.
                match result {
                    Ok(()) => {
                        if tx.send(Ok(piece)).is_err() || end {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
        });
        Self {
            pieces: rx,
            current: Vec::new(),
            at: 0,
            done: false,
        }
    }
}

impl Read for ReadAhead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.current.len() {
            if self.done {
                return Ok(0);
            }
            match self.pieces.recv() {
                Ok(Ok(piece)) => {
                    self.done = piece.len() < READ_PIECE;
                    self.current = piece;
                    self.at = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Err(io::Error::other("the reading thread stopped"));
                }
            }
        }
        let rest = self.current.get(self.at..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.at += n;
        Ok(n)
    }
}

/// Writes plaintext to a file on a thread of its own; buffers are zeroized
/// after writing. Call [`WriteBehind::finish`] to learn whether every
/// byte reached the file.
pub struct WriteBehind {
    pieces: Option<SyncSender<Zeroizing<Vec<u8>>>>,
    pending: Zeroizing<Vec<u8>>,
    writer: Option<JoinHandle<io::Result<()>>>,
}

impl WriteBehind {
    pub fn new(mut file: File) -> Self {
        let (tx, rx) = sync_channel::<Zeroizing<Vec<u8>>>(WRITE_BEHIND);
        let writer = std::thread::spawn(move || -> io::Result<()> {
            for piece in rx {
                file.write_all(&piece)?;
            }
            file.flush()
        });
        Self {
            pieces: Some(tx),
            pending: Zeroizing::new(Vec::with_capacity(WRITE_PIECE)),
            writer: Some(writer),
        }
    }

    fn send_pending(&mut self) -> io::Result<()> {
        let piece = std::mem::replace(
            &mut self.pending,
            Zeroizing::new(Vec::with_capacity(WRITE_PIECE)),
        );
        let stopped = || io::Error::other("the writing thread stopped");
        self.pieces
            .as_ref()
            .ok_or_else(stopped)?
            .send(piece)
            .map_err(|_| stopped())
    }

    /// Writes what is buffered and waits for the file to have it all.
    pub fn finish(mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            // A failed send means the thread stopped; its error follows.
            let _ = self.send_pending();
        }
        self.join()
    }

    fn join(&mut self) -> io::Result<()> {
        self.pieces = None;
        match self.writer.take() {
            Some(w) => w
                .join()
                .map_err(|_| io::Error::other("the writing thread failed"))?,
            None => Ok(()),
        }
    }
}

impl Write for WriteBehind {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = WRITE_PIECE - self.pending.len();
        let n = room.min(buf.len());
        self.pending.extend_from_slice(&buf[..n]);
        if self.pending.len() == WRITE_PIECE
            && let Err(e) = self.send_pending()
        {
            return Err(self.join().err().unwrap_or(e));
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for WriteBehind {
    fn drop(&mut self) {
        let _ = self.join();
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};

    use super::{READ_PIECE, ReadAhead, WRITE_PIECE, WriteBehind};

    fn bytes(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn read_ahead_yields_every_byte_in_order() {
        for len in [
            0,
            1,
            READ_PIECE - 1,
            READ_PIECE,
            READ_PIECE + 1,
            5 * READ_PIECE + 17,
        ] {
            let data = bytes(len);
            let mut out = Vec::new();
            ReadAhead::new(std::io::Cursor::new(data.clone()))
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, data, "length {len}");
        }
    }

    struct FailsAfter(usize);
    impl std::io::Read for FailsAfter {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("connection reset"));
            }
            let n = buf.len().min(self.0);
            self.0 -= n;
            Ok(n)
        }
    }

    #[test]
    fn read_ahead_passes_on_a_read_error() {
        let mut out = Vec::new();
        let err = ReadAhead::new(FailsAfter(3 * READ_PIECE + 5))
            .read_to_end(&mut out)
            .unwrap_err();
        assert_eq!(err.to_string(), "connection reset");
    }

    #[test]
    fn write_behind_writes_every_byte_in_order() {
        let dir = tempfile::tempdir().unwrap();
        for len in [0, 1, WRITE_PIECE, 3 * WRITE_PIECE + 5] {
            let path = dir.path().join(format!("f{len}"));
            let data = bytes(len);
            let mut w = WriteBehind::new(std::fs::File::create(&path).unwrap());
            for piece in data.chunks(65_536 + 16) {
                w.write_all(piece).unwrap();
            }
            w.finish().unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), data, "length {len}");
        }
    }

    #[test]
    fn write_behind_reports_a_failed_write() {
        // /dev/full refuses every write with ENOSPC.
        let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
            return;
        };
        let mut w = WriteBehind::new(full);
        let data = bytes(3 * WRITE_PIECE);
        let early = w.write_all(&data);
        let late = w.finish();
        assert!(early.is_err() || late.is_err());
    }
}
