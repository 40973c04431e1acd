//! A strict DER reader for the Kerberos messages certflow summarises (RFC 4120 section 5:
//! AS-REQ, TGS-REQ, AS-REP, TGS-REP, AP-REQ, KRB-ERROR): the fast path of
//! [`super::parse::parse_message`].
//!
//! kerberos-parser decodes every field through asn1-rs's generic machinery (an `Any` per
//! element, a `String` per name component, a `Vec` per list), about 20,000 instructions per
//! message. This reader walks the same ASN.1 with one TLV header read per element and borrows
//! the strings, several times cheaper.
//!
//! It accepts only a SUBSET of what kerberos-parser 0.9 (on asn1-rs 0.7) accepts, and for what
//! it accepts it yields the same summary, with one deliberate exception: a `nonce` or `kvno`
//! written as a negative INTEGER (see [`Reader::uint32_as_sent`]), which real clients send and
//! the library refuses. Anything else it does not accept (a check below fails, a shape it does
//! not know, a malformed field) returns `None` and the caller decodes the message with
//! kerberos-parser, whose verdict (and error) stands. Hence every other check here is at least
//! as strict as the library's:
//!
//! - identifier octets must be exactly the DER ones (asn1-rs compares only tag numbers, and
//!   ignores the constructed bit of explicit tags); low tag numbers only; definite lengths of at
//!   most 4 octets ([`crate::proto::ldap::ber::header`]); content entirely present;
//! - every SEQUENCE and explicit tag must be consumed exactly (asn1-rs ignores what follows the
//!   last field it reads);
//! - an OPTIONAL field whose tag number matches but whose identifier octet is not the DER one is
//!   left to the library (it may accept it, or fail on the class);
//! - INTEGER: primitive, non-empty, minimal (X.690 8.3.2, as asn1-rs checks), value in range of
//!   its Rust type (asn1-rs: `u32` rejects negatives, `i32` values of more than 4 octets);
//! - KerberosString (GeneralString): ASCII only (asn1-rs's charset test);
//! - KerberosTime (GeneralizedTime): only the 15-octet `YYYYMMDDHHMMSSZ` form RFC 4120 5.2.3
//!   prescribes, with the component ranges asn1-rs checks (month <= 12, day <= 31, hour <= 23,
//!   minute and second <= 59);
//! - BIT STRING: X.690 11.2 as asn1-rs checks it (an initial octet, unused bits zero);
//! - Microseconds <= 999999 and Ticket `tkt-vno` = 5, as kerberos-parser checks.
//!
//! AP-REP, KRB-SAFE, KRB-PRIV and KRB-CRED are not read here (rare, cheap, or not decoded by
//! kerberos-parser at all).

use std::borrow::Cow;

use crate::proto::ldap::ber;

use super::parse::{add_realm, Few, KrbMessage, MsgType, PA_FOR_USER, PA_TGS_REQ};

/// Identifier octet of an explicit context tag `[n]` (constructed, context-specific class).
const fn ctx(n: u8) -> u8 {
    0xa0 | n
}

/// Universal tags read here (X.690 8.1.2, X.680 8.4).
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const SEQUENCE: u8 = 0x30;
const GENERALIZED_TIME: u8 = 0x18;
const GENERAL_STRING: u8 = 0x1b;
/// Ticket ::= [APPLICATION 1] (RFC 4120 5.3).
const TICKET: u8 = 0x61;

/// Most length octets of a long-form length, as [`ber::header`] accepts (4 octets describe up
/// to 4 GiB, far above any Kerberos message certflow reads).
const MAX_LENGTH_OCTETS: usize = 4;

/// Largest Microseconds value (RFC 4120 5.2.4 `Microseconds ::= INTEGER (0..999999)`).
const MAX_USEC: u32 = 999_999;

/// The elements of one constructed value, read in order.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(content: &'a [u8]) -> Self {
        Reader { rest: content }
    }

    /// The content of the next element if its identifier octet is `tag`.
    ///
    /// The header is read here rather than with [`ber::split`] because the identifier octet is
    /// known in advance: it is compared before anything else, and the length octets are read
    /// exactly as [`ber::header`] reads them (short form, or 1 to [`MAX_LENGTH_OCTETS`] octets of
    /// long form; `tag` is never a high-tag-number octet), with the content entirely present.
    #[inline(always)]
    fn take(&mut self, tag: u8) -> Option<&'a [u8]> {
        let [t, first, rest @ ..] = self.rest else {
            return None;
        };
        if *t != tag {
            return None;
        }
        let (len, rest) = if *first < 0x80 {
            (usize::from(*first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > MAX_LENGTH_OCTETS {
                return None;
            }
            let (octets, rest) = rest.split_at_checked(n)?;
            let len = octets
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, rest)
        };
        let (content, rest) = rest.split_at_checked(len)?;
        self.rest = rest;
        Some(content)
    }

    /// An OPTIONAL element `[n]`: `Some(None)` when absent (nothing left, or the next element
    /// has another tag number, as asn1-rs's `OptTaggedParser` decides), `Some(Some(content))`
    /// when present, `None` when it cannot be read or has tag number `n` with an identifier
    /// octet other than the DER one.
    ///
    /// An element with another tag number is not read here: it is left in place, and whatever
    /// follows (another field, or [`Reader::end`]) reads it or refuses the sequence, so a
    /// malformed one still makes the whole message `None`, as when it was read here.
    #[inline(always)]
    fn opt(&mut self, tag: u8) -> Option<Option<&'a [u8]>> {
        let Some(&t) = self.rest.first() else {
            return Some(None);
        };
        if t == tag {
            return self.take(tag).map(Some);
        }
        if t & 0x1f == tag & 0x1f {
            return None;
        }
        Some(None)
    }

    /// `Some(())` when every element was read.
    #[inline(always)]
    fn end(&self) -> Option<()> {
        self.rest.is_empty().then_some(())
    }

    /// Field `[n] T`: the explicit tag must hold exactly the value `f` reads.
    #[inline(always)]
    fn field<T>(&mut self, n: u8, f: impl FnOnce(&mut Reader<'a>) -> Option<T>) -> Option<T> {
        let mut r = Reader::new(self.take(ctx(n))?);
        let v = f(&mut r)?;
        r.end()?;
        Some(v)
    }

    /// Field `[n] T OPTIONAL`.
    #[inline(always)]
    fn opt_field<T>(
        &mut self,
        n: u8,
        f: impl FnOnce(&mut Reader<'a>) -> Option<T>,
    ) -> Option<Option<T>> {
        match self.opt(ctx(n))? {
            None => Some(None),
            Some(c) => {
                let mut r = Reader::new(c);
                let v = f(&mut r)?;
                r.end()?;
                Some(Some(v))
            }
        }
    }

    /// The elements of a SEQUENCE (or SEQUENCE OF).
    #[inline(always)]
    fn seq(&mut self) -> Option<Reader<'a>> {
        self.take(SEQUENCE).map(Reader::new)
    }

    /// The next element if its identifier octet is `tag`, with its content as far as the bytes
    /// go: all of it when whole, its start when the capture cut the message inside it.
    fn take_cut(&mut self, tag: u8) -> Option<&'a [u8]> {
        let t = ber::header(self.rest).ok()?;
        if t.tag != tag {
            return None;
        }
        let c = self.rest.get(t.header_len..)?;
        let (content, rest) = c.split_at(t.content_len.min(c.len()));
        self.rest = rest;
        Some(content)
    }

    /// INTEGER content, DER-minimal (X.690 8.3.2; asn1-rs `check_der_int_constraints`).
    #[inline(always)]
    fn int(&mut self) -> Option<&'a [u8]> {
        let c = self.take(INTEGER)?;
        match c {
            [] => None,
            [0, b, ..] if *b < 0x80 => None,
            [0xff, b, ..] if *b >= 0x80 => None,
            _ => Some(c),
        }
    }

    /// `UInt32`-like INTEGER read as `u32` (negative values and values above 2^32-1 refused).
    #[inline(always)]
    fn u32(&mut self) -> Option<u32> {
        let c = self.int()?;
        unsigned(c)
    }

    /// A `UInt32` (RFC 4120 5.2.4) as implementations actually write it: either in range, or
    /// the 32-bit value written as a signed `Int32` (at most 4 octets, negative when its top bit
    /// is set). Heimdal declares `nonce` and `kvno` as `krb5int32`, so about half of its random
    /// nonces go out negative: smbclient's TGS-REQ in `captures/lab_enroll_small_segments.pcap`,
    /// frame 814, carries `02 04 d9 69 33 90`, nonce 3647550352 in tshark. Samba's KDC answers
    /// it; kerberos-parser refuses it (`IntegerNegative`), which would lose the whole request.
    #[inline(always)]
    fn uint32_as_sent(&mut self) -> Option<u32> {
        let c = self.int()?;
        if c.first().is_some_and(|b| b & 0x80 != 0) {
            return signed(c).map(|v| v as u32);
        }
        unsigned(c)
    }

    /// `Int32` (RFC 4120 5.2.4): at most 4 content octets, two's complement.
    #[inline(always)]
    fn i32(&mut self) -> Option<i32> {
        let c = self.int()?;
        signed(c)
    }

    /// KerberosString (RFC 4120 5.2.1): GeneralString restricted to ASCII.
    fn string(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.ascii()?).ok()
    }

    /// The octets of a KerberosString, checked to be ASCII (hence UTF-8) but not converted:
    /// the components of a name are converted once, joined.
    #[inline(always)]
    fn ascii(&mut self) -> Option<&'a [u8]> {
        let c = self.take(GENERAL_STRING)?;
        c.is_ascii().then_some(c)
    }

    /// KerberosTime (RFC 4120 5.2.3): `YYYYMMDDHHMMSSZ`.
    fn time(&mut self) -> Option<()> {
        let c = self.take(GENERALIZED_TIME)?;
        let (digits, z) = c.split_at_checked(14)?;
        if z != b"Z" || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let two = |i: usize| {
            digits
                .get(i..i + 2)
                .map(|d| (d[0] - b'0') * 10 + (d[1] - b'0'))
        };
        let ok = two(4)? <= 12 && two(6)? <= 31 && two(8)? <= 23 && two(10)? <= 59;
        (ok && two(12)? <= 59).then_some(())
    }

    /// KerberosFlags (RFC 4120 5.2.8): BIT STRING, X.690 11.2 (unused bits zero).
    fn flags(&mut self) -> Option<()> {
        let c = self.take(BIT_STRING)?;
        let (&unused, _) = c.split_first()?;
        let last = *c.last()?;
        let ok = if c.len() == 1 {
            unused == 0
        } else {
            last.trailing_zeros() >= u32::from(unused)
        };
        ok.then_some(())
    }

    /// OCTET STRING content.
    #[inline(always)]
    fn octets(&mut self) -> Option<&'a [u8]> {
        self.take(OCTET_STRING)
    }

    /// Microseconds (RFC 4120 5.2.4).
    fn usec(&mut self) -> Option<()> {
        (self.u32()? <= MAX_USEC).then_some(())
    }
}

/// PrincipalName (RFC 4120 5.2.2) `SEQUENCE { name-type [0] Int32, name-string [1] SEQUENCE OF
/// KerberosString }`, components joined with "/" (as `parse::principal`): a name of one
/// component (or none) is borrowed from the message, only a joined one is built.
fn principal<'a>(r: &mut Reader<'a>) -> Option<Cow<'a, str>> {
    let mut s = r.seq()?;
    s.field(0, Reader::i32)?;
    let name = s.field(1, |r| {
        let mut parts = r.seq()?;
        if parts.rest.is_empty() {
            return Some(Cow::Borrowed(""));
        }
        let first = parts.ascii()?;
        if parts.rest.is_empty() {
            return std::str::from_utf8(first).ok().map(Cow::Borrowed);
        }
        // The other components with their headers: room for them and the separators.
        let mut out = Vec::with_capacity(first.len() + parts.rest.len());
        out.extend_from_slice(first);
        while !parts.rest.is_empty() {
            out.push(b'/');
            out.extend_from_slice(parts.ascii()?);
        }
        String::from_utf8(out).ok().map(Cow::Owned)
    })?;
    s.end()?;
    Some(name)
}

/// The content octets of a DER-minimal INTEGER as a `u32`: non-negative, below 2^32.
#[inline(always)]
fn unsigned(c: &[u8]) -> Option<u32> {
    if c.first().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    // Minimal: at most one leading zero octet, before an octet >= 0x80.
    let c = match c {
        [0, rest @ ..] if !rest.is_empty() => rest,
        _ => c,
    };
    if c.len() > 4 {
        return None;
    }
    Some(c.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)))
}

/// The content octets of a DER-minimal INTEGER as an `i32`: at most 4 octets, two's complement.
#[inline(always)]
fn signed(c: &[u8]) -> Option<i32> {
    if c.len() > 4 {
        return None;
    }
    let init: i32 = if c.first().is_some_and(|b| b & 0x80 != 0) {
        -1
    } else {
        0
    };
    Some(c.iter().fold(init, |acc, &b| (acc << 8) | i32::from(b)))
}

/// EncryptedData (RFC 4120 5.2.9) `SEQUENCE { etype [0] Int32, kvno [1] UInt32 OPTIONAL,
/// cipher [2] OCTET STRING }`: its etype.
fn encrypted_data(r: &mut Reader<'_>) -> Option<i32> {
    let mut s = r.seq()?;
    let etype = s.field(0, Reader::i32)?;
    s.opt_field(1, Reader::uint32_as_sent)?;
    s.field(2, Reader::octets)?;
    s.end()?;
    Some(etype)
}

/// What certflow keeps of a Ticket.
struct TicketFacts<'a> {
    realm: &'a str,
    sname: Cow<'a, str>,
    etype: i32,
}

impl<'a> TicketFacts<'a> {
    /// Adds the ticket to `m` as `parse::add_ticket` does.
    fn add_to(self, m: &mut KrbMessage<'a>) {
        add_realm(m, self.realm);
        m.ticket_snames.push(self.sname);
        m.ticket_etypes.push(self.etype);
    }
}

/// Ticket (RFC 4120 5.3) `[APPLICATION 1] SEQUENCE { tkt-vno [0] INTEGER (5), realm [1],
/// sname [2], enc-part [3] }`.
fn ticket<'a>(r: &mut Reader<'a>) -> Option<TicketFacts<'a>> {
    let mut app = Reader::new(r.take(TICKET)?);
    let mut s = app.seq()?;
    app.end()?;
    if s.field(0, Reader::u32)? != 5 {
        return None;
    }
    let realm = s.field(1, Reader::string)?;
    let sname = s.field(2, principal)?;
    let etype = s.field(3, encrypted_data)?;
    s.end()?;
    Some(TicketFacts {
        realm,
        sname,
        etype,
    })
}

/// `SEQUENCE OF PA-DATA` (RFC 4120 5.2.7) with `PA-DATA ::= SEQUENCE { padata-type [1] Int32,
/// padata-value [2] OCTET STRING }`: each type and value, in order, to `each`.
fn padata<'a>(r: &mut Reader<'a>, mut each: impl FnMut(i32, &'a [u8])) -> Option<()> {
    let mut list = r.seq()?;
    while !list.rest.is_empty() {
        let mut p = list.seq()?;
        let t = p.field(1, Reader::i32)?;
        let v = p.field(2, Reader::octets)?;
        p.end()?;
        each(t, v);
    }
    Some(())
}

/// KDC-REQ (RFC 4120 5.4.1), the content of AS-REQ [APPLICATION 10] / TGS-REQ [APPLICATION 12],
/// summarised as `parse::add_req` does (body facts, padata types with the tickets of
/// PA-TGS-REQ, then the additional tickets).
fn kdc_req<'a>(app: &'a [u8], m: &mut KrbMessage<'a>) -> Option<()> {
    let mut app = Reader::new(app);
    let mut s = app.seq()?;
    app.end()?;
    s.field(1, Reader::u32)?;
    s.field(2, Reader::u32)?;
    // Read in one pass: the types now, the PA-TGS-REQ values (RFC 4120 5.2.7.1: the AP-REQ that
    // carries the TGT; normally one) kept to be summarised after the body, the order of
    // `parse::add_req`.
    let mut tgs_req: Option<&'a [u8]> = None;
    let mut more_tgs_req: Vec<&'a [u8]> = Vec::new();
    let mut for_user: Vec<&'a [u8]> = Vec::new();
    let mut types = Few::default();
    s.opt_field(3, |r| {
        padata(r, |t, v| {
            types.push(t);
            if t == PA_TGS_REQ {
                if tgs_req.is_none() {
                    tgs_req = Some(v);
                } else {
                    more_tgs_req.push(v);
                }
            } else if t == PA_FOR_USER {
                for_user.push(v);
            }
        })
    })?;
    let body = s.field(4, kdc_req_body)?;
    s.end()?;
    if let Some(c) = body.cname {
        m.client = Some(join_client(c, body.realm));
    }
    add_realm(m, body.realm);
    m.sname = body.sname;
    m.etypes_requested = body.etypes;
    m.padata_types = types;
    for v in tgs_req.into_iter().chain(more_tgs_req) {
        super::parse::add_pa_tgs_req(m, v);
    }
    for realm in for_user.into_iter().filter_map(for_user_realm) {
        add_realm(m, realm);
    }
    for t in body.tickets {
        t.add_to(m);
    }
    Some(())
}

/// The userRealm of a PA-FOR-USER value (MS-SFU 2.2.1: `SEQUENCE { userName [0]
/// PrincipalName, userRealm [1] Realm, cksum [2] Checksum, auth-package [3] KerberosString }`),
/// if its first two fields read.
pub(super) fn for_user_realm(value: &[u8]) -> Option<&str> {
    let mut r = Reader::new(value);
    let mut s = r.seq()?;
    s.field(0, principal)?;
    s.field(1, Reader::string)
}

/// The whole first fields of a message the capture cut short (see
/// [`crate::proto::Analyzer::cut`]), as tshark shows them: its type, and while whole, of a
/// request the PA-DATA types, client, realm and requested service (RFC 4120 5.4.1); of a reply
/// the PA-DATA types and client (5.4.2); of a KRB-ERROR the code, client, realm and service
/// (5.9.1). `None` unless `data` starts with a known message tag and its SEQUENCE.
pub(super) fn cut_message(data: &[u8]) -> Option<KrbMessage<'_>> {
    let tag = *data.first()?;
    let mt = MsgType::from_tag(tag)?;
    let app = Reader::new(data).take_cut(tag)?;
    let mut s = Reader::new(Reader::new(app).take_cut(SEQUENCE)?);
    let mut m = KrbMessage {
        msg_type: Some(mt),
        ..KrbMessage::default()
    };
    // Each reader stops at the first field that is not whole; what it read stays in `m`.
    let _ = match mt {
        MsgType::AS_REQ | MsgType::TGS_REQ => cut_kdc_req(&mut s, &mut m),
        MsgType::AS_REP | MsgType::TGS_REP => cut_kdc_rep(&mut s, &mut m),
        MsgType::ERROR => cut_krb_error(&mut s, &mut m),
        _ => None,
    };
    Some(m)
}

/// The types of the whole PA-DATA elements of the `[n] padata` field next in `s`, if any.
fn cut_padata(s: &mut Reader<'_>, n: u8, m: &mut KrbMessage<'_>) -> Option<()> {
    if s.rest.first() != Some(&ctx(n)) {
        return Some(());
    }
    let mut list = Reader::new(Reader::new(s.take_cut(ctx(n))?).take_cut(SEQUENCE)?);
    // Whole elements, then the one the cut is in: its padata-type comes first.
    while let Some(c) = list.take_cut(SEQUENCE) {
        m.padata_types.push(Reader::new(c).field(1, Reader::i32)?);
    }
    Some(())
}

/// [`cut_message`] of a KDC-REQ's SEQUENCE content.
fn cut_kdc_req<'a>(s: &mut Reader<'a>, m: &mut KrbMessage<'a>) -> Option<()> {
    s.field(1, Reader::u32)?;
    s.field(2, Reader::u32)?;
    cut_padata(s, 3, m)?;
    let mut b = Reader::new(Reader::new(s.take_cut(ctx(4))?).take_cut(SEQUENCE)?);
    b.field(0, Reader::flags)?;
    let cname = b.opt_field(1, principal)?;
    let realm = b.field(2, Reader::string)?;
    if let Some(c) = cname {
        m.client = Some(join_client(c, realm));
    }
    add_realm(m, realm);
    m.sname = b.opt_field(3, principal)?;
    Some(())
}

/// [`cut_message`] of a KDC-REP's SEQUENCE content.
fn cut_kdc_rep<'a>(s: &mut Reader<'a>, m: &mut KrbMessage<'a>) -> Option<()> {
    s.field(0, Reader::u32)?;
    s.field(1, Reader::u32)?;
    cut_padata(s, 2, m)?;
    let crealm = s.field(3, Reader::string)?;
    add_realm(m, crealm);
    m.client = Some(join_client(s.field(4, principal)?, crealm));
    Some(())
}

/// [`cut_message`] of a KRB-ERROR's SEQUENCE content.
fn cut_krb_error<'a>(s: &mut Reader<'a>, m: &mut KrbMessage<'a>) -> Option<()> {
    m.error_code = Some(error_code(s)?);
    let crealm = s.opt_field(7, Reader::string)?;
    if let Some(cr) = crealm {
        add_realm(m, cr);
    }
    let cname = s.opt_field(8, principal)?;
    let realm = s.field(9, Reader::string)?;
    if let Some(c) = cname {
        m.client = Some(join_client(c, crealm.unwrap_or(realm)));
    }
    add_realm(m, realm);
    m.error_sname = Some(s.field(10, principal)?);
    Some(())
}

/// What certflow keeps of a KDC-REQ-BODY.
struct Body<'a> {
    cname: Option<Cow<'a, str>>,
    realm: &'a str,
    sname: Option<Cow<'a, str>>,
    etypes: Few<i32, 8>,
    /// `additional-tickets [11]`.
    tickets: Vec<TicketFacts<'a>>,
}

/// KDC-REQ-BODY (RFC 4120 5.4.1).
fn kdc_req_body<'a>(r: &mut Reader<'a>) -> Option<Body<'a>> {
    let mut s = r.seq()?;
    s.field(0, Reader::flags)?;
    let cname = s.opt_field(1, principal)?;
    let realm = s.field(2, Reader::string)?;
    let sname = s.opt_field(3, principal)?;
    s.opt_field(4, Reader::time)?;
    s.field(5, Reader::time)?;
    s.opt_field(6, Reader::time)?;
    s.field(7, Reader::uint32_as_sent)?;
    let mut etypes = Few::default();
    s.field(8, |r| {
        let mut list = r.seq()?;
        while !list.rest.is_empty() {
            etypes.push(list.i32()?);
        }
        Some(())
    })?;
    // addresses [9] HostAddresses: SEQUENCE OF SEQUENCE { addr-type [0] Int32, address [1]
    // OCTET STRING }.
    s.opt_field(9, |r| {
        let mut list = r.seq()?;
        while !list.rest.is_empty() {
            let mut a = list.seq()?;
            a.field(0, Reader::i32)?;
            a.field(1, Reader::octets)?;
            a.end()?;
        }
        Some(())
    })?;
    s.opt_field(10, encrypted_data)?;
    let mut tickets = Vec::new();
    s.opt_field(11, |r| {
        let mut list = r.seq()?;
        while !list.rest.is_empty() {
            tickets.push(ticket(&mut list)?);
        }
        Some(())
    })?;
    s.end()?;
    Some(Body {
        cname,
        realm,
        sname,
        etypes,
        tickets,
    })
}

/// `principal@realm` (as `parse::client`).
fn join_client(p: Cow<'_, str>, realm: &str) -> String {
    let mut c = match p {
        Cow::Borrowed(p) => {
            let mut c = String::with_capacity(p.len() + 1 + realm.len());
            c.push_str(p);
            c
        }
        Cow::Owned(mut p) => {
            p.reserve(1 + realm.len());
            p
        }
    };
    c.push('@');
    c.push_str(realm);
    c
}

/// KDC-REP (RFC 4120 5.4.2), the content of AS-REP / TGS-REP, as `parse::add_rep` does.
fn kdc_rep<'a>(app: &'a [u8], m: &mut KrbMessage<'a>) -> Option<()> {
    let mut app = Reader::new(app);
    let mut s = app.seq()?;
    app.end()?;
    s.field(0, Reader::u32)?;
    s.field(1, Reader::u32)?;
    let mut pa = Few::default();
    s.opt_field(2, |r| padata(r, |t, _| pa.push(t)))?;
    let crealm = s.field(3, Reader::string)?;
    let cname = s.field(4, principal)?;
    m.client = Some(join_client(cname, crealm));
    add_realm(m, crealm);
    m.padata_types = pa;
    s.field(5, ticket)?.add_to(m);
    m.enc_part_etype = Some(s.field(6, encrypted_data)?);
    s.end()
}

/// AP-REQ (RFC 4120 5.5.1) content: its ticket.
fn ap_req(app: &[u8]) -> Option<TicketFacts<'_>> {
    let mut app = Reader::new(app);
    let mut s = app.seq()?;
    app.end()?;
    s.field(0, Reader::u32)?;
    s.field(1, Reader::u32)?;
    s.field(2, Reader::flags)?;
    let t = s.field(3, ticket)?;
    s.field(4, encrypted_data)?;
    s.end()?;
    Some(t)
}

/// The fields of a KRB-ERROR (RFC 4120 5.9.1) up to its `error-code`, which is returned: pvno,
/// msg-type, ctime, cusec, stime, susec.
fn error_code(s: &mut Reader<'_>) -> Option<i32> {
    s.field(0, Reader::u32)?;
    s.field(1, Reader::u32)?;
    s.opt_field(2, Reader::time)?;
    s.opt_field(3, Reader::usec)?;
    s.field(4, Reader::time)?;
    s.field(5, Reader::usec)?;
    s.field(6, Reader::i32)
}

/// KRB-ERROR (RFC 4120 5.9.1) content, as `parse::add_error` does.
fn krb_error<'a>(app: &'a [u8], m: &mut KrbMessage<'a>) -> Option<()> {
    let mut app = Reader::new(app);
    let mut s = app.seq()?;
    app.end()?;
    let code = error_code(&mut s)?;
    let crealm = s.opt_field(7, Reader::string)?;
    let cname = s.opt_field(8, principal)?;
    let realm = s.field(9, Reader::string)?;
    let sname = s.field(10, principal)?;
    s.opt_field(11, Reader::string)?;
    let e_data = s.opt_field(12, Reader::octets)?;
    s.end()?;
    m.error_code = Some(code);
    if let Some(c) = cname {
        m.client = Some(join_client(c, crealm.unwrap_or(realm)));
    }
    if let Some(cr) = crealm {
        add_realm(m, cr);
    }
    add_realm(m, realm);
    m.error_sname = Some(sname);
    m.e_data = e_data;
    Some(())
}

/// The summary of the whole message of type `mt` at the start of `data` (trailing bytes ignored,
/// as by kerberos-parser), or `None` when the fast path does not accept it (see the module
/// documentation: the caller then asks kerberos-parser).
pub(super) fn parse(data: &[u8], mt: MsgType) -> Option<KrbMessage<'_>> {
    let (t, app, _) = ber::split(data).ok()?;
    let mut m = KrbMessage {
        msg_type: Some(mt),
        ..KrbMessage::default()
    };
    let ok = match (mt, t.tag) {
        (MsgType::AS_REQ, 0x6a) | (MsgType::TGS_REQ, 0x6c) => kdc_req(app, &mut m),
        (MsgType::AS_REP, 0x6b) | (MsgType::TGS_REP, 0x6d) => kdc_rep(app, &mut m),
        (MsgType::AP_REQ, 0x6e) => ap_req(app).map(|t| t.add_to(&mut m)),
        (MsgType::ERROR, 0x7e) => krb_error(app, &mut m),
        _ => None,
    };
    ok.map(|()| m)
}

/// The ticket of the AP-REQ at the start of `data` added to `m`, if the fast path accepts it.
pub(super) fn ap_req_ticket<'a>(data: &'a [u8], m: &mut KrbMessage<'a>) -> Option<()> {
    let (t, app, _) = ber::split(data).ok()?;
    if t.tag != 0x6e {
        return None;
    }
    ap_req(app)?.add_to(m);
    Some(())
}

#[cfg(test)]
mod tests {
    //! The fast path is checked against kerberos-parser itself: on every Kerberos message of the
    //! public captures (and the AP-REQs inside GSS-API tokens, wherever their bytes sit), and on
    //! deterministic mutations of them, whatever the fast path accepts must be accepted by
    //! kerberos-parser with the same summary.
    use super::*;
    use crate::proto::krb::parse::{self, looks_like_message};
    use crate::proto::testutil::{all_captures, count_accepted_mutants, hex, packets_at, Rng};
    use ldap_parser::asn1_rs::FromDer;

    /// Whether `parse::parse_message` would reach the decoders (outer tag known, all present),
    /// and the message type.
    fn decodable(b: &[u8]) -> Option<MsgType> {
        let t = ber::header(b).ok()?;
        let mt = MsgType::from_tag(t.tag)?;
        (t.total_len() <= b.len()).then_some(mt)
    }

    /// Compares the two paths on `b`; returns whether the fast path accepted it.
    fn agree(b: &[u8]) -> bool {
        let Some(mt) = decodable(b) else {
            return false;
        };
        let fast = parse(b, mt);
        let lib = parse::parse_with_library(b, mt);
        if let Some(f) = &fast {
            if lib.is_ok() || !library_refuses_a_negative_integer(b, mt) {
                assert_eq!(Ok(f), lib.as_ref(), "fast path accepted {b:02x?}");
            }
        }
        // The ticket of an AP-REQ read on its own, as inside PA-TGS-REQ.
        let mut one = KrbMessage::default();
        if ap_req_ticket(b, &mut one).is_some() {
            let lib = kerberos_parser::krb5::ApReq::from_der(b);
            if !negative(&lib) {
                let (_, ap) = lib.expect("library AP-REQ");
                let mut two = KrbMessage::default();
                parse::add_ticket(&mut two, ap.ticket);
                assert_eq!(one, two);
            }
        }
        fast.is_some()
    }

    /// Whether a kerberos-parser result is a refusal for a negative INTEGER.
    fn negative<T>(
        r: &ldap_parser::asn1_rs::nom::IResult<&[u8], T, ldap_parser::asn1_rs::Error>,
    ) -> bool {
        use ldap_parser::asn1_rs::{nom::Err, Error::IntegerNegative};
        matches!(
            r,
            Err(Err::Error(IntegerNegative) | Err::Failure(IntegerNegative))
        )
    }

    /// Whether kerberos-parser refuses `b` because of a negative INTEGER: the one form the fast
    /// path accepts beyond the library ([`Reader::uint32_as_sent`]).
    fn library_refuses_a_negative_integer(b: &[u8], mt: MsgType) -> bool {
        use kerberos_parser::krb5::{ApReq, KrbError};
        use kerberos_parser::krb5_parser as k;
        match mt {
            MsgType::AS_REQ => negative(&k::parse_as_req(b)),
            MsgType::TGS_REQ => negative(&k::parse_tgs_req(b)),
            MsgType::AS_REP => negative(&k::parse_as_rep(b)),
            MsgType::TGS_REP => negative(&k::parse_tgs_rep(b)),
            MsgType::AP_REQ => negative(&ApReq::from_der(b)),
            MsgType::ERROR => negative(&KrbError::from_der(b)),
            _ => false,
        }
    }

    /// Every Kerberos message of the public captures: UDP 88 datagrams, single-segment TCP 88
    /// records, and any position of any payload where a message envelope (tag, SEQUENCE,
    /// pvno 5) starts (AP-REQs in LDAP, SMB, HTTP and DCE/RPC authentication tokens).
    fn corpus() -> Option<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        for path in all_captures()? {
            for s in packets_at(&path) {
                let p = &s.payload;
                if s.sport == 88 || s.dport == 88 {
                    if let parse::Record::Complete(n) = parse::record(p) {
                        out.push(p[4..4 + n].to_vec());
                        continue;
                    }
                    out.push(p.clone());
                    continue;
                }
                for i in 0..p.len() {
                    if matches!(p[i], 0x6a..=0x6e | 0x7e) && looks_like_message(&p[i..], None) {
                        out.push(p[i..].to_vec());
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        Some(out)
    }

    #[test]
    fn agrees_with_kerberos_parser_on_every_capture_message() {
        let Some(msgs) = corpus() else {
            return;
        };
        let (mut lib_ok, mut fast_ok) = (0, 0);
        for b in &msgs {
            if decodable(b).is_some_and(|mt| parse::parse_with_library(b, mt).is_ok()) {
                lib_ok += 1;
            }
            if agree(b) {
                fast_ok += 1;
            }
        }
        eprintln!(
            "{} messages, library {lib_ok}, fast path {fast_ok}",
            msgs.len()
        );
        // The fast path takes every well-formed message of the captures (none uses a form it
        // leaves to the library); a regression here would only cost time, not change output.
        assert!(lib_ok > 100, "{lib_ok}");
        assert_eq!(fast_ok, lib_ok);
    }

    #[test]
    fn agrees_with_kerberos_parser_on_mutations() {
        let Some(msgs) = corpus() else {
            return;
        };
        // FUZZ_ROUNDS widens a local run (every message, that many mutations each).
        let wide: Option<usize> = std::env::var("FUZZ_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok());
        let (step, rounds) = wide.map_or((4, 150), |n| (1, n));
        let mut r = Rng(0x5eed_4b52_4245_0001);
        // Every 4th message, 150 mutations each: every other one a single bit flipped (class,
        // constructed bit, tag number, length, value), else a few bytes overwritten (random,
        // 0x00, 0xff) or the message cut.
        let some = msgs.iter().filter(|b| !b.is_empty()).step_by(step);
        let accepted = count_accepted_mutants(some, rounds, &mut r, agree);
        eprintln!("{accepted} mutated messages accepted by both paths");
        assert!(accepted > 0);
    }

    /// captures/lab_enroll_snaplen_200.pcap frames 32 and 33, udp.payload: MIT kinit's first
    /// AS-REQ and Samba's PREAUTH_REQUIRED, each cut by `tcpdump -s 200` (tshark: "[Packet size
    /// limited during capture]", and it still shows the fields below).
    const CUT_AS_REQ_32: &str = concat!(
        "6a81b63081b3a103020105a20302010aa31a3018300aa10402020096a2020400300aa10402020095a2020400",
        "a4818a308187a00703050000000010a1123010a003020101a10930071b05616c696365a20e1b0c4345525446",
        "4c4f572e4c4142a321301fa003020102a11830161b066b72627467741b0c43455254464c4f572e4c4142a511",
        "180f32303236313132353134323934365aa706020466b834e1a8",
    );
    const CUT_KRB_ERROR_33: &str = concat!(
        "7e82012d30820129a003020105a10302011ea411180f32303236313132343134323934365aa505020304d488",
        "a603020119a70e1b0c43455254464c4f572e4c4142a8123010a003020101a10930071b05616c696365a90e1b",
        "0c43455254464c4f572e4c4142aa21301fa003020102a11830161b066b72627467741b0c43455254464c4f57",
        "2e4c4142ab2b1b294e65656420746f207573652050412d454e43",
    );

    #[test]
    fn messages_cut_short_give_their_whole_first_fields() {
        let req = hex(CUT_AS_REQ_32);
        assert!(parse(&req, MsgType::AS_REQ).is_none());
        let m = cut_message(&req).expect("AS-REQ envelope");
        assert_eq!(m.msg_type, Some(MsgType::AS_REQ));
        assert_eq!(m.padata_types.as_slice(), &[150, 149]);
        assert_eq!(m.client.as_deref(), Some("alice@CERTFLOW.LAB"));
        assert_eq!(m.sname.as_deref(), Some("krbtgt/CERTFLOW.LAB"));
        assert_eq!(m.realms.as_slice(), &[Cow::Borrowed("CERTFLOW.LAB")]);
        let err = hex(CUT_KRB_ERROR_33);
        let m = cut_message(&err).expect("KRB-ERROR envelope");
        assert_eq!(m.error_code, Some(25));
        assert_eq!(m.error_sname.as_deref(), Some("krbtgt/CERTFLOW.LAB"));
        // A TGS-REQ over TCP (frame 75, record mark first) cut inside its PA-TGS-REQ: the
        // type of the element the cut is in comes first, so it is read (tshark: padata 1).
        let tgs = hex(
            "000006c06c8206bc308206b8a103020105a20302010ca38206313082062d30820545a103020101a28205\
            3c048205386e82053430820530a003020105a10302010ea20703050000000000a382045d618204593082\
            0455a003020105a10e1b0c43455254464c4f572e4c4142a221301fa003020102a11830161b066b726274\
            67741b0c43455254",
        );
        let m = cut_message(&tgs[4..]).expect("TGS-REQ envelope");
        assert_eq!(m.msg_type, Some(MsgType::TGS_REQ));
        assert_eq!(m.padata_types.as_slice(), &[1]);
        assert_eq!(m.sname, None);
        // Every shorter cut reads fewer fields, never a panic; none before the SEQUENCE.
        for b in [&req, &err] {
            for n in 0..b.len() {
                let _ = cut_message(&b[..n]);
            }
            assert!(cut_message(&b[..1]).is_none());
        }
    }

    #[test]
    fn uint32_written_negative_is_read_as_sent() {
        // captures/lab_enroll_small_segments.pcap frame 814 (smbclient, Heimdal): the nonce of
        // the TGS-REQ for cifs/dc1, 3647550352 in tshark, written as a negative INTEGER.
        let nonce = [0x02, 0x04, 0xd9, 0x69, 0x33, 0x90];
        assert_eq!(Reader::new(&nonce).uint32_as_sent(), Some(3_647_550_352));
        assert_eq!(Reader::new(&nonce).u32(), None);
        // In range, it reads as a UInt32 does; more than 4 octets or non-minimal, not at all.
        let plain = [0x02, 0x05, 0x00, 0xd9, 0x69, 0x33, 0x90];
        assert_eq!(Reader::new(&plain).uint32_as_sent(), Some(3_647_550_352));
        let long = [0x02, 0x05, 0xff, 0x59, 0x69, 0x33, 0x90];
        assert_eq!(Reader::new(&long).uint32_as_sent(), None);
        assert_eq!(
            Reader::new(&[0x02, 0x02, 0xff, 0x90]).uint32_as_sent(),
            None
        );
        assert_eq!(
            Reader::new(&[0x02, 0x01, 0xff]).uint32_as_sent(),
            Some(u32::MAX)
        );
    }

    /// captures/lab_kerberos_variants.pcapng frame 83: impacket getST -self, the PA-FOR-USER
    /// of its S4U2Self TGS-REQ (tshark: name alice, realm certflow.lab, cksum HMAC-MD5, auth
    /// Kerberos). Every prefix is refused (a value is read whole or not at all), never a panic.
    #[test]
    fn pa_for_user_gives_the_users_realm() {
        let v = hex("304ea0123010a003020101a10930071b05616c696365a10e1b0c63657274666c6f772e6c6162a21c301aa0040202ff76a11204108fd7dacce3b6c467eb4e1ad55a79f1fca30a1b084b65726265726f73");
        assert_eq!(for_user_realm(&v), Some("certflow.lab"));
        for n in 0..v.len() {
            assert_eq!(for_user_realm(&v[..n]), None, "prefix {n}");
        }
    }

    #[test]
    fn refuses_what_it_cannot_vouch_for() {
        // kerberos_udp_vlan_krb_error.pcap frame 2, udp.payload: KRB-ERROR 52.
        let b = hex(crate::proto::testutil::KRB_UDP_ERROR_52);
        let m = parse(&b, MsgType::ERROR).expect("fast path");
        assert_eq!(
            (m.error_code, m.error_sname.as_deref()),
            (Some(52), Some("krbtgt/LINUX.SHELL.COM"))
        );
        // Truncated at every length: never accepted, never a panic.
        for n in 0..b.len() {
            assert!(parse(&b[..n], MsgType::ERROR).is_none(), "prefix {n}");
        }
        // A non-minimal INTEGER (pvno as 02 02 00 05) is left to the library.
        let mut r = Reader::new(&[0x02, 0x02, 0x00, 0x05]);
        assert_eq!(r.u32(), None);
        assert_eq!(Reader::new(&[0x02, 0x01, 0x05]).u32(), Some(5));
        assert_eq!(Reader::new(&[0x02, 0x01, 0xff]).u32(), None);
        assert_eq!(Reader::new(&[0x02, 0x01, 0xff]).i32(), Some(-1));
        assert_eq!(Reader::new(&[0x02, 0x02, 0xff, 0x80]).i32(), None);
        assert_eq!(Reader::new(&[0x02, 0x01, 0x80]).i32(), Some(-128));
        assert_eq!(
            Reader::new(&[0x02, 0x05, 0x00, 0xff, 0xff, 0xff, 0xff]).u32(),
            Some(u32::MAX)
        );
        assert_eq!(Reader::new(&[0x02, 0x05, 0x00, 0x80, 0, 0, 0]).i32(), None);
        // Times: the RFC 4120 form only, components in range.
        let t = |s: &[u8]| {
            let mut v = vec![0x18, s.len() as u8];
            v.extend_from_slice(s);
            Reader::new(&v).time()
        };
        assert_eq!(t(b"20370913024805Z"), Some(()));
        assert_eq!(t(b"20371313024805Z"), None);
        assert_eq!(t(b"20370913024860Z"), None);
        assert_eq!(t(b"20370913024805.5Z"), None);
        assert_eq!(t(b"20370913024805"), None);
        // BIT STRING with a set padding bit.
        assert_eq!(Reader::new(&[0x03, 0x02, 0x01, 0x01]).flags(), None);
        assert_eq!(
            Reader::new(&[0x03, 0x05, 0x00, 0x40, 0x81, 0, 0x10]).flags(),
            Some(())
        );
        // A GeneralString with a non-ASCII byte.
        assert_eq!(Reader::new(&[0x1b, 0x02, b'a', 0xe9]).string(), None);
    }
}
