//! Frames -> decoded packets: link layer, IPv4/IPv6 (etherparse, extension headers skipped),
//! IPv4 and IPv6 reassembly, TCP, UDP, and ICMP/ICMPv6 destination-unreachable messages with the
//! connection they quote.
//!
//! Borrowing only: a [`Packet`] points into the frame (or into the reassembly buffer for a
//! reassembled datagram); nothing is allocated per packet on the common path.

pub mod defrag;
pub mod link;

use std::net::{IpAddr, Ipv4Addr};

use etherparse::{IpNumber, Ipv6ExtensionsSlice, LaxIpSlice};

use crate::proto::Transport;

/// TCP header flags certflow uses (RFC 9293 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpFlags {
    /// SYN.
    pub syn: bool,
    /// ACK.
    pub ack: bool,
    /// FIN.
    pub fin: bool,
    /// RST.
    pub rst: bool,
}

/// The transport part of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L4<'a> {
    /// A TCP segment.
    Tcp {
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
        /// Sequence number.
        seq: u32,
        /// Acknowledgment number.
        ack: u32,
        /// Flags.
        flags: TcpFlags,
        /// Segment payload.
        payload: &'a [u8],
        /// Bytes missing at the end of `payload`: the IP header claims more than was captured
        /// (a snap length cut the segment). 0 when the segment is whole.
        cut: u32,
    },
    /// A UDP datagram (reassembled when it was fragmented).
    Udp {
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
        /// Datagram payload.
        payload: &'a [u8],
        /// Bytes missing at the end of `payload`: the UDP length claims more than was captured
        /// (a snap length cut the datagram). 0 when the datagram is whole.
        cut: u32,
    },
    /// An ICMP or ICMPv6 destination-unreachable message quoting a TCP/UDP packet.
    Unreachable(Unreachable),
}

/// An ICMP destination-unreachable message (RFC 792, RFC 4443 3.1) and what it quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unreachable {
    /// 4 or 6.
    pub icmp_version: u8,
    /// The ICMP code (port unreachable, administratively prohibited ...).
    pub code: u8,
    /// Transport of the quoted packet.
    pub transport: Transport,
    /// Source address of the quoted packet (the sender of the packet that was refused).
    pub src: IpAddr,
    /// Destination address of the quoted packet.
    pub dst: IpAddr,
    /// Source port of the quoted packet.
    pub sport: u16,
    /// Destination port of the quoted packet.
    pub dport: u16,
}

impl Unreachable {
    /// A readable name for the ICMP code.
    pub fn describe(&self) -> String {
        let name = match (self.icmp_version, self.code) {
            (4, 0) => "network unreachable",
            (4, 1) => "host unreachable",
            (4, 2) => "protocol unreachable",
            (4, 3) => "port unreachable",
            (4, 9) | (4, 10) | (4, 13) => "administratively prohibited",
            (6, 0) => "no route",
            (6, 1) => "administratively prohibited",
            (6, 3) => "address unreachable",
            (6, 4) => "port unreachable",
            (6, 5) | (6, 6) => "policy rejected",
            _ => "unreachable",
        };
        format!(
            "icmpv{} {} (code {})",
            if self.icmp_version == 6 { "6" } else { "4" },
            name,
            self.code
        )
    }
}

/// A decoded packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Transport content.
    pub l4: L4<'a>,
}

/// Why a frame was not turned into a packet. Every skipped frame is counted under one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Skip {
    /// The link type is not one certflow reads.
    UnsupportedLinkType(u32),
    /// The frame ends inside its link header.
    TruncatedLink,
    /// The link layer carries something other than IP (ARP, LLDP ...).
    NotIp,
    /// The IP header is malformed or truncated.
    BadIp,
    /// An IP protocol other than TCP, UDP, ICMP.
    OtherIpProtocol,
    /// ICMP other than destination unreachable (echo, time exceeded ...).
    OtherIcmp,
    /// The TCP or UDP header is malformed or truncated.
    BadTransport,
    /// An IP fragment held for reassembly (counted as decoded once its datagram completes,
    /// as `IncompleteFragments` if it never does).
    FragmentHeld,
    /// IP fragments whose datagram never completed.
    IncompleteFragments,
    /// An IP fragment inside a tunnel (inner reassembly is not implemented).
    TunnelledFragment,
    /// A GRE header certflow cannot follow.
    BadTunnel,
}

impl Skip {
    /// The reason as reported in `skipped` (snake_case).
    pub fn reason(&self) -> String {
        match self {
            Skip::UnsupportedLinkType(n) => format!("unsupported_link_type_{n}"),
            Skip::TruncatedLink => "truncated_link_header".into(),
            Skip::NotIp => "not_ip".into(),
            Skip::BadIp => "bad_ip_header".into(),
            Skip::OtherIpProtocol => "other_ip_protocol".into(),
            Skip::OtherIcmp => "icmp_not_unreachable".into(),
            Skip::BadTransport => "bad_transport_header".into(),
            Skip::FragmentHeld => "ip_fragment_held".into(),
            Skip::IncompleteFragments => "incomplete_ip_fragments".into(),
            Skip::TunnelledFragment => "tunnelled_ip_fragment".into(),
            Skip::BadTunnel => "unsupported_tunnel".into(),
        }
    }
}

/// Most tunnel layers (IP-in-IP, GRE, VXLAN, Geneve) peeled off one frame.
pub const MAX_ENCAP_DEPTH: usize = 3;

/// Decodes one frame. `defrag` holds IPv4 and IPv6 fragments across calls; when a fragment
/// completes a datagram the returned packet borrows the reassembled bytes from it. IP-in-IP
/// (protocols 4 and 41) and GRE are unwrapped here (they carry no outer flow); UDP tunnels
/// (VXLAN, Geneve) carry an outer flow of their own and are unwrapped by the caller with
/// [`udp_tunnel`].
pub fn decode<'a>(
    link_type: u32,
    data: &'a [u8],
    frame: u64,
    ts_ns: i64,
    defrag: &'a mut defrag::Defrag,
) -> Result<Packet<'a>, Skip> {
    decode_cut(link_type, data, frame, ts_ns, 0, defrag)
}

/// [`decode`] of a frame whose last `missing` bytes the capture does not hold (its record's
/// original length less its captured length: a snap length). The IP length says how many
/// bytes of a packet are missing; `missing` is used only for an IPv4 packet whose total
/// length is 0, as a sender's segmentation offload (TSO) leaves it.
pub fn decode_cut<'a>(
    link_type: u32,
    data: &'a [u8],
    frame: u64,
    ts_ns: i64,
    missing: u32,
    defrag: &'a mut defrag::Defrag,
) -> Result<Packet<'a>, Skip> {
    let ip = network(link_type, data)?;
    decode_ip(ip, Some(defrag), frame, ts_ns, missing, 0)
}

/// The IP packet inside a frame of `link_type`.
fn network(link_type: u32, data: &[u8]) -> Result<&[u8], Skip> {
    match link::strip(link_type, data) {
        Ok(link::LinkPayload::Ip(ip)) => Ok(ip),
        Ok(link::LinkPayload::NotIp(_)) => Err(Skip::NotIp),
        Err(link::LinkError::Unsupported(n)) => Err(Skip::UnsupportedLinkType(n)),
        Err(link::LinkError::Truncated) => Err(Skip::TruncatedLink),
    }
}

fn decode_ip<'a>(
    ip: &'a [u8],
    defrag: Option<&'a mut defrag::Defrag>,
    frame: u64,
    ts_ns: i64,
    missing: u32,
    depth: usize,
) -> Result<Packet<'a>, Skip> {
    if let Some((src, dst, proto, payload)) = plain_ipv4(ip) {
        if !matches!(proto, IpNumber::IPV4 | IpNumber::IPV6 | IpNumber::GRE) {
            let l4 = transport(proto, payload)?;
            return Ok(Packet {
                src: IpAddr::V4(src),
                dst: IpAddr::V4(dst),
                l4,
            });
        }
    }
    let (slice, _ext_err) = LaxIpSlice::from_slice(ip).map_err(|_| Skip::BadIp)?;
    let src = slice.source_addr();
    let dst = slice.destination_addr();
    let p = slice.payload();
    // A reassembled datagram is whole; an unfragmented packet whose IP length runs past the
    // captured bytes was cut by the snap length, by this many bytes.
    // An IPv4 total length of 0 is a TSO segment's (the NIC fills it in): the frame's own
    // missing bytes are the packet's.
    let cut = if p.incomplete && !p.fragmented {
        let claimed = match &slice {
            LaxIpSlice::Ipv4(v4) => usize::from(v4.header().total_len()),
            LaxIpSlice::Ipv6(v6) => 40 + usize::from(v6.header().payload_length()),
        };
        u32::try_from(claimed.saturating_sub(ip.len())).unwrap_or(u32::MAX)
    } else if matches!(&slice, LaxIpSlice::Ipv4(v4) if v4.header().total_len() == 0)
        && !p.fragmented
    {
        missing
    } else {
        0
    };
    let (proto, payload): (IpNumber, &'a [u8]) = if p.fragmented {
        match (&slice, defrag) {
            (LaxIpSlice::Ipv4(v4), Some(defrag)) => {
                let h = v4.header();
                let key = defrag::Key {
                    src,
                    dst,
                    proto: p.ip_number.0,
                    id: u32::from(h.identification()),
                };
                let offset = usize::from(h.fragments_offset().value()) * 8;
                match defrag.add(key, offset, h.more_fragments(), p.payload, frame, ts_ns) {
                    Some(done) => (p.ip_number, done),
                    None => return Err(Skip::FragmentHeld),
                }
            }
            (LaxIpSlice::Ipv6(_), Some(defrag)) => {
                let f = defrag::ipv6_fragment(ip).ok_or(Skip::BadIp)?;
                let key = defrag::Key {
                    src,
                    dst,
                    proto: f.next,
                    id: f.id,
                };
                match defrag.add(key, f.offset, f.more, f.data, frame, ts_ns) {
                    // The fragmentable part may begin with extension headers of its own
                    // (RFC 8200 section 4.5) before the upper-layer header.
                    Some(done) => {
                        let (_, proto, payload, _) =
                            Ipv6ExtensionsSlice::from_slice_lax(IpNumber(f.next), done);
                        (proto, payload)
                    }
                    None => return Err(Skip::FragmentHeld),
                }
            }
            (_, None) => return Err(Skip::TunnelledFragment),
        }
    } else {
        (p.ip_number, p.payload)
    };
    if depth < MAX_ENCAP_DEPTH {
        match proto {
            IpNumber::IPV4 | IpNumber::IPV6 => {
                return decode_ip(payload, None, frame, ts_ns, missing, depth + 1)
            }
            IpNumber::GRE => {
                let (lt, inner) = gre(payload).ok_or(Skip::BadTunnel)?;
                let ip = network(lt, inner)?;
                return decode_ip(ip, None, frame, ts_ns, missing, depth + 1);
            }
            _ => {}
        }
    }
    let mut l4 = transport(proto, payload)?;
    if let L4::Tcp { cut: c, .. } = &mut l4 {
        *c = cut;
    }
    Ok(Packet { src, dst, l4 })
}

/// The fast path for the common packet: an IPv4 header (RFC 791 section 3.1) that is complete,
/// whose total length fits the captured bytes, that is not a fragment and is not followed by an
/// IPsec AH header. For such a header etherparse's `LaxIpSlice` gives exactly these addresses,
/// protocol and payload; every other packet (IPv6, fragments, truncated or TSO-sized lengths,
/// AH) goes through it. Returns source, destination, protocol and payload.
#[inline]
fn plain_ipv4(ip: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr, IpNumber, &[u8])> {
    let h: &[u8; 20] = ip.first_chunk()?;
    let ihl = usize::from(h[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    // Version 4; flags MF clear and fragment offset 0 (the DF bit may be set).
    if h[0] >> 4 != 4
        || ihl < 20
        || total < ihl
        || total > ip.len()
        || h[6] & 0x3f != 0
        || h[7] != 0
    {
        return None;
    }
    let proto = IpNumber(h[9]);
    if proto == IpNumber::AUTHENTICATION_HEADER {
        return None;
    }
    let src = Ipv4Addr::new(h[12], h[13], h[14], h[15]);
    let dst = Ipv4Addr::new(h[16], h[17], h[18], h[19]);
    Some((src, dst, proto, ip.get(ihl..total)?))
}

/// GRE (RFC 2784, RFC 2890 key and sequence) and ERSPAN type II/III: the inner frame's link
/// type and bytes.
fn gre(d: &[u8]) -> Option<(u32, &[u8])> {
    let flags = be16(d, 0)?;
    let proto = be16(d, 2)?;
    let mut off = 4;
    for bit in [0x8000u16, 0x2000, 0x1000] {
        // checksum (+reserved), key, sequence number: 4 bytes each when present
        if flags & bit != 0 {
            off += 4;
        }
    }
    let rest = d.get(off..)?;
    match proto {
        0x0800 | 0x86dd => Some((link::LINKTYPE_RAW, rest)),
        0x6558 => Some((link::LINKTYPE_ETHERNET, rest)),
        // ERSPAN type II: 8-byte header; type III: 12 bytes, +8 with the O (optional) bit.
        0x88be => Some((link::LINKTYPE_ETHERNET, rest.get(8..)?)),
        0x22eb => {
            let o = rest.get(11)? & 0x01 != 0;
            Some((
                link::LINKTYPE_ETHERNET,
                rest.get(if o { 20 } else { 12 }..)?,
            ))
        }
        _ => None,
    }
}

/// A frame carried in a UDP tunnel datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpTunnel<'a> {
    /// The tunnel protocol, the outer flow's service: "vxlan", "vxlan-gpe" or "geneve".
    pub service: &'static str,
    /// The inner frame's link type.
    pub link_type: u32,
    /// The inner frame.
    pub inner: &'a [u8],
}

/// UDP tunnels: VXLAN (RFC 7348, port 4789), VXLAN-GPE (port 4790, next-protocol field),
/// Geneve (RFC 8926, port 6081). `port` is either port of the datagram (replies come from the
/// tunnel port).
pub fn udp_tunnel(port: u16, d: &[u8]) -> Option<UdpTunnel<'_>> {
    let (service, link_type, inner) = match port {
        4789 => {
            // flags with the I bit (0x08) set, 3 reserved, VNI (3), reserved
            if *d.first()? & 0x08 == 0 {
                return None;
            }
            ("vxlan", link::LINKTYPE_ETHERNET, d.get(8..)?)
        }
        4790 => {
            let lt = match d.get(3)? {
                1 => link::LINKTYPE_IPV4,
                2 => link::LINKTYPE_IPV6,
                3 => link::LINKTYPE_ETHERNET,
                _ => return None,
            };
            ("vxlan-gpe", lt, d.get(8..)?)
        }
        6081 => {
            if d.first()? >> 6 != 0 {
                return None; // Geneve version 0 only
            }
            let opt_len = usize::from(d.first()? & 0x3f) * 4;
            let inner = d.get(8 + opt_len..)?;
            let lt = match be16(d, 2)? {
                0x6558 => link::LINKTYPE_ETHERNET,
                0x0800 | 0x86dd => link::LINKTYPE_RAW,
                _ => return None,
            };
            ("geneve", lt, inner)
        }
        _ => return None,
    };
    Some(UdpTunnel {
        service,
        link_type,
        inner,
    })
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]))
}

fn be32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *d.get(at)?,
        *d.get(at + 1)?,
        *d.get(at + 2)?,
        *d.get(at + 3)?,
    ]))
}

/// Parses the transport header (RFC 9293 3.1, RFC 768, RFC 792, RFC 4443).
fn transport(proto: IpNumber, d: &[u8]) -> Result<L4<'_>, Skip> {
    match proto {
        IpNumber::TCP => {
            let off = usize::from(d.get(12).ok_or(Skip::BadTransport)? >> 4) * 4;
            if off < 20 || d.len() < off {
                return Err(Skip::BadTransport);
            }
            let fl = d[13];
            Ok(L4::Tcp {
                sport: be16(d, 0).ok_or(Skip::BadTransport)?,
                dport: be16(d, 2).ok_or(Skip::BadTransport)?,
                seq: be32(d, 4).ok_or(Skip::BadTransport)?,
                ack: be32(d, 8).ok_or(Skip::BadTransport)?,
                flags: TcpFlags {
                    fin: fl & 0x01 != 0,
                    syn: fl & 0x02 != 0,
                    rst: fl & 0x04 != 0,
                    ack: fl & 0x10 != 0,
                },
                cut: 0,
                payload: &d[off..],
            })
        }
        IpNumber::UDP => {
            if d.len() < 8 {
                return Err(Skip::BadTransport);
            }
            // The UDP length field bounds the payload; trailing link padding is not payload.
            // A length below the header's own 8 bytes is malformed (RFC 768); one beyond the
            // captured bytes means a snap length cut the datagram.
            let len = usize::from(be16(d, 4).unwrap_or(0));
            if len < 8 {
                return Err(Skip::BadTransport);
            }
            let end = len.min(d.len());
            Ok(L4::Udp {
                sport: be16(d, 0).ok_or(Skip::BadTransport)?,
                dport: be16(d, 2).ok_or(Skip::BadTransport)?,
                payload: &d[8..end],
                cut: u32::try_from(len.saturating_sub(d.len())).unwrap_or(u32::MAX),
            })
        }
        IpNumber::ICMP => unreachable_quote(4, d, 3),
        IpNumber::IPV6_ICMP => unreachable_quote(6, d, 1),
        _ => Err(Skip::OtherIpProtocol),
    }
}

/// Reads a destination-unreachable message: type `unreach_type`, code, checksum, 4 unused bytes,
/// then as much of the offending IP packet as fits.
fn unreachable_quote(version: u8, d: &[u8], unreach_type: u8) -> Result<L4<'_>, Skip> {
    if d.first() != Some(&unreach_type) {
        return Err(Skip::OtherIcmp);
    }
    let code = *d.get(1).ok_or(Skip::BadTransport)?;
    let quoted = d.get(8..).ok_or(Skip::BadTransport)?;
    let (slice, _) = LaxIpSlice::from_slice(quoted).map_err(|_| Skip::BadTransport)?;
    let q = slice.payload();
    let transport = match q.ip_number {
        IpNumber::TCP => Transport::Tcp,
        IpNumber::UDP => Transport::Udp,
        _ => return Err(Skip::OtherIcmp),
    };
    Ok(L4::Unreachable(Unreachable {
        icmp_version: version,
        code,
        transport,
        src: slice.source_addr(),
        dst: slice.destination_addr(),
        sport: be16(q.payload, 0).ok_or(Skip::BadTransport)?,
        dport: be16(q.payload, 2).ok_or(Skip::BadTransport)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::testutil::hex;

    /// ldap_powerview_heavy_search_cldap_kerberos_epm.pcap frame 18, its first 128 of 2040 bytes:
    /// a TSO segment as its sender captured it (IPv4 total length 0, tshark "2026 bytes
    /// (reported as 0, presumed to be because of TCP segmentation offload)"), 1986 bytes of
    /// TCP payload starting with a DCE/RPC bind.
    const TSO_F18_HEAD: &str = "123456789abc000d3a542fab080045000000a28e400080060000ac122705ac122605db5bc20a77f1ea380a8a2b8e50180801a535000005000b0710000000c2071a0702000000d016d016000000000300000000000100354251e3064bd111ab0400c04fc2dcd204000000045d888aeb1cc9119fe808002b104860020000000100";

    /// A TSO segment's IPv4 length says nothing: the bytes the frame lacks (a snap length) are
    /// what the TCP payload lacks.
    #[test]
    fn tso_segment_cut_by_the_snap_length_takes_the_frames_missing_bytes() {
        let f = hex(TSO_F18_HEAD);
        assert_eq!(f.len(), 128);
        let mut d = defrag::Defrag::default();
        let missing = 2040 - 128;
        let p = decode_cut(link::LINKTYPE_ETHERNET, &f, 18, 0, missing, &mut d).unwrap();
        let L4::Tcp { payload, cut, .. } = p.l4 else {
            panic!("not TCP: {:?}", p.l4)
        };
        assert_eq!((payload.len(), cut), (128 - 54, missing));
        // Whole on the wire as far as the record says: nothing missing.
        let p = decode(link::LINKTYPE_ETHERNET, &f, 18, 0, &mut d).unwrap();
        assert!(matches!(p.l4, L4::Tcp { cut: 0, .. }));
    }

    /// SYNTHETIC_http_certsrv_cep_ces_mscep_urls.pcap frame 466: ICMP host unreachable from
    /// 10.3.8.1 quoting a UDP datagram 10.3.8.100:12345 -> 192.168.1.1:80.
    const ICMP_UNREACH: &str = "942a6fee8c836a70c5aff1f9080045000038000100004001565a0a0308010a0308640301d128000000004500001c000100004011a6c00a030864c0a80101303900500008fb44";
    /// Same capture, frame 622: Geneve (UDP 12345 -> 6081) carrying Ethernet/IPv4/UDP/DNS
    /// 10.111.111.10:59648 -> 10.111.111.20:53 (tshark: eth:ethertype:ip:udp:geneve:eth:...:dns).
    const GENEVE_DNS: &str = "02dead01000202dead01000108004500006b000100004011a8a60adede0a0adede14303917c1005700000000655812345600aabbcc111102aabbcc11110108004500003900010000401187b70a6f6f0a0a6f6f1414e9003500250000123401000001000000000000076578616d706c6503636f6d0000010001";
    /// Same capture, frame 818: UDP header with length 0 (tshark: "BAD UDP LENGTH 0 < 8").
    const UDP_LEN_0: &str = "02aa0000100202aa0000100108004500002c00010000401156ac0a0908010a0908029ca4270f000000007564706c656e6f6b7061796c6f616421";

    #[test]
    fn icmp_unreachable_names_the_quoted_connection() {
        let f = hex(ICMP_UNREACH);
        let mut d = defrag::Defrag::default();
        let p = decode(link::LINKTYPE_ETHERNET, &f, 466, 0, &mut d).unwrap();
        let L4::Unreachable(u) = p.l4 else {
            panic!("{:?}", p.l4)
        };
        assert_eq!(
            (u.icmp_version, u.code, u.transport),
            (4, 1, Transport::Udp)
        );
        assert_eq!(u.src.to_string(), "10.3.8.100");
        assert_eq!(u.dst.to_string(), "192.168.1.1");
        assert_eq!((u.sport, u.dport), (12345, 80));
        assert_eq!(u.describe(), "icmpv4 host unreachable (code 1)");
        for cut in 0..f.len() {
            let _ = decode(link::LINKTYPE_ETHERNET, &f[..cut], 466, 0, &mut d);
        }
    }

    #[test]
    fn geneve_inner_frame_is_found() {
        let f = hex(GENEVE_DNS);
        let mut d = defrag::Defrag::default();
        let outer = decode(link::LINKTYPE_ETHERNET, &f, 622, 0, &mut d).unwrap();
        let L4::Udp {
            sport,
            dport,
            payload,
            ..
        } = outer.l4
        else {
            panic!()
        };
        assert_eq!((sport, dport), (12345, 6081));
        let UdpTunnel {
            service,
            link_type: lt,
            inner,
        } = udp_tunnel(dport, payload).unwrap();
        assert_eq!(service, "geneve");
        let inner = inner.to_vec();
        let p = decode(lt, &inner, 622, 0, &mut d).unwrap();
        assert_eq!(p.src.to_string(), "10.111.111.10");
        assert_eq!(p.dst.to_string(), "10.111.111.20");
        let L4::Udp { dport, payload, .. } = p.l4 else {
            panic!()
        };
        assert_eq!(dport, 53);
        assert_eq!(payload.len(), 29);
    }

    #[test]
    fn udp_length_below_header_is_malformed() {
        let f = hex(UDP_LEN_0);
        let mut d = defrag::Defrag::default();
        assert_eq!(
            decode(link::LINKTYPE_ETHERNET, &f, 818, 0, &mut d),
            Err(Skip::BadTransport)
        );
    }

    /// The IPv4 fast path gives what etherparse's `LaxIpSlice` gives, on every IP packet of
    /// every capture and on mutated headers of each (random bytes in the first 24).
    #[test]
    fn plain_ipv4_matches_etherparse() {
        let Some(paths) = crate::proto::testutil::all_captures() else {
            return;
        };
        let mut rng = crate::proto::testutil::Rng(0x1b4_dead);
        let (mut fast, mut total) = (0, 0);
        let mut check = |ip: &[u8]| {
            total += 1;
            let Some((src, dst, proto, payload)) = plain_ipv4(ip) else {
                return;
            };
            fast += 1;
            let (slice, _) = LaxIpSlice::from_slice(ip).expect("etherparse rejects it");
            let p = slice.payload();
            assert!(!p.fragmented);
            assert_eq!(slice.source_addr(), IpAddr::V4(src));
            assert_eq!(slice.destination_addr(), IpAddr::V4(dst));
            assert_eq!(p.ip_number, proto);
            assert_eq!(p.payload, payload);
        };
        for path in paths {
            let input = crate::capture::Input::Path(path.clone());
            crate::capture::read(&input, &mut |f| {
                let Ok(ip) = network(f.link_type, f.data) else {
                    return;
                };
                check(ip);
                for _ in 0..4 {
                    let mut bent = ip.to_vec();
                    for _ in 0..1 + rng.below(3) {
                        if !bent.is_empty() {
                            let i = rng.below(bent.len().min(24));
                            bent[i] = rng.next() as u8;
                        }
                    }
                    check(&bent);
                }
            })
            .unwrap();
        }
        assert!(
            fast > 10_000 && fast < total,
            "{fast} of {total} on the fast path"
        );
    }
}
