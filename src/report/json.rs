//! The JSON documents. Field names are a contract read by other tools: change them only with a
//! new schema version.

use std::collections::BTreeMap;

use serde::Serialize;

use super::text::rfc3339;
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
struct NamedFlows<'a, 'h> {
    list: &'a FlowList<'a>,
    hosts: &'h [Host],
}

impl Serialize for NamedFlows<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let name = |addr: &std::net::IpAddr| -> Option<String> {
            let i = self.hosts.binary_search_by(|h| h.address.cmp(addr)).ok()?;
            self.hosts[i].best_name().map(str::to_string)
        };
        s.collect_seq(self.list.flows.iter().map(|f| {
            FlowJson::new(
                f,
                self.list.several,
                name(&f.key.client),
                name(&f.key.server),
            )
        }))
    }
}

/// One capture.
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
#[derive(Debug, Serialize)]
pub struct FlowJson<'a> {
    /// Client address.
    pub client: String,
    /// Server address.
    pub server: String,
    /// The client's best name (see `hosts`), when the capture names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// The server's best name, when the capture names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_capture: Option<u16>,
    /// First timestamp, RFC 3339.
    pub first_seen: String,
    /// Last timestamp, RFC 3339.
    pub last_seen: String,
    /// ICMP destination-unreachable messages about this flow.
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub icmp: &'a Facts<String>,
    /// TCP reassembly losses, when there were any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_loss: Option<BTreeMap<&'static str, u64>>,
    /// What the content proved, one entry per protocol.
    pub evidence: &'a Evidence,
}

impl Serialize for FlowsDoc<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("FlowsDoc", 5)?;
        st.serialize_field("schema", self.schema)?;
        st.serialize_field("captures", &self.captures)?;
        st.serialize_field("tracking", &self.tracking)?;
        st.serialize_field("hosts", &self.hosts)?;
        st.serialize_field(
            "flows",
            &NamedFlows {
                list: &self.flows,
                hosts: &self.hosts,
            },
        )?;
        st.end()
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

impl<'a> FlowJson<'a> {
    fn new(
        f: &'a Flow,
        several: bool,
        client_name: Option<String>,
        server_name: Option<String>,
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
            client: f.key.client.to_string(),
            server: f.key.server.to_string(),
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
            first_seen: rfc3339(f.first_ts),
            last_seen: rfc3339(f.last_ts),
            icmp: &f.icmp,
            stream_loss,
            evidence: &f.evidence,
        }
    }
}
