//! Tests over every public capture at once: the content probes, and the analyzers as the
//! production pipeline ([`crate::analysis::analyze_with`]) drives them.

use std::collections::{BTreeMap, BTreeSet};

use crate::capture::{Input, ReadOptions};
use crate::proto::testutil::{all_captures, packets_at};

/// Every capture: the first payload of each connection is offered to the TLS, DNS, HTTP and SMB
/// probes; none may claim a connection whose server port belongs to another protocol certflow
/// dissects (Kerberos, EPM, LDAP, kpasswd, GC), and each claim must sit on a port that fits
/// (TLS on 443, and on 3389, 1119 and 27037 where the capture joined an RDP, Battle.net and
/// Steam session after its handshake; DNS on 53 and its multicast cousins mDNS 5353 / LLMNR
/// 5355, HTTP on 80 / WinRM 5985 / others, SMB on 445 / 139; the ports tshark shows these
/// protocols on in these files).
#[test]
fn probes_claim_only_their_protocol() {
    let Some(files) = all_captures() else { return };
    let mut claims = 0;
    for p in files {
        let n = p.display();
        let mut seen = BTreeSet::new();
        let segs = packets_at(&p);
        for s in segs.iter().filter(|s| !s.payload.is_empty()) {
            let (t, sp, dp) = (s.transport, s.sport, s.dport);
            if !seen.insert((t, sp.min(dp), sp.max(dp))) {
                continue;
            }
            let port = sp.min(dp);
            for d in [
                &crate::proto::tls::DISSECTOR,
                &crate::proto::dns::DISSECTOR,
                &crate::proto::http::DISSECTOR,
                &crate::proto::smb::DISSECTOR,
            ] {
                if !(d.probe)(t, &s.payload) {
                    continue;
                }
                claims += 1;
                let fits = match d.name {
                    "tls" => matches!(port, 443 | 1119 | 3389 | 27037),
                    "dns" => matches!(port, 53 | 5353 | 5355),
                    "http" => !matches!(
                        port,
                        53 | 88 | 135 | 139 | 389 | 443 | 445 | 464 | 636 | 3268
                    ),
                    "smb" => matches!(port, 139 | 445),
                    _ => false,
                };
                let frame = s.frame;
                assert!(
                    fits,
                    "{n} frame {frame}: {} claimed {t:?} {sp}->{dp}",
                    d.name
                );
            }
        }
    }
    // When written, the probes claimed 24 TLS, 63 DNS, 49 HTTP and 215 SMB connections (of
    // ~770 port pairs); a probe that silently stops matching fails here.
    assert!(claims > 300, "only {claims} claims");
}

/// `malformed` of every protocol evidence in `v` (the JSON of one flow's evidence).
fn malformed(v: &serde_json::Value, into: &mut BTreeMap<String, u64>) {
    let Some(m) = v.as_object() else { return };
    for (proto, e) in m {
        if let Some(n) = e.get("malformed").and_then(|x| x.as_u64()) {
            if n > 0 {
                *into.entry(proto.clone()).or_default() += n;
            }
        }
    }
}

/// Every public capture through the production pipeline (reader, decoder, flow table, TCP
/// reassembly, every analyzer): no analyzer may count a malformed message, except where the
/// capture really holds one (listed in [`KNOWN_MALFORMED`] with the reason).
/// `SWEEP_JSON=1` prints each flow's evidence, for comparing with tshark.
#[test]
fn no_analyzer_counts_malformed_on_public_captures() {
    let Some(files) = all_captures() else { return };
    let mut got: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let opts = ReadOptions { hash: false };
    for p in &files {
        let file = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let an = crate::analysis::analyze_with(&[Input::Path(p.clone())], &opts, true)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let mut m = BTreeMap::new();
        for f in &an.flows {
            let js = serde_json::to_value(&f.evidence).expect("json");
            if std::env::var("SWEEP_JSON").is_ok() {
                println!("JSON {file} {:?} {js}", f.key);
            }
            malformed(&js, &mut m);
        }
        if !m.is_empty() {
            got.insert(file, m);
        }
    }
    let want: BTreeMap<String, BTreeMap<String, u64>> =
        KNOWN_MALFORMED
            .iter()
            .fold(BTreeMap::new(), |mut acc, (f, proto, n, _why)| {
                acc.entry(f.to_string())
                    .or_default()
                    .insert(proto.to_string(), *n);
                acc
            });
    assert_eq!(got, want);
}

/// (capture, evidence key, malformed count, why) of the public captures whose traffic really
/// holds messages an analyzer cannot read.
const KNOWN_MALFORMED: &[(&str, &str, u64, &str)] = &[
    (
        "SYNTHETIC_http_certsrv_cep_ces_mscep_urls.pcap",
        "kerberos",
        6,
        "generated, not real traffic: tshark reports BER errors in frames 558/559 (\
         'Wrong field in SEQUENCE'), frame 298 is a 40-byte stub, and the records of frames \
         418, 485 and 769 announce more bytes than the connection ever sends (tshark: TCP \
         segment of a reassembled PDU, never completed)",
    ),
    (
        "SYNTHETIC_http_certsrv_cep_ces_mscep_urls.pcap",
        "smb",
        1,
        "generated, not real traffic: frame 800's first SMB1 message (a DELETE request) says \
         WordCount 22 in a 34-byte message, 44 bytes short of its words (tshark: 'Malformed \
         Packet (Exception occurred)' after 'Word Count (WCT): 22')",
    ),
    (
        "SYNTHETIC_http_certsrv_cep_ces_mscep_urls.pcap",
        "tls",
        1,
        "generated, not real traffic: tcp.stream 34 opens on 443 with its handshake (SYN 308) \
         and then sends HTTP/2's cleartext preface 'PRI * HTTP/2.0' (frame 311), not a TLS \
         record (tshark: plain TCP, no TLS)",
    ),
    (
        "kerberos_ldap_smb2_drsuapi_ndpi.pcap",
        "kerberos",
        29,
        "nDPI's sample keeps only some segments of each port-88 connection (e.g. frame 4 \
         starts at relative seq 1461 with bytes 1-1460 absent): tshark shows exactly 29 \
         payload segments on port 88 as 'TCP segment of a reassembled PDU' that never \
         complete, one malformed each",
    ),
    (
        "kerberos_ldap_smb2_drsuapi_ndpi.pcap",
        "ldap",
        7,
        "captured mid-stream: the client payloads to 389 (frames 13, 24, 31, 40, 42 ...) do \
         not start with an LDAPMessage (frame 13 starts f1 36 5c d0); tshark does not \
         dissect them as LDAP either, only the 7 bindResponses",
    ),
];
