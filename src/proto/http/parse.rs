//! Pure parsing of HTTP/1.x message heads (RFC 9112 sections 2-5), chunk-size lines (7.1) and
//! the body-length rules (6.3), plus recognition of PKI retrieval and AD CS enrollment URLs.

use std::borrow::Cow;

/// Most bytes of a start line plus header fields read before giving up on a message head. Real
/// heads are a few hundred bytes; servers commonly refuse more than 8-16 KiB.
pub const MAX_HEAD_LEN: usize = 16 * 1024;

/// Most header fields kept from one head.
pub const MAX_HEADERS: usize = 128;

/// Longest chunk-size line (with extensions) accepted (RFC 9112 7.1).
pub const MAX_CHUNK_LINE: usize = 1024;

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
}

impl Head<'_> {
    /// The first Host header (RFC 9110 7.2), if any.
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// Content-Length (RFC 9110 8.6), if present and valid.
    pub fn content_length(&self) -> Result<Option<u64>, HttpError> {
        match self.content_length.as_deref() {
            None => Ok(None),
            Some(v) => {
                // A list of identical values is allowed (RFC 9110 8.6); take the first.
                let first = v.split(',').next().unwrap_or("").trim();
                first.parse().map(Some).map_err(|_| HttpError::BadHeader)
            }
        }
    }

    /// True when the final transfer coding is chunked (RFC 9112 6.1).
    pub fn chunked(&self) -> bool {
        self.transfer_encoding.as_deref().is_some_and(|v| {
            v.rsplit(',')
                .next()
                .is_some_and(|c| c.trim().eq_ignore_ascii_case("chunked"))
        })
    }

    /// Media type of Content-Type (RFC 9110 8.3) without parameters, lowercased (borrowed when
    /// it already is).
    pub fn media_type(&self) -> Option<Cow<'_, str>> {
        let v = self.content_type.as_deref()?;
        let t = v.split(';').next().unwrap_or("").trim();
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

/// Splits off the line up to the next LF (LF dropped); the whole rest when there is none.
fn next_line<'a>(rest: &mut &'a [u8]) -> &'a [u8] {
    let r = *rest;
    match memchr::memchr(b'\n', r) {
        Some(k) => {
            *rest = r.get(k + 1..).unwrap_or_default();
            r.get(..k).unwrap_or_default()
        }
        None => {
            *rest = &[];
            r
        }
    }
}

/// `b` as text (invalid UTF-8 replaced by U+FFFD) with white space trimmed, borrowed when `b`
/// is valid UTF-8.
fn lossy_trim(b: &[u8]) -> Cow<'_, str> {
    match String::from_utf8_lossy(b) {
        Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
        Cow::Owned(s) => Cow::Owned(s.trim().to_string()),
    }
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
        let status: u16 = std::str::from_utf8(code).ok()?.parse().ok()?;
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
            target: String::from_utf8_lossy(target),
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
    let Some(end) = head_end(data, scanned.saturating_sub(2)) else {
        return if data.len() >= MAX_HEAD_LEN {
            Err(HttpError::TooLong)
        } else {
            // A start line that can already be seen to be wrong fails now, not at the cap.
            match memchr::memchr(b'\n', data) {
                Some(nl) => match start_line(trim_cr(data.get(..nl).unwrap_or_default())) {
                    Some(_) => Ok(None),
                    None => Err(HttpError::BadStartLine),
                },
                None => Ok(None),
            }
        };
    };
    let mut rest = data.get(..end).unwrap_or_default();
    let first = trim_cr(next_line(&mut rest));
    let (start, minor) = start_line(first).ok_or(HttpError::BadStartLine)?;
    let mut h = Head {
        start,
        minor,
        host: None,
        content_length: None,
        transfer_encoding: None,
        content_type: None,
    };
    let mut n_headers = 0usize;
    while !rest.is_empty() {
        let l = trim_cr(next_line(&mut rest));
        if l.is_empty() {
            break;
        }
        let c = memchr::memchr(b':', l).ok_or(HttpError::BadHeader)?;
        if n_headers >= MAX_HEADERS {
            continue;
        }
        n_headers += 1;
        let name = String::from_utf8_lossy(l.get(..c).unwrap_or_default());
        let slot = match name.trim() {
            n if n.eq_ignore_ascii_case("host") => &mut h.host,
            n if n.eq_ignore_ascii_case("content-length") => &mut h.content_length,
            n if n.eq_ignore_ascii_case("transfer-encoding") => &mut h.transfer_encoding,
            n if n.eq_ignore_ascii_case("content-type") => &mut h.content_type,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(lossy_trim(l.get(c + 1..).unwrap_or_default()));
        }
    }
    Ok(Some((h, end)))
}

/// Reads a chunk-size line (RFC 9112 7.1: `chunk-size [ chunk-ext ] CRLF`). `Ok(None)`:
/// incomplete; `Ok(Some((size, len)))` with the line length including CRLF.
pub fn chunk_size(data: &[u8]) -> Result<Option<(u64, usize)>, HttpError> {
    let lim = data.len().min(MAX_CHUNK_LINE);
    let Some(nl) = data
        .get(..lim)
        .and_then(|d| d.iter().position(|&b| b == b'\n'))
    else {
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
    if hex.is_empty() || hex.len() > 16 {
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
    let known = KNOWN_METHODS.iter().any(|m| {
        data.strip_prefix(m.as_bytes())
            .is_some_and(|r| r.first() == Some(&b' ') && r.get(1).is_some_and(|&b| b != b' '))
    });
    if !known {
        return false;
    }
    match data.iter().position(|&b| b == b'\n') {
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
    let p = path.to_ascii_lowercase();
    let no_query = p.split(['?', '#']).next().unwrap_or("");
    if no_query.ends_with(".crl") {
        Some("crl")
    } else if no_query.ends_with(".crt") || no_query.ends_with(".cer") || no_query.ends_with(".p7b")
    {
        Some("aia")
    } else if p.starts_with("/ocsp") && matches!(p.as_bytes().get(5), None | Some(b'/' | b'?')) {
        // The AD CS Online Responder's virtual directory; GET requests carry the base64
        // OCSPRequest in the path (RFC 6960 A.1).
        Some("ocsp")
    } else if p.contains("mscep") {
        Some("mscep")
    } else if p.contains("_cep_") {
        Some("cep")
    } else if p.contains("_ces_") {
        Some("ces")
    } else if p.contains("/certsrv/") || no_query.ends_with("/certsrv") {
        Some("certsrv")
    } else {
        None
    }
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
        ];
        for (path, media, want) in cases {
            assert_eq!(pki_kind(path, media), want, "{path} {media:?}");
        }
    }
}
