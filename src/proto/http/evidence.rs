//! What HTTP/1.x content proved about a flow (RFC 9112).

use std::borrow::Borrow;
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

/// A request seen as its fields (method, host, path), so a [`Facts`] list of requests can be
/// searched with borrowed text (`Facts::add_ref` with `&dyn RequestKey`), allocating only for a
/// request it does not hold yet. Compared as [`Request`]'s derived order compares.
pub trait RequestKey {
    /// Method, Host header and request-target.
    fn fields(&self) -> (&str, &str, &str);
}

impl RequestKey for Request {
    fn fields(&self) -> (&str, &str, &str) {
        (&self.method, &self.host, &self.path)
    }
}

impl RequestKey for (&str, &str, &str) {
    fn fields(&self) -> (&str, &str, &str) {
        *self
    }
}

impl<'a> Borrow<dyn RequestKey + 'a> for Request {
    fn borrow(&self) -> &(dyn RequestKey + 'a) {
        self
    }
}

impl PartialEq for dyn RequestKey + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.fields() == other.fields()
    }
}

impl Eq for dyn RequestKey + '_ {}

impl PartialOrd for dyn RequestKey + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for dyn RequestKey + '_ {
    fn cmp(&self, other: &Self) -> Ordering {
        self.fields().cmp(&other.fields())
    }
}

impl ToOwned for dyn RequestKey + '_ {
    type Owned = Request;
    fn to_owned(&self) -> Request {
        let (method, host, path) = self.fields();
        Request {
            method: method.to_string(),
            host: host.to_string(),
            path: path.to_string(),
        }
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
    /// Messages by kind: "request", "response", "upgrade" (101 or CONNECT tunnel: the rest of
    /// the connection is not HTTP), "midstream_start" (the capture began inside a message).
    #[serde(skip_serializing_if = "Counts::is_empty")]
    pub messages: Counts,
    /// Body bytes skipped (counted, not read).
    #[serde(skip_serializing_if = "is_zero")]
    pub body_bytes: u64,
    /// Heads or chunk lines that could not be parsed, and resynchronisations.
    #[serde(skip_serializing_if = "is_zero")]
    pub malformed: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Merge for HttpEvidence {
    fn merge(&mut self, o: Self) {
        self.requests.merge(o.requests);
        self.status.merge(o.status);
        self.content_types.merge(o.content_types);
        self.pki.merge(o.pki);
        self.messages.merge(o.messages);
        self.body_bytes += o.body_bytes;
        self.malformed += o.malformed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_key_orders_as_request() {
        let r = |m: &str, h: &str, p: &str| Request {
            method: m.into(),
            host: h.into(),
            path: p.into(),
        };
        let all = [
            r("GET", "a", "/"),
            r("GET", "a", "/x"),
            r("GET", "b", "/"),
            r("POST", "", "/"),
            r("GE", "z", "/"),
            r("GET", "", ""),
        ];
        for x in &all {
            for y in &all {
                let (kx, ky): (&dyn RequestKey, &dyn RequestKey) = (x, y);
                assert_eq!(kx.cmp(ky), x.cmp(y), "{x:?} {y:?}");
                assert_eq!(kx == ky, x == y);
            }
            let (m, h, p) = x.fields();
            let k: &dyn RequestKey = &(m, h, p);
            assert_eq!(&k.to_owned(), x);
        }
    }
}
