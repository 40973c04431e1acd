//! Kerberos (RFC 4120) and kpasswd (RFC 3244) (stub: not yet dissected).

use serde::Serialize;

use crate::evidence::Merge;
use crate::proto::{new_opaque, probe_never, Dissector};

/// What Kerberos (RFC 4120) and kpasswd (RFC 3244) content proved about a flow.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KrbEvidence {}

impl Merge for KrbEvidence {
    fn merge(&mut self, _other: Self) {}
}

/// The Kerberos (RFC 4120) and kpasswd (RFC 3244) dissector.
pub const DISSECTOR: Dissector = Dissector {
    name: "kerberos",
    probe: probe_never,
    new: new_opaque,
};

/// What kpasswd (RFC 3244) content proved about a flow.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KpasswdEvidence {}

impl Merge for KpasswdEvidence {
    fn merge(&mut self, _other: Self) {}
}

/// The kpasswd dissector.
pub const KPASSWD_DISSECTOR: Dissector = Dissector {
    name: "kpasswd",
    probe: probe_never,
    new: new_opaque,
};
