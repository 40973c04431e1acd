//! What LDAP and CLDAP (RFC 4511) content proved about one flow.

use std::borrow::Cow;

use serde::Serialize;

use crate::evidence::{Counts, Facts, FrameRef, Merge};

use super::parse::{self, Detail, Message};

/// An LDAPResult seen in a response: which response, the resultCode and its name. Both names
/// come from fixed tables ([`parse::op_name`], [`parse::result_name`]) and are kept borrowed:
/// recording a result allocates nothing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct LdapResultFact {
    /// The response's protocolOp name ("bindResponse", "searchResDone", ...).
    pub op: Cow<'static, str>,
    /// resultCode (RFC 4511 4.1.9).
    pub code: u32,
    /// Its name ("success", "invalidCredentials", ...), or "unknown".
    pub name: Cow<'static, str>,
}

/// LDAP/CLDAP facts of one flow. JSON field names are stable.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LdapEvidence {
    /// LDAP messages read (in clear or unwrapped from integrity-only SASL buffers; in part when
    /// the capture cut them short).
    pub messages: u64,
    /// Messages or buffers that did not parse, and bytes skipped to resynchronise (one per
    /// episode).
    pub malformed: u64,
    /// Times the analyzer had to look for the next message after a gap or bad bytes.
    pub resyncs: u64,
    /// Operations by protocolOp name (RFC 4511 ASN.1 names: bindRequest, searchRequest,
    /// searchResEntry, modifyRequest, extendedReq ...), with first frame and count.
    pub operations: Facts<String>,
    /// Bind kinds: "anonymous", "unauthenticated", "simple", `"sasl:<mechanism>"`.
    pub binds: Facts<String>,
    /// Non-empty bind names (DN, UPN or DOMAIN\user) of bindRequests.
    pub bind_names: Facts<String>,
    /// Service principals of the Kerberos tickets presented in SASL bind credentials (the
    /// AP-REQ inside GSSAPI / GSS-SPNEGO), e.g. "ldap/dc01.example.com".
    pub bind_krb_spns: Facts<String>,
    /// Result codes of responses.
    pub results: Facts<LdapResultFact>,
    /// Search bases ("" is the root DSE).
    pub search_bases: Facts<String>,
    /// Search filters as RFC 4515 strings.
    pub search_filters: Facts<String>,
    /// Attributes requested by searches.
    pub search_attributes: Facts<String>,
    /// Extended operations requested (OIDs).
    pub extended_ops: Facts<String>,
    /// StartTLS (RFC 4511 4.14): "requested", "accepted", "refused".
    pub starttls: Facts<String>,
    /// DC locator pings (CLDAP netlogon searches, MS-ADTS 6.3.3), counted.
    pub dc_locator_pings: u64,
    /// Domains asked for by DC locator pings (DnsDomain; "" when the ping names none).
    pub locator_domains: Facts<String>,
    /// SASL security layer buffers seen (RFC 4422 3.7).
    pub sasl_buffers: u64,
    /// Bytes of those buffers (length prefixes included).
    pub sasl_bytes: u64,
    /// Frames that carried SASL buffer bytes.
    pub sasl_frames: u64,
    /// Protection of the SASL buffers: "integrity" (readable, unwrapped), "privacy" (sealed),
    /// "unknown".
    pub sasl_protection: Facts<String>,
    /// Messages per protocolOp name found inside integrity-only SASL buffers (a subset of
    /// `operations`).
    pub unwrapped: Counts,
}

impl Merge for LdapEvidence {
    fn merge(&mut self, o: Self) {
        self.messages += o.messages;
        self.malformed += o.malformed;
        self.resyncs += o.resyncs;
        self.operations.merge(o.operations);
        self.binds.merge(o.binds);
        self.bind_names.merge(o.bind_names);
        self.bind_krb_spns.merge(o.bind_krb_spns);
        self.results.merge(o.results);
        self.search_bases.merge(o.search_bases);
        self.search_filters.merge(o.search_filters);
        self.search_attributes.merge(o.search_attributes);
        self.extended_ops.merge(o.extended_ops);
        self.starttls.merge(o.starttls);
        self.dc_locator_pings += o.dc_locator_pings;
        self.locator_domains.merge(o.locator_domains);
        self.sasl_buffers += o.sasl_buffers;
        self.sasl_bytes += o.sasl_bytes;
        self.sasl_frames += o.sasl_frames;
        self.sasl_protection.merge(o.sasl_protection);
        self.unwrapped.merge(o.unwrapped);
    }
}

impl LdapEvidence {
    /// Adds `n` messages of protocolOp tag `op_tag`, the first at `first`, to `operations` (not
    /// to `messages`: the analyzer tallies messages per tag as they arrive and hands both
    /// over when the connection ends). Search results, whose bodies carry no fact certflow
    /// reports, are counted by their tag alone, without being decoded.
    pub fn add_ops(&mut self, op_tag: u32, first: FrameRef, n: u64) {
        self.operations.add_ref_n(parse::op_name(op_tag), first, n);
    }

    /// Counts `n` messages of protocolOp tag `op_tag` found inside integrity-only SASL buffers.
    pub fn add_unwrapped(&mut self, op_tag: u32, n: u64) {
        self.unwrapped.add_static(parse::op_name(op_tag), n);
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.messages == 0 && self.malformed == 0 && self.sasl_buffers == 0 && self.resyncs == 0
    }

    /// Records the facts of one parsed message seen at `at`; the message itself is counted by
    /// the caller (a per-tag tally handed over with [`LdapEvidence::add_ops`]).
    pub fn record(&mut self, m: &Message, at: FrameRef) {
        let op = parse::op_name(m.op);
        match &m.detail {
            Detail::Bind { name, kind } => {
                self.binds.add_ref(&*kind.label(), at);
                if !name.is_empty() {
                    self.bind_names.add_ref(name.as_str(), at);
                }
            }
            Detail::Result { code } | Detail::ExtendedResp { code, .. } => {
                self.results.add(
                    LdapResultFact {
                        op: Cow::Borrowed(op),
                        code: *code,
                        name: Cow::Borrowed(parse::result_name(*code)),
                    },
                    at,
                );
            }
            Detail::Search(s) => {
                self.search_bases.add_ref(s.base.as_str(), at);
                self.search_filters.add_ref(s.filter.as_str(), at);
                for a in &s.attributes {
                    self.search_attributes.add_ref(a.as_str(), at);
                }
                if let Some(d) = &s.locator_domain {
                    self.dc_locator_pings += 1;
                    self.locator_domains.add_ref(d.as_str(), at);
                }
            }
            Detail::Extended { oid } => {
                self.extended_ops.add_ref(oid.as_str(), at);
            }
            Detail::None => {}
        }
    }
}
