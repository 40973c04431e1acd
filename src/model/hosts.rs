//! Host names: every address of the flow set, with the names the capture gives it and where
//! each name came from.
//!
//! Sources, strongest first: DNS answers (A/AAAA, CNAME chains, PTR), pcapng name resolution
//! blocks, the server certificate of a TLS handshake (subject CN and dNSName SANs), the TLS server
//! name a client asked for (SNI), a Kerberos machine-account client principal (`NAME$@REALM`
//! names the client host, MS-KILE 3.1.5.1... the `$` suffix marks computer accounts), the host
//! part of the service principal of a Kerberos ticket presented to the server (RFC 4120 6.2.1
//! `service/host`), the server's own DNS name in an NTLM CHALLENGE (MS-NLMP 2.2.2.1
//! MsvAvDnsComputerName), the server named in an SMB tree path, the HTTP Host header, the host
//! part of a DCOM string binding, and the workstation name of an NTLM AUTHENTICATE.
//! All of these are untrusted strings from the wire: renderers escape them.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use ahash::RandomState;
use serde::Serialize;

use crate::analysis::Analysis;
use crate::evidence::FrameRef;
use crate::flow::Flow;

/// Where a name came from, strongest first (the order of the variants is the order of trust).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NameSource {
    /// A DNS answer in the capture.
    Dns,
    /// A pcapng name resolution block.
    PcapngNrb,
    /// The server's TLS certificate.
    TlsCertificate,
    /// The server name a TLS client asked for.
    TlsSni,
    /// A Kerberos machine-account client principal.
    Kerberos,
    /// The host part of the service principal of a Kerberos ticket a client presented to this
    /// server (`cifs/dc1.example.com`, inside SMB, LDAP, DCE/RPC, HTTP or DNS TKEY).
    KerberosTicket,
    /// The DNS computer name a server gave in its NTLM CHALLENGE.
    NtlmChallenge,
    /// The server part of an SMB tree path.
    SmbTree,
    /// An HTTP Host header.
    HttpHost,
    /// The host part of a DCOM string binding.
    DcomBinding,
    /// The workstation (NetBIOS) name a client gave in its NTLM AUTHENTICATE.
    NtlmWorkstation,
    /// A NetBIOS session request (TCP 139): the server name the client called (a server
    /// service name, suffix 0x20) and the client's own (a workstation name, suffix 0x00).
    NetbiosSession,
}

/// One name of a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostName {
    /// The name as the capture gives it (lower-cased for DNS-like names).
    pub name: String,
    /// Where it came from.
    pub source: NameSource,
    /// The first frame that gave it (absent for pcapng name resolution blocks, which are not
    /// frames).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame: Option<u64>,
    /// The capture holding that frame, when the set has several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture: Option<u16>,
}

/// An address of the flow set and its names.
#[derive(Debug, Clone, Serialize)]
pub struct Host {
    /// The address.
    pub address: IpAddr,
    /// Its names, strongest source first, then by name.
    pub names: Vec<HostName>,
    /// Names given for it once it had [`MAX_NAMES_PER_HOST`], not kept, each time one was
    /// given (written when not 0).
    #[serde(skip_serializing_if = "crate::evidence::is_zero")]
    pub names_dropped: u64,
}

impl Host {
    /// The name to show beside the address: the first of the strongest source.
    pub fn best_name(&self) -> Option<&str> {
        self.names.first().map(|n| n.name.as_str())
    }
}

/// Most names kept per address; a hostile capture cannot grow this without bound.
pub const MAX_NAMES_PER_HOST: usize = 32;

/// The names of every address (hashed: looked up once per name the evidence gives, and the
/// addresses are listed in order from the flows, not from here).
struct Collector {
    names: HashMap<IpAddr, Names, RandomState>,
}

impl Default for Collector {
    fn default() -> Self {
        Collector {
            names: HashMap::with_hasher(RandomState::with_seeds(1, 2, 3, 4)),
        }
    }
}

/// The names of one address, by source, then name (the order they are listed in before the
/// final sort), with the first frame of each.
#[derive(Default)]
struct Names {
    by_source: BTreeMap<NameSource, BTreeMap<String, Option<FrameRef>>>,
    len: usize,
    /// Names given for it (a (source, name) pair not kept, each time it was given) after it
    /// had its fill.
    dropped: u64,
}

impl Collector {
    fn add(&mut self, addr: IpAddr, name: &str, source: NameSource, at: Option<FrameRef>) {
        let name = name.trim().trim_end_matches('.');
        if name.is_empty() || may_be_address(name) && name.parse::<IpAddr>().is_ok() {
            return;
        }
        let keep_case = matches!(
            source,
            NameSource::DcomBinding
                | NameSource::Kerberos
                | NameSource::NtlmWorkstation
                | NameSource::NetbiosSession
        );
        let lower;
        let name = if keep_case || !name.bytes().any(|b| b.is_ascii_uppercase()) {
            name
        } else {
            lower = name.to_ascii_lowercase();
            lower.as_str()
        };
        let m = self.names.entry(addr).or_default();
        let of_source = m.by_source.entry(source).or_default();
        if let Some(e) = of_source.get_mut(name) {
            if at.is_some() && (e.is_none() || at < *e) {
                *e = at;
            }
        } else if m.len < MAX_NAMES_PER_HOST {
            of_source.insert(name.to_string(), at);
            m.len += 1;
        } else {
            m.dropped += 1;
        }
    }
}

/// False when `name` cannot be an IP address: it holds a character that is not a hex digit, `.`
/// or `:` (what `IpAddr`'s parser accepts). Nearly every host name has one, and this test is
/// much cheaper than the parser.
fn may_be_address(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_hexdigit() || b == b'.' || b == b':')
}

/// The host of a host-based service principal `service/host[:port][/name]` (RFC 4120 6.2.1;
/// the port and the trailing name are the `ServiceClass/Host:Port/ServiceName` form of
/// Windows SPNs): a DNS or NetBIOS name. `None` for a principal of one component (a user), for
/// the KDC's own services, and when the second component is no host name: the directory
/// replication SPN `E3514235-4B06-11D1-AB04-00C04FC2DCD2/<DSA GUID>/<domain>` names a DSA by
/// its GUID (`efsrpc_petitpotam_unpatched_dc_ldap_tls_smb.pcapng` frame 756).
fn spn_host(spn: &str) -> Option<&str> {
    let mut parts = spn.split('/');
    let service = parts.next()?;
    let host = parts.next()?;
    if service.eq_ignore_ascii_case("krbtgt") || service.eq_ignore_ascii_case("kadmin") {
        return None;
    }
    let host = match host.rsplit_once(':') {
        Some((h, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    let label_chars = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'.';
    let is_guid = host.len() == 36
        && host.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        });
    (!host.is_empty() && host.len() <= 253 && host.bytes().all(label_chars) && !is_guid)
        .then_some(host)
}

/// The server host part of `\\host\share`.
fn tree_host(tree: &str) -> Option<&str> {
    tree.strip_prefix("\\\\")?.split('\\').next()
}

/// The host part of an HTTP Host header (`name:port`, `[v6]:port`).
fn http_host(h: &str) -> &str {
    if h.starts_with('[') {
        return h;
    }
    h.rsplit_once(':')
        .map(|(a, p)| {
            if p.bytes().all(|b| b.is_ascii_digit()) {
                a
            } else {
                h
            }
        })
        .unwrap_or(h)
}

/// Every address of the flow set with its names, sorted by address.
pub fn hosts(a: &Analysis) -> Vec<Host> {
    let mut c = Collector::default();
    for cap in &a.captures {
        for (addr, name) in &cap.info.names {
            c.add(*addr, name, NameSource::PcapngNrb, None);
        }
    }
    for f in &a.flows {
        let e = &f.evidence;
        if let Some(d) = &e.dns {
            for n in d.names.iter() {
                c.add(
                    n.value.address,
                    &n.value.name,
                    NameSource::Dns,
                    Some(n.first),
                );
            }
        }
        if let Some(t) = &e.tls {
            for n in t.cert_san.iter() {
                // Only dNSName entries ("dns:name"); IP and URI entries name no host.
                let Some((kind, v)) = n.value.split_once(':') else {
                    continue;
                };
                if kind.eq_ignore_ascii_case("dns") && !v.contains('*') {
                    c.add(f.key.server, v, NameSource::TlsCertificate, Some(n.first));
                }
            }
            for n in t.cert_subject.iter() {
                if let Some(cn) = n
                    .value
                    .split(',')
                    .find_map(|p| p.trim().strip_prefix("CN="))
                {
                    if cn.contains('.') && !cn.contains('*') && !cn.contains(' ') {
                        c.add(f.key.server, cn, NameSource::TlsCertificate, Some(n.first));
                    }
                }
            }
            for n in t.sni.iter() {
                c.add(f.key.server, n.value, NameSource::TlsSni, Some(n.first));
            }
        }
        if let Some(k) = &e.kerberos {
            for p in k.client_principals.iter() {
                let user = p.value.split('@').next().unwrap_or("");
                if let Some(host) = user.strip_suffix('$') {
                    if !host.is_empty() && !host.contains('/') {
                        c.add(f.key.client, host, NameSource::Kerberos, Some(p.first));
                    }
                }
            }
        }
        let presented = [
            e.smb.as_ref().map(|s| &s.ticket_spns),
            e.dcerpc.as_ref().map(|d| &d.ticket_spns),
            e.http.as_ref().map(|h| &h.ticket_spns),
            e.dns.as_ref().map(|d| &d.ticket_spns),
            e.ldap.as_ref().map(|l| &l.bind_krb_spns),
        ];
        for p in presented.into_iter().flatten().flat_map(|f| f.iter()) {
            if let Some(h) = spn_host(p.value) {
                c.add(f.key.server, h, NameSource::KerberosTicket, Some(p.first));
            }
        }
        if let Some(n) = &e.ntlm {
            for d in n.server_dns_names.iter() {
                c.add(
                    f.key.server,
                    d.value,
                    NameSource::NtlmChallenge,
                    Some(d.first),
                );
            }
            for w in n.workstations.iter() {
                c.add(
                    f.key.client,
                    w.value,
                    NameSource::NtlmWorkstation,
                    Some(w.first),
                );
            }
        }
        if let Some(s) = &e.smb {
            for t in s.trees.iter() {
                if let Some(h) = tree_host(t.value) {
                    c.add(f.key.server, h, NameSource::SmbTree, Some(t.first));
                }
            }
            // `*SMBSERVER<20>` is the name a client calls a server it knows no name for.
            for n in s.called_names.iter() {
                if let Some(h) = n.value.strip_suffix("<20>").filter(|h| *h != "*SMBSERVER") {
                    c.add(f.key.server, h, NameSource::NetbiosSession, Some(n.first));
                }
            }
            for n in s.calling_names.iter() {
                if let Some(h) = n.value.strip_suffix("<00>") {
                    c.add(f.key.client, h, NameSource::NetbiosSession, Some(n.first));
                }
            }
        }
        if let Some(h) = &e.http {
            for r in h.requests.iter() {
                c.add(
                    f.key.server,
                    http_host(&r.value.host),
                    NameSource::HttpHost,
                    Some(r.first),
                );
            }
        }
        if let Some(d) = &e.dcerpc {
            for m in &d.endpoint_maps {
                if let Some(b) = &m.binding_host {
                    c.add(f.key.server, b, NameSource::DcomBinding, Some(m.frame));
                }
            }
        }
    }
    let several = a.captures.len() > 1;
    let addresses = addresses(&a.flows);
    let mut out: Vec<Host> = Vec::with_capacity(addresses.len());
    for addr in addresses {
        let entry = c.names.get(&addr);
        let names: Vec<HostName> = entry
            .map(|m| {
                m.by_source
                    .iter()
                    .flat_map(|(source, names)| names.iter().map(move |n| (*source, n)))
                    .map(|(source, (name, at))| HostName {
                        name: name.clone(),
                        source,
                        frame: at.map(|f| f.frame),
                        capture: at.filter(|_| several).map(|f| f.capture),
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push(Host {
            address: addr,
            names,
            names_dropped: entry.map_or(0, |m| m.dropped),
        });
    }
    // Strongest source first; among DNS names, the ones a client asked for before the CNAME
    // targets they led to. Only hosts with two names or more (few) are sorted, so only their
    // names are looked for among the queries. (The key is computed once per name, not per
    // comparison.)
    let several_names = |h: &&mut Host| h.names.len() > 1;
    let mut candidates = HashSet::with_hasher(RandomState::with_seeds(1, 2, 3, 4));
    candidates.extend(
        out.iter_mut()
            .filter(several_names)
            .flat_map(|h| h.names.iter().map(|n| n.name.as_str())),
    );
    if candidates.is_empty() {
        return out;
    }
    let queried = queried_names(&a.flows, &candidates);
    for h in out.iter_mut().filter(several_names) {
        h.names.sort_by_cached_key(|n| {
            (
                n.source,
                !queried.contains(n.name.as_str()),
                // Several captures: their frames are numbered per file, the capture first.
                n.capture,
                n.frame,
                n.name.clone(),
            )
        });
    }
    out
}

/// Every client and server address of `flows`, sorted (as `IpAddr` sorts: IPv4 first), once
/// each. Sorted as integers, cheaper to compare than `IpAddr`s: an address's integer order is
/// its octets' order.
fn addresses(flows: &[Flow]) -> Vec<IpAddr> {
    let mut v4: Vec<u32> = Vec::with_capacity(flows.len() * 2);
    let mut v6: Vec<u128> = Vec::new();
    let mut last = None;
    for f in flows {
        // The flows are sorted by server: most repeat the one before, and are not listed twice.
        let server = (last != Some(f.key.server)).then_some(f.key.server);
        last = Some(f.key.server);
        for addr in std::iter::once(f.key.client).chain(server) {
            match addr {
                IpAddr::V4(a) => v4.push(u32::from(a)),
                IpAddr::V6(a) => v6.push(u128::from(a)),
            }
        }
    }
    v4.sort_unstable();
    v4.dedup();
    v6.sort_unstable();
    v6.dedup();
    let v4 = v4.into_iter().map(|a| IpAddr::from(a.to_be_bytes()));
    let v6 = v6.into_iter().map(|a| IpAddr::from(a.to_be_bytes()));
    v4.chain(v6).collect()
}

/// The names among `candidates` that DNS clients asked for (a query is compared lower-case,
/// without its final dot).
///
/// A query whose length no candidate has is passed over without hashing it: a bit per length
/// (lengths from 63 up share the last bit).
fn queried_names(
    flows: &[Flow],
    candidates: &HashSet<&str, RandomState>,
) -> HashSet<String, RandomState> {
    let bit = |len: usize| 1u64 << len.min(63);
    let lengths = candidates.iter().fold(0, |m, c| m | bit(c.len()));
    let mut queried = HashSet::with_hasher(RandomState::with_seeds(5, 6, 7, 8));
    for d in flows.iter().filter_map(|f| f.evidence.dns.as_deref()) {
        for q in d.queries.values() {
            let name = q.name.trim_end_matches('.');
            if lengths & bit(name.len()) == 0 {
                continue;
            }
            let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Owned(name.to_ascii_lowercase())
            } else {
                Cow::Borrowed(name)
            };
            if candidates.contains(name.as_ref()) && !queried.contains(name.as_ref()) {
                queried.insert(name.into_owned());
            }
        }
    }
    queried
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Service principals as the captures' tickets name them (tshark kerberos.SNameString).
    #[test]
    fn the_host_of_a_service_principal() {
        for (spn, host) in [
            ("cifs/dc1.certflow.lab", Some("dc1.certflow.lab")),
            ("RPCSS/WORKSTATION6", Some("WORKSTATION6")),
            ("ldap/dc1.domain.local/domain.local", Some("dc1.domain.local")),
            ("MSSQLSvc/sql1.example.com:1433", Some("sql1.example.com")),
            ("HTTP/ces.example.com:", None),
            ("sbeavers", None),
            ("krbtgt/CERTFLOW.LAB", None),
            ("kadmin/changepw", None),
            (
                "E3514235-4B06-11D1-AB04-00C04FC2DCD2/b6128d33-c518-44ee-81b8-5778830e7d9a/RUSSIE.WORLD",
                None,
            ),
            ("host/", None),
            ("host/a b", None),
            ("host/<script>", None),
        ] {
            assert_eq!(spn_host(spn), host, "{spn}");
        }
    }

    /// Every address `IpAddr` writes (and so parses) passes the cheap test; names with a
    /// letter past `f` do not reach the parser.
    #[test]
    fn only_names_of_address_characters_reach_the_parser() {
        let mut rng = crate::proto::testutil::Rng(0x4950);
        for _ in 0..2000 {
            let v = rng.next();
            let v4 = std::net::Ipv4Addr::from(v as u32);
            let v6 = std::net::Ipv6Addr::from(u128::from(v) << (rng.next() % 64));
            for a in [
                IpAddr::V4(v4),
                IpAddr::V6(v6),
                IpAddr::V6(v4.to_ipv6_mapped()),
            ] {
                assert!(may_be_address(&a.to_string()), "{a}");
            }
        }
        for name in ["ca1.certflow.lab", "WS01", "pki-server", "fe80::1%eth0"] {
            assert!(!may_be_address(name), "{name}");
        }
        // Hex-only names still go to the parser, which tells them apart.
        for name in ["DC01", "cafe.bad"] {
            assert!(may_be_address(name));
            assert!(name.parse::<IpAddr>().is_err());
        }
    }

    #[test]
    fn host_parts() {
        assert_eq!(tree_host("\\\\DC1.purp.le\\IPC$"), Some("DC1.purp.le"));
        assert_eq!(http_host("ca.example.com:80"), "ca.example.com");
        assert_eq!(http_host("ca.example.com"), "ca.example.com");
    }
}
