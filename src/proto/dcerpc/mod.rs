//! Connection-oriented DCE/RPC (C706, MS-RPCE) (stub: not yet dissected).

use serde::Serialize;

use crate::evidence::Merge;
use crate::proto::{new_opaque, probe_never, Dissector};

/// What Connection-oriented DCE/RPC (C706, MS-RPCE) content proved about a flow.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DcerpcEvidence {}

impl Merge for DcerpcEvidence {
    fn merge(&mut self, _other: Self) {}
}

/// The Connection-oriented DCE/RPC (C706, MS-RPCE) dissector.
pub const DISSECTOR: Dissector = Dissector {
    name: "dcerpc",
    probe: probe_never,
    new: new_opaque,
};
