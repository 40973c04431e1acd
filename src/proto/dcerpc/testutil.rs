//! Test helpers: hex decoding, a minimal capture reader (the real one lives in `crate::capture`,
//! still a stub in this branch) and a driver that feeds TCP payloads to an analyzer in order,
//! keeping the unconsumed remainder as the flow layer will.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::IpAddr;

use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapNGPacketBlock;
use pcap_parser::{LegacyPcapSlice, PcapBlockOwned, PcapNGSlice};

use crate::evidence::{Evidence, FrameRef};
use crate::proto::{Analyzer, Ctx, Dir, Transport};

/// Decodes a hex string (whitespace and `#` comment lines ignored). Panics on bad hex: test
/// data only.
pub fn hex(s: &str) -> Vec<u8> {
    let s: String = s
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

/// The public captures folder, or None (with a printed reason) when absent.
pub fn captures() -> Option<std::path::PathBuf> {
    let p = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/captures"));
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("skipping: {} not present", p.display());
        None
    }
}

/// One TCP segment with payload.
#[derive(Debug, Clone)]
#[allow(dead_code)] // addresses kept for tests that build FlowSlots from them
pub struct Seg {
    pub frame: u64,
    pub src: IpAddr,
    pub sport: u16,
    pub dst: IpAddr,
    pub dport: u16,
    pub seq: u32,
    pub payload: Vec<u8>,
}

/// Every TCP segment carrying payload in capture `name` (Ethernet pcap/pcapng, optionally gzip).
/// None when the captures folder is absent.
pub fn tcp_segments(name: &str) -> Option<Vec<Seg>> {
    let path = captures()?.join(name);
    let mut raw = std::fs::read(&path).expect("read capture");
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .expect("gunzip");
        raw = out;
    }
    let mut frames: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut n = 0u64;
    let mut push = |data: &[u8]| {
        n += 1;
        frames.push((n, data.to_vec()));
    };
    if let Ok(slice) = LegacyPcapSlice::from_slice(&raw) {
        for b in slice {
            match b {
                Ok(PcapBlockOwned::Legacy(b)) => push(b.data),
                Ok(_) => {}
                Err(_) => break, // truncated file: stop like tshark does
            }
        }
    } else {
        let slice = PcapNGSlice::from_slice(&raw).expect("pcap or pcapng");
        for b in slice {
            match b {
                Ok(PcapBlockOwned::NG(Block::EnhancedPacket(e))) => push(e.packet_data()),
                Ok(PcapBlockOwned::NG(Block::SimplePacket(s))) => push(s.packet_data()),
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }
    let mut out = Vec::new();
    for (frame, data) in frames {
        // Lax: TSO captures carry IPv4 total_length 0 (kerberos_tso-style), as tshark accepts.
        let Ok(p) = etherparse::LaxSlicedPacket::from_ethernet(&data) else {
            continue;
        };
        let (src, dst): (IpAddr, IpAddr) = match &p.net {
            Some(etherparse::LaxNetSlice::Ipv4(v4)) => (
                v4.header().source_addr().into(),
                v4.header().destination_addr().into(),
            ),
            Some(etherparse::LaxNetSlice::Ipv6(v6)) => (
                v6.header().source_addr().into(),
                v6.header().destination_addr().into(),
            ),
            _ => continue,
        };
        let Some(etherparse::TransportSlice::Tcp(t)) = &p.transport else {
            continue;
        };
        if t.payload().is_empty() {
            continue;
        }
        out.push(Seg {
            frame,
            src,
            sport: t.source_port(),
            dst,
            dport: t.destination_port(),
            seq: t.sequence_number(),
            payload: t.payload().to_vec(),
        });
    }
    Some(out)
}

/// The segments of one connection (client port `cport`, server port `sport`), in capture order,
/// retransmissions (sequence numbers already delivered) dropped and overlaps trimmed.
pub fn connection(segs: &[Seg], cport: u16, sport: u16) -> Vec<(Dir, Seg)> {
    let mut next: BTreeMap<u8, u32> = BTreeMap::new();
    let mut out = Vec::new();
    for s in segs {
        let dir = if s.sport == cport && s.dport == sport {
            Dir::ToServer
        } else if s.sport == sport && s.dport == cport {
            Dir::ToClient
        } else {
            continue;
        };
        let k = dir.index() as u8;
        let mut s = s.clone();
        if let Some(&nx) = next.get(&k) {
            let behind = nx.wrapping_sub(s.seq) as i32;
            if behind > 0 {
                if behind as usize >= s.payload.len() {
                    continue;
                }
                s.payload.drain(..behind as usize);
                s.seq = nx;
            }
        }
        next.insert(k, s.seq.wrapping_add(s.payload.len() as u32));
        out.push((dir, s));
    }
    out
}

/// Feeds a connection to `a` the way the flow layer does and returns the evidence.
pub fn feed(a: &mut dyn Analyzer, conn: &[(Dir, Seg)], server_port: u16) -> Evidence {
    let mut pending: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    for (dir, s) in conn {
        let buf = &mut pending[dir.index()];
        buf.extend_from_slice(&s.payload);
        let ctx = Ctx {
            frame: FrameRef::new(0, s.frame),
            ts_ns: 0,
            dir: *dir,
            transport: Transport::Tcp,
            server_port,
        };
        let used = a.stream(&ctx, buf);
        assert!(used <= buf.len(), "consumed more than offered");
        buf.drain(..used);
    }
    let mut ev = Evidence::default();
    a.finish(&mut ev);
    ev
}

/// Convenience: read `name`, take connection cport<->sport, feed a fresh DCE/RPC analyzer.
pub fn analyze(name: &str, cport: u16, sport: u16) -> Option<Evidence> {
    let segs = tcp_segments(name)?;
    let conn = connection(&segs, cport, sport);
    assert!(
        !conn.is_empty(),
        "no segments for {cport}<->{sport} in {name}"
    );
    let mut a = (super::DISSECTOR.new)(Transport::Tcp, sport);
    Some(feed(a.as_mut(), &conn, sport))
}

/// A deterministic pseudo-random generator (xorshift64*) for mutation tests.
pub struct Rng(pub u64);

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
    /// Mutates `b` in place: flips a few bytes, or writes 0x00/0xff runs over lengths.
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
