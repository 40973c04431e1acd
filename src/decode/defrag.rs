//! IP fragment reassembly: IPv4 (RFC 791 section 3.2, RFC 815's hole-filling idea) and IPv6
//! (RFC 8200 section 4.5, the Fragment extension header).
//!
//! Kerberos replies and large DNS answers over UDP often exceed the MTU, so their datagrams
//! arrive as fragments.
//! Pending datagrams are capped in number and size and expire after [`TIMEOUT_NS`] of capture
//! time; fragments that never complete a datagram are counted, never silently dropped.

use std::collections::HashMap;
use std::net::IpAddr;

/// Most datagrams waiting for fragments at once; beyond it the oldest is given up.
pub const MAX_PENDING: usize = 4096;
/// Largest reassembled datagram: the IPv4 total length field is 16 bits.
pub const MAX_DATAGRAM: usize = 65_535;
/// A pending datagram is given up after this much capture time (Linux ipfrag_time: 30 s).
pub const TIMEOUT_NS: i64 = 30_000_000_000;

/// Identifies the datagram a fragment belongs to (RFC 791: source, destination, protocol, id;
/// RFC 8200 4.5: source, destination, id, with the Fragment header's Next Header as `proto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IP protocol number.
    pub proto: u8,
    /// Identification field (16 bits in IPv4, 32 in IPv6).
    pub id: u32,
}

/// One IPv6 fragment: its Fragment header (RFC 8200 section 4.5) and the data after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Fragment<'a> {
    /// Next Header: the first header of the fragmentable part.
    pub next: u8,
    /// Fragment Offset in bytes.
    pub offset: usize,
    /// The M flag: more fragments follow.
    pub more: bool,
    /// Identification.
    pub id: u32,
    /// This fragment's share of the fragmentable part.
    pub data: &'a [u8],
}

/// The Fragment header of the IPv6 packet `ip`, found by walking the extension headers that may
/// precede it (RFC 8200 section 4.1: Hop-by-Hop Options, Routing, Destination Options; RFC 4302:
/// Authentication Header). `None` when the packet has none or its headers are cut short. The
/// data ends where the Payload Length says, or at the end of the captured bytes.
pub fn ipv6_fragment(ip: &[u8]) -> Option<Ipv6Fragment<'_>> {
    let payload_len = usize::from(u16::from_be_bytes([*ip.get(4)?, *ip.get(5)?]));
    let ip = &ip[..ip.len().min(40 + payload_len)];
    let mut next = *ip.get(6)?;
    let mut pos = 40;
    loop {
        let h = ip.get(pos..pos + 2)?;
        match next {
            // Hop-by-Hop, Routing, Destination Options: length in 8-octet units, not counting
            // the first 8.
            0 | 43 | 60 => pos += (usize::from(h[1]) + 1) * 8,
            // AH: length in 4-octet units, minus 2.
            51 => pos += (usize::from(h[1]) + 2) * 4,
            44 => {
                let f = ip.get(pos..pos + 8)?;
                let off_m = u16::from_be_bytes([f[2], f[3]]);
                return Some(Ipv6Fragment {
                    next: f[0],
                    offset: usize::from(off_m >> 3) * 8,
                    more: off_m & 1 == 1,
                    id: u32::from_be_bytes([f[4], f[5], f[6], f[7]]),
                    data: &ip[pos + 8..],
                });
            }
            _ => return None,
        }
        next = h[0];
    }
}

#[derive(Debug, Default)]
struct Pending {
    data: Vec<u8>,
    /// Byte ranges received, unsorted; small (a datagram has few fragments).
    have: Vec<(usize, usize)>,
    /// Total payload length, known once the last fragment (MF clear) arrived.
    total: Option<usize>,
    frames: u64,
    first_ts: i64,
}

impl Pending {
    fn complete(&self) -> bool {
        let Some(total) = self.total else {
            return false;
        };
        let mut r = self.have.clone();
        r.sort_unstable();
        let mut reach = 0;
        for (s, e) in r {
            if s > reach {
                return false;
            }
            reach = reach.max(e);
        }
        reach >= total
    }
}

/// Reassembly state for a whole capture.
#[derive(Debug, Default)]
pub struct Defrag {
    pending: HashMap<Key, Pending>,
    done: Vec<u8>,
    /// Frames of the datagram most recently completed by [`Defrag::add`].
    pub last_frames: u64,
    /// Datagrams completed so far.
    pub completed: u64,
    /// Frames given up (timeout, cap, oversize, or left at the end).
    pub abandoned_frames: u64,
    /// True once [`MAX_PENDING`] was reached.
    pub cap_hit: bool,
}

impl Defrag {
    /// Adds a fragment with payload `data` at byte `offset`; `more` is the MF flag. Returns the
    /// whole datagram payload when this fragment completes it.
    pub fn add(
        &mut self,
        key: Key,
        offset: usize,
        more: bool,
        data: &[u8],
        _frame: u64,
        ts_ns: i64,
    ) -> Option<&[u8]> {
        let end = offset + data.len();
        if end > MAX_DATAGRAM {
            self.abandoned_frames += 1;
            return None;
        }
        if !self.pending.contains_key(&key) && self.pending.len() >= MAX_PENDING {
            self.cap_hit = true;
            self.expire(ts_ns, true);
        }
        let p = self.pending.entry(key).or_insert_with(|| Pending {
            first_ts: ts_ns,
            ..Default::default()
        });
        if p.data.len() < end {
            p.data.resize(end, 0);
        }
        p.data[offset..end].copy_from_slice(data);
        p.have.push((offset, end));
        p.frames += 1;
        if !more {
            p.total = Some(end);
        }
        if !p.complete() {
            return None;
        }
        let p = self.pending.remove(&key)?;
        self.last_frames = p.frames;
        self.completed += 1;
        self.done = p.data;
        let total = p.total.unwrap_or(0).min(self.done.len());
        Some(&self.done[..total])
    }

    /// Gives up datagrams older than [`TIMEOUT_NS`] at capture time `now_ns` (or, with `oldest`,
    /// also the single oldest one to make room).
    pub fn expire(&mut self, now_ns: i64, oldest: bool) {
        let before = self.pending.len();
        let mut abandoned = 0;
        self.pending.retain(|_, p| {
            let keep = now_ns.saturating_sub(p.first_ts) <= TIMEOUT_NS;
            if !keep {
                abandoned += p.frames;
            }
            keep
        });
        if oldest && self.pending.len() == before {
            if let Some(k) = self
                .pending
                .iter()
                .min_by_key(|(_, p)| p.first_ts)
                .map(|(k, _)| *k)
            {
                if let Some(p) = self.pending.remove(&k) {
                    abandoned += p.frames;
                }
            }
        }
        self.abandoned_frames += abandoned;
    }

    /// Gives up everything still pending (end of input).
    pub fn finish(&mut self) {
        let n: u64 = self.pending.values().map(|p| p.frames).sum();
        self.abandoned_frames += n;
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        Key {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            proto: 17,
            id: 7,
        }
    }

    /// Frame 8 of captures/lab_dns_fragmented_udp_ipv6.pcap (record_fragments.sh 6), the IPv6
    /// header and Fragment header of dnsmasq's first fragment: offset 0, M set, id 0x6e7efbb4,
    /// next header UDP; tshark: "IPv6 fragment (off=0 more=y ident=0x6e7efbb4 nxt=17)".
    const FRAME8_HEADERS: [u8; 48] = [
        0x60, 0x00, 0x10, 0xd6, 0x05, 0xb0, 0x2c, 0x40, 0xfd, 0x78, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0x53, 0xfd, 0x78, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0x11, 0x00,
        0x00, 0x01, 0x6e, 0x7e, 0xfb, 0xb4,
    ];

    #[test]
    fn ipv6_fragment_header_is_read() {
        let mut ip = FRAME8_HEADERS.to_vec();
        ip.extend_from_slice(&[0xab; 1448]);
        let f = ipv6_fragment(&ip).expect("fragment header");
        assert_eq!((f.next, f.offset, f.more, f.id), (17, 0, true, 0x6e7e_fbb4));
        assert_eq!(f.data.len(), 1448);
        // The same fragment behind a Destination Options header (8 octets, next header 44).
        let mut with_opts = ip[..40].to_vec();
        with_opts[6] = 60;
        with_opts[5] += 8;
        with_opts.extend_from_slice(&[44, 0, 1, 4, 0, 0, 0, 0]);
        with_opts.extend_from_slice(&ip[40..]);
        assert_eq!(ipv6_fragment(&with_opts), Some(f));
        // Cut inside the Fragment header, or no Fragment header at all: none.
        assert_eq!(ipv6_fragment(&ip[..45]), None);
        let mut udp = ip.clone();
        udp[6] = 17;
        assert_eq!(ipv6_fragment(&udp), None);
    }

    #[test]
    fn out_of_order_fragments_complete() {
        let mut d = Defrag::default();
        assert!(d.add(key(), 8, false, b"world", 2, 0).is_none());
        let got = d.add(key(), 0, true, b"hello123", 3, 1).map(|s| s.to_vec());
        assert_eq!(got.as_deref(), Some(&b"hello123world"[..]));
        assert_eq!(d.last_frames, 2);
    }

    #[test]
    fn incomplete_is_counted() {
        let mut d = Defrag::default();
        assert!(d.add(key(), 0, true, b"hello123", 1, 0).is_none());
        d.expire(TIMEOUT_NS + 1, false);
        assert_eq!(d.abandoned_frames, 1);
        assert!(d.add(key(), 65_530, false, b"0123456789", 2, 0).is_none());
        assert_eq!(d.abandoned_frames, 2);
    }
}
