//! pcapng (draft-ietf-opsawg-pcapng-02): sections, interfaces, packet blocks, name resolution.
//!
//! pcap-parser's `PcapNGReader` splits the stream into blocks and follows each Section Header
//! Block's byte order; this module keeps the per-section interface table (interface ids restart
//! at 0 in every section, section 4.2), applies each interface's `if_tsresol` and `if_tsoffset`
//! (section 4.2 options 9 and 14; parsed here because pcap-parser 0.17 mis-decodes power-of-2
//! resolutions and reads the offset little-endian in big-endian sections), and numbers every
//! packet block (EPB 4.3, SPB 4.4, obsolete PB appendix A) in file order as Wireshark does.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use pcap_parser::pcapng::{Block, NameRecordType, NameResolutionBlock};
use pcap_parser::traits::PcapNGPacketBlock;
use pcap_parser::{PcapBlockOwned, PcapError, PcapNGReader};

use super::source::{ErrorSlot, FillReader};
use super::stream::{self, Blocks, Tally, BUFFER_LEN};
use super::{CaptureError, CaptureInfo, Frame};

/// Section Header Block type (section 4.1); a palindrome, so the same in both byte orders.
const SHB_TYPE: u32 = 0x0A0D_0D0A;
/// Byte-order magic of a little-endian section, as read little-endian.
const BOM_LE: u32 = 0x1A2B_3C4D;
/// Interface Description Block type (section 4.2).
const IDB_TYPE: u32 = 1;
/// Obsolete Packet Block type (appendix A), still written by old tools.
const OPB_TYPE: u32 = 2;
/// Simple Packet Block type (section 4.4).
const SPB_TYPE: u32 = 3;
/// Enhanced Packet Block type (section 4.3).
const EPB_TYPE: u32 = 6;
/// Smallest block: type, length, trailing length.
const MIN_BLOCK_LEN: u64 = 12;
/// Obsolete Packet Block fixed fields after the block header: interface id (2), drops count
/// (2), timestamp high (4) and low (4), captured length (4), packet length (4).
const OPB_FIXED_LEN: usize = 20;
/// `if_tsresol` option code (section 4.2).
const OPT_IF_TSRESOL: u16 = 9;
/// `if_tsoffset` option code (section 4.2).
const OPT_IF_TSOFFSET: u16 = 14;
/// Default interface resolution: microseconds (section 4.2, if_tsresol absent).
const DEFAULT_TSRESOL: u8 = 6;
/// Interfaces per section. Real captures have a handful (the largest in our set, 126); a
/// corrupt or hostile file of nothing but IDBs would otherwise grow the table without bound.
pub const MAX_INTERFACES: usize = 1 << 16;
/// Name resolution entries kept (address -> name). Enough for any lab capture's NRBs; a
/// capture writer that dumped a whole resolver cache would otherwise grow memory without bound.
pub const MAX_NAMES: usize = 10_000;
/// Longest name kept from a name resolution record: a DNS name is at most 253 characters
/// (RFC 1035 section 2.3.4); longer entries are not host names and are counted as dropped.
const MAX_NAME_LEN: usize = 253;

/// Reads every section of a pcapng stream into `info`, calling `on_frame` for each packet.
pub(super) fn read(
    name: &str,
    input: FillReader<'_>,
    errors: &ErrorSlot,
    info: &mut CaptureInfo,
    on_frame: &mut dyn FnMut(&Frame),
) -> Result<(), CaptureError> {
    let fail = |offset: u64, message: String| CaptureError {
        path: name.to_string(),
        offset,
        message,
    };
    let mut reader = PcapNGReader::new(BUFFER_LEN, input).map_err(|e| {
        fail(
            0,
            match e {
                PcapError::Incomplete(_) | PcapError::UnexpectedEof => {
                    "truncated pcapng section header block".to_string()
                }
                PcapError::ReadError => format!("cannot read: {}", errors.take()),
                _ => "bad pcapng section header block".to_string(),
            },
        )
    })?;
    let mut blocks = NgBlocks {
        big_endian: false,
        sections: 0,
        little_sections: 0,
        interfaces: Vec::new(),
        idb_total: 0,
        names: Vec::new(),
        names_dropped: 0,
        skipped: 0,
        tally: Tally::default(),
        on_frame,
    };
    let damage = stream::drive(&mut reader, &mut blocks, errors);
    if let Some(d) = &damage {
        if d.offset == 0 {
            return Err(fail(0, d.message.clone()));
        }
    }
    info.format = "pcapng".to_string();
    let order = match (
        blocks.little_sections,
        blocks.sections.saturating_sub(blocks.little_sections),
    ) {
        (_, 0) => "le",
        (0, _) => "be",
        _ => "le+be",
    };
    info.variant = format!("{order} sections={}", blocks.sections);
    info.interfaces = blocks.idb_total;
    info.names = std::mem::take(&mut blocks.names);
    info.names_dropped = blocks.names_dropped;
    info.skipped_blocks = blocks.skipped;
    info.damage = damage;
    blocks.tally.finish(info);
    Ok(())
}

/// How one interface's timestamps become nanoseconds since the epoch.
#[derive(Debug, Clone, Copy)]
struct TsScale {
    /// Timestamp units per second (10^n or 2^n).
    units_per_sec: u64,
    /// Nanoseconds per unit when a unit is a whole number of nanoseconds.
    ns_per_unit: Option<u64>,
    /// `if_tsoffset`: seconds added to every timestamp.
    offset_s: i64,
}

impl TsScale {
    /// The scale for an `if_tsresol` byte (section 4.2): bit 7 clear, 10^-n s; set, 2^-n s.
    fn new(tsresol: u8, offset_s: i64) -> Option<TsScale> {
        let exp = u32::from(tsresol & 0x7f);
        let units_per_sec = if tsresol & 0x80 == 0 {
            10u64.checked_pow(exp)?
        } else {
            1u64.checked_shl(exp)?
        };
        let ns_per_unit = if 1_000_000_000 % units_per_sec == 0 {
            Some(1_000_000_000 / units_per_sec)
        } else {
            None
        };
        Some(TsScale {
            units_per_sec,
            ns_per_unit,
            offset_s,
        })
    }

    /// Nanoseconds since the epoch for a raw 64-bit timestamp (saturating at the i64 range).
    #[inline]
    fn to_ns(self, raw: u64) -> i64 {
        // The common case (whole nanoseconds per unit, no offset, a timestamp of this century)
        // in 64-bit arithmetic; anything else in 128-bit.
        if let (Some(mul), 0) = (self.ns_per_unit, self.offset_s) {
            if let Some(ns) = i64::try_from(raw)
                .ok()
                .and_then(|r| r.checked_mul(i64::try_from(mul).ok()?))
            {
                return ns;
            }
        }
        let ns: i128 = match self.ns_per_unit {
            Some(mul) => i128::from(raw) * i128::from(mul),
            None => {
                let per = u128::from(self.units_per_sec);
                let secs = u128::from(raw) / per;
                let frac = u128::from(raw) % per;
                (secs * 1_000_000_000 + frac * 1_000_000_000 / per) as i128
            }
        };
        let ns = ns + i128::from(self.offset_s) * 1_000_000_000;
        ns.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }
}

/// One interface of the current section.
#[derive(Debug, Clone, Copy)]
struct Interface {
    link_type: u32,
    snaplen: u32,
    ts: TsScale,
}

/// Reader state across the blocks of a pcapng stream.
struct NgBlocks<'f> {
    big_endian: bool,
    sections: u64,
    little_sections: u64,
    /// Interfaces of the current section, by interface id.
    interfaces: Vec<Interface>,
    idb_total: u64,
    names: Vec<(IpAddr, String)>,
    names_dropped: u64,
    skipped: u64,
    tally: Tally,
    on_frame: &'f mut dyn FnMut(&Frame),
}

fn u16_at(b: &[u8], at: usize, big_endian: bool) -> Option<u16> {
    let v: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(if big_endian {
        u16::from_be_bytes(v)
    } else {
        u16::from_le_bytes(v)
    })
}

fn u32_at(b: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let v: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(v)
    } else {
        u32::from_le_bytes(v)
    })
}

/// Name of a block type, for messages.
fn block_name(block_type: u32) -> String {
    match block_type {
        SHB_TYPE => "section header block".to_string(),
        IDB_TYPE => "interface description block".to_string(),
        OPB_TYPE => "obsolete packet block".to_string(),
        SPB_TYPE => "simple packet block".to_string(),
        EPB_TYPE => "enhanced packet block".to_string(),
        other => format!("block of type 0x{other:08x}"),
    }
}

impl NgBlocks<'_> {
    /// Byte order of the block at the start of `head`: an SHB carries its own.
    fn order_of(&self, head: &[u8]) -> Option<bool> {
        if u32_at(head, 0, false)? == SHB_TYPE {
            Some(u32_at(head, 8, false)? != BOM_LE)
        } else {
            Some(self.big_endian)
        }
    }

    fn interface(&self, id: u32, what: &str) -> Result<Interface, String> {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.interfaces.get(i))
            .copied()
            .ok_or_else(|| {
                format!(
                    "{what} for interface {id}, but section {} has {} interface(s)",
                    self.sections,
                    self.interfaces.len()
                )
            })
    }

    fn emit(&mut self, iface: Interface, ts_ns: Option<i64>, data: &[u8], orig_len: u32) {
        let number = self.tally.frame(iface.link_type, ts_ns);
        (self.on_frame)(&Frame {
            number,
            ts_ns: ts_ns.unwrap_or(0),
            link_type: iface.link_type,
            data,
            orig_len,
        });
    }

    fn interface_description(
        &mut self,
        idb: &pcap_parser::InterfaceDescriptionBlock<'_>,
    ) -> Result<(), String> {
        let mut tsresol = DEFAULT_TSRESOL;
        let mut offset_s = 0i64;
        for opt in &idb.options {
            let value = opt.value();
            match opt.code.0 {
                OPT_IF_TSRESOL => {
                    if let Some(&v) = value.first() {
                        tsresol = v;
                    }
                }
                OPT_IF_TSOFFSET => {
                    if let Some(Ok(v)) = value.get(..8).map(<[u8; 8]>::try_from) {
                        offset_s = if self.big_endian {
                            i64::from_be_bytes(v)
                        } else {
                            i64::from_le_bytes(v)
                        };
                    }
                }
                _ => {}
            }
        }
        if self.interfaces.len() >= MAX_INTERFACES {
            return Err(format!(
                "more than {MAX_INTERFACES} interface description blocks in section {}",
                self.sections
            ));
        }
        let ts = TsScale::new(tsresol, offset_s).ok_or_else(|| {
            format!("interface description block with unsupported if_tsresol 0x{tsresol:02x}")
        })?;
        self.interfaces.push(Interface {
            link_type: u32::from(idb.linktype.0 as u16),
            snaplen: idb.snaplen,
            ts,
        });
        self.idb_total += 1;
        Ok(())
    }

    /// Obsolete Packet Block (appendix A), which pcap-parser returns as an unknown block.
    fn obsolete_packet(&mut self, content: &[u8]) -> Result<(), String> {
        let be = self.big_endian;
        let bad = || "malformed obsolete packet block".to_string();
        let if_id = u16_at(content, 0, be).ok_or_else(bad)?;
        let ts_high = u32_at(content, 4, be).ok_or_else(bad)?;
        let ts_low = u32_at(content, 8, be).ok_or_else(bad)?;
        let caplen = u32_at(content, 12, be).ok_or_else(bad)?;
        let orig_len = u32_at(content, 16, be).ok_or_else(bad)?;
        let data = usize::try_from(caplen)
            .ok()
            .and_then(|c| content.get(OPB_FIXED_LEN..OPB_FIXED_LEN.checked_add(c)?))
            .ok_or_else(|| {
                format!("obsolete packet block claims {caplen} captured bytes, more than the block holds")
            })?;
        let iface = self.interface(u32::from(if_id), "obsolete packet block")?;
        let raw = (u64::from(ts_high) << 32) | u64::from(ts_low);
        self.emit(iface, Some(iface.ts.to_ns(raw)), data, orig_len);
        Ok(())
    }

    fn name_resolution(&mut self, nrb: &NameResolutionBlock<'_>) {
        for record in &nrb.nr {
            let (addr, names): (IpAddr, &[u8]) = match record.record_type {
                NameRecordType::Ipv4 => match record.record_value.split_first_chunk::<4>() {
                    Some((a, rest)) => (IpAddr::V4(Ipv4Addr::from(*a)), rest),
                    None => continue,
                },
                NameRecordType::Ipv6 => match record.record_value.split_first_chunk::<16>() {
                    Some((a, rest)) => (IpAddr::V6(Ipv6Addr::from(*a)), rest),
                    None => continue,
                },
                _ => continue,
            };
            // One or more zero-terminated names; the record is zero-padded to 32 bits.
            for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
                if self.names.len() >= MAX_NAMES || name.len() > MAX_NAME_LEN {
                    self.names_dropped += 1;
                } else {
                    self.names
                        .push((addr, String::from_utf8_lossy(name).into_owned()));
                }
            }
        }
    }
}

impl Blocks for NgBlocks<'_> {
    #[inline]
    fn block(&mut self, block: &PcapBlockOwned<'_>, _offset: u64) -> Result<(), String> {
        let block = match block {
            PcapBlockOwned::NG(b) => b,
            _ => return Err("classic pcap data inside a pcapng stream".to_string()),
        };
        match block {
            Block::EnhancedPacket(epb) => {
                let iface = self.interface(epb.if_id, "enhanced packet block")?;
                let raw = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                self.emit(
                    iface,
                    Some(iface.ts.to_ns(raw)),
                    epb.packet_data(),
                    epb.origlen,
                );
            }
            Block::SimplePacket(spb) => {
                // Section 4.4: interface 0 of the section; captured length is the smaller of
                // the original length, the snap length and what the block holds. No timestamp.
                let iface = self.interface(0, "simple packet block")?;
                let mut data = spb.packet_data();
                if iface.snaplen > 0 {
                    let snap = usize::try_from(iface.snaplen).unwrap_or(usize::MAX);
                    data = data.get(..snap).unwrap_or(data);
                }
                self.emit(iface, None, data, spb.origlen);
            }
            Block::SectionHeader(shb) => {
                if shb.major_version != 1 {
                    return Err(format!(
                        "unsupported pcapng version {}.{}: expected 1.0",
                        shb.major_version, shb.minor_version
                    ));
                }
                self.big_endian = shb.big_endian();
                self.sections += 1;
                if !self.big_endian {
                    self.little_sections += 1;
                }
                self.interfaces.clear();
            }
            Block::InterfaceDescription(idb) => self.interface_description(idb)?,
            Block::NameResolution(nrb) => self.name_resolution(nrb),
            Block::Unknown(ub) => {
                let block_type = if self.big_endian {
                    ub.block_type.swap_bytes()
                } else {
                    ub.block_type
                };
                if block_type == OPB_TYPE {
                    self.obsolete_packet(ub.data)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// An enhanced packet block (section 4.3) without options, complete, whose lengths agree
    /// (leading and trailing block length equal, a multiple of 4, room for the padded captured
    /// bytes) and whose interface exists. Blocks with options, of other kinds, or failing any
    /// check go through pcap-parser.
    #[inline]
    fn fast(&mut self, head: &[u8]) -> Option<usize> {
        /// Block type, length, interface, timestamp (2), captured and original length.
        const EPB_FIXED_LEN: usize = 28;
        let be = self.big_endian;
        let fixed: &[u8; EPB_FIXED_LEN] = head.first_chunk()?;
        let field = |at: usize| {
            let v = u32::from_le_bytes([fixed[at], fixed[at + 1], fixed[at + 2], fixed[at + 3]]);
            if be {
                v.swap_bytes()
            } else {
                v
            }
        };
        if field(0) != EPB_TYPE {
            return None;
        }
        let len = usize::try_from(field(4)).ok()?;
        let caplen = usize::try_from(field(20)).ok()?;
        let padded = caplen.checked_add(3)? & !3;
        if len % 4 != 0 || EPB_FIXED_LEN.checked_add(padded)?.checked_add(4)? != len {
            return None;
        }
        let block = head.get(..len)?;
        if u32_at(block, len - 4, be)? != field(4) {
            return None;
        }
        let iface = *self.interfaces.get(usize::try_from(field(8)).ok()?)?;
        let raw = (u64::from(field(12)) << 32) | u64::from(field(16));
        let data = block.get(EPB_FIXED_LEN..EPB_FIXED_LEN + caplen)?;
        self.emit(iface, Some(iface.ts.to_ns(raw)), data, field(24));
        Some(len)
    }

    fn claimed_len(&self, head: &[u8]) -> Option<u64> {
        let be = self.order_of(head)?;
        u32_at(head, 4, be).map(u64::from)
    }

    fn skippable(&mut self, head: &[u8]) -> Option<usize> {
        let be = self.order_of(head)?;
        let block_type = u32_at(head, 0, be)?;
        if matches!(
            block_type,
            SHB_TYPE | IDB_TYPE | OPB_TYPE | SPB_TYPE | EPB_TYPE
        ) {
            return None;
        }
        let len = usize::try_from(self.claimed_len(head)?).ok()?;
        if (len as u64) < MIN_BLOCK_LEN || len % 4 != 0 {
            return None;
        }
        if u32_at(head, len.checked_sub(4)?, be)? as usize != len {
            return None;
        }
        self.skipped += 1;
        Some(len)
    }

    fn describe_bad(&self, head: &[u8]) -> String {
        let Some(be) = self.order_of(head) else {
            return "malformed block header".to_string();
        };
        let (Some(block_type), Some(len)) = (u32_at(head, 0, be), u32_at(head, 4, be)) else {
            return "malformed block header".to_string();
        };
        let name = block_name(block_type);
        if u64::from(len) < MIN_BLOCK_LEN {
            return format!(
                "{name} with block length {len}, less than the minimum {MIN_BLOCK_LEN}"
            );
        }
        if len % 4 != 0 {
            return format!("{name} with block length {len}, not a multiple of 4");
        }
        match u32_at(head, len as usize - 4, be) {
            Some(trailer) if trailer != len => {
                format!("{name}: trailing block length {trailer} differs from leading {len}")
            }
            _ => {
                if block_type == EPB_TYPE {
                    if let Some(caplen) = u32_at(head, 20, be) {
                        if u64::from(caplen) + 32 > u64::from(len) {
                            return format!(
                                "{name} claims {caplen} captured bytes but its block length is {len}"
                            );
                        }
                    }
                }
                format!("malformed {name} (length {len})")
            }
        }
    }

    fn unit(&self) -> &'static str {
        "block"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::read_stream;

    /// First 552 bytes of ldap_search_linux_cooked_sll.pcapng (zeek issue-32.pcapng): SHB
    /// (196 bytes), IDB (68, Linux SLL, if_tsresol 9), EPB of frame 1 (288).
    #[rustfmt::skip]
    const SLL_HEAD: &[u8] = &[
        0x0a, 0x0d, 0x0d, 0x0a, 0xc4, 0x00, 0x00, 0x00, 0x4d, 0x3c, 0x2b, 0x1a, 0x01, 0x00, 0x00, 0x00,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x37, 0x00, 0x49, 0x6e, 0x74, 0x65,
        0x6c, 0x28, 0x52, 0x29, 0x20, 0x43, 0x6f, 0x72, 0x65, 0x28, 0x54, 0x4d, 0x29, 0x20, 0x69, 0x39,
        0x2d, 0x31, 0x30, 0x38, 0x38, 0x35, 0x48, 0x20, 0x43, 0x50, 0x55, 0x20, 0x40, 0x20, 0x32, 0x2e,
        0x34, 0x30, 0x47, 0x48, 0x7a, 0x20, 0x28, 0x77, 0x69, 0x74, 0x68, 0x20, 0x53, 0x53, 0x45, 0x34,
        0x2e, 0x32, 0x29, 0x00, 0x03, 0x00, 0x15, 0x00, 0x4c, 0x69, 0x6e, 0x75, 0x78, 0x20, 0x35, 0x2e,
        0x31, 0x30, 0x2e, 0x30, 0x2d, 0x31, 0x36, 0x2d, 0x61, 0x6d, 0x64, 0x36, 0x34, 0x00, 0x00, 0x00,
        0x04, 0x00, 0x45, 0x00, 0x44, 0x75, 0x6d, 0x70, 0x63, 0x61, 0x70, 0x20, 0x28, 0x57, 0x69, 0x72,
        0x65, 0x73, 0x68, 0x61, 0x72, 0x6b, 0x29, 0x20, 0x33, 0x2e, 0x34, 0x2e, 0x31, 0x30, 0x20, 0x28,
        0x47, 0x69, 0x74, 0x20, 0x76, 0x33, 0x2e, 0x34, 0x2e, 0x31, 0x30, 0x20, 0x70, 0x61, 0x63, 0x6b,
        0x61, 0x67, 0x65, 0x64, 0x20, 0x61, 0x73, 0x20, 0x33, 0x2e, 0x34, 0x2e, 0x31, 0x30, 0x2d, 0x30,
        0x2b, 0x64, 0x65, 0x62, 0x31, 0x31, 0x75, 0x31, 0x29, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xc4, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x44, 0x00, 0x00, 0x00, 0x71, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x04, 0x00, 0x02, 0x00, 0x03, 0x00, 0x61, 0x6e, 0x79, 0x00, 0x09, 0x00, 0x01, 0x00,
        0x09, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x15, 0x00, 0x4c, 0x69, 0x6e, 0x75, 0x78, 0x20, 0x35, 0x2e,
        0x31, 0x30, 0x2e, 0x30, 0x2d, 0x31, 0x36, 0x2d, 0x61, 0x6d, 0x64, 0x36, 0x34, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x44, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x20, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0xa2, 0x6f, 0x88, 0x17, 0xd8, 0xd7, 0x1a, 0x97, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x01, 0x00, 0x00, 0x00, 0x04, 0x00, 0x01, 0x00, 0x06, 0x00, 0x0c, 0x29, 0xc3, 0xa8, 0x79,
        0x00, 0x00, 0x08, 0x00, 0x45, 0x00, 0x00, 0xf0, 0x1f, 0xea, 0x40, 0x00, 0x40, 0x06, 0x83, 0x7b,
        0xc0, 0xa8, 0x0a, 0x98, 0xc0, 0xa8, 0x0a, 0xba, 0x94, 0x95, 0x01, 0x85, 0x6e, 0xeb, 0x2f, 0xe8,
        0x8b, 0x42, 0x16, 0x84, 0x50, 0x18, 0x0f, 0x4a, 0x97, 0x85, 0x00, 0x00, 0x30, 0x81, 0xc5, 0x02,
        0x01, 0x06, 0x63, 0x79, 0x04, 0x12, 0x44, 0x43, 0x3d, 0x6d, 0x61, 0x74, 0x72, 0x69, 0x78, 0x2c,
        0x44, 0x43, 0x3d, 0x6c, 0x6f, 0x63, 0x61, 0x6c, 0x0a, 0x01, 0x02, 0x0a, 0x01, 0x03, 0x02, 0x01,
        0x00, 0x02, 0x01, 0x00, 0x01, 0x01, 0x00, 0xa9, 0x39, 0x81, 0x1c, 0x32, 0x2e, 0x31, 0x36, 0x2e,
        0x38, 0x34, 0x30, 0x2e, 0x31, 0x2e, 0x31, 0x31, 0x33, 0x37, 0x33, 0x30, 0x2e, 0x33, 0x2e, 0x33,
        0x2e, 0x32, 0x2e, 0x34, 0x36, 0x2e, 0x31, 0x82, 0x10, 0x64, 0x65, 0x70, 0x61, 0x72, 0x74, 0x6d,
        0x65, 0x6e, 0x74, 0x4e, 0x75, 0x6d, 0x62, 0x65, 0x72, 0x83, 0x07, 0x3e, 0x3d, 0x4e, 0x34, 0x37,
        0x30, 0x39, 0x30, 0x19, 0x04, 0x01, 0x2a, 0x04, 0x14, 0x6e, 0x74, 0x73, 0x65, 0x63, 0x75, 0x72,
        0x69, 0x74, 0x79, 0x64, 0x65, 0x73, 0x63, 0x72, 0x69, 0x70, 0x74, 0x6f, 0x72, 0xa0, 0x45, 0x30,
        0x1f, 0x04, 0x16, 0x31, 0x2e, 0x32, 0x2e, 0x38, 0x34, 0x30, 0x2e, 0x31, 0x31, 0x33, 0x35, 0x35,
        0x36, 0x2e, 0x31, 0x2e, 0x34, 0x2e, 0x38, 0x30, 0x31, 0x04, 0x05, 0x30, 0x03, 0x02, 0x01, 0x07,
        0x30, 0x22, 0x04, 0x16, 0x31, 0x2e, 0x32, 0x2e, 0x38, 0x34, 0x30, 0x2e, 0x31, 0x31, 0x33, 0x35,
        0x35, 0x36, 0x2e, 0x31, 0x2e, 0x34, 0x2e, 0x33, 0x31, 0x39, 0x04, 0x08, 0x30, 0x06, 0x02, 0x02,
        0x01, 0xf4, 0x04, 0x00, 0x20, 0x01, 0x00, 0x00,
    ];

    #[test]
    fn first_frame_of_the_sll_capture() {
        // tshark: 1 1695728003.815495640 256 256, Linux cooked capture v1.
        let mut got = Vec::new();
        let info = read_stream("t", SLL_HEAD, &mut |f| {
            got.push((f.number, f.ts_ns, f.link_type, f.data.len(), f.orig_len))
        });
        assert_eq!(got, [(1, 1_695_728_003_815_495_640, 113, 256, 256)]);
        let info = info.ok();
        assert_eq!(
            info.as_ref().map(|i| i.variant.as_str()),
            Some("le sections=1")
        );
        assert_eq!(info.and_then(|i| i.damage), None);
    }

    #[test]
    fn truncated_prefixes_and_bad_lengths_never_panic() {
        for cut in 0..SLL_HEAD.len() {
            let mut frames = 0;
            match read_stream("t", &SLL_HEAD[..cut], &mut |_| frames += 1) {
                Err(e) => assert!(cut < 196 && e.offset == 0, "cut {cut}: {e}"),
                Ok(info) => {
                    assert_eq!(frames, 0, "cut {cut}");
                    let clean = cut == 196 || cut == 264;
                    assert_eq!(
                        info.damage.map(|d| d.offset),
                        (!clean).then_some(if cut < 264 { 196 } else { 264 }),
                        "cut {cut}"
                    );
                }
            }
        }
        // The EPB's block length (offset 264 + 4) set to 0, 13 and 2^31.
        for len in [0u32, 13, 1 << 31] {
            let mut bytes = SLL_HEAD.to_vec();
            bytes[268..272].copy_from_slice(&len.to_le_bytes());
            let info = read_stream("t", &bytes[..], &mut |_| {});
            assert_eq!(
                info.ok().and_then(|i| i.damage).map(|d| d.offset),
                Some(264),
                "len {len}"
            );
        }
    }

    #[test]
    fn tsresol_powers_of_ten_and_two() {
        // Microseconds (default), nanoseconds, 2^-20 s; 1 s plus one unit each.
        let us = TsScale::new(6, 0).map(|s| s.to_ns(1_000_001));
        assert_eq!(us, Some(1_000_001_000));
        let ns = TsScale::new(9, 0).map(|s| s.to_ns(1_000_000_001));
        assert_eq!(ns, Some(1_000_000_001));
        let pow2 = TsScale::new(0x80 | 20, 0).map(|s| s.to_ns((1 << 20) + (1 << 19)));
        assert_eq!(pow2, Some(1_500_000_000));
        let ps = TsScale::new(12, 0).map(|s| s.to_ns(2_000_000_000_123_456));
        assert_eq!(ps, Some(2_000_000_000_123));
        let offset = TsScale::new(6, 100).map(|s| s.to_ns(5));
        assert_eq!(offset, Some(100_000_005_000));
        assert!(TsScale::new(20, 0).is_none());
        assert!(TsScale::new(0x80 | 64, 0).is_none());
    }
}
