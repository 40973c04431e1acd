//! Per-connection SMB state: direct-TCP framing, SMB2 compound chains, the maps that tie
//! responses to requests (MessageId), trees to share paths (TreeId) and handles to pipe names
//! (FileId), and one DCE/RPC analyzer per named pipe fed with the pipe's bytes (MS-RPCE 2.1.1.2:
//! RPC over SMB named pipes, carried in WRITE / READ and FSCTL_PIPE_TRANSCEIVE).

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::evidence::Evidence;
use crate::proto::auth;
use crate::proto::tally::Tally;
use crate::proto::{Analyzer, Ctx, Dir, Transport};

use super::evidence::SmbEvidence;
use super::parse::{self as p, Command, FileId, Header, Protocol};
use super::smb1;

/// Requests remembered while waiting for their responses. Clients keep at most a few hundred
/// credits outstanding.
pub const MAX_PENDING: usize = 1024;
/// Trees remembered per connection.
pub const MAX_TREES: usize = 256;
/// Named pipes followed per connection (each owns a DCE/RPC analyzer).
pub const MAX_PIPES: usize = 64;
/// Unconsumed bytes kept per pipe and direction (a DCE/RPC fragment is at most 64 KiB;
/// MS-RPCE 3.3.3.5.3 max_xmit_frag).
pub const MAX_PIPE_BUF: usize = 256 * 1024;
/// Messages followed in one compound chain.
pub const MAX_COMPOUND: usize = 64;
/// Related requests kept per CREATE while its FileId is not yet known.
pub const MAX_DEFERRED: usize = 16;

/// The FileId of a related compound request that means "the handle of the previous request"
/// (MS-SMB2 3.2.4.1.4).
const RELATED_FILE_ID: FileId = [0xff; 16];

/// Builds the analyzer that reads a named pipe's bytes (the DCE/RPC dissector's `new`).
pub type PipeFactory = fn(Transport, u16) -> Box<dyn Analyzer>;

/// What a request left for its response.
#[derive(Debug, Clone)]
enum Pending {
    /// TREE_CONNECT of this path.
    Tree(String),
    /// CREATE; true when on a pipe share.
    Create(bool),
    /// READ of a pipe.
    Read(FileId),
    /// FSCTL_PIPE_TRANSCEIVE on this pipe, sent with the related FileId.
    Ioctl(FileId),
    /// SMB1 TRANSACTION on this pipe (TRANS_TRANSACT_NMPIPE, TRANS_READ_NMPIPE): its response
    /// carries the pipe's reply.
    Trans(FileId),
    /// SMB1 NEGOTIATE: the response's DialectIndex points into the offered list.
    Negotiate,
}

/// A related compound request waiting for the FileId of the CREATE before it.
#[derive(Debug, Clone)]
enum Deferred {
    /// WRITE or FSCTL_PIPE_TRANSCEIVE input: bytes for the pipe.
    Write(Vec<u8>),
    /// READ with this MessageId.
    Read(u64),
    /// FSCTL_PIPE_TRANSCEIVE with this MessageId.
    Ioctl(u64),
}

/// A connected tree.
#[derive(Debug, Clone)]
struct Tree {
    /// True for IPC$ (share type pipe).
    pipe: bool,
}

/// A named pipe being followed.
struct Pipe {
    analyzer: Box<dyn Analyzer>,
    buf: [Vec<u8>; 2],
}

/// The SMB analyzer of one connection. What messages show is written straight into the sink's
/// SMB evidence (see [`Analyzer`]), and each pipe's DCE/RPC analyzer writes into the same sink;
/// what requests left for their responses, trees and pipes stay here.
pub struct SmbAnalyzer {
    server_port: u16,
    pipe_new: PipeFactory,
    /// Per direction: bytes of an oversized message still to skip.
    skip: [usize; 2],
    /// Per direction: out of step, looking for the next message header.
    resync: [bool; 2],
    /// Per direction: a message header was read (junk before it is a mid-connection start).
    synced: [bool; 2],
    pending: BTreeMap<u64, Pending>,
    trees: BTreeMap<(u64, u32), Tree>,
    pipes: BTreeMap<FileId, Pipe>,
    /// Related requests by the MessageId of the CREATE whose FileId they use.
    deferred: BTreeMap<u64, Vec<Deferred>>,
    /// MessageId of the CREATE request earlier in the compound chain being read.
    chain_create: Option<u64>,
    /// The name of the CREATE request being read: one buffer reused, so a name the flow
    /// already holds (the same pipe opened again) costs a look-up, not an allocation.
    create_name: String,
    /// The evidence's `commands` by SMB2 command number or one of the `SMB1`.. codes below, named in
    /// [`Analyzer::finish`].
    commands: Tally,
    /// The evidence's `statuses` by NT status, named in [`Analyzer::finish`].
    statuses: Tally,
    /// The dialects of the last SMB1 NEGOTIATE request, for its response's DialectIndex.
    smb1_dialects: Vec<String>,
    /// SMB1 TRANSACTION requests whose data continues in TRANSACTION_SECONDARY requests: the
    /// pipe by request key (see [`smb1_key`]).
    smb1_trans: BTreeMap<u64, FileId>,
    proved: bool,
}

/// `commands` codes of the counters that are not SMB2 commands (SMB2 commands are u16).
const SMB1: u32 = 0x1_0000;
/// Junk before the first message header of a capture that began mid-connection.
const MIDSTREAM_START: u32 = 0x1_0002;
/// SMB1 requests: this base plus the SMB1 command code.
const SMB1_COMMAND: u32 = 0x2_0000;

/// The `commands` key of a code.
fn command_name(code: u32) -> Cow<'static, str> {
    match code {
        SMB1 => Cow::Borrowed("smb1"),
        MIDSTREAM_START => Cow::Borrowed("midstream_start"),
        c if c & !0xff == SMB1_COMMAND => {
            let c = c as u8;
            match smb1::command_name(c) {
                Some(n) => Cow::Borrowed(n),
                None => Cow::Owned(format!("smb1_command_0x{c:02x}")),
            }
        }
        c => Command(c as u16).name(),
    }
}

/// One block of an SMB1 message being read: the message's header, the block, its place in the
/// AndX chain, the whole message (data offsets count from its start), and whether a snap length
/// cut it.
#[derive(Clone, Copy)]
struct Smb1Block<'a> {
    h: &'a smb1::Header,
    b: &'a smb1::Block<'a>,
    i: usize,
    msg: &'a [u8],
    cut: bool,
}

/// The `pending` key of an SMB1 request: its PID and MID (MS-CIFS 3.2.4.1.3 pairs a response
/// with its request by both), the block's place in an AndX chain, and a bit no SMB2
/// MessageId of a real connection reaches.
fn smb1_key(h: &smb1::Header, block: usize) -> u64 {
    1 << 63 | (block as u64) << 32 | u64::from(h.pid) << 16 | u64::from(h.mid)
}

/// The `trees` key of an SMB1 tree: the UID (with a bit no SMB2 SessionId of a real
/// connection has) and the TID.
fn smb1_tree(uid: u16, tid: u16) -> (u64, u32) {
    (1 << 63 | u64::from(uid), u32::from(tid))
}

/// The `pipes` key of an SMB1 FID (FIDs are unique on a connection, MS-CIFS 3.3.1.3): the
/// FID's two bytes and a marker no SMB2 FileId of the same connection carries.
fn smb1_file_id(fid: u16) -> FileId {
    let [lo, hi] = fid.to_le_bytes();
    [lo, hi, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, b'S', b'M', b'B', 1]
}

/// The `statuses` key of an NT status: `0x` and eight lowercase hex digits, as
/// `format!("0x{code:08x}")` writes it, without the formatting machinery. The statuses nearly
/// every connection answers (MS-ERREF 2.3.1) are borrowed, not built.
fn status_name(code: u32) -> Cow<'static, str> {
    match code {
        p::STATUS_MORE_PROCESSING_REQUIRED => return Cow::Borrowed("0xc0000016"),
        0xc000_0022 => return Cow::Borrowed("0xc0000022"), // ACCESS_DENIED
        0xc000_0034 => return Cow::Borrowed("0xc0000034"), // OBJECT_NAME_NOT_FOUND
        0xc000_006d => return Cow::Borrowed("0xc000006d"), // LOGON_FAILURE
        0xc000_0128 => return Cow::Borrowed("0xc0000128"), // FILE_CLOSED
        0xc000_0203 => return Cow::Borrowed("0xc0000203"), // USER_SESSION_DELETED
        p::STATUS_BUFFER_OVERFLOW => return Cow::Borrowed("0x80000005"),
        _ => {}
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(10);
    s.push_str("0x");
    for shift in (0..8).rev() {
        let digit = HEX
            .get((code >> (shift * 4)) as usize & 0xf)
            .copied()
            .unwrap_or(b'0');
        s.push(char::from(digit));
    }
    Cow::Owned(s)
}

/// The DCE/RPC dissector's `new`, or an analyzer that reads nothing if it is missing.
fn dcerpc_new(t: Transport, port: u16) -> Box<dyn Analyzer> {
    match crate::proto::by_service("dcerpc") {
        Some(d) => (d.new)(t, port),
        None => crate::proto::new_opaque(t, port),
    }
}

impl SmbAnalyzer {
    /// A fresh analyzer for a connection to `server_port`, following pipes with DCE/RPC.
    pub fn new(server_port: u16) -> Self {
        Self::with_pipe_analyzer(server_port, dcerpc_new)
    }

    /// Same, with `pipe_new` building the analyzer of each named pipe.
    pub fn with_pipe_analyzer(server_port: u16, pipe_new: PipeFactory) -> Self {
        SmbAnalyzer {
            server_port,
            pipe_new,
            skip: [0; 2],
            resync: [false; 2],
            synced: [false; 2],
            pending: BTreeMap::new(),
            trees: BTreeMap::new(),
            pipes: BTreeMap::new(),
            deferred: BTreeMap::new(),
            chain_create: None,
            create_name: String::new(),
            commands: Tally::default(),
            statuses: Tally::default(),
            smb1_dialects: Vec::new(),
            smb1_trans: BTreeMap::new(),
            proved: false,
        }
    }

    /// Records that traffic is encrypted, and why.
    fn encrypted(why: &str, ctx: &Ctx, sink: &mut Evidence) {
        let ev = smb_of(sink);
        ev.encrypted = true;
        ev.encryption.add_ref(why, ctx.frame);
    }

    /// The header of a message too long to read: a request's command is counted; a
    /// response is taken as any response's header is (see [`Self::answered`]).
    fn large_header(&mut self, h: &Header, sink: &mut Evidence) {
        if h.is_response() {
            self.answered(h, sink);
        } else {
            self.command(u32::from(h.command.0), sink);
        }
    }

    /// A response header `h`: `None` for an interim STATUS_PENDING (the real response
    /// follows); else its status is counted (when not success) and what its request left
    /// pending is taken, `Some(None)` when nothing was.
    fn answered(&mut self, h: &Header, sink: &mut Evidence) -> Option<Option<Pending>> {
        if h.status == p::STATUS_PENDING {
            return None;
        }
        if h.status != p::STATUS_SUCCESS {
            self.statuses
                .add(h.status, &mut smb_of(sink).statuses, status_name);
        }
        Some(self.pending.remove(&h.message_id))
    }

    /// Counts one message under `code` (see [`command_name`]).
    fn command(&mut self, code: u32, sink: &mut Evidence) {
        self.commands
            .add(code, &mut smb_of(sink).commands, command_name);
    }

    /// One message after the direct-TCP header; with `cut`, its first bytes (a snap length
    /// cut it): what is whole is read, and what is not is no error.
    fn message(&mut self, ctx: &Ctx, msg: &[u8], sink: &mut Evidence, cut: bool) {
        match p::protocol(msg) {
            None if cut => {}
            None => smb_of(sink).malformed += 1,
            Some(Protocol::Smb1) => {
                self.proved = true;
                self.command(SMB1, sink);
                if self.smb1(ctx, msg, sink, cut).is_err() && !cut {
                    smb_of(sink).malformed += 1;
                }
            }
            Some(Protocol::Transform) => {
                self.proved = true;
                smb_of(sink).opaque_messages += 1;
                Self::encrypted("transform_header", ctx, sink);
            }
            Some(Protocol::Compressed) => {
                self.proved = true;
                smb_of(sink).opaque_messages += 1;
            }
            Some(Protocol::Smb2) => self.compound(ctx, msg, sink, cut),
        }
    }

    /// One SMB1 message (MS-CIFS 2.2.3): each block of its AndX chain in turn. With `cut`, the
    /// chain ends with the block the cut falls in, read as far as it is whole.
    fn smb1(
        &mut self,
        ctx: &Ctx,
        msg: &[u8],
        sink: &mut Evidence,
        cut: bool,
    ) -> Result<(), p::SmbError> {
        let h = smb1::header(msg)?;
        if h.is_response() && h.status != 0 && h.status != p::STATUS_PENDING {
            self.statuses
                .add(h.status, &mut smb_of(sink).statuses, status_name);
        }
        if h.is_response() && h.status == p::STATUS_PENDING {
            return Ok(());
        }
        let mut next = Some((h.command, smb1::HEADER_LEN));
        for i in 0..MAX_COMPOUND {
            let Some((command, at)) = next else {
                return Ok(());
            };
            let b = smb1::block(msg, command, at, cut)?;
            if i > 0 {
                smb_of(sink).compounded += 1;
            }
            let block = Smb1Block {
                h: &h,
                b: &b,
                i,
                msg,
                cut,
            };
            if h.is_response() {
                let pending = self.pending.remove(&smb1_key(&h, i));
                self.smb1_response(ctx, &block, pending, sink)?;
            } else {
                self.command(SMB1_COMMAND | u32::from(command), sink);
                self.smb1_request(ctx, &block, sink)?;
            }
            next = b.next()?;
        }
        // A chain longer than MAX_COMPOUND: the rest is not read.
        Err(p::SmbError::NotSmb)
    }

    /// One block of an SMB1 request.
    fn smb1_request(
        &mut self,
        ctx: &Ctx,
        block: &Smb1Block<'_>,
        sink: &mut Evidence,
    ) -> Result<(), p::SmbError> {
        let Smb1Block { h, b, i, msg, cut } = *block;
        let at = ctx.frame;
        let key = smb1_key(h, i);
        match b.command {
            smb1::cmd::NEGOTIATE => {
                self.smb1_dialects = smb1::negotiate_dialects(b);
                for d in &self.smb1_dialects {
                    smb_of(sink).dialects_offered.add(Cow::Owned(d.clone()), at);
                }
                self.remember(key, Pending::Negotiate, sink);
            }
            smb1::cmd::SESSION_SETUP_ANDX => {
                if let Some(token) = smb1::session_setup_request(b)? {
                    if let Some(spn) = auth::record_token(sink, token, at) {
                        smb_of(sink).ticket_spns.add(spn, at);
                    }
                } else if let Some(acc) = smb1::session_setup_legacy(b, h.unicode())? {
                    self.legacy_user(acc, h.unicode(), at, sink);
                }
            }
            smb1::cmd::TREE_CONNECT_ANDX => {
                let raw = smb1::tree_connect_request(b, h.unicode())?;
                smb1::decode_into(raw, h.unicode(), &mut self.create_name);
                let path = self.create_name.clone();
                smb_of(sink).trees.add_ref(path.as_str(), at);
                self.remember(key, Pending::Tree(path), sink);
            }
            smb1::cmd::NT_CREATE_ANDX => {
                let raw = smb1::nt_create_request(b, h.unicode())?;
                smb1::decode_into(raw, h.unicode(), &mut self.create_name);
                // SMB1 names start at the share's root (`\lsarpc`); SMB2 names, and the
                // evidence, do not.
                let name = self
                    .create_name
                    .strip_prefix('\\')
                    .unwrap_or(&self.create_name);
                let pipe = record_open(self.trees.get(&smb1_tree(h.uid, h.tid)), name, at, sink);
                self.remember(key, Pending::Create(pipe), sink);
            }
            smb1::cmd::CLOSE => {
                let fid = smb1::close_request(b)?;
                self.close_pipe(&smb1_file_id(fid), sink);
            }
            smb1::cmd::TRANSACTION => {
                let t = smb1::trans_request(msg, b, cut)?;
                let (Some(sub), Some(fid)) = (t.subcommand, t.fid) else {
                    // Mailslots and the RAP (`\PIPE\LANMAN`) carry no DCE/RPC.
                    return Ok(());
                };
                if !matches!(
                    sub,
                    smb1::TRANS_TRANSACT_NMPIPE
                        | smb1::TRANS_WRITE_NMPIPE
                        | smb1::TRANS_RAW_WRITE_NMPIPE
                        | smb1::TRANS_READ_NMPIPE
                ) {
                    return Ok(());
                }
                let fid = smb1_file_id(fid);
                // These subcommands name a pipe (MS-CIFS 2.2.5): one whose NT_CREATE_ANDX the
                // capture missed is read from here on.
                if !self.pipes.contains_key(&fid) {
                    self.open_pipe(fid, sink);
                }
                self.feed(ctx, &fid, Dir::ToServer, t.data, sink, cut);
                if usize::from(t.total_data) > t.data.len() && !cut {
                    if self.smb1_trans.len() >= MAX_PENDING {
                        self.smb1_trans.pop_first();
                        smb_of(sink).pending_dropped += 1;
                    }
                    self.smb1_trans.insert(smb1_key(h, 0), fid);
                }
                if matches!(sub, smb1::TRANS_TRANSACT_NMPIPE | smb1::TRANS_READ_NMPIPE) {
                    self.remember(key, Pending::Trans(fid), sink);
                }
            }
            smb1::cmd::TRANSACTION_SECONDARY => {
                let t = smb1::trans_secondary_request(msg, b, cut)?;
                let k = smb1_key(h, 0);
                if let Some(&fid) = self.smb1_trans.get(&k) {
                    if usize::from(t.displacement) + t.data.len() >= usize::from(t.total_data) {
                        self.smb1_trans.remove(&k);
                    }
                    self.feed(ctx, &fid, Dir::ToServer, t.data, sink, cut);
                }
            }
            smb1::cmd::WRITE_ANDX => {
                let (fid, data) = smb1::write_andx_request(msg, b, cut)?;
                let fid = self.smb1_pipe_on_ipc(h, fid, sink);
                self.feed(ctx, &fid, Dir::ToServer, data, sink, cut);
            }
            smb1::cmd::READ_ANDX => {
                let fid = smb1::read_andx_request(b)?;
                let fid = self.smb1_pipe_on_ipc(h, fid, sink);
                if self.pipes.contains_key(&fid) {
                    self.remember(key, Pending::Read(fid), sink);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// One block of an SMB1 response, with what its request left.
    fn smb1_response(
        &mut self,
        ctx: &Ctx,
        block: &Smb1Block<'_>,
        pending: Option<Pending>,
        sink: &mut Evidence,
    ) -> Result<(), p::SmbError> {
        let Smb1Block { h, b, i, msg, cut } = *block;
        let at = ctx.frame;
        // A pipe read that returns part of a message answers STATUS_BUFFER_OVERFLOW with
        // valid data (MS-CIFS 3.3.5.10); a session setup's middle leg answers
        // STATUS_MORE_PROCESSING_REQUIRED with the server's token.
        let data_ok = !h.failed() || h.status == p::STATUS_BUFFER_OVERFLOW;
        match b.command {
            smb1::cmd::NEGOTIATE if !h.failed() => {
                if let Some(Pending::Negotiate) = pending {
                    let index = smb1::negotiate_response(b)?;
                    if let Some(d) = self.smb1_dialects.get(usize::from(index)) {
                        smb_of(sink).dialect.add(Cow::Owned(d.clone()), at);
                    }
                }
            }
            smb1::cmd::SESSION_SETUP_ANDX
                if !h.failed() || h.status == p::STATUS_MORE_PROCESSING_REQUIRED =>
            {
                if let Some(token) = smb1::session_setup_response(b)? {
                    auth::record_token(sink, token, at);
                }
            }
            smb1::cmd::TREE_CONNECT_ANDX if !h.failed() => {
                let ipc = smb1::tree_connect_response(b) == Ok(&b"IPC"[..]);
                let by_path = matches!(&pending, Some(Pending::Tree(path)) if is_ipc_path(path));
                let key = smb1_tree(h.uid, h.tid);
                if self.trees.len() < MAX_TREES || self.trees.contains_key(&key) {
                    self.trees.insert(
                        key,
                        Tree {
                            pipe: ipc || by_path,
                        },
                    );
                } else {
                    smb_of(sink).trees_dropped += 1;
                }
            }
            smb1::cmd::NT_CREATE_ANDX if !h.failed() => {
                if let Some(Pending::Create(true)) = pending {
                    let fid = smb1::nt_create_response(b)?;
                    self.open_pipe(smb1_file_id(fid), sink);
                }
            }
            smb1::cmd::TRANSACTION if data_ok => {
                if let Some(Pending::Trans(fid)) = pending {
                    let t = smb1::trans_response(msg, b, cut)?;
                    // A reply in several parts: the next part answers the same request.
                    if usize::from(t.displacement) + t.data.len() < usize::from(t.total_data)
                        && !cut
                    {
                        self.remember(smb1_key(h, i), Pending::Trans(fid), sink);
                    }
                    self.feed(ctx, &fid, Dir::ToClient, t.data, sink, cut);
                }
            }
            smb1::cmd::READ_ANDX if data_ok => {
                if let Some(Pending::Read(fid)) = pending {
                    let data = smb1::read_andx_response(msg, b, cut)?;
                    self.feed(ctx, &fid, Dir::ToClient, data, sink, cut);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The account and domain of an SMB1 logon without extended security: `DOMAIN\\user`, or an
    /// anonymous logon when the account is empty.
    fn legacy_user(
        &mut self,
        acc: smb1::Account<'_>,
        unicode: bool,
        at: crate::evidence::FrameRef,
        sink: &mut Evidence,
    ) {
        smb1::decode_into(acc.name, unicode, &mut self.create_name);
        if self.create_name.is_empty() {
            smb_of(sink).legacy_anonymous += 1;
            return;
        }
        let user = std::mem::take(&mut self.create_name);
        smb1::decode_into(acc.domain, unicode, &mut self.create_name);
        let full = format!("{}\\{user}", self.create_name);
        smb_of(sink).legacy_users.add(full, at);
    }

    /// The pipe key of an SMB1 FID; a READ_ANDX or WRITE_ANDX on a tree known to be IPC$
    /// names a pipe even when the capture missed its NT_CREATE_ANDX (see
    /// [`Self::pipe_on_ipc`]).
    fn smb1_pipe_on_ipc(&mut self, h: &smb1::Header, fid: u16, sink: &mut Evidence) -> FileId {
        let id = smb1_file_id(fid);
        if !self.pipes.contains_key(&id)
            && self
                .trees
                .get(&smb1_tree(h.uid, h.tid))
                .is_some_and(|t| t.pipe)
        {
            self.open_pipe(id, sink);
        }
        id
    }

    /// Walks a compound chain (MS-SMB2 3.2.4.1.4): each header's NextCommand is the offset of
    /// the next one, 8-byte aligned; 0 ends the chain. With `cut`, the chain ends with the
    /// message the cut falls in, read as far as it is whole.
    fn compound(&mut self, ctx: &Ctx, msg: &[u8], sink: &mut Evidence, cut: bool) {
        let mut off = 0usize;
        self.chain_create = None;
        for _ in 0..MAX_COMPOUND {
            let Some(sub) = msg.get(off..) else {
                smb_of(sink).malformed += 1;
                return;
            };
            let h = match p::header(sub) {
                Ok(h) => h,
                Err(_) if cut => return,
                Err(_) => {
                    smb_of(sink).malformed += 1;
                    return;
                }
            };
            self.proved = true;
            let next = h.next_command as usize;
            if next != 0 || h.flags & p::flags::RELATED != 0 {
                smb_of(sink).compounded += 1;
            }
            let last = next == 0 || (cut && next > sub.len());
            let this = if last {
                sub
            } else if next < p::SMB2_HEADER_LEN || next % 8 != 0 || next > sub.len() {
                smb_of(sink).malformed += 1;
                return;
            } else {
                sub.get(..next).unwrap_or_default()
            };
            let cut_here = cut && last;
            if self.smb2(ctx, &h, this, sink, cut_here).is_err() && !cut_here {
                smb_of(sink).malformed += 1;
            }
            if last {
                return;
            }
            off += next;
        }
        // A chain longer than MAX_COMPOUND: the rest is not read.
        smb_of(sink).malformed += 1;
    }

    /// One SMB2 message (header `h`, whole message `m`; with `cut`, its first bytes: the
    /// pipe bytes it holds go to the pipe's analyzer as a message cut short).
    fn smb2(
        &mut self,
        ctx: &Ctx,
        h: &Header,
        m: &[u8],
        sink: &mut Evidence,
        cut: bool,
    ) -> Result<(), p::SmbError> {
        let at = ctx.frame;
        if !h.is_response() {
            self.command(u32::from(h.command.0), sink);
            match h.command {
                Command::NEGOTIATE => {
                    for d in p::negotiate_request(m)? {
                        smb_of(sink).dialects_offered.add(p::dialect_name(d), at);
                    }
                }
                Command::SESSION_SETUP => {
                    let token = p::session_setup_request(m)?;
                    if let Some(spn) = auth::record_token(sink, token, at) {
                        smb_of(sink).ticket_spns.add(spn, at);
                    }
                }
                Command::TREE_CONNECT => {
                    let path = p::tree_connect_request(m)?;
                    smb_of(sink).trees.add_ref(path.as_str(), at);
                    self.remember(h.message_id, Pending::Tree(path), sink);
                }
                Command::CREATE => {
                    p::create_request_into(m, &mut self.create_name)?;
                    let tree = self.trees.get(&(h.session_id, h.tree_id));
                    let pipe = record_open(tree, &self.create_name, at, sink);
                    self.remember(h.message_id, Pending::Create(pipe), sink);
                    self.chain_create = Some(h.message_id);
                }
                Command::CLOSE => {
                    let fid = p::close_request(m)?;
                    // A related CLOSE (the handle of a CREATE earlier in the chain) leaves the
                    // pipe open: MAX_PIPES bounds what stays.
                    if fid != RELATED_FILE_ID {
                        self.close_pipe(&fid, sink);
                    }
                }
                Command::READ => {
                    let fid = p::read_request(m)?;
                    if let Some(cid) = self.deferred_to(h, &fid) {
                        self.defer(cid, Deferred::Read(h.message_id), sink);
                        return Ok(());
                    }
                    self.pipe_on_ipc(h, fid, sink);
                    if self.pipes.contains_key(&fid) {
                        self.remember(h.message_id, Pending::Read(fid), sink);
                    }
                }
                Command::WRITE => {
                    let (fid, data) = p::write_request(m, cut)?;
                    self.pipe_on_ipc(h, fid, sink);
                    // The bytes are copied only when they must wait for the CREATE response
                    // (bytes cut short are lost to the pipe: the gap that follows says so).
                    match self.deferred_to(h, &fid) {
                        Some(cid) if !cut => self.defer(cid, Deferred::Write(data.to_vec()), sink),
                        Some(_) => {}
                        None => self.feed(ctx, &fid, Dir::ToServer, data, sink, cut),
                    }
                }
                Command::IOCTL => {
                    let io = p::ioctl_request(m, cut)?;
                    if io.ctl_code == p::FSCTL_PIPE_TRANSCEIVE {
                        match self.deferred_to(h, &io.file_id) {
                            Some(_) if cut => {}
                            Some(cid) => {
                                self.defer(cid, Deferred::Write(io.data.to_vec()), sink);
                                self.defer(cid, Deferred::Ioctl(h.message_id), sink);
                            }
                            None => {
                                // A transceive is a named-pipe operation (MS-FSCC 2.3.50): a
                                // FileId never seen is a pipe whose CREATE the capture missed.
                                if io.file_id != RELATED_FILE_ID
                                    && !self.pipes.contains_key(&io.file_id)
                                {
                                    self.open_pipe(io.file_id, sink);
                                }
                                self.feed(ctx, &io.file_id, Dir::ToServer, io.data, sink, cut)
                            }
                        }
                    }
                }
                _ => {}
            }
            return Ok(());
        }
        let Some(pending) = self.answered(h, sink) else {
            return Ok(());
        };
        let deferred = if h.command == Command::CREATE {
            self.deferred.remove(&h.message_id).unwrap_or_default()
        } else {
            Vec::new()
        };
        let ok = h.status == p::STATUS_SUCCESS || h.status == p::STATUS_BUFFER_OVERFLOW;
        // The server's token: an AP-REP (success), or another leg's token with
        // STATUS_MORE_PROCESSING_REQUIRED, where Samba and Windows also send a KRB-ERROR such as
        // KRB_AP_ERR_SKEW. Any other status comes in an ERROR response (MS-SMB2 2.2.2), which
        // has no security buffer.
        let leg = ok || h.status == p::STATUS_MORE_PROCESSING_REQUIRED;
        if h.command == Command::SESSION_SETUP && leg {
            if let Ok(token) = p::session_setup_response_token(m) {
                auth::record_token(sink, token, at);
            }
        }
        match h.command {
            Command::NEGOTIATE if ok => {
                smb_of(sink)
                    .dialect
                    .add(p::dialect_name(p::negotiate_response(m)?), at);
            }
            Command::SESSION_SETUP
                if ok && p::session_setup_response(m)? & p::SESSION_FLAG_ENCRYPT_DATA != 0 =>
            {
                Self::encrypted("session_encrypt_data", ctx, sink);
            }
            Command::TREE_CONNECT if ok => {
                let (share_type, share_flags) = p::tree_connect_response(m)?;
                if share_flags & p::SHAREFLAG_ENCRYPT_DATA != 0 {
                    Self::encrypted("share_encrypt_data", ctx, sink);
                }
                let by_path = matches!(&pending, Some(Pending::Tree(path)) if is_ipc_path(path));
                let key = (h.session_id, h.tree_id);
                if self.trees.len() < MAX_TREES || self.trees.contains_key(&key) {
                    self.trees.insert(
                        key,
                        Tree {
                            pipe: share_type == p::SHARE_TYPE_PIPE || by_path,
                        },
                    );
                } else {
                    smb_of(sink).trees_dropped += 1;
                }
            }
            Command::CREATE if ok => {
                let fid = p::create_response(m)?;
                if let Some(Pending::Create(true)) = pending {
                    if self.open_pipe(fid, sink) {
                        for d in deferred {
                            match d {
                                Deferred::Write(data) => {
                                    self.feed(ctx, &fid, Dir::ToServer, &data, sink, false)
                                }
                                Deferred::Read(mid) => self.remember(mid, Pending::Read(fid), sink),
                                Deferred::Ioctl(mid) => {
                                    self.remember(mid, Pending::Ioctl(fid), sink)
                                }
                            }
                        }
                    }
                }
            }
            Command::READ if ok => {
                if let Some(Pending::Read(fid)) = pending {
                    let data = p::read_response(m, cut)?;
                    self.feed(ctx, &fid, Dir::ToClient, data, sink, cut);
                }
            }
            Command::IOCTL if ok => {
                let io = p::ioctl_response(m, cut)?;
                let fid = match pending {
                    Some(Pending::Ioctl(f)) if io.file_id == RELATED_FILE_ID => f,
                    _ => io.file_id,
                };
                if io.ctl_code == p::FSCTL_PIPE_TRANSCEIVE {
                    self.feed(ctx, &fid, Dir::ToClient, io.data, sink, cut);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Starts reading the named pipe `fid` with a DCE/RPC analyzer; false (counted malformed)
    /// when [`MAX_PIPES`] are open already.
    fn open_pipe(&mut self, fid: FileId, sink: &mut Evidence) -> bool {
        if self.pipes.len() >= MAX_PIPES {
            smb_of(sink).malformed += 1;
            return false;
        }
        let analyzer = (self.pipe_new)(Transport::Tcp, self.server_port);
        self.pipes.insert(
            fid,
            Pipe {
                analyzer,
                buf: [Vec::new(), Vec::new()],
            },
        );
        true
    }

    /// A CLOSE of `fid`: when it is a pipe being read, its DCE/RPC analyzer hands what it
    /// tallied to the flow's evidence (as every pipe's does when the connection ends) and the
    /// pipe is forgotten, so that a long session that opens pipe after pipe (a management
    /// console, a service polling lsarpc) stays below [`MAX_PIPES`] open at once.
    fn close_pipe(&mut self, fid: &FileId, sink: &mut Evidence) {
        if let Some(mut pipe) = self.pipes.remove(fid) {
            pipe.analyzer.finish(sink);
        }
    }

    /// A READ or WRITE on a tree known to be IPC$ (a pipe share: MS-SMB2 3.3.5.9, it holds
    /// named pipes only) names a pipe, even when the capture missed or cut the CREATE response
    /// that gave its FileId: start reading it.
    fn pipe_on_ipc(&mut self, h: &Header, fid: FileId, sink: &mut Evidence) {
        if fid == RELATED_FILE_ID || self.pipes.contains_key(&fid) {
            return;
        }
        if self
            .trees
            .get(&(h.session_id, h.tree_id))
            .is_some_and(|t| t.pipe)
        {
            self.open_pipe(fid, sink);
        }
    }

    /// The MessageId of the CREATE earlier in the chain when `h` is a related request naming
    /// its FileId (not known before the CREATE response), which must then be held back.
    fn deferred_to(&self, h: &Header, fid: &FileId) -> Option<u64> {
        if h.flags & p::flags::RELATED == 0 || *fid != RELATED_FILE_ID {
            return None;
        }
        self.chain_create
    }

    /// Holds back a related request until the response of the CREATE `cid` (see
    /// [`Self::deferred_to`]).
    fn defer(&mut self, cid: u64, what: Deferred, sink: &mut Evidence) {
        if !self.deferred.contains_key(&cid) && self.deferred.len() >= MAX_PENDING {
            self.deferred.pop_first();
            smb_of(sink).pending_dropped += 1;
        }
        let list = self.deferred.entry(cid).or_default();
        if list.len() < MAX_DEFERRED {
            list.push(what);
        } else {
            smb_of(sink).malformed += 1;
        }
    }

    /// Remembers what a request needs from its response; when full, the oldest request (lowest
    /// MessageId: MS-SMB2 3.2.4.1.3 assigns them in increasing order) is forgotten, since its
    /// response was most likely lost.
    fn remember(&mut self, message_id: u64, what: Pending, sink: &mut Evidence) {
        if self.pending.len() >= MAX_PENDING {
            self.pending.pop_first();
            smb_of(sink).pending_dropped += 1;
        }
        self.pending.insert(message_id, what);
    }

    /// Hands pipe bytes to the pipe's analyzer as a stream of `dir`, keeping what it did not
    /// consume (as the flow layer does for TCP). With `cut` (the SMB message carrying them was
    /// cut short), what it did not consume is offered as a message cut short
    /// ([`Analyzer::cut`]); the gap that follows the cut clears it.
    fn feed(
        &mut self,
        ctx: &Ctx,
        fid: &FileId,
        dir: Dir,
        data: &[u8],
        sink: &mut Evidence,
        cut: bool,
    ) {
        let Some(pipe) = self.pipes.get_mut(fid) else {
            return;
        };
        if data.is_empty() {
            return;
        }
        smb_of(sink).pipe_bytes += data.len() as u64;
        let buf = &mut pipe.buf[dir.index()];
        if buf.len() + data.len() > MAX_PIPE_BUF {
            buf.clear();
            pipe.analyzer.gap(dir);
            smb_of(sink).malformed += 1;
        }
        let sub = Ctx { dir, ..*ctx };
        if buf.is_empty() {
            // Nothing held back: read the message's bytes in place and keep only the rest
            // (usually nothing: a pipe message carries whole fragments).
            let used = pipe.analyzer.stream(&sub, data, sink).min(data.len());
            let rest = data.get(used..).unwrap_or_default();
            if cut && !rest.is_empty() {
                pipe.analyzer.cut(&sub, rest, sink);
            } else {
                buf.extend_from_slice(rest);
            }
            return;
        }
        buf.extend_from_slice(data);
        let used = pipe.analyzer.stream(&sub, buf, sink).min(buf.len());
        buf.drain(..used);
        if cut && !buf.is_empty() {
            pipe.analyzer.cut(&sub, buf, sink);
        }
    }

    /// Counts junk where a message header should be and starts looking for the next header.
    /// Before the first header of a connection the capture joined midway it is the tail of a
    /// message ("midstream_start"), else malformed.
    fn out_of_step(&mut self, ctx: &Ctx, sink: &mut Evidence) {
        let i = ctx.dir.index();
        if self.synced[i] || !ctx.midstream {
            smb_of(sink).malformed += 1;
        } else {
            self.command(MIDSTREAM_START, sink);
        }
        self.resync[i] = true;
    }

    /// Finds the next plausible message start (session-message type 0 followed by an SMB
    /// protocol id) at or after `pos`.
    fn find_message(data: &[u8], mut pos: usize) -> Option<usize> {
        while pos + p::NBSS_HEADER_LEN + 4 <= data.len() {
            let at = data.get(pos..).unwrap_or_default();
            if at.first() == Some(&0)
                && p::protocol(at.get(p::NBSS_HEADER_LEN..).unwrap_or_default()).is_some()
            {
                return Some(pos);
            }
            pos += 1;
        }
        None
    }
}

/// True for a share path ending in `\IPC$`, in any case (the pipe share, MS-SMB2 2.2.9).
fn is_ipc_path(path: &str) -> bool {
    let b = path.as_bytes();
    b.len() >= 5
        && b.get(b.len() - 5..)
            .is_some_and(|end| end.eq_ignore_ascii_case(b"\\IPC$"))
}

/// Records the name of a file or pipe opened (SMB2 CREATE, SMB1 NT_CREATE_ANDX) on `tree`, and
/// says whether it is a pipe: by the tree's type, or for a tree connected before the capture
/// began, by the name. An empty name opens the share's root directory (MS-SMB2 2.2.13): no
/// file.
fn record_open(
    tree: Option<&Tree>,
    name: &str,
    at: crate::evidence::FrameRef,
    sink: &mut Evidence,
) -> bool {
    let pipe = match tree {
        Some(t) => t.pipe,
        None => looks_like_pipe_name(name),
    };
    let ev = smb_of(sink);
    if pipe {
        ev.pipes.add_ref(name, at);
    } else if !name.is_empty() {
        ev.files.add_ref(name, at);
    }
    pipe
}

/// Pipe names seen on IPC$ have no path separator and no extension (`samr`, `lsarpc`, `cert`,
/// `srvsvc`, `epmapper` ...).
fn looks_like_pipe_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['\\', '/', '.'])
}

impl Analyzer for SmbAnalyzer {
    fn stream(&mut self, ctx: &Ctx, data: &[u8], sink: &mut Evidence) -> usize {
        let i = ctx.dir.index();
        let mut pos = 0usize;
        loop {
            let rest = data.get(pos..).unwrap_or_default();
            if self.skip[i] > 0 {
                let n = self.skip[i].min(rest.len());
                self.skip[i] -= n;
                pos += n;
                if self.skip[i] > 0 || n == rest.len() {
                    return pos;
                }
                continue;
            }
            if self.resync[i] {
                match Self::find_message(data, pos) {
                    Some(p) => {
                        pos = p;
                        self.resync[i] = false;
                    }
                    None => return data.len().saturating_sub(p::NBSS_HEADER_LEN + 3).max(pos),
                }
                continue;
            }
            let Some((kind, len)) = p::nbss_header(rest) else {
                return pos;
            };
            if kind != 0 {
                // Other NetBIOS session packets (RFC 1002 4.3: request, responses, keepalive).
                if !matches!(kind, 0x81..=0x85) || len > p::MAX_PARSE_LEN {
                    self.out_of_step(ctx, sink);
                    self.resync[i] = true;
                    pos += 1;
                    continue;
                }
                let Some(packet) = rest.get(..p::NBSS_HEADER_LEN + len) else {
                    return pos;
                };
                if kind == p::NBSS_SESSION_REQUEST && ctx.dir == Dir::ToServer {
                    let body = packet.get(p::NBSS_HEADER_LEN..).unwrap_or_default();
                    if let Some((called, calling)) = p::session_request_names(body) {
                        let ev = smb_of(sink);
                        if let Some(n) = called {
                            ev.called_names.add(n, ctx.frame);
                        }
                        if let Some(n) = calling {
                            ev.calling_names.add(n, ctx.frame);
                        }
                    }
                }
                pos += p::NBSS_HEADER_LEN + len;
                continue;
            }
            // The protocol id must follow: anything else means the stream is out of step.
            match rest.get(p::NBSS_HEADER_LEN..p::NBSS_HEADER_LEN + 4) {
                None => return pos,
                Some(id) if p::protocol(id).is_none() => {
                    self.out_of_step(ctx, sink);
                    self.resync[i] = true;
                    pos += 1;
                    continue;
                }
                Some(_) => self.synced[i] = true,
            }
            if len > p::MAX_PARSE_LEN {
                // File data (a WRITE request, a READ response): skipped unread once its header
                // is read, so that a request's command and a response's status count as for
                // any message.
                let Some(head) =
                    rest.get(p::NBSS_HEADER_LEN..p::NBSS_HEADER_LEN + p::SMB2_HEADER_LEN)
                else {
                    return pos;
                };
                self.proved = true;
                smb_of(sink).large_messages += 1;
                if let Ok(h) = p::header(head) {
                    self.large_header(&h, sink);
                }
                self.skip[i] = len;
                pos += p::NBSS_HEADER_LEN;
                continue;
            }
            let Some(msg) = rest.get(p::NBSS_HEADER_LEN..p::NBSS_HEADER_LEN + len) else {
                return pos;
            };
            self.message(ctx, msg, sink, false);
            pos += p::NBSS_HEADER_LEN + len;
        }
    }

    /// A message cut by the snap length (`head` starts at its direct-TCP header): what is
    /// whole in it counts and is read as for a whole message (the command and status; a
    /// NEGOTIATE's dialects, a TREE_CONNECT's path, a CREATE's name while whole), and the pipe
    /// bytes of a WRITE, READ or FSCTL_PIPE_TRANSCEIVE go to the pipe's DCE/RPC analyzer as a
    /// PDU cut short (MS-SMB2 2.2).
    fn cut(&mut self, ctx: &Ctx, head: &[u8], sink: &mut Evidence) {
        let i = ctx.dir.index();
        if self.skip[i] > 0 || self.resync[i] {
            return;
        }
        let Some((0, len)) = p::nbss_header(head) else {
            return;
        };
        let msg = head.get(p::NBSS_HEADER_LEN..).unwrap_or_default();
        if msg.len() >= len || p::protocol(msg).is_none() {
            return;
        }
        self.synced[i] = true;
        self.message(ctx, msg, sink, true);
    }

    fn gap(&mut self, dir: Dir) {
        let i = dir.index();
        self.skip[i] = 0;
        self.resync[i] = true;
        for pipe in self.pipes.values_mut() {
            pipe.buf[i].clear();
            pipe.analyzer.gap(dir);
        }
    }

    fn service(&self) -> Option<&'static str> {
        self.proved.then_some("smb")
    }

    fn finish(&mut self, sink: &mut Evidence) {
        for pipe in self.pipes.values_mut() {
            pipe.analyzer.finish(sink);
        }
        // A connection that carried SMB gives its flow an SMB entry even if nothing was read.
        let ev = smb_of(sink);
        self.commands.drain_into(&mut ev.commands, command_name);
        self.statuses.drain_into(&mut ev.statuses, status_name);
    }
}

/// The SMB evidence of `sink`, created empty if it has none yet.
fn smb_of(sink: &mut Evidence) -> &mut SmbEvidence {
    sink.smb.get_or_insert_with(Default::default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipc_paths() {
        // epm_map_netlogon_drsuapi_smb_dns.pcap frame 2929 connects `\\192.168.56.102\IPC$`
        // (tshark smb2.tree); any case counts, as `to_ascii_uppercase().ends_with` decided.
        for (p, ipc) in [
            ("\\\\192.168.56.102\\IPC$", true),
            ("\\\\dc1\\ipc$", true),
            ("\\IPC$", true),
            ("IPC$", false),
            ("\\\\dc1\\SYSVOL", false),
            ("\\\\dc1\\xIPC$", false),
            ("", false),
            ("\\\\h\\é\\IPC$", true),
        ] {
            assert_eq!(is_ipc_path(p), ipc, "{p}");
            assert_eq!(
                is_ipc_path(p),
                p.to_ascii_uppercase().ends_with("\\IPC$"),
                "{p}"
            );
        }
    }

    #[test]
    fn status_name_is_hex_of_eight_digits() {
        // 0xc0000016 MORE_PROCESSING_REQUIRED and 0xc0000034 OBJECT_NAME_NOT_FOUND as counted
        // in smb2_dcerpc_lsarpc_samr.pcap (see the module tests of `smb`).
        for code in [
            0,
            0x103,
            0x8000_0005,
            0xc000_0016,
            0xc000_0022,
            0xc000_0034,
            0xc000_006d,
            0xc000_0128,
            0xc000_0203,
            0xc000_0017,
            0xdead_beef,
            u32::MAX,
        ] {
            assert_eq!(status_name(code), format!("0x{code:08x}"));
        }
    }
}
