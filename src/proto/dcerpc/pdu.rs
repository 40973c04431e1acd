//! Connection-oriented DCE/RPC PDUs: pure parsing of one fragment, no state.
//!
//! C706 chapter 12.6 ("Connection-oriented PDU data types") and MS-RPCE 2.2.2 (extensions).
//! Common header (C706 12.6.3.1), 16 bytes:
//!
//! ```text
//!  0 rpc_vers u8 (=5)   1 rpc_vers_minor u8 (0|1)   2 PTYPE u8   3 pfc_flags u8
//!  4 packed_drep[4]     8 frag_length u16           10 auth_length u16
//! 12 call_id u32
//! ```
//!
//! Every integer after `packed_drep` is in the byte order named by `drep[0] & 0x10` (1 =
//! little-endian). UUIDs travel as GUIDs (first three fields in that byte order). The optional
//! auth trailer (`sec_trailer`, C706 13.2.6.1, MS-RPCE 2.2.2.11) is the last `8 + auth_length`
//! bytes of the fragment.

use std::borrow::Cow;
use std::fmt;

use serde::{Serialize, Serializer};

/// Size of the common header (C706 12.6.3.1).
pub const HEADER_LEN: usize = 16;
/// Size of the auth trailer before `auth_value` (MS-RPCE 2.2.2.11).
pub const SEC_TRAILER_LEN: usize = 8;
/// Largest fragment accepted. `frag_length` is a u16, so 65535 is also the protocol's own
/// limit; Windows negotiates 5840 (`max_xmit_frag`). Named so the bound is explicit.
pub const MAX_FRAG_LEN: usize = u16::MAX as usize;

/// pfc_flags bit: first fragment (C706 12.6.3.1).
pub const PFC_FIRST_FRAG: u8 = 0x01;
/// pfc_flags bit: last fragment.
pub const PFC_LAST_FRAG: u8 = 0x02;
/// pfc_flags bit: an object UUID follows the request header.
pub const PFC_OBJECT_UUID: u8 = 0x80;

/// Why a PDU could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// More bytes are needed (at least this many in total).
    Incomplete(usize),
    /// The bytes are not a valid PDU; the text names the field.
    Malformed(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Incomplete(n) => write!(f, "incomplete, need {n} bytes"),
            Error::Malformed(w) => write!(f, "malformed {w}"),
        }
    }
}

/// A UUID in its canonical (printed) byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Uuid(pub [u8; 16]);

/// Ordered as the bytes are (lexicographically), compared as one big-endian integer: the same
/// order as comparing the byte arrays, without a `memcmp` call per comparison (UUIDs key the
/// interface tables looked up on every request).
impl Ord for Uuid {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        u128::from_be_bytes(self.0).cmp(&u128::from_be_bytes(other.0))
    }
}

impl PartialOrd for Uuid {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Uuid {
    /// The nil UUID.
    pub const NIL: Uuid = Uuid([0; 16]);

    /// Reads a GUID as sent on the wire: `Data1` u32, `Data2` u16, `Data3` u16 in the given byte
    /// order, then 8 bytes as is (MS-DTYP 2.3.4.2, C706 appendix A).
    pub fn from_guid(b: &[u8; 16], little_endian: bool) -> Uuid {
        let mut o = *b;
        if little_endian {
            o[0..4].reverse();
            o[4..6].reverse();
            o[6..8].reverse();
        }
        Uuid(o)
    }

    /// Parses the canonical text form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (any case).
    pub fn parse(s: &str) -> Option<Uuid> {
        /// Where each byte's two hex digits start in the text form.
        const AT: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
        let b: &[u8; 36] = s.trim().as_bytes().try_into().ok()?;
        if [8, 13, 18, 23].iter().any(|&i| b.get(i) != Some(&b'-')) {
            return None;
        }
        let hex = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        };
        let mut out = [0u8; 16];
        for (o, &i) in out.iter_mut().zip(AT.iter()) {
            *o = (hex(*b.get(i)?)? << 4) | hex(*b.get(i + 1)?)?;
        }
        Some(Uuid(out))
    }

    /// True if the first `n` bytes equal those of `other` (used for UUID families such as the
    /// bind-time feature negotiation syntax, which varies in its last bytes).
    pub fn starts_like(&self, other: &Uuid, n: usize) -> bool {
        self.0
            .iter()
            .zip(other.0.iter())
            .take(n)
            .all(|(a, b)| a == b)
    }
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in lowercase hex, written in one piece.
impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [b'-'; 36];
        let mut n = 0;
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                n += 1;
            }
            if let Some(pair) = out.get_mut(n..n + 2) {
                pair[0] = HEX[usize::from(b >> 4)];
                pair[1] = HEX[usize::from(b & 0xf)];
            }
            n += 2;
        }
        // Only ASCII hex digits and dashes were written.
        f.write_str(std::str::from_utf8(&out).unwrap_or_default())
    }
}

impl Serialize for Uuid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// NDR transfer syntax 8a885d04-1ceb-11c9-9fe8-08002b104860 version 2 (C706 14).
pub const NDR: Uuid = Uuid([
    0x8a, 0x88, 0x5d, 0x04, 0x1c, 0xeb, 0x11, 0xc9, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60,
]);
/// NDR64 transfer syntax 71710533-beba-4937-8319-b5dbef9ccc36 (MS-RPCE 2.2.5).
pub const NDR64: Uuid = Uuid([
    0x71, 0x71, 0x05, 0x33, 0xbe, 0xba, 0x49, 0x37, 0x83, 0x19, 0xb5, 0xdb, 0xef, 0x9c, 0xcc, 0x36,
]);
/// Bind-time feature negotiation syntax 6cb71c2c-9812-4540-xxxx-xxxxxxxxxxxx: the first 8 bytes
/// are fixed, the rest carries the feature bitmask (MS-RPCE 3.3.1.5.3).
pub const BIND_TIME_FEATURE_PREFIX: Uuid = Uuid([
    0x6c, 0xb7, 0x1c, 0x2c, 0x98, 0x12, 0x45, 0x40, 0, 0, 0, 0, 0, 0, 0, 0,
]);

/// Short name of a transfer syntax: "ndr", "ndr64", "bind_time_feature_negotiation", or the
/// UUID itself (no allocation for the named syntaxes).
pub fn transfer_syntax_str(u: &Uuid) -> Cow<'static, str> {
    if *u == NDR {
        Cow::Borrowed("ndr")
    } else if *u == NDR64 {
        Cow::Borrowed("ndr64")
    } else if u.starts_like(&BIND_TIME_FEATURE_PREFIX, 8) {
        Cow::Borrowed("bind_time_feature_negotiation")
    } else {
        Cow::Owned(u.to_string())
    }
}

/// PDU type (C706 12.6.4 `PTYPE`), unknown values kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PType(pub u8);

impl PType {
    /// request (0).
    pub const REQUEST: PType = PType(0);
    /// response (2).
    pub const RESPONSE: PType = PType(2);
    /// fault (3).
    pub const FAULT: PType = PType(3);
    /// bind (11).
    pub const BIND: PType = PType(11);
    /// bind_ack (12).
    pub const BIND_ACK: PType = PType(12);
    /// bind_nak (13).
    pub const BIND_NAK: PType = PType(13);
    /// alter_context (14).
    pub const ALTER_CONTEXT: PType = PType(14);
    /// alter_context_resp (15).
    pub const ALTER_CONTEXT_RESP: PType = PType(15);
    /// auth3 (16, MS-RPCE 2.2.2.10).
    pub const AUTH3: PType = PType(16);
    /// shutdown (17).
    pub const SHUTDOWN: PType = PType(17);
    /// co_cancel (18).
    pub const CO_CANCEL: PType = PType(18);
    /// orphaned (19).
    pub const ORPHANED: PType = PType(19);

    /// True for the types a connection-oriented PDU may carry (C706 12.6.4: 0, 2, 3, 11-19).
    pub fn is_connection_oriented(self) -> bool {
        matches!(self.0, 0 | 2 | 3 | 11..=19)
    }

    /// The C706 name, or "ptype_N" (no allocation for known types).
    pub fn name(self) -> Cow<'static, str> {
        Cow::Borrowed(match self.0 {
            0 => "request",
            2 => "response",
            3 => "fault",
            11 => "bind",
            12 => "bind_ack",
            13 => "bind_nak",
            14 => "alter_context",
            15 => "alter_context_resp",
            16 => "auth3",
            17 => "shutdown",
            18 => "co_cancel",
            19 => "orphaned",
            n => return Cow::Owned(format!("ptype_{n}")),
        })
    }
}

/// Authentication service (`auth_type`, MS-RPCE 2.2.1.1.7), unknown values kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AuthType(pub u8);

impl AuthType {
    /// RPC_C_AUTHN_GSS_NEGOTIATE: SPNEGO (MS-RPCE 2.2.1.1.7).
    pub const NEGOTIATE: AuthType = AuthType(9);
    /// RPC_C_AUTHN_WINNT: NTLM messages, bare (MS-RPCE 2.2.1.1.7).
    pub const NTLM: AuthType = AuthType(10);
    /// RPC_C_AUTHN_GSS_KERBEROS: Kerberos GSS-API tokens.
    pub const KERBEROS: AuthType = AuthType(16);

    /// The MS-RPCE name, or "auth_type_N" (no allocation for known types).
    pub fn name(self) -> Cow<'static, str> {
        Cow::Borrowed(match self.0 {
            0 => "none",
            9 => "negotiate",
            10 => "ntlm",
            14 => "schannel",
            16 => "kerberos",
            0x44 => "netlogon",
            0xff => "default",
            n => return Cow::Owned(format!("auth_type_{n}")),
        })
    }
}

/// Authentication level (`auth_level`, MS-RPCE 2.2.1.1.8), ordered weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AuthLevel(pub u8);

impl AuthLevel {
    /// RPC_C_AUTHN_LEVEL_PKT_PRIVACY: the stub is encrypted.
    pub const PRIVACY: AuthLevel = AuthLevel(6);

    /// "none", "connect", "call", "packet", "integrity", "privacy" (MS-RPCE 2.2.1.1.8; 0 is
    /// "default"), or "level_N".
    pub fn name(self) -> String {
        match self.0 {
            0 => "default".into(),
            1 => "none".into(),
            2 => "connect".into(),
            3 => "call".into(),
            4 => "packet".into(),
            5 => "integrity".into(),
            6 => "privacy".into(),
            n => format!("level_{n}"),
        }
    }
}

/// The common header of every connection-oriented PDU (C706 12.6.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// rpc_vers_minor (0 or 1).
    pub minor: u8,
    /// PDU type.
    pub ptype: PType,
    /// pfc_flags.
    pub flags: u8,
    /// packed_drep.
    pub drep: [u8; 4],
    /// Length of the whole fragment, header included.
    pub frag_len: u16,
    /// Length of auth_value in the trailer.
    pub auth_len: u16,
    /// call_id.
    pub call_id: u32,
}

impl Header {
    /// True if integers are little-endian (`drep[0] & 0x10`).
    pub fn little_endian(&self) -> bool {
        self.drep[0] & 0x10 != 0
    }
    /// True if this fragment is the first of its call.
    pub fn first_frag(&self) -> bool {
        self.flags & PFC_FIRST_FRAG != 0
    }
    /// True if this fragment is the last of its call.
    pub fn last_frag(&self) -> bool {
        self.flags & PFC_LAST_FRAG != 0
    }
}

/// Reads and checks the common header at the start of `data`. `Incomplete` when fewer than 16
/// bytes are there; `Malformed` when the bytes cannot be a connection-oriented PDU (version,
/// type, data representation, lengths).
pub fn parse_header(data: &[u8]) -> Result<Header, Error> {
    let b: &[u8; HEADER_LEN] = data
        .get(..HEADER_LEN)
        .and_then(|s| s.try_into().ok())
        .ok_or(Error::Incomplete(HEADER_LEN))?;
    if b[0] != 5 {
        return Err(Error::Malformed("rpc_vers"));
    }
    if b[1] > 1 {
        return Err(Error::Malformed("rpc_vers_minor"));
    }
    let ptype = PType(b[2]);
    if !ptype.is_connection_oriented() {
        return Err(Error::Malformed("ptype"));
    }
    let drep = [b[4], b[5], b[6], b[7]];
    // drep[0]: integer rep in the high nibble (0 big, 1 little), char rep in the low (0 ASCII,
    // 1 EBCDIC); drep[1]: float rep 0..3; drep[2..4] reserved, zero (C706 14.1).
    if drep[0] & 0xee != 0 || drep[1] > 3 || drep[2] != 0 || drep[3] != 0 {
        return Err(Error::Malformed("drep"));
    }
    // Read little-endian (as nearly every peer sends), swapped once for a big-endian PDU.
    let mut frag_len = u16::from_le_bytes([b[8], b[9]]);
    let mut auth_len = u16::from_le_bytes([b[10], b[11]]);
    let mut call_id = u32::from_le_bytes([b[12], b[13], b[14], b[15]]);
    if drep[0] & 0x10 == 0 {
        frag_len = frag_len.swap_bytes();
        auth_len = auth_len.swap_bytes();
        call_id = call_id.swap_bytes();
    }
    if (frag_len as usize) < HEADER_LEN || frag_len as usize > MAX_FRAG_LEN {
        return Err(Error::Malformed("frag_length"));
    }
    if auth_len > 0 && HEADER_LEN + SEC_TRAILER_LEN + auth_len as usize > frag_len as usize {
        return Err(Error::Malformed("auth_length"));
    }
    Ok(Header {
        minor: b[1],
        ptype,
        flags: b[3],
        drep,
        frag_len,
        auth_len,
        call_id,
    })
}

/// A bounds-checked reader over one PDU or stub, in the PDU's byte order. Every read returns
/// `Malformed(what)` instead of reading past the end.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    le: bool,
}

impl<'a> Reader<'a> {
    /// A reader at offset 0 of `buf`.
    pub fn new(buf: &'a [u8], little_endian: bool) -> Self {
        Reader {
            buf,
            pos: 0,
            le: little_endian,
        }
    }
    /// Current offset.
    pub fn pos(&self) -> usize {
        self.pos
    }
    /// Moves to an absolute offset (not past the end).
    pub fn seek(&mut self, pos: usize, what: &'static str) -> Result<(), Error> {
        if pos > self.buf.len() {
            return Err(Error::Malformed(what));
        }
        self.pos = pos;
        Ok(())
    }
    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }
    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], Error> {
        let end = self.pos.checked_add(n).ok_or(Error::Malformed(what))?;
        let s = self.buf.get(self.pos..end).ok_or(Error::Malformed(what))?;
        self.pos = end;
        Ok(s)
    }
    /// Skips `n` bytes.
    pub fn skip(&mut self, n: usize, what: &'static str) -> Result<(), Error> {
        self.bytes(n, what).map(|_| ())
    }
    /// Aligns the offset to a multiple of `n` (NDR alignment, C706 14.2.2), relative to the
    /// start of the buffer.
    pub fn align(&mut self, n: usize, what: &'static str) -> Result<(), Error> {
        let r = self.pos % n;
        if r != 0 {
            self.skip(n - r, what)?;
        }
        Ok(())
    }
    /// One byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, Error> {
        Ok(self.bytes(1, what)?.first().copied().unwrap_or(0))
    }
    /// A u16 in the reader's byte order.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, Error> {
        let b: [u8; 2] = self
            .bytes(2, what)?
            .try_into()
            .map_err(|_| Error::Malformed(what))?;
        Ok(if self.le {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }
    /// A u32 in the reader's byte order.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, Error> {
        let b: [u8; 4] = self
            .bytes(4, what)?
            .try_into()
            .map_err(|_| Error::Malformed(what))?;
        Ok(if self.le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }
    /// A u64 in the reader's byte order.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, Error> {
        let b: [u8; 8] = self
            .bytes(8, what)?
            .try_into()
            .map_err(|_| Error::Malformed(what))?;
        Ok(if self.le {
            u64::from_le_bytes(b)
        } else {
            u64::from_be_bytes(b)
        })
    }
    /// An NDR pointer referent id: u32 in NDR, u64 aligned to 8 in NDR64 (MS-RPCE 2.2.5.3.3).
    pub fn ndr_ptr(&mut self, ndr64: bool, what: &'static str) -> Result<u64, Error> {
        if ndr64 {
            self.align(8, what)?;
            self.u64(what)
        } else {
            self.u32(what).map(u64::from)
        }
    }
    /// An NDR conformance/variance count: u32 in NDR, u64 aligned to 8 in NDR64 (MS-RPCE
    /// 2.2.5.3.4). Values that do not fit a usize saturate (callers cap them).
    pub fn ndr_count(&mut self, ndr64: bool, what: &'static str) -> Result<usize, Error> {
        let v = self.ndr_ptr(ndr64, what)?;
        Ok(usize::try_from(v).unwrap_or(usize::MAX))
    }
    /// A GUID in the reader's byte order.
    pub fn uuid(&mut self, what: &'static str) -> Result<Uuid, Error> {
        let b: [u8; 16] = self
            .bytes(16, what)?
            .try_into()
            .map_err(|_| Error::Malformed(what))?;
        Ok(Uuid::from_guid(&b, self.le))
    }
}

/// An interface or transfer syntax identifier: UUID and version (C706 12.6.3.1 `p_syntax_id_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SyntaxId {
    /// The UUID.
    pub uuid: Uuid,
    /// Major version.
    pub major: u16,
    /// Minor version.
    pub minor: u16,
}

impl SyntaxId {
    /// "major.minor", written digit by digit (one allocation, no formatting machinery: every
    /// bound interface makes one).
    pub fn version(&self) -> String {
        let mut s = String::with_capacity(11);
        push_decimal(&mut s, self.major);
        s.push('.');
        push_decimal(&mut s, self.minor);
        s
    }
}

/// Appends `n` in decimal, as `{}` formats it.
pub(super) fn push_decimal(s: &mut String, n: u16) {
    let mut digits = [0u8; 5];
    let mut k = digits.len();
    let mut v = n;
    loop {
        k -= 1;
        if let Some(d) = digits.get_mut(k) {
            *d = b'0' + (v % 10) as u8;
        }
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for &d in digits.get(k..).unwrap_or_default() {
        s.push(char::from(d));
    }
}

/// One presentation context of a bind or alter_context (C706 12.6.3.1 `p_cont_elem_t`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresContext {
    /// p_cont_id.
    pub ctx_id: u16,
    /// The interface (abstract syntax).
    pub interface: SyntaxId,
    /// The offered transfer syntaxes (the version is a u32 on the wire; kept in `major`/`minor`
    /// as its low and high halves).
    pub transfer: Vec<SyntaxId>,
}

/// One result of a bind_ack / alter_context_resp (C706 12.6.3.1 `p_result_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CtxResult {
    /// 0 acceptance, 1 user_rejection, 2 provider_rejection, 3 negotiate_ack (MS-RPCE 2.2.2.4).
    pub result: u16,
    /// The reason (provider reason, or the bind-time feature bits for negotiate_ack).
    pub reason: u16,
    /// The accepted transfer syntax.
    pub transfer: SyntaxId,
}

/// Name of a `p_cont_def_result_t` value (C706 12.6.3.1, MS-RPCE 2.2.2.4).
pub fn ctx_result_name(r: u16) -> String {
    match r {
        0 => "acceptance".into(),
        1 => "user_rejection".into(),
        2 => "provider_rejection".into(),
        3 => "negotiate_ack".into(),
        n => format!("result_{n}"),
    }
}

/// Name of a `p_provider_reason_t` value (C706 12.6.3.1; MS-RPCE 2.2.2.5 adds 4 and 5).
pub fn provider_reason_name(r: u16) -> String {
    match r {
        0 => "reason_not_specified".into(),
        1 => "abstract_syntax_not_supported".into(),
        2 => "proposed_transfer_syntaxes_not_supported".into(),
        3 => "local_limit_exceeded".into(),
        n => format!("reason_{n}"),
    }
}

/// Name of a bind_nak `p_reject_reason_t` (C706 12.6.3.1; MS-RPCE 2.2.2.5 adds 8 and 9).
pub fn reject_reason_name(r: u16) -> String {
    match r {
        0 => "reason_not_specified".into(),
        1 => "temporary_congestion".into(),
        2 => "local_limit_exceeded".into(),
        3 => "called_paddr_unknown".into(),
        4 => "protocol_version_not_supported".into(),
        5 => "default_context_not_supported".into(),
        6 => "user_data_not_readable".into(),
        7 => "no_psap_available".into(),
        8 => "authentication_type_not_recognized".into(),
        9 => "invalid_checksum".into(),
        n => format!("reason_{n}"),
    }
}

/// Name of a fault status (C706 appendix E `nca_s_*`, MS-RPCE 2.2.2.9, Win32 codes that Windows
/// puts in faults), or "unknown".
pub fn fault_name(status: u32) -> &'static str {
    match status {
        0x0000_0005 => "access_denied",
        0x0000_06f7 => "nca_s_fault_ndr",
        0x1c01_0001 => "nca_s_comm_failure",
        0x1c01_0002 => "nca_s_op_rng_error",
        0x1c01_0003 => "nca_s_unk_if",
        0x1c01_0006 => "nca_s_wrong_boot_time",
        0x1c01_0009 => "nca_s_you_crashed",
        0x1c01_000b => "nca_s_proto_error",
        0x1c01_0013 => "nca_s_out_args_too_big",
        0x1c01_0014 => "nca_s_server_too_busy",
        0x1c01_0017 => "nca_s_unsupported_type",
        0x1c00_0001 => "nca_s_fault_int_div_by_zero",
        0x1c00_0002 => "nca_s_fault_addr_error",
        _ => "unknown",
    }
}

/// The auth trailer (`sec_trailer`, MS-RPCE 2.2.2.11), without `auth_value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthInfo {
    /// auth_type.
    pub auth_type: AuthType,
    /// auth_level.
    pub level: AuthLevel,
    /// auth_pad_length: padding bytes before the trailer (stub alignment).
    pub pad_len: u8,
    /// auth_context_id.
    pub context_id: u32,
}

/// The type-specific body of a PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body<'a> {
    /// request (C706 12.6.4.9).
    Request {
        /// alloc_hint: the size of the whole stub of the call.
        alloc_hint: u32,
        /// p_cont_id.
        ctx_id: u16,
        /// opnum.
        opnum: u16,
        /// object UUID when PFC_OBJECT_UUID is set.
        object: Option<Uuid>,
        /// This fragment's stub bytes (auth padding removed).
        stub: &'a [u8],
    },
    /// response (C706 12.6.4.10).
    Response {
        /// alloc_hint.
        alloc_hint: u32,
        /// p_cont_id.
        ctx_id: u16,
        /// This fragment's stub bytes (auth padding removed).
        stub: &'a [u8],
    },
    /// fault (C706 12.6.4.7).
    Fault {
        /// p_cont_id.
        ctx_id: u16,
        /// The status code.
        status: u32,
    },
    /// bind (11) or alter_context (14) (C706 12.6.4.3, 12.6.4.1).
    Bind {
        /// max_xmit_frag.
        max_xmit: u16,
        /// max_recv_frag.
        max_recv: u16,
        /// assoc_group_id.
        assoc_group: u32,
        /// Every presentation context offered.
        contexts: Vec<PresContext>,
    },
    /// bind_ack (12) or alter_context_resp (15) (C706 12.6.4.4, 12.6.4.2).
    BindAck {
        /// max_xmit_frag.
        max_xmit: u16,
        /// max_recv_frag.
        max_recv: u16,
        /// assoc_group_id.
        assoc_group: u32,
        /// Secondary address: the server port as text, or a pipe name; empty if none.
        sec_addr: String,
        /// One result per context of the bind, in the same order.
        results: Vec<CtxResult>,
    },
    /// bind_nak (C706 12.6.4.5).
    BindNak {
        /// provider_reject_reason.
        reason: u16,
    },
    /// auth3, shutdown, co_cancel, orphaned: nothing certflow reads.
    Other,
}

/// One parsed fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdu<'a> {
    /// The common header.
    pub header: Header,
    /// The type-specific body.
    pub body: Body<'a>,
    /// The auth trailer, when auth_length > 0.
    pub auth: Option<AuthInfo>,
}

/// Most presentation contexts or results kept per bind. `n_context_elem` is a u8 (at most 255);
/// each element is at least 44 bytes, so this also bounds the Vec by the fragment length.
pub const MAX_CONTEXTS: usize = 255;
/// Longest secondary address kept (a decimal port or `\PIPE\name`; Windows pipe names are
/// short, 256 is the NTFS name limit).
pub const MAX_SEC_ADDR_LEN: usize = 256;

/// Parses one whole fragment. `buf` must hold at least `frag_length` bytes (extra bytes are
/// ignored). Never panics; errors name the field that was wrong.
pub fn parse_pdu(buf: &[u8]) -> Result<Pdu<'_>, Error> {
    parse_pdu_with(parse_header(buf)?, buf)
}

/// [`parse_pdu`] for a caller that already holds `header`, the result of [`parse_header`] on
/// the same `buf` (the stream framing reads it to find the fragment length).
pub fn parse_pdu_with(header: Header, buf: &[u8]) -> Result<Pdu<'_>, Error> {
    let f = fragment(header, buf)?;
    Ok(Pdu {
        header,
        body: f.body()?,
        auth: f.auth,
    })
}

/// A request body (C706 12.6.4.9), read in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    /// alloc_hint: the size of the whole stub of the call.
    pub alloc_hint: u32,
    /// p_cont_id.
    pub ctx_id: u16,
    /// opnum.
    pub opnum: u16,
    /// object UUID when PFC_OBJECT_UUID is set.
    pub object: Option<Uuid>,
    /// This fragment's stub bytes (auth padding removed).
    pub stub: &'a [u8],
}

/// A response body (C706 12.6.4.10), read in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response<'a> {
    /// alloc_hint.
    pub alloc_hint: u32,
    /// p_cont_id.
    pub ctx_id: u16,
    /// This fragment's stub bytes (auth padding removed).
    pub stub: &'a [u8],
}

/// One whole fragment split into header, auth trailer and body bytes, the type-specific body
/// not read yet: the zero-copy view behind [`parse_pdu_with`]. The stream analyzer reads
/// requests and responses (most PDUs of a connection) through [`Fragment::request`] and
/// [`Fragment::response`], which neither allocate nor build a [`Body`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment<'a> {
    /// The common header.
    pub header: Header,
    /// The auth trailer, when auth_length > 0.
    pub auth: Option<AuthInfo>,
    /// The fragment up to the auth trailer, common header included.
    body: &'a [u8],
    /// The trailer's `auth_value` (MS-RPCE 2.2.2.11): the security provider's token, e.g. a
    /// GSS-API token for auth types 9 and 16; empty without a trailer.
    pub auth_value: &'a [u8],
}

/// Cuts one whole fragment into its parts (`header` as in [`parse_pdu_with`]): checks that
/// `buf` holds `frag_length` bytes and reads the auth trailer, the last `8 + auth_length`
/// bytes (MS-RPCE 2.2.2.11).
pub fn fragment(header: Header, buf: &[u8]) -> Result<Fragment<'_>, Error> {
    let frag = header.frag_len as usize;
    let pdu = buf.get(..frag).ok_or(Error::Incomplete(frag))?;
    let le = header.little_endian();
    let (auth, body_end, auth_value) = if header.auth_len > 0 {
        // auth_type u8, auth_level u8, auth_pad_length u8, reserved u8, auth_context_id u32.
        let t = frag - header.auth_len as usize - SEC_TRAILER_LEN;
        let trailer: &[u8; SEC_TRAILER_LEN] = pdu
            .get(t..t + SEC_TRAILER_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or(Error::Malformed("sec_trailer"))?;
        let [auth_type, level, pad_len, _reserved, c0, c1, c2, c3] = *trailer;
        let context_id = if le {
            u32::from_le_bytes([c0, c1, c2, c3])
        } else {
            u32::from_be_bytes([c0, c1, c2, c3])
        };
        let (auth_type, level) = (AuthType(auth_type), AuthLevel(level));
        (
            Some(AuthInfo {
                auth_type,
                level,
                pad_len,
                context_id,
            }),
            t,
            pdu.get(t + SEC_TRAILER_LEN..).unwrap_or_default(),
        )
    } else {
        (None, frag, &[][..])
    };
    let body = pdu.get(..body_end).ok_or(Error::Malformed("auth_length"))?;
    Ok(Fragment {
        header,
        auth,
        body,
        auth_value,
    })
}

/// The first bytes of a fragment a snap length cut (`head` is shorter than `frag_length`): a
/// view for reading the fields that are whole. The auth trailer, at the end, is lost, so
/// `auth` is None and a request's or response's stub is whatever follows its fixed fields
/// (C706 12.6.4.9-10). Never decode such a stub.
pub fn cut_fragment(header: Header, head: &[u8]) -> Fragment<'_> {
    let n = head.len().min(header.frag_len as usize);
    Fragment {
        header,
        auth: None,
        body: head.get(..n).unwrap_or_default(),
        auth_value: &[],
    }
}

impl<'a> Fragment<'a> {
    /// A reader at the start of the type-specific body.
    fn reader(&self) -> Result<Reader<'a>, Error> {
        let mut r = Reader::new(self.body, self.header.little_endian());
        r.seek(HEADER_LEN, "body")?;
        Ok(r)
    }

    /// The stub starting at `start`: request/response stubs are padded to 16 before the
    /// trailer, and auth_pad_length says by how much (MS-RPCE 2.2.2.11).
    fn stub(&self, start: usize) -> Result<&'a [u8], Error> {
        let pad = self.auth.map(|a| a.pad_len as usize).unwrap_or(0);
        let end = self
            .body
            .len()
            .checked_sub(pad)
            .ok_or(Error::Malformed("auth_pad_length"))?;
        if end < start {
            return Err(Error::Malformed("auth_pad_length"));
        }
        self.body.get(start..end).ok_or(Error::Malformed("stub"))
    }

    /// The 8 bytes after the common header that start a request and a response (alloc_hint
    /// u32, p_cont_id u16, then opnum u16 or cancel_count and reserved), read in one piece;
    /// a body too short for them is malformed, the error naming the first field cut, as a
    /// [`Reader`] names it (`fields` lists the names in order, with their sizes).
    #[inline]
    fn fixed8(&self, fields: &[(&'static str, usize)]) -> Result<[u8; 8], Error> {
        match self
            .body
            .get(HEADER_LEN..HEADER_LEN + 8)
            .and_then(|s| <[u8; 8]>::try_from(s).ok())
        {
            Some(b) => Ok(b),
            None => Err(self.cut_field(fields)),
        }
    }

    /// The error of [`Self::fixed8`] for a body too short.
    #[cold]
    fn cut_field(&self, fields: &[(&'static str, usize)]) -> Error {
        let mut end = HEADER_LEN;
        if self.body.len() < end {
            return Error::Malformed("body");
        }
        for &(what, n) in fields {
            end += n;
            if self.body.len() < end {
                return Error::Malformed(what);
            }
        }
        Error::Malformed("body")
    }

    /// The body of a request (call only when `header.ptype` is [`PType::REQUEST`]).
    #[inline]
    pub fn request(&self) -> Result<Request<'a>, Error> {
        let [a0, a1, a2, a3, c0, c1, o0, o1] =
            self.fixed8(&[("alloc_hint", 4), ("p_cont_id", 2), ("opnum", 2)])?;
        let le = self.header.little_endian();
        let (alloc_hint, ctx_id, opnum) = if le {
            (
                u32::from_le_bytes([a0, a1, a2, a3]),
                u16::from_le_bytes([c0, c1]),
                u16::from_le_bytes([o0, o1]),
            )
        } else {
            (
                u32::from_be_bytes([a0, a1, a2, a3]),
                u16::from_be_bytes([c0, c1]),
                u16::from_be_bytes([o0, o1]),
            )
        };
        let mut start = HEADER_LEN + 8;
        let object = if self.header.flags & PFC_OBJECT_UUID != 0 {
            let mut r = Reader::new(self.body, le);
            r.seek(start, "object")?;
            let u = r.uuid("object")?;
            start = r.pos();
            Some(u)
        } else {
            None
        };
        Ok(Request {
            alloc_hint,
            ctx_id,
            opnum,
            object,
            stub: self.stub(start)?,
        })
    }

    /// The body of a response (call only when `header.ptype` is [`PType::RESPONSE`]).
    #[inline]
    pub fn response(&self) -> Result<Response<'a>, Error> {
        let [a0, a1, a2, a3, c0, c1, _cancel_count, _reserved] = self.fixed8(&[
            ("alloc_hint", 4),
            ("p_cont_id", 2),
            ("cancel_count", 1),
            ("reserved", 1),
        ])?;
        let (alloc_hint, ctx_id) = if self.header.little_endian() {
            (
                u32::from_le_bytes([a0, a1, a2, a3]),
                u16::from_le_bytes([c0, c1]),
            )
        } else {
            (
                u32::from_be_bytes([a0, a1, a2, a3]),
                u16::from_be_bytes([c0, c1]),
            )
        };
        Ok(Response {
            alloc_hint,
            ctx_id,
            stub: self.stub(HEADER_LEN + 8)?,
        })
    }

    /// The body of a bind or alter_context (call only for [`PType::BIND`] or
    /// [`PType::ALTER_CONTEXT`]), every context element checked.
    pub fn bind(&self) -> Result<Bind<'a>, Error> {
        self.bind_elems(false)
    }

    /// The body of a bind or alter_context of a [`cut_fragment`]: the context elements that
    /// are whole, in order (an error only when the fixed fields before them are cut).
    pub fn bind_cut(&self) -> Result<Bind<'a>, Error> {
        self.bind_elems(true)
    }

    /// [`Self::bind`], or with `cut` [`Self::bind_cut`].
    fn bind_elems(&self, cut: bool) -> Result<Bind<'a>, Error> {
        let le = self.header.little_endian();
        let mut r = self.reader()?;
        let max_xmit = r.u16("max_xmit_frag")?;
        let max_recv = r.u16("max_recv_frag")?;
        let assoc_group = r.u32("assoc_group_id")?;
        let n = r.u8("n_context_elem")? as usize;
        r.skip(3, "reserved")?;
        let start = r.pos();
        let mut whole = 0;
        for _ in 0..n {
            let at = r.pos();
            match context_elem(&mut r, le) {
                Ok(_) => whole += 1,
                Err(_) if cut => {
                    r.seek(at, "p_cont_elem")?;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        let n = whole;
        let elems = self
            .body
            .get(start..r.pos())
            .ok_or(Error::Malformed("p_cont_elem"))?;
        Ok(Bind {
            max_xmit,
            max_recv,
            assoc_group,
            n,
            elems,
            le,
        })
    }

    /// The body of a bind_ack or alter_context_resp (call only for [`PType::BIND_ACK`] or
    /// [`PType::ALTER_CONTEXT_RESP`]), every result checked.
    pub fn bind_ack(&self) -> Result<BindAck<'a>, Error> {
        self.bind_ack_results(false)
    }

    /// The body of a bind_ack or alter_context_resp of a [`cut_fragment`]: the results that
    /// are whole (an error only when the fields before them are cut).
    pub fn bind_ack_cut(&self) -> Result<BindAck<'a>, Error> {
        self.bind_ack_results(true)
    }

    /// [`Self::bind_ack`], or with `cut` [`Self::bind_ack_cut`].
    fn bind_ack_results(&self, cut: bool) -> Result<BindAck<'a>, Error> {
        let mut r = self.reader()?;
        let max_xmit = r.u16("max_xmit_frag")?;
        let max_recv = r.u16("max_recv_frag")?;
        let assoc_group = r.u32("assoc_group_id")?;
        let len = r.u16("sec_addr_length")? as usize;
        if len > MAX_SEC_ADDR_LEN {
            return Err(Error::Malformed("sec_addr_length"));
        }
        let sec_addr = r.bytes(len, "sec_addr")?;
        r.align(4, "sec_addr padding")?;
        let mut n = r.u8("n_results")? as usize;
        r.skip(3, "reserved")?;
        if cut {
            n = n.min(r.remaining() / CTX_RESULT_LEN);
        }
        let results = r.bytes(n * CTX_RESULT_LEN, "ack_result")?;
        Ok(BindAck {
            max_xmit,
            max_recv,
            assoc_group,
            sec_addr,
            results,
            le: self.header.little_endian(),
        })
    }

    /// The type-specific body, whatever the type.
    pub fn body(&self) -> Result<Body<'a>, Error> {
        let header = self.header;
        let mut r = self.reader()?;
        let body = match header.ptype {
            PType::REQUEST => {
                let q = self.request()?;
                Body::Request {
                    alloc_hint: q.alloc_hint,
                    ctx_id: q.ctx_id,
                    opnum: q.opnum,
                    object: q.object,
                    stub: q.stub,
                }
            }
            PType::RESPONSE => {
                let q = self.response()?;
                Body::Response {
                    alloc_hint: q.alloc_hint,
                    ctx_id: q.ctx_id,
                    stub: q.stub,
                }
            }
            PType::FAULT => {
                let _alloc_hint = r.u32("alloc_hint")?;
                let ctx_id = r.u16("p_cont_id")?;
                let _cancel_count = r.u8("cancel_count")?;
                let _reserved = r.u8("reserved")?;
                let status = r.u32("status")?;
                Body::Fault { ctx_id, status }
            }
            PType::BIND | PType::ALTER_CONTEXT => {
                let b = self.bind()?;
                let mut contexts = Vec::with_capacity(b.len().min(MAX_CONTEXTS));
                contexts.extend(b.contexts().map(|c| PresContext {
                    ctx_id: c.ctx_id,
                    interface: c.interface,
                    transfer: c.transfer().collect(),
                }));
                Body::Bind {
                    max_xmit: b.max_xmit,
                    max_recv: b.max_recv,
                    assoc_group: b.assoc_group,
                    contexts,
                }
            }
            PType::BIND_ACK | PType::ALTER_CONTEXT_RESP => {
                let b = self.bind_ack()?;
                Body::BindAck {
                    max_xmit: b.max_xmit,
                    max_recv: b.max_recv,
                    assoc_group: b.assoc_group,
                    sec_addr: b.sec_addr().into_owned(),
                    results: b.results().collect(),
                }
            }
            PType::BIND_NAK => Body::BindNak {
                reason: r.u16("provider_reject_reason")?,
            },
            _ => Body::Other,
        };
        Ok(body)
    }
}

/// Size of a `p_syntax_id_t` on the wire (16-byte UUID, u16 major, u16 minor).
const SYNTAX_ID_LEN: usize = 20;
/// Size of a `p_result_t` on the wire (u16 result, u16 reason, transfer syntax).
const CTX_RESULT_LEN: usize = 4 + SYNTAX_ID_LEN;

/// A bind or alter_context body (C706 12.6.4.3, 12.6.4.1), checked whole by
/// [`Fragment::bind`] and walked in place: no vector per bind or per context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bind<'a> {
    /// max_xmit_frag.
    pub max_xmit: u16,
    /// max_recv_frag.
    pub max_recv: u16,
    /// assoc_group_id.
    pub assoc_group: u32,
    /// n_context_elem.
    n: usize,
    /// Exactly the bytes of the `n` context elements.
    elems: &'a [u8],
    le: bool,
}

impl<'a> Bind<'a> {
    /// Number of presentation contexts offered.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True when no context is offered.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The presentation contexts offered, in order.
    pub fn contexts(&self) -> impl Iterator<Item = ContextElem<'a>> + 'a {
        let mut r = Reader::new(self.elems, self.le);
        let le = self.le;
        // Checked when the bind was read: no element is cut short.
        (0..self.n).map_while(move |_| context_elem(&mut r, le).ok())
    }
}

/// One presentation context of a [`Bind`] (C706 12.6.3.1 `p_cont_elem_t`), read in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextElem<'a> {
    /// p_cont_id.
    pub ctx_id: u16,
    /// The interface (abstract syntax).
    pub interface: SyntaxId,
    /// The transfer syntaxes, `n_transfer_syn` times [`SYNTAX_ID_LEN`] bytes.
    transfer: &'a [u8],
    le: bool,
}

impl<'a> ContextElem<'a> {
    /// The offered transfer syntaxes, as in [`PresContext::transfer`].
    pub fn transfer(&self) -> impl Iterator<Item = SyntaxId> + 'a {
        let le = self.le;
        self.transfer
            .chunks_exact(SYNTAX_ID_LEN)
            .filter_map(move |c| syntax_id(&mut Reader::new(c, le), "transfer_syntax").ok())
    }
}

/// Reads one `p_cont_elem_t` at `r`.
fn context_elem<'a>(r: &mut Reader<'a>, le: bool) -> Result<ContextElem<'a>, Error> {
    let ctx_id = r.u16("p_cont_id")?;
    let n_ts = r.u8("n_transfer_syn")? as usize;
    let _reserved = r.u8("reserved")?;
    let interface = syntax_id(r, "abstract_syntax")?;
    let transfer = r.bytes(n_ts * SYNTAX_ID_LEN, "transfer_syntax")?;
    Ok(ContextElem {
        ctx_id,
        interface,
        transfer,
        le,
    })
}

/// A bind_ack or alter_context_resp body (C706 12.6.4.4, 12.6.4.2), checked whole by
/// [`Fragment::bind_ack`] and read in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BindAck<'a> {
    /// max_xmit_frag.
    pub max_xmit: u16,
    /// max_recv_frag.
    pub max_recv: u16,
    /// assoc_group_id.
    pub assoc_group: u32,
    /// The secondary address as sent (sec_addr_length bytes).
    sec_addr: &'a [u8],
    /// Exactly the bytes of the `n_results` results.
    results: &'a [u8],
    le: bool,
}

impl<'a> BindAck<'a> {
    /// The secondary address (the server port as text, or a pipe name; empty if none): the
    /// bytes before the first NUL, each byte that is not printable ASCII shown as '?'.
    /// Borrowed when every byte is printable (always, from Windows).
    pub fn sec_addr(&self) -> Cow<'a, str> {
        let end = self
            .sec_addr
            .iter()
            .position(|&c| c == 0)
            .unwrap_or(self.sec_addr.len());
        let raw = self.sec_addr.get(..end).unwrap_or_default();
        let printable = |c: u8| c.is_ascii_graphic() || c == b' ';
        if raw.iter().all(|&c| printable(c)) {
            if let Ok(s) = std::str::from_utf8(raw) {
                return Cow::Borrowed(s);
            }
        }
        Cow::Owned(
            raw.iter()
                .map(|&c| if printable(c) { c as char } else { '?' })
                .collect(),
        )
    }

    /// The results, one per context of the bind, in the same order.
    pub fn results(&self) -> impl Iterator<Item = CtxResult> + 'a {
        let le = self.le;
        self.results
            .chunks_exact(CTX_RESULT_LEN)
            .filter_map(move |c| {
                let mut r = Reader::new(c, le);
                Some(CtxResult {
                    result: r.u16("ack_result").ok()?,
                    reason: r.u16("ack_reason").ok()?,
                    transfer: syntax_id(&mut r, "transfer_syntax").ok()?,
                })
            })
    }
}

/// `p_syntax_id_t` for an abstract syntax (u16 major, u16 minor) or a transfer syntax (u32
/// version, split into halves in the PDU's byte order, which is the same thing on the wire).
fn syntax_id(r: &mut Reader<'_>, what: &'static str) -> Result<SyntaxId, Error> {
    let uuid = r.uuid(what)?;
    let major = r.u16(what)?;
    let minor = r.u16(what)?;
    Ok(SyntaxId { uuid, major, minor })
}

/// Cheap content test used by the dissector probe and by resynchronisation: can `data` start a
/// connection-oriented PDU? Needs 10 bytes (through frag_length); with 16 the whole header is
/// checked.
pub fn plausible_header(data: &[u8]) -> bool {
    if data.len() >= HEADER_LEN {
        return parse_header(data).is_ok();
    }
    let (Some(&v), Some(&m), Some(&t), Some(&d0), Some(&d1), Some(&d2)) = (
        data.first(),
        data.get(1),
        data.get(2),
        data.get(4),
        data.get(5),
        data.get(6),
    ) else {
        return false;
    };
    v == 5 && m <= 1 && PType(t).is_connection_oriented() && d0 & 0xee == 0 && d1 <= 3 && d2 == 0
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::proto::testutil::hex;

    // epm_map_netlogon_zerologon_win2019.pcap frame 4: bind EPM v3.0, ctx 0, NDR (tshark:
    // dcerpc.cn_bind_to_uuid e1af8308-..., if_ver 3, no auth). Cut with
    // `tshark -r F -Y frame.number==4 -T fields -e tcp.payload`.
    pub(crate) const ZL_F4_BIND: &str = "05000b03100000004800000001000000b810b8100000000001000000000001000883afe11f5dc91191a408002b14a0fa03000000045d888aeb1cc9119fe808002b10486002000000";
    // Same capture frame 5: bind_ack, sec_addr "135", one result acceptance, NDR.
    pub(crate) const ZL_F5_BIND_ACK: &str = "05000c03100000003c00000001000000b810b81057e0000004003133350000000100000000000000045d888aeb1cc9119fe808002b10486002000000";

    #[test]
    fn uuid_text_round_trip() {
        let u = Uuid::parse("E1AF8308-5D1F-11C9-91A4-08002B14A0FA").unwrap();
        assert_eq!(u.to_string(), "e1af8308-5d1f-11c9-91a4-08002b14a0fa");
        assert_eq!(Uuid::parse("e1af8308-5d1f-11c9-91a4-08002b14a0f"), None);
        assert_eq!(Uuid::parse("e1af8308x5d1f-11c9-91a4-08002b14a0fa"), None);
        assert_eq!(NDR.to_string(), "8a885d04-1ceb-11c9-9fe8-08002b104860");
        assert_eq!(NDR64.to_string(), "71710533-beba-4937-8319-b5dbef9ccc36");
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(
            Uuid(std::array::from_fn(|i| all[i * 17 % 256])).to_string(),
            "00112233-4455-6677-8899-aabbccddeeff"
        );
    }

    #[test]
    fn version_text_is_display_text() {
        for (major, minor) in [
            (0, 0),
            (1, 0),
            (3, 0),
            (4, 12),
            (9, 10),
            (65535, 100),
            (10, 65535),
        ] {
            let s = SyntaxId {
                uuid: NDR,
                major,
                minor,
            };
            assert_eq!(s.version(), format!("{major}.{minor}"));
        }
    }

    #[test]
    fn uuid_order_is_byte_order() {
        // The integer comparison must order UUIDs exactly as their byte arrays (the order of
        // `interfaces` in the JSON).
        let mut v: Vec<Uuid> = [NDR, NDR64, Uuid::default(), Uuid([0xff; 16])].to_vec();
        for k in 0..16 {
            let mut b = NDR.0;
            b[k] ^= 0x80;
            v.push(Uuid(b));
            b[15 - k] = b[15 - k].wrapping_add(1);
            v.push(Uuid(b));
        }
        for a in &v {
            for b in &v {
                assert_eq!(a.cmp(b), a.0.cmp(&b.0), "{a} vs {b}");
                assert_eq!(a.partial_cmp(b), a.0.partial_cmp(&b.0));
            }
        }
    }

    #[test]
    fn bind_real() {
        let b = hex(ZL_F4_BIND);
        let p = parse_pdu(&b).unwrap();
        assert_eq!(p.header.ptype, PType::BIND);
        assert_eq!(p.header.frag_len, 72);
        assert_eq!(p.header.call_id, 1);
        assert!(p.auth.is_none());
        let Body::Bind { contexts, .. } = p.body else {
            panic!("not a bind")
        };
        assert_eq!(contexts.len(), 1);
        assert_eq!(contexts[0].ctx_id, 0);
        assert_eq!(
            contexts[0].interface.uuid.to_string(),
            "e1af8308-5d1f-11c9-91a4-08002b14a0fa"
        );
        assert_eq!(contexts[0].interface.version(), "3.0");
        assert_eq!(transfer_syntax_str(&contexts[0].transfer[0].uuid), "ndr");
        assert_eq!(contexts[0].transfer[0].major, 2);
    }

    #[test]
    fn bind_ack_real() {
        let b = hex(ZL_F5_BIND_ACK);
        let p = parse_pdu(&b).unwrap();
        let Body::BindAck {
            sec_addr, results, ..
        } = p.body
        else {
            panic!("not a bind_ack")
        };
        assert_eq!(sec_addr, "135");
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].result, 0);
        assert_eq!(results[0].transfer.uuid, NDR);
    }

    #[test]
    fn big_endian_header() {
        // The zerologon bind with drep switched to big-endian and its integers swapped by hand:
        // frag_length 0x0048 -> 00 48, call_id 1 -> 00 00 00 01.
        let mut b = hex(ZL_F4_BIND);
        b[4] = 0x00;
        b[8] = 0x00;
        b[9] = 0x48;
        b[12..16].copy_from_slice(&[0, 0, 0, 1]);
        let h = parse_header(&b).unwrap();
        assert!(!h.little_endian());
        assert_eq!(h.frag_len, 72);
        assert_eq!(h.call_id, 1);
    }

    #[test]
    fn big_endian_request_response_and_trailer() {
        use crate::proto::dcerpc::epm::tests::{ZL_F7_MAP_REQ, ZL_F8_MAP_RESP};
        // epm_map_netlogon_zerologon_win2019.pcap frames 7 and 8 (tshark: frag_length 156 /
        // 152, call_id 1, alloc_hint 132 / 128, ctx 0, opnum 3) with drep switched to
        // big-endian and the header and body integers swapped by hand; frame 7 also given a
        // 16-byte auth_value whose trailer reads type 9, level 6, pad 4, context id 0x01020304.
        let be = |s: &str| {
            let mut b = hex(s);
            b[4] = 0;
            for (i, n) in [(8, 2), (10, 2), (12, 4), (16, 4), (20, 2), (22, 2)] {
                b[i..i + n].reverse();
            }
            b
        };
        let mut b = be(ZL_F7_MAP_REQ);
        b[11] = 16; // auth_length 16: the trailer at 156 - 16 - 8 = 132
        b[132..140].copy_from_slice(&[9, 6, 4, 0, 1, 2, 3, 4]);
        let f = fragment(parse_header(&b).unwrap(), &b).unwrap();
        assert_eq!(
            f.auth,
            Some(AuthInfo {
                auth_type: AuthType(9),
                level: AuthLevel(6),
                pad_len: 4,
                context_id: 0x0102_0304,
            })
        );
        let q = f.request().unwrap();
        assert_eq!(
            (q.alloc_hint, q.ctx_id, q.opnum, q.object),
            (132, 0, 3, None)
        );
        assert_eq!(q.stub, &b[24..128]);
        let b = be(ZL_F8_MAP_RESP);
        let h = parse_header(&b).unwrap();
        assert_eq!((h.frag_len, h.call_id), (152, 1));
        let q = fragment(h, &b).unwrap().response().unwrap();
        assert_eq!((q.alloc_hint, q.ctx_id), (128, 0));
        assert_eq!(q.stub, &b[24..]);
        // A body cut inside the fixed fields names the first field cut, as the field-by-field
        // reader did (auth_length puts the trailer at 16, 20, 22 and 23).
        for (auth_len, req, resp) in [
            (0x84u8, "alloc_hint", "alloc_hint"),
            (0x80, "p_cont_id", "p_cont_id"),
            (0x7e, "opnum", "cancel_count"),
            (0x7d, "opnum", "reserved"),
        ] {
            let mut b = hex(ZL_F7_MAP_REQ);
            b[10] = auth_len;
            let f = fragment(parse_header(&b).unwrap(), &b).unwrap();
            assert_eq!(f.request(), Err(Error::Malformed(req)), "{auth_len}");
            assert_eq!(f.response(), Err(Error::Malformed(resp)), "{auth_len}");
        }
    }

    // epm_drsuapi_kerberos_privacy_sealed.pcapng.gz frame 11: bind DRSUAPI 4.0 in contexts 0
    // (NDR), 1 (NDR64), 2 (bind-time feature negotiation), auth_type 9 level 6 (tshark
    // dcerpc.auth_type 9, dcerpc.auth_level 6); frame 13: its bind_ack, sec_addr "49667",
    // results 2 (reason 2), 0 (NDR64), 3.
    const PRIV_F11_BIND: &str = include_str!("testdata/priv_f11.hex");
    const PRIV_F13_BIND_ACK: &str = include_str!("testdata/priv_f13.hex");

    /// Every prefix of the DRSUAPI bind and its ack (the frames above), read as a fragment a
    /// snap length cut: the contexts and results whole in the prefix, in order, and an error
    /// only while the fixed fields before them are cut. Never a panic.
    #[test]
    fn cut_bind_and_ack_give_their_whole_elements() {
        let bind = hex(PRIV_F11_BIND);
        let whole = parse_pdu(&bind).unwrap();
        let Body::Bind { contexts, .. } = whole.body else {
            panic!("not a bind")
        };
        for n in 0..bind.len() {
            let h = match parse_header(&bind[..n]) {
                Ok(h) => h,
                Err(e) => {
                    assert!(n < HEADER_LEN, "{n}: {e:?}");
                    continue;
                }
            };
            let f = cut_fragment(h, &bind[..n]);
            assert!(f.auth.is_none());
            match f.bind_cut() {
                Ok(b) => {
                    // p_cont_elem starts at 28 and is 44 bytes (one transfer syntax) each.
                    assert_eq!(b.len(), ((n - 28) / 44).min(3), "prefix {n}");
                    let ids: Vec<u16> = b.contexts().map(|c| c.ctx_id).collect();
                    let want: Vec<u16> = contexts.iter().take(b.len()).map(|c| c.ctx_id).collect();
                    assert_eq!(ids, want);
                    for (c, w) in b.contexts().zip(contexts.iter()) {
                        assert_eq!(c.interface, w.interface);
                    }
                }
                Err(_) => assert!(n < 28, "prefix {n}"),
            }
        }
        let ack = hex(PRIV_F13_BIND_ACK);
        let whole = parse_pdu(&ack).unwrap();
        let Body::BindAck { results, .. } = whole.body else {
            panic!("not a bind_ack")
        };
        let mut seen = Vec::new();
        for n in HEADER_LEN..ack.len() {
            let h = parse_header(&ack[..n]).unwrap();
            if let Ok(b) = cut_fragment(h, &ack[..n]).bind_ack_cut() {
                let got: Vec<CtxResult> = b.results().collect();
                assert_eq!(got[..], results[..got.len()], "prefix {n}");
                seen.push(got.len());
            }
        }
        // Every count from none to all three results is met on the way.
        assert_eq!(seen.first(), Some(&0));
        assert_eq!(seen.last(), Some(&3));
        assert!(seen.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn privacy_bind_real() {
        let b = hex(PRIV_F11_BIND);
        let p = parse_pdu(&b).unwrap();
        let a = p.auth.unwrap();
        assert_eq!(
            (a.auth_type.name(), a.level.name()),
            ("negotiate".into(), "privacy".into())
        );
        let Body::Bind { contexts, .. } = p.body else {
            panic!("not a bind")
        };
        let got: Vec<(u16, String, String, String)> = contexts
            .iter()
            .map(|c| {
                (
                    c.ctx_id,
                    c.interface.uuid.to_string(),
                    c.interface.version(),
                    transfer_syntax_str(&c.transfer[0].uuid).into_owned(),
                )
            })
            .collect();
        let drs = "e3514235-4b06-11d1-ab04-00c04fc2dcd2".to_string();
        assert_eq!(
            got,
            vec![
                (0, drs.clone(), "4.0".into(), "ndr".into()),
                (1, drs.clone(), "4.0".into(), "ndr64".into()),
                (2, drs, "4.0".into(), "bind_time_feature_negotiation".into()),
            ]
        );
        let b = hex(PRIV_F13_BIND_ACK);
        let p = parse_pdu(&b).unwrap();
        let Body::BindAck {
            sec_addr, results, ..
        } = p.body
        else {
            panic!("not a bind_ack")
        };
        assert_eq!(sec_addr, "49667");
        let r: Vec<(u16, u16)> = results.iter().map(|r| (r.result, r.reason)).collect();
        assert_eq!(r[0], (2, 2));
        assert_eq!(r[1].0, 0);
        assert_eq!(r[2].0, 3);
        assert_eq!(results[1].transfer.uuid, NDR64);
        assert_eq!(p.auth.unwrap().level, AuthLevel::PRIVACY);
    }

    #[test]
    fn fragment_views_read_as_parse_pdu() {
        use crate::proto::dcerpc::epm::tests::{ZL_F7_MAP_REQ, ZL_F8_MAP_RESP};
        // epm_map_netlogon_zerologon_win2019.pcap frame 7: request ctx 0 opnum 3 (ept_map),
        // frag_length 156, alloc_hint 132; frame 8: response, frag_length 152, alloc_hint 128
        // (tshark dcerpc.opnum 3, dcerpc.cn_alloc_hint 132 / 128, dcerpc.cn_ctx_id 0).
        let b = hex(ZL_F7_MAP_REQ);
        let f = fragment(parse_header(&b).unwrap(), &b).unwrap();
        assert!(f.auth.is_none());
        let q = f.request().unwrap();
        assert_eq!((q.ctx_id, q.opnum, q.alloc_hint), (0, 3, 132));
        assert_eq!((q.object, q.stub.len()), (None, 132));
        assert_eq!(
            parse_pdu(&b).unwrap().body,
            Body::Request {
                alloc_hint: 132,
                ctx_id: 0,
                opnum: 3,
                object: None,
                stub: q.stub
            }
        );
        let b = hex(ZL_F8_MAP_RESP);
        let h = parse_header(&b).unwrap();
        let q = fragment(h, &b).unwrap().response().unwrap();
        assert_eq!((q.ctx_id, q.alloc_hint, q.stub.len()), (0, 128, 128));
        assert_eq!(q.stub, b.get(24..).unwrap());
        // A prefix of the fragment is incomplete, never a panic.
        for n in 0..b.len() {
            assert_eq!(
                fragment(h, &b[..n]),
                Err(Error::Incomplete(152)),
                "prefix {n}"
            );
        }
        // auth_length 16 puts the trailer at 128: an auth_pad_length of 200 runs before the
        // stub, and a body cut by the trailer inside the request header is malformed.
        let mut b = hex(ZL_F7_MAP_REQ);
        b[10] = 16;
        b[134] = 200;
        let f = fragment(parse_header(&b).unwrap(), &b).unwrap();
        assert_eq!(f.auth.map(|a| a.pad_len), Some(200));
        assert_eq!(f.request(), Err(Error::Malformed("auth_pad_length")));
        let mut b = hex(ZL_F7_MAP_REQ);
        b[10] = 0x7c; // trailer at 156 - 124 - 8 = 24: the stub is empty, the header whole
        let f = fragment(parse_header(&b).unwrap(), &b).unwrap();
        assert_eq!(f.request().map(|q| q.stub.len()), Ok(0));
        let mut b = b.clone();
        b[10] = 0x7e; // trailer at 22: the opnum is cut
        let f = fragment(parse_header(&b).unwrap(), &b).unwrap();
        assert_eq!(f.request(), Err(Error::Malformed("opnum")));
    }

    #[test]
    fn bind_views_read_as_parse_pdu() {
        // The views the analyzer reads binds and acks through give what `parse_pdu` gives, on
        // the zerologon bind/ack (frames 4/5) and the three-context privacy bind/ack (11/13).
        for (bind, ack) in [
            (ZL_F4_BIND, ZL_F5_BIND_ACK),
            (PRIV_F11_BIND, PRIV_F13_BIND_ACK),
        ] {
            let b = hex(bind);
            let f = fragment(parse_header(&b).unwrap(), &b).unwrap();
            let v = f.bind().unwrap();
            let Body::Bind {
                contexts,
                max_xmit,
                assoc_group,
                ..
            } = parse_pdu(&b).unwrap().body
            else {
                panic!("not a bind")
            };
            let got: Vec<PresContext> = v
                .contexts()
                .map(|c| PresContext {
                    ctx_id: c.ctx_id,
                    interface: c.interface,
                    transfer: c.transfer().collect(),
                })
                .collect();
            assert_eq!(got, contexts);
            assert_eq!(
                (v.len(), v.max_xmit, v.assoc_group),
                (contexts.len(), max_xmit, assoc_group)
            );
            let b = hex(ack);
            let f = fragment(parse_header(&b).unwrap(), &b).unwrap();
            let v = f.bind_ack().unwrap();
            let Body::BindAck {
                sec_addr, results, ..
            } = parse_pdu(&b).unwrap().body
            else {
                panic!("not a bind_ack")
            };
            assert!(matches!(v.sec_addr(), Cow::Borrowed(_)));
            assert_eq!(v.sec_addr(), sec_addr);
            assert_eq!(v.results().collect::<Vec<_>>(), results);
        }
        // tshark: 1 context, then 3 contexts; secondary addresses "135" and "49667".
        let b = hex(PRIV_F11_BIND);
        let f = fragment(parse_header(&b).unwrap(), &b).unwrap();
        assert_eq!(f.bind().unwrap().len(), 3);
        // A sec_addr byte that is not printable shows as '?' (zerologon ack, "135" -> "1?5").
        let mut b = hex(ZL_F5_BIND_ACK);
        b[27] = 0x07;
        let f = fragment(parse_header(&b).unwrap(), &b).unwrap();
        assert_eq!(f.bind_ack().unwrap().sec_addr(), "1?5");
        // One byte less than the last transfer syntax needs: an error, as for `parse_pdu`.
        let mut b = hex(ZL_F4_BIND);
        b[8] = 0x47;
        let f = fragment(parse_header(&b).unwrap(), &b[..0x47]).unwrap();
        assert_eq!(f.bind(), Err(Error::Malformed("transfer_syntax")));
        let mut b = hex(ZL_F5_BIND_ACK);
        b[8] = 0x3b;
        let f = fragment(parse_header(&b).unwrap(), &b[..0x3b]).unwrap();
        assert_eq!(f.bind_ack(), Err(Error::Malformed("ack_result")));
    }

    #[test]
    fn mutations_never_panic() {
        use crate::proto::testutil::Rng;
        let base: Vec<Vec<u8>> = [ZL_F4_BIND, ZL_F5_BIND_ACK, PRIV_F11_BIND, PRIV_F13_BIND_ACK]
            .iter()
            .map(|h| hex(h))
            .collect();
        let mut rng = Rng(0x5eed_0004);
        let mut parsed = 0;
        for i in 0..4000 {
            let mut b = base[i % base.len()].clone();
            rng.mutate(&mut b);
            if parse_pdu(&b).is_ok() {
                parsed += 1;
            }
            let _ = plausible_header(&b);
        }
        // Some mutations hit bytes that do not matter; most must be rejected.
        assert!(parsed > 0 && parsed < 4000, "{parsed}");
    }

    #[test]
    fn every_prefix_is_an_error_not_a_panic() {
        for s in [ZL_F4_BIND, ZL_F5_BIND_ACK, PRIV_F13_BIND_ACK] {
            let b = hex(s);
            for n in 0..b.len() {
                assert!(parse_pdu(&b[..n]).is_err(), "prefix {n} parsed");
            }
            assert!(parse_pdu(&b).is_ok());
        }
    }

    #[test]
    fn corrupted_lengths_are_errors() {
        let mut b = hex(ZL_F4_BIND);
        b[8] = 15; // frag_length below the header size
        b[9] = 0;
        assert_eq!(parse_pdu(&b), Err(Error::Malformed("frag_length")));
        let mut b = hex(ZL_F4_BIND);
        b[8] = 0x47; // one byte short: the last transfer syntax no longer fits
        assert!(matches!(parse_pdu(&b), Err(Error::Malformed(_))));
        let mut b = hex(ZL_F4_BIND);
        b[10] = 0x60; // auth_length larger than the fragment
        assert_eq!(parse_pdu(&b), Err(Error::Malformed("auth_length")));
        let mut b = hex(ZL_F4_BIND);
        b[24] = 0xff; // 255 contexts announced, one present
        assert!(matches!(parse_pdu(&b), Err(Error::Malformed(_))));
        let mut b = hex(ZL_F5_BIND_ACK);
        b[24] = 0xff; // sec_addr_length 255: runs past the fragment
        assert!(matches!(parse_pdu(&b), Err(Error::Malformed(_))));
    }
}
