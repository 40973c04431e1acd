//! Connections and the flow set.
//!
//! A connection is one TCP connection or one UDP exchange (a 5-tuple until it goes idle), with
//! its client and server. Live connections sit in a bounded table; when one ends (RST, FIN both
//! ways, idle, port reuse) it is folded into the flow set and its memory freed. The flow set
//! aggregates connections by (client, server, transport, server port), so memory grows with the
//! number of distinct flows, not with packets.

pub mod conn;
pub mod dissection;
pub mod tcp;

use std::collections::HashMap;
use std::fmt::Write;
use std::net::IpAddr;

use ahash::RandomState;

use crate::decode::{Packet, L4};
use crate::evidence::{Evidence, Facts, FrameRef, Merge};
use crate::proto::Transport;

use conn::Finished;
pub use conn::{Conn, Outcome};
use dissection::work_within;

/// Most live connections tracked at once. When full, idle ones are folded early; if none can be,
/// packets of new connections are counted as untracked.
pub const MAX_LIVE_CONNECTIONS: usize = 500_000;
/// Most distinct flows kept. Beyond it, connections of new flows are counted, not stored.
pub const MAX_FLOWS: usize = 1_000_000;
/// TCP connection idle time after which it is folded (capture time).
pub const TCP_IDLE_NS: i64 = 300_000_000_000;
/// Idle time after which a closed (FIN/RST) TCP connection is folded: late ACKs and
/// retransmissions within it still belong to it.
pub const TCP_CLOSED_NS: i64 = 30_000_000_000;
/// UDP exchange idle time after which it is folded.
pub const UDP_IDLE_NS: i64 = 120_000_000_000;
/// Most bytes held by TCP reassembly across all live connections. When a packet takes the
/// total over it, that connection's buffers are dropped (counted in its `stream_loss`).
pub const MAX_TOTAL_BUFFERED: usize = 256 << 20;
/// How often (in packets) idle connections are looked for.
const SWEEP_EVERY: u64 = 1 << 16;

/// Key of a live connection: both endpoints in a canonical order, packed so that hashing it is
/// one or two machine words (PERF-NOTES: the flow-table probe is the largest per-packet cost).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnKey {
    /// IPv4: both endpoints (address and port, 48 bits each) and the transport in one u128.
    V4(u128),
    /// IPv6 (or mixed): both addresses and ports, and the transport.
    V6([u8; 16], [u8; 16], u32, bool),
}

impl ConnKey {
    fn new(transport: Transport, a: (IpAddr, u16), b: (IpAddr, u16)) -> Self {
        let tcp = transport == Transport::Tcp;
        if let ((IpAddr::V4(x), xp), (IpAddr::V4(y), yp)) = (a, b) {
            // Each endpoint as one u64 (address, port): ordering them orders the endpoints.
            let ea = u64::from(u32::from(x)) << 16 | u64::from(xp);
            let eb = u64::from(u32::from(y)) << 16 | u64::from(yp);
            let (lo, hi) = if ea <= eb { (ea, eb) } else { (eb, ea) };
            return ConnKey::V4(u128::from(lo) << 64 | u128::from(hi) << 1 | u128::from(tcp));
        }
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        ConnKey::V6(
            v6_bytes(lo.0),
            v6_bytes(hi.0),
            u32::from(lo.1) << 16 | u32::from(hi.1),
            tcp,
        )
    }
}

fn v6_bytes(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// Key of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    /// The server address.
    pub server: IpAddr,
    /// Transport.
    pub transport: Transport,
    /// The server port.
    pub port: u16,
    /// The client address.
    pub client: IpAddr,
}

/// Connections aggregated by (client, server, transport, server port).
#[derive(Debug, Clone)]
pub struct Flow {
    /// Which flow.
    pub key: FlowKey,
    /// The service proven by content, if any connection proved one.
    pub proven_service: Option<&'static str>,
    /// Connections folded into this flow.
    pub connections: u64,
    /// Connections by outcome.
    pub outcomes: OutcomeCounts,
    /// Connections whose start (SYN) was not in the capture.
    pub midstream: u64,
    /// Packets client->server and server->client.
    pub packets: [u64; 2],
    /// Bytes (frame lengths on the wire) client->server and server->client.
    pub bytes: [u64; 2],
    /// First frame of the first connection.
    pub first: FrameRef,
    /// First and last timestamp, ns since the epoch.
    pub first_ts: i64,
    /// Last timestamp.
    pub last_ts: i64,
    /// What the content proved.
    pub evidence: Evidence,
    /// ICMP destination-unreachable messages about this flow.
    pub icmp: Facts<String>,
    /// TCP reassembly losses summed over the connections.
    pub stream_loss: tcp::StreamLoss,
}

/// Connections per outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutcomeCounts {
    /// TCP handshake completed (or data both ways); UDP answered.
    pub established: u64,
    /// TCP RST answering the SYN, or ICMP unreachable.
    pub refused: u64,
    /// No reply at all: SYNs without answer (a likely firewall drop), or UDP unanswered.
    pub unanswered: u64,
    /// Seen mid-stream, one way only: the capture cannot tell.
    pub partial: u64,
}

/// Counters of the tracker, reported with every analysis.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrackerStats {
    /// Connections opened.
    pub connections: u64,
    /// Packets not tracked because the connection table was full.
    pub untracked_packets: u64,
    /// Connections not stored because the flow set was full.
    pub flows_dropped: u64,
    /// Highest number of live connections at once.
    pub peak_live: u64,
    /// ICMP unreachable messages that quote no known connection.
    pub icmp_unmatched: u64,
    /// True if [`MAX_LIVE_CONNECTIONS`] was reached.
    pub live_cap_hit: bool,
    /// Times a connection's reassembly buffers were dropped because [`MAX_TOTAL_BUFFERED`] was
    /// reached.
    pub buffer_cap_hits: u64,
}

/// Builds connections and the flow set from decoded packets.
pub struct Tracker {
    /// Live connections, in no particular order, and where each one is in that vector.
    live: Vec<(ConnKey, Conn)>,
    live_index: HashMap<ConnKey, u32, RandomState>,
    /// The connection of the previous packet: consecutive packets of one connection (a bulk
    /// transfer, a request and its answer) skip the hash and the table probe.
    last: Option<(ConnKey, u32)>,
    /// The flow set.
    folder: Folder,
    stats: TrackerStats,
    since_sweep: u64,
    now_ns: i64,
    dissect: bool,
    /// Bytes held by reassembly across live connections.
    buffered: usize,
    /// The most that may be held.
    budget: usize,
    /// Most live connections ([`MAX_LIVE_CONNECTIONS`]; tests lower it).
    max_live: usize,
    /// Connections whose flow is known from the start write into its evidence while they run
    /// (tests turn it off to check that the result is the same as merging at the end).
    direct: bool,
}

impl Default for Tracker {
    fn default() -> Self {
        Self::new()
    }
}

impl Tracker {
    /// An empty tracker that runs the protocol analyzers.
    pub fn new() -> Self {
        Self::with_dissection(true)
    }

    /// An empty tracker; with `dissect` false, connections get no protocol analyzer (flows and
    /// outcomes only: the baseline the dissection cost is measured against).
    pub fn with_dissection(dissect: bool) -> Self {
        Tracker {
            live: Vec::new(),
            live_index: HashMap::with_hasher(RandomState::with_seeds(1, 2, 3, 4)),
            last: None,
            folder: Folder::default(),
            stats: TrackerStats::default(),
            since_sweep: 0,
            now_ns: i64::MIN,
            dissect,
            buffered: 0,
            budget: MAX_TOTAL_BUFFERED,
            max_live: MAX_LIVE_CONNECTIONS,
            direct: true,
        }
    }

    /// Sets the reassembly budget across live connections (default [`MAX_TOTAL_BUFFERED`]).
    pub fn set_buffer_budget(&mut self, bytes: usize) {
        self.budget = bytes;
    }

    /// Counters so far.
    pub fn stats(&self) -> TrackerStats {
        self.stats
    }

    /// Takes one decoded packet of `frame_len` bytes on the wire.
    pub fn packet(&mut self, pkt: &Packet, at: FrameRef, ts_ns: i64, frame_len: u32) {
        self.now_ns = self.now_ns.max(ts_ns);
        self.since_sweep += 1;
        if self.since_sweep >= SWEEP_EVERY {
            self.since_sweep = 0;
            self.sweep(false);
        }
        let (transport, sport, dport) = match pkt.l4 {
            L4::Tcp { sport, dport, .. } => (Transport::Tcp, sport, dport),
            L4::Udp { sport, dport, .. } => (Transport::Udp, sport, dport),
            L4::Unreachable(u) => {
                let key = ConnKey::new(u.transport, (u.src, u.sport), (u.dst, u.dport));
                match self.slot(key) {
                    Some(i) => self.live[i].1.icmp(&u, at),
                    None => self.stats.icmp_unmatched += 1,
                }
                return;
            }
        };
        let key = ConnKey::new(transport, (pkt.src, sport), (pkt.dst, dport));
        let syn_seq = match pkt.l4 {
            L4::Tcp { flags, seq, .. } if flags.syn && !flags.ack => Some(seq),
            _ => None,
        };
        // One table look-up for a packet of a known connection (the common case), none for a
        // packet of the previous packet's connection. Port reuse: a new SYN on a finished
        // connection starts a new one.
        let i = match self.slot(key) {
            Some(i)
                if !syn_seq
                    .is_some_and(|seq| self.live[i].1.is_reused_by_syn(pkt.src, seq, ts_ns)) =>
            {
                i
            }
            found => {
                if let Some(i) = found {
                    let old = self.remove_live(i);
                    self.fold(old);
                }
                if self.live.len() >= self.max_live {
                    self.stats.live_cap_hit = true;
                    self.sweep(true);
                    if self.live.len() >= self.max_live {
                        self.stats.untracked_packets += 1;
                        return;
                    }
                }
                self.stats.connections += 1;
                let i = self.live.len();
                let mut c = Conn::new(pkt, at, ts_ns, self.dissect);
                if self.dissect && self.direct {
                    c.flow = c.final_key().and_then(|k| self.folder.slot(k, at, ts_ns));
                }
                self.live.push((key, c));
                self.live_index.insert(key, i as u32);
                self.stats.peak_live = self.stats.peak_live.max(self.live.len() as u64);
                i
            }
        };
        let c = &mut self.live[i].1;
        if let (Some(w), Some(d)) = (c.packet(pkt, at, ts_ns, frame_len), c.analysis.as_mut()) {
            if d.wants(&w) {
                let flow = self.folder.evidence(c.flow);
                if work_within(d, &w, at, ts_ns, flow, &mut self.buffered, self.budget) {
                    self.stats.buffer_cap_hits += 1;
                }
            }
        }
        self.last = Some((key, i as u32));
    }

    /// Marks the live UDP connection of `pkt`, just taken by [`Tracker::packet`], as a tunnel of
    /// protocol `service` whose payload was a frame that decoded: its content is proven.
    pub fn carries_tunnel(&mut self, pkt: &Packet, service: &'static str) {
        if let L4::Udp { sport, dport, .. } = pkt.l4 {
            let key = ConnKey::new(Transport::Udp, (pkt.src, sport), (pkt.dst, dport));
            if let Some(i) = self.slot(key) {
                self.live[i].1.carries_tunnel(service);
            }
        }
    }

    /// Where the live connection `key` is, if it is live.
    #[inline(always)]
    fn slot(&self, key: ConnKey) -> Option<usize> {
        match self.last {
            Some((k, i)) if k == key => Some(i as usize),
            _ => self.live_index.get(&key).map(|&i| i as usize),
        }
    }

    /// Takes the live connection at `i` out of the table (the last one moves into its place).
    fn remove_live(&mut self, i: usize) -> Conn {
        let (key, conn) = self.live.swap_remove(i);
        self.live_index.remove(&key);
        if let Some((moved, _)) = self.live.get(i) {
            self.live_index.insert(*moved, i as u32);
        }
        self.last = None;
        conn
    }

    /// Folds connections that went idle (all of the closed ones when `hard`), earliest first.
    fn sweep(&mut self, hard: bool) {
        let now = self.now_ns;
        let mut idle: Vec<(FrameRef, ConnKey)> = self
            .live
            .iter()
            .filter(|(_, c)| c.idle(now, hard))
            .map(|(k, c)| (c.first(), *k))
            .collect();
        idle.sort_by_key(|(first, _)| *first);
        for (_, k) in idle {
            if let Some(&i) = self.live_index.get(&k) {
                let c = self.remove_live(i as usize);
                self.fold(c);
            }
        }
    }

    /// Ends a connection and adds it to its flow.
    fn fold(&mut self, c: Conn) {
        let flow = c.flow;
        let (ended, analysis) = c.end();
        let done = match analysis {
            Some(mut d) => {
                self.buffered = self.buffered.saturating_sub(d.buffered());
                ended.finish(Some(&mut d), self.folder.evidence(flow))
            }
            None => ended.finish(None, None),
        };
        self.folder.fold(done, flow);
    }

    /// Ends every live connection and returns the flow set, sorted by server, transport, port,
    /// client.
    pub fn finish(mut self) -> (Vec<Flow>, TrackerStats) {
        let mut live: Vec<Conn> = std::mem::take(&mut self.live)
            .into_iter()
            .map(|(_, c)| c)
            .collect();
        live.sort_by_key(|c| c.first());
        self.live_index.clear();
        self.last = None;
        for c in live {
            self.fold(c);
        }
        let folder = std::mem::take(&mut self.folder);
        self.stats.flows_dropped = folder.dropped;
        (folder.into_sorted(), self.stats)
    }
}

/// The flow set: connections folded in the order they ended.
pub struct Folder {
    /// The flows, in order of creation, and where each flow is in it: the index holds only
    /// small entries, so growing it does not copy the flows.
    flows: Vec<Flow>,
    index: HashMap<FlowKey, u32, RandomState>,
    /// Connections not stored because the set was full ([`MAX_FLOWS`]).
    dropped: u64,
    /// Where a connection's note is written before it is looked up in its flow's notes.
    scratch: String,
}

impl Default for Folder {
    fn default() -> Self {
        Folder {
            flows: Vec::new(),
            index: HashMap::with_hasher(RandomState::with_seeds(5, 6, 7, 8)),
            dropped: 0,
            scratch: String::new(),
        }
    }
}

impl Folder {
    /// Where the flow `key` is, created empty (first seen at `at`, `ts_ns`) if new, for a
    /// connection that writes into its evidence while it runs; none when the set is full.
    pub fn slot(&mut self, key: FlowKey, at: FrameRef, ts_ns: i64) -> Option<u32> {
        if let Some(&i) = self.index.get(&key) {
            return Some(i);
        }
        if self.flows.len() >= MAX_FLOWS {
            return None;
        }
        let i = self.flows.len() as u32;
        self.index.insert(key, i);
        self.flows.push(Flow::new(key, at, ts_ns));
        Some(i)
    }

    /// The evidence of the flow at `slot` (from [`Folder::slot`]).
    pub fn evidence(&mut self, slot: Option<u32>) -> Option<&mut Evidence> {
        slot.and_then(|i| self.flows.get_mut(i as usize))
            .map(|f| &mut f.evidence)
    }

    /// Adds an ended connection to its flow: the flow at `slot` when its connection had one
    /// ([`Folder::slot`], same key), else found or created by key.
    pub fn fold(&mut self, done: Finished, slot: Option<u32>) {
        let key = done.key;
        if let Some(f) = slot.and_then(|i| self.flows.get_mut(i as usize)) {
            debug_assert_eq!(f.key, key);
            f.absorb(done, &mut self.scratch);
        } else if let Some(&i) = self.index.get(&key) {
            self.flows[i as usize].absorb(done, &mut self.scratch);
        } else if self.flows.len() < MAX_FLOWS {
            self.index.insert(key, self.flows.len() as u32);
            let mut f = Flow::new(key, done.first, done.first_ts);
            f.absorb(done, &mut self.scratch);
            self.flows.push(f);
        } else {
            self.dropped += 1;
        }
    }

    /// The flows, sorted by server, transport, port, client.
    pub fn into_sorted(self) -> Vec<Flow> {
        drop(self.index);
        let mut flows = self.flows;
        flows.sort_unstable_by_key(|f| f.key);
        flows
    }
}

impl Flow {
    /// A flow of no connection yet, first seen at `first`, `ts_ns`.
    fn new(key: FlowKey, first: FrameRef, ts_ns: i64) -> Flow {
        Flow {
            key,
            proven_service: None,
            connections: 0,
            outcomes: OutcomeCounts::default(),
            midstream: 0,
            packets: [0; 2],
            bytes: [0; 2],
            first,
            first_ts: ts_ns,
            last_ts: ts_ns,
            evidence: Evidence::default(),
            icmp: Facts::default(),
            stream_loss: tcp::StreamLoss::default(),
        }
    }

    /// Adds connection `c` to the flow; `scratch` is a buffer for the text of its note.
    fn absorb(&mut self, c: Finished, scratch: &mut String) {
        self.connections += 1;
        match c.outcome {
            Outcome::Established => self.outcomes.established += 1,
            Outcome::Refused => self.outcomes.refused += 1,
            Outcome::Unanswered => self.outcomes.unanswered += 1,
            Outcome::Partial => self.outcomes.partial += 1,
        }
        self.midstream += u64::from(c.midstream);
        for i in 0..2 {
            self.packets[i] += c.packets[i];
            self.bytes[i] += c.bytes[i];
        }
        if c.first < self.first {
            self.first = c.first;
        }
        self.first_ts = self.first_ts.min(c.first_ts);
        self.last_ts = self.last_ts.max(c.last_ts);
        match (self.proven_service, c.service) {
            (None, Some(s)) => self.proven_service = Some(s),
            (Some(a), Some(b)) if a != b => {
                scratch.clear();
                let _ = write!(scratch, "connections proved different services: {a}, {b}");
                self.evidence.notes.add_ref(scratch.as_str(), c.first);
            }
            _ => {}
        }
        self.evidence.merge(c.evidence);
        if let Some(note) = c.note {
            // As merging a connection's notes holding only this one: counted when present,
            // copied in only when new. (Writing into a `String` cannot fail.)
            scratch.clear();
            let _ = write!(scratch, "{note}");
            self.evidence.notes.add_ref(scratch.as_str(), c.first);
        }
        self.icmp.merge(c.icmp);
        self.stream_loss.gaps += c.loss.gaps;
        self.stream_loss.missing_bytes += c.loss.missing_bytes;
        self.stream_loss.overflow_bytes += c.loss.overflow_bytes;
    }

    /// Total packets both ways.
    pub fn total_packets(&self) -> u64 {
        self.packets[0] + self.packets[1]
    }

    /// Total bytes both ways.
    pub fn total_bytes(&self) -> u64 {
        self.bytes[0] + self.bytes[1]
    }
}

impl Flow {
    /// How [`Flow::service`] was decided: "content", "endpoint map" (a port an endpoint mapper
    /// or DCOM activation handed out), or "port".
    pub fn service_from(&self) -> &'static str {
        match (self.proven_service, self.service()) {
            (Some(_), _) => "content",
            (None, "dcerpc") => "endpoint map",
            _ => "port",
        }
    }

    /// The flow's service: what content proved, else "dcerpc" for a port an endpoint mapper or
    /// DCOM activation handed out, else the well-known-port guess ("unknown" if none). The
    /// endpoint mapper's port keeps "epm" when its content proves DCE/RPC.
    pub fn service(&self) -> &'static str {
        let guess = crate::services::well_known(self.key.transport, self.key.port);
        let learned_rpc = self
            .evidence
            .dcerpc
            .as_ref()
            .is_some_and(|d| !d.interfaces.is_empty());
        match self.proven_service {
            Some("dcerpc") if guess == "epm" => "epm",
            Some(s) => s,
            None if learned_rpc && guess != "epm" => "dcerpc",
            None => guess,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{read, Input};
    use crate::decode::{decode, defrag::Defrag};

    /// Every packet of every public capture through one tracker holding at most `max_live`
    /// connections: each file's frames as capture `i` of one set.
    fn run_all(max_live: usize) -> Option<(Vec<Flow>, TrackerStats, u64)> {
        let mut t = Tracker::new();
        t.max_live = max_live;
        let mut packets = 0;
        for (i, path) in crate::proto::testutil::all_captures()?
            .into_iter()
            .enumerate()
        {
            let mut d = Defrag::default();
            read(&Input::Path(path), &mut |f| {
                if let Ok(p) = decode(f.link_type, f.data, f.number, f.ts_ns, &mut d) {
                    // ICMP unreachable messages are attached to connections, not counted.
                    packets += u64::from(!matches!(p.l4, L4::Unreachable(_)));
                    t.packet(&p, FrameRef::new(i as u16, f.number), f.ts_ns, f.orig_len);
                }
            })
            .unwrap();
        }
        let (flows, stats) = t.finish();
        Some((flows, stats, packets))
    }

    /// A tiny live table forces a hard sweep on nearly every new connection, so connections
    /// leave the table from every position (swap-remove bookkeeping, the last-connection cache):
    /// every packet must still land in a flow of its own endpoints, none lost or misplaced.
    #[test]
    fn tiny_live_table_keeps_every_packet_with_its_endpoints() {
        let Some((roomy, roomy_stats, packets)) = run_all(MAX_LIVE_CONNECTIONS) else {
            return;
        };
        let (tight, tight_stats, _) = run_all(4).unwrap();
        assert!(!roomy_stats.live_cap_hit);
        assert!(tight_stats.live_cap_hit);
        let total = |v: &[Flow]| v.iter().map(Flow::total_packets).sum::<u64>();
        assert_eq!(total(&roomy), packets);
        assert_eq!(total(&tight) + tight_stats.untracked_packets, packets);
        // Packets per unordered endpoint pair and transport: folding early may split or
        // re-orient connections, never move a packet to other endpoints.
        let per_pair = |v: &[Flow]| {
            let mut m: std::collections::BTreeMap<_, u64> = std::collections::BTreeMap::new();
            for f in v {
                let (a, b) = (f.key.client, f.key.server);
                let pair = if a <= b { (a, b) } else { (b, a) };
                *m.entry((pair, f.key.transport)).or_default() += f.total_packets();
            }
            m
        };
        let (r, t) = (per_pair(&roomy), per_pair(&tight));
        assert!(tight_stats.untracked_packets > 0 || r == t);
        for (k, n) in &t {
            assert!(r.get(k).is_some_and(|m| m >= n), "{k:?}");
        }
    }

    /// Connections that write into their flow's evidence while they run give every flow of
    /// every public and project capture the evidence that merging each connection's own
    /// evidence at its end gives, in one capture set (frames of several files).
    #[test]
    fn direct_writes_equal_merging_at_the_end() {
        let Some(mut paths) = crate::proto::testutil::all_captures() else {
            return;
        };
        let own = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
        for e in std::fs::read_dir(own).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
                paths.push(p);
            }
        }
        let flows = |direct: bool| {
            let mut t = Tracker::new();
            t.direct = direct;
            for (i, path) in paths.iter().enumerate() {
                let mut d = Defrag::default();
                read(&Input::Path(path.clone()), &mut |f| {
                    if let Ok(p) = decode(f.link_type, f.data, f.number, f.ts_ns, &mut d) {
                        t.packet(&p, FrameRef::new(i as u16, f.number), f.ts_ns, f.orig_len);
                    }
                })
                .unwrap();
            }
            t.finish().0
        };
        let (direct, merged) = (flows(true), flows(false));
        assert_eq!(direct.len(), merged.len());
        let mut with_dns = 0;
        for (a, b) in direct.iter().zip(&merged) {
            assert_eq!(a.key, b.key);
            assert_eq!(
                serde_json::to_string(&a.evidence).unwrap(),
                serde_json::to_string(&b.evidence).unwrap(),
                "{:?}",
                a.key
            );
            assert_eq!(
                (a.connections, a.first, a.first_ts, a.last_ts),
                (b.connections, b.first, b.first_ts, b.last_ts)
            );
            with_dns += usize::from(a.evidence.dns.is_some() && a.connections > 1);
        }
        // The case that matters: flows of many UDP exchanges (one per DNS query) exist.
        assert!(with_dns > 0, "{with_dns}");
    }

    fn run(name: &str, budget: usize) -> (Vec<Flow>, TrackerStats) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("captures")
            .join(name);
        let mut t = Tracker::new();
        t.set_buffer_budget(budget);
        let mut d = Defrag::default();
        read(&Input::Path(path), &mut |f| {
            if let Ok(p) = decode(f.link_type, f.data, f.number, f.ts_ns, &mut d) {
                t.packet(&p, FrameRef::new(0, f.number), f.ts_ns, f.orig_len);
            }
        })
        .unwrap();
        t.finish()
    }

    /// The capture-wide reassembly budget: with room to spare nothing is dropped; with a budget
    /// of one byte every connection that has to wait for the rest of a message loses its buffer,
    /// which is counted, and the flows are still all there.
    #[test]
    fn reassembly_budget_is_enforced_and_counted() {
        let (flows, stats) = run("lab_enroll_story_icpr_dynamic.pcapng", MAX_TOTAL_BUFFERED);
        assert_eq!(stats.buffer_cap_hits, 0);
        assert!(flows.iter().all(|f| f.stream_loss.overflow_bytes == 0));
        let (tight, stats) = run("lab_enroll_story_icpr_dynamic.pcapng", 1);
        assert!(stats.buffer_cap_hits > 0);
        assert!(tight.iter().any(|f| f.stream_loss.overflow_bytes > 0));
        assert_eq!(tight.len(), flows.len());
        let packets = |v: &[Flow]| v.iter().map(Flow::total_packets).sum::<u64>();
        assert_eq!(packets(&tight), packets(&flows));
    }
}
