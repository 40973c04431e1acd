//! LINKTYPE numbers -> the short names used as keys in [`super::CaptureInfo::link_types`].
//!
//! Values from the tcpdump.org LINKTYPE registry (<https://www.tcpdump.org/linktypes.html>,
//! draft-ietf-opsawg-pcaplinktype). Unknown values are kept as `linktype_N`, never dropped.

/// LINKTYPE_NULL: BSD loopback, 4-byte address family in host byte order.
pub const NULL: u32 = 0;
/// LINKTYPE_ETHERNET: IEEE 802.3 Ethernet.
pub const ETHERNET: u32 = 1;
/// LINKTYPE_RAW: raw IPv4 or IPv6, version from the first nibble.
pub const RAW: u32 = 101;
/// LINKTYPE_LOOP: OpenBSD loopback, 4-byte address family in network byte order.
pub const LOOP: u32 = 108;
/// LINKTYPE_LINUX_SLL: Linux "cooked" capture, version 1.
pub const LINUX_SLL: u32 = 113;
/// LINKTYPE_IPV4: raw IPv4.
pub const IPV4: u32 = 228;
/// LINKTYPE_IPV6: raw IPv6.
pub const IPV6: u32 = 229;
/// LINKTYPE_LINUX_SLL2: Linux "cooked" capture, version 2.
pub const LINUX_SLL2: u32 = 276;

/// The short name of a LINKTYPE value: "ethernet", "raw", "linux_sll", ..., else "linktype_N".
pub fn name(link_type: u32) -> String {
    let known = match link_type {
        NULL => "null",
        ETHERNET => "ethernet",
        RAW => "raw",
        LOOP => "loop",
        LINUX_SLL => "linux_sll",
        IPV4 => "ipv4",
        IPV6 => "ipv6",
        LINUX_SLL2 => "linux_sll2",
        other => return format!("linktype_{other}"),
    };
    known.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_names() {
        assert_eq!(name(1), "ethernet");
        assert_eq!(name(113), "linux_sll");
        assert_eq!(name(276), "linux_sll2");
        assert_eq!(name(0), "null");
        assert_eq!(name(108), "loop");
        assert_eq!(name(101), "raw");
        assert_eq!(name(228), "ipv4");
        assert_eq!(name(229), "ipv6");
        assert_eq!(name(147), "linktype_147");
    }
}
