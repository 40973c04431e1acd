//! One-line summaries of a flow's evidence, for the table view. The full facts (with frames)
//! are in the JSON output.

use crate::evidence::Facts;
use crate::flow::Flow;

/// Most values listed per kind of fact in a summary; the rest are counted ("+3").
const MAX_LISTED: usize = 4;

fn list<T: Ord + Clone>(
    label: &str,
    facts: &Facts<T>,
    show: impl Fn(&T) -> String,
) -> Option<String> {
    if facts.is_empty() {
        return None;
    }
    let mut v: Vec<String> = facts
        .iter()
        .take(MAX_LISTED)
        .map(|f| show(f.value))
        .collect();
    if facts.len() > MAX_LISTED {
        v.push(format!("+{}", facts.len() - MAX_LISTED));
    }
    Some(format!("{label} {}", v.join(",")))
}

/// The interfaces of a DCE/RPC flow, with how a learned port was learned, then the other
/// protocols' key facts (a Kerberos ticket a client presented to the server as "ticket", and
/// the server's refusal of it as "krb-error", an NTLM logon as "ntlm" with its users and
/// "anonymous"), then notes.
pub fn evidence(f: &Flow) -> String {
    let e = &f.evidence;
    let mut parts: Vec<String> = Vec::new();
    if let Some(d) = &e.dcerpc {
        for i in d.interfaces.values().take(MAX_LISTED) {
            let how: Vec<String> = i
                .learned
                .iter()
                .filter(|l| l.value != "bind")
                .map(|l| l.value.clone())
                .collect();
            let mut s = i.name.clone();
            if !i.auth_level.is_empty() && i.auth_level != "none" {
                s.push_str(&format!(" [{}]", i.auth_level));
            }
            if !how.is_empty() {
                s.push_str(&format!(" ({})", how.join(", ")));
            }
            // Bound only to be refused (a bind_ack rejected the context) and never called.
            if i.opnums.is_empty() {
                let uuid = i.uuid.to_string();
                if d.rejected_contexts
                    .iter()
                    .any(|r| r.value.starts_with(&uuid))
                {
                    s.push_str(" rejected");
                }
            }
            parts.push(s);
        }
        if d.interfaces.len() > MAX_LISTED {
            parts.push(format!("+{} interfaces", d.interfaces.len() - MAX_LISTED));
        }
        let maps: Vec<String> = d
            .endpoint_maps
            .iter()
            .filter_map(|m| m.port.map(|p| format!("{}->{}", m.name, p)))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if !maps.is_empty() {
            parts.push(format!("maps {}", maps.join(",")));
        }
        parts.extend(list("ticket", &d.ticket_spns, |s| s.clone()));
        parts.extend(list("bind_nak", &d.bind_naks, |s| s.clone()));
    }
    // On a flow of another protocol, Kerberos came in its GSS-API tokens: the ticket is shown
    // with that protocol, and only a KRB-ERROR (the server refused it) after it.
    let carried = !matches!(f.proven_service, Some("kerberos") | None);
    if let Some(k) = e.kerberos.as_ref().filter(|_| !carried) {
        parts.extend(list("krb", &k.msg_types, |c| c.name.clone()));
        parts.extend(list("spn", &k.spns, |s| s.clone()));
        parts.extend(list("error", &k.errors, |c| c.name.clone()));
    }
    if let Some(k) = &e.kpasswd {
        parts.extend(list("kpasswd", &k.requests, |c| c.name.clone()));
    }
    if let Some(l) = &e.ldap {
        parts.extend(list("ldap", &l.operations, |s| s.clone()));
        parts.extend(list("bind", &l.binds, |s| s.clone()));
        parts.extend(list("ticket", &l.bind_krb_spns, |s| s.clone()));
        parts.extend(list("starttls", &l.starttls, |s| s.clone()));
        if l.sasl_buffers > 0 {
            parts.push(format!("{} sasl-wrapped", l.sasl_buffers));
        }
    }
    if let Some(t) = &e.tls {
        parts.extend(list("sni", &t.sni, |s| s.clone()));
        parts.extend(list("tls", &t.server_version, |s| s.clone()));
        parts.extend(list("cert", &t.cert_subject, |s| s.clone()));
    }
    if let Some(d) = &e.dns {
        parts.extend(list("dns", &d.queries, |q| {
            format!("{} {}", q.qtype, q.name)
        }));
        parts.extend(list("ticket", &d.ticket_spns, |s| s.clone()));
    }
    if let Some(s) = &e.smb {
        parts.extend(list("smb", &s.dialect, |d| d.to_string()));
        parts.extend(list("ticket", &s.ticket_spns, |t| t.clone()));
        parts.extend(list("pipes", &s.pipes, |p| p.clone()));
        if s.encrypted {
            parts.push("encrypted".into());
        }
    }
    if let Some(h) = &e.http {
        parts.extend(list("http", &h.requests, |r| {
            format!("{} {}{}", r.method, r.host, r.path)
        }));
        parts.extend(list("ticket", &h.ticket_spns, |s| s.clone()));
    }
    if let Some(k) = e.kerberos.as_ref().filter(|_| carried) {
        parts.extend(list("krb-error", &k.errors, |c| c.name.clone()));
    }
    // NTLM in the tokens: who logged on, and anonymous logons.
    if let Some(n) = &e.ntlm {
        let mut s = list("ntlm", &n.users, |u| u.clone()).unwrap_or_else(|| "ntlm".into());
        if n.anonymous > 0 {
            s.push_str(if n.users.is_empty() {
                " anonymous"
            } else {
                ",anonymous"
            });
        }
        parts.push(s);
    }
    for n in f.icmp.values().chain(e.notes.values()) {
        parts.push(n.clone());
    }
    parts.join("; ")
}
