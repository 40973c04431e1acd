//! Link layers -> the network-layer payload.
//!
//! Sources: tcpdump.org LINKTYPE registry; IEEE 802.1Q (VLAN tags, TPID 0x8100, 802.1ad 0x88a8);
//! Linux cooked capture v1 (16-byte header, protocol at bytes 14-15) and v2 (20-byte header,
//! protocol at bytes 0-1); BSD null/loopback (4-byte address family, host order for NULL, network
//! order for LOOP).

// The LINKTYPE values live in one table, capture::linktype; re-exported under the names the
// decoder reads best.
pub use crate::capture::linktype::{
    ETHERNET as LINKTYPE_ETHERNET, IPV4 as LINKTYPE_IPV4, IPV6 as LINKTYPE_IPV6,
    LINUX_SLL as LINKTYPE_LINUX_SLL, LINUX_SLL2 as LINKTYPE_LINUX_SLL2, LOOP as LINKTYPE_LOOP,
    NULL as LINKTYPE_NULL, RAW as LINKTYPE_RAW,
};

/// Most VLAN tags peeled off one frame (802.1ad QinQ uses two; more is malformed or hostile).
const MAX_VLAN_TAGS: usize = 4;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;

/// What the link layer carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPayload<'a> {
    /// An IPv4 or IPv6 packet (version told by its first nibble).
    Ip(&'a [u8]),
    /// Something else: its ethertype (ARP, LLDP ...) or address family.
    NotIp(u16),
}

/// Why a frame's link layer could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// certflow does not read this link type.
    Unsupported(u32),
    /// The frame is shorter than its link header.
    Truncated,
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]))
}

/// Strips the link header of a frame of type `link_type`, and any VLAN tags.
pub fn strip(link_type: u32, data: &[u8]) -> Result<LinkPayload<'_>, LinkError> {
    match link_type {
        LINKTYPE_ETHERNET => {
            let ty = be16(data, 12).ok_or(LinkError::Truncated)?;
            ethertype_payload(ty, &data[14..])
        }
        LINKTYPE_LINUX_SLL => {
            let ty = be16(data, 14).ok_or(LinkError::Truncated)?;
            ethertype_payload(ty, data.get(16..).ok_or(LinkError::Truncated)?)
        }
        LINKTYPE_LINUX_SLL2 => {
            let ty = be16(data, 0).ok_or(LinkError::Truncated)?;
            ethertype_payload(ty, data.get(20..).ok_or(LinkError::Truncated)?)
        }
        LINKTYPE_NULL | LINKTYPE_LOOP => {
            let b = data.get(..4).ok_or(LinkError::Truncated)?;
            let fam = if link_type == LINKTYPE_LOOP {
                u32::from_be_bytes([b[0], b[1], b[2], b[3]])
            } else {
                // Host byte order of the capturing machine: accept either.
                let le = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                if le < 0x100 {
                    le
                } else {
                    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
                }
            };
            // AF_INET is 2 everywhere; AF_INET6 is 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS).
            match fam {
                2 | 24 | 28 | 30 => Ok(LinkPayload::Ip(&data[4..])),
                other => Ok(LinkPayload::NotIp(other as u16)),
            }
        }
        LINKTYPE_RAW | 12 | 14 | LINKTYPE_IPV4 | LINKTYPE_IPV6 => Ok(LinkPayload::Ip(data)),
        other => Err(LinkError::Unsupported(other)),
    }
}

/// Follows VLAN tags from an ethertype to the network payload.
fn ethertype_payload(mut ty: u16, mut rest: &[u8]) -> Result<LinkPayload<'_>, LinkError> {
    for _ in 0..=MAX_VLAN_TAGS {
        match ty {
            ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => return Ok(LinkPayload::Ip(rest)),
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD => {
                // Tag control information (2 bytes), then the inner ethertype.
                ty = be16(rest, 2).ok_or(LinkError::Truncated)?;
                rest = &rest[4..];
            }
            other => return Ok(LinkPayload::NotIp(other)),
        }
    }
    Ok(LinkPayload::NotIp(ty))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ethernet_with_vlan_tag() {
        // kerberos_udp_vlan_krb_error.pcap frame 1, first 20 bytes: dst, src, 8100, TCI 0x07d8,
        // 0800, then the IPv4 header's first two bytes.
        let f = [
            0u8, 0, 0, 0, 0, 0, 0, 0x0c, 0, 0, 0, 0x08, 0x81, 0, 0x07, 0xd8, 0x08, 0, 0x45, 0,
        ];
        assert_eq!(
            strip(LINKTYPE_ETHERNET, &f),
            Ok(LinkPayload::Ip(&[0x45, 0][..]))
        );
        assert_eq!(
            strip(LINKTYPE_ETHERNET, &f[..15]),
            Err(LinkError::Truncated)
        );
        assert_eq!(
            strip(LINKTYPE_ETHERNET, &f[..13]),
            Err(LinkError::Truncated)
        );
    }

    #[test]
    fn linux_cooked_v1() {
        // ldap_search_linux_cooked_sll.pcapng frame 1, first 18 bytes.
        let f = [
            0u8, 4, 0, 1, 0, 6, 0, 0x0c, 0x29, 0xc3, 0xa8, 0x79, 0, 0, 0x08, 0, 0x45, 0,
        ];
        assert_eq!(
            strip(LINKTYPE_LINUX_SLL, &f),
            Ok(LinkPayload::Ip(&[0x45, 0][..]))
        );
        assert_eq!(
            strip(LINKTYPE_LINUX_SLL, &f[..15]),
            Err(LinkError::Truncated)
        );
    }

    #[test]
    fn unsupported_and_null() {
        assert_eq!(strip(147, &[0; 40]), Err(LinkError::Unsupported(147)));
        assert_eq!(
            strip(LINKTYPE_NULL, &[2, 0, 0, 0, 0x45]),
            Ok(LinkPayload::Ip(&[0x45][..]))
        );
        assert_eq!(
            strip(LINKTYPE_LOOP, &[0, 0, 0, 24, 0x60]),
            Ok(LinkPayload::Ip(&[0x60][..]))
        );
        assert_eq!(strip(LINKTYPE_NULL, &[2, 0]), Err(LinkError::Truncated));
    }
}
