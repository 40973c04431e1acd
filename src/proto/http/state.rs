//! Per-connection HTTP/1.x state: message heads, then bodies skipped by the length rules of
//! RFC 9112 6.3 (Content-Length, chunked, or until close), pairing responses with requests for
//! HEAD / 1xx / 204 / 304 bodies and for naming the path of a response's content.

use std::collections::VecDeque;

use crate::evidence::{Evidence, FrameRef};
use crate::proto::auth;
use crate::proto::{Analyzer, Ctx, Dir};

use super::evidence::{HttpEvidence, PkiAccess, Request};
use super::parse::{chunk_size, head_from, looks_like_start, pki_kind, Head, HttpError, StartLine};

/// Most requests remembered while waiting for their responses (pipelining depth).
pub const MAX_PENDING: usize = 64;

/// Where one direction is in its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Phase {
    /// Expecting a start line.
    #[default]
    Head,
    /// Body with this many bytes left.
    Body(u64),
    /// Chunked body: expecting a chunk-size line.
    ChunkSize,
    /// Chunked body: this many chunk-data bytes left, then CRLF.
    ChunkData(u64),
    /// Chunked body: the CRLF after chunk data.
    ChunkEnd,
    /// Chunked body: trailer section up to the empty line.
    Trailer,
    /// Body until the connection closes; or a tunnel after 101 / CONNECT.
    Rest,
    /// Out of step: looking for the next start line.
    Resync,
}

/// What pairing a response with its request needs to know of the method (RFC 9112 6.3 items
/// 1-2: no body after HEAD, a tunnel after a 2xx to CONNECT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Method {
    /// `HEAD`.
    Head,
    /// `CONNECT`.
    Connect,
    /// Any other.
    #[default]
    Other,
}

impl Method {
    /// The kind of a method token (case-sensitive, RFC 9110 9.1).
    fn of(token: &str) -> Self {
        match token {
            "HEAD" => Method::Head,
            "CONNECT" => Method::Connect,
            _ => Method::Other,
        }
    }
}

/// A request awaiting its response. Host and path name the content of a response whose media
/// type is a PKI one; their buffers are reused from request to request.
#[derive(Debug, Default)]
struct Pending {
    method: Method,
    host: String,
    path: String,
}

/// The HTTP analyzer of one connection. What heads show is written straight into the sink's
/// HTTP evidence (see [`Analyzer`]); the framing state and the requests awaiting their
/// responses stay here.
#[derive(Default)]
pub struct HttpAnalyzer {
    phase: [Phase; 2],
    /// Requests awaiting a response, oldest first.
    pending: VecDeque<Pending>,
    /// Entries of `pending` already answered, kept for their buffers (at most
    /// [`MAX_PENDING`]).
    spare: Vec<Pending>,
    /// Requests and responses read and not yet counted in the evidence's `messages`: an
    /// increment per message instead of a keyed lookup; added in `finish`.
    counted: [u64; 2],
    /// Per direction: a head was read (junk before it is a mid-connection start).
    synced: [bool; 2],
    /// Per direction: bytes of an incomplete head already searched for its end (they are
    /// offered again with the next segment appended).
    head_scanned: [usize; 2],
    proved: bool,
}

impl HttpAnalyzer {
    /// A fresh analyzer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the requests and responses counted in `counted` to the evidence.
    fn flush_counts(&mut self, ev: &mut HttpEvidence) {
        let [requests, responses] = std::mem::take(&mut self.counted);
        for (key, n) in [("request", requests), ("response", responses)] {
            if n > 0 {
                ev.messages.add_static(key, n);
            }
        }
    }

    /// Records a head in `sink` and returns the phase its body puts the direction in.
    fn on_head(&mut self, ctx: &Ctx, h: &Head, sink: &mut Evidence) -> Phase {
        self.proved = true;
        let at = ctx.frame;
        // Kerberos or NTLM in an authentication token: a request's AP-REQ (its ticket is kept
        // here), a response's AP-REP or KRB-ERROR, NTLM's three messages.
        let ticket = h
            .auth_token()
            .and_then(|t| auth::record_token(sink, &t, at));
        let ev = http_of(sink);
        if let Some(spn) = ticket {
            ev.ticket_spns.add(spn, at);
        }
        ev.headers_dropped += u64::from(h.fields_dropped());
        let media = h.media_type();
        if let Some(m) = &media {
            ev.content_types.add_ref(m.as_ref(), at);
        }
        let framing = match (h.chunked(), h.content_length()) {
            (true, _) => Ok(Phase::ChunkSize),
            (false, Ok(Some(n))) => Ok(Phase::Body(n)),
            (false, Ok(None)) => Err(()),
            (false, Err(_)) => {
                ev.malformed += 1;
                Err(())
            }
        };
        match &h.start {
            StartLine::Request { method, target } => {
                self.counted[0] += 1;
                let host = h.host().unwrap_or("");
                let path: &str = target;
                let method: &str = method;
                ev.requests.add_by(
                    |r| r.cmp_fields(method, host, path),
                    || Request {
                        method: method.to_string(),
                        host: host.to_string(),
                        path: path.to_string(),
                    },
                    at,
                );
                if let Some(kind) = pki_kind(path, media.as_deref()) {
                    add_pki(ev, kind, host, path, at);
                }
                if self.pending.len() >= MAX_PENDING {
                    // Responses to the oldest were lost; keep pairing the newest.
                    self.spare.extend(self.pending.pop_front());
                    ev.pending_dropped += 1;
                }
                let mut p = self.spare.pop().unwrap_or_default();
                p.method = Method::of(method);
                p.host.clear();
                p.host.push_str(host);
                p.path.clear();
                p.path.push_str(path);
                self.pending.push_back(p);
                // A request without length has no body (RFC 9112 6.3 item 7).
                framing.unwrap_or(Phase::Body(0))
            }
            StartLine::Response { status } => {
                let status = *status;
                self.counted[1] += 1;
                ev.status.add(status, at);
                // Interim 1xx responses (except 101) precede the final one for the same request.
                let interim = (100..200).contains(&status) && status != 101;
                let answered = if interim {
                    None
                } else {
                    self.pending.pop_front()
                };
                let req = if interim {
                    self.pending.front()
                } else {
                    answered.as_ref()
                };
                let method = req.map_or(Method::Other, |r| r.method);
                if let Some(kind) = media.as_deref().and_then(|m| pki_kind("", Some(m))) {
                    let (host, path) = req.map_or(("", ""), |r| (&*r.host, &*r.path));
                    add_pki(ev, kind, host, path, at);
                }
                self.spare.extend(answered);
                let tunnel =
                    status == 101 || (method == Method::Connect && (200..300).contains(&status));
                if tunnel {
                    ev.messages.add_static("upgrade", 1);
                    self.phase[Dir::ToServer.index()] = Phase::Rest;
                    return Phase::Rest;
                }
                if method == Method::Head
                    || (100..200).contains(&status)
                    || status == 204
                    || status == 304
                {
                    return Phase::Body(0);
                }
                framing.unwrap_or(Phase::Rest)
            }
        }
    }

    /// Counts a malformed piece and looks for the next start line after its first byte. Returns
    /// the bytes to step over (1, so the same bad start is not found again). Before the first
    /// message of a connection the capture joined midway it is the tail of a message
    /// ("midstream_start"), not malformed.
    fn bad(&mut self, ctx: &Ctx, ev: &mut HttpEvidence) -> usize {
        let i = ctx.dir.index();
        if self.synced[i] || !ctx.midstream {
            ev.malformed += 1;
        } else {
            ev.messages.add_static("midstream_start", 1);
        }
        self.phase[i] = Phase::Resync;
        1
    }
}

impl Analyzer for HttpAnalyzer {
    fn stream(&mut self, ctx: &Ctx, data: &[u8], sink: &mut Evidence) -> usize {
        let i = ctx.dir.index();
        let mut pos = 0usize;
        loop {
            let rest = data.get(pos..).unwrap_or_default();
            if rest.is_empty() {
                return pos;
            }
            match self.phase[i] {
                Phase::Head => {
                    // RFC 9112 2.2: ignore empty lines before a request line.
                    if rest.first() == Some(&b'\r') || rest.first() == Some(&b'\n') {
                        pos += 1;
                        continue;
                    }
                    let scanned = std::mem::take(&mut self.head_scanned[i]);
                    match head_from(rest, scanned) {
                        Ok(None) => {
                            self.head_scanned[i] = rest.len();
                            return pos;
                        }
                        Ok(Some((h, len))) => {
                            self.synced[i] = true;
                            pos += len;
                            self.phase[i] = self.on_head(ctx, &h, sink);
                        }
                        Err(_) => pos += self.bad(ctx, http_of(sink)),
                    }
                }
                Phase::Body(n) | Phase::ChunkData(n) => {
                    let take = n.min(rest.len() as u64);
                    http_of(sink).body_bytes += take;
                    pos += take as usize;
                    let left = n - take;
                    self.phase[i] = match (self.phase[i], left) {
                        (Phase::Body(_), 0) => Phase::Head,
                        (Phase::Body(_), l) => Phase::Body(l),
                        (_, 0) => Phase::ChunkEnd,
                        (_, l) => Phase::ChunkData(l),
                    };
                }
                Phase::ChunkSize => match chunk_size(rest) {
                    Ok(None) => return pos,
                    Ok(Some((0, len))) => {
                        pos += len;
                        self.phase[i] = Phase::Trailer;
                    }
                    Ok(Some((n, len))) => {
                        pos += len;
                        self.phase[i] = Phase::ChunkData(n);
                    }
                    Err(HttpError::BadChunk) | Err(_) => pos += self.bad(ctx, http_of(sink)),
                },
                Phase::ChunkEnd => match rest {
                    [b'\r', b'\n', ..] => {
                        pos += 2;
                        self.phase[i] = Phase::ChunkSize;
                    }
                    [b'\n', ..] => {
                        pos += 1;
                        self.phase[i] = Phase::ChunkSize;
                    }
                    [b'\r'] => return pos,
                    _ => pos += self.bad(ctx, http_of(sink)),
                },
                Phase::Trailer => match chunk_size_line_end(rest) {
                    None if rest.len() >= super::parse::MAX_HEAD_LEN => {
                        pos += self.bad(ctx, http_of(sink))
                    }
                    None => return pos,
                    Some((len, empty)) => {
                        pos += len;
                        if empty {
                            self.phase[i] = Phase::Head;
                        }
                    }
                },
                Phase::Rest => {
                    http_of(sink).body_bytes += rest.len() as u64;
                    return data.len();
                }
                Phase::Resync => {
                    // The next start line begins at a line start.
                    let found = (0..rest.len()).find(|&k| {
                        (k == 0 || rest.get(k - 1) == Some(&b'\n'))
                            && rest.get(k..).is_some_and(looks_like_start)
                    });
                    match found {
                        Some(k) => {
                            pos += k;
                            self.phase[i] = Phase::Head;
                        }
                        None => {
                            // Keep a tail that may hold the start of a method name.
                            let keep = rest.len().min(16);
                            return pos + rest.len() - keep;
                        }
                    }
                }
            }
        }
    }

    /// A head cut by the snap length: its whole lines, closed as a head, are read as one (the
    /// start line, and the header fields before the cut: a response's status, a request's
    /// method, target and Host). Not inside a body, where the cut bytes are body.
    fn cut(&mut self, ctx: &Ctx, head: &[u8], sink: &mut Evidence) {
        let i = ctx.dir.index();
        if self.phase[i] != Phase::Head {
            return;
        }
        let start = head.iter().position(|&b| b != b'\r' && b != b'\n');
        let Some(lines) = start.and_then(|s| {
            let h = &head[s..];
            memchr::memrchr(b'\n', h).map(|nl| &h[..=nl])
        }) else {
            return;
        };
        let mut whole = Vec::with_capacity(lines.len() + 2);
        whole.extend_from_slice(lines);
        whole.extend_from_slice(b"\r\n");
        if let Ok(Some((h, _))) = super::parse::head(&whole) {
            self.synced[i] = true;
            // The phase its body would put the direction in is moot: the hole follows.
            self.on_head(ctx, &h, sink);
        }
    }

    fn gap(&mut self, dir: Dir) {
        let i = dir.index();
        self.head_scanned[i] = 0;
        if self.phase[i] != Phase::Rest {
            self.phase[i] = Phase::Resync;
        }
    }

    fn service(&self) -> Option<&'static str> {
        self.proved.then_some("http")
    }

    fn finish(&mut self, sink: &mut Evidence) {
        // A connection that carried HTTP gives its flow an HTTP entry even if nothing was read.
        self.flush_counts(http_of(sink));
    }
}

/// The HTTP evidence of `sink`, created empty if it has none yet.
fn http_of(sink: &mut Evidence) -> &mut HttpEvidence {
    sink.http.get_or_insert_with(Default::default)
}

/// Records a PKI access of `kind` to `host` and `path` seen at `at` (allocating only when the
/// flow has not shown it yet).
fn add_pki(ev: &mut HttpEvidence, kind: &str, host: &str, path: &str, at: FrameRef) {
    ev.pki.add_by(
        |p| p.cmp_fields(kind, host, path),
        || PkiAccess {
            kind: kind.to_string(),
            host: host.to_string(),
            path: path.to_string(),
        },
        at,
    );
}

/// One trailer line: its length including the line end, and whether it was the empty line.
fn chunk_size_line_end(data: &[u8]) -> Option<(usize, bool)> {
    let nl = data.iter().position(|&b| b == b'\n')?;
    let empty = nl == 0 || (nl == 1 && data.first() == Some(&b'\r'));
    Some((nl + 1, empty))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::testutil::hex;
    use crate::proto::Transport;

    /// captures/lab_enroll_snaplen_200.pcap frame 249, tcp.payload: the CRL server's response
    /// head cut by `tcpdump -s 200` inside its Content-Length line (tshark: "HTTP/1.0 200 OK
    /// [Packet size limited during capture]").
    const CUT_HEAD_249: &str =
        "485454502f312e3020323030204f4b0d0a5365727665723a2053696d706c65485454502f302e362050797468\
        6f6e2f332e31312e370d0a446174653a205475652c203234204e6f7620323032362031343a32393a34382047\
        4d540d0a436f6e74656e742d747970653a206170706c69636174696f6e2f706b69782d63726c0d0a436f6e74\
        656e";

    #[test]
    fn a_head_cut_short_gives_its_whole_lines() {
        let head = hex(CUT_HEAD_249);
        assert!(super::super::parse::head(&head).unwrap().is_none());
        let ctx = Ctx {
            frame: FrameRef::new(0, 249),
            ts_ns: 0,
            dir: Dir::ToClient,
            transport: Transport::Tcp,
            server_port: 80,
            midstream: false,
        };
        let mut ev = Evidence::default();
        let mut a = HttpAnalyzer::new();
        a.cut(&ctx, &head, &mut ev);
        let h = ev.http.expect("http evidence");
        let status: Vec<u16> = h.status.iter().map(|f| *f.value).collect();
        assert_eq!(status, [200]);
        let types: Vec<&str> = h.content_types.iter().map(|f| f.value.as_str()).collect();
        assert_eq!(types, ["application/pkix-crl"]);
        assert_eq!(a.service(), Some("http"));
        // Cut inside the status line: nothing; inside a body: nothing either.
        let mut ev = Evidence::default();
        HttpAnalyzer::new().cut(&ctx, &head[..10], &mut ev);
        assert!(ev.http.is_none());
        let mut a = HttpAnalyzer::new();
        a.phase[1] = Phase::Body(1000);
        let mut ev = Evidence::default();
        a.cut(&ctx, &head, &mut ev);
        assert!(ev.http.is_none());
    }
}
