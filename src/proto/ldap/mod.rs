//! LDAP (RFC 4511) over TCP and CLDAP (LDAP over UDP, the Active Directory DC locator,
//! MS-ADTS 6.3.3).
//!
//! - [`parse`]: one LDAPMessage, pure (ldap-parser for the ASN.1, behind a fast path for the
//!   frequent messages), its framing, filters as RFC 4515 strings;
//! - [`sasl`]: SASL security layer buffers and the GSS-API wrap tokens inside them;
//! - [`state`]: the per-connection analyzer ([`LdapAnalyzer`]), StartTLS hand-over to TLS;
//! - [`evidence`]: what it proves ([`LdapEvidence`]).

pub(crate) mod ber;
pub mod evidence;
pub mod parse;
pub mod sasl;
pub mod state;

pub use evidence::{LdapEvidence, LdapResultFact};
pub use state::LdapAnalyzer;

use crate::proto::{Analyzer, Dissector, Transport};

/// True if `data` (first payload bytes of a connection, either direction) starts an
/// LDAPMessage: SEQUENCE, messageID INTEGER, a known protocolOp tag that fits in the message
/// ([`parse::looks_like_message`]). On UDP the datagram must be exactly one message.
///
/// A connection picked up in the middle of SASL buffers is not claimed here (4-byte lengths and
/// GSS tokens are not specific to LDAP); the port fallback gives it to [`LdapAnalyzer`], which
/// recognises the buffers.
pub fn probe(transport: Transport, data: &[u8]) -> bool {
    if !parse::looks_like_message(data) {
        return false;
    }
    match transport {
        Transport::Tcp => true,
        Transport::Udp => parse::message_frame(data) == parse::Frame::Complete(data.len()),
    }
}

fn new_ldap(transport: Transport, port: u16) -> Box<dyn Analyzer> {
    Box::new(LdapAnalyzer::new(transport, port))
}

/// The LDAP and CLDAP (RFC 4511) dissector.
pub const DISSECTOR: Dissector = Dissector {
    name: "ldap",
    probe,
    new: new_ldap,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::testutil::hex;

    #[test]
    fn probes() {
        // ldap_rootdse_bind_modify_vlan_ipv6.pcapng frame 4: first 24 bytes (searchRequest).
        let head = hex("30840000015802010563840000014f04000a01000a010002");
        assert!(probe(Transport::Tcp, &head));
        // On UDP the datagram must be exactly one message.
        assert!(!probe(Transport::Udp, &head));
        // Kerberos over TCP (kerberos_tcp_vlan_optional_sname.pcap f3 head), TLS ClientHello,
        // DCE/RPC bind, SMB2, a sealed SASL buffer (ldap_gss_privacy... f16 head), a DER
        // certificate (30 82 .. 30 82).
        for other in [
            "0000006a6a683066a103020105a2",
            "16030100c8010000c40303",
            "05000b03100000007800",
            "000000a4fe534d4240",
            "00000047050406ff0000001c00000000",
            "308203a130820289a003020102",
        ] {
            let b = hex(other);
            assert!(!probe(Transport::Tcp, &b), "{other}");
            assert!(!probe(Transport::Udp, &b), "{other}");
        }
        for n in 0..head.len() {
            let _ = probe(Transport::Tcp, &head[..n]);
        }
        assert!(crate::proto::krb::probe(
            Transport::Tcp,
            &hex("0000006a6a683066a103020105a20302010aa45a3058a007")
        ));
    }

    #[test]
    fn dissector_services() {
        let mut a = (DISSECTOR.new)(Transport::Tcp, 3268);
        let ev = crate::proto::testutil::run_parts(
            a.as_mut(),
            Transport::Tcp,
            3268,
            &[(
                4,
                crate::proto::Dir::ToServer,
                hex(crate::proto::testutil::LDAP_ROOTDSE_SEARCH),
            )],
        );
        assert_eq!(a.service(), Some("gc"));
        assert_eq!(ev.ldap.unwrap().messages, 1);
        let b = (DISSECTOR.new)(Transport::Udp, 389);
        assert_eq!(b.service(), None);
    }
}
