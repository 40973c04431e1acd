//! The command line: inputs, errors, exit codes, formats.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn missing_file_is_a_one_line_error_with_exit_2() {
    let out = common::certflow(&["flows", "/nonexistent/capture.pcap"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/nonexistent/capture.pcap"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_file_that_is_not_a_capture_names_file_and_offset() {
    let readme = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let out = common::certflow(&["flows", readme]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("README.md") && err.contains("offset 0"),
        "{err}"
    );
}

#[test]
fn truncated_capture_is_analysed_up_to_the_damage() {
    // Published truncated: capinfos reads 244 packets, then "cut short in the middle of a packet".
    let Some(p) = common::shared_capture("dcom_wmi_activation_oxid_smb_dns.pcap") else {
        return;
    };
    let (v, out) = common::flows_json(&p);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("244 packets"), "{err}");
    let c = &v["captures"][0];
    assert_eq!(c["packets"], 244);
    assert!(c["damage"]["offset"].as_u64().unwrap() > 0);
    assert!(!v["flows"].as_array().unwrap().is_empty());
}

#[test]
fn gzip_capture_read_transparently() {
    let Some(p) = common::shared_capture("epm_drsuapi_kerberos_privacy_sealed.pcapng.gz") else {
        return;
    };
    let (v, out) = common::flows_json(&p);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c = &v["captures"][0];
    assert_eq!(c["compression"], "gzip");
    assert_eq!(c["format"], "pcapng");
    // capinfos epm_drsuapi_kerberos_privacy_sealed.pcapng.gz: "Number of packets: 29".
    assert_eq!(c["packets"], 29);
    assert_eq!(c["decoded"], 29);
}

#[test]
fn standard_input_gives_the_same_flows_as_the_file() {
    let Some(p) = common::shared_capture("kerberos_kerberoast_tgsreq_rc4.pcap") else {
        return;
    };
    let (from_file, _) = common::flows_json(&p);
    let mut child = Command::new(env!("CARGO_BIN_EXE_certflow"))
        .args(["flows", "--format", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(&p).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let from_stdin: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(from_stdin["flows"], from_file["flows"]);
    assert_eq!(
        from_stdin["captures"][0]["sha256"],
        from_file["captures"][0]["sha256"]
    );
    assert_eq!(from_stdin["captures"][0]["path"], "-");
}

#[test]
fn kerberoast_flow_matches_tshark_numbers() {
    // tshark -z conv,tcp: 10.0.0.2:49216 <-> 10.0.0.6:88, 6 frames <- and 5 frames ->, 11 total.
    let Some(p) = common::shared_capture("kerberos_kerberoast_tgsreq_rc4.pcap") else {
        return;
    };
    let (v, _) = common::flows_json(&p);
    assert_eq!(v["schema"], "certflow.flows/1");
    let flows = v["flows"].as_array().unwrap();
    assert_eq!(flows.len(), 1);
    let f = &flows[0];
    assert_eq!(f["client"], "10.0.0.2");
    assert_eq!(f["server"], "10.0.0.6");
    assert_eq!(f["transport"], "tcp");
    assert_eq!(f["port"], 88);
    assert_eq!(f["connections"], 1);
    assert_eq!(f["established"], 1);
    assert_eq!(f["packets"], 11);
    assert_eq!(f["packets_to_server"], 5);
    assert_eq!(f["bytes"], 3784);
    assert_eq!(f["first_frame"], 1);
    assert_eq!(f["first_seen"], "2018-08-19T10:03:24.596879Z");
}

#[test]
fn several_files_form_one_capture_set() {
    let (Some(a), Some(b)) = (
        common::shared_capture("kerberos_kerberoast_tgsreq_rc4.pcap"),
        common::shared_capture("kerberos_udp_vlan_krb_error.pcap"),
    ) else {
        return;
    };
    let out = common::certflow(&[
        "flows",
        "--format",
        "json",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["captures"].as_array().unwrap().len(), 2);
    let flows = v["flows"].as_array().unwrap();
    let udp = flows
        .iter()
        .find(|f| f["transport"] == "udp")
        .expect("the UDP Kerberos flow");
    // The second file's frames are numbered from 1 again, and the flow says which file.
    assert_eq!(udp["first_frame"], 1);
    assert_eq!(udp["first_capture"], 1);
}

#[test]
fn table_is_the_default_format() {
    let Some(p) = common::shared_capture("kerberos_kerberoast_tgsreq_rc4.pcap") else {
        return;
    };
    let out = common::certflow(&["flows", p.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("11 packets read, 11 decoded, 0 skipped"),
        "{text}"
    );
    let row = text
        .lines()
        .find(|l| l.starts_with("10.0.0.2"))
        .expect("flow row");
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        &cells[..5],
        &["10.0.0.2", "10.0.0.6", "tcp", "88", "kerberos"][..]
    );
}
