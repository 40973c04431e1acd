//! TLS (RFC 5246, RFC 8446) on any port: ClientHello server name, ALPN and offered versions,
//! ServerHello version and cipher suite, and (TLS <= 1.2) the server certificate's subject and
//! subject alternative names. Records after ChangeCipherSpec, and everything after a TLS 1.3
//! ServerHello, are counted, not parsed.
//!
//! Layers: [`parse`] (records, handshake messages; pure), [`state`] (the per-connection
//! [`TlsAnalyzer`]), [`evidence`] ([`TlsEvidence`]).

pub mod evidence;
pub mod parse;
pub mod state;

pub use evidence::{CipherSuite, TlsEvidence};
pub use state::{TlsAnalyzer, RECORDS_PROVING_TLS};

use crate::proto::{Analyzer, Dissector, Transport};

/// True when `data` starts with a TLS handshake record (RFC 5246 6.2.1) carrying a ClientHello
/// or ServerHello (RFC 5246 7.4): type 22, version 3.0-3.4, a sane length, and a handshake type
/// of 1 or 2 in the sixth byte.
pub fn probe(t: Transport, data: &[u8]) -> bool {
    if t != Transport::Tcp {
        return false;
    }
    match (
        parse::record_header(data),
        data.get(parse::RECORD_HEADER_LEN),
    ) {
        (Ok(h), Some(&ht)) if h.content_type == parse::ContentType::HANDSHAKE => {
            h.len >= parse::HANDSHAKE_HEADER_LEN && (ht == 1 || ht == 2)
        }
        _ => whole_records(data),
    }
}

/// True when `data` is one or more whole records and nothing else: a change_cipher_spec,
/// alert or application_data record (RFC 8446 5.1) whose length ends exactly where the
/// payload, or the next such record, ends. That is how a connection the capture joined after
/// its handshake shows TLS (Wireshark takes it too). A record header's five bytes alone are a
/// weak signature for a first payload; a chain of lengths landing on the payload's end is not.
fn whole_records(data: &[u8]) -> bool {
    let mut rest = data;
    while !rest.is_empty() {
        let Ok(h) = parse::record_header(rest) else {
            return false;
        };
        let whole = parse::RECORD_HEADER_LEN + h.len;
        if !(20..=23).contains(&h.content_type.0) || h.len == 0 || whole > rest.len() {
            return false;
        }
        rest = &rest[whole..];
    }
    !data.is_empty()
}

fn new(_t: Transport, server_port: u16) -> Box<dyn Analyzer> {
    Box::new(TlsAnalyzer::new(server_port))
}

/// The TLS dissector.
pub const DISSECTOR: Dissector = Dissector {
    name: "tls",
    probe,
    new,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Evidence;
    use crate::proto::testutil::{
        conn, ctx, feed_tcp, finish, frames, hex, packets, run_tcp, tcp_conn, values, TcpFeeder,
    };
    use crate::proto::{Analyzer, Ctx, Dir};

    /// SYNTHETIC_http_certsrv_cep_ces_mscep_urls.pcap frame 456 (tcp 56006 -> 443): one record
    /// holding a ClientHello with SNI certs.example.com, ciphers 0x1301,0x1302.
    const CLIENT_HELLO_456: &str = "160301004b0100004703030000000000000000000000000000000000000000000000000000000000000000000004130113020100001a00000016001400001163657274732e6578616d706c652e636f6d";

    /// Same capture, frame 457 (443 -> 56006): one record holding ServerHello (0x0303,
    /// TLS_AES_128_GCM_SHA256) and Certificate (CN=certs.example.com, SAN *.example.com).
    const SERVER_HELLO_CERT_457: &str = "160303025a02000046030300000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000000001301000b00020c000209000206308202023082016aa00302010202023039300d06092a864886f70d01010b0500302e3110300e06035504030c0754657374204341311a3018060355040a0c1154657374204f7267616e697a6174696f6e301e170d3235303130313030303030305a170d3236303130313030303030305a304a311a301806035504030c1163657274732e6578616d706c652e636f6d31143012060355040a0c0b4578616d706c6520496e6331163014060355040b0c0d4954204465706172746d656e7430820094300d06092a864886f70d010101050003820081000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000a31c301a30180603551d110411300f820d2a2e6578616d706c652e636f6d300d06092a864886f70d01010b050003820081000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";

    /// captures/lab_enroll_https_cep_ces_only.pcapng frame 58 (curl -> ces:443): one record
    /// holding a ClientHello, 517 bytes, SNI ces.certflow.lab, ALPN h2,http/1.1, supported
    /// versions 0x0304..0x0301 (tshark `tls.handshake.extensions_server_name`,
    /// `extensions_alpn_str`, `extensions.supported_version`). Cut with
    /// `tshark -r F -Y frame.number==58 -T fields -e tcp.payload`.
    const CES_F58_CLIENT_HELLO: &str = include_str!("testdata/ces_f58_client_hello.hex");

    /// Every prefix of a real ClientHello read as one a snap length cut: the version once its
    /// two bytes are there, then each extension's facts exactly from the prefix that holds the
    /// extension whole, the same as the whole message gives; never a panic.
    #[test]
    fn cut_client_hello_gives_the_extensions_whole_before_the_cut() {
        let rec = hex(CES_F58_CLIENT_HELLO);
        let msg = &rec[5..];
        let Ok(parse::Handshake::ClientHello(whole)) = parse::handshake(msg) else {
            panic!("not a ClientHello")
        };
        assert_eq!(whole.sni, vec!["ces.certflow.lab"]);
        assert_eq!(whole.alpn, vec!["h2", "http/1.1"]);
        let (mut sni_from, mut alpn_from, mut versions_from) = (None, None, None);
        for n in 0..=msg.len() {
            let Some(ch) = parse::client_hello_cut(&msg[..n]) else {
                assert!(n < 6, "prefix {n}");
                continue;
            };
            assert_eq!(ch.legacy_version, 0x0303);
            for (got, want, from) in [
                (ch.sni, &whole.sni, &mut sni_from),
                (ch.alpn, &whole.alpn, &mut alpn_from),
            ] {
                if got.is_empty() {
                    assert!(from.is_none(), "prefix {n} lost what a shorter one had");
                } else {
                    assert_eq!(&got, want, "prefix {n}");
                    from.get_or_insert(n);
                }
            }
            if !ch.supported_versions.is_empty() {
                assert_eq!(
                    ch.supported_versions, whole.supported_versions,
                    "prefix {n}"
                );
                versions_from.get_or_insert(n);
            }
        }
        // Each is read from the prefix that ends with its extension, in the message's order.
        let (sni, alpn, versions) = (
            sni_from.unwrap(),
            alpn_from.unwrap(),
            versions_from.unwrap(),
        );
        assert!(sni < alpn && alpn < versions, "{sni} {alpn} {versions}");
        assert_eq!(
            parse::client_hello_cut(&msg[..sni - 1]).unwrap().sni.len(),
            0
        );
    }

    /// captures/lab_tls_variants.pcapng, client port 48166 (OpenSSL 3.0 s_client -groups
    /// X25519:P-256 -> s_server -groups P-256): ClientHello 30, HelloRetryRequest and the
    /// middlebox-compatibility change_cipher_spec 32, change_cipher_spec and the second
    /// ClientHello 34, ServerHello 35 (tshark: both ServerHellos supported_version 0x0304). Those
    /// change_cipher_spec records start no encryption (RFC 8446 5, D.4): both ClientHellos and
    /// both ServerHellos are read, the version dated at the HelloRetryRequest, as tshark does.
    #[test]
    fn tls13_hello_retry_with_compatibility_change_cipher_spec() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("captures/lab_tls_variants.pcapng");
        let segs = conn(
            &crate::proto::testutil::packets_at(&path),
            Transport::Tcp,
            48166,
            4433,
        );
        let mut a = TlsAnalyzer::new(4433);
        let ev = run_tcp(&mut a, &segs, 4433).tls.unwrap();
        assert_eq!(ev.handshake.get("client_hello"), 2);
        assert_eq!(ev.handshake.get("server_hello"), 2);
        assert_eq!(values(&ev.sni), vec!["ces.certflow.lab"]);
        assert_eq!(
            frames(&ev.server_version),
            vec![("TLS 1.3".to_string(), 32)]
        );
        assert_eq!(ev.malformed, 0);
    }

    #[test]
    fn probe_accepts_hellos_only() {
        assert!(probe(Transport::Tcp, &hex(CLIENT_HELLO_456)));
        assert!(probe(Transport::Tcp, &hex(SERVER_HELLO_CERT_457)));
        assert!(!probe(Transport::Udp, &hex(CLIENT_HELLO_456)));
        assert!(!probe(Transport::Tcp, b"GET / HTTP/1.1\r\n"));
        // An LDAP bindRequest (BER SEQUENCE) and an SMB2 negotiate over NetBIOS.
        assert!(!probe(Transport::Tcp, &[0x30, 0x84, 0, 0, 0, 0x10, 2, 1]));
        assert!(!probe(
            Transport::Tcp,
            &[0, 0, 0, 0x66, 0xfe, b'S', b'M', b'B']
        ));
        assert!(!probe(Transport::Tcp, &[0x16, 3, 1]));
        // Application data, as a connection joined after its handshake shows it: claimed
        // when the payload is whole records and nothing else (one, or two back to back).
        assert!(probe(Transport::Tcp, &[0x17, 3, 3, 0, 5, 1, 2, 3, 4, 5]));
        assert!(probe(
            Transport::Tcp,
            &[0x17, 3, 3, 0, 1, 9, 0x15, 3, 3, 0, 2, 1, 0]
        ));
        // A record header alone, a record cut short, a record with bytes after it, an empty
        // record, a heartbeat, a version TLS never used: not claimed.
        assert!(!probe(Transport::Tcp, &[0x17, 3, 3, 0, 5]));
        assert!(!probe(Transport::Tcp, &[0x17, 3, 3, 0, 5, 1, 2, 3, 4]));
        assert!(!probe(Transport::Tcp, &[0x17, 3, 3, 0, 1, 9, 0]));
        assert!(!probe(Transport::Tcp, &[0x17, 3, 3, 0, 0]));
        assert!(!probe(Transport::Tcp, &[0x18, 3, 3, 0, 1, 1]));
        assert!(!probe(Transport::Tcp, &[0x17, 3, 9, 0, 1, 1]));
        // The first application_data record of epm_tsch_tls_schtask_create.pcapng (frame 1,
        // TCP 3389, captured after the RDP connection's handshake): 43 bytes, one record.
        let rdp = hex("1703030026aa35e67820b1318b3d7ddfc77cde7abda33604c44beba1fd3a819cfc098c4ca691b699cb1bd0");
        assert_eq!(rdp.len(), 43);
        assert!(probe(Transport::Tcp, &rdp));
    }

    /// Feeds the two embedded records, `step` bytes at a time, keeping the unconsumed rest.
    fn run_embedded(step: usize) -> TlsEvidence {
        let mut a = TlsAnalyzer::new(443);
        let mut f = TcpFeeder::new(443);
        for (frame, dir, h) in [
            (456, Dir::ToServer, CLIENT_HELLO_456),
            (457, Dir::ToClient, SERVER_HELLO_CERT_457),
        ] {
            for chunk in hex(h).chunks(step) {
                f.bytes(&mut a, frame, dir, chunk);
            }
        }
        assert_eq!(f.pending(), (0, 0));
        assert_eq!(a.service(), Some("https"));
        *f.finish(&mut a).tls.expect("tls evidence")
    }

    #[test]
    fn embedded_hello_and_certificate_match_tshark() {
        for step in [1, 7, 1000] {
            let ev = run_embedded(step);
            // tshark: tls.handshake.extensions_server_name = certs.example.com (frame 456)
            assert_eq!(values(&ev.sni), vec!["certs.example.com"]);
            assert_eq!(
                ev.sni
                    .first_frame(&"certs.example.com".into())
                    .unwrap()
                    .frame,
                456
            );
            // tshark: tls.handshake.version 0x0303 in both hellos, cipher 0x1301 in 457.
            assert_eq!(values(&ev.offered_versions), vec!["TLS 1.2"]);
            assert_eq!(values(&ev.server_version), vec!["TLS 1.2"]);
            let c: Vec<_> = ev.cipher_suite.iter().map(|f| f.value.clone()).collect();
            assert_eq!(
                c,
                vec![CipherSuite {
                    id: 0x1301,
                    name: "TLS_AES_128_GCM_SHA256".into()
                }]
            );
            // tshark: x509sat CN certs.example.com, O Example Inc, OU IT Department; issuer
            // Test CA / Test Organization; x509ce.dNSName *.example.com.
            assert_eq!(
                values(&ev.cert_subject),
                vec!["CN=certs.example.com, O=Example Inc, OU=IT Department"]
            );
            assert_eq!(
                values(&ev.cert_issuer),
                vec!["CN=Test CA, O=Test Organization"]
            );
            assert_eq!(values(&ev.cert_san), vec!["dns:*.example.com"]);
            assert_eq!(ev.handshake.get("client_hello"), 1);
            assert_eq!(ev.handshake.get("server_hello"), 1);
            assert_eq!(ev.handshake.get("certificate"), 1);
            assert_eq!(ev.malformed, 0);
        }
    }

    /// The fragment of the one record of SERVER_HELLO_CERT_457 (ServerHello + Certificate)
    /// re-cut into records of `sizes` bytes (the rest in a last record), as one TCP stream.
    fn recut_457(sizes: &[usize]) -> Vec<u8> {
        let rec = hex(SERVER_HELLO_CERT_457);
        let mut frag = &rec[5..];
        let mut out = Vec::new();
        for &n in sizes.iter().chain([usize::MAX].iter()) {
            let (a, b) = frag.split_at(n.min(frag.len()));
            out.extend([0x16, 0x03, 0x03]);
            out.extend((a.len() as u16).to_be_bytes());
            out.extend(a);
            frag = b;
            if frag.is_empty() {
                break;
            }
        }
        out
    }

    #[test]
    fn handshake_messages_across_records_decode_alike() {
        let mut sink = Evidence::default();
        // SERVER_HELLO_CERT_457's two handshake messages (ServerHello 74 bytes, Certificate 528)
        // in one record, then cut inside the ServerHello header, at the message boundary, inside
        // the Certificate and one byte per record: the same facts each time (tshark frame 457:
        // cipher 0x1301, CN certs.example.com, SAN *.example.com).
        let c = ctx(457, Dir::ToClient, Transport::Tcp, 443);
        for sizes in [
            &[][..],
            &[2],
            &[74],
            &[74, 100, 300],
            &[80, 5, 1, 1],
            &[1; 700],
        ] {
            let data = recut_457(sizes);
            let mut a = TlsAnalyzer::new(443);
            assert_eq!(a.stream(&c, &data, &mut sink), data.len(), "{sizes:?}");
            let ev = finish(&mut a, std::mem::take(&mut sink)).tls.unwrap();
            assert_eq!(ev.handshake.get("server_hello"), 1, "{sizes:?}");
            assert_eq!(ev.handshake.get("certificate"), 1, "{sizes:?}");
            assert_eq!(
                ev.cipher_suite.iter().next().map(|f| f.value.id),
                Some(0x1301)
            );
            assert_eq!(
                values(&ev.cert_subject),
                vec!["CN=certs.example.com, O=Example Inc, OU=IT Department"]
            );
            assert_eq!(values(&ev.cert_san), vec!["dns:*.example.com"]);
            assert_eq!(ev.malformed, 0);
            assert_eq!(
                ev.records.get("handshake") as usize,
                if sizes.len() == 700 {
                    602
                } else {
                    sizes.len() + 1
                }
            );
        }
    }

    #[test]
    fn certificate_cache_gives_the_decoded_result() {
        // The end-entity certificate of SERVER_HELLO_CERT_457 (tshark frame 457: CN
        // certs.example.com, SAN *.example.com): record header 5 + ServerHello 74 + Certificate
        // header 4 + list length 3 + certificate length 3.
        let rec = hex(SERVER_HELLO_CERT_457);
        let der = &rec[5 + 74 + 4 + 3 + 3..];
        let fresh = parse::certificate(der);
        assert_eq!(
            fresh.as_ref().map(|c| c.subject.as_str()),
            Some("CN=certs.example.com, O=Example Inc, OU=IT Department")
        );
        assert_eq!(parse::certificate_cached(der), fresh);
        assert_eq!(parse::certificate_cached(der), fresh);
        // A corrupted copy is a different key: decoded (and refused) on its own.
        let mut bad = der.to_vec();
        bad[1] ^= 0x7f;
        assert_eq!(parse::certificate_cached(&bad), parse::certificate(&bad));
        // Push the good one out of the cache with other entries, then ask again.
        for i in 0..parse::CERT_CACHE_ENTRIES as u8 + 2 {
            let mut other = der.to_vec();
            if let Some(b) = other.last_mut() {
                *b = i;
            }
            assert_eq!(
                parse::certificate_cached(&other),
                parse::certificate(&other)
            );
        }
        assert_eq!(parse::certificate_cached(der), fresh);
        // Larger than the cache takes: decoded every time, same result.
        let mut big = der.to_vec();
        big.resize(parse::CERT_CACHE_MAX_DER + 1, 0);
        assert_eq!(parse::certificate_cached(&big), parse::certificate(&big));
    }

    #[test]
    fn record_counts_reach_the_sink_at_finish() {
        let mut sink = Evidence::default();
        // CLIENT_HELLO_456 (one handshake record) twice, then an application_data record
        // header with 3 of its 5 bytes (tshark: tls.record.content_type 22, 22, 23).
        let c = ctx(456, Dir::ToServer, Transport::Tcp, 443);
        let mut a = TlsAnalyzer::new(443);
        let mut data = hex(CLIENT_HELLO_456);
        data.extend(hex(CLIENT_HELLO_456));
        data.extend([0x17, 0x03, 0x03, 0x00, 0x05, 1, 2, 3]);
        assert_eq!(a.stream(&c, &data, &mut sink), data.len());
        // Facts are in the sink as they are read; record counts are tallied until finish.
        let mid = sink.tls.as_ref().expect("tls evidence");
        assert_eq!(values(&mid.sni), vec!["certs.example.com"]);
        assert_eq!(mid.handshake.get("client_hello"), 2);
        assert_eq!((mid.encrypted_records, mid.encrypted_bytes), (1, 3));
        assert_eq!(mid.records.get("handshake"), 0);
        a.stream(&c, &[4, 5, 0x15, 0x03, 0x03, 0x00, 0x00], &mut sink);
        let ev = finish(&mut a, std::mem::take(&mut sink)).tls.unwrap();
        assert_eq!(ev.records.get("handshake"), 2);
        assert_eq!(ev.records.get("application_data"), 1);
        assert_eq!(ev.records.get("alert"), 1);
        assert_eq!(ev.encrypted_records, 1);
        assert_eq!(ev.encrypted_bytes, 5);
        assert_eq!(ev.records.iter().count(), 3);
    }

    #[test]
    fn counter_labels_of_known_and_unknown_types() {
        assert_eq!(parse::ContentType(23).label(), "application_data");
        assert_eq!(parse::ContentType(99).label(), "type_99");
        assert_eq!(parse::handshake_label(99), "type_99");
    }

    #[test]
    fn truncated_prefix_resynchronises() {
        let mut sink = Evidence::default();
        // A capture that begins inside a record: not malformed, but noted.
        let mut a = TlsAnalyzer::new(8443);
        let mut data = hex(CLIENT_HELLO_456);
        data.drain(..3);
        let c = Ctx {
            midstream: true,
            ..ctx(1, Dir::ToServer, Transport::Tcp, 8443)
        };
        let used = a.stream(&c, &data, &mut sink);
        assert!(used <= data.len());
        let ev = finish(&mut a, std::mem::take(&mut sink)).tls.unwrap();
        assert_eq!(ev.malformed, 0);
        assert_eq!(ev.records.get("midstream_start"), 1);
        assert!(ev.sni.is_empty());
        // After the junk, a whole record is found again.
        let mut a = TlsAnalyzer::new(8443);
        let mut data = vec![0xde, 0xad, 0xbe];
        data.extend(hex(CLIENT_HELLO_456));
        assert_eq!(a.stream(&c, &data, &mut sink), data.len());
        let ev = finish(&mut a, std::mem::take(&mut sink)).tls.unwrap();
        assert_eq!(values(&ev.sni), vec!["certs.example.com"]);
        assert_eq!(ev.malformed, 0);
        // Junk between two records once in step is malformed (counted once per resync).
        let mut a = TlsAnalyzer::new(8443);
        let mut data = hex(CLIENT_HELLO_456);
        data.extend([0xde, 0xad, 0xbe]);
        data.extend(hex(CLIENT_HELLO_456));
        assert_eq!(a.stream(&c, &data, &mut sink), data.len());
        let ev = finish(&mut a, std::mem::take(&mut sink)).tls.unwrap();
        assert_eq!(ev.sni.iter().next().unwrap().count, 2);
        assert_eq!(ev.malformed, 1);
    }

    #[test]
    fn corrupted_lengths_are_counted() {
        let mut sink = Evidence::default();
        let c = ctx(1, Dir::ToServer, Transport::Tcp, 443);
        // Handshake length 0xffffff (over MAX_HANDSHAKE_LEN) inside a valid record.
        let mut data = hex(CLIENT_HELLO_456);
        data[6] = 0xff;
        data[7] = 0xff;
        data[8] = 0xff;
        let mut a = TlsAnalyzer::new(443);
        assert_eq!(a.stream(&c, &data, &mut sink), data.len());
        let ev = finish(&mut a, std::mem::take(&mut sink)).tls.unwrap();
        assert_eq!(ev.malformed, 1);
        assert!(ev.sni.is_empty());
        // session_id length 0xff (RFC 5246 7.4.1.2) runs past the message: undecodable.
        let mut data = hex(CLIENT_HELLO_456);
        data[43] = 0xff;
        let malformed = |data: &[u8]| {
            let mut a = TlsAnalyzer::new(443);
            let mut sink = Evidence::default();
            a.stream(&c, data, &mut sink);
            finish(&mut a, sink).tls.unwrap().malformed
        };
        assert_eq!(malformed(&data), 1);
        // Record length over MAX_RECORD_LEN, after a valid record.
        let mut data = hex(CLIENT_HELLO_456);
        data.extend([0x16, 3, 1, 0xff, 0xff, 1, 0, 0]);
        assert_eq!(malformed(&data), 1);
        // Every prefix of a valid record: waits (consumes nothing), never panics.
        let data = hex(SERVER_HELLO_CERT_457);
        for n in 0..data.len() {
            let mut a = TlsAnalyzer::new(443);
            assert_eq!(a.stream(&c, &data[..n], &mut sink), 0);
        }
    }

    #[test]
    fn tls13_netflix_stream() {
        // efsrpc_petitpotam_unpatched_dc_ldap_tls_smb.pcapng, tcp.stream 46 (56780 -> 443).
        let Some(p) = packets("efsrpc_petitpotam_unpatched_dc_ldap_tls_smb.pcapng") else {
            return;
        };
        let segs = conn(&p, Transport::Tcp, 56780, 443);
        let mut a = TlsAnalyzer::new(443);
        let sink = feed_tcp(&mut a, &segs, 443);
        assert_eq!(a.service(), Some("https"));
        let ev = finish(&mut a, sink).tls.unwrap();
        // tshark frame 1248: SNI www.netflix.com, supported_versions 0xaaaa(GREASE),0x0304..0x0301,
        // ALPN h2,http/1.1; frame 1255: supported_version 0x0304, cipher 0x1301.
        assert_eq!(values(&ev.sni), vec!["www.netflix.com"]);
        assert_eq!(
            ev.sni.first_frame(&"www.netflix.com".into()).unwrap().frame,
            1248
        );
        let mut offered = values(&ev.offered_versions);
        offered.sort();
        assert_eq!(offered, vec!["TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"]);
        assert_eq!(values(&ev.alpn), vec!["h2", "http/1.1"]);
        assert_eq!(values(&ev.server_version), vec!["TLS 1.3"]);
        assert_eq!(ev.cipher_suite.iter().next().unwrap().value.id, 0x1301);
        assert_eq!(ev.cipher_suite.iter().next().unwrap().first.frame, 1255);
        assert!(ev.cert_subject.is_empty());
        assert!(ev.encrypted_records > 0);
        assert_eq!(ev.malformed, 0);
    }

    #[test]
    fn tls12_certificate_stream() {
        // efsrpc_petitpotam_unpatched_dc_ldap_tls_smb.pcapng, tcp.stream 41 (57207 -> 443).
        let Some(p) = packets("efsrpc_petitpotam_unpatched_dc_ldap_tls_smb.pcapng") else {
            return;
        };
        let segs = conn(&p, Transport::Tcp, 57207, 443);
        let mut a = TlsAnalyzer::new(443);
        let ev = run_tcp(&mut a, &segs, 443).tls.unwrap();
        // tshark frame 782: SNI v10.events.data.microsoft.com, ALPN h2,http/1.1, version 0x0303;
        // frame 789 (reassembled from 784, 785, 788, 789): ServerHello 0x0303 cipher 0xc030,
        // Certificate CN *.events.data.microsoft.com with dNSName *.events.data.microsoft.com ...
        assert_eq!(values(&ev.sni), vec!["v10.events.data.microsoft.com"]);
        assert_eq!(values(&ev.server_version), vec!["TLS 1.2"]);
        let cs = ev.cipher_suite.iter().next().unwrap();
        assert_eq!(cs.value.id, 0xc030);
        assert_eq!(cs.value.name, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
        assert_eq!(cs.first.frame, 789);
        let subj = values(&ev.cert_subject);
        assert_eq!(subj.len(), 1);
        assert!(
            subj[0].contains("CN=*.events.data.microsoft.com"),
            "{subj:?}"
        );
        assert!(values(&ev.cert_issuer)[0].contains("CN=Microsoft Secure Server CA 2011"));
        assert!(ev
            .cert_san
            .contains(&"dns:*.events.data.microsoft.com".into()));
        assert!(ev.cert_san.contains(&"dns:watson.microsoft.com".into()));
        assert_eq!(
            ev.cert_san
                .first_frame(&"dns:watson.microsoft.com".into())
                .unwrap()
                .frame,
            789
        );
        assert_eq!(ev.records.get("change_cipher_spec"), 2);
        assert_eq!(ev.malformed, 0);
    }

    #[test]
    fn server_and_client_certificates() {
        // epm_tsch_tls_schtask_create.pcapng tcp 56586 -> 443 (tcp.stream 8): tshark frame 1145
        // SNI 640dceba-...ods.opinsights.azure.com; frame 1150 cipher 0xc030, certificate with
        // 8 dNSName entries (ods-ssl201712eus.azure.com, *.ods.opinsights.azure.com, ...);
        // the client answers a CertificateRequest with its own certificate.
        let Some(segs) = tcp_conn("epm_tsch_tls_schtask_create.pcapng", 56586, 443) else {
            return;
        };
        let mut a = TlsAnalyzer::new(443);
        let ev = run_tcp(&mut a, &segs, 443).tls.unwrap();
        assert_eq!(
            values(&ev.sni),
            vec!["640dceba-99b4-497e-80e0-2f94dcf464c0.ods.opinsights.azure.com"]
        );
        assert_eq!(
            values(&ev.cert_subject),
            vec!["CN=ODS-SSL201712EUS.azure.com"]
        );
        assert_eq!(ev.cert_subject.iter().next().unwrap().first.frame, 1150);
        let mut san = values(&ev.cert_san);
        san.sort();
        assert_eq!(
            san,
            vec![
                "dns:*.ods.opinsights.azure.com",
                "dns:eus-aa-ods-a.cloudapp.net",
                "dns:eus-aa-ods-b.cloudapp.net",
                "dns:eus2-aa-ods-a.cloudapp.net",
                "dns:eus2-aa-ods-b.cloudapp.net",
                "dns:ods-ssl201712eus.azure.com",
                "dns:ods.systemcenteradvisor.com",
                "dns:ods.trafficmanager.net"
            ]
        );
        // tshark frame 1152 (client Certificate): rdnSequence O=Microsoft, OU=Microsoft
        // Monitoring Agent, CN=b9347d04-..., dc=640dceba-... (tshark lists it last-to-first).
        assert_eq!(
            values(&ev.client_cert_subject),
            vec!["DC=640dceba-99b4-497e-80e0-2f94dcf464c0, CN=b9347d04-c939-49ac-ba08-0c86f4e85bb2, OU=Microsoft Monitoring Agent, O=Microsoft"]
        );
        assert_eq!(
            ev.client_cert_subject.iter().next().unwrap().first.frame,
            1152
        );
        assert_eq!(ev.handshake.get("certificate_request"), 1);
        assert_eq!(ev.handshake.get("certificate_status"), 1);
        assert_eq!(ev.malformed, 0);
    }

    #[test]
    fn certificate_with_timezone_offset_times() {
        // SYNTHETIC_http_certsrv_cep_ces_mscep_urls.pcap tcp 59000 -> 443, frame 617: the
        // certificate's UTCTime carries "+0530", which x509-parser refuses; tshark shows
        // subject CN=tztest.example.com,O=TZTest,C=US and issuer CN=TestCA,O=TestCA,C=US.
        let Some(segs) = tcp_conn("SYNTHETIC_http_certsrv_cep_ces_mscep_urls.pcap", 59000, 443)
        else {
            return;
        };
        let mut a = TlsAnalyzer::new(443);
        let ev = run_tcp(&mut a, &segs, 443).tls.unwrap();
        assert_eq!(
            values(&ev.cert_subject),
            vec!["C=US, O=TZTest, CN=tztest.example.com"]
        );
        assert_eq!(values(&ev.cert_issuer), vec!["C=US, O=TestCA, CN=TestCA"]);
        assert_eq!(ev.cert_subject.iter().next().unwrap().first.frame, 617);
        // tshark: cipher suite 0x002f.
        assert_eq!(
            ev.cipher_suite.iter().next().unwrap().value.name,
            "TLS_RSA_WITH_AES_128_CBC_SHA"
        );
        assert_eq!(ev.malformed, 0);
    }

    #[test]
    fn mutated_records_never_panic() {
        let samples = [hex(CLIENT_HELLO_456), hex(SERVER_HELLO_CERT_457)];
        crate::proto::testutil::mutate_and_feed(new, &samples, 3000);
    }

    #[test]
    fn json_field_names() {
        let ev = run_embedded(1000);
        let js = serde_json::to_value(&ev).unwrap();
        let mut keys: Vec<_> = js.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            vec![
                "cert_issuer",
                "cert_san",
                "cert_subject",
                "cipher_suite",
                "handshake",
                "offered_versions",
                "records",
                "server_version",
                "sni"
            ]
        );
        assert_eq!(
            js["cipher_suite"][0]["value"],
            serde_json::json!({"id": 4865, "name": "TLS_AES_128_GCM_SHA256"})
        );
    }

    #[test]
    fn midstream_connection_proved_by_chained_records() {
        // efsrpc_petitpotam_unpatched_dc_ldap_tls_smb.pcapng tcp 56780 -> 443 (the netflix
        // connection) without its first 6 segments: the capture "starts" in application data.
        let Some(p) = packets("efsrpc_petitpotam_unpatched_dc_ldap_tls_smb.pcapng") else {
            return;
        };
        // Payload segments only: the SYN would tell the reassembly where data starts.
        let segs: Vec<_> = conn(&p, Transport::Tcp, 56780, 443)
            .into_iter()
            .filter(|(_, s)| !s.payload.is_empty())
            .collect();
        let mut a = TlsAnalyzer::new(8443);
        let sink = feed_tcp(&mut a, &segs[6..], 8443);
        assert_eq!(a.service(), Some("tls"));
        let ev = finish(&mut a, sink).tls.unwrap();
        assert!(ev.sni.is_empty());
        assert!(ev.encrypted_records >= RECORDS_PROVING_TLS as u64);
        assert_eq!(ev.malformed, 0);
        // Two records are not enough.
        let mut sink = Evidence::default();
        let mut a = TlsAnalyzer::new(8443);
        let c = ctx(1, Dir::ToServer, Transport::Tcp, 8443);
        let two = [0x17, 3, 3, 0, 2, 0xaa, 0xbb, 0x17, 3, 3, 0, 1, 0xcc];
        assert_eq!(a.stream(&c, &two, &mut sink), two.len());
        assert_eq!(a.service(), None);
        assert_eq!(a.stream(&c, &two[..6], &mut sink), 6);
        assert_eq!(a.service(), Some("tls"));
    }

    #[test]
    fn ldaps_and_plain_tls_service_names() {
        let c = ctx(1, Dir::ToServer, Transport::Tcp, 636);
        for (port, want) in [(636, "ldaps"), (3269, "gc-ldaps"), (8443, "tls")] {
            let mut sink = Evidence::default();
            let mut a = TlsAnalyzer::new(port);
            assert_eq!(a.service(), None);
            let data = hex(CLIENT_HELLO_456);
            assert_eq!(a.stream(&c, &data, &mut sink), data.len());
            assert_eq!(a.service(), Some(want));
        }
    }
}
