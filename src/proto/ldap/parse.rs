//! Pure parsing of one LDAP message (RFC 4511 4.1.1 `LDAPMessage`), its framing on a stream,
//! and the rendering of search filters as strings (RFC 4515).
//!
//! The ASN.1 decoding is done by `ldap-parser` 0.5; this module turns its borrowed structures into
//! the few facts certflow keeps. Two gaps of ldap-parser are worked around here: it does not
//! decode the `referral [3]` of LDAPResult (harmless: the field is skipped because the enclosing
//! element's length bounds the parse) and it rejects unknown protocolOp tags (counted as
//! malformed, the tag is still reported by [`peek_op`]).
//!
//! The most frequent messages (bindRequest, searchRequest, the LDAPResult-only responses,
//! unbindRequest) are first tried by a fast path ([`parse_message`] calls `parse_simple`) that
//! reads them with the BER helper and accepts only a subset of what ldap-parser accepts, with
//! the same result; everything else, including every message ldap-parser would reject, goes to
//! ldap-parser. The exceptions are the Sicily bind (MS-ADTS 5.1.1.1.3), read only by the fast
//! path because ldap-parser does not know it, and the bindResponse that carries a Sicily bind's
//! NTLM CHALLENGE in its matchedDN, which ldap-parser refuses because the DN is not UTF-8.

use std::borrow::Cow;

use ldap_parser::filter::{Filter, Substring};
use ldap_parser::ldap::{AuthenticationChoice, LdapMessage, ProtocolOp};
use ldap_parser::FromBer;

use super::ber::{self, BerError};
use crate::evidence::capped;
use crate::proto::{auth, ntlm};

/// Largest LDAP message accepted, in bytes. RFC 4511 sets no limit; Active Directory's
/// MaxReceiveBuffer defaults to 10 MB for requests, and single search result entries carrying
/// CRLs or large ntSecurityDescriptors stay below a few MiB. 4 MiB bounds what one direction may
/// make the flow layer buffer; bigger messages are skipped and counted.
pub const MAX_MESSAGE_LEN: usize = 4 << 20;

/// Longest filter string kept (after RFC 4515 escaping); longer ones are cut and end in "...".
/// AD CS discovery filters are below 200 characters; PowerView builds filters of a few hundred.
pub const MAX_FILTER_STRING_LEN: usize = 512;

/// Longest DN, attribute name or mechanism string kept as a fact, in bytes.
pub const MAX_STRING_LEN: usize = 512;

/// The StartTLS extended operation (RFC 4511 4.14.1).
pub const STARTTLS_OID: &str = "1.3.6.1.4.1.1466.20037";

/// Name of a protocolOp (RFC 4511 4.2-4.14 ASN.1 `protocolOp` CHOICE names, as Wireshark shows
/// them in `ldap.protocolOp`), from its APPLICATION tag number.
pub fn op_name(tag: u32) -> &'static str {
    match tag {
        0 => "bindRequest",
        1 => "bindResponse",
        2 => "unbindRequest",
        3 => "searchRequest",
        4 => "searchResEntry",
        5 => "searchResDone",
        6 => "modifyRequest",
        7 => "modifyResponse",
        8 => "addRequest",
        9 => "addResponse",
        10 => "delRequest",
        11 => "delResponse",
        12 => "modDNRequest",
        13 => "modDNResponse",
        14 => "compareRequest",
        15 => "compareResponse",
        16 => "abandonRequest",
        19 => "searchResRef",
        23 => "extendedReq",
        24 => "extendedResp",
        25 => "intermediateResponse",
        _ => "unknown",
    }
}

/// Name of an LDAPResult resultCode (RFC 4511 4.1.9 and appendix A), or "unknown".
pub fn result_name(code: u32) -> &'static str {
    match code {
        0 => "success",
        1 => "operationsError",
        2 => "protocolError",
        3 => "timeLimitExceeded",
        4 => "sizeLimitExceeded",
        5 => "compareFalse",
        6 => "compareTrue",
        7 => "authMethodNotSupported",
        8 => "strongerAuthRequired",
        10 => "referral",
        11 => "adminLimitExceeded",
        12 => "unavailableCriticalExtension",
        13 => "confidentialityRequired",
        14 => "saslBindInProgress",
        16 => "noSuchAttribute",
        17 => "undefinedAttributeType",
        18 => "inappropriateMatching",
        19 => "constraintViolation",
        20 => "attributeOrValueExists",
        21 => "invalidAttributeSyntax",
        32 => "noSuchObject",
        33 => "aliasProblem",
        34 => "invalidDNSyntax",
        36 => "aliasDereferencingProblem",
        48 => "inappropriateAuthentication",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        54 => "loopDetect",
        64 => "namingViolation",
        65 => "objectClassViolation",
        66 => "notAllowedOnNonLeaf",
        67 => "notAllowedOnRDN",
        68 => "entryAlreadyExists",
        69 => "objectClassModsProhibited",
        71 => "affectsMultipleDSAs",
        80 => "other",
        _ => "unknown",
    }
}

/// Where the next element of a stream ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// More bytes are needed to know, or to have all of it.
    Incomplete,
    /// The element is complete and this many bytes long.
    Complete(usize),
    /// Too long (above the cap, this many bytes): skip it.
    TooLong(usize),
    /// Not a plausible start.
    Invalid,
}

/// Frames the LDAPMessage (a BER SEQUENCE, RFC 4511 5.1) at the start of `data`.
pub fn message_frame(data: &[u8]) -> Frame {
    match ber::header(data) {
        Err(BerError::Incomplete) => Frame::Incomplete,
        Err(BerError::Invalid) => Frame::Invalid,
        Ok(t) => message_frame_of(t, data.len()),
    }
}

/// [`message_frame`] from the header `t` read at the start of `avail` bytes.
#[inline]
fn message_frame_of(t: ber::Tlv, avail: usize) -> Frame {
    match t {
        t if t.tag != 0x30 => Frame::Invalid,
        t if t.total_len() > MAX_MESSAGE_LEN => Frame::TooLong(t.total_len()),
        t if t.total_len() > avail => Frame::Incomplete,
        t => Frame::Complete(t.total_len()),
    }
}

/// Is `tag` the identifier octet of a protocolOp (APPLICATION class; constructed for the
/// SEQUENCE-based ones, primitive for unbindRequest (NULL), delRequest (LDAPDN) and
/// abandonRequest (MessageID))?
fn is_op_tag(tag: u8) -> bool {
    match tag {
        0x42 | 0x4a | 0x50 => true,
        t if t & 0xe0 == 0x60 => matches!(t & 0x1f, 0 | 1 | 3..=9 | 11..=15 | 19 | 23..=25),
        _ => false,
    }
}

/// The fields whole at the start of a message the capture cut short (see
/// [`crate::proto::Analyzer::cut`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CutDetail {
    /// A searchRequest's baseObject (RFC 4511 4.5.1, its first field).
    Search {
        /// baseObject.
        base: String,
    },
    /// A bindRequest's name and authentication choice (RFC 4511 4.2; MS-ADTS 5.1.1.1.3), when
    /// the choice's header (and, for SASL, the mechanism) is whole.
    Bind {
        /// The bind name.
        name: String,
        /// How it authenticates.
        kind: BindKind,
    },
    /// An extendedReq's requestName (RFC 4511 4.12, its first field).
    Extended {
        /// requestName.
        oid: String,
    },
    /// A response's resultCode (RFC 4511 4.1.9, the first field of an LDAPResult).
    Result {
        /// resultCode.
        code: u32,
    },
}

/// The protocolOp tag of the message at the start of `data` and what its whole first fields
/// give (see [`CutDetail`]), for a message the capture cut short; `None` when `data` does not
/// start with an LDAPMessage header and messageID.
pub fn cut_detail(data: &[u8]) -> Option<(u32, Option<CutDetail>)> {
    let (_, op) = peek_op(data)?;
    let seq = ber::header(data).ok()?;
    let (_, _, rest) = ber::split(data.get(seq.header_len..)?).ok()?;
    let op_tlv = ber::header(rest).ok()?;
    let c = rest.get(op_tlv.header_len..)?;
    let detail = match op {
        3 => ldap_string(c).map(|(base, _)| CutDetail::Search {
            base: capped(base, MAX_STRING_LEN),
        }),
        0 => cut_bind(c),
        // The responses that are an LDAPResult, or begin with one (RFC 4511 4.2.2, 4.12).
        1 | 5 | 7 | 9 | 11 | 13 | 15 | 24 => match ber::split(c) {
            Ok((t, [code], _)) if t.tag == 0x0a => Some(CutDetail::Result {
                code: u32::from(*code),
            }),
            _ => None,
        },
        23 => match ber::split(c) {
            Ok((t, oid, _)) if t.tag == 0x80 => {
                std::str::from_utf8(oid)
                    .ok()
                    .map(|oid| CutDetail::Extended {
                        oid: capped(oid, MAX_STRING_LEN),
                    })
            }
            _ => None,
        },
        _ => None,
    };
    Some((op, detail))
}

/// The authentication choice of a bindRequest (RFC 4511 4.2; Sicily, MS-ADTS 5.1.1.1.3) from
/// its header `auth`, the bytes after that header (`content`: all of its content, or for a
/// message cut short its start) and the bind name; with the bytes after the SASL mechanism (for
/// the other choices, `content` itself). The length octets alone tell an empty password.
fn bind_kind<'a>(auth: ber::Tlv, content: &'a [u8], name: &str) -> Option<(BindKind, &'a [u8])> {
    Some(match auth.tag {
        0x80 if auth.content_len == 0 && name.is_empty() => (BindKind::Anonymous, content),
        0x80 if auth.content_len == 0 => (BindKind::Unauthenticated, content),
        0x80 => (BindKind::Simple, content),
        0x89..=0x8b => (BindKind::Sicily, content),
        0xa3 => {
            let (mech, rest) = ldap_string(content)?;
            (BindKind::Sasl(capped(mech, MAX_STRING_LEN)), rest)
        }
        _ => return None,
    })
}

/// [`cut_detail`] of a bindRequest's content `c` (possibly cut): version, name, then the
/// authentication choice's header (its length tells an empty password from a given one).
fn cut_bind(c: &[u8]) -> Option<CutDetail> {
    let [0x02, 0x01, _, ref rest @ ..] = *c else {
        return None;
    };
    let (name, rest) = ldap_string(rest)?;
    let auth = ber::header(rest).ok()?;
    let (kind, _) = bind_kind(auth, rest.get(auth.header_len..)?, name)?;
    Some(CutDetail::Bind {
        name: capped(name, MAX_STRING_LEN),
        kind,
    })
}

/// The messageID and protocolOp tag of the message at the start of `data`, read from its first
/// bytes only (`SEQUENCE { INTEGER (1-4 octets), [APPLICATION n] ...`), if they have that shape.
pub fn peek_op(data: &[u8]) -> Option<(u32, u32)> {
    op_after(data, ber::header(data).ok()?)
}

/// [`message_frame`] and, for a complete message, [`peek_op`], with the SEQUENCE header read
/// once: the per-message work of framing messages that follow one another.
pub fn frame_op(data: &[u8]) -> (Frame, Option<(u32, u32)>) {
    let t = match ber::header(data) {
        Err(BerError::Incomplete) => return (Frame::Incomplete, None),
        Err(BerError::Invalid) => return (Frame::Invalid, None),
        Ok(t) => t,
    };
    match message_frame_of(t, data.len()) {
        Frame::Complete(n) => (Frame::Complete(n), op_after(data, t)),
        f => (f, None),
    }
}

/// [`peek_op`] once the message's header `seq` has been read from the start of `data`.
#[inline]
fn op_after(data: &[u8], seq: ber::Tlv) -> Option<(u32, u32)> {
    if seq.tag != 0x30 {
        return None;
    }
    // messageID: INTEGER with 1 to 4 content octets, short-form length.
    let [0x02, n, ref rest @ ..] = *data.get(seq.header_len..)? else {
        return None;
    };
    let n = usize::from(n);
    if n == 0 || n > 4 {
        return None;
    }
    let (id_bytes, op) = rest.split_at_checked(n)?;
    let msg_id = id_bytes
        .iter()
        .fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
    let op_hdr = ber::header(op).ok()?;
    if !is_op_tag(op_hdr.tag) {
        return None;
    }
    // The protocolOp must fit in the message.
    if 2 + n + op_hdr.total_len() > seq.content_len {
        return None;
    }
    Some((msg_id, u32::from(op_hdr.tag & 0x1f)))
}

/// True if `data` starts like an LDAPMessage: SEQUENCE, messageID, a known protocolOp. Cheap,
/// reads at most the first 16 bytes.
pub fn looks_like_message(data: &[u8]) -> bool {
    peek_op(data).is_some()
}

/// How a client authenticates in a bindRequest (RFC 4511 4.2, RFC 4513 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindKind {
    /// Simple bind with empty name and password (RFC 4513 5.1.1).
    Anonymous,
    /// Simple bind with a name and no password (RFC 4513 5.1.2).
    Unauthenticated,
    /// Simple bind with a password (RFC 4513 5.1.3); the password is not kept.
    Simple,
    /// SASL bind with this mechanism (RFC 4513 5.2): GSS-SPNEGO, GSSAPI, EXTERNAL ...
    Sasl(String),
    /// Microsoft's Sicily bind (MS-ADTS 5.1.1.1.3): NTLM outside SASL, in the authentication
    /// choices `sicilyPackageDiscovery [9]`, `sicilyNegotiate [10]` and `sicilyResponse [11]`
    /// (each an OCTET STRING). ldap3 (hence certipy) and Windows' own clients bind this way with
    /// NTLM; ldap-parser does not know these choices.
    Sicily,
}

impl BindKind {
    /// "anonymous", "unauthenticated", "simple", "sicily" or `"sasl:<mechanism>"`; borrowed for the
    /// simple kinds and the SASL mechanisms Windows clients use (GSS-SPNEGO, GSSAPI, RFC 4752;
    /// EXTERNAL, RFC 4422 appendix A; DIGEST-MD5, RFC 2831), so labelling them allocates nothing.
    pub fn label(&self) -> Cow<'static, str> {
        match self {
            BindKind::Anonymous => Cow::Borrowed("anonymous"),
            BindKind::Unauthenticated => Cow::Borrowed("unauthenticated"),
            BindKind::Simple => Cow::Borrowed("simple"),
            BindKind::Sicily => Cow::Borrowed("sicily"),
            BindKind::Sasl(m) => match m.as_str() {
                "GSS-SPNEGO" => Cow::Borrowed("sasl:GSS-SPNEGO"),
                "GSSAPI" => Cow::Borrowed("sasl:GSSAPI"),
                "EXTERNAL" => Cow::Borrowed("sasl:EXTERNAL"),
                "DIGEST-MD5" => Cow::Borrowed("sasl:DIGEST-MD5"),
                m => Cow::Owned(format!("sasl:{m}")),
            },
        }
    }
}

/// A searchRequest (RFC 4511 4.5.1), reduced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    /// baseObject ("" is the root DSE).
    pub base: String,
    /// scope: 0 baseObject, 1 singleLevel, 2 wholeSubtree.
    pub scope: u32,
    /// The filter as an RFC 4515 string.
    pub filter: String,
    /// Requested attributes.
    pub attributes: Vec<String>,
    /// For a DC locator ping (MS-ADTS 6.3.3: filter on DnsDomain/Host/NtVer..., attribute
    /// Netlogon), the DnsDomain asked for ("" when the filter has none).
    pub locator_domain: Option<String>,
}

/// What one LDAPMessage says, reduced to the facts certflow reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detail {
    /// bindRequest.
    Bind {
        /// The bind name (DN or, for AD, a UPN / NetBIOS name), "" if none.
        name: String,
        /// How it authenticates.
        kind: BindKind,
    },
    /// A response carrying an LDAPResult (bindResponse, searchResDone, modifyResponse, ...).
    Result {
        /// resultCode.
        code: u32,
    },
    /// searchRequest.
    Search(Search),
    /// extendedReq.
    Extended {
        /// requestName (an OID).
        oid: String,
    },
    /// extendedResp.
    ExtendedResp {
        /// resultCode.
        code: u32,
        /// responseName, if present.
        oid: Option<String>,
    },
    /// Nothing certflow keeps beyond the operation.
    None,
}

/// One LDAPMessage, reduced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// messageID.
    pub id: u32,
    /// protocolOp APPLICATION tag number (see [`op_name`]).
    pub op: u32,
    /// Facts of the operation.
    pub detail: Detail,
    /// The authentication token of a SASL bind's credentials or a bindResponse's
    /// `serverSaslCreds` (GSSAPI, GSS-SPNEGO; RFC 4752), or the NTLM message of a Sicily bind
    /// step or of the bindResponse that carries the server's CHALLENGE in its matchedDN
    /// (MS-ADTS 5.1.1.1.3), copied when it may carry Kerberos or NTLM ([`auth_token`]): the
    /// client's AP-REQ with its ticket ("ldap/dc01.example.com"), the server's AP-REP or
    /// KRB-ERROR, NTLM's messages; read by [`crate::proto::auth::record_token`].
    pub auth_token: Option<Vec<u8>>,
}

/// Why a message could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LdapParseError {
    /// Cut short: the BER lengths run past the end.
    Truncated,
    /// Not decodable as an LDAPMessage (RFC 4511 4.1.1).
    Malformed,
}

/// Parses one whole LDAPMessage (RFC 4511 4.1.1) at the start of `data`.
pub fn parse_message(data: &[u8]) -> Result<Message, LdapParseError> {
    if let Some(m) = parse_simple(data) {
        return Ok(m);
    }
    parse_with_library(data)
}

/// The content of a DER-minimal, non-negative INTEGER or ENUMERATED that fits in a `u32` (X.690
/// 8.3.2, 8.4), or `None`.
fn minimal_u32(c: &[u8]) -> Option<u32> {
    let digits = match c {
        [] => return None,
        [0, b, ..] if *b < 0x80 => return None,
        [0, rest @ ..] if !rest.is_empty() => rest,
        [b, ..] if *b >= 0x80 => return None,
        _ => c,
    };
    if digits.len() > 4 {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0u32, |acc, &b| (acc << 8) | u32::from(b)),
    )
}

/// A copy of credentials that may carry a Kerberos or NTLM message ([`auth::may_carry`]: a
/// Kerberos or SPNEGO start, or NTLM's signature); other mechanisms' bytes are not kept.
fn auth_token(creds: &[u8]) -> Option<Vec<u8>> {
    auth::may_carry(creds).then(|| creds.to_vec())
}

/// Fast path of [`parse_message`] for the frequent messages: bindRequest (RFC 4511 4.2, see
/// [`fast_bind`]), searchRequest (4.5.1, see [`fast_search`]), the responses made of an LDAPResult alone (4.1.9: bindResponse,
/// searchResDone, modifyResponse, addResponse, delResponse, modDNResponse, compareResponse) and
/// unbindRequest (4.3). Reads them with [`ber`] instead of ldap-parser's generic decoder.
///
/// It accepts only a subset of what ldap-parser 0.5 accepts and yields the same [`Message`]:
/// exact identifier octets (`30`, `02`, the APPLICATION tag, `0a`, `04`), lengths of at most 4
/// octets, DER-minimal non-negative messageID and resultCode, UTF-8 matchedDN and
/// diagnosticMessage, nothing after them but a bindResponse's `serverSaslCreds [7]` (no
/// referral); for searchRequest, DER BOOLEANs (typesOnly, dnAttributes), every element read
/// to its end (ldap-parser stops at the first filter or attribute it cannot read and ignores the
/// rest); nothing after the protocolOp but one `controls [0]`. Anything else returns `None` and
/// goes to ldap-parser, whose verdict stands (malformed counts cannot change).
fn parse_simple(data: &[u8]) -> Option<Message> {
    let (seq, content, _) = ber::split(data).ok()?;
    if seq.tag != 0x30 {
        return None;
    }
    let (id_t, id, rest) = ber::split(content).ok()?;
    if id_t.tag != 0x02 {
        return None;
    }
    let id = minimal_u32(id)?;
    let (op_t, op, rest) = ber::split(rest).ok()?;
    match ber::split(rest) {
        _ if rest.is_empty() => {}
        // controls [0] Controls OPTIONAL (RFC 4511 4.1.11): ldap-parser reads them with
        // `many0`, which stops at the first control it cannot read; they never fail a message
        // and certflow keeps none of them.
        Ok((t, _, after)) if t.tag == 0xa0 && after.is_empty() => {}
        _ => return None,
    }
    let mut token = None;
    let detail = match op_t.tag {
        // unbindRequest [APPLICATION 2] NULL
        0x42 if op.is_empty() => Detail::None,
        // bindRequest [APPLICATION 0]
        0x60 => {
            let (d, t) = fast_bind(op)?;
            token = t;
            d
        }
        // searchRequest [APPLICATION 3]
        0x63 => fast_search(op)?,
        // [APPLICATION 1, 5, 7, 9, 11, 13, 15] LDAPResult
        0x61 | 0x65 | 0x67 | 0x69 | 0x6b | 0x6d | 0x6f => {
            let (t, code, rest) = ber::split(op).ok()?;
            if t.tag != 0x0a {
                return None;
            }
            let code = minimal_u32(code)?;
            // matchedDN LDAPDN, diagnosticMessage LDAPString (RFC 4511 4.1.9)
            let (dn_t, dn, rest) = ber::split(rest).ok()?;
            let (msg_t, msg, rest) = ber::split(rest).ok()?;
            // A Sicily bind's CHALLENGE comes in the bindResponse's matchedDN (MS-ADTS
            // 5.1.1.1.3): binary, which ldap-parser refuses.
            let challenge = op_t.tag == 0x61 && ntlm::parse::is_ntlm(dn);
            if dn_t.tag != 0x04
                || msg_t.tag != 0x04
                || (!challenge && std::str::from_utf8(dn).is_err())
                || std::str::from_utf8(msg).is_err()
            {
                return None;
            }
            if challenge {
                token = Some(dn.to_vec());
            }
            match ber::split(rest) {
                _ if rest.is_empty() => {}
                // bindResponse serverSaslCreds [7] OCTET STRING OPTIONAL
                Ok((t, creds, after)) if op_t.tag == 0x61 && t.tag == 0x87 && after.is_empty() => {
                    token = auth_token(creds).or(token);
                }
                _ => return None,
            }
            Detail::Result { code }
        }
        _ => return None,
    };
    Some(Message {
        id,
        op: u32::from(op_t.tag & 0x1f),
        detail,
        auth_token: token,
    })
}

/// The facts of a searchRequest (RFC 4511 4.5.1), however it was decoded.
fn search_detail<'a>(
    base: &str,
    scope: u32,
    filter: &Filter<'_>,
    attributes: impl Iterator<Item = &'a str>,
) -> Detail {
    let attributes: Vec<String> = attributes.map(|a| capped(a, MAX_STRING_LEN)).collect();
    let locator_domain = locator_domain(filter, &attributes);
    Detail::Search(Search {
        base: capped(base, MAX_STRING_LEN),
        scope,
        filter: filter_string(filter),
        attributes,
        locator_domain,
    })
}

/// Deepest filter nesting the fast path reads (ldap-parser's own limit is 32); deeper filters
/// are left to ldap-parser. AD CS and DC locator filters nest two or three levels.
const MAX_FAST_FILTER_DEPTH: usize = 16;

/// An LDAPString (RFC 4511 4.1.2): `04`, UTF-8.
fn ldap_string(data: &[u8]) -> Option<(&str, &[u8])> {
    let (t, c, rest) = ber::split(data).ok()?;
    if t.tag != 0x04 {
        return None;
    }
    Some((std::str::from_utf8(c).ok()?, rest))
}

/// An AttributeValueAssertion's content (RFC 4511 4.1.8): attributeDesc, assertionValue.
fn ava(c: &[u8]) -> Option<ldap_parser::filter::AttributeValueAssertion<'_>> {
    let (desc, rest) = ldap_string(c)?;
    let (t, value, rest) = ber::split(rest).ok()?;
    if t.tag != 0x04 || !rest.is_empty() {
        return None;
    }
    Some(ldap_parser::filter::AttributeValueAssertion {
        attribute_desc: ldap_parser::ldap::LdapString(Cow::Borrowed(desc)),
        assertion_value: Cow::Borrowed(value),
    })
}

/// The Filter (RFC 4511 4.5.1.7) at the start of `data`, built as ldap-parser builds it, and
/// what follows it; `None` for what the fast path leaves to ldap-parser (identifier octets
/// other than the DER ones, a BER-only BOOLEAN, anything left inside an element, nesting beyond
/// [`MAX_FAST_FILTER_DEPTH`]).
///
/// One difference, deliberate: an empty `and` or `or` is read. RFC 4526 makes them the
/// absolute true and false filters, written `(&)` and `(|)` (OpenLDAP's ldapsearch sends them);
/// ldap-parser 0.5 follows RFC 4511's SIZE (1..MAX) and refuses the message.
fn fast_filter(data: &[u8], depth: usize) -> Option<(Filter<'_>, &[u8])> {
    use ldap_parser::filter::{AssertionValue, SubstringFilter};
    if depth >= MAX_FAST_FILTER_DEPTH {
        return None;
    }
    let (t, c, rest) = ber::split(data).ok()?;
    let f = match t.tag {
        // and [0] SET OF Filter, or [1] likewise: SIZE (1..MAX) in RFC 4511, empty allowed by
        // RFC 4526 2.
        0xa0 | 0xa1 => {
            let mut v = Vec::new();
            let mut r = c;
            while !r.is_empty() {
                let (f, after) = fast_filter(r, depth + 1)?;
                v.push(f);
                r = after;
            }
            if t.tag == 0xa0 {
                Filter::And(v)
            } else {
                Filter::Or(v)
            }
        }
        // not [2] Filter
        0xa2 => match fast_filter(c, depth + 1)? {
            (f, []) => Filter::Not(Box::new(f)),
            _ => return None,
        },
        0xa3 => Filter::EqualityMatch(ava(c)?),
        0xa5 => Filter::GreaterOrEqual(ava(c)?),
        0xa6 => Filter::LessOrEqual(ava(c)?),
        0xa8 => Filter::ApproxMatch(ava(c)?),
        // substrings [4] SubstringFilter: type, SEQUENCE SIZE (1..MAX) OF CHOICE { initial [0],
        // any [1], final [2] }
        0xa4 => {
            let (desc, after) = ldap_string(c)?;
            let (seq, mut parts, after) = ber::split(after).ok()?;
            if seq.tag != 0x30 || !after.is_empty() || parts.is_empty() {
                return None;
            }
            let mut substrings = Vec::new();
            while !parts.is_empty() {
                let (p, v, next) = ber::split(parts).ok()?;
                let v = AssertionValue(Cow::Borrowed(v));
                substrings.push(match p.tag {
                    0x80 => Substring::Initial(v),
                    0x81 => Substring::Any(v),
                    0x82 => Substring::Final(v),
                    _ => return None,
                });
                parts = next;
            }
            Filter::Substrings(SubstringFilter {
                filter_type: ldap_parser::ldap::LdapString(Cow::Borrowed(desc)),
                substrings,
            })
        }
        // present [7] AttributeDescription
        0x87 => Filter::Present(ldap_parser::ldap::LdapString(Cow::Borrowed(
            std::str::from_utf8(c).ok()?,
        ))),
        // extensibleMatch [9] MatchingRuleAssertion
        0xa9 => Filter::ExtensibleMatch(fast_matching_rule(c)?),
        _ => return None,
    };
    Some((f, rest))
}

/// A MatchingRuleAssertion's content (RFC 4511 4.5.1.7.7): matchingRule [1] and type [2]
/// (UTF-8, optional), matchValue [3], dnAttributes [4] (a DER BOOLEAN, optional), in that order
/// and nothing after them.
fn fast_matching_rule(c: &[u8]) -> Option<ldap_parser::filter::MatchingRuleAssertion<'_>> {
    use ldap_parser::filter::{AssertionValue, AttributeDescription, MatchingRuleAssertion};
    let mut rest = c;
    // The optional UTF-8 element tagged `tag` at the start of `rest`.
    let mut text = |tag: u8| -> Option<Option<&str>> {
        match ber::split(rest) {
            Ok((t, v, after)) if t.tag == tag => {
                rest = after;
                Some(Some(std::str::from_utf8(v).ok()?))
            }
            _ => Some(None),
        }
    };
    let rule = text(0x81)?;
    let rule_type = text(0x82)?;
    let (t, value, after) = ber::split(rest).ok()?;
    if t.tag != 0x83 {
        return None;
    }
    let dn_attributes = match after {
        [] => None,
        [0x84, 0x01, b @ (0x00 | 0xff)] => Some(*b == 0xff),
        _ => return None,
    };
    Some(MatchingRuleAssertion {
        matching_rule: rule.map(|r| ldap_parser::ldap::LdapString(Cow::Borrowed(r))),
        rule_type: rule_type.map(|a| AttributeDescription(Cow::Borrowed(a))),
        assertion_value: AssertionValue(Cow::Borrowed(value)),
        dn_attributes,
    })
}

/// A searchRequest's content (RFC 4511 4.5.1) read without ldap-parser (see [`parse_simple`]):
/// baseObject, scope, derefAliases, sizeLimit, timeLimit, typesOnly, filter, attributes, and
/// nothing after them.
fn fast_search(c: &[u8]) -> Option<Detail> {
    let (base, rest) = ldap_string(c)?;
    let mut rest = rest;
    let mut ints = [0u32; 4];
    // scope, derefAliases ENUMERATED; sizeLimit, timeLimit INTEGER
    for (i, tag) in [0x0a, 0x0a, 0x02, 0x02].into_iter().enumerate() {
        let (t, v, after) = ber::split(rest).ok()?;
        if t.tag != tag {
            return None;
        }
        *ints.get_mut(i)? = minimal_u32(v)?;
        rest = after;
    }
    // typesOnly BOOLEAN, DER values
    let [0x01, 0x01, 0x00 | 0xff, ref rest @ ..] = *rest else {
        return None;
    };
    let (filter, rest) = fast_filter(rest, 0)?;
    let (t, mut attrs, rest) = ber::split(rest).ok()?;
    if t.tag != 0x30 || !rest.is_empty() {
        return None;
    }
    let mut names = Vec::new();
    while !attrs.is_empty() {
        let (a, after) = ldap_string(attrs)?;
        names.push(a);
        attrs = after;
    }
    Some(search_detail(base, ints[0], &filter, names.into_iter()))
}

/// A bindRequest's content (RFC 4511 4.2) read without ldap-parser (see [`parse_simple`]):
/// `version INTEGER (1..127)`, `name LDAPDN`, `authentication` either `simple [0] OCTET
/// STRING` (primitive `80`) or `sasl [3] SaslCredentials` (`a3`: `mechanism LDAPString`,
/// `credentials OCTET STRING OPTIONAL`, nothing else), and nothing after it. The subset of
/// ldap-parser's reading taken here: a one-octet version (ldap-parser reads a `u8` below
/// 128), exact identifier octets (ldap-parser looks only at the tag number of the choice, and
/// reads the SASL credentials past the end of `[3]` if they are not inside it).
///
/// One choice is read here beyond ldap-parser, which refuses it: the Sicily steps `[9]`,
/// `[10]`, `[11]` (primitive `89`, `8a`, `8b`, MS-ADTS 5.1.1.1.3), as certipy's ldap3 sends
/// them (`captures/lab_ldap_ntlm_binds.pcapng` frame 20: `89 00`, sicilyPackageDiscovery).
fn fast_bind(c: &[u8]) -> Option<(Detail, Option<Vec<u8>>)> {
    let [0x02, 0x01, version, ref rest @ ..] = *c else {
        return None;
    };
    if version >= 0x80 {
        return None;
    }
    let (name, rest) = ldap_string(rest)?;
    let (t, auth, rest) = ber::split(rest).ok()?;
    if !rest.is_empty() {
        return None;
    }
    let (kind, after) = bind_kind(t, auth, name)?;
    let token = match kind {
        // SaslCredentials: the mechanism, then `credentials OCTET STRING OPTIONAL`.
        BindKind::Sasl(_) => match ber::split(after) {
            _ if after.is_empty() => None,
            Ok((t, cred, [])) if t.tag == 0x04 => auth_token(cred),
            _ => return None,
        },
        // sicilyNegotiate [10] and sicilyResponse [11] hold the NTLM NEGOTIATE and
        // AUTHENTICATE themselves.
        BindKind::Sicily => auth_token(after),
        _ => None,
    };
    let d = Detail::Bind {
        name: capped(name, MAX_STRING_LEN),
        kind,
    };
    Some((d, token))
}

/// The message at the start of `data` decoded by ldap-parser: whatever [`parse_simple`] does
/// not take, and the reference it is tested against.
fn parse_with_library(data: &[u8]) -> Result<Message, LdapParseError> {
    let m = match LdapMessage::from_ber(data) {
        Ok((_, m)) => m,
        Err(ldap_parser::Err::Incomplete(_)) => return Err(LdapParseError::Truncated),
        Err(_) => return Err(LdapParseError::Malformed),
    };
    let op = m.protocol_op.tag().0;
    let mut token = None;
    let detail = match &m.protocol_op {
        ProtocolOp::BindRequest(b) => {
            token = match &b.authentication {
                AuthenticationChoice::Sasl(s) => s.credentials.as_deref().and_then(auth_token),
                AuthenticationChoice::Simple(_) => None,
            };
            let kind = match &b.authentication {
                AuthenticationChoice::Simple(pw) if pw.is_empty() && b.name.0.is_empty() => {
                    BindKind::Anonymous
                }
                AuthenticationChoice::Simple(pw) if pw.is_empty() => BindKind::Unauthenticated,
                AuthenticationChoice::Simple(_) => BindKind::Simple,
                AuthenticationChoice::Sasl(s) => {
                    BindKind::Sasl(capped(&s.mechanism.0, MAX_STRING_LEN))
                }
            };
            Detail::Bind {
                name: capped(&b.name.0, MAX_STRING_LEN),
                kind,
            }
        }
        ProtocolOp::BindResponse(r) => {
            let dn = r.result.matched_dn.0.as_bytes();
            token = r
                .server_sasl_creds
                .as_deref()
                .and_then(auth_token)
                .or_else(|| ntlm::parse::is_ntlm(dn).then(|| dn.to_vec()));
            Detail::Result {
                code: r.result.result_code.0,
            }
        }
        ProtocolOp::SearchResultDone(r)
        | ProtocolOp::AddResponse(r)
        | ProtocolOp::DelResponse(r)
        | ProtocolOp::ModDnResponse(r)
        | ProtocolOp::CompareResponse(r) => Detail::Result {
            code: r.result_code.0,
        },
        ProtocolOp::ModifyResponse(r) => Detail::Result {
            code: r.result.result_code.0,
        },
        ProtocolOp::SearchRequest(s) => search_detail(
            &s.base_object.0,
            s.scope.0,
            &s.filter,
            s.attributes.iter().map(|a| &*a.0),
        ),
        ProtocolOp::ExtendedRequest(e) => Detail::Extended {
            oid: capped(&e.request_name.0, MAX_STRING_LEN),
        },
        ProtocolOp::ExtendedResponse(e) => Detail::ExtendedResp {
            code: e.result.result_code.0,
            oid: e
                .response_name
                .as_ref()
                .map(|o| capped(&o.0, MAX_STRING_LEN)),
        },
        _ => Detail::None,
    };
    Ok(Message {
        id: m.message_id.0,
        op,
        detail,
        auth_token: token,
    })
}

/// Appends `v` escaped per RFC 4515 3: `*`, `(`, `)`, `\`, NUL and every byte that is not
/// printable ASCII become `\xx`. Runs of bytes kept as they are are copied in one piece.
fn escape_value(out: &mut String, v: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let keep =
        |b: u8| b.is_ascii_graphic() && !matches!(b, b'*' | b'(' | b')' | b'\\') || b == b' ';
    let mut rest = v;
    while !rest.is_empty() {
        let run = rest.iter().position(|&b| !keep(b)).unwrap_or(rest.len());
        let (plain, tail) = rest.split_at(run);
        // Printable ASCII only: always UTF-8.
        out.push_str(std::str::from_utf8(plain).unwrap_or_default());
        let Some((&b, tail)) = tail.split_first() else {
            break;
        };
        out.push('\\');
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
        rest = tail;
    }
}

fn write_filter(out: &mut String, f: &Filter<'_>) {
    if out.len() > MAX_FILTER_STRING_LEN {
        return;
    }
    match f {
        Filter::And(v) | Filter::Or(v) => {
            out.push_str(if matches!(f, Filter::And(_)) {
                "(&"
            } else {
                "(|"
            });
            for x in v {
                write_filter(out, x);
            }
            out.push(')');
        }
        Filter::Not(x) => {
            out.push_str("(!");
            write_filter(out, x);
            out.push(')');
        }
        Filter::EqualityMatch(a)
        | Filter::GreaterOrEqual(a)
        | Filter::LessOrEqual(a)
        | Filter::ApproxMatch(a) => {
            let op = match f {
                Filter::GreaterOrEqual(_) => ">=",
                Filter::LessOrEqual(_) => "<=",
                Filter::ApproxMatch(_) => "~=",
                _ => "=",
            };
            out.push('(');
            out.push_str(&a.attribute_desc.0);
            out.push_str(op);
            escape_value(out, &a.assertion_value);
            out.push(')');
        }
        Filter::Present(a) => {
            out.push('(');
            out.push_str(&a.0);
            out.push_str("=*)");
        }
        Filter::Substrings(s) => {
            out.push('(');
            out.push_str(&s.filter_type.0);
            out.push('=');
            // RFC 4515 3: [initial] "*" *(any "*") [final]
            for part in &s.substrings {
                match part {
                    Substring::Initial(v) => escape_value(out, &v.0),
                    Substring::Any(v) | Substring::Final(v) => {
                        out.push('*');
                        escape_value(out, &v.0);
                    }
                }
            }
            if !s
                .substrings
                .last()
                .is_some_and(|p| matches!(p, Substring::Final(_)))
            {
                out.push('*');
            }
            out.push(')');
        }
        Filter::ExtensibleMatch(m) => {
            out.push('(');
            if let Some(t) = &m.rule_type {
                out.push_str(&t.0);
            }
            if m.dn_attributes == Some(true) {
                out.push_str(":dn");
            }
            if let Some(r) = &m.matching_rule {
                out.push(':');
                out.push_str(&r.0);
            }
            out.push_str(":=");
            escape_value(out, &m.assertion_value.0);
            out.push(')');
        }
    }
}

/// Renders a search filter as an RFC 4515 string, cut at [`MAX_FILTER_STRING_LEN`].
pub fn filter_string(f: &Filter<'_>) -> String {
    let mut s = String::new();
    write_filter(&mut s, f);
    if s.len() > MAX_FILTER_STRING_LEN {
        capped(&s, MAX_FILTER_STRING_LEN)
    } else {
        s
    }
}

/// Attributes of a DC locator ping filter (MS-ADTS 6.3.3.2).
const LOCATOR_ATTRS: &[&str] = &[
    "dnsdomain",
    "host",
    "ntver",
    "domainguid",
    "domainsid",
    "user",
    "aac",
    "dnshostname",
];

/// For a DC locator ping (MS-ADTS 6.3.3: an `(&(DnsDomain=..)(NtVer=..)...)` filter and the
/// `Netlogon` attribute), the DnsDomain value ("" when absent); `None` for other searches.
fn locator_domain(f: &Filter<'_>, attributes: &[String]) -> Option<String> {
    if !attributes
        .iter()
        .any(|a| a.eq_ignore_ascii_case("netlogon"))
    {
        return None;
    }
    let terms: Vec<&ldap_parser::filter::AttributeValueAssertion<'_>> = match f {
        Filter::And(v) => v
            .iter()
            .filter_map(|x| match x {
                Filter::EqualityMatch(a) => Some(a),
                _ => None,
            })
            .collect(),
        Filter::EqualityMatch(a) => vec![a],
        _ => return None,
    };
    let is = |a: &&ldap_parser::filter::AttributeValueAssertion<'_>, n: &str| {
        a.attribute_desc.0.eq_ignore_ascii_case(n)
    };
    let locator = terms.iter().any(|a| LOCATOR_ATTRS.iter().any(|n| is(a, n)));
    if !locator {
        return None;
    }
    let domain = terms
        .iter()
        .find(|a| is(a, "dnsdomain"))
        .map(|a| capped(&String::from_utf8_lossy(&a.assertion_value), MAX_STRING_LEN))
        .unwrap_or_default();
    Some(domain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::testutil::hex;
    use ldap_parser::filter::{AssertionValue, AttributeValueAssertion, SubstringFilter};
    use ldap_parser::ldap::LdapString;
    use std::borrow::Cow;

    /// ldap_rootdse_bind_modify_vlan_ipv6.pcapng frame 4, tcp.payload (350 bytes): searchRequest
    /// messageID 5, baseObject "" (rootDSE), scope baseObject, filter (objectclass=*), 15
    /// attributes (tshark: ldap.protocolOp 3, "Filter: (objectclass=*)").
    const F4_ROOTDSE_SEARCH: &str = crate::proto::testutil::LDAP_ROOTDSE_SEARCH;

    #[test]
    fn bind_labels_borrow_the_common_mechanisms() {
        // A borrowed label spells what formatting the mechanism gives; other mechanisms are
        // formatted.
        for (m, borrowed) in [
            ("GSS-SPNEGO", true),
            ("GSSAPI", true),
            ("EXTERNAL", true),
            ("DIGEST-MD5", true),
            ("NTLM", false),
            ("gssapi", false),
            ("", false),
        ] {
            let l = BindKind::Sasl(m.to_string()).label();
            assert_eq!(l, format!("sasl:{m}"));
            assert_eq!(matches!(l, Cow::Borrowed(_)), borrowed, "{m}");
        }
        assert_eq!(BindKind::Anonymous.label(), "anonymous");
        assert_eq!(BindKind::Unauthenticated.label(), "unauthenticated");
        assert_eq!(BindKind::Simple.label(), "simple");
    }

    #[test]
    fn rootdse_search_matches_tshark() {
        let b = hex(F4_ROOTDSE_SEARCH);
        assert_eq!(message_frame(&b), Frame::Complete(b.len()));
        assert_eq!(peek_op(&b), Some((5, 3)));
        // Read by the fast path, as ldap-parser reads it.
        assert_eq!(
            parse_simple(&b).as_ref(),
            parse_with_library(&b).as_ref().ok()
        );
        let m = parse_message(&b).unwrap();
        assert_eq!((m.id, op_name(m.op)), (5, "searchRequest"));
        let Detail::Search(s) = m.detail else {
            panic!("not a search");
        };
        assert_eq!((s.base.as_str(), s.scope), ("", 0));
        assert_eq!(s.filter, "(objectclass=*)");
        assert_eq!(s.attributes.len(), 15);
        assert_eq!(s.attributes[0], "subschemaSubentry");
        assert_eq!(s.locator_domain, None);
    }

    #[test]
    fn truncated_prefixes_are_errors() {
        let b = hex(F4_ROOTDSE_SEARCH);
        for n in 0..b.len() {
            assert_eq!(message_frame(&b[..n]), Frame::Incomplete, "prefix {n}");
            assert!(parse_message(&b[..n]).is_err(), "prefix {n}");
        }
    }

    #[test]
    fn corrupted_lengths() {
        let mut b = hex(F4_ROOTDSE_SEARCH);
        // SEQUENCE length with 5 length octets, and the indefinite form: invalid.
        b[1] = 0x85;
        assert_eq!(message_frame(&b), Frame::Invalid);
        b[1] = 0x80;
        assert_eq!(message_frame(&b), Frame::Invalid);
        // searchRequest length larger than the message: not an LDAP message start.
        let mut b = hex(F4_ROOTDSE_SEARCH);
        b[12] = 0x02;
        assert_eq!(peek_op(&b), None);
        assert!(parse_message(&b).is_err());
        // Outer length above the cap.
        assert_eq!(
            message_frame(&[0x30, 0x84, 0x10, 0, 0, 0]),
            Frame::TooLong(0x1000_0006)
        );
    }

    /// [`frame_op`] is [`message_frame`] plus, for a complete message, [`peek_op`].
    fn frame_op_agrees(b: &[u8]) {
        let f = message_frame(b);
        let op = match f {
            Frame::Complete(_) => peek_op(b),
            _ => None,
        };
        assert_eq!(frame_op(b), (f, op), "{b:02x?}");
    }

    #[test]
    fn frame_op_reads_the_header_once_with_the_same_result() {
        // F4_ROOTDSE_SEARCH, followed by the modifyResponse inside
        // ldap_rootdse_bind_modify_vlan_ipv6.pcapng frame 13 (bytes 32.. of the SASL buffer).
        let mut b = hex(F4_ROOTDSE_SEARCH);
        let modify = hex(crate::proto::testutil::LDAP_SASL_MODIFY_RESPONSE).split_off(32);
        assert_eq!(frame_op(&b), (Frame::Complete(b.len()), Some((5, 3))));
        assert_eq!(frame_op(&modify), (Frame::Complete(22), Some((8, 7))));
        b.extend_from_slice(&modify);
        assert_eq!(frame_op(&b), (Frame::Complete(b.len() - 22), Some((5, 3))));
        // Every prefix (incomplete), and every one-byte corruption of the first 16 bytes
        // (invalid tags and lengths, lengths past the end or above the cap, a protocolOp
        // that does not fit, a bad messageID).
        for n in 0..b.len() {
            frame_op_agrees(&b[..n]);
        }
        for i in 0..16 {
            for v in [0x00, 0x02, 0x30, 0x63, 0x7f, 0x80, 0x84, 0x85, 0xff] {
                let mut c = b.clone();
                c[i] = v;
                frame_op_agrees(&c);
            }
        }
        assert_eq!(frame_op(&[0x30, 0x80]), (Frame::Invalid, None));
        assert_eq!(
            frame_op(&[0x30, 0x84, 0x10, 0, 0, 0]),
            (Frame::TooLong(0x1000_0006), None)
        );
    }

    /// Every LDAP message in the public captures: wherever a message starts (by
    /// [`looks_like_message`] and [`message_frame`]) in any TCP or UDP payload, which takes the
    /// cleartext inside integrity-only SASL buffers too.
    fn corpus() -> Option<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        for path in crate::proto::testutil::all_captures()? {
            for s in crate::proto::testutil::packets_at(&path) {
                let p = &s.payload;
                for i in 0..p.len() {
                    if p[i] != 0x30 || !looks_like_message(&p[i..]) {
                        continue;
                    }
                    if let Frame::Complete(n) = message_frame(&p[i..]) {
                        out.push(p[i..i + n].to_vec());
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        Some(out)
    }

    /// Checks that whatever the fast path accepts, ldap-parser accepts with the same result;
    /// returns whether the fast path accepted `b`.
    fn agree(b: &[u8]) -> bool {
        let fast = parse_simple(b);
        if let Some(f) = &fast {
            // A Sicily bind, and the bindResponse with the server's NTLM CHALLENGE in its
            // matchedDN, are the messages the fast path reads and ldap-parser refuses.
            let sicily = matches!(
                f.detail,
                Detail::Bind {
                    kind: BindKind::Sicily,
                    ..
                }
            );
            let challenge = f.op == 1
                && f.auth_token.as_deref().is_some_and(ntlm::parse::is_ntlm)
                && parse_with_library(b).is_err();
            // RFC 4526's absolute true and false filters, `(&)` and `(|)`: ldap-parser refuses
            // the message, or (an empty set inside another) stops the enclosing set there and
            // drops the rest of its elements. The message is the same message all the same.
            let absolute = matches!(&f.detail, Detail::Search(s)
                if s.filter.contains("(&)") || s.filter.contains("(|)"));
            if absolute {
                if let Ok(m) = parse_with_library(b) {
                    assert_eq!((m.id, m.op), (f.id, f.op), "{b:02x?}");
                }
            } else if !sicily && !challenge {
                assert_eq!(Ok(f), parse_with_library(b).as_ref(), "{b:02x?}");
            }
        }
        fast.is_some()
    }

    #[test]
    fn simple_path_agrees_with_ldap_parser() {
        let Some(msgs) = corpus() else {
            return;
        };
        let simple = |op: u32| matches!(op, 0 | 1 | 2 | 3 | 5 | 7 | 9 | 11 | 13 | 15);
        let (mut lib, mut fast, mut ap_reps) = (0, 0, 0);
        for b in &msgs {
            if parse_with_library(b).is_ok_and(|m| simple(m.op)) {
                lib += 1;
            }
            if agree(b) {
                fast += 1;
            }
            // bindResponses whose serverSaslCreds hold the server's AP-REP (RFC 4752 3.1).
            let rep = |m: Message| {
                let t = m.auth_token.unwrap_or_default();
                m.op == 1 && crate::proto::krb::gss::read(&t).is_some_and(|c| c.msg_type.0 == 15)
            };
            if parse_simple(b).is_some_and(rep) {
                ap_reps += 1;
            }
        }
        assert!(ap_reps > 0, "no bindResponse with an AP-REP");
        eprintln!(
            "{} messages: {lib} simple ones decoded by ldap-parser, {fast} by the fast path",
            msgs.len()
        );
        // Nearly all take the fast path.
        assert!(fast > 150 && fast * 20 >= lib * 19, "{fast} of {lib}");
        // Mutations: one bit flipped, or bytes overwritten / the message cut.
        let rounds: usize = std::env::var("FUZZ_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(100);
        let mut r = crate::proto::testutil::Rng(0x1da9_5eed_0000_0001);
        let simple_ones = msgs.iter().filter(|b| parse_simple(b).is_some());
        let accepted =
            crate::proto::testutil::count_accepted_mutants(simple_ones, rounds, &mut r, agree);
        eprintln!("{accepted} mutated messages accepted by both paths");
        assert!(accepted > 0);
    }

    #[test]
    fn a_message_cut_short_gives_its_whole_first_fields() {
        // captures/lab_enroll_snaplen_200.pcap frame 14, tcp.payload: the CA's searchRequest
        // (175 bytes) cut by `tcpdump -s 200` after 134; tshark still shows its baseObject.
        let b = hex("3081ac0201026381a60470434e3d63657274666c6f772d4341312d43412c434e3d456e726f6c6c6d656e742053657276696365732c434e3d5075626c6963204b65792053657276696365732c434e3d53657276696365732c434e3d436f6e66696775726174696f6e2c44433d63657274666c6f772c44433d6c61620a01000a01000201000201");
        assert_eq!(b.len(), 134);
        assert!(parse_message(&b).is_err());
        let base = "CN=certflow-CA1-CA,CN=Enrollment Services,CN=Public Key Services,CN=Services,CN=Configuration,DC=certflow,DC=lab";
        assert_eq!(
            cut_detail(&b),
            Some((
                3,
                Some(CutDetail::Search {
                    base: base.to_string()
                })
            ))
        );
        // Cut inside the base: the operation only; inside the header: nothing. Never a panic.
        assert_eq!(cut_detail(&b[..40]), Some((3, None)));
        assert_eq!(cut_detail(&b[..5]), None);
        for n in 0..b.len() {
            let _ = cut_detail(&b[..n]);
        }
        // A bind: lab_ldap_ntlm_binds.pcapng frame 20's Sicily bind; cut inside the choice's
        // header (its last octet), the bind is counted without a kind.
        let sicily = hex("300c020101600702010304008900");
        assert_eq!(
            cut_detail(&sicily).and_then(|c| c.1),
            Some(CutDetail::Bind {
                name: String::new(),
                kind: BindKind::Sicily
            })
        );
        assert_eq!(cut_detail(&sicily[..sicily.len() - 1]), Some((0, None)));
        // A response: the same capture's frame 179, Samba's bindResponse to the SASL bind,
        // cut after 134 bytes; its resultCode (14, saslBindInProgress) comes first.
        let resp = hex(
            "3081ac0201016181a60a010e0400040087819c60819906092a864886f71201020202006f8189308186a0\
            03020105a10302010fa27a3078a003020112a271046f8d84670992ddc4a57652e4a14a0d96508b089edf\
            a58e7c4a16ac19bc054afef51c8a40361f16e64f9f6c2cd22cd0565c4250571d5bf7a42bb964fa51bdd0\
            414afcab80be15f9",
        );
        assert_eq!(resp.len(), 134);
        assert_eq!(
            cut_detail(&resp),
            Some((1, Some(CutDetail::Result { code: 14 })))
        );
        // Cut inside the resultCode: the operation is still counted.
        let head = ber::header(&resp).unwrap().header_len;
        let id = ber::header(&resp[head..]).unwrap().total_len();
        let op = ber::header(&resp[head + id..]).unwrap().header_len;
        assert_eq!(cut_detail(&resp[..head + id + op + 2]), Some((1, None)));
    }

    #[test]
    fn sicily_bind_is_read() {
        // captures/lab_ldap_ntlm_binds.pcapng frame 20, tcp.payload: certipy's ldap3 starts an
        // NTLM bind with sicilyPackageDiscovery [9] (tshark 4.0: "Unknown auth").
        let b = hex("300c020101600702010304008900");
        let m = parse_message(&b).expect("sicily bind");
        assert_eq!(m.op, 0);
        assert_eq!(
            m.detail,
            Detail::Bind {
                name: String::new(),
                kind: BindKind::Sicily,
            }
        );
        assert_eq!(BindKind::Sicily.label(), "sicily");
        assert!(parse_with_library(&b).is_err());
        // sicilyNegotiate [10] and sicilyResponse [11] carry an NTLMSSP message: the same
        // bind with the choice changed and five octets ("NTLMS") of content.
        for tag in ["8a", "8b"] {
            let b = hex(&format!("3011020101600c0201030400{tag}054e544c4d53"));
            assert!(matches!(
                parse_message(&b).map(|m| m.detail),
                Ok(Detail::Bind {
                    kind: BindKind::Sicily,
                    ..
                })
            ));
        }
        // Another context-specific choice, or the discovery step cut short: not a Sicily bind.
        assert!(parse_message(&hex("300c02010160070201030400a800")).is_err());
        for n in 0..b.len() {
            assert!(parse_message(&b[..n]).is_err(), "prefix {n}");
        }
    }

    #[test]
    fn sicily_challenge_in_matched_dn_is_kept() {
        // bindResponse, messageID 2, success, matchedDN the NTLM CHALLENGE of
        // `lab_enroll_icpr_named_pipe.pcap` frame 51 (MS-ADTS 5.1.1.1.3), diagnosticMessage "".
        let challenge = hex(crate::proto::testutil::NTLM_CHALLENGE);
        let response = |dn: &[u8]| {
            let mut op = vec![0x0a, 0x01, 0x00, 0x04, 0x81, dn.len() as u8];
            op.extend_from_slice(dn);
            op.extend([0x04, 0x00]);
            let mut m = vec![0x02, 0x01, 0x02, 0x61, 0x81, op.len() as u8];
            m.extend(op);
            let mut b = vec![0x30, 0x81, m.len() as u8];
            b.extend(m);
            b
        };
        let b = response(&challenge);
        let m = parse_message(&b).expect("the fast path reads it");
        assert_eq!((m.op, m.detail), (1, Detail::Result { code: 0 }));
        assert_eq!(m.auth_token.as_deref(), Some(&challenge[..]));
        // ldap-parser refuses the binary DN; a DN that starts with the signature and happens
        // to be UTF-8 is kept by both paths alike.
        assert!(parse_with_library(&b).is_err());
        let b = response(b"NTLMSSP\0\x02\0\0\0abc");
        let fast = parse_simple(&b).expect("fast path");
        assert_eq!(Ok(&fast), parse_with_library(&b).as_ref());
        assert_eq!(
            fast.auth_token.as_deref(),
            Some(&b"NTLMSSP\0\x02\0\0\0abc"[..])
        );
        // Any other DN is no token.
        let b = response(b"CN=x");
        assert_eq!(parse_message(&b).unwrap().auth_token, None);
    }

    #[test]
    fn binds_take_the_fast_path() {
        // Every bindRequest of the public captures (simple, anonymous and SASL binds, the
        // GSS-SPNEGO/GSSAPI ones carrying a Kerberos AP-REQ) is read by the fast path with
        // ldap-parser's result.
        let Some(msgs) = corpus() else {
            return;
        };
        let (mut binds, mut sasl, mut krb, mut simple) = (0, 0, 0, 0);
        for b in &msgs {
            let Ok(m) = parse_with_library(b) else {
                continue;
            };
            let Detail::Bind { kind, .. } = &m.detail else {
                continue;
            };
            binds += 1;
            assert_eq!(parse_simple(b).as_ref(), Some(&m), "{b:02x?}");
            match kind {
                BindKind::Sasl(_) => sasl += 1,
                _ => simple += 1,
            }
            let t = m.auth_token.as_deref().unwrap_or_default();
            if crate::proto::krb::gss::read(t).is_some_and(|c| c.ticket_sname().is_some()) {
                krb += 1;
            }
        }
        eprintln!("{binds} binds: {sasl} SASL ({krb} with a Kerberos ticket), {simple} simple");
        assert!(sasl > 0 && krb > 0 && simple > 0, "{binds} binds");
        // Cut by one byte: not read by the fast path, an error from ldap-parser.
        let b = msgs
            .iter()
            .find(|b| matches!(parse_simple(b), Some(Message { op: 0, .. })))
            .unwrap();
        let mut cut = b.clone();
        cut.truncate(b.len() - 1);
        assert_eq!(parse_simple(&cut), None);
        assert!(parse_message(&cut).is_err());
    }

    #[test]
    fn simple_path_reads_results() {
        // SYNTHETIC_http_certsrv_cep_ces_mscep_urls.pcap f497, tcp.payload: bindResponse
        // messageID 1, success (tshark: ldap.resultCode 0).
        let b = hex("300c02010161070a010004000400");
        let m = parse_simple(&b).expect("fast path");
        assert_eq!((m.id, m.op, m.detail), (1, 1, Detail::Result { code: 0 }));
        for n in 0..b.len() {
            assert_eq!(parse_simple(&b[..n]), None, "prefix {n}");
        }
        // resultCode 0a 02 00 80 is 128; the non-minimal 0a 02 00 05 is left to ldap-parser.
        let b = hex("300d02010165080a0200800400 0400".replace(' ', "").as_str());
        assert_eq!(
            parse_simple(&b).map(|m| m.detail),
            Some(Detail::Result { code: 128 })
        );
        let b = hex("300d02010165080a0200050400 0400".replace(' ', "").as_str());
        assert_eq!(parse_simple(&b), None);
        // Controls after the protocolOp are skipped; anything else after it is left to
        // ldap-parser, and so is a referral [3] in the LDAPResult.
        let b = hex("301002010165070a010004000400a0020400");
        assert_eq!(parse_simple(&b).map(|m| m.id), Some(1));
        let b = hex("301002010165070a0100040004000402aaaa");
        assert_eq!(parse_simple(&b), None);
        let b = hex("300e02010165090a010004000400a300");
        assert_eq!(parse_simple(&b), None);
    }

    #[test]
    fn escaping_matches_rfc4515_byte_by_byte() {
        // Every byte value, alone and between kept characters: kept bytes as they are, the
        // others as `\xx` (lowercase, RFC 4515 3).
        for b in 0..=255u8 {
            let mut out = String::new();
            escape_value(&mut out, &[b'a', b, b'z']);
            let keep =
                b.is_ascii_graphic() && !matches!(b, b'*' | b'(' | b')' | b'\\') || b == b' ';
            let mid = if keep {
                char::from(b).to_string()
            } else {
                format!("\\{b:02x}")
            };
            assert_eq!(out, format!("a{mid}z"), "byte {b:#04x}");
        }
        let mut out = String::new();
        escape_value(&mut out, b"");
        assert_eq!(out, "");
    }

    #[test]
    fn filter_strings_follow_rfc4515() {
        let s = |v: &'static str| LdapString(Cow::Borrowed(v));
        let av = |v: &'static [u8]| AssertionValue(Cow::Borrowed(v));
        // (cn=ab*c\2a*d) and (!(sid=\01\00)): examples shaped like RFC 4515 4.
        let f = Filter::And(vec![
            Filter::Substrings(SubstringFilter {
                filter_type: s("cn"),
                substrings: vec![
                    Substring::Initial(av(b"ab")),
                    Substring::Any(av(b"c*")),
                    Substring::Final(av(b"d")),
                ],
            }),
            Filter::Not(Box::new(Filter::EqualityMatch(AttributeValueAssertion {
                attribute_desc: s("sid"),
                assertion_value: Cow::Borrowed(&[1, 0]),
            }))),
            Filter::Substrings(SubstringFilter {
                filter_type: s("o"),
                substrings: vec![Substring::Any(av(b"x"))],
            }),
        ]);
        assert_eq!(
            filter_string(&f),
            "(&(cn=ab*c\\2a*d)(!(sid=\\01\\00))(o=*x*))"
        );
        let long = Filter::Or(vec![Filter::Present(s("objectClass")); 100]);
        let out = filter_string(&long);
        assert!(out.ends_with("..."));
        assert!(out.len() <= MAX_FILTER_STRING_LEN + 3);
    }

    #[test]
    fn absolute_filters_and_extensible_matches_from_ldapsearch() {
        // captures/lab_ldap_search_filters.pcapng, tcp.payload of the searchRequests of
        // OpenLDAP's ldapsearch at frames 40, 42, 50 and 52 (base CN=Users,DC=certflow,DC=lab,
        // attribute dn; tshark: Filter "", "", "(cn:2.5.13.5:dn:=alice)", "(:2.5.13.5:dn:=alice)").
        let head = "041b434e3d55736572732c44433d63657274666c6f772c44433d6c61620a01010a0100020103020100010100";
        let cases = [
            ("303902010f6334", "a000", "(&)"),
            ("30390201106334", "a100", "(|)"),
            (
                "3051020114634c",
                "a9188108322e352e31332e358202636e8305616c6963658401ff",
                "(cn:dn:2.5.13.5:=alice)",
            ),
            (
                "304d0201156348",
                "a9148108322e352e31332e358305616c6963658401ff",
                "(:dn:2.5.13.5:=alice)",
            ),
        ];
        for (start, filter, want) in cases {
            let b = hex(&format!("{start}{head}{filter}30040402646e"));
            let m = parse_simple(&b).expect("fast path");
            let Detail::Search(search) = &m.detail else {
                panic!("{m:?}");
            };
            assert_eq!((m.op, search.filter.as_str()), (3, want));
            assert_eq!(parse_message(&b).as_ref(), Ok(&m));
            // ldap-parser refuses RFC 4526's empty sets (RFC 4511 says SIZE (1..MAX)) and reads
            // the extensible matches as the fast path does.
            if want.len() == 3 {
                assert!(parse_with_library(&b).is_err());
            } else {
                assert_eq!(parse_with_library(&b), Ok(m.clone()));
            }
            for n in 0..b.len() {
                assert_eq!(parse_simple(&b[..n]), None, "{want} prefix {n}");
                assert!(parse_message(&b[..n]).is_err(), "{want} prefix {n}");
            }
        }
        // dnAttributes as a BER-only BOOLEAN (01, not ff) is left to ldap-parser, which reads it.
        let ber = hex(&format!(
            "3051020114634c{head}a9188108322e352e31332e358202636e8305616c69636584010130040402646e"
        ));
        assert_eq!(parse_simple(&ber), None);
        assert!(parse_with_library(&ber).is_ok());
        // matchValue [3] missing: neither reads it.
        let bad = hex(&format!(
            "304a0201146345{head}a9118108322e352e31332e358202636e8401ff30040402646e"
        ));
        assert_eq!(parse_simple(&bad), None);
        assert!(parse_message(&bad).is_err());
    }
}
