//! Pure parsing of HTTP/1.x message heads (RFC 9112 sections 2-5), chunk-size lines (7.1) and
//! the body-length rules (6.3), plus recognition of PKI retrieval and AD CS enrollment URLs.

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

/// The start line of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    /// `method SP request-target SP HTTP-version` (RFC 9112 3).
    Request {
        /// Method token.
        method: String,
        /// request-target as sent (origin-form path, absolute-form URL, authority or `*`).
        target: String,
    },
    /// `HTTP-version SP status-code SP [reason-phrase]` (RFC 9112 4).
    Response {
        /// Status code.
        status: u16,
    },
}

/// A parsed message head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Start line.
    pub start: StartLine,
    /// Minor version (0 or 1) of HTTP/1.x.
    pub minor: u8,
    /// Header fields, names lowercased, values trimmed (first [`MAX_HEADERS`]).
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Content-Length (RFC 9110 8.6), if present and valid.
    pub fn content_length(&self) -> Result<Option<u64>, HttpError> {
        match self.header("content-length") {
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
        self.header("transfer-encoding").is_some_and(|v| {
            v.rsplit(',')
                .next()
                .is_some_and(|c| c.trim().eq_ignore_ascii_case("chunked"))
        })
    }

    /// Media type of Content-Type without parameters, lowercased.
    pub fn media_type(&self) -> Option<String> {
        self.header("content-type")
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .filter(|v| !v.is_empty())
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Where the head ends: the index just past the empty line (CRLF CRLF, or bare LF LF which
/// RFC 9112 2.2 lets recipients accept).
fn head_end(data: &[u8]) -> Option<usize> {
    let lim = data.len().min(MAX_HEAD_LEN);
    let d = data.get(..lim)?;
    let mut i = 0;
    while i < d.len() {
        if d[i] == b'\n' {
            if d.get(i + 1) == Some(&b'\n') {
                return Some(i + 2);
            }
            if d.get(i + 1) == Some(&b'\r') && d.get(i + 2) == Some(&b'\n') {
                return Some(i + 3);
            }
        }
        i += 1;
    }
    None
}

/// Parses the start line: `Ok(None)` when it is neither form.
fn start_line(line: &str) -> Option<(StartLine, u8)> {
    if let Some(rest) = line.strip_prefix("HTTP/1.") {
        let mut it = rest.splitn(3, ' ');
        let minor = it.next()?;
        let code = it.next()?;
        if minor.len() != 1 || code.len() != 3 {
            return None;
        }
        let minor: u8 = minor.parse().ok()?;
        let status: u16 = code.parse().ok()?;
        return Some((StartLine::Response { status }, minor));
    }
    let mut it = line.splitn(3, ' ');
    let method = it.next()?;
    let target = it.next()?;
    let version = it.next()?;
    if method.is_empty() || method.len() > MAX_METHOD_LEN || !method.bytes().all(is_tchar) {
        return None;
    }
    if target.is_empty() {
        return None;
    }
    let minor = version.strip_prefix("HTTP/1.")?;
    if minor.len() != 1 {
        return None;
    }
    Some((
        StartLine::Request {
            method: method.to_string(),
            target: target.to_string(),
        },
        minor.parse().ok()?,
    ))
}

/// Reads a message head from the start of `data`. `Ok(None)`: incomplete, wait for more;
/// `Ok(Some((head, len)))`: the head and its length including the empty line.
pub fn head(data: &[u8]) -> Result<Option<(Head, usize)>, HttpError> {
    let Some(end) = head_end(data) else {
        return if data.len() >= MAX_HEAD_LEN {
            Err(HttpError::TooLong)
        } else {
            // A start line that can already be seen to be wrong fails now, not at the cap.
            match data.iter().position(|&b| b == b'\n') {
                Some(nl) => {
                    let line = String::from_utf8_lossy(data.get(..nl).unwrap_or_default());
                    match start_line(line.trim_end_matches('\r')) {
                        Some(_) => Ok(None),
                        None => Err(HttpError::BadStartLine),
                    }
                }
                None => Ok(None),
            }
        };
    };
    let text = String::from_utf8_lossy(data.get(..end).unwrap_or_default());
    let mut lines = text.split('\n').map(|l| l.trim_end_matches('\r'));
    let first = lines.next().unwrap_or("");
    let (start, minor) = start_line(first).ok_or(HttpError::BadStartLine)?;
    let mut headers = Vec::new();
    for l in lines {
        if l.is_empty() {
            break;
        }
        let (n, v) = l.split_once(':').ok_or(HttpError::BadHeader)?;
        if headers.len() < MAX_HEADERS {
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    Ok(Some((
        Head {
            start,
            minor,
            headers,
        },
        end,
    )))
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
