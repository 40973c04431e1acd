//! Pure parsing of one DNS message (RFC 1035 section 4.1), with name compression (4.1.4), the
//! SRV record (RFC 2782) and AAAA (RFC 3596). No state.
//!
//! ```text
//! header: ID u16 | QR(1) Opcode(4) AA TC RD RA Z AD CD RCODE(4) | QDCOUNT | ANCOUNT | NSCOUNT | ARCOUNT
//! question: QNAME QTYPE u16 QCLASS u16
//! RR: NAME TYPE u16 CLASS u16 TTL u32 RDLENGTH u16 RDATA
//! ```

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Length of the fixed header (RFC 1035 4.1.1).
pub const HEADER_LEN: usize = 12;

/// Longest name in wire octets (RFC 1035 2.3.4: 255).
pub const MAX_NAME_LEN: usize = 255;

/// Most compression pointers followed while reading one name. Real names need a handful; a
/// pointer loop would otherwise never end.
pub const MAX_POINTER_JUMPS: usize = 32;

/// Most questions + records decoded from one message. Each record takes at least 11 bytes, so a
/// 64 KiB message could claim ~6000; real answers hold a few dozen.
pub const MAX_RECORDS: usize = 512;

/// Longest CNAME chain followed when naming an address.
pub const MAX_CNAME_CHAIN: usize = 16;

/// Why a message could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsError {
    /// Shorter than its header, or a field runs past the end.
    Truncated,
    /// A label type other than 0 or 0xC0 (RFC 1035 4.1.4; 0x40/0x80 are obsolete).
    BadLabel,
    /// A name longer than [`MAX_NAME_LEN`], or more than [`MAX_POINTER_JUMPS`] pointers.
    NameTooLong,
}

/// A record type (RFC 1035 3.2.2 and later RFCs), kept as a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RrType(pub u16);

impl RrType {
    /// IPv4 address.
    pub const A: RrType = RrType(1);
    /// Canonical name.
    pub const CNAME: RrType = RrType(5);
    /// Domain name pointer.
    pub const PTR: RrType = RrType(12);
    /// IPv6 address (RFC 3596).
    pub const AAAA: RrType = RrType(28);
    /// Service location (RFC 2782).
    pub const SRV: RrType = RrType(33);
    /// Transaction key (RFC 2930).
    pub const TKEY: RrType = RrType(249);

    /// The mnemonic ("A", "SRV" ...), or "TYPEn" (RFC 3597 5) when not in the table; no
    /// allocation for a type in the table.
    pub fn label(self) -> Cow<'static, str> {
        let s = match self.0 {
            1 => "A",
            2 => "NS",
            5 => "CNAME",
            6 => "SOA",
            12 => "PTR",
            15 => "MX",
            16 => "TXT",
            28 => "AAAA",
            33 => "SRV",
            35 => "NAPTR",
            41 => "OPT",
            43 => "DS",
            46 => "RRSIG",
            47 => "NSEC",
            48 => "DNSKEY",
            64 => "SVCB",
            65 => "HTTPS",
            249 => "TKEY",
            250 => "TSIG",
            251 => "IXFR",
            252 => "AXFR",
            255 => "ANY",
            257 => "CAA",
            n => return Cow::Owned(format!("TYPE{n}")),
        };
        Cow::Borrowed(s)
    }
}

/// Name of a response code (RFC 1035 4.1.1, RFC 2136), or "RCODEn"; no allocation for a code
/// in the table.
pub fn rcode_label(rcode: u8) -> Cow<'static, str> {
    Cow::Borrowed(match rcode {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        n => return Cow::Owned(format!("RCODE{n}")),
    })
}

/// The fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Transaction id.
    pub id: u16,
    /// QR: this is a response.
    pub response: bool,
    /// OPCODE (0 query, 4 notify, 5 update).
    pub opcode: u8,
    /// TC: truncated (the client retries over TCP).
    pub truncated: bool,
    /// RCODE.
    pub rcode: u8,
    /// QDCOUNT.
    pub qdcount: u16,
    /// ANCOUNT.
    pub ancount: u16,
    /// NSCOUNT.
    pub nscount: u16,
    /// ARCOUNT.
    pub arcount: u16,
}

/// Reads the fixed header.
pub fn header(msg: &[u8]) -> Result<Header, DnsError> {
    let h = msg.get(..HEADER_LEN).ok_or(DnsError::Truncated)?;
    let u = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
    let flags = u(2);
    Ok(Header {
        id: u(0),
        response: flags & 0x8000 != 0,
        opcode: ((flags >> 11) & 0xf) as u8,
        truncated: flags & 0x0200 != 0,
        rcode: (flags & 0xf) as u8,
        qdcount: u(4),
        ancount: u(6),
        nscount: u(8),
        arcount: u(10),
    })
}

/// Reads the (possibly compressed) name at `pos` and appends it to `text` (dotted, no trailing
/// dot, `"<Root>"` for the root); returns the offset just past it in the uncompressed stream.
/// Each label is text on its own: invalid UTF-8 is replaced label by label (a sequence cut by a
/// label boundary is replaced in both halves). `raw` is a work buffer.
pub fn name_into(
    msg: &[u8],
    pos: usize,
    text: &mut String,
    raw: &mut Vec<u8>,
) -> Result<usize, DnsError> {
    // The labels' bytes joined by dots, validated once (cheaper than label by label). A whole
    // that is valid UTF-8 has valid labels (a dot, being ASCII, cannot cut a sequence) and is
    // then their text as it is; only a name with invalid UTF-8 is read again label by label.
    raw.clear();
    let after = walk_name(msg, pos, |label| {
        if !raw.is_empty() {
            raw.push(b'.');
        }
        raw.extend_from_slice(label);
    })?;
    if raw.is_empty() {
        text.push_str("<Root>");
        return Ok(after);
    }
    match std::str::from_utf8(raw) {
        Ok(t) => text.push_str(t),
        Err(_) => {
            let start = text.len();
            walk_name(msg, pos, |label| {
                if text.len() > start {
                    text.push('.');
                }
                text.push_str(&String::from_utf8_lossy(label));
            })?;
        }
    }
    Ok(after)
}

/// The offset just past the name at `pos` ([`name_into`] without decoding it).
pub fn name_end(msg: &[u8], pos: usize) -> Result<usize, DnsError> {
    walk_name(msg, pos, |_| {})
}

/// Walks the (possibly compressed) name at `pos` (RFC 1035 4.1.4), handing each label's bytes
/// to `label` in order; returns the offset just past the name in the uncompressed stream.
fn walk_name(msg: &[u8], pos: usize, mut label: impl FnMut(&[u8])) -> Result<usize, DnsError> {
    let mut p = pos;
    let mut end: Option<usize> = None;
    let mut jumps = 0usize;
    let mut wire_len = 0usize;
    loop {
        let len = *msg.get(p).ok_or(DnsError::Truncated)?;
        match len & 0xc0 {
            0x00 if len == 0 => return Ok(end.unwrap_or(p + 1)),
            0x00 => {
                let l = usize::from(len);
                wire_len += l + 1;
                if wire_len > MAX_NAME_LEN {
                    return Err(DnsError::NameTooLong);
                }
                label(msg.get(p + 1..p + 1 + l).ok_or(DnsError::Truncated)?);
                p += 1 + l;
            }
            0xc0 => {
                let lo = *msg.get(p + 1).ok_or(DnsError::Truncated)?;
                jumps += 1;
                if jumps > MAX_POINTER_JUMPS {
                    return Err(DnsError::NameTooLong);
                }
                if end.is_none() {
                    end = Some(p + 2);
                }
                p = (usize::from(len & 0x3f) << 8) | usize::from(lo);
            }
            _ => return Err(DnsError::BadLabel),
        }
    }
}

/// A name decoded into a [`Message`]'s text: where it is there (see [`Message::name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Name {
    start: usize,
    end: usize,
}

/// One question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Question {
    /// QNAME.
    pub name: Name,
    /// QTYPE.
    pub qtype: RrType,
}

/// The decoded RDATA of the record types certflow uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RData {
    /// A or AAAA.
    Addr(IpAddr),
    /// CNAME target.
    Cname(Name),
    /// PTR target.
    Ptr(Name),
    /// SRV (RFC 2782).
    Srv {
        /// Priority.
        priority: u16,
        /// Weight.
        weight: u16,
        /// Port.
        port: u16,
        /// Target host.
        target: Name,
    },
    /// TKEY (RFC 2930 2): where its Key Data lies in the message (for GSS-TSIG, RFC 3645, a
    /// GSS-API token).
    Tkey {
        /// Offset of Key Data in the message.
        key_start: usize,
        /// Key Size.
        key_len: usize,
    },
    /// Any other type: its RDATA length.
    Other(usize),
}

/// Which section a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Answer.
    Answer,
    /// Authority.
    Authority,
    /// Additional.
    Additional,
}

/// One resource record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// Section.
    pub section: Section,
    /// Owner name.
    pub name: Name,
    /// TYPE.
    pub rtype: RrType,
    /// Decoded RDATA.
    pub data: RData,
}

/// One decoded message. Its names are kept back to back in one text, so that decoding message
/// after message into the same `Message` ([`Message::read`]) allocates nothing once its buffers
/// have grown.
#[derive(Debug, Clone)]
pub struct Message {
    /// The header.
    pub header: Header,
    /// Questions.
    pub questions: Vec<Question>,
    /// Records of all three sections, in wire order.
    pub records: Vec<Record>,
    /// Questions and records the message holds beyond the [`MAX_RECORDS`] decoded (a zone
    /// transfer carries thousands): counted, not read.
    pub not_decoded: usize,
    /// Every name, back to back.
    text: String,
    /// Work buffer of [`name_into`].
    raw: Vec<u8>,
}

impl Default for Message {
    fn default() -> Self {
        Message {
            header: Header {
                id: 0,
                response: false,
                opcode: 0,
                truncated: false,
                rcode: 0,
                qdcount: 0,
                ancount: 0,
                nscount: 0,
                arcount: 0,
            },
            questions: Vec::new(),
            records: Vec::new(),
            not_decoded: 0,
            text: String::new(),
            raw: Vec::new(),
        }
    }
}

fn be16(msg: &[u8], p: usize) -> Result<u16, DnsError> {
    let b = msg.get(p..p + 2).ok_or(DnsError::Truncated)?;
    Ok(u16::from_be_bytes([b[0], b[1]]))
}

impl Message {
    /// The text of `n`, a name of this message.
    pub fn name(&self, n: Name) -> &str {
        self.text.get(n.start..n.end).unwrap_or_default()
    }

    /// Decodes the name at `pos` into this message's text.
    fn read_name(&mut self, msg: &[u8], pos: usize) -> Result<(Name, usize), DnsError> {
        let start = self.text.len();
        let after = name_into(msg, pos, &mut self.text, &mut self.raw)?;
        let end = self.text.len();
        Ok((Name { start, end }, after))
    }

    /// Decodes the whole message `msg` in place of what this one held. Records beyond
    /// [`MAX_RECORDS`] are not decoded (not an error: counted in `not_decoded`).
    pub fn read(&mut self, msg: &[u8]) -> Result<(), DnsError> {
        self.read_sections(msg)
    }

    /// [`Message::read`] for a message the capture cut short: the header must be whole; the
    /// questions and records whole before the cut are kept, as tshark shows them.
    pub fn read_cut(&mut self, msg: &[u8]) -> Result<(), DnsError> {
        header(msg)?;
        match self.read_sections(msg) {
            Err(DnsError::Truncated) => Ok(()),
            r => r,
        }
    }

    fn read_sections(&mut self, msg: &[u8]) -> Result<(), DnsError> {
        self.questions.clear();
        self.records.clear();
        self.not_decoded = 0;
        self.text.clear();
        self.header = header(msg)?;
        let h = self.header;
        let mut p = HEADER_LEN;
        for _ in 0..h.qdcount {
            let (n, after) = self.read_name(msg, p)?;
            let qtype = RrType(be16(msg, after)?);
            be16(msg, after + 2)?;
            p = after + 4;
            if self.questions.len() < MAX_RECORDS {
                self.questions.push(Question { name: n, qtype });
            } else {
                self.not_decoded += 1;
            }
        }
        let sections = [
            (Section::Answer, h.ancount),
            (Section::Authority, h.nscount),
            (Section::Additional, h.arcount),
        ];
        for (section, count) in sections {
            for _ in 0..count {
                if self.questions.len() + self.records.len() >= MAX_RECORDS {
                    let all =
                        usize::from(h.ancount) + usize::from(h.nscount) + usize::from(h.arcount);
                    self.not_decoded += all - self.records.len();
                    return Ok(());
                }
                let (owner, after) = self.read_name(msg, p)?;
                let rtype = RrType(be16(msg, after)?);
                let rdlen = usize::from(be16(msg, after + 8)?);
                let start = after + 10;
                let rdata = msg.get(start..start + rdlen).ok_or(DnsError::Truncated)?;
                let data = match (rtype, rdlen) {
                    (RrType::A, 4) => RData::Addr(IpAddr::V4(Ipv4Addr::new(
                        rdata[0], rdata[1], rdata[2], rdata[3],
                    ))),
                    (RrType::AAAA, 16) => {
                        let mut a = [0u8; 16];
                        a.copy_from_slice(rdata);
                        RData::Addr(IpAddr::V6(Ipv6Addr::from(a)))
                    }
                    (RrType::A, _) | (RrType::AAAA, _) => return Err(DnsError::Truncated),
                    (RrType::CNAME, _) => RData::Cname(self.read_name(msg, start)?.0),
                    (RrType::PTR, _) => RData::Ptr(self.read_name(msg, start)?.0),
                    (RrType::SRV, _) if rdlen >= 7 => RData::Srv {
                        priority: be16(msg, start)?,
                        weight: be16(msg, start + 2)?,
                        port: be16(msg, start + 4)?,
                        target: self.read_name(msg, start + 6)?.0,
                    },
                    (RrType::SRV, _) => return Err(DnsError::Truncated),
                    (RrType::TKEY, _) => {
                        // Algorithm name, Inception u32, Expiration u32, Mode u16, Error u16,
                        // Key Size u16, Key Data, Other Size u16, Other Data, filling the
                        // RDATA exactly. RDATA that does not is kept as any other record's:
                        // the message's other records still count.
                        let key = self.read_name(msg, start).ok().and_then(|(_, after)| {
                            let key_len = usize::from(be16(msg, after + 12).ok()?);
                            let key_start = after + 14;
                            let other = key_start + key_len;
                            let other_len = usize::from(be16(msg, other).ok()?);
                            (other + 2 + other_len == start + rdlen).then_some((key_start, key_len))
                        });
                        match key {
                            Some((key_start, key_len)) => RData::Tkey { key_start, key_len },
                            None => RData::Other(rdlen),
                        }
                    }
                    _ => RData::Other(rdlen),
                };
                p = start + rdlen;
                self.records.push(Record {
                    section,
                    name: owner,
                    rtype,
                    data,
                });
            }
        }
        Ok(())
    }
}

/// The address a reverse-lookup name stands for: `d.c.b.a.in-addr.arpa` (RFC 1035 3.5) or the
/// 32 nibbles of `ip6.arpa` (RFC 3596 2.5). Case-insensitive.
pub fn reverse_name_addr(name: &str) -> Option<IpAddr> {
    let lower = name.to_ascii_lowercase();
    if let Some(v4) = lower.strip_suffix(".in-addr.arpa") {
        let parts: Vec<&str> = v4.split('.').collect();
        if parts.len() != 4 {
            return None;
        }
        let mut o = [0u8; 4];
        for (i, p) in parts.iter().rev().enumerate() {
            o[i] = p.parse().ok()?;
        }
        return Some(IpAddr::V4(Ipv4Addr::from(o)));
    }
    if let Some(v6) = lower.strip_suffix(".ip6.arpa") {
        let nibbles: Vec<&str> = v6.split('.').collect();
        if nibbles.len() != 32 {
            return None;
        }
        let mut a = [0u8; 16];
        for (i, n) in nibbles.iter().rev().enumerate() {
            let v = u8::from_str_radix(n, 16).ok()?;
            if n.len() != 1 {
                return None;
            }
            a[i / 2] |= if i % 2 == 0 { v << 4 } else { v };
        }
        return Some(IpAddr::V6(Ipv6Addr::from(a)));
    }
    None
}

/// Pairs every address of a response with the names it answers for: the A/AAAA owner and every
/// name whose CNAME chain (within this message, at most [`MAX_CNAME_CHAIN`] links) leads to that
/// owner; plus PTR answers (reverse name -> target). Written into `out` (cleared first), sorted
/// by address then name text, each pair once.
pub fn address_names(m: &Message, out: &mut Vec<(IpAddr, Name)>) {
    out.clear();
    // Collected once (no allocation for the usual answer without CNAMEs).
    let cnames: Vec<(Name, Name)> = m
        .records
        .iter()
        .filter_map(|r| match r.data {
            RData::Cname(t) => Some((r.name, t)),
            _ => None,
        })
        .collect();
    let resolves_to = |from: Name, owner: &str| {
        let mut cur = m.name(from);
        for _ in 0..=MAX_CNAME_CHAIN {
            if cur.eq_ignore_ascii_case(owner) {
                return true;
            }
            match cnames
                .iter()
                .find(|(o, _)| m.name(*o).eq_ignore_ascii_case(cur))
            {
                Some((_, t)) => cur = m.name(*t),
                None => return false,
            }
        }
        false
    };
    for r in &m.records {
        match r.data {
            RData::Addr(a) => {
                out.push((a, r.name));
                let owner = m.name(r.name);
                let aliases = m
                    .questions
                    .iter()
                    .map(|q| q.name)
                    .chain(cnames.iter().map(|(o, _)| *o));
                for n in aliases {
                    if !m.name(n).eq_ignore_ascii_case(owner) && resolves_to(n, owner) {
                        out.push((a, n));
                    }
                }
            }
            RData::Ptr(t) => {
                if let Some(a) = reverse_name_addr(m.name(r.name)) {
                    out.push((a, t));
                }
            }
            _ => {}
        }
    }
    out.sort_by(|x, y| x.0.cmp(&y.0).then_with(|| m.name(x.1).cmp(m.name(y.1))));
    out.dedup_by(|x, y| x.0 == y.0 && m.name(x.1) == m.name(y.1));
}
