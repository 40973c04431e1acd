//! Per-direction TCP stream reassembly (RFC 9293 3.4 sequence numbers).
//!
//! Delivers each direction's bytes to the connection's analyzer in order, once: retransmissions
//! and overlaps are trimmed, out-of-order segments are held (bounded) until the hole fills, and a
//! hole that never fills becomes a gap: the analyzer is told and resynchronises on the next
//! message, as Suricata does. Every byte not delivered is counted.

use std::collections::BTreeMap;

use crate::evidence::{Evidence, FrameRef};
use crate::proto::{Analyzer, Ctx};

/// Most unconsumed bytes kept for one direction (an analyzer waiting for the rest of a message).
/// DCE/RPC fragments are at most 64 KiB and Kerberos/LDAP messages of AD traffic far below this;
/// a larger message is skipped as a gap.
pub const MAX_PENDING_BYTES: usize = 1 << 20;
/// Most out-of-order segments held for one direction.
pub const MAX_OOO_SEGMENTS: usize = 64;
/// Most out-of-order bytes held for one direction.
pub const MAX_OOO_BYTES: usize = 256 << 10;

/// Largest receive window TCP allows (RFC 7323 2.3: 2^14 shifted by at most 14): an
/// acknowledgment can run no further ahead of the bytes captured.
const MAX_WINDOW: i64 = 1 << 30;

/// Byte counts of what reassembly could not deliver.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamLoss {
    /// Holes declared (the analyzer was told to resynchronise).
    pub gaps: u64,
    /// Bytes missing in those holes (as far as sequence numbers tell).
    pub missing_bytes: u64,
    /// Bytes dropped because a buffer hit its cap.
    pub overflow_bytes: u64,
}

/// One direction of a TCP connection.
#[derive(Debug, Default)]
pub struct Stream {
    /// Next expected sequence number, once known.
    next: Option<u32>,
    /// In-order bytes the analyzer has not consumed yet.
    pending: Vec<u8>,
    /// Segments beyond `next`, keyed by absolute sequence number; their order is the wrapping
    /// distance from `next`. Each keeps the frame (and time) that carried it.
    ooo: BTreeMap<u32, Held>,
    ooo_bytes: usize,
    /// `next` came from a SYN and no payload has arrived yet (see [`Stream::segment`]).
    from_syn: bool,
    /// What could not be delivered.
    pub loss: StreamLoss,
}

/// A segment held beyond a hole.
#[derive(Debug)]
struct Held {
    frame: FrameRef,
    ts_ns: i64,
    data: Vec<u8>,
}

/// Signed distance from `a` to `b` in sequence space.
fn dist(a: u32, b: u32) -> i64 {
    i64::from(b.wrapping_sub(a) as i32)
}

impl Stream {
    /// A SYN with sequence number `isn` was seen: data starts at `isn + 1`. Until payload
    /// arrives, a later SYN (another attempt on the same ports) replaces an earlier one.
    pub fn syn(&mut self, isn: u32) {
        if self.next.is_none() || self.from_syn {
            self.next = Some(isn.wrapping_add(1));
            self.from_syn = true;
        }
    }

    /// True when segments are held beyond a hole.
    pub fn holds(&self) -> bool {
        !self.ooo.is_empty()
    }

    /// The peer acknowledged every byte before `ack` (RFC 9293 3.4). A hole before a held
    /// segment that the acknowledgment covers was received, so it will not be sent again and no
    /// later frame fills it: it is given up now, not at the end of the connection, and the
    /// held bytes are read in their place among the other direction's messages (a request
    /// before the response that acknowledges it). Wireshark marks such an acknowledgment "ACKed
    /// unseen segment".
    pub fn acked(&mut self, ack: u32, an: &mut dyn Analyzer, ev: &mut Evidence, ctx: &Ctx) {
        while let Some(next) = self.next {
            let Some(&seq) = self.ooo.keys().min_by_key(|&&s| dist(next, s)) else {
                break;
            };
            // An acknowledgment further ahead than any window (RFC 7323 2.3: at most 2^30
            // bytes) acknowledges nothing this side sent: a damaged or forged segment.
            if dist(next, ack) <= 0 || dist(next, ack) > MAX_WINDOW || dist(seq, ack) < 0 {
                break;
            }
            self.skip_hole(an, ev, ctx);
        }
    }

    /// Bytes currently buffered (pending + out of order).
    pub fn buffered(&self) -> usize {
        self.pending.len() + self.ooo_bytes
    }

    /// A segment with sequence number `seq` and `payload` arrived; `cut` bytes of it after
    /// `payload` were not captured (a snap length).
    ///
    /// The bytes a snap length cut are a hole known at once: the captured part is delivered,
    /// then the hole is declared and the stream continues after it, so the next segment is in
    /// order and read at its own frame.
    pub fn segment(
        &mut self,
        seq: u32,
        payload: &[u8],
        cut: u32,
        an: &mut dyn Analyzer,
        ev: &mut Evidence,
        ctx: &Ctx,
    ) {
        if payload.is_empty() {
            return;
        }
        // The first payload lies within a window after its SYN (RFC 7323 2.3). One that does
        // not belongs to another attempt on the same ports (a SYN sent again with a new
        // sequence number): the stream starts at it instead.
        if std::mem::take(&mut self.from_syn) {
            let d = self.next.map_or(0, |n| dist(n, seq));
            if !(0..=MAX_WINDOW).contains(&d) {
                self.next = Some(seq);
            }
        }
        let next = *self.next.get_or_insert(seq);
        let d = dist(next, seq);
        if d <= 0 {
            let skip = (-d) as usize;
            if skip < payload.len() {
                let end = seq.wrapping_add(payload.len() as u32);
                self.next = Some(end);
                self.deliver(&payload[skip..], an, ev, ctx);
                if cut > 0 {
                    if !self.pending.is_empty() {
                        // The message the cut ends, offered as it stands (kept for its buffer).
                        let head = std::mem::take(&mut self.pending);
                        an.cut(ctx, &head, ev);
                        self.pending = head;
                    }
                    self.loss.missing_bytes += u64::from(cut);
                    self.gap(an, ctx);
                    self.next = Some(end.wrapping_add(cut));
                }
                // Nearly always empty: segments mostly arrive in order. What this segment makes
                // contiguous is complete at its frame.
                if !self.ooo.is_empty() {
                    self.drain_ooo(an, ev, ctx, false);
                }
            }
            return;
        }
        // A future segment: hold it. If the holding area is full, give up on the earliest hole
        // (which frees at least one held segment; one segment always fits an empty area, since
        // an IP packet is at most 64 KiB) and try again.
        if self.ooo.len() >= MAX_OOO_SEGMENTS || self.ooo_bytes + payload.len() > MAX_OOO_BYTES {
            self.skip_hole(an, ev, ctx);
            self.segment(seq, payload, cut, an, ev, ctx);
            return;
        }
        let e = self.ooo.entry(seq).or_insert_with(|| Held {
            frame: ctx.frame,
            ts_ns: ctx.ts_ns,
            data: Vec::new(),
        });
        if e.data.len() < payload.len() {
            self.ooo_bytes += payload.len() - e.data.len();
            e.data = payload.to_vec();
        }
    }

    /// Delivers held segments that became contiguous: at the current frame (`ctx`) when a
    /// segment just filled the hole before them, at their own frames (`own_frames`) when the
    /// hole was given up, since nothing later completed them.
    fn drain_ooo(&mut self, an: &mut dyn Analyzer, ev: &mut Evidence, ctx: &Ctx, own_frames: bool) {
        while let Some(next) = self.next {
            let Some((&seq, _)) = self.ooo.iter().min_by_key(|(&s, _)| dist(next, s)) else {
                break;
            };
            let d = dist(next, seq);
            if d > 0 {
                break;
            }
            let Some(held) = self.ooo.remove(&seq) else {
                break;
            };
            let data = held.data;
            self.ooo_bytes -= data.len();
            let skip = (-d) as usize;
            if skip < data.len() {
                self.next = Some(seq.wrapping_add(data.len() as u32));
                if own_frames {
                    let at = Ctx {
                        frame: held.frame,
                        ts_ns: held.ts_ns,
                        ..*ctx
                    };
                    self.deliver(&data[skip..], an, ev, &at);
                } else {
                    self.deliver(&data[skip..], an, ev, ctx);
                }
            }
        }
    }

    /// Declares the hole before the earliest held segment lost and continues from it.
    pub(crate) fn skip_hole(&mut self, an: &mut dyn Analyzer, ev: &mut Evidence, ctx: &Ctx) {
        let Some(next) = self.next else { return };
        let Some(&seq) = self.ooo.keys().min_by_key(|&&s| dist(next, s)) else {
            return;
        };
        self.loss.missing_bytes += dist(next, seq).max(0) as u64;
        self.gap(an, ctx);
        self.next = Some(seq);
        self.drain_ooo(an, ev, ctx, true);
    }

    fn gap(&mut self, an: &mut dyn Analyzer, ctx: &Ctx) {
        self.loss.gaps += 1;
        self.pending.clear();
        an.gap(ctx.dir);
    }

    /// Hands in-order bytes to the analyzer, keeping what it did not consume.
    fn deliver(&mut self, data: &[u8], an: &mut dyn Analyzer, ev: &mut Evidence, ctx: &Ctx) {
        if self.pending.is_empty() {
            let used = an.stream(ctx, data, ev).min(data.len());
            self.keep(&data[used..], an, ctx);
        } else {
            self.pending.extend_from_slice(data);
            let buf = std::mem::take(&mut self.pending);
            let used = an.stream(ctx, &buf, ev).min(buf.len());
            self.pending = buf;
            self.pending.drain(..used);
            if self.pending.len() > MAX_PENDING_BYTES {
                self.loss.overflow_bytes += self.pending.len() as u64;
                self.gap(an, ctx);
            }
        }
    }

    fn keep(&mut self, rest: &[u8], an: &mut dyn Analyzer, ctx: &Ctx) {
        if rest.len() > MAX_PENDING_BYTES {
            self.loss.overflow_bytes += rest.len() as u64;
            self.gap(an, ctx);
        } else {
            self.pending.extend_from_slice(rest);
        }
    }

    /// Drops everything buffered (the capture-wide buffer budget is spent): counted as overflow,
    /// and the analyzer resynchronises on what comes next. Returns the bytes freed.
    pub fn shed(&mut self, an: &mut dyn Analyzer, ctx: &Ctx) -> usize {
        let n = self.buffered();
        if n > 0 {
            self.loss.overflow_bytes += n as u64;
            self.ooo.clear();
            self.ooo_bytes = 0;
            self.gap(an, ctx);
        }
        n
    }

    /// End of the connection: held segments are delivered across their holes.
    pub fn finish(&mut self, an: &mut dyn Analyzer, ev: &mut Evidence, ctx: &Ctx) {
        while !self.ooo.is_empty() {
            let before = self.ooo.len();
            self.skip_hole(an, ev, ctx);
            if self.ooo.len() == before {
                break;
            }
        }
        self.ooo.clear();
        self.ooo_bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::FrameRef;
    use crate::proto::{Dir, Transport};

    /// Records what it is given; consumes whole 4-byte records only.
    #[derive(Default)]
    struct Rec {
        got: Vec<u8>,
        gaps: usize,
        /// The frame each record was read at.
        frames: Vec<FrameRef>,
    }
    impl Analyzer for Rec {
        fn stream(&mut self, ctx: &Ctx, data: &[u8], _ev: &mut Evidence) -> usize {
            let n = data.len() / 4 * 4;
            self.got.extend_from_slice(&data[..n]);
            self.frames.extend(std::iter::repeat_n(ctx.frame, n / 4));
            n
        }
        fn gap(&mut self, _d: Dir) {
            self.gaps += 1;
        }
        fn service(&self) -> Option<&'static str> {
            None
        }
        fn finish(&mut self, _ev: &mut Evidence) {}
    }

    fn ctx() -> Ctx {
        at(1)
    }

    fn at(frame: u64) -> Ctx {
        Ctx {
            frame: FrameRef::new(0, frame),
            ts_ns: 0,
            dir: Dir::ToServer,
            transport: Transport::Tcp,
            server_port: 1,
            midstream: false,
        }
    }

    #[test]
    fn reorders_trims_and_waits_for_whole_records() {
        let mut s = Stream::default();
        let mut a = Rec::default();
        s.syn(999);
        s.segment(1006, b"ghij", 0, &mut a, &mut Evidence::default(), &ctx()); // ahead: held
        s.segment(1000, b"abc", 0, &mut a, &mut Evidence::default(), &ctx()); // partial record: pending
        assert_eq!(a.got, b"");
        s.segment(1000, b"abcdef", 0, &mut a, &mut Evidence::default(), &ctx()); // retransmission with 3 new bytes
        assert_eq!(a.got, b"abcdefgh");
        s.segment(1003, b"def", 0, &mut a, &mut Evidence::default(), &ctx()); // pure retransmission
        assert_eq!(a.got, b"abcdefgh");
        assert_eq!(a.gaps, 0);
        assert_eq!(s.buffered(), 2);
    }

    #[test]
    fn a_syn_fixes_where_the_bytes_start() {
        let ev = &mut Evidence::default();
        // The first data segment after the SYN was lost: a hole of 8 bytes, not a start.
        let (mut s, mut a) = (Stream::default(), Rec::default());
        s.syn(999);
        s.segment(1008, b"ijkl", 0, &mut a, ev, &ctx());
        assert_eq!(a.got, b"");
        s.finish(&mut a, ev, &ctx());
        assert_eq!(a.got, b"ijkl");
        assert_eq!((a.gaps, s.loss.missing_bytes), (1, 8));
        // Data before the SYN's sequence number, or more than a window after it, belongs to
        // another attempt on the same ports: the stream starts at it.
        for first in [500u32, 999 + (1 << 30) + 2] {
            let (mut s, mut a) = (Stream::default(), Rec::default());
            s.syn(999);
            s.segment(first, b"abcd", 0, &mut a, ev, &ctx());
            s.segment(first.wrapping_add(4), b"efgh", 0, &mut a, ev, &ctx());
            assert_eq!(a.got, b"abcdefgh", "first at {first}");
            assert_eq!(a.gaps, 0);
        }
    }

    #[test]
    fn hole_becomes_gap_at_finish() {
        let mut s = Stream::default();
        let mut a = Rec::default();
        s.segment(100, b"abcd", 0, &mut a, &mut Evidence::default(), &ctx());
        s.segment(110, b"wxyz", 0, &mut a, &mut Evidence::default(), &ctx());
        s.finish(&mut a, &mut Evidence::default(), &ctx());
        assert_eq!(a.got, b"abcdwxyz");
        assert_eq!(a.gaps, 1);
        assert_eq!(s.loss.missing_bytes, 6);
    }

    #[test]
    fn held_records_are_read_at_the_frame_that_completed_them() {
        let ev = &mut Evidence::default();
        // The hole is filled (frame 3): the held record is complete only then.
        let (mut s, mut a) = (Stream::default(), Rec::default());
        s.segment(100, b"abcd", 0, &mut a, ev, &at(1));
        s.segment(108, b"ijkl", 0, &mut a, ev, &at(2));
        s.segment(104, b"efgh", 0, &mut a, ev, &at(3));
        let f = |n| FrameRef::new(0, n);
        assert_eq!(a.frames, [f(1), f(3), f(3)]);
        // The hole is never filled (capture loss): the held record was whole at its own frame
        // (2), not at the frame that ended the connection (9).
        let (mut s, mut a) = (Stream::default(), Rec::default());
        s.segment(100, b"abcd", 0, &mut a, ev, &at(1));
        s.segment(108, b"ijkl", 0, &mut a, ev, &at(2));
        s.finish(&mut a, ev, &at(9));
        assert_eq!(a.frames, [f(1), f(2)]);
        assert_eq!(a.gaps, 1);
    }

    #[test]
    fn a_hole_the_peer_acknowledged_is_given_up_at_once() {
        let ev = &mut Evidence::default();
        let f = |n| FrameRef::new(0, n);
        // Bytes 104..108 never captured; 108..112 held (frame 2).
        let (mut s, mut a) = (Stream::default(), Rec::default());
        s.segment(100, b"abcd", 0, &mut a, ev, &at(1));
        s.segment(108, b"ijkl", 0, &mut a, ev, &at(2));
        // An acknowledgment of part of the hole only, or of nothing new: the rest may still
        // come (a retransmission).
        s.acked(106, &mut a, ev, &at(3));
        s.acked(104, &mut a, ev, &at(3));
        s.acked(90, &mut a, ev, &at(3));
        assert_eq!((a.got.as_slice(), a.gaps), (&b"abcd"[..], 0));
        assert!(s.holds());
        // Up to the held segment: the hole was received and will not be sent again. The held
        // record is read now, at its own frame.
        s.acked(108, &mut a, ev, &at(4));
        assert_eq!((a.got.as_slice(), a.gaps), (&b"abcdijkl"[..], 1));
        assert_eq!(a.frames, [f(1), f(2)]);
        assert_eq!(s.loss.missing_bytes, 4);
        assert!(!s.holds());
        // Two holes, one acknowledgment beyond both: both given up in order.
        let (mut s, mut a) = (Stream::default(), Rec::default());
        s.segment(100, b"abcd", 0, &mut a, ev, &at(1));
        s.segment(108, b"ijkl", 0, &mut a, ev, &at(2));
        s.segment(116, b"qrst", 0, &mut a, ev, &at(3));
        s.acked(120, &mut a, ev, &at(4));
        assert_eq!((a.got.as_slice(), a.gaps), (&b"abcdijklqrst"[..], 2));
        assert_eq!(a.frames, [f(1), f(2), f(3)]);
        // Across the sequence number wrap.
        let (mut s, mut a) = (Stream::default(), Rec::default());
        s.segment(u32::MAX - 3, b"abcd", 0, &mut a, ev, &at(1));
        s.segment(4, b"ijkl", 0, &mut a, ev, &at(2));
        s.acked(2, &mut a, ev, &at(3));
        assert_eq!(a.gaps, 0);
        s.acked(4, &mut a, ev, &at(3));
        assert_eq!((a.got.as_slice(), a.gaps), (&b"abcdijkl"[..], 1));
        // An acknowledgment beyond any window is no proof.
        let (mut s, mut a) = (Stream::default(), Rec::default());
        s.segment(100, b"abcd", 0, &mut a, ev, &at(1));
        s.segment(108, b"ijkl", 0, &mut a, ev, &at(2));
        s.acked(104 + (1 << 30) + 1, &mut a, ev, &at(3));
        assert!(s.holds() && a.gaps == 0);
    }

    #[test]
    fn bytes_cut_by_the_snap_length_are_a_hole_at_once() {
        // A 6-byte segment captured as its first 3 bytes, then the next one in order: the
        // first record's start is dropped with the hole, and the next segment is delivered
        // when it arrives, not held for the missing bytes.
        let mut s = Stream::default();
        let mut a = Rec::default();
        s.segment(100, b"abc", 3, &mut a, &mut Evidence::default(), &ctx());
        assert_eq!((s.loss.gaps, s.loss.missing_bytes), (1, 3));
        assert_eq!(a.gaps, 1);
        s.segment(106, b"wxyz", 0, &mut a, &mut Evidence::default(), &ctx());
        assert_eq!(a.got, b"wxyz");
        assert_eq!(s.buffered(), 0);
    }

    #[test]
    fn sequence_wraparound() {
        let mut s = Stream::default();
        let mut a = Rec::default();
        s.segment(
            u32::MAX - 1,
            b"abcd",
            0,
            &mut a,
            &mut Evidence::default(),
            &ctx(),
        );
        s.segment(2, b"efgh", 0, &mut a, &mut Evidence::default(), &ctx());
        assert_eq!(a.got, b"abcdefgh");
    }
}
