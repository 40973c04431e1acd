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

impl Records<'_> {
    /// Numbers and hands over one record (section 5): seconds, fraction (micro- or
    /// nanoseconds), captured bytes, original length.
    #[inline]
    fn emit(&mut self, ts_sec: u32, ts_frac: u32, data: &[u8], orig_len: u32) {
        let ts_ns = i64::from(ts_sec) * 1_000_000_000 + i64::from(ts_frac) * self.frac_to_ns;
        let number = self.tally.frame(self.link_type, Some(ts_ns));
        (self.on_frame)(&Frame {
            number,
            ts_ns,
            link_type: self.link_type,
            data,
            orig_len,
        });
    }
}

impl Blocks for Records<'_> {
    #[inline]
    fn block(&mut self, block: &PcapBlockOwned<'_>, _offset: u64) -> Result<(), String> {
        match block {
            PcapBlockOwned::Legacy(r) => {
                self.emit(r.ts_sec, r.ts_usec, r.data, r.origlen);
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

    /// A complete record: its 16-byte header (section 5) and `caplen` bytes. pcap-parser
    /// checks nothing more (`parse_pcap_frame`), so neither does this.
    #[inline]
    fn fast(&mut self, head: &[u8]) -> Option<usize> {
        let header: &[u8; RECORD_HEADER_LEN] = head.first_chunk()?;
        let field = |at: usize| {
            let v =
                u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]]);
            if self.big_endian {
                v.swap_bytes()
            } else {
                v
            }
        };
        let caplen = usize::try_from(field(8)).ok()?;
        let end = RECORD_HEADER_LEN.checked_add(caplen)?;
        let data = head.get(RECORD_HEADER_LEN..end)?;
        self.emit(field(0), field(4), data, field(12));
        Some(end)
    }
}

#[cfg(test)]
mod tests {
    use crate::capture::{read_stream, CaptureError, CaptureInfo};

    /// The whole of kerberos_udp_vlan_krb_error.pcap (537 bytes; ntop/nDPI
    /// tests/cfgs/default/pcap/kerberos-error.pcap): little-endian microseconds, Ethernet,
    /// frames 1 (333 bytes) and 2 (148 bytes).
    #[rustfmt::skip]
    const KRB_ERROR_PCAP: &[u8] = &[
        0xd4, 0xc3, 0xb2, 0xa1, 0x02, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xff, 0xff, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xbc, 0x94, 0x14, 0x62, 0x7b, 0xd2, 0x03, 0x00,
        0x4d, 0x01, 0x00, 0x00, 0x4d, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c,
        0x00, 0x00, 0x00, 0x08, 0x81, 0x00, 0x07, 0xd8, 0x08, 0x00, 0x45, 0x00, 0x01, 0x3b, 0x4e, 0x86,
        0x40, 0x00, 0x39, 0x11, 0x72, 0x2d, 0x94, 0x97, 0x4f, 0xb7, 0x90, 0xc7, 0x0a, 0xe9, 0x86, 0xa9,
        0x00, 0x58, 0x01, 0x27, 0xc1, 0xdc, 0x6a, 0x82, 0x01, 0x1b, 0x30, 0x82, 0x01, 0x17, 0xa1, 0x03,
        0x02, 0x01, 0x05, 0xa2, 0x03, 0x02, 0x01, 0x0a, 0xa3, 0x58, 0x30, 0x56, 0x30, 0x48, 0xa1, 0x03,
        0x02, 0x01, 0x02, 0xa2, 0x41, 0x04, 0x3f, 0x30, 0x3d, 0xa0, 0x03, 0x02, 0x01, 0x17, 0xa2, 0x36,
        0x04, 0x34, 0xb6, 0x0e, 0x0b, 0x50, 0x5f, 0x98, 0x10, 0x42, 0x06, 0xf6, 0x25, 0x03, 0xb8, 0xe0,
        0xe7, 0xc8, 0x2d, 0x84, 0x2e, 0x6f, 0x01, 0xe5, 0xc7, 0xf0, 0xe1, 0x54, 0x0d, 0x1e, 0xa4, 0xc7,
        0xe8, 0x91, 0x81, 0xe6, 0x96, 0x91, 0xe0, 0xc4, 0x1d, 0x77, 0x56, 0x49, 0xbd, 0x7f, 0xa5, 0xac,
        0x4b, 0x18, 0x74, 0xa9, 0x19, 0x15, 0x30, 0x0a, 0xa1, 0x04, 0x02, 0x02, 0x00, 0x95, 0xa2, 0x02,
        0x04, 0x00, 0xa4, 0x81, 0xb0, 0x30, 0x81, 0xad, 0xa0, 0x07, 0x03, 0x05, 0x00, 0x00, 0x81, 0x00,
        0x00, 0xa1, 0x1f, 0x30, 0x1d, 0xa0, 0x03, 0x02, 0x01, 0x01, 0xa1, 0x16, 0x30, 0x14, 0x1b, 0x04,
        0x68, 0x6f, 0x73, 0x74, 0x1b, 0x0c, 0x6d, 0x75, 0x73, 0x2d, 0x6e, 0x2d, 0x63, 0x6a, 0x30, 0x37,
        0x30, 0x39, 0xa2, 0x11, 0x1b, 0x0f, 0x4c, 0x49, 0x4e, 0x55, 0x58, 0x2e, 0x53, 0x48, 0x45, 0x4c,
        0x4c, 0x2e, 0x43, 0x4f, 0x4d, 0xa3, 0x24, 0x30, 0x22, 0xa0, 0x03, 0x02, 0x01, 0x02, 0xa1, 0x1b,
        0x30, 0x19, 0x1b, 0x06, 0x6b, 0x72, 0x62, 0x74, 0x67, 0x74, 0x1b, 0x0f, 0x4c, 0x49, 0x4e, 0x55,
        0x58, 0x2e, 0x53, 0x48, 0x45, 0x4c, 0x4c, 0x2e, 0x43, 0x4f, 0x4d, 0xa5, 0x11, 0x18, 0x0f, 0x32,
        0x30, 0x32, 0x32, 0x30, 0x32, 0x32, 0x33, 0x30, 0x37, 0x34, 0x36, 0x30, 0x33, 0x5a, 0xa6, 0x11,
        0x18, 0x0f, 0x32, 0x30, 0x32, 0x32, 0x30, 0x33, 0x30, 0x34, 0x30, 0x37, 0x34, 0x36, 0x30, 0x33,
        0x5a, 0xa7, 0x06, 0x02, 0x04, 0x47, 0xa1, 0xfa, 0x99, 0xa8, 0x1a, 0x30, 0x18, 0x02, 0x01, 0x17,
        0x02, 0x01, 0x12, 0x02, 0x01, 0x11, 0x02, 0x01, 0x14, 0x02, 0x01, 0x13, 0x02, 0x01, 0x10, 0x02,
        0x01, 0x19, 0x02, 0x01, 0x1a, 0xbc, 0x94, 0x14, 0x62, 0xb3, 0x4b, 0x09, 0x00, 0x94, 0x00, 0x00,
        0x00, 0x94, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00,
        0x08, 0x81, 0x00, 0x07, 0xd8, 0x08, 0x00, 0x45, 0x00, 0x00, 0x82, 0x47, 0xf5, 0x00, 0x00, 0x73,
        0x11, 0x7f, 0x77, 0x90, 0xc7, 0x0a, 0xe9, 0x94, 0x97, 0x4f, 0xb7, 0x00, 0x58, 0x86, 0xa9, 0x00,
        0x6e, 0x81, 0xb8, 0x7e, 0x64, 0x30, 0x62, 0xa0, 0x03, 0x02, 0x01, 0x05, 0xa1, 0x03, 0x02, 0x01,
        0x1e, 0xa4, 0x11, 0x18, 0x0f, 0x32, 0x30, 0x32, 0x32, 0x30, 0x32, 0x32, 0x32, 0x30, 0x37, 0x34,
        0x36, 0x30, 0x34, 0x5a, 0xa5, 0x05, 0x02, 0x03, 0x0e, 0xc2, 0x6d, 0xa6, 0x03, 0x02, 0x01, 0x34,
        0xa9, 0x11, 0x1b, 0x0f, 0x4c, 0x49, 0x4e, 0x55, 0x58, 0x2e, 0x53, 0x48, 0x45, 0x4c, 0x4c, 0x2e,
        0x43, 0x4f, 0x4d, 0xaa, 0x24, 0x30, 0x22, 0xa0, 0x03, 0x02, 0x01, 0x02, 0xa1, 0x1b, 0x30, 0x19,
        0x1b, 0x06, 0x6b, 0x72, 0x62, 0x74, 0x67, 0x74, 0x1b, 0x0f, 0x4c, 0x49, 0x4e, 0x55, 0x58, 0x2e,
        0x53, 0x48, 0x45, 0x4c, 0x4c, 0x2e, 0x43, 0x4f, 0x4d,
    ];

    /// (number, ts_ns, captured length, original length) of each frame.
    type Got = Vec<(u64, i64, usize, u32)>;

    fn frames(bytes: &[u8]) -> (Result<CaptureInfo, CaptureError>, Got) {
        let mut out = Vec::new();
        let r = read_stream("t", bytes, &mut |f| {
            out.push((f.number, f.ts_ns, f.data.len(), f.orig_len))
        });
        (r, out)
    }

    #[test]
    fn reads_both_frames_as_tshark_does() {
        // tshark: 1 1645515964.250491000 333 333; 2 1645515964.609203000 148 148.
        let (info, got) = frames(KRB_ERROR_PCAP);
        assert_eq!(
            got,
            [
                (1, 1_645_515_964_250_491_000, 333, 333),
                (2, 1_645_515_964_609_203_000, 148, 148)
            ]
        );
        let info = info.ok();
        assert_eq!(info.as_ref().map(|i| i.variant.as_str()), Some("le-us"));
        assert_eq!(info.and_then(|i| i.damage), None);
    }

    #[test]
    fn every_truncated_prefix_is_damage_or_error_never_a_panic() {
        for cut in 0..KRB_ERROR_PCAP.len() {
            let (info, got) = frames(&KRB_ERROR_PCAP[..cut]);
            match info {
                Err(e) => assert!(cut < 24 && e.offset == 0, "cut {cut}: {e}"),
                Ok(info) => {
                    let expected = match cut {
                        24 => 0,
                        c if c < 24 + 16 + 333 => 0,
                        c if c < 24 + 16 + 333 + 16 + 148 => 1,
                        _ => 2,
                    };
                    assert_eq!(got.len(), expected, "cut {cut}");
                    let damaged = cut != 24 && cut != 24 + 16 + 333;
                    assert_eq!(info.damage.is_some(), damaged, "cut {cut}");
                }
            }
        }
    }

    #[test]
    fn corrupt_record_length_is_damage_at_that_record() {
        let mut bytes = KRB_ERROR_PCAP.to_vec();
        // Record 2 starts at 24 + 16 + 333 = 373; its caplen field at +8.
        bytes[373 + 8..373 + 12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
        let (info, got) = frames(&bytes);
        assert_eq!(got.len(), 1);
        assert_eq!(
            info.ok().and_then(|i| i.damage).map(|d| d.offset),
            Some(373)
        );
    }
}
