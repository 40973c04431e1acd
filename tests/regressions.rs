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
