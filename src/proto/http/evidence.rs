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

/// A value of three text fields (a [`Request`], a [`PkiAccess`]) seen as those fields, so a
/// [`Facts`] list of such values can be searched with borrowed text (`Facts::add_ref` with a
/// `&dyn Fields<T>`), allocating only for a value it does not hold yet. Compared as the
/// values' derived order compares: field by field, in declaration order.
pub trait Fields<T> {
    /// The three fields, in declaration order.
    fn fields(&self) -> (&str, &str, &str);
}

/// A value built from its three text fields (the owned form of a [`Fields`] key).
pub trait FromFields {
    /// The value of these fields.
    fn from_fields(f: (&str, &str, &str)) -> Self;
}

/// A [`Request`] as borrowed text: method, Host header and request-target.
pub type RequestKey<'a> = dyn Fields<Request> + 'a;

/// A [`PkiAccess`] as borrowed text: kind, host and path.
pub type PkiKey<'a> = dyn Fields<PkiAccess> + 'a;

impl<T> Fields<T> for (&str, &str, &str) {
    fn fields(&self) -> (&str, &str, &str) {
        *self
    }
}

impl Fields<Request> for Request {
    fn fields(&self) -> (&str, &str, &str) {
        (&self.method, &self.host, &self.path)
    }
}

impl FromFields for Request {
    fn from_fields((method, host, path): (&str, &str, &str)) -> Self {
        Request {
            method: method.to_string(),
            host: host.to_string(),
            path: path.to_string(),
        }
    }
}

impl<'a> Borrow<RequestKey<'a>> for Request {
    fn borrow(&self) -> &RequestKey<'a> {
        self
    }
}

impl Fields<PkiAccess> for PkiAccess {
    fn fields(&self) -> (&str, &str, &str) {
        (&self.kind, &self.host, &self.path)
    }
}

impl FromFields for PkiAccess {
    fn from_fields((kind, host, path): (&str, &str, &str)) -> Self {
        PkiAccess {
            kind: kind.to_string(),
            host: host.to_string(),
            path: path.to_string(),
        }
    }
}

impl<'a> Borrow<PkiKey<'a>> for PkiAccess {
    fn borrow(&self) -> &PkiKey<'a> {
        self
    }
}

impl<T> PartialEq for dyn Fields<T> + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.fields() == other.fields()
    }
}

impl<T> Eq for dyn Fields<T> + '_ {}

impl<T> PartialOrd for dyn Fields<T> + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for dyn Fields<T> + '_ {
    fn cmp(&self, other: &Self) -> Ordering {
        self.fields().cmp(&other.fields())
    }
}

impl<'a, T> ToOwned for dyn Fields<T> + 'a
where
    T: FromFields + Borrow<dyn Fields<T> + 'a>,
{
    type Owned = T;
    fn to_owned(&self) -> T {
        T::from_fields(self.fields())
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

    /// The values of `fields`: over every pair, borrowed keys compare as the values do, and
    /// a value's fields are the ones it was built from.
    fn keys_order_as_values<T>(fields: &[(&str, &str, &str)])
    where
        T: Fields<T> + FromFields + Ord + std::fmt::Debug + for<'a> Borrow<dyn Fields<T> + 'a>,
    {
        let all: Vec<T> = fields.iter().map(|&f| T::from_fields(f)).collect();
        for (x, f) in all.iter().zip(fields) {
            assert_eq!(x.fields(), *f);
            for y in &all {
                let (kx, ky): (&dyn Fields<T>, &dyn Fields<T>) = (x.borrow(), y.borrow());
                assert_eq!(kx.cmp(ky), x.cmp(y), "{x:?} {y:?}");
                assert_eq!(kx == ky, x == y);
                let borrowed: &dyn Fields<T> = f;
                assert_eq!(borrowed.cmp(ky), x.cmp(y), "{f:?} {y:?}");
            }
        }
    }

    #[test]
    fn request_key_orders_as_request() {
        let r = Request {
            method: "GET".into(),
            host: "a".into(),
            path: "/".into(),
        };
        let k: &RequestKey = &("GET", "a", "/");
        assert_eq!(k.to_owned(), r);
        keys_order_as_values::<Request>(&[
            ("GET", "a", "/"),
            ("GET", "a", "/x"),
            ("GET", "b", "/"),
            ("POST", "", "/"),
            ("GE", "z", "/"),
            ("GET", "", ""),
        ]);
    }

    #[test]
    fn pki_key_orders_as_pki_access() {
        let a = PkiAccess {
            kind: "crl".into(),
            host: "pki".into(),
            path: "/a.crl".into(),
        };
        let k: &PkiKey = &("crl", "pki", "/a.crl");
        assert_eq!(k.to_owned(), a);
        keys_order_as_values::<PkiAccess>(&[
            ("crl", "pki", "/a.crl"),
            ("crl", "pki", "/b.crl"),
            ("aia", "pki", "/a.crt"),
            ("ocsp", "", ""),
            ("crl", "", "/a.crl"),
        ]);
    }
}
