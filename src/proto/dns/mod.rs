//! DNS (RFC 1035) (stub: not yet dissected).

use serde::Serialize;

use crate::evidence::Merge;
use crate::proto::{new_opaque, probe_never, Dissector};

/// What DNS (RFC 1035) content proved about a flow.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DnsEvidence {}

impl Merge for DnsEvidence {
    fn merge(&mut self, _other: Self) {}
}

/// The DNS (RFC 1035) dissector.
pub const DISSECTOR: Dissector = Dissector {
    name: "dns",
    probe: probe_never,
    new: new_opaque,
};
