//! DNS (RFC 1035) over UDP and TCP (2-byte length prefix, RFC 1035 4.2.2): questions, answers
//! (A, AAAA, CNAME, PTR, SRV) with response codes, and the address -> name mapping the answers
//! prove ([`DnsEvidence::address_names`]) for naming hosts.
//!
//! Layers: [`parse`] (one message; pure), [`state`] ([`DnsAnalyzer`]), [`evidence`].

pub mod evidence;
pub mod parse;
pub mod state;

pub use evidence::{AddressName, Answer, DnsEvidence, Query, SrvTarget};
pub use state::DnsAnalyzer;

use crate::proto::{Analyzer, Dissector, Transport};

/// True when `data` starts a DNS message (TCP: after its 2-byte length): exactly one question
/// (what every real resolver sends), a query/notify/update opcode, the Z bit clear, and a question
/// that decodes within the bytes given.
pub fn probe(t: Transport, data: &[u8]) -> bool {
    let msg = match t {
        Transport::Udp => data,
        Transport::Tcp => {
            let Some(l) = data.get(..state::TCP_PREFIX_LEN) else {
                return false;
            };
            let len = usize::from(u16::from_be_bytes([l[0], l[1]]));
            let body = data.get(state::TCP_PREFIX_LEN..).unwrap_or_default();
            if len < parse::HEADER_LEN || body.len() > len {
                return false;
            }
            body
        }
    };
    let Ok(h) = parse::header(msg) else {
        return false;
    };
    let z_clear = msg.get(3).is_some_and(|f| f & 0x40 == 0);
    if h.qdcount != 1 || !matches!(h.opcode, 0 | 4 | 5) || !z_clear {
        return false;
    }
    // NetBIOS name service (RFC 1002 4.2) shares the format; its names are one 32-byte label of
    // letters 'A'..='P' (RFC 1001 14.1 first-level encoding).
    let nbns = msg.get(parse::HEADER_LEN) == Some(&32)
        && msg
            .get(parse::HEADER_LEN + 1..parse::HEADER_LEN + 33)
            .is_some_and(|l| l.iter().all(|b| (b'A'..=b'P').contains(b)));
    match parse::name_end(msg, parse::HEADER_LEN) {
        Ok(after) => !nbns && msg.len() >= after + 4,
        Err(_) => false,
    }
}

fn new(_t: Transport, _server_port: u16) -> Box<dyn Analyzer> {
    Box::new(DnsAnalyzer::new())
}

/// The DNS dissector.
pub const DISSECTOR: Dissector = Dissector {
    name: "dns",
    probe,
    new,
};

#[cfg(test)]
pub(crate) mod tests {
    use super::parse::{name_into, DnsError, Message, RData};
    use super::*;
    use crate::proto::testutil::{conn, ctx, finish, hex, packets, run_udp, TcpFeeder};
    use crate::proto::Dir;
    use std::net::IpAddr;

    /// A response with more records than one message's decoding keeps (as a zone transfer
    /// has): frame 36's three answers repeated 200 times. The question and 511 records are
    /// read; the other 89 are counted in `records_dropped`.
    #[test]
    fn records_beyond_the_cap_are_counted() {
        let one = hex(CNAME_CHAIN_36);
        // The question's name ends at its zero label; then QTYPE and QCLASS.
        let mut q_end = parse::HEADER_LEN;
        while one[q_end] != 0 {
            q_end += 1 + usize::from(one[q_end]);
        }
        q_end += 1 + 4;
        let mut msg = one[..q_end].to_vec();
        for _ in 0..200 {
            // Compression pointers point back into the first copy: still valid.
            msg.extend_from_slice(&one[q_end..]);
        }
        msg[6..8].copy_from_slice(&600u16.to_be_bytes());
        let mut m = Message::default();
        m.read(&msg).unwrap();
        assert_eq!(
            (m.questions.len(), m.records.len(), m.not_decoded),
            (1, parse::MAX_RECORDS - 1, 600 - (parse::MAX_RECORDS - 1))
        );
        let mut a = DnsAnalyzer::new();
        let mut ev = crate::evidence::Evidence::default();
        a.datagram(&ctx(36, Dir::ToClient, Transport::Udp, 53), &msg, &mut ev);
        let d = ev.dns.unwrap();
        assert_eq!(d.records_dropped, 89);
        assert_eq!(d.malformed, 0);
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["records_dropped"], 89);
    }

    /// captures/lab_dns_dynamic_update_gss_tsig.pcapng frames 82-83 (tcp 43565 -> 53): nsupdate
    /// -g's TKEY query, as the client's stream carries it (two-byte length, then the message).
    pub(crate) fn tkey_query() -> Vec<u8> {
        first_message(Dir::ToServer)
    }

    /// The same connection's frame 86: Samba's TKEY answer, its key data an AP-REP token
    /// (tshark: kerberos.msg_type 15).
    pub(crate) fn tkey_response() -> Vec<u8> {
        first_message(Dir::ToClient)
    }

    /// The first DNS message that direction `dir` of that connection carries.
    fn first_message(dir: Dir) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("captures/lab_dns_dynamic_update_gss_tsig.pcapng");
        let stream: Vec<u8> = conn(
            &crate::proto::testutil::packets_at(&path),
            Transport::Tcp,
            43565,
            53,
        )
        .into_iter()
        .filter(|(d, _)| *d == dir)
        .flat_map(|(_, s)| s.payload)
        .collect();
        let len = usize::from(u16::from_be_bytes([stream[0], stream[1]]));
        stream[2..2 + len].to_vec()
    }

    /// The TKEY record's key data is found (tshark: Key Size 1430, a GSS-API token); a Key Size
    /// that does not fit the RDATA leaves the record unread, and the message's question still
    /// counts.
    #[test]
    fn tkey_key_data_and_a_key_size_past_the_record() {
        let msg = tkey_query();
        let mut m = Message::default();
        m.read(&msg).unwrap();
        let key = m.records.iter().find_map(|r| match r.data {
            RData::Tkey { key_start, key_len } => Some((key_start, key_len)),
            _ => None,
        });
        let (start, len) = key.expect("a TKEY record");
        assert_eq!(len, 1430);
        assert_eq!(&msg[start..start + 2], &[0x60, 0x82]);
        // Key Size is the two bytes before Key Data: one more than the RDATA holds.
        let mut bad = msg.clone();
        let size = u16::try_from(len + 1).unwrap().to_be_bytes();
        bad[start - 2..start].copy_from_slice(&size);
        m.read(&bad).unwrap();
        assert!(m
            .records
            .iter()
            .all(|r| !matches!(r.data, RData::Tkey { .. })));
        assert_eq!(m.questions.len(), 1);
    }

    /// dcom_wmi_activation_oxid_smb_dns.pcap frame 36 (udp 53 -> 63959): A v10.events.data.microsoft.com
    /// -> CNAME global.asimov.events.data.trafficmanager.net -> CNAME
    /// skypedataprdcolwus04.cloudapp.net -> A 52.114.158.91 (compressed names).
    const CNAME_CHAIN_36: &str = "b1908180000100030000000003763130066576656e74730464617461096d6963726f736f667403636f6d0000010001c00c00050001000005d7002e06676c6f62616c066173696d6f76066576656e747304646174610e747261666669636d616e61676572036e657400c03b0005000100000025002014736b79706564617461707264636f6c777573303408636c6f7564617070c064c0750001000100000000000434729e5b";

    /// SYNTHETIC_http_certsrv_cep_ces_mscep_urls.pcap frames 353 and 354 (tcp 54321 <-> 53):
    /// length-prefixed query and answer tcptest.example.org A 10.10.10.10.
    const TCP_QUERY_353: &str =
        "0025200d010000010000000000000774637074657374076578616d706c65036f72670000010001";
    const TCP_ANSWER_354: &str = "0048200d858000010001000000000774637074657374076578616d706c65036f726700000100010774637074657374076578616d706c65036f726700000100010000012c00040a0a0a0a";

    /// captures/lab_dns_dynamic_update_gss_tsig.pcapng frames 6 and 8 (tcp 53): nsupdate's
    /// unsigned UPDATE (zone certflow.lab SOA; update cli.certflow.lab A 10.77.0.100) and the
    /// DC's REFUSED response, which echoes the update section.
    const TCP_UPDATE_6: &str = "00321bd0280000010000000100000863657274666c6f77036c6162000006000103636c69c00c0001000100000e1000040a4d0064";
    const TCP_UPDATE_REFUSED_8: &str = "00321bd0a80500010000000100000863657274666c6f77036c6162000006000103636c69c00c0001000100000e1000040a4d0064";

    /// Hand-built SRV response (no capture holds an SRV answer), checked with
    /// `text2pcap -u 53,50000` + `tshark -V`: _ldap._tcp.dc._msdcs.corp.example SRV 0 100 389
    /// dc01.corp.example, additional dc01.corp.example A 10.0.0.10.
    const SRV_RESPONSE: &str = "123485800001000100000001055f6c646170045f746370026463065f6d7364637304636f7270076578616d706c650000210001c00c0021000100000258000d0000006401850464633031c021c045000100010000025800040a00000a";

    fn names(ev: &DnsEvidence) -> Vec<(IpAddr, String, u64)> {
        ev.address_names()
            .map(|(a, n, f)| (a, n.to_string(), f.frame))
            .collect()
    }

    /// `bytes` decoded as one message.
    fn message(bytes: &[u8]) -> Result<Message, DnsError> {
        let mut m = Message::default();
        m.read(bytes).map(|()| m)
    }

    #[test]
    fn cname_chain_names_the_address() {
        let mut sink = crate::evidence::Evidence::default();
        let mut a = DnsAnalyzer::new();
        a.datagram(
            &ctx(36, Dir::ToClient, Transport::Udp, 53),
            &hex(CNAME_CHAIN_36),
            &mut sink,
        );
        assert_eq!(a.service(), Some("dns"));
        let ev = finish(&mut a, std::mem::take(&mut sink)).dns.unwrap();
        // tshark frame 36: dns.a 52.114.158.91, dns.cname global.asimov... , skypedataprd...
        let ip: IpAddr = "52.114.158.91".parse().unwrap();
        assert_eq!(
            names(&ev),
            vec![
                (
                    ip,
                    "global.asimov.events.data.trafficmanager.net".into(),
                    36
                ),
                (ip, "skypedataprdcolwus04.cloudapp.net".into(), 36),
                (ip, "v10.events.data.microsoft.com".into(), 36),
            ]
        );
        let cn: Vec<_> = ev
            .answers
            .iter()
            .filter(|f| f.value.rtype == "CNAME")
            .map(|f| f.value.data.clone())
            .collect();
        assert_eq!(
            cn,
            // Ordered by owner name: global.asimov... -> skypedataprd..., v10... -> global.asimov...
            vec![
                "skypedataprdcolwus04.cloudapp.net",
                "global.asimov.events.data.trafficmanager.net"
            ]
        );
        assert_eq!(ev.rcodes.get("NOERROR"), 1);
    }

    #[test]
    fn srv_and_additional_address() {
        let mut sink = crate::evidence::Evidence::default();
        let m = message(&hex(SRV_RESPONSE)).unwrap();
        let RData::Srv {
            priority,
            weight,
            port,
            target,
        } = m.records[0].data
        else {
            panic!("{:?}", m.records[0]);
        };
        assert_eq!(
            (priority, weight, port, m.name(target)),
            (0, 100, 389, "dc01.corp.example")
        );
        let mut a = DnsAnalyzer::new();
        a.datagram(
            &ctx(5, Dir::ToClient, Transport::Udp, 53),
            &hex(SRV_RESPONSE),
            &mut sink,
        );
        let ev = finish(&mut a, std::mem::take(&mut sink)).dns.unwrap();
        let srv: Vec<_> = ev.srv.iter().map(|f| f.value.clone()).collect();
        assert_eq!(
            srv,
            vec![SrvTarget {
                name: "_ldap._tcp.dc._msdcs.corp.example".into(),
                target: "dc01.corp.example".into(),
                port: 389
            }]
        );
        assert_eq!(
            names(&ev),
            vec![("10.0.0.10".parse().unwrap(), "dc01.corp.example".into(), 5)]
        );
        assert_eq!(
            serde_json::to_string(&ev.queries).unwrap(),
            r#"[{"value":{"name":"_ldap._tcp.dc._msdcs.corp.example","type":"SRV"},"frame":5,"count":1}]"#
        );
    }

    #[test]
    fn an_update_and_its_refusal_name_no_host() {
        let mut a = DnsAnalyzer::new();
        let mut f = TcpFeeder::new(53);
        f.bytes(&mut a, 6, Dir::ToServer, &hex(TCP_UPDATE_6));
        f.bytes(&mut a, 8, Dir::ToClient, &hex(TCP_UPDATE_REFUSED_8));
        let ev = f.finish(&mut a).dns.unwrap();
        // tshark 6/8: dns.flags.opcode 5, zone certflow.lab type 6 (SOA), rcode 5 (Refused).
        assert_eq!(
            serde_json::to_string(&ev.queries).unwrap(),
            r#"[{"value":{"name":"certflow.lab","type":"SOA"},"frame":6,"count":2}]"#
        );
        assert_eq!(
            (
                ev.messages.get("update"),
                ev.messages.get("update_response")
            ),
            (1, 1)
        );
        assert_eq!(ev.messages.get("query") + ev.messages.get("response"), 0);
        assert_eq!(ev.rcodes.get("REFUSED"), 1);
        assert!(names(&ev).is_empty());
        assert_eq!((ev.answers.len(), ev.malformed), (0, 0));
    }

    #[test]
    fn tcp_length_prefix_split_anywhere() {
        let q = hex(TCP_QUERY_353);
        let r = hex(TCP_ANSWER_354);
        assert!(probe(Transport::Tcp, &q));
        for step in [1, 3, 100] {
            let mut a = DnsAnalyzer::new();
            let mut f = TcpFeeder::new(53);
            for (frame, dir, bytes) in [(353, Dir::ToServer, &q), (354, Dir::ToClient, &r)] {
                for c in bytes.chunks(step) {
                    f.bytes(&mut a, frame, dir, c);
                }
            }
            assert_eq!(f.pending(), (0, 0));
            let ev = f.finish(&mut a).dns.unwrap();
            // tshark 353/354: dns.qry.name tcptest.example.org type 1, dns.a 10.10.10.10.
            assert_eq!(
                names(&ev),
                vec![(
                    "10.10.10.10".parse().unwrap(),
                    "tcptest.example.org".into(),
                    354
                )]
            );
            assert_eq!(ev.queries.iter().next().unwrap().first.frame, 353);
            assert_eq!(ev.messages.get("query"), 1);
            assert_eq!(ev.messages.get("response"), 1);
        }
    }

    #[test]
    fn names_decode_label_by_label() {
        // Each name appended to a text that already holds one, as a message's names are.
        let name = |msg: &[u8], pos: usize| {
            let mut text = String::from("before");
            let after = name_into(msg, pos, &mut text, &mut Vec::new())?;
            Ok::<_, DnsError>((text.split_off(6), after))
        };
        // The question name of CNAME_CHAIN_36, read again after the fast path for valid UTF-8.
        let full = hex(CNAME_CHAIN_36);
        let (n, after) = name(&full, 12).unwrap();
        assert_eq!(after, 12 + 31);
        assert!(n.is_ascii() && n.contains('.'), "{n}");
        // Invalid UTF-8 is replaced label by label: a two-byte sequence cut by the label
        // boundary (c3 | a9) gives two replacement characters, a whole one decodes.
        let cut = [1, 0xc3, 1, 0xa9, 0];
        assert_eq!(name(&cut, 0).unwrap().0, "\u{fffd}.\u{fffd}");
        let whole = [2, 0xc3, 0xa9, 1, b'x', 0];
        assert_eq!(name(&whole, 0).unwrap().0, "\u{e9}.x");
        let bad = [3, b'a', 0xff, b'b', 0];
        assert_eq!(name(&bad, 0).unwrap().0, "a\u{fffd}b");
        assert_eq!(name(&[0], 0).unwrap(), ("<Root>".to_string(), 1));
        // A long name.
        let mut long = Vec::new();
        for _ in 0..4 {
            long.push(40);
            long.extend([b'a'; 40]);
        }
        long.push(0);
        assert_eq!(name(&long, 0).unwrap().0.len(), 4 * 40 + 3);
    }

    #[test]
    fn labels_of_known_and_unknown_codes() {
        assert_eq!(parse::RrType(33).label(), "SRV");
        assert_eq!(parse::RrType(65280).label(), "TYPE65280");
        assert_eq!(parse::rcode_label(3), "NXDOMAIN");
        assert_eq!(parse::rcode_label(12), "RCODE12");
    }

    #[test]
    fn truncated_and_corrupted_messages() {
        let mut sink = crate::evidence::Evidence::default();
        let full = hex(CNAME_CHAIN_36);
        for n in 0..full.len() {
            assert!(message(&full[..n]).is_err(), "prefix {n}");
        }
        // Pointer loop: the answer name points at itself.
        let mut looped = full.clone();
        // First answer's name pointer (c00c): after the header, the 31-byte question name and
        // QTYPE/QCLASS.
        let at = 12 + 31 + 4;
        assert_eq!(&full[at..at + 2], &[0xc0, 0x0c]);
        looped[at] = 0xc0;
        looped[at + 1] = at as u8;
        assert_eq!(message(&looped).err(), Some(DnsError::NameTooLong));
        assert_eq!(
            name_into(&[0x80, 0], 0, &mut String::new(), &mut Vec::new()),
            Err(DnsError::BadLabel)
        );
        // RDLENGTH of the A record claims more than is there.
        let mut long = full.clone();
        let l = long.len();
        long[l - 5] = 0x40;
        let mut a = DnsAnalyzer::new();
        let c = ctx(1, Dir::ToClient, Transport::Udp, 53);
        a.datagram(&c, &long, &mut sink);
        a.datagram(&c, &full[..20], &mut sink);
        assert_eq!(
            finish(&mut a, std::mem::take(&mut sink))
                .dns
                .unwrap()
                .malformed,
            2
        );
        // TCP: a length below the header size resynchronises on the next real message.
        let mut a = DnsAnalyzer::new();
        let c = ctx(1, Dir::ToServer, Transport::Tcp, 53);
        let mut data = vec![0x00, 0x03, 0xff, 0xff, 0xff];
        data.extend(hex(TCP_QUERY_353));
        let mut buf = data.clone();
        for _ in 0..4 {
            let used = a.stream(&c, &buf, &mut sink);
            buf.drain(..used);
        }
        assert!(buf.is_empty());
        let ev = finish(&mut a, std::mem::take(&mut sink)).dns.unwrap();
        assert_eq!(ev.malformed, 1);
        assert_eq!(ev.messages.get("query"), 1);
    }

    #[test]
    fn mutated_messages_never_panic() {
        let samples = [
            hex(CNAME_CHAIN_36),
            hex(SRV_RESPONSE),
            hex(TCP_QUERY_353),
            hex(TCP_ANSWER_354),
        ];
        crate::proto::testutil::mutate_and_feed(new, &samples, 3000);
    }

    #[test]
    fn json_field_names() {
        let mut sink = crate::evidence::Evidence::default();
        let mut a = DnsAnalyzer::new();
        let c = ctx(5, Dir::ToClient, Transport::Udp, 53);
        a.datagram(&c, &hex(SRV_RESPONSE), &mut sink);
        a.datagram(&c, &[0; 3], &mut sink);
        let js =
            serde_json::to_value(finish(&mut a, std::mem::take(&mut sink)).dns.unwrap()).unwrap();
        let mut keys: Vec<_> = js.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            vec![
                "answers",
                "malformed",
                "messages",
                "names",
                "queries",
                "rcodes",
                "srv"
            ]
        );
        assert_eq!(
            js["names"][0]["value"],
            serde_json::json!({"address": "10.0.0.10", "name": "dc01.corp.example"})
        );
        assert_eq!(
            js["answers"][0]["value"],
            serde_json::json!({"name": "_ldap._tcp.dc._msdcs.corp.example", "type": "SRV", "data": "0 100 389 dc01.corp.example"})
        );
    }

    #[test]
    fn probe_is_strict() {
        assert!(probe(Transport::Udp, &hex(CNAME_CHAIN_36)));
        assert!(!probe(Transport::Udp, &hex(CNAME_CHAIN_36)[..20]));
        assert!(!probe(Transport::Tcp, &hex(CNAME_CHAIN_36)));
        assert!(!probe(Transport::Udp, b"GET / HTTP/1.1\r\n\r\n"));
        // Kerberos AS-REQ start (kerberos_asreq_tgsreq_ldap_smb2_aduser1.pcap style APPLICATION 10).
        assert!(!probe(
            Transport::Udp,
            &[0x6a, 0x82, 0x01, 0x2c, 0x30, 0x82, 0x01, 0x28, 0xa1, 0x03, 0x02, 0x01, 0x05]
        ));
        // NetBIOS name query, SYNTHETIC_http_certsrv_cep_ces_mscep_urls.pcap frame 536 (udp 137).
        assert!(!probe(
            Transport::Udp,
            &hex("12340110000100000000000020464845504643454c4644464545424645454a4550454f434143414341434141410000200001")
        ));
        // CLDAP search (BER SEQUENCE).
        assert!(!probe(
            Transport::Udp,
            &[0x30, 0x84, 0, 0, 0, 0x5c, 2, 1, 1, 0x63, 0x84, 0]
        ));
    }

    #[test]
    fn wmi_capture_dns_flows() {
        // dcom_wmi_activation_oxid_smb_dns.pcap: udp 63959 <-> 53 (frames 35, 36), udp 60587 <-> 53
        // (frames 231, 232: wpad.theshire.local NXDOMAIN).
        let Some(p) = packets("dcom_wmi_activation_oxid_smb_dns.pcap") else {
            return;
        };
        let mut a = DnsAnalyzer::new();
        let ev = run_udp(&mut a, &conn(&p, Transport::Udp, 63959, 53), 53)
            .dns
            .unwrap();
        let q = ev.queries.iter().next().unwrap();
        assert_eq!(
            (
                q.value.name.as_str(),
                &*q.value.qtype,
                q.first.frame,
                q.count
            ),
            ("v10.events.data.microsoft.com", "A", 35, 2)
        );
        assert!(names(&ev).contains(&(
            "52.114.158.91".parse().unwrap(),
            "v10.events.data.microsoft.com".into(),
            36
        )));
        let mut a = DnsAnalyzer::new();
        let ev = run_udp(&mut a, &conn(&p, Transport::Udp, 60587, 53), 53)
            .dns
            .unwrap();
        // tshark frame 232: dns.flags.rcode 3.
        assert_eq!(ev.rcodes.get("NXDOMAIN"), 1);
        assert!(ev.names.is_empty());
        assert_eq!(
            ev.queries.iter().next().unwrap().value.name,
            "wpad.theshire.local"
        );
    }
}
