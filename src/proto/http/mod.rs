//! HTTP/1.x (RFC 9112) (stub: not yet dissected).

use serde::Serialize;

use crate::evidence::Merge;
use crate::proto::{new_opaque, probe_never, Dissector};

/// What HTTP/1.x (RFC 9112) content proved about a flow.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HttpEvidence {}

impl Merge for HttpEvidence {
    fn merge(&mut self, _other: Self) {}
}

/// The HTTP/1.x (RFC 9112) dissector.
pub const DISSECTOR: Dissector = Dissector {
    name: "http",
    probe: probe_never,
    new: new_opaque,
};
