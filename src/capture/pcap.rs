//! Classic pcap (draft-ietf-opsawg-pcap section 4 file header, section 5 packet record).
//!
//! Both byte orders and both resolutions (magic a1b2c3d4 microseconds, a1b23c4d nanoseconds)
//! go through pcap-parser's `LegacyPcapReader`; this module turns its records into [`Frame`]s.

use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError};

use super::source::{ErrorSlot, FillReader};
use super::stream::{self, Blocks, Tally, BUFFER_LEN};
use super::{CaptureError, CaptureInfo, Frame};

/// File header length (section 4).
const HEADER_LEN: usize = 24;
/// Packet record header length (section 5): ts_sec, ts_frac, caplen, origlen.
const RECORD_HEADER_LEN: usize = 16;
/// LinkType field bits that hold the link type (libpcap LT_LINKTYPE); the upper bits carry the
/// FCS length, which does not change the frame layout we read.
const LINKTYPE_MASK: u32 = 0x03FF_FFFF;

/// Reads the records of a classic pcap stream into `info`, calling `on_frame` for each.
pub(super) fn read(
    name: &str,
    input: FillReader<'_>,
    errors: &ErrorSlot,
    big_endian: bool,
    nanos: bool,
    info: &mut CaptureInfo,
    on_frame: &mut dyn FnMut(&Frame),
) -> Result<(), CaptureError> {
    let fail = |message: String| CaptureError {
        path: name.to_string(),
        offset: 0,
        message,
    };
    let mut reader = LegacyPcapReader::new(BUFFER_LEN, input).map_err(|e| {
        fail(match e {
            PcapError::Incomplete(_) | PcapError::UnexpectedEof => {
                format!("truncated pcap file header: expected {HEADER_LEN} bytes")
            }
            PcapError::ReadError => format!("cannot read: {}", errors.take()),
            other => format!("bad pcap file header: {other}"),
        })
    })?;
    let (link_type, consumed) = match reader.next() {
        Ok((len, PcapBlockOwned::LegacyHeader(h))) => {
            if h.version_major != 2 {
                return Err(fail(format!(
                    "unsupported pcap version {}.{}: expected 2.4",
                    h.version_major, h.version_minor
                )));
            }
            // Link type numbers are non-negative; the sign bit would be a reserved bit.
            (h.network.0 as u32 & LINKTYPE_MASK, len)
        }
        _ => return Err(fail("bad pcap file header".to_string())),
    };
    reader.consume(consumed);

    info.format = "pcap".to_string();
    info.variant = format!(
        "{}-{}",
        if big_endian { "be" } else { "le" },
        if nanos { "ns" } else { "us" }
    );
    info.interfaces = 1;
    let mut records = Records {
        big_endian,
        frac_to_ns: if nanos { 1 } else { 1_000 },
        link_type,
        tally: Tally::default(),
        on_frame,
    };
    info.damage = stream::drive(&mut reader, &mut records, errors);
    records.tally.finish(info);
    Ok(())
}

/// Packet records of one pcap file (one link type, one resolution).
struct Records<'f> {
    big_endian: bool,
    frac_to_ns: i64,
    link_type: u32,
    tally: Tally,
    on_frame: &'f mut dyn FnMut(&Frame),
}

impl Blocks for Records<'_> {
    #[inline]
    fn block(&mut self, block: &PcapBlockOwned<'_>, _offset: u64) -> Result<(), String> {
        match block {
            PcapBlockOwned::Legacy(r) => {
                let ts_ns =
                    i64::from(r.ts_sec) * 1_000_000_000 + i64::from(r.ts_usec) * self.frac_to_ns;
                let number = self.tally.frame(self.link_type, Some(ts_ns));
                (self.on_frame)(&Frame {
                    number,
                    ts_ns,
                    link_type: self.link_type,
                    data: r.data,
                    orig_len: r.origlen,
                });
                Ok(())
            }
            _ => Err("unexpected pcap file header inside the records".to_string()),
        }
    }

    fn claimed_len(&self, head: &[u8]) -> Option<u64> {
        let caplen: [u8; 4] = head.get(8..12)?.try_into().ok()?;
        let caplen = if self.big_endian {
            u32::from_be_bytes(caplen)
        } else {
            u32::from_le_bytes(caplen)
        };
        Some(RECORD_HEADER_LEN as u64 + u64::from(caplen))
    }

    fn skippable(&mut self, _head: &[u8]) -> Option<usize> {
        None
    }

    fn describe_bad(&self, head: &[u8]) -> String {
        match self.claimed_len(head) {
            Some(len) => format!("malformed packet record (claims {len} bytes)"),
            None => "malformed packet record header".to_string(),
        }
    }

    fn unit(&self) -> &'static str {
        "packet record"
    }
}
