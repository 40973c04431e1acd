//! Attribution across flows: an endpoint answer on one flow names the interface of a later flow.
//!
//! Runs once after all flows are built. Every endpoint map answered on a flow C -> H (an EPM
//! ept_map tower port, a DCOM activation string binding port, C706 appendix O / MS-RPCE
//! 3.1.3.5.3 / MS-DCOM 3.1.2.5.2.3.3) whose frame is before the first frame of a flow C -> H:port
//! (same client, same server, same transport) attributes that interface to that flow, learned
//! "epm map at frame N" / "dcom activation at frame N", even when the later flow's bind is not in
//! the capture (the interface entry is created). When several answers precede the flow, the
//! latest one for each interface is the one listed. MS-RPCE: the tower's own address is ignored;
//! the interface is attributed to the host that answered, whose address fills `host`.
//! A bind_ack secondary address naming a port other than the flow's own attributes the flow's
//! interfaces to a later flow to that port ("bind_ack secondary address").
//! OXID resolutions name no interface: the later flow gets a note instead.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use super::pdu::SyntaxId;
use super::DcerpcEvidence;
use crate::evidence::{Evidence, FrameRef};
use crate::proto::Transport;

/// One flow as the attribution pass sees it.
pub struct FlowSlot<'a> {
    /// The side that opened the connection.
    pub client: IpAddr,
    /// The side that accepted it.
    pub server: IpAddr,
    /// Transport of the flow.
    pub transport: Transport,
    /// The server's port.
    pub port: u16,
    /// The flow's first frame.
    pub first: FrameRef,
    /// The flow's evidence, updated in place.
    pub evidence: &'a mut Evidence,
}

/// (interface uuid and version, or None for an OXID resolution; how it was learned).
type AnnKey = (Option<SyntaxId>, &'static str);

/// What an answer announced, ready to be matched with later flows.
struct Announcement {
    client: IpAddr,
    server: IpAddr,
    transport: Transport,
    port: u16,
    frame: FrameRef,
    /// The interface; None for an OXID resolution.
    interface: Option<SyntaxId>,
    /// "epm map", "dcom activation", "oxid resolve", "bind_ack secondary address".
    via: &'static str,
}

/// Attributes endpoint answers to the later flows they announce (see the module documentation).
pub fn attribute(flows: &mut [FlowSlot<'_>]) {
    let mut ann: Vec<Announcement> = Vec::new();
    for f in flows.iter_mut() {
        let (client, server, port, first) = (f.client, f.server, f.port, f.first);
        let Some(d) = f.evidence.dcerpc.as_mut() else {
            continue;
        };
        for m in d.endpoint_maps.iter_mut() {
            if m.host.is_none() {
                m.host = Some(server.to_string());
            }
            let Some(p) = m.port else { continue };
            let transport = match m.transport.as_str() {
                "tcp" => Transport::Tcp,
                "udp" => Transport::Udp,
                _ => continue,
            };
            let via = match m.via.as_str() {
                "epm map" => "epm map",
                "dcom activation" => "dcom activation",
                "oxid resolve" => "oxid resolve",
                // ept_lookup dumps list every registered endpoint: not a connection intent.
                _ => continue,
            };
            let interface = m.syntax;
            ann.push(Announcement {
                client,
                server,
                transport,
                port: p,
                frame: m.frame,
                interface,
                via,
            });
        }
        for sa in d.secondary_addresses.iter() {
            let Ok(p) = sa.value.parse::<u16>() else {
                continue;
            };
            if p == port || p == 0 {
                continue;
            }
            for k in bound_interfaces(d) {
                ann.push(Announcement {
                    client,
                    server,
                    transport: f.transport,
                    port: p,
                    frame: sa.first.max(first),
                    interface: Some(k),
                    via: "bind_ack secondary address",
                });
            }
        }
    }
    if ann.is_empty() {
        return;
    }
    // Announcements by the flow they announce: one look-up per flow, not a scan of every
    // announcement (which was quadratic on captures with many flows).
    let mut by_flow: HashMap<(IpAddr, IpAddr, Transport, u16), Vec<&Announcement>> = HashMap::new();
    for a in &ann {
        by_flow
            .entry((a.client, a.server, a.transport, a.port))
            .or_default()
            .push(a);
    }
    for f in flows.iter_mut() {
        let Some(list) = by_flow.get(&(f.client, f.server, f.transport, f.port)) else {
            continue;
        };
        // Latest announcement per (interface, via) before this flow's first frame.
        let mut best: BTreeMap<AnnKey, FrameRef> = BTreeMap::new();
        for a in list.iter().filter(|a| a.frame < f.first) {
            let e = best.entry((a.interface, a.via)).or_insert(a.frame);
            if a.frame > *e {
                *e = a.frame;
            }
        }
        for ((iface, via), at) in best {
            let text = match via {
                "bind_ack secondary address" => via.to_string(),
                v => format!("{v} at frame {}", at.frame),
            };
            match iface {
                Some(s) => {
                    let d = f.evidence.dcerpc.get_or_insert_with(Box::default);
                    if let Some(i) = d.interface(s) {
                        if i.learned.is_empty() && i.opnums.is_empty() {
                            // Named from the answer alone: no PDU of this flow showed a level.
                            i.auth_level = "unknown".to_string();
                        }
                        i.learned.add(text, at);
                    }
                }
                None => f
                    .evidence
                    .notes
                    .add(format!("dcom object exporter port announced by {text}"), at),
            }
        }
    }
}

/// The interfaces a flow bound itself.
fn bound_interfaces(d: &DcerpcEvidence) -> Vec<SyntaxId> {
    d.interfaces
        .iter()
        .filter(|(_, i)| i.learned.contains(&"bind".to_string()))
        .map(|(k, _)| *k)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::dcerpc::DISSECTOR as RPC;
    use crate::proto::testutil::{analyze_tcp, conn, frames, packets};

    /// The Zerologon capture: EPM map on 50555 -> 135, NETLOGON on 50556 -> 49668.
    const ZEROLOGON: &str = "epm_map_netlogon_zerologon_win2019.pcap";

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn epm_map_names_the_later_flow_without_its_bind() {
        // epm_map_netlogon_zerologon_win2019.pcap: 172.16.0.10:50555 -> 172.16.5.58:135 maps
        // NETLOGON -> 49668 (frame 8); the next flow 50556 -> 49668 starts at frame 13 (SYN)
        // and binds at frame 16. The later flow's PDUs are deliberately NOT fed: its evidence
        // is empty, and attribution must still name NETLOGON on it.
        let Some(mut epm_ev) = analyze_tcp(&RPC, ZEROLOGON, 50555, 135) else {
            return;
        };
        let mut later = Evidence::default();
        // A flow to the same port by another client must not be touched.
        let mut other = Evidence::default();
        let mut flows = vec![
            FlowSlot {
                client: ip("172.16.0.10"),
                server: ip("172.16.5.58"),
                transport: Transport::Tcp,
                port: 135,
                first: FrameRef::new(0, 1),
                evidence: &mut epm_ev,
            },
            FlowSlot {
                client: ip("172.16.0.10"),
                server: ip("172.16.5.58"),
                transport: Transport::Tcp,
                port: 49668,
                first: FrameRef::new(0, 13),
                evidence: &mut later,
            },
            FlowSlot {
                client: ip("172.16.0.99"),
                server: ip("172.16.5.58"),
                transport: Transport::Tcp,
                port: 49668,
                first: FrameRef::new(0, 13),
                evidence: &mut other,
            },
        ];
        attribute(&mut flows);
        drop(flows);
        let d = later.dcerpc.as_ref().expect("interface created");
        let i = d.interfaces.values().next().unwrap();
        assert_eq!(i.uuid.to_string(), "12345678-1234-abcd-ef00-01234567cffb");
        assert_eq!(i.name, "NETLOGON");
        assert_eq!(i.version, "1.0");
        assert_eq!(
            frames(&i.learned),
            vec![("epm map at frame 8".to_string(), 8)]
        );
        assert!(other.dcerpc.is_none());
        let m = &epm_ev.dcerpc.as_ref().unwrap().endpoint_maps[0];
        assert_eq!(m.host.as_deref(), Some("172.16.5.58"));
        let json = serde_json::to_value(&later).unwrap();
        assert_eq!(
            json["dcerpc"]["interfaces"][0]["learned"][0]["value"],
            "epm map at frame 8"
        );
    }

    #[test]
    fn bind_and_map_both_listed() {
        // Same capture, the later flow fed this time: learned lists "bind" (frame 16) and
        // "epm map at frame 8". A flow starting before the answer gets nothing.
        let Some(mut epm_ev) = analyze_tcp(&RPC, ZEROLOGON, 50555, 135) else {
            return;
        };
        let Some(mut later) = analyze_tcp(&RPC, ZEROLOGON, 50556, 49668) else {
            return;
        };
        let mut early = Evidence::default();
        let c = ip("172.16.0.10");
        let s = ip("172.16.5.58");
        let mut flows = vec![
            FlowSlot {
                client: c,
                server: s,
                transport: Transport::Tcp,
                port: 135,
                first: FrameRef::new(0, 1),
                evidence: &mut epm_ev,
            },
            FlowSlot {
                client: c,
                server: s,
                transport: Transport::Tcp,
                port: 49668,
                first: FrameRef::new(0, 13),
                evidence: &mut later,
            },
            FlowSlot {
                client: c,
                server: s,
                transport: Transport::Tcp,
                port: 49668,
                first: FrameRef::new(0, 5),
                evidence: &mut early,
            },
        ];
        attribute(&mut flows);
        drop(flows);
        let i = later
            .dcerpc
            .as_ref()
            .unwrap()
            .interfaces
            .values()
            .next()
            .unwrap();
        let mut learned: Vec<String> = i.learned.values().cloned().collect();
        learned.sort();
        assert_eq!(learned, vec!["bind", "epm map at frame 8"]);
        assert!(early.dcerpc.is_none());
    }

    #[test]
    fn bind_ack_secondary_address_names_another_port() {
        // The evidence of epm_map_netlogon_zerologon_win2019.pcap 50556 -> 49668 (NETLOGON
        // bound at frame 16, bind_ack secondary address "49668" at frame 17), placed on a flow
        // whose own port is 1000: the secondary address then names another port, and a later
        // flow to 49668 learns NETLOGON from it. (No capture has a secondary address differing
        // from the connection's port; this checks the rule on real evidence.)
        let Some(mut ev) = analyze_tcp(&RPC, ZEROLOGON, 50556, 49668) else {
            return;
        };
        let mut later = Evidence::default();
        let c = ip("172.16.0.10");
        let s = ip("172.16.5.58");
        let mut flows = vec![
            FlowSlot {
                client: c,
                server: s,
                transport: Transport::Tcp,
                port: 1000,
                first: FrameRef::new(0, 13),
                evidence: &mut ev,
            },
            FlowSlot {
                client: c,
                server: s,
                transport: Transport::Tcp,
                port: 49668,
                first: FrameRef::new(0, 30),
                evidence: &mut later,
            },
        ];
        attribute(&mut flows);
        drop(flows);
        let i = later
            .dcerpc
            .as_ref()
            .unwrap()
            .interfaces
            .values()
            .next()
            .unwrap();
        assert_eq!(i.name, "NETLOGON");
        let l: Vec<(String, u64)> = i
            .learned
            .iter()
            .map(|f| (f.value.clone(), f.first.frame))
            .collect();
        assert_eq!(l, vec![("bind_ack secondary address".to_string(), 17)]);
    }

    #[test]
    fn dcom_activation_names_the_later_flow() {
        // dcom_wmi_activation_oxid_smb_dns.pcap: 172.18.39.5 -> 172.18.39.6:135 activation reply
        // at frame 60 announces 52419 for IWbemLevel1Login. A flow 172.18.39.5 -> :52419 that
        // starts after it (frame number taken from the capture's first SYN to 52419) learns it.
        let Some(segs) = packets("dcom_wmi_activation_oxid_smb_dns.pcap") else {
            return;
        };
        let later_first = segs
            .iter()
            .filter(|s| s.dport == 52419 && !s.payload.is_empty())
            .map(|s| s.frame)
            .min()
            .expect("a flow to 52419");
        let conn = conn(&segs, Transport::Tcp, 55274, 135);
        let mut a = crate::proto::dcerpc::analyzer::DcerpcAnalyzer::new();
        let mut scm = crate::proto::testutil::run_tcp(&mut a, &conn, 135);
        let mut later = Evidence::default();
        let mut flows = vec![
            FlowSlot {
                client: ip("172.18.39.5"),
                server: ip("172.18.39.6"),
                transport: Transport::Tcp,
                port: 135,
                first: FrameRef::new(0, 50),
                evidence: &mut scm,
            },
            FlowSlot {
                client: ip("172.18.39.5"),
                server: ip("172.18.39.6"),
                transport: Transport::Tcp,
                port: 52419,
                first: FrameRef::new(0, later_first - 1),
                evidence: &mut later,
            },
        ];
        attribute(&mut flows);
        drop(flows);
        let d = later.dcerpc.as_ref().expect("interface created");
        let i = d.interfaces.values().next().unwrap();
        assert_eq!(i.name, "IWbemLevel1Login");
        assert!(i
            .learned
            .contains(&"dcom activation at frame 60".to_string()));
    }
}
