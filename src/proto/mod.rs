//! Protocol analyzers: content in, typed evidence out.
//!
//! Each protocol lives in its own folder with three layers that do not reach into each other:
//! pure parsing of one message (no state), per-connection state (an [`Analyzer`]), and the
//! evidence type it fills ([`crate::evidence::Evidence`]). The flow layer owns TCP reassembly and
//! hands every analyzer in-order bytes per direction, or whole UDP datagrams.
//!
//! Which analyzer a connection gets is decided by content first ([`Dissector::probe`] on the
//! first payload bytes of either direction), then by the well-known server port
//! ([`crate::services`]); see [`choose`].

pub mod auth;
pub mod dcerpc;
pub mod dns;
pub mod http;
pub mod krb;
pub mod ldap;
pub mod ntlm;
pub mod smb;
pub mod spnego;
pub mod tally;
pub mod tls;

#[cfg(test)]
mod sweep;
#[cfg(test)]
pub(crate) mod testutil;

use crate::evidence::{Evidence, FrameRef};

/// Transport protocol of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Transport {
    /// TCP (RFC 9293).
    Tcp,
    /// UDP (RFC 768).
    Udp,
}

impl Transport {
    /// "tcp" or "udp", as in the JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }
}

/// Direction of a message within a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    /// From the client (the side that opened the connection) to the server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

impl Dir {
    /// 0 for client->server, 1 for server->client: an index into per-direction arrays.
    pub fn index(self) -> usize {
        match self {
            Dir::ToServer => 0,
            Dir::ToClient => 1,
        }
    }

    /// The other direction.
    pub fn reverse(self) -> Dir {
        match self {
            Dir::ToServer => Dir::ToClient,
            Dir::ToClient => Dir::ToServer,
        }
    }
}

/// What an analyzer is told with every piece of data.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    /// The frame that delivered (for TCP: completed) these bytes.
    pub frame: FrameRef,
    /// Its timestamp, nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// Which way the bytes travel.
    pub dir: Dir,
    /// Transport of the connection.
    pub transport: Transport,
    /// The server's port.
    pub server_port: u16,
    /// TCP: the capture holds no SYN of this direction, so the first bytes it shows may be the
    /// middle of a message (the capture joined the connection midway, or lost the SYN). False
    /// for UDP.
    pub midstream: bool,
}

/// Per-connection protocol state. One analyzer serves one connection (or one UDP exchange).
///
/// Every call that hands it data also hands it `ev`, the evidence sink of the connection: the
/// evidence of its flow when the flow is known from the start (a captured handshake, any UDP
/// exchange), else the connection's own evidence, merged into its flow when it ends. An analyzer
/// writes what a message proves straight into `ev` as it reads it (so a value a flow already
/// holds costs a look-up, not an allocation and a merge), or keeps its own tallies and writes
/// them in [`Analyzer::finish`]. `ev` may hold other connections' facts: an analyzer's decisions
/// about its own connection never read it.
///
/// Implementations never panic on any input: malformed messages are counted in their evidence.
pub trait Analyzer {
    /// In-order TCP payload of one direction. `data` holds every byte of `ctx.dir` not yet
    /// consumed; the return value is how many leading bytes the analyzer is done with (whole
    /// messages, or junk skipped while resynchronising). Unconsumed bytes are offered again with
    /// the next segment appended. Returning `data.len()` when the content is unreadable (encrypted
    /// or not this protocol) keeps the reassembly buffers empty.
    fn stream(&mut self, ctx: &Ctx, data: &[u8], ev: &mut Evidence) -> usize {
        let _ = (ctx, ev);
        data.len()
    }

    /// Bytes of `dir` were lost (a capture gap, or a reassembly buffer that hit its cap): the next
    /// bytes offered do not continue the previous ones, so resynchronise on the next message.
    fn gap(&mut self, dir: Dir) {
        let _ = dir;
    }

    /// One UDP datagram payload (after IPv4 reassembly).
    fn datagram(&mut self, ctx: &Ctx, data: &[u8], ev: &mut Evidence) {
        let _ = (ctx, data, ev);
    }

    /// `head` is the start of a message whose rest the capture does not have: a snap length cut
    /// the packet (for TCP, `head` is what [`Analyzer::stream`] left unconsumed when the cut
    /// came; [`Analyzer::gap`] follows). Record what is whole in it, as tshark shows the first
    /// fields of such a message; by default nothing is read.
    fn cut(&mut self, ctx: &Ctx, head: &[u8], ev: &mut Evidence) {
        let _ = (ctx, head, ev);
    }

    /// The service the content proved ("kerberos", "ldap", "https", "dcerpc" ...), once known.
    fn service(&self) -> Option<&'static str>;

    /// True when the content shows that the side the flow layer took for the client is really
    /// the server (requests travelled `ToClient`, responses `ToServer`). Only consulted for
    /// connections whose handshake was not captured, where the ports had to be guessed.
    fn roles_reversed(&self) -> bool {
        false
    }

    /// Writes what is left of what was proved into `ev`, the same sink as the data calls were
    /// given (called once, when the connection ends).
    fn finish(&mut self, ev: &mut Evidence);
}

/// A protocol that can be recognised by content and analysed.
pub struct Dissector {
    /// The service name this dissector proves, as used in `service` (e.g. "kerberos").
    pub name: &'static str,
    /// True if `data`, the first payload bytes seen in either direction, are this protocol.
    /// Must be cheap and must not panic on any input.
    pub probe: fn(Transport, &[u8]) -> bool,
    /// A fresh analyzer for a connection with this server port.
    pub new: fn(Transport, u16) -> Box<dyn Analyzer>,
}

/// Every dissector, in the order their probes are tried. Stricter probes come first.
pub static DISSECTORS: &[Dissector] = &[
    dcerpc::DISSECTOR,
    smb::DISSECTOR,
    krb::KPASSWD_DISSECTOR,
    krb::DISSECTOR,
    tls::DISSECTOR,
    ldap::DISSECTOR,
    http::DISSECTOR,
    dns::DISSECTOR,
];

/// Finds a dissector by the service name it proves. Port-based fallbacks map well-known service
/// names ([`crate::services::well_known`]) to dissectors through this.
pub fn by_service(service: &str) -> Option<&'static Dissector> {
    let name = match service {
        "cldap" | "gc" => "ldap",
        "ldaps" | "gc-ldaps" | "https" => "tls",
        "epm" => "dcerpc",
        s => s,
    };
    DISSECTORS.iter().find(|d| d.name == name)
}

/// Picks the analyzer for a connection from its first payload bytes (`first`, from either
/// direction), falling back to the dissector of the port's well-known service.
/// Returns `None` when neither content nor port name a protocol certflow analyses.
pub fn choose(transport: Transport, server_port: u16, first: &[u8]) -> Option<&'static Dissector> {
    if let Some(d) = DISSECTORS.iter().find(|d| (d.probe)(transport, first)) {
        return Some(d);
    }
    by_service(crate::services::well_known(transport, server_port))
}

/// An analyzer that reads nothing: placeholder for dissectors not written yet, and for
/// connections whose content no dissector recognises.
pub struct Opaque;

impl Analyzer for Opaque {
    fn service(&self) -> Option<&'static str> {
        None
    }
    fn finish(&mut self, _ev: &mut Evidence) {}
}

/// Builds an [`Opaque`] analyzer (the `new` of a dissector not written yet).
pub fn new_opaque(_t: Transport, _port: u16) -> Box<dyn Analyzer> {
    Box::new(Opaque)
}

/// A probe that never matches (the `probe` of a dissector not written yet).
pub fn probe_never(_t: Transport, _data: &[u8]) -> bool {
    false
}
