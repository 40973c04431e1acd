//! What TLS content proved about a flow (RFC 5246, RFC 8446).

use std::borrow::Cow;

use serde::Serialize;

use crate::evidence::{Counts, Facts, Merge};

/// A cipher suite chosen by a server: its IANA number and name (tls-parser's table).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct CipherSuite {
    /// The 16-bit IANA number.
    pub id: u16,
    /// The IANA name, or "unknown": a name of the table, so recording it allocates nothing.
    pub name: Cow<'static, str>,
}

/// What TLS handshakes of a flow showed. Facts carry the first frame that showed them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TlsEvidence {
    /// ClientHello server_name host names (RFC 6066 3).
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub sni: Facts<String>,
    /// ALPN protocols offered by clients (RFC 7301).
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub alpn: Facts<String>,
    /// ALPN protocols chosen by servers.
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub alpn_selected: Facts<String>,
    /// Versions offered by clients: legacy_version and every supported_versions entry
    /// (GREASE values left out), named "TLS 1.2" etc.
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub offered_versions: Facts<String>,
    /// Version chosen by servers (supported_versions for TLS 1.3, else legacy_version).
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub server_version: Facts<String>,
    /// Cipher suite chosen by servers.
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub cipher_suite: Facts<CipherSuite>,
    /// Subject of the server's end-entity certificate (TLS <= 1.2, where it is in clear).
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub cert_subject: Facts<String>,
    /// Issuer of the server's end-entity certificate.
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub cert_issuer: Facts<String>,
    /// subjectAltName entries of the server's end-entity certificate ("dns:host", "ip:addr" ...).
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub cert_san: Facts<String>,
    /// Subject of a client certificate (TLS <= 1.2 mutual authentication).
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub client_cert_subject: Facts<String>,
    /// Handshake messages read in clear, by name ("client_hello", "certificate" ...).
    #[serde(skip_serializing_if = "Counts::is_empty")]
    pub handshake: Counts,
    /// Records by content type ("handshake", "application_data" ...), and "midstream_start"
    /// when the capture began inside a record.
    #[serde(skip_serializing_if = "Counts::is_empty")]
    pub records: Counts,
    /// Records after ChangeCipherSpec (or after a TLS 1.3 ServerHello), counted, not parsed.
    #[serde(skip_serializing_if = "crate::evidence::is_zero")]
    pub encrypted_records: u64,
    /// Payload bytes of those records.
    #[serde(skip_serializing_if = "crate::evidence::is_zero")]
    pub encrypted_bytes: u64,
    /// Records or handshake messages that could not be parsed, and resynchronisations.
    #[serde(skip_serializing_if = "crate::evidence::is_zero")]
    pub malformed: u64,
}

impl TlsEvidence {
    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.sni.is_empty()
            && self.alpn.is_empty()
            && self.alpn_selected.is_empty()
            && self.offered_versions.is_empty()
            && self.server_version.is_empty()
            && self.cipher_suite.is_empty()
            && self.cert_subject.is_empty()
            && self.cert_issuer.is_empty()
            && self.cert_san.is_empty()
            && self.client_cert_subject.is_empty()
            && self.handshake.is_empty()
            && self.records.is_empty()
            && self.encrypted_records == 0
            && self.encrypted_bytes == 0
            && self.malformed == 0
    }
}

impl Merge for TlsEvidence {
    fn merge(&mut self, o: Self) {
        self.sni.merge(o.sni);
        self.alpn.merge(o.alpn);
        self.alpn_selected.merge(o.alpn_selected);
        self.offered_versions.merge(o.offered_versions);
        self.server_version.merge(o.server_version);
        self.cipher_suite.merge(o.cipher_suite);
        self.cert_subject.merge(o.cert_subject);
        self.cert_issuer.merge(o.cert_issuer);
        self.cert_san.merge(o.cert_san);
        self.client_cert_subject.merge(o.client_cert_subject);
        self.handshake.merge(o.handshake);
        self.records.merge(o.records);
        self.encrypted_records += o.encrypted_records;
        self.encrypted_bytes += o.encrypted_bytes;
        self.malformed += o.malformed;
    }
}
