//! Test-only helpers shared by the TLS, DNS, HTTP and SMB analyzers: read one connection's
//! payloads out of a public capture (pcap or pcapng, Ethernet) and feed them to an analyzer the
//! way the flow layer will (in order per direction, keeping the unconsumed remainder).
//!
//! This is a deliberately small stand-in for the capture/decode/flow stages, which live elsewhere:
//! retransmitted bytes are dropped by sequence number, a hole in the sequence is reported as a gap.

#![allow(dead_code)]

use std::path::PathBuf;

use pcap_parser::pcapng::Block;
use pcap_parser::{create_reader, PcapBlockOwned, PcapError};

use crate::evidence::{Evidence, FrameRef};
use crate::proto::{Analyzer, Ctx, Dir, Transport};

/// The shared captures folder, or `None` (with a printed reason) when it is absent.
pub fn capture(name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/captures")).join(name);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipped: capture {} not found", p.display());
        None
    }
}

/// One piece of payload of the chosen connection.
#[derive(Debug, Clone)]
pub struct Seg {
    /// 1-based frame number.
    pub frame: u64,
    /// Direction (the server is the side whose port was given).
    pub dir: Dir,
    /// True when bytes before this segment are missing in its direction (TCP only).
    pub gap_before: bool,
    /// Payload bytes.
    pub data: Vec<u8>,
}

/// Every frame's (number, link data) of a capture.
fn frames(path: &PathBuf) -> Vec<(u64, Vec<u8>)> {
    let file = std::fs::File::open(path).expect("open capture");
    let mut rd = create_reader(1 << 20, file).expect("capture reader");
    let mut out = Vec::new();
    let mut n = 0u64;
    loop {
        match rd.next() {
            Ok((off, block)) => {
                let data = match block {
                    PcapBlockOwned::Legacy(b) => Some(b.data.to_vec()),
                    PcapBlockOwned::NG(Block::EnhancedPacket(b)) => {
                        Some(b.data[..b.caplen as usize].to_vec())
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(b)) => Some(b.data.to_vec()),
                    _ => None,
                };
                if let Some(d) = data {
                    n += 1;
                    out.push((n, d));
                }
                rd.consume(off);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                if rd.refill().is_err() {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    out
}

/// Payloads of the TCP connection between `client_port` and `server_port` (any addresses), in
/// capture order, with retransmissions dropped.
pub fn tcp_stream(path: &PathBuf, client_port: u16, server_port: u16) -> Vec<Seg> {
    let mut next: [Option<u32>; 2] = [None, None];
    let mut out = Vec::new();
    for (frame, data) in frames(path) {
        let Ok(p) = etherparse::SlicedPacket::from_ethernet(&data) else {
            continue;
        };
        let Some(etherparse::TransportSlice::Tcp(t)) = p.transport else {
            continue;
        };
        let dir = match (t.source_port(), t.destination_port()) {
            (s, d) if s == client_port && d == server_port => Dir::ToServer,
            (s, d) if s == server_port && d == client_port => Dir::ToClient,
            _ => continue,
        };
        let i = dir.index();
        // Data starts one after a SYN's sequence number.
        let seq = t.sequence_number().wrapping_add(u32::from(t.syn()));
        let mut payload = t.payload();
        let mut start = seq;
        let mut gap_before = false;
        if let Some(exp) = next[i] {
            let ahead = seq.wrapping_sub(exp) as i32;
            if ahead < 0 {
                let skip = ahead.unsigned_abs() as usize;
                if skip >= payload.len() {
                    continue;
                }
                payload = &payload[skip..];
                start = exp;
            } else if ahead > 0 {
                gap_before = true;
            }
        }
        next[i] = Some(start.wrapping_add(payload.len() as u32));
        if !payload.is_empty() {
            out.push(Seg {
                frame,
                dir,
                gap_before,
                data: payload.to_vec(),
            });
        }
    }
    out
}

/// UDP payloads between `client_port` and `server_port` (any addresses), in capture order.
pub fn udp_datagrams(path: &PathBuf, client_port: u16, server_port: u16) -> Vec<Seg> {
    let mut out = Vec::new();
    for (frame, data) in frames(path) {
        let Ok(p) = etherparse::SlicedPacket::from_ethernet(&data) else {
            continue;
        };
        let Some(etherparse::TransportSlice::Udp(u)) = p.transport else {
            continue;
        };
        let dir = match (u.source_port(), u.destination_port()) {
            (s, d) if s == client_port && d == server_port => Dir::ToServer,
            (s, d) if s == server_port && d == client_port => Dir::ToClient,
            _ => continue,
        };
        out.push(Seg {
            frame,
            dir,
            gap_before: false,
            data: u.payload().to_vec(),
        });
    }
    out
}

/// The context of one piece of data.
pub fn ctx(frame: u64, dir: Dir, transport: Transport, server_port: u16) -> Ctx {
    Ctx {
        frame: FrameRef::new(0, frame),
        ts_ns: 0,
        dir,
        transport,
        server_port,
    }
}

/// Feeds TCP segments to `a` as the flow layer will: per direction, unconsumed bytes are kept and
/// offered again with the next segment appended; a hole calls `gap` and drops the remainder.
pub fn feed_tcp(a: &mut dyn Analyzer, segs: &[Seg], server_port: u16) {
    let mut buf: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    for s in segs {
        let i = s.dir.index();
        if s.gap_before {
            buf[i].clear();
            a.gap(s.dir);
        }
        buf[i].extend_from_slice(&s.data);
        let c = ctx(s.frame, s.dir, Transport::Tcp, server_port);
        let used = a.stream(&c, &buf[i]).min(buf[i].len());
        buf[i].drain(..used);
    }
}

/// Feeds UDP datagrams to `a`.
pub fn feed_udp(a: &mut dyn Analyzer, segs: &[Seg], server_port: u16) {
    for s in segs {
        let c = ctx(s.frame, s.dir, Transport::Udp, server_port);
        a.datagram(&c, &s.data);
    }
}

/// Runs `a` to the end and returns the evidence it produced.
pub fn finish(a: &mut dyn Analyzer) -> Evidence {
    let mut ev = Evidence::default();
    a.finish(&mut ev);
    ev
}

/// Hex string (as printed by `tshark -T fields -e tcp.payload`) to bytes.
pub fn unhex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
    s.chunks(2)
        .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap_or("0"), 16).unwrap_or(0))
        .collect()
}
