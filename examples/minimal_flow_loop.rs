//! The reference the issue's throughput target was derived from ("a minimal pcap-parser +
//! etherparse flow loop", PERF-NOTES): pcap-parser's streaming reader over a 1 MiB buffer,
//! etherparse's `SlicedPacket`, a std `HashMap` of packets and bytes per 5-tuple. No IPv4
//! reassembly, tunnels, outcomes, evidence or output beyond a count. `cargo bench --bench flows`
//! times it on the same input in the same run as certflow.
//!
//! Usage: `cargo run --release --example minimal_flow_loop -- FILE`

use std::collections::HashMap;
use std::fs::File;
use std::net::IpAddr;

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use pcap_parser::{create_reader, PcapBlockOwned, PcapError};

type Key = (IpAddr, IpAddr, u16, u16, bool);

fn count(table: &mut HashMap<Key, (u64, u64)>, data: &[u8]) {
    let Ok(p) = SlicedPacket::from_ethernet(data) else {
        return;
    };
    let (src, dst): (IpAddr, IpAddr) = match &p.net {
        Some(NetSlice::Ipv4(v4)) => (
            v4.header().source_addr().into(),
            v4.header().destination_addr().into(),
        ),
        Some(NetSlice::Ipv6(v6)) => (
            v6.header().source_addr().into(),
            v6.header().destination_addr().into(),
        ),
        _ => return,
    };
    let (sport, dport, tcp) = match &p.transport {
        Some(TransportSlice::Tcp(t)) => (t.source_port(), t.destination_port(), true),
        Some(TransportSlice::Udp(u)) => (u.source_port(), u.destination_port(), false),
        _ => return,
    };
    let key = if (src, sport) <= (dst, dport) {
        (src, dst, sport, dport, tcp)
    } else {
        (dst, src, dport, sport, tcp)
    };
    let e = table.entry(key).or_insert((0, 0));
    e.0 += 1;
    e.1 += data.len() as u64;
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: minimal_flow_loop FILE");
    let file = File::open(&path).expect("cannot open");
    let mut reader = create_reader(1 << 20, file).expect("not a capture");
    let mut table: HashMap<Key, (u64, u64)> = HashMap::new();
    let mut packets = 0u64;
    loop {
        match reader.next() {
            Ok((len, block)) => {
                match block {
                    PcapBlockOwned::Legacy(b) => count(&mut table, b.data),
                    PcapBlockOwned::NG(pcap_parser::pcapng::Block::EnhancedPacket(b)) => {
                        count(&mut table, b.data)
                    }
                    _ => {}
                }
                packets += 1;
                reader.consume(len);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => reader.refill().expect("read error"),
            Err(e) => panic!("{e:?}"),
        }
    }
    println!("{packets} blocks, {} flows", table.len());
}
