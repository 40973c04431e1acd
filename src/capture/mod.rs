//! Capture files -> frames.
//!
//! Reads classic pcap and pcapng, plain or gzip/zstd compressed (recognised by magic bytes), from
//! a path or standard input, streaming through a fixed-size buffer so memory does not grow with
//! the file. Frames are numbered from 1 in file order, exactly as Wireshark numbers them.
//!
//! STUB: the reader is being written (issue 2).

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use serde::Serialize;

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
    /// Timestamp in nanoseconds since the Unix epoch (if_tsresol and if_tsoffset applied).
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
    /// SHA-256 of the bytes as read (compressed bytes for a compressed file), lowercase hex.
    pub sha256: String,
    /// "pcap" or "pcapng".
    pub format: String,
    /// "gzip" or "zstd" when the file was compressed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
    /// pcap variant details: "le"/"be" byte order and "us"/"ns" resolution; pcapng: sections.
    pub variant: String,
    /// Frames read (packet records of every kind).
    pub packets: u64,
    /// Frames per link type, keyed by the LINKTYPE name (e.g. "ethernet", "linux_sll").
    pub link_types: BTreeMap<String, u64>,
    /// Timestamp of the first frame, ns since the epoch.
    pub first_ts_ns: Option<i64>,
    /// Timestamp of the last frame, ns since the epoch.
    pub last_ts_ns: Option<i64>,
    /// Address -> name entries from pcapng name resolution blocks (capped).
    #[serde(skip)]
    pub names: Vec<(IpAddr, String)>,
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

/// Reads one capture, calling `on_frame` for every frame in file order.
///
/// Returns `Err` only when nothing could be read; damage midway gives `Ok` with
/// [`CaptureInfo::damage`] set.
pub fn read(input: &Input, on_frame: &mut dyn FnMut(&Frame)) -> Result<CaptureInfo, CaptureError> {
    let _ = on_frame;
    Err(CaptureError {
        path: input.display_name(),
        offset: 0,
        message: "capture reader not implemented yet".into(),
    })
}
