//! What Kerberos (RFC 4120) and kpasswd (RFC 3244) content proved about one flow.

use std::borrow::Cow;
use std::sync::OnceLock;

use serde::Serialize;

use crate::evidence::{Evidence, Facts, FrameRef, Merge};

use super::gss;
use super::parse::{self, KrbMessage, MsgType};

/// A protocol number with its name ("unknown" when certflow has no name for it): message types,
/// error codes, encryption types, padata types.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Code {
    /// The number as on the wire.
    pub code: i64,
    /// Its name from the RFC / IANA registry, or "unknown".
    pub name: String,
}

impl Code {
    /// A number and its name.
    pub fn new(code: i64, name: impl Into<String>) -> Self {
        Code {
            code,
            name: name.into(),
        }
    }
}

/// Kerberos facts of one flow. JSON field names are stable.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KrbEvidence {
    /// Messages read (top level: one per UDP datagram or TCP record): whole, or in part when the
    /// capture cut them short. On a flow of another protocol: the messages its GSS-API tokens
    /// carried ([`record_token`]).
    pub messages: u64,
    /// Messages that did not parse (counted, skipped).
    pub malformed: u64,
    /// Top-level message types (`{code, name}`, e.g. 12 "TGS-REQ"), also of messages whose
    /// envelope (APPLICATION tag, SEQUENCE, pvno 5) is Kerberos but whose body did not decode.
    pub msg_types: Facts<Code>,
    /// KRB-ERROR error codes with names (e.g. 25 "KDC_ERR_PREAUTH_REQUIRED").
    pub errors: Facts<Code>,
    /// Realms named anywhere in the messages.
    pub realms: Facts<String>,
    /// Client principals `cname@realm`.
    pub client_principals: Facts<String>,
    /// Requested service principals (`sname` of AS-REQ/TGS-REQ bodies, e.g. "HOST/ca1",
    /// "krbtgt/REALM").
    pub spns: Facts<String>,
    /// Service principals of tickets carried (replies, AP-REQ, the TGT in a TGS-REQ) and of
    /// KRB-ERRORs.
    pub ticket_spns: Facts<String>,
    /// Encryption types offered by clients (KDC-REQ-BODY `etype`).
    pub etypes_requested: Facts<Code>,
    /// Encryption types of reply enc-parts (the session key's type chosen by the KDC).
    pub etypes_used: Facts<Code>,
    /// Encryption types of tickets (the service key's type: 23 rc4-hmac is what Kerberoasting
    /// wants).
    pub ticket_etypes: Facts<Code>,
    /// Pre-authentication data types in requests (not the hint lists of KRB-ERROR e-data).
    pub padata_types: Facts<Code>,
    /// True if a request carried PA-PK-AS-REQ (PKINIT, RFC 4556); the frame is in
    /// `padata_types` (code 16).
    pub pkinit: bool,
}

impl Merge for KrbEvidence {
    fn merge(&mut self, o: Self) {
        self.messages += o.messages;
        self.malformed += o.malformed;
        self.msg_types.merge(o.msg_types);
        self.errors.merge(o.errors);
        self.realms.merge(o.realms);
        self.client_principals.merge(o.client_principals);
        self.spns.merge(o.spns);
        self.ticket_spns.merge(o.ticket_spns);
        self.etypes_requested.merge(o.etypes_requested);
        self.etypes_used.merge(o.etypes_used);
        self.ticket_etypes.merge(o.ticket_etypes);
        self.padata_types.merge(o.padata_types);
        self.pkinit |= o.pkinit;
    }
}

/// The distinct values of a short per-message list, in first-seen order.
fn unique<T: PartialEq>(v: &[T]) -> impl Iterator<Item = &T> {
    v.iter()
        .enumerate()
        .filter(move |(i, x)| !v[..*i].contains(x))
        .map(|(_, x)| x)
}

/// The [`Code`]s of one numbering (message types, error codes ...) for the numbers `lo..`, each
/// named on first use: recording a code seen before then neither formats nor allocates a name.
/// (Filled lazily: a run that sees three etypes names three, not the whole range.)
struct CodeTable<const N: usize>([OnceLock<Code>; N]);

impl<const N: usize> CodeTable<N> {
    const fn new() -> Self {
        CodeTable([const { OnceLock::new() }; N])
    }

    /// The code `c` with its name: from the table when `lo <= c < lo + N`, else named now.
    fn get(&'static self, lo: i64, name: fn(i64) -> String, c: i64) -> Cow<'static, Code> {
        let slot = c
            .checked_sub(lo)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.0.get(i));
        match slot {
            Some(cell) => Cow::Borrowed(cell.get_or_init(|| Code::new(c, name(c)))),
            None => Cow::Owned(Code::new(c, name(c))),
        }
    }
}

// Table ranges cover every number kerberos-parser 0.9 and this module name (the tables of
// RFC 4120 7.5, RFC 3961 8 and the IANA registries); numbers outside are named on each use, with
// the same result.

/// A message type as a [`Code`] (`{code, name}`).
pub fn msg_type_code(t: MsgType) -> Cow<'static, Code> {
    static T: CodeTable<32> = CodeTable::new();
    let name = |c: i64| match u32::try_from(c) {
        Ok(c) => MsgType(c).name().to_string(),
        Err(_) => "unknown".to_string(),
    };
    T.get(0, name, i64::from(t.0))
}

/// An encryption type as a [`Code`].
pub fn etype_code(e: i32) -> Cow<'static, Code> {
    static T: CodeTable<261> = CodeTable::new();
    T.get(-160, |c| parse::etype_name(c as i32), i64::from(e))
}

/// A KRB-ERROR error code as a [`Code`].
pub fn error_code(e: i32) -> Cow<'static, Code> {
    static T: CodeTable<128> = CodeTable::new();
    T.get(0, |c| parse::error_name(c as i32), i64::from(e))
}

/// A pre-authentication data type as a [`Code`].
pub fn padata_code(p: i32) -> Cow<'static, Code> {
    static T: CodeTable<256> = CodeTable::new();
    T.get(
        0,
        |c| parse::padata_name(c as i32).to_string(),
        i64::from(p),
    )
}

/// Records in `ev` the Kerberos message `c` that a GSS-API token of another protocol carried
/// at `at` ([`gss::read`]), as a KDC's messages are recorded ([`KrbEvidence::record`]: its
/// type, a KRB-ERROR's code and names, the ticket's service principal, realm and etype ...);
/// returns the ticket service principal of an AP-REQ, which the carrier also keeps in its own
/// list (`ticket_spns`, LDAP's `bind_krb_spns`). Carriers call it through
/// [`crate::proto::auth::record_token`].
pub fn record_carried(ev: &mut Evidence, c: &gss::Carried<'_>, at: FrameRef) -> Option<String> {
    let k = krb_of(ev);
    match &c.message {
        Some(m) => k.record(m, at),
        None => {
            k.messages += 1;
            k.record_type_only(c.msg_type, at);
        }
    }
    c.ticket_sname()
}

/// The Kerberos entry of `ev`, created empty when missing. Only called to write something (a
/// message or a malformed count): a connection that showed nothing gives its flow no Kerberos
/// entry.
pub fn krb_of(ev: &mut Evidence) -> &mut KrbEvidence {
    ev.kerberos.get_or_insert_with(Default::default)
}

impl KrbEvidence {
    /// Records one parsed message seen at `at`.
    pub fn record(&mut self, m: &KrbMessage<'_>, at: FrameRef) {
        self.messages += 1;
        if let Some(t) = m.msg_type {
            self.msg_types.add_ref(&*msg_type_code(t), at);
        }
        self.record_names(m, at);
        let is_request = matches!(m.msg_type, Some(MsgType::AS_REQ) | Some(MsgType::TGS_REQ));
        for &e in unique(&m.etypes_requested) {
            self.etypes_requested.add_ref(&*etype_code(e), at);
        }
        if let Some(e) = m.enc_part_etype {
            self.etypes_used.add_ref(&*etype_code(e), at);
        }
        for &e in unique(&m.ticket_etypes) {
            self.ticket_etypes.add_ref(&*etype_code(e), at);
        }
        if is_request {
            for &p in unique(&m.padata_types) {
                self.padata_types.add_ref(&*padata_code(p), at);
            }
        }
        if m.is_pkinit_request() {
            self.pkinit = true;
        }
        if let Some(c) = m.error_code {
            self.errors.add_ref(&*error_code(c), at);
        }
    }

    /// Records the type of a message whose body did not decode (counted in `malformed` too).
    pub fn record_type_only(&mut self, t: MsgType, at: FrameRef) {
        self.msg_types.add_ref(&*msg_type_code(t), at);
    }

    /// Records realms and principals only (used for the AP-REQ inside kpasswd as well).
    fn record_names(&mut self, m: &KrbMessage<'_>, at: FrameRef) {
        // Counts are per message: a realm named three times in one message counts once.
        for r in unique(&m.realms) {
            self.realms.add_ref(&**r, at);
        }
        if let Some(c) = &m.client {
            self.client_principals.add_ref(c.as_str(), at);
        }
        // A PrincipalName of no components (Samba's KDC puts one in some KRB-ERRORs; tshark:
        // "sname-string: 0 items") names nothing and is left out.
        if let Some(s) = m.sname.as_ref().filter(|s| !s.is_empty()) {
            self.spns.add_ref(&**s, at);
        }
        // Ticket snames, then the error's sname, each distinct value once.
        let all = || {
            m.ticket_snames
                .iter()
                .chain(m.error_sname.iter())
                .filter(|s| !s.is_empty())
        };
        for (i, s) in all().enumerate() {
            if !all().take(i).any(|p| p == s) {
                self.ticket_spns.add_ref(&**s, at);
            }
        }
    }
}

/// kpasswd (RFC 3244) facts of one flow: the password-change exchange and its visible outcome.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KpasswdEvidence {
    /// Requests seen, by protocol version (`{code, name}`: 1 "change-password", 65408
    /// "set-password").
    pub requests: Facts<Code>,
    /// Replies seen: "ap-rep+krb-priv" (the result code is inside the encrypted KRB-PRIV) or
    /// "krb-error".
    pub replies: Facts<String>,
    /// KRB-ERROR codes of error replies.
    pub errors: Facts<Code>,
    /// kpasswd result codes readable in the e-data of error replies (RFC 3244 2).
    pub result_codes: Facts<Code>,
    /// Realms of the tickets presented and of errors.
    pub realms: Facts<String>,
    /// Service principals of the tickets presented (normally "kadmin/changepw").
    pub ticket_spns: Facts<String>,
    /// Messages that did not parse.
    pub malformed: u64,
}

impl Merge for KpasswdEvidence {
    fn merge(&mut self, o: Self) {
        self.requests.merge(o.requests);
        self.replies.merge(o.replies);
        self.errors.merge(o.errors);
        self.result_codes.merge(o.result_codes);
        self.realms.merge(o.realms);
        self.ticket_spns.merge(o.ticket_spns);
        self.malformed += o.malformed;
    }
}

impl KpasswdEvidence {
    /// Records one parsed kpasswd message seen at `at`.
    pub fn record(&mut self, m: &parse::KpasswdMessage<'_>, at: FrameRef) {
        match m {
            parse::KpasswdMessage::Request { version, ap_req } => {
                self.requests.add(
                    Code::new(i64::from(*version), parse::kpasswd_version_name(*version)),
                    at,
                );
                self.add_names(ap_req, at);
            }
            parse::KpasswdMessage::Reply { .. } => {
                self.replies.add_ref("ap-rep+krb-priv", at);
            }
            parse::KpasswdMessage::Error { error } => {
                self.replies.add_ref("krb-error", at);
                if let Some(c) = error.error_code {
                    self.errors.add_ref(&*error_code(c), at);
                }
                if let Some(rc) = error.e_data.and_then(parse::kpasswd_result_code) {
                    self.result_codes
                        .add(Code::new(i64::from(rc), parse::kpasswd_result_name(rc)), at);
                }
                self.add_names(error, at);
            }
        }
    }

    fn add_names(&mut self, m: &KrbMessage<'_>, at: FrameRef) {
        for r in unique(&m.realms) {
            self.realms.add_ref(&**r, at);
        }
        for s in unique(&m.ticket_snames) {
            self.ticket_spns.add_ref(&**s, at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_tables_name_like_the_parser() {
        // In the tables, at their edges and outside them: the same numbers and names as naming
        // each code on its own (kerberos-parser's spelling for etypes and errors).
        for c in -400..=400i32 {
            let e = etype_code(c);
            assert_eq!(*e, Code::new(i64::from(c), parse::etype_name(c)));
            let r = error_code(c);
            assert_eq!(*r, Code::new(i64::from(c), parse::error_name(c)));
            let p = padata_code(c);
            assert_eq!(*p, Code::new(i64::from(c), parse::padata_name(c)));
        }
        for t in 0..=64u32 {
            assert_eq!(
                *msg_type_code(MsgType(t)),
                Code::new(i64::from(t), MsgType(t).name())
            );
        }
        for c in [i32::MIN, i32::MAX] {
            assert_eq!(etype_code(c).name, "unknown");
            assert_eq!(error_code(c).name, "unknown");
        }
        assert_eq!(etype_code(23).name, "rc4-hmac");
        assert_eq!(etype_code(-128).name, "rc4-md4");
        assert_eq!(error_code(25).name, "KDC_ERR_PREAUTH_REQUIRED");
        assert_eq!(padata_code(16).name, "PA-PK-AS-REQ");
        assert!(matches!(etype_code(18), Cow::Borrowed(_)));
        assert!(matches!(etype_code(1000), Cow::Owned(_)));
    }
}
