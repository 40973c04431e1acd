//! Test support shared by the LDAP and Kerberos tests: payloads cut from the public captures in
//! `../shared/captures` with tshark, and a driver that feeds TCP segments to an analyzer the way
//! the flow layer will (in order per direction, unconsumed bytes offered again with the next
//! segment appended).

use std::path::PathBuf;
use std::process::Command;

use crate::evidence::{Evidence, FrameRef};
use crate::proto::{Analyzer, Ctx, Dir, Transport};

/// Decodes a hex string (whitespace ignored). Test data only.
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    s.chunks(2)
        .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap())
        .collect()
}

/// `Seg::seq` of hand-made segments: fed in the order given, without sequence checks.
pub(crate) const NO_SEQ: u64 = u64::MAX;

/// One payload: the frame that carried it, its source port and bytes.
#[derive(Debug, Clone)]
pub(crate) struct Seg {
    pub frame: u64,
    pub src_port: u16,
    pub bytes: Vec<u8>,
    /// TCP relative sequence number (tshark `tcp.seq`), 0 when unknown.
    pub seq: u64,
}

/// Path of a capture, or `None` (with the reason printed) when the captures are absent or tshark
/// is not installed.
pub(crate) fn capture(file: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/captures"));
    let path = dir.join(file);
    if !path.exists() {
        eprintln!("skipped: {} not found", path.display());
        return None;
    }
    if Command::new("tshark").arg("-v").output().is_err() {
        eprintln!("skipped: tshark not installed");
        return None;
    }
    Some(path)
}

/// Payloads of `proto` ("tcp" or "udp") matching `filter`, in capture order, via tshark
/// (`-T fields -e frame.number -e <proto>.srcport -e <proto>.payload`). Empty payloads skipped.
pub(crate) fn payloads_opt(file: &str, proto: &str, filter: &str) -> Option<Vec<Seg>> {
    let path = capture(file)?;
    let out = Command::new("tshark")
        .arg("-r")
        .arg(&path)
        .args(["-Y", filter, "-T", "fields", "-e", "frame.number"])
        .args([
            "-e",
            &format!("{proto}.srcport"),
            "-e",
            &format!("{proto}.payload"),
        ])
        .args([
            "-e",
            if proto == "tcp" {
                "tcp.seq"
            } else {
                "frame.len"
            },
        ])
        .output()
        .expect("tshark runs");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let segs: Vec<Seg> = text
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let frame = f.next()?.parse().ok()?;
            let src_port = f.next()?.parse().ok()?;
            let bytes = hex(f.next()?);
            let seq = if proto == "tcp" {
                f.next()?.parse().ok()?
            } else {
                0
            };
            (!bytes.is_empty()).then_some(Seg {
                frame,
                src_port,
                bytes,
                seq,
            })
        })
        .collect();
    Some(segs)
}

/// [`payloads_opt`] that insists on finding payload (a wrong filter fails the test).
pub(crate) fn payloads(file: &str, proto: &str, filter: &str) -> Option<Vec<Seg>> {
    let segs = payloads_opt(file, proto, filter)?;
    assert!(!segs.is_empty(), "no payload in {file} for {filter}");
    Some(segs)
}

/// A context for a message of `frame` travelling `dir`.
pub(crate) fn ctx(frame: u64, dir: Dir, transport: Transport, server_port: u16) -> Ctx {
    Ctx {
        frame: FrameRef::new(0, frame),
        ts_ns: 0,
        dir,
        transport,
        server_port,
    }
}

/// Feeds TCP segments in order like the flow layer: per direction, the unconsumed remainder is
/// kept and offered again with the next segment appended. `gaps` lists frames before which the
/// direction of that frame's segment lost bytes (`gap` is called, the remainder dropped).
pub(crate) struct Feeder {
    bufs: [Vec<u8>; 2],
    next_seq: [Option<u64>; 2],
    /// Gaps signalled so far.
    pub gaps: u64,
    /// The server's port (decides the direction of each segment).
    pub server_port: u16,
}

impl Feeder {
    /// A feeder for a connection to `server_port`.
    pub fn new(server_port: u16) -> Self {
        Feeder {
            bufs: [Vec::new(), Vec::new()],
            next_seq: [None, None],
            gaps: 0,
            server_port,
        }
    }

    fn dir(&self, s: &Seg) -> Dir {
        if s.src_port == self.server_port {
            Dir::ToClient
        } else {
            Dir::ToServer
        }
    }

    /// Offers one segment; checks the analyzer's consumption is within bounds.
    pub fn feed(&mut self, a: &mut dyn Analyzer, s: &Seg) {
        let dir = self.dir(s);
        let c = ctx(s.frame, dir, Transport::Tcp, self.server_port);
        let buf = &mut self.bufs[dir.index()];
        buf.extend_from_slice(&s.bytes);
        let used = a.stream(&c, buf);
        assert!(used <= buf.len(), "consumed more than offered");
        buf.drain(..used);
    }

    /// Offers one segment placed by its sequence number: retransmitted bytes are dropped, a
    /// hole before the segment is signalled with `gap` (as the flow layer will do).
    pub fn feed_seq(&mut self, a: &mut dyn Analyzer, s: &Seg) {
        if s.seq == NO_SEQ {
            return self.feed(a, s);
        }
        let d = self.dir(s).index();
        let end = s.seq + s.bytes.len() as u64;
        let mut s = s.clone();
        if let Some(next) = self.next_seq[d] {
            if end <= next {
                return;
            }
            if s.seq > next {
                self.gaps += 1;
                self.gap(a, &s);
            } else if s.seq < next {
                s.bytes.drain(..(next - s.seq) as usize);
            }
        }
        self.next_seq[d] = Some(end);
        self.feed(a, &s);
    }

    /// Signals lost bytes in the direction of `s` and drops what was buffered there.
    pub fn gap(&mut self, a: &mut dyn Analyzer, s: &Seg) {
        let dir = self.dir(s);
        self.bufs[dir.index()].clear();
        a.gap(dir);
    }

    /// Bytes still buffered per direction (to-server, to-client).
    pub fn pending(&self) -> (usize, usize) {
        (self.bufs[0].len(), self.bufs[1].len())
    }
}

/// Feeds all `segs` to `a` and returns the evidence it wrote.
pub(crate) fn run_tcp(a: &mut dyn Analyzer, server_port: u16, segs: &[Seg]) -> Evidence {
    let mut f = Feeder::new(server_port);
    for s in segs {
        f.feed_seq(a, s);
    }
    let mut ev = Evidence::default();
    a.finish(&mut ev);
    ev
}

/// Feeds all `segs` as UDP datagrams (direction from the source port) and returns the evidence.
pub(crate) fn run_udp(a: &mut dyn Analyzer, server_port: u16, segs: &[Seg]) -> Evidence {
    for s in segs {
        let dir = if s.src_port == server_port {
            Dir::ToClient
        } else {
            Dir::ToServer
        };
        a.datagram(&ctx(s.frame, dir, Transport::Udp, server_port), &s.bytes);
    }
    let mut ev = Evidence::default();
    a.finish(&mut ev);
    ev
}

/// tshark values of `field` for frames matching `filter`, split on ',' (one Vec per frame).
pub(crate) fn field_values(
    file: &str,
    filter: &str,
    field: &str,
) -> Option<Vec<(u64, Vec<String>)>> {
    let path = capture(file)?;
    let out = Command::new("tshark")
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
        .expect("tshark runs");
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

/// The TCP payloads of every connection matching `filter`, one list per `tcp.stream` in
/// stream order, from a single tshark run.
pub(crate) fn tcp_streams(file: &str, filter: &str) -> Option<Vec<Vec<Seg>>> {
    let path = capture(file)?;
    let out = Command::new("tshark")
        .arg("-r")
        .arg(&path)
        .args(["-Y", &format!("({filter}) && tcp.len>0"), "-T", "fields"])
        .args([
            "-e",
            "frame.number",
            "-e",
            "tcp.srcport",
            "-e",
            "tcp.payload",
        ])
        .args(["-e", "tcp.seq", "-e", "tcp.stream"])
        .output()
        .expect("tshark runs");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let mut by: std::collections::BTreeMap<u64, Vec<Seg>> = Default::default();
    for l in text.lines() {
        let f: Vec<&str> = l.split('\t').collect();
        let [frame, port, payload, seq, stream] = f[..] else {
            continue;
        };
        let bytes = hex(payload);
        if bytes.is_empty() {
            continue;
        }
        by.entry(stream.parse().expect("stream"))
            .or_default()
            .push(Seg {
                frame: frame.parse().expect("frame"),
                src_port: port.parse().expect("port"),
                bytes,
                seq: seq.parse().expect("seq"),
            });
    }
    Some(by.into_values().collect())
}
