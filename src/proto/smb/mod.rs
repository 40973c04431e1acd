//! SMB2/3 (MS-SMB2) (stub: not yet dissected).

use serde::Serialize;

use crate::evidence::Merge;
use crate::proto::{new_opaque, probe_never, Dissector};

/// What SMB2/3 (MS-SMB2) content proved about a flow.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SmbEvidence {}

impl Merge for SmbEvidence {
    fn merge(&mut self, _other: Self) {}
}

/// The SMB2/3 (MS-SMB2) dissector.
pub const DISSECTOR: Dissector = Dissector {
    name: "smb",
    probe: probe_never,
    new: new_opaque,
};
