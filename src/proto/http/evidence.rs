//! What HTTP/1.x content proved about a flow (RFC 9112).

use std::cmp::Ordering;

use serde::Serialize;

use crate::evidence::{Counts, Facts, Merge};

/// One request: method, Host header and request-target.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Request {
    /// Method token ("GET", "POST", "RPC_IN_DATA" ...).
    pub method: String,
    /// Host header ("" when absent).
    pub host: String,
    /// request-target as sent.
    pub path: String,
}

impl Request {
    /// How this request orders against the one of these fields, as the derived order of two
    /// requests would: the look-up of [`Facts::add_by`], with borrowed text.
    pub fn cmp_fields(&self, method: &str, host: &str, path: &str) -> Ordering {
        (&*self.method, &*self.host, &*self.path).cmp(&(method, host, path))
    }
}

impl PkiAccess {
    /// How this access orders against the one of these fields, as the derived order would.
    pub fn cmp_fields(&self, kind: &str, host: &str, path: &str) -> Ordering {
        (&*self.kind, &*self.host, &*self.path).cmp(&(kind, host, path))
    }
}

/// A request or response that concerns certificates.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PkiAccess {
    /// "crl", "aia", "ocsp", "mscep", "cep", "ces" or "certsrv" (see `parse::pki_kind`).
    pub kind: String,
    /// Host header of the request ("" when absent or unknown).
    pub host: String,
    /// request-target of the request ("" when the response's request was not seen).
    pub path: String,
}

/// What HTTP messages of a flow showed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HttpEvidence {
    /// Requests.
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub requests: Facts<Request>,
    /// Response status codes.
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub status: Facts<u16>,
    /// Media types of Content-Type (parameters dropped), of requests and responses.
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub content_types: Facts<String>,
    /// CRL / AIA / OCSP retrieval and AD CS web enrollment (certsrv, CEP, CES, SCEP).
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub pki: Facts<PkiAccess>,
    /// Service principals of the Kerberos tickets presented in `Authorization: Negotiate`
    /// headers (RFC 4559; the AP-REQ in the GSS-API token, [`crate::proto::krb::gss`]), e.g.
    /// "HTTP/ces.example.com".
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub ticket_spns: Facts<String>,
    /// Messages by kind: "request", "response", "upgrade" (101 or CONNECT tunnel: the rest of
    /// the connection is not HTTP), "midstream_start" (the capture began inside a message).
    #[serde(skip_serializing_if = "Counts::is_empty")]
    pub messages: Counts,
    /// Body bytes skipped (counted, not read).
    #[serde(skip_serializing_if = "crate::evidence::is_zero")]
    pub body_bytes: u64,
    /// Heads or chunk lines that could not be parsed, and resynchronisations.
    #[serde(skip_serializing_if = "crate::evidence::is_zero")]
    pub malformed: u64,
    /// Header fields after a head's first `parse::MAX_HEADERS`, not read (written when not 0).
    #[serde(skip_serializing_if = "crate::evidence::is_zero")]
    pub headers_dropped: u64,
    /// Requests forgotten unanswered because `state::MAX_PENDING` newer ones were waiting
    /// for their responses (the responses that follow pair with the newer ones).
    #[serde(skip_serializing_if = "crate::evidence::is_zero")]
    pub pending_dropped: u64,
}

impl Merge for HttpEvidence {
    fn merge(&mut self, o: Self) {
        self.requests.merge(o.requests);
        self.status.merge(o.status);
        self.content_types.merge(o.content_types);
        self.pki.merge(o.pki);
        self.ticket_spns.merge(o.ticket_spns);
        self.messages.merge(o.messages);
        self.body_bytes += o.body_bytes;
        self.malformed += o.malformed;
        self.headers_dropped += o.headers_dropped;
        self.pending_dropped += o.pending_dropped;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Over every pair, comparing by fields gives the derived order of the values.
    #[test]
    fn field_comparisons_order_as_values() {
        let fields = [
            ("GET", "a", "/"),
            ("GET", "a", "/x"),
            ("GET", "b", "/"),
            ("POST", "", "/"),
            ("GE", "z", "/"),
            ("GET", "", ""),
        ];
        let req = |(method, host, path): (&str, &str, &str)| Request {
            method: method.into(),
            host: host.into(),
            path: path.into(),
        };
        let pki = |(kind, host, path): (&str, &str, &str)| PkiAccess {
            kind: kind.into(),
            host: host.into(),
            path: path.into(),
        };
        for &x in &fields {
            for &(a, b, c) in &fields {
                let y = (a, b, c);
                assert_eq!(
                    req(x).cmp_fields(a, b, c),
                    req(x).cmp(&req(y)),
                    "{x:?} {y:?}"
                );
                assert_eq!(
                    pki(x).cmp_fields(a, b, c),
                    pki(x).cmp(&pki(y)),
                    "{x:?} {y:?}"
                );
            }
        }
    }
}
