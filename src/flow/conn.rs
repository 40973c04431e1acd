//! One connection: its client and server, counters, outcome and analyzer.

use std::fmt;
use std::net::IpAddr;

use super::dissection::{Dissection, Proven, Work};
use super::tcp::StreamLoss;
use super::{FlowKey, TCP_CLOSED_NS, TCP_IDLE_NS, UDP_IDLE_NS};
use crate::decode::{Packet, Unreachable, L4};
use crate::evidence::{Evidence, Facts, FrameRef};
use crate::proto::{self, Dir, Transport};
use crate::services;

/// How a connection ended, as a firewall reviewer reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// TCP handshake completed (or, seen mid-stream, data flowed both ways); UDP answered.
    Established,
    /// TCP RST answering the SYN, or an ICMP destination-unreachable for the client's packet.
    Refused,
    /// The client sent and nothing came back: SYNs without reply (a likely firewall drop), or
    /// UDP without answer.
    Unanswered,
    /// Seen mid-stream, one way only: the capture cannot tell.
    Partial,
}

/// A live connection.
pub struct Conn {
    client: (IpAddr, u16),
    server: (IpAddr, u16),
    transport: Transport,
    first: FrameRef,
    last: FrameRef,
    first_ts: i64,
    last_ts: i64,
    packets: [u64; 2],
    bytes: [u64; 2],
    syn: bool,
    client_isn: Option<u32>,
    synack: bool,
    rst_to_syn: bool,
    rst: bool,
    fin: [bool; 2],
    midstream: bool,
    icmp_refused: bool,
    icmp: Facts<String>,
    payload_seen: bool,
    /// A packet of it was cut by the capture's snap length.
    cut: bool,
    /// The UDP tunnel protocol its datagrams carried frames in ("vxlan", "geneve" ...).
    tunnel: Option<&'static str>,
    dissect: bool,
    /// The analysis of its content (none in flows-only runs).
    pub analysis: Option<Dissection>,
    /// Where its flow is in the flow set, when the flow is known from the start and the analysis
    /// writes into the flow's evidence (see [`crate::proto::Analyzer`]).
    pub flow: Option<u32>,
}

/// The tracking side of a connection that ended, waiting for what its content proved.
pub struct Ended {
    client: (IpAddr, u16),
    server: (IpAddr, u16),
    transport: Transport,
    first: FrameRef,
    /// Its last frame.
    pub last: FrameRef,
    first_ts: i64,
    /// Its last timestamp.
    pub last_ts: i64,
    packets: [u64; 2],
    bytes: [u64; 2],
    syn: bool,
    synack: bool,
    midstream: bool,
    outcome: Outcome,
    icmp: Facts<String>,
    payload_seen: bool,
    cut: bool,
    tunnel: Option<&'static str>,
    dissect: bool,
}

/// A connection that ended, ready to be folded into its flow.
pub struct Finished {
    /// Its flow.
    pub key: FlowKey,
    /// First frame.
    pub first: FrameRef,
    /// First timestamp.
    pub first_ts: i64,
    /// Last timestamp.
    pub last_ts: i64,
    /// Packets client->server, server->client.
    pub packets: [u64; 2],
    /// Bytes client->server, server->client.
    pub bytes: [u64; 2],
    /// How it ended.
    pub outcome: Outcome,
    /// True if its start was not captured.
    pub midstream: bool,
    /// The service its content proved.
    pub service: Option<&'static str>,
    /// What its content proved.
    pub evidence: Evidence,
    /// ICMP unreachable messages about it.
    pub icmp: Facts<String>,
    /// Reassembly losses.
    pub loss: StreamLoss,
    /// The note on its content (see [`ContentNote`]) still to be added to its flow's
    /// `evidence.notes`; `None` when there is none or it is already in `evidence.notes`.
    pub note: Option<ContentNote>,
}

/// What a connection's content says about its port, kept unformatted until it is added to its
/// flow: the connections of one flow mostly carry the same note, which the flow then only
/// counts, so the text is written into a reused buffer instead of a new `String` per connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentNote {
    /// Content proved a service other than the one the server port suggests.
    Mismatch {
        /// The service the content proved.
        proven: &'static str,
        /// The service the port suggests.
        guess: &'static str,
        /// The server port.
        port: u16,
    },
    /// Payload on a well-known port, but nothing its service's analyzer recognised.
    NotRecognisable {
        /// The service the port suggests.
        guess: &'static str,
        /// The server port.
        port: u16,
        /// Bytes of the connection are missing from the capture (a snap length cut its
        /// packets, or TCP reassembly had holes): the content may be there, unreadable.
        incomplete: bool,
    },
    /// Payload on a port without a well-known service, and no analyzer recognised it.
    NotRecognised {
        /// As in `NotRecognisable`.
        incomplete: bool,
    },
}

/// Appended to a note when the content could not be read whole.
const INCOMPLETE: &str = ": bytes are missing from the capture (snap length or loss)";

impl fmt::Display for ContentNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ContentNote::Mismatch {
                proven,
                guess,
                port,
            } => write!(
                f,
                "content is {proven}, not the {guess} that port {port} suggests"
            ),
            ContentNote::NotRecognisable {
                guess,
                port,
                incomplete,
            } => {
                write!(f, "no recognisable {guess} content on port {port}")?;
                f.write_str(if incomplete { INCOMPLETE } else { "" })
            }
            ContentNote::NotRecognised { incomplete } => {
                f.write_str("content not recognised")?;
                f.write_str(if incomplete { INCOMPLETE } else { "" })
            }
        }
    }
}

/// Decides which end of a connection is the server from its first packet.
///
/// TCP: the SYN's sender is the client (the SYN-ACK's receiver). Without a handshake: the end on
/// a well-known port, then the end below 1024, then (TCP) the lower port; UDP: the first sender is
/// the client unless only its port is well-known.
fn orient(pkt: &Packet) -> ((IpAddr, u16), (IpAddr, u16), bool) {
    let (t, sport, dport, syn, ack) = match pkt.l4 {
        L4::Tcp {
            sport,
            dport,
            flags,
            ..
        } => (Transport::Tcp, sport, dport, flags.syn, flags.ack),
        L4::Udp { sport, dport, .. } => (Transport::Udp, sport, dport, false, false),
        L4::Unreachable(u) => (u.transport, u.sport, u.dport, false, false),
    };
    let src = (pkt.src, sport);
    let dst = (pkt.dst, dport);
    if syn {
        return if ack {
            (dst, src, false)
        } else {
            (src, dst, false)
        };
    }
    let midstream = t == Transport::Tcp;
    let ws = services::is_well_known(t, sport);
    let wd = services::is_well_known(t, dport);
    let dst_is_server = if wd != ws {
        wd
    } else if (sport < 1024) != (dport < 1024) {
        dport < 1024
    } else if t == Transport::Tcp {
        dport <= sport
    } else {
        true
    };
    if dst_is_server {
        (src, dst, midstream)
    } else {
        (dst, src, midstream)
    }
}

impl Conn {
    /// A connection starting with `pkt`; `dissect` false gives it no protocol analysis.
    pub fn new(pkt: &Packet, at: FrameRef, ts_ns: i64, dissect: bool) -> Conn {
        let (client, server, midstream) = orient(pkt);
        let transport = match pkt.l4 {
            L4::Tcp { .. } => Transport::Tcp,
            L4::Udp { .. } => Transport::Udp,
            L4::Unreachable(u) => u.transport,
        };
        Conn {
            client,
            server,
            transport,
            first: at,
            last: at,
            first_ts: ts_ns,
            last_ts: ts_ns,
            packets: [0; 2],
            bytes: [0; 2],
            syn: false,
            client_isn: None,
            synack: false,
            rst_to_syn: false,
            rst: false,
            fin: [false; 2],
            midstream,
            icmp_refused: false,
            icmp: Facts::default(),
            payload_seen: false,
            cut: false,
            tunnel: None,
            dissect,
            analysis: dissect.then(|| Dissection::new(transport, server.1)),
            flow: None,
        }
    }

    fn closed(&self) -> bool {
        self.rst || (self.fin[0] && self.fin[1])
    }

    /// True if a SYN from `src` with sequence number `seq` starts a new connection on this
    /// 5-tuple rather than repeating this one's SYN. A new connection starts from a new initial
    /// sequence number (RFC 9293 3.4.1): a SYN with this one's ISN is a copy of its SYN, even
    /// after the connection closed (a capture on two interfaces may hold a second copy of a
    /// whole connection after the first), while the closed connection would still be kept
    /// (`ts_ns` within [`TCP_CLOSED_NS`] of its last packet).
    pub fn is_reused_by_syn(&self, src: IpAddr, seq: u32, ts_ns: i64) -> bool {
        if self.closed() {
            let copy = src == self.client.0
                && self.client_isn == Some(seq)
                && ts_ns.saturating_sub(self.last_ts) <= TCP_CLOSED_NS;
            return !copy;
        }
        src == self.client.0 && self.synack && self.client_isn.is_some_and(|isn| isn != seq)
    }

    /// Its UDP datagrams carry frames in tunnel protocol `service`.
    pub fn carries_tunnel(&mut self, service: &'static str) {
        self.tunnel = Some(service);
    }

    /// Its transport.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The server's port (as oriented so far).
    pub fn server_port(&self) -> u16 {
        self.server.1
    }

    /// Its first frame.
    pub fn first(&self) -> FrameRef {
        self.first
    }

    /// True when the connection has been quiet long enough to be folded (sooner when `hard`).
    pub fn idle(&self, now: i64, hard: bool) -> bool {
        let quiet = now.saturating_sub(self.last_ts);
        let limit = match self.transport {
            Transport::Tcp if self.closed() => TCP_CLOSED_NS,
            Transport::Tcp => TCP_IDLE_NS,
            Transport::Udp => UDP_IDLE_NS,
        };
        if hard {
            quiet > limit / 10 || self.closed()
        } else {
            quiet > limit
        }
    }

    /// An ICMP destination-unreachable quoting this connection.
    pub fn icmp(&mut self, u: &Unreachable, at: FrameRef) {
        if u.src == self.client.0 && u.sport == self.client.1 {
            self.icmp_refused = true;
        }
        self.icmp.add(u.describe(), at);
    }

    /// Takes one packet of this connection; returns what it gives the connection's analysis
    /// (a SYN, a payload, or a TCP acknowledgment), if anything.
    pub fn packet<'a>(
        &mut self,
        pkt: &Packet<'a>,
        at: FrameRef,
        ts_ns: i64,
        frame_len: u32,
    ) -> Option<Work<'a>> {
        let (sport, payload, cut) = match pkt.l4 {
            L4::Tcp {
                sport,
                payload,
                cut,
                ..
            }
            | L4::Udp {
                sport,
                payload,
                cut,
                ..
            } => (sport, payload, cut),
            L4::Unreachable(_) => return None,
        };
        self.cut |= cut > 0;
        let dir = if (pkt.src, sport) == self.client {
            Dir::ToServer
        } else {
            Dir::ToClient
        };
        let i = dir.index();
        self.packets[i] += 1;
        self.bytes[i] += u64::from(frame_len);
        self.last_ts = self.last_ts.max(ts_ns);
        if at < self.first {
            self.first = at;
        }
        self.last = self.last.max(at);
        let mut work = Work {
            dir,
            syn: None,
            seq: 0,
            ack: None,
            payload,
            cut,
        };
        if let L4::Tcp {
            flags, seq, ack, ..
        } = pkt.l4
        {
            work.seq = seq;
            work.ack = flags.ack.then_some(ack);
            if flags.syn {
                match (dir, flags.ack) {
                    (Dir::ToServer, false) => {
                        self.syn = true;
                        self.client_isn.get_or_insert(seq);
                    }
                    (Dir::ToClient, true) => self.synack = true,
                    _ => {}
                }
                work.syn = Some(seq);
                // A SYN occupies its sequence number: data it carries (TCP Fast Open, RFC
                // 7413) starts after it.
                work.seq = seq.wrapping_add(1);
            }
            if flags.rst {
                self.rst = true;
                if dir == Dir::ToClient && self.syn && !self.synack {
                    self.rst_to_syn = true;
                }
                // The data a RST may carry is diagnostic text (RFC 1122 4.2.2.12), or the
                // client's own bytes echoed by a middlebox that resets the connection; it is
                // not part of the byte stream, and is not analysed (as Wireshark does not).
                work.payload = &[];
                work.cut = 0;
            }
            if flags.fin {
                self.fin[i] = true;
            }
        }
        self.payload_seen |= !work.payload.is_empty();
        (work.syn.is_some() || !work.payload.is_empty() || work.ack.is_some()).then_some(work)
    }

    fn outcome(&self) -> Outcome {
        let both = self.packets[0] > 0 && self.packets[1] > 0;
        match self.transport {
            Transport::Udp if self.packets[1] > 0 => Outcome::Established,
            Transport::Udp if self.icmp_refused => Outcome::Refused,
            Transport::Udp => Outcome::Unanswered,
            Transport::Tcp if self.synack => Outcome::Established,
            Transport::Tcp if self.rst_to_syn || self.icmp_refused => Outcome::Refused,
            Transport::Tcp if both => Outcome::Established,
            Transport::Tcp if self.syn => Outcome::Unanswered,
            Transport::Tcp => Outcome::Partial,
        }
    }

    /// Its flow's key when it is already final: the handshake was captured or it is UDP, so the
    /// content can never swap client and server (see [`Ended::complete`]).
    pub fn final_key(&self) -> Option<FlowKey> {
        (!self.midstream).then_some(FlowKey {
            server: self.server.0,
            transport: self.transport,
            port: self.server.1,
            client: self.client.0,
        })
    }

    /// Ends the tracking side of the connection; its analysis (if any) is taken out of it.
    pub fn end(self) -> (Ended, Option<Dissection>) {
        let outcome = self.outcome();
        (
            Ended {
                client: self.client,
                server: self.server,
                transport: self.transport,
                first: self.first,
                last: self.last,
                first_ts: self.first_ts,
                last_ts: self.last_ts,
                packets: self.packets,
                bytes: self.bytes,
                syn: self.syn,
                synack: self.synack,
                midstream: self.midstream,
                outcome,
                icmp: self.icmp,
                payload_seen: self.payload_seen,
                cut: self.cut,
                tunnel: self.tunnel,
                dissect: self.dissect,
            },
            self.analysis,
        )
    }
}

impl Ended {
    /// Ends the analysis `d` of this connection (if it had one) and joins what it proved; what
    /// the analysis writes into `flow`, its flow's evidence when given, is not in the result.
    pub fn finish(self, d: Option<&mut Dissection>, flow: Option<&mut Evidence>) -> Finished {
        let proven = d.map(|d| d.finish(self.last, self.last_ts, flow));
        self.complete(proven)
    }

    /// The connection with what its content proved (`None`: it had no analyzer).
    pub fn complete(mut self, proven: Option<Proven>) -> Finished {
        let mut proven = proven.unwrap_or_default();
        if self.midstream && !self.syn && !self.synack && proven.roles_reversed {
            self.swap_roles();
        }
        // A tunnel's datagrams held frames that decoded: that proves the tunnel, unless an
        // analyzer proved something else.
        proven.service = proven.service.or(self.tunnel);
        let incomplete = self.cut || proven.loss.missing_bytes > 0;
        let mut note = self.content_note(proven.service, incomplete);
        if let (Some(n), false) = (note, proven.evidence.notes.is_empty()) {
            // The analyzer left notes of its own: the note joins them here, so that merging
            // them into the flow adds them in value order, as it always did.
            proven.evidence.notes.add(n.to_string(), self.first);
            note = None;
        }
        Finished {
            key: FlowKey {
                server: self.server.0,
                transport: self.transport,
                port: self.server.1,
                client: self.client.0,
            },
            first: self.first,
            first_ts: self.first_ts,
            last_ts: self.last_ts,
            packets: self.packets,
            bytes: self.bytes,
            outcome: self.outcome,
            midstream: self.midstream && !self.syn,
            service: proven.service,
            evidence: proven.evidence,
            icmp: self.icmp,
            loss: proven.loss,
            note,
        }
    }

    /// Content proved the guess of client and server wrong (a connection seen mid-stream).
    fn swap_roles(&mut self) {
        std::mem::swap(&mut self.client, &mut self.server);
        self.packets.swap(0, 1);
        self.bytes.swap(0, 1);
    }

    /// Says where content contradicts the port, or was not recognised (`incomplete`: bytes of
    /// it are missing from the capture).
    fn content_note(&self, proven: Option<&'static str>, incomplete: bool) -> Option<ContentNote> {
        if !self.payload_seen || !self.dissect {
            return None;
        }
        let guess = services::well_known(self.transport, self.server.1);
        let port = self.server.1;
        match proven {
            Some(p) => {
                let same = match (proto::by_service(p), proto::by_service(guess)) {
                    (Some(a), Some(b)) => a.name == b.name,
                    _ => p == guess,
                };
                (guess != "unknown" && !same).then_some(ContentNote::Mismatch {
                    proven: p,
                    guess,
                    port,
                })
            }
            None if guess != "unknown" => Some(ContentNote::NotRecognisable {
                guess,
                port,
                incomplete,
            }),
            None => Some(ContentNote::NotRecognised { incomplete }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The notes read exactly as the `format!` calls that wrote them before they were kept
    /// unformatted (the JSON of every flow with a note depends on it).
    #[test]
    fn content_notes_read_as_before() {
        let (p, guess, port) = ("ldap", "http", 8080u16);
        let cases = [
            (
                ContentNote::Mismatch {
                    proven: p,
                    guess,
                    port,
                },
                format!("content is {p}, not the {guess} that port {port} suggests"),
            ),
            (
                ContentNote::NotRecognisable {
                    guess,
                    port,
                    incomplete: false,
                },
                format!("no recognisable {guess} content on port {port}"),
            ),
            (
                ContentNote::NotRecognised { incomplete: false },
                "content not recognised".to_string(),
            ),
            (
                ContentNote::NotRecognisable {
                    guess,
                    port,
                    incomplete: true,
                },
                format!("no recognisable {guess} content on port {port}: bytes are missing from the capture (snap length or loss)"),
            ),
        ];
        for (note, want) in cases {
            assert_eq!(note.to_string(), want);
        }
    }
}
