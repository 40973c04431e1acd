//! The flow set agrees with tshark's conversations (`-z conv,tcp -z conv,udp`) on every public
//! capture: the same conversations, the same packet counts.

mod common;

use std::collections::BTreeMap;
use std::net::IpAddr;

/// (client, server, transport, server port) -> packets.
type FlowPackets = BTreeMap<(IpAddr, IpAddr, String, u16), u64>;

/// One tshark conversation row: (transport, end A, end B, frames both ways).
type Conversation = (String, (IpAddr, u16), (IpAddr, u16), u64);

/// Splits "addr:port" (IPv6 addresses contain colons: the port follows the last one).
fn endpoint(s: &str) -> Option<(IpAddr, u16)> {
    let (a, p) = s.rsplit_once(':')?;
    Some((
        a.trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .ok()?,
        p.parse().ok()?,
    ))
}

/// Parses tshark's conversation tables: (transport, A, B, frames A<-B + A->B).
fn tshark_conversations(text: &str) -> Vec<Conversation> {
    let mut out = Vec::new();
    let mut transport = String::new();
    for line in text.lines() {
        if line.starts_with("TCP Conversations") {
            transport = "tcp".into();
        } else if line.starts_with("UDP Conversations") {
            transport = "udp".into();
        }
        let t: Vec<&str> = line.split_whitespace().collect();
        if t.len() < 9 || t[1] != "<->" {
            continue;
        }
        let (Some(a), Some(b)) = (endpoint(t[0]), endpoint(t[2])) else {
            continue;
        };
        // A:pa <-> B:pb  frames bytes unit  frames bytes unit  total ...
        let f1: u64 = t[3].parse().expect("frames");
        let f2: u64 = t[6].parse().expect("frames");
        out.push((transport.clone(), a, b, f1 + f2));
    }
    out
}

fn certflow_flows(v: &serde_json::Value) -> FlowPackets {
    let mut m = FlowPackets::new();
    for f in v["flows"].as_array().expect("flows array") {
        let key = (
            f["client"].as_str().unwrap().parse().unwrap(),
            f["server"].as_str().unwrap().parse().unwrap(),
            f["transport"].as_str().unwrap().to_string(),
            f["port"].as_u64().unwrap() as u16,
        );
        *m.entry(key).or_insert(0) += f["packets"].as_u64().unwrap();
    }
    m
}

#[test]
fn flow_set_matches_tshark_conversations_on_every_public_capture() {
    let Some(captures) = common::shared_captures() else {
        return;
    };
    if !common::have_tshark() {
        return;
    }
    assert!(!captures.is_empty());
    compare(&captures);
}

#[test]
fn flow_set_matches_tshark_conversations_on_the_project_captures() {
    if !common::have_tshark() {
        return;
    }
    let captures = common::own_captures();
    assert!(captures.len() >= 10);
    compare(&captures);
}

fn compare(captures: &[std::path::PathBuf]) {
    let mut failures = Vec::new();
    for path in captures {
        let (v, _out) = common::flows_json(path);
        let ours = certflow_flows(&v);
        let text = common::tshark(&[
            "-n",
            "-q",
            "-r",
            path.to_str().unwrap(),
            "-z",
            "conv,tcp",
            "-z",
            "conv,udp",
        ]);
        // Fold tshark's per-connection rows into certflow's flows: each row belongs to the flow
        // whose server is one of its ends on that end's port.
        let mut theirs = FlowPackets::new();
        for (t, a, b, frames) in tshark_conversations(&text) {
            let as_server_a = (b.0, a.0, t.clone(), a.1);
            let as_server_b = (a.0, b.0, t.clone(), b.1);
            let key = if ours.contains_key(&as_server_b) {
                as_server_b
            } else {
                as_server_a
            };
            *theirs.entry(key).or_insert(0) += frames;
        }
        if ours != theirs {
            let name = path.file_name().unwrap().to_string_lossy();
            for (k, n) in &theirs {
                let o = ours.get(k).copied();
                if o != Some(*n) {
                    failures.push(format!("{name}: {k:?}: tshark {n} packets, certflow {o:?}"));
                }
            }
            for (k, n) in &ours {
                if !theirs.contains_key(k) {
                    failures.push(format!("{name}: {k:?}: certflow {n} packets, tshark none"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
