//! One connection's protocol analysis: the analyzer chosen by content (or port) and the TCP
//! reassembly that feeds it.
//!
//! A [`Dissection`] is owned by its connection's [`super::Conn`], but the tracking side ([`super::Conn`]: counters, outcome) never reads it. It is driven by
//! [`Work`], what one packet gives it, and ends with a [`Proven`], what the content proved.

use super::tcp::{Stream, StreamLoss};
use crate::evidence::{Evidence, FrameRef};
use crate::proto::{self, Analyzer, Ctx, Dir, Transport};
use crate::services;

/// Payloads of a connection on a port without a well-known service offered to the probes
/// before it is left unanalysed (a capture that starts mid-message shows tails first).
pub const MAX_PROBE_TRIES: u8 = 8;

/// What one packet gives a connection's analysis.
#[derive(Debug, Clone, Copy)]
pub struct Work<'a> {
    /// Which way it travelled.
    pub dir: Dir,
    /// TCP: the sequence number of a SYN.
    pub syn: Option<u32>,
    /// TCP: the sequence number of the first payload byte.
    pub seq: u32,
    /// TCP: the acknowledgment number, when the ACK flag is set.
    pub ack: Option<u32>,
    /// The payload (TCP segment or whole UDP datagram); may be empty.
    pub payload: &'a [u8],
    /// Bytes a snap length cut off the end of `payload` (0: it is whole).
    pub cut: u32,
}

/// What a connection's content proved, once it ended.
#[derive(Debug, Default)]
pub struct Proven {
    /// The service the content proved.
    pub service: Option<&'static str>,
    /// The analyzer's evidence.
    pub evidence: Evidence,
    /// Reassembly losses.
    pub loss: StreamLoss,
    /// The content shows that client and server were taken the wrong way round.
    pub roles_reversed: bool,
}

/// Analysis state of one connection.
pub struct Dissection {
    transport: Transport,
    server_port: u16,
    /// TCP: the sequence number of each direction's latest SYN, once seen. It fixes where the
    /// direction's bytes start (a lost first segment is a hole, not a start), and a direction
    /// without one may begin mid-message ([`Ctx::midstream`]).
    isn: [Option<u32>; 2],
    probe_tries: u8,
    chosen: bool,
    analyzer: Option<Box<dyn Analyzer>>,
    streams: Option<Box<[Stream; 2]>>,
    /// The connection's own evidence sink, made when first needed: when its flow is not known
    /// while it runs (see [`Analyzer`]). Handed over in [`Proven::evidence`].
    own: Option<Box<Evidence>>,
}

impl Dissection {
    /// Nothing seen yet of a connection to `server_port`.
    pub fn new(transport: Transport, server_port: u16) -> Self {
        Dissection {
            transport,
            server_port,
            isn: [None; 2],
            probe_tries: 0,
            chosen: false,
            analyzer: None,
            streams: None,
            own: None,
        }
    }

    /// The contexts of both directions, in [`Dir::index`] order.
    fn both_ctx(&self, at: FrameRef, ts_ns: i64) -> [Ctx; 2] {
        [Dir::ToServer, Dir::ToClient].map(|d| self.ctx(at, ts_ns, d))
    }

    fn ctx(&self, at: FrameRef, ts_ns: i64, dir: Dir) -> Ctx {
        Ctx {
            frame: at,
            ts_ns,
            dir,
            transport: self.transport,
            server_port: self.server_port,
            midstream: self.transport == Transport::Tcp && self.isn[dir.index()].is_none(),
        }
    }

    /// Bytes held by this connection's reassembly buffers.
    pub fn buffered(&self) -> usize {
        self.streams
            .as_ref()
            .map_or(0, |s| s[0].buffered() + s[1].buffered())
    }

    /// Drops this connection's reassembly buffers (see [`Stream::shed`]); returns the bytes freed.
    pub fn shed(&mut self, at: FrameRef, ts_ns: i64) -> usize {
        let ctxs = self.both_ctx(at, ts_ns);
        let (Some(an), Some(st)) = (self.analyzer.as_mut(), self.streams.as_mut()) else {
            return 0;
        };
        let mut freed = 0;
        for (s, ctx) in st.iter_mut().zip(&ctxs) {
            freed += s.shed(an.as_mut(), ctx);
        }
        freed
    }

    /// Picks the analyzer from the first payload.
    /// A capture that starts inside a message shows a tail first: the probes are tried again on
    /// the next payloads (up to [`MAX_PROBE_TRIES`]) before the connection is left unanalysed.
    fn choose(&mut self, payload: &[u8]) {
        self.probe_tries += 1;
        self.chosen = true;
        let port = self.server_port;
        if let Some(d) = proto::DISSECTORS
            .iter()
            .find(|d| (d.probe)(self.transport, payload))
        {
            self.analyzer = Some((d.new)(self.transport, port));
        } else if let Some(d) = proto::by_service(services::well_known(self.transport, port)) {
            self.analyzer = Some((d.new)(self.transport, port));
        } else if self.probe_tries < MAX_PROBE_TRIES {
            self.chosen = false;
        }
        if self.analyzer.is_some() && self.transport == Transport::Tcp {
            let mut st: Box<[Stream; 2]> = Box::default();
            for (s, isn) in st.iter_mut().zip(self.isn) {
                if let Some(isn) = isn {
                    s.syn(isn);
                }
            }
            self.streams = Some(st);
        }
    }

    /// True when `w` gives this analysis anything: a SYN, payload, or an acknowledgment while
    /// the other direction holds segments beyond a hole (see [`Stream::acked`]).
    pub fn wants(&self, w: &Work) -> bool {
        w.syn.is_some() || !w.payload.is_empty() || self.acked_hole(w).is_some()
    }

    /// `w`'s acknowledgment number when the other direction holds segments beyond a hole.
    fn acked_hole(&self, w: &Work) -> Option<u32> {
        let other = w.dir.reverse().index();
        w.ack
            .filter(|_| self.streams.as_ref().is_some_and(|s| s[other].holds()))
    }

    /// Takes what one packet (frame `at`, time `ts_ns`) gives. `flow` is the evidence of the
    /// connection's flow when that is known while the connection runs; what the content proves
    /// is written there, else into the connection's own evidence.
    pub fn work(&mut self, w: &Work, at: FrameRef, ts_ns: i64, flow: Option<&mut Evidence>) {
        let i = w.dir.index();
        if let Some(seq) = w.syn {
            self.isn[i] = Some(seq);
            if let Some(s) = self.streams.as_mut() {
                s[i].syn(seq);
            }
        }
        let acked = self.acked_hole(w);
        if w.payload.is_empty() && acked.is_none() {
            return;
        }
        if !self.chosen && !w.payload.is_empty() {
            self.choose(w.payload);
        }
        let ctx = self.ctx(at, ts_ns, w.dir);
        let back = self.ctx(at, ts_ns, w.dir.reverse());
        let ev = match flow {
            Some(ev) => ev,
            None => self.own.get_or_insert_with(Box::default),
        };
        // What this packet acknowledges of the other direction is read before its own payload
        // (a response after the request it answers).
        if let (Some(ack), Some(an), Some(st)) =
            (acked, self.analyzer.as_mut(), self.streams.as_mut())
        {
            st[w.dir.reverse().index()].acked(ack, an.as_mut(), ev, &back);
        }
        if w.payload.is_empty() {
            return;
        }
        match self.transport {
            Transport::Tcp => {
                if let (Some(an), Some(st)) = (self.analyzer.as_mut(), self.streams.as_mut()) {
                    st[i].segment(w.seq, w.payload, w.cut, an.as_mut(), ev, &ctx);
                }
            }
            Transport::Udp => {
                if let Some(an) = self.analyzer.as_mut() {
                    if w.cut > 0 {
                        an.cut(&ctx, w.payload, ev);
                    } else {
                        an.datagram(&ctx, w.payload, ev);
                    }
                }
            }
        }
    }

    /// Ends the analysis: flushes reassembly (bytes delivered now are attributed to `last`, the
    /// connection's last frame, at `last_ts`) and collects what the analyzer proved: into
    /// `flow` when given (as in [`Dissection::work`]); [`Proven::evidence`] holds what was
    /// written into the connection's own evidence.
    pub fn finish(&mut self, last: FrameRef, last_ts: i64, flow: Option<&mut Evidence>) -> Proven {
        let mut proven = Proven {
            evidence: self.own.take().map(|b| *b).unwrap_or_default(),
            ..Proven::default()
        };
        let ctxs = self.both_ctx(last, last_ts);
        let Some(an) = self.analyzer.as_mut() else {
            return proven;
        };
        let ev = flow.unwrap_or(&mut proven.evidence);
        if let Some(st) = self.streams.as_mut() {
            for (s, ctx) in st.iter_mut().zip(&ctxs) {
                s.finish(an.as_mut(), ev, ctx);
                proven.loss.gaps += s.loss.gaps;
                proven.loss.missing_bytes += s.loss.missing_bytes;
                proven.loss.overflow_bytes += s.loss.overflow_bytes;
            }
        }
        an.finish(ev);
        proven.service = an.service();
        proven.roles_reversed = an.roles_reversed();
        proven
    }
}

/// Analyses what one packet gives `d`, keeping a reassembly budget shared by the connections
/// of one thread: `buffered` is their total, and when this packet takes it over `budget`, this
/// connection's buffers are dropped (counted in its stream loss). Returns true when that
/// happened.
pub fn work_within(
    d: &mut Dissection,
    w: &Work,
    at: FrameRef,
    ts_ns: i64,
    flow: Option<&mut Evidence>,
    buffered: &mut usize,
    budget: usize,
) -> bool {
    let before = d.buffered();
    d.work(w, at, ts_ns, flow);
    *buffered = (*buffered + d.buffered()).saturating_sub(before);
    if *buffered > budget {
        *buffered = buffered.saturating_sub(d.shed(at, ts_ns));
        return true;
    }
    false
}
