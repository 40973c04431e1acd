//! Connection-oriented DCE/RPC (C706 chapter 12, MS-RPCE 2.2), the endpoint mapper (C706
//! appendix O) and DCOM activation (MS-DCOM), recognised by content on any TCP port and fed
//! named-pipe payloads by the SMB analyzer.
//!
//! Layers, one file each, none reaching into the next:
//! - [`pdu`]: one fragment -> header, bind/ack contexts, request/response stubs, auth trailer;
//! - [`epm`]: ept_map / ept_lookup stubs -> towers; [`dcom`]: activation / OXID stubs -> string
//!   bindings; [`names`]: the one name table (`interfaces.tsv`);
//! - [`analyzer`]: per-connection state (contexts, calls, fragment reassembly) -> evidence;
//! - [`mod@attribute`]: after all flows are built, endpoint maps answered on one flow name the
//!   interface of a later flow to the announced port.
//!
//! Named pipes: the SMB analyzer keeps one [`analyzer::DcerpcAnalyzer`] per open pipe, offers
//! WRITE/IOCTL input bytes as `Dir::ToServer` and READ/IOCTL output as `Dir::ToClient` through
//! [`Analyzer::stream`] (keeping what it does not consume, exactly as the flow layer does for
//! TCP), calls [`Analyzer::gap`] when pipe data was lost, and [`Analyzer::finish`] into the SMB
//! flow's evidence. Nothing here depends on the TCP port.
//!
//! JSON of [`DcerpcEvidence`] (field names are a contract):
//! `interfaces` [{`uuid`, `version`, `name`, `opnums` [{`opnum`, `name`, `count`, `frame`}],
//! `auth_level`, `learned` (facts)}], `endpoint_maps` [{`interface`, `name`, `host`, `port`,
//! `frame`, `transport`, `via`, `binding_host`, `pipe`, `clsid`}], `faults`, `bind_naks`,
//! `rejected_contexts`, `secondary_addresses`, `auth_types`, `ticket_spns`, `transfer_syntaxes`,
//! `epm_queries`, `epm_status`, `activations` (an encrypted activation shows as
//! `"encrypted <operation>"`), `string_bindings`, `encrypted_calls`, `unbound_requests`, `pdu_types`,
//! `encrypted_stubs`, `malformed`, `endpoint_maps_dropped`. Facts serialise as
//! `{"value", "frame", "count"}` lists (see `crate::evidence::Facts`), counters as objects.

pub mod analyzer;
pub mod attribute;
pub mod dcom;
pub mod epm;
pub mod names;
pub mod pdu;
#[cfg(test)]
mod tshark_check;

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use crate::evidence::{Counts, Facts, FrameRef, Merge};
use crate::proto::{Analyzer, Dissector, Transport};

pub use attribute::{attribute, FlowSlot};

/// Most interfaces kept per flow (a flow binds a handful; rpcdump-style scans bind more).
pub const MAX_INTERFACES: usize = 128;
/// Most opnums kept per interface (opnum is a u16; real interfaces have < 100 methods).
pub const MAX_OPNUMS: usize = 256;
/// Most endpoint-map answers kept per flow (an ept_lookup dump can list 300+ towers).
pub const MAX_ENDPOINT_MAPS: usize = 512;

/// One operation used on an interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpnumUse {
    /// The opnum.
    pub opnum: u16,
    /// Its name from the table, when listed.
    pub name: Option<String>,
    /// How many calls used it.
    pub count: u64,
    /// The first request's frame.
    pub frame: FrameRef,
}

/// One interface used (or learned) on a flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterfaceUse {
    /// The interface UUID.
    pub uuid: pdu::Uuid,
    /// "major.minor".
    pub version: String,
    /// Name from the table, or the UUID itself when unknown.
    pub name: String,
    /// Operations called, by opnum.
    #[serde(serialize_with = "ser_values")]
    pub opnums: BTreeMap<u16, OpnumUse>,
    /// Strongest auth level seen on the interface's PDUs ("none" when no auth trailer;
    /// "unknown" when named from an endpoint-map answer alone, or when its only auth trailers
    /// were cut off by a snap length).
    pub auth_level: String,
    /// Internal: the numeric level behind `auth_level` (0 = none seen).
    #[serde(skip)]
    pub level: u8,
    /// How this flow's interface was learned: "bind", "bind_ack secondary address",
    /// "epm map at frame N", "dcom activation at frame N", each with its frame.
    pub learned: Facts<String>,
    /// Calls of opnums beyond [`MAX_OPNUMS`] distinct ones, not kept (written when not 0).
    #[serde(skip_serializing_if = "crate::evidence::is_zero")]
    pub opnums_dropped: u64,
}

impl InterfaceUse {
    /// A fresh entry for interface `s`.
    pub fn new(s: pdu::SyntaxId) -> Self {
        InterfaceUse {
            uuid: s.uuid,
            version: s.version(),
            name: names::interface_name(&s.uuid),
            opnums: BTreeMap::new(),
            auth_level: "none".into(),
            level: 0,
            learned: Facts::default(),
            opnums_dropped: 0,
        }
    }

    /// Records one call of `opnum` at `at`.
    pub fn add_opnum(&mut self, opnum: u16, at: FrameRef) {
        self.add_opnum_n(opnum, 1, at);
    }

    /// Records `n` calls of `opnum`, the first at `at`.
    pub fn add_opnum_n(&mut self, opnum: u16, n: u64, at: FrameRef) {
        if let Some(o) = self.opnums.get_mut(&opnum) {
            o.count += n;
            o.frame = o.frame.min(at);
        } else if self.opnums.len() < MAX_OPNUMS {
            self.opnums.insert(
                opnum,
                OpnumUse {
                    opnum,
                    name: names::opnum_name(&self.uuid, opnum).map(str::to_string),
                    count: n,
                    frame: at,
                },
            );
        } else {
            self.opnums_dropped += n;
        }
    }

    /// A PDU of the interface had an auth trailer (auth_length > 0) that a snap length cut
    /// off: its level is "unknown" until a whole trailer shows one.
    pub fn add_cut_auth(&mut self) {
        if self.level == 0 {
            self.auth_level = "unknown".into();
        }
    }

    /// Raises the recorded auth level to `level` if stronger.
    pub fn add_level(&mut self, level: pdu::AuthLevel) {
        if level.0 > self.level {
            self.level = level.0;
            self.auth_level = level.name();
        }
    }

    fn merge(&mut self, o: InterfaceUse) {
        for (_, u) in o.opnums {
            if let Some(x) = self.opnums.get_mut(&u.opnum) {
                x.count += u.count;
                x.frame = x.frame.min(u.frame);
            } else if self.opnums.len() < MAX_OPNUMS {
                self.opnums.insert(u.opnum, u);
            } else {
                self.opnums_dropped += u.count;
            }
        }
        self.opnums_dropped += o.opnums_dropped;
        if o.level > self.level || (self.level == 0 && o.auth_level == "unknown") {
            self.level = o.level;
            self.auth_level = o.auth_level;
        }
        self.learned.merge(o.learned);
    }
}

/// One endpoint answer seen on a flow: an EPM tower or a DCOM string binding naming where an
/// interface (or object exporter) listens.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct EndpointMap {
    /// Interface UUID as text; None for an OXID resolution (the object exporter's interfaces
    /// are not named by the answer).
    pub interface: Option<String>,
    /// Interface name (table), or the UUID, or "object exporter".
    pub name: String,
    /// The interface with its version (tower floor 1; version 0.0 for DCOM IIDs), for
    /// attribution; None for an OXID resolution.
    #[serde(skip)]
    pub syntax: Option<pdu::SyntaxId>,
    /// The host to connect to: the server of the flow that answered (filled by
    /// [`attribute::attribute`]; MS-RPCE 3.1.3.5.3: the tower's own address is ignored).
    pub host: Option<String>,
    /// The announced port, when the endpoint is a port.
    pub port: Option<u16>,
    /// The answer's frame.
    pub frame: FrameRef,
    /// "tcp", "udp", "http", "pipe", "netbios", "local".
    pub transport: String,
    /// "epm map", "epm lookup", "dcom activation", "oxid resolve".
    pub via: String,
    /// The address inside the answer (tower IP floor, string binding host), as sent.
    pub binding_host: Option<String>,
    /// The pipe name of a named-pipe tower.
    pub pipe: Option<String>,
    /// For DCOM activations: the class activated (from the request), when seen.
    pub clsid: Option<String>,
}

/// What connection-oriented DCE/RPC content proved about a flow.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DcerpcEvidence {
    /// Interfaces bound or learned, ordered by UUID then version.
    #[serde(serialize_with = "ser_values")]
    pub interfaces: BTreeMap<pdu::SyntaxId, InterfaceUse>,
    /// Endpoint answers given on this flow, in frame order.
    pub endpoint_maps: Vec<EndpointMap>,
    /// Faults: "0x1c010002 nca_s_op_rng_error".
    pub faults: Facts<String>,
    /// bind_nak reasons.
    pub bind_naks: Facts<String>,
    /// Rejected presentation contexts: `"<uuid> <name> v<ver>: <result>/<reason>"`.
    pub rejected_contexts: Facts<String>,
    /// Secondary addresses of bind_acks (a port as text or a pipe name).
    pub secondary_addresses: Facts<String>,
    /// Authentication services of auth trailers ("ntlm", "kerberos", "negotiate" ...).
    pub auth_types: Facts<String>,
    /// Service principals of the Kerberos tickets presented in binds, alter_contexts and
    /// auth3s (the AP-REQ in the GSS-API token of a negotiate or kerberos auth trailer,
    /// [`crate::proto::krb::gss`]), e.g. "host/ca1.example.com".
    pub ticket_spns: Facts<String>,
    /// Transfer syntaxes accepted ("ndr", "ndr64", "bind_time_feature_negotiation").
    pub transfer_syntaxes: Facts<String>,
    /// Interfaces asked for in ept_map requests: `"<uuid> <name> v<ver>"`.
    pub epm_queries: Facts<String>,
    /// Non-zero ept_map / ept_lookup statuses: "0x16c9a0d6 ept_s_not_registered".
    pub epm_status: Facts<String>,
    /// DCOM activations requested: `"<clsid> <class name> iid <iid> <name>"`, or
    /// `"encrypted <operation>"` when the request stub is sealed (auth level privacy).
    pub activations: Facts<String>,
    /// DCOM string bindings answered (activation, ResolveOxid, ServerAlive2), as sent with
    /// their tower: `"tcp DC1[49724]"`, `"tcp 192.168.56.101"` (no port: the OXID resolver, 135).
    pub string_bindings: Facts<String>,
    /// Calls whose stubs certflow would decode (EPM, activation, OXID) but were encrypted (auth
    /// level privacy): `"<interface> <operation>"`.
    pub encrypted_calls: Facts<String>,
    /// Requests on a context whose bind is not in the capture: "ctx N opnum M".
    pub unbound_requests: Counts,
    /// PDUs by type name.
    pub pdu_types: Counts,
    /// Request/response fragments whose stub was encrypted (auth level privacy): not decoded.
    pub encrypted_stubs: u64,
    /// PDUs or stubs that could not be parsed, and resynchronisations.
    pub malformed: u64,
    /// Endpoint answers not kept because `endpoint_maps` was full.
    pub endpoint_maps_dropped: u64,
    /// Sightings of interfaces beyond [`MAX_INTERFACES`] distinct ones (a bind, a call, an
    /// endpoint-map answer), not kept (written when not 0).
    #[serde(skip_serializing_if = "crate::evidence::is_zero")]
    pub interfaces_dropped: u64,
    /// Calls and binds forgotten before their response arrived because
    /// [`analyzer::MAX_PENDING_CALLS`] calls or [`analyzer::MAX_PENDING_BINDS`] binds were
    /// waiting on the connection: what the response would have shown (a bind_ack's results, a
    /// stub to decode) is lost (written when not 0).
    #[serde(skip_serializing_if = "crate::evidence::is_zero")]
    pub pending_dropped: u64,
    /// Presentation contexts not kept because their association had
    /// [`analyzer::MAX_CONTEXTS_PER_ASSOC`]: requests on them count as `unbound_requests`
    /// (written when not 0).
    #[serde(skip_serializing_if = "crate::evidence::is_zero")]
    pub contexts_dropped: u64,
    /// Connections (and named pipes) whose analyzers finished writing here, counted by
    /// [`DcerpcEvidence::connection_done`]; not serialised.
    #[serde(skip)]
    pub connections: u32,
    /// Length of `endpoint_maps` when it was last sorted: answers are only ever appended, so
    /// an unchanged length means it is still sorted.
    #[serde(skip)]
    sorted_len: usize,
}

fn ser_values<K, V: Serialize, S: Serializer>(m: &BTreeMap<K, V>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(m.values())
}

impl DcerpcEvidence {
    /// The entry of interface `s` (UUID and version), created if absent (None when the table
    /// is full). No allocation when the entry exists.
    pub fn interface(&mut self, s: pdu::SyntaxId) -> Option<&mut InterfaceUse> {
        if self.interfaces.len() >= MAX_INTERFACES {
            if !self.interfaces.contains_key(&s) {
                self.interfaces_dropped += 1;
            }
            return self.interfaces.get_mut(&s);
        }
        Some(
            self.interfaces
                .entry(s)
                .or_insert_with(|| InterfaceUse::new(s)),
        )
    }

    /// Notes that one connection's analyzer has finished writing here. The endpoint answers of
    /// one connection stay in the order it read them; once two have written, they are put in
    /// (frame, value) order, as folding evidence together ([`Merge`]) puts them: the same
    /// answers in the same order whether connections wrote here directly or were merged.
    pub fn connection_done(&mut self) {
        self.connections += 1;
        if self.connections >= 2 {
            self.sort_endpoint_maps();
        }
    }

    /// Puts the endpoint answers in (frame, value) order (nothing to do when none was added
    /// since the last time).
    fn sort_endpoint_maps(&mut self) {
        if self.sorted_len == self.endpoint_maps.len() {
            return;
        }
        self.endpoint_maps
            .sort_by(|a, b| a.frame.cmp(&b.frame).then_with(|| a.cmp(b)));
        self.sorted_len = self.endpoint_maps.len();
    }

    /// Adds an endpoint answer (duplicates of the same answer in the same frame are ignored).
    pub fn add_endpoint_map(&mut self, m: EndpointMap) {
        // The frame is compared first: answers of other frames differ without a string compared.
        if self
            .endpoint_maps
            .iter()
            .any(|e| e.frame == m.frame && *e == m)
        {
            return;
        }
        if self.endpoint_maps.len() >= MAX_ENDPOINT_MAPS {
            self.endpoint_maps_dropped += 1;
            return;
        }
        self.endpoint_maps.push(m);
    }
}

impl Merge for DcerpcEvidence {
    fn merge(&mut self, o: Self) {
        for (k, v) in o.interfaces {
            if let Some(x) = self.interfaces.get_mut(&k) {
                x.merge(v);
            } else if self.interfaces.len() < MAX_INTERFACES {
                self.interfaces.insert(k, v);
            } else {
                self.interfaces_dropped += 1;
            }
        }
        self.interfaces_dropped += o.interfaces_dropped;
        self.pending_dropped += o.pending_dropped;
        self.contexts_dropped += o.contexts_dropped;
        for m in o.endpoint_maps {
            self.add_endpoint_map(m);
        }
        self.sort_endpoint_maps();
        self.connections += o.connections;
        self.faults.merge(o.faults);
        self.bind_naks.merge(o.bind_naks);
        self.rejected_contexts.merge(o.rejected_contexts);
        self.secondary_addresses.merge(o.secondary_addresses);
        self.auth_types.merge(o.auth_types);
        self.ticket_spns.merge(o.ticket_spns);
        self.transfer_syntaxes.merge(o.transfer_syntaxes);
        self.epm_queries.merge(o.epm_queries);
        self.epm_status.merge(o.epm_status);
        self.activations.merge(o.activations);
        self.encrypted_calls.merge(o.encrypted_calls);
        self.string_bindings.merge(o.string_bindings);
        self.unbound_requests.merge(o.unbound_requests);
        self.pdu_types.merge(o.pdu_types);
        self.encrypted_stubs += o.encrypted_stubs;
        self.malformed += o.malformed;
        self.endpoint_maps_dropped += o.endpoint_maps_dropped;
    }
}

/// Content probe: a connection-oriented DCE/RPC v5.0/5.1 header (known PDU type, sane drep and
/// lengths, C706 12.6.3.1) at the start of `data`, on TCP. Cheap, never panics.
pub fn probe(transport: Transport, data: &[u8]) -> bool {
    transport == Transport::Tcp && pdu::plausible_header(data)
}

fn new_analyzer(_t: Transport, _port: u16) -> Box<dyn Analyzer> {
    Box::new(analyzer::DcerpcAnalyzer::new())
}

/// The connection-oriented DCE/RPC dissector.
pub const DISSECTOR: Dissector = Dissector {
    name: "dcerpc",
    probe,
    new: new_analyzer,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::testutil::hex;

    /// Endpoint answers of two connections: the list is the same whether each connection
    /// wrote into the flow's evidence as it read them (arrivals interleaved) or kept its own
    /// evidence, merged at its end; one connection's answers keep their order.
    #[test]
    fn endpoint_maps_written_directly_equal_merged() {
        let m = |frame: u64, port: u16| EndpointMap {
            interface: Some(port.to_string()),
            name: "x".into(),
            syntax: None,
            host: None,
            port: Some(port),
            frame: FrameRef::new(0, frame),
            transport: "tcp".into(),
            via: "epm lookup".into(),
            binding_host: None,
            pipe: None,
            clsid: None,
        };
        let ports = |e: &DcerpcEvidence| -> Vec<u16> {
            e.endpoint_maps.iter().filter_map(|x| x.port).collect()
        };
        // Connection A answers in frame 5 (towers not in value order), B in frame 3.
        let (a, b) = ([m(5, 300), m(5, 100)], [m(3, 200)]);
        let own = |maps: &[EndpointMap]| {
            let mut e = DcerpcEvidence::default();
            for x in maps {
                e.add_endpoint_map(x.clone());
            }
            e.connection_done();
            e
        };
        assert_eq!(ports(&own(&a)), vec![300, 100]);
        let mut merged = own(&a);
        merged.merge(own(&b));
        let mut direct = DcerpcEvidence::default();
        for x in [&a[0], &b[0], &a[1], &a[0]] {
            direct.add_endpoint_map(x.clone());
        }
        direct.connection_done();
        assert_eq!(ports(&direct), vec![300, 200, 100]);
        direct.connection_done();
        assert_eq!(direct.endpoint_maps, merged.endpoint_maps);
        assert_eq!(ports(&direct), vec![200, 100, 300]);
    }

    #[test]
    fn probe_real_and_not() {
        // epm_map_netlogon_zerologon_win2019.pcap frame 4 (bind), first 10 and all bytes.
        let b = hex(pdu::tests::ZL_F4_BIND);
        assert!(probe(Transport::Tcp, &b));
        assert!(probe(Transport::Tcp, &b[..10]));
        assert!(!probe(Transport::Udp, &b));
        assert!(!probe(Transport::Tcp, &b[..5]));
        assert!(!probe(Transport::Tcp, b"GET / HTTP/1.1\r\n\r\n"));
        // SMB2 header magic, TLS record: not DCE/RPC.
        assert!(!probe(
            Transport::Tcp,
            &hex("fe534d4240000100000000000000010000000000")
        ));
        assert!(!probe(Transport::Tcp, &hex("160301020001000001fc0303")));
        for n in 0..b.len() {
            let _ = probe(Transport::Tcp, &b[..n]);
        }
    }
}
