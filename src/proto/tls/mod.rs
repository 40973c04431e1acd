//! TLS (RFC 5246, RFC 8446) (stub: not yet dissected).

use serde::Serialize;

use crate::evidence::Merge;
use crate::proto::{new_opaque, probe_never, Dissector};

/// What TLS (RFC 5246, RFC 8446) content proved about a flow.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TlsEvidence {}

impl Merge for TlsEvidence {
    fn merge(&mut self, _other: Self) {}
}

/// The TLS (RFC 5246, RFC 8446) dissector.
pub const DISSECTOR: Dissector = Dissector {
    name: "tls",
    probe: probe_never,
    new: new_opaque,
};
