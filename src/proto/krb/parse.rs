//! Pure parsing of one Kerberos message (RFC 4120 section 5), of the TCP record mark (RFC 4120
//! 7.2.2) and of the kpasswd framing (RFC 3244 section 2). No state: bytes in, a summary out.
//!
//! The ASN.1 decoding of AS/TGS requests and replies, AP-REQ, AP-REP and KRB-ERROR is done by
//! `kerberos-parser` 0.9. It has no parser for KRB-SAFE, KRB-PRIV and KRB-CRED; for those (the
//! kpasswd reply carries a KRB-PRIV) only the outer tag and the enc-part etype are read here with
//! the BER helper, because their content is encrypted anyway.
//!
//! [`parse_message`] first tries `krb::strict`, a DER reader several times cheaper that accepts
//! only a subset of what kerberos-parser accepts and yields the same summary; whatever it does
//! not accept (including every message kerberos-parser would reject) goes to kerberos-parser.

use kerberos_parser::krb5::{
    ApReq, EncryptionType, ErrorCode, KdcRep, KdcReq, KrbError, PrincipalName, Ticket,
};
use kerberos_parser::krb5_parser::{parse_as_rep, parse_as_req, parse_tgs_rep, parse_tgs_req};
// kerberos-parser implements `FromDer` of asn1-rs 0.7; ldap-parser re-exports the same crate.
use ldap_parser::asn1_rs::FromDer;

use std::borrow::Cow;

use crate::proto::ldap::ber;

/// Largest Kerberos message accepted, in bytes (TCP record length or UDP payload). RFC 4120
/// 7.2.2 allows up to 2^31-1; tickets with big Windows PACs (MS-KILE, many group SIDs) reach a few
/// tens of KiB. 1 MiB bounds what a connection may make the flow layer buffer.
pub const MAX_RECORD_LEN: usize = 1 << 20;

/// Kerberos message type (RFC 4120 5.10 `msg-type`), kept as a number: unknown values are
/// evidence too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MsgType(pub u32);

impl MsgType {
    /// KRB_AS_REQ (RFC 4120 5.4.1).
    pub const AS_REQ: MsgType = MsgType(10);
    /// KRB_AS_REP (RFC 4120 5.4.2).
    pub const AS_REP: MsgType = MsgType(11);
    /// KRB_TGS_REQ (RFC 4120 5.4.1).
    pub const TGS_REQ: MsgType = MsgType(12);
    /// KRB_TGS_REP (RFC 4120 5.4.2).
    pub const TGS_REP: MsgType = MsgType(13);
    /// KRB_AP_REQ (RFC 4120 5.5.1).
    pub const AP_REQ: MsgType = MsgType(14);
    /// KRB_AP_REP (RFC 4120 5.5.2).
    pub const AP_REP: MsgType = MsgType(15);
    /// KRB_SAFE (RFC 4120 5.6.1).
    pub const SAFE: MsgType = MsgType(20);
    /// KRB_PRIV (RFC 4120 5.7.1).
    pub const PRIV: MsgType = MsgType(21);
    /// KRB_CRED (RFC 4120 5.8.1).
    pub const CRED: MsgType = MsgType(22);
    /// KRB_ERROR (RFC 4120 5.9.1).
    pub const ERROR: MsgType = MsgType(30);

    /// The message type whose [APPLICATION n] tag starts a message with identifier octet `tag`
    /// (constructed, application class: 0x60 | n).
    pub fn from_tag(tag: u8) -> Option<MsgType> {
        if tag & 0xe0 != 0x60 {
            return None;
        }
        let n = u32::from(tag & 0x1f);
        match n {
            10..=15 | 20..=22 | 30 => Some(MsgType(n)),
            _ => None,
        }
    }

    /// The name used in RFC 4120 (with dashes, as in the text of the RFC), or "unknown".
    pub fn name(self) -> &'static str {
        match self.0 {
            10 => "AS-REQ",
            11 => "AS-REP",
            12 => "TGS-REQ",
            13 => "TGS-REP",
            14 => "AP-REQ",
            15 => "AP-REP",
            16 => "KRB-TGT-REQ",
            17 => "KRB-TGT-REP",
            20 => "KRB-SAFE",
            21 => "KRB-PRIV",
            22 => "KRB-CRED",
            30 => "KRB-ERROR",
            _ => "unknown",
        }
    }
}

/// Name of a KRB-ERROR `error-code` (RFC 4120 7.5.9, RFC 4556 for PKINIT codes) as spelled by
/// kerberos-parser, or "unknown".
pub fn error_name(code: i32) -> String {
    let s = format!("{:?}", ErrorCode(code));
    if s.starts_with("ErrorCode(") {
        "unknown".to_string()
    } else {
        s
    }
}

/// Name of an encryption type (RFC 3961 8, IANA "Kerberos Encryption Type Numbers") as spelled
/// by kerberos-parser, or "unknown".
pub fn etype_name(etype: i32) -> String {
    let s = format!("{:?}", EncryptionType(etype));
    if s.starts_with("EncryptionType(") {
        "unknown".to_string()
    } else {
        s
    }
}

/// Pre-authentication data type PA-PK-AS-REQ (RFC 4556 3.2.1): the request uses PKINIT.
pub const PA_PK_AS_REQ: i32 = 16;
/// PA-PK-AS-REQ_OLD (draft-ietf-cat-kerberos-pk-init-09, still sent by Windows 2000-era clients).
pub const PA_PK_AS_REQ_OLD: i32 = 14;
/// PA-TGS-REQ (RFC 4120 5.2.7.1): the padata value is an AP-REQ carrying the TGT.
pub const PA_TGS_REQ: i32 = 1;
/// PA-FOR-USER (MS-SFU 2.2.1): an S4U2Self request names the user it asks a ticket for, with
/// the user's realm.
pub const PA_FOR_USER: i32 = 129;

/// Name of a pre-authentication data type (IANA "Pre-authentication and Typed Data"), or
/// "unknown".
pub fn padata_name(t: i32) -> &'static str {
    match t {
        1 => "PA-TGS-REQ",
        2 => "PA-ENC-TIMESTAMP",
        3 => "PA-PW-SALT",
        11 => "PA-ETYPE-INFO",
        12 => "PA-SAM-CHALLENGE",
        13 => "PA-SAM-RESPONSE",
        14 => "PA-PK-AS-REQ_OLD",
        15 => "PA-PK-AS-REP_OLD",
        16 => "PA-PK-AS-REQ",
        17 => "PA-PK-AS-REP",
        19 => "PA-ETYPE-INFO2",
        20 => "PA-SVR-REFERRAL-INFO",
        128 => "PA-PAC-REQUEST",
        129 => "PA-FOR-USER",
        130 => "PA-FOR-X509-USER",
        133 => "PA-FX-COOKIE",
        136 => "PA-FX-FAST",
        137 => "PA-FX-ERROR",
        138 => "PA-ENCRYPTED-CHALLENGE",
        149 => "PA-REQ-ENC-PA-REP",
        150 => "PA-AS-FRESHNESS",
        165 => "PA-SUPPORTED-ENCTYPES",
        167 => "PA-PAC-OPTIONS",
        _ => "unknown",
    }
}

/// A message's short list of values: up to `N` kept inline, more moved to the heap
/// (smallvec). A message names one or two realms and tickets, a handful of etypes and padata
/// types; summarising it then allocates nothing for its lists.
pub type Few<T, const N: usize> = smallvec::SmallVec<[T; N]>;

/// What one Kerberos message says, reduced to the facts certflow reports.
///
/// Names are borrowed from the message bytes where they stand there whole (realms, one-component
/// principals, read by the strict reader), owned where they are joined or where kerberos-parser
/// decoded them: a summary read from the wire allocates only for what it has to build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KrbMessage<'a> {
    /// The message type, from the outer [APPLICATION n] tag (the inner `msg-type` field is not
    /// compared with it).
    pub msg_type: Option<MsgType>,
    /// Every realm named: request realm, crealm, ticket realms, error realms; each distinct
    /// realm once, in the order first named (a message names its realm in several places).
    pub realms: Few<Cow<'a, str>, 2>,
    /// The client principal `cname@crealm` (AS-REQ, AS-REP, TGS-REP, KRB-ERROR).
    pub client: Option<String>,
    /// The requested service principal (`sname` of KDC-REQ-BODY), components joined with "/".
    pub sname: Option<Cow<'a, str>>,
    /// The `sname` of a KRB-ERROR (the service the error is about).
    pub error_sname: Option<Cow<'a, str>>,
    /// Service principals of tickets carried (reply ticket, AP-REQ ticket, the TGT inside the
    /// PA-TGS-REQ of a TGS-REQ).
    pub ticket_snames: Few<Cow<'a, str>, 2>,
    /// Encryption types the client asked for (KDC-REQ-BODY `etype`, in its order).
    pub etypes_requested: Few<i32, 8>,
    /// Encryption type of the reply's enc-part (AS-REP/TGS-REP, AP-REP, KRB-PRIV).
    pub enc_part_etype: Option<i32>,
    /// Encryption types of the tickets carried (same order as `ticket_snames`).
    pub ticket_etypes: Few<i32, 2>,
    /// Pre-authentication data types of a request or reply (`padata`), not the hints inside a
    /// KRB-ERROR's e-data.
    pub padata_types: Few<i32, 6>,
    /// KRB-ERROR `error-code`.
    pub error_code: Option<i32>,
    /// KRB-ERROR `e-data` (for kpasswd, RFC 3244 2: the result code and string).
    pub e_data: Option<&'a [u8]>,
}

impl KrbMessage<'_> {
    /// True if the request carries PA-PK-AS-REQ (or its pre-RFC predecessor): PKINIT.
    pub fn is_pkinit_request(&self) -> bool {
        matches!(
            self.msg_type,
            Some(MsgType::AS_REQ) | Some(MsgType::TGS_REQ)
        ) && self
            .padata_types
            .iter()
            .any(|&t| t == PA_PK_AS_REQ || t == PA_PK_AS_REQ_OLD)
    }
}

/// Why a message could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KrbParseError {
    /// The bytes do not start with a Kerberos [APPLICATION n] tag.
    NotKerberos,
    /// The message is cut short (its BER length runs past the end of the bytes).
    Truncated,
    /// The tag is Kerberos but the content does not decode (RFC 4120 5 ASN.1).
    Malformed,
}

/// `name/instance...` of a PrincipalName (RFC 4120 5.2.2), as Wireshark joins them. Takes the
/// parsed name: a one-component name is moved, not copied.
fn principal<'a>(p: PrincipalName) -> Cow<'a, str> {
    let mut parts = p.name_string;
    Cow::Owned(if parts.len() == 1 {
        parts.pop().unwrap_or_default()
    } else {
        parts.join("/")
    })
}

/// `principal@realm`.
fn client(p: PrincipalName, realm: &str) -> String {
    let mut c = principal(p).into_owned();
    c.reserve(1 + realm.len());
    c.push('@');
    c.push_str(realm);
    c
}

/// Parses one whole Kerberos message (RFC 4120 section 5). `data` must hold exactly one message
/// (the UDP payload, or a TCP record without its 4-byte mark); trailing bytes are ignored.
pub fn parse_message(data: &[u8]) -> Result<KrbMessage<'_>, KrbParseError> {
    let tlv = match ber::header(data) {
        Ok(t) => t,
        Err(ber::BerError::Incomplete) => return Err(KrbParseError::Truncated),
        Err(ber::BerError::Invalid) => return Err(KrbParseError::NotKerberos),
    };
    let mt = MsgType::from_tag(tlv.tag).ok_or(KrbParseError::NotKerberos)?;
    if tlv.total_len() > data.len() {
        return Err(KrbParseError::Truncated);
    }
    if let Some(m) = super::strict::parse(data, mt) {
        return Ok(m);
    }
    parse_with_library(data, mt)
}

/// The message of type `mt` (its outer tag read, all of it present) decoded by kerberos-parser:
/// for whatever [`super::strict`] does not accept, and the reference it is tested against.
pub(super) fn parse_with_library(
    data: &[u8],
    mt: MsgType,
) -> Result<KrbMessage<'_>, KrbParseError> {
    let mut m = KrbMessage {
        msg_type: Some(mt),
        ..KrbMessage::default()
    };
    // The decoded values are moved into the summary, not copied.
    let ok = match mt {
        MsgType::AS_REQ => parse_as_req(data).map(|(_, r)| add_req(&mut m, r)).is_ok(),
        MsgType::TGS_REQ => parse_tgs_req(data).map(|(_, r)| add_req(&mut m, r)).is_ok(),
        MsgType::AS_REP => parse_as_rep(data).map(|(_, r)| add_rep(&mut m, r)).is_ok(),
        MsgType::TGS_REP => parse_tgs_rep(data).map(|(_, r)| add_rep(&mut m, r)).is_ok(),
        MsgType::AP_REQ => ApReq::from_der(data)
            .map(|(_, r)| add_ticket(&mut m, r.ticket))
            .is_ok(),
        MsgType::AP_REP => kerberos_parser::krb5::ApRep::from_der(data)
            .map(|(_, r)| m.enc_part_etype = Some(r.enc_part.etype.0))
            .is_ok(),
        MsgType::ERROR => KrbError::from_der(data)
            .map(|(_, e)| add_error(&mut m, e))
            .is_ok(),
        _ => parse_enc_only(data, &mut m).is_some(),
    };
    if ok {
        Ok(m)
    } else {
        Err(KrbParseError::Malformed)
    }
}

/// Adds `realm` to `m.realms` unless it is already there (a borrowed realm is not copied; an
/// owned one is moved in, or freed when repeated).
pub(super) fn add_realm<'a, S: AsRef<str> + Into<Cow<'a, str>>>(m: &mut KrbMessage<'a>, realm: S) {
    if !m.realms.iter().any(|r| **r == *realm.as_ref()) {
        m.realms.push(realm.into());
    }
}

pub(super) fn add_ticket<'a>(m: &mut KrbMessage<'a>, t: Ticket<'_>) {
    add_realm(m, t.realm.0);
    m.ticket_snames.push(principal(t.sname));
    m.ticket_etypes.push(t.enc_part.etype.0);
}

fn add_req<'a>(m: &mut KrbMessage<'a>, r: KdcReq<'a>) {
    let b = r.req_body;
    if let Some(c) = b.cname {
        m.client = Some(client(c, &b.realm.0));
    }
    add_realm(m, b.realm.0);
    m.sname = b.sname.map(principal);
    m.etypes_requested = b.etype.iter().map(|e| e.0).collect();
    for p in &r.padata {
        m.padata_types.push(p.padata_type.0);
        // RFC 4120 5.2.7.1: PA-TGS-REQ holds the AP-REQ that carries the TGT.
        if p.padata_type.0 == PA_TGS_REQ {
            add_pa_tgs_req(m, p.padata_value);
        }
    }
    for p in r.padata.iter().filter(|p| p.padata_type.0 == PA_FOR_USER) {
        if let Some(realm) = super::strict::for_user_realm(p.padata_value) {
            add_realm(m, realm);
        }
    }
    for t in b.additional_tickets {
        add_ticket(m, t);
    }
}

/// The TGT of a PA-TGS-REQ value (an AP-REQ, RFC 4120 5.2.7.1) added to `m`, if it decodes (a
/// value that does not is no reason to reject the request: kerberos-parser sees an OCTET STRING).
pub(super) fn add_pa_tgs_req<'a>(m: &mut KrbMessage<'a>, value: &'a [u8]) {
    if super::strict::ap_req_ticket(value, m).is_none() {
        if let Ok((_, ap)) = ApReq::from_der(value) {
            add_ticket(m, ap.ticket);
        }
    }
}

fn add_rep<'a>(m: &mut KrbMessage<'a>, r: KdcRep<'_>) {
    m.client = Some(client(r.cname, &r.crealm.0));
    add_realm(m, r.crealm.0);
    m.padata_types = r.padata.iter().map(|p| p.padata_type.0).collect();
    add_ticket(m, r.ticket);
    m.enc_part_etype = Some(r.enc_part.etype.0);
}

fn add_error<'a>(m: &mut KrbMessage<'a>, e: KrbError<'a>) {
    m.error_code = Some(e.error_code.0);
    if let Some(c) = e.cname {
        let realm = e.crealm.as_ref().unwrap_or(&e.realm);
        m.client = Some(client(c, &realm.0));
    }
    if let Some(cr) = e.crealm {
        add_realm(m, cr.0);
    }
    add_realm(m, e.realm.0);
    m.error_sname = Some(principal(e.sname));
    m.e_data = e.edata;
}

/// KRB-SAFE, KRB-PRIV and KRB-CRED (RFC 4120 5.6-5.8): checks the outer shape and reads the
/// enc-part etype of KRB-PRIV / KRB-CRED.
///
/// ```text
/// KRB-PRIV ::= [APPLICATION 21] SEQUENCE {
///         pvno [0] INTEGER (5), msg-type [1] INTEGER (21),
///         -- NOTE: there is no [2] tag
///         enc-part [3] EncryptedData }
/// KRB-CRED ::= [APPLICATION 22] SEQUENCE { pvno [0], msg-type [1], tickets [2], enc-part [3] }
/// ```
fn parse_enc_only<'a>(data: &'a [u8], m: &mut KrbMessage<'a>) -> Option<()> {
    let (_, app, _) = ber::split(data).ok()?;
    let (seq, mut body, _) = ber::split(app).ok()?;
    if seq.tag != 0x30 {
        return None;
    }
    let mut pvno_ok = false;
    while !body.is_empty() {
        let (f, content, rest) = ber::split(body).ok()?;
        match f.tag {
            // pvno [0] INTEGER (5)
            0xa0 => pvno_ok = content == [0x02, 0x01, 0x05],
            // enc-part [3] EncryptedData ::= SEQUENCE { etype [0] Int32, ... }
            0xa3 => {
                let (s, inner, _) = ber::split(content).ok()?;
                let (e, etype, _) = ber::split(inner).ok()?;
                if s.tag == 0x30 && e.tag == 0xa0 {
                    let (_, i) = i32::from_der(etype).ok()?;
                    m.enc_part_etype = Some(i);
                }
            }
            _ => {}
        }
        body = rest;
    }
    pvno_ok.then_some(())
}

/// Result of reading a TCP record mark (RFC 4120 7.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// Fewer than 4 bytes, or the record is not complete yet.
    Incomplete,
    /// A whole record: the message is `data[4..4 + len]`.
    Complete(usize),
    /// The reserved high bit is set, the length is 0, or it exceeds [`MAX_RECORD_LEN`].
    Invalid,
}

/// Reads the 4-byte big-endian record mark at the start of `data` and says whether the whole
/// record is present.
pub fn record(data: &[u8]) -> Record {
    let Some(mark) = data.get(..4) else {
        return Record::Incomplete;
    };
    let len = u32::from_be_bytes([mark[0], mark[1], mark[2], mark[3]]);
    // RFC 4120 7.2.2: the high bit is reserved for extensions; certflow knows none.
    if len & 0x8000_0000 != 0 || len == 0 || len as usize > MAX_RECORD_LEN {
        return Record::Invalid;
    }
    let len = len as usize;
    if data.len() < 4 + len {
        Record::Incomplete
    } else {
        Record::Complete(len)
    }
}

/// Cheap shape check of the start of a Kerberos message: a known [APPLICATION n] tag, a BER
/// length equal to `expect_len` when given, then `SEQUENCE { [0] or [1] INTEGER 5 ...` (the
/// pvno, first field of every message; KDC-REQ numbers it `[1]`). Needs the first 9-17 bytes.
pub fn looks_like_message(data: &[u8], expect_len: Option<usize>) -> bool {
    let Ok(app) = ber::header(data) else {
        return false;
    };
    let Some(mt) = MsgType::from_tag(app.tag) else {
        return false;
    };
    if let Some(n) = expect_len {
        if app.total_len() != n {
            return false;
        }
    }
    let Some(after_app) = data.get(app.header_len..) else {
        return false;
    };
    let Ok(seq) = ber::header(after_app) else {
        return false;
    };
    if seq.tag != 0x30 || seq.total_len() != app.content_len {
        return false;
    }
    let pvno_tag = if mt == MsgType::AS_REQ || mt == MsgType::TGS_REQ {
        0xa1
    } else {
        0xa0
    };
    after_app.get(seq.header_len..seq.header_len + 5) == Some(&[pvno_tag, 0x03, 0x02, 0x01, 0x05])
}

/// kpasswd protocol version of RFC 3244 (change password).
pub const KPASSWD_VERSION_CHANGE: u16 = 0x0001;
/// kpasswd version 0xff80: set password (draft-ietf-cat-kerberos-set-passwd, used by Windows and
/// MIT for administrative resets).
pub const KPASSWD_VERSION_SET: u16 = 0xff80;

/// Name of a kpasswd version number.
pub fn kpasswd_version_name(v: u16) -> &'static str {
    match v {
        KPASSWD_VERSION_CHANGE => "change-password",
        KPASSWD_VERSION_SET => "set-password",
        _ => "unknown",
    }
}

/// Name of a kpasswd result code (RFC 3244 2; 5-7 from the set-password draft and MS-KILE).
pub fn kpasswd_result_name(code: u16) -> &'static str {
    match code {
        0 => "KRB5_KPASSWD_SUCCESS",
        1 => "KRB5_KPASSWD_MALFORMED",
        2 => "KRB5_KPASSWD_HARDERROR",
        3 => "KRB5_KPASSWD_AUTHERROR",
        4 => "KRB5_KPASSWD_SOFTERROR",
        5 => "KRB5_KPASSWD_ACCESSDENIED",
        6 => "KRB5_KPASSWD_BAD_VERSION",
        7 => "KRB5_KPASSWD_INITIAL_FLAG_NEEDED",
        _ => "unknown",
    }
}

/// One kpasswd message (RFC 3244 section 2).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// |         message length        |    protocol version number    |
/// |          AP_REQ length        |         AP-REQ data           /
/// /                        KRB-PRIV message                       /
/// ```
/// A reply has the same header with the AP-REP length, then AP-REP and KRB-PRIV, or an AP-REP
/// length of 0 and a KRB-ERROR. Some servers send a bare KRB-ERROR without the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KpasswdMessage<'a> {
    /// A request (AP-REQ present).
    Request {
        /// Protocol version ([`KPASSWD_VERSION_CHANGE`] or [`KPASSWD_VERSION_SET`]).
        version: u16,
        /// The AP-REQ, parsed.
        ap_req: KrbMessage<'a>,
    },
    /// A reply with AP-REP and KRB-PRIV: the result code is inside the encrypted KRB-PRIV.
    Reply {
        /// Protocol version.
        version: u16,
    },
    /// A reply carrying a KRB-ERROR (with or without the kpasswd header).
    Error {
        /// The KRB-ERROR, parsed (its e-data holds the result code, RFC 3244 2).
        error: KrbMessage<'a>,
    },
}

/// Size of the kpasswd header (message length, version, AP-REQ/AP-REP length).
pub const KPASSWD_HEADER_LEN: usize = 6;

fn be16(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at + 2)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

/// Parses one whole kpasswd message (the UDP payload, or a TCP record without its mark).
pub fn parse_kpasswd(data: &[u8]) -> Result<KpasswdMessage<'_>, KrbParseError> {
    if data.first() == Some(&0x7e) {
        let error = parse_message(data)?;
        return Ok(KpasswdMessage::Error { error });
    }
    let (Some(len), Some(version), Some(ap_len)) = (be16(data, 0), be16(data, 2), be16(data, 4))
    else {
        return Err(KrbParseError::Truncated);
    };
    let (len, ap_len) = (usize::from(len), usize::from(ap_len));
    if len < KPASSWD_HEADER_LEN + ap_len {
        return Err(KrbParseError::Malformed);
    }
    let msg = data.get(..len).ok_or(KrbParseError::Truncated)?;
    let ap = msg
        .get(KPASSWD_HEADER_LEN..KPASSWD_HEADER_LEN + ap_len)
        .ok_or(KrbParseError::Truncated)?;
    let rest = msg.get(KPASSWD_HEADER_LEN + ap_len..).unwrap_or(&[]);
    if ap_len == 0 {
        let error = parse_message(rest)?;
        if error.msg_type != Some(MsgType::ERROR) {
            return Err(KrbParseError::Malformed);
        }
        return Ok(KpasswdMessage::Error { error });
    }
    let first = parse_message(ap)?;
    match first.msg_type {
        Some(MsgType::AP_REQ) => Ok(KpasswdMessage::Request {
            version,
            ap_req: first,
        }),
        Some(MsgType::AP_REP) => {
            // The KRB-PRIV (or, from some servers, a KRB-ERROR) follows the AP-REP.
            let body = parse_message(rest)?;
            if body.msg_type == Some(MsgType::ERROR) {
                Ok(KpasswdMessage::Error { error: body })
            } else {
                Ok(KpasswdMessage::Reply { version })
            }
        }
        _ => Err(KrbParseError::Malformed),
    }
}

/// The kpasswd result code carried in a KRB-ERROR's e-data (RFC 3244 2: two octets, big-endian,
/// then a UTF-8 result string).
pub fn kpasswd_result_code(e_data: &[u8]) -> Option<u16> {
    be16(e_data, 0)
}

/// Cheap shape check of a kpasswd message: the header's message length equals `expect_len`,
/// a known version, and an AP-REQ/AP-REP (or, with length 0, a KRB-ERROR) right after it.
pub fn looks_like_kpasswd(data: &[u8], expect_len: usize) -> bool {
    let (Some(len), Some(version), Some(ap_len)) = (be16(data, 0), be16(data, 2), be16(data, 4))
    else {
        return false;
    };
    if usize::from(len) != expect_len
        || (version != KPASSWD_VERSION_CHANGE && version != KPASSWD_VERSION_SET)
    {
        return false;
    }
    let Some(body) = data.get(KPASSWD_HEADER_LEN..) else {
        return false;
    };
    let want: &[u8] = if ap_len == 0 { &[0x7e] } else { &[0x6e, 0x6f] };
    body.first().is_some_and(|b| want.contains(b))
        && looks_like_message(body, (ap_len > 0).then_some(usize::from(ap_len)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::testutil::hex;

    /// kerberos_udp_vlan_krb_error.pcap frame 1, udp.payload (287 bytes): AS-REQ over UDP 88.
    const UDP_AS_REQ: &str = crate::proto::testutil::KRB_UDP_AS_REQ;
    /// kerberos_udp_vlan_krb_error.pcap frame 2, udp.payload (102 bytes): KRB-ERROR 52.
    const UDP_KRB_ERROR: &str = crate::proto::testutil::KRB_UDP_ERROR_52;
    /// kerberos_tcp_vlan_optional_sname.pcap frame 3, tcp.payload: record mark + AS-REQ with
    /// neither cname nor sname.
    const TCP_AS_REQ_NO_SNAME: &str = crate::proto::testutil::KRB_TCP_AS_REQ_NO_SNAME;
    /// kerberos_tcp_vlan_optional_sname.pcap frame 4, tcp.payload: record mark + KRB-ERROR 60.
    const TCP_KRB_ERROR_60: &str = crate::proto::testutil::KRB_TCP_ERROR_60;

    #[test]
    fn udp_as_req_fields_match_tshark() {
        let b = hex(UDP_AS_REQ);
        let m = parse_message(&b).unwrap();
        // tshark: kerberos.msg_type 10, CNameString host,mus-n-cj0709, realm LINUX.SHELL.COM,
        // SNameString krbtgt,LINUX.SHELL.COM, padata_type 2,149, ENCTYPE list 23 18 17 20 19 16 25 26.
        assert_eq!(m.msg_type, Some(MsgType::AS_REQ));
        assert_eq!(
            m.client.as_deref(),
            Some("host/mus-n-cj0709@LINUX.SHELL.COM")
        );
        assert_eq!(m.sname.as_deref(), Some("krbtgt/LINUX.SHELL.COM"));
        assert_eq!(*m.realms, ["LINUX.SHELL.COM"]);
        assert_eq!(*m.padata_types, [2, 149]);
        assert_eq!(*m.etypes_requested, [23, 18, 17, 20, 19, 16, 25, 26]);
        assert!(!m.is_pkinit_request());
        assert!(looks_like_message(&b, Some(b.len())));
    }

    #[test]
    fn a_realm_named_twice_is_listed_once() {
        // kerberos_kerberoast_tgsreq_rc4.pcap frame 4 (tcp.stream 0, client port 49216): a
        // TGS-REQ whose body realm and PA-TGS-REQ ticket realm are both OFFENSE.LOCAL (tshark:
        // kerberos.realm OFFENSE.LOCAL twice). Both decoders list it once.
        let Some(c) =
            crate::proto::testutil::tcp_conn("kerberos_kerberoast_tgsreq_rc4.pcap", 49216, 88)
        else {
            return;
        };
        let (_, seg) = c.iter().find(|(_, s)| s.frame == 4).unwrap();
        let msg = &seg.payload[4..];
        assert_eq!(msg.first(), Some(&0x6c));
        let fast = parse_message(msg).unwrap();
        let lib = parse_with_library(msg, MsgType::TGS_REQ).unwrap();
        assert_eq!(fast, lib);
        assert_eq!(*fast.realms, ["OFFENSE.LOCAL"]);
        assert_eq!(*fast.ticket_snames, ["krbtgt/OFFENSE.LOCAL"]);
        assert_eq!(
            fast.sname.as_deref(),
            Some("HTTP/dc-mantvydas.offense.local")
        );
    }

    #[test]
    fn udp_krb_error_52() {
        let b = hex(UDP_KRB_ERROR);
        let m = parse_message(&b).unwrap();
        assert_eq!(m.msg_type, Some(MsgType::ERROR));
        assert_eq!(m.error_code, Some(52));
        assert_eq!(error_name(52), "KRB_ERR_RESPONSE_TOO_BIG");
        assert_eq!(m.error_sname.as_deref(), Some("krbtgt/LINUX.SHELL.COM"));
        assert_eq!(*m.realms, ["LINUX.SHELL.COM"]);
    }

    #[test]
    fn tcp_record_and_optional_sname() {
        let b = hex(TCP_AS_REQ_NO_SNAME);
        assert_eq!(record(&b), Record::Complete(106));
        let m = parse_message(&b[4..]).unwrap();
        // tshark: realm kerberos_realm_time.nasl, no CNameString, no SNameString, ENCTYPE 11.
        assert_eq!(m.msg_type, Some(MsgType::AS_REQ));
        assert_eq!(m.client, None);
        assert_eq!(m.sname, None);
        assert_eq!(*m.realms, ["kerberos_realm_time.nasl"]);
        assert_eq!(*m.etypes_requested, [11]);
        let e = hex(TCP_KRB_ERROR_60);
        assert_eq!(record(&e), Record::Complete(0x56));
        let m = parse_message(&e[4..]).unwrap();
        assert_eq!(m.error_code, Some(60));
        assert_eq!(error_name(60), "KRB_ERR_GENERIC");
        assert_eq!(m.error_sname.as_deref(), Some("krbtgt/HEC.NET"));
    }

    #[test]
    fn truncated_prefixes_never_panic() {
        for src in [UDP_AS_REQ, UDP_KRB_ERROR] {
            let b = hex(src);
            for n in 0..b.len() {
                assert!(parse_message(&b[..n]).is_err(), "prefix {n} parsed");
                let _ = looks_like_message(&b[..n], None);
                let _ = parse_kpasswd(&b[..n]);
            }
        }
        let b = hex(TCP_AS_REQ_NO_SNAME);
        for n in 0..b.len() {
            assert_ne!(record(&b[..n]), Record::Complete(106));
        }
    }

    #[test]
    fn corrupted_lengths_are_errors() {
        // Outer BER length one byte too long / short (kerberos_udp_vlan_krb_error.pcap frame 2).
        let mut b = hex(UDP_KRB_ERROR);
        b[1] = 0x65;
        assert_eq!(parse_message(&b), Err(KrbParseError::Truncated));
        b[1] = 0x63;
        assert!(parse_message(&b).is_err());
        // Inner realm length corrupted: the ASN.1 decoder rejects it.
        let mut b = hex(UDP_KRB_ERROR);
        b[0x2d] = 0x7f;
        assert_eq!(parse_message(&b), Err(KrbParseError::Malformed));
        // Record mark with the reserved bit, zero length, above the cap.
        assert_eq!(record(&[0x80, 0, 0, 1, 0x6a]), Record::Invalid);
        assert_eq!(record(&[0, 0, 0, 0]), Record::Invalid);
        assert_eq!(record(&[0, 0x20, 0, 0]), Record::Invalid);
        assert_eq!(
            parse_message(&[0x30, 0x00]),
            Err(KrbParseError::NotKerberos)
        );
    }

    #[test]
    fn kpasswd_header() {
        // A kpasswd error reply built around the KRB-ERROR of kerberos_udp_vlan_krb_error.pcap
        // frame 2 (no kpasswd capture exists, see PROVENANCE.md): header length 6 + 102,
        // version 1, AP-REP length 0, then the KRB-ERROR.
        let err = hex(UDP_KRB_ERROR);
        let mut b = vec![0, 108, 0, 1, 0, 0];
        b.extend_from_slice(&err);
        assert!(looks_like_kpasswd(&b, b.len()));
        match parse_kpasswd(&b).unwrap() {
            KpasswdMessage::Error { error } => assert_eq!(error.error_code, Some(52)),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(kpasswd_version_name(0xff80), "set-password");
        // An AS-REQ is no AP-REQ: a kpasswd header in front of it is refused.
        let asreq = hex(UDP_AS_REQ);
        let mut b = vec![0x01, 0x25, 0, 1, 0x01, 0x1f];
        b.extend_from_slice(&asreq);
        assert!(!looks_like_kpasswd(&b, b.len()));
        assert_eq!(parse_kpasswd(&b), Err(KrbParseError::Malformed));
        // Header length shorter than the AP-REQ length it announces.
        assert_eq!(
            parse_kpasswd(&[0, 6, 0, 1, 0, 9, 0x6e]),
            Err(KrbParseError::Malformed)
        );
    }
}
