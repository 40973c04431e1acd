//! Per-connection state of the LDAP/CLDAP analyzer: message framing on the TCP stream (several
//! messages per segment, messages across segments), SASL security layer buffers after a SASL bind
//! (RFC 4422 3.7), StartTLS hand-over to the TLS dissector (RFC 4511 4.14), resynchronisation
//! after gaps, and CLDAP datagrams.

use crate::evidence::{Evidence, FrameRef};
use crate::proto::auth;
use crate::proto::{Analyzer, Ctx, Dir, Transport};

use super::evidence::LdapEvidence;
use super::parse::{self, Detail, Frame};
use super::sasl::{self, Protection, TokenKind};

/// Bytes kept unconsumed while searching for the next message after a gap: a message or SASL
/// buffer start straddling two segments is found once the next segment arrives.
const RESYNC_KEEP: usize = 40;

/// Bytes of a message or token needed before its shape is checked (the longest prefix
/// [`parse::peek_op`] and [`sasl::classify`] read).
const CHECK_BYTES: usize = 32;

/// Largest integrity-only SASL buffer waited for and unwrapped: one maximal LDAP message plus
/// token overhead (RFC 4121 header and checksum, NTLM signature).
const MAX_READABLE_BUFFER: usize = parse::MAX_MESSAGE_LEN + 64;

/// Largest un-rotation scratch buffer kept between SASL tokens: bigger ones (rare, up to
/// [`MAX_READABLE_BUFFER`]) are freed so an idle connection does not hold megabytes.
const MAX_KEPT_SCRATCH: usize = 64 * 1024;

/// protocolOp tags counted per tag while the connection runs (RFC 4511 APPLICATION 0-25), plus
/// one slot for every larger tag (which ldap-parser and [`parse::peek_op`] never produce):
/// [`parse::op_name`] names them all "unknown", so one tally counts them all.
const TALLIED_OPS: usize = 27;

/// The tally slot of protocolOp tag `op` (see [`TALLIED_OPS`]).
fn op_slot(op: u32) -> usize {
    usize::try_from(op).map_or(TALLIED_OPS - 1, |i| i.min(TALLIED_OPS - 1))
}

/// State of one direction.
#[derive(Debug, Default)]
struct DirState {
    /// Looking for the next message start (after a gap or bad bytes).
    resync: bool,
    /// Bytes of an oversized message or a sealed SASL buffer still to skip.
    skip: usize,
    /// Whether the bytes being skipped belong to a SASL buffer.
    skip_sasl: bool,
    /// Cleartext unwrapped from integrity-only SASL buffers, not yet framed into messages.
    inner: Vec<u8>,
    /// Total length of the readable SASL buffer at the head of the unconsumed bytes, while
    /// fewer bytes have arrived (0 when not waiting). Unconsumed bytes are offered again with
    /// each segment appended, so until this many are there the head is not read again: a
    /// 64 KiB buffer arrives in some 45 segments.
    wait: usize,
}

/// What the head of a direction's bytes is.
enum Head {
    /// Need more bytes.
    Wait,
    /// A complete LDAP message of this length.
    Message(usize),
    /// An LDAP message longer than [`parse::MAX_MESSAGE_LEN`]: skip this many bytes.
    TooLong(usize),
    /// A SASL buffer: total length (prefix included), token kind (if known), protection.
    Sasl(usize, Option<TokenKind>, Protection),
    /// Not a message start.
    Bad,
}

/// LDAP (TCP) / CLDAP (UDP) analyzer. What messages show is written straight into the sink's
/// LDAP evidence (see [`Analyzer`]); per-tag message tallies, resynchronisations after gaps
/// and SASL frames are kept per connection and written at `finish`.
pub struct LdapAnalyzer {
    transport: Transport,
    server_port: u16,
    /// This connection wrote into the sink's LDAP evidence or tallied something for it (a
    /// message, a malformed count, a SASL buffer or a resynchronisation): only then does it
    /// give its flow an LDAP entry and its `sasl_frames`, as when it kept an evidence of its
    /// own and merged it unless empty.
    wrote: bool,
    /// Messages tallied in `ops`, not yet in the sink's `messages`.
    messages: u64,
    /// Gaps seen ([`Analyzer::gap`] has no sink), each a resynchronisation, not yet in the
    /// sink's `resyncs`.
    gap_resyncs: u64,
    /// Frames that carried SASL buffer bytes, not yet in the sink's `sasl_frames`.
    sasl_frames: u64,
    dirs: [DirState; 2],
    proved: bool,
    /// A SASL bind is in progress (its mechanism is in the evidence's `binds`).
    sasl_bind: bool,
    /// A SASL bind succeeded: SASL buffers of any token kind are expected.
    sasl_layer: bool,
    /// Frame that last carried SASL bytes (to count frames once).
    last_sasl_frame: Option<FrameRef>,
    /// StartTLS requested, response not seen yet.
    starttls_pending: bool,
    /// StartTLS accepted: everything now belongs to TLS.
    tls_started: bool,
    /// The TLS analyzer the stream is handed to after StartTLS.
    tls: Option<Box<dyn Analyzer>>,
    /// Scratch space for SASL cleartext that must be un-rotated (RFC 4121 4.2.5), reused from
    /// token to token.
    unrotated: Vec<u8>,
    /// Messages read from SASL buffers per protocolOp tag, not yet in the sink's `unwrapped`: a
    /// directory search inside a SASL layer is thousands of searchResEntry, and one named
    /// counter lookup per message was a tenth of the analyzer's cost.
    unwrapped: [u64; TALLIED_OPS],
    /// Messages per protocolOp tag (with the first frame of each), not yet in the sink's
    /// `operations`: one fact lookup per tag and connection instead of one per message.
    ops: [(FrameRef, u64); TALLIED_OPS],
}

impl LdapAnalyzer {
    /// A fresh analyzer for one connection to `server_port`.
    pub fn new(transport: Transport, server_port: u16) -> Self {
        LdapAnalyzer {
            transport,
            server_port,
            wrote: false,
            messages: 0,
            gap_resyncs: 0,
            sasl_frames: 0,
            dirs: Default::default(),
            proved: false,
            sasl_bind: false,
            sasl_layer: false,
            last_sasl_frame: None,
            starttls_pending: false,
            tls_started: false,
            tls: None,
            unrotated: Vec::new(),
            unwrapped: [0; TALLIED_OPS],
            ops: [(FrameRef::default(), 0); TALLIED_OPS],
        }
    }

    /// The LDAP evidence of `sink`, created empty if it has none yet; called only to write
    /// into it (see `wrote`).
    fn ev<'s>(&mut self, sink: &'s mut Evidence) -> &'s mut LdapEvidence {
        self.wrote = true;
        sink.ldap.get_or_insert_with(Default::default)
    }

    /// Counts one message read from a SASL buffer.
    fn count_unwrapped(&mut self, op: u32) {
        if let Some(n) = self.unwrapped.get_mut(op_slot(op)) {
            *n += 1;
        }
    }

    /// Counts one message of protocolOp tag `op` seen at `at`.
    fn count_op(&mut self, op: u32, at: FrameRef) {
        if let Some((first, n)) = self.ops.get_mut(op_slot(op)) {
            if *n == 0 || at < *first {
                *first = at;
            }
            *n += 1;
        }
        self.messages += 1;
        self.wrote = true;
    }

    /// Moves the per-connection tallies into the sink's `messages`, `operations`, `unwrapped`,
    /// `resyncs` and `sasl_frames` (the same facts and counters as adding one by one). Frames that
    /// carried SASL bytes are written only by a connection that wrote anything else (see
    /// `wrote`).
    fn flush_tallies(&mut self, sink: &mut Evidence) {
        if self.gap_resyncs > 0 {
            let n = std::mem::take(&mut self.gap_resyncs);
            self.ev(sink).resyncs += n;
        }
        if !self.wrote {
            return;
        }
        let ev = self.ev(sink);
        ev.messages += std::mem::take(&mut self.messages);
        ev.sasl_frames += std::mem::take(&mut self.sasl_frames);
        for (op, (first, n)) in (0u32..).zip(&mut self.ops) {
            if *n > 0 {
                ev.add_ops(op, *first, std::mem::take(n));
            }
        }
        for (op, n) in (0u32..).zip(&mut self.unwrapped) {
            if *n > 0 {
                ev.add_unwrapped(op, std::mem::take(n));
            }
        }
    }

    fn head(&self, data: &[u8]) -> Head {
        let Some(&first) = data.first() else {
            return Head::Wait;
        };
        if first == 0x30 {
            return match parse::message_frame(data) {
                Frame::Incomplete => {
                    let enough = data.len() >= CHECK_BYTES;
                    if enough && !parse::looks_like_message(data) {
                        Head::Bad
                    } else {
                        Head::Wait
                    }
                }
                Frame::Complete(n) => {
                    if parse::looks_like_message(data) {
                        Head::Message(n)
                    } else {
                        Head::Bad
                    }
                }
                Frame::TooLong(n) => {
                    if parse::looks_like_message(data) {
                        Head::TooLong(n)
                    } else {
                        Head::Bad
                    }
                }
                Frame::Invalid => Head::Bad,
            };
        }
        let Some(len) = sasl::buffer_len(data) else {
            return if first == 0 { Head::Wait } else { Head::Bad };
        };
        if len == 0 || len > sasl::MAX_BUFFER_LEN {
            return Head::Bad;
        }
        let token = &data[sasl::LEN_PREFIX..];
        if token.len() < len.min(CHECK_BYTES) {
            return Head::Wait;
        }
        match sasl::classify(token) {
            Some((k, p)) => Head::Sasl(sasl::LEN_PREFIX + len, Some(k), p),
            None if self.sasl_layer => {
                Head::Sasl(sasl::LEN_PREFIX + len, None, Protection::Unknown)
            }
            None => Head::Bad,
        }
    }

    /// Offset of the first plausible message or SASL buffer start in `data`.
    fn find_start(&self, data: &[u8]) -> Option<usize> {
        (0..data.len()).find(|&i| {
            let r = &data[i..];
            match r.first() {
                Some(0x30) => match self.head(r) {
                    Head::Message(n) => parse::parse_message(&r[..n]).is_ok(),
                    Head::Wait => parse::looks_like_message(r),
                    _ => false,
                },
                Some(0x00) => sasl::looks_like_buffer(r),
                _ => false,
            }
        })
    }

    fn bad(&mut self, d: usize, sink: &mut Evidence) {
        let ev = self.ev(sink);
        ev.malformed += 1;
        ev.resyncs += 1;
        self.dirs[d].resync = true;
    }

    fn note_sasl_frame(&mut self, at: FrameRef) {
        if self.last_sasl_frame != Some(at) {
            self.last_sasl_frame = Some(at);
            self.sasl_frames += 1;
        }
    }

    /// One whole LDAPMessage.
    fn message(&mut self, ctx: &Ctx, bytes: &[u8], wrapped: bool, sink: &mut Evidence) {
        self.message_op(ctx, bytes, parse::peek_op(bytes), wrapped, sink);
    }

    /// One whole LDAPMessage whose [`parse::peek_op`] is `peeked`.
    fn message_op(
        &mut self,
        ctx: &Ctx,
        bytes: &[u8],
        peeked: Option<(u32, u32)>,
        wrapped: bool,
        sink: &mut Evidence,
    ) {
        // searchResEntry (4) and searchResRef (19) bodies (attribute values, referral URLs)
        // carry nothing certflow reports: count them from the header alone. They are most of
        // the bytes of a directory search, and decoding every attribute dominated the cost.
        if let Some((_, op @ (4 | 19))) = peeked {
            self.proved = true;
            self.count_op(op, ctx.frame);
            if wrapped {
                self.count_unwrapped(op);
            }
            return;
        }
        let m = match parse::parse_message(bytes) {
            Ok(m) => m,
            Err(_) => {
                self.ev(sink).malformed += 1;
                return;
            }
        };
        self.proved = true;
        self.count_op(m.op, ctx.frame);
        self.ev(sink).record(&m, ctx.frame);
        // The Kerberos in a SASL bind's token: the ticket of the client's AP-REQ is kept as
        // `bind_krb_spns`.
        if let Some(t) = &m.auth_token {
            if let Some(spn) = auth::record_token(sink, t, ctx.frame) {
                self.ev(sink).bind_krb_spns.add(spn, ctx.frame);
            }
        }
        if wrapped {
            self.count_unwrapped(m.op);
        }
        match &m.detail {
            Detail::Bind { kind, .. } => {
                self.sasl_bind = matches!(kind, parse::BindKind::Sasl(_));
            }
            // RFC 4513 5.2.1.5 / RFC 4422 3.7: the security layer starts after a successful
            // SASL bind (resultCode success); 14 saslBindInProgress keeps the bind going.
            Detail::Result { code } if m.op == 1 => {
                if *code == 0 && self.sasl_bind {
                    self.sasl_layer = true;
                }
                if *code != 14 {
                    self.sasl_bind = false;
                }
            }
            Detail::Extended { oid } if oid == parse::STARTTLS_OID => {
                self.ev(sink).starttls.add_ref("requested", ctx.frame);
                self.starttls_pending = true;
            }
            Detail::ExtendedResp { code, oid }
                if self.starttls_pending
                    && oid.as_deref().is_none_or(|o| o == parse::STARTTLS_OID) =>
            {
                self.starttls_pending = false;
                if *code == 0 {
                    self.ev(sink).starttls.add_ref("accepted", ctx.frame);
                    self.start_tls();
                } else {
                    self.ev(sink).starttls.add_ref("refused", ctx.frame);
                }
            }
            _ => {}
        }
    }

    /// RFC 4511 4.14.2: after a successful StartTLS response both directions carry TLS.
    fn start_tls(&mut self) {
        self.tls_started = true;
        self.tls =
            crate::proto::by_service("tls").map(|d| (d.new)(self.transport, self.server_port));
        for d in &mut self.dirs {
            *d = DirState::default();
        }
    }

    /// One whole SASL buffer (prefix included) whose token may be unwrapped.
    fn sasl_buffer(&mut self, ctx: &Ctx, d: usize, buf: &[u8], sink: &mut Evidence) {
        let token = buf.get(sasl::LEN_PREFIX..).unwrap_or(&[]);
        let mut scratch = std::mem::take(&mut self.unrotated);
        self.sasl_token(ctx, d, token, &mut scratch, sink);
        if scratch.capacity() <= MAX_KEPT_SCRATCH {
            self.unrotated = scratch;
        }
    }

    /// The token of one whole SASL buffer; `scratch` takes the cleartext when it must be
    /// un-rotated.
    fn sasl_token(
        &mut self,
        ctx: &Ctx,
        d: usize,
        token: &[u8],
        scratch: &mut Vec<u8>,
        sink: &mut Evidence,
    ) {
        let Some(clear) = sasl::plaintext_in(token, scratch) else {
            self.ev(sink).malformed += 1;
            return;
        };
        // NTLM signatures do not say whether the session seals: readable LDAP means signing.
        let ntlm = matches!(sasl::classify(token), Some((TokenKind::Ntlm, _)));
        if ntlm && !parse::looks_like_message(clear) && self.dirs[d].inner.is_empty() {
            self.ev(sink).sasl_protection.add_ref("privacy", ctx.frame);
            return;
        }
        self.ev(sink)
            .sasl_protection
            .add_ref("integrity", ctx.frame);
        let inner = &mut self.dirs[d].inner;
        if inner.len() + clear.len() > parse::MAX_MESSAGE_LEN {
            inner.clear();
            self.ev(sink).malformed += 1;
            return;
        }
        if inner.is_empty() {
            // Nothing pending: frame the messages straight from the cleartext and keep only an
            // incomplete tail.
            let at = self.inner_messages(ctx, clear, sink);
            if !self.tls_started {
                self.dirs[d].inner.extend_from_slice(&clear[at..]);
            }
            return;
        }
        inner.extend_from_slice(clear);
        let mut inner = std::mem::take(&mut self.dirs[d].inner);
        let at = self.inner_messages(ctx, &inner, sink);
        inner.drain(..at);
        if !self.tls_started {
            self.dirs[d].inner = inner;
        }
    }

    /// Frames and handles the whole LDAP messages at the start of the cleartext `data`; returns
    /// the bytes consumed (all of them after a framing error, which is counted).
    fn inner_messages(&mut self, ctx: &Ctx, data: &[u8], sink: &mut Evidence) -> usize {
        let mut at = 0;
        while let Some(rest) = data.get(at..).filter(|r| !r.is_empty()) {
            match parse::frame_op(rest) {
                (Frame::Complete(n), op) => {
                    self.message_op(ctx, rest.get(..n).unwrap_or(rest), op, true, sink);
                    at += n;
                }
                (Frame::Incomplete, _) => break,
                (Frame::TooLong(_) | Frame::Invalid, _) => {
                    self.ev(sink).malformed += 1;
                    at = data.len();
                }
            }
        }
        at
    }
}

impl Analyzer for LdapAnalyzer {
    fn stream(&mut self, ctx: &Ctx, data: &[u8], ev: &mut Evidence) -> usize {
        if self.tls_started {
            return match &mut self.tls {
                Some(t) => t.stream(ctx, data, ev),
                None => data.len(),
            };
        }
        let d = ctx.dir.index();
        let wait = std::mem::take(&mut self.dirs[d].wait);
        if data.len() < wait {
            // Still short of the SASL buffer read last time (see `DirState::wait`): what the
            // `Head::Sasl` arm does while it waits.
            self.note_sasl_frame(ctx.frame);
            self.dirs[d].wait = wait;
            return 0;
        }
        let mut at = 0;
        while at < data.len() {
            let rest = &data[at..];
            let st = &mut self.dirs[d];
            if st.skip > 0 {
                if st.skip_sasl {
                    self.note_sasl_frame(ctx.frame);
                }
                let st = &mut self.dirs[d];
                let n = st.skip.min(rest.len());
                st.skip -= n;
                at += n;
                continue;
            }
            if st.resync {
                match self.find_start(rest) {
                    Some(i) => {
                        at += i;
                        self.dirs[d].resync = false;
                        continue;
                    }
                    None => return at + rest.len().saturating_sub(RESYNC_KEEP),
                }
            }
            match self.head(rest) {
                Head::Wait => break,
                Head::Bad => self.bad(d, ev),
                Head::Message(n) => {
                    self.message(ctx, &rest[..n], false, ev);
                    at += n;
                    if self.tls_started {
                        // The rest of this direction is already TLS (RFC 4511 4.14.2).
                        let more = match &mut self.tls {
                            Some(t) => t.stream(ctx, &data[at..], ev),
                            None => data.len() - at,
                        };
                        return at + more;
                    }
                }
                Head::TooLong(n) => {
                    self.ev(ev).malformed += 1;
                    let st = &mut self.dirs[d];
                    st.skip = n;
                    st.skip_sasl = false;
                }
                Head::Sasl(n, kind, prot) => {
                    self.proved = true;
                    self.note_sasl_frame(ctx.frame);
                    let readable = kind != Some(TokenKind::Krb5Legacy)
                        && (prot == Protection::Integrity
                            || (prot == Protection::Unknown && kind == Some(TokenKind::Ntlm)));
                    if readable && n <= MAX_READABLE_BUFFER {
                        if rest.len() < n {
                            // Its token kind and protection come from its bytes alone, so
                            // the head is the same when the rest arrives: wait for it.
                            self.dirs[d].wait = n;
                            break;
                        }
                        let l = self.ev(ev);
                        l.sasl_buffers += 1;
                        l.sasl_bytes += n as u64;
                        self.sasl_buffer(ctx, d, &rest[..n], ev);
                        at += n;
                    } else {
                        // Sealed, unknown, or too big to unwrap: counted and skipped as it
                        // arrives, never buffered.
                        let l = self.ev(ev);
                        l.sasl_buffers += 1;
                        l.sasl_bytes += n as u64;
                        if readable {
                            l.malformed += 1;
                        } else {
                            l.sasl_protection.add_ref(prot.as_str(), ctx.frame);
                        }
                        let st = &mut self.dirs[d];
                        st.skip = n;
                        st.skip_sasl = true;
                    }
                }
            }
        }
        at
    }

    /// A message cut by the snap length: its operation and the whole fields it starts with
    /// (a search's base, a bind's name and kind, an extended operation's name). Not inside TLS
    /// or SASL buffers, nor while resynchronising, where `head` need not start a message.
    fn cut(&mut self, ctx: &Ctx, head: &[u8], sink: &mut Evidence) {
        let d = ctx.dir.index();
        if self.tls_started || self.dirs[d].resync || self.dirs[d].skip > 0 {
            return;
        }
        let Some((op, detail)) = parse::cut_detail(head) else {
            return;
        };
        self.proved = true;
        self.count_op(op, ctx.frame);
        let ev = self.ev(sink);
        match detail {
            Some(parse::CutDetail::Search { base }) => ev.search_bases.add(base, ctx.frame),
            Some(parse::CutDetail::Bind { name, kind }) => {
                ev.binds.add_ref(&*kind.label(), ctx.frame);
                if !name.is_empty() {
                    ev.bind_names.add(name, ctx.frame);
                }
            }
            Some(parse::CutDetail::Extended { oid }) => ev.extended_ops.add(oid, ctx.frame),
            Some(parse::CutDetail::Result { code }) => {
                ev.record(
                    &parse::Message {
                        id: 0,
                        op,
                        detail: Detail::Result { code },
                        auth_token: None,
                    },
                    ctx.frame,
                );
            }
            None => {}
        }
    }

    fn gap(&mut self, dir: Dir) {
        if self.tls_started {
            if let Some(t) = &mut self.tls {
                t.gap(dir);
            }
            return;
        }
        self.gap_resyncs += 1;
        let st = &mut self.dirs[dir.index()];
        st.resync = true;
        st.skip = 0;
        st.wait = 0;
        st.inner.clear();
    }

    fn datagram(&mut self, ctx: &Ctx, data: &[u8], ev: &mut Evidence) {
        // CLDAP (RFC 1798, MS-ADTS 6.3.3): one LDAPMessage per datagram.
        let mut at = 0;
        while at < data.len() {
            match parse::message_frame(&data[at..]) {
                Frame::Complete(n) => {
                    self.message(ctx, &data[at..at + n], false, ev);
                    at += n;
                }
                _ => {
                    self.ev(ev).malformed += 1;
                    break;
                }
            }
        }
    }

    fn service(&self) -> Option<&'static str> {
        if !self.proved {
            return None;
        }
        Some(match (self.transport, self.server_port) {
            (Transport::Udp, _) => "cldap",
            (Transport::Tcp, 3268) => "gc",
            (Transport::Tcp, _) => "ldap",
        })
    }

    fn finish(&mut self, ev: &mut Evidence) {
        if let Some(t) = &mut self.tls {
            t.finish(ev);
        }
        self.flush_tallies(ev);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{Evidence, Facts};
    use crate::proto::testutil::{
        finish, frames, hex, run_parts, run_tcp, run_udp, select, values, Part, Seg, TcpFeeder,
    };

    /// The LDAP evidence a sink holds (present).
    fn ldap(sink: &Evidence) -> &LdapEvidence {
        sink.ldap.as_deref().expect("LDAP evidence")
    }

    /// An RFC 4121 4.2.6.2 integrity-only wrap token (flags 0x05, EC 12, the RRC given) around
    /// `clear`, in a SASL buffer. Header and 12-byte checksum from
    /// ldap_rootdse_bind_modify_vlan_ipv6.pcapng frame 13 (`LDAP_SASL_MODIFY_RESPONSE`); the
    /// checksum does not match `clear`, which certflow does not verify.
    fn wrap(clear: &[u8], rrc: u16) -> Vec<u8> {
        let f13 = hex(crate::proto::testutil::LDAP_SASL_MODIFY_RESPONSE);
        let cksum = &f13[20..32];
        let mut data = clear.to_vec();
        data.extend_from_slice(cksum);
        let r = usize::from(rrc) % data.len();
        data.rotate_right(r);
        let mut t = f13[4..20].to_vec();
        t[6..8].copy_from_slice(&rrc.to_be_bytes());
        t.extend_from_slice(&data);
        let mut b = (t.len() as u32).to_be_bytes().to_vec();
        b.extend_from_slice(&t);
        b
    }

    /// BER TLV, definite length (test construction only).
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let n = content.len();
        let mut v = vec![tag];
        if n < 0x80 {
            v.push(n as u8);
        } else {
            v.extend([0x82, (n >> 8) as u8, n as u8]);
        }
        v.extend_from_slice(content);
        v
    }

    #[test]
    fn sicily_ntlm_bind_names_server_and_user() {
        // A Sicily NTLM bind as MS-ADTS 5.1.1.1.3 lays it out (what certipy's ldap3 sends
        // against Windows; the lab's Samba refuses it after the discovery step, so the LDAP
        // envelopes are built here) around the real NTLM messages of
        // `lab_enroll_icpr_named_pipe.pcap` frames 50-52: sicilyNegotiate [10] holds the
        // NEGOTIATE, the server's bindResponse carries the CHALLENGE in its matchedDN, and
        // sicilyResponse [11] holds the AUTHENTICATE.
        use crate::proto::testutil::{NTLM_AUTHENTICATE, NTLM_CHALLENGE, NTLM_NEGOTIATE};
        let bind = |id: u8, choice: u8, ntlm: &str| {
            let op = [tlv(0x02, &[3]), tlv(0x04, b""), tlv(choice, &hex(ntlm))].concat();
            tlv(0x30, &[tlv(0x02, &[id]), tlv(0x60, &op)].concat())
        };
        let response = |id: u8, dn: &[u8]| {
            let op = [tlv(0x0a, &[0]), tlv(0x04, dn), tlv(0x04, b"")].concat();
            tlv(0x30, &[tlv(0x02, &[id]), tlv(0x61, &op)].concat())
        };
        let parts: Vec<Part> = vec![
            (50, Dir::ToServer, bind(2, 0x8a, NTLM_NEGOTIATE)),
            (51, Dir::ToClient, response(2, &hex(NTLM_CHALLENGE))),
            (52, Dir::ToServer, bind(3, 0x8b, NTLM_AUTHENTICATE)),
            (53, Dir::ToClient, response(3, b"")),
        ];
        let mut a = LdapAnalyzer::new(Transport::Tcp, 389);
        let ev = run_parts(&mut a, Transport::Tcp, 389, &parts);
        let l = ldap(&ev);
        assert_eq!((l.messages, l.malformed), (4, 0));
        assert_eq!(values(&l.binds), vec!["sicily".to_string()]);
        let n = ev.ntlm.as_deref().expect("ntlm entry");
        let types: Vec<(i64, u64)> = n
            .msg_types
            .iter()
            .map(|f| (f.value.code, f.first.frame))
            .collect();
        assert_eq!(types, vec![(1, 50), (2, 51), (3, 52)]);
        assert_eq!(frames(&n.server_dns_names), vec![("CA1".to_string(), 51)]);
        assert_eq!(
            frames(&n.users),
            vec![("CERTFLOW.LAB\\ALICE".to_string(), 52)]
        );
    }

    #[test]
    fn sasl_buffer_with_two_messages_and_a_partial_third() {
        // Cleartext: the modifyResponse of frame 13 (22 bytes), the rootDSE searchRequest of
        // frame 4, and the first 10 bytes of the modifyResponse again; the next buffer carries
        // its last 12 bytes. RRC 12 = EC (as Windows sends) and 0 are read in place, RRC 20
        // (> EC) is un-rotated into the scratch buffer: all three give the same messages.
        let f13 = hex(crate::proto::testutil::LDAP_SASL_MODIFY_RESPONSE);
        let modify = f13[32..].to_vec();
        assert_eq!(modify.len(), 22);
        let search = hex(crate::proto::testutil::LDAP_ROOTDSE_SEARCH);
        let mut first = modify.clone();
        first.extend_from_slice(&search);
        first.extend_from_slice(&modify[..10]);
        for rrc in [12, 0, 20] {
            let mut a = LdapAnalyzer::new(Transport::Tcp, 389);
            let mut sink = Evidence::default();
            let c = crate::proto::testutil::ctx(13, Dir::ToClient, Transport::Tcp, 389);
            let b = wrap(&first, rrc);
            assert_eq!(a.stream(&c, &b, &mut sink), b.len());
            // Messages are tallied by the analyzer until the end.
            let l = ldap(&sink);
            assert_eq!((a.messages, l.malformed, l.sasl_buffers), (2, 0, 1));
            assert_eq!(a.dirs[Dir::ToClient.index()].inner, modify[..10]);
            let b = wrap(&modify[10..], rrc);
            assert_eq!(a.stream(&c, &b, &mut sink), b.len());
            let l = ldap(&sink);
            assert_eq!((a.messages, l.malformed, l.sasl_buffers), (3, 0, 2));
            assert!(a.dirs[Dir::ToClient.index()].inner.is_empty());
            assert_eq!(a.unrotated.is_empty(), rrc != 20, "rrc {rrc}");
            // Per-tag tallies reach the sink at the end.
            assert_eq!(ldap(&sink).unwrapped.get("modifyResponse"), 0);
            let sink = finish(&mut a, sink);
            let l = ldap(&sink);
            assert_eq!(l.messages, 3);
            assert_eq!(l.unwrapped.get("modifyResponse"), 2, "rrc {rrc}");
            assert_eq!(l.unwrapped.get("searchRequest"), 1, "rrc {rrc}");
            assert_eq!(counts(&l.sasl_protection), vec![("integrity".into(), 2)]);
        }
    }

    #[test]
    fn sasl_buffer_arriving_in_pieces_is_waited_for_once() {
        // The cleartext of `sasl_buffer_with_two_messages_and_a_partial_third` (modifyResponse
        // of ldap_rootdse_bind_modify_vlan_ipv6.pcapng frame 13, rootDSE searchRequest of frame
        // 4) in one buffer offered 7 bytes more per call, as the flow layer offers unconsumed
        // bytes again with each segment: nothing is consumed until the buffer is whole, every
        // frame from the one that shows the token header on is a SASL frame, and the messages
        // are read once.
        let f13 = hex(crate::proto::testutil::LDAP_SASL_MODIFY_RESPONSE);
        let mut clear = f13[32..].to_vec();
        clear.extend_from_slice(&hex(crate::proto::testutil::LDAP_ROOTDSE_SEARCH));
        let b = wrap(&clear, 12);
        let mut a = LdapAnalyzer::new(Transport::Tcp, 389);
        let mut sink = Evidence::default();
        let mut frame = 0;
        for end in (7..b.len()).step_by(7) {
            frame += 1;
            let c = crate::proto::testutil::ctx(frame, Dir::ToClient, Transport::Tcp, 389);
            assert_eq!(
                a.stream(&c, &b[..end], &mut sink),
                0,
                "{end} of {} bytes",
                b.len()
            );
            assert!(sink.ldap.is_none());
        }
        assert_eq!(a.dirs[Dir::ToClient.index()].wait, b.len());
        frame += 1;
        let c = crate::proto::testutil::ctx(frame, Dir::ToClient, Transport::Tcp, 389);
        assert_eq!(a.stream(&c, &b, &mut sink), b.len());
        assert_eq!(a.dirs[Dir::ToClient.index()].wait, 0);
        // The first five calls (7..=35 bytes) hold less than the length prefix and the
        // CHECK_BYTES the token is classified from: not known as SASL yet, so not counted.
        let sink = finish(&mut a, sink);
        let l = ldap(&sink);
        assert_eq!(
            (l.messages, l.malformed, l.sasl_buffers, l.sasl_frames),
            (2, 0, 1, frame - 5)
        );
        // A gap while waiting: the bytes after it are not the rest of that buffer. The modify
        // response alone, framed without SASL, is read at once.
        let mut a = LdapAnalyzer::new(Transport::Tcp, 389);
        let mut sink = Evidence::default();
        assert_eq!(a.stream(&c, &b[..40], &mut sink), 0);
        assert_eq!(a.dirs[Dir::ToClient.index()].wait, b.len());
        a.gap(Dir::ToClient);
        assert_eq!(a.dirs[Dir::ToClient.index()].wait, 0);
        let modify = &f13[32..];
        assert_eq!(a.stream(&c, modify, &mut sink), modify.len());
        let sink = finish(&mut a, sink);
        let l = ldap(&sink);
        assert_eq!(
            (l.messages, l.malformed, l.resyncs, l.sasl_frames),
            (1, 0, 1, 1)
        );
    }

    #[test]
    fn larger_tags_share_one_tally() {
        // One slot counts every tag from TALLIED_OPS - 1 on: right only while they all have
        // the same name.
        let last = TALLIED_OPS as u32 - 1;
        for op in (0..=300).chain([u32::MAX]) {
            let slot = op_slot(op);
            assert_eq!(slot, op.min(last) as usize, "{op}");
            assert_eq!(parse::op_name(op), parse::op_name(slot as u32), "{op}");
        }
        assert_eq!(parse::op_name(last), "unknown");
        // A tag past the table, counted at the end like any other.
        let mut a = LdapAnalyzer::new(Transport::Tcp, 389);
        a.count_op(99, FrameRef::new(0, 7));
        a.count_op(26, FrameRef::new(0, 5));
        a.count_op(3, FrameRef::new(0, 6));
        let sink = finish(&mut a, Evidence::default());
        let l = ldap(&sink);
        assert_eq!(l.messages, 3);
        assert_eq!(
            frames(&l.operations),
            vec![("unknown".into(), 5), ("searchRequest".into(), 6)]
        );
        assert_eq!(l.operations.iter().next().unwrap().count, 2);
    }

    #[test]
    fn plaintext_in_matches_plaintext_for_every_rotation() {
        let f13 = hex(crate::proto::testutil::LDAP_SASL_MODIFY_RESPONSE);
        let clear = &f13[32..];
        let mut scratch = Vec::new();
        for rrc in 0..80u16 {
            let b = wrap(clear, rrc);
            let t = &b[4..];
            assert_eq!(sasl::plaintext(t).as_deref(), Some(clear), "rrc {rrc}");
            assert_eq!(
                sasl::plaintext_in(t, &mut scratch),
                Some(clear),
                "rrc {rrc}"
            );
        }
    }

    fn counts(f: &Facts<String>) -> Vec<(String, u64)> {
        let mut v: Vec<_> = f.iter().map(|x| (x.value.clone(), x.count)).collect();
        v.sort();
        v
    }

    /// Every TCP packet of `file` picked by `pick`, run as one connection to 389.
    fn tcp(file: &str, pick: impl Fn(&Seg) -> bool) -> Option<(LdapEvidence, LdapAnalyzer)> {
        let segs = select(file, Transport::Tcp, 389, pick)?;
        let mut a = LdapAnalyzer::new(Transport::Tcp, 389);
        let ev = run_tcp(&mut a, &segs, 389);
        Some((*ev.ldap.expect("ldap evidence"), a))
    }

    #[test]
    fn rootdse_sasl_bind_then_integrity_wrapped_modify() {
        // ldap_rootdse_bind_modify_vlan_ipv6.pcapng. tshark: f4 searchRequest, f6 searchResEntry
        // + searchResDone (reassembled from f5+f6), f9 bindRequest GSS-SPNEGO (f8+f9),
        // f11 bindResponse success, then SASL buffers f12 (205) modifyRequest, f13 (50)
        // modifyResponse, f14 (39) unbindRequest.
        let Some((l, a)) = tcp("ldap_rootdse_bind_modify_vlan_ipv6.pcapng", |_| true) else {
            return;
        };
        assert_eq!(a.service(), Some("ldap"));
        assert_eq!((l.messages, l.malformed, l.resyncs), (8, 0, 0));
        assert_eq!(
            frames(&l.operations),
            vec![
                ("searchRequest".into(), 4),
                ("searchResDone".into(), 6),
                ("searchResEntry".into(), 6),
                ("bindRequest".into(), 9),
                ("bindResponse".into(), 11),
                ("modifyRequest".into(), 12),
                ("modifyResponse".into(), 13),
                ("unbindRequest".into(), 14),
            ]
        );
        assert_eq!(frames(&l.binds), vec![("sasl:GSS-SPNEGO".into(), 9)]);
        // tshark: kerberos.SNameString LDAP,vm39-ad2024.ad2024.weberlab.de in f9.
        assert_eq!(
            frames(&l.bind_krb_spns),
            vec![("LDAP/vm39-ad2024.ad2024.weberlab.de".into(), 9)]
        );
        assert_eq!(frames(&l.search_bases), vec![("".into(), 4)]);
        assert_eq!(
            frames(&l.search_filters),
            vec![("(objectclass=*)".into(), 4)]
        );
        // SASL buffer lengths 205 + 50 + 39, plus 4-byte prefixes.
        assert_eq!((l.sasl_buffers, l.sasl_bytes), (3, 205 + 50 + 39 + 12));
        assert_eq!(frames(&l.sasl_protection), vec![("integrity".into(), 12)]);
        assert_eq!(l.unwrapped.get("modifyRequest"), 1);
        assert_eq!(l.unwrapped.get("modifyResponse"), 1);
        let mr = l
            .results
            .iter()
            .find(|r| r.value.op == "modifyResponse")
            .unwrap();
        assert_eq!(
            (mr.value.code, &*mr.value.name, mr.first.frame),
            (0, "success", 13)
        );
    }

    #[test]
    fn sealed_buffers_with_gap_and_retransmission() {
        // ldap_gss_privacy_vlan_ipv6_gap_pernpkt_encap.pcapng: bind f5, bindResponse f7, then
        // GSS-API privacy buffers f8 f9 f11 f16 (client) and f10 f13 (server); server bytes
        // 211..1553 were not captured (tshark: "previous segment not captured" at f10) and f14
        // retransmits f13.
        let Some(segs) = select(
            "ldap_gss_privacy_vlan_ipv6_gap_pernpkt_encap.pcapng",
            Transport::Tcp,
            389,
            |_| true,
        ) else {
            return;
        };
        let mut a = LdapAnalyzer::new(Transport::Tcp, 389);
        let mut f = TcpFeeder::new(389);
        for (d, s) in &segs {
            f.seg(&mut a, *d, s);
            // The hole before f10 never fills. The flow layer would hold f10 and f13 until
            // the connection ends and hand them over then, attributed to its last frame;
            // giving up on the hole right away keeps one frame per buffer for the check below.
            if s.frame == 10 {
                f.give_up(&mut a, *d);
            }
        }
        f.flush(&mut a);
        assert_eq!(f.gaps(), 1);
        assert_eq!(f.pending(), (0, 0));
        let l = f.finish(&mut a).ldap.unwrap();
        assert_eq!((l.messages, l.malformed, l.resyncs), (2, 0, 1));
        assert_eq!(
            counts(&l.operations),
            vec![("bindRequest".into(), 1), ("bindResponse".into(), 1)]
        );
        assert_eq!(l.sasl_buffers, 6);
        // One buffer per segment: f8 f9 f10 f11 f13 f16 (f14, a retransmission, is dropped).
        assert_eq!(l.sasl_frames, 6);
        assert_eq!(l.sasl_bytes, 204 + 161 + 223 + 247 + 206 + 71 + 6 * 4);
        assert_eq!(frames(&l.sasl_protection), vec![("privacy".into(), 8)]);
        assert!(l.unwrapped.is_empty());
    }

    #[test]
    fn stream_starting_with_sealed_buffers() {
        // Same capture from f8 on (no bind seen): the buffers are recognised by their RFC 4121
        // token header, counted, never parsed as LDAP.
        let Some(segs) = select(
            "ldap_gss_privacy_vlan_ipv6_gap_pernpkt_encap.pcapng",
            Transport::Tcp,
            389,
            |s| [8, 9, 11, 16].contains(&s.frame),
        ) else {
            return;
        };
        let mut a = LdapAnalyzer::new(Transport::Tcp, 389);
        let ev = run_tcp(&mut a, &segs, 389);
        assert_eq!(a.service(), Some("ldap"));
        let l = ev.ldap.unwrap();
        assert_eq!((l.messages, l.malformed, l.sasl_buffers), (0, 0, 4));
        assert_eq!(l.sasl_frames, 4);
    }

    #[test]
    fn search_mid_stream_with_references() {
        // ldap_search_linux_cooked_sll.pcapng (no handshake): f1 searchRequest base
        // DC=matrix,DC=local, tshark filter "(departmentNumber:2.16.840.1.113730.3.3.2.46.1:=>=N4709)";
        // f2 searchResRef x3 + searchResDone.
        let Some((l, _)) = tcp("ldap_search_linux_cooked_sll.pcapng", |_| true) else {
            return;
        };
        assert_eq!((l.messages, l.malformed), (5, 0));
        assert_eq!(
            counts(&l.operations),
            vec![
                ("searchRequest".into(), 1),
                ("searchResDone".into(), 1),
                ("searchResRef".into(), 3)
            ]
        );
        assert_eq!(
            frames(&l.search_bases),
            vec![("DC=matrix,DC=local".into(), 1)]
        );
        assert_eq!(
            frames(&l.search_filters),
            vec![(
                "(departmentNumber:2.16.840.1.113730.3.3.2.46.1:=>=N4709)".into(),
                1
            )]
        );
        assert_eq!(l.sasl_buffers, 0);
    }

    #[test]
    fn adcs_enrollment_services_discovery() {
        // adcs_ldap_enrollment_services_query_krb5_integrity.pcapng, all three connections.
        // tshark protocolOp counts over the file: searchRequest 17, searchResEntry 54,
        // searchResDone 17, bindRequest 3, bindResponse 3, unbindRequest 2 (96 messages);
        // f14 searches CN=Enrollment Services,... with (objectCategory=pKIEnrollmentService),
        // f257/f259 CN=Certificate Templates,... with (objectclass=pKICertificateTemplate).
        let mut l = LdapEvidence::default();
        // tcp.stream 0, 1, 2 are client ports 59327, 59355, 59356.
        for port in [59327, 59355, 59356] {
            let Some((e, _)) = tcp(
                "adcs_ldap_enrollment_services_query_krb5_integrity.pcapng",
                |s| s.sport == port || s.dport == port,
            ) else {
                return;
            };
            crate::evidence::Merge::merge(&mut l, e);
        }
        assert_eq!((l.messages, l.malformed, l.resyncs), (96, 0, 0));
        assert_eq!(
            counts(&l.operations),
            vec![
                ("bindRequest".into(), 3),
                ("bindResponse".into(), 3),
                ("searchRequest".into(), 17),
                ("searchResDone".into(), 17),
                ("searchResEntry".into(), 54),
                ("unbindRequest".into(), 2),
            ]
        );
        let es = "CN=Enrollment Services,CN=Public Key Services,CN=Services,CN=Configuration,DC=DMC,DC=local";
        let ct = "CN=Certificate Templates,CN=Public Key Services,CN=Services,CN=Configuration,DC=DMC,DC=local";
        assert_eq!(
            l.search_bases.first_frame(&es.to_string()).map(|f| f.frame),
            Some(10)
        );
        assert_eq!(
            l.search_bases.first_frame(&ct.to_string()).map(|f| f.frame),
            Some(257)
        );
        let filt = |s: &str| {
            l.search_filters
                .first_frame(&s.to_string())
                .map(|f| f.frame)
        };
        assert_eq!(filt("(objectCategory=pKIEnrollmentService)"), Some(14));
        assert_eq!(filt("(objectclass=pKICertificateTemplate)"), Some(259));
        assert_eq!(frames(&l.binds), vec![("sasl:GSS-SPNEGO".into(), 4)]);
        assert_eq!(l.binds.iter().next().unwrap().count, 3);
        // tshark (PROVENANCE.md): SNameString LDAP/VERGIL-DC.DMC.local/DMC.local x2,
        // ldap/VERGIL-DC.DMC.LOCAL x1.
        assert_eq!(
            counts(&l.bind_krb_spns),
            vec![
                ("LDAP/VERGIL-DC.DMC.local/DMC.local".into(), 2),
                ("ldap/VERGIL-DC.DMC.LOCAL".into(), 1)
            ]
        );
        assert_eq!(frames(&l.sasl_protection), vec![("integrity".into(), 6)]);
    }

    #[test]
    fn cldap_dc_locator_ping() {
        // dcom_activation_shellwindows_cldap_kerberos_ws5.pcap udp/389: f157 searchRequest
        // (tshark: DnsDomain=THESHIRE.LOCAL, Host=WORKSTATION5, DomainGuid, NtVer,
        // DnsHostName; attribute Netlogon), f158 searchResEntry + searchResDone.
        let Some(segs) = select(
            "dcom_activation_shellwindows_cldap_kerberos_ws5.pcap",
            Transport::Udp,
            389,
            |s| s.sport == 389 || s.dport == 389,
        ) else {
            return;
        };
        assert!(crate::proto::ldap::probe(
            Transport::Udp,
            &segs[0].1.payload
        ));
        let mut a = LdapAnalyzer::new(Transport::Udp, 389);
        let ev = run_udp(&mut a, &segs, 389);
        assert_eq!(a.service(), Some("cldap"));
        let l = ev.ldap.unwrap();
        assert_eq!(l.dc_locator_pings, 1);
        assert_eq!(
            frames(&l.locator_domains),
            vec![("THESHIRE.LOCAL".into(), 157)]
        );
        assert_eq!(frames(&l.search_attributes), vec![("Netlogon".into(), 157)]);
        assert_eq!(
            frames(&l.operations),
            vec![
                ("searchRequest".into(), 157),
                ("searchResDone".into(), 158),
                ("searchResEntry".into(), 158)
            ]
        );
        let f = &l.search_filters.iter().next().unwrap().value.clone();
        assert!(
            f.starts_with("(&(DnsDomain=THESHIRE.LOCAL)(Host=WORKSTATION5)(DomainGuid="),
            "{f}"
        );
        assert!(
            f.ends_with("(DnsHostName=WORKSTATION5.theshire.local))"),
            "{f}"
        );
    }

    /// No capture holds StartTLS (PROVENANCE.md). Messages encoded by hand from RFC 4511 4.14:
    /// extendedReq { requestName [0] "1.3.6.1.4.1.1466.20037" } with messageID 1, and
    /// extendedResp { success, "", "", responseName [10] same OID }.
    const STARTTLS_REQ: &str = "301d02010177188016312e332e362e312e342e312e313436362e3230303337";
    const STARTTLS_RESP: &str =
        "302402010178 1f 0a0100 0400 0400 8a16312e332e362e312e342e312e313436362e3230303337";
    /// First bytes of a TLS 1.2 ClientHello record (record header + handshake header).
    const TLS_HELLO_HEAD: &str = "16030100c8010000c40303";

    /// A hand-made message of `frame` sent from `src_port` (389: by the server).
    fn seg(frame: u64, src_port: u16, h: &str) -> Part {
        let dir = if src_port == 389 {
            Dir::ToClient
        } else {
            Dir::ToServer
        };
        (frame, dir, hex(h))
    }

    /// One connection: the StartTLS request (frame 1), `resp` (2), the request again (3).
    fn starttls_exchange(resp: &str) -> LdapEvidence {
        let mut a = LdapAnalyzer::new(Transport::Tcp, 389);
        let parts = [
            seg(1, 50000, STARTTLS_REQ),
            seg(2, 389, resp),
            seg(3, 50000, STARTTLS_REQ),
        ];
        *run_parts(&mut a, Transport::Tcp, 389, &parts).ldap.unwrap()
    }

    #[test]
    fn starttls_hands_over_to_tls() {
        // The server's response and the first TLS bytes may share a segment. After the
        // hand-over the third (LDAP-looking) message is TLS content, not LDAP.
        let l = starttls_exchange(&format!("{STARTTLS_RESP}{TLS_HELLO_HEAD}"));
        assert_eq!(l.messages, 2);
        assert_eq!(
            frames(&l.starttls),
            vec![("requested".into(), 1), ("accepted".into(), 2)]
        );
        assert_eq!(
            frames(&l.extended_ops),
            vec![(parse::STARTTLS_OID.into(), 1)]
        );
        // Refused StartTLS (resultCode 2 protocolError): the stream stays LDAP.
        let l = starttls_exchange(&STARTTLS_RESP.replacen("0a0100", "0a0102", 1));
        assert_eq!(l.messages, 3);
        assert_eq!(
            frames(&l.starttls),
            vec![("requested".into(), 1), ("refused".into(), 2)]
        );
    }

    #[test]
    fn simple_and_anonymous_binds() {
        // SYNTHETIC_http_certsrv_cep_ces_mscep_urls.pcap f423 (bindRequest v3
        // cn=admin,dc=example,dc=com, simple password "testpass") and f497 (bindResponse
        // success), tcp.payload. Then an anonymous bind hand-encoded per RFC 4511 4.2 (messageID
        // 2, name "", simple "").
        let segs = [
            seg(423, 55013, "302e0201016029020103041a636e3d61646d696e2c64633d6578616d706c652c64633d636f6d80087465737470617373"),
            seg(497, 389, "300c02010161070a010004000400"),
            seg(500, 55013, "300c020102600702010304008000"),
        ];
        let mut a = LdapAnalyzer::new(Transport::Tcp, 389);
        let ev = run_parts(&mut a, Transport::Tcp, 389, &segs);
        let l = ev.ldap.as_ref().unwrap();
        assert_eq!(
            frames(&l.binds),
            vec![("simple".into(), 423), ("anonymous".into(), 500)]
        );
        assert_eq!(
            frames(&l.bind_names),
            vec![("cn=admin,dc=example,dc=com".into(), 423)]
        );
        assert_eq!(l.results.iter().next().unwrap().value.name, "success");
        // The password is never kept.
        let json = serde_json::to_string(&ev).unwrap();
        assert!(!json.contains("testpass"));
        // A simple bind does not start a SASL layer: a later 4-byte length is not a buffer.
        assert!(!a.sasl_layer);
    }

    #[test]
    fn split_everywhere_and_garbage() {
        // ldap_search_linux_cooked_sll.pcapng f1 (searchRequest) and f2 (3 refs + done) fed
        // one byte at a time, then behind junk bytes.
        let Some(segs) = select(
            "ldap_search_linux_cooked_sll.pcapng",
            Transport::Tcp,
            389,
            |s| !s.payload.is_empty(),
        ) else {
            return;
        };
        let mut a = LdapAnalyzer::new(Transport::Tcp, 389);
        let mut f = TcpFeeder::new(389);
        for (d, s) in &segs {
            for b in &s.payload {
                f.bytes(&mut a, s.frame, *d, &[*b]);
            }
        }
        let l = f.finish(&mut a).ldap.unwrap();
        assert_eq!((l.messages, l.malformed), (5, 0));
        let mut a = LdapAnalyzer::new(Transport::Tcp, 389);
        let mut junk = hex("ffee0102030405060708");
        junk.extend_from_slice(&segs[0].1.payload);
        let ev = run_parts(
            &mut a,
            Transport::Tcp,
            389,
            &[(segs[0].1.frame, segs[0].0, junk)],
        );
        let l = ev.ldap.unwrap();
        assert_eq!((l.messages, l.malformed, l.resyncs), (1, 1, 1));
    }

    #[test]
    fn corrupted_lengths_are_counted() {
        let Some(segs) = select(
            "ldap_search_linux_cooked_sll.pcapng",
            Transport::Tcp,
            389,
            |s| s.frame == 1,
        ) else {
            return;
        };
        // Inner length of the baseObject made too long: framing holds, decoding fails.
        let mut b = segs[0].1.payload.clone();
        let pos = b
            .windows(2)
            .position(|w| w == [0x04, 0x12])
            .expect("baseObject header");
        b[pos + 1] = 0x7f;
        let mut a = LdapAnalyzer::new(Transport::Tcp, 389);
        let ev = run_parts(&mut a, Transport::Tcp, 389, &[(1, segs[0].0, b)]);
        assert_eq!(ev.ldap.unwrap().malformed, 1);
        assert_eq!(a.service(), None);
        // Outer length above MAX_MESSAGE_LEN: skipped as it arrives, never buffered.
        let mut a = LdapAnalyzer::new(Transport::Tcp, 389);
        let mut f = TcpFeeder::new(389);
        let (frame, dir, b) = seg(1, 5000, "308401000000020101630000");
        f.bytes(&mut a, frame, dir, &b);
        assert_eq!(f.pending(), (0, 0));
        assert_eq!(f.ev.ldap.as_ref().unwrap().malformed, 1);
        // A SASL length above the cap is not a buffer.
        let mut a = LdapAnalyzer::new(Transport::Tcp, 389);
        let mut f = TcpFeeder::new(389);
        let (frame, dir, b) = seg(2, 5000, "7f000000050404ff000c000c0000000000000000");
        f.bytes(&mut a, frame, dir, &b);
        let l = f.ev.ldap.as_ref().unwrap();
        assert_eq!((l.sasl_buffers, l.malformed), (0, 1));
    }
}

#[cfg(test)]
mod crosscheck {
    //! Whole-capture comparisons with tshark: every TCP 389/3268 connection and the UDP 389
    //! datagrams of a capture go through the analyzer; the protocolOp counts must equal tshark's
    //! `ldap.protocolOp` counts and the SASL buffer count its `ldap.sasl_buffer_length` count.
    use super::*;
    use crate::evidence::Merge;
    use crate::proto::testutil::{
        connections, packets, run_tcp, run_udp, select, tshark_fields, with_dirs, Seg,
    };
    use std::collections::BTreeMap;

    fn check(file: &str) -> Option<LdapEvidence> {
        let mut l = LdapEvidence::default();
        let all = packets(file)?;
        let on = |s: &Seg, p: u16| s.sport == p || s.dport == p;
        let tcp: Vec<Seg> = all
            .iter()
            .filter(|s| s.transport == Transport::Tcp)
            .cloned()
            .collect();
        for c in connections(&tcp, |s| on(s, 389) || on(s, 3268)) {
            let port = if c.iter().any(|x| on(x, 3268)) {
                3268
            } else {
                389
            };
            let mut a = LdapAnalyzer::new(Transport::Tcp, port);
            if let Some(e) = run_tcp(&mut a, &with_dirs(&c, port), port).ldap {
                l.merge(*e);
            }
        }
        let udp: Vec<Seg> = all
            .into_iter()
            .filter(|s| s.transport == Transport::Udp && on(s, 389))
            .collect();
        let mut a = LdapAnalyzer::new(Transport::Udp, 389);
        if let Some(e) = run_udp(&mut a, &with_dirs(&udp, 389), 389).ldap {
            l.merge(*e);
        }
        let ours: BTreeMap<String, u64> = l
            .operations
            .iter()
            .map(|f| (f.value.clone(), f.count))
            .collect();
        let mut theirs: BTreeMap<String, u64> = BTreeMap::new();
        for (_, v) in tshark_fields(file, "ldap || cldap", "ldap.protocolOp")? {
            for x in v {
                *theirs
                    .entry(parse::op_name(x.parse().unwrap()).to_string())
                    .or_default() += 1;
            }
        }
        assert_eq!(ours, theirs, "{file}");
        let sasl: usize =
            tshark_fields(file, "ldap.sasl_buffer_length", "ldap.sasl_buffer_length")?
                .iter()
                .map(|(_, v)| v.len())
                .sum();
        assert_eq!(l.sasl_buffers, sasl as u64, "{file}");
        Some(l)
    }

    #[test]
    fn referrals_and_simple_search() {
        // kerberos_asreq_tgsreq_ldap_smb2_aduser1.pcap: bind, search, 3 entries, 3 references.
        let Some(l) = check("kerberos_asreq_tgsreq_ldap_smb2_aduser1.pcap") else {
            return;
        };
        assert_eq!(l.malformed, 0);
    }

    #[test]
    fn integrity_matrix_427_entries_inside_sasl() {
        // ldap_gssapi_kerberos_integrity_matrix_local.pcapng: 427 searchResEntry, 426 of them
        // read from integrity-only RFC 4121 wrap tokens (tshark: only f6's entry is outside a
        // SASL buffer), 7 SASL buffers.
        let Some(l) = check("ldap_gssapi_kerberos_integrity_matrix_local.pcapng") else {
            return;
        };
        assert_eq!(l.malformed, 0);
        assert_eq!(l.unwrapped.get("searchResEntry"), 426);
    }

    #[test]
    fn ad_playbook_mixed_ldap_cldap() {
        // ad_playbook_mixed_kerberos_ldap_cldap_epm_smb.pcap: 95 LDAP messages over TCP 389
        // (integrity and sealed SASL buffers, 94 in all) and 2 CLDAP DC locator pings.
        let Some(l) = check("ad_playbook_mixed_kerberos_ldap_cldap_epm_smb.pcap") else {
            return;
        };
        assert_eq!(l.malformed, 0);
        assert_eq!(l.dc_locator_pings, 2);
        assert_eq!(l.sasl_protection.len(), 2);
    }

    #[test]
    fn powerview_heavy_search() {
        // ldap_powerview_heavy_search_cldap_kerberos_epm.pcap: 2015 LDAP messages incl. 1880
        // entries, 92 SASL buffers, modifyRequest x3.
        let Some(l) = check("ldap_powerview_heavy_search_cldap_kerberos_epm.pcap") else {
            return;
        };
        assert_eq!(l.malformed, 0);
    }

    #[test]
    fn petitpotam_mid_stream_integrity_tokens() {
        // efsrpc_petitpotam_patched_dc_http_ldap_tls.pcapng f2786/f2787: a connection caught
        // after its bind; tshark shows only two SASL buffers (it needs the bind to decode
        // them). Their RFC 4121 tokens are integrity-only (flags 0x04/0x05): certflow reads a
        // searchRequest and a searchResDone noSuchObject (32) inside.
        let file = "efsrpc_petitpotam_patched_dc_http_ldap_tls.pcapng";
        let Some(segs) = select(file, Transport::Tcp, 389, |s| {
            s.frame == 2786 || s.frame == 2787
        }) else {
            return;
        };
        let mut a = LdapAnalyzer::new(Transport::Tcp, 389);
        let l = run_tcp(&mut a, &segs, 389).ldap.unwrap();
        assert_eq!((l.sasl_buffers, l.messages, l.malformed), (2, 2, 0));
        let r = l.results.iter().next().unwrap();
        assert_eq!(
            (&*r.value.op, r.value.code, &*r.value.name),
            ("searchResDone", 32, "noSuchObject")
        );
        assert!(l
            .search_bases
            .iter()
            .next()
            .unwrap()
            .value
            .starts_with("CN=DNS Settings,CN=ADDS-2-2019"));
    }
}

#[cfg(test)]
mod mutations {
    //! Deterministic mutation runs: real LDAP messages and SASL buffers with bytes flipped and
    //! cut, fed as streams and datagrams, must only ever be counted, never panic.
    use super::*;
    use crate::proto::testutil::{ctx, hex, Rng};

    const SAMPLES: [&str; 3] = [
        // ldap_rootdse_bind_modify_vlan_ipv6.pcapng frame 4 (searchRequest, tcp.payload).
        crate::proto::testutil::LDAP_ROOTDSE_SEARCH,
        // Same capture, frame 13 (SASL buffer, integrity, modifyResponse inside).
        crate::proto::testutil::LDAP_SASL_MODIFY_RESPONSE,
        // ldap_search_linux_cooked_sll.pcapng frame 1 is covered by the stream tests; here the
        // StartTLS request of RFC 4511 4.14.1 (hand-encoded, see the StartTLS test).
        "301d02010177188016312e332e362e312e342e312e313436362e3230303337",
    ];

    #[test]
    fn mutated_messages_never_panic() {
        let mut r = Rng(0x9e37_79b9_7f4a_7c15);
        for sample in SAMPLES {
            let orig = hex(sample);
            for _ in 0..3000 {
                let mut b = orig.clone();
                for _ in 0..1 + r.next() % 4 {
                    let i = (r.next() as usize) % b.len();
                    b[i] = r.next() as u8;
                }
                let cut = (r.next() as usize) % (b.len() + 1);
                let b = &b[..cut.max(b.len() / 2)];
                let _ = parse::parse_message(b);
                let _ = sasl::plaintext(b.get(4..).unwrap_or(&[]));
                let _ = crate::proto::ldap::probe(Transport::Tcp, b);
                // A sink per round, as each analyzer is new.
                let mut sink = crate::evidence::Evidence::default();
                let mut a = LdapAnalyzer::new(Transport::Tcp, 389);
                let c = ctx(1, Dir::ToServer, Transport::Tcp, 389);
                let mut buf = b.to_vec();
                // Twice, as the flow layer would re-offer the remainder with more data.
                let used = a.stream(&c, &buf, &mut sink);
                assert!(used <= buf.len());
                buf.drain(..used);
                buf.extend_from_slice(&orig);
                let used = a.stream(&c, &buf, &mut sink);
                assert!(used <= buf.len());
                let mut u = LdapAnalyzer::new(Transport::Udp, 389);
                u.datagram(&ctx(1, Dir::ToServer, Transport::Udp, 389), b, &mut sink);
            }
        }
    }
}
