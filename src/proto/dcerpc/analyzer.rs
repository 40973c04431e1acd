//! Per-connection DCE/RPC state: PDU framing over the byte stream (with resynchronisation after
//! gaps), presentation contexts per association (bind / alter_context / their acks, C706
//! 12.6.4.1-12.6.4.4), calls by call_id (request opnum -> response decoding), and reassembly of
//! multi-fragment stubs (C706 12.6.3.1 PFC_FIRST_FRAG / PFC_LAST_FRAG) for the interfaces whose
//! stubs certflow decodes (EPM, IRemoteSCMActivator, IObjectExporter).

use std::borrow::Cow;

use super::dcom;
use super::epm;
use super::names;
use super::pdu::{self, AuthLevel, Body, Error, PType, SyntaxId, Uuid};
use super::{DcerpcEvidence, EndpointMap};
use crate::evidence::{Evidence, FrameRef};
use crate::proto::auth;
use crate::proto::tally::Tally;
use crate::proto::{Analyzer, Ctx, Dir};

/// Most reassembled stub bytes kept per call. EPM lookup dumps and activation replies are a few
/// KiB; WMI replies reach ~40 KiB but are not decoded. Beyond the cap the call is not decoded.
pub const MAX_STUB_LEN: usize = 256 * 1024;
/// Most calls awaiting a response per connection (clients pipeline a few; a capture that lost
/// the responses must not grow the table).
pub const MAX_PENDING_CALLS: usize = 64;
/// Most binds awaiting their ack per connection.
pub const MAX_PENDING_BINDS: usize = 16;
/// Most presentation contexts per association (p_cont_id is a u16; Windows uses a few).
pub const MAX_CONTEXTS_PER_ASSOC: usize = 256;

/// EPM e1af8308-5d1f-11c9-91a4-08002b14a0fa (C706 appendix O).
pub const EPM: Uuid = Uuid([
    0xe1, 0xaf, 0x83, 0x08, 0x5d, 0x1f, 0x11, 0xc9, 0x91, 0xa4, 0x08, 0x00, 0x2b, 0x14, 0xa0, 0xfa,
]);
/// IRemoteSCMActivator 000001a0-0000-0000-c000-000000000046 (MS-DCOM 3.1.2.5.2.3).
pub const ISYSTEM_ACTIVATOR: Uuid =
    Uuid([0, 0, 0x01, 0xa0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0x46]);
/// IObjectExporter 99fcfec4-5260-101b-bbcb-00aa0021347a (MS-DCOM 3.1.2.5.1).
pub const IOBJECT_EXPORTER: Uuid = Uuid([
    0x99, 0xfc, 0xfe, 0xc4, 0x52, 0x60, 0x10, 0x1b, 0xbb, 0xcb, 0x00, 0xaa, 0x00, 0x21, 0x34, 0x7a,
]);

/// One call in progress. Small, so that moving it into and out of the table is cheap: what
/// only decoded calls need is boxed in [`Stubs`].
#[derive(Debug, Default)]
struct Call {
    iface: Option<SyntaxId>,
    opnum: u16,
    le: bool,
    ndr64: bool,
    /// The stubs, kept only for a call certflow decodes (EPM, activation, OXID).
    stubs: Option<Box<Stubs>>,
    /// The stubs outgrew [`MAX_STUB_LEN`] or lost a fragment: not decoded.
    overflow: bool,
    /// The request's last fragment was read.
    request_done: bool,
    /// A fragment of the response was read.
    response_started: bool,
}

/// The reassembled stubs of a call certflow decodes.
#[derive(Debug, Default)]
struct Stubs {
    req: Vec<u8>,
    resp: Vec<u8>,
    /// The activation the request asked for (its class names the reply's endpoints).
    activation: Option<dcom::ActivationRequest>,
}

/// Calls awaiting their response, by call_id. At most [`MAX_PENDING_CALLS`] and usually one or
/// two: a short vector searched linearly costs less than a tree (one lookup and one removal per
/// request/response pair).
#[derive(Debug, Default)]
struct Calls(Vec<(u32, Call)>);

impl Calls {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn position(&self, id: u32) -> Option<usize> {
        self.0.iter().position(|(k, _)| *k == id)
    }
    fn contains(&self, id: u32) -> bool {
        self.position(id).is_some()
    }
    fn get_mut(&mut self, id: u32) -> Option<&mut Call> {
        let i = self.position(id)?;
        self.0.get_mut(i).map(|(_, c)| c)
    }
    /// Adds or replaces the call `id`; returns it.
    fn insert(&mut self, id: u32, call: Call) -> Option<&mut Call> {
        let i = match self.position(id) {
            Some(i) => {
                if let Some(c) = self.0.get_mut(i) {
                    c.1 = call;
                }
                i
            }
            None => {
                self.0.push((id, call));
                self.0.len() - 1
            }
        };
        self.0.get_mut(i).map(|(_, c)| c)
    }
    fn remove(&mut self, id: u32) -> Option<Call> {
        let i = self.position(id)?;
        Some(self.0.swap_remove(i).1)
    }
    /// Removes the call with the lowest id.
    fn remove_lowest(&mut self) {
        let lowest = self.0.iter().map(|(k, _)| *k).min();
        if let Some(k) = lowest {
            self.remove(k);
        }
    }
}

/// Binds and alter_contexts awaiting their ack: the contexts each offered, in order, by call_id
/// (at most [`MAX_PENDING_BINDS`] binds, usually one). Kept in two flat vectors that live as
/// long as the connection: recording a bind and taking it back at its ack allocate nothing
/// once the vectors have grown.
#[derive(Debug, Default)]
struct PendingBinds {
    /// (call_id, number of contexts), in the order the binds were recorded.
    binds: Vec<(u32, usize)>,
    /// The contexts of every bind of `binds`, one after the other in the same order.
    offered: Vec<(u16, SyntaxId)>,
}

impl PendingBinds {
    /// Number of binds held.
    fn len(&self) -> usize {
        self.binds.len()
    }

    /// The index in `binds` of the bind `call_id` and the range of its contexts in `offered`.
    fn find(&self, call_id: u32) -> Option<(usize, std::ops::Range<usize>)> {
        let mut start = 0;
        for (k, &(id, n)) in self.binds.iter().enumerate() {
            if id == call_id {
                return Some((k, start..start + n));
            }
            start += n;
        }
        None
    }

    /// The contexts `call_id` offered (empty when it is not held).
    fn offered(&self, call_id: u32) -> &[(u16, SyntaxId)] {
        self.find(call_id)
            .and_then(|(_, r)| self.offered.get(r))
            .unwrap_or_default()
    }

    /// Forgets the bind `call_id`.
    fn remove(&mut self, call_id: u32) {
        if let Some((k, r)) = self.find(call_id) {
            self.binds.remove(k);
            self.offered.drain(r);
        }
    }

    /// Starts recording the bind `call_id` (replacing one with the same call_id): its contexts
    /// follow with [`Self::push`].
    fn start(&mut self, call_id: u32) {
        self.remove(call_id);
        self.binds.push((call_id, 0));
    }

    /// One more context of the bind last started.
    fn push(&mut self, ctx_id: u16, iface: SyntaxId) {
        if let Some(last) = self.binds.last_mut() {
            last.1 += 1;
            self.offered.push((ctx_id, iface));
        }
    }
}

/// Which stubs certflow decodes on an interface (see [`DcerpcAnalyzer::decode_request`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decoded {
    /// None.
    No,
    /// The endpoint mapper: NDR and NDR64.
    Epm,
    /// DCOM activation and OXID resolution: NDR only (Windows DCOM never negotiates NDR64 for
    /// ORPC).
    Dcom,
}

impl Decoded {
    fn of(iface: &SyntaxId) -> Decoded {
        if iface.uuid == EPM {
            Decoded::Epm
        } else if iface.uuid == ISYSTEM_ACTIVATOR || iface.uuid == IOBJECT_EXPORTER {
            Decoded::Dcom
        } else {
            Decoded::No
        }
    }
}

/// One presentation context of the association (C706 12.6.3.1 `p_cont_elem_t`, as bound).
#[derive(Debug, Clone, Copy)]
struct Context {
    /// p_cont_id.
    id: u16,
    /// The interface bound.
    iface: SyntaxId,
    /// NDR64 accepted (or, before the ack, the only syntax offered) as transfer syntax.
    ndr64: bool,
    /// The interface's counters in [`Uses`]: found once at bind time so that a request costs no
    /// search of the evidence's interface table. None when [`Uses`] was full at the bind.
    used: Option<usize>,
    /// Whether certflow decodes the interface's stubs (found once, at the bind).
    decoded: Decoded,
}

/// The presentation contexts, sorted by id: at most [`MAX_CONTEXTS_PER_ASSOC`] and usually one
/// to three, searched on every request.
#[derive(Debug, Default)]
struct Contexts(Vec<Context>);

impl Contexts {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn find(&self, id: u16) -> Result<usize, usize> {
        self.0.binary_search_by_key(&id, |c| c.id)
    }
    fn get(&self, id: u16) -> Option<&Context> {
        self.find(id).ok().and_then(|i| self.0.get(i))
    }
    fn get_mut(&mut self, id: u16) -> Option<&mut Context> {
        self.find(id).ok().and_then(|i| self.0.get_mut(i))
    }
    /// Adds the context, or replaces the one with the same id.
    fn insert(&mut self, c: Context) {
        match self.find(c.id) {
            Ok(i) => {
                if let Some(old) = self.0.get_mut(i) {
                    *old = c;
                }
            }
            Err(i) => self.0.insert(i, c),
        }
    }
}

/// The calls of one interface, by opnum, counted here and handed to the evidence's
/// [`super::InterfaceUse`] in [`Analyzer::finish`]: a request costs a short search on integers
/// instead of a search of the interface table and of its opnum tree.
#[derive(Debug)]
struct Use {
    iface: SyntaxId,
    /// Strongest auth level of the requests (0: none seen).
    level: u8,
    /// A request's auth trailer was cut off by the snap length.
    cut_auth: bool,
    /// (opnum, calls, first frame), sorted by opnum; at most [`super::MAX_OPNUMS`], the first
    /// seen, as `InterfaceUse::add_opnum` keeps.
    opnums: Vec<(u16, u64, FrameRef)>,
    /// Calls of opnums beyond those, not kept.
    opnums_dropped: u64,
}

/// The [`Use`] of every interface bound on the connection, at most [`super::MAX_INTERFACES`]
/// (as many as the evidence keeps: counts of an interface it does not hold are dropped when
/// handed over).
#[derive(Debug, Default)]
struct Uses {
    list: Vec<Use>,
    /// Calls on a context whose interface the full list could not take.
    dropped: u64,
}

impl Uses {
    /// The index of `iface`'s counters, created if absent (None when the list is full).
    fn slot(&mut self, iface: SyntaxId) -> Option<usize> {
        match self.list.iter().position(|u| u.iface == iface) {
            Some(k) => Some(k),
            None if self.list.len() >= super::MAX_INTERFACES => None,
            None => {
                self.list.push(Use {
                    iface,
                    level: 0,
                    cut_auth: false,
                    opnums: Vec::new(),
                    opnums_dropped: 0,
                });
                Some(self.list.len() - 1)
            }
        }
    }

    /// Counts one call of `opnum` at `at` on the interface at `k`, of auth level `level`
    /// (None: no trailer, or `cut_auth`, one the snap length cut off).
    fn add(
        &mut self,
        k: usize,
        opnum: u16,
        at: FrameRef,
        level: Option<AuthLevel>,
        cut_auth: bool,
    ) {
        let Some(u) = self.list.get_mut(k) else {
            return;
        };
        if let Some(l) = level {
            u.level = u.level.max(l.0);
        }
        u.cut_auth |= cut_auth;
        match u.opnums.binary_search_by_key(&opnum, |e| e.0) {
            Ok(i) => {
                if let Some(e) = u.opnums.get_mut(i) {
                    e.1 += 1;
                    e.2 = e.2.min(at);
                }
            }
            Err(i) => {
                if u.opnums.len() < super::MAX_OPNUMS {
                    u.opnums.insert(i, (opnum, 1, at));
                } else {
                    u.opnums_dropped += 1;
                }
            }
        }
    }

    /// Hands the counts to the evidence's interface entries (which only these fill with
    /// opnums: the result is that of counting every call there) and empties the list.
    fn drain_into(&mut self, ev: &mut DcerpcEvidence) {
        ev.interfaces_dropped += std::mem::take(&mut self.dropped);
        for u in self.list.drain(..) {
            let Some(i) = ev.interfaces.get_mut(&u.iface) else {
                // Its bind was counted in `interfaces_dropped`; so are its calls.
                ev.interfaces_dropped +=
                    u.opnums.iter().map(|e| e.1).sum::<u64>() + u.opnums_dropped;
                continue;
            };
            for (opnum, n, at) in u.opnums {
                i.add_opnum_n(opnum, n, at);
            }
            i.opnums_dropped += u.opnums_dropped;
            i.add_level(AuthLevel(u.level));
            if u.cut_auth {
                i.add_cut_auth();
            }
        }
    }
}

/// The per-connection analyzer (see the module documentation). What PDUs show is written
/// straight into the sink's DCE/RPC evidence (see [`Analyzer`]), whose entry is made only by a
/// connection that read a PDU or counted one as malformed; the association (contexts, pending
/// binds and calls) and the per-connection tallies stay here.
#[derive(Debug, Default)]
pub struct DcerpcAnalyzer {
    /// A readable PDU was seen.
    seen: bool,
    /// Something was counted as malformed.
    malformed: bool,
    resync: [bool; 2],
    /// The association's presentation contexts.
    contexts: Contexts,
    /// Calls counted per interface, handed to the evidence in [`Analyzer::finish`].
    uses: Uses,
    /// call_id of a bind/alter_context -> the contexts it offered, in order.
    pending_binds: PendingBinds,
    calls: Calls,
    /// PDUs only a client sends (request, bind, alter_context, auth3, cancel, orphaned) and
    /// only a server sends (response, fault, bind_ack, bind_nak, alter_context_resp, shutdown),
    /// per direction as the flow layer oriented it (C706 12.6.4).
    client_pdus: [u32; 2],
    server_pdus: [u32; 2],
    /// The evidence's `pdu_types` by PDU type number (indexed by it: `parse_header` admits only types
    /// below [`PTYPE_LIMIT`]), named in [`Analyzer::finish`].
    pdu_types: [u64; PTYPE_LIMIT],
    /// The evidence's `unbound_requests` by `ctx_id << 16 | opnum`, named in
    /// [`Analyzer::finish`].
    unbound: Tally,
    /// A fact's text built before it is looked up (a rejected context, a fault): reused, so a
    /// fact the flow already holds costs no allocation.
    text: String,
}

/// One more than the largest connection-oriented PDU type (orphaned, 19; C706 12.6.4).
const PTYPE_LIMIT: usize = 20;

/// The `unbound_requests` key of `ctx_id << 16 | opnum`.
fn unbound_name(code: u32) -> Cow<'static, str> {
    Cow::Owned(format!("ctx {} opnum {}", code >> 16, code & 0xffff))
}

impl DcerpcAnalyzer {
    /// A fresh analyzer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Offset of the first plausible PDU header in `data`, if any.
    fn find_header(data: &[u8]) -> Option<usize> {
        (0..data.len()).find(|&i| data.get(i..).is_some_and(pdu::plausible_header))
    }

    /// Counts one malformed PDU or stub.
    fn malformed(&mut self, sink: &mut Evidence) {
        self.malformed = true;
        dcerpc_of(sink).malformed += 1;
    }

    /// One fragment: `h` is `parse_header(bytes)`, `bytes` the whole fragment. The body is
    /// read before anything is counted: a fragment that cannot be read counts as malformed only.
    fn handle(&mut self, ctx: &Ctx, h: pdu::Header, bytes: &[u8], sink: &mut Evidence) {
        let Ok(f) = pdu::fragment(h, bytes) else {
            self.malformed(sink);
            return;
        };
        // Requests, responses, binds and their acks (nearly every PDU) are read in place; the
        // rest as a `Body`.
        let read = match h.ptype {
            PType::REQUEST => f.request().map(|q| {
                let ev = self.count(ctx, &f, sink);
                self.request(ctx.frame, &f, q, ev, true);
            }),
            PType::RESPONSE => f.response().map(|q| {
                let ev = self.count(ctx, &f, sink);
                self.response(ctx.frame, &f, q, ev);
            }),
            PType::BIND | PType::ALTER_CONTEXT => f.bind().map(|b| {
                let ev = self.count(ctx, &f, sink);
                self.bind(ctx.frame, &f, b, ev);
            }),
            PType::BIND_ACK | PType::ALTER_CONTEXT_RESP => f.bind_ack().map(|b| {
                let ev = self.count(ctx, &f, sink);
                self.bind_ack(ctx.frame, &f, b, ev);
            }),
            _ => f.body().map(|b| {
                let ev = self.count(ctx, &f, sink);
                self.control(ctx.frame, &f, &b, ev);
            }),
        };
        if read.is_err() {
            self.malformed(sink);
        }
    }

    /// Counts a readable fragment: its type, its direction's role, its auth service. Returns
    /// the evidence the fragment's facts go to.
    fn count<'e>(
        &mut self,
        ctx: &Ctx,
        f: &pdu::Fragment<'_>,
        sink: &'e mut Evidence,
    ) -> &'e mut DcerpcEvidence {
        // The security tokens of the association's handshake (C706 12.6.4): bind,
        // alter_context and auth3 from the client, bind_ack and alter_context_resp from the
        // server. The Kerberos or NTLM they carry (auth types negotiate, kerberos and ntlm) is
        // recorded, and the ticket of a client's AP-REQ kept in `ticket_spns`.
        let handshake = matches!(
            f.header.ptype,
            PType::BIND
                | PType::ALTER_CONTEXT
                | PType::AUTH3
                | PType::BIND_ACK
                | PType::ALTER_CONTEXT_RESP
        );
        let from_client = matches!(
            f.header.ptype,
            PType::BIND | PType::ALTER_CONTEXT | PType::AUTH3
        );
        let ticket = f
            .auth
            .filter(|a| {
                handshake
                    && matches!(
                        a.auth_type,
                        pdu::AuthType::NEGOTIATE | pdu::AuthType::KERBEROS | pdu::AuthType::NTLM
                    )
            })
            .and_then(|_| auth::record_token(sink, f.auth_value, ctx.frame))
            .filter(|_| from_client);
        let ev = dcerpc_of(sink);
        self.seen = true;
        let d = ctx.dir.index();
        match f.header.ptype.0 {
            0 | 11 | 14 | 16 | 18 | 19 => self.client_pdus[d] += 1,
            2 | 3 | 12 | 13 | 15 | 17 => self.server_pdus[d] += 1,
            _ => {}
        }
        match self.pdu_types.get_mut(usize::from(f.header.ptype.0)) {
            Some(n) => *n += 1,
            // Unreachable while `parse_header` admits only connection-oriented types; counted by
            // name all the same.
            None => ev.pdu_types.add_name(f.header.ptype.name(), 1),
        }
        if let Some(a) = f.auth {
            ev.auth_types
                .add_ref(a.auth_type.name().as_ref(), ctx.frame);
            if let Some(spn) = ticket {
                ev.ticket_spns.add(spn, ctx.frame);
            }
        }
        ev
    }

    /// A bind or alter_context: its contexts join the association's, and each interface is
    /// recorded as learned by bind.
    fn bind(
        &mut self,
        at: FrameRef,
        f: &pdu::Fragment<'_>,
        b: pdu::Bind<'_>,
        ev: &mut DcerpcEvidence,
    ) {
        let level = f.auth.map(|a| a.level);
        // Recorded while fewer binds are held than the cap (a bind already held is replaced).
        let record = self.pending_binds.len() < MAX_PENDING_BINDS;
        if record {
            self.pending_binds.start(f.header.call_id);
        } else {
            ev.pending_dropped += 1;
        }
        // An auth trailer a snap length cut off (`f` is a cut fragment).
        let cut_auth = f.auth.is_none() && f.header.auth_len > 0;
        for c in b.contexts() {
            if let Some(i) = ev.interface(c.interface) {
                i.learned.add_ref("bind", at);
                if let Some(l) = level {
                    i.add_level(l);
                } else if cut_auth {
                    i.add_cut_auth();
                }
            }
            let used = self.uses.slot(c.interface);
            if self.contexts.len() < MAX_CONTEXTS_PER_ASSOC || self.contexts.get(c.ctx_id).is_some()
            {
                // NDR64 until the ack says otherwise only if nothing else was offered.
                let mut offered_any = false;
                let all_ndr64 = c.transfer().all(|t| {
                    offered_any = true;
                    t.uuid == pdu::NDR64
                });
                self.contexts.insert(Context {
                    id: c.ctx_id,
                    iface: c.interface,
                    ndr64: offered_any && all_ndr64,
                    used,
                    decoded: Decoded::of(&c.interface),
                });
            } else {
                ev.contexts_dropped += 1;
            }
            if record {
                self.pending_binds.push(c.ctx_id, c.interface);
            }
        }
    }

    /// A bind_ack or alter_context_resp: the accepted transfer syntaxes, the rejections, the
    /// secondary address.
    fn bind_ack(
        &mut self,
        at: FrameRef,
        f: &pdu::Fragment<'_>,
        b: pdu::BindAck<'_>,
        ev: &mut DcerpcEvidence,
    ) {
        let sec_addr = b.sec_addr();
        if !sec_addr.is_empty() {
            ev.secondary_addresses.add_ref(sec_addr.as_ref(), at);
        }
        let offered = self.pending_binds.offered(f.header.call_id);
        for (i, r) in b.results().enumerate() {
            if r.result == 0 {
                ev.transfer_syntaxes
                    .add_ref(pdu::transfer_syntax_str(&r.transfer.uuid).as_ref(), at);
                if let Some((id, _)) = offered.get(i) {
                    if let Some(c) = self.contexts.get_mut(*id) {
                        c.ndr64 = r.transfer.uuid == pdu::NDR64;
                    }
                }
            } else if r.result != 3 {
                // `"<uuid> <name> v<major>.<minor>: <result>/<reason>"` written in one reused
                // String (the name is the table's, else the UUID, as `names::interface_name`
                // gives), then looked up borrowed.
                use std::fmt::Write as _;
                let what = &mut self.text;
                what.clear();
                let _ = match offered.get(i) {
                    Some((_, s)) => match names::lookup(&s.uuid) {
                        Some(e) => write!(what, "{} {} v{}.{}", s.uuid, e.name, s.major, s.minor),
                        None => write!(what, "{} {} v{}.{}", s.uuid, s.uuid, s.major, s.minor),
                    },
                    None => write!(what, "context #{i}"),
                };
                let _ = write!(
                    what,
                    ": {}/{}",
                    pdu::ctx_result_name(r.result),
                    pdu::provider_reason_name(r.reason)
                );
                ev.rejected_contexts.add_ref(what.as_str(), at);
            }
        }
        self.pending_binds.remove(f.header.call_id);
    }

    /// A bind_nak, a fault, or a PDU certflow does not read.
    fn control(
        &mut self,
        at: FrameRef,
        f: &pdu::Fragment<'_>,
        body: &Body<'_>,
        ev: &mut DcerpcEvidence,
    ) {
        let h = f.header;
        match body {
            Body::BindNak { reason } => {
                ev.bind_naks.add(pdu::reject_reason_name(*reason), at);
            }
            Body::Fault { status, .. } => {
                use std::fmt::Write as _;
                self.text.clear();
                let _ = write!(self.text, "0x{status:08x} {}", pdu::fault_name(*status));
                ev.faults.add_ref(self.text.as_str(), at);
                self.calls.remove(h.call_id);
            }
            // Read by `request`, `response`, `bind` and `bind_ack`.
            Body::Request { .. }
            | Body::Response { .. }
            | Body::Bind { .. }
            | Body::BindAck { .. }
            | Body::Other => {}
        }
    }

    /// A request fragment: the call's interface and opnum are counted on its first fragment,
    /// its stub kept when certflow decodes it. A fragment that is not `whole` (cut by the snap
    /// length) still counts, but its call is never decoded.
    fn request(
        &mut self,
        at: FrameRef,
        f: &pdu::Fragment<'_>,
        q: pdu::Request<'_>,
        ev: &mut DcerpcEvidence,
        whole: bool,
    ) {
        let h = f.header;
        let level = f.auth.map(|a| a.level);
        let (ctx_id, opnum, stub) = (q.ctx_id, q.opnum, q.stub);
        let (iface, ndr64, used, decoded) = match self.contexts.get(ctx_id) {
            Some(c) => (Some(c.iface), c.ndr64, c.used, c.decoded),
            None => (None, false, None, Decoded::No),
        };
        let encrypted = level == Some(AuthLevel::PRIVACY) && h.auth_len > 0;
        if encrypted && !stub.is_empty() {
            ev.encrypted_stubs += 1;
        }
        let call = if h.first_frag() {
            match iface {
                Some(_) => {
                    match used {
                        Some(k) => {
                            let cut_auth = f.auth.is_none() && h.auth_len > 0;
                            self.uses.add(k, opnum, at, level, cut_auth);
                        }
                        // The connection's interface table was full at the bind.
                        None => self.uses.dropped += 1,
                    }
                }
                None => self.unbound.add(
                    u32::from(ctx_id) << 16 | u32::from(opnum),
                    &mut ev.unbound_requests,
                    unbound_name,
                ),
            }
            if encrypted && decoded != Decoded::No {
                if let Some(s) = iface {
                    let op = names::opnum_name(&s.uuid, opnum)
                        .map(str::to_string)
                        .unwrap_or_else(|| format!("opnum {opnum}"));
                    let what = format!("{} {op}", names::interface_name(&s.uuid));
                    if s.uuid == ISYSTEM_ACTIVATOR {
                        ev.activations.add(format!("encrypted {op}"), at);
                    }
                    ev.encrypted_calls.add(what, at);
                }
            }
            // EPM stubs are decoded in NDR and NDR64; DCOM only in NDR.
            let want_stub = !encrypted
                && match decoded {
                    Decoded::Epm => true,
                    Decoded::Dcom => !ndr64,
                    Decoded::No => false,
                };
            if self.calls.len() >= MAX_PENDING_CALLS && !self.calls.contains(h.call_id) {
                // Drop the lowest (oldest) call id to make room.
                self.calls.remove_lowest();
                ev.pending_dropped += 1;
            }
            self.calls.insert(
                h.call_id,
                Call {
                    iface,
                    opnum,
                    le: h.little_endian(),
                    ndr64,
                    stubs: want_stub.then(Box::default),
                    overflow: false,
                    request_done: false,
                    response_started: false,
                },
            )
        } else {
            self.calls.get_mut(h.call_id)
        };
        let Some(call) = call else {
            return;
        };
        call.overflow |= !whole;
        call.request_done |= h.last_frag();
        append(call, stub, true);
        if !h.last_frag() || call.overflow {
            return;
        }
        if let Some(s) = call.stubs.as_mut() {
            let req = std::mem::take(&mut s.req);
            let (iface, opnum, le, n64) = (call.iface, call.opnum, call.le, call.ndr64);
            let act = decode_request(at, iface, opnum, &req, le, n64, ev);
            if let Some(s) = self.calls.get_mut(h.call_id).and_then(|c| c.stubs.as_mut()) {
                s.activation = act;
            }
        }
    }

    /// A response fragment: its stub is kept for a call certflow decodes, and decoded on the
    /// last fragment.
    fn response(
        &mut self,
        at: FrameRef,
        f: &pdu::Fragment<'_>,
        q: pdu::Response<'_>,
        ev: &mut DcerpcEvidence,
    ) {
        let h = f.header;
        let stub = q.stub;
        let encrypted = f.auth.is_some_and(|a| a.level == AuthLevel::PRIVACY) && h.auth_len > 0;
        if encrypted && !stub.is_empty() {
            ev.encrypted_stubs += 1;
        }
        // One search of the table: the call's place serves for the append and the removal.
        let Some(i) = self.calls.position(h.call_id) else {
            return;
        };
        let Some((_, call)) = self.calls.0.get_mut(i) else {
            return;
        };
        if encrypted {
            call.stubs = None;
        }
        // A response that does not begin with its first fragment (PFC_FIRST_FRAG, C706 12.6.3.1)
        // lost its beginning in a hole.
        call.overflow |= !call.response_started && !h.first_frag();
        call.response_started = true;
        append(call, stub, false);
        if h.last_frag() {
            let (_, call) = self.calls.0.swap_remove(i);
            if let (Some(s), false) = (&call.stubs, call.overflow) {
                decode_response(at, &call, s, ev);
            }
        }
    }
}

/// Decodes a complete request stub; returns the activation asked for, if any.
fn decode_request(
    at: FrameRef,
    iface: Option<SyntaxId>,
    opnum: u16,
    stub: &[u8],
    le: bool,
    ndr64: bool,
    ev: &mut DcerpcEvidence,
) -> Option<dcom::ActivationRequest> {
    let u = iface?.uuid;
    if u == EPM && opnum == 3 {
        match epm::parse_map_request(stub, le, ndr64) {
            Ok(m) => {
                if let Some(s) = m.tower.and_then(|t| t.interface) {
                    add_epm_query(at, &s, ev);
                }
            }
            Err(_) => ev.malformed += 1,
        }
    } else if u == ISYSTEM_ACTIVATOR && (opnum == 3 || opnum == 4) {
        match dcom::parse_activation_request(stub) {
            Ok(a) => {
                let clsid = a
                    .clsid
                    .map(|c| format!("{c} {}", names::interface_name(&c)))
                    .unwrap_or_else(|| "no clsid".into());
                for iid in &a.iids {
                    ev.activations.add(
                        format!("{clsid} iid {iid} {}", names::interface_name(iid)),
                        at,
                    );
                }
                if a.iids.is_empty() {
                    ev.activations.add(clsid, at);
                }
                return Some(a);
            }
            Err(_) => ev.malformed += 1,
        }
    }
    None
}

/// Records that an ept_map request asked for the interface `s`.
fn add_epm_query(at: FrameRef, s: &SyntaxId, ev: &mut DcerpcEvidence) {
    ev.epm_queries.add(
        format!(
            "{} {} v{}",
            s.uuid,
            names::interface_name(&s.uuid),
            s.version()
        ),
        at,
    );
}

/// Decodes a complete response stub of a call certflow decodes (EPM, activation, OXID).
fn decode_response(at: FrameRef, call: &Call, stubs: &Stubs, ev: &mut DcerpcEvidence) {
    let Some(u) = call.iface.map(|s| s.uuid) else {
        return;
    };
    let stub = &stubs.resp[..];
    let le = call.le;
    if u == EPM && (call.opnum == 3 || call.opnum == 2) {
        let (towers, status, via) = if call.opnum == 3 {
            match epm::parse_map_response(stub, le, call.ndr64) {
                Ok(m) => (m.towers, m.status, "epm map"),
                Err(_) => {
                    ev.malformed += 1;
                    return;
                }
            }
        } else {
            match epm::parse_lookup_response(stub, le, call.ndr64) {
                Ok(l) => (
                    l.entries.into_iter().filter_map(|e| e.tower).collect(),
                    l.status,
                    "epm lookup",
                ),
                Err(_) => {
                    ev.malformed += 1;
                    return;
                }
            }
        };
        if status != 0 {
            let name = if status == epm::EPT_S_NOT_REGISTERED {
                "ept_s_not_registered"
            } else {
                pdu::fault_name(status)
            };
            ev.epm_status.add(format!("0x{status:08x} {name}"), at);
        }
        for t in towers {
            add_tower(at, via, &t, ev);
        }
    } else if u == ISYSTEM_ACTIVATOR && (call.opnum == 3 || call.opnum == 4) {
        match dcom::parse_activation_reply(stub) {
            Ok(r) => {
                let clsid = stubs
                    .activation
                    .as_ref()
                    .and_then(|a| a.clsid)
                    .map(|c| c.to_string());
                let ifaces: Vec<Option<Uuid>> = if r.iids.is_empty() {
                    vec![None]
                } else {
                    r.iids.iter().copied().map(Some).collect()
                };
                add_string_bindings(at, &r.bindings, ev);
                for b in r.bindings.iter().filter(|b| b.port.is_some()) {
                    for iid in &ifaces {
                        ev.add_endpoint_map(EndpointMap {
                            interface: iid.map(|u| u.to_string()),
                            name: iid
                                .map(|u| names::interface_name(&u))
                                .unwrap_or_else(|| "object exporter".into()),
                            syntax: iid.map(|uuid| SyntaxId {
                                uuid,
                                major: 0,
                                minor: 0,
                            }),
                            host: None,
                            port: b.port,
                            frame: at,
                            transport: tower_id_transport(b.tower_id),
                            via: "dcom activation".into(),
                            binding_host: Some(b.host.clone()),
                            pipe: None,
                            clsid: clsid.clone(),
                        });
                    }
                }
            }
            Err(_) => ev.malformed += 1,
        }
    } else if u == IOBJECT_EXPORTER && (call.opnum == 0 || call.opnum == 4) {
        match dcom::parse_resolve_oxid_reply(stub, le) {
            Ok(bs) => {
                add_string_bindings(at, &bs, ev);
                for b in bs.iter().filter(|b| b.port.is_some()) {
                    ev.add_endpoint_map(EndpointMap {
                        interface: None,
                        name: "object exporter".into(),
                        syntax: None,
                        host: None,
                        port: b.port,
                        frame: at,
                        transport: tower_id_transport(b.tower_id),
                        via: "oxid resolve".into(),
                        binding_host: Some(b.host.clone()),
                        pipe: None,
                        clsid: None,
                    });
                }
            }
            Err(_) => ev.malformed += 1,
        }
    } else if u == IOBJECT_EXPORTER && call.opnum == 5 {
        match dcom::parse_server_alive2_reply(stub, le) {
            Ok(bs) => add_string_bindings(at, &bs, ev),
            Err(_) => ev.malformed += 1,
        }
    }
}

/// Records every string binding of a DCOM answer as sent (`host` or `host[port]`, with its
/// tower), including the OXID resolver's own port-less bindings that name the host.
fn add_string_bindings(at: FrameRef, bs: &[dcom::StringBinding], ev: &mut DcerpcEvidence) {
    for b in bs {
        ev.string_bindings
            .add(format!("{} {}", tower_id_transport(b.tower_id), b.raw), at);
    }
}

/// Records the endpoint an EPM tower names.
fn add_tower(at: FrameRef, via: &str, t: &epm::Tower, ev: &mut DcerpcEvidence) {
    let (transport, port, pipe) = if let Some(p) = t.tcp_port {
        ("tcp", Some(p), None)
    } else if let Some(p) = t.udp_port {
        ("udp", Some(p), None)
    } else if let Some(p) = t.http_port {
        ("http", Some(p), None)
    } else if let Some(n) = &t.pipe {
        ("pipe", None, Some(n.clone()))
    } else if let Some(n) = &t.local {
        ("local", None, Some(n.clone()))
    } else if let Some(n) = &t.netbios {
        ("netbios", None, Some(n.clone()))
    } else {
        return;
    };
    ev.add_endpoint_map(EndpointMap {
        interface: t.interface.map(|s| s.uuid.to_string()),
        name: t
            .interface
            .map(|s| names::interface_name(&s.uuid))
            .unwrap_or_else(|| "unknown".into()),
        syntax: t.interface,
        host: None,
        port,
        frame: at,
        transport: transport.into(),
        via: via.into(),
        binding_host: t.ip.map(ipv4_text),
        pipe,
        clsid: None,
    });
}

/// "tcp" for ncacn_ip_tcp (0x07), "udp" for ncadg_ip_udp (0x08), "http" for ncacn_http (0x1f),
/// else "tower_0xNN" (MS-DCOM 2.2.19.3 tower ids are the protocol ids of C706 appendix I).
fn tower_id_transport(id: u16) -> String {
    match id {
        0x07 => "tcp".into(),
        0x08 => "udp".into(),
        0x1f => "http".into(),
        0x0f => "pipe".into(),
        n => format!("tower_0x{n:02x}"),
    }
}

/// The dotted-decimal text of `ip`, as `Ipv4Addr`'s `Display` writes it, without the
/// formatting machinery (one per EPM tower answered).
fn ipv4_text(ip: std::net::Ipv4Addr) -> String {
    let mut s = String::with_capacity(15);
    for (k, o) in ip.octets().into_iter().enumerate() {
        if k > 0 {
            s.push('.');
        }
        pdu::push_decimal(&mut s, u16::from(o));
    }
    s
}

/// Appends a fragment's stub to the call's request or response buffer, up to [`MAX_STUB_LEN`].
fn append(call: &mut Call, stub: &[u8], request: bool) {
    if call.overflow {
        return;
    }
    let Some(s) = call.stubs.as_mut() else {
        return;
    };
    let buf = if request { &mut s.req } else { &mut s.resp };
    if buf.len() + stub.len() > MAX_STUB_LEN {
        call.overflow = true;
        buf.clear();
        return;
    }
    buf.extend_from_slice(stub);
}

impl Analyzer for DcerpcAnalyzer {
    fn stream(&mut self, ctx: &Ctx, data: &[u8], sink: &mut Evidence) -> usize {
        let d = ctx.dir.index();
        let mut off = 0usize;
        loop {
            let rest = data.get(off..).unwrap_or(&[]);
            if rest.is_empty() {
                return off;
            }
            if self.resync[d] {
                match Self::find_header(rest) {
                    Some(i) => {
                        off += i;
                        self.resync[d] = false;
                        continue;
                    }
                    // Keep the last 15 bytes: they may start a header.
                    None => return off + rest.len().saturating_sub(pdu::HEADER_LEN - 1),
                }
            }
            match pdu::parse_header(rest) {
                Err(Error::Incomplete(_)) => return off,
                Err(Error::Malformed(_)) => {
                    self.malformed(sink);
                    self.resync[d] = true;
                    off += 1;
                }
                Ok(h) => {
                    let n = h.frag_len as usize;
                    let Some(bytes) = rest.get(..n) else {
                        return off;
                    };
                    self.handle(ctx, h, bytes, sink);
                    off += n;
                }
            }
        }
    }

    /// A fragment cut by the snap length: its header is whole, so it counts as a PDU of its
    /// type, and the body fields before the cut give what they say (C706 12.6.4): a request's
    /// context and opnum (at offset 20-23), a bind's whole presentation contexts, a bind_ack's
    /// whole results, a fault's status. The auth trailer, at the end, is lost (no auth type or
    /// level), and neither the cut call's request nor its response is decoded.
    fn cut(&mut self, ctx: &Ctx, head: &[u8], sink: &mut Evidence) {
        if self.resync[ctx.dir.index()] {
            return;
        }
        let Ok(h) = pdu::parse_header(head) else {
            return;
        };
        if head.len() >= usize::from(h.frag_len) {
            // Whole: `stream` read it.
            return;
        }
        let f = pdu::cut_fragment(h, head);
        let at = ctx.frame;
        match h.ptype {
            PType::REQUEST => {
                let q = f.request();
                let ev = self.count(ctx, &f, sink);
                if let Ok(q) = q {
                    self.request(at, &f, q, ev, false);
                    // An unauthenticated ept_map names the interface asked for early in its
                    // stub (an authenticated stub may be sealed: not read).
                    let c = self.contexts.get(q.ctx_id);
                    if let (Some(c), true) = (c, h.auth_len == 0 && h.first_frag()) {
                        if c.iface.uuid == EPM && q.opnum == 3 {
                            let le = h.little_endian();
                            if let Some(s) = epm::map_request_interface_cut(q.stub, le, c.ndr64) {
                                add_epm_query(at, &s, ev);
                            }
                        }
                    }
                }
            }
            PType::RESPONSE => {
                let q = f.response();
                let ev = self.count(ctx, &f, sink);
                if let Some(c) = self.calls.get_mut(h.call_id) {
                    c.overflow = true;
                }
                if let Ok(q) = q {
                    self.response(at, &f, q, ev);
                }
            }
            PType::BIND | PType::ALTER_CONTEXT => {
                let b = f.bind_cut();
                let ev = self.count(ctx, &f, sink);
                if let Ok(b) = b {
                    self.bind(at, &f, b, ev);
                }
            }
            PType::BIND_ACK | PType::ALTER_CONTEXT_RESP => {
                let b = f.bind_ack_cut();
                let ev = self.count(ctx, &f, sink);
                if let Ok(b) = b {
                    self.bind_ack(at, &f, b, ev);
                }
            }
            _ => {
                let b = f.body();
                let ev = self.count(ctx, &f, sink);
                if let Ok(b) = b {
                    self.control(at, &f, &b, ev);
                }
            }
        }
    }

    fn gap(&mut self, dir: Dir) {
        self.resync[dir.index()] = true;
        // The calls whose fragments were arriving in this direction may have lost some: do not
        // decode them. A call whose request is whole is untouched by a hole in the requests,
        // and one whose response has not begun by a hole in the responses (a response that
        // then arrives without its first fragment is caught in `response`).
        for (_, c) in &mut self.calls.0 {
            let in_progress = match dir {
                Dir::ToServer => !c.request_done,
                Dir::ToClient => c.response_started,
            };
            c.overflow |= in_progress;
        }
    }

    fn service(&self) -> Option<&'static str> {
        self.seen.then_some("dcerpc")
    }

    /// Client PDUs travelling `ToClient` and server PDUs `ToServer` outnumber the other way
    /// round: the ports' guess picked the wrong end as the server.
    fn roles_reversed(&self) -> bool {
        let wrong = self.client_pdus[1] + self.server_pdus[0];
        let right = self.client_pdus[0] + self.server_pdus[1];
        wrong > right
    }

    fn finish(&mut self, sink: &mut Evidence) {
        // A connection that neither read a PDU nor counted one as malformed gives its flow no
        // DCE/RPC entry (and has nothing tallied).
        if !self.seen && !self.malformed {
            return;
        }
        let ev = dcerpc_of(sink);
        self.uses.drain_into(ev);
        // Counts is keyed by name: the order in which the (at most 20) counters are handed over
        // does not change it.
        for (code, n) in self.pdu_types.iter_mut().enumerate() {
            if *n > 0 {
                ev.pdu_types
                    .add_name(pdu::PType(code as u8).name(), std::mem::take(n));
            }
        }
        self.unbound
            .drain_into(&mut ev.unbound_requests, unbound_name);
        ev.connection_done();
    }
}

/// The DCE/RPC evidence of `sink`, created empty if it has none yet: called only once the
/// connection read a PDU or counted one as malformed (see [`DcerpcAnalyzer`]).
fn dcerpc_of(sink: &mut Evidence) -> &mut DcerpcEvidence {
    sink.dcerpc.get_or_insert_with(Default::default)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::dcerpc::DISSECTOR as RPC;
    use crate::proto::testutil::{analyze_tcp, conn, frames, packets, run_tcp, Rng, TcpFeeder};
    use crate::proto::Transport;

    #[test]
    fn pending_calls_table() {
        // Replacing a call keeps one entry; a full table drops the lowest call id first, as the
        // call_id-ordered map it replaces did.
        let mut c = Calls::default();
        let call = |opnum| Call {
            opnum,
            ..Default::default()
        };
        assert_eq!(c.insert(7, call(1)).map(|x| x.opnum), Some(1));
        assert_eq!(c.insert(7, call(2)).map(|x| x.opnum), Some(2));
        assert_eq!((c.len(), c.get_mut(7).map(|x| x.opnum)), (1, Some(2)));
        for id in [30, 5, 12] {
            c.insert(id, call(0));
        }
        c.remove_lowest();
        assert!(!c.contains(5) && c.contains(7) && c.contains(12) && c.contains(30));
        assert_eq!(c.remove(12).map(|x| x.opnum), Some(0));
        assert!(c.remove(12).is_none());
        let mut ids: Vec<u32> = c.0.iter().map(|(k, _)| *k).collect();
        ids.sort();
        assert_eq!(ids, vec![7, 30]);
    }

    #[test]
    fn ipv4_text_is_display_text() {
        // 172.16.5.58 is the zerologon EPM answer's tower address (tshark epm.proto.ip).
        for ip in [
            [172, 16, 5, 58],
            [0, 0, 0, 0],
            [255, 255, 255, 255],
            [10, 0, 100, 9],
        ] {
            let ip = std::net::Ipv4Addr::from(ip);
            assert_eq!(ipv4_text(ip), ip.to_string());
        }
    }

    #[test]
    fn pending_binds_table() {
        // As the call_id -> Vec map it replaces: a bind's contexts in order, a second bind with
        // the same call_id replaces the first, an ack takes its bind back, others stay.
        let s = |n: u8| SyntaxId {
            uuid: Uuid([n; 16]),
            major: u16::from(n),
            minor: 0,
        };
        let mut p = PendingBinds::default();
        for (call, ctxs) in [(2u32, &[(0u16, 1u8), (1, 2)][..]), (3, &[]), (5, &[(0, 3)])] {
            p.start(call);
            for &(id, n) in ctxs {
                p.push(id, s(n));
            }
        }
        assert_eq!(p.len(), 3);
        assert_eq!(p.offered(2), &[(0, s(1)), (1, s(2))]);
        assert!(p.offered(3).is_empty() && p.offered(9).is_empty());
        p.start(2);
        p.push(4, s(7));
        assert_eq!((p.len(), p.offered(2)), (3, &[(4, s(7))][..]));
        assert_eq!(p.offered(5), &[(0, s(3))]);
        p.remove(3);
        p.remove(2);
        assert_eq!((p.len(), p.offered(5)), (1, &[(0, s(3))][..]));
        assert_eq!(p.offered.len(), 1);
    }

    /// The Zerologon capture: EPM map on 50555 -> 135, NETLOGON on 50556 -> 49668.
    const ZEROLOGON: &str = "epm_map_netlogon_zerologon_win2019.pcap";

    fn dcerpc(ev: &Evidence) -> &DcerpcEvidence {
        ev.dcerpc.as_ref().expect("dcerpc evidence")
    }

    fn iface<'a>(d: &'a DcerpcEvidence, uuid: &str) -> &'a super::super::InterfaceUse {
        d.interfaces
            .values()
            .find(|i| i.uuid.to_string() == uuid)
            .unwrap_or_else(|| panic!("no interface {uuid}: {:?}", d.interfaces.keys()))
    }

    #[test]
    fn zerologon_epm_flow() {
        // epm_map_netlogon_zerologon_win2019.pcap tcp 50555 -> 135 (frames 4-8): bind EPM 3.0,
        // ept_map NETLOGON -> tcp 49668 (tshark epm.proto.tcp_port 49668, ip 172.16.5.58).
        let Some(ev) = analyze_tcp(&RPC, ZEROLOGON, 50555, 135) else {
            return;
        };
        let d = dcerpc(&ev);
        let e = iface(d, "e1af8308-5d1f-11c9-91a4-08002b14a0fa");
        assert_eq!(e.name, "EPM");
        assert_eq!(e.version, "3.0");
        assert_eq!(e.auth_level, "none");
        assert_eq!(e.learned.first_frame(&"bind".to_string()).unwrap().frame, 4);
        let op = &e.opnums[&3];
        assert_eq!(
            (op.name.as_deref(), op.count, op.frame.frame),
            (Some("ept_map"), 1, 7)
        );
        assert_eq!(d.endpoint_maps.len(), 1);
        let m = &d.endpoint_maps[0];
        assert_eq!(
            m.interface.as_deref(),
            Some("12345678-1234-abcd-ef00-01234567cffb")
        );
        assert_eq!(m.name, "NETLOGON");
        assert_eq!((m.port, m.frame.frame), (Some(49668), 8));
        assert_eq!(m.binding_host.as_deref(), Some("172.16.5.58"));
        assert_eq!(m.via, "epm map");
        assert!(d.secondary_addresses.contains(&"135".to_string()));
        assert!(d
            .epm_queries
            .contains(&"12345678-1234-abcd-ef00-01234567cffb NETLOGON v1.0".to_string()));
        assert_eq!(d.malformed, 0);
    }

    #[test]
    fn zerologon_netlogon_flow() {
        // Same capture tcp 50556 -> 49668: bind NETLOGON 1.0 (frame 16), sec_addr "49668",
        // opnums 4 (frame 19) and 26 (frame 22), as tshark's dcerpc.opnum column.
        let Some(ev) = analyze_tcp(&RPC, ZEROLOGON, 50556, 49668) else {
            return;
        };
        let d = dcerpc(&ev);
        let n = iface(d, "12345678-1234-abcd-ef00-01234567cffb");
        assert_eq!(n.name, "NETLOGON");
        let ops: Vec<(u16, u64, u64)> = n
            .opnums
            .values()
            .map(|o| (o.opnum, o.count, o.frame.frame))
            .collect();
        assert_eq!(ops, vec![(4, 1, 19), (26, 1, 22)]);
        assert!(d.secondary_addresses.contains(&"49668".to_string()));
    }

    #[test]
    fn privacy_sealed_binds() {
        // epm_drsuapi_kerberos_privacy_sealed.pcapng.gz tcp 49701 -> 49667: bind DRSUAPI 4.0 in
        // 3 contexts (NDR rejected, NDR64 accepted, bind-time features negotiate_ack; tshark
        // ack results 2,0,3 reason 2), SPNEGO (9) at privacy (6); alter_context at frame 14;
        // opnums 0, 12, 1 twice each with encrypted stubs.
        let Some(ev) = analyze_tcp(
            &RPC,
            "epm_drsuapi_kerberos_privacy_sealed.pcapng.gz",
            49701,
            49667,
        ) else {
            return;
        };
        let d = dcerpc(&ev);
        let r = iface(d, "e3514235-4b06-11d1-ab04-00c04fc2dcd2");
        assert_eq!(r.name, "DRSUAPI");
        assert_eq!(r.version, "4.0");
        assert_eq!(r.auth_level, "privacy");
        let ops: Vec<(u16, u64)> = r.opnums.values().map(|o| (o.opnum, o.count)).collect();
        assert_eq!(ops, vec![(0, 2), (1, 2), (12, 2)]);
        assert!(d.auth_types.contains(&"negotiate".to_string()));
        assert_eq!(d.rejected_contexts.len(), 1);
        let rej = d.rejected_contexts.values().next().unwrap();
        // tshark: dcerpc.cn_ack_result 2, dcerpc.cn_ack_reason 2 for the NDR context.
        assert_eq!(
            rej,
            "e3514235-4b06-11d1-ab04-00c04fc2dcd2 DRSUAPI v4.0: \
             provider_rejection/proposed_transfer_syntaxes_not_supported"
        );
        assert!(d.transfer_syntaxes.contains(&"ndr64".to_string()));
        assert!(d.encrypted_stubs >= 12, "{}", d.encrypted_stubs);
        assert_eq!(d.malformed, 0);
    }

    #[test]
    fn privacy_epm_flow_map_is_encrypted_or_decoded() {
        // Same capture tcp 49700 -> 135: EPM bound at frame 4 (3 contexts), two ept_map
        // requests (frames 6, 22) for DRSUAPI. tshark shows the maps with DRSUAPI.
        let Some(ev) = analyze_tcp(
            &RPC,
            "epm_drsuapi_kerberos_privacy_sealed.pcapng.gz",
            49700,
            135,
        ) else {
            return;
        };
        let d = dcerpc(&ev);
        let e = iface(d, "e1af8308-5d1f-11c9-91a4-08002b14a0fa");
        assert_eq!(e.opnums[&3].count, 2);
        // The EPM association is unauthenticated: the answers are readable.
        let got: Vec<(u64, Option<u16>, &str)> = d
            .endpoint_maps
            .iter()
            .map(|m| (m.frame.frame, m.port, m.name.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![(7, Some(49667), "DRSUAPI"), (23, Some(49667), "DRSUAPI")]
        );
    }

    #[test]
    fn dcom_get_class_object_flow() {
        // dcom_activation_oxid_resolver_ctxids_smb_kerberos.pcap: the activation at frame 14/17
        // on 49726 -> 135. tshark: RemoteGetClassObject, bindings DC1[49724],
        // 192.168.56.101[49724], auth level integrity (5), NTLM.
        let Some(segs) = packets("dcom_activation_oxid_resolver_ctxids_smb_kerberos.pcap") else {
            return;
        };
        let conn = conn(&segs, Transport::Tcp, 49726, 135);
        let mut a = DcerpcAnalyzer::new();
        let ev = run_tcp(&mut a, &conn, 135);
        let d = dcerpc(&ev);
        let s = iface(d, "000001a0-0000-0000-c000-000000000046");
        assert_eq!(s.name, "IRemoteSCMActivator");
        assert_eq!(s.opnums[&3].name.as_deref(), Some("RemoteGetClassObject"));
        assert_eq!(s.opnums[&3].frame.frame, 14);
        assert_eq!(s.auth_level, "integrity");
        let ports: Vec<(Option<&str>, Option<u16>, u64)> = d
            .endpoint_maps
            .iter()
            .map(|m| (m.binding_host.as_deref(), m.port, m.frame.frame))
            .collect();
        assert_eq!(
            ports,
            vec![
                (Some("DC1"), Some(49724), 17),
                (Some("192.168.56.101"), Some(49724), 17)
            ]
        );
        assert_eq!(
            d.endpoint_maps[0].interface.as_deref(),
            Some("00000001-0000-0000-c000-000000000046")
        );
        assert_eq!(
            d.endpoint_maps[0].clsid.as_deref(),
            Some("49b2791a-b1ae-4c90-9b8e-e860ba07f889")
        );
        assert!(d.auth_types.contains(&"ntlm".to_string()));
        // ServerAlive2 at frame 7 (tshark oxid network_addr "DC1,192.168.56.101") is on another
        // connection (49725); this one carries the ScmReplyInfo bindings only.
        let sb: Vec<&String> = d.string_bindings.values().collect();
        assert_eq!(sb, ["tcp 192.168.56.101[49724]", "tcp DC1[49724]"]);
        if let Some(ev) = analyze_tcp(
            &RPC,
            "dcom_activation_oxid_resolver_ctxids_smb_kerberos.pcap",
            49725,
            135,
        ) {
            let d = dcerpc(&ev);
            let sb: Vec<&String> = d.string_bindings.values().collect();
            assert_eq!(sb, ["tcp 192.168.56.101", "tcp DC1"]);
            assert!(d.endpoint_maps.is_empty());
        }
    }

    #[test]
    fn dcom_wmi_create_instance_flow() {
        // dcom_wmi_activation_oxid_smb_dns.pcap tcp 55274 -> 135, frames 59/60:
        // RemoteCreateInstance of 8bc3f05e-... for IWbemLevel1Login; tshark bindings
        // WORKSTATION6[52419], 172.18.39.6[52419].
        let Some(ev) = analyze_tcp(&RPC, "dcom_wmi_activation_oxid_smb_dns.pcap", 55274, 135)
        else {
            return;
        };
        let d = dcerpc(&ev);
        let s = iface(d, "000001a0-0000-0000-c000-000000000046");
        assert_eq!(s.opnums[&4].frame.frame, 59);
        let got: Vec<(Option<&str>, Option<u16>, u64, &str)> = d
            .endpoint_maps
            .iter()
            .map(|m| {
                (
                    m.binding_host.as_deref(),
                    m.port,
                    m.frame.frame,
                    m.name.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (Some("WORKSTATION6"), Some(52419), 60, "IWbemLevel1Login"),
                (Some("172.18.39.6"), Some(52419), 60, "IWbemLevel1Login")
            ]
        );
        assert_eq!(
            d.endpoint_maps[0].clsid.as_deref(),
            Some("8bc3f05e-d86b-11d0-a075-00c04fb68820")
        );
    }

    #[test]
    fn multi_fragment_request() {
        // dcom_activation_shellwindows_cldap_kerberos_ws5.pcap: frames 285/286 are one request
        // in two fragments (5836 + 4972 bytes) to 49913 (tshark fragmentation table). The
        // analyzer must count one call, not two, and consume everything.
        let Some(segs) = packets("dcom_activation_shellwindows_cldap_kerberos_ws5.pcap") else {
            return;
        };
        let f285 = segs.iter().find(|s| s.frame == 285).expect("frame 285");
        let conn = conn(&segs, Transport::Tcp, f285.sport, f285.dport);
        let mut a = DcerpcAnalyzer::new();
        let ev = run_tcp(&mut a, &conn, f285.dport);
        let d = dcerpc(&ev);
        assert_eq!(d.malformed, 0);
        let total_requests = d.pdu_types.get("request");
        let calls: u64 = d
            .interfaces
            .values()
            .flat_map(|i| i.opnums.values())
            .map(|o| o.count)
            .sum::<u64>()
            + d.unbound_requests.iter().map(|(_, n)| n).sum::<u64>();
        assert_eq!(total_requests, calls + 1, "two fragments, one call");
    }

    #[test]
    fn shellwindows_resolve_oxid2() {
        // Same capture, 58405 -> 135 frames 225/226: ResolveOxid2 reply WORKSTATION6[49913],
        // 172.18.39.6[49913]; earlier RemoteGetClassObject (151/153) with the same port.
        let Some(ev) = analyze_tcp(
            &RPC,
            "dcom_activation_shellwindows_cldap_kerberos_ws5.pcap",
            58405,
            135,
        ) else {
            return;
        };
        let d = dcerpc(&ev);
        let got: Vec<(&str, Option<u16>, u64)> = d
            .endpoint_maps
            .iter()
            .map(|m| (m.via.as_str(), m.port, m.frame.frame))
            .collect();
        assert!(
            got.contains(&("dcom activation", Some(49913), 153)),
            "{got:?}"
        );
        assert!(got.contains(&("oxid resolve", Some(49913), 226)), "{got:?}");
    }

    #[test]
    fn gap_resynchronises() {
        // Zerologon EPM flow with 7 junk bytes injected before the ept_map request: the
        // analyzer must resynchronise on the next header and still decode the answer.
        let Some(segs) = packets(ZEROLOGON) else {
            return;
        };
        let mut conn = conn(&segs, Transport::Tcp, 50555, 135);
        let i = conn.iter().position(|(_, s)| s.frame == 7).unwrap();
        let mut a = DcerpcAnalyzer::new();
        a.gap(Dir::ToServer);
        conn[i].1.payload.splice(0..0, [1u8, 2, 3, 4, 5, 6, 7]);
        // Later client segments move up by the 7 bytes, so the reassembly keeps them whole.
        for (d, s) in conn.iter_mut().skip(i + 1) {
            if *d == Dir::ToServer {
                s.seq = s.seq.wrapping_add(7);
            }
        }
        let ev = run_tcp(&mut a, &conn, 135);
        let d = dcerpc(&ev);
        assert_eq!(d.endpoint_maps.len(), 1);
        assert_eq!(d.endpoint_maps[0].port, Some(49668));
    }

    #[test]
    fn byte_by_byte_equals_whole() {
        let Some(segs) = packets(ZEROLOGON) else {
            return;
        };
        let conn = conn(&segs, Transport::Tcp, 50555, 135);
        let mut split = Vec::new();
        for (d, s) in &conn {
            for (k, b) in s.payload.iter().enumerate() {
                let mut t = s.clone();
                t.payload = vec![*b];
                t.seq = s.seq.wrapping_add(k as u32);
                split.push((*d, t));
            }
        }
        let mut a = DcerpcAnalyzer::new();
        let ev = run_tcp(&mut a, &split, 135);
        let d = dcerpc(&ev);
        assert_eq!(d.endpoint_maps.len(), 1);
        assert_eq!(d.endpoint_maps[0].port, Some(49668));
        assert_eq!(d.malformed, 0);
    }

    /// Feeds whole PDUs (one per segment, in order per direction) alternating as given.
    fn feed_pdus(pdus: &[(Dir, Vec<u8>, u64)]) -> Evidence {
        let mut a = DcerpcAnalyzer::new();
        let mut f = TcpFeeder::new(135);
        for (d, b, frame) in pdus {
            f.bytes(&mut a, *frame, *d, b);
        }
        f.finish(&mut a)
    }

    #[test]
    fn opnums_counted_per_context_as_in_the_evidence() {
        // The zerologon bind of EPM in ctx 0 (frame 4) and its ack (5), then requests built
        // from the ept_map request of frame 7 (ctx 0) with the opnum and call_id rewritten:
        // opnums 299 down to 0, then 299 and 10 again. The evidence keeps the first
        // MAX_OPNUMS opnums seen (299..=44), with the repeats counted from their first frame;
        // a request on ctx 1 (never bound) is unbound.
        use crate::proto::dcerpc::epm::tests::ZL_F7_MAP_REQ;
        use crate::proto::dcerpc::pdu::tests::{ZL_F4_BIND, ZL_F5_BIND_ACK};
        use crate::proto::dcerpc::MAX_OPNUMS;
        use crate::proto::testutil::hex;
        let req = |ctx: u16, opnum: u16, call: u32| {
            let mut b = hex(ZL_F7_MAP_REQ);
            b[12..16].copy_from_slice(&call.to_le_bytes());
            b[20..22].copy_from_slice(&ctx.to_le_bytes());
            b[22..24].copy_from_slice(&opnum.to_le_bytes());
            b
        };
        let mut pdus = vec![
            (Dir::ToServer, hex(ZL_F4_BIND), 4),
            (Dir::ToClient, hex(ZL_F5_BIND_ACK), 5),
        ];
        let mut frame = 10;
        for opnum in (0..300u16).rev().chain([299, 10]) {
            pdus.push((Dir::ToServer, req(0, opnum, frame as u32), frame));
            frame += 1;
        }
        pdus.push((Dir::ToServer, req(1, 7, 1), frame));
        let ev = feed_pdus(&pdus);
        let d = dcerpc(&ev);
        let e = iface(d, "e1af8308-5d1f-11c9-91a4-08002b14a0fa");
        assert_eq!(e.opnums.len(), MAX_OPNUMS);
        let kept: Vec<u16> = e.opnums.keys().copied().collect();
        assert_eq!(kept, (44..300).collect::<Vec<u16>>());
        let o = &e.opnums[&299];
        assert_eq!((o.count, o.frame.frame), (2, 10));
        assert_eq!(o.name, None, "ept_map is opnum 3; 299 has no name");
        let o = &e.opnums[&44];
        assert_eq!((o.count, o.frame.frame), (1, 10 + 255));
        assert!(!e.opnums.contains_key(&10));
        // Opnums 43..=0 (44 calls) and the second call of 10: not kept, counted.
        assert_eq!(e.opnums_dropped, 45);
        assert_eq!(d.interfaces_dropped, 0);
        assert_eq!(e.auth_level, "none");
        assert_eq!(d.unbound_requests.get("ctx 1 opnum 7"), 1);
        assert_eq!(d.pdu_types.get("request"), 303);
        assert_eq!(d.malformed, 0);
    }

    /// The per-connection tables of calls, binds and contexts awaiting an answer count what
    /// they forget: real PDUs (zerologon frames 4 and 7) with new call and context ids.
    #[test]
    fn pending_tables_count_what_they_forget() {
        use crate::proto::dcerpc::epm::tests::ZL_F7_MAP_REQ;
        use crate::proto::dcerpc::pdu::tests::{ZL_F4_BIND, ZL_F5_BIND_ACK};
        use crate::proto::testutil::hex;
        let bind = |call: u32, ctx: u16| {
            let mut b = hex(ZL_F4_BIND);
            b[12..16].copy_from_slice(&call.to_le_bytes());
            b[28..30].copy_from_slice(&ctx.to_le_bytes());
            b
        };
        let req = |call: u32| {
            let mut b = hex(ZL_F7_MAP_REQ);
            b[12..16].copy_from_slice(&call.to_le_bytes());
            b
        };
        // Binds never acknowledged: the 17th finds the table full.
        let pdus: Vec<_> = (1..=MAX_PENDING_BINDS as u32 + 1)
            .map(|c| (Dir::ToServer, bind(c, 0), u64::from(c)))
            .collect();
        let d = dcerpc(&feed_pdus(&pdus)).clone();
        assert_eq!((d.pending_dropped, d.contexts_dropped), (1, 0));
        // Calls never answered: the 65th forgets the oldest.
        let mut pdus = vec![
            (Dir::ToServer, hex(ZL_F4_BIND), 4),
            (Dir::ToClient, hex(ZL_F5_BIND_ACK), 5),
        ];
        for c in 0..MAX_PENDING_CALLS as u32 + 1 {
            pdus.push((Dir::ToServer, req(100 + c), u64::from(10 + c)));
        }
        let d = dcerpc(&feed_pdus(&pdus)).clone();
        assert_eq!((d.pending_dropped, d.contexts_dropped), (1, 0));
        assert_eq!(d.pdu_types.get("request"), MAX_PENDING_CALLS as u64 + 1);
        // Contexts 0..=256, each bound and acknowledged: the 257th is not kept, and a request
        // on it is unbound.
        let mut pdus = Vec::new();
        for ctx in 0..=MAX_CONTEXTS_PER_ASSOC as u16 {
            let call = u32::from(ctx) + 1;
            let mut ack = hex(ZL_F5_BIND_ACK);
            ack[12..16].copy_from_slice(&call.to_le_bytes());
            pdus.push((Dir::ToServer, bind(call, ctx), u64::from(call) * 2));
            pdus.push((Dir::ToClient, ack, u64::from(call) * 2 + 1));
        }
        let mut last = req(9999);
        last[20..22].copy_from_slice(&(MAX_CONTEXTS_PER_ASSOC as u16).to_le_bytes());
        pdus.push((Dir::ToServer, last, 9999));
        let d = dcerpc(&feed_pdus(&pdus)).clone();
        assert_eq!((d.pending_dropped, d.contexts_dropped), (0, 1));
        assert_eq!(d.unbound_requests.get("ctx 256 opnum 3"), 1);
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["contexts_dropped"], 1);
        assert!(json.get("pending_dropped").is_none(), "written when not 0");
    }

    #[test]
    fn fault_and_bind_nak() {
        use crate::proto::dcerpc::epm::tests::ZL_F7_MAP_REQ;
        use crate::proto::dcerpc::pdu::tests::{ZL_F4_BIND, ZL_F5_BIND_ACK};
        use crate::proto::testutil::hex;
        // No capture has a fault or bind_nak over TCP: both are built from the header of
        // epm_map_netlogon_zerologon_win2019.pcap frame 8 (response, call_id 1) by hand:
        // ptype 3, pfc 0x23 (first|last|did_not_execute), frag_length 32, alloc_hint 0, ctx 0,
        // status 0x1c010002, reserved.
        let fault = hex("0500032310000000200000000100000000000000000000000200011c00000000");
        // bind_nak: ptype 13, frag_length 20, call_id 1, reason 4, zero protocols, pad.
        let nak = hex("05000d03100000001400000001000000040000 00");
        let ev = feed_pdus(&[
            (Dir::ToServer, hex(ZL_F4_BIND), 4),
            (Dir::ToClient, hex(ZL_F5_BIND_ACK), 5),
            (Dir::ToServer, hex(ZL_F7_MAP_REQ), 7),
            (Dir::ToClient, fault, 8),
            (Dir::ToServer, hex(ZL_F4_BIND), 9),
            (Dir::ToClient, nak, 10),
        ]);
        let d = dcerpc(&ev);
        assert_eq!(
            frames(&d.faults),
            vec![("0x1c010002 nca_s_op_rng_error".to_string(), 8)]
        );
        assert!(d
            .bind_naks
            .contains(&"protocol_version_not_supported".to_string()));
        assert!(d.endpoint_maps.is_empty());
        assert_eq!(d.pdu_types.get("fault"), 1);
        assert_eq!(d.pdu_types.get("bind_nak"), 1);
        assert_eq!(d.malformed, 0);
    }

    #[test]
    fn encrypted_activation_is_reported_not_decoded() {
        // dcom_activation_oxid_resolver_ctxids_smb_kerberos.pcap 49726 -> 135 with the
        // auth_level of frames 14 (request) and 17 (reply) raised from 5 to 6 (privacy) in
        // their sec_trailer: the stubs must be reported as encrypted and not decoded.
        let Some(segs) = packets("dcom_activation_oxid_resolver_ctxids_smb_kerberos.pcap") else {
            return;
        };
        let mut conn = conn(&segs, Transport::Tcp, 49726, 135);
        for (_, s) in conn
            .iter_mut()
            .filter(|(_, s)| s.frame == 14 || s.frame == 17)
        {
            let h = pdu::parse_header(&s.payload).unwrap();
            let t = h.frag_len as usize - h.auth_len as usize - pdu::SEC_TRAILER_LEN;
            assert_eq!(s.payload[t + 1], 5, "frame {} level", s.frame);
            s.payload[t + 1] = 6;
        }
        let mut a = DcerpcAnalyzer::new();
        let ev = run_tcp(&mut a, &conn, 135);
        let d = dcerpc(&ev);
        assert!(d
            .activations
            .contains(&"encrypted RemoteGetClassObject".to_string()));
        assert!(d
            .encrypted_calls
            .contains(&"IRemoteSCMActivator RemoteGetClassObject".to_string()));
        assert!(d.endpoint_maps.is_empty(), "{:?}", d.endpoint_maps);
        assert_eq!(d.encrypted_stubs, 2);
        let s = iface(d, "000001a0-0000-0000-c000-000000000046");
        assert_eq!(s.auth_level, "privacy");
    }

    #[test]
    fn every_prefix_waits_then_completes() {
        let mut sink = crate::evidence::Evidence::default();
        // Feeding any prefix of a real PDU consumes nothing (waits); the rest completes it.
        use crate::proto::dcerpc::epm::tests::ZL_F8_MAP_RESP;
        use crate::proto::testutil::hex;
        let b = hex(ZL_F8_MAP_RESP);
        for n in 0..b.len() {
            let mut a = DcerpcAnalyzer::new();
            let ctx = Ctx {
                frame: FrameRef::new(0, 8),
                ts_ns: 0,
                dir: Dir::ToClient,
                transport: Transport::Tcp,
                server_port: 135,
                midstream: false,
            };
            assert_eq!(a.stream(&ctx, &b[..n], &mut sink), 0, "prefix {n}");
            assert_eq!(a.stream(&ctx, &b, &mut sink), b.len());
        }
    }

    /// Splits a single-fragment request/response PDU without auth into fragments whose stubs
    /// are cut at `cuts` (offsets into the stub), fixing flags, frag_length and alloc_hint.
    fn split(pdu_bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
        let h = pdu::parse_header(pdu_bytes).unwrap();
        assert_eq!(h.auth_len, 0);
        let hdr = &pdu_bytes[..24];
        let stub = &pdu_bytes[24..h.frag_len as usize];
        let mut bounds = vec![0];
        bounds.extend_from_slice(cuts);
        bounds.push(stub.len());
        let n = bounds.len() - 1;
        (0..n)
            .map(|k| {
                let part = &stub[bounds[k]..bounds[k + 1]];
                let mut f = hdr.to_vec();
                f[3] = (if k == 0 { pdu::PFC_FIRST_FRAG } else { 0 })
                    | (if k == n - 1 { pdu::PFC_LAST_FRAG } else { 0 });
                f[8..10].copy_from_slice(&((24 + part.len()) as u16).to_le_bytes());
                f.extend_from_slice(part);
                f
            })
            .collect()
    }

    #[test]
    fn multi_fragment_epm_call_is_reassembled() {
        // The zerologon ept_map request (frame 7) and response (frame 8) cut into 3 and 4
        // fragments: the query and the tower must decode exactly as from the single PDUs, the
        // answer dated by the last fragment's frame.
        use crate::proto::dcerpc::epm::tests::{ZL_F7_MAP_REQ, ZL_F8_MAP_RESP};
        use crate::proto::dcerpc::pdu::tests::{ZL_F4_BIND, ZL_F5_BIND_ACK};
        use crate::proto::testutil::hex;
        let mut pdus = vec![
            (Dir::ToServer, hex(ZL_F4_BIND), 4),
            (Dir::ToClient, hex(ZL_F5_BIND_ACK), 5),
        ];
        for (i, f) in split(&hex(ZL_F7_MAP_REQ), &[10, 61])
            .into_iter()
            .enumerate()
        {
            pdus.push((Dir::ToServer, f, 70 + i as u64));
        }
        for (i, f) in split(&hex(ZL_F8_MAP_RESP), &[3, 40, 100])
            .into_iter()
            .enumerate()
        {
            pdus.push((Dir::ToClient, f, 80 + i as u64));
        }
        let ev = feed_pdus(&pdus);
        let d = dcerpc(&ev);
        assert_eq!(d.pdu_types.get("request"), 3);
        assert_eq!(d.pdu_types.get("response"), 4);
        let e = iface(d, "e1af8308-5d1f-11c9-91a4-08002b14a0fa");
        assert_eq!(e.opnums[&3].count, 1, "one call, not three");
        assert!(d
            .epm_queries
            .contains(&"12345678-1234-abcd-ef00-01234567cffb NETLOGON v1.0".to_string()));
        assert_eq!(d.endpoint_maps.len(), 1);
        assert_eq!(d.endpoint_maps[0].port, Some(49668));
        assert_eq!(d.endpoint_maps[0].frame.frame, 83);
        assert_eq!(d.malformed, 0);
    }

    #[test]
    fn oversized_call_is_not_decoded() {
        // A call whose fragments exceed MAX_STUB_LEN: dropped from decoding, no panic, nothing
        // invented. Built from the zerologon ept_map request header (frame 7) with zero stubs.
        use crate::proto::dcerpc::epm::tests::ZL_F7_MAP_REQ;
        use crate::proto::dcerpc::pdu::tests::{ZL_F4_BIND, ZL_F5_BIND_ACK};
        use crate::proto::testutil::hex;
        let req = hex(ZL_F7_MAP_REQ);
        let mut big = req[..24].to_vec();
        big.resize(60_000, 0);
        let mut pdus = vec![
            (Dir::ToServer, hex(ZL_F4_BIND), 4),
            (Dir::ToClient, hex(ZL_F5_BIND_ACK), 5),
        ];
        let n = MAX_STUB_LEN / 60_000 + 2;
        for k in 0..n {
            let mut f = big.clone();
            f[3] = if k == 0 { pdu::PFC_FIRST_FRAG } else { 0 }
                | if k == n - 1 { pdu::PFC_LAST_FRAG } else { 0 };
            f[8..10].copy_from_slice(&60_000u16.to_le_bytes());
            pdus.push((Dir::ToServer, f, 10 + k as u64));
        }
        let ev = feed_pdus(&pdus);
        let d = dcerpc(&ev);
        assert_eq!(d.pdu_types.get("request"), n as u64);
        assert!(d.epm_queries.is_empty());
        assert_eq!(d.malformed, 0);
    }

    #[test]
    fn mutated_streams_never_panic() {
        let Some(segs) = packets("dcom_activation_oxid_resolver_ctxids_smb_kerberos.pcap") else {
            return;
        };
        let mut conns = vec![conn(&segs, Transport::Tcp, 49726, 135)];
        if let Some(w) = packets("dcom_wmi_activation_oxid_smb_dns.pcap") {
            // The activation flow, and the flow with multi-fragment responses (frames 101-113,
            // server -> client port 55275).
            conns.push(conn(&w, Transport::Tcp, 55274, 135));
            let f101 = w.iter().find(|s| s.frame == 101).unwrap();
            conns.push(conn(&w, Transport::Tcp, f101.dport, f101.sport));
        }
        let mut rng = Rng(0x5eed_0003);
        for it in 0..600 {
            let mut c = conns[it % conns.len()].clone();
            let k = rng.below(c.len());
            rng.mutate(&mut c[k].1.payload);
            let mut a = DcerpcAnalyzer::new();
            let _ = run_tcp(&mut a, &c, 135);
            let _ = a.service();
        }
        let _ = Transport::Tcp;
    }
}
