//! Kerberos (RFC 4120) and kpasswd (RFC 3244).
//!
//! - [`parse`]: one message, pure (kerberos-parser for the ASN.1), TCP record marks, kpasswd
//!   framing;
//! - `strict`: the fast path of [`parse::parse_message`], a strict DER reader that accepts a
//!   subset of what kerberos-parser accepts and leaves the rest to it;
//! - [`state`]: the per-connection analyzers ([`KrbAnalyzer`], [`KpasswdAnalyzer`]);
//! - [`gss`]: the ticket of an AP-REQ inside a GSS-API token, for the protocols that carry one;
//! - [`evidence`]: what they prove ([`KrbEvidence`], [`KpasswdEvidence`]).
//!
//! Kerberos runs on UDP and TCP 88 (TCP messages carry a 4-byte big-endian length, RFC 4120
//! 7.2.2) and is recognised by content on any port; kpasswd runs on 464 with its own 6-byte
//! header (plus the same record mark on TCP).

pub mod evidence;
pub mod gss;
pub mod parse;
pub mod state;
mod strict;

pub use evidence::{krb_of, record_carried, Code, KpasswdEvidence, KrbEvidence};
pub use state::{KpasswdAnalyzer, KrbAnalyzer};

use crate::proto::{Analyzer, Dissector, Transport};

/// True if `data` (first payload bytes of a connection, either direction) starts a Kerberos
/// message: on UDP the whole datagram is one message whose BER length matches; on TCP a record
/// mark whose length matches the message's BER length. Both check the APPLICATION tag of a
/// Kerberos message type, the SEQUENCE and the pvno 5 (see [`parse::looks_like_message`]).
pub fn probe(transport: Transport, data: &[u8]) -> bool {
    match transport {
        Transport::Udp => parse::looks_like_message(data, Some(data.len())),
        Transport::Tcp => match parse::record(data) {
            parse::Record::Invalid => false,
            _ => {
                let Some(mark) = data.get(..4) else {
                    return false;
                };
                let len = u32::from_be_bytes([mark[0], mark[1], mark[2], mark[3]]) as usize;
                data.get(4..)
                    .is_some_and(|body| parse::looks_like_message(body, Some(len)))
            }
        },
    }
}

/// True if `data` starts a kpasswd message (RFC 3244 2): header length equal to the datagram
/// (UDP) or to the record mark (TCP), version 0x0001 or 0xff80, then an AP-REQ / AP-REP, or a
/// KRB-ERROR after a zero AP length.
pub fn probe_kpasswd(transport: Transport, data: &[u8]) -> bool {
    match transport {
        Transport::Udp => parse::looks_like_kpasswd(data, data.len()),
        Transport::Tcp => match parse::record(data) {
            parse::Record::Invalid => false,
            _ => {
                let Some(mark) = data.get(..4) else {
                    return false;
                };
                let len = u32::from_be_bytes([mark[0], mark[1], mark[2], mark[3]]) as usize;
                data.get(4..)
                    .is_some_and(|body| parse::looks_like_kpasswd(body, len))
            }
        },
    }
}

fn new_krb(transport: Transport, port: u16) -> Box<dyn Analyzer> {
    Box::new(KrbAnalyzer::new(transport, port))
}

fn new_kpasswd(transport: Transport, port: u16) -> Box<dyn Analyzer> {
    Box::new(KpasswdAnalyzer::new(transport, port))
}

/// The Kerberos (RFC 4120) dissector.
pub const DISSECTOR: Dissector = Dissector {
    name: "kerberos",
    probe,
    new: new_krb,
};

/// The kpasswd (RFC 3244) dissector.
pub const KPASSWD_DISSECTOR: Dissector = Dissector {
    name: "kpasswd",
    probe: probe_kpasswd,
    new: new_kpasswd,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::testutil::hex;

    /// kerberos_tcp_vlan_optional_sname.pcap frame 3, first 24 bytes of tcp.payload.
    const TCP_AS_REQ_HEAD: &str = "0000006a6a683066a103020105a20302010aa45a3058a007";
    /// kerberos_udp_vlan_krb_error.pcap frame 2, udp.payload (KRB-ERROR, 102 bytes).
    const UDP_KRB_ERROR: &str = crate::proto::testutil::KRB_UDP_ERROR_52;

    #[test]
    fn probes() {
        let tcp = hex(TCP_AS_REQ_HEAD);
        assert!(probe(Transport::Tcp, &tcp));
        assert!(!probe(Transport::Udp, &tcp));
        assert!(!probe_kpasswd(Transport::Tcp, &tcp));
        let udp = hex(UDP_KRB_ERROR);
        assert!(probe(Transport::Udp, &udp));
        assert!(!probe(Transport::Udp, &udp[..udp.len() - 1]));
        assert!(!probe(Transport::Tcp, &udp));
        assert!(!probe_kpasswd(Transport::Udp, &udp));
        // kpasswd over TCP: record mark + header + KRB-ERROR (built from the frame above).
        let mut kp = vec![0, 0, 0, 108, 0, 108, 0, 1, 0, 0];
        kp.extend_from_slice(&udp);
        assert!(probe_kpasswd(Transport::Tcp, &kp));
        assert!(!probe(Transport::Tcp, &kp));
        // Other protocols' first bytes: LDAP bindRequest (ldap_rootdse_bind_modify_vlan_ipv6
        // frame 4 head), TLS ClientHello, DCE/RPC bind, SMB2 over NetBIOS, DNS query.
        for other in [
            "3084000007b3020102608400",
            "160301020001",
            "05000b03100000007800",
            "000000a4fe534d4240",
            "abcd01000001000000000000",
        ] {
            let b = hex(other);
            for t in [Transport::Tcp, Transport::Udp] {
                assert!(!probe(t, &b), "{other}");
                assert!(!probe_kpasswd(t, &b), "{other}");
            }
        }
        for n in 0..tcp.len() {
            let _ = probe(Transport::Tcp, &tcp[..n]);
            let _ = probe_kpasswd(Transport::Udp, &tcp[..n]);
        }
    }

    #[test]
    fn dissector_table_names() {
        assert_eq!(DISSECTOR.name, "kerberos");
        assert_eq!(KPASSWD_DISSECTOR.name, "kpasswd");
        let a = (KPASSWD_DISSECTOR.new)(Transport::Udp, 464);
        assert_eq!(a.service(), None);
    }
}
