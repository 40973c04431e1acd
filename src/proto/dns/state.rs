//! Per-connection DNS state: whole datagrams over UDP, and the 2-byte length framing of
//! RFC 1035 4.2.2 over TCP (with resynchronisation after a gap).

use std::cell::RefCell;
use std::fmt::Write;
use std::net::IpAddr;

use crate::evidence::Evidence;
use crate::proto::auth;
use crate::proto::{Analyzer, Ctx, Dir, Transport};

use super::evidence::{AddressName, Answer, DnsEvidence, Query, SrvTarget};
use super::parse::{address_names, rcode_label, Message, Name, RData, Section, HEADER_LEN};

/// Length of the TCP message length prefix (RFC 1035 4.2.2).
pub const TCP_PREFIX_LEN: usize = 2;

/// The DNS analyzer of one connection or UDP exchange. What messages show is written straight
/// into the sink's DNS evidence (see [`Analyzer`]).
#[derive(Default)]
pub struct DnsAnalyzer {
    /// Per direction: out of step after a gap, looking for a message boundary.
    resync: [bool; 2],
    /// A message was decoded.
    proved: bool,
}

/// OPCODE of a dynamic update (RFC 2136 1.3).
const OPCODE_UPDATE: u8 = 5;
/// OPCODE of a zone change notification (RFC 1996 3.1).
const OPCODE_NOTIFY: u8 = 4;

/// The `messages` key a message is counted under: "query" and "response" for standard
/// queries (and any other opcode), "update" and "update_response" for dynamic updates,
/// "notify" and "notify_response" for zone change notifications.
fn message_kind(opcode: u8, response: bool) -> &'static str {
    match (opcode, response) {
        (OPCODE_UPDATE, false) => "update",
        (OPCODE_UPDATE, true) => "update_response",
        (OPCODE_NOTIFY, false) => "notify",
        (OPCODE_NOTIFY, true) => "notify_response",
        (_, false) => "query",
        (_, true) => "response",
    }
}

/// Buffers for reading messages, reused from message to message (and from connection to
/// connection: most connections carry one query and its answer).
#[derive(Default)]
struct Scratch {
    /// The message being read.
    msg: Message,
    /// The text of the answer being recorded.
    data: String,
    /// The address -> name pairs of the response being recorded.
    names: Vec<(IpAddr, Name)>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

impl DnsAnalyzer {
    /// A fresh analyzer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes one message and records what it shows in `ev`; counts it as malformed if
    /// undecodable. A value the flow already holds costs a look-up: nothing is allocated for it
    /// (the message is decoded into the thread's [`Scratch`], whose buffers hold one message at
    /// a time and are reused by every DNS connection).
    fn message(&mut self, ctx: &Ctx, msg: &[u8], sink: &mut Evidence) {
        SCRATCH.with_borrow_mut(|s| {
            if s.msg.read(msg).is_err() {
                dns_of(sink).malformed += 1;
                return;
            }
            self.proved = true;
            Self::record(s, msg, ctx, sink);
        });
    }

    /// Records what the message `msg`, just read into `s`, shows in `ev`.
    fn record(s: &mut Scratch, msg: &[u8], ctx: &Ctx, sink: &mut Evidence) {
        let at = ctx.frame;
        let m = &s.msg;
        // GSS-TSIG (RFC 3645 3.1.1): a TKEY carries a GSS-API token, the client's (an AP-REQ,
        // whose ticket is kept here) or the server's (an AP-REP or KRB-ERROR).
        for r in &m.records {
            if let RData::Tkey { key_start, key_len } = r.data {
                let token = msg.get(key_start..key_start + key_len).unwrap_or_default();
                if let Some(spn) = auth::record_token(sink, token, at) {
                    dns_of(sink).ticket_spns.add(spn, at);
                }
            }
        }
        let ev = dns_of(sink);
        let h = m.header;
        ev.messages
            .add_static(message_kind(h.opcode, h.response), 1);
        ev.records_dropped += m.not_decoded as u64;
        if h.truncated {
            ev.messages.add_static("truncated", 1);
        }
        if h.response {
            ev.rcodes.add_name(rcode_label(h.rcode), 1);
        }
        for q in &m.questions {
            let (name, qtype) = (m.name(q.name), q.qtype.label());
            ev.queries.add_by(
                |v| (v.name.as_str(), &*v.qtype).cmp(&(name, &*qtype)),
                || Query {
                    name: name.to_string(),
                    qtype: qtype.clone(),
                },
                at,
            );
        }
        // An UPDATE's records (RFC 2136 2.4, 2.5) are what the client asks the zone to hold,
        // echoed in the response whatever its code: they answer nothing and name no host.
        if !h.response || h.opcode == OPCODE_UPDATE {
            return;
        }
        let data = &mut s.data;
        for r in &m.records {
            if r.section == Section::Authority {
                continue;
            }
            let name = m.name(r.name);
            data.clear();
            match r.data {
                RData::Addr(a) => push_addr(data, a),
                RData::Cname(t) | RData::Ptr(t) => data.push_str(m.name(t)),
                RData::Srv {
                    priority,
                    weight,
                    port,
                    target,
                } => {
                    let target = m.name(target);
                    for v in [priority, weight, port] {
                        push_u16(data, v);
                        data.push(' ');
                    }
                    data.push_str(target);
                    ev.srv.add_by(
                        |v| (v.name.as_str(), v.target.as_str(), v.port).cmp(&(name, target, port)),
                        || SrvTarget {
                            name: name.to_string(),
                            target: target.to_string(),
                            port,
                        },
                        at,
                    );
                }
                RData::Tkey { .. } | RData::Other(_) => continue,
            }
            let rtype = r.rtype.label();
            ev.answers.add_by(
                |v| {
                    (v.name.as_str(), &*v.rtype, v.data.as_str()).cmp(&(
                        name,
                        &*rtype,
                        data.as_str(),
                    ))
                },
                || Answer {
                    name: name.to_string(),
                    rtype: rtype.clone(),
                    data: data.clone(),
                },
                at,
            );
        }
        address_names(m, &mut s.names);
        for &(address, n) in &s.names {
            let name = m.name(n);
            ev.names.add_by(
                |v| (v.address, v.name.as_str()).cmp(&(address, name)),
                || AddressName {
                    address,
                    name: name.to_string(),
                },
                at,
            );
        }
    }

    /// True if a plausible message start sits at `data`: a length prefix of at least a header,
    /// then what the probe accepts (one question that decodes). Cheap (at most one name read),
    /// so scanning a buffer byte by byte stays linear.
    fn boundary_at(data: &[u8]) -> bool {
        let Some(l) = data.get(..TCP_PREFIX_LEN) else {
            return false;
        };
        let len = usize::from(u16::from_be_bytes([l[0], l[1]]));
        let body = data.get(TCP_PREFIX_LEN..).unwrap_or_default();
        let body = body.get(..len.min(body.len())).unwrap_or_default();
        len >= HEADER_LEN && super::probe(crate::proto::Transport::Udp, body)
    }
}

/// Appends `v` in decimal, as `Display` writes it (the formatter machinery cost more than the
/// rest of recording an SRV answer).
fn push_u16(out: &mut String, v: u16) {
    let mut digits = [0u8; 5];
    let mut n = 0;
    let mut rest = v;
    loop {
        digits[n] = b'0' + (rest % 10) as u8;
        n += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for &d in digits[..n].iter().rev() {
        out.push(char::from(d));
    }
}

/// Appends an address as `Display` writes it (`IpAddr::to_string`), IPv4 digit by digit: the
/// formatter machinery cost more than the rest of recording an A answer.
fn push_addr(out: &mut String, a: IpAddr) {
    let IpAddr::V4(v4) = a else {
        // Writing into a `String` cannot fail.
        let _ = write!(out, "{a}");
        return;
    };
    for (i, o) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        if o >= 100 {
            out.push(char::from(b'0' + o / 100));
        }
        if o >= 10 {
            out.push(char::from(b'0' + o / 10 % 10));
        }
        out.push(char::from(b'0' + o % 10));
    }
}

impl Analyzer for DnsAnalyzer {
    fn stream(&mut self, ctx: &Ctx, data: &[u8], sink: &mut Evidence) -> usize {
        let i = ctx.dir.index();
        let mut pos = 0usize;
        if self.resync[i] {
            // Look for a length prefix followed by a whole decodable message.
            while pos + TCP_PREFIX_LEN + HEADER_LEN <= data.len() {
                if Self::boundary_at(data.get(pos..).unwrap_or_default()) {
                    self.resync[i] = false;
                    break;
                }
                pos += 1;
            }
            if self.resync[i] {
                return pos;
            }
        }
        loop {
            let rest = data.get(pos..).unwrap_or_default();
            let Some(l) = rest.get(..TCP_PREFIX_LEN) else {
                return pos;
            };
            let len = usize::from(u16::from_be_bytes([l[0], l[1]]));
            if len < HEADER_LEN {
                // No message is shorter than its header: the stream is out of step.
                dns_of(sink).malformed += 1;
                self.resync[i] = true;
                return pos + 1;
            }
            let Some(msg) = rest.get(TCP_PREFIX_LEN..TCP_PREFIX_LEN + len) else {
                return pos;
            };
            self.message(ctx, msg, sink);
            pos += TCP_PREFIX_LEN + len;
        }
    }

    fn gap(&mut self, dir: Dir) {
        self.resync[dir.index()] = true;
    }

    fn datagram(&mut self, ctx: &Ctx, data: &[u8], sink: &mut Evidence) {
        self.message(ctx, data, sink);
    }

    /// A message cut by the snap length: its header, and its questions and records whole before
    /// the cut (over TCP after its length prefix, unless resynchronising).
    fn cut(&mut self, ctx: &Ctx, head: &[u8], sink: &mut Evidence) {
        let msg = match ctx.transport {
            Transport::Tcp if self.resync[ctx.dir.index()] => return,
            Transport::Tcp => head.get(TCP_PREFIX_LEN..).unwrap_or_default(),
            Transport::Udp => head,
        };
        SCRATCH.with_borrow_mut(|s| {
            if s.msg.read_cut(msg).is_ok() {
                self.proved = true;
                Self::record(s, msg, ctx, sink);
            }
        });
    }

    fn service(&self) -> Option<&'static str> {
        self.proved.then_some("dns")
    }

    fn finish(&mut self, sink: &mut Evidence) {
        // A connection that carried DNS gives its flow a DNS entry even if no message decoded.
        dns_of(sink);
    }
}

/// The DNS evidence of `sink`, created empty if it has none yet.
fn dns_of(sink: &mut Evidence) -> &mut DnsEvidence {
    sink.dns.get_or_insert_with(Default::default)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// captures/lab_enroll_story_icpr_dynamic.pcapng frame 5, udp.payload: Samba's answer to
    /// the CA's A query for dc1.certflow.lab (A 10.77.0.10, then an SOA in authority).
    const ANSWER_5: &str =
        "5df385800001000100010000036463310863657274666c6f77036c61620000010001c00c\
        000100010000038400040a4d000ac0100006000100000e100023c00c0a686f73746d6173746572c010000000\
        0500000384000002580001518000000e10";

    #[test]
    fn an_answer_cut_short_gives_what_is_whole() {
        use crate::evidence::FrameRef;
        use crate::proto::testutil::hex;
        let msg = hex(ANSWER_5);
        let ctx = |t| Ctx {
            frame: FrameRef::new(0, 5),
            ts_ns: 0,
            dir: Dir::ToClient,
            transport: t,
            server_port: 53,
            midstream: false,
        };
        // Cut after the answer (50 of 97 bytes): the rcode, the question and the A record.
        let mut ev = Evidence::default();
        DnsAnalyzer::new().cut(&ctx(Transport::Udp), &msg[..50], &mut ev);
        let d = ev.dns.expect("dns evidence");
        assert_eq!(d.messages.get("response"), 1);
        assert_eq!(d.rcodes.get("NOERROR"), 1);
        assert_eq!(d.queries.len(), 1);
        assert_eq!(d.answers.len(), 1);
        assert_eq!(d.malformed, 0);
        // Cut inside the answer: the question only; inside the header: nothing.
        let mut ev = Evidence::default();
        DnsAnalyzer::new().cut(&ctx(Transport::Udp), &msg[..40], &mut ev);
        let d = ev.dns.expect("dns evidence");
        assert_eq!((d.queries.len(), d.answers.len()), (1, 0));
        let mut ev = Evidence::default();
        DnsAnalyzer::new().cut(&ctx(Transport::Udp), &msg[..11], &mut ev);
        assert!(ev.dns.is_none());
        // Whole, it was never cut: `read_cut` reads it as `read` does.
        let mut m = Message::default();
        m.read_cut(&msg).unwrap();
        assert_eq!(m.records.len(), 2);
        for n in 0..msg.len() {
            let _ = m.read_cut(&msg[..n]);
        }
    }

    #[test]
    fn push_u16_is_display() {
        for v in (0..=u16::MAX).step_by(7).chain([0, 9, 10, 99, 100, 65535]) {
            let mut s = String::new();
            push_u16(&mut s, v);
            assert_eq!(s, v.to_string());
        }
    }

    #[test]
    fn push_addr_is_display() {
        let addr_text = |a: IpAddr| {
            let mut s = String::from("x");
            push_addr(&mut s, a);
            s.split_off(1)
        };
        for a in 0..=255u8 {
            for b in [0u8, 1, 9, 10, 99, 100, 199, 200, 255] {
                let v4 = IpAddr::from([a, b, 255 - a, a / 3]);
                assert_eq!(addr_text(v4), v4.to_string());
            }
        }
        let v6: IpAddr = "fe80::1:2".parse().unwrap();
        assert_eq!(addr_text(v6), "fe80::1:2");
        assert_eq!(addr_text(IpAddr::from([10, 10, 10, 10])), "10.10.10.10");
    }
}
