//! What DNS content proved about a flow (RFC 1035).

use std::borrow::Cow;
use std::net::IpAddr;

use serde::Serialize;

use crate::evidence::{Counts, Facts, FrameRef, Merge};

/// A question asked.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Query {
    /// QNAME as sent (case kept).
    pub name: String,
    /// QTYPE mnemonic ("A", "SRV", "TYPE65" ...); a mnemonic of the table is not allocated.
    #[serde(rename = "type")]
    pub qtype: Cow<'static, str>,
}

/// An answer record of a type certflow reads (A, AAAA, CNAME, PTR, SRV), from the answer or
/// additional section.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Answer {
    /// Owner name.
    pub name: String,
    /// Record type mnemonic.
    #[serde(rename = "type")]
    pub rtype: Cow<'static, str>,
    /// The data: an address, a target name, or "priority weight port target" for SRV.
    pub data: String,
}

/// An SRV answer (RFC 2782): which host serves a service, on which port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SrvTarget {
    /// Owner name, e.g. `_ldap._tcp.dc._msdcs.example.com`.
    pub name: String,
    /// Target host.
    pub target: String,
    /// Port.
    pub port: u16,
}

/// An address and a name that answers proved for it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct AddressName {
    /// The address.
    pub address: IpAddr,
    /// A name for it (A/AAAA owner, a name whose CNAME chain leads there, or a PTR target).
    pub name: String,
}

/// What DNS messages of a flow showed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DnsEvidence {
    /// Questions asked (from queries and responses).
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub queries: Facts<Query>,
    /// A, AAAA, CNAME, PTR and SRV records answered.
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub answers: Facts<Answer>,
    /// SRV targets and ports.
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub srv: Facts<SrvTarget>,
    /// Address -> name mapping learned from answers.
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub names: Facts<AddressName>,
    /// Service principals of the Kerberos tickets presented in GSS-TSIG TKEY queries (RFC
    /// 3645; the AP-REQ in the key data's GSS-API token, [`crate::proto::krb::gss`]), e.g.
    /// "DNS/dc1.example.com".
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub ticket_spns: Facts<String>,
    /// Responses by response code ("NOERROR", "NXDOMAIN" ...).
    #[serde(skip_serializing_if = "Counts::is_empty")]
    pub rcodes: Counts,
    /// Messages by kind: "query" and "response", "update" and "update_response" (RFC 2136),
    /// "notify" and "notify_response" (RFC 1996), and "truncated" for TC=1.
    #[serde(skip_serializing_if = "Counts::is_empty")]
    pub messages: Counts,
    /// Messages that could not be decoded.
    #[serde(skip_serializing_if = "crate::evidence::is_zero")]
    pub malformed: u64,
    /// Questions and records of messages holding more than `parse::MAX_RECORDS` (a zone
    /// transfer): the rest are counted here, not read (written when not 0).
    #[serde(skip_serializing_if = "crate::evidence::is_zero")]
    pub records_dropped: u64,
}

impl DnsEvidence {
    /// Every (address, name, first frame) the answers proved, ordered by first frame, for naming
    /// hosts.
    pub fn address_names(&self) -> impl Iterator<Item = (IpAddr, &str, FrameRef)> {
        self.names
            .iter()
            .map(|f| (f.value.address, f.value.name.as_str(), f.first))
    }
}

impl Merge for DnsEvidence {
    fn merge(&mut self, o: Self) {
        self.queries.merge(o.queries);
        self.answers.merge(o.answers);
        self.srv.merge(o.srv);
        self.names.merge(o.names);
        self.ticket_spns.merge(o.ticket_spns);
        self.rcodes.merge(o.rcodes);
        self.messages.merge(o.messages);
        self.malformed += o.malformed;
        self.records_dropped += o.records_dropped;
    }
}
