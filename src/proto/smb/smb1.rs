//! Pure parsing of the SMB1 (CIFS) messages certflow reads: the header (MS-CIFS 2.2.3.1), the
//! command blocks of an AndX chain (2.2.3.4), and the bodies that carry what a firewall team
//! asks about: NEGOTIATE (2.2.4.52), SESSION_SETUP_ANDX with extended security (MS-SMB
//! 2.2.4.6, the GSS-API token), TREE_CONNECT_ANDX (MS-CIFS 2.2.4.55), NT_CREATE_ANDX
//! (2.2.4.64), TRANSACTION and its secondary requests (2.2.4.33, 2.2.4.34; named-pipe
//! subcommands 2.2.5), READ_ANDX (2.2.4.42) and WRITE_ANDX (2.2.4.43). No state.
//!
//! Every offset a message gives (AndXOffset, DataOffset, ParameterOffset) counts from the start
//! of the SMB header, as the spec defines them; each is checked against the message length.
//! Unicode strings are aligned to an even offset from the header start (MS-CIFS 2.2.1.1).

use super::parse::{protocol, Protocol, SmbError, MAX_DIALECTS, MAX_NAME_BYTES, SMB1_HEADER_LEN};

/// Length of the SMB1 header (MS-CIFS 2.2.3.1).
pub const HEADER_LEN: usize = SMB1_HEADER_LEN;

/// Command codes read (MS-CIFS 2.2.2.1).
pub mod cmd {
    /// SMB_COM_CLOSE.
    pub const CLOSE: u8 = 0x04;
    /// SMB_COM_TRANSACTION.
    pub const TRANSACTION: u8 = 0x25;
    /// SMB_COM_TRANSACTION_SECONDARY.
    pub const TRANSACTION_SECONDARY: u8 = 0x26;
    /// SMB_COM_READ_ANDX.
    pub const READ_ANDX: u8 = 0x2e;
    /// SMB_COM_WRITE_ANDX.
    pub const WRITE_ANDX: u8 = 0x2f;
    /// SMB_COM_NEGOTIATE.
    pub const NEGOTIATE: u8 = 0x72;
    /// SMB_COM_SESSION_SETUP_ANDX.
    pub const SESSION_SETUP_ANDX: u8 = 0x73;
    /// SMB_COM_TREE_CONNECT_ANDX.
    pub const TREE_CONNECT_ANDX: u8 = 0x75;
    /// SMB_COM_NT_CREATE_ANDX.
    pub const NT_CREATE_ANDX: u8 = 0xa2;
}

/// The `commands` counter name of an SMB1 command: `smb1_` and the command's lowercase name
/// (MS-CIFS 2.2.2.1), `None` for a code the spec does not list.
pub fn command_name(c: u8) -> Option<&'static str> {
    Some(match c {
        0x00 => "smb1_create_directory",
        0x01 => "smb1_delete_directory",
        0x02 => "smb1_open",
        0x03 => "smb1_create",
        0x04 => "smb1_close",
        0x05 => "smb1_flush",
        0x06 => "smb1_delete",
        0x07 => "smb1_rename",
        0x08 => "smb1_query_information",
        0x09 => "smb1_set_information",
        0x0a => "smb1_read",
        0x0b => "smb1_write",
        0x0c => "smb1_lock_byte_range",
        0x0d => "smb1_unlock_byte_range",
        0x0e => "smb1_create_temporary",
        0x0f => "smb1_create_new",
        0x10 => "smb1_check_directory",
        0x11 => "smb1_process_exit",
        0x12 => "smb1_seek",
        0x13 => "smb1_lock_and_read",
        0x14 => "smb1_write_and_unlock",
        0x1a => "smb1_read_raw",
        0x1b => "smb1_read_mpx",
        0x1c => "smb1_read_mpx_secondary",
        0x1d => "smb1_write_raw",
        0x1e => "smb1_write_mpx",
        0x1f => "smb1_write_mpx_secondary",
        0x20 => "smb1_write_complete",
        0x21 => "smb1_query_server",
        0x22 => "smb1_set_information2",
        0x23 => "smb1_query_information2",
        0x24 => "smb1_locking_andx",
        0x25 => "smb1_transaction",
        0x26 => "smb1_transaction_secondary",
        0x27 => "smb1_ioctl",
        0x28 => "smb1_ioctl_secondary",
        0x29 => "smb1_copy",
        0x2a => "smb1_move",
        0x2b => "smb1_echo",
        0x2c => "smb1_write_and_close",
        0x2d => "smb1_open_andx",
        0x2e => "smb1_read_andx",
        0x2f => "smb1_write_andx",
        0x30 => "smb1_new_file_size",
        0x31 => "smb1_close_and_tree_disc",
        0x32 => "smb1_transaction2",
        0x33 => "smb1_transaction2_secondary",
        0x34 => "smb1_find_close2",
        0x35 => "smb1_find_notify_close",
        0x70 => "smb1_tree_connect",
        0x71 => "smb1_tree_disconnect",
        0x72 => "smb1_negotiate",
        0x73 => "smb1_session_setup_andx",
        0x74 => "smb1_logoff_andx",
        0x75 => "smb1_tree_connect_andx",
        0x7e => "smb1_security_package_andx",
        0x80 => "smb1_query_information_disk",
        0x81 => "smb1_search",
        0x82 => "smb1_find",
        0x83 => "smb1_find_unique",
        0x84 => "smb1_find_close",
        0xa0 => "smb1_nt_transact",
        0xa1 => "smb1_nt_transact_secondary",
        0xa2 => "smb1_nt_create_andx",
        0xa4 => "smb1_nt_cancel",
        0xa5 => "smb1_nt_rename",
        0xc0 => "smb1_open_print_file",
        0xc1 => "smb1_write_print_file",
        0xc2 => "smb1_close_print_file",
        0xc3 => "smb1_get_print_queue",
        0xd8 => "smb1_read_bulk",
        0xd9 => "smb1_write_bulk",
        0xda => "smb1_write_bulk_data",
        0xfe => "smb1_invalid",
        0xff => "smb1_no_andx_command",
        _ => return None,
    })
}

/// True for the commands whose parameter words start with the AndX block (MS-CIFS 2.2.3.4).
fn is_andx(c: u8) -> bool {
    matches!(c, 0x24 | 0x2d | 0x2e | 0x2f | 0x73 | 0x74 | 0x75 | 0xa2)
}

/// SMB_FLAGS_REPLY (MS-CIFS 2.2.3.1).
const FLAGS_REPLY: u8 = 0x80;
/// SMB_FLAGS2_UNICODE.
const FLAGS2_UNICODE: u16 = 0x8000;
/// SMB_FLAGS2_NT_STATUS.
const FLAGS2_NT_STATUS: u16 = 0x4000;

/// TRANS_TRANSACT_NMPIPE (MS-CIFS 2.2.5.6): write a message to a named pipe and read the reply.
pub const TRANS_TRANSACT_NMPIPE: u16 = 0x0026;
/// TRANS_RAW_WRITE_NMPIPE (2.2.5.7).
pub const TRANS_RAW_WRITE_NMPIPE: u16 = 0x0031;
/// TRANS_READ_NMPIPE (2.2.5.8).
pub const TRANS_READ_NMPIPE: u16 = 0x0036;
/// TRANS_WRITE_NMPIPE (2.2.5.9).
pub const TRANS_WRITE_NMPIPE: u16 = 0x0037;

/// WriteMode bits of WRITE_ANDX (MS-CIFS 2.2.4.43.1): RAW_MODE and MSG_START together mean the
/// data starts with a 2-byte message length (Samba `reply_pipe_write_and_X`, Wireshark
/// `packet-smb.c` skip it the same way).
const WRITE_RAW_MSG_START: u16 = 0x0004 | 0x0008;

fn le16(b: &[u8], at: usize) -> Result<u16, SmbError> {
    let s = b.get(at..at + 2).ok_or(SmbError::Truncated)?;
    Ok(u16::from_le_bytes([s[0], s[1]]))
}

fn le32(b: &[u8], at: usize) -> Result<u32, SmbError> {
    let s = b.get(at..at + 4).ok_or(SmbError::Truncated)?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// The SMB1 header fields certflow uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The first command of the message.
    pub command: u8,
    /// The NT status of a response, 0 when the message uses DOS error codes and has none.
    pub status: u32,
    /// True for a response whose DOS error class is not 0 (SMB_FLAGS2_NT_STATUS clear).
    pub dos_error: bool,
    /// Flags.
    pub flags: u8,
    /// Flags2.
    pub flags2: u16,
    /// TID.
    pub tid: u16,
    /// PIDLow.
    pub pid: u16,
    /// UID.
    pub uid: u16,
    /// MID.
    pub mid: u16,
}

impl Header {
    /// True for a response.
    pub fn is_response(&self) -> bool {
        self.flags & FLAGS_REPLY != 0
    }

    /// True when strings are UTF-16LE.
    pub fn unicode(&self) -> bool {
        self.flags2 & FLAGS2_UNICODE != 0
    }

    /// True when the response reports an error (a DOS error, or an NT status that is not
    /// success, warning or informational: severity 3, MS-ERREF 2.3).
    pub fn failed(&self) -> bool {
        self.dos_error || self.status >> 30 == 3
    }
}

/// Reads the SMB1 header at the start of `msg`.
pub fn header(msg: &[u8]) -> Result<Header, SmbError> {
    if protocol(msg) != Some(Protocol::Smb1) {
        return Err(SmbError::NotSmb);
    }
    if msg.len() < HEADER_LEN {
        return Err(SmbError::Truncated);
    }
    let flags2 = le16(msg, 10)?;
    let raw = le32(msg, 5)?;
    let nt = flags2 & FLAGS2_NT_STATUS != 0;
    Ok(Header {
        command: msg[4],
        status: if nt { raw } else { 0 },
        dos_error: !nt && msg[5] != 0,
        flags: msg[9],
        flags2,
        tid: le16(msg, 24)?,
        pid: le16(msg, 26)?,
        uid: le16(msg, 28)?,
        mid: le16(msg, 30)?,
    })
}

/// One command block of a message (MS-CIFS 2.2.3.2, 2.2.3.3): its command, parameter words
/// and data bytes.
#[derive(Debug, Clone, Copy)]
pub struct Block<'a> {
    /// The command.
    pub command: u8,
    /// SMB_Parameters.Words (2 * WordCount bytes).
    pub words: &'a [u8],
    /// SMB_Data.Bytes as the message holds them (ByteCount bytes, fewer when cut).
    pub bytes: &'a [u8],
    /// Offset of `bytes` from the header start (for string alignment).
    pub bytes_at: usize,
    /// True when the message holds fewer than ByteCount bytes (a snap length cut it, or the
    /// ByteCount is not one, see [`block`]): a string running to the end may be cut.
    pub short: bool,
    /// Offset of this block's WordCount.
    at: usize,
}

/// The block of `command` whose WordCount is at `at`. Its bytes are what the message holds of
/// ByteCount bytes: Windows' extended NT_CREATE_ANDX response says WordCount 42 for 50 words
/// (MS-SMB 2.2.4.9.2), so what it calls ByteCount is a FileId's bytes, and a snap length may
/// have cut the message. The words must be whole, and the ByteCount field after them unless
/// `cut` took it (it then counts as 0).
pub fn block(msg: &[u8], command: u8, at: usize, cut: bool) -> Result<Block<'_>, SmbError> {
    let wc = usize::from(*msg.get(at).ok_or(SmbError::Truncated)?);
    let words = msg
        .get(at + 1..at + 1 + 2 * wc)
        .ok_or(SmbError::Truncated)?;
    let bc_at = at + 1 + 2 * wc;
    let bc = match le16(msg, bc_at) {
        Ok(bc) => usize::from(bc),
        Err(_) if cut => 0,
        Err(e) => return Err(e),
    };
    let bytes_at = bc_at + 2;
    let rest = msg.get(bytes_at..).unwrap_or_default();
    let bytes = rest.get(..bc).unwrap_or(rest);
    Ok(Block {
        command,
        words,
        bytes,
        bytes_at,
        short: bytes.len() < bc,
        at,
    })
}

impl Block<'_> {
    /// The next block of an AndX chain: (command, offset of its WordCount), `None` at the end
    /// (AndXCommand 0xFF, or a command that is not AndX). An offset that does not move forward
    /// is an error: a chain cannot loop.
    pub fn next(&self) -> Result<Option<(u8, usize)>, SmbError> {
        if !is_andx(self.command) || self.words.len() < 4 {
            return Ok(None);
        }
        let c = self.words[0];
        if c == 0xff {
            return Ok(None);
        }
        let off = usize::from(le16(self.words, 2)?);
        if off <= self.at {
            return Err(SmbError::NotSmb);
        }
        Ok(Some((c, off)))
    }
}

/// The bytes at `offset` (from the header start) of `len` bytes; with `cut`, what the message
/// holds of them.
fn data(msg: &[u8], offset: usize, len: usize, cut: bool) -> Result<&[u8], SmbError> {
    let rest = msg.get(offset..).ok_or(SmbError::Truncated)?;
    match rest.get(..len) {
        Some(d) => Ok(d),
        None if cut => Ok(rest),
        None => Err(SmbError::Truncated),
    }
}

/// A string of the data bytes at `at` (an offset in `b.bytes`): UTF-16LE (aligned to an even
/// offset from the header start) up to a NUL unit, or OEM up to a NUL byte, or to the end of
/// the bytes. Returns its raw bytes, without the terminator; an error when it has none and the
/// block's bytes are [`Block::short`] (the string may go on past them).
fn string<'a>(b: &Block<'a>, at: usize, unicode: bool) -> Result<&'a [u8], SmbError> {
    string_at(b, at, unicode).map(|(s, _)| s)
}

/// [`string`], and the offset in `b.bytes` after it and its terminator.
fn string_at<'a>(
    b: &Block<'a>,
    mut at: usize,
    unicode: bool,
) -> Result<(&'a [u8], usize), SmbError> {
    let Some(mut rest) = b.bytes.get(at..) else {
        return Err(SmbError::Truncated);
    };
    let end = if unicode {
        if (b.bytes_at + at) % 2 == 1 {
            at += 1;
            rest = b.bytes.get(at..).unwrap_or_default();
        }
        rest.chunks_exact(2)
            .position(|u| u == [0, 0])
            .map(|i| 2 * i)
    } else {
        rest.iter().position(|&c| c == 0)
    };
    let nul = if unicode { 2 } else { 1 };
    match end {
        Some(end) => Ok((rest.get(..end).unwrap_or_default(), at + end + nul)),
        None if b.short => Err(SmbError::Truncated),
        None => {
            let end = rest.len() & !usize::from(unicode);
            Ok((rest.get(..end).unwrap_or_default(), at + rest.len()))
        }
    }
}

/// Decodes a raw string into `out` (emptied first): UTF-16LE or OEM (read as Latin-1, which
/// keeps ASCII names as they are), at most [`MAX_NAME_BYTES`] bytes.
pub fn decode_into(raw: &[u8], unicode: bool, out: &mut String) {
    if unicode {
        super::parse::utf16_into(raw, out);
    } else {
        out.clear();
        let raw = raw.get(..raw.len().min(MAX_NAME_BYTES)).unwrap_or_default();
        out.extend(raw.iter().map(|&c| char::from(c)));
    }
}

/// NEGOTIATE request (MS-CIFS 2.2.4.52.1): the dialect strings (`NT LM 0.12`, `SMB 2.002`,
/// `SMB 2.???`), each a buffer format 0x02 and a NUL-terminated OEM string.
pub fn negotiate_dialects(b: &Block<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for part in b.bytes.split(|&c| c == 0) {
        if out.len() >= MAX_DIALECTS {
            break;
        }
        if let Some((&0x02, s)) = part.split_first() {
            out.push(String::from_utf8_lossy(s).into_owned());
        }
    }
    out
}

/// NEGOTIATE response (MS-CIFS 2.2.4.52.2): DialectIndex, 0xFFFF when the server accepts none.
pub fn negotiate_response(b: &Block<'_>) -> Result<u16, SmbError> {
    le16(b.words, 0)
}

/// SESSION_SETUP_ANDX request with extended security (MS-SMB 2.2.4.6.1, WordCount 12): the
/// security blob (a GSS-API token). `None` for the older form (WordCount 13, passwords in the
/// clear or hashed, no token).
pub fn session_setup_request<'a>(b: &Block<'a>) -> Result<Option<&'a [u8]>, SmbError> {
    if b.words.len() != 24 {
        return Ok(None);
    }
    let len = usize::from(le16(b.words, 14)?);
    Ok(Some(b.bytes.get(..len).unwrap_or(b.bytes)))
}

/// SESSION_SETUP_ANDX request without extended security (MS-CIFS 2.2.4.53.1, WordCount 13):
/// the AccountName and PrimaryDomain after the two passwords (OEMPasswordLen and
/// UnicodePasswordLen bytes: LM/NTLM responses or a plaintext password), as raw strings.
/// `None` for the other forms.
pub fn session_setup_legacy<'a>(
    b: &Block<'a>,
    unicode: bool,
) -> Result<Option<Account<'a>>, SmbError> {
    if b.words.len() != 26 {
        return Ok(None);
    }
    let passwords = usize::from(le16(b.words, 14)?) + usize::from(le16(b.words, 16)?);
    let (name, next) = string_at(b, passwords, unicode)?;
    let (domain, _) = string_at(b, next, unicode)?;
    Ok(Some(Account { name, domain }))
}

/// The account a SESSION_SETUP_ANDX without extended security names, as raw strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account<'a> {
    /// AccountName (empty for an anonymous logon).
    pub name: &'a [u8],
    /// PrimaryDomain.
    pub domain: &'a [u8],
}

/// SESSION_SETUP_ANDX response with extended security (MS-SMB 2.2.4.6.2, WordCount 4): the
/// security blob. `None` for the older form (WordCount 3).
pub fn session_setup_response<'a>(b: &Block<'a>) -> Result<Option<&'a [u8]>, SmbError> {
    if b.words.len() != 8 {
        return Ok(None);
    }
    let len = usize::from(le16(b.words, 6)?);
    Ok(Some(b.bytes.get(..len).unwrap_or(b.bytes)))
}

/// TREE_CONNECT_ANDX request (MS-CIFS 2.2.4.55.1): the share path (`\\server\IPC$`), after
/// the password of PasswordLength bytes.
pub fn tree_connect_request<'a>(b: &Block<'a>, unicode: bool) -> Result<&'a [u8], SmbError> {
    if b.words.len() < 8 {
        return Err(SmbError::Truncated);
    }
    let pw = usize::from(le16(b.words, 6)?);
    string(b, pw, unicode)
}

/// TREE_CONNECT_ANDX response (MS-CIFS 2.2.4.55.2): the Service string (`IPC` for the pipe
/// share, `A:` for a disk).
pub fn tree_connect_response<'a>(b: &Block<'a>) -> Result<&'a [u8], SmbError> {
    string(b, 0, false)
}

/// NT_CREATE_ANDX request (MS-CIFS 2.2.4.64.1, WordCount 24): the file name (`\lsarpc` on
/// IPC$), NameLength bytes after the alignment pad, without a terminating NUL.
pub fn nt_create_request<'a>(b: &Block<'a>, unicode: bool) -> Result<&'a [u8], SmbError> {
    if b.words.len() < 48 {
        return Err(SmbError::Truncated);
    }
    let len = usize::from(le16(b.words, 5)?);
    let pad = usize::from(unicode && b.bytes_at % 2 == 1);
    let raw = b.bytes.get(pad..pad + len).ok_or(SmbError::Truncated)?;
    // NameLength counts the terminator when the client sends one.
    Ok(if unicode {
        let mut r = raw.get(..raw.len() & !1).unwrap_or_default();
        while let [head @ .., 0, 0] = r {
            r = head;
        }
        r
    } else {
        let end = raw.iter().position(|&c| c == 0).unwrap_or(raw.len());
        raw.get(..end).unwrap_or_default()
    })
}

/// NT_CREATE_ANDX response (MS-CIFS 2.2.4.64.2, MS-SMB 2.2.4.9.2): the FID.
pub fn nt_create_response(b: &Block<'_>) -> Result<u16, SmbError> {
    if b.words.len() < 7 {
        return Err(SmbError::Truncated);
    }
    le16(b.words, 5)
}

/// CLOSE request (MS-CIFS 2.2.4.5.1, WordCount 3): the FID.
pub fn close_request(b: &Block<'_>) -> Result<u16, SmbError> {
    le16(b.words, 0)
}

/// What a TRANSACTION request or response carries for a named pipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trans<'a> {
    /// Setup[0]: the subcommand (requests with at least one setup word).
    pub subcommand: Option<u16>,
    /// Setup[1]: the FID of the pipe (requests with two setup words).
    pub fid: Option<u16>,
    /// The transaction's data bytes in this message.
    pub data: &'a [u8],
    /// TotalDataCount.
    pub total_data: u16,
    /// DataDisplacement: where `data` sits in the whole (0 for a request's first part).
    pub displacement: u16,
}

/// The data of a TRANSACTION message whose DataCount, DataOffset and (when `disp_at` is
/// given) DataDisplacement words sit at `count_at`, `count_at + 2` and `disp_at`;
/// TotalDataCount is always the second word.
fn trans_data<'a>(
    msg: &'a [u8],
    b: &Block<'a>,
    count_at: usize,
    disp_at: Option<usize>,
    cut: bool,
) -> Result<Trans<'a>, SmbError> {
    let count = usize::from(le16(b.words, count_at)?);
    let offset = usize::from(le16(b.words, count_at + 2)?);
    Ok(Trans {
        subcommand: None,
        fid: None,
        data: if count == 0 {
            &[]
        } else {
            data(msg, offset, count, cut)?
        },
        total_data: le16(b.words, 2)?,
        displacement: match disp_at {
            Some(at) => le16(b.words, at)?,
            None => 0,
        },
    })
}

/// TRANSACTION request (MS-CIFS 2.2.4.33.1, WordCount 14 + SetupCount).
pub fn trans_request<'a>(msg: &'a [u8], b: &Block<'a>, cut: bool) -> Result<Trans<'a>, SmbError> {
    if b.words.len() < 28 {
        return Err(SmbError::Truncated);
    }
    let setup_count = usize::from(b.words[26]);
    let setup = b
        .words
        .get(28..28 + 2 * setup_count)
        .ok_or(SmbError::Truncated)?;
    Ok(Trans {
        subcommand: le16(setup, 0).ok(),
        fid: le16(setup, 2).ok(),
        ..trans_data(msg, b, 22, None, cut)?
    })
}

/// TRANSACTION_SECONDARY request (MS-CIFS 2.2.4.34.1, WordCount 8): more of a request's data.
pub fn trans_secondary_request<'a>(
    msg: &'a [u8],
    b: &Block<'a>,
    cut: bool,
) -> Result<Trans<'a>, SmbError> {
    if b.words.len() < 16 {
        return Err(SmbError::Truncated);
    }
    trans_data(msg, b, 10, Some(14), cut)
}

/// TRANSACTION response (MS-CIFS 2.2.4.33.2, WordCount 10 + SetupCount): one part of the
/// reply's data.
pub fn trans_response<'a>(msg: &'a [u8], b: &Block<'a>, cut: bool) -> Result<Trans<'a>, SmbError> {
    if b.words.len() < 20 {
        return Err(SmbError::Truncated);
    }
    trans_data(msg, b, 12, Some(16), cut)
}

/// WRITE_ANDX request (MS-CIFS 2.2.4.43.1, WordCount 12 or 14): the FID and the data written
/// (without the 2-byte message length a raw-mode message start carries).
pub fn write_andx_request<'a>(
    msg: &'a [u8],
    b: &Block<'a>,
    cut: bool,
) -> Result<(u16, &'a [u8]), SmbError> {
    if b.words.len() < 24 {
        return Err(SmbError::Truncated);
    }
    let fid = le16(b.words, 4)?;
    let mode = le16(b.words, 14)?;
    let len = usize::from(le16(b.words, 20)?) | usize::from(le16(b.words, 18)?) << 16;
    let offset = usize::from(le16(b.words, 22)?);
    let mut d = data(msg, offset, len, cut)?;
    if mode & WRITE_RAW_MSG_START == WRITE_RAW_MSG_START {
        d = d.get(2..).unwrap_or_default();
    }
    Ok((fid, d))
}

/// READ_ANDX request (MS-CIFS 2.2.4.42.1, WordCount 10 or 12): the FID.
pub fn read_andx_request(b: &Block<'_>) -> Result<u16, SmbError> {
    if b.words.len() < 20 {
        return Err(SmbError::Truncated);
    }
    le16(b.words, 4)
}

/// READ_ANDX response (MS-CIFS 2.2.4.42.2, MS-SMB 2.2.4.2.2; WordCount 12): the data read.
pub fn read_andx_response<'a>(
    msg: &'a [u8],
    b: &Block<'a>,
    cut: bool,
) -> Result<&'a [u8], SmbError> {
    if b.words.len() < 24 {
        return Err(SmbError::Truncated);
    }
    let len = usize::from(le16(b.words, 10)?) | usize::from(le16(b.words, 14)?) << 16;
    let offset = usize::from(le16(b.words, 12)?);
    if len == 0 {
        return Ok(&[]);
    }
    data(msg, offset, len, cut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Evidence;
    use crate::proto::smb::SmbAnalyzer;
    use crate::proto::testutil::{ctx, finish, frames, hex, run_tcp, tcp_conn, values};
    use crate::proto::{Analyzer, Dir, Transport};

    // captures/lab_smb1_kerberos_ntlm_pipes.pcapng (`record.sh smb1`), each frame's TCP
    // payload (direct-TCP header included), with tshark 4.0's reading.
    /// Frame 125: SESSION_SETUP_ANDX request (WordCount 12), security blob 60 48 06 06 2b 06 01 05 05 02 ... (SPNEGO with NTLMSSP_NEGOTIATE), smbclient -L.
    const F125: &str = "0000009cff534d4273000000001843c800004253525350594c20000000003639000001000cff000000ffff02000100000000004a000000000054c000806100604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa22a04284e544c4d53535000010000001582086200000000280000000000000028000000060100000000000f0055006e00690078000000530061006d00620061000000";
    /// Frame 129: TREE_CONNECT_ANDX request, Path \\\\DC1.CERTFLOW.LAB\\IPC$ (Unicode).
    const F129: &str = "00000062ff534d4275000000001843c800001ede6733a03ce4ea0000ffff3639bf35030004ff0000000c0001003700005c005c004400430031002e00430045005200540046004c004f0057002e004c00410042005c00490050004300240000003f3f3f3f3f00";
    /// Frame 130: TREE_CONNECT_ANDX response, Service "IPC", TID 0x8f8f.
    const F130: &str = "00000038ff534d4275000000008803c80000ecd05c566674e7a900008f8f3639bf35030007ff0000002100ff010000ff010000070049504300000000";
    /// Frame 131: NT_CREATE_ANDX request, File \\srvsvc.
    const F131: &str = "00000066ff534d42a2000000001843c800001220a50a94cf85fa00008f8f3639bf35040018ff00000000100000000000000000009f01020000000000000000000000000003000000010000000000000002000000001300005c0073007200760073007600630000000000";
    /// Frame 133: NT_CREATE_ANDX response, FID 0xbca9.
    const F133: &str = "00000067ff534d42a2000000008803c80000b9aa8f88ee8938d800008f8f3639bf35040022ff00000000a9bc01000000000000000000000000000000000000000000000000000000000000000000000080000000000000000000000000000000000000000200ff05000000";
    /// Frame 134: TRANSACTION request, TransactNmPipe (0x0026) on FID 0xbca9, data: the 72-byte SRVSVC bind (call_id 1).
    const F134: &str = "0000009cff534d4225000000001843c800004529614595da946400008f8f3639bf35050010000048000000b81000000000000000000000000054004800540002002600a9bc5900005c0050004900500045005c000000000005000b03100000004800000001000000b810b810000000000100000000000100c84f324b7016d30112785a47bf6ee18803000000045d888aeb1cc9119fe808002b10486002000000";
    /// Frame 136: TRANSACTION response, data: the 68-byte bind_ack.
    const F136: &str = "0000007cff534d4225000000008803c800006d79e94c4e7b0f1400008f8f3639bf3505000a000044000000000038000000440038000000000045000005000c03100000004400000001000000b810b8109af200000d005c706970655c73727673766300000100000000000000045d888aeb1cc9119fe808002b10486002000000";
    /// Frame 168: impacket\'s TREE_CONNECT_ANDX request, Path \\\\10.77.0.10\\IPC$.
    const F168: &str = "00000044ff534d4275000000001805480000f804bf2059368b330000ffff47391a73000004ff000000000001001900005c5c31302e37372e302e31305c49504324003f3f3f3f3f00";
    /// Frame 169: its response, Service "IPC".
    const F169: &str = "0000002eff534d4275000000008807480000957c6a056af408c20000315847391a73000003ff000000010005004950430000";
    /// Frame 170: NT_CREATE_ANDX request, File \\lsarpc.
    const F170: &str = "0000005bff534d42a2000000001805480000665d1c31aaecef600000315847391a73000018ff000000000700160000000000000003000000000000000000000080000000010000000100000040000000020000000008005c6c736172706300";
    /// Frame 171: NT_CREATE_ANDX response, FID 0x4c55.
    const F171: &str = "00000087ff534d42a20000000088074800009f2a7e731cd5f65b0000315847391a7300002aff00000000554c01000000000000000000000000000000000000000000000000000000000000000000000080000000000000000000000000000000000000000200ff0500000000000000000000000000000000000000000000000000ff011f009b0112000000";
    /// Frame 172: WRITE_ANDX request on FID 0x4c55, 72 bytes: the LSARPC bind.
    const F172: &str = "00000087ff534d422f0000000018054800006ef1076341ad0a7c0000315847391a7300000eff000000554c00000000ff00000008004800000048003f0000000000480005000b03100000004800000001000000b810b810000000000100000000000100785734123412cdabef000123456789ab00000000045d888aeb1cc9119fe808002b10486002000000";
    /// Frame 174: READ_ANDX request on FID 0x4c55 (16644 bytes at offset 0).
    const F174: &str = "0000003bff534d422e0000000018054800000a3a71beb530b4dc0000315847391a7300000cff000000554c0000000004410441000000000441000000000000";
    /// Frame 175: READ_ANDX response, 68 bytes: the bind_ack.
    const F175: &str = "00000080ff534d422e000000008807480000fd13905e28823fca0000315847391a7300000cff00000000000000000044003c000000000000000000000045000005000c03100000004400000001000000b810b81052dd00000c005c706970655c6c736173730000000100000000000000045d888aeb1cc9119fe808002b10486002000000";
    /// epm_map_exchange_mapi_dcerpc.pcap frame 511: NT_CREATE_ANDX response from Windows saying WordCount 42 for its 50 words (MS-SMB 2.2.4.9.2): what sits where ByteCount should be reads 26972 (tshark: "Byte Count (BCC): 26972"), FID 0xc006.
    const X511: &str = "00000087ff534d42a2000000009807c800000000000000000000000003181001011880212aff0087000206c001000000d04995e79f5cc0017c135671fb3dc3018cebbaeff83cc3017c135671fb3dc3018000000000c001000000000000c00100000000000000070000000000610069006c0062006f0078002e0050004100420000bf011300000000005c69";

    /// The SMB message of a frame's payload (its direct-TCP header left out).
    fn msg(h: &str) -> Vec<u8> {
        hex(h)[4..].to_vec()
    }

    /// The first block of message `m`.
    fn first(m: &[u8]) -> Block<'_> {
        block(m, header(m).unwrap().command, HEADER_LEN, false).unwrap()
    }

    fn text(raw: &[u8], unicode: bool) -> String {
        let mut s = String::new();
        decode_into(raw, unicode, &mut s);
        s
    }

    #[test]
    fn bodies_read_as_tshark_reads_them() {
        let m = msg(F125);
        let h = header(&m).unwrap();
        assert_eq!(
            (h.command, h.is_response(), h.unicode()),
            (cmd::SESSION_SETUP_ANDX, false, true)
        );
        let blob = session_setup_request(&first(&m)).unwrap().unwrap();
        assert_eq!(
            blob.get(..10),
            Some(&[0x60, 0x48, 6, 6, 0x2b, 6, 1, 5, 5, 2][..])
        );
        assert_eq!(blob.len(), 74);

        let m = msg(F129);
        let b = first(&m);
        assert_eq!(
            text(tree_connect_request(&b, true).unwrap(), true),
            r"\\DC1.CERTFLOW.LAB\IPC$"
        );
        assert_eq!(b.next(), Ok(None));
        let m = msg(F130);
        assert_eq!(header(&m).unwrap().tid, 0x8f8f);
        assert_eq!(tree_connect_response(&first(&m)), Ok(&b"IPC"[..]));

        let m = msg(F131);
        assert_eq!(
            text(nt_create_request(&first(&m), true).unwrap(), true),
            r"\srvsvc"
        );
        assert_eq!(nt_create_response(&first(&msg(F133))), Ok(0xbca9));

        let m = msg(F134);
        let t = trans_request(&m, &first(&m), false).unwrap();
        assert_eq!(
            (t.subcommand, t.fid),
            (Some(TRANS_TRANSACT_NMPIPE), Some(0xbca9))
        );
        // A DCE/RPC bind (C706 12.6.3.1: version 5.0, type 11), 72 bytes.
        assert_eq!((t.data.len(), t.data.get(..3)), (72, Some(&[5, 0, 11][..])));
        let m = msg(F136);
        let t = trans_response(&m, &first(&m), false).unwrap();
        assert_eq!((t.data.len(), t.data.get(..3)), (68, Some(&[5, 0, 12][..])));
        assert_eq!((t.total_data, t.displacement), (68, 0));

        let m = msg(F172);
        let (fid, data) = write_andx_request(&m, &first(&m), false).unwrap();
        assert_eq!(
            (fid, data.len(), data.get(..3)),
            (0x4c55, 72, Some(&[5, 0, 11][..]))
        );
        assert_eq!(read_andx_request(&first(&msg(F174))), Ok(0x4c55));
        let m = msg(F175);
        let data = read_andx_response(&m, &first(&m), false).unwrap();
        assert_eq!((data.len(), data.get(..3)), (68, Some(&[5, 0, 12][..])));

        // Windows' WordCount 42: the block is read by its words, its bytes are what is there.
        let m = msg(X511);
        let b = first(&m);
        assert_eq!(
            (b.words.len(), b.bytes.len()),
            (84, m.len() - HEADER_LEN - 1 - 84 - 2)
        );
        assert_eq!(nt_create_response(&b), Ok(0xc006));
    }

    /// captures/lab_smb1_legacy_session_setup.pcapng frame 12: SESSION_SETUP_ANDX without
    /// extended security (WordCount 13), a 24-byte LM and a 68-byte NTLMv2 response, then
    /// AccountName `alice` and PrimaryDomain `CERTFLOW` (Unicode; tshark smb.account,
    /// smb.primary_domain).
    const L12: &str = "000000ceff534d4273000000001843c000004253525350594c20000000002811000001000dff000000ffff020028112a110000180044000000000054c000009100000000000000000000000000000000000000000000000000d8dadc8e69ccca41362146041facdaaa01010000000000006af60606a57cdd01a9d9433a5026eac60000000002001000430045005200540046004c004f005700000000000061006c006900630065000000430045005200540046004c004f005700000055006e00690078000000530061006d00620061000000";
    /// Frame 52: the anonymous logon of `smbclient -N` (no account, a 1-byte LM response).
    const L52: &str = "00000058ff534d4273000000001843c000004253525350594c20000000002e11000002000dff000000ffff02002e1130110000000000000000000054c000001b00000000000055006e00690078000000530061006d00620061000000";

    #[test]
    fn session_setup_without_extended_security() {
        let m = msg(L12);
        let b = first(&m);
        assert_eq!(session_setup_request(&b), Ok(None));
        let acc = session_setup_legacy(&b, true).unwrap().unwrap();
        assert_eq!(
            (text(acc.name, true), text(acc.domain, true)),
            ("alice".into(), "CERTFLOW".into())
        );
        let m = msg(L52);
        let acc = session_setup_legacy(&first(&m), true).unwrap().unwrap();
        assert!(acc.name.is_empty());
        // Through the analyzer: one user, one anonymous logon.
        let mut a = SmbAnalyzer::new(445);
        let mut sink = Evidence::default();
        for (frame, h) in [(12, L12), (52, L52)] {
            let data = hex(h);
            a.stream(
                &ctx(frame, Dir::ToServer, Transport::Tcp, 445),
                &data,
                &mut sink,
            );
        }
        let smb = finish(&mut a, sink).smb.unwrap();
        assert_eq!(
            frames(&smb.legacy_users),
            vec![("CERTFLOW\\alice".into(), 12)]
        );
        assert_eq!((smb.legacy_anonymous, smb.malformed), (1, 0));
        // The extended-security form is not read as this one.
        assert_eq!(session_setup_legacy(&first(&msg(F125)), true), Ok(None));
    }

    /// A snap length that cuts a path or a name gives no path or name, not a part of one.
    #[test]
    fn cut_names_are_not_read() {
        for h in [F129, F131] {
            let m = msg(h);
            let whole = first(&m);
            let unicode = header(&m).unwrap().unicode();
            let read = |b: &Block<'_>| match b.command {
                cmd::TREE_CONNECT_ANDX => tree_connect_request(b, unicode).map(<[u8]>::len),
                _ => nt_create_request(b, unicode).map(<[u8]>::len),
            };
            let full = read(&whole).unwrap();
            assert!(full > 10);
            for n in whole.bytes_at..m.len() {
                let b = block(&m[..n], whole.command, HEADER_LEN, true).unwrap();
                match read(&b) {
                    Ok(len) => assert_eq!(len, full, "{n}"),
                    Err(e) => assert_eq!(e, SmbError::Truncated, "{n}"),
                }
            }
        }
    }

    #[test]
    fn smb1_names_and_commands() {
        assert_eq!(
            command_name(cmd::NT_CREATE_ANDX),
            Some("smb1_nt_create_andx")
        );
        assert_eq!(command_name(0x72), Some("smb1_negotiate"));
        assert_eq!(command_name(0x15), None);
        // OEM strings (Flags2 without Unicode) are Latin-1 and end at a NUL.
        assert_eq!(text(br"\\SRV\IPC$", false), r"\\SRV\IPC$");
        assert_eq!(text(&[0x41, 0xe9], false), "A\u{e9}");
    }

    /// Every prefix of every message, and every 16-bit field set to 0 and to 0xffff: each
    /// parser gives a value or an error, never a panic, and the analyzer reads on.
    #[test]
    fn prefixes_and_corrupted_fields_never_panic() {
        let all = [
            F125, F129, F130, F131, F133, F134, F136, F168, F169, F170, F171, F172, F174, F175,
            X511, L12, L52,
        ];
        let parse_all = |m: &[u8], cut: bool| {
            let Ok(h) = header(m) else { return };
            let mut at = Some((h.command, HEADER_LEN));
            for _ in 0..8 {
                let Some((c, off)) = at else { return };
                let Ok(b) = block(m, c, off, cut) else { return };
                let _ = session_setup_request(&b);
                let _ = session_setup_response(&b);
                let _ = session_setup_legacy(&b, h.unicode());
                let _ = tree_connect_request(&b, h.unicode());
                let _ = tree_connect_response(&b);
                let _ = nt_create_request(&b, h.unicode());
                let _ = nt_create_response(&b);
                let _ = trans_request(m, &b, cut);
                let _ = trans_response(m, &b, cut);
                let _ = trans_secondary_request(m, &b, cut);
                let _ = write_andx_request(m, &b, cut);
                let _ = read_andx_request(&b);
                let _ = read_andx_response(m, &b, cut);
                let _ = negotiate_response(&b);
                let _ = close_request(&b);
                negotiate_dialects(&b);
                at = b.next().ok().flatten();
            }
        };
        for h in all {
            let m = msg(h);
            for n in 0..m.len() {
                if n < HEADER_LEN {
                    assert!(header(&m[..n]).is_err());
                }
                parse_all(&m[..n], false);
                parse_all(&m[..n], true);
            }
            for i in 0..m.len().saturating_sub(1) {
                for v in [0u8, 0xff] {
                    let mut bad = m.clone();
                    bad[i] = v;
                    bad[i + 1] = v;
                    parse_all(&bad, false);
                    let mut framed = vec![0, 0, (bad.len() >> 8) as u8, bad.len() as u8];
                    framed.extend(&bad);
                    let mut a = SmbAnalyzer::new(445);
                    let mut sink = Evidence::default();
                    for dir in [Dir::ToServer, Dir::ToClient] {
                        a.stream(&ctx(1, dir, Transport::Tcp, 445), &framed, &mut sink);
                    }
                    finish(&mut a, sink);
                }
            }
        }
    }

    /// Two pipes, one moved by TRANSACTIONs (smbclient -L: srvsvc), one by WRITE_ANDX and
    /// READ_ANDX (impacket: lsarpc), through the SMB analyzer and its DCE/RPC analyzers.
    #[test]
    fn pipes_over_transactions_and_andx_reads_and_writes() {
        let mut a = SmbAnalyzer::new(445);
        let mut sink = Evidence::default();
        for (frame, dir, h) in [
            (129, Dir::ToServer, F129),
            (130, Dir::ToClient, F130),
            (131, Dir::ToServer, F131),
            (133, Dir::ToClient, F133),
            (134, Dir::ToServer, F134),
            (136, Dir::ToClient, F136),
            (168, Dir::ToServer, F168),
            (169, Dir::ToClient, F169),
            (170, Dir::ToServer, F170),
            (171, Dir::ToClient, F171),
            (172, Dir::ToServer, F172),
            (174, Dir::ToServer, F174),
            (175, Dir::ToClient, F175),
        ] {
            let data = hex(h);
            assert_eq!(
                a.stream(&ctx(frame, dir, Transport::Tcp, 445), &data, &mut sink),
                data.len()
            );
        }
        let ev = finish(&mut a, sink);
        let smb = ev.smb.unwrap();
        assert_eq!(
            frames(&smb.pipes),
            vec![("srvsvc".into(), 131), ("lsarpc".into(), 170)]
        );
        assert_eq!(
            values(&smb.trees),
            vec![r"\\DC1.CERTFLOW.LAB\IPC$", r"\\10.77.0.10\IPC$"]
        );
        assert_eq!(smb.malformed, 0);
        assert_eq!(smb.commands.get("smb1_transaction"), 1);
        assert_eq!(smb.commands.get("smb1_write_andx"), 1);
        assert_eq!(smb.commands.get("smb1"), 13);
        let rpc = ev.dcerpc.unwrap();
        assert_eq!(rpc.pdu_types.get("bind"), 2);
        assert_eq!(rpc.pdu_types.get("bind_ack"), 2);
        let mut names: Vec<String> = rpc.interfaces.values().map(|i| i.name.clone()).collect();
        names.sort();
        assert_eq!(names, ["LSARPC", "SRVSVC"]);
    }

    /// Seeded mutations of every SMB1 message here, alone and as one stream in capture order
    /// (so that a mutated message meets the state the earlier ones left: trees, pipes, pending
    /// requests), through the SMB analyzer with its DCE/RPC pipes.
    #[test]
    fn mutated_smb1_never_panics() {
        let all = [
            F125, F129, F130, F131, F133, F134, F136, F168, F169, F170, F171, F172, F174, F175,
            X511, L12, L52,
        ];
        let mut samples: Vec<Vec<u8>> = all.iter().map(|h| hex(h)).collect();
        samples.push(samples.iter().flatten().copied().collect());
        crate::proto::testutil::mutate_and_feed(
            |_t, port| Box::new(SmbAnalyzer::new(port)),
            &samples,
            3000,
        );
    }

    /// A session that opens, uses and closes pipe after pipe (impacket's open of frames 170/171
    /// and its bind of 172 with a new FID each time, then an SMB1 CLOSE built on frame 174's
    /// header): every CLOSE hands the pipe's DCE/RPC tallies over and forgets it, so 100 pipes
    /// in turn are all read and none hits `state::MAX_PIPES`.
    #[test]
    fn closed_pipes_make_room() {
        let mut a = SmbAnalyzer::new(445);
        let mut sink = Evidence::default();
        let mut feed = |frame: u64, dir: Dir, data: &[u8], sink: &mut Evidence| {
            assert_eq!(
                a.stream(&ctx(frame, dir, Transport::Tcp, 445), data, sink),
                data.len()
            );
        };
        feed(168, Dir::ToServer, &hex(F168), &mut sink);
        feed(169, Dir::ToClient, &hex(F169), &mut sink);
        for fid in 1..=100u16 {
            let mut created = hex(F171);
            created[4 + 33 + 5..4 + 33 + 7].copy_from_slice(&fid.to_le_bytes());
            let mut write = hex(F172);
            write[4 + 33 + 4..4 + 33 + 6].copy_from_slice(&fid.to_le_bytes());
            let mut close = hex(F174)[..4 + HEADER_LEN].to_vec();
            close[3] = (HEADER_LEN + 9) as u8;
            close[4 + 4] = cmd::CLOSE;
            close.push(3);
            close.extend(fid.to_le_bytes());
            close.extend([0xff; 4]);
            close.extend([0, 0]);
            feed(170, Dir::ToServer, &hex(F170), &mut sink);
            feed(171, Dir::ToClient, &created, &mut sink);
            feed(172, Dir::ToServer, &write, &mut sink);
            feed(173, Dir::ToServer, &close, &mut sink);
        }
        let ev = finish(&mut a, sink);
        let smb = ev.smb.unwrap();
        assert_eq!((smb.malformed, smb.commands.get("smb1_close")), (0, 100));
        assert_eq!(ev.dcerpc.unwrap().pdu_types.get("bind"), 100);
    }

    /// A pipe reply longer than the client's MaxDataCount: the TRANSACTION response carries its
    /// first part with STATUS_BUFFER_OVERFLOW and the client reads the rest with READ_ANDX
    /// (MS-CIFS 3.3.5.10, 3.2.4.38). Built from frame 136's bind_ack cut after 40 bytes, and
    /// frames 174/175 carrying its last 28 bytes on the same FID: the DCE/RPC analyzer reads
    /// one whole bind_ack.
    #[test]
    fn pipe_reply_continued_by_read_andx() {
        let le16_at = |m: &mut Vec<u8>, at: usize, v: u16| {
            m[at..at + 2].copy_from_slice(&v.to_le_bytes());
        };
        // The words of both responses start at 4 + 33 in the framed message.
        let w = 4 + 33;
        let reply = hex(F136);
        let m = msg(F136);
        let whole = trans_response(&m, &first(&m), false).unwrap().data.to_vec();
        let data_at = 4 + usize::from(u16::from_le_bytes([reply[w + 14], reply[w + 15]]));
        let mut part = reply[..data_at + 40].to_vec();
        part[4 + 5..4 + 9].copy_from_slice(&0x8000_0005u32.to_le_bytes());
        le16_at(&mut part, w + 2, 40);
        le16_at(&mut part, w + 12, 40);
        let bc = u16::from_le_bytes([part[w + 20], part[w + 21]]) - 28;
        le16_at(&mut part, w + 20, bc);
        part[3] = (part.len() - 4) as u8;
        let mut read = hex(F174);
        le16_at(&mut read, w + 4, 0xbca9);
        let rest_at = 4 + usize::from(u16::from_le_bytes([hex(F175)[w + 12], hex(F175)[w + 13]]));
        let mut rest = hex(F175)[..rest_at].to_vec();
        rest.extend(&whole[40..]);
        le16_at(&mut rest, w + 10, 28);
        let bc = (rest.len() - (w + 24 + 2)) as u16;
        le16_at(&mut rest, w + 24, bc);
        rest[3] = (rest.len() - 4) as u8;

        let mut a = SmbAnalyzer::new(445);
        let mut sink = Evidence::default();
        for (frame, dir, data) in [
            (129, Dir::ToServer, hex(F129)),
            (130, Dir::ToClient, hex(F130)),
            (131, Dir::ToServer, hex(F131)),
            (133, Dir::ToClient, hex(F133)),
            (134, Dir::ToServer, hex(F134)),
            (136, Dir::ToClient, part),
            (174, Dir::ToServer, read),
            (175, Dir::ToClient, rest),
        ] {
            assert_eq!(
                a.stream(&ctx(frame, dir, Transport::Tcp, 445), &data, &mut sink),
                data.len()
            );
        }
        let ev = finish(&mut a, sink);
        let smb = ev.smb.unwrap();
        assert_eq!(smb.malformed, 0);
        assert_eq!(smb.statuses.get("0x80000005"), 1);
        assert_eq!(smb.pipe_bytes, 72 + 68);
        let rpc = ev.dcerpc.unwrap();
        assert_eq!(rpc.pdu_types.get("bind_ack"), 1);
        assert_eq!(rpc.malformed, 0);
    }

    /// epm_map_exchange_mapi_dcerpc.pcap, TCP 4597 -> 139 (NetBIOS session service), captured
    /// after its tree connect: tshark reads a TRANSACTION on FID 0xa00c whose NT_CREATE_ANDX
    /// came before the capture (420: a request, ctx 0, opnum 2, no bind), then three
    /// `\lsarpc` opens (422, 436, 453) each with a bind and LSARPC calls in TRANSACTIONs
    /// (lsa_OpenPolicy2 426, lsa_QueryInfoPolicy 428, lsa_Close 432, lsa_LookupSids 447).
    #[test]
    fn exchange_lsarpc_over_netbios() {
        let Some(c) = tcp_conn("epm_map_exchange_mapi_dcerpc.pcap", 4597, 139) else {
            return;
        };
        let mut a = SmbAnalyzer::new(139);
        let ev = run_tcp(&mut a, &c, 139);
        let smb = ev.smb.unwrap();
        assert_eq!(frames(&smb.pipes), vec![("lsarpc".into(), 422)]);
        assert_eq!(smb.malformed, 0);
        let rpc = ev.dcerpc.unwrap();
        let lsa = rpc
            .interfaces
            .values()
            .find(|i| i.name == "LSARPC")
            .unwrap();
        let ops: Vec<(u16, u64)> = lsa
            .opnums
            .values()
            .map(|o| (o.opnum, o.frame.frame))
            .collect();
        assert_eq!(ops, vec![(0, 432), (7, 428), (15, 447), (44, 426)]);
        assert_eq!(rpc.unbound_requests.get("ctx 0 opnum 2"), 2);
    }
}
