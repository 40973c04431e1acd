//! The next / consume / refill loop shared by the pcap and pcapng readers.
//!
//! pcap-parser's streaming readers parse out of a fixed buffer ([`BUFFER_LEN`]); this loop refills
//! it when a block is incomplete, grows it only for one block that cannot fit (up to
//! [`MAX_BLOCK_LEN`]), and turns every way a stream can go wrong midway into a [`Damage`] at the
//! offset of the first unreadable block. Format knowledge (how long a block claims to be, whether
//! a bad block may be skipped, what a frame is) lives in the [`Blocks`] implementations.

use std::collections::BTreeMap;

use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapError};

use super::source::ErrorSlot;
use super::{linktype, CaptureInfo, Damage};

/// Size of the parsing buffer: large enough that refills are rare, small enough to stay in L2/L3.
pub const BUFFER_LEN: usize = 1 << 20;
/// Largest block (pcap record or pcapng block, headers included) the buffer grows for. Real
/// frames are at most 256 KiB (Wireshark's WTAP_MAX_PACKET_SIZE_STANDARD) and TSO frames in our
/// captures 62 KB; anything above 64 MiB is a corrupt length, not a frame.
pub const MAX_BLOCK_LEN: u64 = 64 << 20;

/// What one format knows about its blocks.
pub(super) trait Blocks {
    /// Handles one parsed block that starts at stream `offset`; `Err` stops reading with that
    /// message as damage.
    fn block(&mut self, block: &PcapBlockOwned<'_>, offset: u64) -> Result<(), String>;
    /// The total length the block at the start of `head` claims (header included), if its header
    /// is complete.
    fn claimed_len(&self, head: &[u8]) -> Option<u64>;
    /// A block that failed to parse but may be skipped (length known and consistent, not needed
    /// for framing): its length. Counted by the implementation.
    fn skippable(&mut self, head: &[u8]) -> Option<usize>;
    /// Why the block at the start of `head` (complete, per its claimed length) did not parse.
    fn describe_bad(&self, head: &[u8]) -> String;
    /// Name of the unit, for messages: "record" or "block".
    fn unit(&self) -> &'static str;
    /// The fast path for the hot block kind (a classic record, an enhanced packet block): if
    /// `head` starts with one that is complete and well-formed by the same checks pcap-parser
    /// applies, handles it and returns its length. Anything else (another block kind, an
    /// incomplete or malformed block) returns `None` and goes through pcap-parser, which keeps
    /// every header, option and error case. PERF-NOTES: pcap-parser's per-block parsing costs
    /// 15-20 ns per classic record and 55-75 ns per pcapng block; this loop is most of a
    /// flows-only pass on pcapng otherwise.
    fn fast(&mut self, head: &[u8]) -> Option<usize> {
        let _ = head;
        None
    }
}

#[cfg(test)]
thread_local! {
    /// Tests turn the fast path off to compare it with pcap-parser's block by block.
    pub(super) static FAST_PATH: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
}

#[inline]
fn fast_path_on() -> bool {
    #[cfg(test)]
    {
        FAST_PATH.with(|f| f.get())
    }
    #[cfg(not(test))]
    {
        true
    }
}

/// Counts frames per link type and keeps the first/last timestamps, without allocating per frame.
#[derive(Debug, Default)]
pub(super) struct Tally {
    /// Frames delivered so far; the last frame's number.
    pub(super) packets: u64,
    first_ts_ns: Option<i64>,
    last_ts_ns: Option<i64>,
    per_link: Vec<(u32, u64)>,
}

impl Tally {
    /// Counts one frame; returns its 1-based number. `ts_ns` is `None` for frames without a
    /// timestamp (pcapng simple packet blocks).
    #[inline]
    pub(super) fn frame(&mut self, link_type: u32, ts_ns: Option<i64>) -> u64 {
        self.packets += 1;
        if let Some(ts) = ts_ns {
            if self.first_ts_ns.is_none() {
                self.first_ts_ns = Some(ts);
            }
            self.last_ts_ns = Some(ts);
        }
        match self.per_link.iter_mut().find(|(lt, _)| *lt == link_type) {
            Some((_, n)) => *n += 1,
            None => self.per_link.push((link_type, 1)),
        }
        self.packets
    }

    /// Writes the counts into `info`.
    pub(super) fn finish(&self, info: &mut CaptureInfo) {
        info.packets = self.packets;
        info.first_ts_ns = self.first_ts_ns;
        info.last_ts_ns = self.last_ts_ns;
        let mut map = BTreeMap::new();
        for (lt, n) in &self.per_link {
            *map.entry(linktype::name(*lt)).or_insert(0) += n;
        }
        info.link_types = map;
    }
}

/// What went wrong in one `next()` call, without borrowing the reader.
enum Stall {
    Incomplete,
    Truncated,
    Read,
    Bad,
}

/// Reads blocks until the end of the stream; `Some(damage)` when it stopped early.
pub(super) fn drive<R: PcapReaderIterator>(
    reader: &mut R,
    blocks: &mut dyn Blocks,
    errors: &ErrorSlot,
) -> Option<Damage> {
    let mut capacity = BUFFER_LEN;
    let mut fruitless_refills = 0u32;
    let fast = fast_path_on();
    loop {
        if fast {
            let head = reader.data();
            let mut used = 0;
            while let Some(len) = head.get(used..).and_then(|rest| blocks.fast(rest)) {
                used += len;
            }
            if used > 0 {
                reader.consume_noshift(used);
                fruitless_refills = 0;
                continue;
            }
        }
        let offset = reader.consumed() as u64;
        let damage = |message: String| Some(Damage { offset, message });
        let stall = match reader.next() {
            Ok((len, block)) => {
                if let Err(message) = blocks.block(&block, offset) {
                    return damage(message);
                }
                if len == 0 {
                    // pcap-parser never returns an empty block; refuse to spin if it ever did.
                    return damage(format!("{} of length 0", blocks.unit()));
                }
                // No shift here: `consume` moves the rest of the buffer to its start whenever
                // half of it is used, a second copy of every byte read. `refill` shifts only
                // the partial block left when the buffer runs dry.
                reader.consume_noshift(len);
                fruitless_refills = 0;
                continue;
            }
            Err(PcapError::Eof) => return None,
            Err(PcapError::Incomplete(_)) | Err(PcapError::BufferTooSmall) => Stall::Incomplete,
            Err(PcapError::UnexpectedEof) => Stall::Truncated,
            Err(PcapError::ReadError) => Stall::Read,
            Err(_) => Stall::Bad,
        };
        let head = reader.data();
        let avail = head.len() as u64;
        let claimed = blocks.claimed_len(head);
        match stall {
            Stall::Read => return damage(format!("read error: {}", errors.take())),
            Stall::Bad => {
                if let Some(skip) = blocks.skippable(head) {
                    reader.consume(skip);
                    continue;
                }
                return damage(blocks.describe_bad(head));
            }
            Stall::Truncated | Stall::Incomplete => {
                let unit = blocks.unit();
                match claimed {
                    Some(c) if c > MAX_BLOCK_LEN => {
                        return damage(format!(
                            "{unit} claims {c} bytes, more than the {MAX_BLOCK_LEN}-byte limit (corrupt length)"
                        ))
                    }
                    // The whole block is there, yet the parser wants more: its inner lengths
                    // disagree with its outer length.
                    Some(c) if c <= avail => {
                        if let Some(skip) = blocks.skippable(head) {
                            reader.consume(skip);
                            continue;
                        }
                        return damage(blocks.describe_bad(head));
                    }
                    _ => {}
                }
                if matches!(stall, Stall::Truncated) {
                    return damage(match claimed {
                        Some(c) => format!(
                            "truncated: {unit} claims {c} bytes but the capture ends after {avail}"
                        ),
                        None => format!(
                            "truncated: the capture ends inside a {unit} header ({avail} bytes)"
                        ),
                    });
                }
                if let Some(c) = claimed {
                    // c <= MAX_BLOCK_LEN (checked above), so it fits in usize.
                    let needed = usize::try_from(c).unwrap_or(usize::MAX);
                    if needed >= capacity {
                        // One oversized block: grow once, with room for the blocks after it.
                        let new_capacity = needed.saturating_add(BUFFER_LEN);
                        if reader.grow(new_capacity) {
                            capacity = new_capacity;
                        }
                    }
                }
                let before = reader.data().len();
                if reader.refill().is_err() {
                    return damage(format!("read error: {}", errors.take()));
                }
                if reader.data().len() == before && !reader.reader_exhausted() {
                    fruitless_refills += 1;
                    if fruitless_refills > 2 {
                        return damage(format!(
                            "{unit} does not fit the {capacity}-byte buffer and could not be read"
                        ));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::FAST_PATH;
    use crate::capture::{read_stream, CaptureInfo};
    use crate::proto::testutil::{all_captures, Rng};

    /// One frame as (number, timestamp, link type, original length, bytes).
    type Owned = (u64, i64, u32, u32, Vec<u8>);

    /// Every frame, and the summary.
    fn frames(bytes: &[u8], fast: bool) -> (Vec<Owned>, String) {
        FAST_PATH.with(|f| f.set(fast));
        let mut out = Vec::new();
        let result = read_stream("t", bytes, &mut |f| {
            out.push((f.number, f.ts_ns, f.link_type, f.orig_len, f.data.to_vec()))
        });
        FAST_PATH.with(|f| f.set(true));
        let summary = match result {
            Ok(info) => summary(&info),
            Err(e) => format!("error {e}"),
        };
        (out, summary)
    }

    fn summary(i: &CaptureInfo) -> String {
        format!(
            "{} {} {:?} {:?} {:?} {:?} {} {:?} {}",
            i.packets,
            i.variant,
            i.first_ts_ns,
            i.last_ts_ns,
            i.link_types,
            i.damage,
            i.interfaces,
            i.names,
            i.skipped_blocks
        )
    }

    /// The project's own captures (always present) and the public ones (when present).
    fn inputs() -> Vec<PathBuf> {
        let own = concat!(env!("CARGO_MANIFEST_DIR"), "/captures");
        let mut v: Vec<PathBuf> = std::fs::read_dir(own)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        v.retain(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"));
        v.extend(all_captures().unwrap_or_default());
        v.sort();
        v
    }

    /// The fast path and pcap-parser agree frame by frame on every capture, whole, cut at
    /// random offsets and with random bytes overwritten (damage must be found at the same
    /// offset with the same message).
    #[test]
    fn fast_path_matches_pcap_parser() {
        let paths = inputs();
        assert!(paths.len() >= 11, "the project's captures are missing");
        let mut rng = Rng(0x5eed_f00d);
        let mut fast_frames = 0;
        for p in &paths {
            let whole = std::fs::read(p).unwrap();
            let mut variants = vec![whole.clone()];
            for _ in 0..5 {
                let mut cut = whole.clone();
                cut.truncate(rng.below(whole.len()));
                variants.push(cut);
                let mut bent = whole.clone();
                rng.mutate(&mut bent);
                variants.push(bent);
            }
            for bytes in &variants {
                let slow = frames(bytes, false);
                let fast = frames(bytes, true);
                assert_eq!(slow.1, fast.1, "{}", p.display());
                assert_eq!(slow.0.len(), fast.0.len(), "{}", p.display());
                assert!(slow.0 == fast.0, "{}: frames differ", p.display());
                fast_frames += fast.0.len();
            }
        }
        assert!(fast_frames > 10_000, "only {fast_frames} frames compared");
    }
}
