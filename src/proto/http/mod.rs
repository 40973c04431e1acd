//! HTTP/1.x (RFC 9112) on port 80 and on any port by content: method, Host, request-target,
//! status, Content-Type; CRL / AIA / OCSP retrieval and AD CS web enrollment (certsrv, CEP, CES,
//! SCEP) recognised. Heads are capped, bodies skipped by Content-Length or chunked framing.
//!
//! Layers: [`parse`] (heads, chunk lines, URL classes; pure), [`state`] ([`HttpAnalyzer`]),
//! [`evidence`] ([`HttpEvidence`]).

pub mod evidence;
pub mod parse;
pub mod state;

pub use evidence::{HttpEvidence, PkiAccess, Request};
pub use state::HttpAnalyzer;

use crate::proto::{Analyzer, Dissector, Transport};

/// True when `data` starts with a request line of a known method (`GET `, `POST ` ...) or a
/// status line (`HTTP/1.0 ` / `HTTP/1.1 `), over TCP.
pub fn probe(t: Transport, data: &[u8]) -> bool {
    t == Transport::Tcp && parse::looks_like_start(data)
}

fn new(_t: Transport, _server_port: u16) -> Box<dyn Analyzer> {
    Box::new(HttpAnalyzer::new())
}

/// The HTTP dissector.
pub const DISSECTOR: Dissector = Dissector {
    name: "http",
    probe,
    new,
};

#[cfg(test)]
mod tests {
    use super::parse::{chunk_size, head, head_from, HttpError, StartLine};
    use super::*;
    use crate::proto::testutil::{
        conn, ctx, finish, frames, hex, packets, run_parts, run_tcp, tcp_conn, TcpFeeder,
    };
    use crate::proto::{Ctx, Dir};

    /// SYNTHETIC_http_certsrv_cep_ces_mscep_urls.pcap frame 103 (tcp 50010 -> 80):
    /// POST /ADPolicyProvider_CEP_Kerberos/service.svc/CEP, Host ca.example.com, 7-byte body.
    const CEP_POST_103: &str = "504f5354202f4144506f6c69637950726f76696465725f4345505f4b65726265726f732f736572766963652e7376632f43455020485454502f312e310d0a486f73743a2063612e6578616d706c652e636f6d0d0a436f6e74656e742d547970653a206170706c69636174696f6e2f782d7777772d666f726d2d75726c656e636f6465640d0a436f6e74656e742d4c656e6774683a20370d0a557365722d4167656e743a204d6f7a696c6c612f352e300d0a0d0a3c736f61702f3e";
    /// Same capture, frame 105 (80 -> 50010): 200 OK, text/html, 15-byte body.
    const OK_105: &str = "485454502f312e3120323030204f4b0d0a436f6e74656e742d547970653a20746578742f68746d6c0d0a436f6e74656e742d4c656e6774683a2031350d0a5365727665723a204d6963726f736f66742d4949532f31302e300d0a0d0a3c68746d6c3e6f6b3c2f68746d6c3e";

    fn run(parts: &[(u64, Dir, Vec<u8>)], step: usize) -> HttpEvidence {
        let mut a = HttpAnalyzer::new();
        let mut f = TcpFeeder::new(80);
        for (frame, dir, bytes) in parts {
            for c in bytes.chunks(step) {
                f.bytes(&mut a, *frame, *dir, c);
            }
        }
        assert_eq!(a.service(), Some("http"));
        *f.finish(&mut a).http.unwrap()
    }

    /// More requests than are kept waiting (pipelined, no response yet): the oldest are
    /// forgotten and counted; the response that follows pairs with a kept one.
    #[test]
    fn requests_beyond_the_pending_cap_are_counted() {
        let n = state::MAX_PENDING as u64 + 3;
        let mut parts: Vec<(u64, Dir, Vec<u8>)> = (0..n)
            .map(|i| (200 + i, Dir::ToServer, hex(CEP_POST_103)))
            .collect();
        parts.push((300, Dir::ToClient, hex(OK_105)));
        let ev = run(&parts, 4096);
        assert_eq!(ev.pending_dropped, 3);
        assert_eq!(ev.messages.get("request"), n);
        assert_eq!(ev.messages.get("response"), 1);
        assert_eq!(ev.malformed, 0);
    }

    #[test]
    fn cep_post_and_response() {
        let parts = [
            (103, Dir::ToServer, hex(CEP_POST_103)),
            (105, Dir::ToClient, hex(OK_105)),
        ];
        for step in [1, 5, 4096] {
            let ev = run(&parts, step);
            // tshark 103: http.request.method POST, http.host ca.example.com, http.request.uri
            // /ADPolicyProvider_CEP_Kerberos/service.svc/CEP, content length 7;
            // 105: http.response.code 200, http.content_type text/html, content length 15.
            let r = ev.requests.iter().next().unwrap();
            assert_eq!(
                (
                    r.value.method.as_str(),
                    r.value.host.as_str(),
                    r.value.path.as_str()
                ),
                (
                    "POST",
                    "ca.example.com",
                    "/ADPolicyProvider_CEP_Kerberos/service.svc/CEP"
                )
            );
            assert_eq!(r.first.frame, 103);
            assert_eq!(
                ev.status.iter().next().map(|f| (*f.value, f.first.frame)),
                Some((200, 105))
            );
            let ct: Vec<_> = ev.content_types.values().cloned().collect();
            assert_eq!(ct, vec!["application/x-www-form-urlencoded", "text/html"]);
            let pki: Vec<_> = ev.pki.values().map(|p| p.kind.clone()).collect();
            assert_eq!(pki, vec!["cep"]);
            assert_eq!(ev.body_bytes, 7 + 15);
            assert_eq!(ev.malformed, 0);
        }
    }

    #[test]
    fn synthetic_certsrv_streams_match_tshark() {
        let Some(p) = packets("SYNTHETIC_http_certsrv_cep_ces_mscep_urls.pcap") else {
            return;
        };
        // tshark -Y http: tcp.stream 0..11 are client ports 50001..50012 -> 80.
        let want = [
            (50001, "GET", "/certsrv/", 401, Some("certsrv")),
            (50002, "GET", "/certsrv/certfnsh.asp", 200, Some("certsrv")),
            (50003, "POST", "/certsrv/certfnsh.asp", 200, Some("certsrv")),
            (50005, "GET", "/CERTSRV/certrqma.asp", 200, Some("certsrv")),
            (
                50008,
                "GET",
                "/certsrv/mscep/mscep.dll?operation=GetCACert&message=foo",
                200,
                Some("mscep"),
            ),
            (50009, "GET", "/certsrv/mscep_admin/", 200, Some("mscep")),
            (
                50010,
                "POST",
                "/ADPolicyProvider_CEP_Kerberos/service.svc/CEP",
                200,
                Some("cep"),
            ),
            (50011, "POST", "/EnrollmentServer/service.svc", 200, None),
            (50012, "GET", "/unrelated/path", 200, None),
        ];
        for (port, method, path, status, kind) in want {
            let mut a = HttpAnalyzer::new();
            let ev = run_tcp(&mut a, &conn(&p, Transport::Tcp, port, 80), 80)
                .http
                .unwrap();
            let r: Vec<_> = ev.requests.values().cloned().collect();
            assert_eq!(r.len(), 1, "port {port}");
            assert_eq!((r[0].method.as_str(), r[0].path.as_str()), (method, path));
            assert!(r[0].host.ends_with("example.com"));
            assert_eq!(
                ev.status.values().copied().collect::<Vec<_>>(),
                vec![status]
            );
            assert_eq!(
                ev.pki.values().next().map(|p| p.kind.as_str()),
                kind,
                "port {port}"
            );
            assert_eq!(ev.malformed, 0);
        }
        // tcp.stream 12 (51001 -> 80): RPC_IN_DATA with Content-Length 1073741824 (RPC over HTTP).
        let mut a = HttpAnalyzer::new();
        let ev = run_tcp(&mut a, &conn(&p, Transport::Tcp, 51001, 80), 80)
            .http
            .unwrap();
        let r = ev.requests.values().next().unwrap();
        assert_eq!(r.method, "RPC_IN_DATA");
        assert_eq!(r.path, "/rpc/rpcproxy.dll?MAIL.example.com:6001");
        assert_eq!(r.host, "mail.example.com");
    }

    #[test]
    fn petitpotam_battle_net_requests() {
        // efsrpc_petitpotam_patched_dc_http_ldap_tls.pcapng tcp.stream 204 (54505 -> 80):
        // tshark frames 2812 and 2821, responses 200 in 2813 and 2822.
        let Some(segs) = tcp_conn(
            "efsrpc_petitpotam_patched_dc_http_ldap_tls.pcapng",
            54505,
            80,
        ) else {
            return;
        };
        let mut a = HttpAnalyzer::new();
        let ev = run_tcp(&mut a, &segs, 80).http.unwrap();
        let r: Vec<_> = ev
            .requests
            .iter()
            .map(|f| (f.value.path.clone(), f.first.frame))
            .collect();
        assert_eq!(
            r,
            vec![
                ("/service/app/alert/fr-fr".into(), 2812),
                ("/service/app/maintenance/fr-fr".into(), 2821)
            ]
        );
        assert_eq!(
            ev.status.iter().next().map(|f| (*f.value, f.count)),
            Some((200, 2))
        );
        assert_eq!(ev.messages.get("response"), 2);
        assert_eq!(ev.malformed, 0);
    }

    #[test]
    fn chunked_body_and_crl_path() {
        // Hand-built (no capture holds a chunked body or a CRL fetch).
        let req =
            b"GET /CertEnroll/Example%20CA.crl HTTP/1.1\r\nHost: pki.example.com\r\n\r\n".to_vec();
        let resp = b"HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nabcde\r\n3\r\nxyz\r\n0\r\nX-T: 1\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\n".to_vec();
        for step in [1, 2, 3, 1000] {
            let ev = run(
                &[
                    (1, Dir::ToServer, req.clone()),
                    (2, Dir::ToClient, resp.clone()),
                ],
                step,
            );
            assert_eq!(ev.body_bytes, 8);
            assert_eq!(ev.messages.get("response"), 2);
            let s: Vec<u16> = ev.status.values().copied().collect();
            assert_eq!(s, vec![200, 304]);
            let pki: Vec<_> = ev
                .pki
                .iter()
                .map(|f| (f.value.kind.clone(), f.first.frame))
                .collect();
            // Seen by path in the request (frame 1) and by media type in the response (frame 2).
            assert_eq!(pki, vec![("crl".into(), 1)]);
            assert_eq!(ev.pki.iter().next().unwrap().count, 2);
            assert_eq!(ev.malformed, 0);
        }
    }

    #[test]
    fn truncated_and_corrupted_messages() {
        let mut sink = crate::evidence::Evidence::default();
        // Frame 103 without its first 5 bytes ("POST "): a capture that began mid-message.
        let full = hex(CEP_POST_103);
        let mut a = HttpAnalyzer::new();
        let joined = Ctx {
            midstream: true,
            ..ctx(103, Dir::ToServer, Transport::Tcp, 80)
        };
        a.stream(&joined, &full[5..], &mut sink);
        let ev = *finish(&mut a, std::mem::take(&mut sink)).http.unwrap();
        assert_eq!(ev.malformed, 0);
        assert_eq!(ev.messages.get("midstream_start"), 1);
        assert!(ev.requests.is_empty());
        // The same bytes first on a connection whose start was captured: malformed.
        let ev = run_quiet(&[(103, Dir::ToServer, full[5..].to_vec())]);
        assert_eq!(ev.malformed, 1);
        assert_eq!(ev.messages.get("midstream_start"), 0);
        // The same after a whole request: malformed.
        let mut two = full.clone();
        two.extend_from_slice(&full[5..]);
        let ev = run_quiet(&[(103, Dir::ToServer, two)]);
        assert_eq!(ev.malformed, 1);
        assert_eq!(ev.requests.len(), 1);
        // Corrupted Content-Length: counted; the head is still recorded.
        let bad = String::from_utf8(full.clone())
            .unwrap()
            .replace("Length: 7", "Length: 7x");
        let ev = run_quiet(&[(103, Dir::ToServer, bad.into_bytes())]);
        assert_eq!(ev.malformed, 1);
        assert_eq!(ev.requests.len(), 1);
        // A chunk-size line that is not hex.
        assert_eq!(chunk_size(b"zz\r\n"), Err(HttpError::BadChunk));
        // An over-long head.
        let mut long = b"GET / HTTP/1.1\r\nX: ".to_vec();
        long.resize(super::parse::MAX_HEAD_LEN + 1, b'a');
        assert_eq!(head(&long), Err(HttpError::TooLong));
        // Every prefix of a head waits or fails, never panics.
        for n in 0..full.len() {
            let _ = head(&full[..n]);
        }
        // After a gap, the next request line is found again.
        let mut a = HttpAnalyzer::new();
        let c = ctx(7, Dir::ToServer, Transport::Tcp, 80);
        a.gap(Dir::ToServer);
        let mut data = b"ody of something lost\r\n".to_vec();
        data.extend_from_slice(&full);
        assert_eq!(a.stream(&c, &data, &mut sink), data.len());
        assert_eq!(
            finish(&mut a, std::mem::take(&mut sink))
                .http
                .unwrap()
                .requests
                .len(),
            1
        );
    }

    #[test]
    fn negotiate_tickets_of_winrm_requests() {
        // ad_playbook_mixed_kerberos_ldap_cldap_epm_smb.pcap tcp 58215 -> 5985 (WinRM): tshark
        // shows the POST at frame 835 with `Authorization: Negotiate`, a SPNEGO token whose
        // ticket is for HTTP/MORDORDC.theshire.local (kerberos.SNameString).
        let Some(segs) = tcp_conn(
            "ad_playbook_mixed_kerberos_ldap_cldap_epm_smb.pcap",
            58215,
            5985,
        ) else {
            return;
        };
        let mut a = HttpAnalyzer::new();
        let all = run_tcp(&mut a, &segs, 5985);
        let ev = all.http.unwrap();
        assert_eq!(
            frames(&ev.ticket_spns),
            vec![("HTTP/MORDORDC.theshire.local".to_string(), 835)]
        );
        // The server's 200 answers with `WWW-Authenticate: Negotiate` and the AP-REP (frame
        // 842, kerberos.msg_type 15): both messages land in the flow's kerberos entry.
        let krb = all.kerberos.unwrap();
        let types: Vec<(i64, u64)> = krb
            .msg_types
            .iter()
            .map(|f| (f.value.code, f.first.frame))
            .collect();
        assert_eq!(types, vec![(14, 835), (15, 842)]);
        assert!(krb.errors.is_empty());
    }

    #[test]
    fn auth_token_is_base64_of_the_header_value() {
        let h = |v: &str| {
            let msg = format!("GET / HTTP/1.1\r\nAuthorization: {v}\r\n\r\n");
            head(msg.as_bytes()).unwrap().unwrap().0.auth_token()
        };
        // RFC 4648 10 test vectors, with and without padding, behind a first character that
        // encodes 0x60 (0x60 0x82 ... is "YI...").
        assert_eq!(h("Negotiate YIJmb29iYXI="), Some(b"`\x82foobar".to_vec()));
        assert_eq!(h("Negotiate YIJmb29i"), Some(b"`\x82foob".to_vec()));
        assert_eq!(h("negotiate YIJmbw"), Some(b"`\x82fo".to_vec()));
        assert_eq!(h("Kerberos YIJm"), Some(b"`\x82f".to_vec()));
        assert_eq!(
            h("Negotiate YI+/778="),
            Some(vec![0x60, 0x8f, 0xbf, 0xef, 0xbf])
        );
        // A NegTokenResp (0xa1) and a bare AP-REQ (0x6e).
        assert_eq!(h("Negotiate oQ=="), Some(vec![0xa1]));
        assert_eq!(h("Negotiate bg=="), Some(vec![0x6e]));
        // Raw NTLMSSP ("NTLMSSP\0\x01") under either scheme.
        assert_eq!(h("NTLM TlRMTVNTUAAB"), Some(b"NTLMSSP\0\x01".to_vec()));
        assert_eq!(h("Negotiate TlRMTVNTUAAB"), Some(b"NTLMSSP\0\x01".to_vec()));
        // Other schemes, other first bytes, bad characters, impossible lengths.
        assert_eq!(h("Basic YIJmb29iYXI="), None);
        assert_eq!(h("Negotiate QUJD"), None);
        assert_eq!(h("Negotiate YIJm!mFy"), None);
        assert_eq!(h("Negotiate YIJmb"), None);
        assert_eq!(h("Negotiate YIJm=b29"), None);
        assert_eq!(h("Negotiate"), None);
    }

    /// Header fields past the first MAX_HEADERS are counted, not read: a Host after them is
    /// not seen.
    #[test]
    fn header_fields_beyond_the_cap_are_counted() {
        let mut msg = b"GET /CertEnroll/ca.crl HTTP/1.1\r\n".to_vec();
        for i in 0..parse::MAX_HEADERS + 2 {
            msg.extend_from_slice(format!("X-Filler-{i}: x\r\n").as_bytes());
        }
        msg.extend_from_slice(b"Host: pki.example.com\r\n\r\n");
        let (h, _) = head(&msg).unwrap().unwrap();
        assert_eq!((h.fields_dropped(), h.host()), (3, None));
        let mut a = HttpAnalyzer::new();
        let ev = run_parts(&mut a, Transport::Tcp, 80, &[(5, Dir::ToServer, msg)])
            .http
            .unwrap();
        assert_eq!(ev.headers_dropped, 3);
        assert_eq!(ev.requests.len(), 1);
    }

    #[test]
    fn head_fields_and_resumed_search() {
        // Frame 103: tshark http.host ca.example.com, http.content_type
        // application/x-www-form-urlencoded, http.content_length 7 (the 7 body bytes end the frame).
        let full = hex(CEP_POST_103);
        let (h, len) = head(&full).unwrap().unwrap();
        assert_eq!(len, full.len() - 7);
        assert_eq!(h.host(), Some("ca.example.com"));
        assert_eq!(h.content_length(), Ok(Some(7)));
        assert!(!h.chunked());
        assert_eq!(
            h.media_type().as_deref(),
            Some("application/x-www-form-urlencoded")
        );
        assert!(matches!(h.start, StartLine::Request { method: "POST", .. }));
        // Offered in two pieces split anywhere (the end of head too), the resumed search finds the
        // same end as a search of the whole head.
        for cut in 1..len {
            assert_eq!(head(&full[..cut]), Ok(None), "cut {cut}");
            let (h2, len2) = head_from(&full, cut).unwrap().unwrap();
            assert_eq!((&h2, len2), (&h, len), "cut {cut}");
        }
        // The same with bare LF line ends (RFC 9112 2.2).
        let lf = b"GET /a HTTP/1.0\nHost: x\n\n";
        for cut in 1..lf.len() {
            assert_eq!(head_from(lf, cut).unwrap().map(|(_, n)| n), Some(lf.len()));
        }
    }

    #[test]
    fn responses_pair_with_pipelined_requests() {
        // Hand-built (no capture pipelines requests or fetches a certificate by media type):
        // a HEAD, then a GET answered by 100 Continue and a certificate, over one connection.
        let req = b"HEAD /a HTTP/1.1\r\nHost: h1\r\n\r\nGET /b HTTP/1.1\r\nHost: h2\r\n\r\n";
        let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nHTTP/1.1 100 Continue\r\nContent-Type: application/pkix-cert\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/pkix-cert\r\nContent-Length: 2\r\n\r\nab";
        for step in [1, 7, 1000] {
            let ev = run(
                &[
                    (1, Dir::ToServer, req.to_vec()),
                    (2, Dir::ToClient, resp.to_vec()),
                ],
                step,
            );
            // The HEAD response has no body although it gives a length; the interim response
            // and the final one both name the GET's host and path.
            assert_eq!(ev.body_bytes, 2);
            assert_eq!(ev.messages.get("request"), 2);
            assert_eq!(ev.messages.get("response"), 3);
            let pki: Vec<_> = ev
                .pki
                .iter()
                .map(|f| (f.value.clone(), f.first.frame, f.count))
                .collect();
            let want = PkiAccess {
                kind: "aia".into(),
                host: "h2".into(),
                path: "/b".into(),
            };
            assert_eq!(pki, vec![(want, 2, 2)]);
            assert_eq!(ev.malformed, 0);
        }
    }

    #[test]
    fn repeated_requests_are_one_fact() {
        let mut sink = crate::evidence::Evidence::default();
        let mut a = HttpAnalyzer::new();
        let get = b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
        for frame in 1..=3 {
            a.stream(
                &ctx(frame, Dir::ToServer, Transport::Tcp, 80),
                get,
                &mut sink,
            );
        }
        a.stream(
            &ctx(4, Dir::ToServer, Transport::Tcp, 80),
            b"GET /x HTTP/1.1\r\nHost: H\r\n\r\n",
            &mut sink,
        );
        let ev = finish(&mut a, sink).http.unwrap();
        assert_eq!(ev.messages.get("request"), 4);
        let r: Vec<_> = ev
            .requests
            .iter()
            .map(|f| (f.value.host.clone(), f.first.frame, f.count))
            .collect();
        assert_eq!(r, vec![("h".into(), 1, 3), ("H".into(), 4, 1)]);
    }

    fn run_quiet(parts: &[(u64, Dir, Vec<u8>)]) -> HttpEvidence {
        let mut sink = crate::evidence::Evidence::default();
        let mut a = HttpAnalyzer::new();
        for (frame, dir, bytes) in parts {
            a.stream(&ctx(*frame, *dir, Transport::Tcp, 80), bytes, &mut sink);
        }
        *finish(&mut a, std::mem::take(&mut sink)).http.unwrap()
    }

    #[test]
    fn mutated_messages_never_panic() {
        let samples = [
            hex(CEP_POST_103),
            hex(OK_105),
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\n\r\n"
                .to_vec(),
        ];
        crate::proto::testutil::mutate_and_feed(new, &samples, 3000);
    }

    #[test]
    fn json_field_names() {
        let ev = run(
            &[
                (103, Dir::ToServer, hex(CEP_POST_103)),
                (105, Dir::ToClient, hex(OK_105)),
            ],
            4096,
        );
        let js = serde_json::to_value(&ev).unwrap();
        let mut keys: Vec<_> = js.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            vec![
                "body_bytes",
                "content_types",
                "messages",
                "pki",
                "requests",
                "status"
            ]
        );
        assert_eq!(
            js["pki"][0]["value"],
            serde_json::json!({"kind": "cep", "host": "ca.example.com", "path": "/ADPolicyProvider_CEP_Kerberos/service.svc/CEP"})
        );
    }

    #[test]
    fn probe_is_strict() {
        assert!(probe(Transport::Tcp, &hex(CEP_POST_103)));
        assert!(probe(Transport::Tcp, &hex(OK_105)));
        assert!(probe(
            Transport::Tcp,
            b"RPC_IN_DATA /rpc/rpcproxy.dll HTTP/1.1\r\n"
        ));
        assert!(!probe(Transport::Udp, &hex(CEP_POST_103)));
        assert!(!probe(Transport::Tcp, b"GETX / HTTP/1.1"));
        assert!(!probe(Transport::Tcp, b"HTTP/2 200"));
        // SIP and RTSP share method names (SYNTHETIC_http_certsrv_cep_ces_mscep_urls.pcap has SIP
        // on tcp 5060).
        assert!(!probe(
            Transport::Tcp,
            b"OPTIONS sip:bob@example.com SIP/2.0\r\n"
        ));
        assert!(!probe(
            Transport::Tcp,
            b"OPTIONS rtsp://example.com/media RTSP/1.0\r\n"
        ));
        assert!(!probe(Transport::Tcp, &[0x16, 3, 1, 0, 0x4b, 1]));
    }
}
