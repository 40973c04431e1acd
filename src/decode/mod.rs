//! Frames -> decoded packets: link layer, IPv4/IPv6, TCP/UDP (STUB, issue 2).
