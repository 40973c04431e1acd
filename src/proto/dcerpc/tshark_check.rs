//! Cross-check against tshark: every public capture's TCP connections are fed to the analyzer
//! (connections picked by the content probe, as the flow layer will) and the results compared
//! with the ground truth in `FILE.tshark.txt` (tshark 4.0.17): bound interfaces per server
//! port, request opnums per server port, EPM tower ports, DCOM string bindings.
//! Connections on 139/445 are skipped: tshark dissects DCE/RPC inside SMB there, which reaches
//! this analyzer only through the SMB dissector.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::evidence::Evidence;
use crate::proto::testutil::{captures, connections, packets, run_tcp, with_dirs, Seg};
use crate::proto::Transport;

/// One connection of a capture with its evidence.
pub(crate) struct Conn {
    pub client: IpAddr,
    pub server: IpAddr,
    pub server_port: u16,
    pub first_frame: u64,
    pub ev: Evidence,
}

/// Feeds every TCP connection whose first payload the probe accepts (or whose server port is
/// 135) and returns their evidence. The client is the side that sent the first payload.
/// Extraction and reassembly are the production ones (see [`crate::proto::testutil`]).
pub(crate) fn analyze_capture(name: &str) -> Option<Vec<Conn>> {
    let segs: Vec<Seg> = packets(name)?
        .into_iter()
        .filter(|s| s.transport == Transport::Tcp)
        .collect();
    let mut out = Vec::new();
    for v in connections(&segs, |s| !s.payload.is_empty()) {
        // The flow layer probes the first payload of either direction; the first PDU that
        // parses tells the roles (a response, fault or bind_ack comes from the server). A
        // capture that starts mid-connection may show the server speak first, or begin with
        // the tail of a PDU.
        let data: Vec<&Seg> = v.iter().filter(|s| !s.payload.is_empty()).collect();
        let Some(&first) = data.first() else { continue };
        let from_server_types = |s: &Seg| matches!(s.payload.get(2), Some(2 | 3 | 12 | 13 | 15));
        let probed = data
            .iter()
            .find(|s| super::probe(Transport::Tcp, &s.payload))
            .copied();
        let (client, cport, server, sport) = match probed {
            Some(s) if from_server_types(s) => (s.dst, s.dport, s.src, s.sport),
            Some(s) => (s.src, s.sport, s.dst, s.dport),
            None => (first.src, first.sport, first.dst, first.dport),
        };
        let first_frame = first.frame;
        if sport == 445 || sport == 139 || cport == 445 || cport == 139 {
            continue;
        }
        let first_payload_of_each_dir_probes = [true, false].iter().any(|&c2s| {
            data.iter()
                .find(|s| (s.sport == cport) == c2s)
                .is_some_and(|s| super::probe(Transport::Tcp, &s.payload))
        });
        if !(first_payload_of_each_dir_probes || sport == 135) {
            continue;
        }
        let mut a = (super::DISSECTOR.new)(Transport::Tcp, sport);
        let ev = run_tcp(a.as_mut(), &with_dirs(&v, sport), sport);
        out.push(Conn {
            client,
            server,
            server_port: sport,
            first_frame,
            ev,
        });
    }
    Some(out)
}

/// Rows of the section whose title line contains `title`: lines after the header row (or
/// after the `====` line when `header` is false) up to the next blank line.
fn section(text: &str, title: &str, header: bool) -> Vec<Vec<String>> {
    let mut lines = text.lines();
    for l in lines.by_ref() {
        if l.starts_with("== ") && l.contains(title) {
            break;
        }
    }
    let _ = lines.next(); // ====
    let mut rest = lines.filter(|l| !l.starts_with("tshark:") && !l.starts_with("count:"));
    if header {
        let _ = rest.next();
    }
    rest.take_while(|l| !l.trim().is_empty())
        .map(|l| l.split('|').map(|f| f.trim().to_string()).collect())
        .collect()
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Facts {
    binds: BTreeSet<(String, String, u16)>,
    /// (server port, opnum) -> calls.
    opnums: BTreeMap<(u16, u16), u64>,
    epm_ports: BTreeSet<(u64, String, u16)>,
    dcom_bindings: BTreeSet<(u64, String)>,
    /// (interface uuid, server port) -> strongest auth level at bind/alter_context.
    auth_levels: BTreeMap<(String, u16), String>,
    /// Every DCOM string binding address (with or without port) of the OXID resolver table
    /// (ResolveOxid/ResolveOxid2/ServerAlive2 replies); ours: every string binding seen.
    oxid_addrs: BTreeSet<String>,
    /// tshark's request table hit the generator's row cap: compare opnums as a subset.
    opnums_truncated: bool,
}

/// tshark's table gives the level of the bind/alter_context PDU itself; certflow reports the
/// strongest level of any PDU of the interface. An alter_context adding a context to an
/// authenticated association often carries no trailer (tshark: none) while every request on it
/// does (e.g. dcom_activation_oxid_resolver_ctxids_smb_kerberos.pcap IClassFactory on 49724:
/// requests at integrity). So: equal where the bind had a trailer, never weaker elsewhere.
fn levels_agree(o: &Facts, t: &Facts) -> bool {
    o.auth_levels.keys().eq(t.auth_levels.keys())
        && o.auth_levels.iter().all(|(k, ol)| {
            let tl = t.auth_levels.get(k).map(String::as_str).unwrap_or("none");
            if tl == "none" {
                level_rank(ol) >= level_rank(tl)
            } else {
                ol == tl
            }
        })
}

fn level_rank(l: &str) -> u8 {
    ["none", "connect", "call", "packet", "integrity", "privacy"]
        .iter()
        .position(|x| *x == l)
        .unwrap_or(0) as u8
}

fn ours(conns: &[Conn]) -> Facts {
    let mut f = Facts::default();
    for c in conns {
        let Some(d) = &c.ev.dcerpc else { continue };
        for i in d.interfaces.values() {
            if i.learned.contains(&"bind".to_string()) {
                let e = f
                    .auth_levels
                    .entry((i.uuid.to_string(), c.server_port))
                    .or_insert_with(|| i.auth_level.clone());
                if level_rank(&i.auth_level) > level_rank(e) {
                    *e = i.auth_level.clone();
                }
                f.binds
                    .insert((i.uuid.to_string(), c.server.to_string(), c.server_port));
            }
            for o in i.opnums.values() {
                *f.opnums.entry((c.server_port, o.opnum)).or_default() += o.count;
            }
        }
        for (k, n) in d.unbound_requests.iter() {
            if let Some(op) = k.rsplit(' ').next().and_then(|x| x.parse().ok()) {
                *f.opnums.entry((c.server_port, op)).or_default() += n;
            }
        }
        for b in d.string_bindings.values() {
            if let Some((_, addr)) = b.split_once(' ') {
                f.oxid_addrs.insert(addr.to_string());
            }
        }
        for m in &d.endpoint_maps {
            match (m.via.as_str(), m.transport.as_str(), m.port) {
                ("epm map" | "epm lookup", "tcp", Some(p)) => {
                    f.epm_ports
                        .insert((m.frame.frame, m.interface.clone().unwrap_or_default(), p));
                }
                ("dcom activation" | "oxid resolve", _, Some(p)) => {
                    f.dcom_bindings.insert((
                        m.frame.frame,
                        format!("{}[{p}]", m.binding_host.clone().unwrap_or_default()),
                    ));
                }
                _ => {}
            }
        }
    }
    f
}

fn theirs(text: &str) -> Facts {
    let mut f = Facts::default();
    for r in section(text, "Unique bound interface UUIDs", false) {
        if let [uuid, ip, port, ..] = r.as_slice() {
            let port: u16 = port.split_whitespace().next().unwrap().parse().unwrap();
            if port != 445 && port != 139 {
                f.binds.insert((uuid.clone(), ip.clone(), port));
            }
        }
    }
    for r in section(text, "BIND / ALTER_CONTEXT requests", true) {
        // frame|ip.src|ipv6.src|sport|ip.dst|ipv6.dst|dport|pkt_type|call_id|ctx_id|uuids|
        // ver|ver_minor|auth_type|auth_level
        if r.len() < 15 {
            continue;
        }
        let Ok(port) = r[6].parse::<u16>() else {
            continue;
        };
        if port == 445 || port == 139 {
            continue;
        }
        let level = match r[14].parse::<u8>() {
            Ok(n) => crate::proto::dcerpc::pdu::AuthLevel(n).name(),
            Err(_) => "none".to_string(),
        };
        for u in r[10].split(',').filter(|u| !u.is_empty()) {
            let e = f
                .auth_levels
                .entry((u.to_string(), port))
                .or_insert_with(|| level.clone());
            if level_rank(&level) > level_rank(e) {
                *e = level.clone();
            }
        }
    }
    // Continuation fragments of requests (first_frag 0): tshark lists them as requests too.
    let mut continuation: BTreeSet<u64> = BTreeSet::new();
    for r in section(text, "DCE/RPC fragmentation", true) {
        // frame|src|dst|dport|pkt_type|first_frag|last_frag|len
        if r.len() >= 6 && r[4] == "0" && r[5] == "0" {
            if let Ok(fr) = r[0].parse() {
                continuation.insert(fr);
            }
        }
    }
    let rows = section(text, "interface-resolved opnums", true);
    // The ground-truth generator keeps at most 400 rows of this table.
    f.opnums_truncated = rows.len() >= 399;
    for r in rows {
        if r.len() < 6 || r[3] == "445" || r[3] == "139" {
            continue;
        }
        let (Ok(frame), Ok(port)) = (r[0].parse::<u64>(), r[3].parse::<u16>()) else {
            continue;
        };
        if continuation.contains(&frame) {
            continue;
        }
        for op in r[5].split(',').filter(|s| !s.is_empty()) {
            *f.opnums.entry((port, op.parse().unwrap())).or_default() += 1;
        }
    }
    for r in section(text, "EPM (MS-RPCE endpoint mapper) operations", true) {
        // frame|src|sport|dst|dport|opnum|pkt_type|uuid...|if_id|tcp_port|...
        if r.len() < 10 || r[6] != "2" {
            continue;
        }
        let Ok(frame) = r[0].parse::<u64>() else {
            continue;
        };
        // epm.uuid lists interface, transfer syntax per tower; take every other one.
        let uuids: Vec<&str> = r[7].split(',').collect();
        let ports: Vec<&str> = r[9].split(',').filter(|s| !s.is_empty()).collect();
        for (k, p) in ports.iter().enumerate() {
            let iface = uuids.get(2 * k).copied().unwrap_or("").to_string();
            f.epm_ports.insert((frame, iface, p.parse().unwrap()));
        }
    }
    for (title, col) in [
        ("DCOM activation (ISystemActivator", 10),
        ("DCOM IRemoteActivation (remact)", 7),
    ] {
        for r in section(text, title, true) {
            let Some(addrs) = r.get(col) else { continue };
            let Ok(frame) = r[0].parse::<u64>() else {
                continue;
            };
            for a in addrs.split(',').filter(|a| a.ends_with(']')) {
                f.dcom_bindings.insert((frame, a.to_string()));
            }
            if title.starts_with("DCOM IRemoteActivation") {
                for a in addrs.split(',').filter(|a| !a.is_empty()) {
                    f.oxid_addrs.insert(a.to_string());
                }
            }
        }
    }
    f
}

/// Where the stored ground truth is not tshark's last word, the corrected value and why. Each
/// correction was checked by running tshark 4.0.17 by hand with the command given.
fn override_ground_truth(capture: &str, t: &mut Facts) {
    match capture {
        // Frame 419 (NetrServerAuthenticate3 of 172.16.0.10:50584) is flagged "TCP
        // Retransmission" of a segment never captured, so tshark does not dissect it; the server
        // answers it at frame 420. certflow counts it: 21 calls, tshark's table 20.
        "epm_map_netlogon_zerologon_win2019.pcap" => {
            t.opnums.insert((49668, 26), 21);
        }
        // The 192.168.0.183 -> :1032 connection (first frame 331) starts mid-association and
        // tshark's heuristic misses it; `tshark -d tcp.port==1032,dcerpc -Y
        // 'dcerpc.pkt_type==0 && tcp.port==1032'` counts 165 opnum-2 requests, as certflow.
        "epm_map_exchange_mapi_dcerpc.pcap" => {
            t.opnums.insert((1032, 2), 165);
        }
        // The stored request table stops at 399 rows; `tshark -Y 'dcerpc.pkt_type==0 &&
        // tcp.dstport!=445' -T fields -e tcp.dstport -e dcerpc.opnum | sort | uniq -c` gives:
        "epm_map_netlogon_drsuapi_smb_dns.pcap" => {
            t.opnums = [
                ((135, 3), 2),
                ((49667, 0), 2),
                ((49667, 3), 1),
                ((49667, 12), 1),
                ((49667, 16), 1),
                ((49674, 4), 719),
                ((49674, 15), 719),
                ((49674, 30), 1),
            ]
            .into_iter()
            .collect();
            t.opnums_truncated = false;
        }
        _ => {}
    }
}

#[test]
fn agrees_with_tshark_on_every_capture() {
    let Some(dir) = captures() else { return };
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng") || n.ends_with(".gz"))
        .collect();
    names.sort();
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for n in &names {
        let Ok(text) = std::fs::read_to_string(dir.join(format!("{n}.tshark.txt"))) else {
            continue;
        };
        let mut t = theirs(&text);
        override_ground_truth(n, &mut t);
        if t == Facts::default() {
            continue;
        }
        let conns = analyze_capture(n).unwrap();
        let o = ours(&conns);
        let malformed: u64 = conns
            .iter()
            .filter_map(|c| c.ev.dcerpc.as_ref())
            .map(|d| d.malformed)
            .sum();
        let mut line = format!("{n}: malformed {malformed}");
        let opnums_same = if t.opnums_truncated {
            t.opnums.keys().all(|k| o.opnums.contains_key(k))
        } else {
            o.opnums == t.opnums
        };
        for (what, same) in [
            ("binds", o.binds == t.binds),
            ("auth levels", levels_agree(&o, &t)),
            ("opnum counts", opnums_same),
            ("epm ports", o.epm_ports == t.epm_ports),
            ("dcom bindings", o.dcom_bindings == t.dcom_bindings),
            ("oxid addresses", t.oxid_addrs.is_subset(&o.oxid_addrs)),
        ] {
            line.push_str(&format!(", {what} {}", if same { "ok" } else { "DIFF" }));
            if !same {
                failures.push(format!("{n} {what}"));
            }
        }
        if !failures.iter().all(|f| !f.starts_with(n.as_str())) {
            line.push_str(&format!("\n   ours   {o:?}\n   tshark {t:?}"));
        }
        report.push(line);
    }
    for l in &report {
        eprintln!("{l}");
    }
    assert!(
        failures.is_empty(),
        "disagreements with tshark: {failures:?}"
    );
}

/// (server port, first payload frame, [(interface name, learned values)]) per connection.
type Attributed = Vec<(u16, u64, Vec<(String, Vec<String>)>)>;

/// Runs the attribution pass over every connection of `name` and returns, per connection
/// (server port, first payload frame), the interfaces with their `learned` values.
fn attributed(name: &str) -> Option<Attributed> {
    let mut conns = analyze_capture(name)?;
    let mut slots: Vec<super::FlowSlot<'_>> = conns
        .iter_mut()
        .map(|c| super::FlowSlot {
            client: c.client,
            server: c.server,
            transport: Transport::Tcp,
            port: c.server_port,
            first: crate::evidence::FrameRef::new(0, c.first_frame),
            evidence: &mut c.ev,
        })
        .collect();
    super::attribute(&mut slots);
    drop(slots);
    Some(
        conns
            .iter()
            .map(|c| {
                let ifs =
                    c.ev.dcerpc
                        .as_ref()
                        .map(|d| {
                            d.interfaces
                                .values()
                                .map(|i| (i.name.clone(), i.learned.values().cloned().collect()))
                                .collect()
                        })
                        .unwrap_or_default();
                (c.server_port, c.first_frame, ifs)
            })
            .collect(),
    )
}

fn learned_on(flows: &Attributed, port: u16, first: u64, iface: &str) -> Vec<String> {
    let (_, _, ifs) = flows
        .iter()
        .find(|(p, f, _)| *p == port && *f == first)
        .unwrap_or_else(|| panic!("no flow to {port} starting at {first}"));
    let mut v = ifs
        .iter()
        .find(|(n, _)| n == iface)
        .unwrap_or_else(|| panic!("no {iface} on {port}@{first}: {ifs:?}"))
        .1
        .clone();
    v.sort();
    v
}

#[test]
fn attribution_on_whole_captures() {
    // Frames: first payload frame of the later flow (its bind), and the answer frame in the
    // tshark EPM / DCOM tables of each capture's .tshark.txt.
    let Some(z) = attributed("epm_map_netlogon_zerologon_win2019.pcap") else {
        return;
    };
    assert_eq!(
        learned_on(&z, 49668, 16, "NETLOGON"),
        ["bind", "epm map at frame 8"]
    );
    // The 21st flow (bind at frame 563) follows the map answered at frame 554.
    assert_eq!(
        learned_on(&z, 49668, 563, "NETLOGON"),
        ["bind", "epm map at frame 554"]
    );
    let Some(w) = attributed("dcom_wmi_activation_oxid_smb_dns.pcap") else {
        return;
    };
    let first = w.iter().find(|(p, _, _)| *p == 52419).unwrap().1;
    assert_eq!(
        learned_on(&w, 52419, first, "IWbemLevel1Login"),
        ["bind", "dcom activation at frame 60"]
    );
    let Some(m) = attributed("epm_map_exchange_mapi_dcerpc.pcap") else {
        return;
    };
    assert_eq!(
        learned_on(&m, 4997, 408, "NSPI (Exchange address book)"),
        ["bind", "epm map at frame 400"]
    );
    assert_eq!(
        learned_on(&m, 1032, 711, "EMSMDB (Exchange MAPI)"),
        ["bind", "epm map at frame 705"]
    );
    // The mid-stream 1032 flows of other clients learn nothing from .173's map.
    let (_, _, ifs) = m.iter().find(|(p, f, _)| *p == 1032 && *f == 2).unwrap();
    assert!(ifs.is_empty(), "{ifs:?}");
    let Some(s) = attributed("dcom_activation_shellwindows_cldap_kerberos_ws5.pcap") else {
        return;
    };
    let first = s.iter().find(|(p, _, _)| *p == 49913).unwrap().1;
    assert_eq!(
        learned_on(&s, 49913, first, "IClassFactory"),
        ["bind", "dcom activation at frame 153"]
    );
}
