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
        let Ok(p) = etherparse::LaxSlicedPacket::from_ethernet(&data) else {
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
        if payload.is_empty() {
            // Only a SYN fixes where data starts; bare ACKs say nothing about missing data.
            if t.syn() {
                next[i] = Some(seq);
            }
            continue;
        }
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
        let Ok(p) = etherparse::LaxSlicedPacket::from_ethernet(&data) else {
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

/// Every frame's transport payload: (frame, transport, src port, dst port, syn-only, payload).
pub fn all_payloads(path: &PathBuf) -> Vec<(u64, Transport, u16, u16, Vec<u8>)> {
    let mut out = Vec::new();
    for (frame, data) in frames(path) {
        let Ok(p) = etherparse::LaxSlicedPacket::from_ethernet(&data) else {
            continue;
        };
        match p.transport {
            Some(etherparse::TransportSlice::Tcp(t)) if !t.payload().is_empty() => out.push((
                frame,
                Transport::Tcp,
                t.source_port(),
                t.destination_port(),
                t.payload().to_vec(),
            )),
            Some(etherparse::TransportSlice::Udp(u)) => out.push((
                frame,
                Transport::Udp,
                u.source_port(),
                u.destination_port(),
                u.payload().to_vec(),
            )),
            _ => {}
        }
    }
    out
}

/// Every capture: the first payload of each connection is offered to the TLS, DNS, HTTP and SMB
/// probes; none may claim a connection whose server port belongs to another protocol certflow
/// dissects (Kerberos, EPM, LDAP, kpasswd, GC), and each claim must sit on a port that fits
/// (TLS on 443, DNS on 53 and its multicast cousins mDNS 5353 / LLMNR 5355, HTTP on 80 / WinRM
/// 5985 / others, SMB on 445 / 139; the ports tshark shows these protocols on in these files).
#[test]
fn probes_claim_only_their_protocol() {
    use std::collections::BTreeSet;
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/captures"));
    let Ok(rd) = std::fs::read_dir(&dir) else {
        eprintln!("skipped: {} not found", dir.display());
        return;
    };
    let mut names: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    names.sort();
    let mut claims = 0;
    for p in names {
        let n = p.to_string_lossy().to_string();
        if !(n.ends_with(".pcap") || n.ends_with(".pcapng")) {
            continue;
        }
        let mut seen = BTreeSet::new();
        for (frame, t, sp, dp, data) in all_payloads(&p) {
            if !seen.insert((t, sp.min(dp), sp.max(dp))) {
                continue;
            }
            let port = sp.min(dp);
            for d in [
                &crate::proto::tls::DISSECTOR,
                &crate::proto::dns::DISSECTOR,
                &crate::proto::http::DISSECTOR,
                &crate::proto::smb::DISSECTOR,
            ] {
                if !(d.probe)(t, &data) {
                    continue;
                }
                claims += 1;
                let fits = match d.name {
                    "tls" => port == 443,
                    "dns" => matches!(port, 53 | 5353 | 5355),
                    "http" => !matches!(
                        port,
                        53 | 88 | 135 | 139 | 389 | 443 | 445 | 464 | 636 | 3268
                    ),
                    "smb" => matches!(port, 139 | 445),
                    _ => false,
                };
                assert!(
                    fits,
                    "{n} frame {frame}: {} claimed {t:?} {sp}->{dp}",
                    d.name
                );
            }
        }
    }
    // When written, the probes claimed 24 TLS, 63 DNS, 49 HTTP and 215 SMB connections (of
    // ~770 port pairs); a probe that silently stops matching fails here.
    assert!(claims > 300, "only {claims} claims");
}

/// Every capture, every connection a probe or well-known port gives to TLS, DNS, HTTP or SMB,
/// run through its analyzer: none may count a malformed message (all these captures are well
/// formed for these protocols per tshark). Slow in debug builds (~20 s): run with `--ignored`.
/// `SWEEP_JSON=1` prints each connection's evidence, for comparing with tshark.
#[test]
#[ignore]
fn analyzer_sweep() {
    use std::collections::BTreeSet;
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/captures"));
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut names: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    names.sort();
    let ours = [
        &crate::proto::tls::DISSECTOR,
        &crate::proto::dns::DISSECTOR,
        &crate::proto::http::DISSECTOR,
        &crate::proto::smb::DISSECTOR,
    ];
    for p in names {
        let n = p.to_string_lossy().to_string();
        if !(n.ends_with(".pcap") || n.ends_with(".pcapng")) {
            continue;
        }
        let file = p.file_name().unwrap().to_string_lossy().to_string();
        let mut seen = BTreeSet::new();
        for (frame, t, sp, dp, data) in all_payloads(&p) {
            let key = (t, sp.min(dp), sp.max(dp));
            if !seen.insert(key) {
                continue;
            }
            let d = ours
                .iter()
                .find(|d| (d.probe)(t, &data))
                .copied()
                .or_else(|| {
                    let port = sp.min(dp);
                    let s = crate::services::well_known(t, port);
                    crate::proto::by_service(s).filter(|d| ours.iter().any(|o| o.name == d.name))
                });
            let Some(d) = d else { continue };
            let (client, server) = if crate::services::is_well_known(t, dp) || dp < sp {
                (sp, dp)
            } else {
                (dp, sp)
            };
            let mut a = (d.new)(t, server);
            match t {
                Transport::Tcp => feed_tcp(a.as_mut(), &tcp_stream(&p, client, server), server),
                Transport::Udp => feed_udp(a.as_mut(), &udp_datagrams(&p, client, server), server),
            }
            let svc = a.service();
            let ev = finish(a.as_mut());
            let js = serde_json::to_value(&ev).unwrap();
            let mal: u64 = ["tls", "dns", "http", "smb"]
                .iter()
                .filter_map(|k| {
                    js.get(k)
                        .and_then(|v| v.get("malformed"))
                        .and_then(|m| m.as_u64())
                })
                .sum();
            println!(
                "{file} {frame} {t:?} {client}->{server} {} svc={svc:?} malformed={mal}",
                d.name
            );
            assert_eq!(mal, 0, "{file} {client}->{server}");
            if std::env::var("SWEEP_JSON").is_ok() {
                println!("JSON {file} {js}");
            }
        }
    }
}

/// Feeds `rounds` deterministic mutations (bit flips, byte overwrites, truncations, splices) of
/// `samples` to fresh analyzers from `new`, as TCP streams split at random points and as
/// datagrams. Only checks that nothing panics and that `stream` never claims more than it got.
pub fn mutate_and_feed(
    new: fn(Transport, u16) -> Box<dyn Analyzer>,
    samples: &[Vec<u8>],
    rounds: u32,
) {
    // FUZZ_ROUNDS / FUZZ_SEED widen a local run; the defaults keep `cargo test` fast.
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    let rounds = env("FUZZ_ROUNDS").map_or(rounds, |r| r as u32);
    let mut x: u64 = env("FUZZ_SEED").unwrap_or(0x9e37_79b9_7f4a_7c15) | 1;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..rounds {
        let mut d = samples[(rnd() as usize) % samples.len()].clone();
        for _ in 0..(1 + rnd() % 4) {
            if d.is_empty() {
                break;
            }
            let at = (rnd() as usize) % d.len();
            match rnd() % 5 {
                0 => d[at] ^= 1 << (rnd() % 8),
                1 => d[at] = rnd() as u8,
                2 => d.truncate(at),
                3 => d[at] = if rnd() % 2 == 0 { 0xff } else { 0 },
                _ => {
                    let other = &samples[(rnd() as usize) % samples.len()];
                    let from = (rnd() as usize) % other.len().max(1);
                    d.extend_from_slice(other.get(from..).unwrap_or_default());
                }
            }
        }
        for t in [Transport::Tcp, Transport::Udp] {
            let mut a = new(t, 443);
            let dir = if rnd() % 2 == 0 {
                Dir::ToServer
            } else {
                Dir::ToClient
            };
            let c = ctx(1, dir, t, 443);
            if t == Transport::Udp {
                a.datagram(&c, &d);
            } else {
                let mut buf = Vec::new();
                let mut rest = d.as_slice();
                while !rest.is_empty() {
                    let n = 1 + (rnd() as usize) % rest.len();
                    buf.extend_from_slice(&rest[..n]);
                    rest = &rest[n..];
                    let used = a.stream(&c, &buf);
                    assert!(used <= buf.len());
                    buf.drain(..used);
                    if rnd() % 16 == 0 {
                        a.gap(dir);
                        buf.clear();
                    }
                }
            }
            let _ = a.service();
            finish(a.as_mut());
        }
    }
}
