//! Capture files -> frames.
//!
//! Reads classic pcap and pcapng, plain or gzip/zstd compressed (recognised by magic bytes), from
//! a path or standard input, streaming through a fixed-size buffer so memory does not grow with
//! the file. Frames are numbered from 1 in file order, exactly as Wireshark numbers them.
//!
//! One job per module:
//! - `source`: sniff compression and capture magic, chain the bytes back, fill the buffer;
//! - `decompress`: gzip / zstd by magic bytes;
//! - `hash`: sha256 off the parsing thread (a second reader for files, a tee for streams);
//! - `stream`: pcap-parser's next / consume / refill loop over a fixed buffer, damage handling,
//!   with a fast path for complete, well-formed packet blocks (classic records, option-less
//!   EPBs) that pcap-parser would accept unchanged; headers, options and damage stay with
//!   pcap-parser, and a test compares both paths on every capture, cut and mutated;
//! - `pcap`, `pcapng`: the two formats' blocks -> [`Frame`]s;
//! - `linktype`: LINKTYPE number -> short name.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::net::IpAddr;
use std::path::PathBuf;

use serde::Serialize;

mod decompress;
mod hash;
pub mod linktype;
mod pcap;
mod pcapng;
mod source;
mod stream;

pub use pcapng::{MAX_INTERFACES, MAX_NAMES};
pub use stream::{BUFFER_LEN, MAX_BLOCK_LEN};

/// Where a capture comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file.
    Path(PathBuf),
    /// Standard input (`-` on the command line).
    Stdin,
}

impl Input {
    /// The name shown in messages and reports: the path, or "-" for standard input.
    pub fn display_name(&self) -> String {
        match self {
            Input::Path(p) => p.display().to_string(),
            Input::Stdin => "-".to_string(),
        }
    }
}

/// One captured frame, borrowed from the reader's buffer for the duration of the callback.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// 1-based frame number in its file (Wireshark's numbering).
    pub number: u64,
    /// Timestamp in nanoseconds since the Unix epoch (if_tsresol and if_tsoffset applied);
    /// 0 for pcapng simple packet blocks, which carry no timestamp (tshark shows none).
    pub ts_ns: i64,
    /// LINKTYPE_* value of the interface the frame was captured on (1 Ethernet, 101 raw IP,
    /// 113 Linux SLL, 276 Linux SLL2, 0 BSD null, 108 OpenBSD loopback, 228/229 raw IPv4/IPv6).
    pub link_type: u32,
    /// The captured bytes (possibly fewer than `orig_len` when a snap length applied).
    pub data: &'a [u8],
    /// The length of the frame on the wire.
    pub orig_len: u32,
}

/// Where reading stopped early: the capture was read up to `offset` and the rest is unreadable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Damage {
    /// Byte offset (in the uncompressed capture stream) of the first unreadable byte.
    pub offset: u64,
    /// What was wrong there.
    pub message: String,
}

/// What the reader learned about one capture file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CaptureInfo {
    /// The path as given ("-" for standard input).
    pub path: String,
    /// SHA-256 of the bytes as read (compressed bytes for a compressed file), lowercase hex; the
    /// whole file or stream even when reading stopped at damage. Empty if hashing failed (the
    /// file vanished or failed to read in the hashing thread).
    pub sha256: String,
    /// "pcap" or "pcapng".
    pub format: String,
    /// "gzip" or "zstd" when the file was compressed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
    /// pcap: byte order and resolution, "le-us", "le-ns", "be-us", "be-ns". pcapng: byte order
    /// of the sections ("le", "be", or "le+be" when they differ) and their count,
    /// e.g. "le sections=2".
    pub variant: String,
    /// Frames read (packet records of every kind).
    pub packets: u64,
    /// Frames per link type, keyed by the LINKTYPE name (e.g. "ethernet", "linux_sll"; see
    /// [`linktype::name`]).
    pub link_types: BTreeMap<String, u64>,
    /// Timestamp of the first frame, ns since the epoch.
    pub first_ts_ns: Option<i64>,
    /// Timestamp of the last frame, ns since the epoch.
    pub last_ts_ns: Option<i64>,
    /// Interface description blocks read (pcapng, all sections); 1 for classic pcap.
    pub interfaces: u64,
    /// Address -> name entries from pcapng name resolution blocks (capped at [`MAX_NAMES`]).
    #[serde(skip)]
    pub names: Vec<(IpAddr, String)>,
    /// Name resolution entries not kept: over [`MAX_NAMES`], or longer than a DNS name.
    pub names_dropped: u64,
    /// pcapng blocks that failed to parse but were skipped by their length (not packet,
    /// interface or section blocks, whose loss would change the framing).
    pub skipped_blocks: u64,
    /// Set when the capture is damaged or truncated midway: frames before it were delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub damage: Option<Damage>,
}

/// A capture that could not be read at all (missing, not a capture, bad header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureError {
    /// The path as given.
    pub path: String,
    /// Byte offset of the problem.
    pub offset: u64,
    /// What was expected and what was found.
    pub message: String,
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: offset {}: {}", self.path, self.offset, self.message)
    }
}

impl std::error::Error for CaptureError {}

/// How [`read_with`] reads a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    /// Compute [`CaptureInfo::sha256`]. On by default; sha256 (about 1.4 GB/s per core with
    /// SHA-NI) bounds the wall time of a read when frames are cheap, so callers that do not need
    /// the digest (benchmarks, quick counts) can turn it off.
    pub hash: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { hash: true }
    }
}

/// Reads one capture, calling `on_frame` for every frame in file order.
///
/// Returns `Err` only when nothing could be read; damage midway gives `Ok` with
/// [`CaptureInfo::damage`] set. A regular file is hashed by a second thread reading the same path;
/// standard input, pipes and devices are teed to a hashing thread (see [`read_stream`]).
pub fn read(input: &Input, on_frame: &mut dyn FnMut(&Frame)) -> Result<CaptureInfo, CaptureError> {
    read_with(input, &ReadOptions::default(), on_frame)
}

/// [`read`] with options; with `hash` off, [`CaptureInfo::sha256`] is left empty.
pub fn read_with(
    input: &Input,
    options: &ReadOptions,
    on_frame: &mut dyn FnMut(&Frame),
) -> Result<CaptureInfo, CaptureError> {
    let name = input.display_name();
    match input {
        Input::Stdin if !options.hash => {
            read_source(&name, Box::new(std::io::stdin().lock()), on_frame)
        }
        Input::Stdin => read_stream(&name, std::io::stdin().lock(), on_frame),
        Input::Path(path) => {
            let file = File::open(path).map_err(|e| CaptureError {
                path: name.clone(),
                offset: 0,
                message: format!("cannot open: {e}"),
            })?;
            if !options.hash {
                return read_source(&name, Box::new(file), on_frame);
            }
            // A FIFO, character device or /dev/fd/N cannot be opened twice without the second
            // reader stealing bytes: tee it like standard input.
            if !file.metadata().map(|m| m.is_file()).unwrap_or(false) {
                return read_stream(&name, file, on_frame);
            }
            let hasher = hash::FileHasher::spawn(path.clone());
            match read_source(&name, Box::new(file), on_frame) {
                Ok(mut info) => {
                    // A hashing failure (file changed or vanished meanwhile) leaves the digest
                    // empty rather than discarding frames already delivered.
                    info.sha256 = hasher.finish().unwrap_or_default();
                    Ok(info)
                }
                Err(e) => {
                    hasher.cancel();
                    Err(e)
                }
            }
        }
    }
}

/// Reads one capture from any byte stream (standard input, a pipe, bytes in memory), named
/// `name` in messages and in [`CaptureInfo::path`].
///
/// The bytes are teed to a hashing thread as they are read; when reading stops early (damage),
/// the rest of the stream is read and hashed too, so the digest is that of the whole stream.
pub fn read_stream<R: Read>(
    name: &str,
    reader: R,
    on_frame: &mut dyn FnMut(&Frame),
) -> Result<CaptureInfo, CaptureError> {
    let tee = hash::Tee::new(reader);
    let result = read_source(name, Box::new(tee.handle()), on_frame);
    match result {
        Ok(mut info) => {
            info.sha256 = tee.finish(true).unwrap_or_default();
            Ok(info)
        }
        Err(e) => {
            let _ = tee.finish(false);
            Err(e)
        }
    }
}

/// Sniffs, decompresses and frames `raw`; everything but the hash.
fn read_source<'a>(
    name: &str,
    raw: Box<dyn Read + 'a>,
    on_frame: &mut dyn FnMut(&Frame),
) -> Result<CaptureInfo, CaptureError> {
    let opened = source::open(name, raw)?;
    let mut info = CaptureInfo {
        path: name.to_string(),
        compression: opened.compression.name().map(str::to_string),
        ..CaptureInfo::default()
    };
    match opened.format {
        source::Format::Pcap { big_endian, nanos } => pcap::read(
            name,
            opened.reader,
            &opened.errors,
            big_endian,
            nanos,
            &mut info,
            on_frame,
        )?,
        source::Format::PcapNg => {
            pcapng::read(name, opened.reader, &opened.errors, &mut info, on_frame)?
        }
    }
    Ok(info)
}
