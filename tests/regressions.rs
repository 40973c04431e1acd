//! Regression tests, each named after the bug it guards against.

mod common;

/// kerberos_ldap_smb2_drsuapi_ndpi.pcap, tcp.stream 10 (client 172.16.8.201 -> 172.16.8.8:49155)
/// starts mid-stream: frame 21 is the tail of a sealed PDU, frame 23 an alter_context for
/// DRSUAPI v4.0 at auth level 6 (tshark: `-Y 'tcp.port==49155' -e dcerpc.cn_bind_to_uuid`).
/// certflow used to judge the connection by its first payload only and left it "unknown".
#[test]
fn mid_stream_dcerpc_is_recognised_after_a_pdu_tail() {
    let Some(p) = common::shared_capture("kerberos_ldap_smb2_drsuapi_ndpi.pcap") else {
        return;
    };
    let (v, _) = common::flows_json(&p);
    let f = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["port"] == 49155)
        .expect("flow to 49155");
    assert_eq!(f["service"], "dcerpc");
    let i = &f["evidence"]["dcerpc"]["interfaces"][0];
    assert_eq!(i["uuid"], "e3514235-4b06-11d1-ab04-00c04fc2dcd2");
    assert_eq!(i["version"], "4.0");
    assert_eq!(i["auth_level"], "privacy");
}

/// captures/lab_enroll_story_icpr_dynamic.pcapng with the handshake (SYN 220, SYN-ACK 221) of
/// the first connection 10.77.0.100:54352 -> 10.77.0.20:54701 cut out: seen mid-stream, both
/// ports are high and the lower one (the client's 54352) looked like the server's. The DCE/RPC
/// content (bind, requests from 54352; bind_ack, responses from 54701) must put it right.
#[test]
fn mid_stream_client_and_server_are_put_right_by_content() {
    let src = common::own_capture("lab_enroll_story_icpr_dynamic.pcapng");
    let dst = std::env::temp_dir().join(format!("certflow-midstream-{}.pcap", std::process::id()));
    common::write_without_frames(&src, &dst, &[220, 221]);
    let (v, out) = common::flows_json(&dst);
    let _ = std::fs::remove_file(&dst);
    assert!(out.status.success());
    let flows = v["flows"].as_array().unwrap();
    assert!(
        !flows
            .iter()
            .any(|f| f["server"] == "10.77.0.100" && f["port"] == 54352),
        "reversed flow left"
    );
    let f = flows
        .iter()
        .find(|f| f["client"] == "10.77.0.100" && f["server"] == "10.77.0.20" && f["port"] == 54701)
        .expect("the ICPR flow");
    assert_eq!(f["connections"], 3);
    assert_eq!(f["midstream"], 1);
    assert_eq!(f["service"], "dcerpc");
}
