//! What NTLM (MS-NLMP) messages inside other protocols' tokens proved about one flow.

use std::borrow::Cow;
use std::sync::OnceLock;

use serde::Serialize;

use crate::evidence::{capped, Evidence, Facts, FrameRef, Merge};
use crate::proto::krb::Code;

use super::parse::{Message, MsgType, Text};

/// Longest name kept; a longer one is cut and marked with "...".
pub const MAX_NAME_LEN: usize = 256;

/// NTLM facts of one flow (the flow of the protocol that carried the messages: SMB2, LDAP,
/// DCE/RPC, HTTP). JSON field names are stable.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NtlmEvidence {
    /// Messages read.
    pub messages: u64,
    /// Messages with the NTLM signature whose fields point outside them (counted; their type
    /// is still listed).
    pub malformed: u64,
    /// Message types (`{code, name}`: 1 NTLMSSP_NEGOTIATE, 2 NTLMSSP_CHALLENGE,
    /// 3 NTLMSSP_AUTHENTICATE).
    pub msg_types: Facts<Code>,
    /// CHALLENGE TargetName: the server's domain (or its own name when it is no domain
    /// member).
    pub target_names: Facts<String>,
    /// CHALLENGE MsvAvDnsComputerName: the server's own DNS name.
    pub server_dns_names: Facts<String>,
    /// CHALLENGE MsvAvNbComputerName: the server's NetBIOS name.
    pub server_netbios_names: Facts<String>,
    /// CHALLENGE MsvAvDnsDomainName.
    pub dns_domains: Facts<String>,
    /// AUTHENTICATE `DOMAIN\user` (`user` when the domain is empty). An anonymous
    /// AUTHENTICATE (no user) gives none.
    pub users: Facts<String>,
    /// AUTHENTICATE messages with an empty UserName: anonymous logons (MS-NLMP 3.2.5.1.2, the
    /// "null session"), counted.
    pub anonymous: u64,
    /// Workstation of an AUTHENTICATE (or a NEGOTIATE that supplies one): the client's name.
    pub workstations: Facts<String>,
    /// MsvAvTargetName of an AUTHENTICATE's NTLMv2 response: the service principal the client
    /// meant (`cifs/ca1`, `ldap/dc1.example.com`).
    pub target_spns: Facts<String>,
    /// Version of a CHALLENGE ("major.minor.build", MS-NLMP 2.2.2.10): the server's OS.
    pub server_versions: Facts<String>,
    /// Version of a NEGOTIATE or AUTHENTICATE: the client's OS.
    pub client_versions: Facts<String>,
}

impl Merge for NtlmEvidence {
    fn merge(&mut self, o: Self) {
        self.messages += o.messages;
        self.malformed += o.malformed;
        self.msg_types.merge(o.msg_types);
        self.target_names.merge(o.target_names);
        self.server_dns_names.merge(o.server_dns_names);
        self.server_netbios_names.merge(o.server_netbios_names);
        self.dns_domains.merge(o.dns_domains);
        self.users.merge(o.users);
        self.anonymous += o.anonymous;
        self.workstations.merge(o.workstations);
        self.target_spns.merge(o.target_spns);
        self.server_versions.merge(o.server_versions);
        self.client_versions.merge(o.client_versions);
    }
}

/// The NTLM entry of `ev`, created empty when missing.
pub fn ntlm_of(ev: &mut Evidence) -> &mut NtlmEvidence {
    ev.ntlm.get_or_insert_with(Default::default)
}

/// A message type as a [`Code`] (the three types of MS-NLMP built once).
pub fn msg_type_code(t: MsgType) -> Cow<'static, Code> {
    static KNOWN: [OnceLock<Code>; 3] = [const { OnceLock::new() }; 3];
    let make = || Code::new(i64::from(t.0), t.name());
    match t.0.checked_sub(1).and_then(|i| KNOWN.get(i as usize)) {
        Some(cell) => Cow::Borrowed(cell.get_or_init(make)),
        None => Cow::Owned(make()),
    }
}

/// Adds `text` (decoded into `scratch`, cut to [`MAX_NAME_LEN`]) to `facts` unless it is
/// empty; a value the list holds already costs a look-up, no allocation.
fn add_text(facts: &mut Facts<String>, text: &Text<'_>, scratch: &mut String, at: FrameRef) {
    if text.is_empty() {
        return;
    }
    scratch.clear();
    text.write_to(scratch);
    add_str(facts, scratch, at);
}

/// Adds `s` (cut to [`MAX_NAME_LEN`]) to `facts`.
fn add_str(facts: &mut Facts<String>, s: &str, at: FrameRef) {
    if s.len() <= MAX_NAME_LEN {
        facts.add_ref(s, at);
    } else {
        facts.add(capped(s, MAX_NAME_LEN), at);
    }
}

impl NtlmEvidence {
    /// Records one message read at `at`.
    pub fn record(&mut self, m: &Message<'_>, at: FrameRef) {
        self.messages += 1;
        let Some(t) = m.msg_type else {
            return;
        };
        self.msg_types.add_ref(&*msg_type_code(t), at);
        let mut s = String::new();
        add_text(&mut self.target_names, &m.target_name, &mut s, at);
        add_text(&mut self.server_dns_names, &m.dns_computer_name, &mut s, at);
        add_text(
            &mut self.server_netbios_names,
            &m.nb_computer_name,
            &mut s,
            at,
        );
        add_text(&mut self.dns_domains, &m.dns_domain_name, &mut s, at);
        add_text(&mut self.workstations, &m.workstation, &mut s, at);
        add_text(&mut self.target_spns, &m.target_spn, &mut s, at);
        if t == MsgType::AUTHENTICATE && m.user.is_empty() {
            self.anonymous += 1;
        } else if t == MsgType::AUTHENTICATE {
            s.clear();
            if !m.domain.is_empty() {
                m.domain.write_to(&mut s);
                s.push('\\');
            }
            m.user.write_to(&mut s);
            add_str(&mut self.users, &s, at);
        }
        if let Some(v) = &m.version {
            let versions = if t == MsgType::CHALLENGE {
                &mut self.server_versions
            } else {
                &mut self.client_versions
            };
            s.clear();
            v.write_to(&mut s);
            versions.add_ref(s.as_str(), at);
        }
    }
}
