//! Pure parsing of SMB over direct TCP: the 4-byte session header (MS-SMB2 2.1, RFC 1002 4.3.1),
//! the SMB2 header (MS-SMB2 2.2.1) and the bodies certflow reads (NEGOTIATE 2.2.3/2.2.4,
//! SESSION_SETUP response 2.2.6, TREE_CONNECT 2.2.9/2.2.10, CREATE 2.2.13/2.2.14, CLOSE 2.2.15,
//! READ 2.2.19/2.2.20, WRITE 2.2.21, IOCTL 2.2.31/2.2.32) and the TRANSFORM_HEADER (2.2.41).
//! SMB1 bodies are in [`super::smb1`]. No state.
//!
//! Offsets inside SMB2 bodies (names, data buffers) are counted from the start of the SMB2
//! header, as the spec defines them; every one is checked against the message length.

use std::borrow::Cow;

/// Length of the direct-TCP / NetBIOS session header: type u8, length u24 big-endian.
pub const NBSS_HEADER_LEN: usize = 4;

/// Largest SMB message parsed. Named-pipe traffic (DCE/RPC fragments, at most max_xmit_frag,
/// in practice <= 64 KiB) stays below this; larger messages are file data (up to 8 MiB with
/// multi-credit I/O), skipped as they arrive without being buffered.
pub const MAX_PARSE_LEN: usize = 128 * 1024;

/// Length of the SMB2 header (MS-SMB2 2.2.1).
pub const SMB2_HEADER_LEN: usize = 64;

/// Length of the SMB2 TRANSFORM_HEADER (MS-SMB2 2.2.41).
pub const TRANSFORM_HEADER_LEN: usize = 52;

/// Length of the SMB1 header (MS-CIFS 2.2.3.1).
pub const SMB1_HEADER_LEN: usize = 32;

/// Most dialects read from one NEGOTIATE request (Windows offers at most 5 SMB2 dialects and a
/// dozen SMB1 strings).
pub const MAX_DIALECTS: usize = 64;

/// Longest path or file name decoded, in bytes of UTF-16 (MS-SMB2 limits names to 32 KiB).
pub const MAX_NAME_BYTES: usize = 2048;

/// SMB2 flags (MS-SMB2 2.2.1.2).
pub mod flags {
    /// SMB2_FLAGS_SERVER_TO_REDIR: a response.
    pub const RESPONSE: u32 = 0x0000_0001;
    /// SMB2_FLAGS_ASYNC_COMMAND: AsyncId instead of TreeId.
    pub const ASYNC: u32 = 0x0000_0002;
    /// SMB2_FLAGS_RELATED_OPERATIONS: part of a related compound.
    pub const RELATED: u32 = 0x0000_0004;
    /// SMB2_FLAGS_SIGNED.
    pub const SIGNED: u32 = 0x0000_0008;
}

/// FSCTL_PIPE_TRANSCEIVE (MS-FSCC 2.3.49): a write and read on a named pipe in one IOCTL.
pub const FSCTL_PIPE_TRANSCEIVE: u32 = 0x0011_C017;

/// STATUS_SUCCESS.
pub const STATUS_SUCCESS: u32 = 0;
/// STATUS_PENDING: interim response, the real one follows (MS-SMB2 3.3.4.2).
pub const STATUS_PENDING: u32 = 0x0000_0103;
/// STATUS_BUFFER_OVERFLOW: a pipe read that returned part of a message; the data is valid.
pub const STATUS_BUFFER_OVERFLOW: u32 = 0x8000_0005;
/// STATUS_MORE_PROCESSING_REQUIRED (MS-ERREF 2.3.1): a SESSION_SETUP response whose token asks
/// the client for another leg (MS-SMB2 3.3.5.5.3).
pub const STATUS_MORE_PROCESSING_REQUIRED: u32 = 0xC000_0016;

/// SMB2_SESSION_FLAG_ENCRYPT_DATA (MS-SMB2 2.2.6).
pub const SESSION_FLAG_ENCRYPT_DATA: u16 = 0x0004;
/// SMB2_SHAREFLAG_ENCRYPT_DATA (MS-SMB2 2.2.10).
pub const SHAREFLAG_ENCRYPT_DATA: u32 = 0x0000_8000;
/// SMB2_SHARE_TYPE_PIPE (MS-SMB2 2.2.10).
pub const SHARE_TYPE_PIPE: u8 = 0x02;

/// An SMB2 command code (MS-SMB2 2.2.1.2), kept as a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Command(pub u16);

impl Command {
    /// NEGOTIATE.
    pub const NEGOTIATE: Command = Command(0);
    /// SESSION_SETUP.
    pub const SESSION_SETUP: Command = Command(1);
    /// TREE_CONNECT.
    pub const TREE_CONNECT: Command = Command(3);
    /// CREATE.
    pub const CREATE: Command = Command(5);
    /// CLOSE.
    pub const CLOSE: Command = Command(6);
    /// READ.
    pub const READ: Command = Command(8);
    /// WRITE.
    pub const WRITE: Command = Command(9);
    /// IOCTL.
    pub const IOCTL: Command = Command(11);

    /// Lowercase name ("negotiate", "create" ...) or "command_N" (no allocation for known
    /// commands).
    pub fn name(self) -> Cow<'static, str> {
        Cow::Borrowed(match self.0 {
            0 => "negotiate",
            1 => "session_setup",
            2 => "logoff",
            3 => "tree_connect",
            4 => "tree_disconnect",
            5 => "create",
            6 => "close",
            7 => "flush",
            8 => "read",
            9 => "write",
            10 => "lock",
            11 => "ioctl",
            12 => "cancel",
            13 => "echo",
            14 => "query_directory",
            15 => "change_notify",
            16 => "query_info",
            17 => "set_info",
            18 => "oplock_break",
            n => return Cow::Owned(format!("command_{n}")),
        })
    }
}

/// The dialect name: 0x0202 "2.0.2", 0x0210 "2.1", 0x0300 "3.0", 0x0302 "3.0.2", 0x0311
/// "3.1.1", 0x02FF "2.???" (the SMB2 wildcard of MS-SMB2 3.3.5.3.1), else "0x%04x".
/// No allocation for known dialects.
pub fn dialect_name(d: u16) -> Cow<'static, str> {
    Cow::Borrowed(match d {
        0x0202 => "2.0.2",
        0x0210 => "2.1",
        0x0222 => "2.2.2",
        0x0224 => "2.2.4",
        0x0300 => "3.0",
        0x0302 => "3.0.2",
        0x0310 => "3.1",
        0x0311 => "3.1.1",
        0x02ff => "2.???",
        d => return Cow::Owned(format!("0x{d:04x}")),
    })
}

/// Why a message could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmbError {
    /// A field or buffer runs past the end of the message.
    Truncated,
    /// Not an SMB message (bad protocol id or structure size).
    NotSmb,
}

fn le16(b: &[u8], at: usize) -> Result<u16, SmbError> {
    let s = b.get(at..at + 2).ok_or(SmbError::Truncated)?;
    Ok(u16::from_le_bytes([s[0], s[1]]))
}

fn le32(b: &[u8], at: usize) -> Result<u32, SmbError> {
    let s = b.get(at..at + 4).ok_or(SmbError::Truncated)?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn le64(b: &[u8], at: usize) -> Result<u64, SmbError> {
    let s = b.get(at..at + 8).ok_or(SmbError::Truncated)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Ok(u64::from_le_bytes(a))
}

/// A 16-byte SMB2_FILEID (persistent + volatile).
pub type FileId = [u8; 16];

fn file_id(b: &[u8], at: usize) -> Result<FileId, SmbError> {
    let s = b.get(at..at + 16).ok_or(SmbError::Truncated)?;
    let mut f = [0u8; 16];
    f.copy_from_slice(s);
    Ok(f)
}

/// The buffer at `offset` (from the SMB2 header start) of `len` bytes.
fn buffer(msg: &[u8], offset: usize, len: usize) -> Result<&[u8], SmbError> {
    msg.get(offset..offset.checked_add(len).ok_or(SmbError::Truncated)?)
        .ok_or(SmbError::Truncated)
}

/// [`buffer`], or with `cut` (a message a snap length cut short) the part of it the message
/// holds: an error only when the buffer starts past the end.
fn data(msg: &[u8], offset: usize, len: usize, cut: bool) -> Result<&[u8], SmbError> {
    if !cut {
        return buffer(msg, offset, len);
    }
    let rest = msg.get(offset..).ok_or(SmbError::Truncated)?;
    Ok(rest.get(..len.min(rest.len())).unwrap_or_default())
}

/// UTF-16LE to a String (lossy), at most [`MAX_NAME_BYTES`] bytes.
pub fn utf16(b: &[u8]) -> String {
    let mut s = String::new();
    utf16_into(b, &mut s);
    s
}

/// [`utf16`] written into `out` (emptied first), so a caller that only looks the name up can
/// reuse one buffer.
pub fn utf16_into(b: &[u8], out: &mut String) {
    out.clear();
    let b = b.get(..b.len().min(MAX_NAME_BYTES)).unwrap_or_default();
    // Sized once (names are ASCII nearly always: one byte per unit).
    out.reserve(b.len() / 2);
    // ASCII names (nearly all: pipe names, share paths) are copied a byte per unit; an odd
    // last byte is left out, as below.
    let ascii = |c: &[u8]| match c {
        [lo, 0] if lo.is_ascii() => Some(char::from(*lo)),
        _ => None,
    };
    if b.chunks_exact(2).all(|c| ascii(c).is_some()) {
        out.extend(b.chunks_exact(2).filter_map(ascii));
        return;
    }
    let units = b.chunks_exact(2).map(|c| match c {
        [lo, hi] => u16::from_le_bytes([*lo, *hi]),
        _ => 0,
    });
    // What `String::from_utf16_lossy` gives, decoded straight into `out`.
    out.extend(char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)));
}

/// The direct-TCP header: (type, length of the message that follows).
pub fn nbss_header(data: &[u8]) -> Option<(u8, usize)> {
    let h = data.get(..NBSS_HEADER_LEN)?;
    let len = (usize::from(h[1]) << 16) | (usize::from(h[2]) << 8) | usize::from(h[3]);
    Some((h[0], len))
}

/// Session request packet type (RFC 1002 4.3.2).
pub const NBSS_SESSION_REQUEST: u8 = 0x81;

/// The called and calling names of a NetBIOS session request (RFC 1002 4.3.2; `body` follows
/// the 4-byte header), each written as tshark writes them: the name without its trailing
/// spaces, then its suffix byte (`DC1<20>`: the server service, `VM<00>`: the workstation). A
/// name of spaces only is `None` (Samba's smbclient calls the server so when it has no name
/// for it).
pub fn session_request_names(body: &[u8]) -> Option<(Option<String>, Option<String>)> {
    let (called, next) = netbios_name(body, 0)?;
    let (calling, _) = netbios_name(body, next)?;
    Some((name_text(&called), name_text(&calling)))
}

/// True when `body` holds a session request's two names, well formed (the probe's check: no
/// name is written out).
pub fn is_session_request(body: &[u8]) -> bool {
    netbios_name(body, 0).is_some_and(|(_, next)| netbios_name(body, next).is_some())
}

/// A NetBIOS name in first-level encoding (RFC 1001 14.1: length 32, each byte of the 16-byte
/// name as two letters 'A'..'P', then the scope's labels up to a zero length) at `at`: its 16
/// bytes, and the offset after it.
fn netbios_name(b: &[u8], at: usize) -> Option<([u8; 16], usize)> {
    if *b.get(at)? != 32 {
        return None;
    }
    let enc = b.get(at + 1..at + 33)?;
    let mut raw = [0u8; 16];
    for (i, pair) in enc.chunks_exact(2).enumerate() {
        let hi = pair[0].checked_sub(b'A').filter(|v| *v < 16)?;
        let lo = pair[1].checked_sub(b'A').filter(|v| *v < 16)?;
        raw[i] = hi << 4 | lo;
    }
    // The scope: labels up to the root's zero length.
    let mut next = at + 33;
    loop {
        let len = usize::from(*b.get(next)?);
        next += 1 + len;
        if len == 0 {
            break;
        }
    }
    Some((raw, next))
}

/// A NetBIOS name as [`session_request_names`] writes it, `None` for spaces only.
fn name_text(raw: &[u8; 16]) -> Option<String> {
    let name: String = raw[..15].iter().map(|&c| char::from(c)).collect();
    let name = name.trim_end_matches(' ');
    (!name.is_empty()).then(|| format!("{name}<{:02x}>", raw[15]))
}

/// What the first four bytes of a message are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// 0xFF 'SMB': SMB1.
    Smb1,
    /// 0xFE 'SMB': SMB2/3.
    Smb2,
    /// 0xFD 'SMB': SMB3 TRANSFORM_HEADER (encrypted).
    Transform,
    /// 0xFC 'SMB': SMB3 COMPRESSION_TRANSFORM_HEADER.
    Compressed,
}

/// Identifies the protocol id at the start of `msg`.
pub fn protocol(msg: &[u8]) -> Option<Protocol> {
    match msg.get(..4)? {
        [0xff, b'S', b'M', b'B'] => Some(Protocol::Smb1),
        [0xfe, b'S', b'M', b'B'] => Some(Protocol::Smb2),
        [0xfd, b'S', b'M', b'B'] => Some(Protocol::Transform),
        [0xfc, b'S', b'M', b'B'] => Some(Protocol::Compressed),
        _ => None,
    }
}

/// The SMB2 header fields certflow uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Status (responses).
    pub status: u32,
    /// Command.
    pub command: Command,
    /// Flags.
    pub flags: u32,
    /// NextCommand: offset of the next message of a compound, 0 for the last.
    pub next_command: u32,
    /// MessageId.
    pub message_id: u64,
    /// TreeId (0 for async messages).
    pub tree_id: u32,
    /// SessionId.
    pub session_id: u64,
}

impl Header {
    /// True for a response.
    pub fn is_response(&self) -> bool {
        self.flags & flags::RESPONSE != 0
    }
}

/// Reads the SMB2 header at the start of `msg`.
pub fn header(msg: &[u8]) -> Result<Header, SmbError> {
    if protocol(msg) != Some(Protocol::Smb2) {
        return Err(SmbError::NotSmb);
    }
    if msg.len() < SMB2_HEADER_LEN {
        return Err(SmbError::Truncated);
    }
    if le16(msg, 4)? != 64 {
        return Err(SmbError::NotSmb);
    }
    let flags = le32(msg, 16)?;
    Ok(Header {
        status: le32(msg, 8)?,
        command: Command(le16(msg, 12)?),
        flags,
        next_command: le32(msg, 20)?,
        message_id: le64(msg, 24)?,
        tree_id: if flags & flags::ASYNC != 0 {
            0
        } else {
            le32(msg, 36)?
        },
        session_id: le64(msg, 40)?,
    })
}

const B: usize = SMB2_HEADER_LEN;

/// NEGOTIATE request (2.2.3): the offered dialects (the first [`MAX_DIALECTS`]), read in
/// place; an error when the message is shorter than the list it announces.
pub fn negotiate_request(msg: &[u8]) -> Result<impl Iterator<Item = u16> + '_, SmbError> {
    let n = usize::from(le16(msg, B + 2)?).min(MAX_DIALECTS);
    let list = if n == 0 {
        &[][..]
    } else {
        msg.get(B + 36..B + 36 + 2 * n).ok_or(SmbError::Truncated)?
    };
    Ok(list.chunks_exact(2).map(|d| match d {
        [lo, hi] => u16::from_le_bytes([*lo, *hi]),
        _ => 0,
    }))
}

/// NEGOTIATE response (2.2.4): the chosen dialect.
pub fn negotiate_response(msg: &[u8]) -> Result<u16, SmbError> {
    le16(msg, B + 4)
}

/// SESSION_SETUP request (2.2.5): the security buffer (a GSS-API token).
pub fn session_setup_request(msg: &[u8]) -> Result<&[u8], SmbError> {
    let off = usize::from(le16(msg, B + 12)?);
    let len = usize::from(le16(msg, B + 14)?);
    buffer(msg, off, len)
}

/// SESSION_SETUP response (2.2.6): SessionFlags.
pub fn session_setup_response(msg: &[u8]) -> Result<u16, SmbError> {
    le16(msg, B + 2)
}

/// SESSION_SETUP response (2.2.6): the security buffer (a GSS-API token; empty when the
/// response carries none).
pub fn session_setup_response_token(msg: &[u8]) -> Result<&[u8], SmbError> {
    let off = usize::from(le16(msg, B + 4)?);
    let len = usize::from(le16(msg, B + 6)?);
    buffer(msg, off, len)
}

/// TREE_CONNECT request (2.2.9): the share path, e.g. `\\host\IPC$`.
pub fn tree_connect_request(msg: &[u8]) -> Result<String, SmbError> {
    let off = usize::from(le16(msg, B + 4)?);
    let len = usize::from(le16(msg, B + 6)?);
    Ok(utf16(buffer(msg, off, len)?))
}

/// TREE_CONNECT response (2.2.10): (ShareType, ShareFlags).
pub fn tree_connect_response(msg: &[u8]) -> Result<(u8, u32), SmbError> {
    let t = *msg.get(B + 2).ok_or(SmbError::Truncated)?;
    Ok((t, le32(msg, B + 4)?))
}

/// CREATE request (2.2.13): the name relative to the share (a pipe name on IPC$).
pub fn create_request(msg: &[u8]) -> Result<String, SmbError> {
    let mut name = String::new();
    create_request_into(msg, &mut name)?;
    Ok(name)
}

/// [`create_request`] written into `name` (emptied first; left empty on error).
pub fn create_request_into(msg: &[u8], name: &mut String) -> Result<(), SmbError> {
    name.clear();
    let off = usize::from(le16(msg, B + 44)?);
    let len = usize::from(le16(msg, B + 46)?);
    utf16_into(buffer(msg, off, len)?, name);
    Ok(())
}

/// CREATE response (2.2.14): the FileId.
pub fn create_response(msg: &[u8]) -> Result<FileId, SmbError> {
    file_id(msg, B + 64)
}

/// CLOSE request (2.2.15): the FileId.
pub fn close_request(msg: &[u8]) -> Result<FileId, SmbError> {
    file_id(msg, B + 8)
}

/// READ request (2.2.19): the FileId.
pub fn read_request(msg: &[u8]) -> Result<FileId, SmbError> {
    file_id(msg, B + 16)
}

/// READ response (2.2.20): the data read (with `cut`, what the cut message holds of it).
pub fn read_response(msg: &[u8], cut: bool) -> Result<&[u8], SmbError> {
    let off = usize::from(*msg.get(B + 2).ok_or(SmbError::Truncated)?);
    let len = le32(msg, B + 4)? as usize;
    data(msg, off, len, cut)
}

/// WRITE request (2.2.21): (FileId, data written; with `cut`, what the cut message holds).
pub fn write_request(msg: &[u8], cut: bool) -> Result<(FileId, &[u8]), SmbError> {
    let off = usize::from(le16(msg, B + 2)?);
    let len = le32(msg, B + 4)? as usize;
    Ok((file_id(msg, B + 16)?, data(msg, off, len, cut)?))
}

/// An IOCTL request or response (2.2.31, 2.2.32): control code, FileId and the input (request)
/// or output (response) buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ioctl<'a> {
    /// CtlCode.
    pub ctl_code: u32,
    /// FileId.
    pub file_id: FileId,
    /// Input buffer of a request, output buffer of a response.
    pub data: &'a [u8],
}

/// IOCTL request (2.2.31): input buffer offset and length at 24 and 28 (with `cut`, the
/// buffer is what the cut message holds of it).
pub fn ioctl_request(msg: &[u8], cut: bool) -> Result<Ioctl<'_>, SmbError> {
    ioctl(msg, 24, cut)
}

/// IOCTL response (2.2.32): output buffer offset and length at 32 and 36 (`cut` as above).
pub fn ioctl_response(msg: &[u8], cut: bool) -> Result<Ioctl<'_>, SmbError> {
    ioctl(msg, 32, cut)
}

/// The fields IOCTL requests and responses share (CtlCode at 4, FileId at 8), and the buffer
/// whose offset is at `buf_at` and length at `buf_at + 4`.
fn ioctl(msg: &[u8], buf_at: usize, cut: bool) -> Result<Ioctl<'_>, SmbError> {
    let off = le32(msg, B + buf_at)? as usize;
    let len = le32(msg, B + buf_at + 4)? as usize;
    Ok(Ioctl {
        ctl_code: le32(msg, B + 4)?,
        file_id: file_id(msg, B + 8)?,
        data: if len == 0 {
            &[]
        } else {
            data(msg, off, len, cut)?
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_is_lossy_utf16() {
        // "lsarpc" as a CREATE name carries it (UTF-16LE), an odd trailing byte, a lone
        // surrogate, a pair (U+1F600) and a cut at MAX_NAME_BYTES: as `from_utf16_lossy`.
        let lossy = |b: &[u8]| {
            let b = &b[..b.len().min(MAX_NAME_BYTES)];
            let u: Vec<u16> = b
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&u)
        };
        let mut long = Vec::new();
        for _ in 0..MAX_NAME_BYTES {
            long.extend_from_slice(&[0x41, 0x00]);
        }
        // Also: the fast ASCII path's edges (empty, U+007F, U+0080, U+00E9, a high byte set).
        let cases: [&[u8]; 10] = [
            b"l\0s\0a\0r\0p\0c\0",
            b"a\0b",
            &[0x00, 0xd8, 0x41, 0x00],
            &[0x3d, 0xd8, 0x00, 0xde, 0x2e, 0x00],
            &long,
            b"",
            &[0x7f, 0x00, 0x41, 0x00],
            &[0x80, 0x00, 0x41, 0x00],
            &[0x41, 0x00, 0xe9, 0x00],
            &[0x41, 0x01],
        ];
        for b in cases {
            assert_eq!(utf16(b), lossy(b), "{b:02x?}");
        }
        assert_eq!(utf16(cases[0]), "lsarpc");
        assert_eq!(utf16(cases[2]), "\u{fffd}A");
        assert_eq!(utf16(cases[8]), "A\u{e9}");
    }
}
