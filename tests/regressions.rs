//! Regression tests, each named after the bug it guards against.

mod common;

/// certflow's JSON of the public capture `name`, and its first flow that `pick` accepts; `None`
/// (the test skipped, with the reason printed) when the public captures are absent.
fn public_flow(name: &str, pick: impl Fn(&serde_json::Value) -> bool) -> Option<serde_json::Value> {
    let p = common::shared_capture(name)?;
    let (v, _) = common::flows_json(&p);
    let f = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| pick(f))
        .cloned();
    Some(f.unwrap_or_else(|| panic!("no such flow in {name}")))
}

/// kerberos_ldap_smb2_drsuapi_ndpi.pcap, tcp.stream 10 (client 172.16.8.201 -> 172.16.8.8:49155)
/// starts mid-stream: frame 21 is the tail of a sealed PDU, frame 23 an alter_context for
/// DRSUAPI v4.0 at auth level 6 (tshark: `-Y 'tcp.port==49155' -e dcerpc.cn_bind_to_uuid`).
/// certflow used to judge the connection by its first payload only and left it "unknown".
#[test]
fn mid_stream_dcerpc_is_recognised_after_a_pdu_tail() {
    let Some(f) = public_flow("kerberos_ldap_smb2_drsuapi_ndpi.pcap", |f| {
        f["port"] == 49155
    }) else {
        return;
    };
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

/// efsrpc_petitpotam_unpatched_dc_ldap_tls_smb.pcapng, 192.168.0.14 -> 52.182.141.63:443: twice
/// a ClientHello (frames 2384, 3246) is answered by a RST that echoes it as its 214 bytes of data
/// (frames 2392, 3257; `tshark -Y 'ip.addr==52.182.141.63'` shows "[RST, ACK] ... Len=214" and
/// dissects no TLS in them). certflow used to read the echoes as stream data: four ClientHellos.
#[test]
fn data_in_a_rst_is_not_read_as_stream_bytes() {
    let Some(f) = public_flow("efsrpc_petitpotam_unpatched_dc_ldap_tls_smb.pcapng", |f| {
        f["server"] == "52.182.141.63" && f["port"] == 443
    }) else {
        return;
    };
    let tls = &f["evidence"]["tls"];
    assert_eq!(tls["handshake"]["client_hello"], 2);
    assert_eq!(tls["records"]["handshake"], 2);
    assert_eq!(tls["sni"][0]["value"], "v10.events.data.microsoft.com");
    assert_eq!(tls["sni"][0]["count"], 2);
}

/// epm_tsch_tls_schtask_create.pcapng, TCP 3389: the capture joins an RDP session after its
/// handshake, so its first payload (frame 1) is a TLS application_data record of 43 bytes, and
/// 1324 follow (tshark: `-Y 'tcp.port==3389 && tls' -T fields -e tls.record.content_type`).
/// certflow used to leave the flow "unknown" ("content not recognised").
#[test]
fn tls_joined_after_its_handshake_is_recognised_on_any_port() {
    let Some(f) = public_flow("epm_tsch_tls_schtask_create.pcapng", |f| f["port"] == 3389) else {
        return;
    };
    assert_eq!(
        (&f["service"], &f["service_from"]),
        (&"tls".into(), &"content".into())
    );
    assert_eq!(f["evidence"]["tls"]["records"]["application_data"], 1324);
}

/// efsrpc_petitpotam_unpatched_dc_ldap_tls_smb.pcapng, 192.168.0.14 -> 162.159.134.233:443:
/// the capture joins an idle HTTPS connection whose only payload is a TCP keep-alive's one
/// byte (frame 99; tshark: `-Y frame.number==99` shows Len=1, the server's SACK in 100). The
/// connection is TLS by its port only. certflow gave the flow an empty `tls` entry, which
/// says TLS was seen; now the flow has just the note that its content was not recognised.
#[test]
fn a_keep_alive_byte_on_443_is_no_tls_entry() {
    let Some(f) = public_flow("efsrpc_petitpotam_unpatched_dc_ldap_tls_smb.pcapng", |f| {
        f["first_frame"] == 99
    }) else {
        return;
    };
    assert_eq!(f["server"], "162.159.134.233");
    assert_eq!(f["port"], 443);
    assert!(f["evidence"].get("tls").is_none(), "{}", f["evidence"]);
    assert_eq!(
        f["evidence"]["notes"][0]["value"],
        "no recognisable https content on port 443"
    );
}
