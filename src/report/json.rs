//! The JSON documents. Field names are a contract read by other tools: change them only with a
//! new schema version.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::IpAddr;

use serde::Serialize;

use super::compact;
use super::text::{push_two_digits, rfc3339, rfc3339_to};
use crate::analysis::{Analysis, CaptureSummary};
use crate::evidence::{Evidence, Facts};
use crate::flow::Flow;
use crate::model::hosts::{hosts, Host};

/// Schema identifier of `certflow flows --format json`.
pub const FLOWS_SCHEMA: &str = "certflow.flows/1";

/// `certflow flows --format json`.
#[derive(Debug)]
pub struct FlowsDoc<'a> {
    /// Always [`FLOWS_SCHEMA`].
    pub schema: &'static str,
    /// The capture set.
    pub captures: Vec<CaptureJson<'a>>,
    /// Connection tracking counters and caps.
    pub tracking: TrackingJson,
    /// Every address of the flow set with the names the capture gives it.
    pub hosts: Vec<Host>,
    /// The flows, sorted by server, transport, port, client.
    pub flows: FlowList<'a>,
}

/// The flows, serialised one by one as the document is written (a flow set can be large; it
/// is not copied into a second list first).
#[derive(Debug)]
pub struct FlowList<'a> {
    flows: &'a [Flow],
    several: bool,
}

/// `flows` with the best host names from `hosts` (sorted by address).
#[derive(Debug, Serialize)]
pub struct CaptureJson<'a> {
    /// Reader and decoder counts.
    #[serde(flatten)]
    pub summary: &'a CaptureSummary,
    /// First timestamp, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    /// Last timestamp, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
}

/// Connection-tracking counters.
#[derive(Debug, Serialize)]
pub struct TrackingJson {
    /// Connections seen.
    pub connections: u64,
    /// Most live connections at once.
    pub peak_live_connections: u64,
    /// Packets not tracked because the live-connection cap was reached.
    pub untracked_packets: u64,
    /// Connections not stored because the flow-set cap was reached.
    pub flows_dropped: u64,
    /// ICMP unreachable messages quoting no known connection.
    pub icmp_unmatched: u64,
    /// Caps that were reached (empty when none was).
    pub caps_hit: Vec<&'static str>,
}

/// One flow.
#[derive(Debug)]
pub struct FlowJson<'a> {
    /// Client address.
    pub client: IpAddr,
    /// Server address.
    pub server: IpAddr,
    /// The client's best name (see `hosts`), when the capture names it.
    pub client_name: Option<&'a str>,
    /// The server's best name, when the capture names it.
    pub server_name: Option<&'a str>,
    /// "tcp" or "udp".
    pub transport: &'static str,
    /// Server port.
    pub port: u16,
    /// Service proven by content, else the well-known-port guess, else "unknown".
    pub service: &'static str,
    /// How `service` was decided: "content", "endpoint map" or "port".
    pub service_from: &'static str,
    /// Connections.
    pub connections: u64,
    /// TCP handshake completed (or data both ways mid-stream); UDP answered.
    pub established: u64,
    /// RST answering the SYN, or ICMP unreachable.
    pub refused: u64,
    /// No reply at all (SYN unanswered: a likely firewall drop; UDP unanswered).
    pub unanswered: u64,
    /// Seen mid-stream one way only.
    pub partial: u64,
    /// Connections whose start was not captured.
    pub midstream: u64,
    /// Packets both ways.
    pub packets: u64,
    /// Bytes (frame lengths) both ways.
    pub bytes: u64,
    /// Packets client -> server.
    pub packets_to_server: u64,
    /// Packets server -> client.
    pub packets_to_client: u64,
    /// Bytes client -> server.
    pub bytes_to_server: u64,
    /// Bytes server -> client.
    pub bytes_to_client: u64,
    /// First frame (1-based, Wireshark numbering) of the first connection.
    pub first_frame: u64,
    /// Index of the capture holding `first_frame`, when the set has several.
    pub first_capture: Option<u16>,
    /// First timestamp, nanoseconds since the Unix epoch (written RFC 3339).
    pub first_seen: i64,
    /// Last timestamp, nanoseconds since the Unix epoch (written RFC 3339).
    pub last_seen: i64,
    /// ICMP destination-unreachable messages about this flow.
    pub icmp: &'a Facts<String>,
    /// TCP reassembly losses, when there were any.
    pub stream_loss: Option<BTreeMap<&'static str, u64>>,
    /// What the content proved, one entry per protocol.
    pub evidence: &'a Evidence,
    /// The evidence's fact lists and counters that were full
    /// ([`crate::evidence::MAX_FACTS_PER_LIST`] values), by path, with the sightings of the
    /// values they did not store; written only when not empty.
    pub facts_dropped: Vec<(String, u64)>,
}

/// Bytes of output gathered before they are handed to the writer: large writes go past a
/// `BufWriter`'s buffer straight to the file, not copied into it flow by flow.
const WRITE_CHUNK: usize = 64 * 1024;

impl FlowsDoc<'_> {
    /// Writes the document as compact JSON (no trailing newline).
    ///
    /// Everything is written by [`compact`] (serde_json's bytes at a fraction of the cost),
    /// the flows field by field (serde_json made about 170 small writes per flow, most of a
    /// flows-only run's output cost), into one buffer handed over in chunks.
    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut buf = Vec::with_capacity(WRITE_CHUNK + 4096);
        buf.extend_from_slice(b"{\"schema\":");
        compact::string(&mut buf, self.schema);
        buf.extend_from_slice(b",\"captures\":");
        compact::write(&mut buf, &self.captures)?;
        buf.extend_from_slice(b",\"tracking\":");
        compact::write(&mut buf, &self.tracking)?;
        buf.extend_from_slice(b",\"hosts\":");
        compact::write(&mut buf, &self.hosts)?;
        buf.extend_from_slice(b",\"flows\":[");
        let names = BestNames::new(&self.hosts);
        for (i, f) in self.flows.flows.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            let flow = FlowJson::new(
                f,
                self.flows.several,
                names.get(&f.key.client),
                names.get(&f.key.server),
            );
            flow.write(&mut buf)?;
            if buf.len() >= WRITE_CHUNK {
                out.write_all(&buf)?;
                buf.clear();
            }
        }
        buf.extend_from_slice(b"]}");
        out.write_all(&buf)
    }
}

/// The best name of every named address (see [`Host::best_name`]), looked up twice per flow:
/// by the address as an integer, cheaper to compare than an `IpAddr`.
struct BestNames<'a> {
    v4: Vec<(u32, &'a str)>,
    v6: Vec<(u128, &'a str)>,
}

impl<'a> BestNames<'a> {
    /// The names of `hosts` (sorted by address, so both lists are sorted: an address's integer
    /// order is its octets' order).
    fn new(hosts: &'a [Host]) -> Self {
        let mut names = BestNames {
            v4: Vec::new(),
            v6: Vec::new(),
        };
        for h in hosts {
            if let Some(name) = h.best_name() {
                match h.address {
                    IpAddr::V4(a) => names.v4.push((u32::from(a), name)),
                    IpAddr::V6(a) => names.v6.push((u128::from(a), name)),
                }
            }
        }
        names
    }

    /// The best name of `addr`, if it has one.
    fn get(&self, addr: &IpAddr) -> Option<&'a str> {
        fn find<'a, K: Ord + Copy>(list: &[(K, &'a str)], k: K) -> Option<&'a str> {
            let i = list.binary_search_by_key(&k, |e| e.0).ok()?;
            list.get(i).map(|e| e.1)
        }
        match addr {
            IpAddr::V4(a) => find(&self.v4, u32::from(*a)),
            IpAddr::V6(a) => find(&self.v6, u128::from(*a)),
        }
    }
}

impl<'a> FlowsDoc<'a> {
    /// Builds the document.
    pub fn new(a: &'a Analysis) -> Self {
        let several = a.captures.len() > 1;
        let t = a.tracker;
        let mut caps_hit = Vec::new();
        if t.live_cap_hit {
            caps_hit.push("max_live_connections");
        }
        if t.flows_dropped > 0 {
            caps_hit.push("max_flows");
        }
        if t.buffer_cap_hits > 0 {
            caps_hit.push("max_total_buffered");
        }
        let hosts = hosts(a);
        let flows = FlowList {
            flows: &a.flows,
            several,
        };
        FlowsDoc {
            schema: FLOWS_SCHEMA,
            captures: a
                .captures
                .iter()
                .map(|c| CaptureJson {
                    summary: c,
                    first_seen: c.info.first_ts_ns.map(rfc3339),
                    last_seen: c.info.last_ts_ns.map(rfc3339),
                })
                .collect(),
            tracking: TrackingJson {
                connections: t.connections,
                peak_live_connections: t.peak_live,
                untracked_packets: t.untracked_packets,
                flows_dropped: t.flows_dropped,
                icmp_unmatched: t.icmp_unmatched,
                caps_hit,
            },
            hosts,
            flows,
        }
    }
}

/// `,"name":`, the start of a member after the first (`name` is a field name of this file:
/// plain ASCII, nothing to escape).
macro_rules! member {
    ($name:literal) => {
        concat!(",\"", $name, "\":").as_bytes()
    };
}

/// Appends a member holding a number. Inlined, so that `member` (a constant) is a copy of a
/// fixed length, not a call to `memcpy`.
#[inline(always)]
fn number(out: &mut Vec<u8>, member: &[u8], v: u64) {
    out.extend_from_slice(member);
    compact::unsigned(out, v);
}

/// Appends a member holding a string (inlined, as [`number`]).
#[inline(always)]
fn string(out: &mut Vec<u8>, member: &[u8], v: &str) {
    out.extend_from_slice(member);
    compact::string(out, v);
}

/// Appends a member holding a timestamp, RFC 3339 (inlined, as [`number`]).
#[inline(always)]
fn timestamp(out: &mut Vec<u8>, member: &[u8], ts_ns: i64) {
    out.extend_from_slice(member);
    out.push(b'"');
    rfc3339_to(out, ts_ns);
    out.push(b'"');
}

/// Appends an address as a JSON string: what serde_json writes for its `to_string()` (an
/// address has nothing to escape). IPv4, nearly every address, is written octet by octet
/// rather than through `fmt`.
fn address(out: &mut Vec<u8>, addr: &IpAddr) {
    out.push(b'"');
    match addr {
        IpAddr::V4(a) => {
            for (i, o) in a.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                if o >= 100 {
                    out.push(b'0' + o / 100);
                    push_two_digits(out, u64::from(o));
                } else if o >= 10 {
                    push_two_digits(out, u64::from(o));
                } else {
                    out.push(b'0' + o);
                }
            }
        }
        // Writing into a `Vec` cannot fail.
        IpAddr::V6(a) => {
            let _ = write!(out, "{a}");
        }
    }
    out.push(b'"');
}

impl<'a> FlowJson<'a> {
    /// Appends the flow as one compact JSON object, fields in declaration order, optional
    /// ones left out when absent (as serde's `skip_serializing_if` did).
    fn write(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        out.extend_from_slice(b"{\"client\":");
        address(out, &self.client);
        out.extend_from_slice(member!("server"));
        address(out, &self.server);
        if let Some(v) = self.client_name {
            string(out, member!("client_name"), v);
        }
        if let Some(v) = self.server_name {
            string(out, member!("server_name"), v);
        }
        string(out, member!("transport"), self.transport);
        number(out, member!("port"), u64::from(self.port));
        string(out, member!("service"), self.service);
        string(out, member!("service_from"), self.service_from);
        // One call per member (not a loop over them), so each name is a constant.
        number(out, member!("connections"), self.connections);
        number(out, member!("established"), self.established);
        number(out, member!("refused"), self.refused);
        number(out, member!("unanswered"), self.unanswered);
        number(out, member!("partial"), self.partial);
        number(out, member!("midstream"), self.midstream);
        number(out, member!("packets"), self.packets);
        number(out, member!("bytes"), self.bytes);
        number(out, member!("packets_to_server"), self.packets_to_server);
        number(out, member!("packets_to_client"), self.packets_to_client);
        number(out, member!("bytes_to_server"), self.bytes_to_server);
        number(out, member!("bytes_to_client"), self.bytes_to_client);
        number(out, member!("first_frame"), self.first_frame);
        if let Some(c) = self.first_capture {
            number(out, member!("first_capture"), u64::from(c));
        }
        timestamp(out, member!("first_seen"), self.first_seen);
        timestamp(out, member!("last_seen"), self.last_seen);
        if !self.icmp.is_empty() {
            out.extend_from_slice(member!("icmp"));
            compact::write(out, self.icmp)?;
        }
        if let Some(loss) = &self.stream_loss {
            out.extend_from_slice(member!("stream_loss"));
            compact::write(out, loss)?;
        }
        out.extend_from_slice(member!("evidence"));
        compact::write(out, self.evidence)?;
        if !self.facts_dropped.is_empty() {
            out.extend_from_slice(member!("facts_dropped"));
            let m: BTreeMap<&str, u64> = self
                .facts_dropped
                .iter()
                .map(|(k, n)| (k.as_str(), *n))
                .collect();
            compact::write(out, &m)?;
        }
        out.push(b'}');
        Ok(())
    }

    fn new(
        f: &'a Flow,
        several: bool,
        client_name: Option<&'a str>,
        server_name: Option<&'a str>,
    ) -> Self {
        let loss = &f.stream_loss;
        let stream_loss = (loss.gaps > 0 || loss.overflow_bytes > 0).then(|| {
            BTreeMap::from([
                ("gaps", loss.gaps),
                ("missing_bytes", loss.missing_bytes),
                ("overflow_bytes", loss.overflow_bytes),
            ])
        });
        FlowJson {
            client: f.key.client,
            server: f.key.server,
            client_name,
            server_name,
            transport: f.key.transport.as_str(),
            port: f.key.port,
            service: f.service(),
            service_from: f.service_from(),
            connections: f.connections,
            established: f.outcomes.established,
            refused: f.outcomes.refused,
            unanswered: f.outcomes.unanswered,
            partial: f.outcomes.partial,
            midstream: f.midstream,
            packets: f.total_packets(),
            bytes: f.total_bytes(),
            packets_to_server: f.packets[0],
            packets_to_client: f.packets[1],
            bytes_to_server: f.bytes[0],
            bytes_to_client: f.bytes[1],
            first_frame: f.first.frame,
            first_capture: several.then_some(f.first.capture),
            first_seen: f.first_ts,
            last_seen: f.last_ts,
            icmp: &f.icmp,
            stream_loss,
            evidence: &f.evidence,
            facts_dropped: crate::evidence::dropped_lists(&f.evidence),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Addresses are written as serde_json writes their `to_string()`.
    #[test]
    fn addresses_as_display_writes_them() {
        let mut rng = crate::proto::testutil::Rng(4);
        let mut addrs: Vec<IpAddr> = ["0.0.0.0", "255.255.255.255", "10.0.100.9", "fe80::1", "::"]
            .iter()
            .map(|a| a.parse().expect("address"))
            .collect();
        for _ in 0..5000 {
            let v = rng.next();
            addrs.push(IpAddr::from((v as u32).to_be_bytes()));
            // Octets of one, two and three digits in every position.
            let edge = [0u8, 1, 9, 10, 42, 99, 100, 109, 199, 200, 255];
            let pick = v.to_be_bytes().map(|b| edge[usize::from(b) % edge.len()]);
            addrs.push(IpAddr::from([pick[0], pick[1], pick[2], pick[3]]));
            addrs.push(IpAddr::from(std::net::Ipv6Addr::from(
                u128::from(v) << (rng.next() % 64),
            )));
        }
        for a in addrs {
            let mut out = Vec::new();
            address(&mut out, &a);
            let want = serde_json::to_string(&a.to_string()).expect("serde_json");
            assert_eq!(String::from_utf8(out).expect("UTF-8"), want);
        }
    }
}
