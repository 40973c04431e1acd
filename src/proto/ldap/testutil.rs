//! Test support shared by the LDAP and Kerberos tests: payloads cut from the public captures in
//! `../shared/captures` with tshark, and a driver that feeds TCP segments to an analyzer the way
//! the flow layer will (in order per direction, unconsumed bytes offered again with the next
//! segment appended).

use std::path::PathBuf;
use std::process::Command;

use crate::evidence::{Evidence, FrameRef};
use crate::proto::{Analyzer, Ctx, Dir, Transport};

// Fixtures shared by several test modules, each cut from a public capture.

/// kerberos_udp_vlan_krb_error.pcap frame 1, udp.payload (287 bytes): AS-REQ, cname
/// host/mus-n-cj0709, realm LINUX.SHELL.COM, padata 2 and 149.
pub(crate) const KRB_UDP_AS_REQ: &str = "6a82011b30820117a103020105a20302010aa35830563048a103020102a241043f303da003020117a2360434b60e0b505f98104206f62503b8e0e7c82d842e6f01e5c7f0e1540d1ea4c7e89181e69691e0c41d775649bd7fa5ac4b1874a91915300aa10402020095a2020400a481b03081ada00703050000810000a11f301da003020101a11630141b04686f73741b0c6d75732d6e2d636a30373039a2111b0f4c494e55582e5348454c4c2e434f4da3243022a003020102a11b30191b066b72627467741b0f4c494e55582e5348454c4c2e434f4da511180f32303232303232333037343630335aa611180f32303232303330343037343630335aa706020447a1fa99a81a301802011702011202011102011402011302011002011902011a";

/// kerberos_udp_vlan_krb_error.pcap frame 2, udp.payload (102 bytes): KRB-ERROR 52
/// KRB_ERR_RESPONSE_TOO_BIG, realm LINUX.SHELL.COM.
pub(crate) const KRB_UDP_ERROR_52: &str = "7e643062a003020105a10302011ea411180f32303232303232323037343630345aa50502030ec26da603020134a9111b0f4c494e55582e5348454c4c2e434f4daa243022a003020102a11b30191b066b72627467741b0f4c494e55582e5348454c4c2e434f4d";

/// kerberos_tcp_vlan_optional_sname.pcap frame 3, tcp.payload: record mark + AS-REQ
/// with neither cname nor sname.
pub(crate) const KRB_TCP_AS_REQ_NO_SNAME: &str = "0000006a6a683066a103020105a20302010aa45a3058a00703050040000010a21a1b186b65726265726f735f7265616c6d5f74696d652e6e61736ca511180f32303337303931333032343830355aa611180f32303337303931333032343830355aa704020265d5a805300302010b";

/// kerberos_tcp_vlan_optional_sname.pcap frame 4, tcp.payload: record mark + KRB-ERROR 60.
pub(crate) const KRB_TCP_ERROR_60: &str = "000000567e543052a003020105a10302011ea411180f32303132303331363137323934365aa50502030a27dba60302013ca9091b074845432e4e4554aa1c301aa003020102a11330111b066b72627467741b074845432e4e4554";

/// ldap_rootdse_bind_modify_vlan_ipv6.pcapng frame 4, tcp.payload (350 bytes):
/// searchRequest messageID 5, baseObject "" (rootDSE), filter (objectclass=*), 15 attributes.
pub(crate) const LDAP_ROOTDSE_SEARCH: &str = "30840000015802010563840000014f04000a01000a010002010002011e010100870b6f626a656374636c61737330840000012b0411737562736368656d61537562656e747279040d6473536572766963654e616d65040e6e616d696e67436f6e7465787473041464656661756c744e616d696e67436f6e746578740413736368656d614e616d696e67436f6e74657874041a636f6e66696775726174696f6e4e616d696e67436f6e746578740417726f6f74446f6d61696e4e616d696e67436f6e746578740410737570706f72746564436f6e74726f6c0414737570706f727465644c44415056657273696f6e0415737570706f727465644c444150506f6c69636965730417737570706f727465645341534c4d656368616e69736d73040b646e73486f73744e616d65040f6c646170536572766963654e616d65040a7365727665724e616d650415737570706f727465644361706162696c6974696573";

/// ldap_rootdse_bind_modify_vlan_ipv6.pcapng frame 13, tcp.payload: SASL buffer (50
/// bytes), RFC 4121 wrap flags 0x05, EC 12, RRC 12, modifyResponse(8) success inside.
pub(crate) const LDAP_SASL_MODIFY_RESPONSE: &str = "00000032050405ff000c000c000000005ca2911b2ce2d5fa00a2fed0ea21fca13084000000100201086784000000070a010004000400";

/// Decodes a hex string (whitespace ignored). Test data only.
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    s.chunks(2)
        .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap())
        .collect()
}

/// `Seg::seq` of hand-made segments: fed in the order given, without sequence checks.
pub(crate) const NO_SEQ: u64 = u64::MAX;

/// One payload: the frame that carried it, its source port and bytes.
#[derive(Debug, Clone)]
pub(crate) struct Seg {
    pub frame: u64,
    pub src_port: u16,
    pub bytes: Vec<u8>,
    /// TCP relative sequence number (tshark `tcp.seq`), 0 when unknown.
    pub seq: u64,
}

/// Path of a capture, or `None` (with the reason printed) when the captures are absent or tshark
/// is not installed.
pub(crate) fn capture(file: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/captures"));
    let path = dir.join(file);
    if !path.exists() {
        eprintln!("skipped: {} not found", path.display());
        return None;
    }
    if Command::new("tshark").arg("-v").output().is_err() {
        eprintln!("skipped: tshark not installed");
        return None;
    }
    Some(path)
}

/// Payloads of `proto` ("tcp" or "udp") matching `filter`, in capture order, via tshark
/// (`-T fields -e frame.number -e <proto>.srcport -e <proto>.payload`). Empty payloads skipped.
pub(crate) fn payloads_opt(file: &str, proto: &str, filter: &str) -> Option<Vec<Seg>> {
    let path = capture(file)?;
    let out = Command::new("tshark")
        .arg("-r")
        .arg(&path)
        .args(["-Y", filter, "-T", "fields", "-e", "frame.number"])
        .args([
            "-e",
            &format!("{proto}.srcport"),
            "-e",
            &format!("{proto}.payload"),
        ])
        .args([
            "-e",
            if proto == "tcp" {
                "tcp.seq"
            } else {
                "frame.len"
            },
        ])
        .output()
        .expect("tshark runs");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let segs: Vec<Seg> = text
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let frame = f.next()?.parse().ok()?;
            let src_port = f.next()?.parse().ok()?;
            let bytes = hex(f.next()?);
            let seq = if proto == "tcp" {
                f.next()?.parse().ok()?
            } else {
                0
            };
            (!bytes.is_empty()).then_some(Seg {
                frame,
                src_port,
                bytes,
                seq,
            })
        })
        .collect();
    Some(segs)
}

/// [`payloads_opt`] that insists on finding payload (a wrong filter fails the test).
pub(crate) fn payloads(file: &str, proto: &str, filter: &str) -> Option<Vec<Seg>> {
    let segs = payloads_opt(file, proto, filter)?;
    assert!(!segs.is_empty(), "no payload in {file} for {filter}");
    Some(segs)
}

/// A context for a message of `frame` travelling `dir`.
pub(crate) fn ctx(frame: u64, dir: Dir, transport: Transport, server_port: u16) -> Ctx {
    Ctx {
        frame: FrameRef::new(0, frame),
        ts_ns: 0,
        dir,
        transport,
        server_port,
    }
}

/// Feeds TCP segments in order like the flow layer: per direction, the unconsumed remainder is
/// kept and offered again with the next segment appended. `gaps` lists frames before which the
/// direction of that frame's segment lost bytes (`gap` is called, the remainder dropped).
pub(crate) struct Feeder {
    bufs: [Vec<u8>; 2],
    next_seq: [Option<u64>; 2],
    /// Gaps signalled so far.
    pub gaps: u64,
    /// The server's port (decides the direction of each segment).
    pub server_port: u16,
}

impl Feeder {
    /// A feeder for a connection to `server_port`.
    pub fn new(server_port: u16) -> Self {
        Feeder {
            bufs: [Vec::new(), Vec::new()],
            next_seq: [None, None],
            gaps: 0,
            server_port,
        }
    }

    fn dir(&self, s: &Seg) -> Dir {
        if s.src_port == self.server_port {
            Dir::ToClient
        } else {
            Dir::ToServer
        }
    }

    /// Offers one segment; checks the analyzer's consumption is within bounds.
    pub fn feed(&mut self, a: &mut dyn Analyzer, s: &Seg) {
        let dir = self.dir(s);
        let c = ctx(s.frame, dir, Transport::Tcp, self.server_port);
        let buf = &mut self.bufs[dir.index()];
        buf.extend_from_slice(&s.bytes);
        let used = a.stream(&c, buf);
        assert!(used <= buf.len(), "consumed more than offered");
        buf.drain(..used);
    }

    /// Offers one segment placed by its sequence number: retransmitted bytes are dropped, a
    /// hole before the segment is signalled with `gap` (as the flow layer will do).
    pub fn feed_seq(&mut self, a: &mut dyn Analyzer, s: &Seg) {
        if s.seq == NO_SEQ {
            return self.feed(a, s);
        }
        let d = self.dir(s).index();
        let end = s.seq + s.bytes.len() as u64;
        let mut s = s.clone();
        if let Some(next) = self.next_seq[d] {
            if end <= next {
                return;
            }
            if s.seq > next {
                self.gaps += 1;
                self.gap(a, &s);
            } else if s.seq < next {
                s.bytes.drain(..(next - s.seq) as usize);
            }
        }
        self.next_seq[d] = Some(end);
        self.feed(a, &s);
    }

    /// Signals lost bytes in the direction of `s` and drops what was buffered there.
    pub fn gap(&mut self, a: &mut dyn Analyzer, s: &Seg) {
        let dir = self.dir(s);
        self.bufs[dir.index()].clear();
        a.gap(dir);
    }

    /// Bytes still buffered per direction (to-server, to-client).
    pub fn pending(&self) -> (usize, usize) {
        (self.bufs[0].len(), self.bufs[1].len())
    }
}

/// Feeds all `segs` to `a` and returns the evidence it wrote.
pub(crate) fn run_tcp(a: &mut dyn Analyzer, server_port: u16, segs: &[Seg]) -> Evidence {
    let mut f = Feeder::new(server_port);
    for s in segs {
        f.feed_seq(a, s);
    }
    let mut ev = Evidence::default();
    a.finish(&mut ev);
    ev
}

/// Feeds all `segs` as UDP datagrams (direction from the source port) and returns the evidence.
pub(crate) fn run_udp(a: &mut dyn Analyzer, server_port: u16, segs: &[Seg]) -> Evidence {
    for s in segs {
        let dir = if s.src_port == server_port {
            Dir::ToClient
        } else {
            Dir::ToServer
        };
        a.datagram(&ctx(s.frame, dir, Transport::Udp, server_port), &s.bytes);
    }
    let mut ev = Evidence::default();
    a.finish(&mut ev);
    ev
}

/// tshark values of `field` for frames matching `filter`, split on ',' (one Vec per frame).
pub(crate) fn field_values(
    file: &str,
    filter: &str,
    field: &str,
) -> Option<Vec<(u64, Vec<String>)>> {
    let path = capture(file)?;
    let out = Command::new("tshark")
        .arg("-r")
        .arg(&path)
        .args([
            "-Y",
            filter,
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            field,
        ])
        .output()
        .expect("tshark runs");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    Some(
        text.lines()
            .filter_map(|l| {
                let (n, v) = l.split_once('\t')?;
                let vals = v
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
                Some((n.parse().ok()?, vals))
            })
            .collect(),
    )
}

/// The TCP payloads of every connection matching `filter`, one list per `tcp.stream` in
/// stream order, from a single tshark run.
pub(crate) fn tcp_streams(file: &str, filter: &str) -> Option<Vec<Vec<Seg>>> {
    let path = capture(file)?;
    let out = Command::new("tshark")
        .arg("-r")
        .arg(&path)
        .args(["-Y", &format!("({filter}) && tcp.len>0"), "-T", "fields"])
        .args([
            "-e",
            "frame.number",
            "-e",
            "tcp.srcport",
            "-e",
            "tcp.payload",
        ])
        .args(["-e", "tcp.seq", "-e", "tcp.stream"])
        .output()
        .expect("tshark runs");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let mut by: std::collections::BTreeMap<u64, Vec<Seg>> = Default::default();
    for l in text.lines() {
        let f: Vec<&str> = l.split('\t').collect();
        let [frame, port, payload, seq, stream] = f[..] else {
            continue;
        };
        let bytes = hex(payload);
        if bytes.is_empty() {
            continue;
        }
        by.entry(stream.parse().expect("stream"))
            .or_default()
            .push(Seg {
                frame: frame.parse().expect("frame"),
                src_port: port.parse().expect("port"),
                bytes,
                seq: seq.parse().expect("seq"),
            });
    }
    Some(by.into_values().collect())
}
