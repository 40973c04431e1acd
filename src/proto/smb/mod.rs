//! SMB2/3 (MS-SMB2) and SMB1 (MS-CIFS, MS-SMB) over direct TCP 445 or NetBIOS 139 (4-byte
//! session header): dialects offered and negotiated, logon tokens, encryption, tree connects,
//! files and named pipes opened, compounded requests and AndX chains. Each named pipe gets its
//! own DCE/RPC analyzer (`crate::proto::by_service("dcerpc")`), fed with the pipe's bytes:
//! SMB2 WRITE / READ and FSCTL_PIPE_TRANSCEIVE, SMB1 WRITE_ANDX / READ_ANDX and the named-pipe
//! TRANSACTIONs; its evidence lands in `Evidence::dcerpc`.
//!
//! Layers: [`parse`] (SMB2 headers and bodies, the session header; pure), [`smb1`] (SMB1
//! headers, AndX blocks and bodies; pure), [`state`] ([`SmbAnalyzer`]), [`evidence`].

pub mod evidence;
pub mod parse;
pub mod smb1;
pub mod state;

pub use evidence::SmbEvidence;
pub use state::SmbAnalyzer;

use crate::proto::{Analyzer, Dissector, Transport};

/// True when `data` starts with a direct-TCP session message (type 0, a length of at least an
/// SMB header) carrying an SMB1, SMB2, TRANSFORM or COMPRESSION protocol id, or with a NetBIOS
/// session request whose two names are well formed (TCP 139 opens so, RFC 1002 4.3.2; the flow
/// is named SMB only once an SMB message proves it).
pub fn probe(t: Transport, data: &[u8]) -> bool {
    if t != Transport::Tcp {
        return false;
    }
    match (parse::nbss_header(data), data.get(parse::NBSS_HEADER_LEN..)) {
        (Some((0, len)), Some(msg)) => {
            len >= parse::SMB1_HEADER_LEN && parse::protocol(msg).is_some()
        }
        (Some((parse::NBSS_SESSION_REQUEST, len)), Some(body)) => {
            body.get(..len).is_some_and(parse::is_session_request)
        }
        _ => false,
    }
}

fn new(_t: Transport, server_port: u16) -> Box<dyn Analyzer> {
    Box::new(SmbAnalyzer::new(server_port))
}

/// The SMB dissector.
pub const DISSECTOR: Dissector = Dissector {
    name: "smb",
    probe,
    new,
};

#[cfg(test)]
mod tests {
    use super::parse::{self as p, SmbError};
    use super::*;
    use crate::evidence::Evidence;
    use crate::proto::testutil::{ctx, feed_tcp, finish, hex, run_tcp, tcp_conn, values};
    use crate::proto::{Ctx, Dir};

    /// epm_map_netlogon_drsuapi_smb_dns.pcap frame 2921 (62618 -> 445): SMB1 NEGOTIATE with
    /// dialects "NT LM 0.12", "SMB 2.002", "SMB 2.???".
    const SMB1_NEGOTIATE_2921: &str = "00000045ff534d427200000000180148000000000000000000000000ffff000000000000002200024e54204c4d20302e31320002534d4220322e3030320002534d4220322e3f3f3f00";
    /// Same capture, frame 2929: TREE_CONNECT request \\192.168.56.102\IPC$ (MessageId 4).
    const TREE_REQ_2929: &str = "00000072fe534d42400001000000000003007f000800000000000000040000000000000000000000000000007100000400140000049e6fe4091f87447619697f966f5e150900000048002a005c005c003100390032002e003100360038002e00350036002e003100300032005c004900500043002400";
    /// Frame 2930: TREE_CONNECT response, TreeId 1, share type 2 (pipe).
    const TREE_RESP_2930: &str = "00000050fe534d42400001000000000003007f000900000000000000040000000000000000000000010000007100000400140000059b5071f59a55fe47fe8028c3fa5bf9100002003000000000000000ff011f01";
    /// Frame 2931: CREATE request "svcctl" on TreeId 1 (MessageId 5).
    const CREATE_REQ_2931: &str = "00000088fe534d42400001000000000005007f000800000000000000050000000000000000000000010000007100000400140000c7426d2f2f7d4f212fa170c1a2abfea1390000000200000000000000000000000000000000000000030000008000000001000000010000004000000078000c000000000000000000730076006300630074006c0007000000";
    /// Frame 2932: CREATE response, FileId 000005ad-0005-0000-0100-000005000000.
    const CREATE_RESP_2932: &str = "00000098fe534d42400001000000000005007f0009000000000000000500000000000000000000000100000071000004001400006a8ff3e4fa3876e4063000dddc37e8be59000000010000000000000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000008000000063006300ad0500000500000001000000050000000000000000000000";

    /// A pipe analyzer for tests: consumes everything and writes one note per piece received:
    /// "frame dir length first-4-bytes-hex".
    #[derive(Default)]
    struct Recorder {
        seen: Vec<(u64, Dir, Vec<u8>)>,
    }

    impl Analyzer for Recorder {
        fn stream(&mut self, ctx: &Ctx, data: &[u8], _ev: &mut Evidence) -> usize {
            self.seen.push((ctx.frame.frame, ctx.dir, data.to_vec()));
            data.len()
        }
        fn service(&self) -> Option<&'static str> {
            None
        }
        fn finish(&mut self, ev: &mut Evidence) {
            for (frame, dir, d) in &self.seen {
                let head: String = d.iter().take(4).map(|b| format!("{b:02x}")).collect();
                let note = format!("{frame} {dir:?} {} {head}", d.len());
                ev.notes
                    .add(note, crate::evidence::FrameRef::new(0, *frame));
            }
        }
    }

    fn recorder(_t: Transport, _port: u16) -> Box<dyn Analyzer> {
        Box::new(Recorder::default())
    }

    fn feed_parts(a: &mut SmbAnalyzer, parts: &[(u64, Dir, &str)], sink: &mut Evidence) {
        for (frame, dir, h) in parts {
            let data = hex(h);
            assert_eq!(
                a.stream(&ctx(*frame, *dir, Transport::Tcp, 445), &data, sink),
                data.len()
            );
        }
    }

    #[test]
    fn parse_embedded_messages() {
        let tree = hex(TREE_REQ_2929);
        // tshark 2929: smb2.tree \\192.168.56.102\IPC$
        assert_eq!(
            p::tree_connect_request(&tree[4..]).unwrap(),
            r"\\192.168.56.102\IPC$"
        );
        // tshark 2931: smb2.filename svcctl
        assert_eq!(
            p::create_request(&hex(CREATE_REQ_2931)[4..]).unwrap(),
            "svcctl"
        );
        // tshark 2932: smb2.fid 000005ad-0005-0000-0100-000005000000
        assert_eq!(
            p::create_response(&hex(CREATE_RESP_2932)[4..]).unwrap(),
            [0xad, 5, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0]
        );
        let neg = hex(SMB1_NEGOTIATE_2921);
        let h = smb1::header(&neg[4..]).unwrap();
        assert_eq!((h.command, h.is_response()), (smb1::cmd::NEGOTIATE, false));
        assert_eq!(
            smb1::negotiate_dialects(&smb1::block(&neg[4..], h.command, 32, false).unwrap()),
            ["NT LM 0.12", "SMB 2.002", "SMB 2.???"]
        );
        assert_eq!(
            p::tree_connect_response(&hex(TREE_RESP_2930)[4..])
                .unwrap()
                .0,
            2
        );
    }

    #[test]
    fn truncated_and_corrupted_messages() {
        let mut sink = crate::evidence::Evidence::default();
        let tree = hex(TREE_REQ_2929);
        for n in 0..tree.len() - 4 {
            let m = &tree[4..4 + n];
            assert!(p::tree_connect_request(m).is_err() || n >= tree.len() - 4);
            let _ = p::header(m);
        }
        // PathOffset pointing past the message.
        let mut bad = tree.clone();
        bad[4 + 64 + 4] = 0xf0;
        assert_eq!(p::tree_connect_request(&bad[4..]), Err(SmbError::Truncated));
        let mut a = SmbAnalyzer::with_pipe_analyzer(445, recorder);
        let c = ctx(1, Dir::ToServer, Transport::Tcp, 445);
        assert_eq!(a.stream(&c, &bad, &mut sink), bad.len());
        // A truncated prefix (first 6 bytes lost): resynchronises on the next message.
        let mut data = tree[6..].to_vec();
        data.extend(hex(CREATE_REQ_2931));
        let used = a.stream(&c, &data, &mut sink);
        assert_eq!(used, data.len());
        // NextCommand not 8-aligned.
        let mut chained = hex(CREATE_REQ_2931);
        chained[4 + 20] = 0x41;
        a.stream(&c, &chained, &mut sink);
        let ev = finish(&mut a, std::mem::take(&mut sink)).smb.unwrap();
        assert_eq!(ev.malformed, 3);
        assert_eq!(values(&ev.pipes), vec!["svcctl"]);
        // Every prefix of a message waits, never panics.
        for n in 0..tree.len() {
            let mut a = SmbAnalyzer::with_pipe_analyzer(445, recorder);
            assert_eq!(a.stream(&c, &tree[..n], &mut sink), 0);
        }
    }

    #[test]
    fn embedded_tree_and_pipe_open() {
        let mut sink = crate::evidence::Evidence::default();
        let mut a = SmbAnalyzer::with_pipe_analyzer(445, recorder);
        feed_parts(
            &mut a,
            &[
                (2921, Dir::ToServer, SMB1_NEGOTIATE_2921),
                (2929, Dir::ToServer, TREE_REQ_2929),
                (2930, Dir::ToClient, TREE_RESP_2930),
                (2931, Dir::ToServer, CREATE_REQ_2931),
                (2932, Dir::ToClient, CREATE_RESP_2932),
            ],
            &mut sink,
        );
        assert_eq!(a.service(), Some("smb"));
        let ev = finish(&mut a, std::mem::take(&mut sink)).smb.unwrap();
        assert_eq!(values(&ev.trees), vec![r"\\192.168.56.102\IPC$"]);
        assert_eq!(ev.pipes.first_frame(&"svcctl".into()).unwrap().frame, 2931);
        assert_eq!(ev.commands.get("smb1_negotiate"), 1);
        assert_eq!(ev.compounded, 0);
        assert!(!ev.encrypted);
    }

    #[test]
    fn compound_and_transform() {
        let mut sink = crate::evidence::Evidence::default();
        // Hand-built compound from frames 2929 and 2931: the tree connect (padded to 120 bytes,
        // a multiple of 8) with NextCommand = 120, followed by the create.
        let mut first = hex(TREE_REQ_2929)[4..].to_vec();
        first.resize(120, 0);
        first[20] = 120;
        let second = hex(CREATE_REQ_2931)[4..].to_vec();
        let mut msg = first;
        msg.extend(second);
        let mut data = vec![0, 0, (msg.len() >> 8) as u8, msg.len() as u8];
        data.extend(msg);
        // And a TRANSFORM_HEADER message (MS-SMB2 2.2.41): protocol id 0xFD 'SMB', 52 bytes.
        let mut tr = vec![0, 0, 0, 60, 0xfd, b'S', b'M', b'B'];
        tr.resize(64, 0);
        data.extend(tr);
        assert!(probe(Transport::Tcp, &data));
        let mut a = SmbAnalyzer::with_pipe_analyzer(445, recorder);
        let c = ctx(9, Dir::ToServer, Transport::Tcp, 445);
        assert_eq!(a.stream(&c, &data, &mut sink), data.len());
        let ev = finish(&mut a, std::mem::take(&mut sink)).smb.unwrap();
        assert_eq!(ev.compounded, 1);
        assert_eq!(ev.commands.get("tree_connect"), 1);
        assert_eq!(ev.commands.get("create"), 1);
        assert!(ev.encrypted);
        assert_eq!(values(&ev.encryption), vec!["transform_header"]);
        assert_eq!(ev.opaque_messages, 1);
        assert_eq!(ev.malformed, 0);
    }

    /// More requests awaiting their responses than are kept: frame 2929's TREE_CONNECT
    /// request sent again and again with new MessageIds (SMB2 header bytes 24..32), no
    /// response; the oldest are forgotten and counted.
    #[test]
    fn requests_beyond_the_pending_cap_are_counted() {
        use crate::proto::testutil::TcpFeeder;
        let mut a = SmbAnalyzer::with_pipe_analyzer(445, recorder);
        let mut f = TcpFeeder::new(445);
        let n = state::MAX_PENDING as u64 + 3;
        for mid in 0..n {
            let mut req = hex(TREE_REQ_2929);
            req[4 + 24..4 + 32].copy_from_slice(&(mid + 4).to_le_bytes());
            f.bytes(&mut a, 2929, Dir::ToServer, &req);
        }
        let ev = f.finish(&mut a);
        let smb = ev.smb.as_ref().unwrap();
        assert_eq!(smb.pending_dropped, 3);
        assert_eq!(smb.commands.get("tree_connect"), n);
        assert_eq!(smb.malformed, 0);
    }

    /// More trees than a connection remembers: frames 2929/2930 (TREE_CONNECT and its response)
    /// again and again with new MessageIds and TreeIds; the 257th tree is counted, not kept.
    /// And a compound chain longer than MAX_COMPOUND: frame 2929's request chained 66 times;
    /// 64 are read and the rest counts as malformed.
    #[test]
    fn trees_and_compound_chains_beyond_their_caps_are_counted() {
        use crate::proto::testutil::TcpFeeder;
        let mut a = SmbAnalyzer::with_pipe_analyzer(445, recorder);
        let mut f = TcpFeeder::new(445);
        for i in 0..state::MAX_TREES as u64 + 1 {
            let mid = (i + 4).to_le_bytes();
            let (mut req, mut resp) = (hex(TREE_REQ_2929), hex(TREE_RESP_2930));
            req[4 + 24..4 + 32].copy_from_slice(&mid);
            resp[4 + 24..4 + 32].copy_from_slice(&mid);
            resp[4 + 36..4 + 40].copy_from_slice(&(i as u32 + 1).to_le_bytes());
            f.bytes(&mut a, 2929, Dir::ToServer, &req);
            f.bytes(&mut a, 2930, Dir::ToClient, &resp);
        }
        let ev = f.finish(&mut a);
        let smb = ev.smb.as_ref().unwrap();
        assert_eq!(smb.trees_dropped, 1);
        assert_eq!((smb.malformed, smb.pending_dropped), (0, 0));

        let one = hex(TREE_REQ_2929)[4..].to_vec();
        let step = one.len().next_multiple_of(8);
        let n = state::MAX_COMPOUND + 2;
        let mut chain = Vec::new();
        for i in 0..n {
            let mut m = one.clone();
            m[24..32].copy_from_slice(&(i as u64 + 4).to_le_bytes());
            if i + 1 < n {
                m[20..24].copy_from_slice(&(step as u32).to_le_bytes());
                m.resize(step, 0);
            }
            chain.extend_from_slice(&m);
        }
        let mut msg = (chain.len() as u32).to_be_bytes().to_vec();
        msg.extend_from_slice(&chain);
        let mut a = SmbAnalyzer::with_pipe_analyzer(445, recorder);
        let mut f = TcpFeeder::new(445);
        f.bytes(&mut a, 2929, Dir::ToServer, &msg);
        let ev = f.finish(&mut a);
        let smb = ev.smb.as_ref().unwrap();
        assert_eq!(smb.commands.get("tree_connect"), state::MAX_COMPOUND as u64);
        assert_eq!(smb.malformed, 1);
    }

    #[test]
    fn svcctl_pipe_bytes_reach_the_pipe_analyzer() {
        // epm_map_netlogon_drsuapi_smb_dns.pcap tcp.stream 4 (62618 -> 445).
        let Some(segs) = tcp_conn("epm_map_netlogon_drsuapi_smb_dns.pcap", 62618, 445) else {
            return;
        };
        let mut a = SmbAnalyzer::with_pipe_analyzer(445, recorder);
        let ev = run_tcp(&mut a, &segs, 445);
        let smb = ev.smb.as_ref().unwrap();
        // tshark: SMB1 negotiate 2921, smb2.dialect 0x02ff (2922), offered 0x0202,0x0210 (2923),
        // chosen 0x0210 (2924); smb2.tree \\192.168.56.102\IPC$ (2929); smb2.filename svcctl.
        let mut offered = values(&smb.dialects_offered);
        offered.sort();
        assert_eq!(
            offered,
            vec!["2.0.2", "2.1", "NT LM 0.12", "SMB 2.002", "SMB 2.???"]
        );
        let d: Vec<_> = smb
            .dialect
            .iter()
            .map(|f| (f.value.clone(), f.first.frame))
            .collect();
        assert_eq!(d, vec![("2.???".into(), 2922), ("2.1".into(), 2924)]);
        assert_eq!(values(&smb.trees), vec![r"\\192.168.56.102\IPC$"]);
        assert_eq!(values(&smb.pipes), vec!["svcctl"]);
        assert_eq!(smb.statuses.get("0xc0000016"), 1);
        // tshark dcerpc.pkt_type / cn_frag_len: 2933 bind 72, 2936 bind_ack 68, 2937 request 136,
        // 2940 response 48, 2941 request 476, 2944 response 52, 2945 request 52, 2952 response 28
        // (after a STATUS_PENDING interim response in 2949).
        assert_eq!(
            values(&ev.notes),
            vec![
                "2933 ToServer 72 05000b03",
                "2936 ToClient 68 05000c03",
                "2937 ToServer 136 05000003",
                "2940 ToClient 48 05000203",
                "2941 ToServer 476 05000003",
                "2944 ToClient 52 05000203",
                "2945 ToServer 52 05000003",
                "2952 ToClient 28 05000203",
            ]
        );
        assert_eq!(smb.pipe_bytes, 72 + 68 + 136 + 48 + 476 + 52 + 52 + 28);
        assert_eq!(smb.malformed, 0);
    }

    #[test]
    fn petitpotam_efsrpc_over_lsarpc_pipe() {
        // efsrpc_petitpotam_unpatched_dc_ldap_tls_smb.pcapng tcp 33524 -> 445: tshark
        // smb2.filename lsarpc; dcerpc 1991 bind (c681d488-... EFSRPC) 72 bytes in a WRITE,
        // 1994 bind_ack 68 in a READ response, 1995 request opnum 0 (EfsRpcOpenFileRaw) 108,
        // 2042 response 48.
        let Some(segs) = tcp_conn(
            "efsrpc_petitpotam_unpatched_dc_ldap_tls_smb.pcapng",
            33524,
            445,
        ) else {
            return;
        };
        let mut a = SmbAnalyzer::with_pipe_analyzer(445, recorder);
        let ev = run_tcp(&mut a, &segs, 445);
        assert_eq!(
            values(&ev.notes),
            vec![
                "1991 ToServer 72 05000b03",
                "1994 ToClient 68 05000c03",
                "1995 ToServer 108 05000003",
                "2042 ToClient 48 05000203",
            ]
        );
        let smb = ev.smb.unwrap();
        assert_eq!(values(&smb.pipes), vec!["lsarpc"]);
        assert_eq!(smb.malformed, 0);
    }

    #[test]
    fn smb311_samr_session() {
        // dcom_activation_oxid_resolver_ctxids_smb_kerberos.pcap tcp.stream 9 (49734 -> 445).
        let Some(segs) = tcp_conn(
            "dcom_activation_oxid_resolver_ctxids_smb_kerberos.pcap",
            49734,
            445,
        ) else {
            return;
        };
        let mut a = SmbAnalyzer::with_pipe_analyzer(445, recorder);
        let ev = run_tcp(&mut a, &segs, 445);
        let smb = ev.smb.unwrap();
        // tshark 539: SMB1 negotiate "NT LM 0.12,SMB 2.002,SMB 2.???"; 541: dialects
        // 0x0202,0x0210,0x0300,0x0302,0x0311; 542: 0x0311; 568: \\DC1.purp.le\IPC$; 572: samr.
        let mut offered = values(&smb.dialects_offered);
        offered.sort();
        assert_eq!(
            offered,
            vec![
                "2.0.2",
                "2.1",
                "3.0",
                "3.0.2",
                "3.1.1",
                "NT LM 0.12",
                "SMB 2.002",
                "SMB 2.???"
            ]
        );
        assert!(smb.dialect.contains(&"3.1.1".into()));
        assert_eq!(smb.dialect.first_frame(&"3.1.1".into()).unwrap().frame, 542);
        assert_eq!(values(&smb.trees), vec![r"\\DC1.purp.le\IPC$"]);
        assert_eq!(smb.pipes.first_frame(&"samr".into()).unwrap().frame, 572);
        assert!(!smb.encrypted);
        assert_eq!(smb.malformed, 0);
        assert!(!ev.notes.is_empty());
    }

    #[test]
    fn transceive_pipes_tso_capture() {
        // kerberos_smb2_dcerpc_tso_large_segments.pcapng: FSCTL_PIPE_TRANSCEIVE on lsarpc,
        // srvsvc, wkssvc (20 IOCTL frames with function 0x0011c017).
        let Some(segs) = tcp_conn("kerberos_smb2_dcerpc_tso_large_segments.pcapng", 49811, 445)
        else {
            return;
        };
        // tcp.stream 0 (49811 -> 445): tshark IOCTL 0x0011c017 frames with dcerpc.pkt_type and
        // cn_frag_len: 50 request 96 -> 51 response 152, 62 request 96 -> 63 response 168,
        // 99 request 152 -> 100 response 524.
        let mut a = SmbAnalyzer::with_pipe_analyzer(445, recorder);
        let ev = run_tcp(&mut a, &segs, 445);
        let notes = values(&ev.notes);
        for want in [
            "50 ToServer 96 05000003",
            "51 ToClient 152 05000203",
            "62 ToServer 96 05000003",
            "63 ToClient 168 05000203",
            "99 ToServer 152 05000003",
            "100 ToClient 524 05000203",
        ] {
            assert!(notes.contains(&want.to_string()), "{want} not in {notes:?}");
        }
        let smb = ev.smb.unwrap();
        let mut pipes = values(&smb.pipes);
        pipes.sort();
        assert_eq!(pipes, vec!["srvsvc", "wkssvc"]);
        assert_eq!(smb.malformed, 0);
    }

    #[test]
    fn encrypted_smb3_session() {
        // efsrpc_petitpotam_patched_dc_http_ldap_tls.pcapng tcp.stream 11 (57384 -> 445): tshark
        // smb2.dialect 0x02ff (122), 0x0300 (126); 68 messages with protocol id 0xfd534d42
        // ("Encrypted SMB3"), the first in frame 134.
        let Some(segs) = tcp_conn(
            "efsrpc_petitpotam_patched_dc_http_ldap_tls.pcapng",
            57384,
            445,
        ) else {
            return;
        };
        let mut a = SmbAnalyzer::with_pipe_analyzer(445, recorder);
        let smb = run_tcp(&mut a, &segs, 445).smb.unwrap();
        assert!(smb.encrypted);
        let why: Vec<_> = smb
            .encryption
            .iter()
            .map(|f| (f.value.clone(), f.first.frame, f.count))
            .collect();
        assert_eq!(why, vec![("transform_header".into(), 134, 68)]);
        assert_eq!(smb.opaque_messages, 68);
        let d: Vec<_> = smb
            .dialect
            .iter()
            .map(|f| (f.value.clone(), f.first.frame))
            .collect();
        assert_eq!(d, vec![("2.???".into(), 122), ("3.0".into(), 126)]);
        assert_eq!(smb.malformed, 0);
    }

    /// captures/lab_smb1_netbios_139.pcapng frame 4: smbclient's NetBIOS session request, called
    /// name 15 spaces and 0x20, calling name `VM<00>` (tshark: nbss.called_name
    /// "               <20>", nbss.calling_name "VM<00>").
    const SESSION_REQUEST_4: &str = "8100004420434143414341434143414341434143414341434143414341434143414341434100204647454e4341434143414341434143414341434143414341434143414341414100";

    #[test]
    fn netbios_session_request_names() {
        let req = hex(SESSION_REQUEST_4);
        assert!(probe(Transport::Tcp, &req));
        assert_eq!(
            p::session_request_names(&req[4..]),
            Some((None, Some("VM<00>".into())))
        );
        // A called name of `DC1`, suffix 0x20: 'E','E' 'E','D' 'D','B' then spaces, 'C','A'.
        let mut named = req.clone();
        named[5..11].copy_from_slice(b"EEEDDB");
        assert_eq!(
            p::session_request_names(&named[4..]).map(|n| n.0),
            Some(Some("DC1<20>".into()))
        );
        // Every prefix, and a letter outside 'A'..'P', give no names (and no SMB proof).
        for n in 0..req.len() {
            assert_eq!(p::session_request_names(&req[4..n.max(4)]), None, "{n}");
            assert!(!p::is_session_request(&req[4..n.max(4)]), "{n}");
        }
        let mut bad = req.clone();
        bad[6] = b'Q';
        assert_eq!(p::session_request_names(&bad[4..]), None);
        assert!(!probe(Transport::Tcp, &bad));
        // Through the analyzer: the names land in the SMB evidence, the flow is not yet SMB.
        let mut a = SmbAnalyzer::with_pipe_analyzer(139, recorder);
        let mut sink = Evidence::default();
        feed_parts(&mut a, &[(4, Dir::ToServer, SESSION_REQUEST_4)], &mut sink);
        assert_eq!(a.service(), None);
        let ev = finish(&mut a, sink).smb.unwrap();
        assert_eq!(values(&ev.calling_names), vec!["VM<00>"]);
        assert!(ev.called_names.is_empty());
    }

    #[test]
    fn mutated_messages_never_panic() {
        let samples = [
            hex(SMB1_NEGOTIATE_2921),
            hex(TREE_REQ_2929),
            hex(TREE_RESP_2930),
            hex(CREATE_REQ_2931),
            hex(CREATE_RESP_2932),
        ];
        crate::proto::testutil::mutate_and_feed(new, &samples, 3000);
    }

    #[test]
    fn json_field_names() {
        let mut sink = crate::evidence::Evidence::default();
        let mut a = SmbAnalyzer::with_pipe_analyzer(445, recorder);
        feed_parts(
            &mut a,
            &[
                (2921, Dir::ToServer, SMB1_NEGOTIATE_2921),
                (2929, Dir::ToServer, TREE_REQ_2929),
                (2930, Dir::ToClient, TREE_RESP_2930),
                (2931, Dir::ToServer, CREATE_REQ_2931),
                (2932, Dir::ToClient, CREATE_RESP_2932),
            ],
            &mut sink,
        );
        let js =
            serde_json::to_value(finish(&mut a, std::mem::take(&mut sink)).smb.unwrap()).unwrap();
        let mut keys: Vec<_> = js.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, vec!["commands", "dialects_offered", "pipes", "trees"]);
        assert_eq!(js["pipes"][0]["value"], "svcctl");
    }

    /// A hand-built SMB2 header (MS-SMB2 2.2.1.2) for compound tests.
    fn hdr(command: u16, flags: u32, message_id: u64, next: u32) -> Vec<u8> {
        let mut h = vec![0xfe, b'S', b'M', b'B', 64, 0, 0, 0, 0, 0, 0, 0];
        h.extend(command.to_le_bytes());
        h.extend(1u16.to_le_bytes());
        h.extend(flags.to_le_bytes());
        h.extend(next.to_le_bytes());
        h.extend(message_id.to_le_bytes());
        h.extend([0, 0, 0, 0, 1, 0, 0, 0]); // reserved, TreeId 1
        h.extend([0; 24]); // SessionId, Signature
        h
    }

    /// Joins SMB2 messages into one compound (each padded to 8 bytes, NextCommand set) behind
    /// a direct-TCP header.
    fn chain(parts: Vec<Vec<u8>>) -> Vec<u8> {
        let n = parts.len();
        let mut msg = Vec::new();
        for (k, mut m) in parts.into_iter().enumerate() {
            if k + 1 < n {
                m.resize(m.len().div_ceil(8) * 8, 0);
                let next = m.len() as u32;
                m[20..24].copy_from_slice(&next.to_le_bytes());
            }
            msg.extend(m);
        }
        let mut out = vec![0, 0, (msg.len() >> 8) as u8, msg.len() as u8];
        out.extend(msg);
        out
    }

    #[test]
    fn negotiate_dialects_read_in_place() {
        // Hand-built NEGOTIATE request (MS-SMB2 2.2.3): StructureSize 36, DialectCount, then
        // the fixed fields up to byte 36 of the body and the dialect list.
        let body = |count: u16, dialects: &[u16]| {
            let mut m = hdr(0, 0, 1, 0);
            m.extend(36u16.to_le_bytes());
            m.extend(count.to_le_bytes());
            m.resize(64 + 36, 0);
            for d in dialects {
                m.extend(d.to_le_bytes());
            }
            m
        };
        let m = body(2, &[0x0202, 0x0311]);
        let got: Vec<u16> = p::negotiate_request(&m).unwrap().collect();
        assert_eq!(got, vec![0x0202, 0x0311]);
        // One more dialect announced than sent: an error, nothing read.
        let m = body(3, &[0x0202, 0x0311]);
        assert!(matches!(p::negotiate_request(&m), Err(SmbError::Truncated)));
        // No dialects announced in a message cut right after DialectCount: none read.
        let mut m = body(0, &[]);
        m.truncate(64 + 4);
        assert_eq!(p::negotiate_request(&m).unwrap().count(), 0);
        m.truncate(64 + 3);
        assert!(p::negotiate_request(&m).is_err());
    }

    #[test]
    fn commands_and_statuses_named_once_at_finish() {
        let mut sink = crate::evidence::Evidence::default();
        // Counted by code while streaming, named when the analyzer finishes: junk before the
        // first header (a capture begun mid-connection), the SMB1 NEGOTIATE of frame 2921,
        // hand-built ECHO (13) requests, an unknown command 0x30, and responses with NT
        // statuses ACCESS_DENIED (0xc0000022) twice, OBJECT_NAME_NOT_FOUND (0xc0000034), an
        // interim STATUS_PENDING (0x103, left out) and STATUS_SUCCESS (not a status count).
        let mut a = SmbAnalyzer::with_pipe_analyzer(445, recorder);
        let joined = |frame, dir| Ctx {
            midstream: true,
            ..ctx(frame, dir, Transport::Tcp, 445)
        };
        let up = joined(1, Dir::ToServer);
        let down = joined(2, Dir::ToClient);
        let response = |command: u16, mid: u64, status: u32| {
            let mut m = hdr(command, p::flags::RESPONSE, mid, 0);
            m[8..12].copy_from_slice(&status.to_le_bytes());
            chain(vec![m])
        };
        let mut client = vec![1, 2, 3, 4, 5, 6, 7];
        client.extend(hex(SMB1_NEGOTIATE_2921));
        for (mid, command) in [(1, 13), (2, 13), (3, 0x30)] {
            client.extend(chain(vec![hdr(command, 0, mid, 0)]));
        }
        assert_eq!(a.stream(&up, &client, &mut sink), client.len());
        let mut server = Vec::new();
        for (mid, status) in [
            (1, 0xc000_0022),
            (2, 0x0000_0103),
            (2, 0xc000_0022),
            (3, 0xc000_0034),
            (4, 0),
        ] {
            server.extend(response(13, mid, status));
        }
        assert_eq!(a.stream(&down, &server, &mut sink), server.len());
        let ev = finish(&mut a, std::mem::take(&mut sink)).smb.unwrap();
        assert_eq!(
            serde_json::to_string(&ev.commands).unwrap(),
            r#"{"command_48":1,"echo":2,"midstream_start":1,"smb1":1,"smb1_negotiate":1}"#
        );
        assert_eq!(
            serde_json::to_string(&ev.statuses).unwrap(),
            r#"{"0xc0000022":2,"0xc0000034":1}"#
        );
        assert_eq!(ev.malformed, 0);
        // The same client bytes on a connection whose start was captured: the junk is
        // malformed, not the tail of a message.
        let mut a = SmbAnalyzer::with_pipe_analyzer(445, recorder);
        let start = ctx(1, Dir::ToServer, Transport::Tcp, 445);
        assert_eq!(a.stream(&start, &client, &mut sink), client.len());
        let ev = finish(&mut a, std::mem::take(&mut sink)).smb.unwrap();
        assert_eq!(ev.malformed, 1);
        assert_eq!(
            serde_json::to_string(&ev.commands).unwrap(),
            r#"{"command_48":1,"echo":2,"smb1":1,"smb1_negotiate":1}"#
        );
    }

    #[test]
    fn related_compound_pipe_io() {
        let mut sink = crate::evidence::Evidence::default();
        // Hand-built (no capture holds a compound): CREATE "svcctl" (frame 2931) + related
        // WRITE and READ with FileId 0xFF..FF (MS-SMB2 3.2.4.1.4), answered by CREATE response
        // (frame 2932) + WRITE response + READ response. The pipe analyzer must see the WRITE
        // bytes and the READ data under the FileId the CREATE response assigned.
        let related = p::flags::RELATED;
        let create = hex(CREATE_REQ_2931)[4..].to_vec();
        let mut write = hdr(9, related, 6, 0);
        let payload = b"\x05\x00\x0b\x03bind-bytes".to_vec();
        write.extend(49u16.to_le_bytes());
        write.extend(112u16.to_le_bytes()); // DataOffset = 64 + 48
        write.extend((payload.len() as u32).to_le_bytes());
        write.extend(0u64.to_le_bytes());
        write.extend([0xff; 16]);
        write.extend([0; 16]); // Channel, RemainingBytes, WriteChannelInfo, Flags
        write.extend(&payload);
        let mut read = hdr(8, related, 7, 0);
        read.extend(49u16.to_le_bytes());
        read.extend([0x50, 0]);
        read.extend(4096u32.to_le_bytes());
        read.extend(0u64.to_le_bytes());
        read.extend([0xff; 16]);
        read.extend([0; 17]);
        let requests = chain(vec![create, write, read]);

        let create_resp = hex(CREATE_RESP_2932)[4..].to_vec();
        let mut write_resp = hdr(9, p::flags::RESPONSE | related, 6, 0);
        write_resp.extend(17u16.to_le_bytes());
        write_resp.extend([0; 15]);
        let mut read_resp = hdr(8, p::flags::RESPONSE | related, 7, 0);
        let answer = b"\x05\x00\x0c\x03bind-ack".to_vec();
        read_resp.extend(17u16.to_le_bytes());
        read_resp.extend([80, 0]);
        read_resp.extend((answer.len() as u32).to_le_bytes());
        read_resp.extend([0; 8]);
        read_resp.extend(&answer);
        let responses = chain(vec![create_resp, write_resp, read_resp]);

        let mut a = SmbAnalyzer::with_pipe_analyzer(445, recorder);
        feed_parts(
            &mut a,
            &[
                (2929, Dir::ToServer, TREE_REQ_2929),
                (2930, Dir::ToClient, TREE_RESP_2930),
            ],
            &mut sink,
        );
        let c = ctx(10, Dir::ToServer, Transport::Tcp, 445);
        assert_eq!(a.stream(&c, &requests, &mut sink), requests.len());
        let c = ctx(11, Dir::ToClient, Transport::Tcp, 445);
        assert_eq!(a.stream(&c, &responses, &mut sink), responses.len());
        let ev = finish(&mut a, sink);
        // The held-back WRITE is delivered when the CREATE response names the FileId (frame 11);
        // notes of one frame are listed in value order.
        assert_eq!(
            values(&ev.notes),
            vec!["11 ToClient 12 05000c03", "11 ToServer 14 05000b03"]
        );
        let smb = ev.smb.unwrap();
        assert_eq!(smb.compounded, 6);
        assert_eq!(values(&smb.pipes), vec!["svcctl"]);
        assert_eq!(smb.malformed, 0);
    }

    #[test]
    fn aduser1_negotiate_session_logoff() {
        // kerberos_asreq_tgsreq_ldap_smb2_aduser1.pcap tcp 32860 -> 445: tshark frame 4 SMB1
        // negotiate (NT LM 0.12, SMB 2.002, SMB 2.???), 5 smb2.dialect 0x02ff, 7 offered
        // 0x0202,0x0210,0x0300, 8 chosen 0x0300, 10 STATUS_MORE_PROCESSING_REQUIRED, 12 session
        // flags 0x0000 (not encrypted), 13 LOGOFF.
        let Some(segs) = tcp_conn("kerberos_asreq_tgsreq_ldap_smb2_aduser1.pcap", 32860, 445)
        else {
            return;
        };
        let mut a = SmbAnalyzer::with_pipe_analyzer(445, recorder);
        let sink = feed_tcp(&mut a, &segs, 445);
        assert_eq!(a.service(), Some("smb"));
        let smb = finish(&mut a, sink).smb.unwrap();
        let offered: Vec<_> = smb
            .dialects_offered
            .iter()
            .map(|f| (f.value.clone(), f.first.frame))
            .collect();
        assert_eq!(
            offered,
            vec![
                ("NT LM 0.12".into(), 4),
                ("SMB 2.002".into(), 4),
                ("SMB 2.???".into(), 4),
                ("2.0.2".into(), 7),
                ("2.1".into(), 7),
                ("3.0".into(), 7)
            ]
        );
        let d: Vec<_> = smb
            .dialect
            .iter()
            .map(|f| (f.value.clone(), f.first.frame))
            .collect();
        assert_eq!(d, vec![("2.???".into(), 5), ("3.0".into(), 8)]);
        assert!(!smb.encrypted);
        assert_eq!(smb.statuses.get("0xc0000016"), 1);
        assert_eq!(smb.commands.get("session_setup"), 2);
        assert_eq!(smb.commands.get("logoff"), 1);
        assert!(smb.trees.is_empty());
    }

    #[test]
    fn large_messages_are_skipped_unbuffered() {
        let mut sink = crate::evidence::Evidence::default();
        // A WRITE longer than MAX_PARSE_LEN (hand-built: frame 2931's header, then filler),
        // delivered in pieces, followed by frame 2929's tree connect.
        let len = p::MAX_PARSE_LEN + 100;
        let mut big = vec![0, (len >> 16) as u8, (len >> 8) as u8, len as u8];
        big.extend_from_slice(&hex(CREATE_REQ_2931)[4..68]);
        big.resize(4 + len, 0x41);
        big.extend(hex(TREE_REQ_2929));
        let mut a = SmbAnalyzer::with_pipe_analyzer(445, recorder);
        let c = ctx(3, Dir::ToServer, Transport::Tcp, 445);
        let mut buf = Vec::new();
        let mut most = 0;
        for piece in big.chunks(1460) {
            buf.extend_from_slice(piece);
            let used = a.stream(&c, &buf, &mut sink);
            buf.drain(..used);
            most = most.max(buf.len());
        }
        assert!(buf.is_empty());
        assert!(most < 1460 + 128, "buffered {most}");
        let ev = finish(&mut a, std::mem::take(&mut sink)).smb.unwrap();
        assert_eq!(ev.large_messages, 1);
        assert_eq!(ev.commands.get("tree_connect"), 1);
        assert_eq!(ev.malformed, 0);
    }

    #[test]
    fn probe_is_strict() {
        assert!(probe(Transport::Tcp, &hex(SMB1_NEGOTIATE_2921)));
        assert!(probe(Transport::Tcp, &hex(TREE_REQ_2929)));
        assert!(!probe(Transport::Udp, &hex(TREE_REQ_2929)));
        assert!(!probe(Transport::Tcp, &hex(TREE_REQ_2929)[..6]));
        // A Kerberos-over-TCP length prefix followed by AS-REQ, and a DNS-over-TCP message.
        assert!(!probe(
            Transport::Tcp,
            &[0, 0, 0, 0xf0, 0x6a, 0x81, 0xed, 0x30]
        ));
        assert!(!probe(Transport::Tcp, &[0, 0x25, 0x20, 0x0d, 1, 0, 0, 1]));
    }
}
