//! Test toolkit shared by every protocol analyzer's tests.
//!
//! - Locating the public captures ([`captures`], [`capture`]): `None` with a printed reason when
//!   `../shared/captures` is absent, so tests skip instead of failing on a bare checkout.
//! - Hex ([`hex`]) and context ([`ctx`]) helpers for bytes embedded in tests.
//! - Extraction with the REAL pipeline: [`packets`] reads a capture with
//!   [`crate::capture::read`] and decodes every frame with [`crate::decode::decode`] (IPv4
//!   reassembly included), keeping Wireshark's 1-based frame numbers. [`conn`], [`tcp_conn`],
//!   [`select`] and [`connections`] pick one or every connection out of that. No tshark is
//!   needed to extract bytes; tshark stays only where a test compares with it.
//! - Feeding with the REAL reassembly: [`TcpFeeder`] drives one [`crate::flow::tcp::Stream`] per
//!   direction, so retransmissions, overlaps, out-of-order segments and gaps reach the analyzer
//!   exactly as in production; [`feed_udp`] hands datagrams over.
//! - A deterministic PRNG ([`Rng`]) and [`mutate_and_feed`] for mutation tests.
//!
//! Deliberately not handled: UDP tunnels (VXLAN, Geneve), which the analysis layer unwraps; no
//! protocol test needs a tunnelled connection.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::capture::{self, Input};
use crate::decode::{self, defrag::Defrag, L4};
use crate::evidence::{Evidence, Facts, FrameRef};
use crate::flow::tcp::Stream;
use crate::proto::{Analyzer, Ctx, Dir, Dissector, Transport};

/// The public captures folder, or `None` (with a printed reason) when it is absent.
pub(crate) fn captures() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/captures"));
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("skipped: {} not found", p.display());
        None
    }
}

/// The path of public capture `name`, or `None` (with a printed reason) when it is absent.
pub(crate) fn capture(name: &str) -> Option<PathBuf> {
    let p = captures()?.join(name);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipped: capture {} not found", p.display());
        None
    }
}

/// Every capture file (pcap, pcapng, optionally compressed) of the public folder, sorted by name.
pub(crate) fn all_captures() -> Option<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(captures()?)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.to_string_lossy();
            [
                ".pcap",
                ".pcapng",
                ".pcap.gz",
                ".pcapng.gz",
                ".pcap.zst",
                ".pcapng.zst",
            ]
            .iter()
            .any(|s| n.ends_with(s))
        })
        .collect();
    v.sort();
    Some(v)
}

/// Decodes a hex string, as printed by `tshark -T fields -e tcp.payload` or `-x`. Whitespace,
/// `:` separators and `#` comment lines are ignored. Panics on bad hex: test data only.
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.bytes())
        .filter(|b| !b.is_ascii_whitespace() && *b != b':')
        .collect();
    assert!(digits.len() % 2 == 0, "odd number of hex digits");
    digits
        .chunks(2)
        .map(|c| u8::from_str_radix(std::str::from_utf8(c).expect("ascii"), 16).expect("hex"))
        .collect()
}

/// The context of one piece of data of `frame` (capture 0, timestamp 0).
pub(crate) fn ctx(frame: u64, dir: Dir, transport: Transport, server_port: u16) -> Ctx {
    Ctx {
        frame: FrameRef::new(0, frame),
        ts_ns: 0,
        dir,
        transport,
        server_port,
        midstream: false,
    }
}

/// One decoded TCP segment or UDP datagram of a capture.
#[derive(Debug, Clone)]
pub(crate) struct Seg {
    /// 1-based frame number (Wireshark's); for a reassembled IPv4 datagram, its last fragment.
    pub frame: u64,
    /// Frame timestamp, nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// TCP or UDP.
    pub transport: Transport,
    /// Source address.
    pub src: IpAddr,
    /// Source port.
    pub sport: u16,
    /// Destination address.
    pub dst: IpAddr,
    /// Destination port.
    pub dport: u16,
    /// TCP sequence number (0 for UDP).
    pub seq: u32,
    /// TCP SYN flag (false for UDP).
    pub syn: bool,
    /// Transport payload.
    pub payload: Vec<u8>,
}

/// Every TCP segment that carries payload or a SYN, and every UDP datagram, of capture `name`,
/// in capture order, read and decoded by the production reader and decoder. `None` (printed)
/// when the capture is absent.
pub(crate) fn packets(name: &str) -> Option<Vec<Seg>> {
    Some(packets_at(&capture(name)?))
}

/// [`packets`] of the capture at `path` (panics when it cannot be read).
pub(crate) fn packets_at(path: &Path) -> Vec<Seg> {
    let name = path.display();
    let mut defrag = Defrag::default();
    let mut out = Vec::new();
    let opts = capture::ReadOptions { hash: false };
    capture::read_with(&Input::Path(path.to_path_buf()), &opts, &mut |f| {
        let Ok(p) = decode::decode(f.link_type, f.data, f.number, f.ts_ns, &mut defrag) else {
            return;
        };
        let (transport, sport, dport, seq, syn, payload) = match p.l4 {
            L4::Tcp {
                sport,
                dport,
                seq,
                flags,
                payload,
                ..
            } if flags.syn || !payload.is_empty() => {
                (Transport::Tcp, sport, dport, seq, flags.syn, payload)
            }
            L4::Udp {
                sport,
                dport,
                payload,
                ..
            } => (Transport::Udp, sport, dport, 0, false, payload),
            _ => return,
        };
        out.push(Seg {
            frame: f.number,
            ts_ns: f.ts_ns,
            transport,
            src: p.src,
            sport,
            dst: p.dst,
            dport,
            seq,
            syn,
            payload: payload.to_vec(),
        });
    })
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    out
}

/// The packets of `segs` on `transport` between `client_port` and `server_port` (any
/// addresses), in capture order, each with its direction.
pub(crate) fn conn(
    segs: &[Seg],
    transport: Transport,
    client_port: u16,
    server_port: u16,
) -> Vec<(Dir, Seg)> {
    segs.iter()
        .filter(|s| s.transport == transport)
        .filter_map(|s| match (s.sport, s.dport) {
            (a, b) if a == client_port && b == server_port => Some((Dir::ToServer, s.clone())),
            (a, b) if a == server_port && b == client_port => Some((Dir::ToClient, s.clone())),
            _ => None,
        })
        .collect()
}

/// [`packets`] + [`conn`] for TCP; asserts the connection has payload (a wrong port fails).
pub(crate) fn tcp_conn(name: &str, client_port: u16, server_port: u16) -> Option<Vec<(Dir, Seg)>> {
    let c = conn(&packets(name)?, Transport::Tcp, client_port, server_port);
    assert!(
        c.iter().any(|(_, s)| !s.payload.is_empty()),
        "no TCP payload for {client_port}<->{server_port} in {name}"
    );
    Some(c)
}

/// The packets of capture `name` on `transport` that satisfy `pick`, in capture order, with
/// their direction (sent from `server_port`: [`Dir::ToClient`]). Asserts some carry payload
/// (a wrong selection fails the test).
pub(crate) fn select(
    name: &str,
    transport: Transport,
    server_port: u16,
    pick: impl Fn(&Seg) -> bool,
) -> Option<Vec<(Dir, Seg)>> {
    let segs: Vec<Seg> = packets(name)?
        .into_iter()
        .filter(|s| s.transport == transport && pick(s))
        .collect();
    assert!(
        segs.iter().any(|s| !s.payload.is_empty()),
        "no {transport:?} payload selected in {name}"
    );
    Some(with_dirs(&segs, server_port))
}

/// A hand-made message of a test: frame number, direction, bytes.
pub(crate) type Part = (u64, Dir, Vec<u8>);

/// Runs hand-made messages through a fresh connection: TCP parts in order per direction
/// through [`TcpFeeder::bytes`], UDP parts as datagrams; returns the analyzer's evidence.
pub(crate) fn run_parts(
    a: &mut dyn Analyzer,
    transport: Transport,
    server_port: u16,
    parts: &[Part],
) -> Evidence {
    match transport {
        Transport::Tcp => {
            let mut f = TcpFeeder::new(server_port);
            for (frame, dir, b) in parts {
                f.bytes(a, *frame, *dir, b);
            }
            f.finish(a)
        }
        Transport::Udp => {
            let mut ev = Evidence::default();
            for (frame, dir, b) in parts {
                a.datagram(&ctx(*frame, *dir, Transport::Udp, server_port), b, &mut ev);
            }
            finish(a, ev)
        }
    }
}

/// Every connection of `segs` (by transport and both address/port pairs) with a packet that
/// satisfies `pick`, in order of first packet; each connection's packets in capture order.
pub(crate) fn connections(segs: &[Seg], pick: impl Fn(&Seg) -> bool) -> Vec<Vec<Seg>> {
    type Key = (Transport, (IpAddr, u16), (IpAddr, u16));
    let key = |s: &Seg| -> Key {
        let (a, b) = ((s.src, s.sport), (s.dst, s.dport));
        (s.transport, a.min(b), a.max(b))
    };
    let mut order: Vec<Key> = Vec::new();
    let mut by: BTreeMap<Key, Vec<Seg>> = BTreeMap::new();
    for s in segs {
        let k = key(s);
        let e = by.entry(k).or_default();
        if e.is_empty() {
            order.push(k);
        }
        e.push(s.clone());
    }
    order
        .into_iter()
        .filter_map(|k| by.remove(&k))
        .filter(|v| v.iter().any(&pick))
        .collect()
}

/// Gives each packet of a connection its direction: packets sent from `server_port` travel
/// [`Dir::ToClient`].
pub(crate) fn with_dirs(segs: &[Seg], server_port: u16) -> Vec<(Dir, Seg)> {
    segs.iter()
        .map(|s| {
            let d = if s.sport == server_port {
                Dir::ToClient
            } else {
                Dir::ToServer
            };
            (d, s.clone())
        })
        .collect()
}

/// Feeds one TCP connection to an analyzer through the production reassembly: one
/// [`Stream`] per direction, exactly as the flow layer does.
pub(crate) struct TcpFeeder {
    streams: [Stream; 2],
    /// Next sequence number of hand-made bytes ([`TcpFeeder::bytes`]), per direction.
    next_seq: [u32; 2],
    last_frame: u64,
    last_ts: i64,
    /// The server's port (put into every [`Ctx`]).
    pub server_port: u16,
    /// Captured segments ([`TcpFeeder::seg`]) were fed, and which directions' SYNs were among
    /// them: a captured direction without its SYN is [`Ctx::midstream`], as in the flow
    /// tracker. Hand-made bytes start a connection.
    captured: bool,
    syn_seen: [bool; 2],
    /// The evidence sink the analyzer writes into (see [`Analyzer`]).
    pub ev: Evidence,
}

impl TcpFeeder {
    /// A feeder for a connection to `server_port`.
    pub fn new(server_port: u16) -> Self {
        TcpFeeder {
            streams: Default::default(),
            next_seq: [1000, 5000],
            last_frame: 0,
            last_ts: 0,
            server_port,
            captured: false,
            syn_seen: [false; 2],
            ev: Evidence::default(),
        }
    }

    fn ctx(&self, frame: u64, ts_ns: i64, dir: Dir) -> Ctx {
        Ctx {
            ts_ns,
            midstream: self.captured && !self.syn_seen[dir.index()],
            ..ctx(frame, dir, Transport::Tcp, self.server_port)
        }
    }

    /// One captured segment: a SYN fixes where data starts, payload goes through reassembly.
    pub fn seg(&mut self, a: &mut dyn Analyzer, dir: Dir, s: &Seg) {
        self.last_frame = self.last_frame.max(s.frame);
        self.last_ts = self.last_ts.max(s.ts_ns);
        self.captured = true;
        self.syn_seen[dir.index()] |= s.syn;
        let c = self.ctx(s.frame, s.ts_ns, dir);
        let st = &mut self.streams[dir.index()];
        if s.syn {
            st.syn(s.seq);
        }
        st.segment(s.seq, &s.payload, 0, a, &mut self.ev, &c);
    }

    /// Hand-made bytes of `frame`, placed right after the previous hand-made bytes of `dir`
    /// (in order, no retransmission).
    pub fn bytes(&mut self, a: &mut dyn Analyzer, frame: u64, dir: Dir, data: &[u8]) {
        let i = dir.index();
        let seq = self.next_seq[i];
        self.next_seq[i] = seq.wrapping_add(data.len() as u32);
        self.last_frame = self.last_frame.max(frame);
        let c = self.ctx(frame, 0, dir);
        self.streams[i].segment(seq, data, 0, a, &mut self.ev, &c);
    }

    /// Loses `n` bytes of hand-made data in `dir`: the next [`TcpFeeder::bytes`] follow a hole,
    /// which the reassembly declares a gap when it gives up on it ([`TcpFeeder::flush`]).
    pub fn hole(&mut self, dir: Dir, n: u32) {
        let i = dir.index();
        self.next_seq[i] = self.next_seq[i].wrapping_add(n);
    }

    /// Gives up on the earliest hole of `dir` now (as the reassembly does when its holding
    /// area is full): a gap, then the held segments that follow are delivered, attributed to
    /// the last frame fed. Without this, held segments wait for [`TcpFeeder::flush`].
    pub fn give_up(&mut self, a: &mut dyn Analyzer, dir: Dir) {
        let c = self.ctx(self.last_frame, self.last_ts, dir);
        self.streams[dir.index()].skip_hole(a, &mut self.ev, &c);
    }

    /// Connection end for the reassembly: held out-of-order segments are delivered across
    /// their holes (each hole a gap), as the flow layer does when a connection ends.
    pub fn flush(&mut self, a: &mut dyn Analyzer) {
        let (frame, ts) = (self.last_frame, self.last_ts);
        for dir in [Dir::ToServer, Dir::ToClient] {
            let c = self.ctx(frame, ts, dir);
            self.streams[dir.index()].finish(a, &mut self.ev, &c);
        }
    }

    /// Bytes buffered by the reassembly per direction (to-server, to-client): unconsumed by
    /// the analyzer, or held out of order.
    pub fn pending(&self) -> (usize, usize) {
        (self.streams[0].buffered(), self.streams[1].buffered())
    }

    /// Gaps the reassembly declared so far, both directions.
    pub fn gaps(&self) -> u64 {
        self.streams.iter().map(|s| s.loss.gaps).sum()
    }

    /// [`TcpFeeder::flush`], then the analyzer's evidence (the sink, the analyzer finished).
    pub fn finish(&mut self, a: &mut dyn Analyzer) -> Evidence {
        self.flush(a);
        finish(a, std::mem::take(&mut self.ev))
    }
}

/// Feeds a whole TCP connection (from [`conn`] / [`tcp_conn`]) through the production
/// reassembly and ends the reassembly (held segments delivered across their holes); the
/// analyzer itself is not finished. Returns the sink it wrote into meanwhile.
pub(crate) fn feed_tcp(a: &mut dyn Analyzer, segs: &[(Dir, Seg)], server_port: u16) -> Evidence {
    let mut f = TcpFeeder::new(server_port);
    for (d, s) in segs {
        f.seg(a, *d, s);
    }
    f.flush(a);
    f.ev
}

/// [`feed_tcp`], then the analyzer's evidence.
pub(crate) fn run_tcp(a: &mut dyn Analyzer, segs: &[(Dir, Seg)], server_port: u16) -> Evidence {
    let ev = feed_tcp(a, segs, server_port);
    finish(a, ev)
}

/// Reads capture `name`, takes the TCP connection `client_port` <-> `server_port` and runs it
/// through a fresh analyzer of `d` (see [`run_tcp`]).
pub(crate) fn analyze_tcp(
    d: &Dissector,
    name: &str,
    client_port: u16,
    server_port: u16,
) -> Option<Evidence> {
    let segs = tcp_conn(name, client_port, server_port)?;
    let mut a = (d.new)(Transport::Tcp, server_port);
    Some(run_tcp(a.as_mut(), &segs, server_port))
}

/// Feeds UDP datagrams (from [`conn`] / [`select`]) to the analyzer; returns the sink it wrote
/// into.
pub(crate) fn feed_udp(a: &mut dyn Analyzer, segs: &[(Dir, Seg)], server_port: u16) -> Evidence {
    let mut ev = Evidence::default();
    for (d, s) in segs {
        let c = Ctx {
            ts_ns: s.ts_ns,
            ..ctx(s.frame, *d, Transport::Udp, server_port)
        };
        a.datagram(&c, &s.payload, &mut ev);
    }
    ev
}

/// [`feed_udp`], then the analyzer's evidence.
pub(crate) fn run_udp(a: &mut dyn Analyzer, segs: &[(Dir, Seg)], server_port: u16) -> Evidence {
    let ev = feed_udp(a, segs, server_port);
    finish(a, ev)
}

/// Ends `a`, whose data calls wrote into the sink `ev`: the evidence of its connection.
pub(crate) fn finish(a: &mut dyn Analyzer, mut ev: Evidence) -> Evidence {
    a.finish(&mut ev);
    ev
}

/// The values of a [`Facts`] list, in its (sorted) order.
pub(crate) fn values<T: Ord + Clone>(f: &Facts<T>) -> Vec<T> {
    f.iter().map(|x| x.value.clone()).collect()
}

/// The values of a [`Facts`] list with the frame that first showed each.
pub(crate) fn frames<T: Ord + Clone>(f: &Facts<T>) -> Vec<(T, u64)> {
    f.iter().map(|x| (x.value.clone(), x.first.frame)).collect()
}

/// A deterministic pseudo-random generator (xorshift64*) for mutation tests.
pub(crate) struct Rng(pub u64);

impl Rng {
    /// Next value.
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value below `n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Mutates `b` in place: overwrites a few bytes (random, 0xff, 0x00) or truncates it.
    pub fn mutate(&mut self, b: &mut Vec<u8>) {
        if b.is_empty() {
            return;
        }
        for _ in 0..1 + self.below(4) {
            let i = self.below(b.len());
            match self.below(4) {
                0 => b[i] = self.next() as u8,
                1 => b[i] = 0xff,
                2 => b[i] = 0,
                _ => {
                    let cut = self.below(b.len() + 1);
                    b.truncate(cut);
                    return;
                }
            }
        }
    }
}

/// Mutates every message of `msgs` `rounds` times (every other time one bit flipped, else
/// [`Rng::mutate`]) and returns how many mutants `accepts` (a fast path compared with a crate's
/// parser: it asserts they agree and says whether both accepted).
pub(crate) fn count_accepted_mutants<'a>(
    msgs: impl Iterator<Item = &'a Vec<u8>>,
    rounds: usize,
    r: &mut Rng,
    mut accepts: impl FnMut(&[u8]) -> bool,
) -> usize {
    let mut accepted = 0;
    for b in msgs.filter(|b| !b.is_empty()) {
        for i in 0..rounds {
            let mut m = b.clone();
            if i % 2 == 0 {
                let at = r.below(m.len());
                m[at] ^= 1 << r.below(8);
            } else {
                r.mutate(&mut m);
            }
            if accepts(&m) {
                accepted += 1;
            }
        }
    }
    accepted
}

/// Feeds `rounds` deterministic mutations (bit flips, byte overwrites, truncations, splices) of
/// `samples` to fresh analyzers from `new`, as TCP streams split at random points (with an
/// occasional gap) and as datagrams. Checks that nothing panics and that `stream` never claims
/// more than it was offered. `FUZZ_ROUNDS` / `FUZZ_SEED` widen a local run; the defaults keep
/// `cargo test` fast.
pub(crate) fn mutate_and_feed(
    new: fn(Transport, u16) -> Box<dyn Analyzer>,
    samples: &[Vec<u8>],
    rounds: u32,
) {
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    let rounds = env("FUZZ_ROUNDS").map_or(rounds, |r| r as u32);
    let mut r = Rng(env("FUZZ_SEED").unwrap_or(0x9e37_79b9_7f4a_7c15) | 1);
    for _ in 0..rounds {
        let mut d = samples[r.below(samples.len())].clone();
        for _ in 0..(1 + r.below(4)) {
            if d.is_empty() {
                break;
            }
            let at = r.below(d.len());
            match r.below(5) {
                0 => d[at] ^= 1 << r.below(8),
                1 => d[at] = r.next() as u8,
                2 => d.truncate(at),
                3 => d[at] = if r.below(2) == 0 { 0xff } else { 0 },
                _ => {
                    let other = &samples[r.below(samples.len())];
                    let from = r.below(other.len().max(1));
                    d.extend_from_slice(other.get(from..).unwrap_or_default());
                }
            }
        }
        for t in [Transport::Tcp, Transport::Udp] {
            let mut a = new(t, 443);
            let mut sink = Evidence::default();
            let dir = if r.below(2) == 0 {
                Dir::ToServer
            } else {
                Dir::ToClient
            };
            let c = ctx(1, dir, t, 443);
            if t == Transport::Udp {
                a.datagram(&c, &d, &mut sink);
            } else {
                // The analyzer contract driven directly (not through `Stream`): random split
                // points and gaps anywhere, which real reassembly would rarely produce.
                let mut buf = Vec::new();
                let mut rest = d.as_slice();
                while !rest.is_empty() {
                    let n = 1 + r.below(rest.len());
                    buf.extend_from_slice(&rest[..n]);
                    rest = &rest[n..];
                    let used = a.stream(&c, &buf, &mut sink);
                    assert!(used <= buf.len());
                    buf.drain(..used);
                    if r.below(16) == 0 {
                        a.gap(dir);
                        buf.clear();
                    }
                }
            }
            let _ = a.service();
            finish(a.as_mut(), sink);
        }
    }
}

/// tshark's values of `field` for the frames of capture `name` matching display filter
/// `filter`, split on ',' (one list per frame, with its number): ground truth for comparisons.
/// `None` (printed) when the capture is absent or tshark is not installed.
pub(crate) fn tshark_fields(
    name: &str,
    filter: &str,
    field: &str,
) -> Option<Vec<(u64, Vec<String>)>> {
    let path = capture(name)?;
    let Ok(out) = std::process::Command::new("tshark")
        .arg("-r")
        .arg(&path)
        .args([
            "-Y",
            filter,
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            field,
        ])
        .output()
    else {
        eprintln!("skipped: tshark not installed");
        return None;
    };
    let text = String::from_utf8(out.stdout).expect("utf-8");
    Some(
        text.lines()
            .filter_map(|l| {
                let (n, v) = l.split_once('\t')?;
                let vals = v
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
                Some((n.parse().ok()?, vals))
            })
            .collect(),
    )
}

// Fixtures shared by several test modules, each cut from a public capture.

/// kerberos_udp_vlan_krb_error.pcap frame 1, udp.payload (287 bytes): AS-REQ, cname
/// host/mus-n-cj0709, realm LINUX.SHELL.COM, padata 2 and 149.
pub(crate) const KRB_UDP_AS_REQ: &str = "6a82011b30820117a103020105a20302010aa35830563048a103020102a241043f303da003020117a2360434b60e0b505f98104206f62503b8e0e7c82d842e6f01e5c7f0e1540d1ea4c7e89181e69691e0c41d775649bd7fa5ac4b1874a91915300aa10402020095a2020400a481b03081ada00703050000810000a11f301da003020101a11630141b04686f73741b0c6d75732d6e2d636a30373039a2111b0f4c494e55582e5348454c4c2e434f4da3243022a003020102a11b30191b066b72627467741b0f4c494e55582e5348454c4c2e434f4da511180f32303232303232333037343630335aa611180f32303232303330343037343630335aa706020447a1fa99a81a301802011702011202011102011402011302011002011902011a";

/// kerberos_udp_vlan_krb_error.pcap frame 2, udp.payload (102 bytes): KRB-ERROR 52
/// KRB_ERR_RESPONSE_TOO_BIG, realm LINUX.SHELL.COM.
pub(crate) const KRB_UDP_ERROR_52: &str = "7e643062a003020105a10302011ea411180f32303232303232323037343630345aa50502030ec26da603020134a9111b0f4c494e55582e5348454c4c2e434f4daa243022a003020102a11b30191b066b72627467741b0f4c494e55582e5348454c4c2e434f4d";

/// kerberos_tcp_vlan_optional_sname.pcap frame 3, tcp.payload: record mark + AS-REQ
/// with neither cname nor sname.
pub(crate) const KRB_TCP_AS_REQ_NO_SNAME: &str = "0000006a6a683066a103020105a20302010aa45a3058a00703050040000010a21a1b186b65726265726f735f7265616c6d5f74696d652e6e61736ca511180f32303337303931333032343830355aa611180f32303337303931333032343830355aa704020265d5a805300302010b";

/// kerberos_tcp_vlan_optional_sname.pcap frame 4, tcp.payload: record mark + KRB-ERROR 60.
pub(crate) const KRB_TCP_ERROR_60: &str = "000000567e543052a003020105a10302011ea411180f32303132303331363137323934365aa50502030a27dba60302013ca9091b074845432e4e4554aa1c301aa003020102a11330111b066b72627467741b074845432e4e4554";

/// ldap_rootdse_bind_modify_vlan_ipv6.pcapng frame 4, tcp.payload (350 bytes):
/// searchRequest messageID 5, baseObject "" (rootDSE), filter (objectclass=*), 15 attributes.
pub(crate) const LDAP_ROOTDSE_SEARCH: &str = "30840000015802010563840000014f04000a01000a010002010002011e010100870b6f626a656374636c61737330840000012b0411737562736368656d61537562656e747279040d6473536572766963654e616d65040e6e616d696e67436f6e7465787473041464656661756c744e616d696e67436f6e746578740413736368656d614e616d696e67436f6e74657874041a636f6e66696775726174696f6e4e616d696e67436f6e746578740417726f6f74446f6d61696e4e616d696e67436f6e746578740410737570706f72746564436f6e74726f6c0414737570706f727465644c44415056657273696f6e0415737570706f727465644c444150506f6c69636965730417737570706f727465645341534c4d656368616e69736d73040b646e73486f73744e616d65040f6c646170536572766963654e616d65040a7365727665724e616d650415737570706f727465644361706162696c6974696573";

/// ldap_rootdse_bind_modify_vlan_ipv6.pcapng frame 13, tcp.payload: SASL buffer (50
/// bytes), RFC 4121 wrap flags 0x05, EC 12, RRC 12, modifyResponse(8) success inside.
pub(crate) const LDAP_SASL_MODIFY_RESPONSE: &str = "00000032050405ff000c000c000000005ca2911b2ce2d5fa00a2fed0ea21fca13084000000100201086784000000070a010004000400";

/// The NTLM exchange of `captures/lab_enroll_icpr_named_pipe.pcap`'s SMB2 SESSION_SETUP
/// (impacket's client against the lab's CA stand-in), the NTLMSSP message inside each SPNEGO
/// token. Frame 50 (NEGOTIATE, 32 bytes).
pub(crate) const NTLM_NEGOTIATE: &str =
    "4e544c4d5353500001000000050288a000000000000000000000000000000000";
/// Frame 51 (CHALLENGE, 148 bytes; impacket fills the Version with ff bytes).
pub(crate) const NTLM_CHALLENGE: &str = concat!(
    "4e544c4d5353500002000000100010003800000005028aa2aaaaaaaaaaaaaaaa",
    "00000000000000004c004c0048000000ffffffffffffffff4300450052005400",
    "46004c004f00570002001000430045005200540046004c004f00570004001000",
    "430045005200540046004c004f00570001000600430041003100030006004300",
    "410031000700080000d33104c97bdd0100000000",
);
/// Frame 52 (AUTHENTICATE, 262 bytes, an NTLMv2 response).
pub(crate) const NTLM_AUTHENTICATE: &str = concat!(
    "4e544c4d535350000300000018001800620000008c008c007a00000018001800",
    "400000000a000a005800000000000000620000000000000006010000050288a0",
    "430045005200540046004c004f0057002e004c004100420041004c0049004300",
    "4500d86b465a0483e77023f383ca81d6189b57364c48634a7a3160e8ce057e55",
    "4217c4d33d510fb16e40010100000000000000d33104c97bdd0157364c48634a",
    "7a310000000002001000430045005200540046004c004f005700040010004300",
    "45005200540046004c004f00570001000600430041003100030006004300410031",
    "000700080000d33104c97bdd010900100063006900660073002f004300410031",
    "0000000000",
);

#[cfg(test)]
mod tests {
    use super::*;

    /// Consumes everything, records (direction, frame, length) of each delivery and the gaps.
    #[derive(Default)]
    struct Rec {
        got: Vec<(Dir, u64, usize)>,
        gaps: Vec<Dir>,
    }
    impl Analyzer for Rec {
        fn stream(&mut self, ctx: &Ctx, data: &[u8], _ev: &mut Evidence) -> usize {
            self.got.push((ctx.dir, ctx.frame.frame, data.len()));
            data.len()
        }
        fn gap(&mut self, dir: Dir) {
            self.gaps.push(dir);
        }
        fn service(&self) -> Option<&'static str> {
            None
        }
        fn finish(&mut self, _ev: &mut Evidence) {}
    }

    /// ldap_gss_privacy_vlan_ipv6_gap_pernpkt_encap.pcapng (pcapng, per-packet link types),
    /// tshark: SYN f1 / SYN-ACK f2; client payload f4 1440, f5 533, f8 208, f9 165, f11 251,
    /// f16 75; server f7 210 (seq 1), f10 227 at seq 1553 ("previous segment not captured"),
    /// f13 210 at seq 1780 and f14 its retransmission.
    #[test]
    fn extraction_and_reassembly_match_tshark() {
        let Some(c) = tcp_conn(
            "ldap_gss_privacy_vlan_ipv6_gap_pernpkt_encap.pcapng",
            49980,
            389,
        ) else {
            return;
        };
        // "<frame>S" for a SYN, "<frame>:<payload length>" otherwise.
        let got: Vec<String> = c
            .iter()
            .map(|(_, s)| match s.syn {
                true => format!("{}S", s.frame),
                false => format!("{}:{}", s.frame, s.payload.len()),
            })
            .collect();
        assert_eq!(
            got.join(" "),
            "1S 2S 4:1440 5:533 7:210 8:208 9:165 10:227 11:251 13:210 14:210 16:75"
        );
        let mut a = Rec::default();
        let mut f = TcpFeeder::new(389);
        for (d, s) in &c {
            f.seg(&mut a, *d, s);
        }
        // f10 and f13 wait behind the hole; f14 duplicates held bytes.
        assert_eq!(f.pending(), (0, 227 + 210));
        f.flush(&mut a);
        assert_eq!((f.gaps(), a.gaps.clone()), (1, vec![Dir::ToClient]));
        let to_client: Vec<_> = a.got.iter().filter(|g| g.0 == Dir::ToClient).collect();
        // At the end the held segments go over the hole, each at the frame that carried it
        // (nothing later completed them), as tshark shows them.
        assert_eq!(
            to_client,
            vec![
                &(Dir::ToClient, 7, 210),
                &(Dir::ToClient, 10, 227),
                &(Dir::ToClient, 13, 210)
            ]
        );
        let to_server: usize = a
            .got
            .iter()
            .filter(|g| g.0 == Dir::ToServer)
            .map(|g| g.2)
            .sum();
        assert_eq!(to_server, 1440 + 533 + 208 + 165 + 251 + 75);
    }

    #[test]
    fn hex_ignores_spacing_and_comments() {
        assert_eq!(hex("# comment\n30 0c:02\n01"), vec![0x30, 0x0c, 0x02, 0x01]);
    }
}
