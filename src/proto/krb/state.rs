//! Per-connection state of the Kerberos and kpasswd analyzers: TCP record framing (RFC 4120
//! 7.2.2) with resynchronisation after gaps, UDP datagrams, and the evidence being filled.

use crate::evidence::Evidence;
use crate::proto::{Analyzer, Ctx, Dir, Transport};

use super::evidence::{krb_of, KpasswdEvidence};
use super::parse::{self, Record};

/// Bytes after the record mark needed before its content is checked (the longest prefix
/// [`parse::looks_like_kpasswd`] reads: 6-byte header, 6-byte APPLICATION header, 6-byte
/// SEQUENCE header, 5 bytes of pvno).
const CHECK_BYTES: usize = 24;

/// Bytes kept unconsumed while searching for a record start after a gap: a record mark and the
/// start of a message straddling two segments are found once the next segment arrives.
const RESYNC_KEEP: usize = 4 + CHECK_BYTES;

/// How a record's first bytes are checked before the analyzer waits for the rest of it.
type StartCheck = fn(&[u8], usize) -> bool;

fn krb_start(body: &[u8], len: usize) -> bool {
    parse::looks_like_message(body, Some(len))
}

fn kpasswd_start(body: &[u8], len: usize) -> bool {
    parse::looks_like_kpasswd(body, len) || (body.first() == Some(&0x7e) && krb_start(body, len))
}

/// What the framing loop found at the head of the buffer.
enum Head {
    /// Wait for more bytes.
    Wait,
    /// A whole, plausible record of this many content bytes.
    Record(usize),
    /// Not a plausible record start.
    Bad,
}

fn head(data: &[u8], check: StartCheck) -> Head {
    let len = match parse::record(data) {
        Record::Invalid => return Head::Bad,
        Record::Complete(len) => len,
        Record::Incomplete => match data.get(..4) {
            None => return Head::Wait,
            Some(m) => u32::from_be_bytes([m[0], m[1], m[2], m[3]]) as usize,
        },
    };
    let avail = data.len() - 4;
    if avail < len.min(CHECK_BYTES) {
        return Head::Wait;
    }
    let body = &data[4..4 + avail.min(len)];
    if !check(body, len) {
        return Head::Bad;
    }
    if avail < len {
        Head::Wait
    } else {
        Head::Record(len)
    }
}

/// Splits record-marked TCP bytes of one direction into messages, calling `on_record` with each
/// message (mark removed). Returns the bytes consumed. Bad marks are counted in `malformed` and
/// start a search for the next plausible record.
fn frame<'a>(
    resync: &mut bool,
    malformed: &mut u64,
    data: &'a [u8],
    check: StartCheck,
    mut on_record: impl FnMut(&'a [u8]),
) -> usize {
    let mut at = 0;
    while at < data.len() {
        let rest = &data[at..];
        if *resync {
            match (0..rest.len()).find(|&i| matches!(head(&rest[i..], check), Head::Record(_))) {
                Some(i) => {
                    at += i;
                    *resync = false;
                }
                None => {
                    // Keep a tail in case a record start straddles segments, unless the tail
                    // is a plausible start waiting for its completion.
                    let wait = (0..rest.len()).find(|&i| {
                        rest.len() - i <= RESYNC_KEEP
                            || matches!(head(&rest[i..], check), Head::Wait)
                    });
                    return at + wait.unwrap_or(rest.len());
                }
            }
            continue;
        }
        match head(rest, check) {
            Head::Wait => break,
            Head::Record(len) => {
                on_record(&rest[4..4 + len]);
                at += 4 + len;
            }
            Head::Bad => {
                *malformed += 1;
                *resync = true;
            }
        }
    }
    at
}

/// Kerberos analyzer (RFC 4120): UDP datagrams or record-marked TCP. What messages show is
/// written straight into the sink's Kerberos evidence (see [`Analyzer`]); the analyzer keeps
/// only its framing state.
pub struct KrbAnalyzer {
    resync: [bool; 2],
    proved: bool,
}

impl KrbAnalyzer {
    /// A fresh analyzer for one connection.
    pub fn new(_transport: Transport, _server_port: u16) -> Self {
        KrbAnalyzer {
            resync: [false; 2],
            proved: false,
        }
    }

    fn message(&mut self, ctx: &Ctx, msg: &[u8], sink: &mut Evidence) {
        match parse::parse_message(msg) {
            Ok(m) => {
                self.proved = true;
                krb_of(sink).record(&m, ctx.frame);
            }
            Err(e) => {
                let ev = krb_of(sink);
                ev.malformed += 1;
                // A body that does not decode inside a well-formed Kerberos envelope (tag,
                // SEQUENCE, pvno 5) still proves Kerberos and its message type, as tshark shows.
                if e == parse::KrbParseError::Malformed && parse::looks_like_message(msg, None) {
                    if let Some(t) = msg.first().and_then(|&b| parse::MsgType::from_tag(b)) {
                        self.proved = true;
                        ev.record_type_only(t, ctx.frame);
                    }
                }
            }
        }
    }
}

/// The kpasswd evidence of `sink`, created empty if it has none yet (called only to write).
fn kpasswd_of(sink: &mut Evidence) -> &mut KpasswdEvidence {
    sink.kpasswd.get_or_insert_with(Default::default)
}

impl Analyzer for KrbAnalyzer {
    fn stream(&mut self, ctx: &Ctx, data: &[u8], sink: &mut Evidence) -> usize {
        // Each record is handled as it is framed (no list of records per call); the framing
        // state is copied out so the handler may borrow the analyzer.
        let d = ctx.dir.index();
        let mut resync = self.resync[d];
        let mut malformed = 0;
        let used = frame(&mut resync, &mut malformed, data, krb_start, |m| {
            self.message(ctx, m, sink)
        });
        self.resync[d] = resync;
        if malformed > 0 {
            krb_of(sink).malformed += malformed;
        }
        used
    }

    fn gap(&mut self, dir: Dir) {
        self.resync[dir.index()] = true;
    }

    fn datagram(&mut self, ctx: &Ctx, data: &[u8], sink: &mut Evidence) {
        if data.len() > parse::MAX_RECORD_LEN {
            krb_of(sink).malformed += 1;
            return;
        }
        self.message(ctx, data, sink);
    }

    /// A message cut by the snap length: its envelope (tag, SEQUENCE, pvno 5) still proves
    /// Kerberos and its message type, as for a body that does not decode, and its whole first
    /// fields give their facts ([`super::strict::cut_message`]).
    fn cut(&mut self, ctx: &Ctx, head: &[u8], sink: &mut Evidence) {
        let msg = match ctx.transport {
            // The record mark first (RFC 4120 7.2.2), unless resynchronising after a hole.
            Transport::Tcp if self.resync[ctx.dir.index()] => return,
            Transport::Tcp => match parse::record(head) {
                parse::Record::Incomplete => head.get(4..).unwrap_or_default(),
                _ => return,
            },
            Transport::Udp => head,
        };
        if !parse::looks_like_message(msg, None) {
            return;
        }
        if let Some(m) = super::strict::cut_message(msg) {
            self.proved = true;
            krb_of(sink).record(&m, ctx.frame);
        }
    }

    fn service(&self) -> Option<&'static str> {
        self.proved.then_some("kerberos")
    }

    fn finish(&mut self, _sink: &mut Evidence) {
        // Everything was written as it was read.
    }
}

/// kpasswd analyzer (RFC 3244): UDP datagrams or record-marked TCP. Writes into the sink's
/// kpasswd evidence as it reads (see [`Analyzer`]).
pub struct KpasswdAnalyzer {
    resync: [bool; 2],
    proved: bool,
}

impl KpasswdAnalyzer {
    /// A fresh analyzer for one connection.
    pub fn new(_transport: Transport, _server_port: u16) -> Self {
        KpasswdAnalyzer {
            resync: [false; 2],
            proved: false,
        }
    }

    fn message(&mut self, ctx: &Ctx, msg: &[u8], sink: &mut Evidence) {
        let ev = kpasswd_of(sink);
        match parse::parse_kpasswd(msg) {
            Ok(m) => {
                self.proved = true;
                ev.record(&m, ctx.frame);
            }
            Err(_) => ev.malformed += 1,
        }
    }
}

impl Analyzer for KpasswdAnalyzer {
    fn stream(&mut self, ctx: &Ctx, data: &[u8], sink: &mut Evidence) -> usize {
        let d = ctx.dir.index();
        let mut resync = self.resync[d];
        let mut malformed = 0;
        let used = frame(&mut resync, &mut malformed, data, kpasswd_start, |m| {
            self.message(ctx, m, sink)
        });
        self.resync[d] = resync;
        if malformed > 0 {
            kpasswd_of(sink).malformed += malformed;
        }
        used
    }

    fn gap(&mut self, dir: Dir) {
        self.resync[dir.index()] = true;
    }

    fn datagram(&mut self, ctx: &Ctx, data: &[u8], sink: &mut Evidence) {
        self.message(ctx, data, sink);
    }

    fn service(&self) -> Option<&'static str> {
        self.proved.then_some("kpasswd")
    }

    fn finish(&mut self, _sink: &mut Evidence) {
        // Everything was written as it was read.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Merge;
    use crate::proto::krb::KrbEvidence;
    use crate::proto::testutil::{
        frames, hex, run_parts, run_tcp, run_udp, select, tcp_conn, Part, TcpFeeder,
    };

    fn names(f: &crate::evidence::Facts<super::super::Code>) -> Vec<(String, u64)> {
        f.iter()
            .map(|x| (x.value.name.clone(), x.first.frame))
            .collect()
    }

    #[test]
    fn kerberoast_tgs_rep_over_two_segments() {
        // kerberos_kerberoast_tgsreq_rc4.pcap tcp.stream 0: TGS-REQ frame 4 (1600 bytes), TGS-REP
        // in frames 6 (1460) + 7 (88). tshark: msg_type 12 (f4) and 13 (f7), SNameString
        // krbtgt/OFFENSE.LOCAL + HTTP/dc-mantvydas.offense.local, CNameString spotless, ticket
        // etype 23 and enc-part etype 18 in the TGS-REP.
        let Some(c) = tcp_conn("kerberos_kerberoast_tgsreq_rc4.pcap", 49216, 88) else {
            return;
        };
        let mut a = KrbAnalyzer::new(Transport::Tcp, 88);
        let mut f = TcpFeeder::new(88);
        for (d, s) in c.iter().filter(|(_, s)| s.frame <= 6) {
            f.seg(&mut a, *d, s);
        }
        // First half of the TGS-REP waits for the rest: nothing consumed yet.
        assert_eq!(f.pending(), (0, 1460));
        assert_eq!(f.ev.kerberos.as_ref().unwrap().messages, 1);
        for (d, s) in c.iter().filter(|(_, s)| s.frame > 6) {
            f.seg(&mut a, *d, s);
        }
        assert_eq!(f.pending(), (0, 0));
        assert_eq!(a.service(), Some("kerberos"));
        let k = f.finish(&mut a).kerberos.unwrap();
        assert_eq!(k.messages, 2);
        assert_eq!(k.malformed, 0);
        assert_eq!(
            names(&k.msg_types),
            vec![("TGS-REQ".into(), 4), ("TGS-REP".into(), 7)]
        );
        assert_eq!(
            frames(&k.spns),
            vec![("HTTP/dc-mantvydas.offense.local".into(), 4)]
        );
        assert_eq!(
            frames(&k.ticket_spns),
            vec![
                ("krbtgt/OFFENSE.LOCAL".into(), 4),
                ("HTTP/dc-mantvydas.offense.local".into(), 7)
            ]
        );
        assert_eq!(
            frames(&k.client_principals),
            vec![("spotless@OFFENSE.LOCAL".into(), 7)]
        );
        assert_eq!(
            names(&k.ticket_etypes),
            vec![
                ("aes256-cts-hmac-sha1-96".into(), 4),
                ("rc4-hmac".into(), 7)
            ]
        );
        assert_eq!(
            names(&k.etypes_used),
            vec![("aes256-cts-hmac-sha1-96".into(), 7)]
        );
        assert_eq!(frames(&k.realms), vec![("OFFENSE.LOCAL".into(), 4)]);
        // Counted once per message although both messages name it twice.
        assert_eq!(k.realms.iter().next().unwrap().count, 2);
        assert!(!k.pkinit);
    }

    #[test]
    fn as_tgs_error_streams() {
        // kerberos_msg_types_as_tgs_error.pcap, tcp.stream 1..=5 (one connection each).
        // tshark: f8 AS-REQ robin, f9 KRB-ERROR 25 (its METHOD-DATA lists padata 16 as a hint),
        // f16 AS-REQ with padata 2,128, f18 AS-REP, f26/29 TGS ldap/dc01, f37/38 TGS
        // krbtgt/CYLERA.LAB, f45/48 TGS http/1027814774sa.
        let mut total = KrbEvidence::default();
        // tcp.stream 1..=5 are client ports 50120..=50124.
        for port in 50120..=50124 {
            let Some(segs) = tcp_conn("kerberos_msg_types_as_tgs_error.pcap", port, 88) else {
                return;
            };
            let mut a = KrbAnalyzer::new(Transport::Tcp, 88);
            let ev = run_tcp(&mut a, &segs, 88);
            total.merge(*ev.kerberos.unwrap());
        }
        assert_eq!(total.messages, 10);
        assert_eq!(total.malformed, 0);
        assert_eq!(total.msg_types.len(), 5);
        assert_eq!(total.msg_types.iter().map(|f| f.count).sum::<u64>(), 10);
        assert_eq!(
            names(&total.errors),
            vec![("KDC_ERR_PREAUTH_REQUIRED".into(), 9)]
        );
        assert_eq!(total.errors.iter().next().unwrap().value.code, 25);
        assert!(!total.pkinit, "hint list inside KRB-ERROR is not PKINIT");
        assert!(!total.padata_types.iter().any(|p| p.value.code == 16));
        assert_eq!(
            frames(&total.spns),
            vec![
                ("krbtgt/CYLERA.LAB".into(), 8),
                ("ldap/dc01".into(), 26),
                ("http/1027814774sa".into(), 45)
            ]
        );
        assert_eq!(
            frames(&total.client_principals),
            vec![("robin@CYLERA.LAB".into(), 8)]
        );
        assert_eq!(
            names(&total.padata_types),
            vec![
                ("PA-PAC-REQUEST".into(), 8),
                ("PA-ENC-TIMESTAMP".into(), 16),
                ("PA-TGS-REQ".into(), 26),
                ("PA-PAC-OPTIONS".into(), 26)
            ]
        );
        assert_eq!(frames(&total.realms), vec![("CYLERA.LAB".into(), 8)]);
    }

    #[test]
    fn udp_exchange() {
        // kerberos_udp_vlan_krb_error.pcap frames 1 (AS-REQ) and 2 (KRB-ERROR 52).
        let file = "kerberos_udp_vlan_krb_error.pcap";
        let Some(segs) = select(file, Transport::Udp, 88, |_| true) else {
            return;
        };
        assert!(crate::proto::krb::probe(Transport::Udp, &segs[0].1.payload));
        assert!(crate::proto::krb::probe(Transport::Udp, &segs[1].1.payload));
        let mut a = KrbAnalyzer::new(Transport::Udp, 88);
        let ev = run_udp(&mut a, &segs, 88);
        let k = ev.kerberos.unwrap();
        assert_eq!(
            names(&k.msg_types),
            vec![("AS-REQ".into(), 1), ("KRB-ERROR".into(), 2)]
        );
        assert_eq!(
            names(&k.errors),
            vec![("KRB_ERR_RESPONSE_TOO_BIG".into(), 2)]
        );
        assert_eq!(k.etypes_requested.len(), 8);
    }

    /// kerberos_tcp_vlan_optional_sname.pcap frames 3 and 4 (tcp.payload), see parse.rs.
    fn optional_sname_segments() -> Vec<Part> {
        vec![
            (
                3,
                Dir::ToServer,
                hex(crate::proto::testutil::KRB_TCP_AS_REQ_NO_SNAME),
            ),
            (
                4,
                Dir::ToClient,
                hex(crate::proto::testutil::KRB_TCP_ERROR_60),
            ),
        ]
    }

    #[test]
    fn byte_by_byte_and_junk_then_resync() {
        let segs = optional_sname_segments();
        // Every split point: the analyzer waits, never misparses.
        let mut a = KrbAnalyzer::new(Transport::Tcp, 88);
        let mut f = TcpFeeder::new(88);
        for (frame, dir, bytes) in &segs {
            for b in bytes {
                f.bytes(&mut a, *frame, *dir, &[*b]);
            }
        }
        let k = f.finish(&mut a).kerberos.unwrap();
        assert_eq!((k.messages, k.malformed), (2, 0));
        // Junk before a record (a connection picked up mid-message): one malformed, then the
        // record is found.
        let mut a = KrbAnalyzer::new(Transport::Tcp, 88);
        let mut junk = vec![0x17, 0x03, 0x03, 0x00, 0x20, 0x41, 0x42];
        junk.extend_from_slice(&segs[0].2);
        let ev = run_parts(
            &mut a,
            Transport::Tcp,
            88,
            &[(3, Dir::ToServer, junk), segs[1].clone()],
        );
        let k = ev.kerberos.unwrap();
        assert_eq!((k.messages, k.malformed), (2, 1));
        // After a gap the next record is found again.
        // The first 50 bytes of frame 3, then bytes lost, then frame 3 whole: the reassembly
        // declares the hole a gap when it gives up on it (here: at the end).
        let mut a = KrbAnalyzer::new(Transport::Tcp, 88);
        let mut f = TcpFeeder::new(88);
        let (frame, dir, bytes) = &segs[0];
        f.bytes(&mut a, *frame, *dir, &bytes[..50]);
        f.hole(*dir, 10);
        f.bytes(&mut a, *frame, *dir, bytes);
        f.flush(&mut a);
        assert_eq!(f.gaps(), 1);
        let k = f.finish(&mut a).kerberos.unwrap();
        assert_eq!((k.messages, k.malformed), (1, 0));
    }

    #[test]
    fn corrupted_record_length_is_counted() {
        let mut segs = optional_sname_segments();
        // Record mark says 0x6b but the message is 0x6a long: the shape check fails.
        segs[0].2[3] = 0x6b;
        let mut a = KrbAnalyzer::new(Transport::Tcp, 88);
        let ev = run_parts(&mut a, Transport::Tcp, 88, &segs);
        let k = ev.kerberos.unwrap();
        assert_eq!((k.messages, k.malformed), (1, 1));
        // Huge length: invalid, never buffered.
        let mut a = KrbAnalyzer::new(Transport::Tcp, 88);
        let mut f = TcpFeeder::new(88);
        f.bytes(
            &mut a,
            1,
            Dir::ToServer,
            &[0x7f, 0xff, 0xff, 0xff, 0x6a, 0x00],
        );
        // Only a short tail is kept while looking for the next record, not the announced 2 GiB.
        assert!(f.pending().0 <= RESYNC_KEEP);
        assert_eq!(f.ev.kerberos.as_ref().unwrap().malformed, 1);
        assert_eq!(a.service(), None);
    }
}

#[cfg(test)]
mod pkinit_tests {
    use super::*;
    use crate::proto::testutil::{ctx, finish, hex};

    #[test]
    fn pa_pk_as_req_in_a_request_is_pkinit() {
        // No capture has a PKINIT AS-REQ (PROVENANCE.md). kerberos_udp_vlan_krb_error.pcap
        // frame 1 (AS-REQ, udp.payload) with its first padata-type changed from 2
        // (PA-ENC-TIMESTAMP, bytes a1 03 02 01 02) to 16 (PA-PK-AS-REQ); the padata value is
        // not decoded, so the type alone decides.
        let orig = crate::proto::testutil::KRB_UDP_AS_REQ;
        let pkinit = orig.replacen("a103020102", "a103020110", 1);
        for (h, want) in [(orig, false), (pkinit.as_str(), true)] {
            let mut a = KrbAnalyzer::new(Transport::Udp, 88);
            let mut sink = Evidence::default();
            a.datagram(
                &ctx(1, Dir::ToServer, Transport::Udp, 88),
                &hex(h),
                &mut sink,
            );
            let k = finish(&mut a, sink).kerberos.unwrap();
            assert_eq!(k.pkinit, want);
            let has16 = k
                .padata_types
                .iter()
                .any(|p| p.value.code == 16 && p.value.name == "PA-PK-AS-REQ");
            assert_eq!(has16, want);
        }
    }
}

#[cfg(test)]
mod kpasswd_tests {
    use super::*;
    use crate::proto::testutil::{hex, run_parts};

    /// No capture holds kpasswd (PROVENANCE.md: none of the collected files uses 464). The
    /// message is the KRB-ERROR of kerberos_udp_vlan_krb_error.pcap frame 2 (udp.payload)
    /// behind an RFC 3244 reply header (length 108, version 1, AP-REP length 0).
    fn error_reply() -> Vec<u8> {
        let mut b = vec![0, 108, 0, 1, 0, 0];
        b.extend_from_slice(&hex(crate::proto::testutil::KRB_UDP_ERROR_52));
        b
    }

    #[test]
    fn kpasswd_error_reply_udp_and_tcp() {
        let mut a = KpasswdAnalyzer::new(Transport::Udp, 464);
        let ev = run_parts(
            &mut a,
            Transport::Udp,
            464,
            &[(2, Dir::ToClient, error_reply())],
        );
        assert_eq!(a.service(), Some("kpasswd"));
        let k = ev.kpasswd.unwrap();
        assert_eq!(
            k.replies
                .iter()
                .map(|f| f.value.clone())
                .collect::<Vec<_>>(),
            vec!["krb-error"]
        );
        assert_eq!(k.errors.iter().next().unwrap().value.code, 52);
        assert_eq!(k.malformed, 0);
        // TCP: record mark in front, delivered in two segments.
        let mut b = vec![0, 0, 0, 108];
        b.extend_from_slice(&error_reply());
        let (x, y) = b.split_at(30);
        let mut a = KpasswdAnalyzer::new(Transport::Tcp, 464);
        let ev = run_parts(
            &mut a,
            Transport::Tcp,
            464,
            &[
                (7, Dir::ToClient, x.to_vec()),
                (8, Dir::ToClient, y.to_vec()),
            ],
        );
        let k = ev.kpasswd.unwrap();
        assert_eq!(k.errors.iter().next().unwrap().first.frame, 8);
        // Truncated datagram: counted, not recorded.
        let mut a = KpasswdAnalyzer::new(Transport::Udp, 464);
        let r = error_reply();
        let ev = run_parts(
            &mut a,
            Transport::Udp,
            464,
            &[(2, Dir::ToClient, r[..40].to_vec())],
        );
        assert_eq!(ev.kpasswd.unwrap().malformed, 1);
        assert_eq!(a.service(), None);
    }
}

#[cfg(test)]
mod crosscheck {
    //! Whole-capture comparisons with tshark: every TCP 88 connection and the UDP 88 datagrams
    //! of a capture go through the analyzer; top-level message type counts must equal tshark's
    //! (first `kerberos.msg_type` of each frame on port 88).
    use super::*;
    use crate::evidence::Merge;
    use crate::proto::krb::KrbEvidence;
    use crate::proto::testutil::{
        connections, packets, run_tcp, run_udp, tshark_fields, with_dirs,
    };
    use std::collections::BTreeMap;

    type Counts = BTreeMap<u32, u64>;

    fn compare(file: &str) -> Option<(KrbEvidence, Counts, Counts)> {
        let mut k = KrbEvidence::default();
        let all = packets(file)?;
        let on_88 = |s: &crate::proto::testutil::Seg| s.sport == 88 || s.dport == 88;
        let tcp: Vec<_> = all
            .iter()
            .filter(|s| s.transport == Transport::Tcp)
            .cloned()
            .collect();
        for c in connections(&tcp, on_88) {
            let mut a = KrbAnalyzer::new(Transport::Tcp, 88);
            if let Some(e) = run_tcp(&mut a, &with_dirs(&c, 88), 88).kerberos {
                k.merge(*e);
            }
        }
        let udp: Vec<_> = all
            .into_iter()
            .filter(|s| s.transport == Transport::Udp && on_88(s))
            .collect();
        let mut a = KrbAnalyzer::new(Transport::Udp, 88);
        if let Some(e) = run_udp(&mut a, &with_dirs(&udp, 88), 88).kerberos {
            k.merge(*e);
        }
        let ours: BTreeMap<u32, u64> = k
            .msg_types
            .iter()
            .map(|f| (f.value.code as u32, f.count))
            .collect();
        let mut theirs: BTreeMap<u32, u64> = BTreeMap::new();
        for (_, v) in tshark_fields(
            file,
            "kerberos && (tcp.port==88 || udp.port==88)",
            "kerberos.msg_type",
        )? {
            if let Some(x) = v.first() {
                *theirs.entry(x.parse().unwrap()).or_default() += 1;
            }
        }
        Some((k, ours, theirs))
    }

    fn check(file: &str) -> Option<KrbEvidence> {
        let (k, ours, theirs) = compare(file)?;
        assert_eq!(ours, theirs, "{file}");
        Some(k)
    }

    #[test]
    fn tso_large_segments() {
        // kerberos_smb2_dcerpc_tso_large_segments.pcapng: AS, TGS and KRB-ERROR 25 on tcp/88.
        let Some(k) = check("kerberos_smb2_dcerpc_tso_large_segments.pcapng") else {
            return;
        };
        assert_eq!(k.malformed, 0);
        assert_eq!(
            k.errors.values().map(|c| c.code).collect::<Vec<_>>(),
            vec![25]
        );
    }

    #[test]
    fn ctxids_errors_7_and_25() {
        // dcom_activation_oxid_resolver_ctxids_smb_kerberos.pcap: AS/TGS plus KRB-ERROR 7
        // (KDC_ERR_S_PRINCIPAL_UNKNOWN) and 25.
        let Some(k) = check("dcom_activation_oxid_resolver_ctxids_smb_kerberos.pcap") else {
            return;
        };
        assert_eq!(k.malformed, 0);
        assert_eq!(
            k.errors.values().map(|c| c.code).collect::<Vec<_>>(),
            vec![7, 25]
        );
    }

    #[test]
    fn more_captures_agree() {
        // Message type counts equal tshark's on every other capture with Kerberos on port 88.
        // kerberos_ldap_smb2_drsuapi_ndpi.pcap has connections cut at the start (nDPI test
        // trims): their bytes are counted as malformed, tshark does not decode them either.
        for file in [
            "ad_playbook_mixed_kerberos_ldap_cldap_epm_smb.pcap",
            "dcom_activation_oxid_epm_kerberos_iertutil_ws5.pcap",
            "dcom_activation_shellwindows_cldap_kerberos_ws5.pcap",
            "epm_map_drsuapi_dcsync_cldap_kerberos_dns.pcap",
            "kerberos_asreq_tgsreq_ldap_smb2_aduser1.pcap",
            "kerberos_ldap_smb2_drsuapi_ndpi.pcap",
            "kerberos_rubeus_asktgt_ptt_smb2_dns.pcap",
            "ldap_powerview_heavy_search_cldap_kerberos_epm.pcap",
        ] {
            let Some(k) = check(file) else {
                return;
            };
            if !file.contains("ndpi") {
                assert_eq!(k.malformed, 0, "{file}");
            }
        }
    }

    #[test]
    fn synthetic_envelopes_with_broken_bodies() {
        // SYNTHETIC_http_certsrv_cep_ces_mscep_urls.pcap: hand-made AS-REQs and a KRB-ERROR
        // missing mandatory fields (tshark: "BER Error: Wrong field in SEQUENCE"); they still
        // count as their message type, and as malformed. One difference: f298 is an AS-REQ
        // whose BER length (34) runs past the 32-byte datagram; tshark still calls it AS-REQ,
        // certflow counts it as malformed only. f418/f485 carry Kerberos over TCP without the
        // record mark and f769 a record mark of 65792 in front of a 269-byte AS-REQ (tshark
        // waits for more data): malformed. 298, 558, 559, 418, 485, 769: six.
        let Some((k, ours, theirs)) = compare("SYNTHETIC_http_certsrv_cep_ces_mscep_urls.pcap")
        else {
            return;
        };
        assert_eq!(theirs, BTreeMap::from([(10, 3), (30, 1)]));
        assert_eq!(ours, BTreeMap::from([(10, 2), (30, 1)]));
        assert_eq!(k.messages, 1);
        assert_eq!(k.malformed, 6);
    }
}

#[cfg(test)]
mod mutations {
    //! Deterministic mutation runs (a poor man's fuzzer): real messages with bytes flipped,
    //! truncated and re-framed must only ever be counted, never panic.
    use super::*;
    use crate::proto::testutil::{ctx, hex, Rng};

    /// kerberos_udp_vlan_krb_error.pcap frames 1 (AS-REQ) and 2 (KRB-ERROR), udp.payload.
    const SAMPLES: [&str; 2] = [
        crate::proto::testutil::KRB_UDP_AS_REQ,
        crate::proto::testutil::KRB_UDP_ERROR_52,
    ];

    #[test]
    fn mutated_messages_never_panic() {
        let mut r = Rng(0x2545_f491_4f6c_dd1d);
        let mut parsed = 0;
        for sample in SAMPLES {
            let orig = hex(sample);
            for _ in 0..3000 {
                let mut b = orig.clone();
                for _ in 0..1 + r.next() % 4 {
                    let i = (r.next() as usize) % b.len();
                    b[i] = r.next() as u8;
                }
                let cut = (r.next() as usize) % (b.len() + 1);
                let b = &b[..cut.max(b.len() / 2)];
                if parse::parse_message(b).is_ok() {
                    parsed += 1;
                }
                let _ = parse::parse_kpasswd(b);
                let _ = crate::proto::krb::probe(Transport::Udp, b);
                // A sink per round, as each analyzer is new.
                let mut sink = crate::evidence::Evidence::default();
                let mut a = KrbAnalyzer::new(Transport::Udp, 88);
                a.datagram(&ctx(1, Dir::ToServer, Transport::Udp, 88), b, &mut sink);
                let mut framed = (b.len() as u32).to_be_bytes().to_vec();
                framed.extend_from_slice(b);
                let mut t = KrbAnalyzer::new(Transport::Tcp, 88);
                let used = t.stream(
                    &ctx(1, Dir::ToServer, Transport::Tcp, 88),
                    &framed,
                    &mut sink,
                );
                assert!(used <= framed.len());
                let mut k = KpasswdAnalyzer::new(Transport::Tcp, 464);
                let used = k.stream(
                    &ctx(1, Dir::ToClient, Transport::Tcp, 464),
                    &framed,
                    &mut sink,
                );
                assert!(used <= framed.len());
            }
        }
        // Some mutations hit only cipher text or names: those still parse.
        assert!(parsed > 0);
    }
}
