//! Per-connection TLS state: record framing over the TCP stream of each direction, handshake
//! reassembly across records (RFC 5246 6.2.1: handshake messages may span records, records may
//! span segments), and the point after which records are encrypted and only counted.

use crate::evidence::{Evidence, FrameRef};
use crate::proto::{Analyzer, Ctx, Dir};

use super::evidence::{CipherSuite, TlsEvidence};
use super::parse::{
    cipher_name, client_hello_cut, handshake, handshake_label, record_header, version_name,
    ClientHello, ContentType, Handshake, RecordError, HANDSHAKE_HEADER_LEN, MAX_HANDSHAKE_LEN,
    RECORD_HEADER_LEN,
};

/// Per-direction framing state.
#[derive(Debug, Default)]
struct Side {
    /// Bytes of the current encrypted record still to skip (not buffered).
    skip: usize,
    /// Handshake bytes waiting for the rest of their message.
    hs: Vec<u8>,
    /// Records from now on are encrypted (after ChangeCipherSpec, or TLS 1.3 ServerHello).
    encrypted: bool,
    /// Out of step (after a gap or a bad header): look for the next plausible record header.
    resync: bool,
    /// Handshake reassembly gave up (oversized or undecodable length); records still counted.
    hs_broken: bool,
    /// A valid record header was read: junk from now on is malformed, while junk before it is
    /// a capture that began mid-connection.
    synced: bool,
    /// Consecutive valid record headers read (chained by their lengths).
    run: u32,
}

/// Consecutive well-formed records (each header found exactly where the previous record ended)
/// that prove TLS on a connection whose handshake was not captured.
pub const RECORDS_PROVING_TLS: u32 = 3;

/// What this connection's ALPN extensions named, for [`Analyzer::service`] (which must not
/// read the flow's evidence: it holds other connections' protocols too).
#[derive(Debug, Default, Clone, Copy)]
struct Alpn {
    /// A client offered an HTTP protocol.
    offered_http: bool,
    /// A server selected a protocol.
    selected: bool,
    /// A server selected an HTTP protocol.
    selected_http: bool,
}

/// True for the ALPN protocol ids of HTTP (RFC 7301 6, RFC 9113 3.1, RFC 9114 3.1).
fn is_http(p: &str) -> bool {
    p == "http/1.1" || p == "http/1.0" || p == "h2" || p == "h3"
}

/// The TLS analyzer of one connection. What handshakes and records show is written straight
/// into the sink's TLS evidence (see [`Analyzer`]); only the framing state, the proof and the
/// ALPN choice stay here.
pub struct TlsAnalyzer {
    server_port: u16,
    side: [Side; 2],
    alpn: Alpn,
    /// A ClientHello or ServerHello was decoded, or [`RECORDS_PROVING_TLS`] records chained:
    /// the content is TLS.
    proved: bool,
    /// Records counted by content type (20..=24, the types [`record_header`] accepts) and not
    /// yet added to the evidence's `records`: one array increment per record instead of a keyed
    /// lookup; the sums go into the evidence in `finish`.
    pending_records: [u64; 5],
    /// The server chose TLS 1.3 (in a ServerHello or a HelloRetryRequest): a change_cipher_spec
    /// record is then the compatibility one, which starts nothing (RFC 8446 5, D.4); encrypted
    /// records are application_data from the start.
    tls13: bool,
}

impl TlsAnalyzer {
    /// A fresh analyzer for a connection to `server_port`.
    pub fn new(server_port: u16) -> Self {
        TlsAnalyzer {
            server_port,
            side: Default::default(),
            alpn: Alpn::default(),
            proved: false,
            pending_records: [0; 5],
            tls13: false,
        }
    }

    /// Counts one record of type `ct`.
    fn count_record(&mut self, ct: ContentType, ev: &mut TlsEvidence) {
        match self
            .pending_records
            .get_mut(usize::from(ct.0.wrapping_sub(20)))
        {
            Some(n) => *n += 1,
            None => ev.records.add_name(ct.label(), 1),
        }
    }

    /// Adds the pending per-type record counts to the evidence.
    fn flush_records(&mut self, ev: &mut TlsEvidence) {
        for (t, n) in (20u8..).zip(std::mem::take(&mut self.pending_records)) {
            if n > 0 {
                ev.records.add_name(ContentType(t).label(), n);
            }
        }
    }

    /// Handles the fragment of one complete record read in clear.
    fn record(&mut self, ctx: &Ctx, ct: ContentType, frag: &[u8], ev: &mut TlsEvidence) {
        let i = ctx.dir.index();
        self.count_record(ct, ev);
        match ct {
            // TLS 1.3 peers in middlebox compatibility mode send one after a HelloRetryRequest
            // and before a second ClientHello, both still in clear.
            ContentType::CHANGE_CIPHER_SPEC if !self.tls13 => self.side[i].encrypted = true,
            ContentType::HANDSHAKE => self.handshake_bytes(ctx, frag, ev),
            _ => {}
        }
    }

    /// Appends handshake bytes and decodes every complete message. Messages wholly inside
    /// `frag` with nothing pending are decoded in place; only an incomplete tail is buffered.
    fn handshake_bytes(&mut self, ctx: &Ctx, frag: &[u8], ev: &mut TlsEvidence) {
        let i = ctx.dir.index();
        if self.side[i].hs_broken {
            return;
        }
        let mut buf = std::mem::take(&mut self.side[i].hs);
        let in_place = buf.is_empty();
        if !in_place {
            buf.extend_from_slice(frag);
        }
        let data: &[u8] = if in_place { frag } else { &buf };
        let mut at = 0usize;
        let keep = loop {
            let hs = data.get(at..).unwrap_or_default();
            let Some(h) = hs.get(..HANDSHAKE_HEADER_LEN) else {
                break true;
            };
            let len = (usize::from(h[1]) << 16) | (usize::from(h[2]) << 8) | usize::from(h[3]);
            if len > MAX_HANDSHAKE_LEN {
                ev.malformed += 1;
                self.side[i].hs_broken = true;
                break false;
            }
            let total = HANDSHAKE_HEADER_LEN + len;
            let Some(msg) = hs.get(..total) else {
                break true;
            };
            self.message(ctx, msg, ev);
            at += total;
            if self.side[i].encrypted {
                // TLS 1.3: what follows the ServerHello is encrypted.
                break false;
            }
        };
        if !keep {
            buf.clear();
        } else if in_place {
            buf.extend_from_slice(frag.get(at..).unwrap_or_default());
        } else {
            buf.drain(..at);
        }
        self.side[i].hs = buf;
    }

    /// Records what one handshake message shows. Decoded names are moved into the facts (a
    /// repeat frees its copy); version names are looked up borrowed, allocating nothing.
    fn message(&mut self, ctx: &Ctx, msg: &[u8], ev: &mut TlsEvidence) {
        let at = ctx.frame;
        let t = msg.first().copied().unwrap_or(0);
        ev.handshake.add_name(handshake_label(t), 1);
        match handshake(msg) {
            Err(_) => ev.malformed += 1,
            Ok(Handshake::ClientHello(ch)) => self.client_hello(at, ch, ev),
            Ok(Handshake::ServerHello(mut sh)) => {
                self.proved = true;
                if let Some(p) = sh.alpn.take() {
                    self.alpn.selected = true;
                    self.alpn.selected_http |= is_http(&p);
                    ev.alpn_selected.add(p, at);
                }
                ev.cipher_suite.add(
                    CipherSuite {
                        id: sh.cipher,
                        name: cipher_name(sh.cipher).into(),
                    },
                    at,
                );
                // A HelloRetryRequest selects the version too (RFC 8446 4.1.4); a second
                // ClientHello and ServerHello follow in clear.
                let v = sh.version();
                ev.server_version.add_ref(version_name(v).as_ref(), at);
                let tls13 = v == 0x0304 || v >> 8 == 0x7f;
                self.tls13 |= tls13;
                if tls13 && !sh.retry {
                    // RFC 8446 2: everything after the ServerHello is encrypted.
                    self.side[ctx.dir.index()].encrypted = true;
                }
            }
            Ok(Handshake::Certificate(Some(c))) if ctx.dir == Dir::ToServer => {
                ev.client_cert_subject.add(c.subject, at);
            }
            Ok(Handshake::Certificate(Some(c))) => {
                ev.cert_subject.add(c.subject, at);
                ev.cert_issuer.add(c.issuer, at);
                for s in c.san {
                    ev.cert_san.add(s, at);
                }
            }
            Ok(Handshake::Certificate(None)) | Ok(Handshake::Other(_)) => {}
        }
    }

    /// Records what a ClientHello offered.
    fn client_hello(&mut self, at: FrameRef, ch: ClientHello, ev: &mut TlsEvidence) {
        self.proved = true;
        for n in ch.sni {
            ev.sni.add(n, at);
        }
        for p in ch.alpn {
            self.alpn.offered_http |= is_http(&p);
            ev.alpn.add(p, at);
        }
        ev.offered_versions
            .add_ref(version_name(ch.legacy_version).as_ref(), at);
        for &v in &ch.supported_versions {
            ev.offered_versions.add_ref(version_name(v).as_ref(), at);
        }
    }

    /// Skips to the next plausible record header in `data`, from `pos`. Returns the new position
    /// (possibly the last 4 bytes, kept for the next call).
    fn find_header(data: &[u8], mut pos: usize) -> (usize, bool) {
        while pos < data.len() {
            match record_header(data.get(pos..).unwrap_or_default()) {
                Ok(_) => return (pos, true),
                Err(RecordError::Short) => return (pos, false),
                Err(RecordError::Invalid) => pos += 1,
            }
        }
        (pos, false)
    }
}

impl Analyzer for TlsAnalyzer {
    fn stream(&mut self, ctx: &Ctx, data: &[u8], sink: &mut Evidence) -> usize {
        let ev = tls_of(sink);
        let i = ctx.dir.index();
        let mut pos = 0usize;
        loop {
            let rest = data.get(pos..).unwrap_or_default();
            if self.side[i].skip > 0 {
                let n = self.side[i].skip.min(rest.len());
                self.side[i].skip -= n;
                ev.encrypted_bytes += n as u64;
                pos += n;
                if self.side[i].skip > 0 {
                    return pos;
                }
                continue;
            }
            if self.side[i].resync {
                let (p, found) = Self::find_header(data, pos);
                pos = p;
                if !found {
                    return pos;
                }
                self.side[i].resync = false;
                continue;
            }
            let h = match record_header(rest) {
                Ok(h) => {
                    self.side[i].synced = true;
                    self.side[i].run += 1;
                    if self.side[i].run >= RECORDS_PROVING_TLS {
                        self.proved = true;
                    }
                    h
                }
                Err(RecordError::Short) => return pos,
                Err(RecordError::Invalid) => {
                    self.side[i].run = 0;
                    // Before the first header of a connection the capture joined midway: the
                    // tail of a record. From the connection's start: not a record.
                    if self.side[i].synced || !ctx.midstream {
                        ev.malformed += 1;
                    } else {
                        ev.records.add_static("midstream_start", 1);
                    }
                    self.side[i].resync = true;
                    self.side[i].hs.clear();
                    pos += 1;
                    continue;
                }
            };
            let encrypted =
                self.side[i].encrypted || h.content_type == ContentType::APPLICATION_DATA;
            if encrypted {
                // Counted, never buffered: consume the header and skip the body as it comes.
                self.count_record(h.content_type, ev);
                ev.encrypted_records += 1;
                self.side[i].skip = h.len;
                pos += RECORD_HEADER_LEN;
                continue;
            }
            let Some(frag) = rest.get(RECORD_HEADER_LEN..RECORD_HEADER_LEN + h.len) else {
                return pos;
            };
            self.record(ctx, h.content_type, frag, ev);
            pos += RECORD_HEADER_LEN + h.len;
        }
    }

    /// A record cut by the snap length (`head` starts at its header, which is whole): it
    /// counts, the handshake messages whole in it are read, and a ClientHello the cut falls in
    /// gives its version and the extensions whole before the cut
    /// ([`super::parse::client_hello_cut`]). The gap that follows drops the rest.
    fn cut(&mut self, ctx: &Ctx, head: &[u8], sink: &mut Evidence) {
        let i = ctx.dir.index();
        let s = &self.side[i];
        if s.skip > 0 || s.resync || s.encrypted || s.hs_broken {
            return;
        }
        let Ok(h) = record_header(head) else {
            return;
        };
        let Some(frag) = head.get(RECORD_HEADER_LEN..) else {
            return;
        };
        if frag.len() >= h.len {
            // Whole: `stream` read it.
            return;
        }
        let ev = tls_of(sink);
        self.count_record(h.content_type, ev);
        if h.content_type != ContentType::HANDSHAKE {
            return;
        }
        self.handshake_bytes(ctx, frag, ev);
        let tail = std::mem::take(&mut self.side[i].hs);
        if let Some(ch) = client_hello_cut(&tail) {
            ev.handshake.add_name(handshake_label(1), 1);
            self.client_hello(ctx.frame, ch, ev);
        }
    }

    fn gap(&mut self, dir: Dir) {
        let s = &mut self.side[dir.index()];
        s.skip = 0;
        s.hs.clear();
        s.hs_broken = false;
        s.resync = true;
        s.run = 0;
    }

    fn service(&self) -> Option<&'static str> {
        if !self.proved {
            return None;
        }
        Some(match self.server_port {
            636 => "ldaps",
            3269 => "gc-ldaps",
            443 => "https",
            _ if self.speaks_http() => "https",
            _ => "tls",
        })
    }

    fn finish(&mut self, sink: &mut Evidence) {
        self.flush_records(tls_of(sink));
        // An entry says TLS was seen. One that nothing was written into goes: a connection
        // given to TLS by its port (443, midstream) whose bytes held no record header, such
        // as a keep-alive's single byte, did not show TLS.
        if sink.tls.as_ref().is_some_and(|t| t.is_empty()) {
            sink.tls = None;
        }
    }
}

impl TlsAnalyzer {
    /// True when this connection's ALPN (selected, or offered when none was selected) names
    /// HTTP.
    fn speaks_http(&self) -> bool {
        if self.alpn.selected {
            self.alpn.selected_http
        } else {
            self.alpn.offered_http
        }
    }
}

/// The TLS evidence of `sink`, created empty if it has none yet.
fn tls_of(sink: &mut Evidence) -> &mut TlsEvidence {
    sink.tls.get_or_insert_with(Default::default)
}
