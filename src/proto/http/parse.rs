//! Pure parsing of HTTP/1.x message heads (RFC 9112 sections 2-5), chunk-size lines (7.1) and
//! the body-length rules (6.3), plus recognition of PKI retrieval and AD CS enrollment URLs.

use std::borrow::Cow;

use crate::proto::auth;

/// Most bytes of a start line plus header fields read before giving up on a message head. Real
/// heads are a few hundred bytes; servers commonly refuse more than 8-16 KiB.
pub const MAX_HEAD_LEN: usize = 16 * 1024;

/// Most header fields kept from one head.
pub const MAX_HEADERS: usize = 128;

/// Longest chunk-size line (with extensions) accepted (RFC 9112 7.1).
pub const MAX_CHUNK_LINE: usize = 1024;

/// Most hex digits of a chunk size: 16 fill a u64 (RFC 9112 7.1 leaves the size unbounded;
/// recipients must guard against overflow).
pub const MAX_CHUNK_HEX: usize = 16;

/// Longest method token accepted.
pub const MAX_METHOD_LEN: usize = 32;

/// Methods the content probe accepts (RFC 9110 9, RFC 4918 WebDAV, MS-RPCH RPC over HTTP).
pub const KNOWN_METHODS: &[&str] = &[
    "GET",
    "POST",
    "HEAD",
    "PUT",
    "DELETE",
    "OPTIONS",
    "CONNECT",
    "TRACE",
    "PATCH",
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
    "RPC_IN_DATA",
    "RPC_OUT_DATA",
];

/// Length of the longest of [`KNOWN_METHODS`] (`RPC_OUT_DATA`).
const LONGEST_KNOWN_METHOD: usize = 12;

/// Why a head could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpError {
    /// No end of head within [`MAX_HEAD_LEN`] bytes.
    TooLong,
    /// The start line is neither a request line nor a status line.
    BadStartLine,
    /// A header line without a colon, or a bad Content-Length.
    BadHeader,
    /// A chunk-size line that is not hex, or too long.
    BadChunk,
}

/// The start line of a message, borrowed from the bytes of the head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine<'a> {
    /// `method SP request-target SP HTTP-version` (RFC 9112 3).
    Request {
        /// Method token (ASCII tchars only).
        method: &'a str,
        /// request-target as sent (origin-form path, absolute-form URL, authority or `*`),
        /// invalid UTF-8 replaced by U+FFFD.
        target: Cow<'a, str>,
    },
    /// `HTTP-version SP status-code SP [reason-phrase]` (RFC 9112 4).
    Response {
        /// Status code.
        status: u16,
    },
}

/// A parsed message head, borrowed from the bytes it was read from. Only the header fields the
/// analyzer uses are kept: the first value of each among the first [`MAX_HEADERS`] fields,
/// trimmed, invalid UTF-8 replaced by U+FFFD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head<'a> {
    /// Start line.
    pub start: StartLine<'a>,
    /// Minor version (0 or 1) of HTTP/1.x.
    pub minor: u8,
    host: Option<Cow<'a, str>>,
    content_length: Option<Cow<'a, str>>,
    transfer_encoding: Option<Cow<'a, str>>,
    content_type: Option<Cow<'a, str>>,
    authorization: Option<Cow<'a, str>>,
    www_authenticate: Option<Cow<'a, str>>,
    /// Header fields after the first [`MAX_HEADERS`], not read.
    fields_dropped: u32,
}

impl<'a> Head<'a> {
    /// Where the first value of `f` is kept.
    fn slot(&mut self, f: Field) -> &mut Option<Cow<'a, str>> {
        match f {
            Field::Host => &mut self.host,
            Field::ContentLength => &mut self.content_length,
            Field::TransferEncoding => &mut self.transfer_encoding,
            Field::ContentType => &mut self.content_type,
            Field::Authorization => &mut self.authorization,
            Field::WwwAuthenticate => &mut self.www_authenticate,
        }
    }

    /// The first Host header (RFC 9110 7.2), if any.
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// The authentication token of a request's `Authorization` or a response's
    /// `WWW-Authenticate` with the scheme `Negotiate` (RFC 4559 4, 5: SPNEGO, or the bare
    /// Kerberos or NTLM token Windows also sends), `Kerberos` (which IIS accepts) or `NTLM`
    /// (MS-NTHT 2), base64-decoded; `None` for other schemes, a token that is not base64, or
    /// one whose first byte starts no token that [`auth::record_token`] reads.
    pub fn auth_token(&self) -> Option<Vec<u8>> {
        let field = match self.start {
            StartLine::Request { .. } => &self.authorization,
            StartLine::Response { .. } => &self.www_authenticate,
        };
        let v = field.as_deref()?;
        let (scheme, token) = v.split_once(' ')?;
        let known = ["Negotiate", "Kerberos", "NTLM"]
            .iter()
            .any(|s| scheme.eq_ignore_ascii_case(s));
        let token = token.trim().as_bytes();
        // Only a token that can be read is decoded: its first character encodes the top six
        // bits of its first byte, which must be one of `auth::first_bytes` ('Y' for 0x60, 'o'
        // for 0xa1, 'b' for 0x6e/0x6f, 'f' for 0x7e, 'T' for the 'N' of "NTLMSSP").
        let top6 = token.first().map(|&c| BASE64[usize::from(c)]);
        let readable = top6.is_some_and(|v| auth::first_bytes().any(|b| b >> 2 == v));
        if !known || !readable {
            return None;
        }
        base64(token)
    }

    /// Header fields after the first [`MAX_HEADERS`]: not read (a Host or Content-Length among
    /// them is not seen).
    pub fn fields_dropped(&self) -> u32 {
        self.fields_dropped
    }

    /// Content-Length (RFC 9110 8.6), if present and valid.
    pub fn content_length(&self) -> Result<Option<u64>, HttpError> {
        match self.content_length.as_deref() {
            None => Ok(None),
            Some(v) => {
                // A list of identical values is allowed (RFC 9110 8.6); take the first.
                let first = trim_text(before(v, b','));
                first.parse().map(Some).map_err(|_| HttpError::BadHeader)
            }
        }
    }

    /// True when the final transfer coding is chunked (RFC 9112 6.1).
    pub fn chunked(&self) -> bool {
        self.transfer_encoding.as_deref().is_some_and(|v| {
            let last = match memchr::memrchr(b',', v.as_bytes()) {
                Some(k) => v.get(k + 1..).unwrap_or_default(),
                None => v,
            };
            trim_text(last).eq_ignore_ascii_case("chunked")
        })
    }

    /// Media type of Content-Type (RFC 9110 8.3) without parameters, lowercased (borrowed when
    /// it already is).
    pub fn media_type(&self) -> Option<Cow<'_, str>> {
        let v = self.content_type.as_deref()?;
        let t = trim_text(before(v, b';'));
        if t.is_empty() {
            None
        } else if t.bytes().any(|b| b.is_ascii_uppercase()) {
            Some(Cow::Owned(t.to_ascii_lowercase()))
        } else {
            Some(Cow::Borrowed(t))
        }
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Where the head ends: the index just past the empty line (CRLF CRLF, or bare LF LF which
/// RFC 9112 2.2 lets recipients accept). The search starts at line feeds from `from` on (an
/// earlier search of a shorter prefix already looked at those before).
fn head_end(data: &[u8], from: usize) -> Option<usize> {
    let lim = data.len().min(MAX_HEAD_LEN);
    let d = data.get(..lim)?;
    let mut i = from.min(lim);
    while let Some(k) = d.get(i..).and_then(|r| memchr::memchr(b'\n', r)) {
        let nl = i + k;
        match (d.get(nl + 1), d.get(nl + 2)) {
            (Some(b'\n'), _) => return Some(nl + 2),
            (Some(b'\r'), Some(b'\n')) => return Some(nl + 3),
            _ => {}
        }
        i = nl + 1;
    }
    None
}

/// `line` without every trailing CR.
fn trim_cr(mut line: &[u8]) -> &[u8] {
    while let [rest @ .., b'\r'] = line {
        line = rest;
    }
    line
}

/// `b` as text, invalid UTF-8 replaced by U+FFFD: `String::from_utf8_lossy`, with the faster
/// validation of `std::str::from_utf8` first (it checks ASCII a word at a time; the lossy
/// iterator goes byte by byte), since wire text is nearly always valid.
fn text(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// `b` as text (invalid UTF-8 replaced by U+FFFD) with white space trimmed, borrowed when `b`
/// is valid UTF-8.
fn lossy_trim(b: &[u8]) -> Cow<'_, str> {
    match text(b) {
        Cow::Borrowed(s) => Cow::Borrowed(trim_text(s)),
        Cow::Owned(s) => Cow::Owned(s.trim().to_string()),
    }
}

/// `str::trim`, returning `s` itself at once when both ends are ASCII and not white space
/// (nearly every header value).
fn trim_text(s: &str) -> &str {
    let b = s.as_bytes();
    if kept_end(b.first()) && kept_end(b.last()) {
        s
    } else {
        s.trim()
    }
}

/// True for an ASCII byte that `str::trim` keeps at an end of text.
fn kept_end(b: Option<&u8>) -> bool {
    b.is_some_and(|&b| b.is_ascii() && !is_trimmed(b))
}

/// The text of `s` before the first `sep` (an ASCII byte), or all of it: the first item of
/// `s.split(sep)`.
fn before(s: &str, sep: u8) -> &str {
    match memchr::memchr(sep, s.as_bytes()) {
        Some(k) => s.get(..k).unwrap_or_default(),
        None => s,
    }
}

/// True for the ASCII bytes `char::is_whitespace` accepts (HT, LF, VT, FF, CR, space): what
/// `str::trim` removes from ASCII text. (`u8::is_ascii_whitespace` leaves VT out.)
fn is_trimmed(b: u8) -> bool {
    matches!(b, b'\t'..=b'\r' | b' ')
}

/// `str::trim` for ASCII bytes.
fn trim_ascii_text(mut b: &[u8]) -> &[u8] {
    while let [rest @ .., last] = b {
        if !is_trimmed(*last) {
            break;
        }
        b = rest;
    }
    while let [first, rest @ ..] = b {
        if !is_trimmed(*first) {
            break;
        }
        b = rest;
    }
    b
}

/// The header fields a [`Head`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Host,
    ContentLength,
    TransferEncoding,
    ContentType,
    Authorization,
    WwwAuthenticate,
}

/// The kept field named `n` (RFC 9110 7.2, 8.6, 6.1, 8.3, 11.6.2, 11.6.1), matched ignoring ASCII case; the
/// names have different lengths, so one comparison at most.
fn find_field(n: &[u8]) -> Option<Field> {
    // The usual spelling is compared first (a comparison of known length, done in place).
    let is = |usual: &[u8], lower: &[u8]| n == usual || n.eq_ignore_ascii_case(lower);
    match n.len() {
        4 => is(b"Host", b"host").then_some(Field::Host),
        12 => is(b"Content-Type", b"content-type").then_some(Field::ContentType),
        13 => is(b"Authorization", b"authorization").then_some(Field::Authorization),
        16 => is(b"WWW-Authenticate", b"www-authenticate").then_some(Field::WwwAuthenticate),
        14 => is(b"Content-Length", b"content-length").then_some(Field::ContentLength),
        17 => is(b"Transfer-Encoding", b"transfer-encoding").then_some(Field::TransferEncoding),
        _ => None,
    }
}

/// Which kept field a header line's name (the bytes before its colon) is: its text, trimmed,
/// equal to a field name ignoring ASCII case ([`find_field`]). An ASCII name (every real one)
/// is matched on its bytes; any other through its lossy text, whose trimming may remove
/// non-ASCII white space.
fn field(name: &[u8]) -> Option<Field> {
    // Ends that are ASCII and not white space: the text trims to itself (the usual case).
    if kept_end(name.first()) && kept_end(name.last()) {
        find_field(name)
    } else if name.is_ascii() {
        find_field(trim_ascii_text(name))
    } else {
        find_field(String::from_utf8_lossy(name).trim().as_bytes())
    }
}

/// The 6-bit value of each base64 character (RFC 4648 4, standard alphabet); 0xff for any other
/// byte.
const BASE64: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 26 {
        t[b'A' as usize + i] = i as u8;
        t[b'a' as usize + i] = 26 + i as u8;
        i += 1;
    }
    let mut d = 0;
    while d < 10 {
        t[b'0' as usize + d] = 52 + d as u8;
        d += 1;
    }
    t[b'+' as usize] = 62;
    t[b'/' as usize] = 63;
    t
};

/// Decodes base64 (RFC 4648 4: the standard alphabet, `=` padding optional); `None` for any
/// other byte, or a length no encoding gives. Four characters at a time, through a table: a
/// Negotiate token of several KiB is decoded for each request that carries one.
pub(crate) fn base64(text: &[u8]) -> Option<Vec<u8>> {
    let text = text
        .strip_suffix(b"==")
        .or_else(|| text.strip_suffix(b"="))
        .unwrap_or(text);
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = vec![0u8; text.len() * 3 / 4];
    let (whole, tail) = text.split_at(text.len() / 4 * 4);
    let value = |c: u8| u32::from(BASE64[usize::from(c)]);
    for (src, dst) in whole.chunks_exact(4).zip(out.chunks_exact_mut(3)) {
        let [a, b, c, d] = [value(src[0]), value(src[1]), value(src[2]), value(src[3])];
        if (a | b | c | d) > 63 {
            return None;
        }
        let n = a << 18 | b << 12 | c << 6 | d;
        dst.copy_from_slice(&n.to_be_bytes()[1..]);
    }
    // A last group of 2 or 3 characters holds 1 or 2 bytes, its low bits zero-padded.
    if !tail.is_empty() {
        let mut n = 0u32;
        for &c in tail {
            let v = value(c);
            if v > 63 {
                return None;
            }
            n = n << 6 | v;
        }
        n <<= 6 * (4 - tail.len() as u32);
        let start = whole.len() / 4 * 3;
        out[start..].copy_from_slice(&n.to_be_bytes()[1..tail.len()]);
    }
    Some(out)
}

/// Splits `b` at the first space: (before, after); `None` when there is no space.
fn split_space(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let k = memchr::memchr(b' ', b)?;
    Some((b.get(..k)?, b.get(k + 1..)?))
}

/// Parses the start line (without its line end): `None` when it is neither form.
fn start_line(line: &[u8]) -> Option<(StartLine<'_>, u8)> {
    if let Some(rest) = line.strip_prefix(b"HTTP/1.") {
        let (minor, rest) = split_space(rest)?;
        // The reason phrase may be absent, and then so may the space before it.
        let code = split_space(rest).map_or(rest, |(c, _)| c);
        let [minor] = minor else { return None };
        if !minor.is_ascii_digit() || code.len() != 3 {
            return None;
        }
        let status: u16 = match *code {
            [a, b, c] if code.iter().all(u8::is_ascii_digit) => {
                u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
            }
            // What `str::parse` also takes ("+12").
            _ => std::str::from_utf8(code).ok()?.parse().ok()?,
        };
        return Some((StartLine::Response { status }, minor - b'0'));
    }
    let (method, rest) = split_space(line)?;
    let (target, version) = split_space(rest)?;
    if method.is_empty() || method.len() > MAX_METHOD_LEN || !method.iter().all(|&b| is_tchar(b)) {
        return None;
    }
    if target.is_empty() {
        return None;
    }
    let [minor] = version.strip_prefix(b"HTTP/1.")? else {
        return None;
    };
    if !minor.is_ascii_digit() {
        return None;
    }
    Some((
        StartLine::Request {
            method: std::str::from_utf8(method).ok()?,
            target: text(target),
        },
        minor - b'0',
    ))
}

/// Reads a message head from the start of `data`. `Ok(None)`: incomplete, wait for more;
/// `Ok(Some((head, len)))`: the head and its length including the empty line.
pub fn head(data: &[u8]) -> Result<Option<(Head<'_>, usize)>, HttpError> {
    head_from(data, 0)
}

/// [`head`] for `data` whose first `scanned` bytes were offered before and found incomplete:
/// the end of head is looked for only where it could not have been seen then.
pub fn head_from(data: &[u8], scanned: usize) -> Result<Option<(Head<'_>, usize)>, HttpError> {
    // An empty line ending at index k+2 or k+3 starts with the LF at k: one that was followed by
    // fewer than 2 bytes in the shorter prefix may complete now.
    let from = scanned.saturating_sub(2);
    if from > 0 && head_end(data, from).is_none() {
        // Still incomplete: the lines are read once the head is whole.
        return incomplete(data, None);
    }
    read_head(data, from)
}

/// What an incomplete head gives: [`HttpError::TooLong`] at the cap; [`HttpError::BadStartLine`]
/// when a start line that can already be seen is wrong (it fails now, not at the cap), `ok` telling
/// whether the first line is known to be good; else wait for more.
fn incomplete(data: &[u8], ok: Option<bool>) -> Result<Option<(Head<'_>, usize)>, HttpError> {
    if data.len() >= MAX_HEAD_LEN {
        return Err(HttpError::TooLong);
    }
    let ok = ok.unwrap_or_else(|| match memchr::memchr(b'\n', data) {
        Some(nl) => start_line(trim_cr(data.get(..nl).unwrap_or_default())).is_some(),
        None => true,
    });
    if ok {
        Ok(None)
    } else {
        Err(HttpError::BadStartLine)
    }
}

/// Reads the head at the start of `data` in one pass over its lines: each line is read as it is
/// found, and the line feed ending it is checked for the end of head (the empty line of
/// [`head_end`], looked for from the line feeds at `end_from` on). The first error in line order
/// is returned once the head is whole; the fields end early at a line of only CRs.
fn read_head(data: &[u8], end_from: usize) -> Result<Option<(Head<'_>, usize)>, HttpError> {
    let d = data.get(..data.len().min(MAX_HEAD_LEN)).unwrap_or_default();
    let mut head: Result<Head, HttpError> = Err(HttpError::BadStartLine);
    // Whether the start line is good, once it has been read.
    let mut start_ok: Option<bool> = None;
    let mut fields_done = false;
    let mut n_headers = 0usize;
    let mut at = 0usize;
    loop {
        let Some(nl) = d
            .get(at..)
            .and_then(|r| memchr::memchr(b'\n', r))
            .map(|k| at + k)
        else {
            return incomplete(data, start_ok);
        };
        let line = trim_cr(d.get(at..nl).unwrap_or_default());
        if start_ok.is_none() {
            start_ok = Some(false);
            if let Some((start, minor)) = start_line(line) {
                start_ok = Some(true);
                head = Ok(Head {
                    start,
                    minor,
                    host: None,
                    content_length: None,
                    transfer_encoding: None,
                    content_type: None,
                    authorization: None,
                    www_authenticate: None,
                    fields_dropped: 0,
                });
            }
        } else if let (Ok(h), false) = (&mut head, fields_done) {
            if line.is_empty() {
                fields_done = true;
            } else {
                match memchr::memchr(b':', line) {
                    None => head = Err(HttpError::BadHeader),
                    Some(_) if n_headers >= MAX_HEADERS => h.fields_dropped += 1,
                    Some(c) => {
                        n_headers += 1;
                        if let Some(f) = field(line.get(..c).unwrap_or_default()) {
                            let slot = h.slot(f);
                            if slot.is_none() {
                                *slot = Some(lossy_trim(line.get(c + 1..).unwrap_or_default()));
                            }
                        }
                    }
                }
            }
        }
        if nl >= end_from {
            let end = match (d.get(nl + 1), d.get(nl + 2)) {
                (Some(b'\n'), _) => Some(nl + 2),
                (Some(b'\r'), Some(b'\n')) => Some(nl + 3),
                _ => None,
            };
            if let Some(end) = end {
                return head.map(|h| Some((h, end)));
            }
        }
        at = nl + 1;
    }
}

/// Reads a chunk-size line (RFC 9112 7.1: `chunk-size [ chunk-ext ] CRLF`). `Ok(None)`:
/// incomplete; `Ok(Some((size, len)))` with the line length including CRLF.
pub fn chunk_size(data: &[u8]) -> Result<Option<(u64, usize)>, HttpError> {
    // The usual line, hex digits then CRLF (or LF), read directly; the rest as below.
    let mut size = 0u64;
    let mut digits = 0usize;
    for &b in data.iter().take(MAX_CHUNK_HEX + 1) {
        let Some(v) = char::from(b).to_digit(16) else {
            break;
        };
        // Shifted-out bits of a 17th digit do not matter: such a line is not read here.
        size = (size << 4) | u64::from(v);
        digits += 1;
    }
    if (1..=MAX_CHUNK_HEX).contains(&digits) {
        match (data.get(digits), data.get(digits + 1)) {
            (Some(b'\n'), _) => return Ok(Some((size, digits + 1))),
            (Some(b'\r'), Some(b'\n')) => return Ok(Some((size, digits + 2))),
            _ => {}
        }
    }
    let lim = data.len().min(MAX_CHUNK_LINE);
    let Some(nl) = data.get(..lim).and_then(|d| memchr::memchr(b'\n', d)) else {
        return if data.len() >= MAX_CHUNK_LINE {
            Err(HttpError::BadChunk)
        } else {
            Ok(None)
        };
    };
    let line = std::str::from_utf8(data.get(..nl).unwrap_or_default())
        .map_err(|_| HttpError::BadChunk)?
        .trim_end_matches('\r');
    let hex = line.split(';').next().unwrap_or("").trim();
    if hex.is_empty() || hex.len() > MAX_CHUNK_HEX {
        return Err(HttpError::BadChunk);
    }
    let size = u64::from_str_radix(hex, 16).map_err(|_| HttpError::BadChunk)?;
    Ok(Some((size, nl + 1)))
}

/// True if `data` starts like an HTTP/1.x message: `HTTP/1.x ` and a digit, or a known method,
/// a space and a request-target; when the whole request line is present it must end in
/// `HTTP/1.x` (so SIP's `OPTIONS sip:... SIP/2.0` and RTSP are not taken for HTTP).
pub fn looks_like_start(data: &[u8]) -> bool {
    if let Some(rest) = data.strip_prefix(b"HTTP/1.") {
        return matches!(rest.first(), Some(b'0' | b'1'))
            && rest.get(1) == Some(&b' ')
            && rest.get(2).is_some_and(|b| b.is_ascii_digit());
    }
    // A known method (none holds a space) followed by a space is the text before the first
    // space; a request-target follows it.
    let Some(sp) = data
        .iter()
        .take(LONGEST_KNOWN_METHOD + 1)
        .position(|&b| b == b' ')
    else {
        return false;
    };
    let known = data
        .get(..sp)
        .is_some_and(|m| KNOWN_METHODS.iter().any(|k| k.as_bytes() == m));
    let target = data.get(sp + 1).is_some_and(|&b| b != b' ');
    if !(known && target) {
        return false;
    }
    match memchr::memchr(b'\n', data) {
        None => true,
        Some(nl) => {
            let line = data.get(..nl).unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            line.len() >= 9
                && line
                    .get(line.len() - 9..line.len() - 1)
                    .is_some_and(|v| v == b" HTTP/1.")
        }
    }
}

/// What a request or response has to do with certificates, judged by path and media type:
/// `crl` (CRL distribution point), `aia` (CA certificate), `ocsp` (by media type, or the
/// `/ocsp` path of the AD CS Online Responder), `mscep` (NDES/SCEP),
/// `cep` / `ces` (MS-XCEP / MS-WSTEP web services), `certsrv` (web enrollment pages).
pub fn pki_kind(path: &str, media_type: Option<&str>) -> Option<&'static str> {
    if let Some(t) = media_type {
        match t {
            "application/pkix-crl" => return Some("crl"),
            "application/pkix-cert"
            | "application/x-x509-ca-cert"
            | "application/pkcs7-mime"
            | "application/x-pkcs7-certificates" => return Some("aia"),
            "application/ocsp-request" | "application/ocsp-response" => return Some("ocsp"),
            _ => {}
        }
    }
    let p = path.as_bytes();
    // Compared ignoring ASCII case: the same as on `path.to_ascii_lowercase()`, without the copy.
    let no_query = p
        .get(..memchr::memchr2(b'?', b'#', p).unwrap_or(p.len()))
        .unwrap_or(p);
    let ends = |s: &[u8]| {
        no_query
            .len()
            .checked_sub(s.len())
            .and_then(|k| no_query.get(k..))
            .is_some_and(|t| t.eq_ignore_ascii_case(s))
    };
    let [mscep, cep, ces, certsrv] = enrollment_markers(p);
    if ends(b".crl") {
        Some("crl")
    } else if ends(b".crt") || ends(b".cer") || ends(b".p7b") {
        Some("aia")
    } else if p.get(..5).is_some_and(|s| s.eq_ignore_ascii_case(b"/ocsp"))
        && matches!(p.get(5), None | Some(b'/' | b'?'))
    {
        // The AD CS Online Responder's virtual directory; GET requests carry the base64
        // OCSPRequest in the path (RFC 6960 A.1).
        Some("ocsp")
    } else if mscep {
        Some("mscep")
    } else if cep {
        Some("cep")
    } else if ces {
        Some("ces")
    } else if certsrv || ends(b"/certsrv") {
        Some("certsrv")
    } else {
        None
    }
}

/// Path markers of AD CS enrollment, each with the offset of the `ce` it holds: `mscep`
/// (NDES), `_cep_` / `_ces_` (the CEP / CES virtual directories, DOMAIN.md section 6),
/// `/certsrv/` (web enrollment).
const MARKERS: [(&[u8], usize); 4] = [
    (b"mscep", 2),
    (b"_cep_", 1),
    (b"_ces_", 1),
    (b"/certsrv/", 1),
];

/// Which of [`MARKERS`] `p` contains, ignoring ASCII case. Every marker holds `ce`, so only
/// the places of a `c` followed by `e` (found with `memchr2`) are compared: one pass over the
/// path instead of a lowercase copy and a substring search per marker.
fn enrollment_markers(p: &[u8]) -> [bool; 4] {
    let mut found = [false; 4];
    let mut from = 0;
    while let Some(k) = p.get(from..).and_then(|r| memchr::memchr2(b'c', b'C', r)) {
        let c = from + k;
        from = c + 1;
        if !p.get(c + 1).is_some_and(|b| b.eq_ignore_ascii_case(&b'e')) {
            continue;
        }
        for (hit, (marker, ce)) in found.iter_mut().zip(MARKERS) {
            *hit |= c
                .checked_sub(ce)
                .and_then(|start| p.get(start..start + marker.len()))
                .is_some_and(|w| w.eq_ignore_ascii_case(marker));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pki_kinds() {
        // Paths as CDP/AIA URLs are published by AD CS (CertEnroll), MS-XCEP/MS-WSTEP service
        // paths (DOMAIN.md section 6), NDES mscep.dll.
        let cases = [
            ("/CertEnroll/Example%20CA.crl", None, Some("crl")),
            ("/CertEnroll/Example%20CA+.CRL?x=1", None, Some("crl")),
            (
                "/CertEnroll/ca.example.com_Example%20CA.crt",
                None,
                Some("aia"),
            ),
            ("/pki/root.cer", None, Some("aia")),
            ("/pki/chain.p7b", None, Some("aia")),
            ("/ocsp", Some("application/ocsp-request"), Some("ocsp")),
            ("", Some("application/ocsp-response"), Some("ocsp")),
            ("", Some("application/pkix-crl"), Some("crl")),
            ("", Some("application/pkix-cert"), Some("aia")),
            (
                "/ADPolicyProvider_CEP_Kerberos/service.svc/CEP",
                None,
                Some("cep"),
            ),
            (
                "/Example%20CA_CES_Kerberos/service.svc/CES",
                None,
                Some("ces"),
            ),
            ("/certsrv/mscep/mscep.dll", None, Some("mscep")),
            ("/CertSrv/certfnsh.asp", None, Some("certsrv")),
            ("/certsrv", None, Some("certsrv")),
            ("/index.html", Some("text/html"), None),
            ("/crl.html", None, None),
            (
                "/ocsp/MFQwUjBQME4wTDAJBgUrDgMCGgUABBQ%3D",
                None,
                Some("ocsp"),
            ),
            ("/ocsp", None, Some("ocsp")),
            ("/ocspfoo", None, None),
            // Compared ignoring ASCII case, markers anywhere in the path (query too), suffixes
            // before the query or fragment, in the order of the checks.
            ("/OCSP?x", None, Some("ocsp")),
            ("/pki/Root.CER#top", None, Some("aia")),
            ("/certsrv/x.crl", None, Some("crl")),
            ("/x/MSCEP_admin/", None, Some("mscep")),
            ("/Example_CES_Kerberos/mscep", None, Some("mscep")),
            ("/A_Cep_B_ces_", None, Some("cep")),
            ("/A_cEs_B", None, Some("ces")),
            ("/index?next=/CERTSRV/", None, Some("certsrv")),
            ("/a/CertSrv?x", None, Some("certsrv")),
            ("/certsrvx", None, None),
            ("ce", None, None),
            ("_ce", None, None),
            ("", None, None),
        ];
        for (path, media, want) in cases {
            assert_eq!(pki_kind(path, media), want, "{path} {media:?}");
        }
    }

    #[test]
    fn field_names_trim_as_text_does() {
        // `str::trim` removes VT (U+000B) and NBSP (U+00A0), not U+001C; names match ignoring
        // ASCII case.
        for b in 0..=127u8 {
            assert_eq!(is_trimmed(b), char::from(b).is_whitespace(), "{b:#x}");
        }
        assert_eq!(field(b"Host"), Some(Field::Host));
        assert_eq!(field(b" cOnTeNt-TyPe\t"), Some(Field::ContentType));
        assert_eq!(
            field(b"\x0bTransfer-Encoding"),
            Some(Field::TransferEncoding)
        );
        assert_eq!(
            field("\u{a0}Content-Length".as_bytes()),
            Some(Field::ContentLength)
        );
        assert_eq!(field(b"\x1cHost"), None);
        assert_eq!(field(b"Ho st"), None);
        assert_eq!(field(b"H\xffst"), None);
        assert_eq!(field(b"Hostx"), None);
        assert_eq!(field(b""), None);
    }

    #[test]
    fn head_edge_cases() {
        // A line of only CRs ends the fields: Host after it is not read, the head still ends
        // at the empty line.
        let h = b"GET / HTTP/1.1\r\n\r\r\nHost: a\r\n\r\nrest";
        let (head, len) = super::head(h).unwrap().unwrap();
        assert_eq!((head.host(), len), (None, h.len() - 4));
        // The first value of a field is kept; the name may carry white space.
        let h = b"GET / HTTP/1.1\r\nhost : a\r\nHost: b\r\n\r\n";
        assert_eq!(super::head(h).unwrap().unwrap().0.host(), Some("a"));
        // A header line without a colon fails once the head is whole, not before.
        let h = b"GET / HTTP/1.1\r\nHost: a\r\nno colon\r\n\r\n";
        assert_eq!(super::head(&h[..h.len() - 2]), Ok(None));
        assert_eq!(super::head(h), Err(HttpError::BadHeader));
        // A bad start line fails as soon as it is whole.
        assert_eq!(super::head(b"GET /\r\nHost"), Err(HttpError::BadStartLine));
        assert_eq!(
            super::head(b"HTTP/1.1 99 x\r\n\r\n"),
            Err(HttpError::BadStartLine)
        );
        // Status codes: three digits, or what `str::parse` takes.
        let status = |h: &[u8]| match super::head(h) {
            Ok(Some((
                Head {
                    start: StartLine::Response { status },
                    ..
                },
                _,
            ))) => Some(status),
            _ => None,
        };
        assert_eq!(status(b"HTTP/1.1 404 Not Found\r\n\r\n"), Some(404));
        assert_eq!(status(b"HTTP/1.0 204\n\n"), Some(204));
        assert_eq!(status(b"HTTP/1.1 +12 x\r\n\r\n"), Some(12));
        // Invalid UTF-8 in the request-target is replaced, not refused.
        match super::head(b"GET /a\xff HTTP/1.1\r\n\r\n") {
            Ok(Some((
                Head {
                    start: StartLine::Request { target, .. },
                    ..
                },
                _,
            ))) => {
                assert_eq!(target, "/a\u{fffd}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn chunk_size_lines() {
        // The usual lines, read directly.
        assert_eq!(chunk_size(b"1f40\r\nxx"), Ok(Some((0x1f40, 6))));
        assert_eq!(chunk_size(b"A\nxx"), Ok(Some((10, 2))));
        assert_eq!(
            chunk_size(b"ffffffffffffffff\r\n"),
            Ok(Some((u64::MAX, 18)))
        );
        assert_eq!(chunk_size(b"0\r\n"), Ok(Some((0, 3))));
        // Extensions, white space, extra CRs, a sign: the general reading.
        assert_eq!(chunk_size(b"5;ext=1\r\n"), Ok(Some((5, 9))));
        assert_eq!(chunk_size(b" 5 ;x\r\n"), Ok(Some((5, 7))));
        assert_eq!(chunk_size(b"7\r\r\n"), Ok(Some((7, 4))));
        assert_eq!(chunk_size(b"+a\r\n"), Ok(Some((10, 4))));
        // Incomplete, then bad.
        assert_eq!(chunk_size(b"1f4"), Ok(None));
        assert_eq!(chunk_size(b"1f4\r"), Ok(None));
        assert_eq!(
            chunk_size(b"1ffffffffffffffff\r\n"),
            Err(HttpError::BadChunk)
        );
        assert_eq!(chunk_size(b"\r\n"), Err(HttpError::BadChunk));
        assert_eq!(chunk_size(b"5\xff\r\n"), Err(HttpError::BadChunk));
        assert_eq!(
            chunk_size(&[b'1'; MAX_CHUNK_LINE]),
            Err(HttpError::BadChunk)
        );
    }

    #[test]
    fn start_probe() {
        assert_eq!(
            KNOWN_METHODS.iter().map(|m| m.len()).max(),
            Some(LONGEST_KNOWN_METHOD)
        );
        assert!(looks_like_start(b"RPC_OUT_DATA /rpc"));
        assert!(looks_like_start(b"GET /"));
        assert!(looks_like_start(b"GET /x HTTP/1.1\r\nHost"));
        assert!(!looks_like_start(b"GET "));
        assert!(!looks_like_start(b"GET  /"));
        assert!(!looks_like_start(b"get /"));
        assert!(!looks_like_start(b"GETS /"));
        assert!(!looks_like_start(b"GET /x HTTP/2.0\r\n"));
        assert!(!looks_like_start(b"RPC_OUT_DATAX /"));
    }
}
