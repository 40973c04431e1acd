//! LDAP and CLDAP (RFC 4511) (stub: not yet dissected).

pub(crate) mod ber;
#[cfg(test)]
pub(crate) mod testutil;

use serde::Serialize;

use crate::evidence::Merge;
use crate::proto::{new_opaque, probe_never, Dissector};

/// What LDAP and CLDAP (RFC 4511) content proved about a flow.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LdapEvidence {}

impl Merge for LdapEvidence {
    fn merge(&mut self, _other: Self) {}
}

/// The LDAP and CLDAP (RFC 4511) dissector.
pub const DISSECTOR: Dissector = Dissector {
    name: "ldap",
    probe: probe_never,
    new: new_opaque,
};
