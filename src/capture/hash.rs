//! SHA-256 of a capture's bytes as read, computed off the parsing thread.
//!
//! sha256 runs at about 1.5-2 GB/s even with SHA-NI, slower than framing, so it never runs inline:
//! - a file is hashed by [`FileHasher`], a thread that opens the same path and reads it on its own;
//! - a stream (standard input) is teed by [`Tee`]: every byte the parser reads is copied into one
//!   of a few reused buffers and handed to a hashing thread over a channel.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use sha2::{Digest, Sha256};

/// Bytes handed to the hashing thread at a time (and the file hasher's read size).
const HASH_CHUNK: usize = 1 << 20;
/// Buffers circulating between a [`Tee`] and its hashing thread: enough to keep both busy,
/// few enough to bound memory (HASH_BUFFERS x HASH_CHUNK).
const HASH_BUFFERS: usize = 4;

/// Lowercase hex of a digest.
fn hex(digest: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(digest.len() * 2);
    for b in digest {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Hashes a file in its own thread, reading it independently of the parser.
pub(super) struct FileHasher {
    cancel: Arc<AtomicBool>,
    handle: JoinHandle<io::Result<String>>,
}

impl FileHasher {
    /// Starts hashing `path` in a new thread.
    pub(super) fn spawn(path: PathBuf) -> FileHasher {
        let cancel = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&cancel);
        let handle = thread::spawn(move || -> io::Result<String> {
            let mut file = File::open(&path)?;
            let mut buf = vec![0u8; HASH_CHUNK];
            let mut sha = Sha256::new();
            loop {
                if stop.load(Ordering::Relaxed) {
                    return Err(io::Error::new(io::ErrorKind::Interrupted, "cancelled"));
                }
                let n = match file.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                sha.update(buf.get(..n).unwrap_or_default());
            }
            Ok(hex(&sha.finalize()))
        });
        FileHasher { cancel, handle }
    }

    /// Waits for the hash. An I/O error while hashing gives the error text instead of a digest.
    pub(super) fn finish(self) -> Result<String, String> {
        match self.handle.join() {
            Ok(Ok(hex)) => Ok(hex),
            Ok(Err(e)) => Err(format!("cannot hash: {e}")),
            Err(_) => Err("hashing thread panicked".to_string()),
        }
    }

    /// Stops hashing (the capture was rejected) and waits for the thread to end.
    pub(super) fn cancel(self) {
        self.cancel.store(true, Ordering::Relaxed);
        let _ = self.handle.join();
    }
}

/// Feeds bytes to a hashing thread through a small pool of reused buffers.
struct HashPipe {
    to_hasher: Option<SyncSender<Vec<u8>>>,
    returned: Receiver<Vec<u8>>,
    current: Vec<u8>,
    handle: Option<JoinHandle<String>>,
}

impl HashPipe {
    fn spawn() -> HashPipe {
        let (to_hasher, work) = mpsc::sync_channel::<Vec<u8>>(HASH_BUFFERS);
        let (give_back, returned) = mpsc::sync_channel::<Vec<u8>>(HASH_BUFFERS);
        for _ in 1..HASH_BUFFERS {
            let _ = give_back.send(Vec::with_capacity(HASH_CHUNK));
        }
        let handle = thread::spawn(move || {
            let mut sha = Sha256::new();
            for mut buf in work {
                sha.update(&buf);
                buf.clear();
                // The reader may be gone already; the buffer is then simply freed.
                let _ = give_back.try_send(buf);
            }
            hex(&sha.finalize())
        });
        HashPipe {
            to_hasher: Some(to_hasher),
            returned,
            current: Vec::with_capacity(HASH_CHUNK),
            handle: Some(handle),
        }
    }

    fn absorb(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let room = HASH_CHUNK.saturating_sub(self.current.len());
            let (now, later) = bytes.split_at(room.min(bytes.len()));
            self.current.extend_from_slice(now);
            bytes = later;
            if self.current.len() >= HASH_CHUNK {
                self.flush();
            }
        }
    }

    fn flush(&mut self) {
        if self.current.is_empty() {
            return;
        }
        let next = self
            .returned
            .recv()
            .unwrap_or_else(|_| Vec::with_capacity(HASH_CHUNK));
        let full = std::mem::replace(&mut self.current, next);
        if let Some(tx) = &self.to_hasher {
            let _ = tx.send(full);
        }
    }

    fn finish(&mut self) -> Result<String, String> {
        self.flush();
        self.to_hasher = None;
        match self.handle.take().map(JoinHandle::join) {
            Some(Ok(hex)) => Ok(hex),
            Some(Err(_)) => Err("hashing thread panicked".to_string()),
            None => Err("hash already taken".to_string()),
        }
    }
}

struct TeeInner<R> {
    source: R,
    pipe: HashPipe,
}

/// A reader that hashes every byte it passes on (standard input, or any stream).
///
/// Clones share the same source and hash: one clone goes into the parsing chain, the other stays
/// with the caller to [`Tee::finish`] once parsing is over.
pub(super) struct Tee<R> {
    inner: Rc<RefCell<TeeInner<R>>>,
}

impl<R: Read> Tee<R> {
    /// Wraps `source` and starts its hashing thread.
    pub(super) fn new(source: R) -> Tee<R> {
        Tee {
            inner: Rc::new(RefCell::new(TeeInner {
                source,
                pipe: HashPipe::spawn(),
            })),
        }
    }

    /// A second handle on the same stream.
    pub(super) fn handle(&self) -> Tee<R> {
        Tee {
            inner: Rc::clone(&self.inner),
        }
    }

    /// Reads what the parser left unread (when `drain`), so the digest covers the whole stream,
    /// and returns the hex digest. A read error while draining gives the error text.
    pub(super) fn finish(self, drain: bool) -> Result<String, String> {
        let mut inner = self.inner.borrow_mut();
        let mut drained = Ok(());
        if drain {
            let mut buf = vec![0u8; HASH_CHUNK];
            loop {
                match inner.source.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => inner.pipe.absorb(buf.get(..n).unwrap_or_default()),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        drained = Err(format!("cannot hash the rest of the input: {e}"));
                        break;
                    }
                }
            }
        }
        let digest = inner.pipe.finish();
        drained.and(digest)
    }
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut inner = self.inner.borrow_mut();
        let n = inner.source.read(buf)?;
        inner.pipe.absorb(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FIPS 180-2 appendix B.1 test vector: sha256("abc").
    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn tee_hashes_what_passes_and_what_is_drained() {
        let tee = Tee::new(io::Cursor::new(b"abc".to_vec()));
        let mut reader = tee.handle();
        let mut first = [0u8; 1];
        assert_eq!(reader.read(&mut first).ok(), Some(1));
        drop(reader);
        assert_eq!(tee.finish(true).as_deref(), Ok(ABC));
    }

    #[test]
    fn tee_spans_several_chunks() {
        let data: Vec<u8> = (0..(HASH_CHUNK * 3 + 17))
            .map(|i| (i % 251) as u8)
            .collect();
        let tee = Tee::new(io::Cursor::new(data.clone()));
        let mut reader = tee.handle();
        let mut sink = Vec::new();
        assert!(reader.read_to_end(&mut sink).is_ok());
        assert_eq!(sink, data);
        let expected = hex(&Sha256::digest(&data));
        assert_eq!(tee.finish(false), Ok(expected));
    }
}
