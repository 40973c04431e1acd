//! Host names: every address of the flow set, with the names the capture gives it and where
//! each name came from.
//!
//! Sources, strongest first: DNS answers (A/AAAA, CNAME chains, PTR), pcapng name resolution
//! blocks, the server certificate of a TLS handshake (subject CN and dNSName SANs), the TLS server
//! name a client asked for (SNI), a Kerberos machine-account client principal (`NAME$@REALM`
//! names the client host, MS-KILE 3.1.5.1... the `$` suffix marks computer accounts), the server
//! named in an SMB tree path, the HTTP Host header, and the host part of a DCOM string binding.
//! All of these are untrusted strings from the wire: renderers escape them.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::Serialize;

use crate::analysis::Analysis;
use crate::evidence::FrameRef;

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
    /// The server part of an SMB tree path.
    SmbTree,
    /// An HTTP Host header.
    HttpHost,
    /// The host part of a DCOM string binding.
    DcomBinding,
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
}

impl Host {
    /// The name to show beside the address: the first of the strongest source.
    pub fn best_name(&self) -> Option<&str> {
        self.names.first().map(|n| n.name.as_str())
    }
}

/// Most names kept per address; a hostile capture cannot grow this without bound.
pub const MAX_NAMES_PER_HOST: usize = 32;

#[derive(Default)]
struct Collector {
    names: BTreeMap<IpAddr, Names>,
    addresses: BTreeSet<IpAddr>,
}

/// The names of one address, by source, then name (the order they are listed in before the
/// final sort), with the first frame of each.
#[derive(Default)]
struct Names {
    by_source: BTreeMap<NameSource, BTreeMap<String, Option<FrameRef>>>,
    len: usize,
}

impl Collector {
    fn add(&mut self, addr: IpAddr, name: &str, source: NameSource, at: Option<FrameRef>) {
        let name = name.trim().trim_end_matches('.');
        if name.is_empty() || name.parse::<IpAddr>().is_ok() {
            return;
        }
        let keep_case = source == NameSource::DcomBinding || source == NameSource::Kerberos;
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
        }
    }
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
    let mut queried: BTreeSet<String> = BTreeSet::new();
    for cap in &a.captures {
        for (addr, name) in &cap.info.names {
            c.add(*addr, name, NameSource::PcapngNrb, None);
        }
    }
    for f in &a.flows {
        c.addresses.insert(f.key.client);
        c.addresses.insert(f.key.server);
        let e = &f.evidence;
        if let Some(d) = &e.dns {
            for q in d.queries.iter() {
                queried.insert(q.value.name.trim_end_matches('.').to_ascii_lowercase());
            }
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
        if let Some(s) = &e.smb {
            for t in s.trees.iter() {
                if let Some(h) = tree_host(t.value) {
                    c.add(f.key.server, h, NameSource::SmbTree, Some(t.first));
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
    let mut out: Vec<Host> = Vec::new();
    for addr in c.addresses {
        let mut names: Vec<HostName> = c
            .names
            .get(&addr)
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
        // Strongest source first; among DNS names, the ones a client asked for before the
        // CNAME targets they led to. (The key is computed once per name, not per comparison.)
        names.sort_by_cached_key(|n| {
            (
                n.source,
                !queried.contains(&n.name),
                n.frame,
                n.name.clone(),
            )
        });
        out.push(Host {
            address: addr,
            names,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_parts() {
        assert_eq!(tree_host("\\\\DC1.purp.le\\IPC$"), Some("DC1.purp.le"));
        assert_eq!(http_host("ca.example.com:80"), "ca.example.com");
        assert_eq!(http_host("ca.example.com"), "ca.example.com");
    }
}
