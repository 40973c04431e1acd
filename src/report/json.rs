//! The JSON documents. Field names are a contract read by other tools: change them only with a
//! new schema version.

use std::collections::BTreeMap;
use std::io::{self, Write};

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
    pub client: String,
    /// Server address.
    pub server: String,
    /// The client's best name (see `hosts`), when the capture names it.
    pub client_name: Option<String>,
    /// The server's best name, when the capture names it.
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
    pub first_capture: Option<u16>,
    /// First timestamp, RFC 3339.
    pub first_seen: String,
    /// Last timestamp, RFC 3339.
    pub last_seen: String,
    /// ICMP destination-unreachable messages about this flow.
    pub icmp: &'a Facts<String>,
    /// TCP reassembly losses, when there were any.
    pub stream_loss: Option<BTreeMap<&'static str, u64>>,
    /// What the content proved, one entry per protocol.
    pub evidence: &'a Evidence,
}

impl FlowsDoc<'_> {
    /// Writes the document as compact JSON (no trailing newline).
    ///
    /// The flows, most of a large document, are written field by field into one buffer per
    /// flow (serde_json made about 170 small writes per flow, most of a flows-only run's
    /// output cost); everything else, and every string or nested value, goes through
    /// serde_json, which escapes it.
    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(b"{\"schema\":")?;
        serde_json::to_writer(&mut *out, self.schema)?;
        out.write_all(b",\"captures\":")?;
        serde_json::to_writer(&mut *out, &self.captures)?;
        out.write_all(b",\"tracking\":")?;
        serde_json::to_writer(&mut *out, &self.tracking)?;
        out.write_all(b",\"hosts\":")?;
        serde_json::to_writer(&mut *out, &self.hosts)?;
        out.write_all(b",\"flows\":[")?;
        let name = |addr: &std::net::IpAddr| -> Option<String> {
            let i = self.hosts.binary_search_by(|h| h.address.cmp(addr)).ok()?;
            self.hosts[i].best_name().map(str::to_string)
        };
        let mut buf = Vec::with_capacity(4096);
        for (i, f) in self.flows.flows.iter().enumerate() {
            buf.clear();
            if i > 0 {
                buf.push(b',');
            }
            let flow = FlowJson::new(
                f,
                self.flows.several,
                name(&f.key.client),
                name(&f.key.server),
            );
            flow.write(&mut buf)?;
            out.write_all(&buf)?;
        }
        out.write_all(b"]}")
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

/// Appends `v` in decimal.
fn push_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(super::text::decimal(&mut [0; 20], v, 1));
}

/// Appends `"key":` (after a comma unless it opens the object). `key` is a field name of this
/// file: plain ASCII, nothing to escape.
fn key(out: &mut Vec<u8>, key: &str) {
    if out.last() != Some(&b'{') {
        out.push(b',');
    }
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Appends a field holding a number.
fn number(out: &mut Vec<u8>, k: &str, v: u64) {
    key(out, k);
    push_u64(out, v);
}

/// Appends a field whose value serde_json writes (and escapes).
fn value<T: Serialize + ?Sized>(out: &mut Vec<u8>, k: &str, v: &T) -> serde_json::Result<()> {
    key(out, k);
    serde_json::to_writer(&mut *out, v)
}

impl<'a> FlowJson<'a> {
    /// Appends the flow as one compact JSON object, fields in declaration order, optional
    /// ones left out when absent (as serde's `skip_serializing_if` did).
    fn write(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        out.push(b'{');
        value(out, "client", &self.client)?;
        value(out, "server", &self.server)?;
        if let Some(v) = &self.client_name {
            value(out, "client_name", v)?;
        }
        if let Some(v) = &self.server_name {
            value(out, "server_name", v)?;
        }
        value(out, "transport", self.transport)?;
        number(out, "port", u64::from(self.port));
        value(out, "service", self.service)?;
        value(out, "service_from", self.service_from)?;
        for (k, v) in [
            ("connections", self.connections),
            ("established", self.established),
            ("refused", self.refused),
            ("unanswered", self.unanswered),
            ("partial", self.partial),
            ("midstream", self.midstream),
            ("packets", self.packets),
            ("bytes", self.bytes),
            ("packets_to_server", self.packets_to_server),
            ("packets_to_client", self.packets_to_client),
            ("bytes_to_server", self.bytes_to_server),
            ("bytes_to_client", self.bytes_to_client),
            ("first_frame", self.first_frame),
        ] {
            number(out, k, v);
        }
        if let Some(c) = self.first_capture {
            number(out, "first_capture", u64::from(c));
        }
        value(out, "first_seen", &self.first_seen)?;
        value(out, "last_seen", &self.last_seen)?;
        if !self.icmp.is_empty() {
            value(out, "icmp", self.icmp)?;
        }
        if let Some(loss) = &self.stream_loss {
            value(out, "stream_loss", loss)?;
        }
        value(out, "evidence", self.evidence)?;
        out.push(b'}');
        Ok(())
    }

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
