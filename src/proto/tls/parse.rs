//! Pure parsing of TLS records and handshake messages (RFC 5246 section 6.2 and 7.4, RFC 8446
//! section 4 and 5.1). No state: the analyzer in `state.rs` frames the stream and keeps the
//! handshake reassembly buffers; this file turns complete pieces into small owned values.
//!
//! Handshake message bodies are decoded with tls-parser 0.12, certificates with x509-parser.

use std::borrow::Cow;
use tls_parser::{
    parse_tls_client_hello_extensions, parse_tls_message_handshake,
    parse_tls_server_hello_extensions, SNIType, TlsCipherSuite, TlsExtension, TlsMessage,
    TlsMessageHandshake,
};
use x509_parser::extensions::GeneralName;

/// Length of the record header: type u8, version u16, length u16 (RFC 5246 6.2.1).
pub const RECORD_HEADER_LEN: usize = 5;

/// Largest record length accepted: TLSCiphertext may carry 2^14 + 2048 bytes (RFC 5246 6.2.3);
/// anything longer is not TLS (or the stream is out of step).
pub const MAX_RECORD_LEN: usize = (1 << 14) + 2048;

/// Length of a handshake message header: type u8, length u24 (RFC 5246 7.4).
pub const HANDSHAKE_HEADER_LEN: usize = 4;

/// Largest handshake message reassembled. The wire allows 2^24 bytes; real certificate chains
/// stay well below 64 KiB, so 128 KiB bounds memory without losing real handshakes.
pub const MAX_HANDSHAKE_LEN: usize = 128 * 1024;

/// Record content types (RFC 5246 6.2.1, RFC 6520 for heartbeat), kept as a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentType(pub u8);

impl ContentType {
    /// change_cipher_spec(20).
    pub const CHANGE_CIPHER_SPEC: ContentType = ContentType(20);
    /// alert(21).
    pub const ALERT: ContentType = ContentType(21);
    /// handshake(22).
    pub const HANDSHAKE: ContentType = ContentType(22);
    /// application_data(23).
    pub const APPLICATION_DATA: ContentType = ContentType(23);
    /// heartbeat(24), RFC 6520.
    pub const HEARTBEAT: ContentType = ContentType(24);

    /// The name used as a counter key ("handshake", "alert" ... or "type_N"), without allocating
    /// for a known type (one call per record).
    pub fn label(self) -> Cow<'static, str> {
        Cow::Borrowed(match self.0 {
            20 => "change_cipher_spec",
            21 => "alert",
            22 => "handshake",
            23 => "application_data",
            24 => "heartbeat",
            n => return Cow::Owned(format!("type_{n}")),
        })
    }
}

/// A TLS record header (RFC 5246 6.2.1):
///
/// ```text
/// struct { ContentType type; ProtocolVersion version; uint16 length; } TLSPlaintext header
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Content type.
    pub content_type: ContentType,
    /// Record-layer version (major, minor).
    pub version: u16,
    /// Length of the fragment that follows.
    pub len: usize,
}

/// Why a record header was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordError {
    /// Fewer than [`RECORD_HEADER_LEN`] bytes.
    Short,
    /// Not a TLS record header (type, version or length out of range).
    Invalid,
}

/// Reads a record header from the start of `data`. Accepts content types 20..=24, version 3.x
/// with x <= 4 (SSL 3.0 to TLS 1.3) and lengths up to [`MAX_RECORD_LEN`].
pub fn record_header(data: &[u8]) -> Result<RecordHeader, RecordError> {
    let Some(h) = data.get(..RECORD_HEADER_LEN) else {
        return Err(RecordError::Short);
    };
    let (t, major, minor) = (h[0], h[1], h[2]);
    let len = usize::from(u16::from_be_bytes([h[3], h[4]]));
    if !(20..=24).contains(&t) || major != 3 || minor > 4 || len > MAX_RECORD_LEN {
        return Err(RecordError::Invalid);
    }
    Ok(RecordHeader {
        content_type: ContentType(t),
        version: u16::from_be_bytes([major, minor]),
        len,
    })
}

/// Name of a protocol version: "SSL 3.0", "TLS 1.0" .. "TLS 1.3", "TLS 1.3 draft N", or the
/// number in hex ("0x7e01") when unknown; no allocation for a released version.
pub fn version_name(v: u16) -> Cow<'static, str> {
    Cow::Borrowed(match v {
        0x0300 => "SSL 3.0",
        0x0301 => "TLS 1.0",
        0x0302 => "TLS 1.1",
        0x0303 => "TLS 1.2",
        0x0304 => "TLS 1.3",
        v if v >> 8 == 0x7f => return Cow::Owned(format!("TLS 1.3 draft {}", v & 0xff)),
        v => return Cow::Owned(format!("0x{v:04x}")),
    })
}

/// True for the GREASE values of RFC 8701 (0x0a0a, 0x1a1a, ... 0xfafa): placeholders that say
/// nothing about the peer, so they are not recorded as offered versions.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// The IANA name of a cipher suite from tls-parser's table, or "unknown".
pub fn cipher_name(id: u16) -> &'static str {
    TlsCipherSuite::from_id(id)
        .map(|c| c.name)
        .unwrap_or("unknown")
}

/// The HelloRetryRequest marker in ServerHello.random (RFC 8446 4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// What a ClientHello offered (RFC 8446 4.1.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientHello {
    /// legacy_version.
    pub legacy_version: u16,
    /// server_name host names (RFC 6066 3), lossily decoded.
    pub sni: Vec<String>,
    /// ALPN protocol names (RFC 7301), lossily decoded.
    pub alpn: Vec<String>,
    /// supported_versions (RFC 8446 4.2.1), GREASE removed.
    pub supported_versions: Vec<u16>,
}

/// What a ServerHello chose (RFC 8446 4.1.3, RFC 5246 7.4.1.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerHello {
    /// legacy_version (the version itself up to TLS 1.2).
    pub legacy_version: u16,
    /// supported_versions selected_version, present from TLS 1.3 on.
    pub selected_version: Option<u16>,
    /// cipher_suite.
    pub cipher: u16,
    /// ALPN protocol chosen, if any.
    pub alpn: Option<String>,
    /// True when this is a HelloRetryRequest (special random), not a real ServerHello.
    pub retry: bool,
}

impl ServerHello {
    /// The negotiated version: supported_versions when present, else legacy_version.
    pub fn version(&self) -> u16 {
        self.selected_version.unwrap_or(self.legacy_version)
    }
}

/// The end-entity certificate of a Certificate message (RFC 5246 7.4.2, RFC 5280).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerCert {
    /// Subject distinguished name, RFC 4514 string.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// subjectAltName entries: "dns:NAME", "ip:ADDR", "email:..", "uri:..", "dirname:..".
    pub san: Vec<String>,
}

/// One handshake message decoded to what certflow keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handshake {
    /// ClientHello.
    ClientHello(ClientHello),
    /// ServerHello or HelloRetryRequest.
    ServerHello(ServerHello),
    /// Certificate (first certificate decoded; `None` when the chain is empty).
    Certificate(Option<ServerCert>),
    /// Any other message type, kept by number.
    Other(u8),
}

/// Why a handshake message could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadHandshake(pub u8);

/// Name of a handshake type (RFC 8446 4, RFC 5246 7.4), for counters; no allocation for a
/// known type.
pub fn handshake_label(t: u8) -> Cow<'static, str> {
    Cow::Borrowed(match t {
        0 => "hello_request",
        1 => "client_hello",
        2 => "server_hello",
        4 => "new_session_ticket",
        5 => "end_of_early_data",
        8 => "encrypted_extensions",
        11 => "certificate",
        12 => "server_key_exchange",
        13 => "certificate_request",
        14 => "server_hello_done",
        15 => "certificate_verify",
        16 => "client_key_exchange",
        20 => "finished",
        22 => "certificate_status",
        24 => "key_update",
        n => return Cow::Owned(format!("type_{n}")),
    })
}

/// Decodes one complete handshake message (`msg` holds its 4-byte header and body exactly).
/// Only ClientHello, ServerHello and Certificate are looked into.
pub fn handshake(msg: &[u8]) -> Result<Handshake, BadHandshake> {
    let t = *msg.first().ok_or(BadHandshake(0))?;
    if !matches!(t, 1 | 2 | 11) {
        return Ok(Handshake::Other(t));
    }
    let parsed = match parse_tls_message_handshake(msg) {
        Ok((_, TlsMessage::Handshake(h))) => h,
        _ => return Err(BadHandshake(t)),
    };
    match parsed {
        TlsMessageHandshake::ClientHello(ch) => {
            let mut out = ClientHello {
                legacy_version: ch.version.0,
                ..Default::default()
            };
            if let Some(ext) = ch.ext {
                client_extensions(ext, &mut out).ok_or(BadHandshake(t))?;
            }
            Ok(Handshake::ClientHello(out))
        }
        TlsMessageHandshake::ServerHello(sh) => {
            let mut out = ServerHello {
                legacy_version: sh.version.0,
                cipher: sh.cipher.0,
                retry: sh.random == HRR_RANDOM,
                ..Default::default()
            };
            if let Some(ext) = sh.ext {
                let exts = match parse_tls_server_hello_extensions(ext) {
                    Ok((_, e)) => e,
                    Err(_) => return Err(BadHandshake(t)),
                };
                for e in exts {
                    match e {
                        TlsExtension::SupportedVersions(vs) => {
                            out.selected_version = vs.first().map(|v| v.0)
                        }
                        TlsExtension::ALPN(protos) => {
                            out.alpn = protos
                                .first()
                                .map(|p| String::from_utf8_lossy(p).into_owned())
                        }
                        _ => {}
                    }
                }
            }
            Ok(Handshake::ServerHello(out))
        }
        TlsMessageHandshake::ServerHelloV13Draft18(sh) => Ok(Handshake::ServerHello(ServerHello {
            legacy_version: sh.version.0,
            selected_version: Some(sh.version.0),
            cipher: sh.cipher.0,
            ..Default::default()
        })),
        TlsMessageHandshake::Certificate(c) => match c.cert_chain.first() {
            None => Ok(Handshake::Certificate(None)),
            Some(raw) => certificate_cached(raw.data)
                .map(|c| Handshake::Certificate(Some(c)))
                .ok_or(BadHandshake(t)),
        },
        _ => Ok(Handshake::Other(t)),
    }
}

/// Reads the ClientHello extensions `ext` (RFC 8446 4.2) into `out`: server names, ALPN
/// protocols, supported versions. None when they do not decode.
fn client_extensions(ext: &[u8], out: &mut ClientHello) -> Option<()> {
    let (_, exts) = parse_tls_client_hello_extensions(ext).ok()?;
    for e in exts {
        match e {
            TlsExtension::SNI(names) => out.sni.extend(
                names
                    .iter()
                    .filter(|(ty, _)| *ty == SNIType::HostName)
                    .map(|(_, n)| String::from_utf8_lossy(n).into_owned()),
            ),
            TlsExtension::ALPN(protos) => out.alpn.extend(
                protos
                    .iter()
                    .map(|p| String::from_utf8_lossy(p).into_owned()),
            ),
            TlsExtension::SupportedVersions(vs) => out
                .supported_versions
                .extend(vs.iter().map(|v| v.0).filter(|v| !is_grease(*v))),
            _ => {}
        }
    }
    Some(())
}

/// The first bytes of a ClientHello a snap length cut (`msg` from its handshake header on):
/// its legacy_version, and the server names, ALPN protocols and supported versions of the
/// extensions that are whole before the cut (RFC 8446 4.1.2: version, random, session id,
/// cipher suites and compression methods come first, then the extensions one after the
/// other). None when the message is not a ClientHello or its version is cut.
pub fn client_hello_cut(msg: &[u8]) -> Option<ClientHello> {
    if *msg.first()? != 1 {
        return None;
    }
    let body = msg.get(HANDSHAKE_HEADER_LEN..)?;
    let (major, minor) = (*body.first()?, *body.get(1)?);
    if major != 3 {
        return None;
    }
    let mut out = ClientHello {
        legacy_version: u16::from_be_bytes([major, minor]),
        ..Default::default()
    };
    // Past version (2) and random (32): three vectors with 1-, 2- and 1-byte lengths.
    let mut at = 34usize;
    for width in [1usize, 2, 1] {
        let len = match (width, body.get(at), body.get(at + 1)) {
            (1, Some(&n), _) => usize::from(n),
            (2, Some(&hi), Some(&lo)) => usize::from(u16::from_be_bytes([hi, lo])),
            _ => return Some(out),
        };
        at += width + len;
    }
    // extensions<8..2^16-1>: the length, then (type u16, length u16, data) each.
    let Some(exts) = body.get(at + 2..) else {
        return Some(out);
    };
    let mut whole = 0usize;
    while let Some(h) = exts.get(whole..whole + 4) {
        let end = whole + 4 + usize::from(u16::from_be_bytes([h[2], h[3]]));
        if end > exts.len() {
            break;
        }
        whole = end;
    }
    if whole > 0 {
        // Whole extensions that do not decode are left out, as a cut message is no error.
        let mut got = ClientHello::default();
        if client_extensions(exts.get(..whole)?, &mut got).is_some() {
            out.sni = got.sni;
            out.alpn = got.alpn;
            out.supported_versions = got.supported_versions;
        }
    }
    Some(out)
}

/// Certificates remembered by [`certificate_cached`] (per thread). A capture shows the same
/// few server certificates on many connections; a handful of entries catch the repeats.
pub const CERT_CACHE_ENTRIES: usize = 16;

/// Largest DER certificate remembered: bounds the cache to 16 x 16 KiB. Real end-entity
/// certificates are 1-3 KiB; bigger ones are decoded every time.
pub const CERT_CACHE_MAX_DER: usize = 16 * 1024;

thread_local! {
    /// Recently decoded certificates (DER bytes and the result), most recent first.
    static CERT_CACHE: std::cell::RefCell<Vec<(Vec<u8>, Option<ServerCert>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// [`certificate`], remembering the last [`CERT_CACHE_ENTRIES`] results by their exact DER
/// bytes: the same certificate seen on another connection is not decoded again. The result is
/// the same as [`certificate`]'s, which is a pure function of the bytes.
pub fn certificate_cached(der: &[u8]) -> Option<ServerCert> {
    if der.len() > CERT_CACHE_MAX_DER {
        return certificate(der);
    }
    let hit = CERT_CACHE.with(|c| {
        let mut c = c.borrow_mut();
        let i = c.iter().position(|(k, _)| k.as_slice() == der)?;
        let e = c.remove(i);
        let out = e.1.clone();
        c.insert(0, e);
        Some(out)
    });
    if let Some(out) = hit {
        return out;
    }
    let out = certificate(der);
    CERT_CACHE.with(|c| {
        let mut c = c.borrow_mut();
        c.truncate(CERT_CACHE_ENTRIES - 1);
        c.insert(0, (der.to_vec(), out.clone()));
    });
    out
}

/// Subject, issuer and subjectAltName of one DER certificate (RFC 5280 4.1, 4.2.1.6). When
/// x509-parser refuses the whole certificate (it is strict about, e.g., UTCTime with a time-zone
/// offset), the names are still read by walking the TBSCertificate fields one by one.
pub fn certificate(der: &[u8]) -> Option<ServerCert> {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return certificate_lenient(der);
    };
    let mut out = ServerCert {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        san: Vec::new(),
    };
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        out.san = san_strings(&san.value.general_names);
    }
    Some(out)
}

/// Most bytes of a DER length field read (4: lengths up to 4 GiB, far above any certificate).
const MAX_DER_LEN_BYTES: usize = 4;

/// One DER TLV split off a buffer: (tag, whole TLV, contents, rest).
type Tlv<'a> = (u8, &'a [u8], &'a [u8], &'a [u8]);

/// One DER TLV at the start of `data` (X.690 8.1).
fn der_tlv(data: &[u8]) -> Option<Tlv<'_>> {
    let tag = *data.first()?;
    let first = *data.get(1)?;
    let (len, hdr) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > MAX_DER_LEN_BYTES {
            return None;
        }
        let bytes = data.get(2..2 + n)?;
        (
            bytes.iter().fold(0usize, |a, &b| (a << 8) | usize::from(b)),
            2 + n,
        )
    };
    let end = hdr.checked_add(len)?;
    Some((tag, data.get(..end)?, data.get(hdr..end)?, data.get(end..)?))
}

/// Issuer, subject and subjectAltName read field by field from the TBSCertificate (RFC 5280
/// 4.1): version [0], serialNumber, signature, issuer, validity (skipped), subject,
/// subjectPublicKeyInfo, [1], [2], extensions [3].
fn certificate_lenient(der: &[u8]) -> Option<ServerCert> {
    use x509_parser::extensions::{ParsedExtension, X509Extension};
    use x509_parser::prelude::FromDer;
    use x509_parser::x509::X509Name;

    let (_, _, cert, _) = der_tlv(der).filter(|t| t.0 == 0x30)?;
    let (_, _, tbs, _) = der_tlv(cert).filter(|t| t.0 == 0x30)?;
    let mut rest = tbs;
    if rest.first() == Some(&0xa0) {
        rest = der_tlv(rest)?.3;
    }
    rest = der_tlv(rest)?.3; // serialNumber
    rest = der_tlv(rest)?.3; // signature
    let (_, issuer_raw, _, r) = der_tlv(rest)?;
    rest = der_tlv(r)?.3; // validity
    let (_, subject_raw, _, r) = der_tlv(rest)?;
    rest = der_tlv(r)?.3; // subjectPublicKeyInfo
    let name = |raw: &[u8]| X509Name::from_der(raw).ok().map(|(_, n)| n.to_string());
    let mut out = ServerCert {
        subject: name(subject_raw)?,
        issuer: name(issuer_raw)?,
        san: Vec::new(),
    };
    while let Some((tag, _, inner, r)) = der_tlv(rest) {
        rest = r;
        if tag != 0xa3 {
            continue;
        }
        let (_, _, mut exts, _) = der_tlv(inner)?;
        while let Some((_, ext_raw, _, r)) = der_tlv(exts) {
            exts = r;
            if let Ok((_, ext)) = X509Extension::from_der(ext_raw) {
                if let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() {
                    out.san = san_strings(&san.general_names);
                }
            }
        }
    }
    Some(out)
}

/// subjectAltName entries as "dns:NAME", "ip:ADDR", "email:..", "uri:..", "dirname:..".
fn san_strings(names: &[GeneralName]) -> Vec<String> {
    names
        .iter()
        .map(|g| match g {
            GeneralName::DNSName(n) => format!("dns:{n}"),
            GeneralName::RFC822Name(n) => format!("email:{n}"),
            GeneralName::URI(n) => format!("uri:{n}"),
            GeneralName::IPAddress(b) => match b.len() {
                4 => format!("ip:{}.{}.{}.{}", b[0], b[1], b[2], b[3]),
                16 => {
                    let mut a = [0u8; 16];
                    a.copy_from_slice(b);
                    format!("ip:{}", std::net::Ipv6Addr::from(a))
                }
                _ => format!("ip:{b:02x?}"),
            },
            GeneralName::DirectoryName(n) => format!("dirname:{n}"),
            GeneralName::OtherName(oid, _) => format!("othername:{oid}"),
            GeneralName::RegisteredID(oid) => format!("rid:{oid}"),
            GeneralName::X400Address(_) => "x400".into(),
            GeneralName::EDIPartyName(_) => "edipartyname".into(),
        })
        .collect()
}
